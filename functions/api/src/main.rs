//! The reading endpoints of the API: websites and requests, each answered only to its owner.

use icp_adapters::auth::Authenticator;
use icp_adapters::dynamo::DynamoStore;
use icp_adapters::http::{self, ApiError};
use icp_adapters::{aws, telemetry};
use icp_domain::ports::Store;
use icp_domain::service;
use lambda_http::{service_fn, Body, Error, Request, RequestExt, Response};
use serde_json::{json, Value};

struct App<S> {
    store: S,
    auth: Authenticator,
}

impl<S: Store> App<S> {
    async fn handle(&self, req: Request) -> Response<Body> {
        let request_id = http::request_id(&req);
        http::respond(&request_id, self.route(&req).await)
    }

    async fn route(&self, req: &Request) -> Result<(u16, Value), ApiError> {
        let caller = self.auth.caller(http::header(req, "authorization"))?;
        let store = &self.store;
        let method = req.method().as_str();
        match (method, http::resource_path(req).unwrap_or_default()) {
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
            (method, path) => Err(ApiError::new(
                404,
                "route_not_found",
                format!("no route {method} {path}"),
            )),
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = aws::load_config().await;
    let app = App {
        store: DynamoStore::from_env(&config)?,
        auth: Authenticator::new(&aws::secret(&config, "JWT_SECRET_ID").await?),
    };
    let app = &app;
    lambda_http::run(service_fn(move |req| async move {
        Ok::<_, Error>(app.handle(req).await)
    }))
    .await
}
