//! `icp-admin import` against the local stack: a generated file of 10,000 rows with 20 bad
//! ones. The report names the 20 by line, every other row is in the tables, importing the same
//! file again changes nothing, and the time each import took is printed.

use e2e::Stack;
use futures::StreamExt;
use icp_domain::ports::Filings;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::process::Command;
use std::time::Instant;

const ENTITIES: usize = 1_996;
const WEBSITES_PER_ENTITY: usize = 4;

/// The file: each entity followed by its websites, its license password given as a PHC hash
/// (one hashed for all: a plain password costs an argon2id hash each). Returns the lines and the
/// ids of the good rows.
fn generated(run: &str) -> (Vec<String>, Vec<(bool, String)>) {
    let hash = icp_domain::password::hash("Imported-Pass-2026");
    let mut lines = Vec::new();
    let mut good = Vec::new();
    for e in 0..ENTITIES {
        let entity_id = format!("ent-import-{run}-{e}");
        let license = format!("京ICP备{:08}号", 20_000_000 + e);
        lines.push(json!({"kind": "entity", "entityId": entity_id, "name": format!("导入测试公司 {e}"),
            "entityLicenseNumber": license, "phone": format!("+86137{:08}", e), "email": format!("{entity_id}@import.example.cn"),
            "language": if e % 2 == 0 { "zh-CN" } else { "en" }, "licensePasswordHash": hash}).to_string());
        good.push((true, entity_id.clone()));
        for w in 1..=WEBSITES_PER_ENTITY {
            let website_id = format!("web-import-{run}-{e}-{w}");
            lines.push(json!({"kind": "website", "websiteId": website_id, "entityId": entity_id,
                "domain": format!("site{w}.e{e}.{run}.import.example.cn"), "websiteLicenseNumber": format!("{license}-{w}"),
                "serviceIps": [format!("198.51.100.{}", 1 + (e + w) % 250)]}).to_string());
            good.push((false, website_id));
        }
    }
    (lines, good)
}

/// Twenty bad rows, each wrong in one field.
fn bad_rows(run: &str) -> Vec<String> {
    let entity = |id: &str, license: &str, phone: &str, email: &str| {
        json!({"kind": "entity", "entityId": format!("ent-bad-{run}-{id}"), "name": "坏行公司",
               "entityLicenseNumber": license, "phone": phone, "email": email, "licensePassword": "Bad-Row-Pass-1"})
        .to_string()
    };
    let website = |id: &str, entity: &str, domain: &str, license: &str, ips: Value| {
        json!({"kind": "website", "websiteId": format!("web-bad-{run}-{id}"), "entityId": entity,
               "domain": domain, "websiteLicenseNumber": license, "serviceIps": ips})
        .to_string()
    };
    let known = format!("ent-import-{run}-0");
    let known_license = "京ICP备20000000号";
    vec![
        entity("1", "京ICP备123号", "+8613700000001", "a@example.cn"),
        entity("2", "ICP备12345678号", "+8613700000002", "b@example.cn"),
        entity("3", "京ICP备12345678号", "12345", "c@example.cn"),
        entity("4", "京ICP备12345679号", "+8613700000004", "not-an-email"),
        json!({"kind": "entity", "entityId": format!("ent-bad-{run}-5"), "name": "坏行公司", "entityLicenseNumber": "京ICP备12345680号",
               "phone": "+8613700000005", "email": "e@example.cn", "licensePasswordHash": "$2b$10$notargon2"}).to_string(),
        json!({"kind": "entity", "entityId": format!("ent-bad-{run}-6"), "name": "坏行公司", "entityLicenseNumber": "京ICP备12345681号",
               "phone": "+8613700000006", "email": "f@example.cn"}).to_string(),
        json!({"kind": "entity", "entityId": format!("ent-import-{run}-1"), "name": "重复", "entityLicenseNumber": "京ICP备12345682号",
               "phone": "+8613700000007", "email": "g@example.cn", "licensePassword": "Dup-Pass-2026"}).to_string(),
        "{not json".to_string(),
        json!({"kind": "registrar"}).to_string(),
        website("10", "ent-nobody", "ten.example.cn", "京ICP备12345678号-1", json!(["198.51.100.9"])),
        website("11", &known, "Eleven.example.cn", &format!("{known_license}-11"), json!(["198.51.100.9"])),
        website("12", &known, "twelve.example.cn", &format!("{known_license}-12"), json!(["8.8.8.8"])),
        website("13", &known, "thirteen.example.cn", &format!("{known_license}-13"), json!(["10.0.0.1"])),
        website("14", &known, "fourteen.example.cn", &format!("{known_license}-14"), json!([])),
        website("15", &known, "fifteen.example.cn", &format!("{known_license}-15"), json!("198.51.100.9")),
        website("16", &known, "sixteen.example.cn", "沪ICP备12345678号-1", json!(["198.51.100.9"])),
        website("17", &known, "seventeen.example.cn", &format!("{known_license}-x"), json!(["198.51.100.9"])),
        // The same domain as a good row's.
        website("18", &known, &format!("site1.e0.{run}.import.example.cn"), &format!("{known_license}-18"), json!(["198.51.100.9"])),
        json!({"kind": "website", "websiteId": format!("web-import-{run}-0-1"), "entityId": known, "domain": "again.example.cn",
               "websiteLicenseNumber": format!("{known_license}-19"), "serviceIps": ["198.51.100.9"]}).to_string(),
        json!({"kind": "website", "websiteId": format!("web-bad-{run}-20"), "entityId": known,
               "websiteLicenseNumber": format!("{known_license}-20"), "serviceIps": ["198.51.100.9"]}).to_string(),
    ]
}

