//! The three change requests end to end on LocalStack: API Gateway, every Lambda, the real Step
//! Functions definition, DynamoDB, the authority simulator's signed HTTP, and the SMS and
//! emails LocalStack's SNS and SES recorded.

use e2e::{assert_error, history, status_is, Customer, Stack, PASSWORD};
use reqwest::Method;
use serde_json::{json, Value};

async fn submit(stack: &Stack, customer: &Customer, body: Value) -> String {
    let reply = stack.submit(&customer.token, &body).await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    reply.body["requestId"].as_str().unwrap().to_string()
}

fn type_name(request_type: &str) -> &'static str {
    match request_type {
        "website_cancellation" => "Website cancellation",
        "access_cancellation" => "Access cancellation",
        _ => "Access change",
    }
}

/// Submit → first review approved → forwarded → authority approved → completed.
async fn happy_path(request_type: &str, service_ips: Option<Value>) -> (Stack, Customer, Value) {
    let stack = Stack::connect().await;
    let customer = stack.new_customer(1).await;
    let website = customer.website_ids[0].clone();
    let mut body = json!({"type": request_type, "websiteId": website, "licensePassword": PASSWORD});
    if let Some(ips) = service_ips {
        body["serviceIps"] = ips;
    }
    let id = submit(&stack, &customer, body).await;
    let pending = stack
        .wait_for(&customer.token, &id, status_is("pending_first_review"))
        .await;
    assert!(pending["reviewDueAt"].is_string());

    // The reviewers are told first; a decision before that would make the email needless.
    let waiting = format!(
        "Awaiting first review: {} for {}",
        type_name(request_type).to_lowercase(),
        customer.domains[0]
    );
    let reviewer_mail = stack
        .emails_once(stack.demo["reviewerEmail"].as_str().unwrap(), |e| {
            e.iter().any(|s| s.ends_with(&waiting))
        })
        .await;
    assert_eq!(
        reviewer_mail
            .iter()
            .filter(|s| s.ends_with(&waiting))
            .count(),
        1,
        "{waiting}"
    );
    assert!(
        stack.listed_review(&id).await.is_some(),
        "{id} is not in the queue"
    );
    let decided = stack.decide(&id, "approve", &[]).await;
    assert_eq!(decided.status, 200, "{}", decided.body);

    let forwarded = stack
        .wait_for(&customer.token, &id, status_is("forwarded_to_authority"))
        .await;
    let sim = stack.authority_decides(&forwarded, "approved", &[]).await;
    assert_eq!(sim.status, 200, "{}", sim.body);
    assert_eq!(sim.body["callbackStatus"], 200, "{}", sim.body);

    let done = stack
        .wait_for(&customer.token, &id, status_is("completed"))
        .await;
    assert_eq!(
        history(&done),
        [
            "submitted",
            "pending_first_review",
            "forwarded_to_authority",
            "approved",
            "completed"
        ]
    );
    for entry in done["history"].as_array().unwrap() {
        assert!(entry["at"].is_string() && entry["actor"].is_string() && entry["note"].is_string());
    }

    // One SMS and one email for each event the contract names, in both languages.
    let emails = stack
        .emails_once(&customer.email, |e| {
            e.iter().any(|s| e2e::announces(s, "completed"))
        })
        .await;
    for status in [
        "submitted",
        "forwarded_to_authority",
        "approved",
        "completed",
    ] {
        let n = emails.iter().filter(|s| e2e::announces(s, status)).count();
        assert_eq!(n, 1, "{status} email: {emails:?}");
    }
    let sms = stack.sms_once(&customer.phone, |s| s.len() >= 4).await;
    assert_eq!(sms.len(), 4, "{sms:?}");
    assert!(
        sms.iter().all(|t| t.starts_with(e2e::SMS_SIGNATURE)),
        "{sms:?}"
    );
    (stack, customer, done)
}

#[tokio::test]
#[ignore = "needs the local stack: run by make test"]
async fn website_cancellation_clears_the_website_from_the_license_system() {
    let (stack, customer, _) = happy_path("website_cancellation", None).await;
    let site = stack
        .get(
            &format!("/websites/{}", customer.website_ids[0]),
            &customer.token,
        )
        .await;
    assert_error(&site, 404, "website_not_found");
    let listed = stack.get("/websites", &customer.token).await;
    assert_eq!(listed.body["websites"], json!([]));
}

