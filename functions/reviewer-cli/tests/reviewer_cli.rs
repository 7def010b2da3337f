//! The reviewer CLI approves and rejects requests on the local stack.

use e2e::{status_is, Stack, PASSWORD};
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
    let (ok, pending, _) = icp_review(&stack, &["pending"]);
    assert!(ok);
    assert!(
        ids.iter().all(|id| pending.contains(id.as_str())),
        "{pending}"
    );

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

    let (ok, _, err) = icp_review(&stack, &["reject", &ids[1], "--reason", "Blurred ID photo"]);
    assert!(ok, "{err}");
    let rejected = stack
        .wait_for(&customer.token, &ids[1], status_is("first_review_rejected"))
        .await;
    assert_eq!(rejected["rejectionReasons"], json!(["Blurred ID photo"]));

    let (ok, _, err) = icp_review(&stack, &["approve", &ids[1]]);
    assert!(!ok);
    assert!(err.contains("already_decided"), "{err}");
}
