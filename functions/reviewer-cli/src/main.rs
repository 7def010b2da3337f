//! `icp-review`: first review from a terminal, for operators without a console, and the
//! operator's re-drive of an approval the workflow parked.
//!
//! ```text
//! icp-review pending
//! icp-review approve REQUEST_ID
//! icp-review reject REQUEST_ID --reason TEXT [--reason TEXT ...]
//! icp-review redrive REQUEST_ID
//! ```
//!
//! The API and the token come from `ICP_API_URL` and `ICP_REVIEWER_TOKEN` (`ICP_OPERATOR_TOKEN`
//! for `redrive`), or else from the local stack's demo file (`apiUrl`, `reviewerToken`,
//! `operatorToken` of `ICP_DEMO_FILE`, by default `.local/demo.json`).

use serde_json::{json, Value};
use std::process::ExitCode;

const USAGE: &str = "usage: icp-review pending | approve REQUEST_ID | reject REQUEST_ID --reason TEXT [--reason TEXT ...] | redrive REQUEST_ID";

enum Command {
    Pending,
    Decide {
        request_id: String,
        decision: &'static str,
        reasons: Vec<String>,
    },
    Redrive {
        request_id: String,
    },
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

fn parse(args: &[String]) -> Result<Command, String> {
    match args {
        [cmd] if cmd == "pending" => Ok(Command::Pending),
        [cmd, id] if cmd == "approve" => Ok(Command::Decide {
            request_id: id.clone(),
            decision: "approve",
            reasons: Vec::new(),
        }),
        [cmd, id] if cmd == "redrive" => Ok(Command::Redrive {
            request_id: id.clone(),
        }),
        [cmd, id, rest @ ..] if cmd == "reject" => {
            let mut reasons = Vec::new();
            let mut rest = rest.iter();
            while let Some(flag) = rest.next() {
                match (flag.as_str(), rest.next()) {
                    ("--reason", Some(reason)) => reasons.push(reason.clone()),
                    _ => return Err(format!("unexpected {flag:?}\n{USAGE}")),
                }
            }
            if reasons.is_empty() {
                return Err(format!("a rejection needs at least one --reason\n{USAGE}"));
            }
            Ok(Command::Decide {
                request_id: id.clone(),
                decision: "reject",
                reasons,
            })
        }
        _ => Err(USAGE.to_string()),
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

/// An HTTP client for the API, http locally and https on AWS.
fn http_client() -> Result<reqwest::Client, String> {
    // reqwest is built without a crypto provider of its own (see the workspace's Cargo.toml):
    // install ring as the process's default.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| format!("no HTTP client: {e}"))
}

async fn run(command: Command) -> Result<String, String> {
    let (api, token) = config(&command)?;
    let http = http_client()?;
    match command {
        Command::Pending => {
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
            let mut out = format!(
                "{} awaiting first review (soonest due first)\n",
                reviews.len()
            );
            for r in reviews {
                let text = |k: &str| {
                    r[k].as_str()
                        .map(String::from)
                        .unwrap_or_else(|| r[k].to_string())
                };
                out.push_str(&format!(
                    "{}  {:<20}  {}  attempt {}  due {}\n",
                    text("requestId"),
                    text("type"),
                    text("websiteId"),
                    text("attempt"),
                    text("dueAt")
                ));
            }
            Ok(out)
        }
        Command::Decide {
            request_id,
            decision,
            reasons,
        } => {
            let body = json!({ "decision": decision, "reasons": reasons });
            let answer = call(
                http.post(format!("{api}/reviews/{request_id}/decision"))
                    .bearer_auth(&token)
                    .json(&body),
            )
            .await?;
            Ok(format!(
                "{request_id}: {decision} recorded (status {})\n",
                answer["status"].as_str().unwrap_or("?")
            ))
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

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match parse(&args) {
        Ok(command) => run(command).await,
        Err(usage) => Err(usage),
    };
    match outcome {
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
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn an_https_api_is_spoken_to_in_tls() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "https://127.0.0.1:{}/reviews",
            listener.local_addr().unwrap().port()
        );
        let http = http_client().unwrap();
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

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn commands_parse_and_bad_ones_are_refused() {
        assert!(matches!(parse(&args("pending")), Ok(Command::Pending)));
        assert!(matches!(
            parse(&args("approve r1")),
            Ok(Command::Decide {
                decision: "approve",
                ..
            })
        ));
        match parse(&args("reject r1 --reason a --reason b")) {
            Ok(Command::Decide {
                decision, reasons, ..
            }) => {
                assert_eq!(
                    (decision, reasons),
                    ("reject", vec!["a".to_string(), "b".to_string()])
                )
            }
            _ => panic!("reject with reasons"),
        }
        assert!(matches!(
            parse(&args("redrive r1")),
            Ok(Command::Redrive { request_id }) if request_id == "r1"
        ));
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
            assert!(parse(&args(bad)).is_err(), "{bad:?}");
        }
    }
}
