//! License password retrieval (`icp_domain::ports::PasswordResets`): the reset on the entity's
//! item, each step a conditional update on the reset still open.

use super::{condition_failed, condition_held, encode_value, s, unavailable, DynamoStore};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use icp_domain::password_reset::PasswordReset;
use icp_domain::ports::PasswordResets;
use icp_domain::StoreError;

impl PasswordResets for DynamoStore {
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
}

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
