//! JSON logs, one line per event, carrying the spans it happened in: the invocation's (its
//! Lambda request id) and, behind the API, the call's (`apiRequestId`, the client's x-request-id).

use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::EnvFilter;

/// The AWS SDK's operation spans (`DynamoDB.GetItem`, at debug): each logged when it closes,
/// with how long the call took, so where an invocation's time went is in its log lines (`make
/// bench` sums them per route).
const AWS_CALLS: &str = "aws_sdk_dynamodb=debug,aws_sdk_sfn=debug,aws_sdk_sns=debug,aws_sdk_ses=debug,aws_sdk_secretsmanager=debug";

pub fn init() {
    let level = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into());
    let filter = EnvFilter::try_new(format!("{level},{AWS_CALLS}"))
        .unwrap_or_else(|_| EnvFilter::new(format!("info,{AWS_CALLS}")));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_span_events(FmtSpan::CLOSE)
        .with_current_span(true)
        .with_span_list(true)
        .with_target(false)
        .init();
}

/// Counts one occurrence of `metric` in CloudWatch through the embedded metric format: a JSON
/// line Lambda turns into a metric (namespace `IcpFiling`, dimension `Stack`), which the
/// template's alarms watch.
pub fn count(metric: &str) {
    let stack = std::env::var("STACK_NAME").unwrap_or_default();
    let line = serde_json::json!({
        "_aws": {
            "Timestamp": chrono::Utc::now().timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": "IcpFiling",
                "Dimensions": [["Stack"]],
                "Metrics": [{ "Name": metric, "Unit": "Count" }],
            }],
        },
        "Stack": stack,
        metric: 1,
    });
    println!("{line}");
}
