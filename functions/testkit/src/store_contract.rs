//! One suite of store behaviour, run against the in-memory fake and against DynamoDB Local
//! (the adapters' tests run both), so the fake cannot drift from the real thing.

use chrono::{Duration, Utc};
use icp_domain::password_reset::PasswordReset;
use icp_domain::ports::{
    Claim, CreateError, Filings, NotificationLedger, PasswordChecks, PasswordResets, Requests,
    ReviewQueue, TaskTokens, TokenSlot,
};
use icp_domain::*;
use std::future::Future;

use crate::memory::MemoryStore;

/// Puts the entities and websites a suite starts from (the store itself has no use for
/// writing them).
pub trait Seed {
    fn seed(&self, entity: &Entity, websites: &[Website]) -> impl Future<Output = ()>;
}

impl Seed for MemoryStore {
    async fn seed(&self, entity: &Entity, websites: &[Website]) {
        self.put_entity(entity.clone());
        for w in websites {
            self.put_website(w.clone());
        }
    }
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

pub fn fixture() -> (Entity, Vec<Website>) {
    let entity = Entity {
        entity_id: unique("ent"),
        name: "Test Co".into(),
        entity_license_number: "京ICP备12345678号".into(),
        password_hash: "$argon2id$unused".into(),
        phone: "+8613800000000".into(),
        email: "ops@example.cn".into(),
        language: None,
        failed_password_attempts: 0,
        locked_until: None,
        retrieval: Default::default(),
    };
    let websites = ["a.example.cn", "b.example.cn"]
        .iter()
        .enumerate()
        .map(|(i, domain)| Website {
            website_id: unique("web"),
            entity_id: entity.entity_id.clone(),
            domain: domain.to_string(),
            website_license_number: format!("京ICP备12345678号-{}", i + 1),
            service_ips: vec!["203.0.113.10".into()],
            status: WebsiteStatus::Active,
            open_request_id: None,
        })
        .collect();
    (entity, websites)
}

pub fn idempotency(entity: &Entity, key: &str, request: &Request) -> IdempotencyRecord {
    IdempotencyRecord {
        scope_key: IdempotencyRecord::scope_key(&entity.entity_id, key),
        body_fingerprint: "fp".into(),
        request_id: request.request_id.clone(),
        created_at: request.created_at,
    }
}

pub fn new_request(website: &Website, at: chrono::DateTime<Utc>) -> Request {
    Request::submitted(
        new_request_id(),
        RequestType::AccessCancellation,
        website,
        None,
        format!("customer:{}", website.entity_id),
        at,
    )
}

/// "Modify and Submit" of a rejected request: attempt 2, with a fresh sealed password.
pub fn resubmission(rejected: &Request, at: chrono::DateTime<Utc>) -> Transition {
    let mut again = rejected
        .transition(
            Status::Submitted,
            "customer",
            HistoryEvent::Resubmitted { attempt: 2 },
            at,
        )
        .unwrap();
    again.next_attempt = Some(NextAttempt {
        service_ips: None,
        sealed_password: "sealed-2".into(),
    });
    again
}

/// Every role's section, on one store.
pub async fn run<S>(store: &S, seeder: &impl Seed)
where
    S: Filings
        + Requests
        + ReviewQueue
        + TaskTokens
        + PasswordChecks
        + PasswordResets
        + NotificationLedger,
{
    // Filings
    filings_suite(store, seeder).await;
    // Requests
    requests_suite(store, seeder).await;
    withdrawal_suite(store, seeder).await;
    reopening_suite(store, seeder).await;
    next_attempt_suite(store, seeder).await;
    // ReviewQueue
    review_queue_suite(store, seeder).await;
    review_decision_suite(store, seeder).await;
    // TaskTokens
    task_tokens_suite(store, seeder).await;
    // PasswordChecks
    password_checks_suite(store, seeder).await;
    // PasswordResets
    password_resets_suite(store, seeder).await;
    // NotificationLedger
    notification_ledger_suite(store).await;
}

/// Reading what was seeded, creating a request with its claim and key, transitions.
async fn requests_suite(store: &(impl Filings + Requests + PasswordChecks), seeder: &impl Seed) {
    let (entity, websites) = fixture();
    seeder.seed(&entity, &websites).await;
    let site = &websites[0];
    let t0 = Utc::now();

    // Listing and reading what was seeded.
    assert_eq!(
        store.get_entity(&entity.entity_id).await.unwrap(),
        Some(entity.clone())
    );
    let listed = store.list_websites(&entity.entity_id).await.unwrap();
    assert_eq!(listed, websites, "websites by entity, in domain order");
    assert_eq!(store.get_request("req-missing").await.unwrap(), None);
    // Ids no item can have (DynamoDB keys are 1 to 2048 bytes) are simply not found.
    for impossible in [String::new(), "w".repeat(3000)] {
        assert_eq!(store.get_website(&impossible).await.unwrap(), None);
        assert_eq!(store.get_request(&impossible).await.unwrap(), None);
    }

    // Creating a request claims the website and records the key, all at once.
    let first = new_request(site, t0);
    let key = unique("key");
    store
        .create_request(&first, "sealed-1", &idempotency(&entity, &key, &first))
        .await
        .unwrap();
    assert_eq!(
        store.get_request(&first.request_id).await.unwrap(),
        Some(first.clone())
    );
    let claimed = store.get_website(&site.website_id).await.unwrap().unwrap();
    assert_eq!(
        claimed.open_request_id.as_deref(),
        Some(first.request_id.as_str())
    );
    let record = store
        .get_idempotency(&IdempotencyRecord::scope_key(&entity.entity_id, &key))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.request_id, first.request_id);
    assert_eq!(
        store
            .sealed_password(&first.request_id, 1)
            .await
            .unwrap()
            .as_deref(),
        Some("sealed-1")
    );
    assert_eq!(
        store.sealed_password(&first.request_id, 2).await.unwrap(),
        None
    );

