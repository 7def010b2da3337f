//! The workflow's steps after the password check. Each is safe to run again: it acts only if
//! the request is still where the step expects it (status and attempt), and otherwise reports
//! what stands.

use crate::notification::Event;
use crate::notify::{notify_customer, notify_reviewers};
use crate::ports::{Authority, Notifier, Store, Submission, TokenSlot, WorkflowControl};
use crate::service::{existing_entity, existing_website, ServiceError, Vault};
use crate::{Decision, DomainError, Request, RequestType, Status, StoreError, WebsiteEffect};
use chrono::{DateTime, Utc};
use serde_json::json;

/// The output a waiting task is resumed with; the state machine branches on `decision`.
pub fn resume_output(decision: &str) -> serde_json::Value {
    json!({ "decision": decision })
}

fn token_context(request_id: &str, attempt: u32, slot: TokenSlot) -> String {
    format!("{request_id}#{attempt}#{}", slot.attribute())
}

/// A wait of the workflow (for the reviewer, for the authority): the task token that ends it
/// and when it began (RFC 3339), which orders the waits of one attempt.
pub struct WaitingTask<'a> {
    pub token: &'a str,
    pub issued_at: &'a str,
}

/// Keeps the task token the workflow waits on in `slot`, sealed, for the request's attempt;
/// false if a later wait's token is kept already (this one is stale: leave it alone).
async fn keep_token<S: Store, V: Vault>(
    store: &S,
    vault: &V,
    request_id: &str,
    attempt: u32,
    slot: TokenSlot,
    task: &WaitingTask<'_>,
) -> Result<bool, ServiceError> {
    let sealed = vault.seal(task.token, &token_context(request_id, attempt, slot));
    Ok(store
        .put_task_token(request_id, attempt, slot, &sealed, task.issued_at)
        .await?)
}

/// Resumes the workflow waiting in `slot` with `decision`, if it has stored its token yet (if
/// not, the waiting step finds the decision when it does).
pub(crate) async fn resume_waiting<S: Store, V: Vault, C: WorkflowControl>(
    store: &S,
    vault: &V,
    control: &C,
    request_id: &str,
    attempt: u32,
    slot: TokenSlot,
    decision: &str,
) -> Result<(), ServiceError> {
    let Some(sealed) = store.task_token(request_id, attempt, slot).await? else {
        return Ok(());
    };
    let token = vault
        .open(&sealed, &token_context(request_id, attempt, slot))
        .ok_or_else(|| StoreError::Corrupt("task token does not open".into()))?;
    control.resume(&token, &resume_output(decision)).await?;
    Ok(())
}

async fn load<S: Store>(store: &S, request_id: &str) -> Result<Request, ServiceError> {
    Ok(store
        .get_request(request_id)
        .await?
        .ok_or_else(|| DomainError::RequestNotFound(request_id.into()))?)
}

/// Applies `t`, or, if someone else already moved the request, returns it as it stands.
async fn apply_or_current<S: Store>(
    store: &S,
    t: &crate::Transition,
) -> Result<Request, ServiceError> {
    match store.apply(t).await {
        Ok(request) => Ok(request),
        Err(StoreError::Conflict(_)) => load(store, &t.request_id).await,
        Err(e) => Err(e.into()),
    }
}

fn review_decision(request: &Request) -> Option<&'static str> {
    request.review.as_ref().map(|r| match r.decision {
        Decision::Approve => "approve",
        Decision::Reject => "reject",
    })
}

/// Keeps the token of a wait in `slot`, then, if its decision is known already (`decided`,
/// read from the request after the keep, so a decision recorded meanwhile is not missed), ends
/// the wait with it. Returns whether the wait was live: false for a stale task (a later wait's
/// token is kept, or nobody waits on it any more).
#[allow(clippy::too_many_arguments)]
async fn keep_or_end<S: Store, V: Vault, C: WorkflowControl>(
    store: &S,
    vault: &V,
    control: &C,
    request_id: &str,
    attempt: u32,
    slot: TokenSlot,
    task: &WaitingTask<'_>,
    decided: impl Fn(&Request) -> Option<&'static str>,
) -> Result<bool, ServiceError> {
    match keep_token(store, vault, request_id, attempt, slot, task).await {
        Ok(true) => {}
        Ok(false) => return Ok(false),
        // Another attempt runs: nothing to keep; `decided` ends this wait as superseded.
        Err(ServiceError::Store(StoreError::Conflict(_))) => {}
        Err(e) => return Err(e),
    }
    match decided(&load(store, request_id).await?) {
        Some(decision) => Ok(control.resume(task.token, &resume_output(decision)).await?),
        None => Ok(true),
    }
}

