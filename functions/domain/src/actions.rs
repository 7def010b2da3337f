//! What reviewers, customers and the authority do to a request through the API, beyond
//! submitting it: decide the first review, withdraw, "Modify and Submit", and the authority's
//! result.

use crate::notification::Event;
use crate::notify::notify_customer;
use crate::ports::{Notifier, Store, TokenSlot, Workflow, WorkflowControl};
use crate::service::{existing_entity, sealing_context, Caller, ServiceError, Vault};
use crate::steps::resume_waiting;
use crate::validation::{validate_password, validate_service_ips};
use crate::{
    Decision, DomainError, NextAttempt, Request, RequestType, ReviewDecision, Status, StoreError,
};
use chrono::{DateTime, Utc};

pub const MAX_REASONS: usize = 10;
pub const MAX_REASON_CHARS: usize = 500;

async fn load<S: Store>(store: &S, request_id: &str) -> Result<Request, ServiceError> {
    Ok(store
        .get_request(request_id)
        .await?
        .ok_or_else(|| DomainError::RequestNotFound(request_id.into()))?)
}

/// A customer's own request.
async fn load_own<S: Store>(
    store: &S,
    caller: &Caller,
    request_id: &str,
) -> Result<Request, ServiceError> {
    let entity_id = caller.entity_id()?;
    let request = load(store, request_id).await?;
    if request.entity_id != entity_id {
        return Err(ServiceError::Forbidden);
    }
    Ok(request)
}

fn validate_reasons(decision: Decision, reasons: &[String]) -> Result<Vec<String>, DomainError> {
    let invalid = |m: String| DomainError::validation("invalid_reasons", m);
    let reasons: Vec<String> = reasons.iter().map(|r| r.trim().to_string()).collect();
    if reasons.len() > MAX_REASONS {
        return Err(invalid(format!("at most {MAX_REASONS} reasons")));
    }
    if reasons
        .iter()
        .any(|r| r.is_empty() || r.chars().count() > MAX_REASON_CHARS)
    {
        return Err(invalid(format!(
            "each reason must be 1 to {MAX_REASON_CHARS} characters"
        )));
    }
    if decision == Decision::Reject && reasons.is_empty() {
        return Err(invalid("a rejection needs at least one reason".into()));
    }
    Ok(reasons)
}

pub fn parse_decision(raw: &str) -> Result<Decision, DomainError> {
    match raw {
        "approve" => Ok(Decision::Approve),
        "reject" => Ok(Decision::Reject),
        _ => Err(DomainError::validation(
            "invalid_decision",
            "decision must be approve or reject",
        )),
    }
}

/// The reviewer's decision: recorded once, then the waiting workflow is resumed through its
/// stored task token (if the workflow has not stored its token yet, it finds the decision when
/// it does). The same reviewer repeating the same decision (a retry after a failed answer)
/// resumes again and answers the same; any other second decision is `already_decided`.
#[allow(clippy::too_many_arguments)]
pub async fn decide<S: Store, V: Vault, C: WorkflowControl>(
    store: &S,
    vault: &V,
    control: &C,
    caller: &Caller,
    request_id: &str,
    decision: Decision,
    reasons: &[String],
    now: DateTime<Utc>,
) -> Result<Request, ServiceError> {
    let Caller::Reviewer { reviewer_id } = caller else {
        return Err(ServiceError::Forbidden);
    };
    let review = ReviewDecision {
        decision,
        reasons: validate_reasons(decision, reasons)?,
        reviewer: reviewer_id.clone(),
        at: now,
    };
    let mut request = load(store, request_id).await?;
    if request.status == Status::PendingFirstReview && request.review.is_none() {
        match store
            .record_review(request_id, request.attempt, &review)
            .await
        {
            Ok(()) => request.review = Some(review.clone()),
            Err(StoreError::Conflict(_)) => request = load(store, request_id).await?,
            Err(e) => return Err(e.into()),
        }
    }
    let same = |recorded: &ReviewDecision| {
        (&recorded.reviewer, recorded.decision, &recorded.reasons)
            == (&review.reviewer, review.decision, &review.reasons)
    };
    match &request.review {
        Some(recorded) if request.status == Status::PendingFirstReview && same(recorded) => {}
        _ => return Err(refuse_decision(&request)),
    }
    let word = match decision {
        Decision::Approve => "approve",
        Decision::Reject => "reject",
    };
    resume_waiting(
        store,
        vault,
        control,
        request_id,
        request.attempt,
        TokenSlot::FirstReview,
        word,
    )
    .await?;
    load(store, request_id).await
}

