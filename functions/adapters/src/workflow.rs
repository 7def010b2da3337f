//! Starts request workflows on Step Functions.

use aws_sdk_sfn::Client;
use icp_domain::ports::{Workflow, WorkflowError};
use serde_json::json;

pub struct StepFunctionsWorkflow {
    client: Client,
    state_machine_arn: String,
}

impl StepFunctionsWorkflow {
    pub fn new(client: Client, state_machine_arn: String) -> StepFunctionsWorkflow {
        StepFunctionsWorkflow {
            client,
            state_machine_arn,
        }
    }

    pub fn from_env(
        config: &aws_config::SdkConfig,
    ) -> Result<StepFunctionsWorkflow, lambda_runtime::Error> {
        Ok(StepFunctionsWorkflow::new(
            Client::new(config),
            crate::aws::env("STATE_MACHINE_ARN")?,
        ))
    }
}

/// One execution per attempt: the name makes a second start of the same attempt a no-op.
pub fn execution_name(request_id: &str, attempt: u32) -> String {
    format!("{request_id}-{attempt}")
}

impl Workflow for StepFunctionsWorkflow {
    async fn start(&self, request_id: &str, attempt: u32) -> Result<(), WorkflowError> {
        // Identifiers only: no secret ever enters the execution input or history.
        let input = json!({ "requestId": request_id, "attempt": attempt }).to_string();
        let result = self
            .client
            .start_execution()
            .state_machine_arn(&self.state_machine_arn)
            .name(execution_name(request_id, attempt))
            .input(input)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_execution_already_exists()) =>
            {
                Ok(())
            }
            Err(e) => Err(WorkflowError::Unavailable(
                aws_sdk_sfn::error::DisplayErrorContext(e).to_string(),
            )),
        }
    }
}
