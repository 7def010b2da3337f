//! Approved by the authority: apply the outcome (website cancelled and cleared, access
//! cancelled with the entity license number kept, or the new service IPs in force) and
//! complete the request. When applying keeps failing, the workflow waits a round and runs this
//! again, for as long as it takes.

use icp_adapters::clock::SystemClock;
use icp_adapters::dynamo::DynamoStore;
use icp_adapters::notifier::SnsSesNotifier;
use icp_domain::closing::Closing;
use icp_domain::contract::Attempt;
use icp_domain::ports::Clock;
use icp_edge::lambda::{self, SdkConfig, StepFunction};
use icp_edge::step::StepError;
use lambda_runtime::{Context, Error};

struct ClearRecord {
    store: DynamoStore,
    notifier: SnsSesNotifier,
    clock: SystemClock,
}

impl StepFunction for ClearRecord {
    type Input = Attempt;
    type Output = ();

    async fn build(config: &SdkConfig) -> Result<Self, Error> {
        Ok(ClearRecord {
            store: DynamoStore::from_env(config)?,
            notifier: SnsSesNotifier::from_env(config)?,
            clock: SystemClock::from_env()?,
        })
    }

    async fn handle(&self, attempt: Attempt, _: &Context) -> Result<(), StepError> {
        tracing::info!(request_id = %attempt.request_id, attempt = attempt.attempt, "clearing the record");
        let closing = Closing {
            store: &self.store,
            notifier: &self.notifier,
        };
        Ok(closing.clear_record(&attempt, self.clock.now()).await?)
    }
}

fn main() -> Result<(), Error> {
    lambda::run_step::<ClearRecord>()
}