/// Why a decision cannot be taken: someone decided already, or the request does not await one.
fn refuse_decision(request: &Request) -> ServiceError {
    let decided = request.review.is_some()
        || matches!(
            request.status,
            Status::FirstReviewRejected
                | Status::ForwardedToAuthority
                | Status::AuthorityRejected
                | Status::Approved
                | Status::Completed
        );
    if decided {
        DomainError::AlreadyDecided(request.request_id.clone()).into()
    } else {
        DomainError::InvalidTransition {
            from: request.status,
            to: Status::ForwardedToAuthority,
        }
        .into()
    }
}

/// Withdraw: allowed until the request is forwarded to the authority. Stops the workflow.
pub async fn withdraw<S: Store, C: WorkflowControl>(
    store: &S,
    control: &C,
    caller: &Caller,
    request_id: &str,
    now: DateTime<Utc>,
) -> Result<Request, ServiceError> {
    let request = load_own(store, caller, request_id).await?;
    if request.status == Status::Withdrawn {
        // A retry: the first call may have failed to stop the execution.
        control
            .stop(request_id, request.attempt, "withdrawn by the customer")
            .await?;
        return Ok(request);
    }
    if !request.status.can_move_to(Status::Withdrawn) {
        return Err(DomainError::WithdrawNotAllowed(request.status).into());
    }
    let t = request.transition(
        Status::Withdrawn,
        caller.actor(),
        "withdrawn by the customer",
        now,
    )?;
    let withdrawn = match store.apply(&t).await {
        Ok(r) => r,
        Err(StoreError::Conflict(_)) => {
            let current = load(store, request_id).await?;
            if current.status != Status::Withdrawn {
                return Err(DomainError::WithdrawNotAllowed(current.status).into());
            }
            current
        }
        Err(e) => return Err(e.into()),
    };
    control
        .stop(request_id, withdrawn.attempt, "withdrawn by the customer")
        .await?;
    Ok(withdrawn)
}

