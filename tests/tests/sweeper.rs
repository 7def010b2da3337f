//! The sweeper against the real stack: what a fault left between two writes is driven on or
//! closed. Its own test binary: the StartExecution outage it injects would hold up every other
//! test's new request running beside it.

use e2e::{Stack, PASSWORD};
use serde_json::{json, Value};
use std::time::Duration;

/// Runs the sweeper until `done` holds of what `read` returns (a request waits out the
/// sweeper's quiet period first: 20 s on the local stage), for at most 90 s.
async fn sweep_until<F: std::future::Future<Output = Value>>(
    stack: &Stack,
    read: impl Fn() -> F,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let swept = || async {
        stack.invoke_function("sweeper", &json!({})).await;
        read().await
    };
    e2e::poll(Duration::from_secs(90), Duration::from_secs(2), swept, done).await
}

#[tokio::test]
#[ignore = "needs the local stack: run by make test"]
async fn the_sweeper_starts_a_request_the_stream_could_not_and_closes_what_a_failed_failure_left() {
    let stack = Stack::connect().await;

    // A: the first review's rejection cannot be recorded, nor then the failure.
    let alice = stack.new_customer(1).await;
    let body = json!({"type": "access_cancellation", "websiteId": alice.website_ids[0], "licensePassword": PASSWORD});
    let stuck = stack.submit_to_first_review(&alice.token, &body).await;
    let conclude = stack.fail_function_for("first-review", &stuck, &json!({"action": "conclude"}));
    let record_failure = stack.fail_function_for("close-request", &stuck, &json!({}));
    let rejected = stack
        .decide(&stuck, "reject", &["The ID photo is blurred"])
        .await;
    assert_eq!(rejected.status, 200, "{}", rejected.body);

    // B: a submit while Step Functions refuses start-workflow's starts. The customer's answer
    // does not wait for the start; the stream's tries fail, and the sweeper starts it.
    let bob = stack.new_customer(1).await;
    let body = json!({"type": "access_cancellation", "websiteId": bob.website_ids[0], "licensePassword": PASSWORD});
    let outage = stack.fail_aws_call("start-workflow", "stepfunctions.StartExecution");
    let accepted = stack.submit(&bob.token, &body).await;
    assert_eq!(accepted.status, 202, "{}", accepted.body);
    let stranded = accepted.body["requestId"]
        .as_str()
        .expect("a request id")
        .to_string();
    let read = stack
        .get(&format!("/requests/{stranded}"), &bob.token)
        .await;
    assert_eq!(read.body["status"], "submitted");
    // The stream did hand the request over, and the start failed.
    let start_failed = |log: &String| {
        log.lines()
            .any(|l| l.contains(&stranded) && l.contains("workflow not started"))
    };
    let tried = e2e::poll(
        Duration::from_secs(60),
        Duration::from_millis(500),
        || async { stack.function_log("start-workflow") },
        start_failed,
    )
    .await;
    assert!(
        start_failed(&tried),
        "start-workflow never failed to start {stranded}"
    );
    assert!(stack.executions_of(&stranded).await.is_empty());
    let executions = sweep_until(
        &stack,
        || async { json!(stack.executions_of(&stranded).await) },
        |names| names.as_array().is_some_and(|n| !n.is_empty()),
    )
    .await;
    drop(outage);
    assert_eq!(executions, json!([format!("{stranded}-1")]));
    stack
        .wait_for(
            &bob.token,
            &stranded,
            e2e::status_is("pending_first_review"),
        )
        .await;

    // A, on: its execution fails with the request still open; the sweeper closes it.
    // (About 90 s of the conclusion's retries, then about 90 s of RecordFailure's.)
    let last_event = e2e::poll(
        Duration::from_secs(480),
        Duration::from_secs(2),
        || async {
            stack
                .execution_events(&stuck, 1)
                .await
                .last()
                .map(|e| e["type"].clone())
        },
        |last| *last == Some(json!("ExecutionFailed")),
    )
    .await;
    assert_eq!(last_event, Some(json!("ExecutionFailed")));
    assert_eq!(
        stack
            .get(&format!("/requests/{stuck}"), &alice.token)
            .await
            .body["status"],
        "pending_first_review",
        "the execution ended with the request open"
    );
    drop((conclude, record_failure));
    let closed = sweep_until(
        &stack,
        || async {
            stack
                .get(&format!("/requests/{stuck}"), &alice.token)
                .await
                .body
        },
        e2e::status_is("failed"),
    )
    .await;
    assert_eq!(closed["status"], "failed", "{closed}");
    let log = stack
        .notifications_of(&stuck, |log| {
            log.contains_key(&format!("{stuck}#1#failed#email"))
                && log.values().all(|n| n["status"] != "sending")
        })
        .await;
    for channel in ["sms", "email"] {
        assert_eq!(
            log[&format!("{stuck}#1#failed#{channel}")]["status"],
            "sent"
        );
    }
}
