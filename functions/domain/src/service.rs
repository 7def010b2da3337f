//! The use cases the Lambdas run, generic over the ports so that unit tests run them on fakes.

use crate::notification::Event;
use crate::notify::notify_customer;
use crate::ports::{CreateError, Notifier, Store, Workflow, WorkflowError};
use crate::validation::{parse_request_type, validate_password, validate_submission};
use crate::{password, DomainError, IdempotencyRecord, Request, Status, StoreError};
use chrono::{DateTime, Utc};
use thiserror::Error;

/// Who is calling, from a verified token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    Customer { entity_id: String },
    Reviewer { reviewer_id: String },
}

impl Caller {
    pub fn actor(&self) -> String {
        match self {
            Caller::Customer { entity_id } => format!("customer:{entity_id}"),
            Caller::Reviewer { reviewer_id } => format!("reviewer:{reviewer_id}"),
        }
    }

    pub fn entity_id(&self) -> Result<&str, ServiceError> {
        match self {
            Caller::Customer { entity_id } => Ok(entity_id),
            Caller::Reviewer { .. } => Err(ServiceError::Forbidden),
        }
    }
}

/// Encrypts license passwords in transit to the verify step and fingerprints request bodies.
pub trait Vault: Send + Sync {
    /// Authenticated encryption bound to `context`: a sealed value opens only under it.
    fn seal(&self, plaintext: &str, context: &str) -> String;
    fn open(&self, sealed: &str, context: &str) -> Option<String>;
    fn fingerprint(&self, body: &[u8]) -> String;
}

#[derive(Debug, Error)]
pub enum ServiceError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("this resource belongs to someone else or needs another role")]
    Forbidden,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Workflow(#[from] WorkflowError),
    #[error(transparent)]
    Authority(#[from] crate::ports::AuthorityError),
}

/// The body of `POST /requests`, as parsed (unknown fields already refused).
#[derive(Debug, Clone)]
pub struct SubmitInput<'a> {
    pub idempotency_key: &'a str,
    pub request_type: &'a str,
    pub website_id: &'a str,
    pub license_password: &'a str,
    pub service_ips: Option<&'a [String]>,
    /// The body as received, for the Idempotency-Key comparison.
    pub raw_body: &'a [u8],
}

pub fn sealing_context(request_id: &str, attempt: u32) -> String {
    format!("{request_id}#{attempt}")
}

pub(crate) fn validate_idempotency_key(key: &str) -> Result<(), DomainError> {
    let ok = (1..=128).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(())
    } else {
        Err(DomainError::validation(
            "invalid_idempotency_key",
            "Idempotency-Key must be 1 to 128 visible ASCII characters",
        ))
    }
}

/// Submits a change request: validates it, writes it with its idempotency record, and starts
/// its workflow. A repeat with the same key and body answers with the first request.
#[allow(clippy::too_many_arguments)]
pub async fn submit<S: Store, W: Workflow, V: Vault, N: Notifier>(
    store: &S,
    workflow: &W,
    vault: &V,
    notifier: &N,
    caller: &Caller,
    input: &SubmitInput<'_>,
    new_request_id: String,
    now: DateTime<Utc>,
) -> Result<Request, ServiceError> {
    let entity_id = caller.entity_id()?;
    validate_idempotency_key(input.idempotency_key)?;
    let scope_key = IdempotencyRecord::scope_key(entity_id, input.idempotency_key);
    let fingerprint = vault.fingerprint(input.raw_body);
    if let Some(previous) = store.get_idempotency(&scope_key).await? {
        return replay(store, workflow, notifier, &previous, &fingerprint).await;
    }

    let request_type = parse_request_type(input.request_type)?;
    validate_password(input.license_password)?;
    let website = store
        .get_website(input.website_id)
        .await?
        .ok_or_else(|| DomainError::WebsiteNotFound(input.website_id.into()))?;
    if website.entity_id != entity_id {
        return Err(ServiceError::Forbidden);
    }
    let valid = validate_submission(request_type, input.service_ips, &website)?;
    let entity = existing_entity(store, entity_id).await?;
    if let Some(until) = entity.locked_until.filter(|until| *until > now) {
        return Err(DomainError::PasswordLocked {
            retry_after_seconds: (until - now).num_seconds().max(1),
        }
        .into());
    }
    if website.open_request_id.is_some() {
        return already_open(
            store,
            workflow,
            notifier,
            &scope_key,
            &fingerprint,
            &website,
        )
        .await;
    }

    let request = Request::submitted(
        new_request_id,
        valid.request_type,
        &website,
        valid.service_ips,
        caller.actor(),
        now,
    );
    let sealed = vault.seal(
        input.license_password,
        &sealing_context(&request.request_id, request.attempt),
    );
    let record = IdempotencyRecord {
        scope_key,
        body_fingerprint: fingerprint.clone(),
        request_id: request.request_id.clone(),
        created_at: now,
    };
    match store.create_request(&request, &sealed, &record).await {
        Ok(()) => {}
        Err(CreateError::IdempotencyKeyTaken) => {
            // A concurrent call with the same key won the write: answer as it did.
            let previous = store
                .get_idempotency(&record.scope_key)
                .await?
                .ok_or_else(|| StoreError::Conflict("idempotency record vanished".into()))?;
            return replay(store, workflow, notifier, &previous, &fingerprint).await;
        }
        Err(CreateError::WebsiteUnavailable) => {
            return already_open(
                store,
                workflow,
                notifier,
                &record.scope_key,
                &fingerprint,
                &website,
            )
            .await;
        }
        Err(CreateError::Store(e)) => return Err(e.into()),
    }
    workflow.start(&request.request_id, request.attempt).await?;
    notify_customer(store, notifier, Event::Submitted, &request).await?;
    Ok(request)
}

