//! The API beyond submitting: reading websites and requests (each only to its owner), the
//! impact preview of a request, license password retrieval, the reviewer's queue and decision,
//! the customer's "Modify and Submit" and withdraw, and the operator's re-drive of a parked
//! approval.

use icp_adapters::aws;
use icp_adapters::clock::SystemClock;
use icp_adapters::vault::AesVault;
use icp_adapters::Clients;
use icp_domain::calendar::in_china_time;
use icp_domain::closing::{Redrive, Withdrawal};
use icp_domain::impact::ImpactPreview;
use icp_domain::language::{Language, Text};
use icp_domain::password_reset::PasswordRetrieval;
use icp_domain::ports::Clock;
use icp_domain::queries::Queries;
use icp_domain::reason::{self, ReasonCode};
use icp_domain::review::{parse_decision, Deciding};
use icp_domain::submit::Submitting;
use icp_domain::verify::LockPolicy;
use icp_domain::{Caller, ServiceError};
use icp_edge::auth::Authenticator;
use icp_edge::http::{self, ApiError};
use icp_edge::lambda::{self, HttpFunction, SdkConfig};
use lambda_http::{Error, Request, RequestExt};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DecisionBody {
    decision: String,
    #[serde(default)]
    reasons: Vec<String>,
    #[serde(default)]
    reason_codes: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ResubmitBody {
    license_password: String,
    service_ips: Option<Vec<String>>,
}

/// `POST /entity/password-reset` takes `{}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StartResetBody {}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ConfirmResetBody {
    code: String,
    new_password: String,
}

struct Api {
    clients: Clients,
    vault: AesVault,
    auth: Authenticator,
    ip_policy: icp_domain::validation::IpPolicy,
    clock: SystemClock,
    lock: LockPolicy,
}

impl HttpFunction for Api {
    async fn build(config: &SdkConfig) -> Result<Self, Error> {
        let auth = Authenticator::from_env()?;
        // The issuer's keys come beside the vault's key: every first call needs them.
        let (vault_secret, clients) = aws::alongside(
            async {
                let (secret, ()) =
                    tokio::join!(aws::secret(config, "VAULT_SECRET_ID"), auth.fetch_keys());
                secret
            },
            || Clients::from_env(config),
        )
        .await?;
        Ok(Api {
            clients,
            vault: AesVault::from_secret(&vault_secret),
            auth,
            ip_policy: http::ip_policy()?,
            clock: SystemClock::from_env()?,
            lock: aws::lock_policy()?,
        })
    }

