//! The use cases on the test kit's in-memory store and recording workflow, notifier and
//! authority, with the real vault.

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use icp_adapters::vault::AesVault;
use icp_domain::authority::{submission_id, AuthorityDecision};
use icp_domain::contract::{Attempt, ReminderOutcome, VerifyOutcome, Wait};
use icp_domain::error::ServiceError;
use icp_domain::history::FailureCause;
use icp_domain::ports::{Filings, NotificationLedger, PasswordChecks, Requests, ReviewQueue};
use icp_domain::queries::WebsiteAsItStands;
use icp_domain::submit::SubmitInput;
use icp_domain::validation::IpPolicy;
use icp_domain::verify::LockPolicy;
use icp_domain::*;
use icp_testkit::memory::MemoryStore;
use std::collections::BTreeSet;

const PASSWORD: &str = "Licence-Pass-1";

type TestPorts = icp_testkit::world::TestPorts<AesVault>;

struct World {
    ports: TestPorts,
    customer: Caller,
}

impl std::ops::Deref for World {
    type Target = TestPorts;
    fn deref(&self) -> &TestPorts {
        &self.ports
    }
}

fn world() -> World {
    let store = MemoryStore::default();
    for (entity_id, website_id) in [("e1", "w1"), ("e1", "w2"), ("e2", "w3")] {
        store.put_entity(Entity {
            entity_id: entity_id.into(),
            name: "Co".into(),
            entity_license_number: "京ICP备12345678号".into(),
            password_hash: password::hash(PASSWORD),
            phone: "+8613800000000".into(),
            email: "a@example.cn".into(),
            language: None,
            failed_password_attempts: 0,
            locked_until: None,
            retrieval: Default::default(),
        });
        store.put_website(Website {
            website_id: website_id.into(),
            entity_id: entity_id.into(),
            domain: format!("{website_id}.example.cn"),
            website_license_number: "京ICP备12345678号-1".into(),
            service_ips: vec!["203.0.113.10".into()],
            status: WebsiteStatus::Active,
            open_request_id: None,
        });
    }
    World {
        ports: TestPorts::new(store, AesVault::from_secret("test-secret")),
        customer: Caller::Customer {
            entity_id: "e1".into(),
        },
    }
}

fn body(website_id: &str, password: &str) -> String {
    format!(
        r#"{{"type":"access_cancellation","websiteId":"{website_id}","licensePassword":"{password}"}}"#
    )
}

fn input<'a>(
    key: &'a str,
    website_id: &'a str,
    password: &'a str,
    raw: &'a str,
) -> SubmitInput<'a> {
    SubmitInput {
        idempotency_key: key,
        request_type: "access_cancellation",
        website_id,
        license_password: password,
        service_ips: None,
        ip_policy: &LOCAL,
        raw_body: raw.as_bytes(),
    }
}

/// `POST /requests` alone: the write, and the answer.
async fn post_requests(
    w: &World,
    caller: &Caller,
    input: &SubmitInput<'_>,
) -> Result<Request, ServiceError> {
    w.submitting()
        .submit(caller, input, new_request_id(), Utc::now())
        .await
}

/// `POST /requests` of an access cancellation, its workflow not started yet.
async fn submit_unstarted(
    w: &World,
    caller: &Caller,
    key: &str,
    website_id: &str,
    password: &str,
) -> Result<Request, ServiceError> {
    let raw = body(website_id, password);
    post_requests(w, caller, &input(key, website_id, password, &raw)).await
}

/// `POST /requests`, then what the requests table's stream does with the write: the start.
async fn submit(
    w: &World,
    caller: &Caller,
    key: &str,
    website_id: &str,
    password: &str,
) -> Result<Request, ServiceError> {
    let request = submit_unstarted(w, caller, key, website_id, password).await?;
    w.starts().start_written(&request.request_id, 1).await?;
    Ok(request)
}

fn code(e: ServiceError) -> String {
    match e {
        ServiceError::Domain(DomainError::Validation { code, .. }) => code.to_string(),
        other => format!("{other:?}"),
    }
}

#[tokio::test]
async fn submit_starts_nothing_itself_and_the_stream_starts_the_first_attempt_once() {
    let w = world();
    let r = submit_unstarted(&w, &w.customer, "k1", "w1", PASSWORD)
        .await
        .unwrap();
    assert!(
        w.workflow.executions.lock().unwrap().is_empty(),
        "the answer waits for no start"
    );
    // The stream hands the record over twice: one execution.
    assert!(w.starts().start_written(&r.request_id, 1).await.unwrap());
    assert!(w.starts().start_written(&r.request_id, 1).await.unwrap());
    let executions = w.workflow.executions.lock().unwrap().clone();
    assert_eq!(executions, BTreeSet::from([execution_name(&r)]));
    // A record handed over late, once the request has moved on, starts nothing.
    w.workflow.executions.lock().unwrap().clear();
    verify(&w, &r, 1).await;
    assert!(!w.starts().start_written(&r.request_id, 1).await.unwrap());
    assert!(!w.starts().start_written("req-unknown", 1).await.unwrap());
    assert!(w.workflow.executions.lock().unwrap().is_empty());
}

#[tokio::test]
async fn submit_stores_the_request_seals_the_password_and_starts_one_execution() {
    let w = world();
    let r = submit(&w, &w.customer, "k1", "w1", PASSWORD).await.unwrap();
    assert_eq!(r.status, Status::Submitted);
    let sealed = w
        .store
        .sealed_password(&r.request_id, 1)
        .await
        .unwrap()
        .unwrap();
    assert!(!sealed.contains(PASSWORD));
    let again = submit(&w, &w.customer, "k1", "w1", PASSWORD).await.unwrap();
    assert_eq!(
        again.request_id, r.request_id,
        "same key and body: same request"
    );
    // The same JSON spaced and ordered differently is the same body.
    let reformatted = format!(
        r#"{{ "licensePassword": "{PASSWORD}", "websiteId": "w1",
              "type": "access_cancellation" }}"#
    );
    let replayed = post_requests(&w, &w.customer, &input("k1", "w1", PASSWORD, &reformatted))
        .await
        .unwrap();
    assert_eq!(replayed.request_id, r.request_id, "same JSON: same request");
    let executions = w.workflow.executions.lock().unwrap().clone();
    assert_eq!(executions, BTreeSet::from([format!("{}-1", r.request_id)]));
}

#[tokio::test]
async fn submit_refuses_reused_keys_open_websites_and_other_peoples_websites() {
    let w = world();
    submit(&w, &w.customer, "k1", "w1", PASSWORD).await.unwrap();
    let reused = submit(&w, &w.customer, "k1", "w2", PASSWORD)
        .await
        .unwrap_err();
    assert!(matches!(
        reused,
        ServiceError::Domain(DomainError::IdempotencyKeyReused)
    ));
    let open = submit(&w, &w.customer, "k2", "w1", PASSWORD)
        .await
        .unwrap_err();
    assert!(matches!(
        open,
        ServiceError::Domain(DomainError::RequestAlreadyOpen(_))
    ));
    let theirs = submit(&w, &w.customer, "k3", "w3", PASSWORD)
        .await
        .unwrap_err();
    assert!(matches!(theirs, ServiceError::Forbidden));
    let unknown = submit(&w, &w.customer, "k4", "nope", PASSWORD)
        .await
        .unwrap_err();
    assert!(matches!(
        unknown,
        ServiceError::Domain(DomainError::WebsiteNotFound(_))
    ));
    let reviewer = Caller::Reviewer {
        reviewer_id: "r".into(),
    };
    assert!(matches!(
        submit(&w, &reviewer, "k5", "w2", PASSWORD).await,
        Err(ServiceError::Forbidden)
    ));
    assert_eq!(
        code(
            submit(&w, &w.customer, "", "w2", PASSWORD)
                .await
                .unwrap_err()
        ),
        "invalid_idempotency_key"
    );
    assert_eq!(
        code(submit(&w, &w.customer, "k6", "w2", "").await.unwrap_err()),
        "invalid_license_password"
    );
    assert_eq!(
        w.store.list_requests("w2").await.unwrap(),
        vec![],
        "refusals write nothing"
    );
}