/// The website has an open request. If this very key opened it (a concurrent call with the same
/// key and body won the write), answer as that call did; otherwise it is someone else's.
async fn already_open<S: Store, W: Workflow, N: Notifier>(
    store: &S,
    workflow: &W,
    notifier: &N,
    scope_key: &str,
    fingerprint: &str,
    website: &crate::Website,
) -> Result<Request, ServiceError> {
    if let Some(previous) = store.get_idempotency(scope_key).await? {
        return replay(store, workflow, notifier, &previous, fingerprint).await;
    }
    let open = store
        .get_website(&website.website_id)
        .await?
        .and_then(|w| w.open_request_id)
        .unwrap_or_default();
    Err(DomainError::RequestAlreadyOpen(open).into())
}

/// The answer to a repeated Idempotency-Key. Starting the workflow again is harmless (it is
/// idempotent) and finishes the job if the first call failed between the write and the start.
async fn replay<S: Store, W: Workflow, N: Notifier>(
    store: &S,
    workflow: &W,
    notifier: &N,
    previous: &IdempotencyRecord,
    fingerprint: &str,
) -> Result<Request, ServiceError> {
    if previous.body_fingerprint != fingerprint {
        return Err(DomainError::IdempotencyKeyReused.into());
    }
    let request = store
        .get_request(&previous.request_id)
        .await?
        .ok_or_else(|| StoreError::Corrupt("idempotency record without request".into()))?;
    if request.status == Status::Submitted && request.attempt == 1 {
        workflow.start(&request.request_id, 1).await?;
    }
    if request.attempt == 1 {
        // The first call may have stopped short of telling the customer.
        notify_customer(store, notifier, Event::Submitted, &request).await?;
    }
    Ok(request)
}

/// What the verify step found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyOutcome {
    Accepted,
    Rejected,
    /// The request left this attempt (withdrawn, or a newer attempt runs): stop quietly.
    Superseded,
}

pub const PASSWORD_REJECTED_REASON: &str = "The license password is incorrect.";

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

/// Checks the attempt's license password and moves the request to `pending_first_review` (due
/// at `review_due_at`) or `password_rejected`, telling the customer of a rejection. Running it
/// again for the same attempt answers the same and changes nothing.
#[allow(clippy::too_many_arguments)]
pub async fn verify_password<S: Store, V: Vault, N: Notifier>(
    store: &S,
    vault: &V,
    notifier: &N,
    request_id: &str,
    attempt: u32,
    review_due_at: DateTime<Utc>,
    lock: LockPolicy,
    now: DateTime<Utc>,
) -> Result<VerifyOutcome, ServiceError> {
    let outcome =
        check_password(store, vault, request_id, attempt, review_due_at, lock, now).await?;
    if outcome == VerifyOutcome::Rejected {
        // Also on a retry: the notification log makes it once.
        let request = store
            .get_request(request_id)
            .await?
            .ok_or_else(|| DomainError::RequestNotFound(request_id.into()))?;
        notify_customer(store, notifier, Event::PasswordRejected, &request).await?;
    }
    Ok(outcome)
}

