//! A provider's filings (`icp_domain::ports::Filings`): entities and websites read one by one or
//! in batches, and the import's writes of their fields, each in one conditional update that keeps
//! what the system keeps of them.

use super::{condition_failed, encode_value, s, unavailable, DynamoStore, WEBSITES_BY_ENTITY};
use aws_sdk_dynamodb::types::KeysAndAttributes;
use icp_domain::error::StoreError;
use icp_domain::ports::Filings;
use icp_domain::{Entity, Website, WebsiteStatus};

impl Filings for DynamoStore {
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

    async fn entities(&self, ids: &[String]) -> Result<Vec<Entity>, StoreError> {
        self.batch_get(&self.tables.entities, "entityId", ids).await
    }

    async fn websites(&self, ids: &[String]) -> Result<Vec<Website>, StoreError> {
        self.batch_get(&self.tables.websites, "websiteId", ids)
            .await
    }

    /// The filing's fields; a new entity starts with no failed password checks, an entity
    /// already there keeps its count, lock and retrieval.
    async fn write_entity(&self, entity: &Entity) -> Result<(), StoreError> {
        const FILING: &str = "SET #name = :name, entityLicenseNumber = :license, \
            passwordHash = :hash, phone = :phone, email = :email, \
            failedPasswordAttempts = if_not_exists(failedPasswordAttempts, :zero)";
        let update = match entity.language {
            Some(_) => format!("{FILING}, #language = :language"),
            None => format!("{FILING} REMOVE #language"),
        };
        let mut call = self
            .client
            .update_item()
            .table_name(&self.tables.entities)
            .key("entityId", s(&entity.entity_id))
            .update_expression(update)
            .expression_attribute_names("#name", "name")
            .expression_attribute_names("#language", "language")
            .expression_attribute_values(":name", s(&entity.name))
            .expression_attribute_values(":license", s(&entity.entity_license_number))
            .expression_attribute_values(":hash", s(&entity.password_hash))
            .expression_attribute_values(":phone", s(&entity.phone))
            .expression_attribute_values(":email", s(&entity.email))
            .expression_attribute_values(":zero", encode_value(&0u32)?);
        if let Some(language) = entity.language {
            call = call.expression_attribute_values(":language", encode_value(&language)?);
        }
        call.send().await.map_err(unavailable)?;
        Ok(())
    }

    /// The filing's fields, refused (`Conflict`) while the website has an open request or once
    /// it is cleared; a new website is active.
    async fn write_website(&self, website: &Website) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.tables.websites)
            .key("websiteId", s(&website.website_id))
            .update_expression(
                "SET entityId = :entity, #domain = :domain, websiteLicenseNumber = :license, \
                 serviceIps = :ips, #status = if_not_exists(#status, :active)",
            )
            .condition_expression(
                "attribute_not_exists(openRequestId) AND \
                 (attribute_not_exists(websiteId) OR #status = :active)",
            )
            .expression_attribute_names("#domain", "domain")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":entity", s(&website.entity_id))
            .expression_attribute_values(":domain", s(&website.domain))
            .expression_attribute_values(":license", s(&website.website_license_number))
            .expression_attribute_values(":ips", encode_value(&website.service_ips)?)
            .expression_attribute_values(":active", encode_value(&WebsiteStatus::Active)?)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Err(StoreError::Conflict(format!(
                "website {} has an open request or was cleared",
                website.website_id
            ))),
            Err(e) => Err(unavailable(e)),
        }
    }
}

/// Keys one BatchGetItem call may ask for.
const BATCH: usize = 100;

impl DynamoStore {
    /// The items of `ids` in `table` (keyed by `key`) that exist, a hundred a call, asking again
    /// for the keys DynamoDB leaves unprocessed.
    async fn batch_get<T: serde::de::DeserializeOwned>(
        &self,
        table: &str,
        key: &str,
        ids: &[String],
    ) -> Result<Vec<T>, StoreError> {
        let mut found = Vec::new();
        let mut unique: Vec<&String> = ids.iter().collect();
        unique.sort();
        unique.dedup();
        for chunk in unique.chunks(BATCH) {
            let keys = chunk
                .iter()
                .map(|id| std::collections::HashMap::from([(key.to_string(), s(id.as_str()))]))
                .collect();
            let mut request = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .consistent_read(true)
                    .build()
                    .map_err(super::build_error)?,
            );
            while let Some(asked) = request.take() {
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(table, asked)
                    .send()
                    .await
                    .map_err(unavailable)?;
                for item in out
                    .responses
                    .unwrap_or_default()
                    .remove(table)
                    .unwrap_or_default()
                {
                    found.push(super::decode(item)?);
                }
                request = out
                    .unprocessed_keys
                    .and_then(|mut left| left.remove(table))
                    .filter(|left| !left.keys().is_empty());
            }
        }
        Ok(found)
    }
}
