//! Bearer-token authentication: HS256 JWTs with `sub`, `role` and `exp`.

use crate::http::ApiError;
use icp_domain::Caller;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: String,
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
        validation.set_required_spec_claims(&["exp", "sub"]);
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
        match claims.role.as_str() {
            "customer" => Ok(Caller::Customer {
                entity_id: claims.sub,
            }),
            "reviewer" => Ok(Caller::Reviewer {
                reviewer_id: claims.sub,
            }),
            _ => Err(unauthorized("the bearer token carries an unknown role")),
        }
    }
}

/// Mints a token; used by tests and local tooling, never by the deployed functions.
pub fn mint(secret: &str, sub: &str, role: &str, exp: i64) -> String {
    let claims = Claims {
        sub: sub.into(),
        role: role.into(),
        exp,
    };
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
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
}
