//! The contract with the state machine (`statemachine/request.asl.yaml`): what each task is
//! invoked with, what it answers, the outcomes the Choice states route on and the error names
//! Retry and Catch match. A test holds the definition to these types, both ways.

use crate::deadlines::Deadlines;
use serde::{Deserialize, Serialize};

/// Every task's input names the request and the attempt its execution serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    pub request_id: String,
    pub attempt: u32,
}

/// A wait for a person: the task token that ends it and when its state was entered
/// (`$$.State.EnteredTime`), which orders the waits of one attempt.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Wait {
    #[serde(flatten)]
    pub attempt: Attempt,
    pub task_token: String,
    pub entered_at: String,
}

/// Never prints the token: it is a secret.
impl std::fmt::Debug for Wait {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wait")
            .field("attempt", &self.attempt)
            .field("entered_at", &self.entered_at)
            .finish_non_exhaustive()
    }
}

/// `verify-password`'s answer; `PasswordChecked` routes on `$.outcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifyOutcome {
    Accepted,
    Rejected,
    /// The request left this attempt (withdrawn, or a newer attempt runs): stop quietly.
    Superseded,
}

impl VerifyOutcome {
    pub const ALL: [VerifyOutcome; 3] = [
        VerifyOutcome::Accepted,
        VerifyOutcome::Rejected,
        VerifyOutcome::Superseded,
    ];
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyOutput {
    #[serde(flatten)]
    pub attempt: Attempt,
    pub outcome: VerifyOutcome,
    /// How long the next states wait: first review, the authority, a rejection's expiry.
    pub deadlines: Deadlines,
}

/// What the first-review wait is resumed with; `ReviewDecided` routes on `$.review.decision`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewOutcome {
    Approve,
    Reject,
    /// The attempt is over (withdrawn, resubmitted): the execution ends.
    Superseded,
}

impl ReviewOutcome {
    pub const ALL: [ReviewOutcome; 3] = [
        ReviewOutcome::Approve,
        ReviewOutcome::Reject,
        ReviewOutcome::Superseded,
    ];
}

/// What the authority wait is resumed with (and what `AuthorityDeadline` answers);
/// `AuthorityDecided` routes on `$.authority.decision`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthorityOutcome {
    Approved,
    Rejected,
    /// The deadline passed with no result recorded: operators are alerted and the wait begins
    /// again (a late result is still recorded and applied).
    Overdue,
    Superseded,
}

impl AuthorityOutcome {
    pub const ALL: [AuthorityOutcome; 4] = [
        AuthorityOutcome::Approved,
        AuthorityOutcome::Rejected,
        AuthorityOutcome::Overdue,
        AuthorityOutcome::Superseded,
    ];
}

/// `close-request`'s answer to a rejected attempt's reminder; `Reminded` routes on
/// `$.reminder.outcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReminderOutcome {
    /// The attempt still waits for Modify and Submit: on to its expiry.
    Reminded,
    /// The attempt is over (resubmitted, withdrawn): the execution ends instead of waiting
    /// for an expiry that would change nothing.
    Superseded,
}

impl ReminderOutcome {
    pub const ALL: [ReminderOutcome; 2] = [ReminderOutcome::Reminded, ReminderOutcome::Superseded];
}

/// What `RemindResubmission` answers: `{"outcome": ...}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reminder {
    pub outcome: ReminderOutcome,
}

/// The output a wait is resumed with: `{"decision": ...}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resumed<T> {
    pub decision: T,
}

/// `first-review`'s three moments.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", tag = "action")]
pub enum FirstReviewTask {
    /// The wait for the reviewer's decision begins (`.waitForTaskToken`).
    Await(Wait),
    /// The 1-working-day deadline passed: escalate to the reviewers.
    #[serde(rename_all = "camelCase")]
    Overdue {
        #[serde(flatten)]
        attempt: Attempt,
        /// When the escalation state was entered: tells escalations apart, stable on retries.
        escalated_at: String,
    },
    /// A rejection: record it with the reviewer's reasons and tell the customer.
    Conclude(Attempt),
}

/// `close-request`'s moments: a rejected request's reminder and expiry, the authority's
/// deadline, and the recorded failure.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", tag = "action")]
pub enum CloseTask {
    Remind(Attempt),
    Expire(Attempt),
    AuthorityDeadline(Attempt),
    Fail {
        #[serde(flatten)]
        attempt: Attempt,
        /// The error name Step Functions caught, e.g. `States.Timeout`.
        error: String,
    },
}

/// The error names the definition's Retry and Catch match. `Retryable` is ours (a step's
/// passing failure, retried with backoff); the others are Step Functions' and Lambda's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorName {
    Retryable,
    #[serde(rename = "Lambda.ServiceException")]
    LambdaServiceException,
    #[serde(rename = "Lambda.AWSLambdaException")]
    LambdaAwsLambdaException,
    #[serde(rename = "Lambda.SdkClientException")]
    LambdaSdkClientException,
    #[serde(rename = "Lambda.TooManyRequestsException")]
    LambdaTooManyRequestsException,
    #[serde(rename = "Lambda.Unknown")]
    LambdaUnknown,
    #[serde(rename = "Sandbox.Timedout")]
    SandboxTimedout,
    #[serde(rename = "Runtime.ExitError")]
    RuntimeExitError,
    #[serde(rename = "States.Timeout")]
    StatesTimeout,
    #[serde(rename = "States.ALL")]
    StatesAll,
}

impl ErrorName {
    pub const ALL: [ErrorName; 10] = [
        ErrorName::Retryable,
        ErrorName::LambdaServiceException,
        ErrorName::LambdaAwsLambdaException,
        ErrorName::LambdaSdkClientException,
        ErrorName::LambdaTooManyRequestsException,
        ErrorName::LambdaUnknown,
        ErrorName::SandboxTimedout,
        ErrorName::RuntimeExitError,
        ErrorName::StatesTimeout,
        ErrorName::StatesAll,
    ];

    /// The name as Step Functions reports it, if it is one the definition matches.
    pub fn parse(name: &str) -> Option<ErrorName> {
        serde_json::from_value(serde_json::Value::String(name.into())).ok()
    }
}