    // The same key again, or another request on the busy website, writes nothing.
    let second = new_request(site, t0 + Duration::seconds(1));
    let taken = store
        .create_request(&second, "sealed-2", &idempotency(&entity, &key, &second))
        .await;
    assert!(
        matches!(taken, Err(CreateError::IdempotencyKeyTaken)),
        "{taken:?}"
    );
    let busy = store
        .create_request(
            &second,
            "sealed-2",
            &idempotency(&entity, &unique("key"), &second),
        )
        .await;
    assert!(
        matches!(busy, Err(CreateError::WebsiteUnavailable)),
        "{busy:?}"
    );
    assert_eq!(store.get_request(&second.request_id).await.unwrap(), None);

    // A transition applies once; the same one again is a conflict and changes nothing.
    let move_on = first
        .transition(
            Status::PendingFirstReview,
            "system:test",
            HistoryEvent::PasswordVerified { review_due_at: t0 },
            t0,
        )
        .unwrap();
    let moved = store.apply(&move_on).await.unwrap();
    assert_eq!(moved.status, Status::PendingFirstReview);
    assert_eq!(moved.history.len(), 2);
    assert_eq!(
        store.sealed_password(&first.request_id, 1).await.unwrap(),
        None,
        "erased once used"
    );
    assert!(matches!(
        store.apply(&move_on).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.get_request(&first.request_id).await.unwrap(),
        Some(moved.clone())
    );

    // Rejection reasons are recorded; closing the request frees the website.
    let mut close = moved
        .transition(
            Status::Withdrawn,
            "customer:test",
            HistoryEvent::Withdrawn,
            t0,
        )
        .unwrap();
    close.rejection_reasons = Some(vec!["r1".into(), "r2".into()]);
    let closed = store.apply(&close).await.unwrap();
    assert_eq!(
        closed.rejection_reasons,
        vec![Reason::from("r1"), Reason::from("r2")]
    );
    let freed = store.get_website(&site.website_id).await.unwrap().unwrap();
    assert_eq!(freed.open_request_id, None);

    // The next request on the website is accepted and listed first.
    store
        .create_request(
            &second,
            "sealed-2",
            &idempotency(&entity, &unique("key"), &second),
        )
        .await
        .unwrap();
    let history: Vec<String> = store
        .list_requests(&site.website_id)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.request_id)
        .collect();
    assert_eq!(
        history,
        vec![second.request_id.clone(), first.request_id.clone()]
    );
    assert!(store
        .list_requests(&websites[1].website_id)
        .await
        .unwrap()
        .is_empty());
}

