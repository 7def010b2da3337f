//! The sweeper: what a fault left between two writes, mended rather than failed. A request
//! written whose execution never started (a new request or a resubmitted attempt whose start the
//! table's stream gave up on) is started. An open request whose execution ended (stopped, or
//! lost) gets its attempt going again from where it stands: a new execution of the same attempt,
//! whose steps find what is done already. A wait whose result is recorded (the reviewer's
//! decision, the authority's result) but whose resume was lost is resumed.
//! Each action re-reads the request or is idempotent by name, so a sweep that races the
//! workflow, another sweep or a stale index changes nothing twice.

use crate::authority::recorded_result;
use crate::error::ServiceError;
use crate::ports::{Execution, Requests, TaskTokens, TokenSlot, Vault, Workflow};
use crate::review::outcome_of;
use crate::{waits, Request, Status};
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
    /// Attempts started again from where they stood: their execution had ended with the
    /// request open.
    pub restarted: Vec<String>,
    /// Waits resumed with the result recorded for them (the reviewer's, the authority's).
    pub resumed: Vec<String>,
    /// Requests the sweep could not act on this time, with why (the next sweep tries again).
    pub errors: Vec<(String, String)>,
    /// Why the running executions could not be listed, if they could not: every quiet open
    /// request was then looked at one by one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unlisted: Option<String>,
}

impl SweepReport {
    pub fn acted(&self) -> usize {
        self.started.len() + self.restarted.len() + self.resumed.len()
    }
}

/// What the listing of the running executions says of an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Listed {
    Running,
    NotRunning,
    /// The listing failed.
    Unknown,
}

/// The sweeper: its ports.
pub struct Sweeper<'a, S, V, W> {
    pub store: &'a S,
    pub vault: &'a V,
    pub workflow: &'a W,
}

impl<S: Requests + TaskTokens, V: Vault, W: Workflow> Sweeper<'_, S, V, W> {
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
        let open: Vec<Request> = open?.into_iter().flatten().collect();
        // The listing only spares calls: without it, every quiet request is looked at.
        let (running, unlisted) = match running {
            Ok(running) => (running, None),
            Err(e) => (HashSet::new(), Some(e.to_string())),
        };
        let listing_failed = unlisted.is_some();
        let open_ids: HashSet<&str> = open.iter().map(|r| r.request_id.as_str()).collect();
        // A running execution of a request no longer open: the authority's rejection, recorded
        // while its resume was lost, is the one such wait with a result to deliver.
        let closed_but_running: Vec<&str> = running
            .iter()
            .map(|(id, _)| id.as_str())
            .filter(|id| !open_ids.contains(id))
            .collect();
        let quiet = open
            .iter()
            .filter(|request| now - request.updated_at >= quiet_for);
        // A few requests at a time: each is a round trip or more, and independent of the others.
        // Made into a list first: a stream mapped by a closure does not prove itself Send.
        let mut sweeps: Vec<_> = quiet
            .map(|request| {
                let listed = if listing_failed {
                    Listed::Unknown
                } else if running.contains(&(request.request_id.clone(), request.attempt)) {
                    Listed::Running
                } else {
                    Listed::NotRunning
                };
                let id = request.request_id.clone();
                futures::future::Either::Left(
                    async move { (id, self.sweep_one(request, listed).await) },
                )
            })
            .collect();
        sweeps.extend(closed_but_running.into_iter().map(|id| {
            futures::future::Either::Right(async move {
                (id.to_string(), self.sweep_closed(id, now, quiet_for).await)
            })
        }));
        let outcomes: Vec<_> = futures::stream::iter(sweeps)
            .buffered(SWEEP_CONCURRENCY)
            .collect()
            .await;
        let mut report = SweepReport {
            unlisted,
            ..SweepReport::default()
        };
        for (id, outcome) in outcomes {
            match outcome {
                Ok(None) => {}
                Ok(Some(Swept::Started)) => report.started.push(id),
                Ok(Some(Swept::Restarted)) => report.restarted.push(id),
                Ok(Some(Swept::Resumed)) => report.resumed.push(id),
                Err(e) => report.errors.push((id, e.to_string())),
            }
        }
        Ok(report)
    }

    /// What the sweep did with the open, quiet `request`, by what the listing says of it.
    async fn sweep_one(
        &self,
        request: &Request,
        listed: Listed,
    ) -> Result<Option<Swept>, ServiceError> {
        let (id, attempt) = (&request.request_id, request.attempt);
        let execution = match listed {
            Listed::Running => Execution::Running,
            // Not listed (or no listing): looked at, since the listing may lag the engine.
            Listed::NotRunning | Listed::Unknown => self.workflow.execution(id, attempt).await?,
        };
        Ok(match (execution, request.status) {
            (Execution::Running, _) => self.resume_recorded(request).await?,
            (Execution::Missing, Status::Submitted) => {
                self.workflow.start(id, attempt).await?;
                Some(Swept::Started)
            }
            // Only the attempt's first execution can be looked at by name: a restart of it,
            // named apart, may be running. Left to a sweep whose listing shows whether it is.
            _ if listed == Listed::Unknown => None,
            _ => {
                // Named by the request's history so far: sweeps that race start one execution,
                // and a request that moved on since the last restart can be restarted again.
                self.workflow
                    .restart(id, attempt, request.history.len())
                    .await?;
                Some(Swept::Restarted)
            }
        })
    }

    /// Resumes the wait of a running execution whose result is recorded on `request` but was
    /// not delivered: the reviewer's decision (still `pending_first_review`), the authority's
    /// approval (`approved`). A wait already resumed answers that its token is no longer
    /// waited on, which changes nothing.
    async fn resume_recorded(&self, request: &Request) -> Result<Option<Swept>, ServiceError> {
        let (id, attempt) = (request.request_id.as_str(), request.attempt);
        let resumed = match (request.status, &request.review) {
            (Status::PendingFirstReview, Some(review)) => {
                let outcome = outcome_of(review.decision);
                self.resume(id, attempt, TokenSlot::FirstReview, outcome)
                    .await?
            }
            (Status::Approved, _) => match recorded_result(request) {
                Some(outcome) => {
                    self.resume(id, attempt, TokenSlot::Authority, outcome)
                        .await?
                }
                None => false,
            },
            _ => false,
        };
        Ok(resumed.then_some(Swept::Resumed))
    }

    /// A running execution of a closed request: if the authority's rejection is recorded for
    /// it, its wait is resumed with it (else its wait ends at the authority's deadline).
    async fn sweep_closed(
        &self,
        request_id: &str,
        now: DateTime<Utc>,
        quiet_for: Duration,
    ) -> Result<Option<Swept>, ServiceError> {
        let Some(request) = self.store.get_request(request_id).await? else {
            return Ok(None);
        };
        if request.status != Status::AuthorityRejected || now - request.updated_at < quiet_for {
            return Ok(None);
        }
        let outcome = recorded_result(&request).expect("a rejection is a recorded result");
        let resumed = self
            .resume(request_id, request.attempt, TokenSlot::Authority, outcome)
            .await?;
        Ok(resumed.then_some(Swept::Resumed))
    }

    async fn resume<T: Serialize>(
        &self,
        request_id: &str,
        attempt: u32,
        slot: TokenSlot,
        decision: T,
    ) -> Result<bool, ServiceError> {
        waits::resume(
            self.store,
            self.vault,
            self.workflow,
            request_id,
            attempt,
            slot,
            decision,
        )
        .await
    }
}

/// How many requests one sweep acts on at once.
const SWEEP_CONCURRENCY: usize = 8;

enum Swept {
    Started,
    Restarted,
    Resumed,
}
