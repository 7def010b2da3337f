//! The workflow's first task: check the attempt's license password against the entity's
//! argon2id hash; record `pending_first_review` or `password_rejected`.

use icp_adapters::dynamo::DynamoStore;
use icp_adapters::notifier::SnsSesNotifier;
use icp_adapters::step::StepError;
use icp_adapters::vault::AesVault;
use icp_adapters::{aws, telemetry};
use icp_domain::deadlines::{DeadlineConfig, Deadlines};
use icp_domain::service::{self, LockPolicy, VerifyOutcome};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StepInput {
    request_id: String,
    attempt: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StepOutput {
    request_id: String,
    attempt: u32,
    /// `accepted`, `rejected` or `superseded`; the state machine branches on it.
    outcome: &'static str,
    /// How long the next states wait: first review, the authority, a rejection's expiry.
    deadlines: Deadlines,
}

struct App {
    store: DynamoStore,
    vault: AesVault,
    notifier: SnsSesNotifier,
    deadlines: DeadlineConfig,
    lock: LockPolicy,
}

impl App {
    async fn handle(&self, event: LambdaEvent<StepInput>) -> Result<StepOutput, StepError> {
        let StepInput {
            request_id,
            attempt,
        } = event.payload;
        let now = chrono::Utc::now();
        let (review_due_at, deadlines) = self.deadlines.for_review_starting(now);
        let outcome = service::verify_password(
            &self.store,
            &self.vault,
            &self.notifier,
            &request_id,
            attempt,
            review_due_at,
            self.lock,
            now,
        )
        .await?;
        let outcome = match outcome {
            VerifyOutcome::Accepted => "accepted",
            VerifyOutcome::Rejected => "rejected",
            VerifyOutcome::Superseded => "superseded",
        };
        tracing::info!(%request_id, attempt, outcome, "license password checked");
        Ok(StepOutput {
            request_id,
            attempt,
            outcome,
            deadlines,
        })
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = aws::load_config().await;
    let app = App {
        store: DynamoStore::from_env(&config)?,
        vault: AesVault::from_secret(&aws::secret(&config, "VAULT_SECRET_ID").await?),
        notifier: SnsSesNotifier::from_env(&config)?,
        deadlines: aws::deadline_config()?,
        lock: aws::lock_policy()?,
    };
    let app = &app;
    lambda_runtime::run(service_fn(
        move |event| async move { app.handle(event).await },
    ))
    .await
}
