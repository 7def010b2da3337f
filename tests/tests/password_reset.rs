//! License password retrieval and the impact preview on the deployed stack. Its own test binary:
//! the retrieval test moves the `api` function's clock (a code a minute, 10 minutes a code), and
//! cargo runs binaries one after another.

use e2e::{assert_error, status_is, Customer, Stack, PASSWORD};
use serde_json::{json, Value};

const NEW_PASSWORD: &str = "Retrieved-Pass-7";

/// The code of the latest retrieval SMS to the customer's phone, once it is there.
async fn code_by_sms(stack: &Stack, customer: &Customer, codes_before: usize) -> String {
    let is_code = |sms: &String| sms.contains("验证码");
    let sms = stack
        .sms_once(&customer.phone, |all| {
            all.iter().filter(|s| is_code(s)).count() > codes_before
        })
        .await;
    let latest = sms.iter().rfind(|s| is_code(s)).expect("a code by SMS");
    let at = latest.find("验证码：").unwrap() + "验证码：".len();
    latest[at..at + 6].to_string()
}

fn body(customer: &Customer, website: usize, password: &str) -> Value {
    json!({"type": "access_cancellation", "websiteId": customer.website_ids[website], "licensePassword": password})
}

/// A customer locks its entity with wrong passwords, retrieves the password with the code the
/// SMS brought, and submits with the new one; every error of the retrieval on the way; the code
/// and the new password appear in no log, table item or answer.
#[tokio::test]
#[ignore = "needs the local stack: run by make test"]
async fn a_locked_customer_retrieves_its_license_password_and_submits_with_it() {
    let stack = Stack::connect().await;
    let customer = stack.new_customer(2).await;
    let other = stack.new_customer(1).await;
    let clock = stack.clock_of("api");
    let mut answers = Vec::new();

    // Five wrong passwords in a row lock the entity.
    for _ in 0..5 {
        let reply = stack
            .submit(&customer.token, &body(&customer, 0, "wrong"))
            .await;
        assert_eq!(reply.status, 202, "{}", reply.body);
        let id = reply.body["requestId"].as_str().unwrap();
        stack
            .wait_for(&customer.token, id, status_is("password_rejected"))
            .await;
        assert_eq!(stack.withdraw(&customer.token, id).await.status, 200);
    }
    let locked = stack
        .submit(&customer.token, &body(&customer, 0, PASSWORD))
        .await;
    assert_error(&locked, 423, "password_locked");

    // The code goes by SMS and email; the answer names where, masked.
    let start = |token: String| {
        let stack = &stack;
        async move {
            stack
                .post("/entity/password-reset", &token, &json!({}))
                .await
        }
    };
    let started = start(customer.token.clone()).await;
    assert_eq!(started.status, 202, "{}", started.body);
    answers.push(started.body.to_string());
    let reset_id = started.body["resetId"].as_str().unwrap().to_string();
    let phone_tail = &customer.phone[customer.phone.len() - 4..];
    assert_eq!(
        started.body["sentTo"]["phone"],
        format!("137****{phone_tail}")
    );
    let code = code_by_sms(&stack, &customer, 0).await;
    stack
        .emails_once(&customer.email, |subjects| {
            subjects
                .iter()
                .any(|s| s.contains("License password retrieval code"))
        })
        .await;

    // At most one code a minute.
    let again = start(customer.token.clone()).await;
    assert_error(&again, 429, "too_many_requests");
    assert!(again.body["error"]["retryAfterSeconds"].as_i64().unwrap() <= 60);

    let confirm = |token: String, reset_id: String, code: String, new_password: &'static str| {
        let stack = &stack;
        async move {
            stack
                .post(
                    &format!("/entity/password-reset/{reset_id}/confirm"),
                    &token,
                    &json!({"code": code, "newPassword": new_password}),
                )
                .await
        }
    };
    let wrong_code = if code == "000000" { "111111" } else { "000000" }.to_string();
    let wrong = confirm(
        customer.token.clone(),
        reset_id.clone(),
        wrong_code.clone(),
        NEW_PASSWORD,
    )
    .await;
    assert_error(&wrong, 400, "invalid_code");
    let weak = confirm(
        customer.token.clone(),
        reset_id.clone(),
        code.clone(),
        "short1",
    )
    .await;
    assert_error(&weak, 400, "weak_password");
    let not_theirs = confirm(
        other.token.clone(),
        reset_id.clone(),
        code.clone(),
        NEW_PASSWORD,
    )
    .await;
    assert_error(&not_theirs, 404, "reset_not_found");
    let reviewer = confirm(
        stack.reviewer_token(),
        reset_id.clone(),
        code.clone(),
        NEW_PASSWORD,
    )
    .await;
    assert_error(&reviewer, 403, "forbidden");
    assert_error(&start(stack.reviewer_token()).await, 403, "forbidden");

    let changed = confirm(
        customer.token.clone(),
        reset_id.clone(),
        code.clone(),
        NEW_PASSWORD,
    )
    .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.body, json!({"status": "changed"}));
    answers.push(changed.body.to_string());
    stack
        .sms_once(&customer.phone, |sms| {
            sms.iter().any(|s| s.contains("备案密码已于"))
        })
        .await;
    stack
        .emails_once(&customer.email, |subjects| {
            subjects
                .iter()
                .any(|s| s.contains("License password changed"))
        })
        .await;

    // The lock is gone; the new password reaches first review; the old one no longer works.
    let id = stack
        .submit_to_first_review(&customer.token, &body(&customer, 0, NEW_PASSWORD))
        .await;
    let old = stack
        .submit(&customer.token, &body(&customer, 1, PASSWORD))
        .await;
    assert_eq!(old.status, 202, "{}", old.body);
    let rejected = stack
        .wait_for(
            &customer.token,
            old.body["requestId"].as_str().unwrap(),
            status_is("password_rejected"),
        )
        .await;
    answers.push(rejected.to_string());
    answers.push(
        stack
            .get(&format!("/requests/{id}"), &customer.token)
            .await
            .body
            .to_string(),
    );

    // Two minutes on (the api's clock): the fifth wrong code ends the next reset.
    clock.moved_by(120).await;
    let second = start(customer.token.clone()).await;
    assert_eq!(second.status, 202, "{}", second.body);
    let second_id = second.body["resetId"].as_str().unwrap().to_string();
    let second_code = code_by_sms(&stack, &customer, 1).await;
    let wrong_second = if second_code == "000000" {
        "111111"
    } else {
        "000000"
    }
    .to_string();
    for _ in 0..4 {
        let reply = confirm(
            customer.token.clone(),
            second_id.clone(),
            wrong_second.clone(),
            NEW_PASSWORD,
        )
        .await;
        assert_error(&reply, 400, "invalid_code");
    }
    let fifth = confirm(
        customer.token.clone(),
        second_id.clone(),
        wrong_second,
        NEW_PASSWORD,
    )
    .await;
    assert_error(&fifth, 409, "reset_ended");
    let ended = confirm(
        customer.token.clone(),
        second_id,
        second_code.clone(),
        "Another-Pass-8",
    )
    .await;
    assert_error(&ended, 409, "reset_ended");

    // Four minutes on, a third code; past its 10 minutes it has expired.
    clock.moved_by(240).await;
    let third = start(customer.token.clone()).await;
    assert_eq!(third.status, 202, "{}", third.body);
    let third_id = third.body["resetId"].as_str().unwrap().to_string();
    let third_code = code_by_sms(&stack, &customer, 2).await;
    clock.moved_by(240 + 601).await;
    let expired = confirm(
        customer.token.clone(),
        third_id,
        third_code.clone(),
        "Another-Pass-8",
    )
    .await;
    assert_error(&expired, 410, "reset_expired");
    drop(clock);

    // No code and no new password in logs, table items or answers.
    let logs = stack.all_function_logs();
    let items = stack.all_table_items().await.join("\n");
    let answers = answers.join("\n");
    for (place, text) in [
        ("function logs", &logs),
        ("table items", &items),
        ("API answers", &answers),
    ] {
        for code in [&code, &second_code, &third_code] {
            assert!(
                !text.contains(&format!("验证码：{code}"))
                    && !text.contains(&format!("\"{code}\"")),
                "a code is in the {place}"
            );
        }
        assert!(
            !text.contains(NEW_PASSWORD),
            "the new password is in the {place}"
        );
    }
}

