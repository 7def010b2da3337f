//! Recording doubles of the workflow engine, the notifier and the authority: they do nothing
//! but remember what they were asked, for the use-case tests to assert on.

use icp_domain::error::{AuthorityError, NotifyError, WorkflowError};
use icp_domain::notification::Letterhead;
use icp_domain::ports::{Authority, Execution, Notifier, Submission, Workflow};
use std::collections::{BTreeSet, HashSet};
use std::sync::Mutex;

/// Records the executions started (a restart as `{id}-{attempt}_{run}`), the waits resumed, the executions stopped and those looked
/// at one by one (`described`). A token in
/// `timed_out` is no longer waited on: resuming it answers false and records nothing. An
/// execution started runs until it is stopped or named in `ended`.
#[derive(Default)]
pub struct RecordingWorkflow {
    pub executions: Mutex<BTreeSet<String>>,
    pub resumed: Mutex<Vec<(String, serde_json::Value)>>,
    pub stopped: Mutex<Vec<String>>,
    pub timed_out: Mutex<BTreeSet<String>>,
    pub ended: Mutex<BTreeSet<String>>,
    pub described: Mutex<Vec<String>>,
    /// While set, listing the running executions fails.
    pub fail_listing: std::sync::atomic::AtomicBool,
    /// While set, starting an execution fails, as when Step Functions throttles.
    pub fail_starts: std::sync::atomic::AtomicBool,
}

impl RecordingWorkflow {
    fn started(&self, name: String) -> Result<(), WorkflowError> {
        if self.fail_starts.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(WorkflowError::Unavailable(
                "StartExecution throttled".into(),
            ));
        }
        self.executions.lock().unwrap().insert(name);
        Ok(())
    }
}

impl Workflow for RecordingWorkflow {
    async fn start(&self, request_id: &str, attempt: u32) -> Result<(), WorkflowError> {
        self.started(format!("{request_id}-{attempt}"))
    }

    async fn restart(
        &self,
        request_id: &str,
        attempt: u32,
        run: usize,
    ) -> Result<(), WorkflowError> {
        self.started(format!("{request_id}-{attempt}_{run}"))
    }

    async fn resume(&self, token: &str, output: &serde_json::Value) -> Result<bool, WorkflowError> {
        if self.timed_out.lock().unwrap().contains(token) {
            return Ok(false);
        }
        self.resumed
            .lock()
            .unwrap()
            .push((token.into(), output.clone()));
        Ok(true)
    }

    async fn stop(&self, request_id: &str, attempt: u32) -> Result<(), WorkflowError> {
        self.stopped
            .lock()
            .unwrap()
            .push(format!("{request_id}-{attempt}"));
        Ok(())
    }

    async fn execution(&self, request_id: &str, attempt: u32) -> Result<Execution, WorkflowError> {
        let name = format!("{request_id}-{attempt}");
        self.described.lock().unwrap().push(name.clone());
        Ok(if !self.executions.lock().unwrap().contains(&name) {
            Execution::Missing
        } else if self.ended.lock().unwrap().contains(&name)
            || self.stopped.lock().unwrap().contains(&name)
        {
            Execution::Ended
        } else {
            Execution::Running
        })
    }

    async fn running(&self) -> Result<HashSet<(String, u32)>, WorkflowError> {
        if self.fail_listing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(WorkflowError::Unavailable(
                "ListExecutions throttled".into(),
            ));
        }
        let (ended, stopped) = (self.ended.lock().unwrap(), self.stopped.lock().unwrap());
        Ok(self
            .executions
            .lock()
            .unwrap()
            .iter()
            .filter(|name| !ended.contains(*name) && !stopped.contains(*name))
            .filter_map(|name| {
                let (request_id, attempt) = name.rsplit_once('-')?;
                let attempt = attempt.split('_').next()?;
                Some((request_id.to_string(), attempt.parse().ok()?))
            })
            .collect())
    }
}

/// Records what was sent; fails every email while `fail_email` is set.
pub struct RecordingNotifier {
    pub sent: Mutex<Vec<(String, String)>>,
    pub fail_email: std::sync::atomic::AtomicBool,
    pub letterhead: Letterhead,
}

impl Default for RecordingNotifier {
    fn default() -> Self {
        RecordingNotifier {
            sent: Mutex::default(),
            fail_email: Default::default(),
            letterhead: Letterhead {
                sms_signature: "【备案中心】".into(),
                console_url: "https://api.example.cn/prod/console/index.html".into(),
                resubmit_within: chrono::Duration::days(30),
            },
        }
    }
}

impl Notifier for RecordingNotifier {
    fn letterhead(&self) -> &Letterhead {
        &self.letterhead
    }

    async fn send_sms(&self, phone: &str, text: &str) -> Result<(), NotifyError> {
        self.sent.lock().unwrap().push((phone.into(), text.into()));
        Ok(())
    }
    async fn send_email(&self, to: &str, subject: &str, _body: &str) -> Result<(), NotifyError> {
        if self.fail_email.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(NotifyError("SES is down".into()));
        }
        self.sent.lock().unwrap().push((to.into(), subject.into()));
        Ok(())
    }
}

#[derive(Default)]
pub struct RecordingAuthority {
    pub submissions: Mutex<Vec<Submission>>,
}

impl Authority for RecordingAuthority {
    async fn submit(&self, submission: &Submission) -> Result<(), AuthorityError> {
        self.submissions.lock().unwrap().push(submission.clone());
        Ok(())
    }
}
