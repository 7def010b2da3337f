//! The workflow's first task: check the attempt's license password against the entity's
//! argon2id hash; record `pending_first_review` or `password_rejected`.

use icp_adapters::aws;
use icp_adapters::clock::SystemClock;
use icp_adapters::dynamo::DynamoStore;
use icp_adapters::notifier::SnsSesNotifier;
use icp_adapters::vault::AesVault;
use icp_domain::calendar::WorkingCalendar;
use icp_domain::contract::{Attempt, VerifyOutput};
use icp_domain::deadlines::DeadlineConfig;
use icp_domain::ports::Clock;
use icp_domain::verify::{LockPolicy, Verification};
use icp_edge::lambda::{self, SdkConfig, StepFunction};
use icp_edge::step::StepError;
use icp_edge::telemetry;
use lambda_runtime::{Context, Error};

struct VerifyPassword {
    store: DynamoStore,
    notifier: SnsSesNotifier,
    vault: AesVault,
    deadlines: DeadlineConfig,
    calendar: WorkingCalendar,
    lock: LockPolicy,
    clock: SystemClock,
}

impl StepFunction for VerifyPassword {
    type Input = Attempt;
    type Output = VerifyOutput;

    async fn build(config: &SdkConfig) -> Result<Self, Error> {
        let ((vault_secret, calendar), (store, notifier)) = aws::alongside(
            async {
                tokio::try_join!(
                    aws::secret(config, "VAULT_SECRET_ID"),
                    icp_adapters::calendar::load(config)
                )
            },
            || {
                Ok((
                    DynamoStore::from_env(config)?,
                    SnsSesNotifier::from_env(config)?,
                ))
            },
        )
        .await?;
        Ok(VerifyPassword {
            store,
            notifier,
            vault: AesVault::from_secret(&vault_secret),
            deadlines: aws::deadline_config()?,
            calendar,
            lock: aws::lock_policy()?,
            clock: SystemClock::from_env()?,
        })
    }

    async fn handle(&self, input: Attempt, _: &Context) -> Result<VerifyOutput, StepError> {
        let now = self.clock.now();
        let (review_due, deadlines) = self.deadlines.for_review_starting(now, &self.calendar);
        if review_due.guessed {
            // The alarm on this metric tells the operators to add the year (README).
            tracing::error!(
                last_year = ?self.calendar.last_year(),
                "the working-day calendar does not know a day of this review: judged by weekday"
            );
            telemetry::count("CalendarYearMissing");
        }
        let verification = Verification {
            store: &self.store,
            notifier: &self.notifier,
            vault: &self.vault,
        };
        let outcome = verification
            .verify_password(
                &input.request_id,
                input.attempt,
                review_due.at.with_timezone(&chrono::Utc),
                self.lock,
                now,
            )
            .await?;
        tracing::info!(request_id = %input.request_id, attempt = input.attempt, ?outcome, "license password checked");
        Ok(VerifyOutput {
            attempt: input,
            outcome,
            deadlines,
        })
    }
}

fn main() -> Result<(), Error> {
    lambda::run_step::<VerifyPassword>()
}
