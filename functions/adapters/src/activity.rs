//! The workflow waits for people (the reviewer, the authority) on Step Functions activity
//! tasks rather than `.waitForTaskToken` Lambda tasks: an activity's token is handed only to the
//! worker that polls for it, so it never appears in the execution history.
//!
//! Beside each wait the state machine runs a worker Lambda that takes one waiting task of the
//! activity — any execution's, since activity tasks are not addressed — and serves it for the
//! request named in the task's input. Each wait starts one worker, so every task is served.
//! If serving fails, the failure goes back to the task's own execution (`SendTaskFailure`, with
//! the error's name), which retries or fails exactly as if its own Lambda had failed.

use crate::step::{StepError, RETRYABLE};
use aws_sdk_sfn::config::timeout::TimeoutConfig;
use aws_sdk_sfn::Client;
use serde::Deserialize;
use std::future::Future;
use std::time::{Duration, SystemTime};

/// GetActivityTask holds the request up to 60 s; AWS asks workers to wait at least 65 s.
const POLL_READ_TIMEOUT: Duration = Duration::from_secs(70);
/// A poll is started only with this much of the invocation left: a full poll plus the serving.
const POLL_BUDGET: Duration = Duration::from_secs(90);

/// What the state machine puts in a waiting task (the activity state's `Parameters`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskInput {
    pub request_id: String,
    pub attempt: u32,
    /// When the wait began (`$$.State.EnteredTime`): orders the waits of one attempt.
    pub issued_at: String,
}

pub struct ActivityWorker {
    client: Client,
    activity_arn: String,
}

impl ActivityWorker {
    /// The worker for the activity whose ARN is in the environment variable `env_name`.
    pub fn from_env(
        config: &aws_config::SdkConfig,
        env_name: &str,
    ) -> Result<ActivityWorker, lambda_runtime::Error> {
        let timeouts = TimeoutConfig::builder()
            .read_timeout(POLL_READ_TIMEOUT)
            .build();
        let sfn_config = aws_sdk_sfn::config::Builder::from(config)
            .timeout_config(timeouts)
            .build();
        Ok(ActivityWorker {
            client: Client::from_conf(sfn_config),
            activity_arn: crate::aws::env(env_name)?,
        })
    }

    /// Takes one waiting task and serves it with `serve(input, token)`; polls again while the
    /// invocation (ending at `deadline`) has time for it. Errors of `serve` go to the task's
    /// execution; the invocation itself fails only if Step Functions cannot be reached.
    pub async fn serve_one<F, Fut>(
        &self,
        worker_name: &str,
        deadline: SystemTime,
        serve: F,
    ) -> Result<(), StepError>
    where
        F: FnOnce(TaskInput, String) -> Fut,
        Fut: Future<Output = Result<(), StepError>>,
    {
        while deadline
            .duration_since(SystemTime::now())
            .is_ok_and(|left| left > POLL_BUDGET)
        {
            let task = self
                .client
                .get_activity_task()
                .activity_arn(&self.activity_arn)
                .worker_name(worker_name)
                .send()
                .await
                .map_err(|e| unavailable("GetActivityTask", e))?;
            let Some(token) = task.task_token.filter(|t| !t.is_empty()) else {
                continue; // nothing came within the long poll
            };
            let input = task.input.unwrap_or_default();
            let outcome = match serde_json::from_str::<TaskInput>(&input) {
                Ok(input) => {
                    tracing::info!(request_id = %input.request_id, attempt = input.attempt, "serving a waiting task");
                    serve(input, token.clone()).await
                }
                Err(e) => Err(StepError {
                    kind: "Corrupt",
                    message: format!("activity task input: {e}"),
                }),
            };
            if let Err(error) = outcome {
                tracing::warn!(error = %error.message, kind = error.kind, "handing the failure back to its execution");
                self.fail(&token, &error).await?;
            }
            return Ok(());
        }
        tracing::warn!("no waiting task came: its token was claimed by a worker that failed");
        crate::telemetry::count("ActivityTaskMissing");
        Ok(())
    }

    async fn fail(&self, token: &str, error: &StepError) -> Result<(), StepError> {
        let result = self
            .client
            .send_task_failure()
            .task_token(token)
            .error(error.kind)
            .cause(&error.message)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // The wait ended meanwhile (timed out, execution stopped): nobody to tell.
            Err(e)
                if e.as_service_error().is_some_and(|se| {
                    se.is_task_timed_out() || se.is_invalid_token() || se.is_task_does_not_exist()
                }) =>
            {
                Ok(())
            }
            Err(e) => Err(unavailable("SendTaskFailure", e)),
        }
    }
}

fn unavailable(operation: &str, e: impl std::error::Error + Send + Sync + 'static) -> StepError {
    StepError {
        kind: RETRYABLE,
        message: format!(
            "{operation}: {}",
            aws_sdk_sfn::error::DisplayErrorContext(e)
        ),
    }
}
