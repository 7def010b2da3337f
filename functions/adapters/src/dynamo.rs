//! The DynamoDB store. Conditional writes and transactions make every step safe to repeat.

mod filings;
mod notification_ledger;
mod password_checks;
mod password_resets;
mod requests;
mod review_queue;
mod task_tokens;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use icp_domain::StoreError;
use serde::de::DeserializeOwned;
use std::collections::HashMap;

type Item = HashMap<String, AttributeValue>;

/// Table names, from the function's environment.
#[derive(Debug, Clone)]
pub struct Tables {
    pub entities: String,
    pub websites: String,
    pub requests: String,
    pub idempotency: String,
    pub notifications: String,
}

impl Tables {
    pub fn from_env() -> Result<Tables, std::env::VarError> {
        Ok(Tables {
            entities: std::env::var("ENTITIES_TABLE")?,
            websites: std::env::var("WEBSITES_TABLE")?,
            requests: std::env::var("REQUESTS_TABLE")?,
            idempotency: std::env::var("IDEMPOTENCY_TABLE")?,
            notifications: std::env::var("NOTIFICATIONS_TABLE")?,
        })
    }
}

pub const WEBSITES_BY_ENTITY: &str = "byEntity";
pub const REQUESTS_BY_WEBSITE: &str = "byWebsite";
pub const REQUESTS_BY_STATUS: &str = "byStatus";
/// The review queue: a sparse index of the requests awaiting first review, by due time.
pub const REQUESTS_BY_REVIEW_DUE: &str = "byReviewDue";
const REVIEW_QUEUE: &str = "pending";
/// Idempotency records are kept this long (DynamoDB TTL on `expiresAt`).
const IDEMPOTENCY_TTL_SECONDS: i64 = 7 * 24 * 3600;
/// An attempt's start item outlives the table stream's record of it (kept 24 hours), then
/// DynamoDB's TTL (on `expiresAt`) deletes it.
const ATTEMPT_START_TTL_SECONDS: i64 = 2 * 24 * 3600;
const ATTEMPT_START_SEPARATOR: char = '#';

/// The key of the item whose insert starts attempt `attempt` (> 1) of a request: the requests
/// table's stream carries keys only, and a request's own insert starts only its first attempt.
pub fn attempt_start_key(request_id: &str, attempt: u32) -> String {
    format!("{request_id}{ATTEMPT_START_SEPARATOR}{attempt}")
}

/// The request and attempt an insert into the requests table starts: a request's own key
/// starts attempt 1, an attempt's start item its attempt. `None` for a key of neither form.
pub fn attempt_started_by(key: &str) -> Option<(String, u32)> {
    match key.split_once(ATTEMPT_START_SEPARATOR) {
        None => Some((key.to_string(), 1)),
        Some((request_id, attempt)) => Some((request_id.to_string(), attempt.parse().ok()?)),
    }
}

/// DynamoDB refuses a string key that is empty or longer than this many UTF-8 bytes.
const MAX_KEY_BYTES: usize = 2048;

#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    tables: Tables,
}

impl DynamoStore {
    pub fn new(client: Client, tables: Tables) -> DynamoStore {
        DynamoStore { client, tables }
    }

    pub fn from_env(config: &aws_config::SdkConfig) -> Result<DynamoStore, crate::Error> {
        let tables = Tables::from_env().map_err(|e| format!("table names: {e}"))?;
        Ok(DynamoStore::new(Client::new(config), tables))
    }

    async fn get<T: DeserializeOwned>(
        &self,
        table: &str,
        key: &str,
        id: &str,
    ) -> Result<Option<T>, StoreError> {
        // An id DynamoDB cannot hold as a key (a client's empty or overlong id) names no item;
        // asking for it would be refused as a validation error, which reads as an outage.
        if !(1..=MAX_KEY_BYTES).contains(&id.len()) {
            return Ok(None);
        }
        let out = self
            .client
            .get_item()
            .table_name(table)
            .key(key, s(id))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        out.item.map(decode).transpose()
    }

    async fn query<T: DeserializeOwned>(
        &self,
        table: &str,
        index: &str,
        key: &str,
        value: &str,
        newest_first: bool,
    ) -> Result<Vec<T>, StoreError> {
        let pages = self
            .client
            .query()
            .table_name(table)
            .index_name(index)
            .key_condition_expression("#k = :v")
            .expression_attribute_names("#k", key)
            .expression_attribute_values(":v", s(value))
            .scan_index_forward(!newest_first)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(unavailable)?;
        pages.into_iter().map(decode).collect()
    }
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn decode<T: DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn encode<T: serde::Serialize>(value: &T) -> Result<Item, StoreError> {
    serde_dynamo::to_item(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn unavailable<E: std::error::Error + 'static>(e: E) -> StoreError {
    StoreError::Unavailable(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())
}

/// Whether a conditional write applied: `Ok(false)` when its condition did not hold.
fn condition_held<T, E>(
    result: Result<T, SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>>,
) -> Result<bool, StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(e) if condition_failed(&e) => Ok(false),
        Err(e) => Err(unavailable(e)),
    }
}

fn condition_failed<E: ProvideErrorMetadata>(
    e: &SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> bool {
    e.as_service_error().and_then(|se| se.code()) == Some("ConditionalCheckFailedException")
}

fn build_error(e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

/// Which items of a cancelled transaction failed their condition.
fn failed_conditions(
    e: &SdkError<TransactWriteItemsError, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> Option<Vec<bool>> {
    match e.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => Some(
            cancelled
                .cancellation_reasons()
                .iter()
                .map(|r| r.code() == Some("ConditionalCheckFailed"))
                .collect(),
        ),
        _ => None,
    }
}

/// An index sort key of a time and the request: fixed width, so text order is time order.
fn sort_key(at: chrono::DateTime<chrono::Utc>, request_id: &str) -> String {
    format!("{}#{request_id}", at.format("%Y-%m-%dT%H:%M:%S%.9fZ"))
}

impl DynamoStore {
    /// A secret attribute of the request, if the request is still at `attempt`.
    async fn attribute_at_attempt(
        &self,
        request_id: &str,
        attempt: u32,
        attribute: &str,
    ) -> Result<Option<String>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tables.requests)
            .key("requestId", s(request_id))
            .projection_expression("attempt, #secret")
            .expression_attribute_names("#secret", attribute)
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        let Some(item) = out.item else {
            return Ok(None);
        };
        let at_attempt = item
            .get("attempt")
            .and_then(|a| a.as_n().ok())
            .is_some_and(|n| *n == attempt.to_string());
        Ok(at_attempt
            .then(|| item.get(attribute).and_then(|v| v.as_s().ok()).cloned())
            .flatten())
    }
}

fn encode_value<T: serde::Serialize>(value: &T) -> Result<AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}
