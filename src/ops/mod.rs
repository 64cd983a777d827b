//! The operations: what a command does once its arguments are read, as flows
//! that return what happened (a [`deploy::Summary`], a [`drift::DriftReport`])
//! and talk to the user only through [`Ui`], which the command line
//! implements. Each command in `cli/commands/` parses, calls one of these, and
//! prints the result (as cargo's commands wrap `cargo::ops`).
//!
//! - [`apply`]: apply, rollback and destroy under the stack's lock — the
//!   reviewed plan, the recorded protection, the lost-state check — and
//!   `plan`, an apply's preview saved for review;
//! - [`deploy`]: the engine flow they share (preview, approval, `pulumi up`,
//!   release records, automatic rollback);
//! - [`drift`]: refresh the deployed release and report what differs;
//! - [`deployed`]: the last successful release and its program, which
//!   `show --deployed`, `diff --against deployed`, `drift`, `status` and `logs`
//!   read;
//! - [`plan`]: the saved plan's file (`plan --out`, `apply --plan`).

pub mod apply;
pub mod deploy;
pub mod deployed;
pub mod drift;
pub mod plan;

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

/// What the user sees and decides.
pub trait Ui {
    /// A stage: "Previewing changes...".
    fn step(&self, text: &str);
    fn warn(&self, text: &str);
    /// A note beside the flow ("note: first apply of …").
    fn note(&self, text: &str);
    /// Asks, on a terminal only, to accept that this apply lowers the
    /// protection earlier applies recorded (`what`); `Ok(false)` when refused,
    /// an error when there is no terminal.
    fn accept_downgrade(&self, stack: &str, environment: &str, what: &str) -> Result<bool>;
    /// The planned changes, per component.
    fn plan(&self, stack: &str, environment: &str, plan: &PlannedChanges);
    /// Asks for approval; `Ok(false)` when refused.
    fn approve(&self, stack: &str, environment: &str, production: bool) -> Result<bool>;
    /// Asks before everything is destroyed (in production: the environment's
    /// name must be typed); `Ok(false)` when refused.
    fn confirm_destroy(&self, stack: &str, environment: &str, production: bool) -> Result<bool>;
    fn progress(&self, update: &Update);
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
