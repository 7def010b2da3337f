//! AWS configuration, loaded once per cold start. Endpoints come from the standard
//! `AWS_ENDPOINT_URL*` variables, so one binary runs on LocalStack and on AWS.

use aws_config::{BehaviorVersion, SdkConfig};
use lambda_runtime::Error;

pub async fn load_config() -> SdkConfig {
    aws_config::load_defaults(BehaviorVersion::latest()).await
}

pub fn env(name: &str) -> Result<String, Error> {
    std::env::var(name).map_err(|_| format!("environment variable {name} is not set").into())
}

/// The string value of the secret named by the environment variable `env_name`.
pub async fn secret(config: &SdkConfig, env_name: &str) -> Result<String, Error> {
    let secret_id = env(env_name)?;
    let out = aws_sdk_secretsmanager::Client::new(config)
        .get_secret_value()
        .secret_id(&secret_id)
        .send()
        .await
        .map_err(|e| {
            format!(
                "reading secret {secret_id}: {}",
                aws_sdk_secretsmanager::error::DisplayErrorContext(e)
            )
        })?;
    out.secret_string
        .ok_or_else(|| format!("secret {secret_id} has no string value").into())
}
