//! `POST /authority/callbacks`: the authority's result. Verified by HMAC signature and
//! timestamp before anything is read; a repeated callback answers 200 and changes nothing.

use icp_adapters::dynamo::DynamoStore;
use icp_adapters::http::{self, ApiError};
use icp_adapters::notifier::SnsSesNotifier;
use icp_adapters::vault::AesVault;
use icp_adapters::workflow::StepFunctionsControl;
use icp_adapters::{aws, telemetry};
use icp_domain::actions::{self, AuthorityDecision};
use icp_domain::signature::{self, SignatureError};
use lambda_http::{service_fn, Body, Error, Request, Response};
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

struct App {
    store: DynamoStore,
    vault: AesVault,
    control: StepFunctionsControl,
    notifier: SnsSesNotifier,
    secret: String,
}

impl App {
    async fn handle(&self, req: Request) -> Response<Body> {
        let request_id = http::request_id(&req);
        http::respond(&request_id, self.callback(&req).await)
    }

    async fn callback(&self, req: &Request) -> Result<(u16, serde_json::Value), ApiError> {
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
        let request = actions::authority_result(
            &self.store,
            &self.vault,
            &self.control,
            &self.notifier,
            &callback.request_id,
            &callback.submission_id,
            decision,
            &callback.reasons,
            chrono::Utc::now(),
        )
        .await?;
        tracing::info!(request_id = %request.request_id, status = %request.status, "authority result recorded");
        Ok((
            200,
            json!({ "requestId": request.request_id, "status": request.status }),
        ))
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = aws::load_config().await;
    let (vault_secret, authority_secret) =
        aws::secret_pair(&config, "VAULT_SECRET_ID", "AUTHORITY_SECRET_ID").await?;
    let app = App {
        store: DynamoStore::from_env(&config)?,
        vault: AesVault::from_secret(&vault_secret),
        control: StepFunctionsControl::from_env(&config)?,
        notifier: SnsSesNotifier::from_env(&config)?,
        secret: authority_secret,
    };
    let app = &app;
    lambda_http::run(service_fn(move |req| async move {
        Ok::<_, Error>(app.handle(req).await)
    }))
    .await
}
