//! The request workflow on Step Functions: executions started, resumed from a wait, stopped.

use aws_sdk_sfn::types::{ExecutionStatus, IncludedData};
use aws_sdk_sfn::Client;
use icp_domain::error::WorkflowError;
use icp_domain::ports::{Execution, Workflow};
use serde_json::json;
use std::collections::HashSet;

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

    pub fn from_env(config: &aws_config::SdkConfig) -> Result<StepFunctionsWorkflow, crate::Error> {
        Ok(StepFunctionsWorkflow::new(
            Client::new(config),
            crate::aws::env("STATE_MACHINE_ARN")?,
        ))
    }
}

impl StepFunctionsWorkflow {
    fn execution_arn(&self, request_id: &str, attempt: u32) -> String {
        format!(
            "{}:{}",
            self.state_machine_arn
                .replacen(":stateMachine:", ":execution:", 1),
            execution_name(request_id, attempt)
        )
    }
}

/// Step Functions could not be reached, or refused for a reason a retry may cure.
fn unavailable(e: impl std::error::Error) -> WorkflowError {
    WorkflowError::Unavailable(aws_sdk_sfn::error::DisplayErrorContext(e).to_string())
}

/// One execution per attempt: the name makes a second start of the same attempt a no-op.
pub fn execution_name(request_id: &str, attempt: u32) -> String {
    format!("{request_id}-{attempt}")
}

/// The attempt started again (`Workflow::restart`), named by `run`.
pub fn restart_name(request_id: &str, attempt: u32, run: usize) -> String {
    format!("{request_id}-{attempt}_{run}")
}

impl StepFunctionsWorkflow {
    async fn start_named(
        &self,
        name: String,
        request_id: &str,
        attempt: u32,
    ) -> Result<(), WorkflowError> {
        // Identifiers only: no secret ever enters the execution input or history.
        let input = json!({ "requestId": request_id, "attempt": attempt }).to_string();
        let result = self
            .client
            .start_execution()
            .state_machine_arn(&self.state_machine_arn)
            .name(name)
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
            Err(e) => Err(unavailable(e)),
        }
    }
}

impl Workflow for StepFunctionsWorkflow {
    async fn start(&self, request_id: &str, attempt: u32) -> Result<(), WorkflowError> {
        self.start_named(execution_name(request_id, attempt), request_id, attempt)
            .await
    }

    async fn restart(
        &self,
        request_id: &str,
        attempt: u32,
        run: usize,
    ) -> Result<(), WorkflowError> {
        let name = restart_name(request_id, attempt, run);
        self.start_named(name, request_id, attempt).await
    }

    async fn resume(
        &self,
        task_token: &str,
        output: &serde_json::Value,
    ) -> Result<bool, WorkflowError> {
        let result = self
            .client
            .send_task_success()
            .task_token(task_token)
            .output(output.to_string())
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            // The task already ended (completed by the other party, timed out, or stopped).
            Err(e)
                if e.as_service_error().is_some_and(|se| {
                    se.is_task_timed_out() || se.is_invalid_token() || se.is_task_does_not_exist()
                }) =>
            {
                tracing::info!("task token no longer waited on");
                Ok(false)
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn execution(&self, request_id: &str, attempt: u32) -> Result<Execution, WorkflowError> {
        let result = self
            .client
            .describe_execution()
            .execution_arn(self.execution_arn(request_id, attempt))
            // Only the status is read. The execution's input and output are encrypted with the
            // workflow key, which this function's role may not decrypt: asking for them too
            // would be refused (KmsAccessDeniedException) on AWS, where LocalStack ignores the key.
            .included_data(IncludedData::MetadataOnly)
            .send()
            .await;
        match result {
            Ok(described) => Ok(match described.status() {
                // A failed execution being redriven runs again.
                ExecutionStatus::Running | ExecutionStatus::PendingRedrive => Execution::Running,
                _ => Execution::Ended,
            }),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_execution_does_not_exist()) =>
            {
                Ok(Execution::Missing)
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Stopped without a cause: with one, Step Functions would encrypt it under the workflow's
    /// key on the caller's behalf, which the API's role is not let do.
    async fn stop(&self, request_id: &str, attempt: u32) -> Result<(), WorkflowError> {
        let result = self
            .client
            .stop_execution()
            .execution_arn(self.execution_arn(request_id, attempt))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_execution_does_not_exist()) =>
            {
                Ok(())
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn running(&self) -> Result<HashSet<(String, u32)>, WorkflowError> {
        let mut running = HashSet::new();
        let mut pages = self
            .client
            .list_executions()
            .state_machine_arn(&self.state_machine_arn)
            .status_filter(ExecutionStatus::Running)
            .max_results(1000)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(unavailable)?;
            running.extend(
                page.executions()
                    .iter()
                    .filter_map(|e| attempt_of(e.name())),
            );
        }
        Ok(running)
    }
}

/// The attempt an execution's name (`execution_name`, `restart_name`) stands for.
fn attempt_of(execution_name: &str) -> Option<(String, u32)> {
    let (request_id, attempt) = execution_name.rsplit_once('-')?;
    let attempt = attempt
        .split_once('_')
        .map_or(attempt, |(attempt, _run)| attempt);
    Some((request_id.to_string(), attempt.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_execution_name_gives_back_its_attempt() {
        let name = execution_name("req-0f3a", 12);
        assert_eq!(attempt_of(&name), Some(("req-0f3a".to_string(), 12)));
        let restarted = restart_name("req-0f3a", 12, 7);
        assert_eq!(attempt_of(&restarted), Some(("req-0f3a".to_string(), 12)));
        assert_eq!(attempt_of("req-0f3a"), None);
        assert_eq!(attempt_of("nodash"), None);
    }
}