struct Imported {
    report: Value,
    exit: i32,
    stderr: String,
}

fn import(file: &std::path::Path) -> Imported {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_icp-admin"))
        .args(["import", file.to_str().unwrap()])
        .env("ICP_STACK_FILE", e2e::local_state().join("stack.json"))
        .env("ALLOW_DOCUMENTATION_IPS", "true")
        .env(
            "PROVIDER_IP_RANGES",
            "192.0.2.0/24,198.51.100.0/24,203.0.113.0/24,2001:db8::/32",
        )
        .output()
        .expect("icp-admin runs");
    println!(
        "icp-admin import of {}: {:.1} s",
        file.display(),
        started.elapsed().as_secs_f64()
    );
    Imported {
        report: serde_json::from_slice(&out.stdout).expect("the report is JSON"),
        exit: out.status.code().expect("an exit status"),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[tokio::test]
#[ignore = "needs the local stack: run by make test"]
async fn ten_thousand_rows_with_twenty_bad_ones_import_once() {
    let stack = Stack::connect().await;
    let run = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let (mut lines, good) = generated(run);
    // The bad rows spread through the file (after their entity where they name one).
    let bad = bad_rows(run);
    assert_eq!(bad.len(), 20);
    let mut bad_lines = BTreeSet::new();
    for (k, row) in bad.into_iter().enumerate() {
        let at = 10 + k * 480;
        lines.insert(at, row);
        bad_lines.insert(at + 1);
    }
    assert_eq!(lines.len(), 10_000);
    let dir = std::env::temp_dir().join(format!("icp-import-{run}"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("filings.jsonl");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();

    let first = import(&file);
    assert_eq!(first.exit, 1, "{}", first.stderr);
    let refused: BTreeSet<usize> = first.report["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["line"].as_u64().unwrap() as usize)
        .collect();
    assert_eq!(refused, bad_lines, "{:#}", first.report["refused"]);
    for r in first.report["refused"].as_array().unwrap() {
        assert!(
            r["field"].is_string() && r["code"].is_string() && r["message"].is_string(),
            "{r}"
        );
    }
    assert_eq!(first.report["applied"], 9_980, "{}", first.report);
    assert!(
        first.stderr.contains("5000 of 10000 rows"),
        "progress is shown: {}",
        first.stderr
    );

    // Every good row is in the tables.
    let store = stack.filings();
    let missing: Vec<String> = futures::stream::iter(good.iter())
        .map(|(is_entity, id)| async move {
            let found = if *is_entity {
                Filings::get_entity(store, id).await.unwrap().is_some()
            } else {
                Filings::get_website(store, id).await.unwrap().is_some()
            };
            (!found).then(|| id.clone())
        })
        .buffer_unordered(32)
        .filter_map(|missing| async move { missing })
        .collect()
        .await;
    assert!(missing.is_empty(), "not imported: {missing:?}");
    let website = Filings::get_website(store, &format!("web-import-{run}-7-2"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(website.service_ips, vec!["198.51.100.10".to_string()]);
    assert_eq!(
        Filings::get_website(store, &format!("web-bad-{run}-12"))
            .await
            .unwrap(),
        None,
        "a refused row is not written"
    );

    let again = import(&file);
    assert_eq!(again.exit, 1);
    assert_eq!(again.report["applied"], 0, "{}", again.report);
    assert_eq!(again.report["unchanged"], 9_980);
    assert_eq!(again.report["refused"], first.report["refused"]);
}
