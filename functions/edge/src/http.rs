//! The HTTP edge shared by the API functions: request ids, JSON parsing with limits, and the
//! contract's error shape.

use icp_domain::ServiceError;
use icp_domain::{DomainError, StoreError};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::json;

/// Larger bodies are refused with 413: no valid request comes close.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// An error answer: `{"error": {"code", "message"}}` with a 4xx (or 5xx for our own faults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub retry_after_seconds: Option<i64>,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after_seconds: None,
        }
    }

    pub fn not_found(code: &'static str, what: &str) -> ApiError {
        ApiError::new(404, code, format!("{what} was not found"))
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> ApiError {
        let message = e.to_string();
        match e {
            ServiceError::Domain(d) => match d {
                DomainError::Validation { code, message } => ApiError::new(400, code, message),
                DomainError::WebsiteNotFound(_) => ApiError::new(404, "website_not_found", message),
                DomainError::RequestNotFound(_) => ApiError::new(404, "request_not_found", message),
                DomainError::RequestAlreadyOpen(_) => {
                    ApiError::new(409, "request_already_open", message)
                }
                DomainError::IdempotencyKeyReused => {
                    ApiError::new(409, "idempotency_key_reused", message)
                }
                DomainError::InvalidTransition { .. }
                | DomainError::AlreadyResubmitted(_)
                | DomainError::NothingToRedrive(_) => ApiError::new(409, "invalid_status", message),
                DomainError::AlreadyDecided(_) => ApiError::new(409, "already_decided", message),
                DomainError::WithdrawNotAllowed(_) | DomainError::WithdrawAfterApproval => {
                    ApiError::new(409, "withdraw_not_allowed", message)
                }
                DomainError::SubmissionNotFound(_) => {
                    ApiError::new(404, "submission_not_found", message)
                }
                DomainError::PasswordLocked {
                    retry_after_seconds,
                } => ApiError {
                    retry_after_seconds: Some(retry_after_seconds),
                    ..ApiError::new(423, "password_locked", message)
                },
                DomainError::ResetNotFound(_) => ApiError::new(404, "reset_not_found", message),
                DomainError::ResetEnded => ApiError::new(409, "reset_ended", message),
                DomainError::ResetExpired => ApiError::new(410, "reset_expired", message),
                DomainError::TooManyCodes {
                    retry_after_seconds,
                } => ApiError {
                    retry_after_seconds: Some(retry_after_seconds),
                    ..ApiError::new(429, "too_many_requests", message)
                },
            },
            ServiceError::Forbidden => ApiError::new(403, "forbidden", message),
            ServiceError::Store(StoreError::Corrupt(_)) => {
                tracing::error!(error = %message, "stored data is inconsistent");
                ApiError::new(500, "internal_error", "an internal error occurred")
            }
            ServiceError::Store(_) | ServiceError::Workflow(_) | ServiceError::Authority(_) => {
                tracing::warn!(error = %message, "dependency unavailable");
                ApiError::new(503, "service_unavailable", "please retry shortly")
            }
        }
    }
}

/// The id every response carries: API Gateway's request id, else the Lambda invocation's.
pub fn request_id(req: &Request) -> String {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(ctx)) if ctx.request_id.is_some() => {
            ctx.request_id.clone().unwrap_or_default()
        }
        _ => req
            .lambda_context_ref()
            .map(|c| c.request_id.clone())
            .unwrap_or_default(),
    }
}

/// The route template API Gateway matched, such as `/requests/{requestId}`.
pub fn resource_path(req: &Request) -> Option<&str> {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(ctx)) => ctx.resource_path.as_deref(),
        _ => None,
    }
}

/// A variable of the API Gateway stage that routed the request.
pub fn stage_variable<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.stage_variables_ref().and_then(|v| v.first(name))
}

pub fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

pub fn path_param(req: &Request, name: &str) -> Result<String, ApiError> {
    req.path_parameters_ref()
        .and_then(|p| p.first(name))
        .map(str::to_string)
        .ok_or_else(|| ApiError::new(400, "invalid_path", format!("{name} is missing")))
}

/// The raw JSON body, after the content-type and size checks.
pub fn json_body(req: &Request) -> Result<&[u8], ApiError> {
    let is_json = header(req, "content-type").is_some_and(|ct| {
        ct.split(';')
            .next()
            .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
    });
    if !is_json {
        return Err(ApiError::new(
            415,
            "unsupported_media_type",
            "send the body as Content-Type: application/json",
        ));
    }
    let body: &[u8] = req.body().as_ref();
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::new(
            413,
            "payload_too_large",
            format!("the body must be at most {MAX_BODY_BYTES} bytes"),
        ));
    }
    Ok(body)
}

/// Parses a body into `T`, whose serde attributes refuse unknown fields.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            400,
            "invalid_body",
            format!("the body is not valid for this route: {e}"),
        )
    })
}

pub fn json_response(status: u16, value: &impl Serialize, request_id: &str) -> Response<Body> {
    let body = serde_json::to_string(value).expect("response values serialise");
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("x-request-id", request_id)
        .body(Body::Text(body))
        .expect("static response parts are valid")
}

pub fn error_response(e: &ApiError, request_id: &str) -> Response<Body> {
    let mut error = json!({ "code": e.code, "message": e.message });
    if let Some(seconds) = e.retry_after_seconds {
        error["retryAfterSeconds"] = json!(seconds);
    }
    let mut response = json_response(e.status, &json!({ "error": error }), request_id);
    if let Some(seconds) = e.retry_after_seconds {
        response.headers_mut().insert(
            "retry-after",
            seconds
                .to_string()
                .parse()
                .expect("digits are a valid header"),
        );
    }
    response
}

/// Runs a route handler and turns its result into the response, with `x-request-id` always.
pub fn respond(
    request_id: &str,
    result: Result<(u16, serde_json::Value), ApiError>,
) -> Response<Body> {
    match result {
        Ok((status, value)) => json_response(status, &value, request_id),
        Err(e) => {
            tracing::info!(status = e.status, code = e.code, "request refused");
            error_response(&e, request_id)
        }
    }
}

/// The service IPs this stage accepts: the documentation ranges only where the template allows
/// them (`ALLOW_DOCUMENTATION_IPS`, the local stage's demo and tests).
pub fn ip_policy() -> icp_domain::validation::IpPolicy {
    icp_domain::validation::IpPolicy {
        allow_documentation: std::env::var("ALLOW_DOCUMENTATION_IPS").is_ok_and(|v| v == "true"),
    }
}
