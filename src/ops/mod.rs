//! The operations: what a command does once its arguments are read, as flows
//! that return what happened (a [`deploy::Summary`], a [`drift::DriftReport`])
//! and talk to the user only through [`Ui`], which the command line
//! implements. Each command in `cli/commands/` parses, calls one of these, and
//! prints the result (as cargo's commands wrap `cargo::ops`).
//!
//! Each entry takes what the command line read (a [`Scope`], the compiled
//! files, the flags as a request) and does everything else in one place: it
//! finds Pulumi, opens the back-end, checks the account, takes the stack's
//! lock ([`lock`]), runs the flow and releases the lock. A new deploying
//! command is one file in `cli/commands/` and one here.
//!
//! - [`apply`]: apply under the stack's lock — the reviewed plan, the
//!   recorded protection, the lost-state check;
//! - [`rollback`] and [`destroy`]: an earlier release again, or nothing;
//! - [`plan`]: an apply's preview saved for review (no lock), in the file of
//!   [`plan_file`] (`plan --out`, `apply --plan`);
//! - [`deploy`]: the engine flow they share (preview, approval, `pulumi up`,
//!   release records, automatic rollback);
//! - [`drift`]: refresh the deployed release and report what differs;
//! - [`status`] and [`logs`]: the deployed release as AWS runs it;
//! - [`lock`]: taking a stack's lock for a flow, `lock exec`, `lock status`
//!   and `unlock`;
//! - [`adopt`]: a Copilot application's databases and queues, read from its
//!   CloudFormation stacks, recorded for the first apply to import;
//! - [`deployed`]: the last successful release and its program, which
//!   `show --deployed`, `diff --against deployed`, `drift`, `status` and `logs`
//!   read.

pub mod adopt;
pub mod apply;
pub mod deploy;
pub mod deployed;
pub mod destroy;
pub mod drift;
pub mod impact;
pub mod lock;
pub mod logs;
pub mod plan;
pub mod plan_file;
pub mod rollback;
pub mod rollouts;
pub mod spend;
pub mod status;

use crate::artifacts::Artifacts;
use crate::backend::Backend;
use crate::backend::protection::{self, Protection};
use crate::backend::releases::Releases;
use crate::engine::changes::PlannedChanges;
use crate::engine::progress::Update;
use crate::engine::pulumi::Pulumi;
use crate::error::Result;
use crate::load::Repo;
use crate::model::stack::EnvironmentSpec;
use deploy::{Operation, Request};
use std::collections::BTreeMap;

pub use crate::backend::lock::Observer as LockEvents;

/// What a preview plans and a deployment reports, as the command line shows it.
pub mod changes {
    pub use crate::engine::changes::{Change, PlannedChanges};
    pub use crate::engine::progress::{Update, label};
}
pub use crate::engine::pulumi::{
    INSTALL_HELP as PULUMI_INSTALL_HELP, MIN_VERSION as PULUMI_MIN_VERSION,
};

/// What the user sees and decides.
pub trait Ui {
    /// A stage: "Previewing changes...".
    fn step(&self, text: &str);
    /// Something that went well ("Lock acquired").
    fn success(&self, text: &str);
    fn warn(&self, text: &str);
    /// A note beside the flow ("note: first apply of …").
    fn note(&self, text: &str);
    /// Asks, on a terminal only, to accept that this apply lowers the
    /// protection earlier applies recorded (`what`); `Ok(false)` when refused,
    /// an error when there is no terminal.
    fn accept_downgrade(&self, stack: &str, environment: &str, what: &str) -> Result<bool>;
    /// The planned changes, per component.
    fn plan(&self, stack: &str, environment: &str, plan: &PlannedChanges);
    /// What the planned changes do to the estimated monthly cost.
    fn cost(&self, change: &crate::cost::CostChange);
    /// What each changed component goes through while it deploys.
    fn impacts(&self, impacts: &[impact::Impact]);
    /// Asks for approval; `Ok(false)` when refused.
    fn approve(&self, stack: &str, environment: &str, production: bool) -> Result<bool>;
    /// Asks before everything is destroyed (in production: the environment's
    /// name must be typed); `Ok(false)` when refused.
    fn confirm_destroy(&self, stack: &str, environment: &str, production: bool) -> Result<bool>;
    fn progress(&self, update: &Update);
    /// Whether a question can be asked (a terminal, not `--output json`).
    fn can_prompt(&self) -> bool;
    /// Asks a yes/no question whose answer defaults to no.
    fn confirm(&self, prompt: &str) -> Result<bool>;
    /// What is shown while waiting for a stack's lock and while it is held.
    fn lock_events(&self) -> &'static dyn LockEvents;
    /// What ECS does with a service's deployment after `pulumi up`.
    fn rollout(&self, event: &rollouts::RolloutEvent);
}

/// The stack and environment a flow works on, in a repository, as the command
/// line chose them.
pub struct Scope<'a> {
    pub repo: &'a Repo,
    pub stack: String,
    pub environment: String,
}

