//! Ends requests that stop without an authority decision delivered to their wait: the reminder
//! and the expiry of a rejected request not resubmitted, the result recorded by the callback
//! when the authority's deadline passes (or, with none, the alarm and another wait), and the
//! recorded failure when the workflow cannot go on.

use icp_adapters::aws;
use icp_adapters::clock::SystemClock;
use icp_adapters::dynamo::DynamoStore;
use icp_adapters::notifier::SnsSesNotifier;
use icp_domain::authority::AuthorityDeadline;
use icp_domain::closing::{Closing, UnjudgedCheck};
use icp_domain::contract::{AuthorityOutcome, CloseTask, Reminder, Resumed};
use icp_domain::history::FailureCause;
use icp_domain::ports::Clock;
use icp_domain::verify::LockPolicy;
use icp_edge::lambda::{self, SdkConfig, StepFunction};
use icp_edge::step::StepError;
use icp_edge::telemetry;
use lambda_runtime::{Context, Error};
use serde::Serialize;

/// What the state machine routes on after a task: the authority's deadline answers with the
/// decision `AuthorityDecided` routes on, the reminder with the outcome `Reminded` routes on; the
/// expiry and the recorded failure answer nothing.
#[derive(Serialize)]
#[serde(untagged)]
enum Answer {
    Authority(Resumed<AuthorityOutcome>),
    Reminder(Reminder),
    Nothing,
}

struct CloseRequest {
    store: DynamoStore,
    notifier: SnsSesNotifier,
    clock: SystemClock,
    lock: LockPolicy,
}

impl StepFunction for CloseRequest {
    type Input = CloseTask;
    type Output = Answer;

    async fn build(config: &SdkConfig) -> Result<Self, Error> {
        Ok(CloseRequest {
            store: DynamoStore::from_env(config)?,
            notifier: SnsSesNotifier::from_env(config)?,
            clock: SystemClock::from_env()?,
            lock: aws::lock_policy()?,
        })
    }

    async fn handle(&self, task: CloseTask, _: &Context) -> Result<Self::Output, StepError> {
        let now = self.clock.now();
        let closing = Closing {
            store: &self.store,
            notifier: &self.notifier,
        };
        Ok(match task {
            CloseTask::Remind(attempt) => Answer::Reminder(Reminder {
                outcome: closing.remind_resubmission(&attempt, now).await?,
            }),
            CloseTask::Expire(attempt) => {
                closing.expire(&attempt, now).await?;
                Answer::Nothing
            }
            CloseTask::AuthorityDeadline(attempt) => {
                let decision = AuthorityDeadline { store: &self.store }
                    .authority_deadline(&attempt)
                    .await?;
                if decision == AuthorityOutcome::Overdue {
                    telemetry::count("AuthorityOverdue");
                }
                tracing::info!(request_id = %attempt.request_id, attempt = attempt.attempt, ?decision, "authority deadline passed");
                Answer::Authority(Resumed { decision })
            }
            CloseTask::Fail { attempt, error } => {
                tracing::warn!(request_id = %attempt.request_id, attempt = attempt.attempt, %error, "workflow failed");
                let cause = FailureCause::StepFailed(error.to_string());
                closing.fail(&attempt, cause, now).await?;
                UnjudgedCheck {
                    store: &self.store,
                    lock: self.lock,
                }
                .settle_attempt(&attempt, now)
                .await?;
                Answer::Nothing
            }
        })
    }
}

fn main() -> Result<(), Error> {
    lambda::run_step::<CloseRequest>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use icp_domain::contract::ReminderOutcome;
    use serde_json::json;

    /// The shapes the definition selects from: `$.Payload.decision`, `$.Payload.outcome`.
    #[test]
    fn answers_are_the_shapes_the_state_machine_reads() {
        let answers = [
            (
                Answer::Authority(Resumed {
                    decision: AuthorityOutcome::Overdue,
                }),
                json!({"decision": "overdue"}),
            ),
            (
                Answer::Reminder(Reminder {
                    outcome: ReminderOutcome::Reminded,
                }),
                json!({"outcome": "reminded"}),
            ),
            (
                Answer::Reminder(Reminder {
                    outcome: ReminderOutcome::Superseded,
                }),
                json!({"outcome": "superseded"}),
            ),
            (Answer::Nothing, json!(null)),
        ];
        for (answer, expected) in answers {
            assert_eq!(serde_json::to_value(answer).unwrap(), expected);
        }
    }
}
