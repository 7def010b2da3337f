//! The notification ledger (`icp_domain::ports::NotificationLedger`): each notification claimed
//! under a lease before it is sent and recorded once sent, so it goes out once.

use super::{condition_held, s, unavailable, DynamoStore};
use aws_sdk_dynamodb::types::AttributeValue;
use icp_domain::ports::{Claim, NotificationLedger};
use icp_domain::StoreError;

impl NotificationLedger for DynamoStore {
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
