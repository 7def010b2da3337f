//! `GET /console/{file}`: the web console (customers' and reviewers' pages), built into this
//! binary so that the same build serves it locally and on AWS, through the same API as the
//! routes it calls. On a stack deployed with `DemoSignIn` (the local stage; never prod) it also
//! answers `GET /console/demo-identities`: the demo customers and reviewer, with tokens.

use aws_sdk_dynamodb::types::AttributeValue;
use icp_adapters::aws;
use icp_edge::http;
use icp_edge::lambda::SdkConfig;
use lambda_http::{service_fn, Body, Error, Request, RequestExt, Response};
use serde_json::json;

const PAGES: [(&str, &str, &str); 4] = [
    (
        "index.html",
        "text/html; charset=utf-8",
        include_str!("../web/index.html"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../web/app.js"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("../web/style.css"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_str!("../web/favicon.svg"),
    ),
];

/// The pages load nothing from elsewhere and call only the API they come from.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The reviewer the local seed's demo data names (`tests/src/seed.rs`).
const DEMO_REVIEWER: &str = "rev-demo";
/// Demo sign-in tokens are short: a sign-in page asks again for fresh ones.
const DEMO_TOKEN_SECONDS: i64 = 3600;

/// What the demo sign-in needs: the entities marked as demo ones, and the key to sign tokens.
struct DemoSignIn {
    config: SdkConfig,
    dynamodb: aws_sdk_dynamodb::Client,
    entities_table: String,
    /// Fetched by the first sign-in, not at cold start: the pages do not need it.
    jwt_secret: tokio::sync::OnceCell<String>,
}

impl DemoSignIn {
    async fn jwt_secret(&self) -> Result<&str, Error> {
        let secret = self
            .jwt_secret
            .get_or_try_init(|| aws::secret(&self.config, "JWT_SECRET_ID"))
            .await?;
        Ok(secret)
    }

    async fn identities(&self) -> Result<serde_json::Value, Error> {
        let scan = self
            .dynamodb
            .scan()
            .table_name(&self.entities_table)
            .filter_expression("demoSignIn = :yes")
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .projection_expression("entityId, #name")
            .expression_attribute_names("#name", "name")
            .send()
            .await?;
        let jwt_secret = self.jwt_secret().await?;
        let expires = chrono::Utc::now().timestamp() + DEMO_TOKEN_SECONDS;
        let text = |item: &std::collections::HashMap<String, AttributeValue>, key: &str| {
            item.get(key)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default()
        };
        let mut identities: Vec<_> = scan
            .items()
            .iter()
            .map(|item| {
                let entity_id = text(item, "entityId");
                json!({
                    "name": text(item, "name"),
                    "role": "customer",
                    "token": icp_edge::auth::mint(jwt_secret, &entity_id, "customer", expires),
                })
            })
            .collect();
        identities.sort_by_key(|i| i["name"].as_str().unwrap_or_default().to_string());
        identities.push(json!({
            "name": DEMO_REVIEWER,
            "role": "reviewer",
            "token": icp_edge::auth::mint(jwt_secret, DEMO_REVIEWER, "reviewer", expires),
        }));
        Ok(json!({ "identities": identities }))
    }
}

fn page(name: &str, request_id: &str) -> Option<Response<Body>> {
    let (_, content_type, body) = PAGES.iter().find(|(file, ..)| *file == name)?;
    Response::builder()
        .status(200)
        .header("content-type", *content_type)
        .header("content-security-policy", CONTENT_SECURITY_POLICY)
        .header("x-content-type-options", "nosniff")
        .header("cache-control", "no-cache")
        .header("x-request-id", request_id)
        .body(Body::from(*body))
        .ok()
}

async fn serve(demo: Option<&DemoSignIn>, req: &Request) -> Result<Response<Body>, Error> {
    let request_id = http::request_id(req);
    let file = req
        .path_parameters_ref()
        .and_then(|p| p.first("file"))
        .map(str::to_string);
    let answer = match file.as_deref() {
        // The pages' own links are relative to the folder.
        None => Response::builder()
            .status(302)
            .header("location", "console/index.html")
            .header("x-request-id", &request_id)
            .body(Body::Empty)?,
        Some("demo-identities") => match demo {
            Some(demo) => http::respond(&request_id, Ok((200, demo.identities().await?))),
            None => not_found(&request_id, "demo-identities"),
        },
        Some(name) => page(name, &request_id).unwrap_or_else(|| not_found(&request_id, name)),
    };
    Ok(answer)
}

fn not_found(request_id: &str, name: &str) -> Response<Body> {
    http::respond(
        request_id,
        Err(http::ApiError::new(
            404,
            "route_not_found",
            format!("the console has no {name}"),
        )),
    )
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    icp_edge::telemetry::init();
    let demo = if std::env::var("DEMO_SIGN_IN").is_ok_and(|v| v == "true") {
        let config = aws::load_config().await;
        Some(DemoSignIn {
            dynamodb: aws_sdk_dynamodb::Client::new(&config),
            entities_table: std::env::var("ENTITIES_TABLE")?,
            jwt_secret: tokio::sync::OnceCell::new(),
            config,
        })
    } else {
        None
    };
    let demo = demo.as_ref();
    lambda_http::run(service_fn(move |req: Request| async move {
        serve(demo, &req).await
    }))
    .await
}
