//! An in-memory store with the same conditional semantics as the DynamoDB one, for unit tests
//! of the handlers and use cases. The shared store suite runs against both.

use icp_domain::password_reset::PasswordReset;
use icp_domain::ports::{
    Claim, CreateError, Filings, NotificationLedger, PasswordChecks, PasswordResets, QueuePosition,
    Requests, ReviewQueue, TaskTokens, TokenSlot,
};
use icp_domain::{
    Entity, IdempotencyRecord, Request, ReviewDecision, Status, StoreError, Transition, Website,
    WebsiteEffect, WebsiteStatus,
};
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    entities: HashMap<String, Entity>,
    websites: HashMap<String, Website>,
    requests: HashMap<String, (Request, Option<String>)>,
    idempotency: HashMap<String, IdempotencyRecord>,
    /// (sealed token, when its wait began)
    tokens: HashMap<(String, u32, TokenSlot), (String, String)>,
    /// Notification id -> `None` while sending, `Some(Ok)` sent, `Some(Err)` failed.
    notifications: HashMap<String, Option<Result<(), String>>>,
    /// Notification id -> until when its sender's claim holds.
    leases: HashMap<String, chrono::DateTime<chrono::Utc>>,
    /// Entity id -> its license password checks reserved and not yet settled.
    password_checks: HashMap<String, std::collections::HashSet<String>>,
}

impl MemoryStore {
    pub fn put_entity(&self, entity: Entity) {
        self.lock()
            .entities
            .insert(entity.entity_id.clone(), entity);
    }

    pub fn put_website(&self, website: Website) {
        self.lock()
            .websites
            .insert(website.website_id.clone(), website);
    }

    /// Notification ids and how they went, for tests.
    pub fn notifications(&self) -> HashMap<String, Option<Result<(), String>>> {
        self.lock().notifications.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .expect("a test panicked while holding the store")
    }
}

impl Requests for MemoryStore {
    async fn get_request(&self, request_id: &str) -> Result<Option<Request>, StoreError> {
        Ok(self.lock().requests.get(request_id).map(|(r, _)| r.clone()))
    }

    async fn list_requests(&self, website_id: &str) -> Result<Vec<Request>, StoreError> {
        let mut list: Vec<_> = self
            .lock()
            .requests
            .values()
            .map(|(r, _)| r)
            .filter(|r| r.website_id == website_id)
            .cloned()
            .collect();
        list.sort_by(|a, b| (b.created_at, &b.request_id).cmp(&(a.created_at, &a.request_id)));
        Ok(list)
    }

    async fn requests_in_status(&self, status: Status) -> Result<Vec<Request>, StoreError> {
        let mut list: Vec<_> = self
            .lock()
            .requests
            .values()
            .map(|(r, _)| r)
            .filter(|r| r.status == status)
            .cloned()
            .collect();
        list.sort_by(|a, b| (a.created_at, &a.request_id).cmp(&(b.created_at, &b.request_id)));
        Ok(list)
    }

    async fn get_idempotency(
        &self,
        scope_key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        Ok(self.lock().idempotency.get(scope_key).cloned())
    }

    async fn create_request(
        &self,
        request: &Request,
        sealed_password: &str,
        idempotency: &IdempotencyRecord,
    ) -> Result<(), CreateError> {
        let mut state = self.lock();
        if state.idempotency.contains_key(&idempotency.scope_key) {
            return Err(CreateError::IdempotencyKeyTaken);
        }
        let website_free = state
            .websites
            .get(&request.website_id)
            .is_some_and(|w| w.open_request_id.is_none() && w.status == WebsiteStatus::Active);
        if !website_free {
            return Err(CreateError::WebsiteUnavailable);
        }
        if state.requests.contains_key(&request.request_id) {
            return Err(StoreError::Conflict("request id taken".into()).into());
        }
        if let Some(w) = state.websites.get_mut(&request.website_id) {
            w.open_request_id = Some(request.request_id.clone());
        }
        state.requests.insert(
            request.request_id.clone(),
            (request.clone(), Some(sealed_password.to_string())),
        );
        state
            .idempotency
            .insert(idempotency.scope_key.clone(), idempotency.clone());
        Ok(())
    }

