//! Every SMS and email a customer gets reads as a message for a person: for the three happy
//! paths, a first-review rejection with a common and a free reason, and an authority
//! rejection, each message LocalStack recorded starts with (SMS) or carries the provider's
//! signature, holds no snake_case key and no RFC 3339 stamp, each SMS fits in two segments, and
//! the common reason reads in the customer's language (Chinese: the entity chose none).

use e2e::{has_rfc3339_stamp, status_is, Customer, Stack, PASSWORD, SMS_SIGNATURE};
use serde_json::{json, Value};

/// GSM 7-bit characters (the basic set; the extension set's count twice).
const GSM: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM_EXTENSION: &str = "^{}\\[~]|€";

/// How many segments an SMS takes: 160 GSM characters in one, 153 each when split; with any
/// other character, 70 UCS-2 units in one, 67 each when split.
fn segments(sms: &str) -> usize {
    let gsm = sms
        .chars()
        .all(|c| GSM.contains(c) || GSM_EXTENSION.contains(c));
    let (units, single, each) = if gsm {
        let units = sms
            .chars()
            .map(|c| if GSM_EXTENSION.contains(c) { 2 } else { 1 })
            .sum();
        (units, 160, 153)
    } else {
        (sms.encode_utf16().count(), 70, 67)
    };
    if units <= single {
        1
    } else {
        units.div_ceil(each)
    }
}

/// Words joined by underscores (`first_review_rejected`), outside addresses and links.
fn snake_case_keys(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || "，。；：、（）()<>\"'".contains(c))
        .filter(|word| !word.contains("://") && !word.contains('@'))
        .flat_map(|word| word.split(|c: char| !(c.is_ascii_lowercase() || c == '_')))
        .filter(|part| {
            let pieces: Vec<&str> = part.split('_').collect();
            pieces.len() > 1 && pieces.iter().all(|p| !p.is_empty())
        })
        .map(String::from)
        .collect()
}

async fn forwarded(stack: &Stack, customer: &Customer, body: Value) -> Value {
    let id = stack.submit_to_first_review(&customer.token, &body).await;
    let approved = stack.decide(&id, "approve", &[]).await;
    assert_eq!(approved.status, 200, "{}", approved.body);
    stack
        .wait_for(&customer.token, &id, status_is("forwarded_to_authority"))
        .await
}