/// A target of `drift --all` or `status --all`: a stack's environment as
/// stack.yaml says it now, or why stack.yaml cannot say.
pub struct EveryTarget {
    pub stack: String,
    pub environment: String,
    pub env: std::result::Result<EnvironmentSpec, String>,
}

/// How a flow takes the stack's lock (`--lock-ttl`, `--lock-timeout`).
pub struct LockWait {
    pub ttl: std::time::Duration,
    /// `None`: wait for as long as it takes; zero: fail at once.
    pub timeout: Option<std::time::Duration>,
}

/// Opens the configured back-end; says once when it is the local one.
pub fn open_backend(repo: &Repo, ui: &dyn Ui) -> Result<Backend> {
    let settings = crate::backend::config::resolve()?;
    let backend = Backend::open(&settings, &repo.root)?;
    if let crate::backend::BackendKind::Local(dir) = &backend.kind {
        ui.note(&format!(
            "note: no back-end configured ({}), so state and locks are local, in {}; `deployer init` sets up the shared one",
            crate::backend::config::path().display(),
            repo.display(dir)
        ));
    }
    Ok(backend)
}

/// Checks, before any lock, that deployer would act in `environment` with
/// credentials of its account: on the shared back-end, or wherever the
/// environment names a role (the local back-end alone contacts no AWS).
fn check_account(
    backend: &Backend,
    repo: &Repo,
    env: &EnvironmentSpec,
    environment: &str,
) -> Result<()> {
    if contacts_aws(backend, env) {
        crate::inspect::check_account(env, environment, &backend.who(&repo.root))?;
    }
    Ok(())
}

/// Whether deployer itself asks AWS about an environment (its account, the
/// rollouts ECS runs): on the shared back-end, or where the environment names
/// a role. The local back-end alone contacts no AWS, so the example deploys
/// without any.
pub(crate) fn contacts_aws(backend: &Backend, env: &EnvironmentSpec) -> bool {
    matches!(backend.kind, crate::backend::BackendKind::Aws(_)) || env.role_arn.is_some()
}

/// The Pulumi CLI deployer would run, with its version or why it has none
/// (`deployer version`).
pub fn pulumi_on_path() -> Option<(std::path::PathBuf, Result<crate::engine::pulumi::Version>)> {
    let path = crate::engine::pulumi::locate()?;
    let version = crate::engine::pulumi::version_of(&path);
    Some((path, version))
}

impl<'a> Scope<'a> {
    /// The target of a flow in `env`, with Pulumi found and the back-end open.
    fn target(self, backend: &'a Backend, pulumi: Pulumi, env: EnvironmentSpec) -> Target<'a> {
        Target {
            repo: self.repo,
            backend,
            pulumi,
            stack: self.stack,
            environment: self.environment,
            env,
        }
    }
}

/// The stack and environment an operation works on, with what it works with.
pub struct Target<'a> {
    pub repo: &'a Repo,
    pub backend: &'a Backend,
    pub pulumi: Pulumi,
    pub stack: String,
    pub environment: String,
    /// The environment as stack.yaml says it now.
    pub env: EnvironmentSpec,
}

impl Target<'_> {
    pub fn releases(&self) -> Releases<'_> {
        Releases::new(self.backend.store.as_ref(), &self.stack, &self.environment)
    }

    /// A deployment of `files` by the lock's holder (`lock`: who and the
    /// lock's id), with nothing approved, rolled back or recreated unless the
    /// caller says so.
    fn request(&self, files: Artifacts, operation: Operation, lock: (&str, &str)) -> Request<'_> {
        Request {
            repo_root: &self.repo.root,
            backend: self.backend,
            pulumi: self.pulumi.clone(),
            stack: self.stack.clone(),
            environment: self.environment.clone(),
            files,
            operation,
            variables: BTreeMap::new(),
            who: lock.0.to_string(),
            lock_id: lock.1.to_string(),
            git_commit: crate::git::commit(&self.repo.root),
            approval_required: self.env.approval_required(),
            production: self.env.production,
            env: self.env.clone(),
            auto_approve: false,
            rollback_on_failure: false,
            approved: None,
            sensitive: BTreeMap::new(),
            recreate_lost_state: false,
            planned: None,
            follow_rollouts: contacts_aws(self.backend, &self.env),
            policies: None,
            overrides: BTreeMap::new(),
        }
    }

    /// The environment's class (production, approval) as the strongest of
    /// stack.yaml's and what earlier applies recorded: a rollback or destroy
    /// is never less guarded because stack.yaml was edited.
    pub fn recorded_class(&self) -> Result<Protection> {
        let now = Protection {
            production: self.env.production,
            approval_required: self.env.approval_required(),
            protected: Vec::new(),
        };
        Ok(
            match protection::read(self.backend.store.as_ref(), &self.stack, &self.environment)? {
                Some((recorded, _)) => protection::strongest(&recorded, &now),
                None => now,
            },
        )
    }
}
