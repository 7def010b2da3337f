//! Workflows under injected DynamoDB errors (LocalStack's DYNAMODB_ERROR_PROBABILITY, switched
//! on for this test only). Its own test binary: cargo runs binaries one after another, so no
//! other test sees the errors.

use e2e::{Customer, Stack, PASSWORD};
use futures::future::join_all;
use futures::stream::{self, StreamExt};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const WORKFLOWS: usize = 50;
const ERROR_PROBABILITY: f64 = 0.2;
/// Workflows in flight at once: enough to overlap every step, few enough for two cores.
const IN_FLIGHT: usize = 10;

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
        assert!(Instant::now() < deadline, "{id} stuck: {}", reply.body);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn one_workflow(stack: &Stack, customer: &Customer, n: usize) -> Value {
    let types = [
        "website_cancellation",
        "access_cancellation",
        "access_change",
    ];
    let request_type = types[n % 3];
    let mut body = json!({"type": request_type, "websiteId": customer.website_ids[0], "licensePassword": PASSWORD});
    if request_type == "access_change" {
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
    let decided = until_not_5xx(
        stack,
        Method::POST,
        &format!("/reviews/{id}/decision"),
        Some(&stack.reviewer_token()),
        &[],
        Some(&json!({"decision": "approve"})),
    )
    .await;
    // A repeat after a decision that went through but answered 503 finds it decided.
    assert!(
        decided.status == 200 || decided.body["error"]["code"] == "already_decided",
        "{}",
        decided.body
    );
    let forwarded = wait_status(stack, customer, &id, "forwarded_to_authority").await;
    let submission = forwarded["submissionId"].as_str().unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let sim = until_not_5xx(
            stack,
            Method::POST,
            &format!("/authority-sim/submissions/{submission}/decision"),
            None,
            &[],
            Some(&json!({"decision": "approved"})),
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
    wait_status(stack, customer, &id, "completed").await
}

#[tokio::test]
#[ignore = "needs the local stack: run by make test"]
async fn fifty_workflows_complete_under_twenty_percent_dynamodb_errors() {
    let stack = Stack::connect().await;
    let customers = join_all((0..WORKFLOWS).map(|_| stack.new_customer(1))).await;
    let localstack = stack.demo["localstackUrl"].as_str().unwrap().to_string();
    Injection::set(&localstack, ERROR_PROBABILITY).await;
    let injection = Injection { localstack };

    let done: Vec<Value> = stream::iter(customers.iter().enumerate())
        .map(|(n, c)| one_workflow(&stack, c, n))
        .buffered(IN_FLIGHT)
        .collect()
        .await;
    drop(injection);

    for (request, customer) in done.iter().zip(&customers) {
        let statuses = e2e::history(request);
        assert_eq!(
            statuses,
            [
                "submitted",
                "pending_first_review",
                "forwarded_to_authority",
                "approved",
                "completed"
            ],
            "no transition lost or doubled"
        );
        let sms = stack.sms_once(&customer.phone, |s| s.len() >= 4).await;
        assert_eq!(sms.len(), 4, "one SMS per event: {sms:?}");
        let emails = stack.emails_once(&customer.email, |e| e.len() >= 4).await;
        assert_eq!(emails.len(), 4, "one email per event: {emails:?}");
    }
}