#[tokio::test]
async fn a_locked_entity_cannot_submit() {
    let w = world();
    let mut e = w.store.get_entity("e1").await.unwrap().unwrap();
    e.locked_until = Some(Utc::now() + Duration::minutes(10));
    w.store.put_entity(e);
    match submit(&w, &w.customer, "k1", "w1", PASSWORD)
        .await
        .unwrap_err()
    {
        ServiceError::Domain(DomainError::PasswordLocked {
            retry_after_seconds,
        }) => {
            assert!((590..=600).contains(&retry_after_seconds))
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn verify_accepts_the_right_password_once_and_erases_it() {
    let w = world();
    let r = submit(&w, &w.customer, "k1", "w1", PASSWORD).await.unwrap();
    let verification = w.verification();
    let verify = || {
        verification.verify_password(
            &r.request_id,
            1,
            Utc::now(),
            LockPolicy::default(),
            Utc::now(),
        )
    };
    assert_eq!(verify().await.unwrap(), VerifyOutcome::Accepted);
    assert_eq!(
        verify().await.unwrap(),
        VerifyOutcome::Accepted,
        "a retry answers the same"
    );
    let stored = w.store.get_request(&r.request_id).await.unwrap().unwrap();
    assert_eq!(stored.status, Status::PendingFirstReview);
    assert_eq!(stored.history.len(), 2, "the retry added no transition");
    assert_eq!(
        w.store.sealed_password(&r.request_id, 1).await.unwrap(),
        None
    );
    assert_eq!(
        w.verification()
            .verify_password(
                &r.request_id,
                2,
                Utc::now(),
                LockPolicy::default(),
                Utc::now()
            )
            .await
            .unwrap(),
        VerifyOutcome::Superseded
    );
}

#[tokio::test]
async fn verify_rejects_a_wrong_password_with_a_reason() {
    let w = world();
    let r = submit(&w, &w.customer, "k1", "w1", "wrong").await.unwrap();
    let outcome = w
        .verification()
        .verify_password(
            &r.request_id,
            1,
            Utc::now(),
            LockPolicy::default(),
            Utc::now(),
        )
        .await
        .unwrap();
    assert_eq!(outcome, VerifyOutcome::Rejected);
    let stored = w.store.get_request(&r.request_id).await.unwrap().unwrap();
    assert_eq!(stored.status, Status::PasswordRejected);
    assert_eq!(
        stored.rejection_reasons,
        vec![Reason::from(ReasonCode::LicensePasswordIncorrect)]
    );
    let website = w.store.get_website("w1").await.unwrap().unwrap();
    assert_eq!(
        website.open_request_id,
        Some(r.request_id),
        "still open: the customer may resubmit"
    );
}

#[tokio::test]
async fn readers_see_only_their_own() {
    let w = world();
    let r = submit(&w, &w.customer, "k1", "w1", PASSWORD).await.unwrap();
    let other = Caller::Customer {
        entity_id: "e2".into(),
    };
    let mine = w.queries().list_websites(&w.customer).await.unwrap();
    assert_eq!(
        mine.iter()
            .map(|v| v.website.website_id.as_str())
            .collect::<Vec<_>>(),
        ["w1", "w2"]
    );
    assert_eq!(
        mine[0].open_request.as_ref().unwrap().request_id,
        r.request_id
    );
    assert!(matches!(
        w.queries().get_request(&other, &r.request_id).await,
        Err(ServiceError::Forbidden)
    ));
    assert!(matches!(
        w.queries().get_website(&other, "w1").await,
        Err(ServiceError::Forbidden)
    ));
    assert!(matches!(
        w.queries().list_requests(&other, Some("w1")).await,
        Err(ServiceError::Forbidden)
    ));
    let listed = w.queries().list_requests(&w.customer, None).await.unwrap();
    assert_eq!(listed.len(), 1);

    // The request closed, an import moves the website to e2: its requests stay e1's.
    withdraw(&w, &r).await;
    let mut moved = w.store.get_website("w1").await.unwrap().unwrap();
    moved.entity_id = "e2".into();
    w.store.put_website(moved);
    for website in [Some("w1"), None] {
        let theirs = w.queries().list_requests(&other, website).await.unwrap();
        assert!(theirs.is_empty(), "{theirs:?}");
    }
}

#[tokio::test]
async fn the_review_queue_pages_oldest_first_for_reviewers_only() {
    let w = world();
    let mut pending = Vec::new();
    for website_id in ["w1", "w2", "w3"] {
        let customer = Caller::Customer {
            entity_id: if website_id == "w3" { "e2" } else { "e1" }.into(),
        };
        let r = submit(&w, &customer, website_id, website_id, PASSWORD)
            .await
            .unwrap();
        verify(&w, &r, 1).await;
        pending.push(r.request_id);
    }
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = w
            .queries()
            .pending_reviews(&reviewer(), Some("2"), token.as_deref())
            .await
            .unwrap();
        assert!(page.reviews.len() <= 2);
        seen.extend(page.reviews.into_iter().map(|r| r.request_id));
        match page.next_token {
            Some(next) => token = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, pending, "every pending request once, oldest first");
    let all = w
        .queries()
        .pending_reviews(&reviewer(), None, None)
        .await
        .unwrap();
    assert_eq!(all.reviews.len(), 3);
    assert_eq!(all.next_token, None);

    for limit in ["0", "101", "-1", "ten", ""] {
        let e = w
            .queries()
            .pending_reviews(&reviewer(), Some(limit), None)
            .await;
        assert_eq!(code(e.unwrap_err()), "invalid_limit", "limit {limit:?}");
    }
    let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(r#"{"createdAt":"2026-01-01T00:00:00Z","requestId":"req x"}"#);
    for token in ["not base64!", "e30", forged.as_str()] {
        let e = w
            .queries()
            .pending_reviews(&reviewer(), None, Some(token))
            .await;
        assert_eq!(
            code(e.unwrap_err()),
            "invalid_next_token",
            "token {token:?}"
        );
    }
    assert!(matches!(
        w.queries().pending_reviews(&w.customer, None, None).await,
        Err(ServiceError::Forbidden)
    ));
}

fn reviewer() -> Caller {
    Caller::Reviewer {
        reviewer_id: "rev-1".into(),
    }
}

const REVIEWERS: &[&str] = &["rev-a@provider.example", "rev-b@provider.example"];

/// The local stage's IP policy: the tests' addresses are in the documentation ranges.
static LOCAL: IpPolicy = IpPolicy {
    allow_documentation: true,
    provider_ranges: Vec::new(),
};

fn reviewers() -> Vec<String> {
    REVIEWERS.iter().map(|s| s.to_string()).collect()
}

/// An access change through `POST /requests` and the stream's start, as `submit`.
async fn submit_change(w: &World, website_id: &str, ips: &[&str]) -> Request {
    let ips: Vec<String> = ips.iter().map(|s| s.to_string()).collect();
    let raw = format!("change {website_id} {ips:?}");
    let input = SubmitInput {
        idempotency_key: "change-key",
        request_type: "access_change",
        website_id,
        license_password: PASSWORD,
        service_ips: Some(&ips),
        ip_policy: &LOCAL,
        raw_body: raw.as_bytes(),
    };
    let request = post_requests(w, &w.customer, &input).await.unwrap();
    w.starts()
        .start_written(&request.request_id, 1)
        .await
        .unwrap();
    request
}

async fn verify(w: &World, r: &Request, attempt: u32) -> VerifyOutcome {
    w.verification()
        .verify_password(
            &r.request_id,
            attempt,
            Utc::now(),
            LockPolicy::default(),
            Utc::now(),
        )
        .await
        .unwrap()
}

/// A wait's start as Step Functions gives it (`$$.State.EnteredTime`, milliseconds).
fn entered(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Now, as a wait's start: later waits sort later.
fn entered_now() -> String {
    entered(Utc::now())
}

fn attempt_of(r: &Request, attempt: u32) -> Attempt {
    Attempt {
        request_id: r.request_id.clone(),
        attempt,
    }
}

fn wait(r: &Request, attempt: u32, token: &str, entered_at: &str) -> Wait {
    Wait {
        attempt: attempt_of(r, attempt),
        task_token: token.into(),
        entered_at: entered_at.into(),
    }
}

/// The first-review wait begins (at `entered_at`) with `token`: first-review's `await`.
async fn await_review_issued(w: &World, r: &Request, attempt: u32, token: &str, entered_at: &str) {
    w.review_wait()
        .await_review(
            &wait(r, attempt, token, entered_at),
            &reviewers(),
            Utc::now(),
        )
        .await
        .unwrap();
}

async fn await_review(w: &World, r: &Request, attempt: u32, token: &str) {
    await_review_issued(w, r, attempt, token, &entered_now()).await
}

async fn decide(
    w: &World,
    r: &Request,
    decision: Decision,
    reasons: &[&str],
) -> Result<Request, ServiceError> {
    let reasons: Vec<String> = reasons.iter().map(|s| s.to_string()).collect();
    w.deciding()
        .decide(
            &reviewer(),
            &r.request_id,
            decision,
            &[],
            &reasons,
            Utc::now(),
        )
        .await
}

/// The forward-to-authority step, its wait beginning at `entered_at` with `token`: submit,
/// record the forward, tell the customer, keep the token.
async fn resubmit(
    w: &World,
    r: &Request,
    password: &str,
    ips: &[String],
) -> Result<Request, ServiceError> {
    w.submitting()
        .resubmit(
            &w.customer,
            &r.request_id,
            password,
            Some(ips),
            &LOCAL,
            Utc::now(),
        )
        .await
}

async fn forward_issued(w: &World, r: &Request, token: &str, entered_at: &str) {
    w.forwarding()
        .forward_to_authority(
            &wait(r, r.attempt, token, entered_at),
            &icp_domain::calendar::WorkingCalendar::default(),
            Utc::now(),
        )
        .await
        .unwrap();
}

async fn forward(w: &World, r: &Request, token: &str) {
    forward_issued(w, r, token, &entered_now()).await
}

async fn authority(
    w: &World,
    r: &Request,
    decision: AuthorityDecision,
) -> Result<Request, ServiceError> {
    let sub = submission_id(&r.request_id, r.attempt);
    w.authority_results()
        .authority_result(
            &r.request_id,
            &sub,
            decision,
            &["Domain name under investigation".to_string()],
            Utc::now(),
        )
        .await
}

fn resumed(w: &World) -> Vec<(String, serde_json::Value)> {
    w.workflow.resumed.lock().unwrap().clone()
}

async fn withdraw(w: &World, r: &Request) {
    w.withdrawals()
        .withdraw(&w.customer, &r.request_id, Utc::now())
        .await
        .unwrap();
}

async fn current(w: &World, r: &Request) -> Request {
    w.store.get_request(&r.request_id).await.unwrap().unwrap()
}

fn sent_to(w: &World, to: &str) -> Vec<String> {
    w.notifier
        .sent
        .lock()
        .unwrap()
        .iter()
        .filter(|(t, _)| t == to)
        .map(|(_, text)| text.clone())
        .collect()
}

#[tokio::test]
async fn an_access_change_runs_to_completion_once_whatever_the_retries() {
    let w = world();
    let r = submit_change(&w, "w1", &["198.51.100.7", "198.51.100.8"]).await;
    assert_eq!(verify(&w, &r, 1).await, VerifyOutcome::Accepted);
    await_review(&w, &r, 1, "token-review").await;
    await_review(&w, &r, 1, "token-review").await;
    assert_eq!(
        sent_to(&w, REVIEWERS[0]).len(),
        1,
        "one waiting email despite the retry"
    );

    let decided = decide(&w, &r, Decision::Approve, &[]).await.unwrap();
    assert_eq!(decided.review.as_ref().unwrap().reviewer, "rev-1");
    assert!(matches!(
        decide(&w, &r, Decision::Reject, &["late"]).await,
        Err(ServiceError::Domain(DomainError::AlreadyDecided(_)))
    ));
    // The same reviewer retrying the same decision (its first answer was lost) resumes again.
    decide(&w, &r, Decision::Approve, &[]).await.unwrap();
    let resumes = resumed(&w);
    let approve = (
        "token-review".to_string(),
        serde_json::json!({"decision": "approve"}),
    );
    assert_eq!(resumes, vec![approve.clone(), approve]);

    forward(&w, &r, "token-authority").await;
    forward(&w, &r, "token-authority-retry").await;
    let forwarded = current(&w, &r).await;
    assert_eq!(forwarded.status, Status::ForwardedToAuthority);
    assert_eq!(
        forwarded.submission_id.as_deref(),
        Some(submission_id(&r.request_id, 1).as_str())
    );
    let submissions = w.authority.submissions.lock().unwrap().clone();
    assert!(submissions
        .iter()
        .all(|s| s.submission_id == submissions[0].submission_id));
    assert_eq!(submissions[0].entity_license_number, "京ICP备12345678号");

    authority(&w, &r, AuthorityDecision::Approved)
        .await
        .unwrap();
    let again = authority(&w, &r, AuthorityDecision::Approved)
        .await
        .unwrap();
    assert_eq!(
        again.status,
        Status::Approved,
        "a repeated callback changes nothing"
    );
    assert!(matches!(
        authority(&w, &r, AuthorityDecision::Rejected).await,
        Err(ServiceError::Domain(DomainError::AlreadyDecided(_)))
    ));
    let last = resumed(&w).last().cloned().unwrap();
    assert_eq!(
        last,
        (
            "token-authority-retry".to_string(),
            serde_json::json!({"decision": "approved"})
        )
    );

    w.closing()
        .clear_record(&attempt_of(&r, 1), Utc::now())
        .await
        .unwrap();
    w.closing()
        .clear_record(&attempt_of(&r, 1), Utc::now())
        .await
        .unwrap();
    let done = current(&w, &r).await;
    assert_eq!(done.status, Status::Completed);
    let statuses: Vec<Status> = done.history.iter().map(|h| h.status).collect();
    assert_eq!(
        statuses,
        [
            Status::Submitted,
            Status::PendingFirstReview,
            Status::ForwardedToAuthority,
            Status::Approved,
            Status::Completed
        ]
    );
    let website = w.store.get_website("w1").await.unwrap().unwrap();
    assert_eq!(website.service_ips, ["198.51.100.7", "198.51.100.8"]);
    assert_eq!(website.open_request_id, None);
    assert_eq!(website.status, WebsiteStatus::Active);

    // Each customer notification went out once per channel.
    let texts = sent_to(&w, "a@example.cn");
    assert_eq!(
        texts.len(),
        4,
        "submitted, forwarded, approved, completed: {texts:?}"
    );
    let sms = sent_to(&w, "+8613800000000");
    assert_eq!(sms.len(), 4);
    // The SMS says the new IPs are in force; the email lists them.
    assert!(sms.iter().any(|t| t.contains("新服务IP已生效")), "{sms:?}");
}

#[tokio::test]
async fn cancellations_clear_the_website_and_keep_the_entity() {
    let w = world();
    let r = submit(&w, &w.customer, "k1", "w1", PASSWORD).await.unwrap();
    verify(&w, &r, 1).await;
    decide(&w, &r, Decision::Approve, &[]).await.unwrap();
    forward(&w, &r, "t").await;
    authority(&w, &r, AuthorityDecision::Approved)
        .await
        .unwrap();
    w.closing()
        .clear_record(&attempt_of(&r, 1), Utc::now())
        .await
        .unwrap();
    let website = w.store.get_website("w1").await.unwrap().unwrap();
    assert_eq!(website.status, WebsiteStatus::Cleared);
    assert!(matches!(
        w.queries().get_website(&w.customer, "w1").await,
        Err(ServiceError::Domain(DomainError::WebsiteNotFound(_)))
    ));
    let entity = w.store.get_entity("e1").await.unwrap().unwrap();
    assert_eq!(entity.entity_license_number, "京ICP备12345678号");
}

#[tokio::test]
async fn a_decision_made_before_the_token_is_stored_still_resumes_the_workflow() {
    let w = world();
    let r = submit(&w, &w.customer, "k1", "w1", PASSWORD).await.unwrap();
    verify(&w, &r, 1).await;
    decide(&w, &r, Decision::Approve, &[]).await.unwrap();
    assert!(resumed(&w).is_empty(), "no token yet");
    await_review(&w, &r, 1, "late-token").await;
    assert_eq!(
        resumed(&w),
        vec![(
            "late-token".to_string(),
            serde_json::json!({"decision": "approve"})
        )]
    );
}

#[tokio::test]
async fn at_the_authority_deadline_a_result_recorded_without_its_wait_still_decides() {
    for (result, decided) in [
        (Some(AuthorityDecision::Approved), "approved"),
        (Some(AuthorityDecision::Rejected), "rejected"),
        (None, "overdue"),
    ] {
        let w = world();
        let r = submit(&w, &w.customer, "k1", "w1", PASSWORD).await.unwrap();
        verify(&w, &r, 1).await;
        decide(&w, &r, Decision::Approve, &[]).await.unwrap();
        // Forwarded; the wait for the authority's result timed out just as the result came in,
        // so resuming it finds no task waiting any more.
        forward(&w, &r, "authority-token").await;
        w.workflow
            .timed_out
            .lock()
            .unwrap()
            .insert("authority-token".into());
        if let Some(result) = result {
            authority(&w, &r, result).await.unwrap();
            assert!(resumed(&w).is_empty(), "no wait to resume");
        }
        for (attempt, decided) in [(r.attempt, decided), (r.attempt + 1, "overdue")] {
            let outcome = w
                .authority_deadlines()
                .authority_deadline(&attempt_of(&r, attempt))
                .await
                .unwrap();
            assert_eq!(serde_json::to_value(outcome).unwrap(), decided);
        }
    }
}

#[tokio::test]
async fn a_result_after_an_overdue_round_is_recorded_and_applied() {
    let w = world();
    let r = submit(&w, &w.customer, "k1", "w1", PASSWORD).await.unwrap();
    verify(&w, &r, 1).await;
    decide(&w, &r, Decision::Approve, &[]).await.unwrap();
    let start = Utc::now();
    forward_issued(&w, &r, "first-wait", &entered(start)).await;
    let told = w.notifier.sent.lock().unwrap().len();
    w.workflow
        .timed_out
        .lock()
        .unwrap()
        .insert("first-wait".into());
    let outcome = w
        .authority_deadlines()
        .authority_deadline(&attempt_of(&r, 1))
        .await
        .unwrap();
    assert_eq!(serde_json::to_value(outcome).unwrap(), "overdue");
    // The definition waits again: the same step, a new token, nothing submitted or told twice.
    forward_issued(&w, &r, "second-wait", &entered(start + Duration::days(30))).await;
    assert_eq!(w.authority.submissions.lock().unwrap().len(), 1);
    assert_eq!(w.notifier.sent.lock().unwrap().len(), told);
    assert_eq!(current(&w, &r).await.status, Status::ForwardedToAuthority);

    authority(&w, &r, AuthorityDecision::Approved)
        .await
        .unwrap();
    assert_eq!(
        resumed(&w),
        vec![(
            "second-wait".to_string(),
            serde_json::json!({"decision": "approved"})
        )]
    );
    w.closing()
        .clear_record(&attempt_of(&r, 1), Utc::now())
        .await
        .unwrap();
    assert_eq!(current(&w, &r).await.status, Status::Completed);
}

fn operator() -> Caller {
    Caller::Operator {
        operator_id: "ops-1".into(),
    }
}

#[tokio::test]
async fn an_approval_is_never_failed_and_an_operator_re_drives_it_once() {
    let w = world();
    let r = submit_change(&w, "w1", &["203.0.113.20"]).await;
    verify(&w, &r, 1).await;
    assert!(matches!(
        w.redrives()
            .redrive(&operator(), &r.request_id, Utc::now())
            .await,
        Err(ServiceError::Domain(DomainError::NothingToRedrive(
            Status::PendingFirstReview
        )))
    ));
    decide(&w, &r, Decision::Approve, &[]).await.unwrap();
    forward(&w, &r, "t").await;
    authority(&w, &r, AuthorityDecision::Approved)
        .await
        .unwrap();
    let told = sent_to(&w, "a@example.cn").len();

    // The workflow's failure path leaves an approval as it is, and tells nobody.
    w.closing()
        .fail(
            &attempt_of(&r, 1),
            FailureCause::StepFailed("Retryable".into()),
            Utc::now(),
        )
        .await
        .unwrap();
    assert_eq!(current(&w, &r).await.status, Status::Approved);
    assert_eq!(sent_to(&w, "a@example.cn").len(), told);

    for not_an_operator in [w.customer.clone(), reviewer()] {
        assert!(matches!(
            w.redrives()
                .redrive(&not_an_operator, &r.request_id, Utc::now())
                .await,
            Err(ServiceError::Forbidden)
        ));
    }
    let redriven = w
        .redrives()
        .redrive(&operator(), &r.request_id, Utc::now())
        .await
        .unwrap();
    assert_eq!(redriven.status, Status::Completed);
    let website = w.store.get_website("w1").await.unwrap().unwrap();
    assert_eq!(website.service_ips, vec!["203.0.113.20".to_string()]);
    let again = w
        .redrives()
        .redrive(&operator(), &r.request_id, Utc::now())
        .await
        .unwrap();
    assert_eq!(
        again.history, redriven.history,
        "a second re-drive changes nothing"
    );
    // The workflow's own next round finds the work done.
    w.closing()
        .clear_record(&attempt_of(&r, 1), Utc::now())
        .await
        .unwrap();
    assert_eq!(current(&w, &r).await.history, redriven.history);
    assert_eq!(
        sent_to(&w, "a@example.cn").len(),
        told + 1,
        "told once that it completed"
    );
}

/// A request failed on a contract bug while it awaited its first review: once the cause is
/// mended, only an operator re-drives it; it reopens there, holds its website again and its
/// attempt starts again. A repeat is refused, as is a request whose website another request
/// took meanwhile, or one failed before its password was checked. An approval is never failed.
#[tokio::test]
async fn an_operator_re_drives_a_failed_request_where_it_stood() {
    let w = world();
    let bug = || FailureCause::StepFailed("UnexpectedOutcome".into());
    let r = submit(&w, &w.customer, "k1", "w1", PASSWORD).await.unwrap();
    verify(&w, &r, 1).await;
    await_review(&w, &r, 1, "token-review").await;
    let due = current(&w, &r).await.review_due_at;
    w.closing()
        .fail(&attempt_of(&r, 1), bug(), Utc::now())
        .await
        .unwrap();
    assert_eq!(current(&w, &r).await.status, Status::Failed);
    for caller in [w.customer.clone(), reviewer()] {
        assert!(matches!(
            w.redrives()
                .redrive(&caller, &r.request_id, Utc::now())
                .await,
            Err(ServiceError::Forbidden)
        ));
    }
    // Step Functions refuses the start: the request is reopened, its run not started yet.
    let throttled = std::sync::atomic::Ordering::SeqCst;
    w.workflow.fail_starts.store(true, throttled);
    assert!(matches!(
        w.redrives()
            .redrive(&operator(), &r.request_id, Utc::now())
            .await,
        Err(ServiceError::Workflow(_))
    ));
    assert_eq!(current(&w, &r).await.status, Status::PendingFirstReview);
    w.workflow.fail_starts.store(false, throttled);
    let runs = || w.workflow.executions.lock().unwrap().clone();
    let before = runs();
    // The operator tries again: the run starts.
    let reopened = w
        .redrives()
        .redrive(&operator(), &r.request_id, Utc::now())
        .await
        .unwrap();
    assert_eq!(reopened.status, Status::PendingFirstReview);
    assert_eq!(
        reopened.history.last().unwrap().event,
        Some(HistoryEvent::Redriven)
    );
    let website = w.store.get_website("w1").await.unwrap().unwrap();
    assert_eq!(
        website.open_request_id.as_deref(),
        Some(r.request_id.as_str())
    );
    let again = format!("{}_{}", execution_name(&reopened), reopened.history.len());
    let started: Vec<String> = runs().difference(&before).cloned().collect();
    assert_eq!(started, [again], "one run, named by the reopening");
    assert_eq!(reopened.review_due_at, due, "due when it was");
    let (queue, _) = w.store.review_queue(10, None).await.unwrap();
    assert!(queue.iter().any(|q| q.request_id == r.request_id));
    // The restarted run's wait tells the reviewers again, once.
    await_review(&w, &r, 1, "token-review-again").await;
    await_review(&w, &r, 1, "token-review-again").await;
    assert_eq!(
        sent_to(&w, REVIEWERS[0]).len(),
        2,
        "told again of the re-drive"
    );
    // A repeat (its answer lost) answers the same and starts nothing more.
    let repeated = w
        .redrives()
        .redrive(&operator(), &r.request_id, Utc::now())
        .await
        .unwrap();
    assert_eq!(repeated.history.len(), reopened.history.len());
    assert_eq!(runs().difference(&before).count(), 1);

    // Failed again; the customer filed another request on the website meanwhile.
    w.closing()
        .fail(&attempt_of(&r, 1), bug(), Utc::now())
        .await
        .unwrap();
    let other = submit(&w, &w.customer, "k2", "w1", PASSWORD).await.unwrap();
    assert!(matches!(
        w.redrives().redrive(&operator(), &r.request_id, Utc::now()).await,
        Err(ServiceError::Domain(DomainError::RequestAlreadyOpen(open))) if open == other.request_id
    ));
    assert_eq!(current(&w, &r).await.status, Status::Failed);

    // Failed before its password was checked: the password is gone, nothing to go on with.
    let early = submit_change(&w, "w2", &["203.0.113.40"]).await;
    w.closing()
        .fail(&attempt_of(&early, 1), bug(), Utc::now())
        .await
        .unwrap();
    assert!(matches!(
        w.redrives()
            .redrive(&operator(), &early.request_id, Utc::now())
            .await,
        Err(ServiceError::Domain(DomainError::NothingToRedrive(
            Status::Failed
        )))
    ));

    // Approved at first review: a failure is never recorded.
    verify(&w, &other, 1).await;
    decide(&w, &other, Decision::Approve, &[]).await.unwrap();
    w.closing()
        .fail(&attempt_of(&other, 1), bug(), Utc::now())
        .await
        .unwrap();
    assert_eq!(current(&w, &other).await.status, Status::PendingFirstReview);
}

fn execution_name(r: &Request) -> String {
    format!("{}-{}", r.request_id, r.attempt)
}

async fn sweep(w: &World) -> sweep::SweepReport {
    w.sweeper()
        .sweep(Utc::now(), Duration::zero())
        .await
        .unwrap()
}

#[tokio::test]
async fn the_sweeper_starts_a_write_left_without_its_execution_once_it_is_quiet() {
    let w = world();
    let r = submit(&w, &w.customer, "k1", "w1", PASSWORD).await.unwrap();
    // The submit died between its write and StartExecution.
    w.workflow.executions.lock().unwrap().clear();
    let young = w
        .sweeper()
        .sweep(Utc::now(), Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(
        young,
        sweep::SweepReport::default(),
        "a young write is left alone"
    );
    let report = sweep(&w).await;
    assert_eq!(report.started, vec![r.request_id.clone()]);
    assert!(w
        .workflow
        .executions
        .lock()
        .unwrap()
        .contains(&execution_name(&r)));
    assert_eq!(sweep(&w).await.acted(), 0, "now it runs: nothing to do");
}

/// Requests whose execution ended while they were open (stopped, lost) are started again from
/// where they stand, in a new execution of the same attempt; none is failed, nobody is told
/// anything, and the next sweep finds them running.
#[tokio::test]
async fn the_sweeper_starts_again_what_an_ended_execution_left_open() {
    let w = world();
    // Awaiting first review.
    let waiting_review = submit(&w, &w.customer, "k1", "w1", PASSWORD).await.unwrap();
    verify(&w, &waiting_review, 1).await;
    // Approved by the authority, the record not cleared yet.
    let approved = submit_change(&w, "w2", &["203.0.113.30"]).await;
    verify(&w, &approved, 1).await;
    decide(&w, &approved, Decision::Approve, &[]).await.unwrap();
    forward(&w, &approved, "t").await;
    authority(&w, &approved, AuthorityDecision::Approved)
        .await
        .unwrap();
    // The callback's resume ended that wait: its token is no longer waited on.
    w.workflow.timed_out.lock().unwrap().insert("t".into());
    // Rejected, waiting for Modify and Submit.
    let rejected = submit(
        &w,
        &Caller::Customer {
            entity_id: "e2".into(),
        },
        "k3",
        "w3",
        "wrong",
    )
    .await
    .unwrap();
    verify(&w, &rejected, 1).await;
    for r in [&waiting_review, &approved, &rejected] {
        w.workflow.ended.lock().unwrap().insert(execution_name(r));
    }
    // Awaiting first review, its execution running: listed as such, never looked at alone.
    w.store.put_website(Website {
        website_id: "w4".into(),
        domain: "w4.example.cn".into(),
        open_request_id: None,
        ..w.store.get_website("w1").await.unwrap().unwrap()
    });
    let running = submit(&w, &w.customer, "k4", "w4", PASSWORD).await.unwrap();
    verify(&w, &running, 1).await;
    let before = |r: &Request| (r.request_id.clone(), r.status);
    let mut stood = Vec::new();
    for r in [&waiting_review, &approved, &rejected, &running] {
        stood.push(before(&current(&w, r).await));
    }
    let told_before = w.notifier.sent.lock().unwrap().len();

    let report = sweep(&w).await;
    let mut described = w.workflow.described.lock().unwrap().clone();
    described.sort();
    let mut ended: Vec<_> = [&waiting_review, &approved, &rejected]
        .map(execution_name)
        .to_vec();
    ended.sort();
    assert_eq!(described, ended, "only the unlisted are looked at");
    let mut restarted = report.restarted.clone();
    restarted.sort();
    let mut expected: Vec<_> = [&waiting_review, &approved, &rejected]
        .map(|r| r.request_id.clone())
        .to_vec();
    expected.sort();
    assert_eq!(restarted, expected, "{report:?}");
    assert!(
        report.started.is_empty() && report.resumed.is_empty() && report.errors.is_empty(),
        "{report:?}"
    );
    for r in [&waiting_review, &approved, &rejected] {
        let r = current(&w, r).await;
        let again = format!("{}_{}", execution_name(&r), r.history.len());
        assert!(
            w.workflow.executions.lock().unwrap().contains(&again),
            "{again} started"
        );
    }
    let mut stand = Vec::new();
    for r in [&waiting_review, &approved, &rejected, &running] {
        stand.push(before(&current(&w, r).await));
    }
    assert_eq!(stand, stood, "nothing moved, nothing failed");
    assert_eq!(w.notifier.sent.lock().unwrap().len(), told_before);
    let again = sweep(&w).await;
    assert_eq!(again.acted(), 0, "now they run: {again:?}");
}

/// Without the listing, only an attempt's first execution can be looked at by name: one that
/// ended while a restart of the attempt runs is not started a third time, which would take the
/// running one's waits from it.
#[tokio::test]
async fn without_the_listing_an_ended_execution_is_not_restarted_beside_its_restart() {
    let w = world();
    let r = submit(&w, &w.customer, "k1", "w1", PASSWORD).await.unwrap();
    verify(&w, &r, 1).await;
    w.workflow.ended.lock().unwrap().insert(execution_name(&r));
    let restart = format!(
        "{}_{}",
        execution_name(&r),
        current(&w, &r).await.history.len()
    );
    w.workflow.executions.lock().unwrap().insert(restart);
    // The restart goes on: approved, the history is longer than the restart's name says.
    decide(&w, &r, Decision::Approve, &[]).await.unwrap();
    let runs = w.workflow.executions.lock().unwrap().clone();
    let listing = std::sync::atomic::Ordering::SeqCst;
    w.workflow.fail_listing.store(true, listing);
    let blind = sweep(&w).await;
    assert!(blind.unlisted.is_some());
    assert_eq!(blind.acted(), 0, "{blind:?}");
    w.workflow.fail_listing.store(false, listing);
    let listed = sweep(&w).await;
    assert!(listed.restarted.is_empty(), "{listed:?}");
    assert_eq!(*w.workflow.executions.lock().unwrap(), runs);
}

/// A result recorded whose resume was lost: the reviewer's decision (the request still awaits
/// its first review), the authority's rejection (the request closed, its execution still
/// waiting). The sweeper resumes each wait once with it; a wait already over is left.
#[tokio::test]
async fn the_sweeper_resumes_a_wait_whose_result_is_recorded() {
    let w = world();
    let decided = submit(&w, &w.customer, "k1", "w1", PASSWORD).await.unwrap();
    verify(&w, &decided, 1).await;
    await_review(&w, &decided, 1, "review-token").await;
    decide(&w, &decided, Decision::Approve, &[]).await.unwrap();
    let rejected = submit_change(&w, "w2", &["203.0.113.30"]).await;
    verify(&w, &rejected, 1).await;
    decide(&w, &rejected, Decision::Approve, &[]).await.unwrap();
    forward(&w, &rejected, "authority-token").await;
    authority(&w, &rejected, AuthorityDecision::Rejected)
        .await
        .unwrap();
    assert_eq!(
        current(&w, &rejected).await.status,
        Status::AuthorityRejected
    );
    // Both resumes were lost (Step Functions was down): the waits still wait.
    w.workflow.resumed.lock().unwrap().clear();

    let report = sweep(&w).await;
    let mut ids = report.resumed.clone();
    ids.sort();
    let mut expected = vec![decided.request_id.clone(), rejected.request_id.clone()];
    expected.sort();
    assert_eq!(ids, expected, "{report:?}");
    let mut got = resumed(&w);
    got.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        got,
        vec![
            (
                "authority-token".into(),
                serde_json::json!({"decision": "rejected"})
            ),
            (
                "review-token".into(),
                serde_json::json!({"decision": "approve"})
            ),
        ]
    );
    // Delivered now: the tokens are no longer waited on.
    for token in ["authority-token", "review-token"] {
        w.workflow.timed_out.lock().unwrap().insert(token.into());
    }
    let again = sweep(&w).await;
    assert_eq!(again.acted(), 0, "{again:?}");
    assert_eq!(resumed(&w).len(), 2);
}

/// Modify and Submit's start item reached no `start-workflow` (the stream gave up on it) while
/// attempt 1's execution still waits for its reminder: the sweeper starts attempt 2, and does
/// so too when the running executions cannot be listed.
#[tokio::test]
async fn the_sweeper_starts_a_resubmitted_attempt_the_stream_gave_up_on() {
    for listing_fails in [false, true] {
        let w = world();
        let r = submit(&w, &w.customer, "k1", "w1", "wrong").await.unwrap();
        assert_eq!(verify(&w, &r, 1).await, VerifyOutcome::Rejected);
        w.submitting()
            .resubmit(
                &w.customer,
                &r.request_id,
                PASSWORD,
                None,
                &LOCAL,
                Utc::now(),
            )
            .await
            .unwrap();
        w.workflow
            .fail_listing
            .store(listing_fails, std::sync::atomic::Ordering::SeqCst);
        let report = sweep(&w).await;
        assert_eq!(report.started, vec![r.request_id.clone()]);
        assert_eq!(report.unlisted.is_some(), listing_fails);
        let executions = w.workflow.executions.lock().unwrap().clone();
        assert_eq!(
            executions,
            BTreeSet::from([execution_name(&r), format!("{}-2", r.request_id)])
        );
        assert_eq!(
            w.workflow.described.lock().unwrap().clone(),
            vec![format!("{}-2", r.request_id)],
            "attempt 1's execution is not attempt 2's"
        );
    }
}

/// The parked execution of `attempt`, over, wakes: its reminder answers `Superseded` (the
/// execution ends there), and an expiry (had it been resubmitted after the reminder) runs too.
async fn earlier_attempt_wakes(w: &World, r: &Request, attempt: u32) {
    assert_eq!(
        w.closing()
            .remind_resubmission(&attempt_of(r, attempt), Utc::now())
            .await
            .unwrap(),
        ReminderOutcome::Superseded
    );
    w.closing()
        .expire(&attempt_of(r, attempt), Utc::now())
        .await
        .unwrap();
}

/// Attempt 1's execution wakes for its reminder and its expiry while attempt 2, rejected too,
/// waits for the customer: neither is attempt 1's to act on. Attempt 2's own reminder is sent.
#[tokio::test]
async fn a_parked_execution_of_an_earlier_attempt_never_reminds_or_expires_a_later_one() {
    let w = world();
    let r = submit(&w, &w.customer, "k1", "w1", "wrong").await.unwrap();
    assert_eq!(verify(&w, &r, 1).await, VerifyOutcome::Rejected);
    w.submitting()
        .resubmit(
            &w.customer,
            &r.request_id,
            "wrong-again",
            None,
            &LOCAL,
            Utc::now(),
        )
        .await
        .unwrap();
    assert!(w.starts().start_written(&r.request_id, 2).await.unwrap());
    assert_eq!(verify(&w, &r, 2).await, VerifyOutcome::Rejected);
    let reminders = |w: &World| {
        sent_to(w, "+8613800000000")
            .iter()
            .filter(|sms| sms.contains("即将过期"))
            .count()
    };
    earlier_attempt_wakes(&w, &r, 1).await;
    let now = current(&w, &r).await;
    assert_eq!((now.status, now.attempt), (Status::PasswordRejected, 2));
    assert_eq!(reminders(&w), 0);
    assert_eq!(
        w.closing()
            .remind_resubmission(&attempt_of(&r, 2), Utc::now())
            .await
            .unwrap(),
        ReminderOutcome::Reminded
    );
    assert_eq!(reminders(&w), 1);
}

/// Withdrawn while the stream was starting it (the withdraw's stop found no execution yet):
/// the attempt's first step tells nothing was submitted and checks nothing.
#[tokio::test]
async fn a_request_withdrawn_before_its_first_step_is_told_nothing_of_it() {
    let w = world();
    let r = submit_unstarted(&w, &w.customer, "k1", "w1", PASSWORD)
        .await
        .unwrap();
    withdraw(&w, &r).await;
    assert!(!w.starts().start_written(&r.request_id, 1).await.unwrap());
    let before = sent_to(&w, "a@example.cn").len();
    assert_eq!(verify(&w, &r, 1).await, VerifyOutcome::Superseded);
    let emails = sent_to(&w, "a@example.cn");
    assert_eq!(emails.len(), before, "{emails:?}");
}

#[tokio::test]
async fn a_first_review_rejection_then_modify_and_submit_starts_attempt_two() {
    let w = world();
    let r = submit_change(&w, "w1", &["198.51.100.7"]).await;
    verify(&w, &r, 1).await;
    assert!(matches!(
        decide(&w, &r, Decision::Reject, &[]).await,
        Err(ServiceError::Domain(DomainError::Validation {
            code: "invalid_reasons",
            ..
        }))
    ));
    decide(&w, &r, Decision::Reject, &["IP not in our network"])
        .await
        .unwrap();
    w.review_notices()
        .conclude_review(&attempt_of(&r, 1), Utc::now())
        .await
        .unwrap();
    w.review_notices()
        .conclude_review(&attempt_of(&r, 1), Utc::now())
        .await
        .unwrap();
    let rejected = current(&w, &r).await;
    assert_eq!(rejected.status, Status::FirstReviewRejected);
    assert_eq!(
        rejected.rejection_reasons,
        [Reason::from("IP not in our network")]
    );
    // The customer sees that a reviewer rejected it, and why, not which reviewer.
    let actors = |request: &Request| -> Vec<String> {
        let mut actors: Vec<String> = request.history.iter().map(|h| h.actor.clone()).collect();
        actors.extend(request.review.iter().map(|v| v.reviewer.clone()));
        actors
    };
    let as_reviewer = w
        .queries()
        .get_request(&reviewer(), &r.request_id)
        .await
        .unwrap();
    assert!(actors(&as_reviewer).iter().any(|a| a.contains("rev-1")));
    let as_customer = w
        .queries()
        .get_request(&w.customer, &r.request_id)
        .await
        .unwrap();
    assert!(
        actors(&as_customer).iter().all(|a| !a.contains("rev-1")),
        "{:?}",
        actors(&as_customer)
    );
    assert!(actors(&as_customer).contains(&"reviewer".to_string()));
    let listed = w.queries().list_requests(&w.customer, None).await.unwrap();
    assert!(listed.iter().flat_map(actors).all(|a| !a.contains("rev-1")));
    assert_eq!(
        sent_to(&w, "a@example.cn")
            .iter()
            .filter(|s| s.contains("初审未通过"))
            .count(),
        1
    );

    let ips = vec!["198.51.100.9".to_string()];
    let started_before = w.workflow.executions.lock().unwrap().clone();
    let again = resubmit(&w, &r, PASSWORD, &ips).await.unwrap();
    assert_eq!((again.status, again.attempt), (Status::Submitted, 2));
    assert_eq!(again.service_ips, Some(ips.clone()));
    assert!(again.rejection_reasons.is_empty() && again.review.is_none());
    // The click waits for no Step Functions call: attempt 1's execution is left parked and
    // attempt 2's is started from the stream, once however often its record comes.
    assert_eq!(*w.workflow.executions.lock().unwrap(), started_before);
    assert!(w.workflow.stopped.lock().unwrap().is_empty());
    assert!(!w.starts().start_written(&r.request_id, 1).await.unwrap());
    assert!(w.starts().start_written(&r.request_id, 2).await.unwrap());
    assert!(w.starts().start_written(&r.request_id, 2).await.unwrap());
    let attempt_2 = format!("{}-2", r.request_id);
    let started: Vec<_> = w
        .workflow
        .executions
        .lock()
        .unwrap()
        .difference(&started_before)
        .cloned()
        .collect();
    assert_eq!(started, vec![attempt_2]);
    // The same resubmission retried answers the same; another one while attempt 2 is being
    // checked is refused, not dropped.
    let retried = resubmit(&w, &r, PASSWORD, &ips).await.unwrap();
    assert_eq!((retried.status, retried.attempt), (Status::Submitted, 2));
    let other_ips = vec!["198.51.100.10".to_string()];
    for (password, ips) in [("other-pass-1", &ips), (PASSWORD, &other_ips)] {
        assert!(matches!(
            resubmit(&w, &r, password, ips).await,
            Err(ServiceError::Domain(DomainError::AlreadyResubmitted(2)))
        ));
    }
    assert_eq!(current(&w, &r).await.service_ips, Some(ips.clone()));
    assert_eq!(verify(&w, &r, 2).await, VerifyOutcome::Accepted);
    assert_eq!(current(&w, &r).await.status, Status::PendingFirstReview);
    // Attempt 1's execution, when it wakes, finds its attempt over: no reminder, and it ends.
    let messages = w.notifier.sent.lock().unwrap().len();
    earlier_attempt_wakes(&w, &r, 1).await;
    assert_eq!(current(&w, &r).await.status, Status::PendingFirstReview);
    assert_eq!(w.notifier.sent.lock().unwrap().len(), messages);
}

/// The step that records a first-review rejection dies with its SMS claimed; the customer
/// sees the status and resubmits at once, and the step's retry finds its attempt over. The next attempt's first step tells the customer attempt 1's rejection, with its
/// reasons, once.
#[tokio::test]
async fn a_rejection_in_flight_when_the_customer_resubmits_is_still_told() {
    let w = world();
    let r = submit_change(&w, "w1", &["198.51.100.7"]).await;
    verify(&w, &r, 1).await;
    decide(&w, &r, Decision::Reject, &["IP not in our network"])
        .await
        .unwrap();
    let t0 = Utc::now();
    // A sender of the same step that died after its claim: the claim holds its lease.
    let sms_id = format!("{}#1#first_review_rejected#sms", r.request_id);
    w.store
        .claim_notification(&sms_id, t0, t0 + Duration::seconds(40))
        .await
        .unwrap();
    assert!(
        w.review_notices()
            .conclude_review(&attempt_of(&r, 1), t0)
            .await
            .is_err(),
        "the message is in flight: the step fails, to be retried"
    );
    assert_eq!(current(&w, &r).await.status, Status::FirstReviewRejected);
    let told = |w: &World| -> Vec<String> {
        sent_to(w, "+8613800000000")
            .into_iter()
            .filter(|sms| sms.contains("IP not in our network"))
            .collect()
    };
    assert!(told(&w).is_empty());

    resubmit(&w, &r, PASSWORD, &["198.51.100.9".to_string()])
        .await
        .unwrap();
    // Attempt 1's execution retries the step: its attempt is over, so it ends, telling nothing.
    w.review_notices()
        .conclude_review(&attempt_of(&r, 1), t0 + Duration::seconds(41))
        .await
        .unwrap();
    assert!(told(&w).is_empty());
    let verification = w.verification();
    let verify_at =
        |at| verification.verify_password(&r.request_id, 2, at, LockPolicy::default(), at);
    // While the dead sender's lease holds, the new attempt's check waits (it is retried).
    assert!(verify_at(t0 + Duration::seconds(1)).await.is_err());
    assert!(told(&w).is_empty());
    let later = t0 + Duration::seconds(41);
    assert_eq!(verify_at(later).await.unwrap(), VerifyOutcome::Accepted);
    assert_eq!(verify_at(later).await.unwrap(), VerifyOutcome::Accepted);
    assert_eq!(told(&w).len(), 1, "{:?}", sent_to(&w, "+8613800000000"));
    let emails = sent_to(&w, "a@example.cn");
    assert_eq!(
        emails.iter().filter(|s| s.contains("初审未通过")).count(),
        1,
        "{emails:?}"
    );
    let now = current(&w, &r).await;
    assert_eq!((now.status, now.attempt), (Status::PendingFirstReview, 2));
}

/// The review's timer ending before the due time escalates nothing; at the due time the
/// reviewers are told once per escalation.
#[tokio::test]
async fn reviewers_are_escalated_only_once_the_review_is_due() {
    let w = world();
    let r = submit(&w, &w.customer, "k1", "w1", PASSWORD).await.unwrap();
    let due = Utc::now() + Duration::hours(24);
    w.verification()
        .verify_password(&r.request_id, 1, due, LockPolicy::default(), Utc::now())
        .await
        .unwrap();
    let attempt = attempt_of(&r, 1);
    let escalations = |w: &World| {
        REVIEWERS
            .iter()
            .map(|to| {
                sent_to(w, to)
                    .iter()
                    .filter(|s| s.contains("overdue"))
                    .count()
            })
            .sum::<usize>()
    };
    let early = due - Duration::hours(1);
    assert!(!w
        .review_notices()
        .escalate_review(&reviewers(), &attempt, "t1", early)
        .await
        .unwrap());
    assert_eq!(escalations(&w), 0);
    for _ in 0..2 {
        assert!(w
            .review_notices()
            .escalate_review(&reviewers(), &attempt, "t2", due)
            .await
            .unwrap());
    }
    assert_eq!(escalations(&w), REVIEWERS.len(), "each reviewer once");
}

/// The forward is due 1 working day after the reviewer's approval: before it a failed forward
/// is not overdue, after it it is; a request not approved at review never is.
#[tokio::test]
async fn a_forward_is_overdue_one_working_day_after_the_approval() {
    let w = world();
    let calendar = icp_domain::calendar::WorkingCalendar::default();
    let r = submit(&w, &w.customer, "k1", "w1", PASSWORD).await.unwrap();
    verify(&w, &r, 1).await;
    let attempt = attempt_of(&r, 1);
    let now = Utc::now();
    assert!(!w
        .forwarding()
        .forward_overdue(&attempt, &calendar, now)
        .await
        .unwrap());
    decide(&w, &r, Decision::Approve, &[]).await.unwrap();
    let approved_at = current(&w, &r).await.review.unwrap().at;
    let due = calendar.one_working_day_after(approved_at).at;
    let before = due.with_timezone(&Utc) - Duration::seconds(1);
    assert!(!w
        .forwarding()
        .forward_overdue(&attempt, &calendar, before)
        .await
        .unwrap());
    assert!(w
        .forwarding()
        .forward_overdue(&attempt, &calendar, due.with_timezone(&Utc))
        .await
        .unwrap());
    assert!(!w
        .forwarding()
        .forward_overdue(&attempt_of(&r, 2), &calendar, due.with_timezone(&Utc))
        .await
        .unwrap());
}

/// The forward's clock is in the request's history: the `forwarded_to_authority` entry names the
/// due time in China time, and says when the forward came after it.
#[tokio::test]
async fn the_forward_shows_its_due_time_in_the_history() {
    let calendar = icp_domain::calendar::WorkingCalendar::default();
    for late in [false, true] {
        let w = world();
        let r = submit(&w, &w.customer, "k1", "w1", PASSWORD).await.unwrap();
        verify(&w, &r, 1).await;
        decide(&w, &r, Decision::Approve, &[]).await.unwrap();
        let approved_at = current(&w, &r).await.review.unwrap().at;
        let due = calendar
            .one_working_day_after(approved_at)
            .at
            .with_timezone(&Utc);
        let at = if late {
            due + Duration::seconds(1)
        } else {
            due
        };
        w.forwarding()
            .forward_to_authority(&wait(&r, 1, "t1", &entered_now()), &calendar, at)
            .await
            .unwrap();
        let forwarded = current(&w, &r).await.history.pop().unwrap();
        assert_eq!(forwarded.status, Status::ForwardedToAuthority);
        let note = forwarded.note(Language::En);
        let clock = format!(
            "due by {}",
            icp_domain::calendar::for_people(due, Language::En)
        );
        assert!(note.contains(&clock), "{note}");
        assert!(clock.ends_with("China time"));
        assert_eq!(note.contains(", late"), late, "{note}");
    }
}

#[tokio::test]
async fn withdraw_works_until_approved_and_is_refused_after() {
    let w = world();
    let r = submit(&w, &w.customer, "k1", "w1", PASSWORD).await.unwrap();
    verify(&w, &r, 1).await;
    let other = Caller::Customer {
        entity_id: "e2".into(),
    };
    assert!(matches!(
        w.withdrawals()
            .withdraw(&other, &r.request_id, Utc::now())
            .await,
        Err(ServiceError::Forbidden)
    ));
    let withdrawn = w
        .withdrawals()
        .withdraw(&w.customer, &r.request_id, Utc::now())
        .await
        .unwrap();
    assert_eq!(withdrawn.status, Status::Withdrawn);
    assert_eq!(
        w.store
            .get_website("w1")
            .await
            .unwrap()
            .unwrap()
            .open_request_id,
        None
    );
    assert_eq!(w.workflow.stopped.lock().unwrap().len(), 1);

    let r2 = submit(&w, &w.customer, "k2", "w1", PASSWORD).await.unwrap();
    verify(&w, &r2, 1).await;
    decide(&w, &r2, Decision::Approve, &[]).await.unwrap();
    // Approved, not yet forwarded: the forward may already be with the authority.
    assert!(matches!(
        w.withdrawals()
            .withdraw(&w.customer, &r2.request_id, Utc::now())
            .await,
        Err(ServiceError::Domain(DomainError::WithdrawAfterApproval))
    ));
    assert_eq!(current(&w, &r2).await.status, Status::PendingFirstReview);
    forward(&w, &r2, "t").await;
    assert!(matches!(
        w.withdrawals()
            .withdraw(&w.customer, &r2.request_id, Utc::now())
            .await,
        Err(ServiceError::Domain(DomainError::WithdrawAfterApproval))
    ));
    assert_eq!(current(&w, &r2).await.status, Status::ForwardedToAuthority);
}

#[tokio::test]
async fn a_failing_email_is_recorded_and_the_request_goes_on() {
    let w = world();
    w.notifier
        .fail_email
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let r = submit(&w, &w.customer, "k1", "w1", PASSWORD).await.unwrap();
    assert_eq!(verify(&w, &r, 1).await, VerifyOutcome::Accepted);
    let log = w.store.notifications();
    let email = log
        .iter()
        .find(|(id, _)| id.ends_with("#submitted#email"))
        .map(|(_, outcome)| outcome.clone());
    assert_eq!(email, Some(Some(Err("SES is down".to_string()))));
    let sms = log
        .iter()
        .find(|(id, _)| id.ends_with("#submitted#sms"))
        .map(|(_, o)| o.clone());
    assert_eq!(sms, Some(Some(Ok(()))));
}

#[tokio::test]
async fn an_authority_rejection_closes_the_request_with_its_reasons() {
    let w = world();
    let r = submit(&w, &w.customer, "k1", "w1", PASSWORD).await.unwrap();
    verify(&w, &r, 1).await;
    decide(&w, &r, Decision::Approve, &[]).await.unwrap();
    forward(&w, &r, "t").await;
    let rejected = authority(&w, &r, AuthorityDecision::Rejected)
        .await
        .unwrap();
    assert_eq!(rejected.status, Status::AuthorityRejected);
    assert_eq!(
        rejected.rejection_reasons,
        [Reason::from("Domain name under investigation")]
    );
    let website = w.store.get_website("w1").await.unwrap().unwrap();
    assert_eq!(
        (website.status, website.open_request_id),
        (WebsiteStatus::Active, None)
    );
    let wrong = w
        .authority_results()
        .authority_result(
            &r.request_id,
            "sub-forged",
            AuthorityDecision::Approved,
            &[],
            Utc::now(),
        )
        .await;
    assert!(matches!(
        wrong,
        Err(ServiceError::Domain(DomainError::SubmissionNotFound(_)))
    ));
}

#[tokio::test]
async fn five_wrong_passwords_in_a_row_lock_the_entity_and_a_right_one_resets_the_count() {
    let w = world();
    let wrong_then_withdraw = |key: &'static str, password: &'static str| {
        let w = &w;
        async move {
            let r = submit(w, &w.customer, key, "w1", password).await?;
            let outcome = verify(w, &r, 1).await;
            w.withdrawals()
                .withdraw(&w.customer, &r.request_id, Utc::now())
                .await?;
            Ok::<_, ServiceError>(outcome)
        }
    };
    for key in ["a1", "a2", "a3", "a4"] {
        assert_eq!(
            wrong_then_withdraw(key, "nope").await.unwrap(),
            VerifyOutcome::Rejected
        );
    }
    assert_eq!(
        wrong_then_withdraw("ok", PASSWORD).await.unwrap(),
        VerifyOutcome::Accepted
    );
    assert_eq!(
        w.store
            .get_entity("e1")
            .await
            .unwrap()
            .unwrap()
            .failed_password_attempts,
        0
    );
    for key in ["b1", "b2", "b3", "b4", "b5"] {
        assert_eq!(
            wrong_then_withdraw(key, "nope").await.unwrap(),
            VerifyOutcome::Rejected
        );
    }
    match wrong_then_withdraw("b6", PASSWORD).await {
        Err(ServiceError::Domain(DomainError::PasswordLocked {
            retry_after_seconds,
        })) => {
            assert!(retry_after_seconds > 0 && retry_after_seconds <= 1800)
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_lock_stops_the_checks_in_flight_and_its_end_restarts_the_count() {
    let w = world();
    // Submitted before the lock, checked while it holds: rejected unchecked, not counted.
    let in_flight = submit(&w, &w.customer, "k1", "w1", PASSWORD).await.unwrap();
    let mut e = w.store.get_entity("e1").await.unwrap().unwrap();
    e.failed_password_attempts = 5;
    e.locked_until = Some(Utc::now() + Duration::minutes(10));
    w.store.put_entity(e.clone());
    assert_eq!(verify(&w, &in_flight, 1).await, VerifyOutcome::Rejected);
    let rejected = current(&w, &in_flight).await;
    assert_eq!(rejected.status, Status::PasswordRejected);
    assert_eq!(
        rejected.rejection_reasons,
        [Reason::from(ReasonCode::LicensePasswordLocked)]
    );
    assert_eq!(
        w.store.get_entity("e1").await.unwrap().unwrap(),
        e,
        "the right password was not checked, the count not touched"
    );
    withdraw(&w, &in_flight).await;

    // The lock ran out: one wrong password counts one, it does not lock again at once.
    e.locked_until = Some(Utc::now() - Duration::seconds(1));
    w.store.put_entity(e);
    let wrong = submit(&w, &w.customer, "k2", "w1", "nope").await.unwrap();
    assert_eq!(verify(&w, &wrong, 1).await, VerifyOutcome::Rejected);
    let entity = w.store.get_entity("e1").await.unwrap().unwrap();
    assert_eq!(
        (entity.failed_password_attempts, entity.locked_until),
        (1, None)
    );
}

/// The check's step crashed after its transition, before it settled the check, and the
/// customer moved on before the retry: the retry settles it as it was judged.
#[tokio::test]
async fn a_check_retried_after_a_crash_is_settled_as_it_was_judged() {
    let w = world();
    wrong_in_a_row(&w, 3).await;

    // Judged wrong and recorded so, then withdrawn: the retry counts it, not clears the count.
    let wrong = submit(&w, &w.customer, "k1", "w1", "nope").await.unwrap();
    reserve_check(&w, &wrong).await;
    let rejected = wrong
        .transition(
            Status::PasswordRejected,
            "system:verify-password",
            HistoryEvent::PasswordRejected,
            Utc::now(),
        )
        .unwrap()
        .rejecting(vec![ReasonCode::LicensePasswordIncorrect.into()]);
    w.store.apply(&rejected).await.unwrap();
    withdraw(&w, &wrong).await;
    assert_eq!(verify(&w, &wrong, 1).await, VerifyOutcome::Superseded);
    assert_eq!(failures(&w).await, (4, false));

    // Withdrawn before its judgement was written: nothing says it matched, so it counts as a
    // failure, the fifth, which locks.
    let unrecorded = submit(&w, &w.customer, "k2", "w1", PASSWORD).await.unwrap();
    reserve_check(&w, &unrecorded).await;
    withdraw(&w, &unrecorded).await;
    assert_eq!(verify(&w, &unrecorded, 1).await, VerifyOutcome::Superseded);
    assert_eq!(failures(&w).await, (5, true));
}

/// Withdrawn while its check was in flight (reserved, not yet judged), the stopped step never
/// settles it: the withdrawal does, as a failure, or the try it holds would be held for good and
/// the entity's later checks would wait for it forever.
#[tokio::test]
async fn a_withdrawal_settles_the_check_its_stopped_step_had_reserved() {
    let w = world();
    wrong_in_a_row(&w, 4).await;
    let r = submit(&w, &w.customer, "k1", "w1", PASSWORD).await.unwrap();
    reserve_check(&w, &r).await;
    withdraw(&w, &r).await;
    assert_eq!(failures(&w).await, (5, true), "the fifth in a row locks");
    withdraw(&w, &r).await;
    assert_eq!(
        failures(&w).await,
        (5, true),
        "a retried withdrawal settles nothing twice"
    );
}

/// Failed while its check was in flight (its step could not go on), the same: the check is
/// settled with the recorded failure, and only a check never judged.
#[tokio::test]
async fn a_recorded_failure_settles_the_check_its_step_had_reserved() {
    let w = world();
    let judged = submit(&w, &w.customer, "k0", "w2", PASSWORD).await.unwrap();
    assert_eq!(verify(&w, &judged, 1).await, VerifyOutcome::Accepted);
    wrong_in_a_row(&w, 4).await;
    let failed = |r: &Request| {
        let attempt = attempt_of(r, 1);
        let w = &w;
        async move {
            let crash = FailureCause::StepFailed("Runtime.ExitError".into());
            w.closing().fail(&attempt, crash, Utc::now()).await.unwrap();
            w.unjudged_checks()
                .settle_attempt(&attempt, Utc::now())
                .await
                .unwrap();
        }
    };
    failed(&judged).await;
    assert_eq!(
        failures(&w).await,
        (4, false),
        "judged already: nothing to settle"
    );

    let r = submit(&w, &w.customer, "k1", "w1", PASSWORD).await.unwrap();
    reserve_check(&w, &r).await;
    failed(&r).await;
    assert_eq!(current(&w, &r).await.status, Status::Failed);
    assert_eq!(failures(&w).await, (5, true), "the fifth in a row locks");
}

/// What the check of `r`'s first attempt does before it judges the password.
async fn reserve_check(w: &World, r: &Request) {
    let check = format!("{}#1", r.request_id);
    let reserved = w
        .store
        .reserve_password_check(&r.entity_id, &check, 5, None);
    assert!(reserved.await.unwrap());
}

/// e1 has had `failures` wrong passwords in a row.
async fn wrong_in_a_row(w: &World, failures: u32) {
    let mut e = w.store.get_entity("e1").await.unwrap().unwrap();
    e.failed_password_attempts = failures;
    w.store.put_entity(e);
}

/// e1's wrong passwords in a row, and whether it is locked.
async fn failures(w: &World) -> (u32, bool) {
    let entity = w.store.get_entity("e1").await.unwrap().unwrap();
    (
        entity.failed_password_attempts,
        entity.locked_until.is_some(),
    )
}

#[tokio::test]
async fn a_stale_wait_claimed_late_never_replaces_the_live_one() {
    let w = world();
    let r = submit(&w, &w.customer, "k1", "w1", PASSWORD).await.unwrap();
    verify(&w, &r, 1).await;
    let stale_entered_at = entered(Utc::now() - Duration::seconds(1));
    await_review(&w, &r, 1, "live-token").await;
    // The task of a wait that timed out, invoked only now: its token is passed over.
    await_review_issued(&w, &r, 1, "stale-token", &stale_entered_at).await;
    decide(&w, &r, Decision::Approve, &[]).await.unwrap();
    assert_eq!(
        resumed(&w),
        vec![(
            "live-token".to_string(),
            serde_json::json!({"decision": "approve"})
        )]
    );
}

#[tokio::test]
async fn a_wait_retried_after_a_crash_keeps_the_retrys_token() {
    let w = world();
    let r = submit(&w, &w.customer, "k1", "w1", PASSWORD).await.unwrap();
    verify(&w, &r, 1).await;
    // Step Functions retries a failed `.waitForTaskToken` task with a new token; the state's
    // entered time stays the same.
    let review_entered_at = entered_now();
    await_review_issued(&w, &r, 1, "review-token", &review_entered_at).await;
    await_review_issued(&w, &r, 1, "review-token-retry", &review_entered_at).await;
    assert_eq!(sent_to(&w, REVIEWERS[0]).len(), 1, "told once");
    decide(&w, &r, Decision::Approve, &[]).await.unwrap();
    assert_eq!(
        resumed(&w),
        vec![(
            "review-token-retry".to_string(),
            serde_json::json!({"decision": "approve"})
        )]
    );

    let authority_entered_at = entered_now();
    forward_issued(&w, &r, "authority-token", &authority_entered_at).await;
    forward_issued(&w, &r, "authority-token-retry", &authority_entered_at).await;
    assert_eq!(w.authority.submissions.lock().unwrap().len(), 1);
    authority(&w, &r, AuthorityDecision::Approved)
        .await
        .unwrap();
    assert_eq!(
        resumed(&w).last().cloned().unwrap(),
        (
            "authority-token-retry".to_string(),
            serde_json::json!({"decision": "approved"})
        )
    );
}

/// The "submitted" SMS and email go out from the workflow's first step, not the API call; a
/// sender that died between its claim and its send (a crash, a timeout) loses nothing: while its
/// lease runs the step fails with a passing error (Step Functions retries it), and once it ran
/// out the step sends the notification itself.
#[tokio::test]
async fn a_notification_whose_sender_died_is_sent_by_the_step_run_again() {
    let w = world();
    let r = submit(&w, &w.customer, "k1", "w1", PASSWORD).await.unwrap();
    assert!(
        sent_to(&w, "+8613800000000").is_empty(),
        "submit itself sends nothing"
    );
    // A first run of the step claimed the SMS, then died.
    let id = format!("{}#1#submitted#sms", r.request_id);
    let now = Utc::now();
    let claim = w
        .store
        .claim_notification(&id, now, now + Duration::seconds(40))
        .await
        .unwrap();
    assert_eq!(claim, icp_domain::ports::Claim::Claimed);
    let verification = w.verification();
    let run_at = |at: DateTime<Utc>| {
        verification.verify_password(&r.request_id, 1, at, LockPolicy::default(), at)
    };
    match run_at(now + Duration::seconds(5)).await {
        Err(ServiceError::Store(StoreError::Conflict(_))) => {}
        other => panic!("the dead sender's lease still runs: a passing error, not {other:?}"),
    }
    assert!(sent_to(&w, "+8613800000000").is_empty());
    assert_eq!(
        run_at(now + Duration::seconds(41)).await.unwrap(),
        VerifyOutcome::Accepted
    );
    let sms = sent_to(&w, "+8613800000000");
    assert_eq!(sms.len(), 1, "sent once, by the step run again: {sms:?}");
    assert_eq!(
        run_at(now + Duration::seconds(200)).await.unwrap(),
        VerifyOutcome::Accepted
    );
    assert_eq!(sent_to(&w, "+8613800000000").len(), 1, "and never again");
}

/// The website beside a request as it stands: the one submitted on while the request holds it;
/// read again once the request closed, or once an operator reopened it (it was free meanwhile).
#[tokio::test]
async fn a_request_is_read_with_its_website_as_it_stands() {
    let w = world();
    let ips = |website: &Option<WebsiteAsItStands>| website.as_ref().unwrap().service_ips.clone();

    let change = submit_change(&w, "w1", &["198.51.100.7"]).await;
    let (_, website) = w
        .queries()
        .get_request_with_website(&w.customer, &change.request_id)
        .await
        .unwrap();
    assert_eq!(
        website,
        Some(WebsiteAsItStands {
            domain: "w1.example.cn".into(),
            website_license_number: "京ICP备12345678号-1".into(),
            service_ips: vec!["203.0.113.10".into()],
        })
    );
    withdraw(&w, &change).await;
    moved(&w, "w1", "203.0.113.20").await;
    let (_, website) = w
        .queries()
        .get_request_with_website(&w.customer, &change.request_id)
        .await
        .unwrap();
    assert_eq!(ips(&website), ["203.0.113.20"], "closed: read as it stands");

    let failed = submit(&w, &w.customer, "k1", "w2", PASSWORD).await.unwrap();
    verify(&w, &failed, 1).await;
    let bug = FailureCause::StepFailed("UnexpectedOutcome".into());
    w.closing()
        .fail(&attempt_of(&failed, 1), bug, Utc::now())
        .await
        .unwrap();
    moved(&w, "w2", "203.0.113.30").await;
    w.redrives()
        .redrive(&operator(), &failed.request_id, Utc::now())
        .await
        .unwrap();
    let (reopened, website) = w
        .queries()
        .get_request_with_website(&w.customer, &failed.request_id)
        .await
        .unwrap();
    assert_eq!(reopened.status, Status::PendingFirstReview);
    assert_eq!(
        ips(&website),
        ["203.0.113.30"],
        "reopened: read as it stands"
    );
}

/// The website's service IPs changed by something else than a request (an import, say).
async fn moved(w: &World, website_id: &str, ip: &str) {
    let mut website = w.store.get_website(website_id).await.unwrap().unwrap();
    website.service_ips = vec![ip.into()];
    w.store.put_website(website);
}
