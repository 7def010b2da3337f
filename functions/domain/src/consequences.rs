//! What each request does to a website: each consequence with a stable code, in Chinese and
//! English, written from the provider's help pages. The confirm step (OK / Give Up, `impact`)
//! shows them before the license password is asked; the completion notifications repeat what
//! the customer must still do.

use crate::{RequestType, Website};
use serde::Serialize;

pub use crate::language::Text;

fn text(zh_cn: impl Into<String>, en: impl Into<String>) -> Text {
    Text::new(zh_cn, en)
}

/// Which side of the request a consequence is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// What stops or goes.
    Stops,
    /// What stays as it is.
    Stays,
    /// What the customer must do next.
    YouMust,
    /// How the request goes on.
    Process,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Consequence {
    pub code: &'static str,
    pub kind: Kind,
    pub text: Text,
}

/// The answer of `GET /websites/{websiteId}/impact`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Impact {
    pub website_id: String,
    #[serde(rename = "type")]
    pub request_type: RequestType,
    pub last_website: bool,
    pub consequences: Vec<Consequence>,
}

/// The consequences of `request_type` on `website`; `last_website`: the entity has no other
/// website with this provider.
pub fn consequences(
    request_type: RequestType,
    website: &Website,
    last_website: bool,
) -> Vec<Consequence> {
    let domain = &website.domain;
    let license = &website.website_license_number;
    let mut list = match request_type {
        RequestType::WebsiteCancellation => vec![
            Consequence {
                code: "website_filing_cancelled",
                kind: Kind::Stops,
                text: text(
                    format!("网站 {domain} 的备案将被注销，网站备案号 {license} 失效，并从备案系统中清除。"),
                    format!("The filing of {domain} is cancelled: the website license number {license} ends and the website is cleared from the license system."),
                ),
            },
        ],
        RequestType::AccessCancellation => vec![
            Consequence {
                code: "access_record_cleared",
                kind: Kind::Stops,
                text: text(
                    format!("网站 {domain} 的备案信息将从本服务商的备案系统中清除。"),
                    format!("The license information of {domain} is cleared from this provider's license system."),
                ),
            },
            Consequence {
                code: "entity_license_number_stays",
                kind: Kind::Stays,
                text: text(
                    "取消接入不会注销您的主体备案号。",
                    "Access cancellation does not cancel your entity license number.",
                ),
            },
            Consequence {
                code: "blocked_if_still_on_provider_servers",
                kind: Kind::Stops,
                text: text(
                    "取消接入后，如继续使用本服务商的服务器，网站将被阻断；如不再使用本服务商的服务器，则不受影响。",
                    "After the access cancellation, a website still on this provider's servers is blocked; one no longer on them is not affected.",
                ),
            },
            Consequence {
                code: "move_filing_to_new_provider",
                kind: Kind::YouMust,
                text: text(
                    "请尽快将备案信息接入到您正在使用的服务器所属接入服务商的备案系统；否则，根据相关法律法规，相关部门可能注销您的备案号。",
                    "Move your license information to the license system of the access provider whose servers you use, as soon as possible; otherwise, under the relevant laws and regulations, the authority may cancel your license number.",
                ),
            },
        ],
        RequestType::AccessChange => vec![
            Consequence {
                code: "service_ips_replaced",
                kind: Kind::Stops,
                text: text(
                    format!("网站 {domain} 的服务IP（当前：{}）将变更为您提交的地址。", website.service_ips.join(", ")),
                    format!("The service IPs of {domain} (now {}) become the ones you submit.", website.service_ips.join(", ")),
                ),
            },
            Consequence {
                code: "license_numbers_stay",
                kind: Kind::Stays,
                text: text(
                    format!("网站备案号 {license} 和主体备案号不变。"),
                    format!("The website license number {license} and the entity license number stay."),
                ),
            },
        ],
    };
    if last_website && request_type != RequestType::AccessChange {
        list.push(Consequence {
            code: "last_website_with_provider",
            kind: Kind::Stops,
            text: text(
                "这是该主体在本服务商接入的最后一个网站：完成后，该主体在本服务商将没有接入的网站。",
                "This is the entity's last website with this provider: once done, the entity has no website here.",
            ),
        });
    }
    list.extend([
        Consequence {
            code: "license_password_required",
            kind: Kind::YouMust,
            text: text(
                "确认后需输入备案密码提交；忘记密码可通过“找回备案密码”重新设置。",
                "Once you confirm, submit with the license password; if you forgot it, set a new one through \"Retrieve License Password\".",
            ),
        },
        Consequence {
            code: "reviewed_then_forwarded",
            kind: Kind::Process,
            text: text(
                "本服务商将在1个工作日内完成初审，通过后提交至通信管理局审核；审核结果将通过短信和邮件通知您。",
                "We complete the first review within 1 working day, then submit the request to the communication administration; you are told its result by SMS and email.",
            ),
        },
    ]);
    list
}

