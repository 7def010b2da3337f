//! How a request ends other than by the authority's decision: applying an approval to the
//! website, a rejected request's reminder and expiry, the customer's withdrawal, and the
//! recorded failure.

use crate::contract::{Attempt, ReminderOutcome};
use crate::error::{DomainError, ServiceError, StoreError};
use crate::history::{Effect, FailureCause};
use crate::notification::Event;
use crate::notify::notify_customer;
use crate::password::LockPolicy;
use crate::ports::{Filings, NotificationLedger, Notifier, PasswordChecks, Requests, Workflow};
use crate::records::{
    advance, load, load_attempt, load_own, password_check, settle_password_check,
};
use crate::{Caller, HistoryEvent, Request, RequestType, Status, WebsiteEffect};
use chrono::{DateTime, Utc};

fn awaits_resubmission(request: &Request) -> bool {
    matches!(
        request.status,
        Status::PasswordRejected | Status::FirstReviewRejected
    )
}

/// Closing a request: its ports.
pub struct Closing<'a, S, N> {
    pub store: &'a S,
    pub notifier: &'a N,
}

impl<S: Requests + Filings + NotificationLedger, N: Notifier> Closing<'_, S, N> {
    /// Moves the attempt's request on as `next` proposes, then tells the customer `event` if
    /// the request now stands in the event's status. A step of an earlier attempt does nothing.
    pub(crate) async fn step(
        &self,
        attempt: &Attempt,
        event: Event,
        now: DateTime<Utc>,
        next: impl FnOnce(&Request) -> Option<Result<crate::Transition, DomainError>>,
    ) -> Result<(), ServiceError> {
        let Some(request) = load_attempt(self.store, &attempt.request_id, attempt.attempt).await?
        else {
            return Ok(());
        };
        let request = advance(self.store, request, next).await?;
        if event.status() == Some(request.status) {
            notify_customer(self.store, self.notifier, event, &request, now).await?;
        }
        Ok(())
    }

    /// Approved by the authority: apply the outcome to the website and complete the request.
    pub async fn clear_record(
        &self,
        attempt: &Attempt,
        now: DateTime<Utc>,
    ) -> Result<(), ServiceError> {
        self.step(attempt, Event::Completed, now, |request| {
            (request.status == Status::Approved).then(|| {
                let (effect, done) = match request.request_type {
                    RequestType::WebsiteCancellation => {
                        (WebsiteEffect::Clear, Effect::WebsiteCleared)
                    }
                    RequestType::AccessCancellation => {
                        (WebsiteEffect::Clear, Effect::AccessCleared)
                    }
                    RequestType::AccessChange => {
                        let ips = request.service_ips.clone().unwrap_or_default();
                        (
                            WebsiteEffect::ReplaceServiceIps(ips.clone()),
                            Effect::ServiceIps(ips),
                        )
                    }
                };
                request
                    .transition(
                        Status::Completed,
                        "system:clear-record",
                        HistoryEvent::Completed { effect: done },
                        now,
                    )
                    .map(|mut t| {
                        t.website_effect = Some(effect);
                        t
                    })
            })
        })
        .await
    }

    /// A rejected request not yet resubmitted: remind the customer before it expires. An
    /// attempt already over (resubmitted, withdrawn) is `Superseded`: its execution ends here.
    pub async fn remind_resubmission(
        &self,
        attempt: &Attempt,
        now: DateTime<Utc>,
    ) -> Result<ReminderOutcome, ServiceError> {
        let request = load_attempt(self.store, &attempt.request_id, attempt.attempt).await?;
        match request {
            Some(request) if awaits_resubmission(&request) => {
                notify_customer(
                    self.store,
                    self.notifier,
                    Event::ExpiryReminder,
                    &request,
                    now,
                )
                .await?;
                Ok(ReminderOutcome::Reminded)
            }
            _ => Ok(ReminderOutcome::Superseded),
        }
    }

    /// A rejected request not resubmitted in time expires, freeing the website.
    pub async fn expire(&self, attempt: &Attempt, now: DateTime<Utc>) -> Result<(), ServiceError> {
        self.step(attempt, Event::Expired, now, |request| {
            awaits_resubmission(request).then(|| {
                request.transition(
                    Status::Expired,
                    "system:close-request",
                    HistoryEvent::Expired,
                    now,
                )
            })
        })
        .await
    }

    /// A fault no retry mends (a contract bug) stopped the workflow before any approval: record
    /// `failed` with the cause and tell the customer. A request the reviewer approved is never
    /// failed (the write is refused once the approval is recorded): it waits rounds instead.
    pub async fn fail(
        &self,
        attempt: &Attempt,
        cause: FailureCause,
        now: DateTime<Utc>,
    ) -> Result<(), ServiceError> {
        self.step(attempt, Event::Failed, now, |request| {
            (request.status.can_move_to(Status::Failed) && !request.is_approved()).then(|| {
                request
                    .transition(
                        Status::Failed,
                        "system:close-request",
                        HistoryEvent::Failed { cause },
                        now,
                    )
                    .map(|mut t| {
                        t.unless_approved = true;
                        t
                    })
            })
        })
        .await
    }
}

