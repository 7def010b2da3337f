//! The provider's first review, in three moments the state machine calls it for:
//! the review wait begins (started, not waited for: tell the reviewers, then claim waiting
//! review tasks, keeping each token sealed or resuming its wait at once if decided, until this
//! wait's is kept; see `icp_adapters::activity`),
//! `overdue` (the 1-working-day deadline passed: escalate to the reviewers) and `conclude` (a
//! rejection: record it with its reasons and tell the customer).

use icp_adapters::activity::{self, ActivityWorker, OwnWait};
use icp_adapters::dynamo::DynamoStore;
use icp_adapters::notifier::{reviewer_emails, SnsSesNotifier};
use icp_adapters::step::StepError;
use icp_adapters::vault::AesVault;
use icp_adapters::workflow::StepFunctionsControl;
use icp_adapters::{aws, telemetry};
use icp_domain::ports::TokenSlot;
use icp_domain::steps;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde::Deserialize;

/// What the state machine sends: an `action` with its fields, or — as the review wait begins —
/// that wait, with no `action`.
#[derive(Deserialize)]
#[serde(untagged)]
enum StepEvent {
    Action(StepInput),
    /// The review wait that begins; the tasks claimed afterwards may be other requests'.
    Claim(OwnWait),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", tag = "action")]
enum StepInput {
    #[serde(rename_all = "camelCase")]
    Overdue {
        request_id: String,
        attempt: u32,
        /// When the escalation state was entered: tells escalations apart, stable on retries.
        escalated_at: String,
    },
    #[serde(rename_all = "camelCase")]
    Conclude { request_id: String, attempt: u32 },
}

struct App {
    review_tasks: ActivityWorker,
    store: DynamoStore,
    vault: AesVault,
    control: StepFunctionsControl,
    notifier: SnsSesNotifier,
    reviewers: Vec<String>,
}

impl App {
    async fn handle(&self, event: LambdaEvent<StepEvent>) -> Result<(), StepError> {
        let action = match event.payload {
            StepEvent::Action(action) => action,
            StepEvent::Claim(own) => {
                tracing::info!(request_id = %own.request_id, attempt = own.attempt, "first review begins");
                // Claim even if telling the reviewers failed, as this worker may be the only one
                // polling for its wait; the failure is returned after, so that Lambda runs the
                // worker again (which tells them once: each notification has its own id).
                let announced = steps::announce_first_review(
                    &self.store,
                    &self.notifier,
                    &self.reviewers,
                    &own.request_id,
                    own.attempt,
                )
                .await;
                let deadline = event.context.deadline();
                activity::claim(
                    &self.review_tasks,
                    &event.context.request_id,
                    deadline,
                    TokenSlot::FirstReview,
                    &own,
                    &self.store,
                    &self.vault,
                    &self.control,
                )
                .await?;
                announced?;
                return Ok(());
            }
        };
        match action {
            StepInput::Overdue {
                request_id,
                attempt,
                escalated_at,
            } => {
                tracing::info!(%request_id, attempt, "first review overdue");
                telemetry::count("FirstReviewOverdue");
                steps::escalate_first_review(
                    &self.store,
                    &self.notifier,
                    &self.reviewers,
                    &request_id,
                    attempt,
                    &escalated_at,
                )
                .await?
            }
            StepInput::Conclude {
                request_id,
                attempt,
            } => {
                tracing::info!(%request_id, attempt, "concluding a first-review rejection");
                steps::conclude_first_review(
                    &self.store,
                    &self.notifier,
                    &request_id,
                    attempt,
                    chrono::Utc::now(),
                )
                .await?
            }
        }
        Ok(())
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = aws::load_config().await;
    let app = App {
        review_tasks: ActivityWorker::from_env(&config, "FIRST_REVIEW_ACTIVITY_ARN")?,
        store: DynamoStore::from_env(&config)?,
        vault: AesVault::from_secret(&aws::secret(&config, "VAULT_SECRET_ID").await?),
        control: StepFunctionsControl::from_env(&config)?,
        notifier: SnsSesNotifier::from_env(&config)?,
        reviewers: reviewer_emails(),
    };
    let app = &app;
    lambda_runtime::run(service_fn(
        move |event| async move { app.handle(event).await },
    ))
    .await
}
