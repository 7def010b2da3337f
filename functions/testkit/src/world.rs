//! Every port at once, on the doubles, for tests that run the use cases end to end in memory:
//! each use case as a function builds it, from the ports it takes.

use crate::fakes::{RecordingAuthority, RecordingNotifier, RecordingWorkflow};
use crate::memory::MemoryStore;
use icp_domain::authority::{AuthorityDeadline, AuthorityResult, Forwarding};
use icp_domain::closing::{Closing, Redrive, UnjudgedCheck, Withdrawal};
use icp_domain::impact::ImpactPreview;
use icp_domain::password_reset::PasswordRetrieval;
use icp_domain::queries::Queries;
use icp_domain::review::{AwaitReview, Deciding, ReviewNotices};
use icp_domain::start::Start;
use icp_domain::submit::Submitting;
use icp_domain::sweep::Sweeper;
use icp_domain::verify::LockPolicy;
use icp_domain::verify::Verification;

/// The doubles, with the vault `V` under test.
pub struct TestPorts<V> {
    pub store: MemoryStore,
    pub notifier: RecordingNotifier,
    pub vault: V,
    pub workflow: RecordingWorkflow,
    pub authority: RecordingAuthority,
}

type Store = MemoryStore;
type Notifier = RecordingNotifier;
type Workflow = RecordingWorkflow;

impl<V> TestPorts<V> {
    pub fn new(store: MemoryStore, vault: V) -> Self {
        TestPorts {
            store,
            notifier: RecordingNotifier::default(),
            vault,
            workflow: RecordingWorkflow::default(),
            authority: RecordingAuthority::default(),
        }
    }

    pub fn queries(&self) -> Queries<'_, Store> {
        Queries { store: &self.store }
    }

    pub fn impact_preview(&self) -> ImpactPreview<'_, Store> {
        ImpactPreview { store: &self.store }
    }

    pub fn submitting(&self) -> Submitting<'_, Store, V> {
        Submitting {
            store: &self.store,
            vault: &self.vault,
        }
    }

    pub fn starts(&self) -> Start<'_, Store, Workflow> {
        Start {
            store: &self.store,
            workflow: &self.workflow,
        }
    }

    pub fn verification(&self) -> Verification<'_, Store, Notifier, V> {
        Verification {
            store: &self.store,
            notifier: &self.notifier,
            vault: &self.vault,
        }
    }

    pub fn review_wait(&self) -> AwaitReview<'_, Store, Notifier, V, Workflow> {
        AwaitReview {
            store: &self.store,
            notifier: &self.notifier,
            vault: &self.vault,
            workflow: &self.workflow,
        }
    }

    pub fn deciding(&self) -> Deciding<'_, Store, V, Workflow> {
        Deciding {
            store: &self.store,
            vault: &self.vault,
            workflow: &self.workflow,
        }
    }

    pub fn review_notices(&self) -> ReviewNotices<'_, Store, Notifier> {
        ReviewNotices {
            store: &self.store,
            notifier: &self.notifier,
        }
    }

    pub fn forwarding(&self) -> Forwarding<'_, Store, Notifier, V, Workflow, RecordingAuthority> {
        Forwarding {
            store: &self.store,
            notifier: &self.notifier,
            vault: &self.vault,
            workflow: &self.workflow,
            authority: &self.authority,
        }
    }

    pub fn authority_results(&self) -> AuthorityResult<'_, Store, Notifier, V, Workflow> {
        AuthorityResult {
            store: &self.store,
            notifier: &self.notifier,
            vault: &self.vault,
            workflow: &self.workflow,
        }
    }

    pub fn authority_deadlines(&self) -> AuthorityDeadline<'_, Store> {
        AuthorityDeadline { store: &self.store }
    }

    pub fn closing(&self) -> Closing<'_, Store, Notifier> {
        Closing {
            store: &self.store,
            notifier: &self.notifier,
        }
    }

    pub fn unjudged_checks(&self) -> UnjudgedCheck<'_, Store> {
        UnjudgedCheck {
            store: &self.store,
            lock: LockPolicy::default(),
        }
    }

    pub fn withdrawals(&self) -> Withdrawal<'_, Store, Workflow> {
        Withdrawal {
            store: &self.store,
            workflow: &self.workflow,
            lock: LockPolicy::default(),
        }
    }

    pub fn redrives(&self) -> Redrive<'_, Store, Notifier, Workflow> {
        Redrive {
            store: &self.store,
            notifier: &self.notifier,
            workflow: &self.workflow,
        }
    }

    pub fn retrieval(&self) -> PasswordRetrieval<'_, Store, Notifier, V> {
        PasswordRetrieval {
            store: &self.store,
            notifier: &self.notifier,
            vault: &self.vault,
        }
    }

    pub fn sweeper(&self) -> Sweeper<'_, Store, V, Workflow> {
        Sweeper {
            store: &self.store,
            vault: &self.vault,
            workflow: &self.workflow,
        }
    }
}
