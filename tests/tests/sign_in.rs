//! Signing in: the API takes the ID tokens the local OpenID Connect provider issued through its
//! login page (the demo people's, in `.local/demo.json`), and the console sends people to that
//! login page. What the API refuses is in `reliability.rs` (every bad token, on every kind of
//! call, changing nothing).

use e2e::Stack;
use serde_json::Value;

fn claims_of(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
#[ignore = "needs the local stack: run by make test"]
async fn tokens_from_the_providers_login_page_are_accepted() {
    let stack = Stack::connect().await;
    let customer = &stack.demo["customers"][0];
    let token = customer["token"].as_str().unwrap();
    let claims = claims_of(token);
    assert_eq!(claims["iss"], stack.issuer.issuer.as_str());
    assert_eq!(claims[&stack.issuer.entity_claim], customer["entityId"]);
    let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
    assert_eq!(lifetime, 24 * 3600, "the scripts' tokens last a day");

    let websites = stack.get("/websites", token).await;
    assert_eq!(websites.status, 200, "{}", websites.body);
    let listed: Vec<&Value> = websites.body["websites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| &w["websiteId"])
        .collect();
    for website in customer["websites"].as_array().unwrap() {
        assert!(listed.contains(&&website["websiteId"]), "{website}");
    }
    let queue = stack
        .get("/reviews?status=pending&limit=1", &stack.reviewer_token())
        .await;
    assert_eq!(queue.status, 200, "{}", queue.body);
    let submissions = stack
        .get("/authority-sim/submissions", &stack.operator_token())
        .await;
    assert_eq!(submissions.status, 200, "{}", submissions.body);
    // A customer's token is not a reviewer's.
    let refused = stack.get("/reviews?status=pending", token).await;
    e2e::assert_error(&refused, 403, "forbidden");
}

#[tokio::test]
#[ignore = "needs the local stack: run by make test"]
async fn the_console_sends_people_to_the_providers_login_page_in_their_language() {
    let stack = Stack::connect().await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let settings: Value = http
        .get(format!("{}/console/sign-in.json", stack.api_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let issuer = stack.issuer.issuer.as_str();
    assert_eq!(settings["issuer"], issuer);
    assert_eq!(settings["clientId"], "icp-console", "the stage's client");
    let page = http
        .get(format!("{}/console/index.html", stack.api_url))
        .send()
        .await
        .unwrap();
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains(&format!("connect-src 'self' {issuer}")),
        "{csp}"
    );

    let discovery: Value = http
        .get(format!("{issuer}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let authorize = discovery["authorization_endpoint"].as_str().unwrap();
    let console_url = format!("{}/console/index.html", stack.api_url);
    for (locale, title) in [
        ("zh-CN", "登录备案系统"),
        ("en", "Sign in to the License System"),
    ] {
        // A fresh cookie jar: the login page of someone not signed in yet.
        let browser = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap();
        let login = browser
            .get(authorize)
            .query(&[
                ("response_type", "code"),
                ("client_id", "icp-console"),
                ("redirect_uri", console_url.as_str()),
                ("scope", settings["scope"].as_str().unwrap()),
                ("state", "s"),
                ("nonce", "n"),
                (
                    "code_challenge",
                    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                ),
                ("code_challenge_method", "S256"),
                ("ui_locales", locale),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(login.status(), 200);
        let html = login.text().await.unwrap();
        assert!(html.contains(title), "{locale}: {html}");
        assert!(html.contains("type=\"password\""), "{locale}: {html}");
    }
}
