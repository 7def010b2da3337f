//! The submit and verify use cases on the in-memory store, a recording workflow and the real
//! vault.

use chrono::{Duration, Utc};
use icp_adapters::activity::{self, ActivityTasks, ClaimedTask, OwnWait};
use icp_adapters::memory::MemoryStore;
use icp_adapters::step::StepError;
use icp_adapters::vault::AesVault;
use icp_domain::actions::{self, AuthorityDecision};
use icp_domain::ports::{
    Authority, AuthorityError, Notifier, NotifyError, Store, Submission, TokenSlot, Workflow,
    WorkflowControl, WorkflowError,
};
use icp_domain::service::{self, Caller, LockPolicy, ServiceError, SubmitInput, VerifyOutcome};
use icp_domain::steps::{self, WaitingTask};
use icp_domain::*;
use std::collections::{BTreeSet, VecDeque};
use std::sync::Mutex;

#[derive(Default)]
struct RecordingWorkflow {
    executions: Mutex<BTreeSet<String>>,
}

impl Workflow for RecordingWorkflow {
    async fn start(&self, request_id: &str, attempt: u32) -> Result<(), WorkflowError> {
        self.executions
            .lock()
            .unwrap()
            .insert(icp_adapters::workflow::execution_name(request_id, attempt));
        Ok(())
    }
}

/// Records what was sent; fails every email while `fail_email` is set.
#[derive(Default)]
struct RecordingNotifier {
    sent: Mutex<Vec<(String, String)>>,
    fail_email: std::sync::atomic::AtomicBool,
}

impl Notifier for RecordingNotifier {
    async fn send_sms(&self, phone: &str, text: &str) -> Result<(), NotifyError> {
        self.sent.lock().unwrap().push((phone.into(), text.into()));
        Ok(())
    }
    async fn send_email(&self, to: &str, subject: &str, _body: &str) -> Result<(), NotifyError> {
        if self.fail_email.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(NotifyError("SES is down".into()));
        }
        self.sent.lock().unwrap().push((to.into(), subject.into()));
        Ok(())
    }
}

#[derive(Default)]
struct RecordingControl {
    resumed: Mutex<Vec<(String, serde_json::Value)>>,
    stopped: Mutex<Vec<String>>,
}

impl WorkflowControl for RecordingControl {
    async fn resume(&self, token: &str, output: &serde_json::Value) -> Result<bool, WorkflowError> {
        self.resumed
            .lock()
            .unwrap()
            .push((token.into(), output.clone()));
        Ok(true)
    }
    async fn stop(
        &self,
        request_id: &str,
        attempt: u32,
        _cause: &str,
    ) -> Result<(), WorkflowError> {
        self.stopped
            .lock()
            .unwrap()
            .push(format!("{request_id}-{attempt}"));
        Ok(())
    }
}

#[derive(Default)]
struct RecordingAuthority {
    submissions: Mutex<Vec<Submission>>,
}

impl Authority for RecordingAuthority {
    async fn submit(&self, submission: &Submission) -> Result<(), AuthorityError> {
        self.submissions.lock().unwrap().push(submission.clone());
        Ok(())
    }
}

const PASSWORD: &str = "Licence-Pass-1";

