//! The ports the adapters implement: the store in its roles (filings, requests, the review queue,
//! task tokens, password checks and resets, the notification ledger), notifications, the
//! workflow engine, the vault, the authority. Each use case is a struct of the ports it uses,
//! bounded by the roles it needs, so unit tests run the same code on in-memory fakes.

use crate::error::{AuthorityError, NotifyError, StoreError, WorkflowError};
use crate::{Entity, IdempotencyRecord, Request, ReviewDecision, Transition, Website};
use std::collections::HashSet;
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

/// A place in the review queue, which is ordered by due time (the soonest first), then by
/// request id.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QueuePosition {
    pub due_at: chrono::DateTime<chrono::Utc>,
    pub request_id: String,
}

impl QueuePosition {
    /// The request's place: a request awaiting review always has its due time.
    pub fn of(request: &Request) -> QueuePosition {
        QueuePosition {
            due_at: request.review_due_at.unwrap_or(request.created_at),
            request_id: request.request_id.clone(),
        }
    }
}

/// Where the functions take the time from. The use cases take `now` as a parameter, so unit
/// tests set it directly; the functions ask a clock, which the end-to-end tests can move.
pub trait Clock: Send + Sync {
    fn now(&self) -> chrono::DateTime<chrono::Utc>;
}

// The store, in the roles the use cases ask for: one DynamoDB adapter file and one section of
// the store suite each.

/// A provider's filings: its entities and websites, read by the use cases and written whole by
/// the import. Writing an entity keeps what the system keeps of it (failed password checks, a lock, a
/// password retrieval); writing a website keeps its status and is refused (`Conflict`) while it
/// has an open request.
pub trait Filings: Send + Sync {
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

    /// The entities of `ids` that are stored, read in batches.
    fn entities(
        &self,
        ids: &[String],
    ) -> impl Future<Output = Result<Vec<Entity>, StoreError>> + Send;

    /// The websites of `ids` that are stored, read in batches.
    fn websites(
        &self,
        ids: &[String],
    ) -> impl Future<Output = Result<Vec<Website>, StoreError>> + Send;