    async fn apply(&self, t: &Transition) -> Result<Request, StoreError> {
        let mut state = self.lock();
        let Some((current, _)) = state.requests.get(&t.request_id) else {
            return Err(StoreError::Conflict(format!(
                "{} does not exist",
                t.request_id
            )));
        };
        if current.status != t.from
            || current.attempt != t.attempt
            || (t.unless_approved && current.is_approved())
        {
            return Err(StoreError::Conflict(format!(
                "{} is no longer {} at attempt {}",
                t.request_id, t.from, t.attempt
            )));
        }
        if t.claims_website() {
            match state.websites.get_mut(&t.website_id) {
                Some(w) if w.open_request_id.is_none() && w.status == WebsiteStatus::Active => {
                    w.open_request_id = Some(t.request_id.clone());
                }
                _ => {
                    return Err(StoreError::Conflict(format!(
                        "website {} is not free for {}",
                        t.website_id, t.request_id
                    )))
                }
            }
        }
        if t.releases_website() {
            match state.websites.get_mut(&t.website_id) {
                Some(w) if w.open_request_id.as_deref() == Some(t.request_id.as_str()) => {
                    w.open_request_id = None;
                    match &t.website_effect {
                        Some(WebsiteEffect::Clear) => w.status = WebsiteStatus::Cleared,
                        Some(WebsiteEffect::ReplaceServiceIps(ips)) => w.service_ips = ips.clone(),
                        None => {}
                    }
                }
                _ => {
                    return Err(StoreError::Corrupt(format!(
                        "website {} does not hold {} open",
                        t.website_id, t.request_id
                    )))
                }
            }
        }
        let (request, sealed) = state
            .requests
            .get_mut(&t.request_id)
            .expect("checked above");
        *request = request.clone().applying(t);
        *sealed = t
            .next_attempt
            .as_ref()
            .map(|next| next.sealed_password.clone());
        Ok(request.clone())
    }
}

impl ReviewQueue for MemoryStore {
    async fn review_queue(
        &self,
        limit: usize,
        after: Option<&QueuePosition>,
    ) -> Result<(Vec<Request>, Option<QueuePosition>), StoreError> {
        let key = |p: &QueuePosition| (p.due_at, p.request_id.clone());
        let mut rest: Vec<Request> = self
            .requests_in_status(Status::PendingFirstReview)
            .await?
            .into_iter()
            .filter(|r| after.is_none_or(|a| key(&QueuePosition::of(r)) > key(a)))
            .collect();
        rest.sort_by_key(|r| key(&QueuePosition::of(r)));
        let more = rest.len() > limit;
        rest.truncate(limit);
        let last = rest.last().filter(|_| more).map(QueuePosition::of);
        Ok((rest, last))
    }

    async fn record_review(
        &self,
        request_id: &str,
        attempt: u32,
        review: &ReviewDecision,
    ) -> Result<Option<String>, StoreError> {
        let mut state = self.lock();
        let token = state
            .tokens
            .get(&(request_id.to_string(), attempt, TokenSlot::FirstReview))
            .map(|(sealed, _)| sealed.clone());
        match state.requests.get_mut(request_id) {
            Some((r, _))
                if r.attempt == attempt
                    && r.status == Status::PendingFirstReview
                    && r.review.is_none() =>
            {
                r.review = Some(review.clone());
                Ok(token)
            }
            _ => Err(StoreError::Conflict(format!(
                "{request_id} is not awaiting a decision"
            ))),
        }
    }
}

impl TaskTokens for MemoryStore {
    async fn put_task_token(
        &self,
        request_id: &str,
        attempt: u32,
        slot: TokenSlot,
        sealed_token: &str,
        issued_at: &str,
    ) -> Result<bool, StoreError> {
        let mut state = self.lock();
        if state
            .requests
            .get(request_id)
            .is_none_or(|(r, _)| r.attempt != attempt)
        {
            return Err(StoreError::Conflict(format!(
                "{request_id} is not at attempt {attempt}"
            )));
        }
        let key = (request_id.to_string(), attempt, slot);
        if state
            .tokens
            .get(&key)
            .is_some_and(|(_, kept_issued_at)| kept_issued_at.as_str() > issued_at)
        {
            return Ok(false);
        }
        state
            .tokens
            .insert(key, (sealed_token.to_string(), issued_at.to_string()));
        Ok(true)
    }

