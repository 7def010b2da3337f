//! The domain's refusals, one of each, for the tests of every crate that words them (the
//! domain's messages, the API's error answers): built with the `examples` feature.

use crate::validation::{
    parse_request_type, service_ips_not_allowed, validate_password, validate_service_ips, IpPolicy,
    IpRange,
};
use crate::{DomainError, Status};

/// One of each refusal (the match makes a new variant fail to compile here until it is
/// added), and the validators' refusals.
pub fn one_of_each() -> Vec<DomainError> {
    let ips = |list: &[&str]| -> Vec<String> { list.iter().map(|s| s.to_string()).collect() };
    let policy = IpPolicy::default();
    let mut all = vec![
        DomainError::WebsiteNotFound("w1".into()),
        DomainError::RequestNotFound("r1".into()),
        DomainError::RequestAlreadyOpen("r1".into()),
        DomainError::IdempotencyKeyReused,
        DomainError::InvalidTransition {
            from: Status::Completed,
            to: Status::Withdrawn,
        },
        DomainError::AlreadyDecided("r1".into()),
        DomainError::AlreadyResubmitted(2),
        DomainError::WithdrawNotAllowed(Status::Completed),
        DomainError::WithdrawAfterApproval,
        DomainError::NothingToRedrive(Status::Submitted),
        DomainError::SubmissionNotFound("sub-1".into()),
        DomainError::PasswordLocked {
            retry_after_seconds: 60,
        },
        DomainError::ResetNotFound("reset-1".into()),
        DomainError::ResetEnded,
        DomainError::ResetExpired,
        DomainError::TooManyCodes {
            retry_after_seconds: 60,
        },
        parse_request_type("x").unwrap_err(),
        validate_password("").unwrap_err(),
        validate_password(&"x".repeat(200)).unwrap_err(),
        service_ips_not_allowed(),
    ];
    for bad in [
        &[][..],
        &["x"],
        &["10.0.0.1"],
        &["8.8.8.8", "8.8.8.8"],
        &["1.1.1.1"],
    ] {
        all.push(validate_service_ips(&ips(bad), &ips(&["1.1.1.1"]), &policy).unwrap_err());
    }
    let ranged = IpPolicy {
        provider_ranges: IpRange::parse_list("203.0.113.0/24").unwrap(),
        ..IpPolicy::default()
    };
    all.push(validate_service_ips(&ips(&["8.8.8.8"]), &[], &ranged).unwrap_err());
    for e in &all {
        match e {
            DomainError::Validation { .. }
            | DomainError::WebsiteNotFound(_)
            | DomainError::RequestNotFound(_)
            | DomainError::RequestAlreadyOpen(_)
            | DomainError::IdempotencyKeyReused
            | DomainError::InvalidTransition { .. }
            | DomainError::AlreadyDecided(_)
            | DomainError::AlreadyResubmitted(_)
            | DomainError::WithdrawNotAllowed(_)
            | DomainError::WithdrawAfterApproval
            | DomainError::NothingToRedrive(_)
            | DomainError::SubmissionNotFound(_)
            | DomainError::PasswordLocked { .. }
            | DomainError::ResetNotFound(_)
            | DomainError::ResetEnded
            | DomainError::ResetExpired
            | DomainError::TooManyCodes { .. } => {}
        }
    }
    all
}
