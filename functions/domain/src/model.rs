//! The records of the filing system: entities, websites, change requests and their history.

use crate::language::Language;
use crate::{DomainError, HistoryEvent, Reason, Status};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The licensed subject. `password_hash` is an argon2id PHC string, never the password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entity {
    pub entity_id: String,
    pub name: String,
    pub entity_license_number: String,
    pub password_hash: String,
    pub phone: String,
    pub email: String,
    /// The language its SMS are in and its emails begin with; none chosen is Chinese.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<Language>,
    #[serde(default)]
    pub failed_password_attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked_until: Option<DateTime<Utc>>,
    /// License password retrieval: the reset under way, the codes sent, the password replaced.
    #[serde(default, flatten)]
    pub retrieval: Retrieval,
}

/// A reset under way, as the entity keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordReset {
    pub reset_id: String,
    /// The vault's keyed digest of the code (a plain hash of 6 digits would be read back by
    /// trying the million of them).
    pub code_digest: String,
    pub expires_at: DateTime<Utc>,
    /// The codes tried: each is counted before it is judged (stored under its first name).
    #[serde(default, rename = "wrongCodes")]
    pub tries: u32,
    /// When the new password was set: the same code and password again answer the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<DateTime<Utc>>,
}

/// An entity's license password retrieval (`password_reset`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Retrieval {
    /// The latest reset; a new one replaces it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_reset: Option<PasswordReset>,
    /// When reset codes were sent, the last day's (the limits count them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reset_codes_sent: Vec<DateTime<Utc>>,
    /// The hash a reset replaced, and when: a request submitted before the change is checked
    /// against the password it was submitted with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_password_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_changed_at: Option<DateTime<Utc>>,
}

impl Entity {
    /// The language the entity reads first.
    pub fn language(&self) -> Language {
        self.language.unwrap_or(Language::ZhCn)
    }

    /// Until when the entity's license password is locked, if it is at `now`.
    pub fn lock_in_force(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.locked_until.filter(|until| *until > now)
    }