/// An operator's re-drive: its ports.
pub struct Redrive<'a, S, N, W> {
    pub store: &'a S,
    pub notifier: &'a N,
    pub workflow: &'a W,
}

impl<S: Requests + Filings + NotificationLedger, N: Notifier, W: Workflow> Redrive<'_, S, N, W> {
    /// An operator's re-drive, once the cause is mended. An approval not yet applied (the
    /// workflow waits rounds to apply it) is applied now; applied already, the request is
    /// answered as it stands. A request failed awaiting its first review reopens there (if its
    /// website is free) and its attempt starts again; a repeat (its answer lost, or the start
    /// refused) starts that same run, and nothing twice.
    pub async fn redrive(
        &self,
        caller: &Caller,
        request_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Request, ServiceError> {
        let Caller::Operator { .. } = caller else {
            return Err(ServiceError::Forbidden);
        };
        let request = load(self.store, request_id).await?;
        match request.status {
            Status::Approved => {
                let attempt = Attempt {
                    request_id: request_id.into(),
                    attempt: request.attempt,
                };
                Closing {
                    store: self.store,
                    notifier: self.notifier,
                }
                .clear_record(&attempt, now)
                .await?;
                load(self.store, request_id).await
            }
            Status::Completed => Ok(request),
            Status::PendingFirstReview if reopened_last(&request) => self.restart(request).await,
            _ => self.reopen(caller, request, now).await,
        }
    }

    async fn reopen(
        &self,
        caller: &Caller,
        request: Request,
        now: DateTime<Utc>,
    ) -> Result<Request, ServiceError> {
        let transition = request.reopening(caller.actor(), now)?;
        let reopened = match self.store.apply(&transition).await {
            Ok(reopened) => reopened,
            Err(StoreError::Conflict(_)) => {
                let current = load(self.store, &request.request_id).await?;
                if current.status == Status::PendingFirstReview && reopened_last(&current) {
                    // Another re-drive moved first: the same run.
                    return self.restart(current).await;
                }
                if current.status != Status::Failed {
                    return Err(DomainError::NothingToRedrive(current.status).into());
                }
                let website = self.store.get_website(&request.website_id).await?;
                let open = website.and_then(|w| w.open_request_id).unwrap_or_default();
                return Err(DomainError::RequestAlreadyOpen(open).into());
            }
            Err(e) => return Err(e.into()),
        };
        self.restart(reopened).await
    }

    /// Starts the reopened request's run. Named by the history, which the reopening lengthened:
    /// a start apart from any before, and the same one however often it is asked for.
    async fn restart(&self, reopened: Request) -> Result<Request, ServiceError> {
        self.workflow
            .restart(
                &reopened.request_id,
                reopened.attempt,
                reopened.history.len(),
            )
            .await?;
        Ok(reopened)
    }
}

/// Reopened by a re-drive, and nothing has happened to it since.
fn reopened_last(request: &Request) -> bool {
    request
        .history
        .last()
        .is_some_and(|entry| entry.event == Some(HistoryEvent::Redriven))
}

