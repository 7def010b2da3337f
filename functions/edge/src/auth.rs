//! Bearer-token authentication: HS256 JWTs with `sub`, `role`, `iss`, `aud`, `iat`, `nbf` and
//! `exp`, from the provider's identity system, for this API, living at most a day.

use crate::http::ApiError;
use icp_domain::Caller;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// Who issues the tokens this API accepts (the provider's identity system).
pub const ISSUER: &str = "icp-identity";
/// Whom the tokens are for: a token minted for another of the provider's services is refused.
pub const AUDIENCE: &str = "icp-license-api";
/// The longest a token may live (`exp - iat`): a leaked token is worth a day at most.
pub const MAX_LIFETIME_SECONDS: i64 = 24 * 3600;

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: String,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
}

pub struct Authenticator {
    key: DecodingKey,
    validation: Validation,
}

impl Authenticator {
    pub fn new(secret: &str) -> Authenticator {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.validate_nbf = true;
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "nbf", "sub", "iss", "aud"]);
        Authenticator {
            key: DecodingKey::from_secret(secret.as_bytes()),
            validation,
        }
    }

    /// The caller named by the `Authorization: Bearer` header.
    pub fn caller(&self, authorization: Option<&str>) -> Result<Caller, ApiError> {
        let unauthorized = |message: &str| ApiError::new(401, "unauthorized", message);
        let token = authorization
            .and_then(|h| h.strip_prefix("Bearer "))
            .ok_or_else(|| unauthorized("an Authorization: Bearer token is required"))?;
        let claims = decode::<Claims>(token.trim(), &self.key, &self.validation)
            .map_err(|_| unauthorized("the bearer token is invalid or expired"))?
            .claims;
        if claims.exp - claims.iat > MAX_LIFETIME_SECONDS {
            return Err(unauthorized("the bearer token lives longer than a day"));
        }
        match claims.role.as_str() {
            "customer" => Ok(Caller::Customer {
                entity_id: claims.sub,
            }),
            "reviewer" => Ok(Caller::Reviewer {
                reviewer_id: claims.sub,
            }),
            "operator" => Ok(Caller::Operator {
                operator_id: claims.sub,
            }),
            _ => Err(unauthorized("the bearer token carries an unknown role")),
        }
    }
}

/// Mints a token valid from now (or from `exp`, if that is earlier) until `exp`; used by tests
/// and local tooling, never by the deployed functions.
pub fn mint(secret: &str, sub: &str, role: &str, exp: i64) -> String {
    let issued = chrono::Utc::now().timestamp().min(exp);
    mint_claims(
        secret,
        &Claims {
            sub: sub.into(),
            role: role.into(),
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: issued,
            nbf: issued,
            exp,
        },
    )
}

/// Mints a token with exactly these claims (tests of what the API refuses).
pub fn mint_claims(secret: &str, claims: &Claims) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("HS256 encoding cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn far_future() -> i64 {
        chrono::Utc::now().timestamp() + 3600
    }

    #[test]
    fn a_valid_token_names_the_caller() {
        let auth = Authenticator::new("k");
        let token = mint("k", "ent-1", "customer", far_future());
        assert_eq!(
            auth.caller(Some(&format!("Bearer {token}"))).unwrap(),
            Caller::Customer {
                entity_id: "ent-1".into()
            }
        );
        let token = mint("k", "rev-1", "reviewer", far_future());
        assert_eq!(
            auth.caller(Some(&format!("Bearer {token}"))).unwrap(),
            Caller::Reviewer {
                reviewer_id: "rev-1".into()
            }
        );
        let token = mint("k", "ops-1", "operator", far_future());
        assert_eq!(
            auth.caller(Some(&format!("Bearer {token}"))).unwrap(),
            Caller::Operator {
                operator_id: "ops-1".into()
            }
        );
    }

    #[test]
    fn missing_forged_expired_and_unknown_role_tokens_are_refused() {
        let auth = Authenticator::new("k");
        let cases = [
            None,
            Some("Basic abc".to_string()),
            Some(format!(
                "Bearer {}",
                mint("other", "e", "customer", far_future())
            )),
            Some(format!("Bearer {}", mint("k", "e", "customer", 1))),
            Some(format!("Bearer {}", mint("k", "e", "admin", far_future()))),
            Some("Bearer not.a.jwt".to_string()),
        ];
        for case in cases {
            let err = auth.caller(case.as_deref()).unwrap_err();
            assert_eq!((err.status, err.code), (401, "unauthorized"), "{case:?}");
        }
    }

    #[test]
    fn tokens_for_another_issuer_or_audience_not_yet_valid_or_too_long_lived_are_refused() {
        let auth = Authenticator::new("k");
        let now = chrono::Utc::now().timestamp();
        let valid = || Claims {
            sub: "ent-1".into(),
            role: "customer".into(),
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: now,
            nbf: now,
            exp: now + 3600,
        };
        let bearer = |claims: &Claims| format!("Bearer {}", mint_claims("k", claims));
        assert!(auth.caller(Some(&bearer(&valid()))).is_ok());
        let day = Claims {
            exp: now + MAX_LIFETIME_SECONDS,
            ..valid()
        };
        assert!(auth.caller(Some(&bearer(&day))).is_ok(), "a day exactly");
        let refused = [
            Claims {
                iss: "someone-else".into(),
                ..valid()
            },
            Claims {
                aud: "another-service".into(),
                ..valid()
            },
            Claims {
                nbf: now + 600,
                ..valid()
            },
            Claims {
                exp: now + MAX_LIFETIME_SECONDS + 1,
                ..valid()
            },
            Claims {
                iat: now - 2 * MAX_LIFETIME_SECONDS,
                nbf: now - 2 * MAX_LIFETIME_SECONDS,
                ..valid()
            },
        ];
        for claims in refused {
            let err = auth.caller(Some(&bearer(&claims))).unwrap_err();
            assert_eq!((err.status, err.code), (401, "unauthorized"), "{claims:?}");
        }
        // A token without iss, aud, iat or nbf (as this API minted them before) is refused.
        let old = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &serde_json::json!({"sub": "ent-1", "role": "customer", "exp": now + 3600}),
            &EncodingKey::from_secret(b"k"),
        )
        .unwrap();
        assert!(auth.caller(Some(&format!("Bearer {old}"))).is_err());
    }
}
