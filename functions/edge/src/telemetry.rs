//! JSON logs, one line per event, carrying the invocation's span (and so its request id).

use tracing_subscriber::EnvFilter;

pub fn init() {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_current_span(true)
        .with_span_list(false)
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
