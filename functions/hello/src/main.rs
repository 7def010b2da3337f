//! `GET /hello`: the benchmark's baseline, a Rust Lambda doing nothing but answer. `make bench`
//! divides every function's cold start and the API's latencies by this one's, measured in the
//! same run, so the ratios hold on a noisy machine.

use lambda_http::{service_fn, Body, Error, Request, Response};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_http::run(service_fn(|_: Request| async {
        let hello = Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(Body::from(r#"{"hello":"world"}"#))?;
        Ok::<_, Error>(hello)
    }))
    .await
}