    /// The hash of the license password in force when an attempt was submitted at
    /// `submitted_at`.
    pub fn password_hash_at(&self, submitted_at: DateTime<Utc>) -> &str {
        match (
            &self.retrieval.previous_password_hash,
            self.retrieval.password_changed_at,
        ) {
            (Some(previous), Some(changed)) if submitted_at < changed => previous,
            _ => &self.password_hash,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebsiteStatus {
    Active,
    /// Cleared from this provider's license system; the API no longer shows it.
    Cleared,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Website {
    pub website_id: String,
    pub entity_id: String,
    pub domain: String,
    pub website_license_number: String,
    pub service_ips: Vec<String>,
    pub status: WebsiteStatus,
    /// Set while a request on this website is open; the store's conditional writes on it keep
    /// at most one open request per website.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_request_id: Option<String>,
}

/// A fresh, unguessable request id.
pub fn new_request_id() -> String {
    format!("req-{}", uuid::Uuid::new_v4().simple())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestType {
    WebsiteCancellation,
    AccessCancellation,
    AccessChange,
}

impl RequestType {
    pub fn parse(s: &str) -> Option<RequestType> {
        match s {
            "website_cancellation" => Some(RequestType::WebsiteCancellation),
            "access_cancellation" => Some(RequestType::AccessCancellation),
            "access_change" => Some(RequestType::AccessChange),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    pub at: DateTime<Utc>,
    pub status: Status,
    pub actor: String,
    /// What happened: the texts people read are made from it. Absent from entries written
    /// before events were kept, which have their `note`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<HistoryEvent>,
    /// The English sentence an entry written before events were kept carries.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
    /// A rejection's reasons, kept per attempt (the request's own are the current attempt's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<Reason>,
}

impl HistoryEntry {
    pub fn new(at: DateTime<Utc>, status: Status, actor: String, event: HistoryEvent) -> Self {
        HistoryEntry {
            at,
            status,
            actor,
            event: Some(event),
            note: String::new(),
            reasons: Vec::new(),
        }
    }

    /// The entry as a sentence in `language` (an old entry's note is English only).
    pub fn note(&self, language: Language) -> String {
        match &self.event {
            Some(event) => event.text(language),
            None => self.note.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    pub request_id: String,
    #[serde(rename = "type")]
    pub request_type: RequestType,
    pub website_id: String,
    pub entity_id: String,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_ips: Option<Vec<String>>,
    pub attempt: u32,
    #[serde(default)]
    pub rejection_reasons: Vec<Reason>,
    pub history: Vec<HistoryEntry>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the first review of the current attempt is due (1 working day after it began).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_due_at: Option<DateTime<Utc>>,
    /// The reviewer's decision on the current attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<ReviewDecision>,
    /// The authority's id for the current attempt's submission.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submission_id: Option<String>,
    /// What the request is about, as it stood when submitted.
    #[serde(default)]
    pub subject: Subject,
}

/// The website and entity a request is about, as they stood when it was submitted: kept with the
/// request so that the reviewers' queue names them without reading each website and entity.
/// (Empty on requests written before it was kept.)
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subject {
    pub domain: String,
    pub website_license_number: String,
    pub entity_name: String,
    pub entity_license_number: String,
    /// The website's service IPs when submitted: while the request is open nothing else
    /// changes them, so a read of the request need not read the website too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website_service_ips: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approve,
    Reject,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewDecision {
    pub decision: Decision,
    #[serde(default)]
    pub reasons: Vec<Reason>,
    pub reviewer: String,
    pub at: DateTime<Utc>,
}

/// What an approved request does to its website, applied with the request's completion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebsiteEffect {
    /// Cancelled or access cancelled: the website leaves this provider's license system.
    Clear,
    ReplaceServiceIps(Vec<String>),
}

/// "Modify and Submit": the next attempt's input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextAttempt {
    pub service_ips: Option<Vec<String>>,
    pub sealed_password: String,
}

/// A status change as the store applies it: conditional on the request still being in `from`
/// at `attempt`, so a retried or concurrent step cannot apply it twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub request_id: String,
    pub website_id: String,
    pub attempt: u32,
    pub from: Status,
    pub to: Status,
    pub entry: HistoryEntry,
    pub rejection_reasons: Option<Vec<Reason>>,
    pub review_due_at: Option<DateTime<Utc>>,
    pub submission_id: Option<String>,
    pub next_attempt: Option<NextAttempt>,
    pub website_effect: Option<WebsiteEffect>,
    /// The move is refused (a conflict) once the reviewer's approval is recorded: a withdrawal
    /// must not overtake the forward to the authority, which may already hold the submission.
    pub unless_approved: bool,
}

impl Transition {
    /// A closed request frees its website for the next one.
    pub fn releases_website(&self) -> bool {
        !self.to.is_open()
    }

    /// A closed request reopened (an operator's re-drive) holds its website open again, if no
    /// other request holds it.
    pub fn claims_website(&self) -> bool {
        !self.from.is_open() && self.to.is_open()
    }

    /// A rejection, with its reasons on the request and in its history entry.
    pub fn rejecting(mut self, reasons: Vec<Reason>) -> Transition {
        self.entry.reasons = reasons.clone();
        self.rejection_reasons = Some(reasons);
        self
    }
}

impl Request {
    /// The request as `caller` may see it: a customer sees that a reviewer or an operator
    /// acted, not who, in the actors and in what the events say.
    pub fn seen_by(mut self, caller: &Caller) -> Request {
        const REVIEWER: &str = "reviewer";
        if let Caller::Customer { .. } = caller {
            for entry in &mut self.history {
                if let Some(HistoryEvent::ForwardedToAuthority { reviewer, .. }) = &mut entry.event
                {
                    *reviewer = None;
                }
                for role in [REVIEWER, "operator"] {
                    if entry
                        .actor
                        .strip_prefix(role)
                        .is_some_and(|id| id.starts_with(':'))
                    {
                        entry.actor = role.into();
                    }
                }
            }
            if let Some(review) = &mut self.review {
                review.reviewer = REVIEWER.into();
            }
        }
        self
    }

    /// The reviewer approved the current attempt (recorded before the workflow moves it on).
    pub fn is_approved(&self) -> bool {
        self.review
            .as_ref()
            .is_some_and(|review| review.decision == Decision::Approve)
    }

    /// A new request, first attempt, in `submitted`, on `website` (the entity's part of its
    /// subject is the caller's to fill in: `filed_by`).
    pub fn submitted(
        request_id: String,
        request_type: RequestType,
        website: &Website,
        service_ips: Option<Vec<String>>,
        actor: String,
        now: DateTime<Utc>,
    ) -> Request {
        Request {
            request_id,
            request_type,
            website_id: website.website_id.clone(),
            entity_id: website.entity_id.clone(),
            status: Status::Submitted,
            service_ips,
            attempt: 1,
            rejection_reasons: Vec::new(),
            history: vec![HistoryEntry::new(
                now,
                Status::Submitted,
                actor,
                HistoryEvent::Submitted,
            )],
            created_at: now,
            updated_at: now,
            review_due_at: None,
            review: None,
            submission_id: None,
            subject: Subject {
                domain: website.domain.clone(),
                website_license_number: website.website_license_number.clone(),
                website_service_ips: Some(website.service_ips.clone()),
                ..Subject::default()
            },
        }
    }

    /// The request, its subject naming `entity`.
    pub fn filed_by(mut self, entity: &Entity) -> Request {
        self.subject.entity_name = entity.name.clone();
        self.subject.entity_license_number = entity.entity_license_number.clone();
        self
    }

    /// The request as it stood when its earlier `attempt` ended (read from the history: each
    /// attempt begins with a `submitted` entry), or `None` if that attempt is still the current
    /// one or never was.
    pub fn as_ended(&self, attempt: u32) -> Option<Request> {
        if attempt == 0 || attempt >= self.attempt {
            return None;
        }
        let next_start = self
            .history
            .iter()
            .enumerate()
            .filter(|(_, entry)| entry.status == Status::Submitted)
            .nth(attempt as usize)?
            .0;
        let last = &self.history[next_start.checked_sub(1)?];
        let mut ended = self.clone();
        ended.attempt = attempt;
        ended.status = last.status;
        ended.rejection_reasons = last.reasons.clone();
        ended.history.truncate(next_start);
        Some(ended)
    }

    /// The transition to `to`, if the table of allowed transitions permits it.
    pub fn transition(
        &self,
        to: Status,
        actor: impl Into<String>,
        event: HistoryEvent,
        now: DateTime<Utc>,
    ) -> Result<Transition, DomainError> {
        if !self.status.can_move_to(to) {
            return Err(DomainError::InvalidTransition {
                from: self.status,
                to,
            });
        }
        Ok(Transition {
            request_id: self.request_id.clone(),
            website_id: self.website_id.clone(),
            attempt: self.attempt,
            from: self.status,
            to,
            entry: HistoryEntry::new(now, to, actor.into(), event),
            rejection_reasons: None,
            review_due_at: None,
            submission_id: None,
            next_attempt: None,
            website_effect: None,
            unless_approved: false,
        })
    }

    /// An operator's re-drive of a failed request, its cause mended: back to the status it
    /// failed in, to go on from there. Only a request failed awaiting its first review can be:
    /// one failed before its password was checked no longer has the password (it is never kept
    /// past a step), and its customer files it again.
    pub fn reopening(
        &self,
        actor: impl Into<String>,
        now: DateTime<Utc>,
    ) -> Result<Transition, DomainError> {
        let stood = self.history.iter().rev().nth(1).map(|entry| entry.status);
        let to = match (self.status, stood) {
            (Status::Failed, Some(Status::PendingFirstReview)) => Status::PendingFirstReview,
            _ => return Err(DomainError::NothingToRedrive(self.status)),
        };
        Ok(Transition {
            request_id: self.request_id.clone(),
            website_id: self.website_id.clone(),
            attempt: self.attempt,
            from: self.status,
            to,
            entry: HistoryEntry::new(now, to, actor.into(), HistoryEvent::Redriven),
            rejection_reasons: None,
            // Back in the reviewers' queue, due when it was: the customer's working day began
            // before the failure.
            review_due_at: self.review_due_at,
            submission_id: None,
            next_attempt: None,
            website_effect: None,
            unless_approved: false,
        })
    }

    /// The request with `t` applied, as the store writes it.
    pub fn applying(mut self, t: &Transition) -> Request {
        self.status = t.to;
        self.updated_at = t.entry.at;
        if let Some(reasons) = &t.rejection_reasons {
            self.rejection_reasons = reasons.clone();
        }
        if let Some(due) = t.review_due_at {
            self.review_due_at = Some(due);
        }
        if let Some(id) = &t.submission_id {
            self.submission_id = Some(id.clone());
        }
        if let Some(next) = &t.next_attempt {
            self.attempt += 1;
            self.rejection_reasons.clear();
            self.review = None;
            self.review_due_at = None;
            self.submission_id = None;
            if let Some(ips) = &next.service_ips {
                self.service_ips = Some(ips.clone());
            }
        }
        self.history.push(t.entry.clone());
        self
    }
}

/// What an Idempotency-Key was first used for, scoped to the entity that used it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdempotencyRecord {
    pub scope_key: String,
    pub body_fingerprint: String,
    pub request_id: String,
    pub created_at: DateTime<Utc>,
}

impl IdempotencyRecord {
    pub fn scope_key(entity_id: &str, idempotency_key: &str) -> String {
        format!("{entity_id}#{idempotency_key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn website() -> Website {
        Website {
            website_id: "w1".into(),
            entity_id: "e1".into(),
            domain: "example.cn".into(),
            website_license_number: "京ICP备12345678号-1".into(),
            service_ips: vec!["203.0.113.10".into()],
            status: WebsiteStatus::Active,
            open_request_id: None,
        }
    }

    #[test]
    fn a_new_request_is_submitted_with_one_history_entry() {
        let r = Request::submitted(
            "r1".into(),
            RequestType::AccessCancellation,
            &website(),
            None,
            "customer:e1".into(),
            Utc::now(),
        );
        assert_eq!(r.status, Status::Submitted);
        assert_eq!(r.attempt, 1);
        assert_eq!(r.entity_id, "e1");
        assert_eq!(r.history.len(), 1);
    }

    #[test]
    fn transitions_follow_the_table_and_append_history() {
        let now = Utc::now();
        let r = Request::submitted(
            "r1".into(),
            RequestType::WebsiteCancellation,
            &website(),
            None,
            "customer:e1".into(),
            now,
        );
        let refused = r.transition(Status::Completed, "system", HistoryEvent::Expired, now);
        assert_eq!(
            refused,
            Err(DomainError::InvalidTransition {
                from: Status::Submitted,
                to: Status::Completed
            })
        );
        let t = r
            .transition(
                Status::PendingFirstReview,
                "system:verify-password",
                HistoryEvent::PasswordVerified { review_due_at: now },
                now,
            )
            .unwrap();
        assert!(!t.releases_website());
        let r = r.applying(&t);
        assert_eq!(r.status, Status::PendingFirstReview);
        assert_eq!(r.history.last().unwrap().status, Status::PendingFirstReview);
        let t = r
            .transition(
                Status::Withdrawn,
                "customer:e1",
                HistoryEvent::Withdrawn,
                now,
            )
            .unwrap();
        assert!(t.releases_website());
    }

    #[test]
    fn an_ended_attempt_is_read_back_from_the_history() {
        let now = Utc::now();
        let mut r = Request::submitted(
            "r1".into(),
            RequestType::AccessCancellation,
            &website(),
            None,
            "customer:e1".into(),
            now,
        );
        let go = |r: Request, to: Status, reasons: &[&str], next: bool| {
            let mut t = r
                .transition(to, "system", HistoryEvent::Expired, now)
                .unwrap();
            if !reasons.is_empty() {
                t = t.rejecting(
                    reasons
                        .iter()
                        .map(|s| Reason::Free(s.to_string()))
                        .collect(),
                );
            }
            if next {
                t.next_attempt = Some(NextAttempt {
                    service_ips: None,
                    sealed_password: String::new(),
                });
            }
            r.applying(&t)
        };
        r = go(r, Status::PasswordRejected, &["wrong password"], false);
        r = go(r, Status::Submitted, &[], true);
        r = go(r, Status::PendingFirstReview, &[], false);
        r = go(r, Status::FirstReviewRejected, &["blurred photo"], false);
        r = go(r, Status::Submitted, &[], true);
        assert_eq!((r.attempt, r.status), (3, Status::Submitted));
        assert!(r.rejection_reasons.is_empty());

        let first = r.as_ended(1).unwrap();
        assert_eq!((first.attempt, first.status), (1, Status::PasswordRejected));
        assert_eq!(
            first.rejection_reasons,
            [Reason::Free("wrong password".into())]
        );
        assert_eq!(first.history.len(), 2);
        let second = r.as_ended(2).unwrap();
        assert_eq!(
            (second.attempt, second.status),
            (2, Status::FirstReviewRejected)
        );
        assert_eq!(
            second.rejection_reasons,
            [Reason::Free("blurred photo".into())]
        );
        for current_or_unknown in [0, 3, 4] {
            assert_eq!(r.as_ended(current_or_unknown), None);
        }
    }

    #[test]
    fn a_customer_reads_no_reviewer_identity_and_a_reviewer_does() {
        let now = Utc::now();
        let r = Request::submitted(
            "r1".into(),
            RequestType::AccessCancellation,
            &website(),
            None,
            "customer:e1".into(),
            now,
        );
        let t = r
            .transition(
                Status::PendingFirstReview,
                "reviewer:alice",
                HistoryEvent::ForwardedToAuthority {
                    submission_id: "sub-r1-1".into(),
                    due_at: now,
                    late: false,
                    reviewer: Some("alice".into()),
                },
                now,
            )
            .unwrap();
        let r = r.applying(&t);
        let texts = |r: &Request| {
            let entry = r.history.last().unwrap();
            let mut all = vec![entry.actor.clone()];
            for language in [Language::ZhCn, Language::En] {
                all.push(entry.note(language));
            }
            all.join(" ")
        };
        let customer = Caller::Customer {
            entity_id: "e1".into(),
        };
        let seen = r.clone().seen_by(&customer);
        assert!(!texts(&seen).contains("alice"), "{}", texts(&seen));
        assert_eq!(seen.history.last().unwrap().actor, "reviewer");
        let reviewer = Caller::Reviewer {
            reviewer_id: "bob".into(),
        };
        assert!(texts(&r.seen_by(&reviewer)).contains("alice"));
    }

    #[test]
    fn an_entity_stored_without_a_language_loads_as_chinese() {
        let stored = serde_json::json!({
            "entityId": "e1", "name": "Example Co", "entityLicenseNumber": "京ICP备12345678号",
            "passwordHash": "", "phone": "+8613800000000", "email": "a@example.cn",
        });
        let entity: Entity = serde_json::from_value(stored.clone()).unwrap();
        assert_eq!((entity.language, entity.language()), (None, Language::ZhCn));
        assert!(serde_json::to_value(&entity)
            .unwrap()
            .get("language")
            .is_none());
        let mut english = stored;
        english["language"] = "en".into();
        let english: Entity = serde_json::from_value(english).unwrap();
        assert_eq!(english.language(), Language::En);
    }

    #[test]
    fn history_written_before_events_still_loads() {
        let old = serde_json::json!({
            "at": "2026-11-30T06:02:13.561Z", "status": "first_review_rejected",
            "actor": "reviewer:alice", "note": "rejected at first review",
            "reasons": ["The ID photo is blurred"],
        });
        let entry: HistoryEntry = serde_json::from_value(old).unwrap();
        assert_eq!(entry.event, None);
        assert_eq!(entry.note(Language::ZhCn), "rejected at first review");
        assert_eq!(
            entry.reasons,
            [Reason::Free("The ID photo is blurred".into())]
        );
    }

    #[test]
    fn requests_serialise_with_the_contract_field_names() {
        let r = Request::submitted(
            "r1".into(),
            RequestType::AccessChange,
            &website(),
            Some(vec!["198.51.100.1".into()]),
            "customer:e1".into(),
            Utc::now(),
        );
        let v = serde_json::to_value(&r).unwrap();
        for field in [
            "requestId",
            "type",
            "websiteId",
            "status",
            "serviceIps",
            "attempt",
            "rejectionReasons",
            "history",
            "createdAt",
            "updatedAt",
        ] {
            assert!(v.get(field).is_some(), "missing {field}");
        }
        assert_eq!(v["type"], "access_change");
    }
}

/// Who is calling, from a verified token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    Customer {
        entity_id: String,
    },
    Reviewer {
        reviewer_id: String,
    },
    /// Runs the system: re-drives what the workflow parked, reads any request.
    Operator {
        operator_id: String,
    },
}

impl Caller {
    pub fn actor(&self) -> String {
        match self {
            Caller::Customer { entity_id } => format!("customer:{entity_id}"),
            Caller::Reviewer { reviewer_id } => format!("reviewer:{reviewer_id}"),
            Caller::Operator { operator_id } => format!("operator:{operator_id}"),
        }
    }

    pub fn entity_id(&self) -> Result<&str, crate::error::ServiceError> {
        match self {
            Caller::Customer { entity_id } => Ok(entity_id),
            Caller::Reviewer { .. } | Caller::Operator { .. } => {
                Err(crate::error::ServiceError::Forbidden)
            }
        }
    }
}
