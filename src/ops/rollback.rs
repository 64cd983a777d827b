//! `rollback`: an earlier successful release's program deployed again, as a
//! new release, with its variables, as guarded as the environment has ever
//! been.

use super::Target;
use super::apply::Approval;
use super::deploy::{self, Operation, Request, Summary};
use super::lock::under_lock;
use super::{LockWait, Scope, Ui, check_account, contacts_aws, open_backend};
use crate::backend::LockInfo;
use crate::backend::releases::{Release, Status};
use crate::error::{Error, Result};
use crate::inspect::rollout::{self, ServiceDeployment};
use crate::model::stack::EnvironmentSpec;

/// Which release `rollback` re-applies, and how.
pub struct Rollback {
    /// `--to N`; else the newest success before the live release.
    pub to: Option<u32>,
    pub auto_approve: bool,
}

/// What `rollback` did.
pub enum RolledBack {
    /// ECS was rolling services out: each deployment was stopped with
    /// rollback, and ECS brings back the revision that ran before.
    StoppedRollouts(Vec<(String, ServiceDeployment)>),
    /// An earlier release deployed again.
    Redeployed(Summary),
}

/// `deployer rollback [--to N]`: while ECS rolls a service out (a canary
/// baking), stops that deployment with rollback (`StopServiceDeployment`) —
/// ECS's own operation, so no lock is needed and an `apply` following the
/// rollout records it as rolled back; otherwise re-applies a release under
/// the stack's lock.
pub fn rollback(
    scope: Scope,
    env: EnvironmentSpec,
    Rollback { to, auto_approve }: Rollback,
    wait: &LockWait,
    ui: &dyn Ui,
) -> Result<RolledBack> {
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
    if to.is_none() && contacts_aws(&backend, &target.env) {
        let running = rollouts_in_progress(&target, ui)?;
        if !running.is_empty() {
            if honoured.approval_required
                && !auto_approve
                && !ui.approve(stack, environment, honoured.production)?
            {
                return Err(Error::failed("rollback not approved; nothing was changed"));
            }
            let cloud =
                crate::inspect::Cloud::connect(&target.env, &backend.who(&target.repo.root))?;
            for (component, deployment) in &running {
                ui.step(&format!(
                    "Stopping ECS's {} of {component} ({}) with rollback...",
                    deployment.shape(),
                    deployment.progress()
                ));
                rollout::stop(&cloud, &deployment.arn).map_err(|why| {
                    Error::failed(format!("could not stop the rollout of {component}: {why}"))
                })?;
            }
            return Ok(RolledBack::StoppedRollouts(running));
        }
    }
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
    .map(RolledBack::Redeployed)
}

/// The deployments ECS is running now for the container services of the
/// newest release (or, before it has outputs, of the last successful one).
/// When ECS cannot be asked, says so and finds none: `rollback` then
/// re-applies as it always did.
fn rollouts_in_progress(target: &Target, ui: &dyn Ui) -> Result<Vec<(String, ServiceDeployment)>> {
    let releases = target.releases();
    let Some(latest) = releases.latest()? else {
        return Ok(Vec::new());
    };
    let recorded = latest
        .result
        .as_ref()
        .map(|r| r.outputs.clone())
        .filter(|o| !o.is_empty());
    let outputs = match recorded {
        Some(outputs) => outputs,
        None => match releases.last_success()?.and_then(|r| r.result) {
            Some(result) => result.outputs,
            None => return Ok(Vec::new()),
        },
    };
    let files = releases.artifacts(latest.start.number, &target.environment)?;
    let Some(cluster) = crate::inspect::output(&outputs, "_stack", "cluster") else {
        return Ok(Vec::new());
    };
    let cloud =
        crate::inspect::Cloud::connect(&target.env, &target.backend.who(&target.repo.root))?;
    let mut running = Vec::new();
    for (component, entry) in &files.manifest.components {
        let containers = crate::kinds::Kind::from_name(&entry.kind)
            .is_some_and(crate::kinds::Kind::runs_containers);
        let Some(service) = crate::inspect::output(&outputs, component, "name") else {
            continue;
        };
        if !containers {
            continue;
        }
        match rollout::latest(&cloud, cluster, service, None) {
            Ok(Some(deployment)) if !deployment.finished() => {
                running.push((component.clone(), deployment));
            }
            Ok(_) => {}
            Err(why) => ui.warn(&format!(
                "could not ask ECS whether {component} is rolling out ({why}); rolling back by deploying again"
            )),
        }
    }
    Ok(running)
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