/// The review queue pages soonest due first (not in order of creation); a page's position
/// leads on to the rest, each request once; a request leaves the queue with its first move
/// out of review. Other suites may share the store, so only this suite's requests are counted.
/// The reviewers' queue, read in pages of `limit` to its end: each page within its limit and of
/// requests awaiting review, each request once.
async fn review_queue_ids(store: &impl ReviewQueue, limit: usize) -> Vec<String> {
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let (page, last) = store.review_queue(limit, after.as_ref()).await.unwrap();
        assert!(page.len() <= limit, "a page holds at most its limit");
        assert!(page.iter().all(|r| r.status == Status::PendingFirstReview));
        seen.extend(page.into_iter().map(|r| r.request_id));
        match last {
            Some(position) => after = Some(position),
            None => break,
        }
    }
    let mut unique_seen = seen.clone();
    unique_seen.sort();
    unique_seen.dedup();
    assert_eq!(unique_seen.len(), seen.len(), "each request once");
    seen
}

async fn review_queue_suite(store: &(impl Requests + ReviewQueue), seeder: &impl Seed) {
    let mut ours = Vec::new();
    // Ahead of the clock: on the local stack the sweeper (every minute) takes a request left
    // untouched for 20 s without an execution for one a fault stranded, and records it failed.
    let t0 = Utc::now() + Duration::hours(1);
    for i in 0..3 {
        let (entity, websites) = fixture();
        seeder.seed(&entity, &websites).await;
        let at = t0 + Duration::milliseconds(i);
        let r = new_request(&websites[0], at);
        store
            .create_request(&r, "sealed", &idempotency(&entity, &unique("key"), &r))
            .await
            .unwrap();
        // The later created, the sooner due.
        ours.push(awaiting_review(store, &r, at, t0 + Duration::days(3 - i)).await);
    }
    let ids: Vec<String> = ours.iter().map(|r| r.request_id.clone()).collect();
    let order: Vec<String> = review_queue_ids(store, 2)
        .await
        .into_iter()
        .filter(|id| ids.contains(id))
        .collect();
    let soonest_first: Vec<String> = ids.iter().rev().cloned().collect();
    assert_eq!(order, soonest_first, "soonest due first, all of them");

    let withdrawn = ours[0]
        .transition(Status::Withdrawn, "customer", HistoryEvent::Withdrawn, t0)
        .unwrap();
    store.apply(&withdrawn).await.unwrap();
    let order: Vec<String> = review_queue_ids(store, 2)
        .await
        .into_iter()
        .filter(|id| ids.contains(id))
        .collect();
    assert_eq!(
        order,
        soonest_first[..2],
        "a request out of review leaves the queue"
    );
}

/// A withdrawal guarded by `unless_approved` loses to a recorded approval (the forward to the
/// authority may be under way), not to a recorded rejection.
async fn withdrawal_suite(
    store: &(impl Requests + Filings + ReviewQueue + TaskTokens),
    seeder: &impl Seed,
) {
    let (entity, websites) = fixture();
    seeder.seed(&entity, &websites).await;
    let now = Utc::now();
    for (site, decision, withdrawn) in [
        (&websites[0], Decision::Approve, false),
        (&websites[1], Decision::Reject, true),
    ] {
        let r = new_request(site, now);
        store
            .create_request(&r, "sealed", &idempotency(&entity, &unique("key"), &r))
            .await
            .unwrap();
        let pending = awaiting_review(store, &r, now, now + Duration::days(1)).await;
        let review = ReviewDecision {
            decision,
            reasons: vec!["reason".into()],
            reviewer: "rev-1".into(),
            at: now,
        };
        let issued = "2026-11-23T10:00:00.000Z";
        store
            .put_task_token(&r.request_id, 1, TokenSlot::FirstReview, "kept", issued)
            .await
            .unwrap();
        assert_eq!(
            store
                .record_review(&r.request_id, 1, &review)
                .await
                .unwrap()
                .as_deref(),
            Some("kept"),
            "the token kept when the decision was recorded"
        );
        let mut withdraw = pending
            .transition(Status::Withdrawn, "customer", HistoryEvent::Withdrawn, now)
            .unwrap();
        withdraw.unless_approved = true;
        let result = store.apply(&withdraw).await;
        assert_eq!(result.is_ok(), withdrawn, "{decision:?}: {result:?}");
        if !withdrawn {
            assert!(matches!(result, Err(StoreError::Conflict(_))), "{result:?}");
            let unchanged = store.get_request(&r.request_id).await.unwrap().unwrap();
            assert_eq!(unchanged.status, Status::PendingFirstReview);
        }
    }
}

