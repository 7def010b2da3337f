//! Started, not waited for, as each wait for people begins (the reviewer's decision, the
//! authority's result): claims the wait's activity tasks, keeping each token sealed or
//! resuming its wait at once if decided, until this wait's token is kept (see
//! `icp_adapters::activity`). A review wait also tells the reviewers.
//!
//! The claim workers are a function of their own, not part of the steps: a crash of a step
//! (run again by Step Functions) then never takes down a worker's long poll, whose next task
//! Step Functions would hand to the dead poll.

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

/// The wait that begins; the tasks claimed may be other requests'.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", tag = "wait")]
enum WaitBegins {
    Review(OwnWait),
    Authority(OwnWait),
}

struct App {
    review_tasks: ActivityWorker,
    authority_tasks: ActivityWorker,
    store: DynamoStore,
    vault: AesVault,
    control: StepFunctionsControl,
    notifier: SnsSesNotifier,
    reviewers: Vec<String>,
}

impl App {
    async fn handle(&self, event: LambdaEvent<WaitBegins>) -> Result<(), StepError> {
        let deadline = event.context.deadline();
        let worker_name = &event.context.request_id;
        match event.payload {
            WaitBegins::Review(own) => {
                tracing::info!(request_id = %own.request_id, attempt = own.attempt, "the review wait begins");
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
                activity::claim(
                    &self.review_tasks,
                    worker_name,
                    deadline,
                    TokenSlot::FirstReview,
                    &own,
                    &self.store,
                    &self.vault,
                    &self.control,
                )
                .await?;
                Ok(announced?)
            }
            WaitBegins::Authority(own) => {
                tracing::info!(request_id = %own.request_id, attempt = own.attempt, "the authority wait begins");
                activity::claim(
                    &self.authority_tasks,
                    worker_name,
                    deadline,
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
    let app = App {
        review_tasks: ActivityWorker::from_env(&config, "FIRST_REVIEW_ACTIVITY_ARN")?,
        authority_tasks: ActivityWorker::from_env(&config, "AUTHORITY_ACTIVITY_ARN")?,
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
