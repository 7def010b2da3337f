//! The requests (`icp_domain::ports::Requests`): a request is created with its website claim and
//! its idempotency key in one transaction, and moved on by conditional transitions that free or
//! claim the website and apply the request's effect on it in the same write.

use super::{
    attempt_start_key, build_error, condition_failed, decode, encode, encode_value,
    failed_conditions, s, sort_key, unavailable, DynamoStore, Item, ATTEMPT_START_SEPARATOR,
    ATTEMPT_START_TTL_SECONDS, IDEMPOTENCY_TTL_SECONDS, REQUESTS_BY_STATUS, REQUESTS_BY_WEBSITE,
    REVIEW_QUEUE,
};
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValue, TransactWriteItem, Update};
use icp_domain::ports::{CreateError, Requests, TokenSlot};
use icp_domain::{
    Decision, IdempotencyRecord, Request, Status, StoreError, Transition, WebsiteEffect,
    WebsiteStatus,
};
use std::collections::HashMap;

impl Requests for DynamoStore {
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
        let claim_website = self.claim_website(&request.website_id, &request.request_id)?;
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
            let claim = self.claim_website(&t.website_id, &t.request_id)?;
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
}

impl DynamoStore {
    /// The write that holds an active website open for `request_id`, if nothing holds it yet:
    /// a new request's, and a reopened one's.
    fn claim_website(&self, website_id: &str, request_id: &str) -> Result<Update, StoreError> {
        Update::builder()
            .table_name(&self.tables.websites)
            .key("websiteId", s(website_id))
            .update_expression("SET openRequestId = :rid")
            .condition_expression(
                "attribute_exists(websiteId) AND attribute_not_exists(openRequestId) AND #status = :active",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":rid", s(request_id))
            .expression_attribute_values(":active", encode_value(&WebsiteStatus::Active)?)
            .build()
            .map_err(build_error)
    }
}