/// The import's writes: an entity's filing replaced while what the system keeps of it stays; a
/// website's filing written, refused while it has an open request.
async fn filings_suite(store: &(impl Filings + Requests), seeder: &impl Seed) {
    let (mut entity, websites) = fixture();
    entity.failed_password_attempts = 3;
    seeder.seed(&entity, &websites).await;
    let imported = Entity {
        name: "Imported Co".into(),
        phone: "+8613900000000".into(),
        language: Some(Language::En),
        failed_password_attempts: 0,
        ..entity.clone()
    };
    store.write_entity(&imported).await.unwrap();
    let read = store.get_entity(&entity.entity_id).await.unwrap().unwrap();
    assert_eq!(
        read,
        Entity {
            failed_password_attempts: 3,
            ..imported.clone()
        },
        "the filing replaced, the count kept"
    );
    let no_language = Entity {
        language: None,
        ..imported.clone()
    };
    store.write_entity(&no_language).await.unwrap();
    let read = store.get_entity(&entity.entity_id).await.unwrap().unwrap();
    assert_eq!(read.language, None);

    let fresh = Entity {
        entity_id: unique("ent"),
        ..imported.clone()
    };
    store.write_entity(&fresh).await.unwrap();
    let read = store.get_entity(&fresh.entity_id).await.unwrap().unwrap();
    assert_eq!(read.failed_password_attempts, 0);
    assert_eq!(read.name, "Imported Co");
    // Read in batches: those that exist, once each, in any order.
    let mut ids: Vec<String> = (0..150).map(|_| unique("ent-none")).collect();
    ids.extend([
        entity.entity_id.clone(),
        fresh.entity_id.clone(),
        fresh.entity_id.clone(),
    ]);
    let mut found: Vec<String> = store
        .entities(&ids)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.entity_id)
        .collect();
    found.sort();
    let mut expected = vec![entity.entity_id.clone(), fresh.entity_id.clone()];
    expected.sort();
    assert_eq!(found, expected);

    let new_site = Website {
        website_id: unique("web"),
        domain: "new.example.cn".into(),
        ..websites[0].clone()
    };
    store.write_website(&new_site).await.unwrap();
    assert_eq!(
        store.get_website(&new_site.website_id).await.unwrap(),
        Some(new_site.clone())
    );
    let moved = Website {
        service_ips: vec!["203.0.113.77".into()],
        ..websites[1].clone()
    };
    store.write_website(&moved).await.unwrap();
    assert_eq!(
        store.get_website(&moved.website_id).await.unwrap(),
        Some(moved.clone())
    );
    let ids = [new_site.website_id.clone(), unique("web-none")];
    assert_eq!(store.websites(&ids).await.unwrap(), vec![new_site.clone()]);
    // A request opens on it: the filing is not changed.
    let r = new_request(&moved, Utc::now());
    store
        .create_request(&r, "sealed", &idempotency(&entity, &unique("key"), &r))
        .await
        .unwrap();
    let refused = store
        .write_website(&Website {
            service_ips: vec!["203.0.113.78".into()],
            ..moved.clone()
        })
        .await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(_))),
        "{refused:?}"
    );
    let kept = store.get_website(&moved.website_id).await.unwrap().unwrap();
    assert_eq!(kept.service_ips, vec!["203.0.113.77".to_string()]);
    assert_eq!(kept.open_request_id.as_deref(), Some(r.request_id.as_str()));
}

