//! Approved by the authority: apply the outcome (website cancelled and cleared, access
//! cancelled with the entity license number kept, or the new service IPs in force) and
//! complete the request.

use icp_adapters::dynamo::DynamoStore;
use icp_adapters::notifier::SnsSesNotifier;
use icp_domain::contract::Attempt;
use icp_domain::ports::Ports;
use icp_edge::lambda::{self, SdkConfig, StepFunction};
use icp_edge::step::StepError;
use lambda_runtime::{Context, Error};

struct ClearRecord(Ports<DynamoStore, SnsSesNotifier>);

impl StepFunction for ClearRecord {
    type Input = Attempt;
    type Output = ();

    async fn build(config: &SdkConfig) -> Result<Self, Error> {
        Ok(ClearRecord(Ports {
            store: DynamoStore::from_env(config)?,
            notifier: SnsSesNotifier::from_env(config)?,
            vault: (),
            workflow: (),
            authority: (),
        }))
    }

    async fn handle(&self, input: Attempt, _: &Context) -> Result<(), StepError> {
        tracing::info!(request_id = %input.request_id, attempt = input.attempt, "clearing the record");
        Ok(self.0.clear_record(&input, chrono::Utc::now()).await?)
    }
}

fn main() -> Result<(), Error> {
    lambda::run_step::<ClearRecord>()
}
