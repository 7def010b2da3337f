//! The customer's click waits for nothing that can happen after the answer: the "submitted"
//! SMS and email are the workflow's first step's (verify-password's), not the API call's. Its
//! own test binary: it holds verify-password stack-wide for a moment.

use e2e::{status_is, Stack, PASSWORD};
use serde_json::json;
use std::time::Duration;

/// verify-password is held (its DynamoDB reads fail, so each attempt fails before it sends
/// anything): the submit answers 202 while no message can have gone out, and none has; the
/// workflow's attempt meets the hold and still nothing is sent. Let go, the retry sends the
/// "submitted" SMS and email, each once.
#[tokio::test]
#[ignore = "needs the local stack: run by make test"]
async fn submit_answers_before_any_message_and_the_messages_still_go_out_once() {
    let stack = Stack::connect().await;
    let customer = stack.new_customer(1).await;
    let body = json!({"type": "access_cancellation", "websiteId": customer.website_ids[0], "licensePassword": PASSWORD});
    let attempts_before = stack.invocations_started("verify-password");
    let hold = stack.fail_aws_call("verify-password", "dynamodb.GetItem");

    let reply = stack.submit(&customer.token, &body).await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    let id = reply.body["requestId"].as_str().unwrap().to_string();
    assert!(
        stack.sms_to(&customer.phone).await.is_empty(),
        "an SMS before the answer"
    );
    assert!(
        stack.emails_to(&customer.email).await.is_empty(),
        "an email before the answer"
    );

    let attempted = e2e::poll(
        Duration::from_secs(30),
        Duration::from_millis(100),
        || async { stack.invocations_started("verify-password") },
        |n| *n > attempts_before,
    )
    .await;
    assert!(
        attempted > attempts_before,
        "the workflow never tried to verify"
    );
    assert!(stack.sms_to(&customer.phone).await.is_empty());
    assert!(stack.emails_to(&customer.email).await.is_empty());

    drop(hold);
    stack
        .wait_for(&customer.token, &id, status_is("pending_first_review"))
        .await;
    let sms = stack.sms_once(&customer.phone, |s| !s.is_empty()).await;
    let emails = stack.emails_once(&customer.email, |e| !e.is_empty()).await;
    assert_eq!(sms.len(), 1, "{sms:?}");
    assert!(sms[0].contains("申请已提交"), "{}", sms[0]);
    assert_eq!(emails.len(), 1, "{emails:?}");
    assert!(e2e::announces(&emails[0], "submitted"), "{}", emails[0]);
}