/// A worker claimed the task of a wait for the first review of `request_id` at `attempt`:
/// keep its token, or end the wait if the review is decided (or the attempt is over).
pub async fn keep_review_token<S: Store, V: Vault, C: WorkflowControl>(
    store: &S,
    vault: &V,
    control: &C,
    request_id: &str,
    attempt: u32,
    task: &WaitingTask<'_>,
) -> Result<bool, ServiceError> {
    let decided = |request: &Request| {
        if request.attempt != attempt || request.status != Status::PendingFirstReview {
            Some("superseded")
        } else {
            review_decision(request)
        }
    };
    let slot = TokenSlot::FirstReview;
    keep_or_end(
        store, vault, control, request_id, attempt, slot, task, decided,
    )
    .await
}

/// A worker claimed the task of the wait whose token goes in `slot`: keep its token, or end
/// the wait (see `keep_review_token` and `keep_authority_token`).
pub async fn keep_claimed_token<S: Store, V: Vault, C: WorkflowControl>(
    slot: TokenSlot,
    store: &S,
    vault: &V,
    control: &C,
    request_id: &str,
    attempt: u32,
    task: &WaitingTask<'_>,
) -> Result<bool, ServiceError> {
    match slot {
        TokenSlot::FirstReview => {
            keep_review_token(store, vault, control, request_id, attempt, task).await
        }
        TokenSlot::Authority => {
            keep_authority_token(store, vault, control, request_id, attempt, task).await
        }
    }
}

/// Whether the wait in `slot` that began at `began_at` (RFC 3339) for `request_id`'s `attempt`
/// may still be waiting for a worker to claim its task: the request is still where that wait
/// can be, and no token of a wait begun since is kept. Its worker claims tasks (any request's)
/// until this is false, so that no wait is left unclaimed behind a worker that took another's.
pub async fn wait_unclaimed<S: Store>(
    store: &S,
    slot: TokenSlot,
    request_id: &str,
    attempt: u32,
    began_at: &str,
) -> Result<bool, ServiceError> {
    let request = load(store, request_id).await?;
    let waiting = request.attempt == attempt
        && match slot {
            TokenSlot::FirstReview => request.status == Status::PendingFirstReview,
            // The authority's answer may be recorded before its wait's token is kept.
            TokenSlot::Authority => matches!(
                request.status,
                Status::ForwardedToAuthority | Status::Approved | Status::AuthorityRejected
            ),
        };
    if !waiting {
        return Ok(false);
    }
    let kept = store
        .task_token_issued_at(request_id, attempt, slot)
        .await?;
    match kept {
        Some(issued_at) => Ok(!not_before(&issued_at, began_at)?),
        None => Ok(true),
    }
}

/// `a >= b` for RFC 3339 times, which Step Functions does not always write with the same
/// number of fractional digits (so they do not always compare as strings).
fn not_before(a: &str, b: &str) -> Result<bool, ServiceError> {
    let time = |t: &str| {
        DateTime::parse_from_rfc3339(t)
            .map_err(|e| StoreError::Corrupt(format!("wait start {t:?}: {e}")))
    };
    Ok(time(a)? >= time(b)?)
}

/// First review begins (or resumes after an escalation): tell the reviewers, once.
pub async fn announce_first_review<S: Store, N: Notifier>(
    store: &S,
    notifier: &N,
    reviewers: &[String],
    request_id: &str,
    attempt: u32,
) -> Result<(), ServiceError> {
    let request = load(store, request_id).await?;
    if request.attempt == attempt
        && request.status == Status::PendingFirstReview
        && request.review.is_none()
    {
        notify_reviewers(store, notifier, reviewers, &request, false, "waiting").await?;
    }
    Ok(())
}

