//! What a history entry records: an event and its parameters, stored as data. The texts people
//! read are made from it, in their language, when they read it.

use crate::calendar::for_people;
use crate::language::{Language, Text};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub enum HistoryEvent {
    Submitted,
    PasswordVerified {
        review_due_at: DateTime<Utc>,
    },
    PasswordRejected,
    PasswordLocked,
    RejectedAtFirstReview,
    /// Approved at first review and submitted to the authority. `reviewer`: who approved, for
    /// the staff; a customer's view drops it.
    ForwardedToAuthority {
        submission_id: String,
        due_at: DateTime<Utc>,
        late: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reviewer: Option<String>,
    },
    AuthorityApproved,
    AuthorityRejected,
    Completed {
        effect: Effect,
    },
    Withdrawn,
    Expired,
    Failed {
        cause: FailureCause,
    },
    Resubmitted {
        attempt: u32,
    },
    /// An operator mended the cause of a failure and re-drove the request: it goes on.
    Redriven,
}

/// What a completed request did to its website.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    WebsiteCleared,
    AccessCleared,
    ServiceIps(Vec<String>),
}

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureCause {
    /// A step of the workflow failed for good, with the error it failed with.
    StepFailed(String),
    /// The workflow stopped before closing the request: what sweepers recorded before they
    /// started such requests again instead (kept so that those histories still read).
    Stopped,
}

impl HistoryEvent {
    /// The event as a sentence in `language`.
    pub fn text(&self, language: Language) -> String {
        self.texts(language).get(language).to_string()
    }