#[tokio::test]
#[ignore = "needs the local stack: run by make test"]
async fn every_message_a_customer_gets_reads_for_a_person() {
    let stack = Stack::connect().await;
    let happy = stack.new_customer(3).await;
    let unhappy = stack.new_customer(2).await;
    let site = |c: &Customer, n: usize| c.website_ids[n].clone();

    // The three happy paths, side by side.
    let bodies = [
        json!({"type": "website_cancellation", "websiteId": site(&happy, 0), "licensePassword": PASSWORD}),
        json!({"type": "access_cancellation", "websiteId": site(&happy, 1), "licensePassword": PASSWORD}),
        json!({"type": "access_change", "websiteId": site(&happy, 2), "licensePassword": PASSWORD,
               "serviceIps": ["198.51.100.31"]}),
    ];
    futures::future::join_all(bodies.into_iter().map(|body| async {
        let request = forwarded(&stack, &happy, body).await;
        let id = request["requestId"].as_str().unwrap().to_string();
        stack
            .authority_approves_once_forwarded(&happy.token, &id)
            .await
    }))
    .await;

    // A first-review rejection with a common and a free reason; an authority rejection.
    let reasons = stack.get("/reviews/reasons", &stack.reviewer_token()).await;
    let common = reasons.body.as_array().unwrap()[0].clone();
    let free = "Please use the IPs of your new servers";
    let body = json!({"type": "access_change", "websiteId": site(&unhappy, 0),
                      "licensePassword": PASSWORD, "serviceIps": ["198.51.100.32"]});
    let rejected = stack.submit_to_first_review(&unhappy.token, &body).await;
    let decided = stack
        .post(
            &format!("/reviews/{rejected}/decision"),
            &stack.reviewer_token(),
            &json!({"decision": "reject", "reasonCodes": [common["code"]], "reasons": [free]}),
        )
        .await;
    assert_eq!(decided.status, 200, "{}", decided.body);
    stack
        .wait_for(
            &unhappy.token,
            &rejected,
            status_is("first_review_rejected"),
        )
        .await;
    let body = json!({"type": "access_cancellation", "websiteId": site(&unhappy, 1),
                      "licensePassword": PASSWORD});
    let request = forwarded(&stack, &unhappy, body).await;
    let id = request["requestId"].as_str().unwrap().to_string();
    let answer = stack
        .authority_decides(&request, "rejected", &["备案信息与实际不符"])
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    stack
        .wait_for(&unhappy.token, &id, status_is("authority_rejected"))
        .await;

    // Submitted, forwarded, approved, completed: 4 a happy path; submitted and rejected, then
    // submitted, forwarded and rejected for the unhappy customer.
    let sms_of_happy = stack.sms_once(&happy.phone, |s| s.len() >= 12).await;
    let sms_of_unhappy = stack.sms_once(&unhappy.phone, |s| s.len() >= 5).await;
    let emails_of_happy = e2e::eventually(
        || stack.email_texts_to(&happy.email),
        |e: &Vec<String>| e.len() >= 12,
    )
    .await;
    let emails_of_unhappy = e2e::eventually(
        || stack.email_texts_to(&unhappy.email),
        |e: &Vec<String>| e.len() >= 5,
    )
    .await;

    let common_zh = common["text"]["zh-CN"].as_str().unwrap();
    for sms in sms_of_happy.iter().chain(&sms_of_unhappy) {
        assert!(sms.starts_with(SMS_SIGNATURE), "{sms}");
        assert!(segments(sms) <= 2, "{} segments: {sms}", segments(sms));
        assert_eq!(snake_case_keys(sms), Vec::<String>::new(), "{sms}");
        assert!(!has_rfc3339_stamp(sms), "{sms}");
    }
    for email in emails_of_happy.iter().chain(&emails_of_unhappy) {
        assert_eq!(snake_case_keys(email), Vec::<String>::new(), "{email}");
        assert!(!has_rfc3339_stamp(email), "{email}");
        assert!(
            email.contains("/console/index.html#/requests/req-"),
            "{email}"
        );
    }
    // The common reason in Chinese in the rejection's SMS (a long free reason may be cut
    // there, for the two segments) and email; the free one as typed, on its own line.
    let rejection_sms: Vec<&String> = sms_of_unhappy
        .iter()
        .filter(|s| s.contains(common_zh))
        .collect();
    assert_eq!(rejection_sms.len(), 1, "{sms_of_unhappy:?}");
    let rejection_email = emails_of_unhappy
        .iter()
        .find(|e| e2e::announces(e, "first_review_rejected"))
        .expect("the rejection's email");
    assert!(rejection_email.contains(common_zh), "{rejection_email}");
    assert!(
        rejection_email.lines().any(|l| l.trim() == free),
        "{rejection_email}"
    );
    assert!(
        emails_of_unhappy
            .iter()
            .any(|e| e2e::announces(e, "authority_rejected") && e.contains("备案信息与实际不符")),
        "{emails_of_unhappy:?}"
    );
}

#[test]
fn segments_are_counted_as_carriers_count_them() {
    assert_eq!(segments(&"a".repeat(160)), 1);
    assert_eq!(segments(&"a".repeat(161)), 2);
    assert_eq!(segments(&"a".repeat(306)), 2);
    assert_eq!(segments(&"[".repeat(80)), 1);
    assert_eq!(segments(&"中".repeat(70)), 1);
    assert_eq!(segments(&"中".repeat(71)), 2);
    assert_eq!(segments(&"中".repeat(134)), 2);
    assert_eq!(segments(&"中".repeat(135)), 3);
    assert_eq!(
        snake_case_keys("状态：first_review_rejected。"),
        ["first_review_rejected"]
    );
    assert!(snake_case_keys("https://x.example/_aws/a_b ops_team@x.cn").is_empty());
    assert!(has_rfc3339_stamp("by 2026-12-08T08:44:58+08:00"));
    assert!(!has_rfc3339_stamp("2026年12月8日 08:42（北京时间）"));
}
