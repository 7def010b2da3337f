//! Delivering notifications once: each (request, attempt, event, channel) is claimed in the
//! store, under a lease, before it is sent, so a retried step never sends it twice; a failed
//! send is recorded and never stops the request. A sender that dies between its claim and its
//! record (a crash, a timeout) loses nothing: once its lease runs out the next attempt of the
//! same step claims and sends it again. Until then the claim is in flight, and the step fails
//! with a passing error (Step Functions, or the API's client, retries it).

use crate::error::{NotifyError, ServiceError, StoreError};
use crate::notification::{customer_message, reviewer_message, Event, Message};
use crate::ports::{Claim, Filings, NotificationLedger, Notifier};
use crate::records::{existing_entity, existing_website};
use crate::{Entity, Request};
use chrono::{DateTime, Duration, Utc};
use std::future::Future;

/// How long a claim keeps others off: longer than any function may run (30 s), so a sender
/// still alive is never doubled, and shorter than a step's retries last (about 90 s), so a step
/// retried after its sender died sends the notification itself.
pub const SENDING_LEASE_SECONDS: i64 = 40;

async fn deliver<S: NotificationLedger, F: Future<Output = Result<(), NotifyError>>>(
    store: &S,
    id: String,
    now: DateTime<Utc>,
    send: F,
) -> Result<(), ServiceError> {
    let lease_until = now + Duration::seconds(SENDING_LEASE_SECONDS);
    match store.claim_notification(&id, now, lease_until).await? {
        Claim::Settled => Ok(()),
        Claim::InFlight => {
            Err(StoreError::Conflict(format!("notification {id} is being sent")).into())
        }
        Claim::Claimed => {
            let outcome = send.await;
            store
                .finish_notification(&id, outcome.err().as_ref().map(|e| e.0.as_str()))
                .await?;
            Ok(())
        }
    }
}

/// Tells the entity's contacts about `event` by SMS and email.
pub(crate) async fn notify_customer<S: Filings + NotificationLedger, N: Notifier>(
    store: &S,
    notifier: &N,
    event: Event,
    request: &Request,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let website = existing_website(store, &request.website_id).await?;
    let entity = existing_entity(store, &request.entity_id).await?;
    let message = customer_message(event, request, &website, &entity, notifier.letterhead());
    let key = format!(
        "{}#{}#{}",
        request.request_id,
        request.attempt,
        event.as_str()
    );
    notify_entity(store, notifier, &entity, &key, &message, now).await
}

/// Sends `message` to the entity's phone and email, each once under `key`.
pub(crate) async fn notify_entity<S: NotificationLedger, N: Notifier>(
    store: &S,
    notifier: &N,
    entity: &Entity,
    key: &str,
    message: &Message,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    deliver(
        store,
        format!("{key}#sms"),
        now,
        notifier.send_sms(&entity.phone, &message.sms),
    )
    .await?;
    deliver(
        store,
        format!("{key}#email"),
        now,
        notifier.send_email(&entity.email, &message.subject, &message.body),
    )
    .await
}

/// Emails every reviewer that `request` waits for first review (or is overdue). `occasion`
/// tells repeated escalations apart.
pub(crate) async fn notify_reviewers<S: Filings + NotificationLedger, N: Notifier>(
    store: &S,
    notifier: &N,
    reviewers: &[String],
    request: &Request,
    overdue: bool,
    occasion: &str,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let website = existing_website(store, &request.website_id).await?;
    let entity = existing_entity(store, &request.entity_id).await?;
    let message = reviewer_message(request, &website, &entity, overdue, notifier.letterhead());
    let what = if overdue {
        "review_overdue"
    } else {
        "review_waiting"
    };
    for reviewer in reviewers {
        let id = format!(
            "{}#{}#{what}#{occasion}#{reviewer}",
            request.request_id, request.attempt
        );
        deliver(
            store,
            id,
            now,
            notifier.send_email(reviewer, &message.subject, &message.body),
        )
        .await?;
    }
    Ok(())
}
