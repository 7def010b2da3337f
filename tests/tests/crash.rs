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
    // A first request keeps a first-review process warm. Its wait's call must have returned
    // (TaskSubmitted) before the pause: LocalStack hands a new call to a busy environment's
    // sibling, and a process stopped mid-call would keep its environment busy.
    let warm = stack
        .submit_to_first_review(&customer.token, &body(&customer.website_ids[0]))
        .await;
    let call_returned = |events: &Vec<Value>| events.iter().any(|e| e["type"] == "TaskSubmitted");
    let events = e2e::eventually(|| stack.execution_events(&warm, 1), call_returned).await;
    assert!(
        call_returned(&events),
        "the warm request's wait call returned: {events:?}"
    );
    let started_before = stack.invocations_started("first-review");
    let paused = stack.pause_function("first-review");
    assert!(paused >= 1, "a first-review process was running");
    let id = stack
        .submit_to_first_review(&customer.token, &body(&customer.website_ids[1]))
        .await;
    // The executor logs START once the (stopped) process holding the call is chosen: killing it
    // from then on fails that call.
    let handed = e2e::eventually(
        || async { stack.invocations_started("first-review") },
        |started| *started > started_before,
    )
    .await;
    assert!(
        handed > started_before,
        "the review wait's call reached a first-review process"
    );
    assert_eq!(stack.decide(&id, "approve", &[]).await.status, 200);
    assert_eq!(
        stack.kill_function("first-review"),
        paused,
        "no new first-review process took the call"
    );
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
