use crate::language::{Language, Text};
use crate::Status;
use thiserror::Error;

/// Why the domain refused something. Each maps to one error code of the API contract; its
/// message reads in English (`Display`) and in Chinese (`message`).
#[derive(Debug, Error, PartialEq, Eq)]
pub enum DomainError {
    /// Bad client input; `code` is the machine-readable error code.
    #[error("{}", message.en)]
    Validation { code: &'static str, message: Text },
    #[error("the website {0} was not found")]
    WebsiteNotFound(String),
    #[error("the request {0} was not found")]
    RequestNotFound(String),
    #[error("the website already has an open request ({0})")]
    RequestAlreadyOpen(String),
    #[error("this Idempotency-Key was already used with a different request body")]
    IdempotencyKeyReused,
    #[error("a request cannot move from {from} to {to}")]
    InvalidTransition { from: Status, to: Status },
    #[error("the request {0} was already decided")]
    AlreadyDecided(String),
    #[error("the request was already resubmitted (attempt {0}) and is being checked")]
    AlreadyResubmitted(u32),
    #[error("a request in {0} can no longer be withdrawn")]
    WithdrawNotAllowed(Status),
    #[error("the request was approved and is being forwarded to the authority; it can no longer be withdrawn")]
    WithdrawAfterApproval,
    #[error("only an approval not yet applied, or a request failed awaiting its first review, can be re-driven; the request is {0}")]
    NothingToRedrive(Status),
    #[error("the submission {0} is not known")]
    SubmissionNotFound(String),
    #[error("too many wrong license passwords; try again in {retry_after_seconds} seconds")]
    PasswordLocked { retry_after_seconds: i64 },
    #[error("the password reset {0} was not found")]
    ResetNotFound(String),
    #[error(
        "this password reset has ended (too many wrong codes, or already used): start a new one"
    )]
    ResetEnded,
    #[error("the code has expired: start a new password reset")]
    ResetExpired,
    #[error("too many codes asked for; try again in {retry_after_seconds} seconds")]
    TooManyCodes { retry_after_seconds: i64 },
}

/// A storage failure. `Conflict` is a lost conditional write: someone else moved first.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("conditional write failed: {0}")]
    Conflict(String),
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    #[error("stored data is malformed: {0}")]
    Corrupt(String),
}

impl DomainError {
    pub fn validation(
        code: &'static str,
        zh_cn: impl Into<String>,
        en: impl Into<String>,
    ) -> DomainError {
        DomainError::Validation {
            code,
            message: Text::new(zh_cn, en),
        }
    }

    /// The message in `language`.
    pub fn message(&self, language: Language) -> String {
        match language {
            Language::En => self.to_string(),
            Language::ZhCn => self.chinese(),
        }
    }

    fn chinese(&self) -> String {
        match self {
            DomainError::Validation { message, .. } => message.zh_cn.clone(),
            DomainError::WebsiteNotFound(id) => format!("未找到网站 {id}"),
            DomainError::RequestNotFound(id) => format!("未找到申请 {id}"),
            DomainError::RequestAlreadyOpen(id) => {
                format!("该网站已有一个进行中的申请（{id}）")
            }
            DomainError::IdempotencyKeyReused => "该 Idempotency-Key 已用于另一个不同的请求".into(),
            DomainError::InvalidTransition { from, to } => format!(
                "申请无法从“{}”变为“{}”",
                from.chinese_name(),
                to.chinese_name()
            ),
            DomainError::AlreadyDecided(id) => format!("申请 {id} 已有审核结果"),
            DomainError::AlreadyResubmitted(attempt) => {
                format!("申请已重新提交（第 {attempt} 次），正在核验")
            }
            DomainError::WithdrawNotAllowed(status) => {
                format!("“{}”状态的申请已不能撤回", status.chinese_name())
            }
            DomainError::WithdrawAfterApproval => {
                "申请已通过初审，正在提交至通信管理局，已不能撤回".into()
            }
            DomainError::NothingToRedrive(status) => format!(
                "只有尚未执行的审核通过结果，或在等待初审时处理失败的申请，才能重新执行；申请当前为“{}”",
                status.chinese_name()
            ),
            DomainError::SubmissionNotFound(id) => format!("未知的提交编号 {id}"),
            DomainError::PasswordLocked {
                retry_after_seconds,
            } => format!("备案密码错误次数过多，请在 {retry_after_seconds} 秒后重试"),
            DomainError::ResetNotFound(id) => format!("未找到密码找回记录 {id}"),
            DomainError::ResetEnded => {
                "本次密码找回已结束（验证码错误次数过多或已使用），请重新发起".into()
            }
            DomainError::ResetExpired => "验证码已过期，请重新发起密码找回".into(),
            DomainError::TooManyCodes {
                retry_after_seconds,
            } => format!("获取验证码过于频繁，请在 {retry_after_seconds} 秒后重试"),
        }
    }
}

#[derive(Debug, Error)]
pub enum WorkflowError {
    #[error("workflow engine unavailable: {0}")]
    Unavailable(String),
}

#[derive(Debug, Error)]
#[error("sending failed: {0}")]
pub struct NotifyError(pub String);

#[derive(Debug, Error)]
#[error("the authority's system did not take the submission: {0}")]
pub struct AuthorityError(pub String);

/// Why a use case did not happen.
#[derive(Debug, Error)]
pub enum ServiceError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("this resource belongs to someone else or needs another role")]
    Forbidden,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Workflow(#[from] WorkflowError),
    #[error(transparent)]
    Authority(#[from] AuthorityError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::language::has_chinese;
    use crate::validation::{validate_service_ips, IpPolicy};

    #[test]
    fn every_refusal_reads_in_both_languages() {
        for e in crate::refusals::one_of_each() {
            let (zh, en) = (e.message(Language::ZhCn), e.message(Language::En));
            assert!(has_chinese(&zh), "{e:?}: {zh}");
            assert!(!en.is_empty() && en != zh && !has_chinese(&en), "{e:?}");
        }
        let private =
            validate_service_ips(&["10.0.0.1".to_string()], &[], &IpPolicy::default()).unwrap_err();
        assert_eq!(
            private.message(Language::ZhCn),
            "10.0.0.1 是私有地址，不能为公网网站提供服务"
        );
    }
}
