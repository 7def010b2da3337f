//! Chaos: workflows of the three types, with first-review and authority rejections and "Modify
//! and Submit", while DynamoDB fails 20 % of its calls (LocalStack's DYNAMODB_ERROR_PROBABILITY,
//! switched on for this test only) and, every few seconds, a function busy with an invocation
//! is killed (SIGKILL). Its own test binary: cargo runs binaries one after another, so no other
//! test meets the errors or the kills.

use e2e::{Customer, Stack, PASSWORD};
use futures::future::join_all;
use futures::stream::{self, StreamExt};
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const WORKFLOWS: usize = 50;
const ERROR_PROBABILITY: f64 = 0.2;
/// Workflows in flight at once: enough to overlap every step, few enough for two cores.
const IN_FLIGHT: usize = 10;

/// The functions a workflow runs, any of which a kill may hit.
const KILLABLE: [&str; 9] = [
    "submit-request",
    "api",
    "verify-password",
    "first-review",
    "forward-to-authority",
    "authority-callback",
    "clear-record",
    "close-request",
    "authority-sim",
];
const KILL_EVERY: Duration = Duration::from_secs(5);

/// Every `KILL_EVERY` until `stop`, kills one process of a function chosen at random among
/// those holding an invocation; returns the functions killed, in order.
async fn kill_at_random(stack: &Stack, stop: &AtomicBool) -> Vec<&'static str> {
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let mut killed = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        tokio::time::sleep(KILL_EVERY).await; // the pace of the kills, not a wait for anything
        let busy: Vec<&'static str> = KILLABLE
            .into_iter()
            .filter(|name| stack.invocations_in_flight(name) > 0)
            .collect();
        if busy.is_empty() {
            continue;
        }
        // xorshift64: the victims differ from run to run.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let victim = busy[(seed % busy.len() as u64) as usize];
        if stack.kill_one_process(victim, (seed >> 32) as usize) {
            killed.push(victim);
        }
    }
    killed
}

/// Switches the injection back off however the test ends.
struct Injection {
    localstack: String,
}

impl Injection {
    async fn set(localstack: &str, probability: f64) {
        let reply = icp_adapters::tls::http_client(std::time::Duration::from_secs(30))
            .unwrap()
            .post(format!("{localstack}/_localstack/config"))
            .json(&json!({"variable": "DYNAMODB_ERROR_PROBABILITY", "value": probability}))
            .send()
            .await
            .expect("LocalStack config endpoint (ENABLE_CONFIG_UPDATES=1)");
        assert_eq!(reply.status(), 200);
    }
}

impl Drop for Injection {
    fn drop(&mut self) {
        let localstack = self.localstack.clone();
        std::thread::spawn(move || {
            tokio::runtime::Runtime::new()
                .unwrap()
                .block_on(Injection::set(&localstack, 0.0))
        })
        .join()
        .unwrap();
    }
}

