//! Working days as mainland China keeps them: China time (UTC+8, no daylight saving), Monday to
//! Friday, less the public holidays, plus the make-up working days (调休) of the State Council's
//! yearly schedule. The schedules are data (`infra/calendar/cn-working-days.json`, then the
//! calendar table); a date in a year the calendar does not know is judged by weekday alone, and
//! the answer says so, for the operators to add the year.

use crate::language::Language;
use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveTime, Utc, Weekday};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use thiserror::Error;

/// China time: UTC+8 all year.
pub fn china_time() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// A time as people in China read it: RFC 3339 at +08:00, to the second.
pub fn in_china_time(at: DateTime<Utc>) -> String {
    at.with_timezone(&china_time())
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// A time in a text for people: China time to the minute, as each language writes it
/// (`2026年12月8日 08:42（北京时间）`, `8 Dec 2026, 08:42 China time`). Data fields keep RFC 3339.
pub fn for_people(at: DateTime<Utc>, language: Language) -> String {
    let format = match language {
        Language::ZhCn => "%Y年%-m月%-d日 %H:%M（北京时间）",
        Language::En => "%-d %b %Y, %H:%M China time",
    };
    at.with_timezone(&china_time()).format(format).to_string()
}

/// `at` for an SMS, where every character costs: China time, as every SMS's reader keeps it,
/// without the year, which a deadline weeks away does not need: `1月6日 08:42`, `6 Jan 08:42`.
pub fn for_people_briefly(at: DateTime<Utc>, language: Language) -> String {
    let format = match language {
        Language::ZhCn => "%-m月%-d日 %H:%M",
        Language::En => "%-d %b %H:%M",
    };
    at.with_timezone(&china_time()).format(format).to_string()
}

/// A run of days off, both ends included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DaysOff {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub name: String,
}

/// One year of the State Council's schedule, as published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct YearSchedule {
    pub year: i32,
    /// The notice it was taken from.
    pub source: String,
    pub days_off: Vec<DaysOff>,
    /// Weekend days worked instead.
    pub workdays: Vec<NaiveDate>,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum CalendarError {
    #[error("{year}: {date} is not in the year")]
    OutsideYear { year: i32, date: NaiveDate },
    #[error("{year}: days off from {from} to {to} run backwards")]
    Backwards {
        year: i32,
        from: NaiveDate,
        to: NaiveDate,
    },
    #[error("{year}: the make-up working day {0} is not a Saturday or Sunday", year = .1)]
    WorkdayNotWeekend(NaiveDate, i32),
    #[error("{year}: {0} is both a day off and a working day", year = .1)]
    Both(NaiveDate, i32),
    #[error("the year {0} is given twice")]
    YearTwice(i32),
}

#[derive(Debug, Clone, Default)]
struct Year {
    days_off: BTreeSet<NaiveDate>,
    workdays: BTreeSet<NaiveDate>,
}

/// The working-day calendar over the years it knows.
#[derive(Debug, Clone, Default)]
pub struct WorkingCalendar {
    years: BTreeMap<i32, Year>,
}

/// When something "within 1 working day" is due, in China time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkingDue {
    pub at: DateTime<FixedOffset>,
    /// A day on the way lies in a year the calendar does not know: judged by weekday alone.
    pub guessed: bool,
}

impl WorkingCalendar {
    /// The calendar of these schedules, each checked: its dates in its year, make-up working
    /// days on weekends, no date both off and worked, no year twice.
    pub fn new(schedules: &[YearSchedule]) -> Result<WorkingCalendar, CalendarError> {
        let mut years = BTreeMap::new();
        for schedule in schedules {
            let y = schedule.year;
            let in_year = |date: NaiveDate| {
                if date.year() == y {
                    Ok(date)
                } else {
                    Err(CalendarError::OutsideYear { year: y, date })
                }
            };
            let mut year = Year::default();
            for run in &schedule.days_off {
                let (from, to) = (in_year(run.from)?, in_year(run.to)?);
                if to < from {
                    return Err(CalendarError::Backwards { year: y, from, to });
                }
                year.days_off
                    .extend(from.iter_days().take_while(|d| *d <= to));
            }
            for &date in &schedule.workdays {
                in_year(date)?;
                if !is_weekend(date) {
                    return Err(CalendarError::WorkdayNotWeekend(date, y));
                }
                if year.days_off.contains(&date) {
                    return Err(CalendarError::Both(date, y));
                }
                year.workdays.insert(date);
            }
            if years.insert(y, year).is_some() {
                return Err(CalendarError::YearTwice(y));
            }
        }
        Ok(WorkingCalendar { years })
    }

