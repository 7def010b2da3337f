//! The provider's first review, in three moments the state machine calls it for:
//! `await` (with `.waitForTaskToken`: keep the token, tell the reviewers, resume at once if
//! already decided), `overdue` (the 1-working-day deadline passed: escalate to the reviewers)
//! and `conclude` (a rejection: record it with its reasons and tell the customer).

use icp_adapters::dynamo::DynamoStore;
use icp_adapters::notifier::{reviewer_emails, SnsSesNotifier};
use icp_adapters::step::StepError;
use icp_adapters::vault::AesVault;
use icp_adapters::workflow::StepFunctionsControl;
use icp_adapters::{aws, telemetry};
use icp_domain::steps;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", tag = "action")]
enum StepInput {
    #[serde(rename_all = "camelCase")]
    Await {
        request_id: String,
        attempt: u32,
        task_token: String,
    },
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
    store: DynamoStore,
    vault: AesVault,
    control: StepFunctionsControl,
    notifier: SnsSesNotifier,
    reviewers: Vec<String>,
}

impl App {
    async fn handle(&self, event: LambdaEvent<StepInput>) -> Result<(), StepError> {
        match event.payload {
            StepInput::Await {
                request_id,
                attempt,
                task_token,
            } => {
                tracing::info!(%request_id, attempt, "awaiting first review");
                steps::await_first_review(
                    &self.store,
                    &self.vault,
                    &self.control,
                    &self.notifier,
                    &self.reviewers,
                    &request_id,
                    attempt,
                    &task_token,
                )
                .await?
            }
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