#[tokio::test]
#[ignore = "needs the local stack: run by make test"]
async fn access_cancellation_clears_the_website_and_keeps_the_entity() {
    let (stack, customer, done) = happy_path("access_cancellation", None).await;
    let site = stack
        .get(
            &format!("/websites/{}", customer.website_ids[0]),
            &customer.token,
        )
        .await;
    assert_error(&site, 404, "website_not_found");
    let note = done["history"].as_array().unwrap().last().unwrap()["note"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(note.contains("entity license number kept"), "{note}");
}

#[tokio::test]
#[ignore = "needs the local stack: run by make test"]
async fn access_change_puts_the_new_service_ips_in_force() {
    let ips = json!(["198.51.100.77", "2001:db8::77"]);
    let (stack, customer, _) = happy_path("access_change", Some(ips.clone())).await;
    let site = stack
        .get(
            &format!("/websites/{}", customer.website_ids[0]),
            &customer.token,
        )
        .await;
    assert_eq!(site.status, 200, "{}", site.body);
    assert_eq!(site.body["serviceIps"], ips);
    assert_eq!(site.body["openRequest"], Value::Null);
}

/// The body of a request of `request_type` on `website` (an access change asks for new IPs).
fn request_body(request_type: &str, website: &str, password: &str) -> Value {
    let mut body = json!({"type": request_type, "websiteId": website, "licensePassword": password});
    if request_type == "access_change" {
        body["serviceIps"] = json!(["198.51.100.5"]);
    }
    body
}

/// Runs a scenario once per request type, each as its own test.
macro_rules! for_each_type {
    ($scenario:ident) => {
        mod $scenario {
            #[tokio::test]
            #[ignore = "needs the local stack: run by make test"]
            async fn website_cancellation() {
                super::$scenario("website_cancellation").await
            }

            #[tokio::test]
            #[ignore = "needs the local stack: run by make test"]
            async fn access_cancellation() {
                super::$scenario("access_cancellation").await
            }

            #[tokio::test]
            #[ignore = "needs the local stack: run by make test"]
            async fn access_change() {
                super::$scenario("access_change").await
            }
        }
    };
}

/// The website as its owner sees it: (serviceIps, open request id).
async fn website_state(stack: &Stack, customer: &Customer) -> (Value, Value) {
    let site = stack
        .get(
            &format!("/websites/{}", customer.website_ids[0]),
            &customer.token,
        )
        .await;
    assert_eq!(site.status, 200, "{}", site.body);
    (
        site.body["serviceIps"].clone(),
        site.body["openRequest"]["requestId"].clone(),
    )
}

async fn wrong_password_then_modify_and_submit(request_type: &str) {
    let stack = Stack::connect().await;
    let customer = stack.new_customer(1).await;
    let (ips_before, _) = website_state(&stack, &customer).await;
    let id = submit(
        &stack,
        &customer,
        request_body(request_type, &customer.website_ids[0], "wrong"),
    )
    .await;
    let rejected = stack
        .wait_for(&customer.token, &id, status_is("password_rejected"))
        .await;
    assert_eq!(
        rejected["rejectionReasons"],
        json!(["The license password is incorrect."])
    );
    assert_eq!(
        website_state(&stack, &customer).await,
        (ips_before.clone(), json!(id)),
        "still open"
    );
    let sms = stack
        .sms_once(&customer.phone, |s| {
            s.iter().any(|t| t.contains("修改并提交"))
        })
        .await;
    assert_eq!(
        sms.iter().filter(|t| t.contains("修改并提交")).count(),
        1,
        "{sms:?}"
    );

    let resubmitted = stack
        .post(
            &format!("/requests/{id}/resubmit"),
            &customer.token,
            &json!({"licensePassword": PASSWORD}),
        )
        .await;
    assert_eq!(resubmitted.status, 202, "{}", resubmitted.body);
    assert_eq!(resubmitted.body["attempt"], 2);
    let pending = stack
        .wait_for(&customer.token, &id, status_is("pending_first_review"))
        .await;
    assert_eq!(pending["attempt"], 2);
    assert_eq!(
        history(&pending),
        [
            "submitted",
            "password_rejected",
            "submitted",
            "pending_first_review"
        ]
    );
    assert_eq!(pending["rejectionReasons"], json!([]));
    assert_eq!(
        website_state(&stack, &customer).await,
        (ips_before, json!(id))
    );
    previous_attempt_is_left_to_end_by_itself(&stack, &customer, &id).await;
    let emails = stack
        .emails_once(&customer.email, |e| {
            e.iter().filter(|s| e2e::announces(s, "submitted")).count() >= 2
        })
        .await;
    assert_eq!(
        emails
            .iter()
            .filter(|s| e2e::announces(s, "submitted"))
            .count(),
        2,
        "one per attempt"
    );
}
for_each_type!(wrong_password_then_modify_and_submit);

/// Modify and Submit calls no Step Functions API: attempt 2 is started from the requests
/// table's stream, where its start item's insert is, and attempt 1's execution stays parked in
/// its wait for the reminder. When it wakes, its reminder finds the attempt over and answers
/// `superseded`, on which the execution ends; an expiry would change nothing either. The
/// request stays on attempt 2 and nobody is reminded (both steps run here as the real function,
/// with the execution's own input; the routing is `Reminded`'s, checked as deployed).
async fn previous_attempt_is_left_to_end_by_itself(stack: &Stack, customer: &Customer, id: &str) {
    let inserts = stack.requests_stream_inserts().await;
    assert!(inserts.contains(&format!("{id}#2")), "no insert of {id}#2");
    let mut executions = stack.executions_of(id).await;
    executions.sort();
    assert_eq!(executions, [format!("{id}-1"), format!("{id}-2")]);
    let events = stack.execution_events(id, 1).await;
    let entered: Vec<_> = events
        .iter()
        .filter_map(|e| e["stateEnteredEventDetails"]["name"].as_str())
        .collect();
    assert_eq!(entered.last(), Some(&"AwaitResubmission"), "{entered:?}");
    assert!(
        events.iter().all(|e| !e["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("Execution") && t != "ExecutionStarted")),
        "attempt 1's execution still runs: {events:?}"
    );
    let answers = [
        ("remind", json!({"outcome": "superseded"})),
        ("expire", Value::Null),
    ];
    for (action, expected) in answers {
        let answer = stack
            .invoke_function(
                "close-request",
                &json!({"action": action, "requestId": id, "attempt": 1}),
            )
            .await;
        assert_eq!(answer, expected, "{action}");
    }
    let log = stack.notifications_of(id, |_| true).await;
    assert!(
        log.keys().all(|k| !k.contains("expiry_reminder")),
        "{log:?}"
    );
    let now = stack.get(&format!("/requests/{id}"), &customer.token).await;
    assert_eq!(
        (&now.body["status"], &now.body["attempt"]),
        (&json!("pending_first_review"), &json!(2)),
        "{}",
        now.body
    );
}

async fn first_review_rejection_then_modify_and_submit(request_type: &str) {
    let stack = Stack::connect().await;
    let customer = stack.new_customer(1).await;
    let id = submit(
        &stack,
        &customer,
        request_body(request_type, &customer.website_ids[0], PASSWORD),
    )
    .await;
    stack
        .wait_for(&customer.token, &id, status_is("pending_first_review"))
        .await;
    assert_error(
        &stack.decide(&id, "reject", &[]).await,
        400,
        "invalid_reasons",
    );
    let reason = "The new IP is not in our data centre";
    let decided = stack.decide(&id, "reject", &[reason]).await;
    assert_eq!(decided.status, 200, "{}", decided.body);
    let rejected = stack
        .wait_for(&customer.token, &id, status_is("first_review_rejected"))
        .await;
    assert_eq!(rejected["rejectionReasons"], json!([reason]));
    assert_eq!(history(&rejected).last().unwrap(), "first_review_rejected");
    let emails = stack
        .emails_once(&customer.email, |e| {
            e.iter().any(|s| e2e::announces(s, "first_review_rejected"))
        })
        .await;
    assert_eq!(
        emails
            .iter()
            .filter(|s| e2e::announces(s, "first_review_rejected"))
            .count(),
        1
    );
    let sms = stack
        .sms_once(&customer.phone, |s| s.iter().any(|t| t.contains(reason)))
        .await;
    assert_eq!(
        sms.iter().filter(|t| t.contains(reason)).count(),
        1,
        "{sms:?}"
    );

    let mut again = json!({"licensePassword": PASSWORD});
    if request_type == "access_change" {
        again["serviceIps"] = json!(["198.51.100.6"]);
    }
    let resubmitted = stack
        .post(&format!("/requests/{id}/resubmit"), &customer.token, &again)
        .await;
    assert_eq!(resubmitted.status, 202, "{}", resubmitted.body);
    let pending = stack
        .wait_for(&customer.token, &id, status_is("pending_first_review"))
        .await;
    assert_eq!(pending["attempt"], 2);
    if request_type == "access_change" {
        assert_eq!(pending["serviceIps"], json!(["198.51.100.6"]));
    }
    assert_eq!(stack.decide(&id, "approve", &[]).await.status, 200);
    let forwarded = stack
        .wait_for(&customer.token, &id, status_is("forwarded_to_authority"))
        .await;
    assert!(
        forwarded["submissionId"].as_str().unwrap().ends_with("-2"),
        "attempt 2's submission"
    );
}
for_each_type!(first_review_rejection_then_modify_and_submit);

async fn authority_rejection(request_type: &str) {
    let stack = Stack::connect().await;
    let customer = stack.new_customer(1).await;
    let (ips_before, _) = website_state(&stack, &customer).await;
    let id = submit(
        &stack,
        &customer,
        request_body(request_type, &customer.website_ids[0], PASSWORD),
    )
    .await;
    stack
        .wait_for(&customer.token, &id, status_is("pending_first_review"))
        .await;
    stack.decide(&id, "approve", &[]).await;
    let forwarded = stack
        .wait_for(&customer.token, &id, status_is("forwarded_to_authority"))
        .await;
    let reason = "Entity information inconsistent";
    stack
        .authority_decides(&forwarded, "rejected", &[reason])
        .await;
    let rejected = stack
        .wait_for(&customer.token, &id, status_is("authority_rejected"))
        .await;
    assert_eq!(rejected["rejectionReasons"], json!([reason]));
    assert_eq!(
        history(&rejected),
        [
            "submitted",
            "pending_first_review",
            "forwarded_to_authority",
            "authority_rejected"
        ]
    );
    assert_eq!(
        website_state(&stack, &customer).await,
        (ips_before, Value::Null),
        "unchanged and free"
    );
    let sms = stack
        .sms_once(&customer.phone, |s| s.iter().any(|t| t.contains(reason)))
        .await;
    assert_eq!(
        sms.iter().filter(|t| t.contains(reason)).count(),
        1,
        "{sms:?}"
    );
    let emails = stack
        .emails_once(&customer.email, |e| {
            e.iter().any(|s| e2e::announces(s, "authority_rejected"))
        })
        .await;
    assert_eq!(
        emails
            .iter()
            .filter(|s| e2e::announces(s, "authority_rejected"))
            .count(),
        1
    );
}
for_each_type!(authority_rejection);

async fn withdraw_before_forwarding_and_refused_after(request_type: &str) {
    let stack = Stack::connect().await;
    let customer = stack.new_customer(2).await;
    let (ips_before, _) = website_state(&stack, &customer).await;
    let first = submit(
        &stack,
        &customer,
        request_body(request_type, &customer.website_ids[0], PASSWORD),
    )
    .await;
    stack
        .wait_for(&customer.token, &first, status_is("pending_first_review"))
        .await;
    let withdrawn = stack.withdraw(&customer.token, &first).await;
    assert_eq!(withdrawn.status, 200, "{}", withdrawn.body);
    assert_eq!(withdrawn.body["status"], "withdrawn");
    assert_eq!(
        history(&withdrawn.body),
        ["submitted", "pending_first_review", "withdrawn"]
    );
    assert_error(
        &stack.decide(&first, "approve", &[]).await,
        409,
        "invalid_status",
    );
    assert_eq!(
        website_state(&stack, &customer).await,
        (ips_before, Value::Null),
        "free again"
    );

    let second = submit(
        &stack,
        &customer,
        request_body(request_type, &customer.website_ids[1], PASSWORD),
    )
    .await;
    stack
        .wait_for(&customer.token, &second, status_is("pending_first_review"))
        .await;
    stack.decide(&second, "approve", &[]).await;
    stack
        .wait_for(
            &customer.token,
            &second,
            status_is("forwarded_to_authority"),
        )
        .await;
    let refused = stack.withdraw(&customer.token, &second).await;
    assert_error(&refused, 409, "withdraw_not_allowed");
    let after = stack
        .get(&format!("/requests/{second}"), &customer.token)
        .await;
    assert_eq!(after.body["status"], "forwarded_to_authority");
    let emails = stack
        .emails_once(&customer.email, |e| {
            e.iter()
                .any(|s| e2e::announces(s, "forwarded_to_authority"))
        })
        .await;
    assert_eq!(
        emails
            .iter()
            .filter(|s| e2e::announces(s, "forwarded_to_authority"))
            .count(),
        1
    );
}
for_each_type!(withdraw_before_forwarding_and_refused_after);

#[tokio::test]
#[ignore = "needs the local stack: run by make test"]
async fn a_second_review_decision_is_already_decided() {
    let stack = Stack::connect().await;
    let customer = stack.new_customer(1).await;
    let id = submit(
        &stack,
        &customer,
        json!({"type": "access_cancellation", "websiteId": customer.website_ids[0], "licensePassword": PASSWORD}),
    )
    .await;
    stack
        .wait_for(&customer.token, &id, status_is("pending_first_review"))
        .await;
    let (a, b) = tokio::join!(
        stack.decide(&id, "approve", &[]),
        stack.decide(&id, "reject", &["dup"])
    );
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "{} / {}", a.body, b.body);
    let loser = if a.status == 409 { &a } else { &b };
    assert_error(loser, 409, "already_decided");
    assert_error(
        &stack
            .call(
                Method::POST,
                &format!("/reviews/{id}/decision"),
                Some(&customer.token),
                &[],
                Some(&json!({"decision": "approve"})),
            )
            .await,
        403,
        "forbidden",
    );
}

#[tokio::test]
#[ignore = "needs the local stack: run by make test"]
async fn forged_stale_and_repeated_callbacks_change_nothing() {
    let stack = Stack::connect().await;
    let customer = stack.new_customer(1).await;
    let id = submit(
        &stack,
        &customer,
        json!({"type": "access_cancellation", "websiteId": customer.website_ids[0], "licensePassword": PASSWORD}),
    )
    .await;
    stack
        .wait_for(&customer.token, &id, status_is("pending_first_review"))
        .await;
    stack.decide(&id, "approve", &[]).await;
    let forwarded = stack
        .wait_for(&customer.token, &id, status_is("forwarded_to_authority"))
        .await;
    let submission = forwarded["submissionId"].as_str().unwrap();
    let body = json!({"submissionId": submission, "requestId": id, "decision": "approved",
                      "decidedAt": "2026-11-23T10:00:00Z"})
    .to_string();
    let secret = stack.demo["authority"]["secret"].as_str().unwrap();
    let now = chrono::Utc::now().timestamp();
    let send = |timestamp: i64, signature: String| {
        let body = body.clone();
        let stack = &stack;
        async move {
            stack
                .raw_post(
                    "/authority/callbacks",
                    &body,
                    &[
                        ("X-Authority-Timestamp", timestamp.to_string()),
                        ("X-Authority-Signature", signature),
                    ],
                )
                .await
        }
    };
    let sign = |ts: i64| icp_domain::signature::sign(secret, &ts.to_string(), body.as_bytes());
    // One hex digit changed, whatever the signature (a replace of one letter may match none).
    let tampered = |signature: String| {
        let (head, last) = signature.split_at(signature.len() - 1);
        format!("{head}{}", if last == "0" { "1" } else { "0" })
    };
    assert_error(
        &send(now, tampered(sign(now))).await,
        401,
        "invalid_signature",
    );
    assert_error(
        &send(
            now,
            icp_domain::signature::sign("forged", &now.to_string(), body.as_bytes()),
        )
        .await,
        401,
        "invalid_signature",
    );
    assert_error(
        &send(now - 301, sign(now - 301)).await,
        401,
        "stale_timestamp",
    );
    let still = stack.get(&format!("/requests/{id}"), &customer.token).await;
    assert_eq!(
        still.body["status"], "forwarded_to_authority",
        "refused callbacks changed nothing"
    );

    let accepted = send(now, sign(now)).await;
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    let done = stack
        .wait_for(&customer.token, &id, status_is("completed"))
        .await;
    let again = send(now, sign(now)).await;
    assert_eq!(again.status, 200, "{}", again.body);
    let after = stack.get(&format!("/requests/{id}"), &customer.token).await;
    assert_eq!(
        after.body["history"], done["history"],
        "a repeated callback changes nothing"
    );
}

#[tokio::test]
#[ignore = "needs the local stack: run by make test"]
async fn five_wrong_passwords_in_a_row_lock_the_entity() {
    let stack = Stack::connect().await;
    let customer = stack.new_customer(1).await;
    let body = json!({"type": "access_cancellation", "websiteId": customer.website_ids[0], "licensePassword": "wrong"});
    for _ in 0..5 {
        let id = submit(&stack, &customer, body.clone()).await;
        stack
            .wait_for(&customer.token, &id, status_is("password_rejected"))
            .await;
        let withdrawn = stack.withdraw(&customer.token, &id).await;
        assert_eq!(withdrawn.status, 200, "{}", withdrawn.body);
    }
    let locked = stack.submit(&customer.token, &body).await;
    assert_error(&locked, 423, "password_locked");
    let retry_after = locked.body["error"]["retryAfterSeconds"].as_i64().unwrap();
    assert!(retry_after > 0 && retry_after <= 1800, "{retry_after}");
    let listed = stack
        .get(
            &format!("/requests?websiteId={}", customer.website_ids[0]),
            &customer.token,
        )
        .await;
    assert_eq!(
        listed.body["requests"].as_array().unwrap().len(),
        5,
        "the locked call wrote nothing"
    );
}

/// The authority wait's decision, and the answer of `AuthorityDeadline` when the wait ends by
/// its deadline (the result the callback recorded, if any; `close-request`'s, unit-tested in the
/// adapters' service tests), route the request: approved → the record is cleared, rejected or
/// superseded → done, overdue → the wait begins again (a late result still applies).
#[tokio::test]
#[ignore = "needs the local stack: run by make test"]
async fn the_authority_decision_routes_the_request_as_deployed() {
    let stack = Stack::connect().await;
    let routes = [
        ("approved", "ClearRecord"),
        ("rejected", "Done"),
        ("overdue", "ForwardToAuthority"),
        ("superseded", "Done"),
        // With the authority, a value nothing routes waits a round rather than failing.
        ("something-else", "ForwardToAuthorityLater"),
    ]
    .map(|(decision, next)| (json!({"authority": {"decision": decision}}), next));
    stack
        .assert_choice_routes("AuthorityDecided", &routes)
        .await;
}

/// A rejected attempt's reminder routes its execution: still waiting for Modify and Submit →
/// on to the expiry; over (resubmitted, withdrawn) → done.
#[tokio::test]
#[ignore = "needs the local stack: run by make test"]
async fn a_reminder_routes_the_rejected_attempt_as_deployed() {
    let stack = Stack::connect().await;
    let routes = [
        ("reminded", "AwaitExpiry"),
        ("superseded", "Done"),
        ("something-else", "Unexpected"),
    ]
    .map(|(outcome, next)| (json!({"reminder": {"outcome": outcome}}), next));
    stack.assert_choice_routes("Reminded", &routes).await;
}

/// A waiting round's next wait doubles up to its cap, and the round resumes the step it names,
/// as deployed (the template's substitutions included).
#[tokio::test]
#[ignore = "needs the local stack: run by make test"]
async fn a_waiting_round_grows_to_its_cap_and_resumes_its_step_as_deployed() {
    let stack = Stack::connect().await;
    let cap = [
        (4, "ResumeRound"),
        (8, "ResumeRound"),
        (16, "RoundWaitAtCap"),
    ]
    .map(|(wait, next)| {
        (
            json!({"rounds": {"waitSeconds": wait, "maxWaitSeconds": 8}}),
            next,
        )
    });
    stack.assert_choice_routes("CapRoundWait", &cap).await;
    let resume = [
        "VerifyPassword",
        "FirstReview",
        "ClearRecord",
        "ForwardToAuthority",
    ]
    .map(|step| (json!({"resume": step}), step));
    stack.assert_choice_routes("ResumeRound", &resume).await;
    let started = [
        (json!({"resume": "ClearRecord"}), "StartRounds"),
        (
            json!({"resume": "ClearRecord", "rounds": {"waited": 1}}),
            "CountRound",
        ),
    ];
    stack.assert_choice_routes("RoundsStarted", &started).await;
}
