//! `icp-review`: first review from a terminal, for reviewers without the console, and the
//! operator's re-drive of a request that waits on a cause the operator mended.
//!
//! The API and the token come from `ICP_API_URL` and `ICP_REVIEWER_TOKEN` (`ICP_OPERATOR_TOKEN`
//! for `redrive`), or else from the local stack's demo file (`apiUrl`, `reviewerToken`,
//! `operatorToken` of `ICP_DEMO_FILE`, by default `.local/demo.json`). `icp-review --help` lists
//! the commands. Texts (the API's notes, reasons and errors, and times) are in Chinese unless
//! `--lang en` (or `LANG=en…`) asks for English; `--json` keeps the API's RFC 3339 times.

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use icp_domain::calendar::for_people;
use icp_domain::language::Language;
use serde_json::{json, Value};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "icp-review",
    version,
    about = "First review of ICP filing change requests, from a terminal"
)]
struct Cli {
    /// Print what the API answered, as JSON (pending, show).
    #[arg(long, global = true)]
    json: bool,
    /// The language of the texts: zh-CN or en (default: from LANG, else zh-CN).
    #[arg(long, global = true, value_name = "LANG")]
    lang: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Requests awaiting first review, soonest due first.
    Pending {
        /// Only those past their due time.
        #[arg(long)]
        overdue: bool,
    },
    /// One request: status, website, service IPs, due time and history.
    Show { request_id: String },
    /// Approve at first review: the request goes on to the authority.
    Approve { request_id: String },
    /// Reject at first review, with the reasons the customer reads: common ones by their code
    /// (`reasons` lists them), read in the customer's language, or typed.
    Reject {
        request_id: String,
        /// A common reason's code (repeat for several).
        #[arg(
            long = "reason-code",
            value_name = "CODE",
            required_unless_present = "reasons"
        )]
        reason_codes: Vec<String>,
        /// A reason in your words, shown as typed (repeat for several).
        #[arg(long = "reason", value_name = "TEXT")]
        reasons: Vec<String>,
    },
    /// The common rejection reasons, with their codes.
    Reasons,
    /// Go on after a mended cause: apply an approval, or reopen a failed request (operator).
    Redrive { request_id: String },
}

impl Command {
    /// Who runs the command: (the token's variable, its field in the demo file).
    fn role(&self) -> (&'static str, &'static str) {
        match self {
            Command::Redrive { .. } => ("ICP_OPERATOR_TOKEN", "operatorToken"),
            _ => ("ICP_REVIEWER_TOKEN", "reviewerToken"),
        }
    }
}

/// (API base URL, token) for `command`'s role.
fn config(command: &Command) -> Result<(String, String), String> {
    let (token_var, token_field) = command.role();
    if let (Ok(api), Ok(token)) = (std::env::var("ICP_API_URL"), std::env::var(token_var)) {
        return Ok((api, token));
    }
    let path = std::env::var("ICP_DEMO_FILE").unwrap_or_else(|_| ".local/demo.json".into());
    let demo: Value = std::fs::read_to_string(&path)
        .map_err(|e| format!("set ICP_API_URL and {token_var}, or run `make up` ({path}: {e})"))
        .and_then(|text| serde_json::from_str(&text).map_err(|e| format!("{path}: {e}")))?;
    match (demo["apiUrl"].as_str(), demo[token_field].as_str()) {
        (Some(api), Some(token)) => Ok((api.to_string(), token.to_string())),
        _ => Err(format!("{path} has no apiUrl or {token_field}")),
    }
}

/// The API's answer, or its error as `code: message`.
async fn call(request: reqwest::RequestBuilder) -> Result<Value, String> {
    let response = request
        .send()
        .await
        .map_err(|e| format!("the API is unreachable: {e}"))?;
    let status = response.status();
    let body: Value = response
        .json()
        .await
        .map_err(|e| format!("{status}: not JSON: {e}"))?;
    if status.is_success() {
        Ok(body)
    } else {
        Err(format!(
            "{status}: {}: {}",
            body["error"]["code"].as_str().unwrap_or("unknown"),
            body["error"]["message"].as_str().unwrap_or_default()
        ))
    }
}

/// The language asked for: `--lang`, else `LANG` (English only if it says so: reviewers read
/// Chinese first).
fn language(lang: Option<&str>) -> Language {
    let asked = lang
        .map(String::from)
        .or_else(|| std::env::var("LANG").ok())
        .unwrap_or_default();
    match asked.to_ascii_lowercase().starts_with("en") {
        true => Language::En,
        false => Language::ZhCn,
    }
}

fn accept_language(language: Language) -> &'static str {
    match language {
        Language::ZhCn => "zh-CN",
        Language::En => "en",
    }
}

