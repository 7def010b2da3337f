//! The HTTP edge shared by the API functions: request ids, JSON parsing with limits, and the
//! contract's error shape.

use icp_domain::language::{Language, Text};
use icp_domain::{DomainError, ServiceError, StoreError};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::json;

/// Larger bodies are refused with 413: no valid request comes close.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// An error answer: `{"error": {"code", "message"}}` with a 4xx (or 5xx for our own faults);
/// the message in both languages, answered in the one the request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: Text,
    pub retry_after_seconds: Option<i64>,
}

impl ApiError {
    /// An error with an English message only (the machine-to-machine routes, and the refusals
    /// built before the caller is known): Chinese readers get the code's general text.
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::in_both(status, code, Text::new(chinese_of_code(code), message))
    }

    pub fn in_both(status: u16, code: &'static str, message: Text) -> ApiError {
        ApiError {
            status,
            code,
            message,
            retry_after_seconds: None,
        }
    }

    pub fn not_found(code: &'static str, what: &str) -> ApiError {
        ApiError::new(404, code, format!("{what} was not found"))
    }
}

/// The Chinese of an error that has only its English: what its code means, in general.
fn chinese_of_code(code: &str) -> String {
    match code {
        "unauthorized" => "需要有效的登录凭证，请重新登录".into(),
        "forbidden" => "该资源属于他人，或需要其他角色".into(),
        "route_not_found" => "没有这个接口".into(),
        "service_unavailable" => "服务暂时不可用，请稍后重试".into(),
        "internal_error" => "服务内部出错".into(),
        "invalid_signature" => "签名无效".into(),
        "invalid_body" => "请求内容不符合该接口的要求".into(),
        other => format!("请求未能完成（{other}）"),
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> ApiError {
        // A domain error says it in both languages; `Forbidden` is the code's general text.
        let message = Text::new(
            match &e {
                ServiceError::Domain(d) => d.message(Language::ZhCn),
                _ => chinese_of_code("forbidden"),
            },
            e.to_string(),
        );
        match e {
            ServiceError::Domain(d) => {
                let (status, code) = match &d {
                    DomainError::Validation { code, .. } => (400, *code),
                    DomainError::WebsiteNotFound(_) => (404, "website_not_found"),
                    DomainError::RequestNotFound(_) => (404, "request_not_found"),
                    DomainError::RequestAlreadyOpen(_) => (409, "request_already_open"),
                    DomainError::IdempotencyKeyReused => (409, "idempotency_key_reused"),
                    DomainError::InvalidTransition { .. }
                    | DomainError::AlreadyResubmitted(_)
                    | DomainError::NothingToRedrive(_) => (409, "invalid_status"),
                    DomainError::AlreadyDecided(_) => (409, "already_decided"),
                    DomainError::WithdrawNotAllowed(_) | DomainError::WithdrawAfterApproval => {
                        (409, "withdraw_not_allowed")
                    }
                    DomainError::SubmissionNotFound(_) => (404, "submission_not_found"),
                    DomainError::PasswordLocked { .. } => (423, "password_locked"),
                    DomainError::ResetNotFound(_) => (404, "reset_not_found"),
                    DomainError::ResetEnded => (409, "reset_ended"),
                    DomainError::ResetExpired => (410, "reset_expired"),
                    DomainError::TooManyCodes { .. } => (429, "too_many_requests"),
                };
                let retry_after_seconds = match d {
                    DomainError::PasswordLocked {
                        retry_after_seconds,
                    }
                    | DomainError::TooManyCodes {
                        retry_after_seconds,
                    } => Some(retry_after_seconds),
                    _ => None,
                };
                ApiError {
                    retry_after_seconds,
                    ..ApiError::in_both(status, code, message)
                }
            }
            ServiceError::Forbidden => ApiError::in_both(403, "forbidden", message),
            ServiceError::Store(StoreError::Corrupt(_)) => {
                tracing::error!(error = %message.en, "stored data is inconsistent");
                ApiError::new(500, "internal_error", "an internal error occurred")
            }
            ServiceError::Store(_) | ServiceError::Workflow(_) | ServiceError::Authority(_) => {
                tracing::warn!(error = %message.en, "dependency unavailable");
                ApiError::new(503, "service_unavailable", "please retry shortly")
            }
        }
    }
}

/// The language the caller reads, from its `Accept-Language`.
pub fn language(req: &Request) -> Language {
    Language::from_accept_language(header(req, "accept-language"))
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

/// The id of the API the request came through.
pub fn api_id(req: &Request) -> Option<&str> {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(ctx)) => ctx.apiid.as_deref(),
        _ => None,
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
        .ok_or_else(|| {
            ApiError::in_both(
                400,
                "invalid_path",
                Text::new(format!("缺少路径参数 {name}"), format!("{name} is missing")),
            )
        })
}

/// The raw JSON body, after the content-type and size checks.
pub fn json_body(req: &Request) -> Result<&[u8], ApiError> {
    let is_json = header(req, "content-type").is_some_and(|ct| {
        ct.split(';')
            .next()
            .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
    });
    if !is_json {
        return Err(ApiError::in_both(
            415,
            "unsupported_media_type",
            Text::new(
                "请以 Content-Type: application/json 发送请求内容",
                "send the body as Content-Type: application/json",
            ),
        ));
    }
    let body: &[u8] = req.body().as_ref();
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::in_both(
            413,
            "payload_too_large",
            Text::new(
                format!("请求内容不能超过 {MAX_BODY_BYTES} 字节"),
                format!("the body must be at most {MAX_BODY_BYTES} bytes"),
            ),
        ));
    }
    Ok(body)
}

