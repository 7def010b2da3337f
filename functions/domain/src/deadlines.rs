//! The workflow's clocks: first review within 1 working day, the authority's deadline, how
//! long a rejected request waits for "Modify and Submit" before it expires.

use crate::calendar::{china_time, WorkingCalendar, WorkingDue};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

/// How many days a rejected request waits for "Modify and Submit" unless configured otherwise.
pub const REJECTED_EXPIRY_DAYS: i64 = 30;

/// Durations the state machine waits, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Deadlines {
    pub review_seconds: i64,
    pub authority_seconds: i64,
    pub reminder_seconds: i64,
    pub expiry_after_reminder_seconds: i64,
}

/// Configured durations; `review_override_seconds` replaces the working-day rule (for
/// rehearsals and tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeadlineConfig {
    pub review_override_seconds: Option<i64>,
    pub authority_seconds: i64,
    pub rejected_expiry_seconds: i64,
    pub reminder_before_expiry_seconds: i64,
}

impl Default for DeadlineConfig {
    fn default() -> DeadlineConfig {
        DeadlineConfig {
            review_override_seconds: None,
            authority_seconds: 30 * 24 * 3600,
            rejected_expiry_seconds: REJECTED_EXPIRY_DAYS * 24 * 3600,
            reminder_before_expiry_seconds: 3 * 24 * 3600,
        }
    }
}

impl DeadlineConfig {
    /// When a first review starting at `now` is due (1 working day by `calendar`, unless
    /// overridden), and the durations the workflow waits.
    pub fn for_review_starting(
        &self,
        now: DateTime<Utc>,
        calendar: &WorkingCalendar,
    ) -> (WorkingDue, Deadlines) {
        let due = match self.review_override_seconds {
            Some(seconds) => WorkingDue {
                at: (now + Duration::seconds(seconds)).with_timezone(&china_time()),
                guessed: false,
            },
            None => calendar.one_working_day_after(now),
        };
        let due_at = due.at.with_timezone(&Utc);
        let reminder = (self.rejected_expiry_seconds - self.reminder_before_expiry_seconds).max(1);
        let deadlines = Deadlines {
            review_seconds: (due_at - now).num_seconds().max(1),
            authority_seconds: self.authority_seconds.max(1),
            reminder_seconds: reminder,
            expiry_after_reminder_seconds: (self.rejected_expiry_seconds - reminder).max(1),
        };
        (due, deadlines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
    }

    #[test]
    fn durations_add_up_and_the_override_wins() {
        let config = DeadlineConfig {
            review_override_seconds: Some(90),
            ..DeadlineConfig::default()
        };
        let now = at(2026, 11, 23, 10);
        let calendar = WorkingCalendar::default();
        let (due, d) = config.for_review_starting(now, &calendar);
        assert_eq!(due.at, now + Duration::seconds(90));
        assert_eq!(d.review_seconds, 90);
        assert_eq!(
            d.reminder_seconds + d.expiry_after_reminder_seconds,
            30 * 24 * 3600
        );
        assert_eq!(d.expiry_after_reminder_seconds, 3 * 24 * 3600);
        let (due, d) = DeadlineConfig::default().for_review_starting(now, &calendar);
        assert_eq!(due.at, at(2026, 11, 24, 10));
        assert!(
            due.guessed,
            "a calendar without 2026 judges by weekday and says so"
        );
        assert_eq!(d.review_seconds, 24 * 3600);
    }
}