/// A call repeated while the service answers 5xx (its DynamoDB calls failed past the SDK's
/// retries, or the function timed out), as a client would; repeats are safe by design
/// (Idempotency-Key, conditional writes).
async fn until_not_5xx(
    stack: &Stack,
    method: Method,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> e2e::Reply {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let reply = stack.call(method.clone(), path, token, headers, body).await;
        if !reply.status.is_server_error() || Instant::now() > deadline {
            return reply;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn wait_status(stack: &Stack, customer: &Customer, id: &str, status: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let reply = until_not_5xx(
            stack,
            Method::GET,
            &format!("/requests/{id}"),
            Some(&customer.token),
            &[],
            None,
        )
        .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        if reply.body["status"] == status {
            return reply.body;
        }
        if reply.body["status"] == "failed" {
            // No plan ends there: name the error Step Functions saw, which the request's own
            // history shows only by its name.
            let attempt = reply.body["attempt"].as_u64().unwrap() as u32;
            let errors: Vec<Value> = stack
                .execution_events(id, attempt)
                .await
                .into_iter()
                .filter(|event| event["type"].as_str().unwrap_or("").ends_with("Failed"))
                .collect();
            panic!(
                "{id} failed: {}\nits execution's failures: {errors:#?}",
                reply.body
            );
        }
        assert!(Instant::now() < deadline, "{id} stuck: {}", reply.body);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// What the workflow `n` does besides the happy path.
struct Plan {
    request_type: &'static str,
    /// The reviewer rejects the first attempt; the customer modifies and submits.
    rejected_at_review: bool,
    /// The authority rejects.
    rejected_by_authority: bool,
}

fn plan(n: usize) -> Plan {
    let types = [
        "website_cancellation",
        "access_cancellation",
        "access_change",
    ];
    Plan {
        request_type: types[n % 3],
        rejected_at_review: n % 5 == 1,
        rejected_by_authority: n % 7 == 3,
    }
}

/// The reviewer's decision, repeated while 5xx; a repeat after a decision that went through but
/// answered 5xx finds it decided.
async fn review(stack: &Stack, id: &str, decision: &Value) {
    let decided = until_not_5xx(
        stack,
        Method::POST,
        &format!("/reviews/{id}/decision"),
        Some(&stack.reviewer_token()),
        &[],
        Some(decision),
    )
    .await;
    assert!(
        decided.status == 200 || decided.body["error"]["code"] == "already_decided",
        "{}",
        decided.body
    );
}

async fn one_workflow(stack: &Stack, customer: &Customer, n: usize) -> Value {
    let plan = plan(n);
    let mut body = json!({"type": plan.request_type, "websiteId": customer.website_ids[0], "licensePassword": PASSWORD});
    if plan.request_type == "access_change" {
        body["serviceIps"] = json!(["198.51.100.50"]);
    }
    let key = format!("faults-{n}");
    let submitted = until_not_5xx(
        stack,
        Method::POST,
        "/requests",
        Some(&customer.token),
        &[("Idempotency-Key", &key)],
        Some(&body),
    )
    .await;
    assert_eq!(submitted.status, 202, "{}", submitted.body);
    let id = submitted.body["requestId"].as_str().unwrap().to_string();
    wait_status(stack, customer, &id, "pending_first_review").await;
    if plan.rejected_at_review {
        let reject = json!({"decision": "reject", "reasons": ["The ID photo is blurred"]});
        review(stack, &id, &reject).await;
        // The customer resubmits as soon as the status shows, perhaps before the rejection's
        // message went out: it still goes out (checked below).
        wait_status(stack, customer, &id, "first_review_rejected").await;
        let resubmitted = until_not_5xx(
            stack,
            Method::POST,
            &format!("/requests/{id}/resubmit"),
            Some(&customer.token),
            &[],
            Some(&json!({"licensePassword": PASSWORD})),
        )
        .await;
        // A repeat of a resubmit that went through but answered 5xx is the same one: 202, or
        // 409 once the new attempt has moved on.
        if resubmitted.status != 202 {
            let now = wait_status(stack, customer, &id, "pending_first_review").await;
            assert_eq!(now["attempt"], 2, "{}", resubmitted.body);
        }
        wait_status(stack, customer, &id, "pending_first_review").await;
    }
    review(stack, &id, &json!({"decision": "approve"})).await;
    let forwarded = wait_status(stack, customer, &id, "forwarded_to_authority").await;
    let submission = forwarded["submissionId"].as_str().unwrap();
    let operator = stack.operator_token();
    let (decision, last) = if plan.rejected_by_authority {
        ("rejected", "authority_rejected")
    } else {
        ("approved", "completed")
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let sim = until_not_5xx(
            stack,
            Method::POST,
            &format!("/authority-sim/submissions/{submission}/decision"),
            Some(&operator),
            &[],
            Some(&json!({"decision": decision, "reasons": ["Domain name under investigation"]})),
        )
        .await;
        if sim.status == 200 && sim.body["callbackStatus"] == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "authority callback never went through: {}",
            sim.body
        );
    }
    wait_status(stack, customer, &id, last).await
}

#[tokio::test]
#[ignore = "needs the local stack: run by make test"]
async fn fifty_workflows_of_every_kind_end_right_under_kills_and_dynamodb_errors() {
    let stack = Stack::connect().await;
    let customers = join_all((0..WORKFLOWS).map(|_| stack.new_customer(1))).await;
    let stack_ref = &stack;
    let websites_before = join_all(customers.iter().map(|c| async move {
        let path = format!("/websites/{}", c.website_ids[0]);
        stack_ref.get(&path, &c.token).await
    }))
    .await;
    let localstack = stack.demo["localstackUrl"].as_str().unwrap().to_string();
    Injection::set(&localstack, ERROR_PROBABILITY).await;
    let injection = Injection { localstack };

    let started = Instant::now();
    let stop_killing = AtomicBool::new(false);
    let (done, killed) = tokio::join!(
        async {
            let done: Vec<Value> = stream::iter(customers.iter().enumerate())
                .map(|(n, c)| one_workflow(&stack, c, n))
                .buffered(IN_FLIGHT)
                .collect()
                .await;
            stop_killing.store(true, Ordering::SeqCst);
            done
        },
        kill_at_random(&stack, &stop_killing)
    );
    drop(injection);

    // A message is sent twice only when its record after the send failed past the SDK's
    // retries (the step then runs again once the send's lease is over): counted, not refused.
    let mut duplicates = 0;
    for (n, (request, customer)) in done.iter().zip(&customers).enumerate() {
        let plan = plan(n);
        let statuses = e2e::history(request);
        let mut expected = vec!["submitted", "pending_first_review"];
        if plan.rejected_at_review {
            expected.extend(["first_review_rejected", "submitted", "pending_first_review"]);
        }
        expected.push("forwarded_to_authority");
        if plan.rejected_by_authority {
            expected.push("authority_rejected");
        } else {
            expected.extend(["approved", "completed"]);
        }
        assert_eq!(statuses, expected, "no transition lost or doubled");
        // The effect on the website, once.
        let website = stack
            .get(
                &format!("/websites/{}", customer.website_ids[0]),
                &customer.token,
            )
            .await;
        match (plan.rejected_by_authority, plan.request_type) {
            (true, _) => {
                let before = &websites_before[n].body;
                assert_eq!(
                    website.body["serviceIps"], before["serviceIps"],
                    "unchanged"
                );
                assert_eq!(website.body["status"], before["status"], "unchanged");
            }
            (false, "access_change") => {
                assert_eq!(
                    website.body["serviceIps"],
                    json!(["198.51.100.50"]),
                    "{}",
                    website.body
                )
            }
            (false, _) => assert_eq!(website.status, 404, "cleared: {}", website.body),
        }
        // Every status but pending_first_review is told, by SMS and by email, at least once.
        let told = expected
            .iter()
            .filter(|s| **s != "pending_first_review")
            .count();
        // A message whose record failed is sent again only once its 40 s lease is over: wait
        // for that, not for the 30 s of `sms_once`.
        let (within, every) = (Duration::from_secs(120), Duration::from_millis(500));
        let sms = e2e::poll(
            within,
            every,
            || stack.sms_to(&customer.phone),
            |s| s.len() >= told,
        )
        .await;
        let emails = e2e::poll(
            within,
            every,
            || stack.emails_to(&customer.email),
            |e| e.len() >= told,
        )
        .await;
        assert!(
            sms.len() >= told && emails.len() >= told,
            "{sms:?} {emails:?}"
        );
        // Each status by email (the subject ends with it) as often as it was entered.
        for status in expected.iter().filter(|s| **s != "pending_first_review") {
            let entered = expected.iter().filter(|s| *s == status).count();
            let mailed = emails.iter().filter(|e| e2e::announces(e, status)).count();
            assert!(mailed >= entered, "{status} mailed {mailed}×: {emails:?}");
        }
        if plan.rejected_at_review {
            assert!(
                sms.iter().any(|s| s.contains("The ID photo is blurred")),
                "the rejection's SMS: {sms:?}"
            );
        }
        duplicates += sms.len() + emails.len() - 2 * told;
    }
    eprintln!(
        "faults: {WORKFLOWS} workflows in {} s; DynamoDB error probability {ERROR_PROBABILITY}; {} kills ({killed:?}); {duplicates} duplicate notifications",
        started.elapsed().as_secs(),
        killed.len()
    );
    assert!(!killed.is_empty(), "the chaos killed nothing");
}
