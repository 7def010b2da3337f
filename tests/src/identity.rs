//! Tokens as the local OpenID Connect provider (`infra/local/oidc`) issues them: signed with its
//! key (`.local/oidc/signing-key.pem` and `.kid`, written at its first start), for the scripts'
//! client, with the deployment's role and entity claims. The tests' own customers and the
//! bench's get theirs this way, without each signing in on the login page; the demo people's
//! tokens in `.local/demo.json` come from the login page itself.

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

pub struct Issuer {
    key: EncodingKey,
    pub kid: String,
    pub issuer: String,
    pub audience: String,
    pub role_claim: String,
    pub entity_claim: String,
}

impl Issuer {
    /// The provider's key from `.local/oidc/`, its issuer, audience and claims from the stack's
    /// outputs (`.local/stack.json`).
    pub fn read(outputs: &Value) -> Issuer {
        let dir = crate::local_state().join("oidc");
        let read = |name: &str| {
            std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| {
                panic!(
                    "{}: {e}; the local provider is not up (make up)",
                    dir.join(name).display()
                )
            })
        };
        let output = |name: &str| {
            outputs[name]
                .as_str()
                .unwrap_or_else(|| panic!("{name} is not in .local/stack.json"))
                .to_string()
        };
        Issuer {
            key: EncodingKey::from_rsa_pem(read("signing-key.pem").as_bytes())
                .expect("the provider's signing key"),
            kid: read("signing-key.kid").trim().to_string(),
            issuer: output("OidcIssuer"),
            audience: output("OidcAudiences")
                .split(',')
                .next()
                .unwrap_or_default()
                .to_string(),
            role_claim: output("OidcRoleClaim"),
            entity_claim: output("OidcEntityClaim"),
        }
    }

    /// The claims of an ID token for `sub` in `role` until `exp` (a customer's entity is its
    /// `sub`, as the tests name their customers by entity).
    pub fn claims(&self, sub: &str, role: &str, exp: i64) -> Value {
        let issued = chrono::Utc::now().timestamp().min(exp);
        let mut claims = json!({"iss": self.issuer, "aud": self.audience, "sub": sub,
                                "iat": issued, "exp": exp});
        claims[&self.role_claim] = role.into();
        if role == "customer" {
            claims[&self.entity_claim] = sub.into();
        }
        claims
    }

    pub fn token(&self, sub: &str, role: &str, exp: i64) -> String {
        self.sign(&self.claims(sub, role, exp))
    }

    /// Exactly these claims, signed with the provider's key.
    pub fn sign(&self, claims: &Value) -> String {
        sign_rs256(&self.key, &self.kid, claims)
    }
}

pub fn sign_rs256(key: &EncodingKey, kid: &str, claims: &Value) -> String {
    let header = Header {
        kid: Some(kid.into()),
        ..Header::new(Algorithm::RS256)
    };
    encode(&header, claims, key).expect("RS256 signing")
}

/// Tokens the API must refuse, each named, for a customer of `entity_id`: signed by another
/// key, for another issuer or audience, expired, not yet valid, unsigned (`alg: none`), HS256,
/// with an unknown role, a customer's without an entity.
pub fn bad_tokens(issuer: &Issuer, entity_id: &str) -> Vec<(&'static str, String)> {
    let now = chrono::Utc::now().timestamp();
    let valid = issuer.claims(entity_id, "customer", now + 600);
    let with = |changes: &[(&str, Value)]| {
        let mut claims = valid.clone();
        for (name, value) in changes {
            match value {
                Value::Null => drop(claims.as_object_mut().unwrap().remove(*name)),
                _ => claims[*name] = value.clone(),
            }
        }
        issuer.sign(&claims)
    };
    // A key the provider never published (the unit tests' fixture).
    let other_key = EncodingKey::from_rsa_pem(include_bytes!(
        "../../functions/edge/tests/fixtures/rsa-test-key.pem"
    ))
    .unwrap();
    let unsigned = {
        use base64::Engine;
        let b64 =
            |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        format!(
            "{}.{}.",
            b64(&json!({"alg": "none", "typ": "JWT", "kid": issuer.kid})),
            b64(&valid)
        )
    };
    let hs256 = encode(
        &Header {
            kid: Some(issuer.kid.clone()),
            ..Header::new(Algorithm::HS256)
        },
        &valid,
        &EncodingKey::from_secret(b"a shared secret"),
    )
    .unwrap();
    vec![
        (
            "another key under the provider's kid",
            sign_rs256(&other_key, &issuer.kid, &valid),
        ),
        (
            "another key, unpublished kid",
            sign_rs256(&other_key, "not-published", &valid),
        ),
        (
            "another issuer",
            with(&[("iss", "https://id.elsewhere.example".into())]),
        ),
        (
            "another audience",
            with(&[("aud", "another-service".into())]),
        ),
        (
            "expired",
            with(&[("iat", (now - 7200).into()), ("exp", (now - 3600).into())]),
        ),
        ("not yet valid", with(&[("nbf", (now + 3600).into())])),
        (
            "issued in the future",
            with(&[("iat", (now + 3600).into()), ("exp", (now + 7200).into())]),
        ),
        (
            "alive longer than a day",
            with(&[("exp", (now + 7 * 24 * 3600).into())]),
        ),
        ("alg none", unsigned),
        ("HS256", hs256),
        (
            "unknown role",
            with(&[(&issuer.role_claim, "admin".into())]),
        ),
        ("no role", with(&[(&issuer.role_claim, Value::Null)])),
        (
            "customer without entity",
            with(&[(&issuer.entity_claim, Value::Null)]),
        ),
    ]
}
