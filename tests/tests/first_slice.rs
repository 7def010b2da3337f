//! The first slice end to end through the real parts: API Gateway, the submit Lambda, DynamoDB,
//! the Step Functions definition and the verify-password Lambda, all under LocalStack.

use e2e::{assert_error, Stack, PASSWORD};
use reqwest::Method;
use serde_json::json;

fn status_left_submitted(body: &serde_json::Value) -> bool {
    body["status"] != "submitted"
}

#[tokio::test]
#[ignore = "needs the local stack: run by make test"]
async fn demo_customer_lists_exactly_its_own_websites() {
    let stack = Stack::connect().await;
    for customer in stack.demo["customers"].as_array().unwrap() {
        let reply = stack
            .get("/websites", customer["token"].as_str().unwrap())
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert!(reply.request_id.is_some());
        let mut listed: Vec<&str> = reply.body["websites"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["websiteId"].as_str().unwrap())
            .collect();
        let mut expected: Vec<&str> = customer["websites"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["websiteId"].as_str().unwrap())
            .collect();
        listed.sort();
        expected.sort();
        assert_eq!(listed, expected);
        for w in reply.body["websites"].as_array().unwrap() {
            assert_eq!(w["entityId"], customer["entityId"]);
            assert_eq!(w["status"], "active");
        }
    }
}

