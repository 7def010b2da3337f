//! License password retrieval ("Ways to Retrieve License Password"): a 6-digit code by SMS and
//! email to the entity's contacts, then the code and a new password. The code is kept only as
//! a keyed digest (the vault's), good for 10 minutes and 5 wrong tries; at most one code a
//! minute and 5 a day per entity. The new password is stored as argon2id; the failed-attempt
//! count and the lock are cleared, and the entity is told by SMS and email.

use crate::error::{DomainError, ServiceError, StoreError};
use crate::notification::{password_changed_message, reset_code_message};
use crate::notify::notify_entity;
use crate::ports::{Filings, NotificationLedger, Notifier, PasswordResets, Vault};
use crate::records::existing_entity;
use crate::validation::MAX_PASSWORD_CHARS;
use crate::{password, Caller, Entity};
use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use serde::Serialize;

pub use crate::model::PasswordReset;

pub const CODE_VALID_SECONDS: i64 = 10 * 60;
pub const WRONG_CODES_ENDING_A_RESET: u32 = 5;
pub const SECONDS_BETWEEN_CODES: i64 = 60;
pub const CODES_A_DAY: usize = 5;
pub const MIN_PASSWORD_CHARS: usize = 8;
/// How often a use case reads again after losing a race on the entity.
const RACES: usize = 3;

/// The answer to starting a reset: where the code went, masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StartedReset {
    pub reset_id: String,
    pub expires_at: DateTime<Utc>,
    pub sent_to: SentTo,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SentTo {
    pub phone: String,
    pub email: String,
}

/// A fresh, unguessable reset id.
pub fn new_reset_id() -> String {
    format!("rst-{}", uuid::Uuid::new_v4().simple())
}

fn new_code() -> String {
    format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000))
}

fn code_digest<V: Vault>(vault: &V, reset_id: &str, code: &str) -> String {
    vault.fingerprint(format!("password-reset#{reset_id}#{code}").as_bytes())
}

/// Whether `code` is the reset's, compared in constant time: how long the answer takes says
/// nothing of how near a guess came.
fn is_the_code<V: Vault>(vault: &V, reset: &PasswordReset, code: &str) -> bool {
    let well_formed = code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit());
    let given = code_digest(vault, &reset.reset_id, code);
    let same = given.len() == reset.code_digest.len()
        && given
            .bytes()
            .zip(reset.code_digest.bytes())
            .fold(0u8, |differ, (a, b)| differ | (a ^ b))
            == 0;
    well_formed & same
}

/// `138****5678`: the first 3 and last 4 digits of a phone number.
pub fn mask_phone(phone: &str) -> String {
    let digits: Vec<char> = phone.trim_start_matches("+86").chars().collect();
    if digits.len() < 8 {
        return "*".repeat(digits.len());
    }
    let head: String = digits[..3].iter().collect();
    let tail: String = digits[digits.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

/// `o***@example.cn`: the first character of the mailbox and the domain.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((mailbox, domain)) => {
            let first: String = mailbox.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".into(),
    }
}

/// At least 8 characters, with letters and digits.
pub fn validate_new_password(raw: &str) -> Result<(), DomainError> {
    let chars = raw.chars().count();
    let strong = (MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars)
        && raw.chars().any(|c| c.is_alphabetic())
        && raw.chars().any(|c| c.is_ascii_digit())
        && !raw.chars().any(char::is_control);
    if strong {
        Ok(())
    } else {
        Err(DomainError::validation(
            "weak_password",
            format!("新密码须为 {MIN_PASSWORD_CHARS} 至 {MAX_PASSWORD_CHARS} 个字符，且同时包含字母和数字"),
            format!("newPassword must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters with letters and digits"),
        ))
    }
}

/// When the entity's codes of the last day were sent (the limits count them).
fn codes_sent_in_the_last_day(entity: &Entity, now: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let day_ago = now - Duration::days(1);
    let sent = entity.retrieval.reset_codes_sent.iter().copied();
    sent.filter(|at| *at > day_ago).collect()
}

