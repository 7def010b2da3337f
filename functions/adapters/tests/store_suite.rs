//! The store contract suite (`icp_testkit::store_contract`) against the in-memory fake and
//! against DynamoDB Local (the tables of the stack `make up` deployed).

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Utc;
use icp_adapters::dynamo::{attempt_start_key, attempt_started_by, DynamoStore, Tables};
use icp_domain::ports::Requests;
use icp_domain::*;
use icp_testkit::memory::MemoryStore;
use icp_testkit::store_contract::{
    self, fixture, idempotency, new_request, resubmission, unique, Seed,
};

/// Seeds DynamoDB directly: the store itself has no use for writing entities or websites.
struct DynamoSeed {
    client: aws_sdk_dynamodb::Client,
    tables: Tables,
}

impl Seed for DynamoSeed {
    async fn seed(&self, entity: &Entity, websites: &[Website]) {
        let put = |table: &str, item| {
            self.client
                .put_item()
                .table_name(table)
                .set_item(Some(item))
                .send()
        };
        put(
            &self.tables.entities,
            serde_dynamo::to_item(entity).unwrap(),
        )
        .await
        .unwrap();
        for w in websites {
            put(&self.tables.websites, serde_dynamo::to_item(w).unwrap())
                .await
                .unwrap();
        }
    }
}

#[tokio::test]
async fn memory_store_passes_the_store_suite() {
    let store = MemoryStore::default();
    store_contract::run(&store, &store).await;
}

/// Needs the local stack: `make test` starts it and runs the ignored tests too.
#[tokio::test]
#[ignore = "needs DynamoDB Local through LocalStack: run by make test"]
async fn dynamodb_store_passes_the_store_suite() {
    let stack = icp_adapters_test_stack();
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(icp_adapters::aws::sdk_https_client())
        .endpoint_url(&stack.endpoint)
        .region(aws_config::Region::new(stack.region.clone()))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .load()
        .await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let store = DynamoStore::new(client.clone(), stack.tables.clone());
    let seeder = DynamoSeed {
        client,
        tables: stack.tables,
    };
    store_contract::run(&store, &seeder).await;
    // What the store wrote for a request never leaks the sealed password through the index.
    let (entity, websites) = fixture();
    seeder.seed(&entity, &websites).await;
    let r = new_request(&websites[0], Utc::now());
    store
        .create_request(
            &r,
            "sealed-secret",
            &idempotency(&entity, &unique("key"), &r),
        )
        .await
        .unwrap();
    let via_index = seeder
        .client
        .query()
        .table_name(&seeder.tables.requests)
        .index_name("byWebsite")
        .key_condition_expression("websiteId = :w")
        .expression_attribute_values(":w", AttributeValue::S(websites[0].website_id.clone()))
        .send()
        .await
        .unwrap();
    let item = &via_index.items()[0];
    assert!(!item.contains_key("sealedPassword"));

    // "Modify and Submit" writes, with the next attempt, the item whose insert starts it: its
    // key and its expiry only (the stream carries keys), and no request answers to its key.
    let now = Utc::now();
    let rejected = store
        .apply(
            &r.transition(
                Status::PasswordRejected,
                "system",
                HistoryEvent::PasswordRejected,
                now,
            )
            .unwrap(),
        )
        .await
        .unwrap();
    store.apply(&resubmission(&rejected, now)).await.unwrap();
    let key = attempt_start_key(&r.request_id, 2);
    let start = seeder
        .client
        .get_item()
        .table_name(&seeder.tables.requests)
        .key("requestId", AttributeValue::S(key.clone()))
        .send()
        .await
        .unwrap()
        .item
        .expect("the attempt's start item");
    let mut names: Vec<_> = start.keys().cloned().collect();
    names.sort();
    assert_eq!(names, ["expiresAt", "requestId"]);
    assert_eq!(attempt_started_by(&key), Some((r.request_id.clone(), 2)));
    assert_eq!(
        attempt_started_by(&r.request_id),
        Some((r.request_id.clone(), 1))
    );
    assert_eq!(store.get_request(&key).await.unwrap(), None);
}

struct TestStack {
    endpoint: String,
    region: String,
    tables: Tables,
}

/// The deployed stack's table names, from the outputs `make up` wrote to `.local/stack.json`.
fn icp_adapters_test_stack() -> TestStack {
    // Read at run time: the build's own path may belong to another clone sharing the target dir.
    let root = std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo");
    let path = format!("{root}/../../.local/stack.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}; run `make up` (or `make test`) first"));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let s = |k: &str| {
        v[k].as_str()
            .unwrap_or_else(|| panic!("{k} missing in {path}"))
            .to_string()
    };
    TestStack {
        endpoint: s("localstackUrl"),
        region: s("region"),
        tables: Tables {
            entities: s("EntitiesTableName"),
            websites: s("WebsitesTableName"),
            requests: s("RequestsTableName"),
            idempotency: s("IdempotencyTableName"),
            notifications: s("NotificationsTableName"),
        },
    }
}
