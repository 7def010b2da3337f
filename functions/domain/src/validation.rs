//! Validation of what customers send, before anything is written.

use crate::{DomainError, RequestType, Website, WebsiteStatus};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::BTreeSet;
use std::net::IpAddr;

pub const MAX_SERVICE_IPS: usize = 16;
pub const MAX_PASSWORD_CHARS: usize = 128;

/// A submission that passed validation against the website it targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidSubmission {
    pub request_type: RequestType,
    pub service_ips: Option<Vec<String>>,
}

pub fn parse_request_type(raw: &str) -> Result<RequestType, DomainError> {
    RequestType::parse(raw).ok_or_else(|| {
        DomainError::validation(
            "invalid_request_type",
            "type must be one of website_cancellation, access_cancellation, access_change",
        )
    })
}

pub fn validate_password(raw: &str) -> Result<(), DomainError> {
    if raw.is_empty() {
        return Err(DomainError::validation(
            "invalid_license_password",
            "licensePassword must not be empty",
        ));
    }
    if raw.chars().count() > MAX_PASSWORD_CHARS {
        return Err(DomainError::validation(
            "invalid_license_password",
            format!("licensePassword must be at most {MAX_PASSWORD_CHARS} characters"),
        ));
    }
    Ok(())
}

/// Service IPs for an access change: valid IPv4/IPv6, 1 to 16, distinct, and not the set the
/// website already has. Returned in canonical text form.
pub fn validate_service_ips(
    raw: &[String],
    current: &[String],
) -> Result<Vec<String>, DomainError> {
    let invalid = |message: String| DomainError::validation("invalid_service_ips", message);
    if raw.is_empty() || raw.len() > MAX_SERVICE_IPS {
        return Err(invalid(format!(
            "serviceIps must hold 1 to {MAX_SERVICE_IPS} addresses"
        )));
    }
    let mut seen = BTreeSet::new();
    let mut canonical = Vec::with_capacity(raw.len());
    for ip in raw {
        let parsed: IpAddr = ip
            .parse()
            .map_err(|_| invalid(format!("{ip:?} is not an IPv4 or IPv6 address")))?;
        if !seen.insert(parsed) {
            return Err(invalid(format!("{ip} is listed twice")));
        }
        canonical.push(parsed.to_string());
    }
    let current: BTreeSet<IpAddr> = current.iter().filter_map(|ip| ip.parse().ok()).collect();
    if seen == current {
        return Err(invalid(
            "serviceIps must differ from the website's current service IPs".into(),
        ));
    }
    Ok(canonical)
}

/// Checks a submission against the website it targets. `serviceIps` belongs to access changes
/// only.
pub fn validate_submission(
    request_type: RequestType,
    service_ips: Option<&[String]>,
    website: &Website,
) -> Result<ValidSubmission, DomainError> {
    if website.status != WebsiteStatus::Active {
        return Err(DomainError::WebsiteNotFound(website.website_id.clone()));
    }
    let service_ips = match (request_type, service_ips) {
        (RequestType::AccessChange, Some(ips)) => {
            Some(validate_service_ips(ips, &website.service_ips)?)
        }
        (RequestType::AccessChange, None) => {
            return Err(DomainError::validation(
                "invalid_service_ips",
                "serviceIps is required for access_change",
            ))
        }
        (_, Some(_)) => {
            return Err(DomainError::validation(
                "invalid_service_ips",
                "serviceIps is only allowed for access_change",
            ))
        }
        (_, None) => None,
    };
    Ok(ValidSubmission {
        request_type,
        service_ips,
    })
}

/// A JSON body in one canonical form (keys sorted, no whitespace), so that the Idempotency-Key
/// comparison sees the same request in the same JSON however a client spaced or ordered it.
/// A body that is not JSON is compared as it came.
pub fn canonical_json(body: &[u8]) -> Vec<u8> {
    fn sorted(value: serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match value {
            Value::Object(map) => {
                let mut entries: Vec<(String, Value)> = map.into_iter().collect();
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
            }
            Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
            other => other,
        }
    }
    match serde_json::from_slice(body) {
        Ok(value) => serde_json::to_vec(&sorted(value)).expect("a JSON value serializes"),
        Err(_) => body.to_vec(),
    }
}