/// "Modify and Submit" after a password or first-review rejection: the next attempt, with a
/// new license password and, for an access change, possibly new service IPs.
#[allow(clippy::too_many_arguments)]
pub async fn resubmit<S: Store, W: Workflow, C: WorkflowControl, V: Vault, N: Notifier>(
    store: &S,
    workflow: &W,
    control: &C,
    vault: &V,
    notifier: &N,
    caller: &Caller,
    request_id: &str,
    license_password: &str,
    service_ips: Option<&[String]>,
    now: DateTime<Utc>,
) -> Result<Request, ServiceError> {
    validate_password(license_password)?;
    let request = load_own(store, caller, request_id).await?;
    if request.status == Status::Submitted && request.attempt > 1 {
        // A retry after the new attempt was recorded: make sure its workflow runs.
        workflow.start(request_id, request.attempt).await?;
        notify_customer(store, notifier, Event::Submitted, &request).await?;
        return Ok(request);
    }
    if !matches!(
        request.status,
        Status::PasswordRejected | Status::FirstReviewRejected
    ) {
        return Err(DomainError::InvalidTransition {
            from: request.status,
            to: Status::Submitted,
        }
        .into());
    }
    let entity = existing_entity(store, &request.entity_id).await?;
    if let Some(until) = entity.locked_until.filter(|until| *until > now) {
        return Err(DomainError::PasswordLocked {
            retry_after_seconds: (until - now).num_seconds().max(1),
        }
        .into());
    }
    let service_ips = match (request.request_type, service_ips) {
        (RequestType::AccessChange, Some(ips)) => {
            let website = store
                .get_website(&request.website_id)
                .await?
                .ok_or_else(|| DomainError::WebsiteNotFound(request.website_id.clone()))?;
            Some(validate_service_ips(ips, &website.service_ips)?)
        }
        (_, Some(_)) => {
            return Err(DomainError::validation(
                "invalid_service_ips",
                "serviceIps is only allowed for access_change",
            )
            .into())
        }
        (_, None) => None,
    };
    let next = request.attempt + 1;
    let mut t = request.transition(
        Status::Submitted,
        caller.actor(),
        format!("modified and resubmitted (attempt {next})"),
        now,
    )?;
    t.next_attempt = Some(NextAttempt {
        service_ips,
        sealed_password: vault.seal(license_password, &sealing_context(request_id, next)),
    });
    let resubmitted = match store.apply(&t).await {
        Ok(r) => r,
        Err(StoreError::Conflict(_)) => {
            let current = load(store, request_id).await?;
            return Err(DomainError::InvalidTransition {
                from: current.status,
                to: Status::Submitted,
            }
            .into());
        }
        Err(e) => return Err(e.into()),
    };
    // The previous attempt's execution waits only to expire the rejection: end it.
    control
        .stop(request_id, request.attempt, "resubmitted")
        .await?;
    workflow.start(request_id, next).await?;
    notify_customer(store, notifier, Event::Submitted, &resubmitted).await?;
    Ok(resubmitted)
}

/// The authority's decision, from its (already verified) callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorityDecision {
    Approved,
    Rejected,
}

/// Records the authority's result and resumes the workflow. A repeated callback changes
/// nothing and answers the same; a contradicting one is refused.
#[allow(clippy::too_many_arguments)]
pub async fn authority_result<S: Store, V: Vault, C: WorkflowControl, N: Notifier>(
    store: &S,
    vault: &V,
    control: &C,
    notifier: &N,
    request_id: &str,
    submission_id: &str,
    decision: AuthorityDecision,
    reasons: &[String],
    now: DateTime<Utc>,
) -> Result<Request, ServiceError> {
    let request = load(store, request_id).await?;
    if request.submission_id.as_deref() != Some(submission_id) {
        return Err(DomainError::SubmissionNotFound(submission_id.into()).into());
    }
    let (target, event, word) = match decision {
        AuthorityDecision::Approved => (Status::Approved, Event::AuthorityApproved, "approved"),
        AuthorityDecision::Rejected => (
            Status::AuthorityRejected,
            Event::AuthorityRejected,
            "rejected",
        ),
    };
    let request = if request.status == Status::ForwardedToAuthority {
        let mut t = request.transition(
            target,
            "authority",
            format!("{word} by the communication administration"),
            now,
        )?;
        if decision == AuthorityDecision::Rejected {
            t.rejection_reasons = Some(if reasons.is_empty() {
                vec!["Rejected by the communication administration.".to_string()]
            } else {
                reasons.to_vec()
            });
        }
        match store.apply(&t).await {
            Ok(r) => r,
            Err(StoreError::Conflict(_)) => load(store, request_id).await?,
            Err(e) => return Err(e.into()),
        }
    } else {
        request
    };
    let consistent = match decision {
        AuthorityDecision::Approved => {
            matches!(request.status, Status::Approved | Status::Completed)
        }
        AuthorityDecision::Rejected => request.status == Status::AuthorityRejected,
    };
    if !consistent {
        return Err(DomainError::AlreadyDecided(request_id.into()).into());
    }
    notify_customer(store, notifier, event, &request).await?;
    resume_waiting(
        store,
        vault,
        control,
        request_id,
        request.attempt,
        TokenSlot::Authority,
        word,
    )
    .await?;
    Ok(request)
}
