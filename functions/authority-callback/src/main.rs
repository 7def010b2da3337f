//! `POST /authority/callbacks`: the authority's result. Verified by HMAC signature and
//! timestamp before anything is read; a repeated callback answers 200 and changes nothing.

use icp_adapters::aws;
use icp_adapters::clock::SystemClock;
use icp_adapters::vault::AesVault;
use icp_adapters::Clients;
use icp_domain::authority::AuthorityDecision;
use icp_domain::authority::AuthorityResult;
use icp_domain::ports::Clock;
use icp_domain::signature::{self, SignatureError};
use icp_edge::http::{self, ApiError};
use icp_edge::lambda::{self, HttpFunction, SdkConfig};
use lambda_http::{Error, Request};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Callback {
    submission_id: String,
    request_id: String,
    decision: String,
    #[serde(default)]
    reasons: Vec<String>,
    /// Part of the contract, checked present; the request's history keeps our own clock.
    #[serde(rename = "decidedAt")]
    _decided_at: String,
}

struct AuthorityCallback {
    clients: Clients,
    vault: AesVault,
    secret: String,
    clock: SystemClock,
}

impl HttpFunction for AuthorityCallback {
    async fn build(config: &SdkConfig) -> Result<Self, Error> {
        let ((vault_secret, authority_secret), clients) = aws::alongside(
            aws::secret_pair(config, "VAULT_SECRET_ID", "AUTHORITY_SECRET_ID"),
            || Clients::from_env(config),
        )
        .await?;
        Ok(AuthorityCallback {
            clients,
            vault: AesVault::from_secret(&vault_secret),
            secret: authority_secret,
            clock: SystemClock::from_env()?,
        })
    }

    async fn handle(&self, req: &Request) -> Result<(u16, serde_json::Value), ApiError> {
        let body = http::json_body(req)?;
        signature::verify(
            &self.secret,
            http::header(req, "x-authority-timestamp"),
            http::header(req, "x-authority-signature"),
            body,
            chrono::Utc::now(),
        )
        .map_err(|e| {
            let code = match e {
                SignatureError::Stale => "stale_timestamp",
                SignatureError::Malformed | SignatureError::Mismatch => "invalid_signature",
            };
            ApiError::new(401, code, e.to_string())
        })?;
        let callback: Callback = http::parse_json(body)?;
        let decision = match callback.decision.as_str() {
            "approved" => AuthorityDecision::Approved,
            "rejected" => AuthorityDecision::Rejected,
            _ => {
                return Err(ApiError::new(
                    400,
                    "invalid_decision",
                    "decision must be approved or rejected",
                ))
            }
        };
        let Clients {
            store,
            notifier,
            workflow,
        } = &self.clients;
        let result = AuthorityResult {
            store,
            notifier,
            vault: &self.vault,
            workflow,
        };
        let request = result
            .authority_result(
                &callback.request_id,
                &callback.submission_id,
                decision,
                &callback.reasons,
                self.clock.now(),
            )
            .await?;
        tracing::info!(request_id = %request.request_id, status = %request.status, "authority result recorded");
        Ok((
            200,
            json!({ "requestId": request.request_id, "status": request.status }),
        ))
    }
}

fn main() -> Result<(), Error> {
    lambda::run_http::<AuthorityCallback>()
}
