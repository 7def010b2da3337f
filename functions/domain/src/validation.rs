//! Validation of what customers send, before anything is written.

use crate::{DomainError, RequestType, Website, WebsiteStatus};
use hmac::{Hmac, KeyInit, Mac};
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
            "type 须为 website_cancellation、access_cancellation 或 access_change",
            "type must be one of website_cancellation, access_cancellation, access_change",
        )
    })
}

pub fn validate_password(raw: &str) -> Result<(), DomainError> {
    if raw.is_empty() {
        return Err(DomainError::validation(
            "invalid_license_password",
            "备案密码（licensePassword）不能为空",
            "licensePassword must not be empty",
        ));
    }
    if raw.chars().count() > MAX_PASSWORD_CHARS {
        return Err(DomainError::validation(
            "invalid_license_password",
            format!("备案密码（licensePassword）最多 {MAX_PASSWORD_CHARS} 个字符"),
            format!("licensePassword must be at most {MAX_PASSWORD_CHARS} characters"),
        ));
    }
    Ok(())
}

/// Which service IPs a website may move to: public addresses, within the provider's own ranges
/// when it has named them (it can be the access provider only of addresses it hosts). The
/// documentation ranges (RFC 5737, RFC 3849) serve no website, but the local stage's demo and
/// tests use them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpPolicy {
    pub allow_documentation: bool,
    /// The provider's address blocks; empty: not named, any public address.
    pub provider_ranges: Vec<IpRange>,
}

/// A block of addresses in CIDR notation (`203.0.113.0/24`, `2001:db8::/32`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRange {
    network: IpAddr,
    prefix: u8,
}

impl IpRange {
    /// The block `cidr` names; its address must be the block's first (no host bits set).
    pub fn parse(cidr: &str) -> Result<IpRange, String> {
        let bad = || format!("{cidr:?} is not an address block (CIDR, e.g. 203.0.113.0/24)");
        let (address, prefix) = cidr.trim().split_once('/').ok_or_else(bad)?;
        let network: IpAddr = address.parse().map_err(|_| bad())?;
        let prefix: u8 = prefix.parse().map_err(|_| bad())?;
        let bits = if network.is_ipv4() { 32 } else { 128 };
        if prefix > bits {
            return Err(bad());
        }
        let range = IpRange { network, prefix };
        if range.masked(network) != Some(bits_of(network)) {
            return Err(format!(
                "{cidr:?} has host bits set: the block starts elsewhere"
            ));
        }
        Ok(range)
    }

    /// The comma-separated blocks of `list` (empty: none).
    pub fn parse_list(list: &str) -> Result<Vec<IpRange>, String> {
        list.split(',')
            .filter(|cidr| !cidr.trim().is_empty())
            .map(IpRange::parse)
            .collect()
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        self.masked(ip) == Some(bits_of(self.network))
    }

    /// `ip`'s bits under this block's mask, if it is of the block's family.
    fn masked(&self, ip: IpAddr) -> Option<u128> {
        let (width, value) = match (self.network, ip) {
            (IpAddr::V4(_), IpAddr::V4(v4)) => (32, u128::from(u32::from(v4))),
            (IpAddr::V6(_), IpAddr::V6(v6)) => (128, u128::from(v6)),
            _ => return None,
        };
        let host_bits = width - u32::from(self.prefix);
        let mask = if host_bits >= 128 {
            0
        } else {
            !((1u128 << host_bits) - 1)
        };
        Some(value & mask)
    }
}

fn bits_of(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

impl std::fmt::Display for IpRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// Why `ip` cannot serve a public website, if it cannot (in English; `in_chinese` has the
/// Chinese).
fn unroutable(ip: IpAddr, policy: &IpPolicy) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            if v4.is_unspecified() || a == 0 {
                Some("unspecified")
            } else if v4.is_loopback() {
                Some("a loopback address")
            } else if v4.is_private() {
                Some("a private address")
            } else if a == 100 && (64..128).contains(&b) {
                Some("a shared (carrier-grade NAT) address")
            } else if v4.is_link_local() {
                Some("a link-local address")
            } else if v4.is_broadcast() {
                Some("the broadcast address")
            } else if v4.is_multicast() {
                Some("a multicast address")
            } else if a >= 240 {
                Some("a reserved address")
            } else if v4.is_documentation() && !policy.allow_documentation {
                Some("a documentation address")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            if v6.is_unspecified() {
                Some("unspecified")
            } else if v6.is_loopback() {
                Some("a loopback address")
            } else if v6.to_ipv4_mapped().is_some() {
                Some("an IPv4-mapped address (give the IPv4 address)")
            } else if first & 0xfe00 == 0xfc00 {
                Some("a unique local (private) address")
            } else if first & 0xffc0 == 0xfe80 {
                Some("a link-local address")
            } else if v6.is_multicast() {
                Some("a multicast address")
            } else if first == 0x2001 && v6.segments()[1] == 0x0db8 && !policy.allow_documentation {
                Some("a documentation address")
            } else {
                None
            }
        }
    }
}

