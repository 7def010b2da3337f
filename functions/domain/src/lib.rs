//! The ICP filing change-request domain: what a request is, which statuses it moves through and
//! which moves are allowed, how its input is validated, the ports the adapters implement, and
//! the use cases, one module for each part of the flow. Nothing here knows about AWS.
//!
//! Modules only use those listed before them: model and rules first, then the ports, then the
//! shared mechanics (records, notify, waits), then the use cases, and last, for tests, one of
//! each refusal (`tests/module_order.rs` holds this, and `make lint` runs it; blank lines keep
//! rustfmt from sorting the groups).

pub mod language;

pub mod calendar;
pub mod deadlines;
pub mod error;
pub mod history;
pub mod model;

pub mod reason;

pub mod consequences;
pub mod notification;
pub mod password;
pub mod signature;
pub mod status;
pub mod validation;

pub mod contract;
pub mod ports;

mod records;

mod notify;
mod waits;

pub mod authority;
pub mod closing;
pub mod impact;
pub mod import;
pub mod password_reset;
pub mod queries;
pub mod review;
pub mod start;
pub mod submit;
pub mod sweep;
pub mod verify;

#[cfg(any(test, feature = "examples"))]
pub mod refusals;

pub use error::{DomainError, ServiceError, StoreError};
pub use history::HistoryEvent;
pub use language::Language;
pub use model::*;
pub use reason::{Reason, ReasonCode};
pub use status::Status;
