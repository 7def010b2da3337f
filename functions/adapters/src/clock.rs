//! The functions' clock: the system's time, moved by `CLOCK_OFFSET_SECONDS` only on a stack
//! that allows a test clock (`TEST_CLOCK_ALLOWED`, which the template refuses on the prod
//! stage). The end-to-end tests set the offset on one function to run it days ahead.

use crate::Error;
use icp_domain::ports::Clock;

#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    offset: chrono::Duration,
}

impl SystemClock {
    pub fn from_env() -> Result<SystemClock, Error> {
        SystemClock::from_vars(
            std::env::var("TEST_CLOCK_ALLOWED").ok().as_deref(),
            std::env::var("CLOCK_OFFSET_SECONDS").ok().as_deref(),
        )
    }

    fn from_vars(allowed: Option<&str>, offset: Option<&str>) -> Result<SystemClock, Error> {
        let offset = match offset {
            None => 0,
            Some(_) if allowed != Some("true") => {
                // Never honoured where it could move a real customer's deadlines.
                tracing::error!("CLOCK_OFFSET_SECONDS ignored: this stack allows no test clock");
                0
            }
            Some(v) => v
                .parse::<i64>()
                .map_err(|_| format!("CLOCK_OFFSET_SECONDS must be whole seconds, not {v:?}"))?,
        };
        if offset != 0 {
            tracing::warn!(offset_seconds = offset, "test clock: the system time moved");
        }
        Ok(SystemClock {
            offset: chrono::Duration::seconds(offset),
        })
    }
}

impl Clock for SystemClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now() + self.offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offset(allowed: Option<&str>, offset: Option<&str>) -> i64 {
        SystemClock::from_vars(allowed, offset)
            .unwrap()
            .offset
            .num_seconds()
    }

    #[test]
    fn the_offset_moves_the_clock_only_where_a_test_clock_is_allowed() {
        assert_eq!(offset(Some("true"), Some("86400")), 86400);
        assert_eq!(offset(Some("true"), Some("-60")), -60);
        assert_eq!(offset(Some("true"), None), 0);
        assert_eq!(offset(Some("false"), Some("86400")), 0);
        assert_eq!(offset(None, Some("86400")), 0);
        assert!(SystemClock::from_vars(Some("true"), Some("1.5")).is_err());
    }

    #[test]
    fn the_clock_reads_the_system_time_plus_the_offset() {
        let clock = SystemClock::from_vars(Some("true"), Some("3600")).unwrap();
        let ahead = clock.now() - chrono::Utc::now();
        assert!((3599..=3600).contains(&ahead.num_seconds()), "{ahead}");
    }
}
