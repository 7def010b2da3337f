//! Adapters behind the domain's ports (DynamoDB store, Step Functions workflow, the password
//! vault) and the plumbing every Lambda shares: configuration, auth, HTTP errors, logs.

pub mod auth;
pub mod authority;
pub mod aws;
pub mod dynamo;
pub mod http;
pub mod lambda;
pub mod memory;
pub mod notifier;
pub mod step;
pub mod telemetry;
pub mod tls;
pub mod vault;
pub mod workflow;
