//! The task tokens the workflow waits on (`icp_domain::ports::TaskTokens`), sealed on the
//! request's item beside when each wait began, so a stale token never replaces a live one.

use super::{condition_held, s, DynamoStore};
use aws_sdk_dynamodb::types::AttributeValue;
use icp_domain::ports::{TaskTokens, TokenSlot};
use icp_domain::StoreError;

impl TaskTokens for DynamoStore {
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
}
