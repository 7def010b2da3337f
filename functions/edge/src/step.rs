//! Errors of the Step Functions tasks, with names the state machine matches on.

use icp_domain::{DomainError, ServiceError, StoreError};
use lambda_runtime::Diagnostic;

/// What a task's failure is called for Step Functions (its `errorType`). `Retryable` (the one
/// the definition's Retry names) is retried with backoff; the others go to the failure path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepErrorKind {
    Retryable,
    /// Stored data is inconsistent: retrying cannot help.
    Corrupt,
    RequestNotFound,
    /// The domain refused the step (a bug in the workflow's use of it).
    Refused,
}

impl StepErrorKind {
    pub fn name(self) -> &'static str {
        match self {
            StepErrorKind::Retryable => "Retryable",
            StepErrorKind::Corrupt => "Corrupt",
            StepErrorKind::RequestNotFound => "RequestNotFound",
            StepErrorKind::Refused => "Refused",
        }
    }
}

#[derive(Debug)]
pub struct StepError {
    pub kind: StepErrorKind,
    pub message: String,
}

impl From<ServiceError> for StepError {
    fn from(e: ServiceError) -> StepError {
        let kind = match &e {
            ServiceError::Store(StoreError::Unavailable(_) | StoreError::Conflict(_))
            | ServiceError::Workflow(_)
            | ServiceError::Authority(_) => StepErrorKind::Retryable,
            ServiceError::Store(StoreError::Corrupt(_)) => StepErrorKind::Corrupt,
            ServiceError::Domain(DomainError::RequestNotFound(_)) => StepErrorKind::RequestNotFound,
            ServiceError::Domain(_) | ServiceError::Forbidden => StepErrorKind::Refused,
        };
        StepError {
            kind,
            message: e.to_string(),
        }
    }
}

impl From<StepError> for Diagnostic {
    fn from(e: StepError) -> Diagnostic {
        Diagnostic {
            error_type: e.kind.name().into(),
            error_message: e.message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use icp_domain::contract::ErrorName;

    #[test]
    fn the_retryable_kind_is_the_name_the_definition_retries() {
        assert_eq!(
            ErrorName::parse(StepErrorKind::Retryable.name()),
            Some(ErrorName::Retryable)
        );
        for kind in [
            StepErrorKind::Corrupt,
            StepErrorKind::RequestNotFound,
            StepErrorKind::Refused,
        ] {
            assert_eq!(
                ErrorName::parse(kind.name()),
                None,
                "{kind:?} is not retried"
            );
        }
    }
}