/// A keyed fingerprint of a submitted body, for Idempotency-Key comparison: keyed so that the
/// stored value reveals nothing of the password inside the body.
pub fn body_fingerprint(key: &[u8], canonical_body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(canonical_body);
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn website(ips: &[&str]) -> Website {
        Website {
            website_id: "w1".into(),
            entity_id: "e1".into(),
            domain: "example.cn".into(),
            website_license_number: "京ICP备12345678号-1".into(),
            service_ips: ips.iter().map(|s| s.to_string()).collect(),
            status: WebsiteStatus::Active,
            open_request_id: None,
        }
    }

    fn ips(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn service_ips_accept_v4_and_v6_and_canonicalise() {
        let out = validate_service_ips(
            &ips(&["198.51.100.7", "2001:DB8::1"]),
            &ips(&["203.0.113.1"]),
        )
        .unwrap();
        assert_eq!(out, ips(&["198.51.100.7", "2001:db8::1"]));
    }

    #[test]
    fn service_ips_refuse_bad_duplicate_empty_too_many_and_unchanged() {
        let current = ips(&["203.0.113.1"]);
        for bad in [
            ips(&[]),
            ips(&["300.1.1.1"]),
            ips(&["example.com"]),
            ips(&["198.51.100.7", "198.51.100.7"]),
            ips(&["2001:db8::1", "2001:DB8:0::1"]),
            ips(&["203.0.113.1"]),
            (0..17).map(|i| format!("198.51.100.{i}")).collect(),
        ] {
            let err = validate_service_ips(&bad, &current).unwrap_err();
            assert!(
                matches!(
                    err,
                    DomainError::Validation {
                        code: "invalid_service_ips",
                        ..
                    }
                ),
                "{bad:?}"
            );
        }
        let sixteen: Vec<String> = (0..16).map(|i| format!("198.51.100.{i}")).collect();
        assert_eq!(validate_service_ips(&sixteen, &current).unwrap().len(), 16);
    }

    #[test]
    fn service_ips_belong_to_access_change_only() {
        let w = website(&["203.0.113.1"]);
        let new = ips(&["198.51.100.7"]);
        assert!(validate_submission(RequestType::AccessChange, Some(&new), &w).is_ok());
        assert!(validate_submission(RequestType::AccessChange, None, &w).is_err());
        assert!(validate_submission(RequestType::WebsiteCancellation, Some(&new), &w).is_err());
        assert!(validate_submission(RequestType::AccessCancellation, None, &w).is_ok());
    }

    #[test]
    fn a_cleared_website_takes_no_request() {
        let mut w = website(&["203.0.113.1"]);
        w.status = WebsiteStatus::Cleared;
        assert_eq!(
            validate_submission(RequestType::AccessCancellation, None, &w),
            Err(DomainError::WebsiteNotFound("w1".into()))
        );
    }

    #[test]
    fn passwords_must_be_present_and_bounded() {
        assert!(validate_password("x").is_ok());
        assert!(validate_password("").is_err());
        assert!(validate_password(&"x".repeat(129)).is_err());
    }

    #[test]
    fn canonical_json_ignores_spacing_and_key_order_only() {
        let a = canonical_json(br#"{"websiteId":"w1","type":"x","serviceIps":["1.2.3.4","5.6.7.8"],"o":{"b":1,"a":2}}"#);
        let b = canonical_json(
            br#" { "o": {"a": 2, "b": 1}, "type" : "x",
                   "serviceIps": [ "1.2.3.4", "5.6.7.8" ], "websiteId": "w1" } "#,
        );
        assert_eq!(a, b);
        let reordered_list = canonical_json(br#"{"websiteId":"w1","type":"x","serviceIps":["5.6.7.8","1.2.3.4"],"o":{"b":1,"a":2}}"#);
        assert_ne!(a, reordered_list, "a list's order is the client's meaning");
        assert_ne!(a, canonical_json(br#"{"websiteId":"w2","type":"x","serviceIps":["1.2.3.4","5.6.7.8"],"o":{"b":1,"a":2}}"#));
        assert_eq!(canonical_json(b"not json"), b"not json");
    }

    #[test]
    fn fingerprint_is_rfc_4231_hmac_sha256() {
        // RFC 4231 test case 2.
        assert_eq!(
            body_fingerprint(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_ne!(body_fingerprint(b"k", b"a"), body_fingerprint(b"k", b"b"));
    }
}