/// The Chinese of what `unroutable` says.
fn in_chinese(why: &str) -> &'static str {
    match why {
        "unspecified" => "未指定地址",
        "a loopback address" => "环回地址",
        "a private address" => "私有地址",
        "a shared (carrier-grade NAT) address" => "共享地址（运营商级 NAT）",
        "a link-local address" => "链路本地地址",
        "the broadcast address" => "广播地址",
        "a multicast address" => "组播地址",
        "a reserved address" => "保留地址",
        "a documentation address" => "文档示例地址",
        "an IPv4-mapped address (give the IPv4 address)" => "IPv4 映射地址（请填写 IPv4 地址）",
        "a unique local (private) address" => "唯一本地（私有）地址",
        _ => "不可用于公网的地址",
    }
}

/// Service IPs for an access change: valid IPv4/IPv6 addresses that can serve a public website,
/// within the provider's ranges, 1 to 16, distinct, and not the set the website already has.
/// Returned in canonical text form.
pub fn validate_service_ips(
    raw: &[String],
    current: &[String],
    policy: &IpPolicy,
) -> Result<Vec<String>, DomainError> {
    let invalid = |zh: String, en: String| DomainError::validation("invalid_service_ips", zh, en);
    if raw.is_empty() || raw.len() > MAX_SERVICE_IPS {
        return Err(invalid(
            format!("服务IP（serviceIps）须为 1 至 {MAX_SERVICE_IPS} 个地址"),
            format!("serviceIps must hold 1 to {MAX_SERVICE_IPS} addresses"),
        ));
    }
    let mut seen = BTreeSet::new();
    let mut canonical = Vec::with_capacity(raw.len());
    for ip in raw {
        let parsed: IpAddr = ip.parse().map_err(|_| {
            invalid(
                format!("{ip:?} 不是 IPv4 或 IPv6 地址"),
                format!("{ip:?} is not an IPv4 or IPv6 address"),
            )
        })?;
        if let Some(why) = unroutable(parsed, policy) {
            return Err(invalid(
                format!("{ip} 是{}，不能为公网网站提供服务", in_chinese(why)),
                format!("{ip} is {why}: it cannot serve a public website"),
            ));
        }
        let ranges = &policy.provider_ranges;
        if !ranges.is_empty() && !ranges.iter().any(|range| range.contains(parsed)) {
            let named: Vec<String> = ranges.iter().map(IpRange::to_string).collect();
            let named = named.join(", ");
            return Err(invalid(
                format!("{ip} 不在本服务商的 IP 地址段内（{named}）：服务商只能接入自己托管的地址"),
                format!("{ip} is outside this provider's IP ranges ({named}): a provider can be the access provider only of addresses it hosts"),
            ));
        }
        if !seen.insert(parsed) {
            return Err(invalid(
                format!("{ip} 重复填写"),
                format!("{ip} is listed twice"),
            ));
        }
        canonical.push(parsed.to_string());
    }
    let current: BTreeSet<IpAddr> = current.iter().filter_map(|ip| ip.parse().ok()).collect();
    if seen == current {
        return Err(invalid(
            "新的服务IP须与网站当前的服务IP不同".into(),
            "serviceIps must differ from the website's current service IPs".into(),
        ));
    }
    Ok(canonical)
}

/// `serviceIps` sent with a request other than an access change.
pub fn service_ips_not_allowed() -> DomainError {
    DomainError::validation(
        "invalid_service_ips",
        "只有变更接入（access_change）可以填写服务IP（serviceIps）",
        "serviceIps is only allowed for access_change",
    )
}

