//! The domain's ports on AWS and over HTTPS: the DynamoDB store, the Step Functions workflow,
//! SNS and SES, the authority's intake, the vault; and the AWS configuration, secrets and TLS
//! they are built from.

pub mod authority;
pub mod aws;
pub mod calendar;
pub mod clock;
pub mod dynamo;
pub mod notifier;
pub mod tls;
pub mod vault;
pub mod workflow;

/// What building an adapter from the environment can fail with (the Lambda runtime's error).
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// The ports a function that keeps or opens sealed values runs on: the store, SMS and email,
/// the vault (its key from `vault_secret`) and the workflow, from one AWS configuration.
pub fn ports(
    config: &aws_config::SdkConfig,
    vault_secret: &str,
) -> Result<
    icp_domain::ports::Ports<
        dynamo::DynamoStore,
        notifier::SnsSesNotifier,
        vault::AesVault,
        workflow::StepFunctionsWorkflow,
    >,
    Error,
> {
    Ok(icp_domain::ports::Ports {
        store: dynamo::DynamoStore::from_env(config)?,
        notifier: notifier::SnsSesNotifier::from_env(config)?,
        vault: vault::AesVault::from_secret(vault_secret),
        workflow: workflow::StepFunctionsWorkflow::from_env(config)?,
        authority: (),
    })
}
