//! Request statuses and the one table of allowed transitions.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Submitted,
    PasswordRejected,
    PendingFirstReview,
    FirstReviewRejected,
    ForwardedToAuthority,
    AuthorityRejected,
    Approved,
    Completed,
    Withdrawn,
    Expired,
    Failed,
}

impl Status {
    pub const ALL: [Status; 11] = [
        Status::Submitted,
        Status::PasswordRejected,
        Status::PendingFirstReview,
        Status::FirstReviewRejected,
        Status::ForwardedToAuthority,
        Status::AuthorityRejected,
        Status::Approved,
        Status::Completed,
        Status::Withdrawn,
        Status::Expired,
        Status::Failed,
    ];

    /// The statuses each status may move to. Resubmit ("Modify and Submit") is the move back to
    /// `submitted` from the two rejections a customer can fix.
    pub fn successors(self) -> &'static [Status] {
        use Status::*;
        match self {
            Submitted => &[PasswordRejected, PendingFirstReview, Withdrawn, Failed],
            PasswordRejected => &[Submitted, Withdrawn, Expired],
            PendingFirstReview => &[FirstReviewRejected, ForwardedToAuthority, Withdrawn, Failed],
            FirstReviewRejected => &[Submitted, Withdrawn, Expired],
            // From the reviewer's approval on, never `failed`: the workflow waits rounds for as
            // long as it takes.
            ForwardedToAuthority => &[AuthorityRejected, Approved],
            Approved => &[Completed],
            AuthorityRejected | Completed | Withdrawn | Expired | Failed => &[],
        }
    }

    pub fn can_move_to(self, next: Status) -> bool {
        self.successors().contains(&next)
    }

    /// Open requests block another request on the same website.
    pub fn is_open(self) -> bool {
        !self.successors().is_empty()
    }

    pub fn as_str(self) -> &'static str {
        use Status::*;
        match self {
            Submitted => "submitted",
            PasswordRejected => "password_rejected",
            PendingFirstReview => "pending_first_review",
            FirstReviewRejected => "first_review_rejected",
            ForwardedToAuthority => "forwarded_to_authority",
            AuthorityRejected => "authority_rejected",
            Approved => "approved",
            Completed => "completed",
            Withdrawn => "withdrawn",
            Expired => "expired",
            Failed => "failed",
        }
    }

    /// The status as Chinese readers call it (the console's labels).
    pub fn chinese_name(self) -> &'static str {
        use Status::*;
        match self {
            Submitted => "已提交",
            PasswordRejected => "备案密码错误",
            PendingFirstReview => "待初审",
            FirstReviewRejected => "初审驳回",
            ForwardedToAuthority => "已提交管局",
            AuthorityRejected => "管局驳回",
            Approved => "管局已通过",
            Completed => "已完成",
            Withdrawn => "已撤回",
            Expired => "已过期",
            Failed => "处理失败",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Status::{self, *};

    /// The contract's table written out pair by pair, so a change to `successors` that is not
    /// also a change to the contract fails here.
    const ALLOWED: &[(Status, Status)] = &[
        (Submitted, PasswordRejected),
        (Submitted, PendingFirstReview),
        (Submitted, Withdrawn),
        (Submitted, Failed),
        (PasswordRejected, Submitted),
        (PasswordRejected, Withdrawn),
        (PasswordRejected, Expired),
        (PendingFirstReview, FirstReviewRejected),
        (PendingFirstReview, ForwardedToAuthority),
        (PendingFirstReview, Withdrawn),
        (PendingFirstReview, Failed),
        (FirstReviewRejected, Submitted),
        (FirstReviewRejected, Withdrawn),
        (FirstReviewRejected, Expired),
        (ForwardedToAuthority, AuthorityRejected),
        (ForwardedToAuthority, Approved),
        (Approved, Completed),
    ];

    #[test]
    fn every_pair_is_allowed_exactly_when_the_contract_says() {
        for from in Status::ALL {
            for to in Status::ALL {
                assert_eq!(
                    from.can_move_to(to),
                    ALLOWED.contains(&(from, to)),
                    "{from} -> {to}"
                );
            }
        }
    }

    #[test]
    fn terminal_statuses_are_exactly_the_closed_ones() {
        let closed: Vec<_> = Status::ALL.into_iter().filter(|s| !s.is_open()).collect();
        assert_eq!(
            closed,
            vec![AuthorityRejected, Completed, Withdrawn, Expired, Failed]
        );
    }

    #[test]
    fn names_round_trip_and_match_serde() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{s}\""));
        }
        assert_eq!(Status::parse("nope"), None);
    }
}
