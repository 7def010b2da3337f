//! Delivering notifications once: each (request, attempt, event, channel) is claimed in the
//! store before it is sent, so a retried step never sends it twice; a failed send is recorded
//! and never stops the request.

use crate::error::{NotifyError, ServiceError};
use crate::notification::{customer_message, reviewer_message, Event};
use crate::ports::{Notifier, Store};
use crate::records::{existing_entity, existing_website};
use crate::Request;

async fn deliver<S: Store, F: std::future::Future<Output = Result<(), NotifyError>>>(
    store: &S,
    id: String,
    send: F,
) -> Result<(), ServiceError> {
    if !store.claim_notification(&id).await? {
        return Ok(());
    }
    let outcome = send.await;
    store
        .finish_notification(&id, outcome.err().as_ref().map(|e| e.0.as_str()))
        .await?;
    Ok(())
}

/// Tells the entity's contacts about `event` by SMS and email.
pub(crate) async fn notify_customer<S: Store, N: Notifier>(
    store: &S,
    notifier: &N,
    event: Event,
    request: &Request,
) -> Result<(), ServiceError> {
    let website = existing_website(store, &request.website_id).await?;
    let entity = existing_entity(store, &request.entity_id).await?;
    let message = customer_message(event, request, &website, &entity);
    let key = format!(
        "{}#{}#{}",
        request.request_id,
        request.attempt,
        event.as_str()
    );
    deliver(
        store,
        format!("{key}#sms"),
        notifier.send_sms(&entity.phone, &message.sms),
    )
    .await?;
    deliver(
        store,
        format!("{key}#email"),
        notifier.send_email(&entity.email, &message.subject, &message.body),
    )
    .await
}

/// Emails every reviewer that `request` waits for first review (or is overdue). `occasion`
/// tells repeated escalations apart.
pub(crate) async fn notify_reviewers<S: Store, N: Notifier>(
    store: &S,
    notifier: &N,
    reviewers: &[String],
    request: &Request,
    overdue: bool,
    occasion: &str,
) -> Result<(), ServiceError> {
    let website = existing_website(store, &request.website_id).await?;
    let message = reviewer_message(request, &website, overdue);
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
            notifier.send_email(reviewer, &message.subject, &message.body),
        )
        .await?;
    }
    Ok(())
}
