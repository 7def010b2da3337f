//! The provider's first review: the wait for the reviewer's decision, the decision itself, the
//! escalation when it is overdue, and a rejection's record.

use crate::contract::{Attempt, ReviewOutcome, Wait};
use crate::error::{DomainError, ServiceError, StoreError};
use crate::notification::Event;
use crate::notify::notify_reviewers;
use crate::ports::{
    Filings, NotificationLedger, Notifier, Requests, ReviewQueue, TaskTokens, TokenSlot, Vault,
    Workflow,
};
use crate::records::load;
use crate::waits;
use crate::{Caller, Decision, HistoryEvent, Reason, ReasonCode, Request, ReviewDecision, Status};
use chrono::{DateTime, Duration, Utc};

pub const MAX_REASONS: usize = 10;
pub const MAX_REASON_CHARS: usize = 500;

/// A decision's reasons: the common ones by code, then those typed freely; 1 to 10 in all to
/// reject.
fn validate_reasons(
    decision: Decision,
    reason_codes: &[String],
    reasons: &[String],
) -> Result<Vec<Reason>, DomainError> {
    let invalid = |zh: String, en: String| DomainError::validation("invalid_reasons", zh, en);
    let free: Vec<String> = reasons.iter().map(|r| r.trim().to_string()).collect();
    if reason_codes.len() + free.len() > MAX_REASONS {
        return Err(invalid(
            format!("原因最多 {MAX_REASONS} 条"),
            format!("at most {MAX_REASONS} reasons"),
        ));
    }
    if free
        .iter()
        .any(|r| r.is_empty() || r.chars().count() > MAX_REASON_CHARS)
    {
        return Err(invalid(
            format!("每条原因须为 1 至 {MAX_REASON_CHARS} 个字符"),
            format!("each reason must be 1 to {MAX_REASON_CHARS} characters"),
        ));
    }
    // Reasons reach the customer in SMS, email and pages: no line breaks, escapes or other
    // control characters that could forge a line of a message or a log.
    if free.iter().any(|r| r.chars().any(char::is_control)) {
        return Err(invalid(
            "原因不能包含控制字符".into(),
            "reasons must not contain control characters".into(),
        ));
    }
    let mut all = Vec::with_capacity(reason_codes.len() + free.len());
    for code in reason_codes {
        let known = ReasonCode::parse_common(code).ok_or_else(|| {
            invalid(
                format!("未知的原因代码 {code:?}"),
                format!("{code:?} is not a common reason's code"),
            )
        })?;
        all.push(Reason::from(known));
    }
    all.extend(free.into_iter().map(Reason::Free));
    if decision == Decision::Reject && all.is_empty() {
        return Err(invalid(
            "驳回须至少给出一条原因".into(),
            "a rejection needs at least one reason".into(),
        ));
    }
    Ok(all)
}

pub fn parse_decision(raw: &str) -> Result<Decision, DomainError> {
    match raw {
        "approve" => Ok(Decision::Approve),
        "reject" => Ok(Decision::Reject),
        _ => Err(DomainError::validation(
            "invalid_decision",
            "decision 须为 approve 或 reject",
            "decision must be approve or reject",
        )),
    }
}

pub(crate) fn outcome_of(decision: Decision) -> ReviewOutcome {
    match decision {
        Decision::Approve => ReviewOutcome::Approve,
        Decision::Reject => ReviewOutcome::Reject,
    }
}

/// How early the review's timer may end before its due time and still escalate.
const DUE_TOLERANCE_SECONDS: i64 = 60;

/// Whether `request` awaits the first review of `attempt` with nobody having decided yet.
fn awaits_review(request: &Request, attempt: u32) -> bool {
    request.attempt == attempt
        && request.status == Status::PendingFirstReview
        && request.review.is_none()
}

/// The wait for the first review: its ports.
pub struct AwaitReview<'a, S, N, V, W> {
    pub store: &'a S,
    pub notifier: &'a N,
    pub vault: &'a V,
    pub workflow: &'a W,
}