    async fn task_token(
        &self,
        request_id: &str,
        attempt: u32,
        slot: TokenSlot,
    ) -> Result<Option<String>, StoreError> {
        Ok(self
            .lock()
            .tokens
            .get(&(request_id.to_string(), attempt, slot))
            .map(|(sealed, _)| sealed.clone()))
    }
}

impl PasswordChecks for MemoryStore {
    async fn sealed_password(
        &self,
        request_id: &str,
        attempt: u32,
    ) -> Result<Option<String>, StoreError> {
        Ok(self
            .lock()
            .requests
            .get(request_id)
            .filter(|(r, _)| r.attempt == attempt)
            .and_then(|(_, sealed)| sealed.clone()))
    }

    async fn reserve_password_check(
        &self,
        entity_id: &str,
        check: &str,
        lock_after: u32,
        expired_lock: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<bool, StoreError> {
        let mut state = self.lock();
        if state
            .password_checks
            .get(entity_id)
            .is_some_and(|checks| checks.contains(check))
        {
            return Ok(true);
        }
        let entity = entity_mut(&mut state, entity_id)?;
        if expired_lock.is_some() && entity.locked_until == expired_lock {
            entity.failed_password_attempts = 0;
            entity.locked_until = None;
        }
        if entity.locked_until.is_some() || entity.failed_password_attempts >= lock_after {
            return Ok(false);
        }
        entity.failed_password_attempts += 1;
        state
            .password_checks
            .entry(entity_id.to_string())
            .or_default()
            .insert(check.to_string());
        Ok(true)
    }

    async fn settle_password_check(
        &self,
        entity_id: &str,
        check: &str,
        matched: bool,
        lock_after: u32,
        lock_until: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        let mut state = self.lock();
        let reserved = state
            .password_checks
            .get_mut(entity_id)
            .is_some_and(|checks| checks.remove(check));
        if !reserved {
            return Ok(());
        }
        let entity = entity_mut(&mut state, entity_id)?;
        if matched {
            entity.failed_password_attempts = 0;
            entity.locked_until = None;
        } else if entity.failed_password_attempts >= lock_after && entity.locked_until.is_none() {
            entity.locked_until = Some(lock_until);
        }
        Ok(())
    }
}

impl PasswordResets for MemoryStore {
    async fn start_password_reset(
        &self,
        entity_id: &str,
        reset: &PasswordReset,
        codes_sent: &[chrono::DateTime<chrono::Utc>],
        codes_sent_before: &[chrono::DateTime<chrono::Utc>],
    ) -> Result<(), StoreError> {
        let mut state = self.lock();
        let entity = entity_mut(&mut state, entity_id)?;
        if entity.retrieval.reset_codes_sent != codes_sent_before {
            return Err(StoreError::Conflict("codes sent meanwhile".into()));
        }
        entity.retrieval.password_reset = Some(reset.clone());
        entity.retrieval.reset_codes_sent = codes_sent.to_vec();
        Ok(())
    }

    async fn reserve_code_try(
        &self,
        entity_id: &str,
        reset_id: &str,
        limit: u32,
    ) -> Result<Option<u32>, StoreError> {
        let mut state = self.lock();
        match open_reset(entity_mut(&mut state, entity_id)?, reset_id) {
            Ok(reset) if reset.tries < limit => {
                reset.tries += 1;
                Ok(Some(reset.tries))
            }
            _ => Ok(None),
        }
    }

    async fn complete_password_reset(
        &self,
        entity_id: &str,
        reset_id: &str,
        password_hash: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        let mut state = self.lock();
        let entity = entity_mut(&mut state, entity_id)?;
        open_reset(entity, reset_id)?.completed_at = Some(at);
        let previous = std::mem::replace(&mut entity.password_hash, password_hash.into());
        entity.retrieval.previous_password_hash = Some(previous);
        entity.retrieval.password_changed_at = Some(at);
        entity.failed_password_attempts = 0;
        entity.locked_until = None;
        Ok(())
    }
}

impl NotificationLedger for MemoryStore {
    async fn claim_notification(
        &self,
        id: &str,
        now: chrono::DateTime<chrono::Utc>,
        lease_until: chrono::DateTime<chrono::Utc>,
    ) -> Result<Claim, StoreError> {
        let mut state = self.lock();
        match state.notifications.get(id) {
            Some(Some(_)) => return Ok(Claim::Settled),
            Some(None) if state.leases[id] >= now => return Ok(Claim::InFlight),
            _ => {}
        }
        state.notifications.insert(id.to_string(), None);
        state.leases.insert(id.to_string(), lease_until);
        Ok(Claim::Claimed)
    }

