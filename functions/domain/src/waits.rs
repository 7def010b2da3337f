//! The workflow's two waits for people (the reviewer's decision, the authority's result) are
//! `.waitForTaskToken` tasks. The function a wait invokes keeps the task token sealed in the
//! store; whoever brings the decision resumes the wait through it. Each side writes first and
//! then reads what the other wrote, so either the decision finds the token or the wait finds
//! the decision; a step retried after a crash keeps the new token the retry was given.

use crate::contract::{Resumed, Wait};
use crate::error::{ServiceError, StoreError};
use crate::ports::{Requests, TaskTokens, TokenSlot, Vault, Workflow};
use crate::records::load;
use crate::Request;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

fn token_context(request_id: &str, attempt: u32, slot: TokenSlot) -> String {
    format!("{request_id}#{attempt}#{}", slot.attribute())
}

/// A wait's start as the store orders it: Step Functions does not always write
/// `$$.State.EnteredTime` with the same number of fractional digits, so it is rewritten with a
/// fixed number, which makes string order time order.
fn ordered_time(entered_at: &str) -> Result<String, StoreError> {
    let time = DateTime::parse_from_rfc3339(entered_at)
        .map_err(|e| StoreError::Corrupt(format!("wait start {entered_at:?}: {e}")))?;
    Ok(time
        .with_timezone(&Utc)
        .to_rfc3339_opts(SecondsFormat::Micros, true))
}

/// Keeps the token of `wait` in `slot`, then, if `decided` finds the answer already in the
/// request (read after the keep, so a decision recorded meanwhile is not missed), ends the wait
/// with it. A stale wait (a later one's token is kept already) is left alone.
pub(crate) async fn keep_token<S: Requests + TaskTokens, V: Vault, W: Workflow, T: Serialize>(
    store: &S,
    vault: &V,
    workflow: &W,
    wait: &Wait,
    slot: TokenSlot,
    decided: impl FnOnce(&Request) -> Option<T>,
) -> Result<(), ServiceError> {
    let (request_id, attempt) = (&wait.attempt.request_id, wait.attempt.attempt);
    let sealed = vault.seal(&wait.task_token, &token_context(request_id, attempt, slot));
    let entered_at = ordered_time(&wait.entered_at)?;
    match store
        .put_task_token(request_id, attempt, slot, &sealed, &entered_at)
        .await
    {
        Ok(true) => {}
        Ok(false) => return Ok(()),
        // Another attempt runs: nothing to keep; `decided` ends this wait as superseded.
        Err(StoreError::Conflict(_)) => {}
        Err(e) => return Err(e.into()),
    }
    if let Some(decision) = decided(&load(store, request_id).await?) {
        let output = serde_json::json!(Resumed { decision });
        workflow.resume(&wait.task_token, &output).await?;
    }
    Ok(())
}

/// Resumes the wait in `slot` with `decision`, if its token is kept yet (if not, the wait finds
/// the decision when it keeps it). Whether a wait was resumed.
pub(crate) async fn resume<S: TaskTokens, V: Vault, W: Workflow, T: Serialize>(
    store: &S,
    vault: &V,
    workflow: &W,
    request_id: &str,
    attempt: u32,
    slot: TokenSlot,
    decision: T,
) -> Result<bool, ServiceError> {
    let sealed = store.task_token(request_id, attempt, slot).await?;
    resume_kept(vault, workflow, request_id, attempt, slot, sealed, decision).await
}

/// Resumes the wait in `slot` with `decision` through `sealed`, its token as read after the
/// decision was recorded (`None`: the wait finds the decision when it keeps its token).
/// Whether a wait was resumed (false: none kept, or no longer waited on).
pub(crate) async fn resume_kept<V: Vault, W: Workflow, T: Serialize>(
    vault: &V,
    workflow: &W,
    request_id: &str,
    attempt: u32,
    slot: TokenSlot,
    sealed: Option<String>,
    decision: T,
) -> Result<bool, ServiceError> {
    let Some(sealed) = sealed else {
        return Ok(false);
    };
    let token = vault
        .open(&sealed, &token_context(request_id, attempt, slot))
        .ok_or_else(|| StoreError::Corrupt("task token does not open".into()))?;
    Ok(workflow
        .resume(&token, &serde_json::json!(Resumed { decision }))
        .await?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn wait_starts_order_as_strings_whatever_their_precision() {
        let a = super::ordered_time("2026-11-30T10:00:00Z").unwrap();
        let b = super::ordered_time("2026-11-30T10:00:00.1Z").unwrap();
        let c = super::ordered_time("2026-11-30T18:00:00.123+08:00").unwrap();
        assert!(a < b && b < c, "{a} {b} {c}");
    }
}
