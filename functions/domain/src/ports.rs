//! The ports the adapters implement: storage and the workflow engine. Handlers are generic over
//! them, so unit tests run the same code on in-memory fakes.

use crate::{Entity, IdempotencyRecord, Request, ReviewDecision, StoreError, Transition, Website};
use std::future::Future;
use thiserror::Error;

/// Why a new request could not be written.
#[derive(Debug, Error)]
pub enum CreateError {
    #[error("the Idempotency-Key is already taken")]
    IdempotencyKeyTaken,
    #[error("the website already has an open request or is not active")]
    WebsiteUnavailable,
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub trait Store: Send + Sync {
    fn get_entity(
        &self,
        entity_id: &str,
    ) -> impl Future<Output = Result<Option<Entity>, StoreError>> + Send;

    fn get_website(
        &self,
        website_id: &str,
    ) -> impl Future<Output = Result<Option<Website>, StoreError>> + Send;

    /// The entity's websites, in domain order.
    fn list_websites(
        &self,
        entity_id: &str,
    ) -> impl Future<Output = Result<Vec<Website>, StoreError>> + Send;

    fn get_request(
        &self,
        request_id: &str,
    ) -> impl Future<Output = Result<Option<Request>, StoreError>> + Send;

    /// The website's requests, newest first.
    fn list_requests(
        &self,
        website_id: &str,
    ) -> impl Future<Output = Result<Vec<Request>, StoreError>> + Send;

    fn get_idempotency(
        &self,
        scope_key: &str,
    ) -> impl Future<Output = Result<Option<IdempotencyRecord>, StoreError>> + Send;

    /// Writes the request, marks the website as having it open, and records the idempotency
    /// key, all or nothing. `sealed_password` is the encrypted license password for the
    /// verify step; it is kept apart from the request's public fields.
    fn create_request(
        &self,
        request: &Request,
        sealed_password: &str,
        idempotency: &IdempotencyRecord,
    ) -> impl Future<Output = Result<(), CreateError>> + Send;

    /// The sealed password of the request's current attempt, if it is still there.
    fn sealed_password(
        &self,
        request_id: &str,
        attempt: u32,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    /// Applies the transition if the request is still in `from` at `attempt` (else
    /// `StoreError::Conflict`), erases the sealed password, and frees the website when the
    /// request closes. Returns the request as written.
    fn apply(&self, t: &Transition) -> impl Future<Output = Result<Request, StoreError>> + Send;

    /// Requests awaiting first review, oldest first.
    fn pending_reviews(&self) -> impl Future<Output = Result<Vec<Request>, StoreError>> + Send;

    /// Records the reviewer's decision if the request is still awaiting first review at
    /// `attempt` and nobody decided yet; else `StoreError::Conflict`.
    fn record_review(
        &self,
        request_id: &str,
        attempt: u32,
        review: &ReviewDecision,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Keeps the (sealed) task token the workflow waits on, for the request's `attempt`.
    fn put_task_token(
        &self,
        request_id: &str,
        attempt: u32,
        slot: TokenSlot,
        sealed_token: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn task_token(
        &self,
        request_id: &str,
        attempt: u32,
        slot: TokenSlot,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    /// Counts a license password check for the entity: a match clears the count; a mismatch
    /// adds one and, at `lock_after` in a row, locks the entity until `lock_until`.
    fn record_password_check(
        &self,
        entity_id: &str,
        matched: bool,
        lock_after: u32,
        lock_until: chrono::DateTime<chrono::Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Claims the right to send one notification: true the first time for `id`, false after.
    fn claim_notification(&self, id: &str)
        -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Records how a claimed notification went (`None`: sent; `Some(error)`: failed).
    fn finish_notification(
        &self,
        id: &str,
        error: Option<&str>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The workflow waits on two task tokens per attempt: first review and the authority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenSlot {
    FirstReview,
    Authority,
}

impl TokenSlot {
    pub fn attribute(self) -> &'static str {
        match self {
            TokenSlot::FirstReview => "reviewTaskToken",
            TokenSlot::Authority => "authorityTaskToken",
        }
    }
}

#[derive(Debug, Error)]
#[error("sending failed: {0}")]
pub struct NotifyError(pub String);

/// SMS and email delivery.
pub trait Notifier: Send + Sync {
    fn send_sms(
        &self,
        phone: &str,
        text: &str,
    ) -> impl Future<Output = Result<(), NotifyError>> + Send;
    fn send_email(
        &self,
        to: &str,
        subject: &str,
        body: &str,
    ) -> impl Future<Output = Result<(), NotifyError>> + Send;
}

/// Resumes or stops a waiting workflow.
pub trait WorkflowControl: Send + Sync {
    /// Completes the task the token belongs to with `output`. A token that is no longer
    /// waited on (timed out, already completed) is not an error: the caller's state is what
    /// counts.
    fn resume(
        &self,
        task_token: &str,
        output: &serde_json::Value,
    ) -> impl Future<Output = Result<(), WorkflowError>> + Send;

    /// Stops the attempt's execution if it still runs.
    fn stop(
        &self,
        request_id: &str,
        attempt: u32,
        cause: &str,
    ) -> impl Future<Output = Result<(), WorkflowError>> + Send;
}

#[derive(Debug, Error)]
pub enum WorkflowError {
    #[error("workflow engine unavailable: {0}")]
    Unavailable(String),
}

/// Starts the request's workflow. Starting the same attempt twice starts one execution.
pub trait Workflow: Send + Sync {
    fn start(
        &self,
        request_id: &str,
        attempt: u32,
    ) -> impl Future<Output = Result<(), WorkflowError>> + Send;
}

/// What the provider submits to the authority (the communication administration).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Submission {
    pub submission_id: String,
    pub request_id: String,
    #[serde(rename = "type")]
    pub request_type: crate::RequestType,
    pub domain: String,
    pub website_license_number: String,
    pub entity_name: String,
    pub entity_license_number: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_ips: Option<Vec<String>>,
}

#[derive(Debug, Error)]
#[error("the authority's system did not take the submission: {0}")]
pub struct AuthorityError(pub String);

/// The authority's intake. Submitting the same submission id again is harmless.
pub trait Authority: Send + Sync {
    fn submit(
        &self,
        submission: &Submission,
    ) -> impl Future<Output = Result<(), AuthorityError>> + Send;
}