    async fn handle(&self, req: &Request) -> Result<(u16, Value), ApiError> {
        let caller = self.auth.request_caller(req).await?;
        let language = http::language(req);
        let Clients {
            store,
            notifier,
            workflow,
        } = &self.clients;
        let vault = &self.vault;
        let queries = Queries { store };
        let retrieval = PasswordRetrieval {
            store,
            notifier,
            vault,
        };
        let now = self.clock.now();
        match (
            req.method().as_str(),
            http::resource_path(req).unwrap_or_default(),
        ) {
            ("GET", "/websites") => {
                let websites = queries.list_websites(&caller).await?;
                Ok((200, json!({ "websites": websites })))
            }
            ("GET", "/websites/{websiteId}") => {
                let id = http::path_param(req, "websiteId")?;
                Ok((200, json!(queries.get_website(&caller, &id).await?)))
            }
            ("GET", "/requests") => {
                let query = req.query_string_parameters();
                let requests = queries
                    .list_requests(&caller, query.first("websiteId"))
                    .await?;
                let requests: Vec<Value> =
                    requests.iter().map(|r| request_json(r, language)).collect();
                Ok((200, json!({ "requests": requests })))
            }
            ("GET", "/requests/{requestId}") => {
                let id = http::path_param(req, "requestId")?;
                let (request, website) = queries.get_request_with_website(&caller, &id).await?;
                let mut answer = request_json(&request, language);
                if let Some(website) = website {
                    answer["website"] = json!(website);
                }
                Ok((200, answer))
            }
            ("POST", "/requests/{requestId}/withdraw") => {
                let id = http::path_param(req, "requestId")?;
                let request = Withdrawal {
                    store,
                    workflow,
                    lock: self.lock,
                }
                .withdraw(&caller, &id, now)
                .await?;
                Ok((200, request_json(&request, language)))
            }
            ("POST", "/requests/{requestId}/resubmit") => {
                let id = http::path_param(req, "requestId")?;
                let body: ResubmitBody = http::parse_json(http::json_body(req)?)?;
                let request = Submitting { store, vault }
                    .resubmit(
                        &caller,
                        &id,
                        &body.license_password,
                        body.service_ips.as_deref(),
                        &self.ip_policy,
                        now,
                    )
                    .await?;
                Ok((
                    202,
                    json!({ "requestId": request.request_id, "status": request.status, "attempt": request.attempt }),
                ))
            }
            ("GET", "/websites/{websiteId}/impact") => {
                let id = http::path_param(req, "websiteId")?;
                let query = req.query_string_parameters();
                let request_type = query.first("type").unwrap_or_default();
                Ok((
                    200,
                    json!(
                        ImpactPreview { store }
                            .impact(&caller, &id, request_type)
                            .await?
                    ),
                ))
            }
            ("POST", "/entity/password-reset") => {
                let _: StartResetBody = http::parse_json(http::json_body(req)?)?;
                let started = retrieval.start_password_reset(&caller, now).await?;
                tracing::info!(reset_id = %started.reset_id, "password reset code sent");
                Ok((202, json!(started)))
            }
            ("POST", "/entity/password-reset/{resetId}/confirm") => {
                let id = http::path_param(req, "resetId")?;
                let body: ConfirmResetBody = http::parse_json(http::json_body(req)?)?;
                retrieval
                    .confirm_password_reset(&caller, &id, &body.code, &body.new_password, now)
                    .await?;
                tracing::info!(reset_id = %id, "license password changed");
                Ok((200, json!({ "status": "changed" })))
            }
            ("GET", "/reviews") => {
                reviewer(&caller)?;
                let query = req.query_string_parameters();
                if query.first("status").is_some_and(|s| s != "pending") {
                    return Err(ApiError::in_both(
                        400,
                        "invalid_status_filter",
                        Text::new("status 须为 pending", "status must be pending"),
                    ));
                }
                let page = queries
                    .pending_reviews(&caller, query.first("limit"), query.first("nextToken"))
                    .await?;
                let reviews: Vec<Value> = page
                    .reviews
                    .into_iter()
                    .map(|r| {
                        json!({
                            "requestId": r.request_id, "type": r.request_type, "websiteId": r.website_id,
                            "domain": r.subject.domain, "websiteLicenseNumber": r.subject.website_license_number,
                            "entityId": r.entity_id, "entityName": r.subject.entity_name,
                            "entityLicenseNumber": r.subject.entity_license_number,
                            "attempt": r.attempt, "status": r.status,
                            "serviceIps": r.service_ips, "createdAt": r.created_at, "dueAt": r.review_due_at.map(in_china_time),
                        })
                    })
                    .collect();
                let mut answer = json!({ "reviews": reviews });
                if let Some(token) = page.next_token {
                    answer["nextToken"] = json!(token);
                }
                Ok((200, answer))
            }
            ("GET", "/reviews/reasons") => {
                reviewer(&caller)?;
                let reasons: Vec<Value> = ReasonCode::COMMON
                    .into_iter()
                    .map(|code| json!({ "code": code.code(), "text": code.text() }))
                    .collect();
                Ok((200, json!(reasons)))
            }
            ("POST", "/reviews/{requestId}/decision") => {
                let id = http::path_param(req, "requestId")?;
                reviewer(&caller)?;
                let body: DecisionBody = http::parse_json(http::json_body(req)?)?;
                let decision = parse_decision(&body.decision).map_err(ServiceError::from)?;
                let request = Deciding {
                    store,
                    vault,
                    workflow,
                }
                .decide(
                    &caller,
                    &id,
                    decision,
                    &body.reason_codes,
                    &body.reasons,
                    now,
                )
                .await?;
                Ok((
                    200,
                    json!({ "requestId": request.request_id, "decision": body.decision, "status": request.status }),
                ))
            }
            ("POST", "/operations/requests/{requestId}/redrive") => {
                let id = http::path_param(req, "requestId")?;
                tracing::info!(request_id = %id, actor = %caller.actor(), "re-drive of a parked approval");
                let request = Redrive {
                    store,
                    notifier,
                    workflow,
                }
                .redrive(&caller, &id, now)
                .await?;
                Ok((
                    200,
                    json!({ "requestId": request.request_id, "status": request.status }),
                ))
            }
            (method, path) => Err(ApiError::in_both(
                404,
                "route_not_found",
                Text::new(
                    format!("没有接口 {method} {path}"),
                    format!("no route {method} {path}"),
                ),
            )),
        }
    }
}

/// A request as the API answers it: its history's notes and its reasons in `language`, its
/// first review's due time in China time.
fn request_json(request: &icp_domain::Request, language: Language) -> Value {
    let mut answer = json!(request);
    answer["rejectionReasons"] = json!(reason::texts(&request.rejection_reasons, language));
    answer["history"] = request
        .history
        .iter()
        .map(|entry| {
            let mut shown = json!({
                "at": entry.at, "status": entry.status, "actor": entry.actor, "note": entry.note(language),
            });
            if !entry.reasons.is_empty() {
                shown["reasons"] = json!(reason::texts(&entry.reasons, language));
            }
            shown
        })
        .collect();
    if let Some(review) = &request.review {
        answer["review"]["reasons"] = json!(reason::texts(&review.reasons, language));
    }
    if let Some(due) = request.review_due_at {
        answer["reviewDueAt"] = json!(in_china_time(due));
    }
    answer
}

/// Reviewer routes refuse customers before looking at their input.
fn reviewer(caller: &Caller) -> Result<(), ApiError> {
    match caller {
        Caller::Reviewer { .. } => Ok(()),
        Caller::Customer { .. } | Caller::Operator { .. } => Err(ApiError::in_both(
            403,
            "forbidden",
            Text::new("该接口需要审核员角色", "this route needs the reviewer role"),
        )),
    }
}

fn main() -> Result<(), Error> {
    lambda::run_http::<Api>()
}
