//! The sweeper: what a fault left between two writes. A request written whose execution never
//! started (a new request or a resubmitted attempt whose start the table's stream gave up on)
//! is started; a
//! request whose execution ended without closing it (its failure could not be recorded either)
//! is driven on if an approval awaits applying, or else recorded failed with the customer told.
//! Each action re-reads the request and moves it conditionally, so a sweep that races the
//! workflow, another sweep or a stale index changes nothing twice.

use crate::contract::Attempt;
use crate::error::ServiceError;
use crate::ports::{Execution, Notifier, Ports, Store, Workflow};
use crate::{Request, Status};
use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use serde::Serialize;
use std::collections::HashSet;

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
    /// Why the running executions could not be listed, if they could not: every quiet open
    /// request was then looked at one by one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unlisted: Option<String>,
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
        // One query per open status, and the listing of the running executions, all at once:
        // one round trip, not one per status.
        let (open, running) = futures::join!(
            futures::future::try_join_all(
                Status::ALL
                    .into_iter()
                    .filter(|s| s.is_open())
                    .map(|status| self.store.requests_in_status(status)),
            ),
            self.workflow.running(),
        );
        let open = open?;
        // The listing only spares calls: without it, every quiet request is looked at.
        let (running, unlisted) = match running {
            Ok(running) => (running, None),
            Err(e) => (HashSet::new(), Some(e.to_string())),
        };
        let quiet: Vec<Request> = open
            .into_iter()
            .flatten()
            .filter(|request| now - request.updated_at >= quiet_for)
            // Most open requests wait for a person, their execution listed as running: only the
            // others are looked at one by one (the listing may lag; a lag only defers a sweep).
            .filter(|request| !running.contains(&(request.request_id.clone(), request.attempt)))
            .collect();
        // A few requests at a time: each is a round trip or more, and independent of the others.
        // Made into a list first: a stream mapped by a closure does not prove itself Send.
        let sweeps: Vec<_> = quiet
            .iter()
            .map(|request| self.sweep_one(request, now))
            .collect();
        let outcomes: Vec<_> = futures::stream::iter(sweeps)
            .buffered(SWEEP_CONCURRENCY)
            .collect()
            .await;
        let mut report = SweepReport {
            unlisted,
            ..SweepReport::default()
        };
        for (request, outcome) in quiet.iter().zip(outcomes) {
            let id = request.request_id.clone();
            match outcome {
                Ok(None) => {}
                Ok(Some(Swept::Started)) => report.started.push(id),
                Ok(Some(Swept::Applied)) => report.applied.push(id),
                Ok(Some(Swept::Failed)) => report.failed.push(id),
                Ok(Some(Swept::Left)) => report.left.push(id),
                Err(e) => report.errors.push((id, e.to_string())),
            }
        }
        Ok(report)
    }

    /// What the sweep did with `request`; `None` while its execution runs.
    async fn sweep_one(
        &self,
        request: &Request,
        now: DateTime<Utc>,
    ) -> Result<Option<Swept>, ServiceError> {
        let (id, attempt) = (&request.request_id, request.attempt);
        let execution = self.workflow.execution(id, attempt).await?;
        let attempt = Attempt {
            request_id: id.clone(),
            attempt,
        };
        Ok(Some(match (execution, request.status) {
            (Execution::Running, _) => return Ok(None),
            (Execution::Missing, Status::Submitted) => {
                self.workflow.start(id, attempt.attempt).await?;
                Swept::Started
            }
            (_, Status::Approved) => {
                self.clear_record(&attempt, now).await?;
                Swept::Applied
            }
            (_, status) if status.can_move_to(Status::Failed) => {
                self.fail(&attempt, crate::history::FailureCause::Stopped, now)
                    .await?;
                Swept::Failed
            }
            _ => Swept::Left,
        }))
    }
}

/// How many requests one sweep acts on at once.
const SWEEP_CONCURRENCY: usize = 8;

enum Swept {
    Started,
    Applied,
    Failed,
    Left,
}