/// Parses a body into `T`, whose serde attributes refuse unknown fields.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::in_both(
            400,
            "invalid_body",
            Text::new(
                format!("请求内容不符合该接口的要求：{e}"),
                format!("the body is not valid for this route: {e}"),
            ),
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

pub fn error_response(e: &ApiError, language: Language, request_id: &str) -> Response<Body> {
    let mut error = json!({ "code": e.code, "message": e.message.get(language) });
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

/// Turns a route handler's result into the response, with `x-request-id` always; an error's
/// message in English.
pub fn respond(
    request_id: &str,
    result: Result<(u16, serde_json::Value), ApiError>,
) -> Response<Body> {
    respond_in(request_id, Language::En, result)
}

/// `respond`, with an error's message in `language`.
pub fn respond_in(
    request_id: &str,
    language: Language,
    result: Result<(u16, serde_json::Value), ApiError>,
) -> Response<Body> {
    match result {
        Ok((status, value)) => json_response(status, &value, request_id),
        Err(e) => {
            tracing::info!(status = e.status, code = e.code, "request refused");
            error_response(&e, language, request_id)
        }
    }
}

/// The service IPs this stage accepts: within the provider's ranges (`PROVIDER_IP_RANGES`,
/// comma-separated CIDR blocks; unset or empty: any public address), and the documentation
/// ranges only where the template allows them (`ALLOW_DOCUMENTATION_IPS`, the local stage's demo
/// and tests). A range that does not parse stops the cold start: no request is judged by a
/// policy other than the one configured.
pub fn ip_policy() -> Result<icp_domain::validation::IpPolicy, String> {
    let ranges = std::env::var("PROVIDER_IP_RANGES").unwrap_or_default();
    Ok(icp_domain::validation::IpPolicy {
        allow_documentation: std::env::var("ALLOW_DOCUMENTATION_IPS").is_ok_and(|v| v == "true"),
        provider_ranges: icp_domain::validation::IpRange::parse_list(&ranges)
            .map_err(|e| format!("PROVIDER_IP_RANGES: {e}"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use icp_domain::language::has_chinese;

    fn request(content_type: &str, body: &[u8]) -> Request {
        lambda_http::http::Request::builder()
            .header("content-type", content_type)
            .body(Body::Binary(body.to_vec()))
            .unwrap()
    }

    /// Every code the edge answers with, as the API builds it.
    fn every_error() -> Vec<ApiError> {
        let domain = icp_domain::refusals::one_of_each();
        let mut all: Vec<ApiError> = domain
            .into_iter()
            .map(|e| ServiceError::Domain(e).into())
            .collect();
        all.push(ServiceError::Forbidden.into());
        all.push(ServiceError::Store(StoreError::Unavailable("down".into())).into());
        all.push(ServiceError::Store(StoreError::Corrupt("bad".into())).into());
        all.push(json_body(&request("text/plain", b"{}")).unwrap_err());
        let too_large = vec![b' '; MAX_BODY_BYTES + 1];
        all.push(json_body(&request("application/json", &too_large)).unwrap_err());
        all.push(parse_json::<serde_json::Value>(b"{").unwrap_err());
        all.push(path_param(&request("application/json", b""), "requestId").unwrap_err());
        for code in ["unauthorized", "route_not_found", "missing_idempotency_key"] {
            all.push(ApiError::new(400, code, "refused"));
        }
        all
    }

    #[test]
    fn every_error_reads_in_both_languages() {
        for e in every_error() {
            let (zh, en) = (e.message.get(Language::ZhCn), e.message.get(Language::En));
            assert!(has_chinese(zh), "{}: {zh}", e.code);
            assert!(!en.is_empty() && en != zh, "{}", e.code);
        }
    }

    #[test]
    fn an_error_answers_in_the_language_asked_for_with_the_same_code() {
        let e: ApiError = ServiceError::Domain(DomainError::ResetExpired).into();
        for (language, message) in [
            (Language::ZhCn, "验证码已过期，请重新发起密码找回"),
            (
                Language::En,
                "the code has expired: start a new password reset",
            ),
        ] {
            let response = respond_in("id-1", language, Err(e.clone()));
            assert_eq!(response.status(), 410);
            let Body::Text(body) = response.body() else {
                panic!("a JSON body")
            };
            let body: serde_json::Value = serde_json::from_str(body).unwrap();
            assert_eq!(body["error"]["code"], "reset_expired");
            assert_eq!(body["error"]["message"], message);
        }
    }
}
