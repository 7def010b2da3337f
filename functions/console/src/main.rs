//! `GET /console/{file}`: the web console (customers' and reviewers' pages), built into this
//! binary so that the same build serves it locally and on AWS, through the same API as the
//! routes it calls. `GET /console/sign-in.json` tells the pages where people sign in: the
//! deployment's OpenID Connect provider (Authorization Code with PKCE, in the browser).

use icp_edge::http;
use lambda_http::{service_fn, Body, Error, Request, RequestExt, Response};
use serde_json::{json, Value};

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

/// Where people sign in, from the environment; the client is the stage's (`oidcClientId`),
/// for the template's user pool client names the API in its callback address.
struct SignIn {
    issuer: String,
    scope: String,
    /// The ID token's claim naming the role (the pages show a reviewer the queue).
    role_claim: String,
    /// Empty: the pages read them from the issuer's discovery document.
    authorization_endpoint: String,
    token_endpoint: String,
    end_session_endpoint: String,
    /// The pages load nothing from elsewhere and call only the API they come from and the
    /// provider's discovery and token endpoints.
    content_security_policy: String,
}

impl SignIn {
    fn from_env() -> Result<SignIn, Error> {
        let var = |name: &str| std::env::var(name).unwrap_or_default();
        let issuer = std::env::var("OIDC_ISSUER").map_err(|_| "OIDC_ISSUER is not set")?;
        let token_endpoint = var("OIDC_TOKEN_URL");
        let mut origins = vec![origin(&issuer)?];
        if !token_endpoint.is_empty() {
            origins.push(origin(&token_endpoint)?);
        }
        origins.dedup();
        Ok(SignIn {
            content_security_policy: format!(
                "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self' {}; \
                 img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
                origins.join(" ")
            ),
            issuer,
            scope: var("OIDC_SCOPE"),
            role_claim: var("OIDC_ROLE_CLAIM"),
            authorization_endpoint: var("OIDC_AUTHORIZATION_URL"),
            token_endpoint,
            end_session_endpoint: var("OIDC_LOGOUT_URL"),
        })
    }

    fn settings(&self, req: &Request) -> Value {
        json!({
            "issuer": self.issuer,
            "clientId": http::stage_variable(req, "oidcClientId").unwrap_or_default(),
            "scope": self.scope,
            "roleClaim": self.role_claim,
            "authorizationEndpoint": self.authorization_endpoint,
            "tokenEndpoint": self.token_endpoint,
            "endSessionEndpoint": self.end_session_endpoint,
        })
    }
}

/// `scheme://host[:port]` of a URL, as a CSP source.
fn origin(url: &str) -> Result<String, Error> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("{url} is not an absolute URL"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    Ok(format!("{scheme}://{host}"))
}

fn page(sign_in: &SignIn, name: &str, request_id: &str) -> Option<Response<Body>> {
    let (_, content_type, body) = PAGES.iter().find(|(file, ..)| *file == name)?;
    Response::builder()
        .status(200)
        .header("content-type", *content_type)
        .header(
            "content-security-policy",
            sign_in.content_security_policy.as_str(),
        )
        .header("x-content-type-options", "nosniff")
        .header("cache-control", "no-cache")
        .header("x-request-id", request_id)
        .body(Body::from(*body))
        .ok()
}

fn serve(sign_in: &SignIn, req: &Request) -> Result<Response<Body>, Error> {
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
        Some("sign-in.json") => http::respond(&request_id, Ok((200, sign_in.settings(req)))),
        Some(name) => {
            page(sign_in, name, &request_id).unwrap_or_else(|| not_found(&request_id, name))
        }
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
    let sign_in = &SignIn::from_env()?;
    lambda_http::run(service_fn(move |req: Request| async move {
        serve(sign_in, &req)
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::origin;

    #[test]
    fn origins_are_scheme_host_and_port() {
        assert_eq!(
            origin("http://127.0.0.1:4600").unwrap(),
            "http://127.0.0.1:4600"
        );
        assert_eq!(
            origin("https://icp.auth.cn-north-1.amazoncognito.com/oauth2/token").unwrap(),
            "https://icp.auth.cn-north-1.amazoncognito.com"
        );
        assert!(origin("not a url").is_err());
    }
}
