//! Run by the requests table's stream (new items only): starts the workflow of each request
//! submit wrote and of each attempt "Modify and Submit" wrote, so neither click waits for Step
//! Functions.
//! A record that fails is reported by its sequence number and handed over again; one the stream
//! gives up on is started by the sweeper.

use icp_adapters::dynamo::{attempt_started_by, DynamoStore};
use icp_adapters::workflow::StepFunctionsWorkflow;
use icp_domain::start::Start;
use icp_edge::lambda::{self, SdkConfig, StepFunction};
use icp_edge::step::StepError;
use lambda_runtime::{Context, Error};
use serde::{Deserialize, Serialize};

/// A DynamoDB stream batch, as much of it as is read: each record's key and sequence number.
#[derive(Deserialize)]
struct StreamBatch {
    /// Absent from an event that is not a stream batch: nothing to start.
    #[serde(rename = "Records", default)]
    records: Vec<StreamRecord>,
}

#[derive(Deserialize)]
struct StreamRecord {
    dynamodb: StreamChange,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StreamChange {
    keys: RequestKey,
    sequence_number: String,
}

#[derive(Deserialize)]
struct RequestKey {
    #[serde(rename = "requestId")]
    request_id: StringValue,
}

#[derive(Deserialize)]
struct StringValue {
    #[serde(rename = "S")]
    s: String,
}

/// The records to hand over again (Lambda's `ReportBatchItemFailures` answer).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BatchFailures {
    batch_item_failures: Vec<ItemFailure>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ItemFailure {
    item_identifier: String,
}

struct StartWorkflow {
    store: DynamoStore,
    workflow: StepFunctionsWorkflow,
}

impl StepFunction for StartWorkflow {
    type Input = StreamBatch;
    type Output = BatchFailures;

    async fn build(config: &SdkConfig) -> Result<Self, Error> {
        Ok(StartWorkflow {
            store: DynamoStore::from_env(config)?,
            workflow: StepFunctionsWorkflow::from_env(config)?,
        })
    }

    async fn handle(&self, batch: StreamBatch, _: &Context) -> Result<BatchFailures, StepError> {
        let start = &Start {
            store: &self.store,
            workflow: &self.workflow,
        };
        // The records are independent requests: started all at once.
        let starts = batch.records.iter().map(|record| async move {
            let key = &record.dynamodb.keys.request_id.s;
            let Some((request_id, attempt)) = attempt_started_by(key) else {
                tracing::warn!(key = %key, "not a request's or an attempt's key: nothing to start");
                return None;
            };
            match start.start_written(&request_id, attempt).await {
                Ok(started) => {
                    tracing::info!(request_id = %request_id, attempt, started, "workflow start");
                    None
                }
                Err(e) => {
                    tracing::warn!(request_id = %request_id, attempt, error = %e, "workflow not started");
                    Some(ItemFailure {
                        item_identifier: record.dynamodb.sequence_number.clone(),
                    })
                }
            }
        });
        let batch_item_failures = futures::future::join_all(starts)
            .await
            .into_iter()
            .flatten()
            .collect();
        Ok(BatchFailures {
            batch_item_failures,
        })
    }
}

fn main() -> Result<(), Error> {
    lambda::run_step::<StartWorkflow>()
}
