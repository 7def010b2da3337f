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

/// Keeps the task token the workflow waits on in `slot`, sealed, for the request's attempt.
async fn keep_token<S: Store, V: Vault>(
    store: &S,
    vault: &V,
    request_id: &str,
    attempt: u32,
    slot: TokenSlot,
    task_token: &str,
) -> Result<(), ServiceError> {
    let sealed = vault.seal(task_token, &token_context(request_id, attempt, slot));
    Ok(store
        .put_task_token(request_id, attempt, slot, &sealed)
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
    Ok(control.resume(&token, &resume_output(decision)).await?)
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

/// First review begins (or resumes after an escalation): keep the task token, tell the
/// reviewers once, and if the decision came in already, resume at once.
#[allow(clippy::too_many_arguments)]
pub async fn await_first_review<S: Store, V: Vault, C: WorkflowControl, N: Notifier>(
    store: &S,
    vault: &V,
    control: &C,
    notifier: &N,
    reviewers: &[String],
    request_id: &str,
    attempt: u32,
    task_token: &str,
) -> Result<(), ServiceError> {
    let request = load(store, request_id).await?;
    if request.attempt != attempt || request.status != Status::PendingFirstReview {
        control
            .resume(task_token, &resume_output("superseded"))
            .await?;
        return Ok(());
    }
    keep_token(
        store,
        vault,
        request_id,
        attempt,
        TokenSlot::FirstReview,
        task_token,
    )
    .await?;
    // Re-read: a decision recorded before the token was stored found no token to resume.
    let request = load(store, request_id).await?;
    match review_decision(&request) {
        Some(decision) => control.resume(task_token, &resume_output(decision)).await?,
        None => notify_reviewers(store, notifier, reviewers, &request, false, "waiting").await?,
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

/// Approved at first review: keep the task token for the authority's answer, submit to the
/// authority, record the forward and tell the customer.
#[allow(clippy::too_many_arguments)]
pub async fn forward_to_authority<
    S: Store,
    V: Vault,
    C: WorkflowControl,
    N: Notifier,
    A: Authority,
>(
    store: &S,
    vault: &V,
    control: &C,
    notifier: &N,
    authority: &A,
    request_id: &str,
    attempt: u32,
    task_token: &str,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let request = load(store, request_id).await?;
    let approved = review_decision(&request) == Some("approve");
    let settled = match request.status {
        _ if request.attempt != attempt => Some("superseded"),
        Status::PendingFirstReview if approved => None,
        Status::ForwardedToAuthority => None,
        Status::Approved | Status::Completed => Some("approved"),
        Status::AuthorityRejected => Some("rejected"),
        _ => Some("superseded"),
    };
    if let Some(decision) = settled {
        if decision != "superseded" {
            // The authority answered before a retry of this step got here: the forward
            // happened, and the customer may not have been told of it yet.
            notify_customer(store, notifier, Event::ForwardedToAuthority, &request).await?;
        }
        control.resume(task_token, &resume_output(decision)).await?;
        return Ok(());
    }
    keep_token(
        store,
        vault,
        request_id,
        attempt,
        TokenSlot::Authority,
        task_token,
    )
    .await?;
    let id = submission_id(request_id, attempt);
    let request = if request.status == Status::PendingFirstReview {
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
    if request.attempt != attempt || !forwarded {
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
