//! Approved at first review: submit the request to the authority's system over signed HTTP,
//! record the forward, tell the customer, and keep the token of the `.waitForTaskToken` wait for
//! the authority's result, which arrives by callback.

use icp_adapters::authority::HttpAuthority;
use icp_adapters::aws;
use icp_adapters::clock::SystemClock;
use icp_adapters::vault::AesVault;
use icp_adapters::Clients;
use icp_domain::authority::Forwarding;
use icp_domain::calendar::WorkingCalendar;
use icp_domain::contract::Wait;
use icp_domain::ports::Clock;
use icp_edge::lambda::{self, SdkConfig, StepFunction};
use icp_edge::step::StepError;
use icp_edge::telemetry;
use lambda_runtime::{Context, Error};

struct ForwardToAuthority {
    clients: Clients,
    vault: AesVault,
    authority: HttpAuthority,
    calendar: WorkingCalendar,
    clock: SystemClock,
}

impl StepFunction for ForwardToAuthority {
    type Input = Wait;
    type Output = ();

    async fn build(config: &SdkConfig) -> Result<Self, Error> {
        let (((vault_secret, authority_secret), calendar), (clients, authority_http)) =
            aws::alongside(
                async {
                    tokio::try_join!(
                        aws::secret_pair(config, "VAULT_SECRET_ID", "AUTHORITY_SECRET_ID"),
                        icp_adapters::calendar::load(config)
                    )
                },
                || Ok((Clients::from_env(config)?, HttpAuthority::client()?)),
            )
            .await?;
        let authority = HttpAuthority::from_env(authority_http, authority_secret)?;
        Ok(ForwardToAuthority {
            clients,
            vault: AesVault::from_secret(&vault_secret),
            authority,
            calendar,
            clock: SystemClock::from_env()?,
        })
    }

    async fn handle(&self, wait: Wait, _: &Context) -> Result<(), StepError> {
        tracing::info!(request_id = %wait.attempt.request_id, attempt = wait.attempt.attempt, "forwarding to the authority");
        let now = self.clock.now();
        let Clients {
            store,
            notifier,
            workflow,
        } = &self.clients;
        let forwarding = Forwarding {
            store,
            notifier,
            vault: &self.vault,
            workflow,
            authority: &self.authority,
        };
        let forwarded = forwarding
            .forward_to_authority(&wait, &self.calendar, now)
            .await;
        if forwarded.is_err()
            && forwarding
                .forward_overdue(&wait.attempt, &self.calendar, now)
                .await
                .unwrap_or(false)
        {
            // The workflow keeps trying; the ForwardOverdue alarm calls the operators.
            tracing::error!(request_id = %wait.attempt.request_id, "the forward to the authority is past its working day");
            telemetry::count("ForwardOverdue");
        }
        Ok(forwarded?)
    }
}

fn main() -> Result<(), Error> {
    lambda::run_step::<ForwardToAuthority>()
}
