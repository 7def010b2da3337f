//! The ICP filing change-request domain: what a request is, which statuses it moves through and
//! which moves are allowed, how its input is validated, and the ports the adapters implement.
//! Nothing here knows about AWS.

pub mod actions;
pub mod deadlines;
pub mod error;
pub mod model;
pub mod notification;
pub mod notify;
pub mod password;
pub mod ports;
pub mod service;
pub mod signature;
pub mod status;
pub mod steps;
pub mod validation;

pub use error::{DomainError, StoreError};
pub use model::*;
pub use status::Status;