async fn check_password<S: Store, V: Vault>(
    store: &S,
    vault: &V,
    request_id: &str,
    attempt: u32,
    review_due_at: DateTime<Utc>,
    lock: LockPolicy,
    now: DateTime<Utc>,
) -> Result<VerifyOutcome, ServiceError> {
    let request = store
        .get_request(request_id)
        .await?
        .ok_or_else(|| DomainError::RequestNotFound(request_id.into()))?;
    if request.attempt != attempt || request.status != Status::Submitted {
        return Ok(settled_outcome(&request, attempt));
    }
    let sealed = store
        .sealed_password(request_id, attempt)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("{request_id} has no sealed password")))?;
    let entity = existing_entity(store, &request.entity_id).await?;
    let matches = vault
        .open(&sealed, &sealing_context(request_id, attempt))
        .is_some_and(|candidate| password::verify(&entity.password_hash, &candidate));

    let (to, note) = if matches {
        (Status::PendingFirstReview, "license password verified")
    } else {
        (Status::PasswordRejected, "license password rejected")
    };
    let mut transition = request.transition(to, "system:verify-password", note, now)?;
    if matches {
        transition.review_due_at = Some(review_due_at);
    } else {
        transition.rejection_reasons = Some(vec![PASSWORD_REJECTED_REASON.into()]);
    }
    match store.apply(&transition).await {
        Ok(_) => {
            // Counted once per check: a retry finds the transition made and skips this.
            let lock_until = now + chrono::Duration::seconds(lock.seconds);
            store
                .record_password_check(&entity.entity_id, matches, lock.after_failures, lock_until)
                .await?;
            Ok(if matches {
                VerifyOutcome::Accepted
            } else {
                VerifyOutcome::Rejected
            })
        }
        Err(StoreError::Conflict(_)) => {
            // Someone moved first (a retry of this step, or a withdraw): report what stands.
            let current = store
                .get_request(request_id)
                .await?
                .ok_or_else(|| DomainError::RequestNotFound(request_id.into()))?;
            Ok(settled_outcome(&current, attempt))
        }
        Err(e) => Err(e.into()),
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

/// A website as its owner sees it, with its open request if any.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebsiteView {
    #[serde(flatten)]
    pub website: crate::Website,
    pub open_request: Option<OpenRequestSummary>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenRequestSummary {
    pub request_id: String,
    #[serde(rename = "type")]
    pub request_type: crate::RequestType,
    pub status: Status,
}

async fn view<S: Store>(store: &S, website: crate::Website) -> Result<WebsiteView, ServiceError> {
    let open_request = match &website.open_request_id {
        Some(id) => store.get_request(id).await?.map(|r| OpenRequestSummary {
            request_id: r.request_id,
            request_type: r.request_type,
            status: r.status,
        }),
        None => None,
    };
    Ok(WebsiteView {
        website,
        open_request,
    })
}

/// The caller's websites still in the license system.
pub async fn list_websites<S: Store>(
    store: &S,
    caller: &Caller,
) -> Result<Vec<WebsiteView>, ServiceError> {
    let mut views = Vec::new();
    for website in store.list_websites(caller.entity_id()?).await? {
        if website.status == crate::WebsiteStatus::Active {
            views.push(view(store, website).await?);
        }
    }
    Ok(views)
}

/// One of the caller's websites; a cleared website is gone (404).
pub async fn get_website<S: Store>(
    store: &S,
    caller: &Caller,
    website_id: &str,
) -> Result<WebsiteView, ServiceError> {
    let entity_id = caller.entity_id()?;
    let website = store
        .get_website(website_id)
        .await?
        .filter(|w| w.status == crate::WebsiteStatus::Active)
        .ok_or_else(|| DomainError::WebsiteNotFound(website_id.into()))?;
    if website.entity_id != entity_id {
        return Err(ServiceError::Forbidden);
    }
    view(store, website).await
}

/// A request, to its owner or to a reviewer.
pub async fn get_request<S: Store>(
    store: &S,
    caller: &Caller,
    request_id: &str,
) -> Result<Request, ServiceError> {
    let request = store
        .get_request(request_id)
        .await?
        .ok_or_else(|| DomainError::RequestNotFound(request_id.into()))?;
    match caller {
        Caller::Reviewer { .. } => Ok(request),
        Caller::Customer { entity_id } if *entity_id == request.entity_id => Ok(request),
        Caller::Customer { .. } => Err(ServiceError::Forbidden),
    }
}

/// The caller's requests, newest first: on one website, or on all of them.
pub async fn list_requests<S: Store>(
    store: &S,
    caller: &Caller,
    website_id: Option<&str>,
) -> Result<Vec<Request>, ServiceError> {
    let entity_id = caller.entity_id()?;
    let website_ids = match website_id {
        Some(id) => {
            let website = store
                .get_website(id)
                .await?
                .ok_or_else(|| DomainError::WebsiteNotFound(id.into()))?;
            if website.entity_id != entity_id {
                return Err(ServiceError::Forbidden);
            }
            vec![website.website_id]
        }
        None => store
            .list_websites(entity_id)
            .await?
            .into_iter()
            .map(|w| w.website_id)
            .collect(),
    };
    let mut requests = Vec::new();
    for id in website_ids {
        requests.extend(store.list_requests(&id).await?);
    }
    requests.sort_by(|a, b| (b.created_at, &b.request_id).cmp(&(a.created_at, &a.request_id)));
    Ok(requests)
}

/// The entity a stored record points at; its absence means the data is inconsistent.
pub(crate) async fn existing_entity<S: Store>(
    store: &S,
    entity_id: &str,
) -> Result<crate::Entity, StoreError> {
    store
        .get_entity(entity_id)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("entity {entity_id} is missing")))
}

/// The website a stored request points at; its absence means the data is inconsistent.
pub(crate) async fn existing_website<S: Store>(
    store: &S,
    website_id: &str,
) -> Result<crate::Website, StoreError> {
    store
        .get_website(website_id)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("website {website_id} is missing")))
}
