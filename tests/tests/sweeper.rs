//! The sweeper against the real stack: what a fault left between two writes is started, or
//! started again, or resumed. Its own test binary: the StartExecution outage it injects would hold up every other
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
async fn the_sweeper_starts_what_the_stream_could_not_and_mends_what_a_fault_left() {
    let stack = Stack::connect().await;

    // A: a request whose password was refused, its execution (waiting for Modify and Submit)
    // stopped, as a lost one would be: the sweeper starts its attempt again from where it
    // stands, telling nothing twice, and the request goes on to the end once resubmitted.
    // (LocalStack cannot stop an execution parked in a task-token wait: a Wait state it can.)
    let alice = stack.new_customer(1).await;
    let body = json!({"type": "access_cancellation", "websiteId": alice.website_ids[0], "licensePassword": "not-the-password"});
    let accepted = stack.submit(&alice.token, &body).await;
    assert_eq!(accepted.status, 202, "{}", accepted.body);
    let lost = accepted.body["requestId"].as_str().unwrap().to_string();
    stack
        .wait_for(&alice.token, &lost, e2e::status_is("password_rejected"))
        .await;
    let waiting = |s: &[String]| s.iter().any(|n| n == "AwaitResubmission");
    stack
        .states_entered_once(&lost, 1, Duration::from_secs(60), waiting)
        .await;
    stack.stop_execution(&format!("{lost}-1")).await;

    // C: the reviewer's decision is recorded but its resume fails (Step Functions refuses the
    // API's SendTaskSuccess): the sweeper delivers it.
    let carol = stack.new_customer(1).await;
    let body = json!({"type": "access_cancellation", "websiteId": carol.website_ids[0], "licensePassword": PASSWORD});
    let undelivered = stack.submit_to_first_review(&carol.token, &body).await;
    // The wait keeps its token first (else it would find the decision itself).
    let kept = e2e::eventually(
        || stack.task_tokens(&undelivered, 1),
        |tokens| !tokens.is_empty(),
    )
    .await;
    assert_eq!(kept.len(), 1, "the review's wait keeps its token");
    let refusing = stack.fail_aws_call("api", "stepfunctions.SendTaskSuccess");
    let decided = stack.decide(&undelivered, "approve", &[]).await;
    assert!(decided.status.is_server_error(), "{}", decided.body);
    drop(refusing);

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

    // A, on: started again, still waiting for Modify and Submit; resubmitted, it goes on.
    let restarted = sweep_until(
        &stack,
        || async { json!(stack.executions_of(&lost).await) },
        |names| names.as_array().is_some_and(|n| n.len() == 2),
    )
    .await;
    let names: Vec<&str> = restarted
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(
        names.contains(&format!("{lost}-1").as_str())
            && names.iter().any(|n| n.starts_with(&format!("{lost}-1_"))),
        "{names:?}"
    );
    let standing = stack.get(&format!("/requests/{lost}"), &alice.token).await;
    assert_eq!(standing.body["status"], "password_rejected");
    let restart = names
        .iter()
        .find(|n| n.contains("-1_"))
        .unwrap()
        .to_string();
    let restart_waits = e2e::poll(
        Duration::from_secs(60),
        Duration::from_millis(500),
        || stack.execution_events_named(&restart),
        |events: &Vec<Value>| {
            events
                .iter()
                .any(|e| e["stateEnteredEventDetails"]["name"] == "AwaitResubmission")
        },
    )
    .await;
    assert!(
        !restart_waits.is_empty(),
        "the restart waits for Modify and Submit again"
    );
    let resubmitted = stack
        .post(
            &format!("/requests/{lost}/resubmit"),
            &alice.token,
            &json!({"licensePassword": PASSWORD}),
        )
        .await;
    assert_eq!(resubmitted.status, 202, "{}", resubmitted.body);
    stack
        .wait_for(&alice.token, &lost, e2e::status_is("pending_first_review"))
        .await;
    assert_eq!(stack.decide(&lost, "approve", &[]).await.status, 200);
    let done = stack
        .authority_approves_once_forwarded(&alice.token, &lost)
        .await;
    assert_eq!(done["status"], "completed", "{done}");

    // C, on: the decision reaches the waiting execution through the sweeper.
    let forwarded = sweep_until(
        &stack,
        || async {
            stack
                .get(&format!("/requests/{undelivered}"), &carol.token)
                .await
                .body
        },
        e2e::status_is("forwarded_to_authority"),
    )
    .await;
    assert_eq!(forwarded["status"], "forwarded_to_authority", "{forwarded}");
    for (customer, id) in [(&alice, &lost), (&carol, &undelivered)] {
        let read = stack.get(&format!("/requests/{id}"), &customer.token).await;
        assert!(!e2e::history(&read.body).contains(&"failed".to_string()));
    }
    // Each told once of each step of each attempt, the restart notwithstanding.
    let told = stack.customer_events_told(&lost, 12).await;
    assert_eq!(
        told,
        [
            "authority_approved#email",
            "authority_approved#sms",
            "completed#email",
            "completed#sms",
            "forwarded_to_authority#email",
            "forwarded_to_authority#sms",
            "password_rejected#email",
            "password_rejected#sms",
            "submitted#email",
            "submitted#email",
            "submitted#sms",
            "submitted#sms",
        ]
    );
}
