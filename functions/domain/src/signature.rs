//! The authority's request signatures: hex HMAC-SHA256 over `timestamp + "." + body` with the
//! shared secret, valid for 5 minutes either side of now.

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use thiserror::Error;

pub const TOLERANCE_SECONDS: i64 = 300;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("the X-Authority-Timestamp or X-Authority-Signature header is missing or malformed")]
    Malformed,
    #[error("the timestamp is more than 5 minutes away from now")]
    Stale,
    #[error("the signature does not match")]
    Mismatch,
}

fn mac(secret: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

pub fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    hex::encode(mac(secret, timestamp, body).finalize().into_bytes())
}

/// Checks the headers of a signed call; the comparison is constant-time.
pub fn verify(
    secret: &str,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(), SignatureError> {
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
        return Err(SignatureError::Malformed);
    };
    let seconds: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| SignatureError::Malformed)?;
    let given = hex::decode(signature.trim()).map_err(|_| SignatureError::Malformed)?;
    if (now.timestamp() - seconds).abs() > TOLERANCE_SECONDS {
        return Err(SignatureError::Stale);
    }
    mac(secret, timestamp, body)
        .verify_slice(&given)
        .map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_calls_verify_and_forged_or_stale_ones_do_not() {
        let now = Utc::now();
        let ts = now.timestamp().to_string();
        let body = br#"{"decision":"approved"}"#;
        let sig = sign("s", &ts, body);
        assert_eq!(verify("s", Some(&ts), Some(&sig), body, now), Ok(()));
        assert_eq!(
            verify("other", Some(&ts), Some(&sig), body, now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify("s", Some(&ts), Some(&sig), b"{}", now),
            Err(SignatureError::Mismatch)
        );
        let old = (now.timestamp() - 301).to_string();
        let old_sig = sign("s", &old, body);
        assert_eq!(
            verify("s", Some(&old), Some(&old_sig), body, now),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify("s", None, Some(&sig), body, now),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify("s", Some(&ts), Some("zz"), body, now),
            Err(SignatureError::Malformed)
        );
    }
}