    async fn finish_notification(&self, id: &str, error: Option<&str>) -> Result<(), StoreError> {
        let outcome = error.map_or(Ok(()), |e| Err(e.to_string()));
        self.lock()
            .notifications
            .insert(id.to_string(), Some(outcome));
        Ok(())
    }
}

fn entity_mut<'a>(state: &'a mut State, entity_id: &str) -> Result<&'a mut Entity, StoreError> {
    state
        .entities
        .get_mut(entity_id)
        .ok_or_else(|| StoreError::Corrupt(format!("entity {entity_id} is missing")))
}

/// The entity's reset `reset_id` if it is not completed.
fn open_reset<'a>(
    entity: &'a mut Entity,
    reset_id: &str,
) -> Result<&'a mut PasswordReset, StoreError> {
    entity
        .retrieval
        .password_reset
        .as_mut()
        .filter(|r| r.reset_id == reset_id && r.completed_at.is_none())
        .ok_or_else(|| StoreError::Conflict(format!("reset {reset_id} moved")))
}

impl Filings for MemoryStore {
    async fn get_entity(&self, entity_id: &str) -> Result<Option<Entity>, StoreError> {
        Ok(self.lock().entities.get(entity_id).cloned())
    }

    async fn get_website(&self, website_id: &str) -> Result<Option<Website>, StoreError> {
        Ok(self.lock().websites.get(website_id).cloned())
    }

    async fn list_websites(&self, entity_id: &str) -> Result<Vec<Website>, StoreError> {
        let mut list: Vec<_> = self
            .lock()
            .websites
            .values()
            .filter(|w| w.entity_id == entity_id)
            .cloned()
            .collect();
        list.sort_by(|a, b| a.domain.cmp(&b.domain));
        Ok(list)
    }

    async fn entities(&self, ids: &[String]) -> Result<Vec<Entity>, StoreError> {
        let state = self.lock();
        let ids: std::collections::BTreeSet<&String> = ids.iter().collect();
        Ok(ids
            .into_iter()
            .filter_map(|id| state.entities.get(id).cloned())
            .collect())
    }

    async fn websites(&self, ids: &[String]) -> Result<Vec<Website>, StoreError> {
        let state = self.lock();
        let ids: std::collections::BTreeSet<&String> = ids.iter().collect();
        Ok(ids
            .into_iter()
            .filter_map(|id| state.websites.get(id).cloned())
            .collect())
    }

    async fn write_entity(&self, entity: &Entity) -> Result<(), StoreError> {
        let mut state = self.lock();
        let kept = state.entities.get(&entity.entity_id).cloned();
        let written = match kept {
            Some(kept) => Entity {
                name: entity.name.clone(),
                entity_license_number: entity.entity_license_number.clone(),
                password_hash: entity.password_hash.clone(),
                phone: entity.phone.clone(),
                email: entity.email.clone(),
                language: entity.language,
                ..kept
            },
            None => entity.clone(),
        };
        state.entities.insert(entity.entity_id.clone(), written);
        Ok(())
    }

    async fn write_website(&self, website: &Website) -> Result<(), StoreError> {
        let mut state = self.lock();
        let written = match state.websites.get(&website.website_id) {
            Some(kept)
                if kept.open_request_id.is_some() || kept.status != WebsiteStatus::Active =>
            {
                return Err(StoreError::Conflict(format!(
                    "website {} has an open request or was cleared",
                    website.website_id
                )))
            }
            Some(kept) => Website {
                entity_id: website.entity_id.clone(),
                domain: website.domain.clone(),
                website_license_number: website.website_license_number.clone(),
                service_ips: website.service_ips.clone(),
                ..kept.clone()
            },
            None => website.clone(),
        };
        state.websites.insert(website.website_id.clone(), written);
        Ok(())
    }
}