/// The confirm step's preview: the consequences of each type on a website, bilingual, with the
/// access cancellation's warnings from the help pages; it changes nothing.
#[tokio::test]
#[ignore = "needs the local stack: run by make test"]
async fn the_impact_preview_answers_for_each_type_and_changes_nothing() {
    let stack = Stack::connect().await;
    let customer = stack.new_customer(1).await;
    let other = stack.new_customer(1).await;
    let website = &customer.website_ids[0];
    let before = stack
        .get(&format!("/websites/{website}"), &customer.token)
        .await;
    for (request_type, expected) in [
        (
            "website_cancellation",
            &["website_filing_cancelled", "last_website_with_provider"][..],
        ),
        (
            "access_cancellation",
            &[
                "access_record_cleared",
                "entity_license_number_stays",
                "blocked_if_still_on_provider_servers",
                "move_filing_to_new_provider",
                "last_website_with_provider",
            ][..],
        ),
        (
            "access_change",
            &["service_ips_replaced", "license_numbers_stay"][..],
        ),
    ] {
        let reply = stack
            .get(
                &format!("/websites/{website}/impact?type={request_type}"),
                &customer.token,
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.body["type"], request_type);
        assert_eq!(reply.body["lastWebsite"], true);
        let consequences = reply.body["consequences"].as_array().unwrap();
        let codes: Vec<&str> = consequences
            .iter()
            .map(|c| c["code"].as_str().unwrap())
            .collect();
        for code in expected {
            assert!(
                codes.contains(code),
                "{request_type}: {code} missing from {codes:?}"
            );
        }
        for c in consequences {
            assert!(
                !c["text"]["zh-CN"].as_str().unwrap().is_empty()
                    && !c["text"]["en"].as_str().unwrap().is_empty()
            );
        }
    }
    assert_error(
        &stack
            .get(
                &format!("/websites/{website}/impact?type=nonsense"),
                &customer.token,
            )
            .await,
        400,
        "invalid_request_type",
    );
    assert_error(
        &stack
            .get(
                &format!("/websites/{website}/impact?type=access_change"),
                &other.token,
            )
            .await,
        403,
        "forbidden",
    );
    let after = stack
        .get(&format!("/websites/{website}"), &customer.token)
        .await;
    assert_eq!(after.body, before.body, "the preview changed nothing");
    let requests = stack
        .get(&format!("/requests?websiteId={website}"), &customer.token)
        .await;
    assert_eq!(requests.body["requests"], json!([]));
}
