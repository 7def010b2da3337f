//! The working-day calendar on the deployed stack: a day off seeded for the test moves the first
//! review's due time past it, and the reviewers are escalated only once the due time has passed.
//! Its own test binary: it changes the calendar every function reads, and cargo runs binaries
//! one after another.

use chrono::{Datelike, Duration, SecondsFormat, Utc};
use e2e::{Stack, PASSWORD};
use icp_domain::calendar::{china_time, for_people, DaysOff, WorkingCalendar, YearSchedule};
use icp_domain::Language;
use serde_json::json;

/// Puts the calendar's year back however the test ends (and restarts the function that read
/// the test's calendar).
struct Restore<'a> {
    stack: &'a Stack,
    year: i32,
    original: Option<YearSchedule>,
}

impl Drop for Restore<'_> {
    fn drop(&mut self) {
        let (stack, year, original) = (self.stack, self.year, self.original.take());
        std::thread::scope(|scope| {
            scope.spawn(|| {
                tokio::runtime::Runtime::new().unwrap().block_on(async {
                    match &original {
                        Some(schedule) => stack.put_calendar_year(schedule).await,
                        None => stack.delete_calendar_year(year).await,
                    }
                })
            });
        });
        stack.kill_function("verify-password");
    }
}

#[tokio::test]
#[ignore = "needs the local stack: run by make test"]
async fn a_day_off_seeded_in_the_calendar_moves_the_review_due_time_past_it() {
    let stack = Stack::connect().await;
    let customer = stack.new_customer(1).await;
    // Tomorrow in China becomes a day off (and a make-up working day is never tomorrow).
    let tomorrow = (Utc::now().with_timezone(&china_time()) + Duration::days(1)).date_naive();
    let year = tomorrow.year();
    let original = stack.calendar_year(year).await;
    let mut seeded = original.clone().unwrap_or(YearSchedule {
        year,
        source: "e2e test".into(),
        days_off: vec![],
        workdays: vec![],
    });
    seeded.workdays.retain(|d| *d != tomorrow);
    seeded.days_off.push(DaysOff {
        from: tomorrow,
        to: tomorrow,
        name: "e2e day off".into(),
    });
    let _restore = Restore {
        stack: &stack,
        year,
        original,
    };
    stack.put_calendar_year(&seeded).await;
    // A cold start reads the seeded calendar.
    stack.kill_function("verify-password");

    let body = json!({"type": "access_cancellation", "websiteId": customer.website_ids[0], "licensePassword": PASSWORD});
    let id = stack.submit_to_first_review(&customer.token, &body).await;
    let request = stack
        .get(&format!("/requests/{id}"), &customer.token)
        .await
        .body;
    let reviewing = request["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["status"] == "pending_first_review")
        .unwrap();
    // Due one working day after the review began, by the seeded calendar, never tomorrow.
    let began: chrono::DateTime<Utc> = reviewing["at"].as_str().unwrap().parse().unwrap();
    let mut years = vec![seeded.clone()];
    if let Some(next) = stack.calendar_year(year + 1).await {
        years.push(next);
    }
    let due = WorkingCalendar::new(&years)
        .unwrap()
        .one_working_day_after(began)
        .at;
    let expected = due.to_rfc3339_opts(SecondsFormat::Secs, false);
    assert_eq!(request["reviewDueAt"], expected.as_str(), "{request}");
    assert!(expected.ends_with("+08:00"));
    assert!(
        !expected.starts_with(&tomorrow.to_string()),
        "due on the seeded day off: {expected}"
    );
    assert!(
        reviewing["note"]
            .as_str()
            .unwrap()
            .contains(&for_people(due.with_timezone(&Utc), Language::En)),
        "the history shows the clock: {reviewing}"
    );
    // The reviewers' queue shows the same due time, in China time.
    let listed = stack
        .listed_review(&id)
        .await
        .unwrap_or_else(|| panic!("{id} is not in the review queue"));
    assert_eq!(listed["dueAt"], expected.as_str());
}

/// The review's timer ends (first-review's `overdue`, invoked as Step Functions does): before
/// the request's due time nothing is sent; with first-review's clock moved past the due time
/// the reviewers are escalated, once per escalation.
#[tokio::test]
#[ignore = "needs the local stack: run by make test"]
async fn the_reviewers_are_escalated_only_once_the_working_day_has_passed() {
    let stack = Stack::connect().await;
    let customer = stack.new_customer(1).await;
    let body = json!({"type": "access_cancellation", "websiteId": customer.website_ids[0], "licensePassword": PASSWORD});
    let id = stack.submit_to_first_review(&customer.token, &body).await;
    let reviewer = stack.demo["reviewerEmail"].as_str().unwrap().to_string();
    let domain = customer.domains[0].clone();
    let stack = &stack;
    let escalations = || async {
        stack
            .emails_to(&reviewer)
            .await
            .into_iter()
            .filter(|s| s.contains("First review overdue") && s.contains(&domain))
            .count()
    };
    let timer_ends = |occasion: &'static str| {
        let event =
            json!({"action": "overdue", "requestId": id, "attempt": 1, "escalatedAt": occasion});
        async move { stack.invoke_function("first-review", &event).await }
    };

    timer_ends("2026-01-01T00:00:00.000Z").await;
    assert_eq!(
        escalations().await,
        0,
        "escalated before the working day passed"
    );

    // first-review's clock moved to 5 minutes past the due time (and back however the test ends).
    let request = stack
        .get(&format!("/requests/{id}"), &customer.token)
        .await
        .body;
    let due = chrono::DateTime::parse_from_rfc3339(request["reviewDueAt"].as_str().unwrap())
        .expect("reviewDueAt is RFC 3339");
    let ahead = (due.with_timezone(&Utc) - Utc::now() + Duration::minutes(5)).num_seconds();
    let clock = stack.clock_of("first-review");
    clock.moved_by(ahead).await;
    timer_ends("2026-01-01T00:00:01.000Z").await;
    timer_ends("2026-01-01T00:00:01.000Z").await;
    let told = e2e::poll(
        std::time::Duration::from_secs(30),
        std::time::Duration::from_millis(500),
        escalations,
        |n| *n >= 1,
    )
    .await;
    assert_eq!(told, 1, "one escalation, once the due time has passed");
}
