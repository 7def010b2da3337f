//! Why a request was rejected: a common reason by its code (read in each person's language), or
//! a reason typed freely (shown as typed).

use crate::language::{Language, Text};
use serde::{Deserialize, Serialize};

/// The reasons with a code: the reviewer's common ones, and the system's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    IdPhotoUnclear,
    ServiceIpsNotProvider,
    ContentMismatch,
    MoreDocumentsNeeded,
    PasswordHolderMismatch,
    EntityInformationInconsistent,
    WebsiteStillServed,
    /// The system's: the attempt's license password was wrong.
    LicensePasswordIncorrect,
    /// The system's: the entity's license password was locked.
    LicensePasswordLocked,
    /// The system's: the authority rejected without saying why.
    AuthorityGaveNoReason,
}

impl ReasonCode {
    /// What a reviewer picks from (`GET /reviews/reasons`), in the order shown.
    pub const COMMON: [ReasonCode; 7] = [
        ReasonCode::ServiceIpsNotProvider,
        ReasonCode::WebsiteStillServed,
        ReasonCode::PasswordHolderMismatch,
        ReasonCode::EntityInformationInconsistent,
        ReasonCode::ContentMismatch,
        ReasonCode::IdPhotoUnclear,
        ReasonCode::MoreDocumentsNeeded,
    ];

    /// Every code, for the tests that check each has both texts.
    pub const ALL: [ReasonCode; 10] = [
        ReasonCode::IdPhotoUnclear,
        ReasonCode::ServiceIpsNotProvider,
        ReasonCode::ContentMismatch,
        ReasonCode::MoreDocumentsNeeded,
        ReasonCode::PasswordHolderMismatch,
        ReasonCode::EntityInformationInconsistent,
        ReasonCode::WebsiteStillServed,
        ReasonCode::LicensePasswordIncorrect,
        ReasonCode::LicensePasswordLocked,
        ReasonCode::AuthorityGaveNoReason,
    ];

    /// A reviewer's code as sent; the system's own codes are not a reviewer's to give.
    pub fn parse_common(code: &str) -> Option<ReasonCode> {
        ReasonCode::COMMON
            .into_iter()
            .find(|common| common.code() == code)
    }

    pub fn code(self) -> &'static str {
        match self {
            ReasonCode::IdPhotoUnclear => "id_photo_unclear",
            ReasonCode::ServiceIpsNotProvider => "service_ips_not_provider",
            ReasonCode::ContentMismatch => "content_mismatch",
            ReasonCode::MoreDocumentsNeeded => "more_documents_needed",
            ReasonCode::PasswordHolderMismatch => "password_holder_mismatch",
            ReasonCode::EntityInformationInconsistent => "entity_information_inconsistent",
            ReasonCode::WebsiteStillServed => "website_still_served",
            ReasonCode::LicensePasswordIncorrect => "license_password_incorrect",
            ReasonCode::LicensePasswordLocked => "license_password_locked",
            ReasonCode::AuthorityGaveNoReason => "authority_gave_no_reason",
        }
    }

    pub fn text(self) -> Text {
        let (zh_cn, en) = match self {
            ReasonCode::IdPhotoUnclear => ("证件照片不清晰", "The ID photo is blurred"),
            ReasonCode::ServiceIpsNotProvider => (
                "服务IP不属于本服务商",
                "The service IPs are not this provider's",
            ),
            ReasonCode::ContentMismatch => (
                "网站内容与备案信息不符",
                "The website content does not match the filing",
            ),
            ReasonCode::MoreDocumentsNeeded => ("需要补充材料", "More documents are needed"),
            ReasonCode::PasswordHolderMismatch => (
                "备案密码持有人与备案主体不一致",
                "The license password holder is not the filing's entity",
            ),
            ReasonCode::EntityInformationInconsistent => (
                "主体信息与备案信息不一致",
                "The entity information does not match the filing",
            ),
            ReasonCode::WebsiteStillServed => (
                "网站仍在本服务商的服务器上提供内容",
                "The website still serves content on this provider's servers",
            ),
            ReasonCode::LicensePasswordIncorrect => (
                "备案密码错误。",
                "The license password is incorrect.",
            ),
            ReasonCode::LicensePasswordLocked => (
                "备案密码错误次数过多，已被锁定；请在锁定解除后重新提交。",
                "The license password is locked after too many wrong tries; submit again once the lock is over.",
            ),
            ReasonCode::AuthorityGaveNoReason => (
                "通信管理局审核未通过。",
                "Rejected by the communication administration.",
            ),
        };
        Text::new(zh_cn, en)
    }
}

/// One reason of a rejection. Stored as `{"code": ...}` or as the text typed; a reason stored
/// as text before codes existed reads as typed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Reason {
    Common { code: ReasonCode },
    Free(String),
}

impl Reason {
    pub fn text(&self, language: Language) -> String {
        match self {
            Reason::Common { code } => code.text().get(language).to_string(),
            Reason::Free(text) => text.clone(),
        }
    }
}

impl From<ReasonCode> for Reason {
    fn from(code: ReasonCode) -> Reason {
        Reason::Common { code }
    }
}

impl From<&str> for Reason {
    fn from(text: &str) -> Reason {
        Reason::Free(text.into())
    }
}

/// `reasons` as `language` reads them.
pub fn texts(reasons: &[Reason], language: Language) -> Vec<String> {
    reasons.iter().map(|r| r.text(language)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::language::has_chinese;

    #[test]
    fn every_reason_code_reads_in_both_languages() {
        for code in ReasonCode::ALL {
            let text = code.text();
            assert!(has_chinese(&text.zh_cn), "{code:?}");
            assert!(!text.en.is_empty() && text.en != text.zh_cn, "{code:?}");
            assert_eq!(
                serde_json::to_value(code).unwrap(),
                code.code(),
                "the stored code is the API's"
            );
        }
        for code in ReasonCode::COMMON {
            assert_eq!(ReasonCode::parse_common(code.code()), Some(code));
        }
        assert_eq!(ReasonCode::parse_common("license_password_incorrect"), None);
    }

    #[test]
    fn reasons_store_as_codes_and_read_back_old_texts() {
        let reasons = vec![
            Reason::from(ReasonCode::IdPhotoUnclear),
            Reason::Free("照片模糊".into()),
        ];
        let stored = serde_json::to_value(&reasons).unwrap();
        assert_eq!(
            stored,
            serde_json::json!([{ "code": "id_photo_unclear" }, "照片模糊"])
        );
        assert_eq!(
            serde_json::from_value::<Vec<Reason>>(stored).unwrap(),
            reasons
        );
        assert_eq!(
            texts(&reasons, Language::ZhCn),
            ["证件照片不清晰", "照片模糊"]
        );
        assert_eq!(
            texts(&reasons, Language::En),
            ["The ID photo is blurred", "照片模糊"]
        );
    }
}