struct World {
    store: MemoryStore,
    workflow: RecordingWorkflow,
    vault: AesVault,
    notifier: RecordingNotifier,
    control: RecordingControl,
    authority: RecordingAuthority,
    customer: Caller,
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
            failed_password_attempts: 0,
            locked_until: None,
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
        store,
        workflow: RecordingWorkflow::default(),
        vault: AesVault::from_secret("test-secret"),
        notifier: RecordingNotifier::default(),
        control: RecordingControl::default(),
        authority: RecordingAuthority::default(),
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

async fn submit(
    w: &World,
    caller: &Caller,
    key: &str,
    website_id: &str,
    password: &str,
) -> Result<Request, ServiceError> {
    let raw = body(website_id, password);
    let input = SubmitInput {
        idempotency_key: key,
        request_type: "access_cancellation",
        website_id,
        license_password: password,
        service_ips: None,
        raw_body: raw.as_bytes(),
    };
    service::submit(
        &w.store,
        &w.workflow,
        &w.vault,
        &w.notifier,
        caller,
        &input,
        new_request_id(),
        Utc::now(),
    )
    .await
}

fn code(e: ServiceError) -> String {
    match e {
        ServiceError::Domain(DomainError::Validation { code, .. }) => code.to_string(),
        other => format!("{other:?}"),
    }
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
    let verify = || {
        service::verify_password(
            &w.store,
            &w.vault,
            &w.notifier,
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
        service::verify_password(
            &w.store,
            &w.vault,
            &w.notifier,
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
    let outcome = service::verify_password(
        &w.store,
        &w.vault,
        &w.notifier,
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
        vec![service::PASSWORD_REJECTED_REASON.to_string()]
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
    let mine = service::list_websites(&w.store, &w.customer).await.unwrap();
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
        service::get_request(&w.store, &other, &r.request_id).await,
        Err(ServiceError::Forbidden)
    ));
    assert!(matches!(
        service::get_website(&w.store, &other, "w1").await,
        Err(ServiceError::Forbidden)
    ));
    assert!(matches!(
        service::list_requests(&w.store, &other, Some("w1")).await,
        Err(ServiceError::Forbidden)
    ));
    let listed = service::list_requests(&w.store, &w.customer, None)
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
}

fn reviewer() -> Caller {
    Caller::Reviewer {
        reviewer_id: "rev-1".into(),
    }
}

const REVIEWERS: &[&str] = &["rev-a@provider.example", "rev-b@provider.example"];

fn reviewers() -> Vec<String> {
    REVIEWERS.iter().map(|s| s.to_string()).collect()
}

async fn submit_change(w: &World, website_id: &str, ips: &[&str]) -> Request {
    let ips: Vec<String> = ips.iter().map(|s| s.to_string()).collect();
    let raw = format!("change {website_id} {ips:?}");
    let input = SubmitInput {
        idempotency_key: "change-key",
        request_type: "access_change",
        website_id,
        license_password: PASSWORD,
        service_ips: Some(&ips),
        raw_body: raw.as_bytes(),
    };
    service::submit(
        &w.store,
        &w.workflow,
        &w.vault,
        &w.notifier,
        &w.customer,
        &input,
        new_request_id(),
        Utc::now(),
    )
    .await
    .unwrap()
}

async fn verify(w: &World, r: &Request, attempt: u32) -> VerifyOutcome {
    service::verify_password(
        &w.store,
        &w.vault,
        &w.notifier,
        &r.request_id,
        attempt,
        Utc::now(),
        LockPolicy::default(),
        Utc::now(),
    )
    .await
    .unwrap()
}

/// Now, as Step Functions gives a wait's start (`$$.State.EnteredTime`): later waits sort later.
fn entered_now() -> String {
    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

/// The first-review worker: its own step (tell the reviewers), then the claimed task's token
/// (here always this request's). Returns whether the claimed wait was live.
async fn await_review_issued(
    w: &World,
    r: &Request,
    attempt: u32,
    token: &str,
    issued_at: &str,
) -> bool {
    steps::announce_first_review(&w.store, &w.notifier, &reviewers(), &r.request_id, attempt)
        .await
        .unwrap();
    let task = WaitingTask { token, issued_at };
    steps::keep_review_token(
        &w.store,
        &w.vault,
        &w.control,
        &r.request_id,
        attempt,
        &task,
    )
    .await
    .unwrap()
}

async fn await_review(w: &World, r: &Request, attempt: u32, token: &str) -> bool {
    await_review_issued(w, r, attempt, token, &entered_now()).await
}

async fn decide(
    w: &World,
    r: &Request,
    decision: Decision,
    reasons: &[&str],
) -> Result<Request, ServiceError> {
    let reasons: Vec<String> = reasons.iter().map(|s| s.to_string()).collect();
    actions::decide(
        &w.store,
        &w.vault,
        &w.control,
        &reviewer(),
        &r.request_id,
        decision,
        &reasons,
        Utc::now(),
    )
    .await
}

/// The forward-to-authority step: submit, record the forward.
async fn submit_to_authority(w: &World, r: &Request) {
    steps::forward_to_authority(
        &w.store,
        &w.notifier,
        &w.authority,
        &r.request_id,
        r.attempt,
        Utc::now(),
    )
    .await
    .unwrap();
}

/// The authority's step, then its wait's worker keeping the claimed task's token (here always
/// this request's).
async fn forward(w: &World, r: &Request, token: &str) {
    submit_to_authority(w, r).await;
    let issued_at = entered_now();
    let task = WaitingTask {
        token,
        issued_at: &issued_at,
    };
    steps::keep_authority_token(
        &w.store,
        &w.vault,
        &w.control,
        &r.request_id,
        r.attempt,
        &task,
    )
    .await
    .unwrap();
}

async fn authority(
    w: &World,
    r: &Request,
    decision: AuthorityDecision,
) -> Result<Request, ServiceError> {
    let sub = steps::submission_id(&r.request_id, r.attempt);
    actions::authority_result(
        &w.store,
        &w.vault,
        &w.control,
        &w.notifier,
        &r.request_id,
        &sub,
        decision,
        &["Domain name under investigation".to_string()],
        Utc::now(),
    )
    .await
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
    let resumed = w.control.resumed.lock().unwrap().clone();
    let approve = (
        "token-review".to_string(),
        serde_json::json!({"decision": "approve"}),
    );
    assert_eq!(resumed, vec![approve.clone(), approve]);

    forward(&w, &r, "token-authority").await;
    forward(&w, &r, "token-authority-retry").await;
    let forwarded = current(&w, &r).await;
    assert_eq!(forwarded.status, Status::ForwardedToAuthority);
    assert_eq!(
        forwarded.submission_id.as_deref(),
        Some(steps::submission_id(&r.request_id, 1).as_str())
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
    let last = w.control.resumed.lock().unwrap().last().cloned().unwrap();
    assert_eq!(
        last,
        (
            "token-authority-retry".to_string(),
            serde_json::json!({"decision": "approved"})
        )
    );

    steps::clear_record(&w.store, &w.notifier, &r.request_id, 1, Utc::now())
        .await
        .unwrap();
    steps::clear_record(&w.store, &w.notifier, &r.request_id, 1, Utc::now())
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
    assert!(sms.iter().any(|t| t.contains("198.51.100.7")));
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
    steps::clear_record(&w.store, &w.notifier, &r.request_id, 1, Utc::now())
        .await
        .unwrap();
    let website = w.store.get_website("w1").await.unwrap().unwrap();
    assert_eq!(website.status, WebsiteStatus::Cleared);
    assert!(matches!(
        service::get_website(&w.store, &w.customer, "w1").await,
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
    assert!(w.control.resumed.lock().unwrap().is_empty(), "no token yet");
    await_review(&w, &r, 1, "late-token").await;
    assert_eq!(
        w.control.resumed.lock().unwrap().clone(),
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
        // Forwarded, but the worker that claimed the wait's task died before keeping its token.
        submit_to_authority(&w, &r).await;
        if let Some(result) = result {
            authority(&w, &r, result).await.unwrap();
            assert!(
                w.control.resumed.lock().unwrap().is_empty(),
                "no wait to resume"
            );
        }
        let at_deadline = |attempt| steps::authority_deadline(&w.store, &r.request_id, attempt);
        assert_eq!(at_deadline(r.attempt).await.unwrap(), decided);
        assert_eq!(at_deadline(r.attempt + 1).await.unwrap(), "overdue");
    }
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
    steps::conclude_first_review(&w.store, &w.notifier, &r.request_id, 1, Utc::now())
        .await
        .unwrap();
    steps::conclude_first_review(&w.store, &w.notifier, &r.request_id, 1, Utc::now())
        .await
        .unwrap();
    let rejected = current(&w, &r).await;
    assert_eq!(rejected.status, Status::FirstReviewRejected);
    assert_eq!(rejected.rejection_reasons, ["IP not in our network"]);
    assert_eq!(
        sent_to(&w, "a@example.cn")
            .iter()
            .filter(|s| s.contains("first_review_rejected"))
            .count(),
        1
    );

    let ips = vec!["198.51.100.9".to_string()];
    let again = actions::resubmit(
        &w.store,
        &w.workflow,
        &w.control,
        &w.vault,
        &w.notifier,
        &w.customer,
        &r.request_id,
        PASSWORD,
        Some(&ips),
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!((again.status, again.attempt), (Status::Submitted, 2));
    assert_eq!(again.service_ips, Some(ips));
    assert!(again.rejection_reasons.is_empty() && again.review.is_none());
    assert!(w
        .workflow
        .executions
        .lock()
        .unwrap()
        .contains(&format!("{}-2", r.request_id)));
    assert_eq!(
        w.control.stopped.lock().unwrap().clone(),
        vec![format!("{}-1", r.request_id)]
    );
    assert_eq!(verify(&w, &r, 2).await, VerifyOutcome::Accepted);
    assert_eq!(current(&w, &r).await.status, Status::PendingFirstReview);
    // The old attempt's expiry no longer applies.
    steps::expire(&w.store, &w.notifier, &r.request_id, 1, Utc::now())
        .await
        .unwrap();
    assert_eq!(current(&w, &r).await.status, Status::PendingFirstReview);
}

#[tokio::test]
async fn withdraw_works_until_forwarded_and_is_refused_after() {
    let w = world();
    let r = submit(&w, &w.customer, "k1", "w1", PASSWORD).await.unwrap();
    verify(&w, &r, 1).await;
    let other = Caller::Customer {
        entity_id: "e2".into(),
    };
    assert!(matches!(
        actions::withdraw(&w.store, &w.control, &other, &r.request_id, Utc::now()).await,
        Err(ServiceError::Forbidden)
    ));
    let withdrawn = actions::withdraw(&w.store, &w.control, &w.customer, &r.request_id, Utc::now())
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
    assert_eq!(w.control.stopped.lock().unwrap().len(), 1);

    let r2 = submit(&w, &w.customer, "k2", "w1", PASSWORD).await.unwrap();
    verify(&w, &r2, 1).await;
    decide(&w, &r2, Decision::Approve, &[]).await.unwrap();
    forward(&w, &r2, "t").await;
    assert!(matches!(
        actions::withdraw(
            &w.store,
            &w.control,
            &w.customer,
            &r2.request_id,
            Utc::now()
        )
        .await,
        Err(ServiceError::Domain(DomainError::WithdrawNotAllowed(
            Status::ForwardedToAuthority
        )))
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
        ["Domain name under investigation"]
    );
    let website = w.store.get_website("w1").await.unwrap().unwrap();
    assert_eq!(
        (website.status, website.open_request_id),
        (WebsiteStatus::Active, None)
    );
    let wrong = actions::authority_result(
        &w.store,
        &w.vault,
        &w.control,
        &w.notifier,
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
            actions::withdraw(&w.store, &w.control, &w.customer, &r.request_id, Utc::now()).await?;
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
async fn a_stale_wait_claimed_late_never_replaces_the_live_one() {
    let w = world();
    let r = submit(&w, &w.customer, "k1", "w1", PASSWORD).await.unwrap();
    verify(&w, &r, 1).await;
    let stale_issued_at = entered_now();
    assert!(await_review(&w, &r, 1, "live-token").await);
    // The activity task of a wait that timed out, handed to a worker only now: passed over.
    assert!(!await_review_issued(&w, &r, 1, "stale-token", &stale_issued_at).await);
    decide(&w, &r, Decision::Approve, &[]).await.unwrap();
    assert_eq!(
        w.control.resumed.lock().unwrap().clone(),
        vec![(
            "live-token".to_string(),
            serde_json::json!({"decision": "approve"})
        )]
    );
}

async fn wait_unclaimed(w: &World, slot: TokenSlot, r: &Request, began_at: &str) -> bool {
    steps::wait_unclaimed(&w.store, slot, &r.request_id, r.attempt, began_at)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_worker_claims_until_its_own_wait_is_kept_whoever_keeps_it() {
    let w = world();
    let first = submit(&w, &w.customer, "k1", "w1", PASSWORD).await.unwrap();
    let second = submit(&w, &w.customer, "k2", "w2", PASSWORD).await.unwrap();
    verify(&w, &first, 1).await;
    verify(&w, &second, 1).await;
    let review = TokenSlot::FirstReview;
    let first_began = entered_now();
    let second_began = entered_now();
    assert!(wait_unclaimed(&w, review, &first, &first_began).await);

    // The first request's worker took the second's task: the second's wait is claimed, the
    // first's is not, so the first's worker goes on polling.
    assert!(await_review(&w, &second, 1, "second-token").await);
    assert!(!wait_unclaimed(&w, review, &second, &second_began).await);
    assert!(wait_unclaimed(&w, review, &first, &first_began).await);
    assert!(await_review(&w, &first, 1, "first-token").await);
    assert!(!wait_unclaimed(&w, review, &first, &first_began).await);

    // A later wait of the same review (after an escalation) needs its own claim.
    let again = entered_now();
    assert!(wait_unclaimed(&w, review, &first, &again).await);

    // Decided, the review wait still needs its claim (which ends it); forwarded, it is over.
    // The authority's wait is open until kept, even once the authority has answered.
    decide(&w, &first, Decision::Approve, &[]).await.unwrap();
    assert!(wait_unclaimed(&w, review, &first, &again).await);
    steps::forward_to_authority(
        &w.store,
        &w.notifier,
        &w.authority,
        &first.request_id,
        1,
        Utc::now(),
    )
    .await
    .unwrap();
    assert!(!wait_unclaimed(&w, review, &first, &again).await);
    let authority_began = entered_now();
    assert!(wait_unclaimed(&w, TokenSlot::Authority, &first, &authority_began).await);
    authority(&w, &first, AuthorityDecision::Approved)
        .await
        .unwrap();
    assert!(wait_unclaimed(&w, TokenSlot::Authority, &first, &authority_began).await);
    forward(&w, &first, "authority-token").await;
    assert!(!wait_unclaimed(&w, TokenSlot::Authority, &first, &authority_began).await);

    // Withdrawn: nothing waits any more.
    actions::withdraw(
        &w.store,
        &w.control,
        &w.customer,
        &second.request_id,
        Utc::now(),
    )
    .await
    .unwrap();
    let second = current(&w, &second).await;
    assert!(!wait_unclaimed(&w, review, &second, &entered_now()).await);
}

/// Activity tasks as Step Functions hands them out: the oldest first, to whichever worker polls.
#[derive(Default)]
struct TaskQueue {
    waiting: Mutex<VecDeque<ClaimedTask>>,
    /// Tokens handed back to their executions, with the error.
    handed_back: Mutex<Vec<(String, String)>>,
}

impl TaskQueue {
    fn wait_begins(&self, r: &Request, token: &str) {
        let input = serde_json::json!({
            "requestId": r.request_id,
            "attempt": r.attempt,
            "issuedAt": entered_now(),
        });
        self.push(token, &input.to_string());
    }

    fn push(&self, token: &str, input: &str) {
        self.waiting.lock().unwrap().push_back(ClaimedTask {
            token: token.to_string(),
            input: input.to_string(),
        });
    }
}

impl ActivityTasks for TaskQueue {
    async fn poll(&self, _worker_name: &str) -> Result<Option<ClaimedTask>, StepError> {
        let task = self.waiting.lock().unwrap().pop_front();
        if task.is_none() {
            // The long poll, shortened.
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        Ok(task)
    }

    async fn fail(&self, token: &str, name: &str, _cause: &str) -> Result<(), StepError> {
        self.handed_back
            .lock()
            .unwrap()
            .push((token.to_string(), name.to_string()));
        Ok(())
    }
}

#[tokio::test]
async fn a_worker_that_takes_another_waits_task_claims_on_until_its_own_is_kept() {
    let w = world();
    let orphan = submit(&w, &w.customer, "k1", "w1", PASSWORD).await.unwrap();
    let own = submit(&w, &w.customer, "k2", "w2", PASSWORD).await.unwrap();
    verify(&w, &orphan, 1).await;
    verify(&w, &own, 1).await;
    // The first wait's worker died before it polled: its task waits, oldest in the queue.
    let queue = TaskQueue::default();
    queue.wait_begins(&orphan, "orphan-token");
    let began_at = entered_now();
    queue.wait_begins(&own, "own-token");

    let wait = OwnWait {
        request_id: own.request_id.clone(),
        attempt: 1,
        began_at,
    };
    // Time for a poll and a little more: a worker that never found its own task ends soon.
    let deadline =
        std::time::SystemTime::now() + activity::POLL_BUDGET + std::time::Duration::from_secs(2);
    activity::claim(
        &queue,
        "worker-1",
        deadline,
        TokenSlot::FirstReview,
        &wait,
        &w.store,
        &w.vault,
        &w.control,
    )
    .await
    .unwrap();

    assert!(queue.waiting.lock().unwrap().is_empty());
    assert!(queue.handed_back.lock().unwrap().is_empty());
    for r in [&orphan, &own] {
        assert!(
            w.store
                .task_token(&r.request_id, 1, TokenSlot::FirstReview)
                .await
                .unwrap()
                .is_some(),
            "{} kept",
            r.request_id
        );
    }
    decide(&w, &own, Decision::Approve, &[]).await.unwrap();
    decide(&w, &orphan, Decision::Reject, &["Incomplete"])
        .await
        .unwrap();
    assert_eq!(
        w.control.resumed.lock().unwrap().clone(),
        vec![
            (
                "own-token".to_string(),
                serde_json::json!({"decision": "approve"})
            ),
            (
                "orphan-token".to_string(),
                serde_json::json!({"decision": "reject"})
            ),
        ]
    );
}

#[tokio::test]
async fn a_task_whose_token_cannot_be_kept_goes_back_to_its_execution_and_the_worker_goes_on() {
    let w = world();
    let own = submit(&w, &w.customer, "k1", "w1", PASSWORD).await.unwrap();
    verify(&w, &own, 1).await;
    let queue = TaskQueue::default();
    queue.push("garbled-token", "{\"requestId\": 7}");
    let began_at = entered_now();
    queue.wait_begins(&own, "own-token");
    let wait = OwnWait {
        request_id: own.request_id.clone(),
        attempt: 1,
        began_at,
    };
    let deadline =
        std::time::SystemTime::now() + activity::POLL_BUDGET + std::time::Duration::from_secs(2);
    activity::claim(
        &queue,
        "worker-1",
        deadline,
        TokenSlot::FirstReview,
        &wait,
        &w.store,
        &w.vault,
        &w.control,
    )
    .await
    .unwrap();

    assert_eq!(
        queue.handed_back.lock().unwrap().clone(),
        vec![("garbled-token".to_string(), "Corrupt".to_string())]
    );
    assert!(w
        .store
        .task_token(&own.request_id, 1, TokenSlot::FirstReview)
        .await
        .unwrap()
        .is_some());
}
