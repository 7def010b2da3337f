//! The reviewer CLI approves and rejects requests on the local stack.

use e2e::{has_rfc3339_stamp, status_is, Stack, PASSWORD};
use serde_json::json;
use std::process::Command;

fn icp_review(stack: &Stack, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_icp-review"))
        .args(args)
        .env("ICP_API_URL", &stack.api_url)
        .env("ICP_REVIEWER_TOKEN", stack.reviewer_token())
        .output()
        .expect("icp-review runs");
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (out.status.success(), text(out.stdout), text(out.stderr))
}

#[tokio::test]
#[ignore = "needs the local stack: run by make test"]
async fn the_reviewer_cli_lists_approves_and_rejects() {
    let stack = Stack::connect().await;
    let customer = stack.new_customer(2).await;
    let mut ids = Vec::new();
    for website in &customer.website_ids {
        let body = json!({"type": "access_cancellation", "websiteId": website, "licensePassword": PASSWORD});
        let id = stack.submit(&customer.token, &body).await.body["requestId"]
            .as_str()
            .unwrap()
            .to_string();
        stack
            .wait_for(&customer.token, &id, status_is("pending_first_review"))
            .await;
        ids.push(id);
    }
    // The queue names the website, the entity and its license number; times for people, in
    // China time, in the language asked for.
    let (ok, pending, _) = icp_review(&stack, &["pending", "--lang", "zh-CN"]);
    assert!(ok);
    for (id, domain) in ids.iter().zip(&customer.domains) {
        let line = pending
            .lines()
            .find(|l| l.contains(id.as_str()))
            .unwrap_or_else(|| panic!("{id} missing from {pending}"));
        for expected in [
            domain.as_str(),
            "E2E Test Co",
            "京ICP备99999999号",
            "北京时间",
        ] {
            assert!(line.contains(expected), "{expected} missing from {line}");
        }
        assert!(!has_rfc3339_stamp(line), "{line}");
    }
    let (ok, pending, _) = icp_review(&stack, &["pending", "--lang", "en"]);
    assert!(ok);
    assert!(pending.contains("China time"), "{pending}");

    let (ok, out, err) = icp_review(&stack, &["approve", &ids[0]]);
    assert!(ok, "{err}");
    assert!(out.contains("approve recorded"), "{out}");
    stack
        .wait_for(
            &customer.token,
            &ids[0],
            status_is("forwarded_to_authority"),
        )
        .await;

    // A common reason by its code, and one typed.
    let (ok, reasons, err) = icp_review(&stack, &["reasons", "--lang", "en"]);
    assert!(
        ok && reasons.contains("id_photo_unclear"),
        "{reasons} {err}"
    );
    let (ok, _, err) = icp_review(
        &stack,
        &[
            "reject",
            &ids[1],
            "--reason-code",
            "id_photo_unclear",
            "--reason",
            "Blurred ID photo",
        ],
    );
    assert!(ok, "{err}");
    let rejected = stack
        .wait_for(&customer.token, &ids[1], status_is("first_review_rejected"))
        .await;
    let reasons = rejected["rejectionReasons"].as_array().unwrap();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert_eq!(reasons[1], "Blurred ID photo");

    let (ok, _, err) = icp_review(&stack, &["approve", &ids[1]]);
    assert!(!ok);
    assert!(err.contains("already_decided"), "{err}");

    // `show`, as text and as JSON: the status, the website, the reasons and the history.
    let (ok, shown, err) = icp_review(&stack, &["show", &ids[1], "--lang", "en"]);
    assert!(ok, "{err}");
    assert!(!has_rfc3339_stamp(&shown), "{shown}");
    for expected in [
        ids[1].as_str(),
        "first_review_rejected",
        customer.domains[1].as_str(),
        "Blurred ID photo",
        "pending_first_review",
    ] {
        assert!(shown.contains(expected), "{expected} missing from {shown}");
    }
    let (ok, json_out, err) = icp_review(&stack, &["show", &ids[1], "--json"]);
    assert!(ok, "{err}");
    let shown: serde_json::Value = serde_json::from_str(&json_out).expect("show --json is JSON");
    assert_eq!(shown["status"], "first_review_rejected");
    assert_eq!(shown["website"]["domain"], customer.domains[1].as_str());
    let (ok, pending, _) = icp_review(&stack, &["--json", "pending"]);
    assert!(ok);
    let pending: serde_json::Value =
        serde_json::from_str(&pending).expect("pending --json is JSON");
    let listed = pending["reviews"].as_array().unwrap();
    for review in listed {
        let due = review["dueAt"].as_str().unwrap_or_default();
        assert!(has_rfc3339_stamp(due), "--json keeps RFC 3339: {review}");
    }

    // Errors are the API's message, with a non-zero exit.
    let (ok, _, err) = icp_review(&stack, &["show", "req-unknown"]);
    assert!(!ok);
    assert!(err.contains("request_not_found"), "{err}");
}

#[test]
fn the_help_lists_the_commands() {
    let out = Command::new(env!("CARGO_BIN_EXE_icp-review"))
        .arg("--help")
        .output()
        .expect("icp-review runs");
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for command in [
        "pending",
        "show",
        "approve",
        "reject",
        "redrive",
        "--json",
        "--version",
    ] {
        assert!(help.contains(command), "{command} missing from {help}");
    }
}
