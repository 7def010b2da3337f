//! The submit and verify use cases on the in-memory store, a recording workflow and the real
//! vault.

use chrono::{Duration, Utc};
use icp_adapters::memory::MemoryStore;
use icp_adapters::vault::AesVault;
use icp_domain::ports::{Store, Workflow, WorkflowError};
use icp_domain::service::{self, Caller, ServiceError, SubmitInput, VerifyOutcome};
use icp_domain::*;
use std::collections::BTreeSet;
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

const PASSWORD: &str = "Licence-Pass-1";

struct World {
    store: MemoryStore,
    workflow: RecordingWorkflow,
    vault: AesVault,
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
    let verify = || service::verify_password(&w.store, &w.vault, &r.request_id, 1, Utc::now());
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
        service::verify_password(&w.store, &w.vault, &r.request_id, 2, Utc::now())
            .await
            .unwrap(),
        VerifyOutcome::Superseded
    );
}

#[tokio::test]
async fn verify_rejects_a_wrong_password_with_a_reason() {
    let w = world();
    let r = submit(&w, &w.customer, "k1", "w1", "wrong").await.unwrap();
    let outcome = service::verify_password(&w.store, &w.vault, &r.request_id, 1, Utc::now())
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
