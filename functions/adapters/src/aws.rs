//! AWS configuration, loaded once per cold start. Endpoints come from the standard
//! `AWS_ENDPOINT_URL*` variables, so one binary runs on LocalStack and on AWS.

use crate::Error;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};

pub async fn load_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(sdk_https_client())
        .load()
        .await
}

/// The SDK's HTTPS client: rustls with ring, trusting the system's CA bundle read once rather
/// than re-reading its certificate directory (see `tls`). Every SDK configuration takes it: the
/// SDK crates are built without a default client.
pub fn sdk_https_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    let trust_store = match crate::tls::system_ca_bundle() {
        Some(pem) => TrustStore::empty().with_pem_certificate(pem),
        None => TrustStore::default(),
    };
    let context = TlsContext::builder()
        .with_trust_store(trust_store)
        .build()
        .expect("a TLS context with no extra server names always builds");
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .tls_context(context)
        .build_https()
}

pub fn env(name: &str) -> Result<String, Error> {
    std::env::var(name).map_err(|_| format!("environment variable {name} is not set").into())
}

/// What a function is built from at cold start: its `secrets` and what `build` makes (its
/// clients: endpoint and partition resolution, CPU work), made while the secrets' round trip is
/// in flight rather than after it.
pub async fn alongside<S, T>(
    secrets: impl std::future::Future<Output = Result<S, Error>>,
    build: impl FnOnce() -> Result<T, Error>,
) -> Result<(S, T), Error> {
    // The secrets are polled first, so their requests are sent before the build runs.
    let (secrets, built) = tokio::join!(secrets, async { build() });
    Ok((secrets?, built?))
}

/// The string value of the secret named by the environment variable `env_name`.
pub async fn secret(config: &SdkConfig, env_name: &str) -> Result<String, Error> {
    fetch_secret(&aws_sdk_secretsmanager::Client::new(config), env_name).await
}

/// Two secrets, as `secret` reads one, fetched together by one client: at cold start their
/// round trips overlap.
pub async fn secret_pair(
    config: &SdkConfig,
    first_env_name: &str,
    second_env_name: &str,
) -> Result<(String, String), Error> {
    let client = aws_sdk_secretsmanager::Client::new(config);
    tokio::try_join!(
        fetch_secret(&client, first_env_name),
        fetch_secret(&client, second_env_name)
    )
}

async fn fetch_secret(
    client: &aws_sdk_secretsmanager::Client,
    env_name: &str,
) -> Result<String, Error> {
    let secret_id = env(env_name)?;
    let out = client
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

/// An optional whole number of seconds from the environment.
fn seconds(name: &str) -> Result<Option<i64>, Error> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| format!("{name} must be a whole number").into()),
        _ => Ok(None),
    }
}

/// The workflow's deadlines: `FIRST_REVIEW_DEADLINE_SECONDS` (0 or unset: 1 working day),
/// `AUTHORITY_DEADLINE_SECONDS`, `REJECTED_EXPIRY_SECONDS`, `EXPIRY_REMINDER_BEFORE_SECONDS`.
pub fn deadline_config() -> Result<icp_domain::deadlines::DeadlineConfig, Error> {
    let defaults = icp_domain::deadlines::DeadlineConfig::default();
    Ok(icp_domain::deadlines::DeadlineConfig {
        review_override_seconds: seconds("FIRST_REVIEW_DEADLINE_SECONDS")?.filter(|s| *s > 0),
        authority_seconds: seconds("AUTHORITY_DEADLINE_SECONDS")?
            .unwrap_or(defaults.authority_seconds),
        rejected_expiry_seconds: seconds("REJECTED_EXPIRY_SECONDS")?
            .unwrap_or(defaults.rejected_expiry_seconds),
        reminder_before_expiry_seconds: seconds("EXPIRY_REMINDER_BEFORE_SECONDS")?
            .unwrap_or(defaults.reminder_before_expiry_seconds),
    })
}

/// How long a request must be untouched before the sweeper looks at it:
/// `SWEEP_QUIET_SECONDS` (default 15 minutes).
pub fn sweep_quiet() -> Result<chrono::Duration, Error> {
    Ok(chrono::Duration::seconds(
        seconds("SWEEP_QUIET_SECONDS")?.unwrap_or(15 * 60),
    ))
}

/// The password lock: `PASSWORD_LOCK_SECONDS` (default 30 minutes) after 5 wrong in a row.
pub fn lock_policy() -> Result<icp_domain::verify::LockPolicy, Error> {
    let defaults = icp_domain::verify::LockPolicy::default();
    Ok(icp_domain::verify::LockPolicy {
        seconds: seconds("PASSWORD_LOCK_SECONDS")?.unwrap_or(defaults.seconds),
        ..defaults
    })
}