#[tokio::test]
#[ignore = "needs the local stack: run by make test"]
async fn the_right_password_takes_a_request_to_first_review() {
    let stack = Stack::connect().await;
    let customer = stack.new_customer(1).await;
    let website = &customer.website_ids[0];
    let reply = stack
        .submit(
            &customer.token,
            &json!({"type": "website_cancellation", "websiteId": website, "licensePassword": PASSWORD}),
        )
        .await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    assert_eq!(reply.body["status"], "submitted");
    let id = reply.body["requestId"].as_str().unwrap();

    let request = stack
        .wait_for(&customer.token, id, status_left_submitted)
        .await;
    assert_eq!(request["status"], "pending_first_review", "{request}");
    assert_eq!(request["type"], "website_cancellation");
    assert_eq!(request["attempt"], 1);
    let statuses: Vec<&str> = request["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["submitted", "pending_first_review"]);
    assert!(!request.to_string().contains(PASSWORD));

    let site = stack
        .get(&format!("/websites/{website}"), &customer.token)
        .await;
    assert_eq!(site.body["openRequest"]["requestId"], id);
    let listed = stack
        .get(&format!("/requests?websiteId={website}"), &customer.token)
        .await;
    assert_eq!(listed.body["requests"][0]["requestId"], id);
}

#[tokio::test]
#[ignore = "needs the local stack: run by make test"]
async fn a_wrong_password_is_rejected_with_a_reason() {
    let stack = Stack::connect().await;
    let customer = stack.new_customer(1).await;
    let reply = stack
        .submit(
            &customer.token,
            &json!({"type": "access_cancellation", "websiteId": customer.website_ids[0], "licensePassword": "not-it"}),
        )
        .await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    let id = reply.body["requestId"].as_str().unwrap();
    let request = stack
        .wait_for(&customer.token, id, status_left_submitted)
        .await;
    assert_eq!(request["status"], "password_rejected", "{request}");
    assert_eq!(
        request["rejectionReasons"][0],
        "The license password is incorrect."
    );
}

#[tokio::test]
#[ignore = "needs the local stack: run by make test"]
async fn an_idempotency_key_answers_once_and_guards_its_body() {
    let stack = Stack::connect().await;
    let customer = stack.new_customer(2).await;
    let body = json!({"type": "access_change", "websiteId": customer.website_ids[0],
                      "licensePassword": PASSWORD, "serviceIps": ["198.51.100.20", "2001:db8::20"]});
    let headers = [("Idempotency-Key", "e2e-key-1")];
    let first = stack
        .call(
            Method::POST,
            "/requests",
            Some(&customer.token),
            &headers,
            Some(&body),
        )
        .await;
    assert_eq!(first.status, 202, "{}", first.body);
    let again = stack
        .call(
            Method::POST,
            "/requests",
            Some(&customer.token),
            &headers,
            Some(&body),
        )
        .await;
    assert_eq!(again.status, 202, "{}", again.body);
    assert_eq!(
        again.body, first.body,
        "the same key and body: the same answer"
    );

    let other_body = json!({"type": "access_cancellation", "websiteId": customer.website_ids[1],
                            "licensePassword": PASSWORD});
    let reused = stack
        .call(
            Method::POST,
            "/requests",
            Some(&customer.token),
            &headers,
            Some(&other_body),
        )
        .await;
    assert_error(&reused, 409, "idempotency_key_reused");

    let listed = stack
        .get(
            &format!("/requests?websiteId={}", customer.website_ids[1]),
            &customer.token,
        )
        .await;
    assert_eq!(
        listed.body["requests"],
        json!([]),
        "the refused call wrote nothing"
    );
    let listed = stack
        .get(
            &format!("/requests?websiteId={}", customer.website_ids[0]),
            &customer.token,
        )
        .await;
    assert_eq!(
        listed.body["requests"].as_array().unwrap().len(),
        1,
        "one request for two calls"
    );
}

#[tokio::test]
#[ignore = "needs the local stack: run by make test"]
async fn a_website_takes_one_open_request_at_a_time() {
    let stack = Stack::connect().await;
    let customer = stack.new_customer(1).await;
    let body = json!({"type": "access_cancellation", "websiteId": customer.website_ids[0], "licensePassword": PASSWORD});
    assert_eq!(stack.submit(&customer.token, &body).await.status, 202);
    assert_error(
        &stack.submit(&customer.token, &body).await,
        409,
        "request_already_open",
    );
}

#[tokio::test]
#[ignore = "needs the local stack: run by make test"]
async fn customers_cannot_reach_each_others_websites_or_requests() {
    let stack = Stack::connect().await;
    let alice = stack.new_customer(1).await;
    let bob = stack.new_customer(1).await;
    let reply = stack
        .submit(
            &alice.token,
            &json!({"type": "access_cancellation", "websiteId": alice.website_ids[0], "licensePassword": PASSWORD}),
        )
        .await;
    let id = reply.body["requestId"].as_str().unwrap();
    assert_error(
        &stack.get(&format!("/requests/{id}"), &bob.token).await,
        403,
        "forbidden",
    );
    assert_error(
        &stack
            .get(&format!("/websites/{}", alice.website_ids[0]), &bob.token)
            .await,
        403,
        "forbidden",
    );
    let theirs = json!({"type": "access_cancellation", "websiteId": alice.website_ids[0], "licensePassword": PASSWORD});
    assert_error(&stack.submit(&bob.token, &theirs).await, 403, "forbidden");
    assert_eq!(
        stack.get("/websites", &bob.token).await.body["websites"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
#[ignore = "needs the local stack: run by make test"]
async fn bad_calls_get_the_contracts_errors_and_change_nothing() {
    let stack = Stack::connect().await;
    let customer = stack.new_customer(1).await;
    let website = &customer.website_ids[0];
    let valid =
        json!({"type": "access_cancellation", "websiteId": website, "licensePassword": PASSWORD});
    let key = [("Idempotency-Key", "e2e-bad-input")];

    assert_error(
        &stack.call(Method::GET, "/websites", None, &[], None).await,
        401,
        "unauthorized",
    );
    assert_error(
        &stack
            .call(Method::GET, "/websites", Some("not-a-token"), &[], None)
            .await,
        401,
        "unauthorized",
    );
    assert_error(
        &stack
            .call(
                Method::POST,
                "/requests",
                Some(&customer.token),
                &[],
                Some(&valid),
            )
            .await,
        400,
        "missing_idempotency_key",
    );
    let mut unknown_field = valid.clone();
    unknown_field["extra"] = json!(1);
    assert_error(
        &stack
            .call(
                Method::POST,
                "/requests",
                Some(&customer.token),
                &key,
                Some(&unknown_field),
            )
            .await,
        400,
        "invalid_body",
    );
    let bad_type = json!({"type": "transfer", "websiteId": website, "licensePassword": PASSWORD});
    assert_error(
        &stack.submit(&customer.token, &bad_type).await,
        400,
        "invalid_request_type",
    );
    let bad_ips = json!({"type": "access_change", "websiteId": website, "licensePassword": PASSWORD,
                         "serviceIps": ["999.1.1.1"]});
    assert_error(
        &stack.submit(&customer.token, &bad_ips).await,
        400,
        "invalid_service_ips",
    );
    let unknown_site = json!({"type": "access_cancellation", "websiteId": "web-nope", "licensePassword": PASSWORD});
    assert_error(
        &stack.submit(&customer.token, &unknown_site).await,
        404,
        "website_not_found",
    );
    assert_error(
        &stack.get("/requests/req-nope", &customer.token).await,
        404,
        "request_not_found",
    );
    let reviewer = stack.token("rev-e2e", "reviewer");
    assert_error(&stack.submit(&reviewer, &valid).await, 403, "forbidden");

    let auth = format!("Bearer {}", customer.token);
    let plain = [
        ("authorization", auth.clone()),
        ("idempotency-key", "e2e-plain".to_string()),
        ("content-type", "text/plain".to_string()),
    ];
    assert_error(
        &stack
            .post_bytes("/requests", &valid.to_string(), &plain)
            .await,
        415,
        "unsupported_media_type",
    );
    let json_headers = [
        ("authorization", auth),
        ("idempotency-key", "e2e-big".to_string()),
        ("content-type", "application/json".to_string()),
    ];
    let mut huge = valid.clone();
    huge["licensePassword"] = json!("x".repeat(20_000));
    assert_error(
        &stack
            .post_bytes("/requests", &huge.to_string(), &json_headers)
            .await,
        413,
        "payload_too_large",
    );
    assert_error(
        &stack
            .post_bytes("/requests", "{not json", &json_headers)
            .await,
        400,
        "invalid_body",
    );
    let listed = stack
        .get(&format!("/requests?websiteId={website}"), &customer.token)
        .await;
    assert_eq!(
        listed.body["requests"],
        json!([]),
        "no refused call wrote a request"
    );
    let site = stack
        .get(&format!("/websites/{website}"), &customer.token)
        .await;
    assert_eq!(site.body["openRequest"], json!(null));
}

/// A client's complaint finds its log lines with one search: the x-request-id of an answer is
/// on the lines of the function that served it (`api`), the AWS calls it made included.
#[tokio::test]
#[ignore = "needs the local stack: run by make test"]
async fn the_x_request_id_of_an_answer_is_on_the_log_lines_of_the_call() {
    let stack = Stack::connect().await;
    let customer = stack.new_customer(1).await;
    let website = &customer.website_ids[0];
    let reply = stack
        .get(&format!("/websites/{website}"), &customer.token)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let id = reply.request_id.expect("x-request-id");
    let marker = format!("\"apiRequestId\":\"{id}\"");
    let lines = e2e::poll(
        std::time::Duration::from_secs(10),
        std::time::Duration::from_millis(100),
        || async {
            stack
                .function_log("api")
                .lines()
                .filter(|line| line.contains(&marker))
                .map(String::from)
                .collect::<Vec<_>>()
        },
        |lines| lines.iter().any(|l| l.contains("DynamoDB.GetItem")),
    )
    .await;
    assert!(
        lines.iter().any(|l| l.contains("DynamoDB.GetItem")),
        "no AWS call logged under {id}: {lines:?}"
    );
}
