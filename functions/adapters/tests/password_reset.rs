//! License password retrieval and the impact preview, as use cases on the test kit's in-memory
//! store and recording notifier, with the real vault.

use chrono::{DateTime, Duration, Utc};
use icp_adapters::vault::AesVault;
use icp_domain::contract::VerifyOutcome;
use icp_domain::error::ServiceError;
use icp_domain::password_reset::StartedReset;
use icp_domain::ports::{Filings, PasswordChecks};
use icp_domain::submit::SubmitInput;
use icp_domain::validation::IpPolicy;
use icp_domain::verify::LockPolicy;
use icp_domain::*;
use icp_testkit::memory::MemoryStore;

const OLD: &str = "Licence-Pass-1";
const NEW: &str = "NewPassw0rd";
const PHONE: &str = "+8613812345678";

type TestPorts = icp_testkit::world::TestPorts<AesVault>;

fn world() -> TestPorts {
    let store = MemoryStore::default();
    for (entity_id, phone) in [("e1", PHONE), ("e2", "+8613900000000")] {
        store.put_entity(Entity {
            entity_id: entity_id.into(),
            name: "Co".into(),
            entity_license_number: "京ICP备12345678号".into(),
            password_hash: password::hash(OLD),
            phone: phone.into(),
            email: format!("{entity_id}@example.cn"),
            language: None,
            failed_password_attempts: 0,
            locked_until: None,
            retrieval: Default::default(),
        });
    }
    for (website_id, entity_id) in [("w1", "e1"), ("w2", "e1"), ("w3", "e2")] {
        store.put_website(Website {
            website_id: website_id.into(),
            entity_id: entity_id.into(),
            domain: format!("{website_id}.example.cn"),
            website_license_number: "京ICP备12345678号-1".into(),
            service_ips: vec!["203.0.113.10".into()],
            status: WebsiteStatus::Active,
            open_request_id: None,
        });
    }
    TestPorts::new(store, AesVault::from_secret("test-secret"))
}

fn customer(entity_id: &str) -> Caller {
    Caller::Customer {
        entity_id: entity_id.into(),
    }
}

/// The messages sent to `to` so far.
fn sent_to(w: &TestPorts, to: &str) -> Vec<String> {
    w.notifier
        .sent
        .lock()
        .unwrap()
        .iter()
        .filter(|(t, _)| t == to)
        .map(|(_, text)| text.clone())
        .collect()
}

/// The code in the latest SMS to the phone.
fn code_sent(w: &TestPorts) -> String {
    let sms = sent_to(w, PHONE).pop().expect("an SMS");
    let at = sms.find("验证码：").expect("a code in the SMS") + "验证码：".len();
    sms[at..at + 6].to_string()
}

fn error_code(e: ServiceError) -> String {
    match e {
        ServiceError::Domain(DomainError::Validation { code, .. }) => code.to_string(),
        other => format!("{other:?}"),
    }
}

async fn start(w: &TestPorts, now: DateTime<Utc>) -> StartedReset {
    w.retrieval()
        .start_password_reset(&customer("e1"), now)
        .await
        .unwrap()
}

async fn confirm(
    w: &TestPorts,
    reset: &StartedReset,
    code: &str,
    new: &str,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    w.retrieval()
        .confirm_password_reset(&customer("e1"), &reset.reset_id, code, new, now)
        .await
}

async fn entity(w: &TestPorts) -> Entity {
    w.store.get_entity("e1").await.unwrap().unwrap()
}

