//! License password checks (`icp_domain::ports::PasswordChecks`): the sealed password on the
//! request's item, and the entity's failed checks counted before each check is judged.

use super::{condition_held, encode_value, s, unavailable, DynamoStore};
use aws_sdk_dynamodb::types::AttributeValue;
use icp_domain::ports::PasswordChecks;
use icp_domain::StoreError;

impl PasswordChecks for DynamoStore {
    async fn sealed_password(
        &self,
        request_id: &str,
        attempt: u32,
    ) -> Result<Option<String>, StoreError> {
        self.attribute_at_attempt(request_id, attempt, "sealedPassword")
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
}
