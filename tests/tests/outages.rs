//! Outages that outlast every retry, at the four points a request passes: the password check,
//! the first review, the forward to the authority (after the reviewer's approval) and the
//! clearing of the record (after the authority's). At each, one request meets a store outage
//! (the step's function cannot read DynamoDB) and another meets that and its function crashing
//! on it too, held until each has waited a round past its step's retries. Then the outages end:
//! every request goes on to where it would have gone, none is `failed`, each round is counted,
//! and the customer hears each step once.
//! Its own test binary: the store outages it injects hold up every request at that step.

use e2e::{Customer, Stack, PASSWORD};
use serde_json::{json, Value};
use std::time::Duration;

/// Long enough for a step to use up its retries (about 90 s on average, more in a bad draw)
/// and enter its waiting round.
const ROUND_WITHIN: Duration = Duration::from_secs(480);

/// A point of the workflow: its step (state) and the function that runs it.
#[derive(Clone, Copy)]
struct Point {
    step: &'static str,
    function: &'static str,
}

/// Waits until the request's execution has entered `point`'s waiting round more than `after`
/// times; returns how many times it has.
async fn rounds_entered(stack: &Stack, id: &str, point: Point, after: usize) -> usize {
    let later = format!("{}Later", point.step);
    let count = |states: &[String]| states.iter().filter(|s| **s == later).count();
    let entered = stack
        .states_entered_once(id, 1, ROUND_WITHIN, |states| count(states) > after)
        .await;
    let rounds = count(&entered);
    assert!(
        rounds > after,
        "{id} waited no round at {}: {entered:?}",
        point.step
    );
    rounds
}

/// Two requests of one customer, one per website.
async fn two_requests(stack: &Stack, customer: &Customer) -> [String; 2] {
    let mut ids = Vec::new();
    for website_id in &customer.website_ids {
        let body = json!({"type": "access_cancellation", "websiteId": website_id, "licensePassword": PASSWORD});
        let reply = stack.submit(&customer.token, &body).await;
        assert_eq!(reply.status, 202, "{}", reply.body);
        ids.push(reply.body["requestId"].as_str().unwrap().to_string());
    }
    [ids[0].clone(), ids[1].clone()]
}

/// Waits until the request stands in `status`: the four points run at once, so a request may
/// first wait out another point's outage on its way.
async fn status(stack: &Stack, customer: &Customer, id: &str, status: &'static str) -> Value {
    let read = || async {
        stack
            .get(&format!("/requests/{id}"), &customer.token)
            .await
            .body
    };
    let stands = e2e::status_is(status);
    let body = e2e::poll(2 * ROUND_WITHIN, Duration::from_millis(500), read, &stands).await;
    assert!(stands(&body), "{id} is not {status}: {body}");
    body
}

/// Has the authority approve the request once it is forwarded, and waits for it to complete.
async fn forwarded_then_completed(stack: &Stack, customer: &Customer, id: &str) -> Value {
    authority_approves(stack, customer, id).await;
    status(stack, customer, id, "completed").await
}

