//! Texts for people follow the reader's language: `GET /requests/{id}` answers its history notes
//! and rejection reasons in Chinese for `Accept-Language: zh-CN` and in English without the
//! header; a refusal's message does the same, its code never changes; the customer never reads
//! who reviewed, and no note carries an RFC 3339 stamp.

use e2e::{has_chinese, has_rfc3339_stamp, status_is, Stack, PASSWORD};
use reqwest::Method;
use serde_json::{json, Value};

/// The texts for people in a request as the API answers it.
fn texts(request: &Value) -> Vec<String> {
    let mut texts: Vec<String> = request["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["note"].as_str().unwrap().to_string())
        .collect();
    texts.extend(
        request["rejectionReasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_string()),
    );
    texts
}

#[tokio::test]
#[ignore = "needs the local stack: run by make test"]
async fn a_requests_notes_reasons_and_refusals_read_in_the_readers_language() {
    let stack = Stack::connect().await;
    let customer = stack.new_customer(1).await;
    let site = &customer.website_ids[0];
    let body = json!({"type": "access_change", "websiteId": site, "licensePassword": PASSWORD,
                      "serviceIps": ["198.51.100.21"]});
    let id = stack.submit_to_first_review(&customer.token, &body).await;
    let free = "Please use the IPs of your new servers";
    let decided = stack
        .post(
            &format!("/reviews/{id}/decision"),
            &stack.reviewer_token(),
            &json!({"decision": "reject", "reasonCodes": ["service_ips_not_provider"], "reasons": [free]}),
        )
        .await;
    assert_eq!(decided.status, 200, "{}", decided.body);
    stack
        .wait_for(&customer.token, &id, status_is("first_review_rejected"))
        .await;

    let read = |language: Option<&'static str>| {
        let headers: Vec<(&str, &str)> = language
            .map(|l| ("accept-language", l))
            .into_iter()
            .collect();
        let (stack, token, path) = (&stack, customer.token.clone(), format!("/requests/{id}"));
        async move {
            let reply = stack
                .call(Method::GET, &path, Some(&token), &headers, None)
                .await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            reply.body
        }
    };
    let chinese = read(Some("zh-CN,zh;q=0.9,en;q=0.8")).await;
    let english = read(None).await;
    assert_eq!(
        read(Some("fr-FR")).await["history"],
        english["history"],
        "neither: English"
    );

    // The same events, codes and statuses; only the texts differ.
    assert_eq!(chinese["status"], english["status"]);
    let statuses = |r: &Value| -> Vec<Value> {
        r["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["status"].clone())
            .collect()
    };
    assert_eq!(statuses(&chinese), statuses(&english));
    for note in texts(&chinese).iter().filter(|t| t.as_str() != free) {
        assert!(has_chinese(note), "not Chinese: {note}");
    }
    for note in texts(&english) {
        assert!(!has_chinese(&note), "not English: {note}");
    }
    for note in texts(&chinese).iter().chain(&texts(&english)) {
        assert!(!has_rfc3339_stamp(note), "a raw stamp: {note}");
    }
    // The common reason in the reader's language, the free one as typed.
    let reasons = |r: &Value| r["rejectionReasons"].as_array().unwrap().clone();
    assert_eq!(reasons(&chinese).len(), 2);
    assert!(has_chinese(reasons(&chinese)[0].as_str().unwrap()));
    assert!(!has_chinese(reasons(&english)[0].as_str().unwrap()));
    assert_eq!(reasons(&chinese)[1], free);
    assert_eq!(reasons(&english)[1], free);
    // The customer never reads who reviewed.
    let reviewer_id = "rev-demo";
    assert!(!chinese.to_string().contains(reviewer_id), "{chinese}");
    assert!(!english.to_string().contains(reviewer_id), "{english}");

    // A refusal: the same code, its message in the reader's language.
    let again =
        json!({"type": "website_cancellation", "websiteId": site, "licensePassword": PASSWORD});
    for (language, chinese_expected) in [(Some("zh-CN"), true), (None, false)] {
        let mut headers = vec![("idempotency-key", "languages-again")];
        headers.extend(language.map(|l| ("accept-language", l)));
        let refused = stack
            .call(
                Method::POST,
                "/requests",
                Some(&customer.token),
                &headers,
                Some(&again),
            )
            .await;
        e2e::assert_error(&refused, 409, "request_already_open");
        let message = refused.body["error"]["message"].as_str().unwrap();
        assert_eq!(has_chinese(message), chinese_expected, "{message}");
    }
}

/// A change of access to an address outside the provider's ranges (the local stage's are the
/// documentation blocks) is refused by the field's code, naming the address, in the reader's
/// language; nothing is written, and an address inside them is taken.
#[tokio::test]
#[ignore = "needs the local stack: run by make test"]
async fn an_ip_outside_the_providers_ranges_is_refused_in_the_readers_language() {
    let stack = Stack::connect().await;
    let customer = stack.new_customer(1).await;
    let site = &customer.website_ids[0];
    let outside = "8.8.8.8";
    let body = json!({"type": "access_change", "websiteId": site, "licensePassword": PASSWORD,
                      "serviceIps": ["198.51.100.40", outside]});
    for (language, chinese_expected) in [(Some("zh-CN"), true), (None, false)] {
        let key = uuid::Uuid::new_v4().to_string();
        let mut headers = vec![("idempotency-key", key.as_str())];
        headers.extend(language.map(|l| ("accept-language", l)));
        let refused = stack
            .call(
                Method::POST,
                "/requests",
                Some(&customer.token),
                &headers,
                Some(&body),
            )
            .await;
        e2e::assert_error(&refused, 400, "invalid_service_ips");
        let message = refused.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(outside), "{message}");
        assert_eq!(has_chinese(message), chinese_expected, "{message}");
    }
    let website = stack
        .get(&format!("/websites/{site}"), &customer.token)
        .await;
    assert!(
        website.body["openRequest"].is_null(),
        "nothing was written: {}",
        website.body
    );
    let inside = json!({"type": "access_change", "websiteId": site, "licensePassword": PASSWORD,
                        "serviceIps": ["198.51.100.40"]});
    assert_eq!(stack.submit(&customer.token, &inside).await.status, 202);
}