/// The first review is overdue: remind the reviewers; the request keeps waiting.
pub async fn escalate_first_review<S: Store, N: Notifier>(
    store: &S,
    notifier: &N,
    reviewers: &[String],
    request_id: &str,
    attempt: u32,
    occasion: &str,
) -> Result<(), ServiceError> {
    let request = load(store, request_id).await?;
    if request.attempt == attempt
        && request.status == Status::PendingFirstReview
        && request.review.is_none()
    {
        notify_reviewers(store, notifier, reviewers, &request, true, occasion).await?;
    }
    Ok(())
}

/// A rejection at first review: record it with the reviewer's reasons and tell the customer.
pub async fn conclude_first_review<S: Store, N: Notifier>(
    store: &S,
    notifier: &N,
    request_id: &str,
    attempt: u32,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let request = load(store, request_id).await?;
    if request.attempt != attempt {
        return Ok(());
    }
    let request = match (&request.status, &request.review) {
        (Status::PendingFirstReview, Some(review)) if review.decision == Decision::Reject => {
            let mut t = request.transition(
                Status::FirstReviewRejected,
                format!("reviewer:{}", review.reviewer),
                "rejected at first review",
                now,
            )?;
            t.rejection_reasons = Some(review.reasons.clone());
            apply_or_current(store, &t).await?
        }
        _ => request,
    };
    if request.status == Status::FirstReviewRejected {
        notify_customer(store, notifier, Event::FirstReviewRejected, &request).await?;
    }
    Ok(())
}

pub fn submission_id(request_id: &str, attempt: u32) -> String {
    format!("sub-{request_id}-{attempt}")
}

/// A worker claimed the task of a wait for the authority's result on `request_id` at
/// `attempt`: keep its token, or end the wait if the result is in (or the attempt is over).
pub async fn keep_authority_token<S: Store, V: Vault, C: WorkflowControl>(
    store: &S,
    vault: &V,
    control: &C,
    request_id: &str,
    attempt: u32,
    task: &WaitingTask<'_>,
) -> Result<bool, ServiceError> {
    let decided = |request: &Request| match request.status {
        _ if request.attempt != attempt => Some("superseded"),
        Status::PendingFirstReview if review_decision(request) == Some("approve") => None,
        Status::ForwardedToAuthority => None,
        Status::Approved | Status::Completed => Some("approved"),
        Status::AuthorityRejected => Some("rejected"),
        _ => Some("superseded"),
    };
    let slot = TokenSlot::Authority;
    keep_or_end(
        store, vault, control, request_id, attempt, slot, task, decided,
    )
    .await
}

/// Approved at first review: submit to the authority, record the forward and tell the
/// customer. (The wait for the authority's answer is kept apart: `keep_authority_token`.)
pub async fn forward_to_authority<S: Store, N: Notifier, A: Authority>(
    store: &S,
    notifier: &N,
    authority: &A,
    request_id: &str,
    attempt: u32,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let request = load(store, request_id).await?;
    if request.attempt != attempt {
        return Ok(());
    }
    let approved = review_decision(&request) == Some("approve");
    let id = submission_id(request_id, attempt);
    let request = if request.status == Status::PendingFirstReview && approved {
        // Submit first, so that `forwarded_to_authority` always means the authority has it; a
        // retry submits the same id again, which the authority takes as the same submission.
        let website = existing_website(store, &request.website_id).await?;
        let entity = existing_entity(store, &request.entity_id).await?;
        authority
            .submit(&Submission {
                submission_id: id.clone(),
                request_id: request_id.into(),
                request_type: request.request_type,
                domain: website.domain,
                website_license_number: website.website_license_number,
                entity_name: entity.name,
                entity_license_number: entity.entity_license_number,
                service_ips: request.service_ips.clone(),
            })
            .await?;
        let reviewer = request
            .review
            .as_ref()
            .map(|r| r.reviewer.clone())
            .unwrap_or_default();
        let mut t = request.transition(
            Status::ForwardedToAuthority,
            "system:forward-to-authority",
            format!("approved at first review by {reviewer}; submitted to the communication administration as {id}"),
            now,
        )?;
        t.submission_id = Some(id);
        apply_or_current(store, &t).await?
    } else {
        request
    };
    // The request as read back may already be past the forward (a fast authority): it was
    // forwarded all the same, and the customer is told so.
    let forwarded = matches!(
        request.status,
        Status::ForwardedToAuthority
            | Status::Approved
            | Status::AuthorityRejected
            | Status::Completed
    );
    if !forwarded {
        return Ok(());
    }
    notify_customer(store, notifier, Event::ForwardedToAuthority, &request).await
}

