//! Reading the stored records a use case starts from, and moving a request on: the one
//! load-check-transition sequence every step shares.

use crate::error::{DomainError, ServiceError, StoreError};
use crate::password::LockPolicy;
use crate::ports::{Filings, PasswordChecks, Requests};
use crate::{Caller, Entity, Request, Transition, Website};
use chrono::{DateTime, Utc};

pub(crate) async fn load<S: Requests>(
    store: &S,
    request_id: &str,
) -> Result<Request, ServiceError> {
    Ok(store
        .get_request(request_id)
        .await?
        .ok_or_else(|| DomainError::RequestNotFound(request_id.into()))?)
}

/// The request if it is still at `attempt`; `None` once another attempt runs (a step of an
/// earlier attempt then has nothing to do).
pub(crate) async fn load_attempt<S: Requests>(
    store: &S,
    request_id: &str,
    attempt: u32,
) -> Result<Option<Request>, ServiceError> {
    let request = load(store, request_id).await?;
    Ok((request.attempt == attempt).then_some(request))
}

/// A customer's own request.
pub(crate) async fn load_own<S: Requests>(
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

/// A customer's own website, still in the license system (a cleared one is gone: 404).
pub(crate) async fn load_own_website<S: Filings>(
    store: &S,
    caller: &Caller,
    website_id: &str,
) -> Result<Website, ServiceError> {
    let entity_id = caller.entity_id()?;
    let website = store
        .get_website(website_id)
        .await?
        .filter(|w| w.status == crate::WebsiteStatus::Active)
        .ok_or_else(|| DomainError::WebsiteNotFound(website_id.into()))?;
    if website.entity_id != entity_id {
        return Err(ServiceError::Forbidden);
    }
    Ok(website)
}

/// Applies the transition `next` proposes for `request` (none: nothing to do) and returns the
/// request as it then stands. If someone moved it first (a retry of the same step, a withdraw),
/// the request is read back as they left it: each step is safe to run again.
pub(crate) async fn advance<S: Requests>(
    store: &S,
    request: Request,
    next: impl FnOnce(&Request) -> Option<Result<Transition, DomainError>>,
) -> Result<Request, ServiceError> {
    let Some(transition) = next(&request) else {
        return Ok(request);
    };
    match store.apply(&transition?).await {
        Ok(moved) => Ok(moved),
        Err(StoreError::Conflict(_)) => load(store, &request.request_id).await,
        Err(e) => Err(e.into()),
    }
}

/// The entity a stored record points at; its absence means the data is inconsistent.
pub(crate) async fn existing_entity<S: Filings>(
    store: &S,
    entity_id: &str,
) -> Result<Entity, StoreError> {
    store
        .get_entity(entity_id)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("entity {entity_id} is missing")))
}

/// The website a stored request points at; its absence means the data is inconsistent.
pub(crate) async fn existing_website<S: Filings>(
    store: &S,
    website_id: &str,
) -> Result<Website, StoreError> {
    store
        .get_website(website_id)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("website {website_id} is missing")))
}

/// The id an attempt's license password check is reserved under on its entity.
pub(crate) fn password_check(request_id: &str, attempt: u32) -> String {
    format!("{request_id}#{attempt}")
}

/// Settles an attempt's reserved password check, if any: a match clears the failures in a row;
/// a mismatch at the limit locks the entity. Settling twice, or a check never reserved, changes
/// nothing.
pub(crate) async fn settle_password_check<S: PasswordChecks>(
    store: &S,
    entity_id: &str,
    check: &str,
    matched: bool,
    lock: LockPolicy,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let lock_until = now + chrono::Duration::seconds(lock.seconds);
    store
        .settle_password_check(entity_id, check, matched, lock.after_failures, lock_until)
        .await?;
    Ok(())
}
