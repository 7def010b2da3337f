//! The workflow's first task: the license password of the attempt against the entity's hash.

use crate::contract::VerifyOutcome;
use crate::error::{ServiceError, StoreError};
use crate::notification::Event;
use crate::notify::notify_customer;
use crate::ports::{Notifier, Ports, Store, Vault};
use crate::records::{existing_entity, load, load_attempt};
use crate::submit::sealing_context;
use crate::{password, HistoryEvent, ReasonCode, Request, Status};
use chrono::{DateTime, Utc};

/// Wrong passwords in a row that lock the entity, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockPolicy {
    pub after_failures: u32,
    pub seconds: i64,
}

impl Default for LockPolicy {
    fn default() -> LockPolicy {
        LockPolicy {
            after_failures: 5,
            seconds: 30 * 60,
        }
    }
}

impl<S: Store, N: Notifier, V: Vault, W, A> Ports<S, N, V, W, A> {
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
        let Some(request) = load_attempt(&self.store, request_id, attempt).await? else {
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
            notify_customer(
                &self.store,
                &self.notifier,
                Event::Submitted,
                &submitted,
                now,
            )
            .await?;
        }
        let outcome = self
            .check_password(request, review_due_at, lock, now)
            .await?;
        if outcome == VerifyOutcome::Rejected {
            // Also on a retry: the notification log makes it once.
            let request = load(&self.store, request_id).await?;
            notify_customer(
                &self.store,
                &self.notifier,
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
            Some(event) => {
                notify_customer(&self.store, &self.notifier, event, &previous, now).await
            }
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
        let store = &self.store;
        let (request_id, attempt) = (request.request_id.as_str(), request.attempt);
        if request.status != Status::Submitted {
            return Ok(settled_outcome(&request, attempt));
        }
        let sealed = store
            .sealed_password(request_id, attempt)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("{request_id} has no sealed password")))?;
        let entity = existing_entity(store, &request.entity_id).await?;
        // A locked entity's passwords are not checked, not even those of requests submitted
        // before the lock: else the requests in flight would be guesses past the lock.
        let locked = entity.lock_in_force(now).is_some();
        // The attempt is checked against the password in force when it was submitted (its
        // last transition): a reset since then does not fail it.
        let in_force = entity.password_hash_at(request.updated_at);
        let matches = !locked
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
                // Counted once per check: a retry finds the transition made and skips this.
                let lock_until = now + chrono::Duration::seconds(lock.seconds);
                // Not in force (a locked check returned above): any lock left has run out.
                let expired_lock = entity.locked_until;
                store
                    .record_password_check(
                        &entity.entity_id,
                        matches,
                        lock.after_failures,
                        lock_until,
                        expired_lock,
                    )
                    .await?;
                Ok(if matches {
                    VerifyOutcome::Accepted
                } else {
                    VerifyOutcome::Rejected
                })
            }
            // Someone moved first (a retry of this step, or a withdraw): report what stands.
            Err(StoreError::Conflict(_)) => {
                Ok(settled_outcome(&load(store, request_id).await?, attempt))
            }
            Err(e) => Err(e.into()),
        }
    }
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
