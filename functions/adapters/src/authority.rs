//! The authority's system over signed HTTP: each submission is POSTed with
//! `X-Authority-Timestamp` and `X-Authority-Signature` (hex HMAC-SHA256 over
//! `timestamp + "." + body`), and names the callback URL for the result.

use icp_domain::error::AuthorityError;
use icp_domain::ports::{Authority, Submission};
use icp_domain::signature;
use std::time::Duration;

pub struct HttpAuthority {
    http: reqwest::Client,
    submissions_url: String,
    callback_url: String,
    secret: String,
}

/// The API's public base URL: `API_BASE_URL` with `{apiId}` filled in from `API_ID`, since the
/// function cannot name its own API's URL in the template without a cycle on AWS; the API's
/// own functions, which the API names, cannot even have `API_ID`: theirs is the id their
/// requests come through (`observe_api_id`).
pub fn api_base_url() -> Result<String, crate::Error> {
    let template = crate::aws::env("API_BASE_URL")?;
    let api_id = std::env::var("API_ID")
        .ok()
        .or_else(|| OBSERVED_API_ID.get().cloned())
        .unwrap_or_default();
    Ok(template.replace("{apiId}", &api_id))
}

static OBSERVED_API_ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// The id of the API a request came through (API Gateway's request context), for
/// `api_base_url` in a function without `API_ID`.
pub fn observe_api_id(api_id: &str) {
    let _ = OBSERVED_API_ID.set(api_id.to_string());
}

impl HttpAuthority {
    /// The HTTPS client the authority is called with. Apart from the secret, so that a cold
    /// start builds it (CPU: the CA bundle's certificates) while its secrets are in flight.
    pub fn client() -> reqwest::Result<reqwest::Client> {
        crate::tls::http_client(Duration::from_secs(10))
    }

    /// `AUTHORITY_URL` is the authority's intake; empty means the local simulator behind our
    /// own API.
    pub fn from_env(http: reqwest::Client, secret: String) -> Result<HttpAuthority, crate::Error> {
        let base = api_base_url()?;
        let submissions_url = match std::env::var("AUTHORITY_URL").unwrap_or_default() {
            url if url.is_empty() => format!("{base}/authority-sim/submissions"),
            url => url,
        };
        Ok(HttpAuthority {
            http,
            submissions_url,
            callback_url: format!("{base}/authority/callbacks"),
            secret,
        })
    }

    pub fn new(
        submissions_url: String,
        callback_url: String,
        secret: String,
    ) -> reqwest::Result<HttpAuthority> {
        Ok(HttpAuthority {
            http: HttpAuthority::client()?,
            submissions_url,
            callback_url,
            secret,
        })
    }
}

impl Authority for HttpAuthority {
    async fn submit(&self, submission: &Submission) -> Result<(), AuthorityError> {
        let mut body =
            serde_json::to_value(submission).map_err(|e| AuthorityError(e.to_string()))?;
        body["callbackUrl"] = self.callback_url.clone().into();
        let body = body.to_string();
        let timestamp = chrono::Utc::now().timestamp().to_string();
        let response = self
            .http
            .post(&self.submissions_url)
            .header("content-type", "application/json")
            .header("x-authority-timestamp", &timestamp)
            .header(
                "x-authority-signature",
                signature::sign(&self.secret, &timestamp, body.as_bytes()),
            )
            .body(body)
            .send()
            .await
            .map_err(|e| AuthorityError(e.to_string()))?;
        if !response.status().is_success() {
            return Err(AuthorityError(format!("answered {}", response.status())));
        }
        Ok(())
    }
}