impl<
        S: Requests + TaskTokens + Filings + NotificationLedger,
        N: Notifier,
        V: Vault,
        W: Workflow,
    > AwaitReview<'_, S, N, V, W>
{
    /// The wait for the reviewer's decision begins: keep its token, tell the reviewers (once),
    /// and end the wait at once if the review is decided already (or the attempt is over).
    pub async fn await_review(
        &self,
        wait: &Wait,
        reviewers: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), ServiceError> {
        let attempt = wait.attempt.attempt;
        // A recorded decision decides, whatever the request moved to since: an attempt started
        // again from where it stands (the sweeper) passes this wait on to the next step.
        let decided = |request: &Request| match &request.review {
            _ if request.attempt != attempt => Some(ReviewOutcome::Superseded),
            Some(review) if request.status.is_open() => Some(outcome_of(review.decision)),
            None if request.status == Status::PendingFirstReview => None,
            _ => Some(ReviewOutcome::Superseded),
        };
        let slot = TokenSlot::FirstReview;
        waits::keep_token(self.store, self.vault, self.workflow, wait, slot, decided).await?;
        let request = load(self.store, &wait.attempt.request_id).await?;
        let notices = ReviewNotices {
            store: self.store,
            notifier: self.notifier,
        };
        // An operator's re-drive starts the wait again: the reviewers hear of it again, once.
        let redrives = request
            .history
            .iter()
            .filter(|entry| entry.event == Some(HistoryEvent::Redriven))
            .count();
        let occasion = match redrives {
            0 => "waiting".to_string(),
            n => format!("waiting_after_redrive_{n}"),
        };
        notices
            .tell_reviewers(reviewers, &request, attempt, false, &occasion, now)
            .await?;
        Ok(())
    }
}

/// The reviewer's decision: its ports.
pub struct Deciding<'a, S, V, W> {
    pub store: &'a S,
    pub vault: &'a V,
    pub workflow: &'a W,
}