/// An RFC 3339 time of the API's, for people: China time in `language`.
fn when(value: &Value, language: Language) -> String {
    value
        .as_str()
        .and_then(|at| DateTime::parse_from_rfc3339(at).ok())
        .map(|at| for_people(at.with_timezone(&Utc), language))
        .unwrap_or_else(|| value.as_str().unwrap_or("?").to_string())
}

/// An HTTP client for the API, http locally and https on AWS, asking for `language`.
fn http_client(language: Language) -> Result<reqwest::Client, String> {
    // reqwest is built without a crypto provider of its own (see the workspace's Cargo.toml):
    // install ring as the process's default.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::ACCEPT_LANGUAGE,
        reqwest::header::HeaderValue::from_static(accept_language(language)),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| format!("no HTTP client: {e}"))
}

/// A field as text: strings as they are, anything else as JSON.
fn text(value: &Value, key: &str) -> String {
    value[key]
        .as_str()
        .map(String::from)
        .unwrap_or_else(|| value[key].to_string())
}

fn list(value: &Value) -> String {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|v| v.as_str().unwrap_or_default().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// Whether a review's due time (RFC 3339) has passed.
fn overdue(review: &Value) -> bool {
    review["dueAt"]
        .as_str()
        .and_then(|due| chrono::DateTime::parse_from_rfc3339(due).ok())
        .is_some_and(|due| due < chrono::Utc::now())
}

/// The words of the text output, in Chinese and English.
fn words(language: Language) -> [&'static str; 8] {
    match language {
        Language::ZhCn => [
            "个申请待初审（最早到期的在前）",
            "第",
            "次提交",
            "到期",
            "已超时",
            "网站",
            "主体",
            "历史",
        ],
        Language::En => [
            " awaiting first review (soonest due first)",
            "attempt ",
            "",
            "due",
            "OVERDUE",
            "website",
            "entity",
            "history",
        ],
    }
}

fn pending_text(reviews: &[Value], language: Language) -> String {
    let [awaiting, attempt, attempt_after, due, overdue_word, ..] = words(language);
    let mut out = format!("{}{awaiting}\n", reviews.len());
    for r in reviews {
        out.push_str(&format!(
            "{}  {:<20}  {} ({})  {} ({})  {attempt}{}{attempt_after}  {due} {}{}\n",
            text(r, "requestId"),
            text(r, "type"),
            text(r, "domain"),
            text(r, "websiteLicenseNumber"),
            text(r, "entityName"),
            text(r, "entityLicenseNumber"),
            text(r, "attempt"),
            when(&r["dueAt"], language),
            if overdue(r) {
                format!("  {overdue_word}")
            } else {
                String::new()
            }
        ));
    }
    out
}

fn show_text(r: &Value, language: Language) -> String {
    let [_, attempt, attempt_after, due, _, website_word, entity_word, history_word] =
        words(language);
    let website = &r["website"];
    let subject = &r["subject"];
    let mut out = format!(
        "{}  {}  {}\n{website_word}  {} ({})\n{entity_word}  {} ({})\n{attempt}{}{attempt_after}\n",
        text(r, "requestId"),
        text(r, "type"),
        text(r, "status"),
        website["domain"]
            .as_str()
            .or(subject["domain"].as_str())
            .unwrap_or(r["websiteId"].as_str().unwrap_or("?")),
        website["websiteLicenseNumber"]
            .as_str()
            .or(subject["websiteLicenseNumber"].as_str())
            .unwrap_or("?"),
        subject["entityName"].as_str().unwrap_or("?"),
        subject["entityLicenseNumber"].as_str().unwrap_or("?"),
        text(r, "attempt"),
    );
    if !r["reviewDueAt"].is_null() {
        out.push_str(&format!("{due}  {}\n", when(&r["reviewDueAt"], language)));
    }
    if r["serviceIps"].is_array() {
        out.push_str(&format!(
            "IPs       {} -> {}\n",
            list(&website["serviceIps"]),
            list(&r["serviceIps"])
        ));
    }
    let reasons = list(&r["rejectionReasons"]);
    if !reasons.is_empty() {
        out.push_str(&format!("reasons   {reasons}\n"));
    }
    out.push_str(&format!("{history_word}\n"));
    for h in r["history"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "  {}  {:<24}  {}: {}\n",
            when(&h["at"], language),
            text(h, "status"),
            text(h, "actor"),
            text(h, "note")
        ));
    }
    out
}

