//! The import of a provider's filings on the in-memory store: each bad row refused by line and
//! field while the rest apply, the same file again changes nothing, a dry run writes nothing, a
//! website with an open request is left as it is.

use icp_domain::import::{import, ImportOptions, ImportReport, RawRow};
use icp_domain::ports::Filings;
use icp_domain::validation::{IpPolicy, IpRange};
use icp_domain::{password, Language};
use icp_testkit::memory::MemoryStore;
use serde_json::{json, Value};

fn rows(lines: &[Value]) -> Vec<RawRow> {
    lines
        .iter()
        .enumerate()
        .map(|(i, row)| RawRow {
            line: i + 1,
            fields: row.as_object().cloned().unwrap_or_default(),
        })
        .collect()
}

fn options(dry_run: bool) -> ImportOptions {
    ImportOptions {
        ip_policy: IpPolicy {
            allow_documentation: true,
            provider_ranges: IpRange::parse_list("198.51.100.0/24,2001:db8::/32").unwrap(),
        },
        dry_run,
    }
}

fn entity(id: &str, license: &str) -> Value {
    json!({"kind": "entity", "entityId": id, "name": "北京云帆科技有限公司", "entityLicenseNumber": license,
           "phone": "13800138000", "email": "ops@yunfan.example.cn", "licensePassword": "Filing-Pass-2026"})
}

fn website(id: &str, entity: &str, domain: &str, license: &str) -> Value {
    json!({"kind": "website", "websiteId": id, "entityId": entity, "domain": domain,
           "websiteLicenseNumber": license, "serviceIps": ["198.51.100.10"]})
}

async fn run(store: &MemoryStore, lines: &[Value], dry_run: bool) -> ImportReport {
    import(store, rows(lines), &options(dry_run), |_, _| {})
        .await
        .unwrap()
}

fn refused(report: &ImportReport) -> Vec<(usize, &str, &str)> {
    report
        .refused
        .iter()
        .map(|r| (r.line, r.field.as_str(), r.code))
        .collect()
}

#[tokio::test]
async fn a_file_imports_its_good_rows_refuses_each_bad_one_and_imports_again_unchanged() {
    let store = MemoryStore::default();
    let hash = password::hash("Hashed-Pass-2026");
    let mut hashed = entity("ent-2", "沪ICP备2023012345号");
    hashed["licensePasswordHash"] = json!(hash);
    hashed.as_object_mut().unwrap().remove("licensePassword");
    hashed["language"] = json!("en");
    let file = vec![
        entity("ent-1", "京ICP备12345678号"),
        hashed,
        website("web-1", "ent-1", "yunfan.example.cn", "京ICP备12345678号-1"),
        website("web-2", "ent-2", "b.example.cn", "沪ICP备2023012345号-1"),
        // 5: a bad license number
        entity("ent-3", "京ICP备123号"),
        // 6: a website of an unknown entity
        website("web-3", "ent-9", "c.example.cn", "京ICP备12345678号-3"),
        // 7: an address outside the provider's ranges
        json!({"kind": "website", "websiteId": "web-4", "entityId": "ent-1", "domain": "d.example.cn",
               "websiteLicenseNumber": "京ICP备12345678号-4", "serviceIps": ["203.0.113.9"]}),
        // 8: the same id again
        website("web-1", "ent-1", "e.example.cn", "京ICP备12345678号-5"),
        // 9: a bad domain
        website("web-5", "ent-1", "Not A Domain", "京ICP备12345678号-6"),
        // 10: not an object at all
        json!("nonsense"),
        // 11: a website number not under its entity's
        website("web-6", "ent-1", "f.example.cn", "沪ICP备2023012345号-2"),
        // 12: a hash that is not argon2id
        json!({"kind": "entity", "entityId": "ent-4", "name": "X", "entityLicenseNumber": "粤ICP备12345678号",
               "phone": "13800138001", "email": "x@example.cn", "licensePasswordHash": "$md5$abc"}),
    ];
    let dry = run(&store, &file, true).await;
    assert_eq!(dry.applied, 4);
    assert!(
        Filings::get_entity(&store, "ent-1")
            .await
            .unwrap()
            .is_none(),
        "a dry run writes nothing"
    );
    let first = run(&store, &file, false).await;
    assert_eq!((first.applied, first.unchanged), (4, 0));
    assert_eq!(
        refused(&first),
        vec![
            (5, "entityLicenseNumber", "invalid_field"),
            (6, "entityId", "unknown_entity"),
            (7, "serviceIps", "invalid_field"),
            (8, "websiteId", "duplicate"),
            (9, "domain", "invalid_field"),
            (10, "kind", "missing_field"),
            (11, "websiteLicenseNumber", "invalid_field"),
            (12, "licensePasswordHash", "invalid_field"),
        ]
    );
    assert!(first.refused[2].message.contains("203.0.113.9"));
    let ent1 = Filings::get_entity(&store, "ent-1").await.unwrap().unwrap();
    assert!(password::verify(&ent1.password_hash, "Filing-Pass-2026"));
    assert_eq!(ent1.phone, "+8613800138000");
    let ent2 = Filings::get_entity(&store, "ent-2").await.unwrap().unwrap();
    assert_eq!(ent2.password_hash, hash);
    assert_eq!(ent2.language, Some(Language::En));
    let web1 = Filings::get_website(&store, "web-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(web1.service_ips, vec!["198.51.100.10".to_string()]);

    let again = run(&store, &file, false).await;
    assert_eq!((again.applied, again.unchanged), (0, 4), "{again:?}");
    assert_eq!(refused(&again), refused(&first));
    assert_eq!(
        Filings::get_entity(&store, "ent-1").await.unwrap().unwrap(),
        ent1
    );
}

#[tokio::test]
async fn a_website_with_an_open_request_is_never_changed() {
    let store = MemoryStore::default();
    let file = vec![
        entity("ent-1", "京ICP备12345678号"),
        website("web-1", "ent-1", "a.example.cn", "京ICP备12345678号-1"),
    ];
    assert!(run(&store, &file, false).await.refused.is_empty());
    let open = icp_domain::Website {
        open_request_id: Some("req-1".into()),
        ..Filings::get_website(&store, "web-1")
            .await
            .unwrap()
            .unwrap()
    };
    store.put_website(open.clone());
    let mut moved = file.clone();
    moved[1]["serviceIps"] = json!(["198.51.100.99"]);
    let report = run(&store, &moved, false).await;
    assert_eq!(
        refused(&report),
        vec![(2, "websiteId", "request_already_open")]
    );
    assert_eq!(report.unchanged, 1);
    assert_eq!(
        Filings::get_website(&store, "web-1").await.unwrap(),
        Some(open)
    );
}
