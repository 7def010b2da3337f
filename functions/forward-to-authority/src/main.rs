//! Approved at first review: submit the request to the authority's system over signed HTTP
//! and wait (`.waitForTaskToken`) for its result, which arrives by callback.

use icp_adapters::authority::HttpAuthority;
use icp_adapters::dynamo::DynamoStore;
use icp_adapters::notifier::SnsSesNotifier;
use icp_adapters::step::StepError;
use icp_adapters::vault::AesVault;
use icp_adapters::workflow::StepFunctionsControl;
use icp_adapters::{aws, telemetry};
use icp_domain::steps;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StepInput {
    request_id: String,
    attempt: u32,
    task_token: String,
}

struct App {
    store: DynamoStore,
    vault: AesVault,
    control: StepFunctionsControl,
    notifier: SnsSesNotifier,
    authority: HttpAuthority,
}

impl App {
    async fn handle(&self, event: LambdaEvent<StepInput>) -> Result<(), StepError> {
        let StepInput {
            request_id,
            attempt,
            task_token,
        } = event.payload;
        tracing::info!(%request_id, attempt, "forwarding to the authority");
        steps::forward_to_authority(
            &self.store,
            &self.vault,
            &self.control,
            &self.notifier,
            &self.authority,
            &request_id,
            attempt,
            &task_token,
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
    let (vault_secret, authority_secret) =
        aws::secret_pair(&config, "VAULT_SECRET_ID", "AUTHORITY_SECRET_ID").await?;
    let app = App {
        store: DynamoStore::from_env(&config)?,
        vault: AesVault::from_secret(&vault_secret),
        control: StepFunctionsControl::from_env(&config)?,
        notifier: SnsSesNotifier::from_env(&config)?,
        authority: HttpAuthority::from_env(authority_secret)?,
    };
    let app = &app;
    lambda_runtime::run(service_fn(
        move |event| async move { app.handle(event).await },
    ))
    .await
}