#[tokio::test]
async fn a_code_by_sms_and_email_sets_a_new_password_and_clears_the_lock() {
    let w = world();
    let now = Utc::now();
    let locked_until = now + Duration::minutes(30);
    for n in 0..5 {
        let check = format!("req-{n}#1");
        assert!(w
            .store
            .reserve_password_check("e1", &check, 5, None)
            .await
            .unwrap());
        w.store
            .settle_password_check("e1", &check, false, 5, locked_until)
            .await
            .unwrap();
    }
    let reset = start(&w, now).await;
    assert_eq!(reset.sent_to.phone, "138****5678");
    assert_eq!(reset.sent_to.email, "e***@example.cn");
    assert_eq!(reset.expires_at, now + Duration::minutes(10));
    let code = code_sent(&w);
    // (The recording notifier keeps an email's subject.)
    assert!(sent_to(&w, "e1@example.cn")
        .iter()
        .any(|subject| subject.contains("License password retrieval code")));
    let stored = serde_json::to_string(&entity(&w).await).unwrap();
    assert!(!stored.contains(&code), "the code is kept only as a digest");

    confirm(&w, &reset, &code, NEW, now + Duration::minutes(9))
        .await
        .unwrap();
    let changed = entity(&w).await;
    assert!(password::verify(&changed.password_hash, NEW));
    assert!(!password::verify(&changed.password_hash, OLD));
    assert_eq!(
        (changed.failed_password_attempts, changed.locked_until),
        (0, None)
    );
    // The SMS in the entity's language (Chinese: none chosen), the email's subject in both.
    let told = sent_to(&w, PHONE);
    assert!(
        told.iter()
            .any(|m| m.starts_with("【备案中心】") && m.contains("备案密码已于")),
        "{told:?}"
    );
    let told = sent_to(&w, "e1@example.cn");
    assert!(
        told.iter()
            .any(|m| m.contains("备案密码已修改") && m.contains("License password changed")),
        "{told:?}"
    );
    // The answer was lost and the client confirms again: the same answer, told once.
    let messages = w.notifier.sent.lock().unwrap().len();
    confirm(&w, &reset, &code, NEW, now + Duration::minutes(9))
        .await
        .unwrap();
    assert_eq!(w.notifier.sent.lock().unwrap().len(), messages);
}

#[tokio::test]
async fn wrong_codes_count_and_the_fifth_ends_the_reset() {
    let w = world();
    let now = Utc::now();
    let reset = start(&w, now).await;
    let code = code_sent(&w);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for tries_left in (1..=4).rev() {
        let e = confirm(&w, &reset, wrong, NEW, now).await.unwrap_err();
        assert!(
            format!("{e}").contains(&format!("{tries_left} tries left")),
            "{e}"
        );
        assert_eq!(error_code(e), "invalid_code");
    }
    let fifth = confirm(&w, &reset, wrong, NEW, now).await.unwrap_err();
    assert!(matches!(
        fifth,
        ServiceError::Domain(DomainError::ResetEnded)
    ));
    let after = confirm(&w, &reset, &code, NEW, now).await.unwrap_err();
    assert!(matches!(
        after,
        ServiceError::Domain(DomainError::ResetEnded)
    ));
    assert!(password::verify(&entity(&w).await.password_hash, OLD));
}

#[tokio::test]
async fn parallel_guesses_get_five_tries_judged_and_never_a_5xx() {
    let w = world();
    let now = Utc::now();
    let reset = start(&w, now).await;
    let code = code_sent(&w);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let answers =
        futures::future::join_all((0..40).map(|_| confirm(&w, &reset, wrong, NEW, now))).await;
    let codes: Vec<String> = answers
        .into_iter()
        .map(|answer| match answer.unwrap_err() {
            ServiceError::Domain(DomainError::ResetEnded) => "reset_ended".into(),
            e => error_code(e),
        })
        .collect();
    let count = |code: &str| codes.iter().filter(|c| *c == code).count();
    assert_eq!(
        (count("invalid_code"), count("reset_ended")),
        (4, 36),
        "{codes:?}"
    );
    let reset_now = entity(&w).await.retrieval.password_reset.unwrap();
    assert_eq!(reset_now.tries, 5, "no more than five tries judged");
    assert!(password::verify(&entity(&w).await.password_hash, OLD));
}

#[tokio::test]
async fn an_expired_code_a_weak_password_and_another_entity_change_nothing() {
    let w = world();
    let now = Utc::now();
    let reset = start(&w, now).await;
    let code = code_sent(&w);
    let before = entity(&w).await;
    for weak in ["short1", "lettersonly", "1234567890"] {
        let e = confirm(&w, &reset, &code, weak, now).await.unwrap_err();
        assert_eq!(error_code(e), "weak_password");
    }
    let late = confirm(&w, &reset, &code, NEW, now + Duration::seconds(601))
        .await
        .unwrap_err();
    assert!(matches!(
        late,
        ServiceError::Domain(DomainError::ResetExpired)
    ));
    let other = w
        .retrieval()
        .confirm_password_reset(&customer("e2"), &reset.reset_id, &code, NEW, now)
        .await
        .unwrap_err();
    assert!(matches!(
        other,
        ServiceError::Domain(DomainError::ResetNotFound(_))
    ));
    let reviewer = Caller::Reviewer {
        reviewer_id: "rev".into(),
    };
    assert!(matches!(
        w.retrieval().start_password_reset(&reviewer, now).await,
        Err(ServiceError::Forbidden)
    ));
    // A token naming an entity the provider has no filings of: refused, not a fault (a 5xx).
    let unknown = customer("e-not-imported");
    assert!(matches!(
        w.retrieval().start_password_reset(&unknown, now).await,
        Err(ServiceError::Forbidden)
    ));
    assert!(matches!(
        w.retrieval()
            .confirm_password_reset(&unknown, &reset.reset_id, &code, NEW, now)
            .await,
        Err(ServiceError::Forbidden)
    ));
    assert_eq!(entity(&w).await, before);
}

