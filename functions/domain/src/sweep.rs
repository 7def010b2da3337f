//! The sweeper: what a fault left between two writes. A request written whose execution never
//! started (a submit or resubmit that died between its write and StartExecution) is started; a
//! request whose execution ended without closing it (its failure could not be recorded either)
//! is driven on if an approval awaits applying, or else recorded failed with the customer told.
//! Each action re-reads the request and moves it conditionally, so a sweep that races the
//! workflow, another sweep or a stale index changes nothing twice.

use crate::contract::Attempt;
use crate::error::ServiceError;
use crate::ports::{Execution, Notifier, Ports, Store, Workflow};
use crate::{Request, Status};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

/// Why the sweeper recorded a request failed (the customer is told it failed).
pub const SWEPT_CAUSE: &str = "processing stopped before the request was closed";

/// What one sweep did, by request id.
#[derive(Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SweepReport {
    /// Executions started for requests written without one.
    pub started: Vec<String>,
    /// Approvals applied whose execution had ended.
    pub applied: Vec<String>,
    /// Requests recorded failed whose execution had ended.
    pub failed: Vec<String>,
    /// Rejected requests whose execution (the expiry timer) had ended: left for the customer to
    /// resubmit or withdraw, and for an operator to look at.
    pub left: Vec<String>,
    /// Requests the sweep could not act on this time, with why (the next sweep tries again).
    pub errors: Vec<(String, String)>,
}

impl SweepReport {
    pub fn acted(&self) -> usize {
        self.started.len() + self.applied.len() + self.failed.len()
    }
}

impl<S: Store, N: Notifier, V, W: Workflow, A> Ports<S, N, V, W, A> {
    /// Sweeps every open request untouched for `quiet_for` (younger ones may be between two
    /// writes of a step still running).
    pub async fn sweep(
        &self,
        now: DateTime<Utc>,
        quiet_for: Duration,
    ) -> Result<SweepReport, ServiceError> {
        let mut report = SweepReport::default();
        // One query per open status, all at once: one round trip, not one per status.
        let open = futures::future::try_join_all(
            Status::ALL
                .into_iter()
                .filter(|s| s.is_open())
                .map(|status| self.store.requests_in_status(status)),
        )
        .await?;
        for requests in open {
            for request in requests {
                if now - request.updated_at < quiet_for {
                    continue;
                }
                if let Err(e) = self.sweep_one(&request, now, &mut report).await {
                    report
                        .errors
                        .push((request.request_id.clone(), e.to_string()));
                }
            }
        }
        Ok(report)
    }

    async fn sweep_one(
        &self,
        request: &Request,
        now: DateTime<Utc>,
        report: &mut SweepReport,
    ) -> Result<(), ServiceError> {
        let (id, attempt) = (&request.request_id, request.attempt);
        let execution = self.workflow.execution(id, attempt).await?;
        let attempt = Attempt {
            request_id: id.clone(),
            attempt,
        };
        match (execution, request.status) {
            (Execution::Running, _) => return Ok(()),
            (Execution::Missing, Status::Submitted) => {
                self.workflow.start(id, attempt.attempt).await?;
                report.started.push(id.clone());
            }
            (_, Status::Approved) => {
                self.clear_record(&attempt, now).await?;
                report.applied.push(id.clone());
            }
            (_, status) if status.can_move_to(Status::Failed) => {
                self.fail(&attempt, SWEPT_CAUSE, now).await?;
                report.failed.push(id.clone());
            }
            _ => report.left.push(id.clone()),
        }
        Ok(())
    }
}
