//! The workflow waits for people (the reviewer, the authority) on Step Functions activity
//! tasks rather than `.waitForTaskToken` Lambda tasks: an activity's token is handed only to the
//! worker that polls for it, so it never appears in the execution history.
//!
//! As each wait begins the state machine starts a worker Lambda without waiting for it (an
//! `Event` invocation, so a worker long-polling for a task never holds a wait up). Activity
//! tasks are not addressed: a poll gets the oldest waiting task of the activity, any
//! execution's, and the worker keeps its token for the request named in the task's input. So
//! a worker does not stop at the first task it keeps: it claims tasks until its *own* wait's
//! token is kept (by itself or by another worker) or that wait is over
//! (`steps::wait_unclaimed`). Every live wait thus has a worker polling until it is claimed;
//! a worker that stopped at one task would leave the newest wait unclaimed whenever another
//! worker had taken its task, until some later wait's worker came by.
//! The review's worker also tells the reviewers (once: each notification has its own id).
//! A failure to keep a claimed token goes back to that task's execution (`SendTaskFailure`,
//! error `ClaimFailed`), which the state machine answers by waiting again.

use crate::step::{StepError, RETRYABLE};
use aws_sdk_sfn::config::retry::RetryConfig;
use aws_sdk_sfn::config::timeout::TimeoutConfig;
use aws_sdk_sfn::Client;
use icp_domain::ports::{Store, TokenSlot, WorkflowControl};
use icp_domain::service::Vault;
use icp_domain::steps::{self, WaitingTask};
use serde::Deserialize;
use std::future::Future;
use std::time::{Duration, SystemTime};

/// GetActivityTask holds the request up to 60 s; AWS asks workers to wait at least 65 s.
const POLL_READ_TIMEOUT: Duration = Duration::from_secs(70);
/// A poll is started only with this much of the invocation left: a full poll plus the serving.
pub const POLL_BUDGET: Duration = Duration::from_secs(90);

/// What the state machine puts in a waiting task (the activity state's `Parameters`).
#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskInput {
    pub request_id: String,
    pub attempt: u32,
    /// When the wait began (`$$.State.EnteredTime`): orders the waits of one attempt.
    pub issued_at: String,
}

/// The wait a worker was started for: the request, its attempt and when the state that
/// started the worker was entered (`$$.State.EnteredTime`, just before the wait began).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnWait {
    pub request_id: String,
    pub attempt: u32,
    pub began_at: String,
}

/// A task handed to a worker: its token (which ends the wait) and the wait's input.
pub struct ClaimedTask {
    pub token: String,
    pub input: String,
}

/// Where a worker gets waiting tasks and hands failures back: an activity of Step Functions
/// (`ActivityWorker`), a queue in unit tests.
pub trait ActivityTasks {
    /// Long-polls for the oldest waiting task, any execution's; `None` if none came.
    fn poll(
        &self,
        worker_name: &str,
    ) -> impl Future<Output = Result<Option<ClaimedTask>, StepError>> + Send;

    /// Ends the task's wait with the error `name` (see `claim`).
    fn fail(
        &self,
        token: &str,
        name: &str,
        cause: &str,
    ) -> impl Future<Output = Result<(), StepError>> + Send;
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
        // No SDK retries: a poll retried after a read timeout could be handed a task just as the
        // invocation ends, and lose it. `claim` retries, counting the time it has left.
        let sfn_config = aws_sdk_sfn::config::Builder::from(config)
            .timeout_config(timeouts)
            .retry_config(RetryConfig::disabled())
            .build();
        Ok(ActivityWorker {
            client: Client::from_conf(sfn_config),
            activity_arn: crate::aws::env(env_name)?,
        })
    }
}

impl ActivityTasks for ActivityWorker {
    async fn poll(&self, worker_name: &str) -> Result<Option<ClaimedTask>, StepError> {
        let task = self
            .client
            .get_activity_task()
            .activity_arn(&self.activity_arn)
            .worker_name(worker_name)
            .send()
            .await
            .map_err(|e| unavailable("GetActivityTask", e))?;
        Ok(task
            .task_token
            .filter(|t| !t.is_empty())
            .map(|token| ClaimedTask {
                token,
                input: task.input.unwrap_or_default(),
            }))
    }