impl<S: Requests + ReviewQueue + TaskTokens, V: Vault, W: Workflow> Deciding<'_, S, V, W> {
    /// The reviewer's decision: recorded once, then the waiting workflow is resumed through its
    /// kept task token. The same reviewer repeating the same decision (a retry after a failed
    /// answer) resumes again and answers the same; any other second decision is
    /// `already_decided`. `reason_codes`: common reasons; `reasons`: reasons typed freely.
    pub async fn decide(
        &self,
        caller: &Caller,
        request_id: &str,
        decision: Decision,
        reason_codes: &[String],
        reasons: &[String],
        now: DateTime<Utc>,
    ) -> Result<Request, ServiceError> {
        let store = self.store;
        let Caller::Reviewer { reviewer_id } = caller else {
            return Err(ServiceError::Forbidden);
        };
        let review = ReviewDecision {
            decision,
            reasons: validate_reasons(decision, reason_codes, reasons)?,
            reviewer: reviewer_id.clone(),
            at: now,
        };
        let mut request = load(store, request_id).await?;
        // The token as the recording write read it; a repeated decision reads it apart.
        let mut kept_token = None;
        if awaits_review(&request, request.attempt) {
            match store
                .record_review(request_id, request.attempt, &review)
                .await
            {
                Ok(token) => {
                    request.review = Some(review.clone());
                    kept_token = Some(token);
                }
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
        let slot = TokenSlot::FirstReview;
        let sealed = match kept_token {
            Some(token) => token,
            None => store.task_token(request_id, request.attempt, slot).await?,
        };
        waits::resume_kept(
            self.vault,
            self.workflow,
            request_id,
            request.attempt,
            slot,
            sealed,
            outcome_of(decision),
        )
        .await?;
        Ok(request)
    }
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

/// The first review's notices (waiting, overdue, rejected): its ports.
pub struct ReviewNotices<'a, S, N> {
    pub store: &'a S,
    pub notifier: &'a N,
}

impl<S: Requests + Filings + NotificationLedger, N: Notifier> ReviewNotices<'_, S, N> {
    /// Emails the reviewers that `request` awaits the first review of `attempt` (`overdue`: is
    /// past its due time), once per `occasion`, if nobody decided yet. Whether it does.
    async fn tell_reviewers(
        &self,
        reviewers: &[String],
        request: &Request,
        attempt: u32,
        overdue: bool,
        occasion: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, ServiceError> {
        if !awaits_review(request, attempt) {
            return Ok(false);
        }
        notify_reviewers(
            self.store,
            self.notifier,
            reviewers,
            request,
            overdue,
            occasion,
            now,
        )
        .await?;
        Ok(true)
    }

    /// The review's wait ran out: once the request is past its due time (1 working day), remind
    /// the reviewers; the request keeps waiting. Before it, nothing is sent: the escalation
    /// follows the calendar, not the timer. `escalated_at` tells escalations apart (each is sent
    /// once). Whether the reviewers were told.
    pub async fn escalate_review(
        &self,
        reviewers: &[String],
        attempt: &Attempt,
        escalated_at: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, ServiceError> {
        let request = load(self.store, &attempt.request_id).await?;
        // The timer counts whole seconds from a start a little later than the due time's own.
        let due = request
            .review_due_at
            .is_some_and(|due| now + Duration::seconds(DUE_TOLERANCE_SECONDS) >= due);
        if !due {
            return Ok(false);
        }
        self.tell_reviewers(
            reviewers,
            &request,
            attempt.attempt,
            true,
            escalated_at,
            now,
        )
        .await
    }

    /// A rejection at first review: record it with the reviewer's reasons and tell the
    /// customer.
    pub async fn conclude_review(
        &self,
        attempt: &Attempt,
        now: DateTime<Utc>,
    ) -> Result<(), ServiceError> {
        let closing = crate::closing::Closing {
            store: self.store,
            notifier: self.notifier,
        };
        closing
            .step(attempt, Event::FirstReviewRejected, now, |r| {
                match (&r.status, &r.review) {
                    (Status::PendingFirstReview, Some(review))
                        if review.decision == Decision::Reject =>
                    {
                        Some(
                            r.transition(
                                Status::FirstReviewRejected,
                                format!("reviewer:{}", review.reviewer),
                                HistoryEvent::RejectedAtFirstReview,
                                now,
                            )
                            .map(|t| t.rejecting(review.reasons.clone())),
                        )
                    }
                    _ => None,
                }
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reasons(list: &[&str]) -> Vec<String> {
        list.iter().map(|r| r.to_string()).collect()
    }

    #[test]
    fn reasons_are_trimmed_bounded_and_required_to_reject() {
        assert_eq!(
            validate_reasons(Decision::Reject, &[], &reasons(&["  照片模糊 "])).unwrap(),
            [Reason::Free("照片模糊".into())]
        );
        assert!(validate_reasons(Decision::Approve, &[], &[])
            .unwrap()
            .is_empty());
        for bad in [
            reasons(&[]),
            reasons(&[" "]),
            reasons(&[&"x".repeat(MAX_REASON_CHARS + 1)]),
        ] {
            assert!(
                validate_reasons(Decision::Reject, &[], &bad).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn common_reasons_come_by_code_before_the_typed_ones() {
        let codes = reasons(&["service_ips_not_provider"]);
        assert_eq!(
            validate_reasons(Decision::Reject, &codes, &reasons(&["另见附件"])).unwrap(),
            [
                Reason::from(ReasonCode::ServiceIpsNotProvider),
                Reason::Free("另见附件".into())
            ]
        );
        for unknown in ["blurred", "license_password_incorrect", ""] {
            let err = validate_reasons(Decision::Reject, &reasons(&[unknown]), &[]).unwrap_err();
            assert!(
                matches!(
                    err,
                    DomainError::Validation {
                        code: "invalid_reasons",
                        ..
                    }
                ),
                "{unknown:?}"
            );
        }
        let eleven: Vec<String> = ["id_photo_unclear"; 6].map(String::from).to_vec();
        assert!(validate_reasons(Decision::Reject, &eleven, &reasons(&["a"; 5])).is_err());
    }

    #[test]
    fn reasons_refuse_control_characters() {
        for bad in [
            "blurred\nSMS: approved",
            "tab\there",
            "esc\u{1b}[31m",
            "nul\u{0}end",
            "del\u{7f}end",
            "nel\u{85}end",
        ] {
            let err = validate_reasons(Decision::Reject, &[], &reasons(&[bad])).unwrap_err();
            assert!(
                matches!(
                    err,
                    DomainError::Validation {
                        code: "invalid_reasons",
                        ..
                    }
                ),
                "{bad:?}"
            );
        }
    }
}