/// The outage at `point`: `before` brings both requests to it and `into` sends them in; `after`
/// takes them on to the end once the outages are over.
async fn through_an_outage<B, I, A>(point: Point, before: B, into: I, after: A)
where
    B: AsyncFn(&Stack, &Customer) -> [String; 2],
    I: AsyncFn(&Stack, &Customer, &str),
    A: AsyncFn(&Stack, &Customer, &str) -> Value,
{
    let stack = Stack::connect().await;
    let customer = stack.new_customer(2).await;
    // The store outage begins before the submits where the submit leads straight into it.
    let early = matches!(point.step, "VerifyPassword" | "FirstReview");
    let mut store = early.then(|| stack.fail_aws_call(point.function, "dynamodb.GetItem"));
    let [stored, crashing] = before(&stack, &customer).await;
    if store.is_none() {
        store = Some(stack.fail_aws_call(point.function, "dynamodb.GetItem"));
    }
    let crash = stack.fail_function_for(point.function, &crashing, &json!({}));
    for id in [&stored, &crashing] {
        into(&stack, &customer, id).await;
    }
    rounds_entered(&stack, &stored, point, 0).await;
    let rounds = rounds_entered(&stack, &crashing, point, 0).await;

    // The store is back; the crashing function is not: another round.
    drop(store);
    rounds_entered(&stack, &crashing, point, rounds).await;
    if point.step == "ClearRecord" {
        // Applying an approval: only an operator may apply it at once.
        let redrive = format!("/operations/requests/{crashing}/redrive");
        for token in [customer.token.clone(), stack.reviewer_token()] {
            let refused = stack.post(&redrive, &token, &json!({})).await;
            e2e::assert_error(&refused, 403, "forbidden");
        }
        drop(crash);
        let applied = stack
            .post(&redrive, &stack.operator_token(), &json!({}))
            .await;
        assert_eq!(applied.status, 200, "{}", applied.body);
        assert_eq!(applied.body["status"], "completed", "{}", applied.body);
    } else {
        drop(crash);
    }

    for id in [&stored, &crashing] {
        let done = after(&stack, &customer, id).await;
        assert_eq!(done["status"], "completed", "{done}");
        assert_eq!(
            e2e::history(&done),
            [
                "submitted",
                "pending_first_review",
                "forwarded_to_authority",
                "approved",
                "completed"
            ],
            "never failed"
        );
        assert_eq!(
            stack.customer_events_told(id, 8).await,
            [
                "authority_approved#email",
                "authority_approved#sms",
                "completed#email",
                "completed#sms",
                "forwarded_to_authority#email",
                "forwarded_to_authority#sms",
                "submitted#email",
                "submitted#sms",
            ],
            "{id}: told each step once"
        );
    }
    let counted = stack.waiting_rounds(point.step).await;
    assert!(counted >= 3.0, "{}: {counted} rounds counted", point.step);
}

async fn submitted(stack: &Stack, customer: &Customer) -> [String; 2] {
    two_requests(stack, customer).await
}

async fn awaiting_review(stack: &Stack, customer: &Customer) -> [String; 2] {
    let ids = two_requests(stack, customer).await;
    for id in &ids {
        status(stack, customer, id, "pending_first_review").await;
    }
    ids
}

async fn with_the_authority(stack: &Stack, customer: &Customer) -> [String; 2] {
    let ids = awaiting_review(stack, customer).await;
    for id in &ids {
        assert_eq!(stack.decide(id, "approve", &[]).await.status, 200);
        status(stack, customer, id, "forwarded_to_authority").await;
    }
    ids
}

async fn nothing_to_do(_: &Stack, _: &Customer, _: &str) {}

async fn approve(stack: &Stack, _: &Customer, id: &str) {
    assert_eq!(stack.decide(id, "approve", &[]).await.status, 200);
}

async fn authority_approves(stack: &Stack, customer: &Customer, id: &str) {
    let forwarded = status(stack, customer, id, "forwarded_to_authority").await;
    let answer = stack.authority_decides(&forwarded, "approved", &[]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

async fn reviewed_then_approved(stack: &Stack, customer: &Customer, id: &str) -> Value {
    status(stack, customer, id, "pending_first_review").await;
    assert_eq!(stack.decide(id, "approve", &[]).await.status, 200);
    forwarded_then_completed(stack, customer, id).await
}

async fn completed(stack: &Stack, customer: &Customer, id: &str) -> Value {
    status(stack, customer, id, "completed").await
}

/// The four points at once: each holds only its own step's function, so they overlap, and the
/// run takes about as long as the slowest.
#[tokio::test]
#[ignore = "needs the local stack: run by make test"]
async fn outages_at_four_points_wait_and_every_request_goes_on() {
    let at = |step, function| Point { step, function };
    tokio::join!(
        through_an_outage(
            at("VerifyPassword", "verify-password"),
            submitted,
            nothing_to_do,
            reviewed_then_approved,
        ),
        through_an_outage(
            at("FirstReview", "first-review"),
            submitted,
            nothing_to_do,
            reviewed_then_approved,
        ),
        through_an_outage(
            at("ForwardToAuthority", "forward-to-authority"),
            awaiting_review,
            approve,
            forwarded_then_completed,
        ),
        through_an_outage(
            at("ClearRecord", "clear-record"),
            with_the_authority,
            authority_approves,
            completed,
        ),
    );
}
