//! Starting a written request's workflow, after the customer has their answer: the requests
//! table's stream hands each new request to `start-workflow`, which starts its first attempt.
//! A record handed over twice, or a request the sweeper started first, starts nothing twice.

use crate::error::ServiceError;
use crate::ports::{Ports, Store, Workflow};
use crate::Status;

impl<S: Store, N, V, W: Workflow, A> Ports<S, N, V, W, A> {
    /// Starts the first attempt of the request written as `request_id`, if it still waits for
    /// it: `false` when the request has moved on (withdrawn, or resubmitted after the sweeper
    /// started it) or is not there.
    pub async fn start_written(&self, request_id: &str) -> Result<bool, ServiceError> {
        let waiting = self
            .store
            .get_request(request_id)
            .await?
            .is_some_and(|r| r.status == Status::Submitted && r.attempt == 1);
        if waiting {
            self.workflow.start(request_id, 1).await?;
        }
        Ok(waiting)
    }
}
