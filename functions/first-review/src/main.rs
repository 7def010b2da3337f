//! The provider's first review, in three moments the state machine calls it for: `await` (the
//! `.waitForTaskToken` wait for the reviewer's decision begins: keep its token, tell the
//! reviewers), `overdue` (the 1-working-day deadline passed: escalate to the reviewers) and
//! `conclude` (a rejection: record it with its reasons and tell the customer).

use icp_adapters::aws;
use icp_adapters::clock::SystemClock;
use icp_adapters::notifier::reviewer_emails;
use icp_adapters::vault::AesVault;
use icp_adapters::Clients;
use icp_domain::contract::FirstReviewTask;
use icp_domain::ports::Clock;
use icp_domain::review::{AwaitReview, ReviewNotices};
use icp_edge::lambda::{self, SdkConfig, StepFunction};
use icp_edge::step::StepError;
use icp_edge::telemetry;
use lambda_runtime::{Context, Error};

struct FirstReview {
    clients: Clients,
    vault: AesVault,
    reviewers: Vec<String>,
    clock: SystemClock,
}

impl StepFunction for FirstReview {
    type Input = FirstReviewTask;
    type Output = ();

    async fn build(config: &SdkConfig) -> Result<Self, Error> {
        let (vault_secret, clients) =
            aws::alongside(aws::secret(config, "VAULT_SECRET_ID"), || {
                Clients::from_env(config)
            })
            .await?;
        Ok(FirstReview {
            clients,
            vault: AesVault::from_secret(&vault_secret),
            reviewers: reviewer_emails(),
            clock: SystemClock::from_env()?,
        })
    }

    async fn handle(&self, task: FirstReviewTask, _: &Context) -> Result<(), StepError> {
        let Clients {
            store,
            notifier,
            workflow,
        } = &self.clients;
        let notices = ReviewNotices { store, notifier };
        match task {
            FirstReviewTask::Await(wait) => {
                tracing::info!(request_id = %wait.attempt.request_id, attempt = wait.attempt.attempt, "awaiting first review");
                let waiting = AwaitReview {
                    store,
                    notifier,
                    vault: &self.vault,
                    workflow,
                };
                waiting
                    .await_review(&wait, &self.reviewers, self.clock.now())
                    .await?
            }
            FirstReviewTask::Overdue {
                attempt,
                escalated_at,
            } => {
                let escalated = notices
                    .escalate_review(&self.reviewers, &attempt, &escalated_at, self.clock.now())
                    .await?;
                if escalated {
                    tracing::info!(request_id = %attempt.request_id, attempt = attempt.attempt, "first review overdue: reviewers escalated");
                    telemetry::count("FirstReviewOverdue");
                } else {
                    tracing::warn!(request_id = %attempt.request_id, attempt = attempt.attempt, "the review's wait ended before its due time: nothing escalated");
                }
            }
            FirstReviewTask::Conclude(attempt) => {
                tracing::info!(request_id = %attempt.request_id, attempt = attempt.attempt, "concluding a first-review rejection");
                notices.conclude_review(&attempt, self.clock.now()).await?
            }
        }
        Ok(())
    }
}

fn main() -> Result<(), Error> {
    lambda::run_step::<FirstReview>()
}
