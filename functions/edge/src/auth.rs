//! Bearer-token authentication: JWTs issued by the deployment's OpenID Connect provider (the
//! local stack's own, or a Cognito user pool), verified against the issuer's JWKS.
//!
//! Only asymmetric signatures (RS256, ES256) are accepted: the API holds no key that could mint
//! a token. The issuer, the audiences and the names of the claims that carry the role and a
//! customer's entity are the deployment's (template parameters, in the environment).

use crate::http::ApiError;
use icp_domain::Caller;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm};
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, Instant};

/// The longest a token may live (`exp - iat`): a leaked token is worth a day at most.
pub const MAX_LIFETIME_SECONDS: i64 = 24 * 3600;
/// Clock skew tolerated between the issuer and this function.
const LEEWAY_SECONDS: i64 = 5;
/// A token naming a key the cached set lacks fetches the set again (the issuer may have
/// rotated), but no more often than this: a stream of forged `kid`s cannot hammer the issuer.
const REFETCH_AT_MOST_EVERY: Duration = Duration::from_secs(30);
const ACCEPTED: [Algorithm; 2] = [Algorithm::RS256, Algorithm::ES256];

/// Whose tokens the API accepts and where their role and entity are.
#[derive(Debug, Clone)]
pub struct TokenPolicy {
    pub issuer: String,
    /// `aud` must be one of these (the clients the tokens were issued to).
    pub audiences: Vec<String>,
    /// The claim naming the role: a string, or a list whose first known role counts (Cognito's
    /// `cognito:groups`).
    pub role_claim: String,
    /// The claim naming a customer's entity.
    pub entity_claim: String,
}

impl TokenPolicy {
    /// From `OIDC_ISSUER`, `OIDC_AUDIENCES` (comma-separated), `OIDC_ROLE_CLAIM` and
    /// `OIDC_ENTITY_CLAIM`.
    pub fn from_env() -> Result<TokenPolicy, String> {
        let var = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
        Ok(TokenPolicy {
            issuer: var("OIDC_ISSUER")?,
            audiences: split_list(&var("OIDC_AUDIENCES").unwrap_or_default()),
            role_claim: var("OIDC_ROLE_CLAIM")?,
            entity_claim: var("OIDC_ENTITY_CLAIM")?,
        })
    }
}