/// A failed request reopened (an operator's re-drive) holds its website open again, in the same
/// write, and is back in the reviewers' queue, due when it was; with another request holding
/// the website, it is refused and nothing changes.
async fn reopening_suite(store: &(impl Requests + Filings + ReviewQueue), seeder: &impl Seed) {
    let (entity, websites) = fixture();
    seeder.seed(&entity, &websites).await;
    let site = &websites[0];
    let now = Utc::now();
    let r = new_request(site, now);
    store
        .create_request(&r, "sealed", &idempotency(&entity, &unique("key"), &r))
        .await
        .unwrap();
    let fail = |request: &Request| {
        request
            .transition(
                Status::Failed,
                "system",
                HistoryEvent::Failed {
                    cause: history::FailureCause::StepFailed("UnexpectedOutcome".into()),
                },
                now,
            )
            .unwrap()
    };
    let due = now + Duration::days(1);
    let pending = awaiting_review(store, &r, now, due).await;
    let failed = store.apply(&fail(&pending)).await.unwrap();
    let free = store.get_website(&site.website_id).await.unwrap().unwrap();
    assert_eq!(
        free.open_request_id, None,
        "a failed request frees its website"
    );
    assert!(
        !review_queue_ids(store, 50).await.contains(&r.request_id),
        "a failed request leaves the reviewers' queue"
    );

    let reopened = store
        .apply(&failed.reopening("operator:ops-1", now).unwrap())
        .await
        .unwrap();
    assert_eq!(reopened.status, Status::PendingFirstReview);
    assert_eq!(reopened.review_due_at, Some(due));
    let held = store.get_website(&site.website_id).await.unwrap().unwrap();
    assert_eq!(held.open_request_id.as_deref(), Some(r.request_id.as_str()));
    assert!(
        review_queue_ids(store, 50).await.contains(&r.request_id),
        "a reopened request is back in the reviewers' queue"
    );

    // Failed again, and the website taken by another request meanwhile.
    let failed = store.apply(&fail(&reopened)).await.unwrap();
    let other = new_request(site, now);
    store
        .create_request(
            &other,
            "sealed",
            &idempotency(&entity, &unique("key"), &other),
        )
        .await
        .unwrap();
    let refused = store
        .apply(&failed.reopening("operator:ops-1", now).unwrap())
        .await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(_))),
        "{refused:?}"
    );
    let still = store.get_request(&r.request_id).await.unwrap().unwrap();
    assert_eq!(still.status, Status::Failed);
    let taken = store.get_website(&site.website_id).await.unwrap().unwrap();
    assert_eq!(
        taken.open_request_id.as_deref(),
        Some(other.request_id.as_str())
    );
}

