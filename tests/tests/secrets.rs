//! Secrets stay secret: after a request has gone through every step (so every function logged,
//! every table was written, every task token was issued), neither the license password used
//! nor any task token appears in API responses, function logs or table items, and the password
//! appears in no execution history either. (A wait's task token is in its own execution's
//! history, which the template encrypts with the workflow's key: `template.rs` checks who may
//! decrypt it.)

use e2e::{status_is, Stack};
use serde_json::json;

#[tokio::test]
#[ignore = "needs the local stack: run by make test"]
async fn license_passwords_and_task_tokens_appear_nowhere() {
    let stack = Stack::connect().await;
    let customer = stack.new_customer(1).await;
    // This customer's own password, used nowhere else, so a find is a leak of this run's.
    let password = format!("Leak-Canary-{}", &customer.entity_id[8..20]);
    stack.set_password(&customer.entity_id, &password).await;
    let mut responses = Vec::new();

    let wrong = stack
        .submit(
            &customer.token,
            &json!({"type": "access_cancellation", "websiteId": customer.website_ids[0],
                                         "licensePassword": format!("{password}-wrong")}),
        )
        .await;
    responses.push(wrong.body.to_string());
    let id = wrong.body["requestId"].as_str().unwrap().to_string();
    responses.push(
        stack
            .wait_for(&customer.token, &id, status_is("password_rejected"))
            .await
            .to_string(),
    );
    let again = stack
        .post(
            &format!("/requests/{id}/resubmit"),
            &customer.token,
            &json!({"licensePassword": password}),
        )
        .await;
    responses.push(again.body.to_string());
    responses.push(
        stack
            .wait_for(&customer.token, &id, status_is("pending_first_review"))
            .await
            .to_string(),
    );
    responses.push(stack.decide(&id, "approve", &[]).await.body.to_string());
    let forwarded = stack
        .wait_for(&customer.token, &id, status_is("forwarded_to_authority"))
        .await;
    responses.push(forwarded.to_string());
    responses.push(
        stack
            .authority_decides(&forwarded, "approved", &[])
            .await
            .body
            .to_string(),
    );
    responses.push(
        stack
            .wait_for(&customer.token, &id, status_is("completed"))
            .await
            .to_string(),
    );
    responses.push(
        stack
            .get(
                &format!("/requests?websiteId={}", customer.website_ids[0]),
                &customer.token,
            )
            .await
            .body
            .to_string(),
    );

    // The tokens the waits used, opened from where the functions keep them sealed.
    let tokens = stack.task_tokens(&id, 2).await;
    assert_eq!(
        tokens.len(),
        2,
        "the review and authority waits kept a token each"
    );
    let histories = stack.all_execution_histories().await.join("\n");
    let logs = stack.all_function_logs();
    let items = stack.all_table_items().await.join("\n");
    let answers = responses.join("\n");
    for (place, text) in [
        ("function logs", &logs),
        ("table items", &items),
        ("API responses", &answers),
    ] {
        for token in &tokens {
            assert!(
                !text.contains(token.as_str()),
                "a task token is in the {place}"
            );
        }
    }
    for (place, text) in [
        ("function logs", &logs),
        ("table items", &items),
        ("API responses", &answers),
        ("execution histories", &histories),
    ] {
        assert!(
            !text.contains(&password),
            "the license password is in the {place}"
        );
    }
}
