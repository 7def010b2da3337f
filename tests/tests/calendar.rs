//! The working-day calendar on the deployed stack: a day off seeded for the test moves the first
//! review's due time past it. Its own test binary: it changes the calendar every function reads,
//! and cargo runs binaries one after another.

use chrono::{Datelike, Duration, SecondsFormat, Utc};
use e2e::{Stack, PASSWORD};
use icp_domain::calendar::{china_time, DaysOff, WorkingCalendar, YearSchedule};
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
    let expected = WorkingCalendar::new(&years)
        .unwrap()
        .one_working_day_after(began)
        .at
        .to_rfc3339_opts(SecondsFormat::Secs, false);
    assert_eq!(request["reviewDueAt"], expected.as_str(), "{request}");
    assert!(expected.ends_with("+08:00"));
    assert!(
        !expected.starts_with(&tomorrow.to_string()),
        "due on the seeded day off: {expected}"
    );
    assert!(
        reviewing["note"].as_str().unwrap().contains(&expected),
        "the history shows the clock: {reviewing}"
    );
    // The reviewers' queue shows the same due time, in China time.
    let mut path = "/reviews?limit=100".to_string();
    let listed = loop {
        let page = stack.get(&path, &stack.reviewer_token()).await.body;
        let found = page["reviews"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["requestId"] == id.as_str())
            .cloned();
        match (found, page["nextToken"].as_str()) {
            (Some(listed), _) => break listed,
            (None, Some(next)) => path = format!("/reviews?limit=100&nextToken={next}"),
            (None, None) => panic!("{id} is not in the review queue"),
        }
    };
    assert_eq!(listed["dueAt"], expected.as_str());
}