async fn run(cli: Cli) -> Result<String, String> {
    let (api, token) = config(&cli.command)?;
    let language = language(cli.lang.as_deref());
    let http = http_client(language)?;
    let as_json = |value: &Value| {
        format!(
            "{}\n",
            serde_json::to_string_pretty(value).unwrap_or_default()
        )
    };
    match cli.command {
        Command::Pending {
            overdue: only_overdue,
        } => {
            // The whole queue, page by page.
            let mut reviews = Vec::new();
            let mut next_token: Option<String> = None;
            loop {
                let mut query = vec![("status", "pending".to_string()), ("limit", "100".into())];
                query.extend(next_token.take().map(|t| ("nextToken", t)));
                let body = call(
                    http.get(format!("{api}/reviews"))
                        .query(&query)
                        .bearer_auth(&token),
                )
                .await?;
                reviews.extend(body["reviews"].as_array().cloned().unwrap_or_default());
                match body["nextToken"].as_str() {
                    Some(token) => next_token = Some(token.to_string()),
                    None => break,
                }
            }
            reviews.retain(|r| !only_overdue || overdue(r));
            Ok(match cli.json {
                true => as_json(&json!({ "reviews": reviews })),
                false => pending_text(&reviews, language),
            })
        }
        Command::Show { request_id } => {
            let request = call(
                http.get(format!("{api}/requests/{request_id}"))
                    .bearer_auth(&token),
            )
            .await?;
            Ok(match cli.json {
                true => as_json(&request),
                false => show_text(&request, language),
            })
        }
        Command::Approve { request_id } => {
            let body = json!({ "decision": "approve" });
            decide(&http, &api, &token, &request_id, &body).await
        }
        Command::Reject {
            request_id,
            reason_codes,
            reasons,
        } => {
            let body =
                json!({ "decision": "reject", "reasonCodes": reason_codes, "reasons": reasons });
            decide(&http, &api, &token, &request_id, &body).await
        }
        Command::Reasons => {
            let reasons = call(
                http.get(format!("{api}/reviews/reasons"))
                    .bearer_auth(&token),
            )
            .await?;
            Ok(match cli.json {
                true => as_json(&reasons),
                false => reasons
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|r| {
                        let shown = &r["text"][accept_language(language)];
                        format!(
                            "{:<34}  {}\n",
                            text(r, "code"),
                            shown.as_str().unwrap_or("?")
                        )
                    })
                    .collect(),
            })
        }
        Command::Redrive { request_id } => {
            let answer = call(
                http.post(format!("{api}/operations/requests/{request_id}/redrive"))
                    .bearer_auth(&token),
            )
            .await?;
            Ok(format!(
                "{request_id}: re-driven (status {})\n",
                answer["status"].as_str().unwrap_or("?")
            ))
        }
    }
}

async fn decide(
    http: &reqwest::Client,
    api: &str,
    token: &str,
    request_id: &str,
    body: &Value,
) -> Result<String, String> {
    let answer = call(
        http.post(format!("{api}/reviews/{request_id}/decision"))
            .bearer_auth(token)
            .json(body),
    )
    .await?;
    Ok(format!(
        "{request_id}: {} recorded (status {})\n",
        text(body, "decision"),
        answer["status"].as_str().unwrap_or("?")
    ))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("icp-review: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn an_https_api_is_spoken_to_in_tls() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "https://127.0.0.1:{}/reviews",
            listener.local_addr().unwrap().port()
        );
        let http = http_client(Language::ZhCn).unwrap();
        let mut get = tokio::spawn(async move { http.get(url).send().await });
        let mut connection = tokio::select! {
            accepted = listener.accept() => accepted.unwrap().0,
            outcome = &mut get => panic!("no connection was made: {outcome:?}"),
        };
        // A TLS record header (handshake, 0x16) whose message is a ClientHello (0x01).
        let mut head = [0u8; 6];
        connection.read_exact(&mut head).await.unwrap();
        assert_eq!((head[0], head[5]), (0x16, 0x01), "a TLS ClientHello");
    }

    fn parse(s: &str) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("icp-review").chain(s.split_whitespace()))
    }

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn commands_parse_and_bad_ones_are_refused() {
        assert!(matches!(
            parse("pending").unwrap().command,
            Command::Pending { overdue: false }
        ));
        assert!(matches!(
            parse("pending --overdue --json").map(|c| (c.json, c.command)),
            Ok((true, Command::Pending { overdue: true }))
        ));
        assert!(
            matches!(parse("--json show r1").unwrap().command, Command::Show { request_id } if request_id == "r1")
        );
        assert!(matches!(
            parse("approve r1").unwrap().command,
            Command::Approve { .. }
        ));
        match parse("reject r1 --reason a --reason b").unwrap().command {
            Command::Reject { reasons, .. } => assert_eq!(reasons, ["a", "b"]),
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(parse("redrive r1").unwrap().command, Command::Redrive { request_id } if request_id == "r1")
        );
        for bad in [
            "",
            "approve",
            "reject r1",
            "reject r1 --reason",
            "reject r1 --why x",
            "delete r1",
            "redrive",
            "redrive r1 r2",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_review_past_its_due_time_is_overdue() {
        assert!(overdue(&json!({"dueAt": "2020-01-01T09:00:00+08:00"})));
        assert!(!overdue(&json!({"dueAt": "2999-01-01T09:00:00+08:00"})));
        assert!(!overdue(&json!({})));
    }
}