/// What the customer must still do once the request is completed (the completion notice says
/// it again).
pub fn still_to_do(request_type: RequestType, website: &Website) -> Vec<Text> {
    consequences(request_type, website, false)
        .into_iter()
        .filter(|c| c.kind == Kind::YouMust && c.code != "license_password_required")
        .map(|c| c.text)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WebsiteStatus;

    fn website() -> Website {
        Website {
            website_id: "w1".into(),
            entity_id: "e1".into(),
            domain: "example.cn".into(),
            website_license_number: "京ICP备12345678号-1".into(),
            service_ips: vec!["192.0.2.10".into()],
            status: WebsiteStatus::Active,
            open_request_id: None,
        }
    }

    fn codes(t: RequestType, last: bool) -> Vec<&'static str> {
        consequences(t, &website(), last)
            .iter()
            .map(|c| c.code)
            .collect()
    }

    #[test]
    fn access_cancellation_names_what_the_help_pages_warn_of() {
        let codes = codes(RequestType::AccessCancellation, false);
        for code in [
            "access_record_cleared",
            "entity_license_number_stays",
            "blocked_if_still_on_provider_servers",
            "move_filing_to_new_provider",
        ] {
            assert!(codes.contains(&code), "{code} missing from {codes:?}");
        }
        assert!(!codes.contains(&"last_website_with_provider"));
    }

    #[test]
    fn the_last_website_is_said_for_the_cancellations_only() {
        for t in [
            RequestType::WebsiteCancellation,
            RequestType::AccessCancellation,
        ] {
            assert!(codes(t, true).contains(&"last_website_with_provider"));
            assert!(!codes(t, false).contains(&"last_website_with_provider"));
        }
        assert!(!codes(RequestType::AccessChange, true).contains(&"last_website_with_provider"));
    }

    #[test]
    fn every_consequence_has_both_languages_and_codes_are_unique_per_type() {
        for t in [
            RequestType::WebsiteCancellation,
            RequestType::AccessCancellation,
            RequestType::AccessChange,
        ] {
            let list = consequences(t, &website(), true);
            let mut codes: Vec<_> = list.iter().map(|c| c.code).collect();
            codes.sort();
            codes.dedup();
            assert_eq!(codes.len(), list.len());
            for c in &list {
                assert!(!c.text.zh_cn.is_empty() && !c.text.en.is_empty());
                assert!(c.text.zh_cn.chars().any(|ch| ch > '\u{4e00}'), "{}", c.code);
            }
        }
    }

    #[test]
    fn only_access_cancellation_leaves_something_to_do_after_completion() {
        assert_eq!(
            still_to_do(RequestType::AccessCancellation, &website()).len(),
            1
        );
        assert!(still_to_do(RequestType::WebsiteCancellation, &website()).is_empty());
        assert!(still_to_do(RequestType::AccessChange, &website()).is_empty());
    }
}
