//! The workflow's first task: the license password of the attempt against the entity's hash.

use crate::contract::VerifyOutcome;
use crate::error::{ServiceError, StoreError};
use crate::notification::Event;
use crate::notify::notify_customer;
use crate::ports::{Filings, NotificationLedger, Notifier, PasswordChecks, Requests, Vault};
use crate::records::{existing_entity, load, load_attempt, password_check, settle_password_check};
use crate::submit::sealing_context;
use crate::{password, HistoryEvent, ReasonCode, Request, Status};
use chrono::{DateTime, Utc};

pub use crate::password::LockPolicy;

/// The license password check: its ports.
pub struct Verification<'a, S, N, V> {
    pub store: &'a S,
    pub notifier: &'a N,
    pub vault: &'a V,
}

impl<S: Filings + Requests + PasswordChecks + NotificationLedger, N: Notifier, V: Vault>
    Verification<'_, S, N, V>
{
    /// Tells the customer the attempt was submitted, checks its license password and moves the
    /// request to `pending_first_review` (due at `review_due_at`) or `password_rejected`,
    /// telling the customer of a rejection. Running it again for the same attempt answers the
    /// same and changes nothing.
    pub async fn verify_password(
        &self,
        request_id: &str,
        attempt: u32,
        review_due_at: DateTime<Utc>,
        lock: LockPolicy,
        now: DateTime<Utc>,
    ) -> Result<VerifyOutcome, ServiceError> {
        let Some(request) = load_attempt(self.store, request_id, attempt).await? else {
            return Ok(VerifyOutcome::Superseded);
        };
        self.tell_previous_rejection(&request, now).await?;
        // Closed already (withdrawn while the stream was starting the attempt, after the
        // withdraw's stop found no execution): nothing was submitted to tell of.
        if request.status.is_open() {
            // The check records the review's due time; the customer hears it now.
            let submitted = Request {
                review_due_at: Some(review_due_at),
                ..request.clone()
            };
            notify_customer(self.store, self.notifier, Event::Submitted, &submitted, now).await?;
        }
        let outcome = self
            .check_password(request, review_due_at, lock, now)
            .await?;
        if outcome == VerifyOutcome::Rejected {
            // Also on a retry: the notification log makes it once.
            let request = load(self.store, request_id).await?;
            notify_customer(
                self.store,
                self.notifier,
                Event::PasswordRejected,
                &request,
                now,
            )
            .await?;
        }
        Ok(outcome)
    }

    /// Makes sure the customer heard why the previous attempt was rejected, as it stood then.
    /// They may have resubmitted as soon as the status showed, before its message went out:
    /// its sender may have failed, and the step's retry, finding its attempt over, sends
    /// nothing. The attempt's own notification ids keep it to once.
    async fn tell_previous_rejection(
        &self,
        request: &Request,
        now: DateTime<Utc>,
    ) -> Result<(), ServiceError> {
        let Some(previous) = request.as_ended(request.attempt.saturating_sub(1)) else {
            return Ok(());
        };
        let event = [Event::PasswordRejected, Event::FirstReviewRejected]
            .into_iter()
            .find(|event| event.status() == Some(previous.status));
        match event {
            Some(event) => notify_customer(self.store, self.notifier, event, &previous, now).await,
            None => Ok(()),
        }
    }

    /// The check itself, on the attempt's request as `verify_password` read it.
    async fn check_password(
        &self,
        request: Request,
        review_due_at: DateTime<Utc>,
        lock: LockPolicy,
        now: DateTime<Utc>,
    ) -> Result<VerifyOutcome, ServiceError> {
        let store = self.store;
        let (request_id, attempt) = (request.request_id.as_str(), request.attempt);
        let check = password_check(request_id, attempt);
        if request.status != Status::Submitted {
            // A retry after the transition: the check is settled (once) as a match only if the
            // attempt's history records it verified, whatever the request's status is now.
            // Closed before its judgement was written, a reserved check counts as a failure.
            let matched = verified(&request);
            settle_password_check(store, &request.entity_id, &check, matched, lock, now).await?;
            return Ok(settled_outcome(&request, attempt));
        }
        let sealed = store
            .sealed_password(request_id, attempt)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("{request_id} has no sealed password")))?;
        let entity = existing_entity(store, &request.entity_id).await?;
        // The check is counted before it is judged, by one conditional write: checks in flight
        // at once (one per request) cannot all be judged against the same count. A locked
        // entity's passwords are not checked, not even those of requests submitted before the
        // lock, nor those beyond the failures left: else they would be guesses past the lock.
        let lock_in_force = entity.lock_in_force(now).is_some();
        let expired_lock = entity.locked_until.filter(|_| !lock_in_force);
        let reserved = !lock_in_force
            && store
                .reserve_password_check(
                    &entity.entity_id,
                    &check,
                    lock.after_failures,
                    expired_lock,
                )
                .await?;
        if !lock_in_force && !reserved {
            // Refused with no lock on: the checks in flight hold every try left. This one waits
            // its turn (the step retries) rather than being judged locked: parallel requests
            // with the right password all get checked, and guesses still stop at the limit.
            let entity = existing_entity(store, &request.entity_id).await?;
            if entity.lock_in_force(now).is_none() {
                return Err(StoreError::Conflict(format!(
                    "{}: the password checks in flight hold every try left; tried again",
                    entity.entity_id
                ))
                .into());
            }
        }
        let locked = !reserved;
        // The attempt is checked against the password in force when it was submitted (its
        // last transition): a reset since then does not fail it.
        let in_force = entity.password_hash_at(request.updated_at);
        let matches = reserved
            && self
                .vault
                .open(&sealed, &sealing_context(request_id, attempt))
                .is_some_and(|candidate| password::verify(in_force, &candidate));

        let (to, event, rejection) = match (matches, locked) {
            // The first review's clock, in the history.
            (true, _) => (
                Status::PendingFirstReview,
                HistoryEvent::PasswordVerified { review_due_at },
                None,
            ),
            (false, false) => (
                Status::PasswordRejected,
                HistoryEvent::PasswordRejected,
                Some(ReasonCode::LicensePasswordIncorrect),
            ),
            (false, true) => (
                Status::PasswordRejected,
                HistoryEvent::PasswordLocked,
                Some(ReasonCode::LicensePasswordLocked),
            ),
        };
        let mut transition = request.transition(to, "system:verify-password", event, now)?;
        match rejection {
            None => transition.review_due_at = Some(review_due_at),
            Some(reason) => transition = transition.rejecting(vec![reason.into()]),
        }
        match store.apply(&transition).await {
            Ok(_) if locked => Ok(VerifyOutcome::Rejected),
            Ok(_) => {
                settle_password_check(store, &entity.entity_id, &check, matches, lock, now).await?;
                Ok(if matches {
                    VerifyOutcome::Accepted
                } else {
                    VerifyOutcome::Rejected
                })
            }
            // Someone moved first (a retry of this step, or a withdraw): report what stands,
            // and settle the check as it was judged (a match only while the attempt stands).
            Err(StoreError::Conflict(_)) => {
                let now_request = load(store, request_id).await?;
                let judged_a_match = now_request.attempt == attempt && matches;
                settle_password_check(store, &entity.entity_id, &check, judged_a_match, lock, now)
                    .await?;
                Ok(settled_outcome(&now_request, attempt))
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// Whether the current attempt's history records its license password verified.
fn verified(request: &Request) -> bool {
    request
        .history
        .iter()
        .rev()
        .take_while(|entry| entry.status != Status::Submitted)
        .any(|entry| matches!(entry.event, Some(HistoryEvent::PasswordVerified { .. })))
}

fn settled_outcome(request: &Request, attempt: u32) -> VerifyOutcome {
    if request.attempt != attempt {
        return VerifyOutcome::Superseded;
    }
    match request.status {
        Status::PasswordRejected => VerifyOutcome::Rejected,
        Status::Submitted | Status::Withdrawn | Status::Expired | Status::Failed => {
            VerifyOutcome::Superseded
        }
        _ => VerifyOutcome::Accepted,
    }
}
