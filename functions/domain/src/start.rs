//! Starting a written attempt's workflow, after the customer has their answer: the requests
//! table's stream hands each new request (its first attempt) and each "Modify and Submit" (the
//! next attempt) to `start-workflow`, which starts that attempt's execution. A record handed
//! over twice, or an attempt the sweeper started first, starts nothing twice.

use crate::error::ServiceError;
use crate::ports::{Requests, Workflow};
use crate::Status;

/// Starting an attempt's workflow: its ports.
pub struct Start<'a, S, W> {
    pub store: &'a S,
    pub workflow: &'a W,
}

impl<S: Requests, W: Workflow> Start<'_, S, W> {
    /// Starts attempt `attempt` of `request_id` if the request still waits for it: `false`
    /// when the request has moved on (withdrawn, or resubmitted again) or is not there.
    pub async fn start_written(
        &self,
        request_id: &str,
        attempt: u32,
    ) -> Result<bool, ServiceError> {
        let waiting = self
            .store
            .get_request(request_id)
            .await?
            .is_some_and(|r| r.status == Status::Submitted && r.attempt == attempt);
        if waiting {
            self.workflow.start(request_id, attempt).await?;
        }
        Ok(waiting)
    }
}