/// Approved by the authority: apply the outcome to the website and complete the request.
pub async fn clear_record<S: Store, N: Notifier>(
    store: &S,
    notifier: &N,
    request_id: &str,
    attempt: u32,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let request = load(store, request_id).await?;
    if request.attempt != attempt {
        return Ok(());
    }
    let request = if request.status == Status::Approved {
        let (effect, note) = match request.request_type {
            RequestType::WebsiteCancellation => (
                WebsiteEffect::Clear,
                "website cancelled and cleared from the license system".to_string(),
            ),
            RequestType::AccessCancellation => (
                WebsiteEffect::Clear,
                "access cancelled: website cleared from this provider's system; entity license number kept".to_string(),
            ),
            RequestType::AccessChange => {
                let ips = request.service_ips.clone().unwrap_or_default();
                let note = format!("service IPs now {}", ips.join(", "));
                (WebsiteEffect::ReplaceServiceIps(ips), note)
            }
        };
        let mut t = request.transition(Status::Completed, "system:clear-record", note, now)?;
        t.website_effect = Some(effect);
        apply_or_current(store, &t).await?
    } else {
        request
    };
    if request.status == Status::Completed {
        notify_customer(store, notifier, Event::Completed, &request).await?;
    }
    Ok(())
}

fn awaits_resubmission(request: &Request, attempt: u32) -> bool {
    request.attempt == attempt
        && matches!(
            request.status,
            Status::PasswordRejected | Status::FirstReviewRejected
        )
}

/// A rejected request not yet resubmitted: remind the customer before it expires.
pub async fn remind_resubmission<S: Store, N: Notifier>(
    store: &S,
    notifier: &N,
    request_id: &str,
    attempt: u32,
) -> Result<(), ServiceError> {
    let request = load(store, request_id).await?;
    if awaits_resubmission(&request, attempt) {
        notify_customer(store, notifier, Event::ExpiryReminder, &request).await?;
    }
    Ok(())
}

/// A rejected request not resubmitted in time expires, freeing the website.
pub async fn expire<S: Store, N: Notifier>(
    store: &S,
    notifier: &N,
    request_id: &str,
    attempt: u32,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let request = load(store, request_id).await?;
    let request = if awaits_resubmission(&request, attempt) {
        let t = request.transition(
            Status::Expired,
            "system:close-request",
            "not resubmitted in time",
            now,
        )?;
        apply_or_current(store, &t).await?
    } else {
        request
    };
    if request.attempt == attempt && request.status == Status::Expired {
        notify_customer(store, notifier, Event::Expired, &request).await?;
    }
    Ok(())
}

/// The authority's deadline for `request_id`'s `attempt` passed with no result delivered to its
/// wait. A result the callback recorded all the same (the wait's token was lost with the worker
/// that claimed it) still decides the request: `"approved"` (the record is cleared) or
/// `"rejected"`; otherwise `"overdue"` (the request fails).
pub async fn authority_deadline<S: Store>(
    store: &S,
    request_id: &str,
    attempt: u32,
) -> Result<&'static str, ServiceError> {
    let request = load(store, request_id).await?;
    Ok(match request.status {
        _ if request.attempt != attempt => "overdue",
        Status::Approved | Status::Completed => "approved",
        Status::AuthorityRejected => "rejected",
        _ => "overdue",
    })
}

/// The workflow could not go on (a step failed for good, or the authority's deadline passed):
/// record `failed` with the cause and tell the customer.
pub async fn fail<S: Store, N: Notifier>(
    store: &S,
    notifier: &N,
    request_id: &str,
    attempt: u32,
    cause: &str,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let request = load(store, request_id).await?;
    let request = if request.attempt == attempt && request.status.can_move_to(Status::Failed) {
        let t = request.transition(Status::Failed, "system:close-request", cause, now)?;
        apply_or_current(store, &t).await?
    } else {
        request
    };
    if request.attempt == attempt && request.status == Status::Failed {
        notify_customer(store, notifier, Event::Failed, &request).await?;
    }
    Ok(())
}
