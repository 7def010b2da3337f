//! Approved at first review: submit the request to the authority's system over signed HTTP
//! (the state machine's input as it is), record the forward and tell the customer. The wait
//! for the authority's result is claim-wait's; the result arrives by callback.

use icp_adapters::authority::HttpAuthority;
use icp_adapters::dynamo::DynamoStore;
use icp_adapters::notifier::SnsSesNotifier;
use icp_adapters::step::StepError;
use icp_adapters::{aws, telemetry};
use icp_domain::steps;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde::Deserialize;

/// The approved request.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StepInput {
    request_id: String,
    attempt: u32,
}

struct App {
    store: DynamoStore,
    notifier: SnsSesNotifier,
    authority: HttpAuthority,
}

impl App {
    async fn handle(&self, event: LambdaEvent<StepInput>) -> Result<(), StepError> {
        let StepInput {
            request_id,
            attempt,
        } = event.payload;
        tracing::info!(%request_id, attempt, "forwarding to the authority");
        steps::forward_to_authority(
            &self.store,
            &self.notifier,
            &self.authority,
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
        authority: HttpAuthority::from_env(aws::secret(&config, "AUTHORITY_SECRET_ID").await?)?,
    };
    let app = &app;
    lambda_runtime::run(service_fn(
        move |event| async move { app.handle(event).await },
    ))
    .await
}
