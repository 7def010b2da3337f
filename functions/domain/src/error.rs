use crate::Status;
use thiserror::Error;

/// Why the domain refused something. Each maps to one error code of the API contract.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum DomainError {
    /// Bad client input; `code` is the machine-readable error code.
    #[error("{message}")]
    Validation { code: &'static str, message: String },
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
    #[error("only an approval not yet applied can be re-driven; the request is {0}")]
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
    pub fn validation(code: &'static str, message: impl Into<String>) -> DomainError {
        DomainError::Validation {
            code,
            message: message.into(),
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