/// The customer's withdrawal: its ports, and the password lock a check it settles may set.
pub struct Withdrawal<'a, S, W> {
    pub store: &'a S,
    pub workflow: &'a W,
    pub lock: LockPolicy,
}

impl<S: Requests + PasswordChecks, W: Workflow> Withdrawal<'_, S, W> {
    fn unjudged_check(&self) -> UnjudgedCheck<'_, S> {
        UnjudgedCheck {
            store: self.store,
            lock: self.lock,
        }
    }

    /// Withdraw: allowed until the reviewer approves (the forward to the authority may then be
    /// under way, and the authority would hold a submission the customer withdrew). Stops the
    /// workflow.
    pub async fn withdraw(
        &self,
        caller: &Caller,
        request_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Request, ServiceError> {
        let store = self.store;
        let request = load_own(store, caller, request_id).await?;
        if request.status == Status::Withdrawn {
            // A retry: the first call may have failed to settle the check or stop the execution.
            self.unjudged_check().settle(&request, now).await?;
            self.workflow.stop(request_id, request.attempt).await?;
            return Ok(request.seen_by(caller));
        }
        let refusal = |request: &Request| {
            if request.is_approved() {
                Some(DomainError::WithdrawAfterApproval)
            } else if !request.status.can_move_to(Status::Withdrawn) {
                Some(DomainError::WithdrawNotAllowed(request.status))
            } else {
                None
            }
        };
        if let Some(refused) = refusal(&request) {
            return Err(refused.into());
        }
        let mut t = request.transition(
            Status::Withdrawn,
            caller.actor(),
            HistoryEvent::Withdrawn,
            now,
        )?;
        t.unless_approved = true;
        let withdrawn = match store.apply(&t).await {
            Ok(r) => r,
            Err(StoreError::Conflict(_)) => {
                let current = load(store, request_id).await?;
                if current.status != Status::Withdrawn {
                    let refused = refusal(&current)
                        .unwrap_or(DomainError::WithdrawNotAllowed(current.status));
                    return Err(refused.into());
                }
                current
            }
            Err(e) => return Err(e.into()),
        };
        self.unjudged_check().settle(&withdrawn, now).await?;
        self.workflow.stop(request_id, withdrawn.attempt).await?;
        Ok(withdrawn.seen_by(caller))
    }
}

/// A license password check whose attempt closed before it was judged: withdrawn, or failed,
/// while the step that reserved the check was stopped or could not go on. That step never runs
/// again to settle it, and a reserved check holds one of the entity's tries for good: at the
/// limit every later check of the entity would wait its turn forever, with no lock to tell the
/// customer to reset the password.
pub struct UnjudgedCheck<'a, S> {
    pub store: &'a S,
    pub lock: LockPolicy,
}

impl<S: Requests + PasswordChecks> UnjudgedCheck<'_, S> {
    /// Settles the check of a request closed straight from `submitted`, as the step's own retry
    /// settles one whose attempt closed before its judgement was written: as a failure, since
    /// nothing says it matched. Settling twice, or a check never reserved, changes nothing.
    pub async fn settle(&self, closed: &Request, now: DateTime<Utc>) -> Result<(), ServiceError> {
        let mut moves = closed.history.iter().rev().map(|entry| entry.status);
        let (last, before) = (moves.next(), moves.next());
        if last.is_none_or(|status| status.is_open()) || before != Some(Status::Submitted) {
            return Ok(());
        }
        let check = password_check(&closed.request_id, closed.attempt);
        settle_password_check(self.store, &closed.entity_id, &check, false, self.lock, now).await
    }

    /// The same, for the attempt a failed workflow recorded.
    pub async fn settle_attempt(
        &self,
        attempt: &Attempt,
        now: DateTime<Utc>,
    ) -> Result<(), ServiceError> {
        match load_attempt(self.store, &attempt.request_id, attempt.attempt).await? {
            Some(request) => self.settle(&request, now).await,
            None => Ok(()),
        }
    }
}