/// The reviewer's decision is recorded once, on a request awaiting first review.
async fn review_decision_suite(store: &(impl Requests + ReviewQueue), seeder: &impl Seed) {
    let now = Utc::now();
    let (_, _, r) = submitted(store, seeder, now).await;

    let review = rejection(now);
    assert!(
        matches!(
            store.record_review(&r.request_id, 1, &review).await,
            Err(StoreError::Conflict(_))
        ),
        "not awaiting review yet"
    );
    let pending = awaiting_review(store, &r, now, now + Duration::days(1)).await;
    assert_eq!(
        pending.review_due_at.map(|d| d.timestamp()),
        Some((now + Duration::days(1)).timestamp())
    );
    assert!(store
        .requests_in_status(Status::PendingFirstReview)
        .await
        .unwrap()
        .iter()
        .any(|p| p.request_id == r.request_id));
    assert_eq!(
        store
            .record_review(&r.request_id, 1, &review)
            .await
            .unwrap(),
        None,
        "no token kept yet"
    );
    assert!(matches!(
        store.record_review(&r.request_id, 1, &review).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store
            .get_request(&r.request_id)
            .await
            .unwrap()
            .unwrap()
            .review,
        Some(review.clone())
    );
}

/// Task tokens are kept per attempt and wait; a stale one never replaces a live one.
async fn task_tokens_suite(store: &(impl Requests + TaskTokens), seeder: &impl Seed) {
    let (_, _, r) = submitted(store, seeder, Utc::now()).await;

    let issued = "2026-11-23T10:00:00.000Z";
    assert!(store
        .put_task_token(
            &r.request_id,
            1,
            TokenSlot::FirstReview,
            "sealed-token",
            issued
        )
        .await
        .unwrap());
    // The token of an earlier wait (a timed-out or retried one) never replaces a later one's.
    let earlier = "2026-11-23T09:59:59.999Z";
    assert!(!store
        .put_task_token(&r.request_id, 1, TokenSlot::FirstReview, "stale", earlier)
        .await
        .unwrap());
    assert_eq!(
        store
            .task_token(&r.request_id, 1, TokenSlot::FirstReview)
            .await
            .unwrap()
            .as_deref(),
        Some("sealed-token")
    );
    assert_eq!(
        store
            .task_token(&r.request_id, 1, TokenSlot::Authority)
            .await
            .unwrap(),
        None
    );
    assert!(matches!(
        store
            .put_task_token(&r.request_id, 2, TokenSlot::FirstReview, "x", issued)
            .await,
        Err(StoreError::Conflict(_))
    ));
}

/// License password checks are counted before they are judged.
async fn password_checks_suite(store: &(impl Filings + PasswordChecks), seeder: &impl Seed) {
    let (entity, websites) = fixture();
    seeder.seed(&entity, &websites).await;
    let now = Utc::now();
    let until = now + Duration::minutes(30);
    let eid = entity.entity_id.as_str();

    // License password checks are counted before they are judged: reserved up to the limit
    // (a second reservation of the same check is the same one), five mismatches settled lock
    // the entity, a lock run out starts the count again, a match clears it.
    let read = || async { store.get_entity(eid).await.unwrap().unwrap() };
    for n in 0..5 {
        let check = format!("req-{n}#1");
        assert!(store
            .reserve_password_check(eid, &check, 5, None)
            .await
            .unwrap());
        assert!(
            store
                .reserve_password_check(eid, &check, 5, None)
                .await
                .unwrap(),
            "the same check"
        );
    }
    assert_eq!(
        read().await.failed_password_attempts,
        5,
        "each counted once"
    );
    assert!(
        !store
            .reserve_password_check(eid, "req-5#1", 5, None)
            .await
            .unwrap(),
        "no sixth in flight"
    );
    for n in 0..4 {
        let check = format!("req-{n}#1");
        store
            .settle_password_check(eid, &check, false, 5, until)
            .await
            .unwrap();
    }
    assert_eq!(
        read().await.locked_until.map(|t| t.timestamp()),
        Some(until.timestamp()),
        "at the limit"
    );
    store
        .settle_password_check(eid, "req-4#1", false, 5, until)
        .await
        .unwrap();
    store
        .settle_password_check(eid, "req-4#1", true, 5, until)
        .await
        .unwrap();
    let locked = read().await;
    assert_eq!(
        locked.failed_password_attempts, 5,
        "a settled check settles once"
    );
    assert!(
        !store
            .reserve_password_check(eid, "req-6#1", 5, None)
            .await
            .unwrap(),
        "locked"
    );
    // Once the lock ran out, the next check counts one (a lock the check did not see, e.g. a
    // newer one, is left alone).
    let stale = until - Duration::minutes(1);
    assert!(!store
        .reserve_password_check(eid, "req-7#1", 5, Some(stale))
        .await
        .unwrap());
    assert!(store
        .reserve_password_check(eid, "req-7#1", 5, locked.locked_until)
        .await
        .unwrap());
    let restarted = read().await;
    assert_eq!(
        (restarted.failed_password_attempts, restarted.locked_until),
        (1, None)
    );
    store
        .settle_password_check(eid, "req-7#1", true, 5, until)
        .await
        .unwrap();
    let cleared = read().await;
    assert_eq!(
        (cleared.failed_password_attempts, cleared.locked_until),
        (0, None)
    );
}

/// License password retrieval on a locked entity.
async fn password_resets_suite(
    store: &(impl Filings + PasswordChecks + PasswordResets),
    seeder: &impl Seed,
) {
    let (entity, websites) = fixture();
    seeder.seed(&entity, &websites).await;
    let now = Utc::now();
    let until = now + Duration::minutes(30);
    let eid = entity.entity_id.as_str();
    let read = || async { store.get_entity(eid).await.unwrap().unwrap() };
    // Locked again for the password reset below.
    for n in 10..15 {
        let check = format!("req-{n}#1");
        assert!(store
            .reserve_password_check(eid, &check, 5, None)
            .await
            .unwrap());
        store
            .settle_password_check(eid, &check, false, 5, until)
            .await
            .unwrap();
    }
    assert!(read().await.locked_until.is_some());

    // A password reset: started once per read of the codes sent; each code's try counted
    // before it is judged, up to the limit, never on another or a completed reset; completing
    // it sets the hash (keeping the old one), clears the count and the lock.
    let reset = |id: &str| PasswordReset {
        reset_id: id.into(),
        code_digest: "digest".into(),
        expires_at: now + Duration::minutes(10),
        tries: 0,
        completed_at: None,
    };
    let sent = [now];
    store
        .start_password_reset(eid, &reset("rst-1"), &sent, &[])
        .await
        .unwrap();
    assert!(matches!(
        store
            .start_password_reset(eid, &reset("rst-x"), &sent, &[])
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.reserve_code_try(eid, "rst-1", 2).await.unwrap(),
        Some(1)
    );
    assert_eq!(
        store.reserve_code_try(eid, "rst-1", 2).await.unwrap(),
        Some(2)
    );
    assert_eq!(
        store.reserve_code_try(eid, "rst-1", 2).await.unwrap(),
        None,
        "the limit"
    );
    assert_eq!(
        store.reserve_code_try(eid, "rst-x", 5).await.unwrap(),
        None,
        "another reset"
    );
    assert!(matches!(
        store
            .complete_password_reset(eid, "rst-x", "hash-2", now)
            .await,
        Err(StoreError::Conflict(_))
    ));
    store
        .complete_password_reset(eid, "rst-1", "hash-2", now)
        .await
        .unwrap();
    assert!(matches!(
        store
            .complete_password_reset(eid, "rst-1", "hash-3", now)
            .await,
        Err(StoreError::Conflict(_))
    ));
    let changed = store.get_entity(eid).await.unwrap().unwrap();
    assert_eq!(changed.password_hash, "hash-2");
    assert_eq!(
        changed.retrieval.previous_password_hash.as_deref(),
        Some(entity.password_hash.as_str())
    );
    assert_eq!(changed.retrieval.password_changed_at, Some(now));
    assert_eq!(
        (changed.failed_password_attempts, changed.locked_until),
        (0, None)
    );
    let done = changed.retrieval.password_reset.clone().unwrap();
    assert_eq!((done.tries, done.completed_at), (2, Some(now)));
    assert_eq!(changed.retrieval.reset_codes_sent, sent.to_vec());
    assert_eq!(
        store.reserve_code_try(eid, "rst-1", 5).await.unwrap(),
        None,
        "completed"
    );
    let again = [now, now + Duration::minutes(2)];
    store
        .start_password_reset(eid, &reset("rst-2"), &again, &sent)
        .await
        .unwrap();
    let restarted = store.get_entity(eid).await.unwrap().unwrap();
    assert_eq!(restarted.retrieval.password_reset, Some(reset("rst-2")));
    assert_eq!(restarted.retrieval.reset_codes_sent, again.to_vec());
}

/// Notifications are claimed under a lease and settled once.
async fn notification_ledger_suite(store: &impl NotificationLedger) {
    // A notification is claimed under a lease: in flight while it runs, claimed again once
    // it ran out unfinished (its sender died), settled once finished.
    let id = format!("{}#1#submitted#sms", unique("req"));
    let now = Utc::now();
    let later = |seconds| now + Duration::seconds(seconds);
    let claim = |at, until| store.claim_notification(&id, at, until);
    assert_eq!(claim(now, later(40)).await.unwrap(), Claim::Claimed);
    assert_eq!(
        claim(later(39), later(79)).await.unwrap(),
        Claim::InFlight,
        "claimed once while the lease runs"
    );
    assert_eq!(
        claim(later(41), later(81)).await.unwrap(),
        Claim::Claimed,
        "claimed again once the lease ran out"
    );
    assert_eq!(claim(later(42), later(82)).await.unwrap(), Claim::InFlight);
    store
        .finish_notification(&id, Some("SNS down"))
        .await
        .unwrap();
    assert_eq!(
        claim(later(500), later(560)).await.unwrap(),
        Claim::Settled,
        "a finished notification is never claimed again"
    );
}

/// "Modify and Submit" starts the next attempt afresh, and completion applies its effect to the
/// website with the release.
async fn next_attempt_suite(
    store: &(impl Requests + Filings + ReviewQueue + TaskTokens + PasswordChecks),
    seeder: &impl Seed,
) {
    let now = Utc::now();
    let (entity, websites, r) = submitted(store, seeder, now).await;
    let site = &websites[0];
    let pending = awaiting_review(store, &r, now, now + Duration::days(1)).await;
    let review = rejection(now);
    store
        .record_review(&r.request_id, 1, &review)
        .await
        .unwrap();
    assert!(store
        .put_task_token(
            &r.request_id,
            1,
            TokenSlot::FirstReview,
            "sealed-token",
            "2026-11-23T10:00:00.000Z"
        )
        .await
        .unwrap());

    // Rejected, then "Modify and Submit": attempt 2 with a fresh sealed password; the old
    // decision and tokens are gone.
    let rejected = store
        .apply(
            &pending
                .transition(
                    Status::FirstReviewRejected,
                    "rev",
                    HistoryEvent::RejectedAtFirstReview,
                    now,
                )
                .unwrap(),
        )
        .await
        .unwrap();
    let again = store.apply(&resubmission(&rejected, now)).await.unwrap();
    assert_eq!(
        (again.attempt, again.status, again.review.clone()),
        (2, Status::Submitted, None)
    );
    assert_eq!(
        store
            .sealed_password(&r.request_id, 2)
            .await
            .unwrap()
            .as_deref(),
        Some("sealed-2")
    );
    assert_eq!(
        store
            .task_token(&r.request_id, 2, TokenSlot::FirstReview)
            .await
            .unwrap(),
        None
    );

    // Completion applies its effect to the website with the release.
    complete(store, again, WebsiteEffect::Clear).await;
    let cleared = store.get_website(&site.website_id).await.unwrap().unwrap();
    assert_eq!(
        (cleared.status, cleared.open_request_id),
        (WebsiteStatus::Cleared, None)
    );

    let other = new_request(&websites[1], now);
    store
        .create_request(&other, "s", &idempotency(&entity, &unique("key"), &other))
        .await
        .unwrap();
    complete(
        store,
        other,
        WebsiteEffect::ReplaceServiceIps(vec!["198.51.100.99".into()]),
    )
    .await;
    let changed = store
        .get_website(&websites[1].website_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(changed.service_ips, ["198.51.100.99"]);
    assert_eq!(
        (changed.status, changed.open_request_id),
        (WebsiteStatus::Active, None)
    );
}

/// A fresh fixture, seeded, with a request submitted at `at` on its first website.
async fn submitted(
    store: &impl Requests,
    seeder: &impl Seed,
    at: chrono::DateTime<Utc>,
) -> (Entity, Vec<Website>, Request) {
    let (entity, websites) = fixture();
    seeder.seed(&entity, &websites).await;
    let r = new_request(&websites[0], at);
    store
        .create_request(&r, "sealed-1", &idempotency(&entity, &unique("key"), &r))
        .await
        .unwrap();
    (entity, websites, r)
}

/// `request` moved on at `at` to await its first review, due at `due`.
async fn awaiting_review(
    store: &impl Requests,
    request: &Request,
    at: chrono::DateTime<Utc>,
    due: chrono::DateTime<Utc>,
) -> Request {
    let mut pending = request
        .transition(
            Status::PendingFirstReview,
            "system",
            HistoryEvent::PasswordVerified { review_due_at: at },
            at,
        )
        .unwrap();
    pending.review_due_at = Some(due);
    store.apply(&pending).await.unwrap()
}

/// A reviewer's rejection at `at`.
fn rejection(at: chrono::DateTime<Utc>) -> ReviewDecision {
    ReviewDecision {
        decision: Decision::Reject,
        reasons: vec!["blurred licence photo".into()],
        reviewer: "rev-1".into(),
        at,
    }
}

/// Moves a submitted request through to completion with `effect`.
async fn complete(store: &impl Requests, mut at: Request, effect: WebsiteEffect) {
    let now = Utc::now();
    for to in [
        Status::PendingFirstReview,
        Status::ForwardedToAuthority,
        Status::Approved,
        Status::Completed,
    ] {
        // The store keeps any event; which one does not matter here.
        let mut t = at
            .transition(to, "system", HistoryEvent::AuthorityApproved, now)
            .unwrap();
        if to == Status::Completed {
            t.website_effect = Some(effect.clone());
        }
        at = store.apply(&t).await.unwrap();
    }
}