/// Checks a submission against the website it targets. `serviceIps` belongs to access changes
/// only.
pub fn validate_submission(
    request_type: RequestType,
    service_ips: Option<&[String]>,
    website: &Website,
    policy: &IpPolicy,
) -> Result<ValidSubmission, DomainError> {
    if website.status != WebsiteStatus::Active {
        return Err(DomainError::WebsiteNotFound(website.website_id.clone()));
    }
    let service_ips = match (request_type, service_ips) {
        (RequestType::AccessChange, Some(ips)) => {
            Some(validate_service_ips(ips, &website.service_ips, policy)?)
        }
        (RequestType::AccessChange, None) => {
            return Err(DomainError::validation(
                "invalid_service_ips",
                "变更接入（access_change）须填写服务IP（serviceIps）",
                "serviceIps is required for access_change",
            ))
        }
        (_, Some(_)) => return Err(service_ips_not_allowed()),
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

    /// The local stage's policy: the documentation ranges the tests use are allowed.
    const LOCAL: IpPolicy = IpPolicy {
        allow_documentation: true,
        provider_ranges: Vec::new(),
    };

    #[test]
    fn a_provider_s_ranges_hold_its_addresses_and_only_them() {
        let policy = IpPolicy {
            allow_documentation: false,
            provider_ranges: IpRange::parse_list("8.8.8.0/24, 2400:3200::/32").unwrap(),
        };
        let current = ips(&["8.8.8.1"]);
        for inside in ["8.8.8.8", "8.8.8.255", "2400:3200::1", "2400:3200:ffff::9"] {
            assert!(
                validate_service_ips(&ips(&[inside]), &current, &policy).is_ok(),
                "{inside}"
            );
        }
        for outside in ["8.8.9.1", "1.1.1.1", "2400:3201::1", "240e:1::1"] {
            let err = validate_service_ips(&ips(&[outside]), &current, &policy).unwrap_err();
            let DomainError::Validation { code, message } = &err else {
                panic!("{err:?}")
            };
            assert_eq!(*code, "invalid_service_ips");
            for text in [&message.zh_cn, &message.en] {
                assert!(text.contains(outside), "{text}");
            }
            assert!(message.zh_cn.contains("地址段"), "{}", message.zh_cn);
            assert!(message.en.contains("outside this provider's IP ranges"));
        }
        // A private address is refused as such, whatever the ranges.
        let err = validate_service_ips(&ips(&["10.0.0.1"]), &current, &policy).unwrap_err();
        assert!(err.to_string().contains("private"), "{err}");
    }

    #[test]
    fn ranges_parse_as_blocks() {
        let all = IpRange::parse("0.0.0.0/0").unwrap();
        assert!(all.contains("203.0.113.9".parse().unwrap()));
        assert!(!all.contains("2001:db8::1".parse().unwrap()));
        let one = IpRange::parse("203.0.113.9/32").unwrap();
        assert!(one.contains("203.0.113.9".parse().unwrap()));
        assert!(!one.contains("203.0.113.8".parse().unwrap()));
        assert!(IpRange::parse("::/0")
            .unwrap()
            .contains("2001:db8::1".parse().unwrap()));
        for bad in [
            "203.0.113.0",
            "203.0.113.1/24",
            "203.0.113.0/33",
            "2001:db8::/129",
            "x/8",
            "",
        ] {
            assert!(IpRange::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(IpRange::parse_list("").unwrap(), vec![]);
        assert_eq!(
            IpRange::parse("2001:db8::/32").unwrap().to_string(),
            "2001:db8::/32"
        );
    }

    #[test]
    fn service_ips_must_be_able_to_serve_a_public_website() {
        let current = ips(&["8.8.4.4"]);
        for public in ["8.8.8.8", "1.1.1.1", "2400:3200::1", "240e:1::1"] {
            assert!(
                validate_service_ips(&ips(&[public]), &current, &IpPolicy::default()).is_ok(),
                "{public}"
            );
        }
        for bad in [
            "0.0.0.0",
            "0.1.2.3",
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "100.64.0.1",
            "169.254.1.1",
            "255.255.255.255",
            "224.0.0.1",
            "240.0.0.1",
            "::",
            "::1",
            "::ffff:8.8.8.8",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "ff02::1",
        ] {
            for policy in [IpPolicy::default(), LOCAL] {
                let err = validate_service_ips(&ips(&[bad]), &current, &policy).unwrap_err();
                assert!(
                    err.to_string().contains("cannot serve a public website"),
                    "{bad}: {err}"
                );
            }
        }
        for documentation in ["192.0.2.1", "198.51.100.7", "203.0.113.9", "2001:db8::1"] {
            let list = ips(&[documentation]);
            assert!(validate_service_ips(&list, &current, &IpPolicy::default()).is_err());
            assert!(
                validate_service_ips(&list, &current, &LOCAL).is_ok(),
                "{documentation}"
            );
        }
    }

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
            &LOCAL,
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
            let err = validate_service_ips(&bad, &current, &LOCAL).unwrap_err();
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
        assert_eq!(
            validate_service_ips(&sixteen, &current, &LOCAL)
                .unwrap()
                .len(),
            16
        );
    }

    #[test]
    fn service_ips_belong_to_access_change_only() {
        let w = website(&["203.0.113.1"]);
        let new = ips(&["198.51.100.7"]);
        assert!(validate_submission(RequestType::AccessChange, Some(&new), &w, &LOCAL).is_ok());
        assert!(validate_submission(RequestType::AccessChange, None, &w, &LOCAL).is_err());
        assert!(
            validate_submission(RequestType::WebsiteCancellation, Some(&new), &w, &LOCAL).is_err()
        );
        assert!(validate_submission(RequestType::AccessCancellation, None, &w, &LOCAL).is_ok());
    }

    #[test]
    fn a_cleared_website_takes_no_request() {
        let mut w = website(&["203.0.113.1"]);
        w.status = WebsiteStatus::Cleared;
        assert_eq!(
            validate_submission(RequestType::AccessCancellation, None, &w, &LOCAL),
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