fn split_list(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// Where the issuer's signing keys come from.
pub trait KeySource: Send + Sync {
    fn fetch(&self) -> impl Future<Output = Result<JwkSet, String>> + Send;
}

/// The issuer's JWKS over HTTP(S): `OIDC_JWKS_URL`, or the `jwks_uri` of the issuer's discovery
/// document when that is empty.
pub struct HttpKeySource {
    client: reqwest::Client,
    jwks_url: Option<String>,
    issuer: String,
}

impl HttpKeySource {
    pub fn from_env(issuer: &str) -> Result<HttpKeySource, String> {
        let client = icp_adapters::tls::http_client(Duration::from_secs(5))
            .map_err(|e| format!("the JWKS client: {e}"))?;
        let jwks_url = std::env::var("OIDC_JWKS_URL")
            .ok()
            .filter(|url| !url.is_empty());
        Ok(HttpKeySource {
            client,
            jwks_url,
            issuer: issuer.trim_end_matches('/').to_string(),
        })
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, String> {
        self.client
            .get(url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| format!("{url}: {e}"))?
            .json()
            .await
            .map_err(|e| format!("{url}: {e}"))
    }
}

impl KeySource for HttpKeySource {
    async fn fetch(&self) -> Result<JwkSet, String> {
        let url = match &self.jwks_url {
            Some(url) => url.clone(),
            None => {
                let discovery: Value = self
                    .get_json(&format!("{}/.well-known/openid-configuration", self.issuer))
                    .await?;
                discovery["jwks_uri"]
                    .as_str()
                    .ok_or("the discovery document has no jwks_uri")?
                    .to_string()
            }
        };
        self.get_json(&url).await
    }
}

/// The keys last fetched, by `kid`, with the algorithm each is for.
#[derive(Default)]
struct KeyCache {
    keys: HashMap<String, (Algorithm, DecodingKey)>,
    fetched_at: Option<Instant>,
}

impl KeyCache {
    fn replace(&mut self, set: &JwkSet) {
        self.keys = set
            .keys
            .iter()
            .filter_map(|jwk| {
                let kid = jwk.common.key_id.clone()?;
                let algorithm = match &jwk.algorithm {
                    AlgorithmParameters::RSA(_) => Algorithm::RS256,
                    AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
                        Algorithm::ES256
                    }
                    _ => return None,
                };
                // A key that states its algorithm is used for that one only.
                let stated_matches = match jwk.common.key_algorithm {
                    None => true,
                    Some(KeyAlgorithm::RS256) => algorithm == Algorithm::RS256,
                    Some(KeyAlgorithm::ES256) => algorithm == Algorithm::ES256,
                    Some(_) => false,
                };
                if !stated_matches {
                    return None;
                }
                Some((kid, (algorithm, DecodingKey::from_jwk(jwk).ok()?)))
            })
            .collect();
        self.fetched_at = Some(Instant::now());
    }
}

pub struct Authenticator<S = HttpKeySource> {
    policy: TokenPolicy,
    source: S,
    cache: tokio::sync::Mutex<KeyCache>,
}

impl Authenticator<HttpKeySource> {
    /// The deployment's policy and its issuer's keys, from the environment. Nothing is fetched
    /// until `fetch_keys` or the first token.
    pub fn from_env() -> Result<Self, String> {
        let policy = TokenPolicy::from_env()?;
        let source = HttpKeySource::from_env(&policy.issuer)?;
        Ok(Authenticator::new(policy, source))
    }
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(401, "unauthorized", message)
}

impl<S: KeySource> Authenticator<S> {
    pub fn new(policy: TokenPolicy, source: S) -> Self {
        Authenticator {
            policy,
            source,
            cache: Default::default(),
        }
    }

    /// The caller of an API request: its bearer token, with the console's client (the stage
    /// variable `oidcClientId`) among the audiences. The client is a stage variable because the
    /// template's user pool client names the API in its callback address: the functions'
    /// environment naming the client would close a loop.
    pub async fn request_caller(&self, req: &lambda_http::Request) -> Result<Caller, ApiError> {
        self.caller(
            crate::http::header(req, "authorization"),
            crate::http::stage_variable(req, "oidcClientId"),
        )
        .await
    }

    /// The caller named by the `Authorization: Bearer` header. `client_audience` is one more
    /// accepted audience, the console's client as API Gateway's stage names it.
    pub async fn caller(
        &self,
        authorization: Option<&str>,
        client_audience: Option<&str>,
    ) -> Result<Caller, ApiError> {
        let token = authorization
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| unauthorized("an Authorization: Bearer token is required"))?;
        let invalid = || unauthorized("the bearer token is invalid or expired");
        // `alg: none` and unknown algorithms fail here already.
        let header = decode_header(token).map_err(|_| invalid())?;
        if !ACCEPTED.contains(&header.alg) {
            return Err(unauthorized(
                "the bearer token must be signed with RS256 or ES256",
            ));
        }
        let kid = header.kid.ok_or_else(invalid)?;
        let (algorithm, key) = self.key(&kid).await?.ok_or_else(invalid)?;
        if algorithm != header.alg {
            return Err(invalid());
        }
        let mut validation = Validation::new(algorithm);
        validation.leeway = LEEWAY_SECONDS as u64;
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.policy.issuer]);
        let mut audiences: Vec<&str> = self.policy.audiences.iter().map(String::as_str).collect();
        audiences.extend(client_audience.filter(|a| !a.is_empty()));
        if audiences.is_empty() {
            return Err(invalid());
        }
        validation.set_audience(&audiences);
        validation.set_required_spec_claims(&["exp", "iat", "sub", "iss", "aud"]);
        let claims = decode::<Map<String, Value>>(token, &key, &validation)
            .map_err(|_| invalid())?
            .claims;
        self.caller_of(&claims)
    }

    fn caller_of(&self, claims: &Map<String, Value>) -> Result<Caller, ApiError> {
        let number = |name: &str| claims.get(name).and_then(Value::as_i64);
        let (Some(iat), Some(exp)) = (number("iat"), number("exp")) else {
            return Err(unauthorized("the bearer token is invalid or expired"));
        };
        if iat > chrono::Utc::now().timestamp() + LEEWAY_SECONDS {
            return Err(unauthorized("the bearer token is not valid yet"));
        }
        if exp - iat > MAX_LIFETIME_SECONDS {
            return Err(unauthorized("the bearer token lives longer than a day"));
        }
        let sub = claims
            .get("sub")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| unauthorized("the bearer token names no subject"))?
            .to_string();
        let known = |role: &str| ["customer", "reviewer", "operator"].contains(&role);
        let role = match claims.get(&self.policy.role_claim) {
            Some(Value::String(role)) => Some(role.as_str()).filter(|r| known(r)),
            Some(Value::Array(roles)) => roles.iter().filter_map(Value::as_str).find(|r| known(r)),
            _ => None,
        };
        match role {
            Some("customer") => {
                let entity_id = claims
                    .get(&self.policy.entity_claim)
                    .and_then(Value::as_str)
                    .filter(|e| !e.is_empty())
                    .ok_or_else(|| unauthorized("the customer's token names no entity"))?;
                Ok(Caller::Customer {
                    entity_id: entity_id.to_string(),
                })
            }
            Some("reviewer") => Ok(Caller::Reviewer { reviewer_id: sub }),
            Some("operator") => Ok(Caller::Operator { operator_id: sub }),
            _ => Err(unauthorized("the bearer token carries no known role")),
        }
    }

    /// Fetches the issuer's keys before the first token arrives: at cold start, beside the
    /// function's other round trips, so its first caller does not wait for them after those.
    /// A failure is only logged; the first token fetches them again.
    pub async fn fetch_keys(&self) {
        let mut cache = self.cache.lock().await;
        match self.source.fetch().await {
            Ok(set) => cache.replace(&set),
            Err(error) => tracing::warn!(%error, "the issuer's keys could not be fetched ahead"),
        }
    }

    /// The key named `kid`: from the cache, else from a fresh fetch of the set if the last one
    /// is old enough. A fetch that fails leaves the caller with 503: the issuer, not the token,
    /// is at fault.
    async fn key(&self, kid: &str) -> Result<Option<(Algorithm, DecodingKey)>, ApiError> {
        // Held across the fetch: concurrent callers with a new kid wait for one fetch.
        let mut cache = self.cache.lock().await;
        if let Some(found) = cache.keys.get(kid) {
            return Ok(Some(found.clone()));
        }
        if cache
            .fetched_at
            .is_some_and(|at| at.elapsed() < REFETCH_AT_MOST_EVERY)
        {
            return Ok(None);
        }
        match self.source.fetch().await {
            Ok(set) => cache.replace(&set),
            Err(error) => {
                tracing::warn!(%error, "the issuer's keys could not be fetched");
                return Err(ApiError::new(
                    503,
                    "service_unavailable",
                    "sign-in cannot be checked right now; please retry shortly",
                ));
            }
        }
        Ok(cache.keys.get(kid).cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{encode, EncodingKey, Header};
    use serde_json::json;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    const RSA_KEY: &str = include_str!("../tests/fixtures/rsa-test-key.pem");
    const EC_KEY: &str = include_str!("../tests/fixtures/ec-test-key.pem");
    const JWKS: &str = include_str!("../tests/fixtures/test-jwks.json");
    const ISSUER: &str = "https://id.example.test";

    /// The fixture's JWKS, counting the fetches.
    #[derive(Clone, Default)]
    struct FixedKeys {
        fetches: Arc<AtomicUsize>,
    }

    impl KeySource for FixedKeys {
        async fn fetch(&self) -> Result<JwkSet, String> {
            self.fetches.fetch_add(1, Ordering::SeqCst);
            Ok(serde_json::from_str(JWKS).unwrap())
        }
    }

    struct Unreachable;

    impl KeySource for Unreachable {
        async fn fetch(&self) -> Result<JwkSet, String> {
            Err("connection refused".into())
        }
    }

    fn policy() -> TokenPolicy {
        TokenPolicy {
            issuer: ISSUER.into(),
            audiences: vec!["icp-cli".into()],
            role_claim: "role".into(),
            entity_claim: "entity_id".into(),
        }
    }

    fn authenticator() -> (Authenticator<FixedKeys>, FixedKeys) {
        let keys = FixedKeys::default();
        (Authenticator::new(policy(), keys.clone()), keys)
    }

    fn claims(role: &str) -> Value {
        let now = chrono::Utc::now().timestamp();
        json!({"iss": ISSUER, "aud": "icp-cli", "sub": "person-1", "iat": now, "exp": now + 3600,
               "role": role, "entity_id": "ent-1"})
    }

    fn sign(alg: Algorithm, kid: &str, claims: &Value) -> String {
        let key = match alg {
            Algorithm::RS256 => EncodingKey::from_rsa_pem(RSA_KEY.as_bytes()).unwrap(),
            _ => EncodingKey::from_ec_pem(EC_KEY.as_bytes()).unwrap(),
        };
        let header = Header {
            kid: Some(kid.into()),
            ..Header::new(alg)
        };
        format!("Bearer {}", encode(&header, claims, &key).unwrap())
    }

    fn rsa(claims: &Value) -> String {
        sign(Algorithm::RS256, "test-rsa", claims)
    }

    async fn refused(auth: &Authenticator<FixedKeys>, bearer: &str) -> bool {
        matches!(auth.caller(Some(bearer), None).await, Err(e) if (e.status, e.code) == (401, "unauthorized"))
    }

    #[tokio::test]
    async fn rs256_and_es256_tokens_name_the_caller() {
        let (auth, keys) = authenticator();
        let customer = auth.caller(Some(&rsa(&claims("customer"))), None).await;
        assert_eq!(
            customer.unwrap(),
            Caller::Customer {
                entity_id: "ent-1".into()
            }
        );
        let es = sign(Algorithm::ES256, "test-ec", &claims("reviewer"));
        assert_eq!(
            auth.caller(Some(&es), None).await.unwrap(),
            Caller::Reviewer {
                reviewer_id: "person-1".into()
            }
        );
        let operator = auth.caller(Some(&rsa(&claims("operator"))), None).await;
        assert_eq!(
            operator.unwrap(),
            Caller::Operator {
                operator_id: "person-1".into()
            }
        );
        assert_eq!(
            keys.fetches.load(Ordering::SeqCst),
            1,
            "the keys are cached"
        );
    }

    #[tokio::test]
    async fn keys_fetched_ahead_serve_the_first_token_and_a_failed_fetch_is_tried_again() {
        let (auth, keys) = authenticator();
        auth.fetch_keys().await;
        assert_eq!(keys.fetches.load(Ordering::SeqCst), 1);
        assert!(auth
            .caller(Some(&rsa(&claims("customer"))), None)
            .await
            .is_ok());
        assert_eq!(keys.fetches.load(Ordering::SeqCst), 1, "no second fetch");

        let unreachable = Authenticator::new(policy(), Unreachable);
        unreachable.fetch_keys().await;
        let first = unreachable
            .caller(Some(&rsa(&claims("customer"))), None)
            .await;
        assert!(
            matches!(first, Err(e) if e.status == 503),
            "fetched again, and failed again"
        );
    }

    #[tokio::test]
    async fn a_role_list_counts_its_first_known_role_and_the_stage_adds_an_audience() {
        let (auth, _) = authenticator();
        let mut groups = claims("customer");
        groups["role"] = json!(["staff", "reviewer", "customer"]);
        groups["aud"] = json!("console-client");
        assert!(refused(&auth, &rsa(&groups)).await, "not an audience yet");
        assert_eq!(
            auth.caller(Some(&rsa(&groups)), Some("console-client"))
                .await
                .unwrap(),
            Caller::Reviewer {
                reviewer_id: "person-1".into()
            }
        );
    }

    #[tokio::test]
    async fn bad_tokens_are_refused() {
        let (auth, _) = authenticator();
        let now = chrono::Utc::now().timestamp();
        let with = |changes: Value| {
            let mut c = claims("customer");
            for (k, v) in changes.as_object().unwrap() {
                if v.is_null() {
                    c.as_object_mut().unwrap().remove(k);
                } else {
                    c[k] = v.clone();
                }
            }
            rsa(&c)
        };
        let unsigned = {
            let b64 = |v: &Value| {
                use base64::Engine;
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
            };
            format!(
                "Bearer {}.{}.",
                b64(&json!({"alg": "none", "kid": "test-rsa"})),
                b64(&claims("customer"))
            )
        };
        let hs256 = format!(
            "Bearer {}",
            encode(
                &Header {
                    kid: Some("test-rsa".into()),
                    ..Header::new(Algorithm::HS256)
                },
                &claims("customer"),
                &EncodingKey::from_secret(b"shared"),
            )
            .unwrap()
        );
        // The EC key's signature under the RSA key's kid, and a key the issuer never published.
        let wrong_key = sign(Algorithm::ES256, "test-rsa", &claims("customer"));
        let unknown_kid = sign(Algorithm::RS256, "not-published", &claims("customer"));
        let cases = [
            ("no header", String::new()),
            ("basic", "Basic abc".into()),
            ("garbage", "Bearer not.a.jwt".into()),
            ("alg none", unsigned),
            ("HS256", hs256),
            ("another key", wrong_key),
            ("unknown kid", unknown_kid),
            ("issuer", with(json!({"iss": "https://elsewhere.test"}))),
            ("audience", with(json!({"aud": "another-client"}))),
            (
                "expired",
                with(json!({"iat": now - 7200, "exp": now - 3600})),
            ),
            ("nbf ahead", with(json!({"nbf": now + 600}))),
            (
                "iat ahead",
                with(json!({"iat": now + 600, "exp": now + 3600})),
            ),
            (
                "too long-lived",
                with(json!({"exp": now + MAX_LIFETIME_SECONDS + 1})),
            ),
            ("no iat", with(json!({"iat": null}))),
            ("no sub", with(json!({"sub": null}))),
            ("unknown role", with(json!({"role": "admin"}))),
            ("no role", with(json!({"role": null}))),
            ("customer without entity", with(json!({"entity_id": null}))),
            ("customer with empty entity", with(json!({"entity_id": ""}))),
        ];
        for (name, bearer) in cases {
            let header = (!bearer.is_empty()).then_some(bearer.as_str());
            let answer = auth.caller(header, None).await;
            assert!(
                matches!(&answer, Err(e) if (e.status, e.code) == (401, "unauthorized")),
                "{name}: {answer:?}"
            );
        }
        let a_day = with(json!({"exp": now + MAX_LIFETIME_SECONDS}));
        assert!(
            auth.caller(Some(&a_day), None).await.is_ok(),
            "a day exactly"
        );
    }

    #[tokio::test]
    async fn an_unknown_kid_fetches_the_keys_again_at_most_every_interval() {
        let (auth, keys) = authenticator();
        let unknown = sign(Algorithm::RS256, "rotated-in", &claims("customer"));
        assert!(refused(&auth, &unknown).await);
        assert!(refused(&auth, &unknown).await);
        assert!(refused(&auth, &unknown).await);
        assert_eq!(
            keys.fetches.load(Ordering::SeqCst),
            1,
            "one fetch per interval"
        );
        auth.cache.lock().await.fetched_at = Some(Instant::now() - REFETCH_AT_MOST_EVERY);
        assert!(refused(&auth, &unknown).await);
        assert_eq!(
            keys.fetches.load(Ordering::SeqCst),
            2,
            "fetched again after it"
        );
        assert!(auth
            .caller(Some(&rsa(&claims("customer"))), None)
            .await
            .is_ok());
        assert_eq!(
            keys.fetches.load(Ordering::SeqCst),
            2,
            "a known kid is cached"
        );
    }

    #[tokio::test]
    async fn an_unreachable_issuer_is_a_503_not_the_callers_fault() {
        let auth = Authenticator::new(policy(), Unreachable);
        let err = auth
            .caller(Some(&rsa(&claims("customer"))), None)
            .await
            .unwrap_err();
        assert_eq!((err.status, err.code), (503, "service_unavailable"));
    }
}
