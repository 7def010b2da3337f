//! The authority simulator for local and test stages (never deployed to production): stands in
//! for the communication administration. It records the provider's signed submissions and, when
//! told a decision, sends the signed callback the real authority would send.
//!
//! - `POST /authority-sim/submissions` (signed): record a submission.
//! - `GET /authority-sim/submissions?requestId=`: what was received.
//! - `POST /authority-sim/submissions/{submissionId}/decision` `{"decision", "reasons"?}`.
//!
//! The last two answer operators only (a bearer token with role `operator`): on a shared test
//! stage the submissions name real requests, and a decision completes one.
//!
//! Outages, for fault tests: an item `outage#<requestId>` with a number `remaining` in the
//! simulator's table makes that many submissions of the request fail with 503, each after
//! `hangSeconds` (optional) of silence, as a slow authority would.

use aws_sdk_dynamodb::types::AttributeValue;
use icp_adapters::aws;
use icp_domain::signature;
use icp_domain::Caller;
use icp_edge::auth::Authenticator;
use icp_edge::http::{self, ApiError};
use icp_edge::lambda::{self, HttpFunction, SdkConfig};
use lambda_http::{Error, Request, RequestExt};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionBody {
    decision: String,
    #[serde(default)]
    reasons: Vec<String>,
}

struct AuthoritySim {
    dynamodb: aws_sdk_dynamodb::Client,
    table: String,
    secret: String,
    auth: Authenticator,
    http: reqwest::Client,
}

fn unavailable(e: impl std::fmt::Display) -> ApiError {
    tracing::warn!(error = %e, "simulator storage failed");
    ApiError::new(503, "service_unavailable", "please retry shortly")
}

impl HttpFunction for AuthoritySim {
    async fn build(config: &SdkConfig) -> Result<Self, Error> {
        let auth = Authenticator::from_env()?;
        let (secret, ()) = tokio::join!(
            aws::secret(config, "AUTHORITY_SECRET_ID"),
            auth.fetch_keys()
        );
        Ok(AuthoritySim {
            dynamodb: aws_sdk_dynamodb::Client::new(config),
            table: aws::env("AUTHORITY_SIM_TABLE")?,
            secret: secret?,
            auth,
            http: icp_adapters::tls::http_client(std::time::Duration::from_secs(20))?,
        })
    }

    async fn handle(&self, req: &Request) -> Result<(u16, Value), ApiError> {
        match (
            req.method().as_str(),
            http::resource_path(req).unwrap_or_default(),
        ) {
            ("POST", "/authority-sim/submissions") => self.receive(req).await,
            ("GET", "/authority-sim/submissions") => {
                self.operator(req).await?;
                self.list(req).await
            }
            ("POST", "/authority-sim/submissions/{submissionId}/decision") => {
                self.operator(req).await?;
                self.decide(req).await
            }
            (method, path) => Err(ApiError::new(
                404,
                "route_not_found",
                format!("no route {method} {path}"),
            )),
        }
    }
}

impl AuthoritySim {
    async fn operator(&self, req: &Request) -> Result<(), ApiError> {
        match self.auth.request_caller(req).await? {
            Caller::Operator { .. } => Ok(()),
            Caller::Customer { .. } | Caller::Reviewer { .. } => Err(ApiError::new(
                403,
                "forbidden",
                "this route needs the operator role",
            )),
        }
    }

    async fn receive(&self, req: &Request) -> Result<(u16, Value), ApiError> {
        let body = http::json_body(req)?;
        signature::verify(
            &self.secret,
            http::header(req, "x-authority-timestamp"),
            http::header(req, "x-authority-signature"),
            body,
            chrono::Utc::now(),
        )
        .map_err(|e| ApiError::new(401, "invalid_signature", e.to_string()))?;
        let submission: Value = http::parse_json(body)?;
        let field = |name: &str| -> Result<String, ApiError> {
            submission[name]
                .as_str()
                .map(String::from)
                .ok_or_else(|| ApiError::new(400, "invalid_body", format!("{name} is required")))
        };
        let (submission_id, request_id, callback_url) = (
            field("submissionId")?,
            field("requestId")?,
            field("callbackUrl")?,
        );
        if self.in_outage(&request_id).await? {
            tracing::info!(%submission_id, "simulated outage: submission refused");
            return Err(ApiError::new(
                503,
                "authority_unavailable",
                "the authority's system is down",
            ));
        }
        let put = self
            .dynamodb
            .put_item()
            .table_name(&self.table)
            .item("submissionId", AttributeValue::S(submission_id.clone()))
            .item("requestId", AttributeValue::S(request_id))
            .item("callbackUrl", AttributeValue::S(callback_url))
            .item("submission", AttributeValue::S(submission.to_string()))
            .item(
                "receivedAt",
                AttributeValue::S(chrono::Utc::now().to_rfc3339()),
            )
            .condition_expression("attribute_not_exists(submissionId)")
            .send()
            .await;
        match put {
            Ok(_) => tracing::info!(%submission_id, "submission received"),
            // A resubmission of the same id: the first one stands.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) => {}
            Err(e) => return Err(unavailable(aws_sdk_dynamodb::error::DisplayErrorContext(e))),
        }
        Ok((202, json!({ "submissionId": submission_id })))
    }

