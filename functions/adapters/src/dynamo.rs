//! The DynamoDB store. Conditional writes and transactions make every step safe to repeat.

mod filings;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValue, TransactWriteItem, Update};
use aws_sdk_dynamodb::Client;
use icp_domain::password_reset::PasswordReset;
use icp_domain::ports::{Claim, CreateError, QueuePosition, Store, TokenSlot};
use icp_domain::{
    Decision, Entity, IdempotencyRecord, Request, ReviewDecision, Status, StoreError, Transition,
    Website, WebsiteEffect, WebsiteStatus,
};
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
    /// An update of the entity that applies only while its reset `reset_id` is open (not
    /// completed) and `condition` holds.
    fn open_reset_update(
        &self,
        entity_id: &str,
        reset_id: &str,
        condition: &str,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.tables.entities)
            .key("entityId", s(entity_id))
            .condition_expression(format!(
                "passwordReset.resetId = :resetId \
                 AND attribute_not_exists(passwordReset.completedAt){condition}"
            ))
            .expression_attribute_values(":resetId", s(reset_id))
    }

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

impl Store for DynamoStore {
    async fn get_entity(&self, entity_id: &str) -> Result<Option<Entity>, StoreError> {
        self.get(&self.tables.entities, "entityId", entity_id).await
    }

    async fn get_website(&self, website_id: &str) -> Result<Option<Website>, StoreError> {
        self.get(&self.tables.websites, "websiteId", website_id)
            .await
    }

    async fn list_websites(&self, entity_id: &str) -> Result<Vec<Website>, StoreError> {
        self.query(
            &self.tables.websites,
            WEBSITES_BY_ENTITY,
            "entityId",
            entity_id,
            false,
        )
        .await
    }

    async fn get_request(&self, request_id: &str) -> Result<Option<Request>, StoreError> {
        // An attempt's start item shares the table, not the request ids.
        if request_id.contains(ATTEMPT_START_SEPARATOR) {
            return Ok(None);
        }
        self.get(&self.tables.requests, "requestId", request_id)
            .await
    }

    async fn list_requests(&self, website_id: &str) -> Result<Vec<Request>, StoreError> {
        self.query(
            &self.tables.requests,
            REQUESTS_BY_WEBSITE,
            "websiteId",
            website_id,
            true,
        )
        .await
    }

    async fn get_idempotency(
        &self,
        scope_key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.get(&self.tables.idempotency, "scopeKey", scope_key)
            .await
    }