/// Why no code can be sent now, after the codes `recent` (the last day's): how long until one
/// can.
fn refuse_if_too_many(recent: &[DateTime<Utc>], now: DateTime<Utc>) -> Result<(), DomainError> {
    let wait_until = match (recent.iter().max(), recent.iter().min()) {
        (Some(last), _) if *last + Duration::seconds(SECONDS_BETWEEN_CODES) > now => {
            Some(*last + Duration::seconds(SECONDS_BETWEEN_CODES))
        }
        (_, Some(oldest)) if recent.len() >= CODES_A_DAY => Some(*oldest + Duration::days(1)),
        _ => None,
    };
    match wait_until {
        Some(until) => Err(DomainError::TooManyCodes {
            retry_after_seconds: (until - now).num_seconds().max(1),
        }),
        None => Ok(()),
    }
}

/// License password retrieval: its ports.
pub struct PasswordRetrieval<'a, S, N, V> {
    pub store: &'a S,
    pub notifier: &'a N,
    pub vault: &'a V,
}

impl<S: Filings + PasswordResets + NotificationLedger, N: Notifier, V: Vault>
    PasswordRetrieval<'_, S, N, V>
{
    /// Sends a new code to the caller's entity by SMS and email, replacing any reset under way.
    pub async fn start_password_reset(
        &self,
        caller: &Caller,
        now: DateTime<Utc>,
    ) -> Result<StartedReset, ServiceError> {
        let entity_id = caller.entity_id()?;
        for _ in 0..RACES {
            let entity = callers_entity(self.store, entity_id).await?;
            let mut sent = codes_sent_in_the_last_day(&entity, now);
            refuse_if_too_many(&sent, now)?;
            let (reset_id, code) = (new_reset_id(), new_code());
            let reset = PasswordReset {
                code_digest: code_digest(self.vault, &reset_id, &code),
                reset_id,
                expires_at: now + Duration::seconds(CODE_VALID_SECONDS),
                tries: 0,
                completed_at: None,
            };
            let before = &entity.retrieval.reset_codes_sent;
            sent.push(now);
            match self
                .store
                .start_password_reset(entity_id, &reset, &sent, before)
                .await
            {
                Ok(()) => {}
                // Someone else's code went out meanwhile: read again, and count it.
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
            let message =
                reset_code_message(&entity, &code, reset.expires_at, self.notifier.letterhead());
            let key = format!("{entity_id}#{}#code", reset.reset_id);
            notify_entity(self.store, self.notifier, &entity, &key, &message, now).await?;
            return Ok(StartedReset {
                reset_id: reset.reset_id,
                expires_at: reset.expires_at,
                sent_to: SentTo {
                    phone: mask_phone(&entity.phone),
                    email: mask_email(&entity.email),
                },
            });
        }
        Err(StoreError::Conflict(format!("entity {entity_id}: password reset kept racing")).into())
    }

    /// Sets the new license password if `code` is the reset's. Each try is counted before it is
    /// judged, by one conditional write, so no number of parallel guesses gets more than five
    /// judged; the fifth wrong one ends the reset. Repeating a confirmation that succeeded
    /// answers the same.
    pub async fn confirm_password_reset(
        &self,
        caller: &Caller,
        reset_id: &str,
        code: &str,
        new_password: &str,
        now: DateTime<Utc>,
    ) -> Result<(), ServiceError> {
        let entity_id = caller.entity_id()?;
        let entity = callers_entity(self.store, entity_id).await?;
        let reset = entity
            .retrieval
            .password_reset
            .as_ref()
            .filter(|r| r.reset_id == reset_id)
            .ok_or_else(|| DomainError::ResetNotFound(reset_id.into()))?;
        if reset.completed_at.is_some() {
            return self.repeated(&entity, reset, code, new_password, now).await;
        }
        if reset.tries >= WRONG_CODES_ENDING_A_RESET {
            return Err(DomainError::ResetEnded.into());
        }
        if now > reset.expires_at {
            return Err(DomainError::ResetExpired.into());
        }
        // A weak password is refused before a try is spent.
        validate_new_password(new_password)?;
        let Some(tries) = self
            .store
            .reserve_code_try(entity_id, reset_id, WRONG_CODES_ENDING_A_RESET)
            .await?
        else {
            // Spent by other tries meanwhile, or completed by one.
            let gone = DomainError::ResetNotFound(reset_id.into());
            return self
                .after_a_race(entity_id, reset_id, code, new_password, now, gone)
                .await;
        };
        if !is_the_code(self.vault, reset, code) {
            let tries_left = WRONG_CODES_ENDING_A_RESET.saturating_sub(tries);
            return Err(match tries_left {
                0 => DomainError::ResetEnded,
                _ => DomainError::validation(
                    "invalid_code",
                    format!("验证码错误，还可尝试 {tries_left} 次"),
                    format!("the code is wrong; {tries_left} tries left"),
                ),
            }
            .into());
        }
        let hash = password::hash(new_password);
        match self
            .store
            .complete_password_reset(entity_id, reset_id, &hash, now)
            .await
        {
            Ok(()) => {
                self.tell_password_changed(&entity, reset_id, now, now)
                    .await
            }
            // Another try with the right code completed it first.
            Err(StoreError::Conflict(_)) => {
                self.after_a_race(
                    entity_id,
                    reset_id,
                    code,
                    new_password,
                    now,
                    DomainError::ResetEnded,
                )
                .await
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A confirmation another try overtook: the reset as it stands now answers it (`repeated`),
    /// or `gone` if it is no longer the entity's reset.
    async fn after_a_race(
        &self,
        entity_id: &str,
        reset_id: &str,
        code: &str,
        new_password: &str,
        now: DateTime<Utc>,
        gone: DomainError,
    ) -> Result<(), ServiceError> {
        let entity = existing_entity(self.store, entity_id).await?;
        match entity.retrieval.password_reset.as_ref() {
            Some(reset) if reset.reset_id == reset_id => {
                self.repeated(&entity, reset, code, new_password, now).await
            }
            _ => Err(gone.into()),
        }
    }

    /// A confirmation on a reset that is over: the retry of the one that set the password (its
    /// answer was lost) gets the same answer; any other, `reset_ended`.
    async fn repeated(
        &self,
        entity: &Entity,
        reset: &PasswordReset,
        code: &str,
        new_password: &str,
        now: DateTime<Utc>,
    ) -> Result<(), ServiceError> {
        match reset.completed_at {
            Some(completed_at)
                if is_the_code(self.vault, reset, code)
                    && password::verify(&entity.password_hash, new_password) =>
            {
                self.tell_password_changed(entity, &reset.reset_id, completed_at, now)
                    .await
            }
            _ => Err(DomainError::ResetEnded.into()),
        }
    }

    async fn tell_password_changed(
        &self,
        entity: &Entity,
        reset_id: &str,
        changed_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), ServiceError> {
        let message = password_changed_message(entity, changed_at, self.notifier.letterhead());
        let key = format!("{}#{reset_id}#password_changed", entity.entity_id);
        notify_entity(self.store, self.notifier, entity, &key, &message, now).await
    }
}

/// The entity a customer's token names. One the provider has no filings of (its token issued
/// before the entity was imported) may not reset a password here: refused, not a fault.
async fn callers_entity<S: Filings>(store: &S, entity_id: &str) -> Result<Entity, ServiceError> {
    store
        .get_entity(entity_id)
        .await?
        .ok_or(ServiceError::Forbidden)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contacts_are_masked() {
        assert_eq!(mask_phone("+8613812345678"), "138****5678");
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_email("ops@example.cn"), "o***@example.cn");
    }

    #[test]
    fn a_new_password_needs_eight_characters_letters_and_digits() {
        for weak in ["short1", "onlyletters", "12345678", "", "abc\u{7}12345"] {
            assert!(validate_new_password(weak).is_err(), "{weak:?}");
        }
        for strong in ["abcd1234", "备案密码ab12", "Passw0rd!"] {
            assert!(validate_new_password(strong).is_ok(), "{strong:?}");
        }
    }

    #[test]
    fn codes_are_six_digits() {
        for _ in 0..100 {
            let code = new_code();
            assert_eq!(code.len(), 6);
            assert!(code.bytes().all(|b| b.is_ascii_digit()));
        }
    }
}
