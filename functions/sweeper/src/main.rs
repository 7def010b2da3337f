//! Run on a schedule (EventBridge): starts the executions of requests written without one,
//! starts again the attempts an ended execution left open, and resumes the waits whose result
//! is recorded but was not delivered (see `icp_domain::sweep`). Only requests
//! untouched for `SWEEP_QUIET_SECONDS` (default 15 minutes) are looked at.

use icp_adapters::aws;
use icp_adapters::clock::SystemClock;
use icp_adapters::dynamo::DynamoStore;
use icp_adapters::vault::AesVault;
use icp_adapters::workflow::StepFunctionsWorkflow;
use icp_domain::ports::Clock;
use icp_domain::sweep::{self, SweepReport};
use icp_edge::lambda::{self, SdkConfig, StepFunction};
use icp_edge::step::{StepError, StepErrorKind};
use icp_edge::telemetry;
use lambda_runtime::{Context, Error};

struct Sweeper {
    store: DynamoStore,
    vault: AesVault,
    workflow: StepFunctionsWorkflow,
    quiet_for: chrono::Duration,
    clock: SystemClock,
}

impl StepFunction for Sweeper {
    /// The scheduled event; its content does not matter.
    type Input = serde_json::Value;
    type Output = SweepReport;

    async fn build(config: &SdkConfig) -> Result<Self, Error> {
        let vault_secret = aws::secret(config, "VAULT_SECRET_ID").await?;
        Ok(Sweeper {
            store: DynamoStore::from_env(config)?,
            vault: AesVault::from_secret(&vault_secret),
            workflow: StepFunctionsWorkflow::from_env(config)?,
            quiet_for: aws::sweep_quiet()?,
            clock: SystemClock::from_env()?,
        })
    }

    async fn handle(&self, _: serde_json::Value, _: &Context) -> Result<SweepReport, StepError> {
        let sweeper = sweep::Sweeper {
            store: &self.store,
            vault: &self.vault,
            workflow: &self.workflow,
        };
        let report = sweeper.sweep(self.clock.now(), self.quiet_for).await?;
        for _ in 0..report.acted() {
            telemetry::count("RequestsSwept");
        }
        tracing::info!(
            started = ?report.started,
            restarted = ?report.restarted,
            resumed = ?report.resumed,
            errors = ?report.errors,
            unlisted = ?report.unlisted,
            "sweep done"
        );
        if report.errors.is_empty() {
            Ok(report)
        } else {
            // Counted by the function-errors alarm; the next sweep tries them again.
            Err(StepError {
                kind: StepErrorKind::Retryable,
                message: format!("{} requests could not be swept", report.errors.len()),
            })
        }
    }
}

fn main() -> Result<(), Error> {
    lambda::run_step::<Sweeper>()
}