    /// Consumes one failure of the request's simulated outage, if one is left.
    async fn in_outage(&self, request_id: &str) -> Result<bool, ApiError> {
        let result = self
            .dynamodb
            .update_item()
            .table_name(&self.table)
            .key(
                "submissionId",
                AttributeValue::S(format!("outage#{request_id}")),
            )
            .update_expression("SET remaining = remaining - :one")
            .condition_expression("remaining > :zero")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => {
                let hang = out
                    .attributes
                    .as_ref()
                    .and_then(|item| item.get("hangSeconds"))
                    .and_then(|n| n.as_n().ok())
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                tokio::time::sleep(std::time::Duration::from_secs(hang)).await;
                Ok(true)
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(unavailable(aws_sdk_dynamodb::error::DisplayErrorContext(e))),
        }
    }

    async fn list(&self, req: &Request) -> Result<(u16, Value), ApiError> {
        let items = self
            .dynamodb
            .scan()
            .table_name(&self.table)
            .send()
            .await
            .map_err(|e| unavailable(aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
        let wanted = req
            .query_string_parameters()
            .first("requestId")
            .map(String::from);
        let submissions: Vec<Value> = items
            .items()
            .iter()
            .filter(|item| {
                wanted.is_none()
                    || item.get("requestId").and_then(|v| v.as_s().ok()) == wanted.as_ref()
            })
            .filter_map(|item| item.get("submission").and_then(|v| v.as_s().ok()))
            .filter_map(|text| serde_json::from_str(text).ok())
            .collect();
        Ok((200, json!({ "submissions": submissions })))
    }

    async fn decide(&self, req: &Request) -> Result<(u16, Value), ApiError> {
        let submission_id = http::path_param(req, "submissionId")?;
        let body: DecisionBody = http::parse_json(http::json_body(req)?)?;
        if body.decision != "approved" && body.decision != "rejected" {
            return Err(ApiError::new(
                400,
                "invalid_decision",
                "decision must be approved or rejected",
            ));
        }
        let item = self
            .dynamodb
            .get_item()
            .table_name(&self.table)
            .key("submissionId", AttributeValue::S(submission_id.clone()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable(aws_sdk_dynamodb::error::DisplayErrorContext(e)))?
            .item
            .ok_or_else(|| {
                ApiError::not_found(
                    "submission_not_found",
                    &format!("submission {submission_id}"),
                )
            })?;
        let text = |name: &str| {
            item.get(name)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default()
        };
        let callback = json!({
            "submissionId": submission_id,
            "requestId": text("requestId"),
            "decision": body.decision,
            "reasons": body.reasons,
            "decidedAt": chrono::Utc::now().to_rfc3339(),
        })
        .to_string();
        let timestamp = chrono::Utc::now().timestamp().to_string();
        let response = self
            .http
            .post(text("callbackUrl"))
            .header("content-type", "application/json")
            .header("x-authority-timestamp", &timestamp)
            .header(
                "x-authority-signature",
                signature::sign(&self.secret, &timestamp, callback.as_bytes()),
            )
            .body(callback)
            .send()
            .await
            .map_err(|e| {
                ApiError::new(
                    502,
                    "callback_failed",
                    format!("the callback did not arrive: {e}"),
                )
            })?;
        let status = response.status().as_u16();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        Ok((
            200,
            json!({ "submissionId": submission_id, "callbackStatus": status, "callbackAnswer": answer }),
        ))
    }
}

fn main() -> Result<(), Error> {
    lambda::run_http::<AuthoritySim>()
}
