//! A crash of the function that holds a wait's task token. Its own test binary: cargo runs
//! binaries one after another, so no other test's invocation takes the stopped process.

use e2e::{Stack, PASSWORD};
use serde_json::{json, Value};

/// The function that receives the review wait's task token is killed in the middle of that
/// call (its process stopped before the call reached it, then killed): Step Functions runs the
/// wait's task again, the new token is kept, and the reviewer's decision, made while the first
/// call hung, resumes the request within seconds, not at the review's deadline.
#[tokio::test]
#[ignore = "needs the local stack: run by make test"]
async fn the_review_wait_survives_a_crash_of_the_function_holding_its_token() {
    let stack = Stack::connect().await;
    let customer = stack.new_customer(2).await;
    let body = |website: &str| json!({"type": "access_cancellation", "websiteId": website, "licensePassword": PASSWORD});
    // A first request keeps a first-review process warm (its wait's token is kept once it ran).
    let warm = stack
        .submit_to_first_review(&customer.token, &body(&customer.website_ids[0]))
        .await;
    e2e::eventually(|| stack.task_tokens(&warm, 1), |tokens| !tokens.is_empty()).await;
    assert!(
        stack.pause_function("first-review") >= 1,
        "a first-review process was running"
    );
    let id = stack
        .submit_to_first_review(&customer.token, &body(&customer.website_ids[1]))
        .await;
    let wait_started = |events: &Vec<Value>| {
        events
            .iter()
            .any(|e| e["type"] == "TaskStarted" || e["type"] == "LambdaFunctionStarted")
    };
    let events = e2e::eventually(|| stack.execution_events(&id, 1), wait_started).await;
    assert!(wait_started(&events), "the review wait's task started");
    assert_eq!(stack.decide(&id, "approve", &[]).await.status, 200);
    assert!(stack.kill_function("first-review") >= 1);
    let forwarded = stack
        .wait_for(
            &customer.token,
            &id,
            e2e::status_is("forwarded_to_authority"),
        )
        .await;
    assert_eq!(forwarded["status"], "forwarded_to_authority", "{forwarded}");
    let events = stack.execution_events(&id, 1).await;
    assert!(
        events.iter().any(|e| e["type"] == "TaskFailed"),
        "the crash failed the wait's first call, which was run again: {events:?}"
    );
}
