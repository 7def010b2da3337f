//! The domain's ports on AWS and over HTTPS: the DynamoDB store, the Step Functions workflow,
//! SNS and SES, the authority's intake, the vault; and the AWS configuration, secrets and TLS
//! they are built from.

pub mod authority;
pub mod aws;
pub mod dynamo;
pub mod notifier;
pub mod tls;
pub mod vault;
pub mod workflow;

/// What building an adapter from the environment can fail with (the Lambda runtime's error).
pub type Error = Box<dyn std::error::Error + Send + Sync>;
