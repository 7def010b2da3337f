//! Submitting a change request, and "Modify and Submit" (the next attempt after a rejection).

use crate::error::{DomainError, ServiceError, StoreError};
use crate::ports::{CreateError, Filings, PasswordChecks, Requests, Vault};
use crate::records::{existing_entity, load, load_own};
use crate::validation::{
    canonical_json, parse_request_type, service_ips_not_allowed, validate_password,
    validate_service_ips, validate_submission, IpPolicy,
};
use crate::{
    Caller, Entity, HistoryEvent, IdempotencyRecord, NextAttempt, Request, RequestType, Status,
    Website,
};
use chrono::{DateTime, Utc};

/// The body of `POST /requests`, as parsed (unknown fields already refused).
#[derive(Debug, Clone)]
pub struct SubmitInput<'a> {
    pub idempotency_key: &'a str,
    pub request_type: &'a str,
    pub website_id: &'a str,
    pub license_password: &'a str,
    pub service_ips: Option<&'a [String]>,
    /// Which service IPs this stage accepts.
    pub ip_policy: &'a IpPolicy,
    /// The body as received, for the Idempotency-Key comparison (as JSON: spacing and key order
    /// do not count).
    pub raw_body: &'a [u8],
}

/// What a sealed license password is bound to: it opens only for its request's attempt.
pub fn sealing_context(request_id: &str, attempt: u32) -> String {
    format!("{request_id}#{attempt}")
}

fn validate_idempotency_key(key: &str) -> Result<(), DomainError> {
    let ok = (1..=128).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(())
    } else {
        Err(DomainError::validation(
            "invalid_idempotency_key",
            "Idempotency-Key 须为 1 至 128 个可见 ASCII 字符",
            "Idempotency-Key must be 1 to 128 visible ASCII characters",
        ))
    }
}

/// A locked entity (too many wrong passwords) cannot submit until the lock ends.
fn refuse_if_locked(entity: &Entity, now: DateTime<Utc>) -> Result<(), DomainError> {
    match entity.lock_in_force(now) {
        Some(until) => Err(DomainError::PasswordLocked {
            retry_after_seconds: (until - now).num_seconds().max(1),
        }),
        None => Ok(()),
    }
}

/// Submit writes the request and answers: its workflow is started from the requests table's
/// stream (`start`), and the "submitted" SMS and email are the workflow's first step's
/// (`verify`). Nobody waits for either, and neither can be lost once the write is made.
/// Submit and Modify and Submit: their ports.
pub struct Submitting<'a, S, V> {
    pub store: &'a S,
    pub vault: &'a V,
}

impl<S: Filings + Requests, V: Vault> Submitting<'_, S, V> {
    /// Submits a change request: validates it and writes it with its idempotency record. A
    /// repeat with the same key and body answers with the first request.
    pub async fn submit(
        &self,
        caller: &Caller,
        input: &SubmitInput<'_>,
        new_request_id: String,
        now: DateTime<Utc>,
    ) -> Result<Request, ServiceError> {
        let store = self.store;
        let entity_id = caller.entity_id()?;
        validate_idempotency_key(input.idempotency_key)?;
        let scope_key = IdempotencyRecord::scope_key(entity_id, input.idempotency_key);
        let fingerprint = self.vault.fingerprint(&canonical_json(input.raw_body));
        // The three reads do not depend on each other: the caller waits for one round trip.
        let (previous, website, entity) = futures::join!(
            store.get_idempotency(&scope_key),
            store.get_website(input.website_id),
            existing_entity(store, entity_id),
        );
        if let Some(previous) = previous? {
            return self.replay(&previous, &fingerprint).await;
        }

        let request_type = parse_request_type(input.request_type)?;
        validate_password(input.license_password)?;
        let website =
            website?.ok_or_else(|| DomainError::WebsiteNotFound(input.website_id.into()))?;
        if website.entity_id != entity_id {
            return Err(ServiceError::Forbidden);
        }
        let valid =
            validate_submission(request_type, input.service_ips, &website, input.ip_policy)?;
        let entity = entity?;
        refuse_if_locked(&entity, now)?;
        if website.open_request_id.is_some() {
            return self.already_open(&scope_key, &fingerprint, &website).await;
        }

        let request = Request::submitted(
            new_request_id,
            valid.request_type,
            &website,
            valid.service_ips,
            caller.actor(),
            now,
        )
        .filed_by(&entity);
        let sealed = self.vault.seal(
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
                return self.replay(&previous, &fingerprint).await;
            }
            Err(CreateError::WebsiteUnavailable) => {
                return self
                    .already_open(&record.scope_key, &fingerprint, &website)
                    .await;
            }
            Err(CreateError::Store(e)) => return Err(e.into()),
        }
        Ok(request)
    }

    /// The website has an open request. If this very key opened it (a concurrent call with the
    /// same key and body won the write), answer as that call did; otherwise it is someone else's.
    async fn already_open(
        &self,
        scope_key: &str,
        fingerprint: &str,
        website: &Website,
    ) -> Result<Request, ServiceError> {
        if let Some(previous) = self.store.get_idempotency(scope_key).await? {
            return self.replay(&previous, fingerprint).await;
        }
        let open = self
            .store
            .get_website(&website.website_id)
            .await?
            .and_then(|w| w.open_request_id)
            .unwrap_or_default();
        Err(DomainError::RequestAlreadyOpen(open).into())
    }

    /// The answer to a repeated Idempotency-Key: the request the first call wrote, as it is now.
    async fn replay(
        &self,
        previous: &IdempotencyRecord,
        fingerprint: &str,
    ) -> Result<Request, ServiceError> {
        if previous.body_fingerprint != fingerprint {
            return Err(DomainError::IdempotencyKeyReused.into());
        }
        Ok(self
            .store
            .get_request(&previous.request_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("idempotency record without request".into()))?)
    }
}

