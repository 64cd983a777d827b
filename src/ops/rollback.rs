//! `rollback`: an earlier successful release's program deployed again, as a
//! new release, with its variables, as guarded as the environment has ever
//! been.

use super::Target;
use super::apply::Approval;
use super::deploy::{self, Operation, Request, Summary};
use super::lock::under_lock;
use super::{LockWait, Scope, Ui, check_account, open_backend};
use crate::backend::LockInfo;
use crate::backend::releases::{Release, Status};
use crate::error::{Error, Result};
use crate::model::stack::EnvironmentSpec;

/// Which release `rollback` re-applies, and how.
pub struct Rollback {
    /// `--to N`; else the newest success before the live release.
    pub to: Option<u32>,
    pub auto_approve: bool,
}

/// `deployer rollback [--to N]`: re-applies a release under the stack's lock.
pub fn rollback(
    scope: Scope,
    env: EnvironmentSpec,
    Rollback { to, auto_approve }: Rollback,
    wait: &LockWait,
    ui: &dyn Ui,
) -> Result<Summary> {
    let pulumi = crate::engine::pulumi::find()?;
    let backend = open_backend(scope.repo, ui)?;
    let target = scope.target(&backend, pulumi, env);
    let (stack, environment) = (&target.stack, &target.environment);
    let honoured = target.recorded_class()?;
    Approval {
        required: honoured.approval_required,
        auto_approve,
    }
    .check_possible(ui)?;
    check_account(&backend, target.repo, &target.env, environment)?;
    under_lock(
        &backend,
        target.repo,
        (stack, environment),
        "rollback",
        wait,
        ui,
        |held| {
            let release = rollback_target(&target, to)?;
            ui.step(&format!(
                "Rolling back {stack} / {environment} to release #{} ({}, applied {} by {})",
                release.start.number,
                release.start.variables_line(),
                crate::backend::timestamp(release.start.started),
                release.start.who
            ));
            rollback_locked(&target, &release, auto_approve, &held.info, ui)
        },
    )
}

/// The release `rollback` re-applies: `--to N` when given (it must have
/// succeeded), else the successful release before the current one.
fn rollback_target(target: &Target, to: Option<u32>) -> Result<Release> {
    let (stack, environment) = (&target.stack, &target.environment);
    let history = || format!("see `deployer history --stack {stack} --environment {environment}`");
    let releases = target.releases();
    if let Some(n) = to {
        let release = releases.get(n)?.ok_or_else(|| {
            Error::usage(format!("{stack} / {environment} has no release #{n}"))
                .with_help(history())
        })?;
        if release.result.as_ref().map(|r| r.status) != Some(Status::Succeeded) {
            return Err(Error::failed(format!(
                "release #{n} did not succeed ({}); roll back only to a release that did",
                release.status()
            )));
        }
        return Ok(release);
    }
    // The newest release is what runs now (or what a failure left, kept with
    // --no-rollback): go back to the newest one that succeeded before it.
    let all = releases.list()?;
    let live = all.last().map_or(0, |r| r.start.number);
    all.into_iter()
        .rev()
        .find(|r| {
            r.start.number < live
                && r.result
                    .as_ref()
                    .is_some_and(|x| x.status == Status::Succeeded)
        })
        .ok_or_else(|| {
            Error::failed(format!(
                "{stack} / {environment} has no earlier successful release to roll back to"
            ))
            .with_help(format!("{}; `--to N` picks one", history()))
        })
}

/// Under the lock: deploys `release`'s program again, with its variables, as
/// guarded as the environment has ever been.
fn rollback_locked(
    target: &Target,
    release: &Release,
    auto_approve: bool,
    lock: &LockInfo,
    ui: &dyn Ui,
) -> Result<Summary> {
    let n = release.start.number;
    let honoured = target.recorded_class()?;
    let request = Request {
        variables: release.start.variables.clone(),
        git_commit: release.start.git_commit.clone(),
        approval_required: honoured.approval_required,
        production: honoured.production,
        auto_approve,
        ..target.request(
            target.releases().artifacts(n, &target.environment)?,
            Operation::Rollback { source: n },
            (&lock.who, &lock.lock_id),
        )
    };
    deploy::deploy(request, ui)
}
