//! Approved by the authority: apply the outcome (website cancelled and cleared, access
//! cancelled with the entity license number kept, or the new service IPs in force) and
//! complete the request.

use icp_adapters::dynamo::DynamoStore;
use icp_adapters::notifier::SnsSesNotifier;
use icp_adapters::step::StepError;
use icp_adapters::{aws, telemetry};
use icp_domain::steps;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StepInput {
    request_id: String,
    attempt: u32,
}

struct App {
    store: DynamoStore,
    notifier: SnsSesNotifier,
}

impl App {
    async fn handle(&self, event: LambdaEvent<StepInput>) -> Result<(), StepError> {
        let StepInput {
            request_id,
            attempt,
        } = event.payload;
        tracing::info!(%request_id, attempt, "clearing the record");
        steps::clear_record(
            &self.store,
            &self.notifier,
            &request_id,
            attempt,
            chrono::Utc::now(),
        )
        .await?;
        Ok(())
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
