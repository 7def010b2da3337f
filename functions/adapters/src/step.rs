//! Errors of the Step Functions tasks, with names the state machine matches on.

use icp_domain::service::ServiceError;
use icp_domain::{DomainError, StoreError};
use lambda_runtime::Diagnostic;

/// `kind` becomes the `errorType` Step Functions sees: `Retryable` is retried with backoff;
/// anything else goes to the workflow's failure path.
#[derive(Debug)]
pub struct StepError {
    pub kind: &'static str,
    pub message: String,
}

pub const RETRYABLE: &str = "Retryable";

impl From<ServiceError> for StepError {
    fn from(e: ServiceError) -> StepError {
        let kind = match &e {
            ServiceError::Store(StoreError::Unavailable(_) | StoreError::Conflict(_))
            | ServiceError::Workflow(_)
            | ServiceError::Authority(_) => RETRYABLE,
            ServiceError::Store(StoreError::Corrupt(_)) => "Corrupt",
            ServiceError::Domain(DomainError::RequestNotFound(_)) => "RequestNotFound",
            ServiceError::Domain(_) | ServiceError::Forbidden => "Refused",
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
            error_type: e.kind.into(),
            error_message: e.message,
        }
    }
}
