//! The ports the adapters implement: storage and the workflow engine. Handlers are generic over
//! them, so unit tests run the same code on in-memory fakes.

use crate::{Entity, IdempotencyRecord, Request, StoreError, Transition, Website};
use std::future::Future;
use thiserror::Error;

/// Why a new request could not be written.
#[derive(Debug, Error)]
pub enum CreateError {
    #[error("the Idempotency-Key is already taken")]
    IdempotencyKeyTaken,
    #[error("the website already has an open request or is not active")]
    WebsiteUnavailable,
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub trait Store: Send + Sync {
    fn get_entity(
        &self,
        entity_id: &str,
    ) -> impl Future<Output = Result<Option<Entity>, StoreError>> + Send;

    fn get_website(
        &self,
        website_id: &str,
    ) -> impl Future<Output = Result<Option<Website>, StoreError>> + Send;

    /// The entity's websites, in domain order.
    fn list_websites(
        &self,
        entity_id: &str,
    ) -> impl Future<Output = Result<Vec<Website>, StoreError>> + Send;

    fn get_request(
        &self,
        request_id: &str,
    ) -> impl Future<Output = Result<Option<Request>, StoreError>> + Send;

    /// The website's requests, newest first.
    fn list_requests(
        &self,
        website_id: &str,
    ) -> impl Future<Output = Result<Vec<Request>, StoreError>> + Send;

    fn get_idempotency(
        &self,
        scope_key: &str,
    ) -> impl Future<Output = Result<Option<IdempotencyRecord>, StoreError>> + Send;

    /// Writes the request, marks the website as having it open, and records the idempotency
    /// key, all or nothing. `sealed_password` is the encrypted license password for the
    /// verify step; it is kept apart from the request's public fields.
    fn create_request(
        &self,
        request: &Request,
        sealed_password: &str,
        idempotency: &IdempotencyRecord,
    ) -> impl Future<Output = Result<(), CreateError>> + Send;

    /// The sealed password of the request's current attempt, if it is still there.
    fn sealed_password(
        &self,
        request_id: &str,
        attempt: u32,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    /// Applies the transition if the request is still in `from` at `attempt` (else
    /// `StoreError::Conflict`), erases the sealed password, and frees the website when the
    /// request closes. Returns the request as written.
    fn apply(&self, t: &Transition) -> impl Future<Output = Result<Request, StoreError>> + Send;
}

#[derive(Debug, Error)]
pub enum WorkflowError {
    #[error("workflow engine unavailable: {0}")]
    Unavailable(String),
}

/// Starts the request's workflow. Starting the same attempt twice starts one execution.
pub trait Workflow: Send + Sync {
    fn start(
        &self,
        request_id: &str,
        attempt: u32,
    ) -> impl Future<Output = Result<(), WorkflowError>> + Send;
}
