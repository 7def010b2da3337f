//! `icp-admin`: the operator's command line. `icp-admin import FILE` loads a provider's filings
//! (entities with their license passwords, websites with their service IPs) from JSON Lines or
//! CSV into the stack's tables (`icp_domain::import`), and reports each refused row by line and
//! field.
//!
//! The tables: `ENTITIES_TABLE` and `WEBSITES_TABLE` with the standard AWS environment (a stack
//! on AWS), or else the local stack's `.local/stack.json` (`ICP_STACK_FILE`). The service IPs
//! accepted are those the functions accept: `PROVIDER_IP_RANGES`, and the documentation ranges
//! where `ALLOW_DOCUMENTATION_IPS=true` (the local stage's).

use clap::{Parser, Subcommand};
use icp_adapters::dynamo::{DynamoStore, Tables};
use icp_domain::import::{import, ImportOptions, RawRow};
use icp_domain::validation::{IpPolicy, IpRange};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(Parser)]
#[command(name = "icp-admin", about = "The ICP filing stack's operator commands")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Import entities and websites from FILE (JSON Lines, or CSV when it ends in .csv).
    Import {
        file: PathBuf,
        /// Report what would be applied, writing nothing.
        #[arg(long)]
        dry_run: bool,
        /// Write the report (JSON) here as well as to standard output.
        #[arg(long)]
        report: Option<PathBuf>,
    },
}

/// Exit statuses: 0 all applied or unchanged, 1 some rows refused, 2 the file or the tables
/// could not be used at all.
const SOME_REFUSED: u8 = 1;
const UNUSABLE: u8 = 2;

#[tokio::main]
async fn main() -> ExitCode {
    let Command::Import {
        file,
        dry_run,
        report,
    } = Cli::parse().command;
    match run(&file, dry_run, report.as_deref()).await {
        Ok(code) => ExitCode::from(code),
        Err(why) => {
            eprintln!("icp-admin: {why}");
            ExitCode::from(UNUSABLE)
        }
    }
}

async fn run(file: &Path, dry_run: bool, report_file: Option<&Path>) -> Result<u8, String> {
    let rows = read_rows(file)?;
    let store = store().await?;
    let options = ImportOptions {
        ip_policy: ip_policy()?,
        dry_run,
    };
    let started = Instant::now();
    eprintln!(
        "icp-admin: importing {} rows from {}{}",
        rows.len(),
        file.display(),
        if dry_run {
            " (dry run: nothing is written)"
        } else {
            ""
        }
    );
    let progress = |done: usize, total: usize| eprintln!("icp-admin: {done} of {total} rows");
    let report = import(&store, rows, &options, progress)
        .await
        .map_err(|e| e.to_string())?;
    let text = serde_json::to_string_pretty(&report).expect("a report serializes");
    println!("{text}");
    if let Some(path) = report_file {
        std::fs::write(path, format!("{text}\n"))
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    eprintln!(
        "icp-admin: {} applied, {} unchanged, {} refused, in {:.1} s",
        report.applied,
        report.unchanged,
        report.refused.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(if report.refused.is_empty() {
        0
    } else {
        SOME_REFUSED
    })
}

/// The rows of `file`, numbered by their line in it. A line that is not a JSON object becomes a
/// row without `kind`, refused as such.
fn read_rows(file: &Path) -> Result<Vec<RawRow>, String> {
    let unreadable = |e: &dyn std::fmt::Display| format!("{}: {e}", file.display());
    if file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
    {
        return read_csv(file).map_err(|e| unreadable(&e));
    }
    let text = std::fs::read_to_string(file).map_err(|e| unreadable(&e))?;
    Ok(text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| RawRow {
            line: i + 1,
            fields: match serde_json::from_str(line) {
                Ok(Value::Object(fields)) => fields,
                _ => Map::new(),
            },
        })
        .collect())
}

/// CSV with a header of the JSON rows' field names; `serviceIps` separated by `;`.
fn read_csv(file: &Path) -> Result<Vec<RawRow>, csv::Error> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_path(file)?;
    let header = reader.headers()?.clone();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record?;
        let line = record.position().map_or(0, |p| p.line() as usize);
        let mut fields = Map::new();
        for (name, value) in header.iter().zip(record.iter()) {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            let value = match name {
                "serviceIps" => Value::Array(
                    value
                        .split(';')
                        .map(|ip| Value::String(ip.trim().to_string()))
                        .collect(),
                ),
                _ => Value::String(value.to_string()),
            };
            fields.insert(name.to_string(), value);
        }
        rows.push(RawRow { line, fields });
    }
    Ok(rows)
}

/// The stack's entities and websites tables: from the environment (AWS), else the local stack.
async fn store() -> Result<DynamoStore, String> {
    let (entities, websites) = (
        std::env::var("ENTITIES_TABLE"),
        std::env::var("WEBSITES_TABLE"),
    );
    let tables = |entities: String, websites: String| Tables {
        entities,
        websites,
        // The import writes no request, key or notification.
        requests: String::new(),
        idempotency: String::new(),
        notifications: String::new(),
    };
    let client = |config: &aws_config::SdkConfig| aws_sdk_dynamodb::Client::new(config);
    if let (Ok(entities), Ok(websites)) = (entities, websites) {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(icp_adapters::aws::sdk_https_client())
            .load()
            .await;
        return Ok(DynamoStore::new(
            client(&config),
            tables(entities, websites),
        ));
    }
    let path = std::env::var("ICP_STACK_FILE").unwrap_or_else(|_| ".local/stack.json".into());
    let outputs: Value = std::fs::read_to_string(&path)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .ok_or_else(|| {
            format!("no ENTITIES_TABLE and WEBSITES_TABLE, and no local stack ({path}): name the tables, or run make up")
        })?;
    let output = |name: &str| {
        outputs[name]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("{path} has no {name}"))
    };
    // The local stack: LocalStack's endpoint, its test credentials.
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(icp_adapters::aws::sdk_https_client())
        .endpoint_url(output("localstackUrl")?)
        .region(aws_config::Region::new(output("region")?))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "local",
        ))
        .load()
        .await;
    Ok(DynamoStore::new(
        client(&config),
        tables(output("EntitiesTableName")?, output("WebsitesTableName")?),
    ))
}

fn ip_policy() -> Result<IpPolicy, String> {
    let ranges = std::env::var("PROVIDER_IP_RANGES").unwrap_or_default();
    Ok(IpPolicy {
        allow_documentation: std::env::var("ALLOW_DOCUMENTATION_IPS").is_ok_and(|v| v == "true"),
        provider_ranges: IpRange::parse_list(&ranges)
            .map_err(|e| format!("PROVIDER_IP_RANGES: {e}"))?,
    })
}
