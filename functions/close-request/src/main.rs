//! Ends requests that stop without an authority decision delivered to their wait: the reminder
//! and the expiry of a rejected request not resubmitted, the result recorded by the callback
//! when the authority's deadline passes, and the recorded failure when the workflow cannot go
//! on.

use icp_adapters::dynamo::DynamoStore;
use icp_adapters::notifier::SnsSesNotifier;
use icp_adapters::step::StepError;
use icp_adapters::{aws, telemetry};
use icp_domain::steps;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", tag = "action")]
enum StepInput {
    #[serde(rename_all = "camelCase")]
    Remind { request_id: String, attempt: u32 },
    #[serde(rename_all = "camelCase")]
    Expire { request_id: String, attempt: u32 },
    #[serde(rename_all = "camelCase")]
    AuthorityDeadline { request_id: String, attempt: u32 },
    #[serde(rename_all = "camelCase")]
    Fail {
        request_id: String,
        attempt: u32,
        /// The error name Step Functions caught, e.g. `States.Timeout`.
        error: String,
    },
}

/// What the state machine routes on: the authority's deadline step answers with a decision.
#[derive(Serialize, Default)]
struct StepOutput {
    #[serde(skip_serializing_if = "Option::is_none")]
    decision: Option<&'static str>,
}

struct App {
    store: DynamoStore,
    notifier: SnsSesNotifier,
}

impl App {
    async fn handle(&self, event: LambdaEvent<StepInput>) -> Result<StepOutput, StepError> {
        let now = chrono::Utc::now();
        let (store, notifier) = (&self.store, &self.notifier);
        match event.payload {
            StepInput::Remind {
                request_id,
                attempt,
            } => steps::remind_resubmission(store, notifier, &request_id, attempt).await?,
            StepInput::Expire {
                request_id,
                attempt,
            } => steps::expire(store, notifier, &request_id, attempt, now).await?,
            StepInput::AuthorityDeadline {
                request_id,
                attempt,
            } => {
                let decision = steps::authority_deadline(store, &request_id, attempt).await?;
                tracing::info!(%request_id, attempt, decision, "authority deadline passed");
                return Ok(StepOutput {
                    decision: Some(decision),
                });
            }
            StepInput::Fail {
                request_id,
                attempt,
                error,
            } => {
                tracing::warn!(%request_id, attempt, %error, "workflow failed");
                if error == "States.Timeout" {
                    telemetry::count("AuthorityOverdue");
                }
                let cause = if error == "States.Timeout" {
                    "the communication administration did not answer in time".to_string()
                } else {
                    format!("processing failed ({error})")
                };
                steps::fail(store, notifier, &request_id, attempt, &cause, now).await?
            }
        }
        Ok(StepOutput::default())
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = aws::load_config().await;
    let app = App {
        store: DynamoStore::from_env(&config)?,
        notifier: SnsSesNotifier::from_env(&config)?,
    };
    let app = &app;
    lambda_runtime::run(service_fn(
        move |event| async move { app.handle(event).await },
    ))
    .await
}