    async fn create_request(
        &self,
        request: &Request,
        sealed_password: &str,
        idempotency: &IdempotencyRecord,
    ) -> Result<(), CreateError> {
        let mut request_item = encode(request)?;
        request_item.insert("sealedPassword".into(), s(sealed_password));
        request_item.insert(
            "createdSort".into(),
            s(sort_key(request.created_at, &request.request_id)),
        );
        let mut idempotency_item = encode(idempotency)?;
        idempotency_item.insert(
            "expiresAt".into(),
            AttributeValue::N(
                (idempotency.created_at.timestamp() + IDEMPOTENCY_TTL_SECONDS).to_string(),
            ),
        );
        let put_request = Put::builder()
            .table_name(&self.tables.requests)
            .set_item(Some(request_item))
            .condition_expression("attribute_not_exists(requestId)")
            .build()
            .map_err(build_error)?;
        let claim_website = Update::builder()
            .table_name(&self.tables.websites)
            .key("websiteId", s(&request.website_id))
            .update_expression("SET openRequestId = :rid")
            .condition_expression(
                "attribute_exists(websiteId) AND attribute_not_exists(openRequestId) AND #status = :active",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":rid", s(&request.request_id))
            .expression_attribute_values(":active", s("active"))
            .build()
            .map_err(build_error)?;
        let put_idempotency = Put::builder()
            .table_name(&self.tables.idempotency)
            .set_item(Some(idempotency_item))
            .condition_expression("attribute_not_exists(scopeKey)")
            .build()
            .map_err(build_error)?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put_request).build())
            .transact_items(TransactWriteItem::builder().update(claim_website).build())
            .transact_items(TransactWriteItem::builder().put(put_idempotency).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => match failed_conditions(&e).as_deref() {
                Some([_, _, true]) => Err(CreateError::IdempotencyKeyTaken),
                Some([_, true, _]) => Err(CreateError::WebsiteUnavailable),
                Some([true, _, _]) => Err(StoreError::Conflict("request id taken".into()).into()),
                _ => Err(unavailable(e).into()),
            },
        }
    }

    async fn sealed_password(
        &self,
        request_id: &str,
        attempt: u32,
    ) -> Result<Option<String>, StoreError> {
        self.attribute_at_attempt(request_id, attempt, "sealedPassword")
            .await
    }

    async fn apply(&self, t: &Transition) -> Result<Request, StoreError> {
        let mut set = vec![
            "#status = :to",
            "updatedAt = :now",
            "history = list_append(history, :entry)",
        ];
        let mut remove = vec![];
        let mut values: Item = HashMap::from([
            (":to".into(), s(t.to.as_str())),
            (":from".into(), s(t.from.as_str())),
            (":attempt".into(), AttributeValue::N(t.attempt.to_string())),
            (":now".into(), encode_value(&t.entry.at)?),
            (
                ":entry".into(),
                AttributeValue::L(vec![AttributeValue::M(encode(&t.entry)?)]),
            ),
        ]);
        if let Some(reasons) = &t.rejection_reasons {
            set.push("rejectionReasons = :reasons");
            values.insert(":reasons".into(), encode_value(reasons)?);
        }
        if let Some(due) = &t.review_due_at {
            set.push("reviewDueAt = :due");
            values.insert(":due".into(), encode_value(due)?);
        }
        // The review queue index holds exactly the requests awaiting first review.
        match (t.from, t.to, t.review_due_at) {
            (_, Status::PendingFirstReview, Some(due)) => {
                set.extend(["reviewQueue = :queue", "reviewQueueSort = :queueSort"]);
                values.insert(":queue".into(), s(REVIEW_QUEUE));
                values.insert(":queueSort".into(), s(sort_key(due, &t.request_id)));
            }
            (Status::PendingFirstReview, to, _) if to != Status::PendingFirstReview => {
                remove.extend(["reviewQueue", "reviewQueueSort"]);
            }
            _ => {}
        }
        if let Some(id) = &t.submission_id {
            set.push("submissionId = :sid");
            values.insert(":sid".into(), s(id));
        }
        match &t.next_attempt {
            Some(next) => {
                set.extend([
                    "attempt = :next",
                    "sealedPassword = :sealed",
                    "rejectionReasons = :none",
                ]);
                values.insert(
                    ":next".into(),
                    AttributeValue::N((t.attempt + 1).to_string()),
                );
                values.insert(":sealed".into(), s(&next.sealed_password));
                values.insert(":none".into(), AttributeValue::L(vec![]));
                if let Some(ips) = &next.service_ips {
                    set.push("serviceIps = :ips");
                    values.insert(":ips".into(), encode_value(ips)?);
                }
                remove.extend([
                    "review",
                    "reviewDueAt",
                    "submissionId",
                    TokenSlot::FirstReview.attribute(),
                    TokenSlot::Authority.attribute(),
                    TokenSlot::FirstReview.issued_at_attribute(),
                    TokenSlot::Authority.issued_at_attribute(),
                ]);
            }
            // The sealed password is erased by the first move after it was checked.
            None => remove.push("sealedPassword"),
        }
        let mut condition = "#status = :from AND attempt = :attempt".to_string();
        if t.unless_approved {
            condition
                .push_str(" AND (attribute_not_exists(review) OR review.decision <> :approve)");
            values.insert(":approve".into(), encode_value(&Decision::Approve)?);
        }
        let update = format!("SET {} REMOVE {}", set.join(", "), remove.join(", "));
        let conflict = || {
            StoreError::Conflict(format!(
                "{} is no longer {} at attempt {}",
                t.request_id, t.from, t.attempt
            ))
        };
        if !t.releases_website() && !t.claims_website() && t.next_attempt.is_none() {
            // One item: a conditional update that answers with the item as written.
            let result = self
                .client
                .update_item()
                .table_name(&self.tables.requests)
                .key("requestId", s(&t.request_id))
                .update_expression(update)
                .condition_expression(condition)
                .expression_attribute_names("#status", "status")
                .set_expression_attribute_values(Some(values))
                .return_values(ReturnValue::AllNew)
                .send()
                .await;
            return match result {
                Ok(out) => decode(out.attributes.unwrap_or_default()),
                Err(e) if condition_failed(&e) => Err(conflict()),
                Err(e) => Err(unavailable(e)),
            };
        }
        let update_request = Update::builder()
            .table_name(&self.tables.requests)
            .key("requestId", s(&t.request_id))
            .update_expression(update)
            .condition_expression(condition)
            .expression_attribute_names("#status", "status")
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(build_error)?;
        let mut transaction = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(update_request).build());
        if t.releases_website() {
            // Ending a request releases its website in the same write.
            let release = Update::builder()
                .table_name(&self.tables.websites)
                .key("websiteId", s(&t.website_id))
                .condition_expression("openRequestId = :rid")
                .expression_attribute_values(":rid", s(&t.request_id));
            let release = match &t.website_effect {
                None => release.update_expression("REMOVE openRequestId"),
                Some(WebsiteEffect::Clear) => release
                    .update_expression("SET #status = :cleared REMOVE openRequestId")
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(
                        ":cleared",
                        encode_value(&WebsiteStatus::Cleared)?,
                    ),
                Some(WebsiteEffect::ReplaceServiceIps(ips)) => release
                    .update_expression("SET serviceIps = :ips REMOVE openRequestId")
                    .expression_attribute_values(":ips", encode_value(ips)?),
            };
            transaction = transaction.transact_items(
                TransactWriteItem::builder()
                    .update(release.build().map_err(build_error)?)
                    .build(),
            );
        }
        if t.claims_website() {
            // Reopening a request holds its website open again, if nothing else holds it.
            let claim = Update::builder()
                .table_name(&self.tables.websites)
                .key("websiteId", s(&t.website_id))
                .update_expression("SET openRequestId = :rid")
                .condition_expression(
                    "attribute_exists(websiteId) AND attribute_not_exists(openRequestId) AND #status = :active",
                )
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":rid", s(&t.request_id))
                .expression_attribute_values(":active", encode_value(&WebsiteStatus::Active)?)
                .build()
                .map_err(build_error)?;
            transaction =
                transaction.transact_items(TransactWriteItem::builder().update(claim).build());
        }
        if t.next_attempt.is_some() {
            // The next attempt's start, written with it: its insert on the table's stream has
            // start-workflow start the attempt, as a new request's own insert does.
            let expires_at = t.entry.at.timestamp() + ATTEMPT_START_TTL_SECONDS;
            // An update that creates the item: the stream says INSERT all the same, and the
            // functions keep no PutItem on the requests table (which could replace a request).
            let start = Update::builder()
                .table_name(&self.tables.requests)
                .key(
                    "requestId",
                    s(attempt_start_key(&t.request_id, t.attempt + 1)),
                )
                .update_expression("SET expiresAt = :expires")
                // Only an insert starts anything: a start item already there is an error.
                .condition_expression("attribute_not_exists(requestId)")
                .expression_attribute_values(":expires", AttributeValue::N(expires_at.to_string()))
                .build()
                .map_err(build_error)?;
            transaction =
                transaction.transact_items(TransactWriteItem::builder().update(start).build());
        }
        match transaction.send().await {
            Ok(_) => {}
            Err(e) => {
                // The parts in order: the request, then the release or the start.
                return Err(match failed_conditions(&e).as_deref() {
                    Some([true, ..]) => conflict(),
                    Some([_, true]) if t.releases_website() => StoreError::Corrupt(format!(
                        "website {} does not hold {} open",
                        t.website_id, t.request_id
                    )),
                    Some([_, true]) if t.claims_website() => StoreError::Conflict(format!(
                        "website {} is not free for {}",
                        t.website_id, t.request_id
                    )),
                    Some([_, true]) => StoreError::Corrupt(format!(
                        "{} already has the start of attempt {}",
                        t.request_id,
                        t.attempt + 1
                    )),
                    _ => unavailable(e),
                });
            }
        }
        self.get_request(&t.request_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("{} vanished", t.request_id)))
    }

    async fn requests_in_status(&self, status: Status) -> Result<Vec<Request>, StoreError> {
        self.query(
            &self.tables.requests,
            REQUESTS_BY_STATUS,
            "status",
            status.as_str(),
            false,
        )
        .await
    }

    async fn review_queue(
        &self,
        limit: usize,
        after: Option<&QueuePosition>,
    ) -> Result<(Vec<Request>, Option<QueuePosition>), StoreError> {
        let start = after.map(|position| {
            HashMap::from([
                ("reviewQueue".to_string(), s(REVIEW_QUEUE)),
                (
                    "reviewQueueSort".to_string(),
                    s(sort_key(position.due_at, &position.request_id)),
                ),
                ("requestId".to_string(), s(&position.request_id)),
            ])
        });
        let page = self
            .client
            .query()
            .table_name(&self.tables.requests)
            .index_name(REQUESTS_BY_REVIEW_DUE)
            .key_condition_expression("reviewQueue = :queue")
            .expression_attribute_values(":queue", s(REVIEW_QUEUE))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(unavailable)?;
        let requests = page
            .items
            .unwrap_or_default()
            .into_iter()
            .map(decode)
            .collect::<Result<Vec<Request>, _>>()?;
        // DynamoDB says more may follow when the page is full, even if none do.
        let last = requests
            .last()
            .filter(|_| page.last_evaluated_key.is_some())
            .map(QueuePosition::of);
        Ok((requests, last))
    }

    async fn record_review(
        &self,
        request_id: &str,
        attempt: u32,
        review: &ReviewDecision,
    ) -> Result<Option<String>, StoreError> {
        let token_attribute = TokenSlot::FirstReview.attribute();
        let result = self
            .client
            .update_item()
            .table_name(&self.tables.requests)
            .key("requestId", s(request_id))
            .update_expression("SET review = :review")
            .return_values(ReturnValue::AllNew)
            .condition_expression(
                "#status = :pending AND attempt = :attempt AND attribute_not_exists(review)",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":review", AttributeValue::M(encode(review)?))
            .expression_attribute_values(":pending", s(Status::PendingFirstReview.as_str()))
            .expression_attribute_values(":attempt", AttributeValue::N(attempt.to_string()))
            .send()
            .await;
        match result {
            Ok(out) => Ok(out
                .attributes
                .and_then(|mut item| item.remove(token_attribute))
                .and_then(|token| token.as_s().ok().cloned())),
            Err(e) if condition_failed(&e) => Err(StoreError::Conflict(format!(
                "{request_id} is not awaiting a decision"
            ))),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn put_task_token(
        &self,
        request_id: &str,
        attempt: u32,
        slot: TokenSlot,
        sealed_token: &str,
        issued_at: &str,
    ) -> Result<bool, StoreError> {
        let issued_attribute = slot.issued_at_attribute();
        let result = self
            .client
            .update_item()
            .table_name(&self.tables.requests)
            .key("requestId", s(request_id))
            .update_expression("SET #token = :token, #issued = :issued")
            .condition_expression(
                "attempt = :attempt AND (attribute_not_exists(#issued) OR #issued <= :issued)",
            )
            .expression_attribute_names("#token", slot.attribute())
            .expression_attribute_names("#issued", issued_attribute)
            .expression_attribute_values(":token", s(sealed_token))
            .expression_attribute_values(":issued", s(issued_at))
            .expression_attribute_values(":attempt", AttributeValue::N(attempt.to_string()))
            .send()
            .await;
        if condition_held(result)? {
            return Ok(true);
        }
        // Refused: either another attempt runs, or a later wait's token is kept.
        match self
            .attribute_at_attempt(request_id, attempt, issued_attribute)
            .await?
        {
            Some(_) => Ok(false),
            None => Err(StoreError::Conflict(format!(
                "{request_id} is not at attempt {attempt}"
            ))),
        }
    }

    async fn task_token(
        &self,
        request_id: &str,
        attempt: u32,
        slot: TokenSlot,
    ) -> Result<Option<String>, StoreError> {
        self.attribute_at_attempt(request_id, attempt, slot.attribute())
            .await
    }

    async fn reserve_password_check(
        &self,
        entity_id: &str,
        check: &str,
        lock_after: u32,
        expired_lock: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<bool, StoreError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.tables.entities)
            .key("entityId", s(entity_id))
            .expression_attribute_values(":check", s(check))
            .expression_attribute_values(":checks", AttributeValue::Ss(vec![check.to_string()]))
            .expression_attribute_values(":one", AttributeValue::N("1".into()));
        let fresh = "NOT contains(passwordChecks, :check)";
        if let Some(expired) = expired_lock {
            // The first check after a lock ran out counts one, not one more than the limit.
            let restarted = update
                .clone()
                .update_expression(
                    "SET failedPasswordAttempts = :one REMOVE lockedUntil ADD passwordChecks :checks",
                )
                .condition_expression(format!("lockedUntil = :expired AND {fresh}"))
                .expression_attribute_values(":expired", encode_value(&expired)?)
                .send()
                .await;
            if condition_held(restarted)? {
                return Ok(true);
            }
        }
        // One write counts the check and checks the count: parallel checks each get their own.
        let reserved = update
            .update_expression("ADD failedPasswordAttempts :one, passwordChecks :checks")
            .condition_expression(format!(
                "{fresh} AND attribute_not_exists(lockedUntil) \
                 AND (attribute_not_exists(failedPasswordAttempts) OR failedPasswordAttempts < :limit)"
            ))
            .expression_attribute_values(":limit", AttributeValue::N(lock_after.to_string()))
            .send()
            .await;
        if condition_held(reserved)? {
            return Ok(true);
        }
        // Refused: reserved already by an earlier run of this check, or the tries are spent.
        let item = self
            .client
            .get_item()
            .table_name(&self.tables.entities)
            .key("entityId", s(entity_id))
            .projection_expression("passwordChecks")
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(item
            .item()
            .and_then(|i| i.get("passwordChecks"))
            .and_then(|checks| checks.as_ss().ok())
            .is_some_and(|checks| checks.iter().any(|c| c == check)))
    }

    async fn settle_password_check(
        &self,
        entity_id: &str,
        check: &str,
        matched: bool,
        lock_after: u32,
        lock_until: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.tables.entities)
            .key("entityId", s(entity_id))
            .expression_attribute_values(":check", s(check));
        if !matched {
            // The lock first, then the settlement: a settlement retried after a crash between
            // the two still locks. Set once, by whichever mismatch finds the count at the limit.
            let locked = update
                .clone()
                .update_expression("SET lockedUntil = :until")
                .condition_expression(
                    "contains(passwordChecks, :check) AND failedPasswordAttempts >= :limit \
                     AND attribute_not_exists(lockedUntil)",
                )
                .expression_attribute_values(":until", encode_value(&lock_until)?)
                .expression_attribute_values(":limit", AttributeValue::N(lock_after.to_string()))
                .send()
                .await;
            condition_held(locked)?;
        }
        let expression = match matched {
            true => "SET failedPasswordAttempts = :zero REMOVE lockedUntil DELETE passwordChecks :checks",
            false => "DELETE passwordChecks :checks",
        };
        let update = update
            .update_expression(expression)
            .condition_expression("contains(passwordChecks, :check)")
            .expression_attribute_values(":checks", AttributeValue::Ss(vec![check.to_string()]));
        let update = match matched {
            true => update.expression_attribute_values(":zero", AttributeValue::N("0".into())),
            false => update,
        };
        // Not reserved, or settled already: nothing to do.
        condition_held(update.send().await).map(|_| ())
    }

    async fn start_password_reset(
        &self,
        entity_id: &str,
        reset: &PasswordReset,
        codes_sent: &[chrono::DateTime<chrono::Utc>],
        codes_sent_before: &[chrono::DateTime<chrono::Utc>],
    ) -> Result<(), StoreError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.tables.entities)
            .key("entityId", s(entity_id))
            .update_expression("SET passwordReset = :reset, resetCodesSent = :sent")
            .expression_attribute_values(":reset", encode_value(reset)?)
            .expression_attribute_values(":sent", encode_value(&codes_sent)?);
        let update = if codes_sent_before.is_empty() {
            update.condition_expression(
                "attribute_exists(entityId) AND attribute_not_exists(resetCodesSent)",
            )
        } else {
            update
                .condition_expression("resetCodesSent = :before")
                .expression_attribute_values(":before", encode_value(&codes_sent_before)?)
        };
        conflict_unless_held(update.send().await, entity_id)
    }

    async fn reserve_code_try(
        &self,
        entity_id: &str,
        reset_id: &str,
        limit: u32,
    ) -> Result<Option<u32>, StoreError> {
        // One write counts the try and checks the count: parallel tries each get their own.
        let result = self
            .open_reset_update(
                entity_id,
                reset_id,
                " AND passwordReset.wrongCodes < :limit",
            )
            .update_expression("SET passwordReset.wrongCodes = passwordReset.wrongCodes + :one")
            .expression_attribute_values(":limit", AttributeValue::N(limit.to_string()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await;
        match result {
            Ok(out) => {
                let tries = out
                    .attributes()
                    .and_then(|a| a.get("passwordReset"))
                    .and_then(|r| r.as_m().ok())
                    .and_then(|r| r.get("wrongCodes"))
                    .and_then(|n| n.as_n().ok())
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| {
                        StoreError::Corrupt(format!("entity {entity_id}: no count of code tries"))
                    })?;
                Ok(Some(tries))
            }
            Err(e) if condition_failed(&e) => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn complete_password_reset(
        &self,
        entity_id: &str,
        reset_id: &str,
        password_hash: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        // SET reads the item as it was: the hash replaced is kept as the previous one.
        let result = self
            .open_reset_update(entity_id, reset_id, "")
            .update_expression(
                "SET previousPasswordHash = passwordHash, passwordHash = :hash, \
                 passwordChangedAt = :at, passwordReset.completedAt = :at, \
                 failedPasswordAttempts = :zero REMOVE lockedUntil",
            )
            .expression_attribute_values(":hash", s(password_hash))
            .expression_attribute_values(":at", encode_value(&at)?)
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .send()
            .await;
        conflict_unless_held(result, entity_id)
    }

    async fn claim_notification(
        &self,
        id: &str,
        now: chrono::DateTime<chrono::Utc>,
        lease_until: chrono::DateTime<chrono::Utc>,
    ) -> Result<Claim, StoreError> {
        let millis =
            |t: chrono::DateTime<chrono::Utc>| AttributeValue::N(t.timestamp_millis().to_string());
        let result = self
            .client
            .put_item()
            .table_name(&self.tables.notifications)
            .item("notificationId", s(id))
            .item("status", s("sending"))
            .item("claimedAt", s(now.to_rfc3339()))
            .item("leaseUntil", millis(lease_until))
            .condition_expression(
                "attribute_not_exists(notificationId) OR (#status = :sending AND leaseUntil < :now)",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":sending", s("sending"))
            .expression_attribute_values(":now", millis(now))
            .send()
            .await;
        if condition_held(result)? {
            return Ok(Claim::Claimed);
        }
        let item = self
            .client
            .get_item()
            .table_name(&self.tables.notifications)
            .key("notificationId", s(id))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?
            .item
            .unwrap_or_default();
        Ok(match item.get("status").and_then(|v| v.as_s().ok()) {
            Some(status) if status == "sending" => Claim::InFlight,
            _ => Claim::Settled,
        })
    }

    async fn finish_notification(&self, id: &str, error: Option<&str>) -> Result<(), StoreError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.tables.notifications)
            .key("notificationId", s(id))
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":at", s(chrono::Utc::now().to_rfc3339()));
        let update = match error {
            None => update
                .update_expression("SET #status = :sent, finishedAt = :at")
                .expression_attribute_values(":sent", s("sent")),
            Some(e) => update
                .update_expression("SET #status = :failed, finishedAt = :at, #error = :error")
                .expression_attribute_names("#error", "error")
                .expression_attribute_values(":failed", s("failed"))
                .expression_attribute_values(":error", s(e)),
        };
        // The message is out: without this record a retried step would send it again once the
        // claim's lease ran out. So this write outlasts passing failures longer than others (the
        // SDK's own retries share a quota that heavy throttling drains): 0.1 s to 1.6 s apart,
        // about 3 s in all, well within any function's time.
        let mut pause = std::time::Duration::from_millis(100);
        for _ in 0..FINISH_ATTEMPTS - 1 {
            if update.clone().send().await.is_ok() {
                return Ok(());
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(std::time::Duration::from_millis(1600));
        }
        update.send().await.map_err(unavailable)?;
        Ok(())
    }
}

/// How many times recording a sent notification is tried (see `finish_notification`).
const FINISH_ATTEMPTS: u32 = 6;

/// `StoreError::Conflict` when a conditional write on the entity did not apply.
fn conflict_unless_held<T, E>(
    result: Result<T, SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>>,
    entity_id: &str,
) -> Result<(), StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match condition_held(result)? {
        true => Ok(()),
        false => Err(StoreError::Conflict(format!(
            "entity {entity_id}: its password reset moved"
        ))),
    }
}

fn encode_value<T: serde::Serialize>(value: &T) -> Result<AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}
