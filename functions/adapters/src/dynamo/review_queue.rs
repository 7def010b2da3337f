//! The reviewers' queue (`icp_domain::ports::ReviewQueue`): the requests awaiting first review
//! on a sparse index by due time, and the reviewer's decision recorded once per attempt.

use super::{
    condition_failed, decode, encode, s, sort_key, unavailable, DynamoStore,
    REQUESTS_BY_REVIEW_DUE, REVIEW_QUEUE,
};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use icp_domain::ports::{QueuePosition, ReviewQueue, TokenSlot};
use icp_domain::{Request, ReviewDecision, Status, StoreError};
use std::collections::HashMap;

impl ReviewQueue for DynamoStore {
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
}
