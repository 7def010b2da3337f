//! The Lambda edge every function shares: its `main` (`lambda`), HTTP requests and the API's
//! error answers (`http`), bearer tokens (`auth`), the errors Step Functions routes on
//! (`step`) and JSON logs (`telemetry`).

pub mod auth;
pub mod http;
pub mod lambda;
pub mod step;
pub mod telemetry;