    /// Both sentences; times are written in `language` (the other side is not read).
    fn texts(&self, language: Language) -> Text {
        let time = |at: &DateTime<Utc>| for_people(*at, language);
        match self {
            HistoryEvent::Submitted => Text::new("申请已提交", "request submitted"),
            HistoryEvent::PasswordVerified { review_due_at } => {
                let due = time(review_due_at);
                Text::new(
                    format!("备案密码验证通过；初审截止时间 {due}"),
                    format!("license password verified; first review due by {due}"),
                )
            }
            HistoryEvent::PasswordRejected => {
                Text::new("备案密码错误", "license password rejected")
            }
            HistoryEvent::PasswordLocked => Text::new(
                "备案密码已锁定（错误次数过多）",
                "license password locked",
            ),
            HistoryEvent::RejectedAtFirstReview => {
                Text::new("初审未通过", "rejected at first review")
            }
            HistoryEvent::ForwardedToAuthority {
                submission_id,
                due_at,
                late,
                reviewer,
            } => {
                let due = time(due_at);
                let (by_zh, by_en) = match reviewer {
                    Some(r) => (format!("（审核人 {r}）"), format!(" by {r}")),
                    None => (String::new(), String::new()),
                };
                let (late_zh, late_en) = if *late { ("，已逾期", ", late") } else { ("", "") };
                Text::new(
                    format!("初审通过{by_zh}；已提交至通信管理局，提交编号 {submission_id}（应于 {due} 前提交{late_zh}）"),
                    format!("approved at first review{by_en}; submitted to the communication administration as {submission_id} (due by {due}{late_en})"),
                )
            }
            HistoryEvent::AuthorityApproved => Text::new(
                "通信管理局审核通过",
                "approved by the communication administration",
            ),
            HistoryEvent::AuthorityRejected => Text::new(
                "通信管理局审核未通过",
                "rejected by the communication administration",
            ),
            HistoryEvent::Completed { effect } => match effect {
                Effect::WebsiteCleared => Text::new(
                    "网站已注销，并已从备案系统中清除",
                    "website cancelled and cleared from the license system",
                ),
                Effect::AccessCleared => Text::new(
                    "已取消接入：网站已从本服务商的系统中清除，主体备案号保留",
                    "access cancelled: website cleared from this provider's system; entity license number kept",
                ),
                Effect::ServiceIps(ips) => {
                    let ips = ips.join(", ");
                    Text::new(
                        format!("服务IP已变更为 {ips}"),
                        format!("service IPs now {ips}"),
                    )
                }
            },
            HistoryEvent::Withdrawn => Text::new("客户已撤回申请", "withdrawn by the customer"),
            HistoryEvent::Expired => Text::new(
                "未在期限内重新提交，申请已过期",
                "not resubmitted in time",
            ),
            HistoryEvent::Failed { cause } => match cause {
                FailureCause::StepFailed(error) => Text::new(
                    format!("处理失败（{error}）"),
                    format!("processing failed ({error})"),
                ),
                FailureCause::Stopped => Text::new(
                    "申请关闭前处理已中止",
                    "processing stopped before the request was closed",
                ),
            },
            HistoryEvent::Redriven => Text::new(
                "故障已排除，申请继续处理",
                "the fault was mended; processing goes on",
            ),
            HistoryEvent::Resubmitted { attempt } => Text::new(
                format!("已修改并重新提交（第 {attempt} 次）"),
                format!("modified and resubmitted (attempt {attempt})"),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::language::has_chinese;
    use chrono::TimeZone;

    /// One of each event (the match makes a new event fail to compile here until it is added).
    fn every_event() -> Vec<HistoryEvent> {
        let at = Utc.with_ymd_and_hms(2026, 12, 8, 0, 42, 0).unwrap();
        let all = vec![
            HistoryEvent::Submitted,
            HistoryEvent::PasswordVerified { review_due_at: at },
            HistoryEvent::PasswordRejected,
            HistoryEvent::PasswordLocked,
            HistoryEvent::RejectedAtFirstReview,
            HistoryEvent::ForwardedToAuthority {
                submission_id: "sub-r1-1".into(),
                due_at: at,
                late: true,
                reviewer: Some("alice".into()),
            },
            HistoryEvent::AuthorityApproved,
            HistoryEvent::AuthorityRejected,
            HistoryEvent::Completed {
                effect: Effect::WebsiteCleared,
            },
            HistoryEvent::Completed {
                effect: Effect::AccessCleared,
            },
            HistoryEvent::Completed {
                effect: Effect::ServiceIps(vec!["198.51.100.7".into()]),
            },
            HistoryEvent::Withdrawn,
            HistoryEvent::Expired,
            HistoryEvent::Failed {
                cause: FailureCause::StepFailed("States.Timeout".into()),
            },
            HistoryEvent::Failed {
                cause: FailureCause::Stopped,
            },
            HistoryEvent::Resubmitted { attempt: 2 },
            HistoryEvent::Redriven,
        ];
        for event in &all {
            match event {
                HistoryEvent::Submitted
                | HistoryEvent::PasswordVerified { .. }
                | HistoryEvent::PasswordRejected
                | HistoryEvent::PasswordLocked
                | HistoryEvent::RejectedAtFirstReview
                | HistoryEvent::ForwardedToAuthority { .. }
                | HistoryEvent::AuthorityApproved
                | HistoryEvent::AuthorityRejected
                | HistoryEvent::Completed { .. }
                | HistoryEvent::Withdrawn
                | HistoryEvent::Expired
                | HistoryEvent::Failed { .. }
                | HistoryEvent::Resubmitted { .. }
                | HistoryEvent::Redriven => {}
            }
        }
        all
    }

    #[test]
    fn every_event_reads_in_both_languages_with_times_for_people() {
        for event in every_event() {
            let (zh, en) = (event.text(Language::ZhCn), event.text(Language::En));
            assert!(has_chinese(&zh), "{event:?}: {zh}");
            assert!(!en.is_empty() && en != zh, "{event:?}");
            for text in [&zh, &en] {
                assert!(!text.contains("+08:00") && !text.contains("T00:"), "{text}");
            }
            let stored = serde_json::to_value(&event).unwrap();
            assert_eq!(
                serde_json::from_value::<HistoryEvent>(stored).unwrap(),
                event
            );
        }
        let verified = HistoryEvent::PasswordVerified {
            review_due_at: Utc.with_ymd_and_hms(2026, 12, 8, 0, 42, 0).unwrap(),
        };
        assert_eq!(
            verified.text(Language::ZhCn),
            "备案密码验证通过；初审截止时间 2026年12月8日 08:42（北京时间）"
        );
        assert_eq!(
            verified.text(Language::En),
            "license password verified; first review due by 8 Dec 2026, 08:42 China time"
        );
        assert_eq!(
            serde_json::to_value(&verified).unwrap(),
            serde_json::json!({ "kind": "password_verified", "reviewDueAt": "2026-12-08T00:42:00Z" })
        );
    }
}
