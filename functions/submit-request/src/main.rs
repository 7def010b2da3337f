//! `POST /requests`: validate a change request and store it. Its workflow is started from the
//! requests table's stream (`start-workflow`), after the answer.

use icp_adapters::aws;
use icp_adapters::clock::SystemClock;
use icp_adapters::dynamo::DynamoStore;
use icp_adapters::vault::AesVault;
use icp_domain::language::Text;
use icp_domain::ports::Clock;
use icp_domain::submit::{SubmitInput, Submitting};
use icp_edge::auth::Authenticator;
use icp_edge::http::{self, ApiError};
use icp_edge::lambda::{self, HttpFunction, SdkConfig};
use lambda_http::{Error, Request};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SubmitBody {
    #[serde(rename = "type")]
    request_type: String,
    website_id: String,
    license_password: String,
    service_ips: Option<Vec<String>>,
}

struct SubmitRequest {
    store: DynamoStore,
    vault: AesVault,
    auth: Authenticator,
    ip_policy: icp_domain::validation::IpPolicy,
    clock: SystemClock,
}

impl HttpFunction for SubmitRequest {
    async fn build(config: &SdkConfig) -> Result<Self, Error> {
        let auth = Authenticator::from_env()?;
        // The issuer's keys come beside the vault's key: every first call needs them.
        let (vault_secret, store) = aws::alongside(
            async {
                let (secret, ()) =
                    tokio::join!(aws::secret(config, "VAULT_SECRET_ID"), auth.fetch_keys());
                secret
            },
            || DynamoStore::from_env(config),
        )
        .await?;
        Ok(SubmitRequest {
            store,
            vault: AesVault::from_secret(&vault_secret),
            auth,
            ip_policy: http::ip_policy()?,
            clock: SystemClock::from_env()?,
        })
    }

    async fn handle(&self, req: &Request) -> Result<(u16, serde_json::Value), ApiError> {
        let caller = self.auth.request_caller(req).await?;
        let idempotency_key = http::header(req, "idempotency-key").ok_or_else(|| {
            ApiError::in_both(
                400,
                "missing_idempotency_key",
                Text::new(
                    "缺少 Idempotency-Key 请求头",
                    "the Idempotency-Key header is required",
                ),
            )
        })?;
        let raw_body = http::json_body(req)?;
        let body: SubmitBody = http::parse_json(raw_body)?;
        let input = SubmitInput {
            idempotency_key,
            request_type: &body.request_type,
            website_id: &body.website_id,
            license_password: &body.license_password,
            service_ips: body.service_ips.as_deref(),
            ip_policy: &self.ip_policy,
            raw_body,
        };
        let submitting = Submitting {
            store: &self.store,
            vault: &self.vault,
        };
        let request = submitting
            .submit(
                &caller,
                &input,
                icp_domain::new_request_id(),
                self.clock.now(),
            )
            .await?;
        tracing::info!(request_id = %request.request_id, "request submitted");
        Ok((
            202,
            json!({ "requestId": request.request_id, "status": "submitted" }),
        ))
    }
}

fn main() -> Result<(), Error> {
    lambda::run_http::<SubmitRequest>()
}