fn not_resubmittable(from: Status) -> DomainError {
    DomainError::InvalidTransition {
        from,
        to: Status::Submitted,
    }
}

/// Modify and Submit writes the next attempt and answers, as submit does: the store writes the
/// attempt's start with it, which the table's stream hands to `start-workflow`. The previous
/// attempt's execution, parked until the rejection's reminder (or, past it, the expiry), is
/// left to wake and find its attempt over (it ends, changing nothing), so the click waits for
/// no Step Functions call.
impl<S: Filings + Requests + PasswordChecks, V: Vault> Submitting<'_, S, V> {
    /// "Modify and Submit" after a password or first-review rejection: the next attempt, with
    /// a new license password and, for an access change, possibly new service IPs.
    pub async fn resubmit(
        &self,
        caller: &Caller,
        request_id: &str,
        license_password: &str,
        service_ips: Option<&[String]>,
        ip_policy: &IpPolicy,
        now: DateTime<Utc>,
    ) -> Result<Request, ServiceError> {
        let store = self.store;
        validate_password(license_password)?;
        // The entity's lock is read alongside the request: one round trip, not two.
        let (request, entity) = futures::join!(
            load_own(store, caller, request_id),
            existing_entity(store, caller.entity_id()?),
        );
        let request = request?;
        if request.status == Status::Submitted && request.attempt > 1 {
            return self
                .repeated_resubmission(request, license_password, service_ips)
                .await;
        }
        if !matches!(
            request.status,
            Status::PasswordRejected | Status::FirstReviewRejected
        ) {
            return Err(not_resubmittable(request.status).into());
        }
        refuse_if_locked(&entity?, now)?;
        let next_ips = match (request.request_type, service_ips) {
            (RequestType::AccessChange, Some(ips)) => {
                let website = store
                    .get_website(&request.website_id)
                    .await?
                    .ok_or_else(|| DomainError::WebsiteNotFound(request.website_id.clone()))?;
                Some(validate_service_ips(ips, &website.service_ips, ip_policy)?)
            }
            (_, Some(_)) => return Err(service_ips_not_allowed().into()),
            (_, None) => None,
        };
        let next = request.attempt + 1;
        let mut t = request.transition(
            Status::Submitted,
            caller.actor(),
            HistoryEvent::Resubmitted { attempt: next },
            now,
        )?;
        t.next_attempt = Some(NextAttempt {
            service_ips: next_ips,
            sealed_password: self
                .vault
                .seal(license_password, &sealing_context(request_id, next)),
        });
        match store.apply(&t).await {
            Ok(resubmitted) => Ok(resubmitted),
            Err(StoreError::Conflict(_)) => {
                let current = load(store, request_id).await?;
                // A repeat of this very resubmission won the write (a double click, or a retry
                // of a write that went through): answered as it was.
                if current.status == Status::Submitted && current.attempt == next {
                    return self
                        .repeated_resubmission(current, license_password, service_ips)
                        .await;
                }
                Err(not_resubmittable(current.status).into())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A resubmission after the new attempt was recorded (its start was written with it): the
    /// same one answers the request; another (other password or IPs) would be dropped
    /// silently, so it is refused.
    async fn repeated_resubmission(
        &self,
        request: Request,
        license_password: &str,
        service_ips: Option<&[String]>,
    ) -> Result<Request, ServiceError> {
        if self
            .is_same_resubmission(&request, license_password, service_ips)
            .await?
        {
            Ok(request)
        } else {
            Err(DomainError::AlreadyResubmitted(request.attempt).into())
        }
    }

    /// Whether a resubmission repeats the one that started the attempt in `submitted`: the
    /// same license password (its sealed copy is kept until it is checked) and, if given, the
    /// same service IPs.
    async fn is_same_resubmission(
        &self,
        request: &Request,
        license_password: &str,
        service_ips: Option<&[String]>,
    ) -> Result<bool, ServiceError> {
        let (id, attempt) = (request.request_id.as_str(), request.attempt);
        let same_password = self
            .store
            .sealed_password(id, attempt)
            .await?
            .and_then(|sealed| self.vault.open(&sealed, &sealing_context(id, attempt)))
            .is_some_and(|password| password == license_password);
        let canonical = |ips: &[String]| -> Option<Vec<String>> {
            ips.iter()
                .map(|ip| ip.parse::<std::net::IpAddr>().ok().map(|ip| ip.to_string()))
                .collect()
        };
        let same_ips = match service_ips {
            None => true,
            Some(ips) => {
                canonical(ips).is_some_and(|ips| Some(&ips) == request.service_ips.as_ref())
            }
        };
        Ok(same_password && same_ips)
    }
}
