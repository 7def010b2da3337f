//! The communication administration: the approved request submitted to it and the wait for its
//! result, the result from its callback, and its deadline.

use crate::calendar::WorkingCalendar;
use crate::contract::{Attempt, AuthorityOutcome, Wait};
use crate::error::{DomainError, ServiceError};
use crate::notification::Event;
use crate::notify::notify_customer;
use crate::ports::{
    Authority, Filings, NotificationLedger, Notifier, Requests, Submission, TaskTokens, TokenSlot,
    Vault, Workflow,
};
use crate::records::{advance, existing_entity, existing_website, load, load_attempt};
use crate::waits;
use crate::{Decision, HistoryEvent, Reason, ReasonCode, Request, Status};
use chrono::{DateTime, Utc};

pub fn submission_id(request_id: &str, attempt: u32) -> String {
    format!("sub-{request_id}-{attempt}")
}

/// The authority's decision, from its (already verified) callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorityDecision {
    Approved,
    Rejected,
}

/// The authority's answer as the request records it, if it has one.
pub(crate) fn recorded_result(request: &Request) -> Option<AuthorityOutcome> {
    match request.status {
        Status::Approved | Status::Completed => Some(AuthorityOutcome::Approved),
        Status::AuthorityRejected => Some(AuthorityOutcome::Rejected),
        _ => None,
    }
}

fn approved_at_review(request: &Request) -> bool {
    request.status == Status::PendingFirstReview
        && request
            .review
            .as_ref()
            .is_some_and(|r| r.decision == Decision::Approve)
}

/// The forward to the authority: its ports.
pub struct Forwarding<'a, S, N, V, W, A> {
    pub store: &'a S,
    pub notifier: &'a N,
    pub vault: &'a V,
    pub workflow: &'a W,
    pub authority: &'a A,
}

impl<
        S: Requests + Filings + TaskTokens + NotificationLedger,
        N: Notifier,
        V: Vault,
        W: Workflow,
        A: Authority,
    > Forwarding<'_, S, N, V, W, A>
{
    /// Whether the forward of the attempt's approval is past its due time: 1 working day after
    /// the reviewer approved (China's working days). Asked when the forward fails, to alert the
    /// operators while the workflow keeps trying.
    pub async fn forward_overdue(
        &self,
        attempt: &Attempt,
        calendar: &WorkingCalendar,
        now: DateTime<Utc>,
    ) -> Result<bool, ServiceError> {
        let request = load(self.store, &attempt.request_id).await?;
        Ok(request.attempt == attempt.attempt
            && approved_at_review(&request)
            && request
                .review
                .as_ref()
                .is_some_and(|review| now >= calendar.one_working_day_after(review.at).at))
    }

    /// Approved at first review: submit to the authority, record the forward (with its clock:
    /// due 1 working day after the approval), tell the customer, and keep the token of the wait
    /// for the authority's result (ending it at once if the result is in already).
    pub async fn forward_to_authority(
        &self,
        wait: &Wait,
        calendar: &WorkingCalendar,
        now: DateTime<Utc>,
    ) -> Result<(), ServiceError> {
        let (request_id, attempt) = (&wait.attempt.request_id, wait.attempt.attempt);
        let store = self.store;
        if let Some(request) = load_attempt(store, request_id, attempt).await? {
            let request = if approved_at_review(&request) {
                // Submit first, so that `forwarded_to_authority` always means the authority has
                // it; a retry submits the same id again, which the authority takes as the same.
                let id = submission_id(request_id, attempt);
                self.submit_to_authority(&request, &id).await?;
                advance(store, request, |r| {
                    let review = r.review.as_ref().filter(|_| approved_at_review(r))?;
                    let due = calendar
                        .one_working_day_after(review.at)
                        .at
                        .with_timezone(&Utc);
                    Some(
                        r.transition(
                            Status::ForwardedToAuthority,
                            "system:forward-to-authority",
                            HistoryEvent::ForwardedToAuthority {
                                submission_id: id.clone(),
                                due_at: due,
                                late: now > due,
                                reviewer: Some(review.reviewer.clone()),
                            },
                            now,
                        )
                        .map(|mut t| {
                            t.submission_id = Some(id.clone());
                            t
                        }),
                    )
                })
                .await?
            } else {
                request
            };
            // The request as read back may already be past the forward (a fast authority): it
            // was forwarded all the same, and the customer is told so.
            if request.status == Status::ForwardedToAuthority || recorded_result(&request).is_some()
            {
                notify_customer(
                    store,
                    self.notifier,
                    Event::ForwardedToAuthority,
                    &request,
                    now,
                )
                .await?;
            }
        }
        let decided = |request: &Request| match request.status {
            _ if request.attempt != attempt => Some(AuthorityOutcome::Superseded),
            Status::ForwardedToAuthority => None,
            _ => Some(recorded_result(request).unwrap_or(AuthorityOutcome::Superseded)),
        };
        let slot = TokenSlot::Authority;
        waits::keep_token(store, self.vault, self.workflow, wait, slot, decided).await
    }

    async fn submit_to_authority(&self, request: &Request, id: &str) -> Result<(), ServiceError> {
        let website = existing_website(self.store, &request.website_id).await?;
        let entity = existing_entity(self.store, &request.entity_id).await?;
        let submission = Submission {
            submission_id: id.into(),
            request_id: request.request_id.clone(),
            request_type: request.request_type,
            domain: website.domain,
            website_license_number: website.website_license_number,
            entity_name: entity.name,
            entity_license_number: entity.entity_license_number,
            service_ips: request.service_ips.clone(),
        };
        Ok(self.authority.submit(&submission).await?)
    }
}

