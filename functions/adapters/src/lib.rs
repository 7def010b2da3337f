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

/// The clients of a function's ports: the store, SMS and email, the workflow.
pub struct Clients {
    pub store: dynamo::DynamoStore,
    pub notifier: notifier::SnsSesNotifier,
    pub workflow: workflow::StepFunctionsWorkflow,
}

impl Clients {
    pub fn from_env(config: &aws_config::SdkConfig) -> Result<Self, Error> {
        Ok(Clients {
            store: dynamo::DynamoStore::from_env(config)?,
            notifier: notifier::SnsSesNotifier::from_env(config)?,
            workflow: workflow::StepFunctionsWorkflow::from_env(config)?,
        })
    }
}
