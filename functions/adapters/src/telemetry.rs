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
