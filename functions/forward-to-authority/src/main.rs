//! Approved at first review: submit the request to the authority's system over signed HTTP
//! (the state machine's input as it is). Then, started apart without being waited for
//! (`action: claim`) as the wait for the authority's result begins: claim waiting authority
//! tasks, keeping each token sealed, until this wait's is kept (see `icp_adapters::activity`).
//! The result arrives by callback.

use icp_adapters::activity::{self, ActivityWorker, OwnWait};
use icp_adapters::authority::HttpAuthority;
use icp_adapters::dynamo::DynamoStore;
use icp_adapters::notifier::SnsSesNotifier;
use icp_adapters::step::StepError;
use icp_adapters::vault::AesVault;
use icp_adapters::workflow::StepFunctionsControl;
use icp_adapters::{aws, telemetry};
use icp_domain::ports::TokenSlot;
use icp_domain::steps;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde::Deserialize;

/// What the state machine sends: the claim for the authority wait, or its whole state (forward).
#[derive(Deserialize)]
#[serde(untagged)]
enum StepEvent {
    Claim(ClaimInput),
    Forward(StepInput),
}

/// The wait that begins; the tasks claimed may be other requests'.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", tag = "action")]
enum ClaimInput {
    Claim(OwnWait),
}

/// The approved request.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StepInput {
    request_id: String,
    attempt: u32,
}

struct App {
    authority_tasks: ActivityWorker,
    store: DynamoStore,
    vault: AesVault,
    control: StepFunctionsControl,
    notifier: SnsSesNotifier,
    authority: HttpAuthority,
}

impl App {
    async fn handle(&self, event: LambdaEvent<StepEvent>) -> Result<(), StepError> {
        match event.payload {
            StepEvent::Forward(StepInput {
                request_id,
                attempt,
            }) => {
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
            StepEvent::Claim(ClaimInput::Claim(own)) => {
                tracing::info!(request_id = %own.request_id, attempt = own.attempt, "the authority wait begins: claiming");
                activity::claim(
                    &self.authority_tasks,
                    &event.context.request_id,
                    event.context.deadline(),
                    TokenSlot::Authority,
                    &own,
                    &self.store,
                    &self.vault,
                    &self.control,
                )
                .await
            }
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = aws::load_config().await;
    let (vault_secret, authority_secret) =
        aws::secret_pair(&config, "VAULT_SECRET_ID", "AUTHORITY_SECRET_ID").await?;
    let app = App {
        authority_tasks: ActivityWorker::from_env(&config, "AUTHORITY_ACTIVITY_ARN")?,
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
