//! The API beyond submitting: reading websites and requests (each only to its owner), the
//! reviewer's queue and decision, and the customer's "Modify and Submit" and withdraw.

use icp_adapters::auth::Authenticator;
use icp_adapters::dynamo::DynamoStore;
use icp_adapters::http::{self, ApiError};
use icp_adapters::notifier::SnsSesNotifier;
use icp_adapters::vault::AesVault;
use icp_adapters::workflow::{StepFunctionsControl, StepFunctionsWorkflow};
use icp_adapters::{aws, telemetry};
use icp_domain::actions;
use icp_domain::ports::Store;
use icp_domain::service::{self, Caller, ServiceError};
use lambda_http::{service_fn, Body, Error, Request, RequestExt, Response};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DecisionBody {
    decision: String,
    #[serde(default)]
    reasons: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ResubmitBody {
    license_password: String,
    service_ips: Option<Vec<String>>,
}

struct App {
    store: DynamoStore,
    vault: AesVault,
    workflow: StepFunctionsWorkflow,
    control: StepFunctionsControl,
    notifier: SnsSesNotifier,
    auth: Authenticator,
}

impl App {
    async fn handle(&self, req: Request) -> Response<Body> {
        let request_id = http::request_id(&req);
        http::respond(&request_id, self.route(&req).await)
    }

    async fn route(&self, req: &Request) -> Result<(u16, Value), ApiError> {
        let caller = self.auth.caller(http::header(req, "authorization"))?;
        let store = &self.store;
        let now = chrono::Utc::now();
        match (
            req.method().as_str(),
            http::resource_path(req).unwrap_or_default(),
        ) {
            ("GET", "/websites") => {
                let websites = service::list_websites(store, &caller).await?;
                Ok((200, json!({ "websites": websites })))
            }
            ("GET", "/websites/{websiteId}") => {
                let id = http::path_param(req, "websiteId")?;
                Ok((200, json!(service::get_website(store, &caller, &id).await?)))
            }
            ("GET", "/requests") => {
                let query = req.query_string_parameters();
                let requests =
                    service::list_requests(store, &caller, query.first("websiteId")).await?;
                Ok((200, json!({ "requests": requests })))
            }
            ("GET", "/requests/{requestId}") => {
                let id = http::path_param(req, "requestId")?;
                Ok((200, json!(service::get_request(store, &caller, &id).await?)))
            }
            ("POST", "/requests/{requestId}/withdraw") => {
                let id = http::path_param(req, "requestId")?;
                let request = actions::withdraw(store, &self.control, &caller, &id, now).await?;
                Ok((200, json!(request)))
            }
            ("POST", "/requests/{requestId}/resubmit") => {
                let id = http::path_param(req, "requestId")?;
                let body: ResubmitBody = http::parse_json(http::json_body(req)?)?;
                let request = actions::resubmit(
                    store,
                    &self.workflow,
                    &self.control,
                    &self.vault,
                    &self.notifier,
                    &caller,
                    &id,
                    &body.license_password,
                    body.service_ips.as_deref(),
                    now,
                )
                .await?;
                Ok((
                    202,
                    json!({ "requestId": request.request_id, "status": request.status, "attempt": request.attempt }),
                ))
            }
            ("GET", "/reviews") => {
                reviewer(&caller)?;
                let query = req.query_string_parameters();
                if query.first("status").is_some_and(|s| s != "pending") {
                    return Err(ApiError::new(
                        400,
                        "invalid_status_filter",
                        "status must be pending",
                    ));
                }
                let reviews: Vec<Value> = store
                    .pending_reviews()
                    .await
                    .map_err(ServiceError::from)?
                    .into_iter()
                    .map(|r| {
                        json!({
                            "requestId": r.request_id, "type": r.request_type, "websiteId": r.website_id,
                            "entityId": r.entity_id, "attempt": r.attempt, "status": r.status,
                            "serviceIps": r.service_ips, "createdAt": r.created_at, "dueAt": r.review_due_at,
                        })
                    })
                    .collect();
                Ok((200, json!({ "reviews": reviews })))
            }
            ("POST", "/reviews/{requestId}/decision") => {
                let id = http::path_param(req, "requestId")?;
                reviewer(&caller)?;
                let body: DecisionBody = http::parse_json(http::json_body(req)?)?;
                let decision =
                    actions::parse_decision(&body.decision).map_err(ServiceError::from)?;
                let request = actions::decide(
                    store,
                    &self.vault,
                    &self.control,
                    &caller,
                    &id,
                    decision,
                    &body.reasons,
                    now,
                )
                .await?;
                Ok((
                    200,
                    json!({ "requestId": request.request_id, "decision": body.decision, "status": request.status }),
                ))
            }
            (method, path) => Err(ApiError::new(
                404,
                "route_not_found",
                format!("no route {method} {path}"),
            )),
        }
    }
}

fn reviewer(caller: &Caller) -> Result<(), ApiError> {
    match caller {
        Caller::Reviewer { .. } => Ok(()),
        Caller::Customer { .. } => Err(ApiError::new(
            403,
            "forbidden",
            "this route needs the reviewer role",
        )),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = aws::load_config().await;
    let (vault_secret, jwt_secret) =
        aws::secret_pair(&config, "VAULT_SECRET_ID", "JWT_SECRET_ID").await?;
    let app = App {
        store: DynamoStore::from_env(&config)?,
        vault: AesVault::from_secret(&vault_secret),
        workflow: StepFunctionsWorkflow::from_env(&config)?,
        control: StepFunctionsControl::from_env(&config)?,
        notifier: SnsSesNotifier::from_env(&config)?,
        auth: Authenticator::new(&jwt_secret),
    };
    let app = &app;
    lambda_http::run(service_fn(move |req| async move {
        Ok::<_, Error>(app.handle(req).await)
    }))
    .await
}
