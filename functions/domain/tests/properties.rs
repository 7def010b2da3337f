//! Property tests: the request state machine under arbitrary sequences of moves, and the
//! parsers of what clients send under arbitrary input.

use chrono::{Duration, Utc};
use icp_domain::validation::{
    parse_request_type, validate_password, validate_service_ips, IpPolicy,
};
use icp_domain::*;
use proptest::prelude::*;
use std::net::IpAddr;

fn website() -> Website {
    Website {
        website_id: "w1".into(),
        entity_id: "e1".into(),
        domain: "example.cn".into(),
        website_license_number: "京ICP备12345678号-1".into(),
        service_ips: vec!["203.0.113.10".into()],
        status: WebsiteStatus::Active,
        open_request_id: None,
    }
}

fn any_status() -> impl Strategy<Value = Status> {
    prop::sample::select(Status::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    /// Whatever moves are attempted, only the table's are taken; each taken move adds exactly
    /// one history entry; a closed request never moves again; a resubmit starts the next attempt.
    #[test]
    fn requests_only_ever_move_along_the_table(moves in prop::collection::vec(any_status(), 0..40)) {
        let start = Utc::now();
        let mut request = Request::submitted(
            "r1".into(), RequestType::AccessChange, &website(), Some(vec!["198.51.100.1".into()]),
            "customer:e1".into(), start,
        );
        for (i, to) in moves.into_iter().enumerate() {
            let before = request.clone();
            let now = start + Duration::seconds(i as i64 + 1);
            match request.transition(to, "test", HistoryEvent::Expired, now) {
                Ok(mut t) => {
                    prop_assert!(before.status.can_move_to(to));
                    prop_assert!(before.status.is_open(), "closed requests never move");
                    if to == Status::Submitted {
                        t.next_attempt = Some(NextAttempt { service_ips: None, sealed_password: "s".into() });
                    }
                    prop_assert_eq!(t.releases_website(), !to.is_open());
                    request = request.applying(&t);
                    prop_assert_eq!(request.status, to);
                    prop_assert_eq!(request.history.len(), before.history.len() + 1);
                    prop_assert_eq!(request.history.last().unwrap().status, to);
                    let expected_attempt = before.attempt + u32::from(to == Status::Submitted);
                    prop_assert_eq!(request.attempt, expected_attempt);
                }
                Err(DomainError::InvalidTransition { from, to: refused }) => {
                    prop_assert_eq!((from, refused), (before.status, to));
                    prop_assert!(!before.status.can_move_to(to));
                    prop_assert_eq!(&request, &before, "a refused move changes nothing");
                }
                Err(other) => prop_assert!(false, "unexpected error {other:?}"),
            }
        }
        // History replays the statuses in order, each move allowed from the one before.
        for pair in request.history.windows(2) {
            prop_assert!(pair[0].status.can_move_to(pair[1].status));
        }
    }

    /// Service IPs: anything accepted is 1..=16 distinct valid addresses in canonical form,
    /// differing from the current set; nothing panics.
    #[test]
    fn service_ip_parsing_accepts_only_valid_sets(
        raw in prop::collection::vec(
            prop_oneof![
                any::<[u8; 4]>().prop_map(|o| std::net::Ipv4Addr::from(o).to_string()),
                any::<[u16; 8]>().prop_map(|s| std::net::Ipv6Addr::from(s).to_string()),
                "[0-9a-fA-F:.]{0,45}",
                ".{0,20}",
            ],
            0..20,
        )
    ) {
        let current = vec!["203.0.113.10".to_string()];
        let local = IpPolicy {
            allow_documentation: true,
            ..IpPolicy::default()
        };
        match validate_service_ips(&raw, &current, &local) {
            Ok(ips) => {
                prop_assert!((1..=16).contains(&ips.len()));
                prop_assert_eq!(ips.len(), raw.len());
                let parsed: Vec<IpAddr> = ips.iter().map(|s| s.parse().unwrap()).collect();
                let distinct: std::collections::BTreeSet<_> = parsed.iter().collect();
                prop_assert_eq!(distinct.len(), parsed.len());
                for (ip, text) in parsed.iter().zip(&ips) {
                    prop_assert_eq!(&ip.to_string(), text, "canonical form");
                }
                prop_assert_ne!(ips, current);
            }
            Err(DomainError::Validation { code, .. }) => prop_assert_eq!(code, "invalid_service_ips"),
            Err(other) => prop_assert!(false, "unexpected error {other:?}"),
        }
    }

    #[test]
    fn request_types_and_passwords_parse_or_refuse_cleanly(raw in ".{0,200}") {
        match parse_request_type(&raw) {
            Ok(t) => prop_assert_eq!(serde_json::to_value(t).unwrap(), serde_json::json!(raw)),
            Err(DomainError::Validation { code, .. }) => prop_assert_eq!(code, "invalid_request_type"),
            Err(other) => prop_assert!(false, "unexpected error {other:?}"),
        }
        let chars = raw.chars().count();
        prop_assert_eq!(validate_password(&raw).is_ok(), (1..=128).contains(&chars));
    }

    /// Authority signatures: only the exact (secret, timestamp, body) verifies.
    #[test]
    fn signatures_verify_only_unaltered_calls(
        body in prop::collection::vec(any::<u8>(), 0..200),
        tamper in any::<usize>(),
        timestamp in ".{0,15}",
        signature in ".{0,70}",
    ) {
        let now = Utc::now();
        let ts = now.timestamp().to_string();
        let good = signature::sign("k", &ts, &body);
        prop_assert!(signature::verify("k", Some(&ts), Some(&good), &body, now).is_ok());
        if !body.is_empty() {
            let mut altered = body.clone();
            let i = tamper % altered.len();
            altered[i] ^= 0x01;
            prop_assert!(signature::verify("k", Some(&ts), Some(&good), &altered, now).is_err());
        }
        // Arbitrary headers never panic and never verify unless they are the real ones.
        let result = signature::verify("k", Some(&timestamp), Some(&signature), &body, now);
        prop_assert!(result.is_err() || (timestamp.trim() == ts && signature.trim() == good));
    }
}