    fn write_entity(&self, entity: &Entity) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn write_website(
        &self,
        website: &Website,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The requests: read, created with their idempotency key and sealed password, moved on by
/// conditional transitions.
pub trait Requests: Send + Sync {
    fn get_request(
        &self,
        request_id: &str,
    ) -> impl Future<Output = Result<Option<Request>, StoreError>> + Send;

    /// The website's requests, newest first.
    fn list_requests(
        &self,
        website_id: &str,
    ) -> impl Future<Output = Result<Vec<Request>, StoreError>> + Send;

    /// The requests in `status`, oldest first (the reviewers' queue, the sweeper's rounds).
    fn requests_in_status(
        &self,
        status: crate::Status,
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

    /// Applies the transition if the request is still in `from` at `attempt` (else
    /// `StoreError::Conflict`), erases the sealed password, and frees the website when the
    /// request closes. A transition to the next attempt also records, in the same write, that
    /// the attempt is to be started (`start_written`, from the table's stream). Returns the
    /// request as written.
    fn apply(&self, t: &Transition) -> impl Future<Output = Result<Request, StoreError>> + Send;
}

/// The reviewers' queue: the requests awaiting first review by due time, and the decisions
/// recorded on them.
pub trait ReviewQueue: Send + Sync {
    /// Up to `limit` requests awaiting first review, soonest due first, from just after `after`;
    /// with them the position of the last one when more may follow.
    fn review_queue(
        &self,
        limit: usize,
        after: Option<&QueuePosition>,
    ) -> impl Future<Output = Result<(Vec<Request>, Option<QueuePosition>), StoreError>> + Send;

    /// Records the reviewer's decision if the request is still awaiting first review at
    /// `attempt` and nobody decided yet; else `StoreError::Conflict`. With it, the first
    /// review's (sealed) task token as kept at that moment, read in the same write: a wait that
    /// keeps its token later finds the decision instead.
    fn record_review(
        &self,
        request_id: &str,
        attempt: u32,
        review: &ReviewDecision,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;
}

/// The task tokens the workflow waits on, kept sealed per attempt and wait.
pub trait TaskTokens: Send + Sync {
    /// Keeps the (sealed) task token the workflow waits on, for the request's `attempt`,
    /// unless the token of a later wait (`issued_at`: when its wait began, RFC 3339) is kept
    /// already: `Ok(false)` then. A stale token (a wait that timed out or was retried) must
    /// never replace the live one.
    fn put_task_token(
        &self,
        request_id: &str,
        attempt: u32,
        slot: TokenSlot,
        sealed_token: &str,
        issued_at: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    fn task_token(
        &self,
        request_id: &str,
        attempt: u32,
        slot: TokenSlot,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;
}

/// The license password checks: the password a request was submitted with, and each entity's
/// count of failed checks and lock.
pub trait PasswordChecks: Send + Sync {
    /// The sealed password of the request's current attempt, if it is still there.
    fn sealed_password(
        &self,
        request_id: &str,
        attempt: u32,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    /// Reserves the license password check `check` (a request's attempt) before it is judged,
    /// in one conditional write: counts it as a failure in a row (its settlement takes a match
    /// back), if the entity has no lock and fewer than `lock_after` failures counted. A lock
    /// that ran out (`expired_lock`, as the check read it) starts the count again, unless
    /// someone changed the lock meanwhile. `true` if the check is reserved, now or by an
    /// earlier run of the same check.
    fn reserve_password_check(
        &self,
        entity_id: &str,
        check: &str,
        lock_after: u32,
        expired_lock: Option<chrono::DateTime<chrono::Utc>>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Settles a reserved check: a match clears the count and the lock; a mismatch that has
    /// brought the count to `lock_after` locks the entity until `lock_until`. A check not
    /// reserved (or settled already) changes nothing.
    fn settle_password_check(
        &self,
        entity_id: &str,
        check: &str,
        matched: bool,
        lock_after: u32,
        lock_until: chrono::DateTime<chrono::Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// License password retrieval: a reset on the entity, the tries of its code, the new password.
pub trait PasswordResets: Send + Sync {
    /// Puts `reset` on the entity (replacing any earlier one) and `codes_sent` as the times
    /// codes were sent, if those are still `codes_sent_before` (as the caller read them); else
    /// `StoreError::Conflict`.
    fn start_password_reset(
        &self,
        entity_id: &str,
        reset: &crate::PasswordReset,
        codes_sent: &[chrono::DateTime<chrono::Utc>],
        codes_sent_before: &[chrono::DateTime<chrono::Utc>],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Counts one more try of a code on the entity's reset `reset_id`, in one conditional
    /// write, if it is still the reset, not completed, with fewer than `limit` tries: the
    /// count with this one, or `None` if it was not counted.
    fn reserve_code_try(
        &self,
        entity_id: &str,
        reset_id: &str,
        limit: u32,
    ) -> impl Future<Output = Result<Option<u32>, StoreError>> + Send;

    /// Sets the license password's hash (keeping the one it replaces and `at`, for requests
    /// in flight), clears the failed-attempt count and the lock, and completes the reset, if
    /// it is still the reset and not completed; else `StoreError::Conflict`.
    fn complete_password_reset(
        &self,
        entity_id: &str,
        reset_id: &str,
        password_hash: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The ledger of notifications: each sent once, under a lease its sender holds.
pub trait NotificationLedger: Send + Sync {
    /// Claims the right to send the notification `id` until `lease_until`: `Claimed` the first
    /// time, and again once an earlier claim's lease ran out unfinished (its sender died);
    /// `Settled` once it was sent or failed; `InFlight` while another sender's lease runs.
    fn claim_notification(
        &self,
        id: &str,
        now: chrono::DateTime<chrono::Utc>,
        lease_until: chrono::DateTime<chrono::Utc>,
    ) -> impl Future<Output = Result<Claim, StoreError>> + Send;

    /// Records how a claimed notification went (`None`: sent; `Some(error)`: failed).
    fn finish_notification(
        &self,
        id: &str,
        error: Option<&str>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// What claiming a notification found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    Claimed,
    Settled,
    InFlight,
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

    /// The attribute beside the token saying when its wait began.
    pub fn issued_at_attribute(self) -> &'static str {
        match self {
            TokenSlot::FirstReview => "reviewTaskTokenIssuedAt",
            TokenSlot::Authority => "authorityTaskTokenIssuedAt",
        }
    }
}

/// SMS and email delivery.
pub trait Notifier: Send + Sync {
    /// What the messages sent through it carry: the SMS signature, the console's address.
    fn letterhead(&self) -> &crate::notification::Letterhead;
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

/// The request's workflow: an execution per attempt (another if it must be started again),
/// started, resumed from a wait, stopped.
pub trait Workflow: Send + Sync {
    /// Starts the attempt's execution; starting the same attempt twice starts one.
    fn start(
        &self,
        request_id: &str,
        attempt: u32,
    ) -> impl Future<Output = Result<(), WorkflowError>> + Send;

    /// Starts the attempt again, from where its request stands, in another execution named
    /// by `run` (the request's history length): the same `run` twice starts one. For an attempt
    /// whose execution ended with the request open.
    fn restart(
        &self,
        request_id: &str,
        attempt: u32,
        run: usize,
    ) -> impl Future<Output = Result<(), WorkflowError>> + Send;

    /// Completes the task the token belongs to with `output`: true if it was waited on. A
    /// token that is no longer waited on (timed out, already completed, its execution ended)
    /// is not an error (false): the caller's state is what counts.
    fn resume(
        &self,
        task_token: &str,
        output: &serde_json::Value,
    ) -> impl Future<Output = Result<bool, WorkflowError>> + Send;

    /// Stops the attempt's execution if it still runs.
    fn stop(
        &self,
        request_id: &str,
        attempt: u32,
    ) -> impl Future<Output = Result<(), WorkflowError>> + Send;

    /// Whether the attempt's execution runs, ended, or was never started.
    fn execution(
        &self,
        request_id: &str,
        attempt: u32,
    ) -> impl Future<Output = Result<Execution, WorkflowError>> + Send;

    /// The attempts (request id, attempt) whose executions run, in one listing: what the
    /// sweeper need not look at one by one. The listing may lag the engine a little.
    fn running(&self)
        -> impl Future<Output = Result<HashSet<(String, u32)>, WorkflowError>> + Send;
}

/// An attempt's execution as the workflow engine knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Execution {
    Running,
    Ended,
    Missing,
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

/// The authority's intake. Submitting the same submission id again is harmless.
pub trait Authority: Send + Sync {
    fn submit(
        &self,
        submission: &Submission,
    ) -> impl Future<Output = Result<(), AuthorityError>> + Send;
}

/// Encrypts license passwords and task tokens at rest and fingerprints request bodies.
pub trait Vault: Send + Sync {
    /// Authenticated encryption bound to `context`: a sealed value opens only under it.
    fn seal(&self, plaintext: &str, context: &str) -> String;
    fn open(&self, sealed: &str, context: &str) -> Option<String>;
    fn fingerprint(&self, body: &[u8]) -> String;
}