    /// The last year the calendar knows, if any.
    pub fn last_year(&self) -> Option<i32> {
        self.years.keys().next_back().copied()
    }

    pub fn knows(&self, date: NaiveDate) -> bool {
        self.years.contains_key(&date.year())
    }

    /// Whether `date` (a China-time date) is a working day; by weekday if its year is unknown.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        match self.years.get(&date.year()) {
            Some(year) if is_weekend(date) => year.workdays.contains(&date),
            Some(year) => !year.days_off.contains(&date),
            None => !is_weekend(date),
        }
    }

    fn next_working_day(&self, after: NaiveDate) -> NaiveDate {
        let mut day = after + Duration::days(1);
        while !self.is_working_day(day) {
            day += Duration::days(1);
        }
        day
    }

    /// One working day after `start`: the same time of day, China time, on the next working
    /// day. A start outside working days counts from the next working day's 00:00.
    pub fn one_working_day_after(&self, start: DateTime<Utc>) -> WorkingDue {
        let local = start.with_timezone(&china_time());
        let (from_day, time) = if self.is_working_day(local.date_naive()) {
            (local.date_naive(), local.time())
        } else {
            (self.next_working_day(local.date_naive()), NaiveTime::MIN)
        };
        let due_day = self.next_working_day(from_day);
        let at = due_day
            .and_time(time)
            .and_local_timezone(china_time())
            .single()
            .expect("a fixed offset maps every local time once");
        let guessed = local
            .date_naive()
            .iter_days()
            .take_while(|d| *d <= due_day)
            .any(|d| !self.knows(d));
        WorkingDue { at, guessed }
    }
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    #[test]
    fn times_for_people_are_china_time_to_the_minute() {
        let at = Utc.with_ymd_and_hms(2026, 12, 8, 0, 42, 59).unwrap();
        assert_eq!(
            for_people(at, Language::ZhCn),
            "2026年12月8日 08:42（北京时间）"
        );
        assert_eq!(for_people(at, Language::En), "8 Dec 2026, 08:42 China time");
        let late = Utc.with_ymd_and_hms(2026, 12, 31, 16, 5, 0).unwrap();
        assert_eq!(
            for_people(late, Language::En),
            "1 Jan 2027, 00:05 China time"
        );
    }

    fn shipped() -> WorkingCalendar {
        #[derive(Deserialize)]
        struct File {
            years: Vec<YearSchedule>,
        }
        let text = include_str!("../../../infra/calendar/cn-working-days.json");
        let file: File = serde_json::from_str(text).expect("the shipped calendar parses");
        WorkingCalendar::new(&file.years).expect("the shipped calendar is consistent")
    }

    /// A China-time instant, as UTC.
    fn beijing(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        china_time()
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn due(start: DateTime<Utc>) -> (String, bool) {
        let due = shipped().one_working_day_after(start);
        (due.at.to_rfc3339(), due.guessed)
    }

    #[test]
    fn the_shipped_schedules_are_2025_and_2026() {
        let calendar = shipped();
        assert_eq!(calendar.last_year(), Some(2026));
        assert!(calendar.knows(NaiveDate::from_ymd_opt(2025, 1, 1).unwrap()));
    }

    #[test]
    fn a_monday_morning_in_beijing_is_due_tuesday_morning() {
        // 07:00 on Monday 2026-11-30 in Beijing is still Sunday in UTC.
        let start = beijing(2026, 11, 30, 7, 0);
        assert_eq!(start.weekday(), Weekday::Sun);
        assert_eq!(due(start), ("2026-12-01T07:00:00+08:00".into(), false));
    }

    #[test]
    fn a_friday_evening_is_due_monday_evening() {
        assert_eq!(
            due(beijing(2026, 11, 27, 17, 30)),
            ("2026-11-30T17:30:00+08:00".into(), false)
        );
    }

    #[test]
    fn the_eve_of_national_day_is_due_after_the_week_off() {
        // Wednesday 2026-09-30; 10-01 to 10-07 off; Thursday 10-08 is the next working day.
        assert_eq!(
            due(beijing(2026, 9, 30, 15, 0)),
            ("2026-10-08T15:00:00+08:00".into(), false)
        );
    }

    #[test]
    fn the_eve_of_the_spring_festival_skips_to_after_it() {
        // Saturday 2026-02-14 is a make-up working day; 02-15 to 02-23 are off.
        assert_eq!(
            due(beijing(2026, 2, 14, 9, 0)),
            ("2026-02-24T09:00:00+08:00".into(), false)
        );
        // Friday 02-13 is due on the make-up Saturday.
        assert_eq!(
            due(beijing(2026, 2, 13, 16, 0)),
            ("2026-02-14T16:00:00+08:00".into(), false)
        );
    }

    #[test]
    fn a_make_up_saturday_counts_and_is_due_monday() {
        assert_eq!(
            due(beijing(2026, 2, 28, 10, 0)),
            ("2026-03-02T10:00:00+08:00".into(), false)
        );
        // A start on a day off counts from the next working day's 00:00.
        assert_eq!(
            due(beijing(2026, 10, 3, 12, 0)),
            ("2026-10-09T00:00:00+08:00".into(), false)
        );
    }

    #[test]
    fn past_the_last_known_day_the_weekdays_judge_and_say_so() {
        // Thursday 2026-12-31 is the last day the calendar knows; 2027-01-01 is a Friday.
        assert_eq!(
            due(beijing(2026, 12, 31, 11, 0)),
            ("2027-01-01T11:00:00+08:00".into(), true)
        );
        assert_eq!(
            due(beijing(2026, 12, 30, 11, 0)),
            ("2026-12-31T11:00:00+08:00".into(), false)
        );
    }

    #[test]
    fn inconsistent_schedules_are_refused() {
        let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
        let year = |days_off: Vec<DaysOff>, workdays: Vec<NaiveDate>| YearSchedule {
            year: 2026,
            source: "test".into(),
            days_off,
            workdays,
        };
        let off = |from, to| DaysOff {
            from,
            to,
            name: "x".into(),
        };
        for (schedules, error) in [
            (
                vec![year(vec![off(day(1, 3), day(1, 1))], vec![])],
                "run backwards",
            ),
            (vec![year(vec![], vec![day(1, 5)])], "not a Saturday"),
            (
                vec![year(vec![off(day(1, 3), day(1, 3))], vec![day(1, 3)])],
                "both",
            ),
            (
                vec![year(
                    vec![off(
                        day(12, 31),
                        NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
                    )],
                    vec![],
                )],
                "not in the year",
            ),
            (vec![year(vec![], vec![]), year(vec![], vec![])], "twice"),
        ] {
            let e = WorkingCalendar::new(&schedules).unwrap_err().to_string();
            assert!(e.contains(error), "{e}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]

        /// Any start from 2025 to 2027: the due time is on a working day, after the start,
        /// at the start's time of day when the start is on a working day (else at 00:00), and
        /// no working day lies strictly between.
        #[test]
        fn the_due_time_is_the_next_working_day(seconds in 0i64..(3 * 366 * 86400)) {
            let calendar = shipped();
            let start = beijing(2025, 1, 1, 0, 0) + Duration::seconds(seconds);
            let local = start.with_timezone(&china_time());
            let due = calendar.one_working_day_after(start);
            prop_assert!(calendar.is_working_day(due.at.date_naive()));
            prop_assert!(due.at > local);
            if calendar.is_working_day(local.date_naive()) {
                prop_assert_eq!(due.at.time(), local.time());
                let between = local.date_naive().iter_days().skip(1)
                    .take_while(|d| *d < due.at.date_naive())
                    .filter(|d| calendar.is_working_day(*d)).count();
                prop_assert_eq!(between, 0);
            } else {
                prop_assert_eq!(due.at.time(), NaiveTime::MIN);
            }
            prop_assert_eq!(due.guessed, due.at.year() > 2026);
        }
    }
}