    async fn fail(&self, token: &str, name: &str, cause: &str) -> Result<(), StepError> {
        let result = self
            .client
            .send_task_failure()
            .task_token(token)
            .error(name)
            .cause(cause)
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

/// Claims waiting tasks from `tasks`, keeping each one's token in `slot`
/// (`steps::keep_claimed_token`), until `own` wait's token is kept or that wait is over. A
/// failed keep is retried a few times, then handed to the task's execution. Polls only while
/// the invocation, ending at `deadline`, has time for a full poll.
#[allow(clippy::too_many_arguments)]
pub async fn claim<T: ActivityTasks, S: Store, V: Vault, C: WorkflowControl>(
    tasks: &T,
    worker_name: &str,
    deadline: SystemTime,
    slot: TokenSlot,
    own: &OwnWait,
    store: &S,
    vault: &V,
    control: &C,
) -> Result<(), StepError> {
    let keep = |task: TaskInput, token: String| async move {
        let wait = WaitingTask {
            token: &token,
            issued_at: &task.issued_at,
        };
        steps::keep_claimed_token(
            slot,
            store,
            vault,
            control,
            &task.request_id,
            task.attempt,
            &wait,
        )
        .await
        .map_err(StepError::from)
    };
    loop {
        let progress = async {
            if !steps::wait_unclaimed(store, slot, &own.request_id, own.attempt, &own.began_at)
                .await?
            {
                return Ok(Progress::OwnWaitClaimed);
            }
            let time_left = deadline
                .duration_since(SystemTime::now())
                .unwrap_or_default();
            if time_left <= POLL_BUDGET {
                return Ok(Progress::OutOfTime);
            }
            let Some(task) = tasks.poll(worker_name).await? else {
                return Ok(Progress::Polled); // nothing came within the long poll
            };
            match keep_with_retries(&keep, &task.input, &task.token).await {
                Ok(true) => {}
                Ok(false) => tracing::info!("passed over a stale task"),
                Err(error) => {
                    tracing::warn!(error = %error.message, "handing the failure to the task's execution");
                    hand_back(tasks, &task.token, &error).await?;
                }
            }
            Ok::<_, StepError>(Progress::Polled)
        }
        .await;
        match progress {
            Ok(Progress::Polled) => {}
            Ok(Progress::OwnWaitClaimed) => return Ok(()),
            Ok(Progress::OutOfTime) => {
                tracing::warn!("out of time before this wait's task was claimed");
                crate::telemetry::count("ActivityTaskMissing");
                return Ok(());
            }
            // This worker may be the only one polling for its wait: a passing store or Step
            // Functions failure must not end it while it has time.
            Err(error) if error.kind == RETRYABLE => {
                tracing::warn!(error = %error.message, "claiming failed; trying again");
                tokio::time::sleep(RETRY_PAUSE).await;
            }
            Err(error) => return Err(error),
        }
    }
}

enum Progress {
    Polled,
    OwnWaitClaimed,
    OutOfTime,
}

/// Pause after a retryable failure of the claim loop.
const RETRY_PAUSE: Duration = Duration::from_secs(1);

/// Ends a claimed task's wait with the failure to keep its token, retrying as a keep is
/// retried: a token given up on lies unclaimed until its wait's deadline. Retryable failures
/// get a name of their own, so that the state machine waits again for them only; any other
/// ends the wait as failed (see request.asl.json).
async fn hand_back<T: ActivityTasks>(
    tasks: &T,
    token: &str,
    error: &StepError,
) -> Result<(), StepError> {
    let name = if error.kind == RETRYABLE {
        CLAIM_FAILED
    } else {
        error.kind
    };
    let mut delay = Duration::from_millis(200);
    let mut tries = 1;
    loop {
        match tasks.fail(token, name, &error.message).await {
            Err(e) if e.kind == RETRYABLE && tries < KEEP_ATTEMPTS => {
                tracing::warn!(error = %e.message, "handing back failed; retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
                tries += 1;
            }
            outcome => return outcome,
        }
    }
}

const CLAIM_FAILED: &str = "ClaimFailed";
const KEEP_ATTEMPTS: u32 = 4;

/// A claimed token lives only in this process until it is kept: retry a failed keep here
/// (backoff 0.2, 0.4, 0.8 s) before giving up on it.
async fn keep_with_retries<F, Fut>(keep: &F, input: &str, token: &str) -> Result<bool, StepError>
where
    F: Fn(TaskInput, String) -> Fut,
    Fut: Future<Output = Result<bool, StepError>>,
{
    let task = serde_json::from_str::<TaskInput>(input).map_err(|e| StepError {
        kind: "Corrupt",
        message: format!("activity task input: {e}"),
    })?;
    tracing::info!(request_id = %task.request_id, attempt = task.attempt, "keeping a claimed task's token");
    let mut delay = Duration::from_millis(200);
    let mut tries = 1;
    loop {
        match keep(task.clone(), token.to_string()).await {
            Err(e) if e.kind == RETRYABLE && tries < KEEP_ATTEMPTS => {
                tracing::warn!(error = %e.message, "keeping the token failed; retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
                tries += 1;
            }
            outcome => return outcome,
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
