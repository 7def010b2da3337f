//! Outages that outlast every retry, at the four points a request passes: the password check,
//! the first review, the forward to the authority (after the reviewer's approval) and the
//! clearing of the record (after the authority's). At each, one request meets a store outage
//! (the step's function cannot read its items from DynamoDB) and another its function crashing,
//! each held until the request has waited a round past its step's retries. Then the outages
//! end: every request goes on to where it would have gone, none is `failed`, each round is
//! counted, and the customer hears each step once. Each outage is held for its own request (or
//! entity) only, so the four points run at once without holding up each other.
//! Its own test binary: it rewrites the local executor's fault files.

use e2e::{Customer, InjectedFault, Stack, PASSWORD};
use serde_json::{json, Value};
use std::time::Duration;

/// Long enough for a step to use up its retries (about 90 s on average, more in a bad draw)
/// and enter its waiting round.
const ROUND_WITHIN: Duration = Duration::from_secs(480);

/// A point of the workflow: its step (state), the function that runs it, and how a request is
/// brought to it.
#[derive(Clone, Copy)]
struct Point {
    step: &'static str,
    function: &'static str,
    reached_by: Path,
}

/// What a request goes through before the point's step runs.
#[derive(Clone, Copy, PartialEq)]
enum Path {
    /// The submit leads straight into the step: the request waits at the password check (its
    /// entity cannot be read) until its outage is in place.
    Submit,
    /// The reviewer's approval.
    Approval,
    /// The authority's approval.
    AuthorityApproval,
}

/// A request and its customer (one customer each: a store outage can be held for one entity).
struct Filed {
    customer: Customer,
    id: String,
}

/// Waits until the request's execution has entered `point`'s waiting round.
async fn waits_a_round(stack: &Stack, filed: &Filed, point: Point) {
    let later = format!("{}Later", point.step);
    let entered = stack
        .states_entered_once(&filed.id, 1, ROUND_WITHIN, |states| states.contains(&later))
        .await;
    assert!(
        entered.contains(&later),
        "{} waited no round at {}: {entered:?}",
        filed.id,
        point.step
    );
}

/// Waits until the request stands in `status`.
async fn stands(stack: &Stack, filed: &Filed, status: &'static str) -> Value {
    let read = || async {
        stack
            .get(&format!("/requests/{}", filed.id), &filed.customer.token)
            .await
            .body
    };
    let done = e2e::status_is(status);
    let body = e2e::poll(ROUND_WITHIN, Duration::from_millis(500), read, &done).await;
    assert!(done(&body), "{} is not {status}: {body}", filed.id);
    body
}

async fn submit(stack: &Stack, customer: Customer) -> Filed {
    let body = json!({"type": "access_cancellation", "websiteId": customer.website_ids[0], "licensePassword": PASSWORD});
    let reply = stack.submit(&customer.token, &body).await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    let id = reply.body["requestId"].as_str().unwrap().to_string();
    Filed { customer, id }
}

async fn approve(stack: &Stack, filed: &Filed) {
    stands(stack, filed, "pending_first_review").await;
    assert_eq!(stack.decide(&filed.id, "approve", &[]).await.status, 200);
}

async fn authority_approves(stack: &Stack, filed: &Filed) {
    let forwarded = stands(stack, filed, "forwarded_to_authority").await;
    let answer = stack.authority_decides(&forwarded, "approved", &[]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

/// The store outage at `point` for `filed`: its function's reads fail for its request (at the
/// password check, for its entity: the request is read before its id is known).
fn store_outage(stack: &Stack, point: Point, filed: &Filed) -> InjectedFault {
    let scope = match point.step {
        "VerifyPassword" => &filed.customer.entity_id,
        _ => &filed.id,
    };
    stack.fail_aws_call_for(point.function, "dynamodb.GetItem", scope)
}

async fn through_an_outage(stack: &Stack, point: Point) {
    let (first, second) = (stack.new_customer(1).await, stack.new_customer(1).await);
    let gates = (point.reached_by == Path::Submit).then(|| {
        [&first, &second]
            .map(|c| stack.fail_aws_call_for("verify-password", "dynamodb.GetItem", &c.entity_id))
    });
    let (stored, crashing) = (submit(stack, first).await, submit(stack, second).await);
    for filed in [&stored, &crashing] {
        match point.reached_by {
            Path::Submit => {}
            Path::Approval => {
                stands(stack, filed, "pending_first_review").await;
            }
            Path::AuthorityApproval => {
                approve(stack, filed).await;
                stands(stack, filed, "forwarded_to_authority").await;
            }
        }
    }
    let store = store_outage(stack, point, &stored);
    let crash = stack.fail_function_for(point.function, &crashing.id, &json!({}));
    drop(gates); // each request's own outage holds it now
    match point.reached_by {
        Path::Submit => {}
        Path::Approval => {
            for filed in [&stored, &crashing] {
                approve(stack, filed).await;
            }
        }
        Path::AuthorityApproval => {
            for filed in [&stored, &crashing] {
                authority_approves(stack, filed).await;
            }
        }
    }
    waits_a_round(stack, &stored, point).await;
    waits_a_round(stack, &crashing, point).await;
    drop(store);
    if point.reached_by == Path::AuthorityApproval {
        // Applying an approval: only an operator may apply it at once.
        let redrive = format!("/operations/requests/{}/redrive", crashing.id);
        for token in [crashing.customer.token.clone(), stack.reviewer_token()] {
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

    for filed in [&stored, &crashing] {
        if point.reached_by == Path::Submit {
            approve(stack, filed).await;
        }
        if point.reached_by != Path::AuthorityApproval {
            authority_approves(stack, filed).await;
        }
        let done = stands(stack, filed, "completed").await;
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
            stack.customer_events_told(&filed.id, 8).await,
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
            "{}: told each step once",
            filed.id
        );
    }
    let counted = stack.waiting_rounds(point.step).await;
    assert!(counted >= 2.0, "{}: {counted} rounds counted", point.step);
}

/// The four points at once: each outage holds only its own request, so they overlap, and the
/// run takes about as long as the slowest.
#[tokio::test]
#[ignore = "needs the local stack: run by make test"]
async fn outages_at_four_points_wait_and_every_request_goes_on() {
    let stack = Stack::connect().await;
    let at = |step, function, reached_by| Point {
        step,
        function,
        reached_by,
    };
    tokio::join!(
        through_an_outage(
            &stack,
            at("VerifyPassword", "verify-password", Path::Submit)
        ),
        through_an_outage(&stack, at("FirstReview", "first-review", Path::Submit)),
        through_an_outage(
            &stack,
            at("ForwardToAuthority", "forward-to-authority", Path::Approval)
        ),
        through_an_outage(
            &stack,
            at("ClearRecord", "clear-record", Path::AuthorityApproval)
        ),
    );
}