/// The authority's result: its ports.
pub struct AuthorityResult<'a, S, N, V, W> {
    pub store: &'a S,
    pub notifier: &'a N,
    pub vault: &'a V,
    pub workflow: &'a W,
}

impl<
        S: Requests + Filings + TaskTokens + NotificationLedger,
        N: Notifier,
        V: Vault,
        W: Workflow,
    > AuthorityResult<'_, S, N, V, W>
{
    /// Records the authority's result and resumes the workflow. A repeated callback changes
    /// nothing and answers the same; a contradicting one is refused.
    pub async fn authority_result(
        &self,
        request_id: &str,
        submission_id: &str,
        decision: AuthorityDecision,
        reasons: &[String],
        now: DateTime<Utc>,
    ) -> Result<Request, ServiceError> {
        let store = self.store;
        let request = load(store, request_id).await?;
        if request.submission_id.as_deref() != Some(submission_id) {
            return Err(DomainError::SubmissionNotFound(submission_id.into()).into());
        }
        let (target, event, entry, outcome) = match decision {
            AuthorityDecision::Approved => (
                Status::Approved,
                Event::AuthorityApproved,
                HistoryEvent::AuthorityApproved,
                AuthorityOutcome::Approved,
            ),
            AuthorityDecision::Rejected => (
                Status::AuthorityRejected,
                Event::AuthorityRejected,
                HistoryEvent::AuthorityRejected,
                AuthorityOutcome::Rejected,
            ),
        };
        let request = advance(store, request, |r| {
            (r.status == Status::ForwardedToAuthority).then(|| {
                r.transition(target, "authority", entry, now)
                    .map(|t| match decision {
                        AuthorityDecision::Approved => t,
                        // The authority's reasons are its own words, kept as sent.
                        AuthorityDecision::Rejected => t.rejecting(if reasons.is_empty() {
                            vec![ReasonCode::AuthorityGaveNoReason.into()]
                        } else {
                            reasons.iter().cloned().map(Reason::Free).collect()
                        }),
                    })
            })
        })
        .await?;
        if recorded_result(&request) != Some(outcome) {
            return Err(DomainError::AlreadyDecided(request_id.into()).into());
        }
        notify_customer(store, self.notifier, event, &request, now).await?;
        waits::resume(
            store,
            self.vault,
            self.workflow,
            request_id,
            request.attempt,
            TokenSlot::Authority,
            outcome,
        )
        .await?;
        Ok(request)
    }
}

/// The authority's deadline: its port.
pub struct AuthorityDeadline<'a, S> {
    pub store: &'a S,
}

impl<S: Requests> AuthorityDeadline<'_, S> {
    /// The authority's deadline passed with no result delivered to its wait. A result the
    /// callback recorded all the same still decides the request (the record is cleared late,
    /// not lost); otherwise the request is overdue (and fails).
    pub async fn authority_deadline(
        &self,
        attempt: &Attempt,
    ) -> Result<AuthorityOutcome, ServiceError> {
        let request = load_attempt(self.store, &attempt.request_id, attempt.attempt).await?;
        Ok(request
            .as_ref()
            .and_then(recorded_result)
            .unwrap_or(AuthorityOutcome::Overdue))
    }
}
