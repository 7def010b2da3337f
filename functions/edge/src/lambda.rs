//! The one `main` every function shares: JSON logs, one AWS configuration loaded per cold start,
//! the function built once from it, then each invocation served in its own span (carrying the
//! invocation's request id, which the runtime adds). A function's `main.rs` holds only what is
//! particular to it: what it is built from and how it handles one event.

use crate::http;
use crate::step::StepError;
pub use aws_config::SdkConfig;
use lambda_http::{Body, Request, Response};
use lambda_runtime::{Context, Error, LambdaEvent};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::future::Future;
use tracing::Instrument;

/// A task of the state machine.
pub trait StepFunction: Sized + Send + Sync + 'static {
    type Input: DeserializeOwned + Send + 'static;
    type Output: Serialize + 'static;

    fn build(config: &SdkConfig) -> impl Future<Output = Result<Self, Error>>;

    fn handle(
        &self,
        input: Self::Input,
        context: &Context,
    ) -> impl Future<Output = Result<Self::Output, StepError>> + Send;
}

/// A function behind API Gateway: answers with a status and a JSON body, or an `ApiError`.
pub trait HttpFunction: Sized + Send + Sync + 'static {
    fn build(config: &SdkConfig) -> impl Future<Output = Result<Self, Error>>;

    fn handle(
        &self,
        request: &Request,
    ) -> impl Future<Output = Result<(u16, serde_json::Value), http::ApiError>> + Send;
}

/// One thread: the functions do I/O, and one thread keeps the memory of a 128 MB function low.
fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

pub fn run_step<F: StepFunction>() -> Result<(), Error> {
    runtime()?.block_on(async {
        crate::telemetry::init();
        let function = &F::build(&icp_adapters::aws::load_config().await).await?;
        lambda_runtime::run(lambda_runtime::service_fn(
            move |event: LambdaEvent<F::Input>| async move {
                function.handle(event.payload, &event.context).await
            },
        ))
        .await
    })
}

pub fn run_http<F: HttpFunction>() -> Result<(), Error> {
    runtime()?.block_on(async {
        crate::telemetry::init();
        let function = &F::build(&icp_adapters::aws::load_config().await).await?;
        lambda_http::run(lambda_http::service_fn(
            move |request: Request| async move {
                if let Some(api_id) = http::api_id(&request) {
                    icp_adapters::authority::observe_api_id(api_id);
                }
                let request_id = http::request_id(&request);
                let language = http::language(&request);
                // The id the client gets in x-request-id, on every line this call logs.
                let span = tracing::info_span!("api", apiRequestId = %request_id);
                let answer = function.handle(&request).instrument(span.clone()).await;
                let response: Response<Body> =
                    span.in_scope(|| http::respond_in(&request_id, language, answer));
                Ok::<_, Error>(response)
            },
        ))
        .await
    })
}
