//! Approved at first review: submit the request to the authority's system over signed HTTP,
//! record the forward, tell the customer, and keep the token of the `.waitForTaskToken` wait for
//! the authority's result, which arrives by callback.

use icp_adapters::authority::HttpAuthority;
use icp_adapters::aws;
use icp_adapters::dynamo::DynamoStore;
use icp_adapters::notifier::SnsSesNotifier;
use icp_adapters::vault::AesVault;
use icp_adapters::workflow::StepFunctionsWorkflow;
use icp_domain::contract::Wait;
use icp_domain::ports::Ports;
use icp_edge::lambda::{self, SdkConfig, StepFunction};
use icp_edge::step::StepError;
use lambda_runtime::{Context, Error};

struct ForwardToAuthority(
    Ports<DynamoStore, SnsSesNotifier, AesVault, StepFunctionsWorkflow, HttpAuthority>,
);

impl StepFunction for ForwardToAuthority {
    type Input = Wait;
    type Output = ();

    async fn build(config: &SdkConfig) -> Result<Self, Error> {
        let (vault_secret, authority_secret) =
            aws::secret_pair(config, "VAULT_SECRET_ID", "AUTHORITY_SECRET_ID").await?;
        let authority = HttpAuthority::from_env(authority_secret)?;
        Ok(ForwardToAuthority(
            icp_adapters::ports(config, &vault_secret)?.with_authority(authority),
        ))
    }

    async fn handle(&self, wait: Wait, _: &Context) -> Result<(), StepError> {
        tracing::info!(request_id = %wait.attempt.request_id, attempt = wait.attempt.attempt, "forwarding to the authority");
        Ok(self
            .0
            .forward_to_authority(&wait, chrono::Utc::now())
            .await?)
    }
}

fn main() -> Result<(), Error> {
    lambda::run_step::<ForwardToAuthority>()
}
