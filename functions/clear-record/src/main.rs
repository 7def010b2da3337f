//! Approved by the authority: apply the outcome (website cancelled and cleared, access
//! cancelled with the entity license number kept, or the new service IPs in force) and
//! complete the request. When applying keeps failing past its rounds of retries, the approval
//! is parked: counted for the alarm, named in the log for the operator who re-drives it.

use icp_adapters::clock::SystemClock;
use icp_adapters::dynamo::DynamoStore;
use icp_adapters::notifier::SnsSesNotifier;
use icp_domain::contract::ClearTask;
use icp_domain::ports::{Clock, Ports};
use icp_edge::lambda::{self, SdkConfig, StepFunction};
use icp_edge::step::StepError;
use icp_edge::telemetry;
use lambda_runtime::{Context, Error};

struct ClearRecord {
    ports: Ports<DynamoStore, SnsSesNotifier>,
    clock: SystemClock,
}

impl StepFunction for ClearRecord {
    type Input = ClearTask;
    type Output = ();

    async fn build(config: &SdkConfig) -> Result<Self, Error> {
        Ok(ClearRecord {
            ports: Ports {
                store: DynamoStore::from_env(config)?,
                notifier: SnsSesNotifier::from_env(config)?,
                vault: (),
                workflow: (),
                authority: (),
            },
            clock: SystemClock::from_env()?,
        })
    }

    async fn handle(&self, task: ClearTask, _: &Context) -> Result<(), StepError> {
        match task {
            ClearTask::Apply(attempt) => {
                tracing::info!(request_id = %attempt.request_id, attempt = attempt.attempt, "clearing the record");
                Ok(self.ports.clear_record(&attempt, self.clock.now()).await?)
            }
            // Nothing here may need DynamoDB: an outage of it is the likely cause.
            ClearTask::Parked { attempt, error } => {
                telemetry::count("ApprovalParked");
                tracing::error!(request_id = %attempt.request_id, attempt = attempt.attempt, %error, "approval parked: applying it keeps failing; re-drive it once the cause is fixed (icp-review redrive)");
                Ok(())
            }
        }
    }
}

fn main() -> Result<(), Error> {
    lambda::run_step::<ClearRecord>()
}