#[tokio::test]
async fn one_code_a_minute_and_five_a_day() {
    let w = world();
    let t0 = Utc::now();
    start(&w, t0).await;
    let retry = |e: ServiceError| match e {
        ServiceError::Domain(DomainError::TooManyCodes {
            retry_after_seconds,
        }) => retry_after_seconds,
        other => panic!("{other:?}"),
    };
    let soon = w
        .retrieval()
        .start_password_reset(&customer("e1"), t0 + Duration::seconds(20))
        .await
        .unwrap_err();
    assert_eq!(retry(soon), 40);
    for n in 1..5 {
        start(&w, t0 + Duration::minutes(2 * n)).await;
    }
    let sixth = w
        .retrieval()
        .start_password_reset(&customer("e1"), t0 + Duration::minutes(20))
        .await
        .unwrap_err();
    assert_eq!(retry(sixth), Duration::hours(24).num_seconds() - 20 * 60);
    // A day after the first code, one more may go.
    start(&w, t0 + Duration::hours(24) + Duration::seconds(1)).await;
}

/// A request submitted before the password changed keeps the password it was submitted with;
/// one submitted after needs the new one.
#[tokio::test]
async fn a_request_in_flight_keeps_the_password_it_was_submitted_with() {
    let w = world();
    let submit = |website_id: &'static str, password: &'static str, key: &'static str| {
        let w = &w;
        async move {
            let raw = format!(
                r#"{{"type":"access_cancellation","websiteId":"{website_id}","licensePassword":"{password}"}}"#
            );
            let input = SubmitInput {
                idempotency_key: key,
                request_type: "access_cancellation",
                website_id,
                license_password: password,
                service_ips: None,
                ip_policy: &IpPolicy::default(),
                raw_body: raw.as_bytes(),
            };
            w.submitting()
                .submit(&customer("e1"), &input, new_request_id(), Utc::now())
                .await
                .unwrap()
        }
    };
    let verify = |r: Request| {
        let w = &w;
        async move {
            w.verification()
                .verify_password(
                    &r.request_id,
                    1,
                    Utc::now(),
                    LockPolicy::default(),
                    Utc::now(),
                )
                .await
                .unwrap()
        }
    };
    let in_flight = submit("w1", OLD, "k1").await;
    let reset = start(&w, Utc::now()).await;
    confirm(&w, &reset, &code_sent(&w), NEW, Utc::now())
        .await
        .unwrap();
    assert_eq!(verify(in_flight).await, VerifyOutcome::Accepted);
    let after = submit("w2", OLD, "k2").await;
    assert_eq!(verify(after).await, VerifyOutcome::Rejected);
}

#[tokio::test]
async fn the_impact_preview_reads_the_callers_website_only() {
    let w = world();
    let impact = w
        .impact_preview()
        .impact(&customer("e1"), "w1", "access_cancellation")
        .await
        .unwrap();
    assert!(!impact.last_website, "e1 has two websites");
    let codes: Vec<_> = impact.consequences.iter().map(|c| c.code).collect();
    assert!(codes.contains(&"move_filing_to_new_provider"), "{codes:?}");
    let last = w
        .impact_preview()
        .impact(&customer("e2"), "w3", "website_cancellation")
        .await
        .unwrap();
    assert!(last.last_website);
    assert!(matches!(
        w.impact_preview()
            .impact(&customer("e2"), "w1", "access_change")
            .await,
        Err(ServiceError::Forbidden)
    ));
    let bad = w
        .impact_preview()
        .impact(&customer("e1"), "w1", "nonsense")
        .await
        .unwrap_err();
    assert_eq!(error_code(bad), "invalid_request_type");
}
