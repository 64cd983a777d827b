//! `drift`: refreshes the deployed release in preview mode, changing nothing,
//! and reports per component the resources whose real state differs from the
//! recorded one, under the stack's lock (a refresh while an apply runs would
//! read a half-changed stack).

use super::deploy::owners;
use super::deployed::{self, Deployed};
use super::lock::under_lock;
use super::{LockWait, Scope, Target, Ui, check_account, open_backend};
use crate::backend::LockInfo;
use crate::engine::changes::{Drifted, drift_from};
use crate::engine::{Engine, Setup, Workspace};
use crate::error::{Error, Result};
use crate::model::stack::EnvironmentSpec;
use serde::Serialize;
use std::collections::BTreeMap;

/// What `drift` found (`--output json` prints it as it is).
#[derive(Serialize)]
pub struct DriftReport {
    pub stack: String,
    pub environment: String,
    pub release: u32,
    pub drift: bool,
    pub components: BTreeMap<String, Vec<Drifted>>,
}

/// `deployer drift`: the last successful release's program refreshed
/// against AWS (in `env`, as stack.yaml says it now).
pub fn drift(
    scope: Scope,
    env: EnvironmentSpec,
    wait: &LockWait,
    ui: &dyn Ui,
) -> Result<DriftReport> {
    let (stack, environment) = (&scope.stack, &scope.environment);
    let pulumi = crate::engine::pulumi::find()?;
    let backend = open_backend(scope.repo, ui)?;
    let Some(deployed) = deployed::last(&backend, stack, environment)? else {
        return Err(Error::failed(format!(
            "nothing of {stack} is deployed in {environment} yet, so nothing can drift"
        ))
        .with_help(format!(
            "deploy with `deployer apply --stack {stack} --environment {environment}`"
        )));
    };
    check_account(&backend, scope.repo, &env, environment)?;
    let target = scope.target(&backend, pulumi, env);
    under_lock(
        &backend,
        target.repo,
        (&target.stack, &target.environment),
        "drift",
        wait,
        ui,
        |held| drift_locked(&target, &deployed, &held.info, ui),
    )
}

/// Refreshes `deployed`'s program against AWS in preview mode.
fn drift_locked(
    target: &Target,
    deployed: &Deployed,
    lock: &LockInfo,
    ui: &dyn Ui,
) -> Result<DriftReport> {
    let (stack, environment) = (&target.stack, &target.environment);
    let files = &deployed.files;
    let engine = Engine::prepare(Setup {
        pulumi: target.pulumi.clone(),
        backend: target.backend,
        repo_root: &target.repo.root,
        stack,
        environment,
        program: &files.program,
        settings: &files.settings,
        who: &lock.who,
        workspace: Workspace::Locked,
    })?;
    engine.install_provider(files.manifest.pinned_provider())?;
    engine.select_stack()?;
    if target.pulumi.refresh_validates_config() {
        engine.check_secret_config(&files.program)?;
    }
    ui.step(&format!(
        "Refreshing {stack} / {environment} (release #{}) from AWS, changing nothing...",
        deployed.number()
    ));
    let components = drift_from(&engine.preview_refresh()?, &owners(files));
    Ok(DriftReport {
        stack: stack.clone(),
        environment: environment.clone(),
        release: deployed.number(),
        drift: !components.is_empty(),
        components,
    })
}

/// How one target of `drift --all` ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// AWS matches the last successful release.
    NoDrift,
    Drift,
    /// No successful release: nothing to compare.
    NotDeployed,
    /// Someone holds the target's lock (a deploy runs): skipped, not waited for.
    Busy,
    Error,
}

/// One target of `drift --all`, as `--output json` prints it.
#[derive(Serialize)]
pub struct TargetDrift {
    pub stack: String,
    pub environment: String,
    pub outcome: Outcome,
    /// The release compared with, where there is one.
    pub release: Option<u32>,
    pub components: BTreeMap<String, Vec<Drifted>>,
    /// Why it was skipped or failed.
    pub detail: Option<String>,
}

/// `deployer drift --all`: every target refreshed, `jobs` at a time, each
/// under its own lock only while it is refreshed; a target whose lock is held
/// is skipped at once and said to be busy. `done` sees each as it finishes.
pub fn drift_every(
    repo: &crate::load::Repo,
    targets: &[super::EveryTarget],
    jobs: usize,
    ttl: std::time::Duration,
    ui: &(dyn Ui + Sync),
    mut done: impl FnMut(&TargetDrift),
) -> Result<Vec<TargetDrift>> {
    let pulumi = crate::engine::pulumi::find()?;
    let backend = open_backend(repo, ui)?;
    Ok(crate::parallel::in_parallel(
        targets,
        jobs,
        |target| {
            let ended = |outcome, release, detail: Option<String>| TargetDrift {
                stack: target.stack.clone(),
                environment: target.environment.clone(),
                outcome,
                release,
                components: BTreeMap::new(),
                detail,
            };
            match drift_one(&backend, repo, &pulumi, target, ttl, ui) {
                Ok(Some(report)) => TargetDrift {
                    outcome: if report.drift {
                        Outcome::Drift
                    } else {
                        Outcome::NoDrift
                    },
                    release: Some(report.release),
                    components: report.components,
                    ..ended(Outcome::NoDrift, None, None)
                },
                Ok(None) => ended(Outcome::NotDeployed, None, None),
                Err(Skipped::Busy(holder)) => ended(Outcome::Busy, None, Some(holder)),
                Err(Skipped::Failed(e)) => ended(Outcome::Error, None, Some(e.to_string())),
            }
        },
        |_, result| done(result),
    ))
}

enum Skipped {
    Busy(String),
    Failed(Error),
}

impl From<Error> for Skipped {
    fn from(e: Error) -> Self {
        Skipped::Failed(e)
    }
}

fn drift_one(
    backend: &crate::backend::Backend,
    repo: &crate::load::Repo,
    pulumi: &crate::engine::pulumi::Pulumi,
    target: &super::EveryTarget,
    ttl: std::time::Duration,
    ui: &dyn Ui,
) -> std::result::Result<Option<DriftReport>, Skipped> {
    let (stack, environment) = (&target.stack, &target.environment);
    let env = target.env.clone().map_err(Error::failed)?;
    let Some(deployed) = deployed::last(backend, stack, environment)? else {
        return Ok(None);
    };
    check_account(backend, repo, &env, environment)?;
    let target = Target {
        repo,
        backend,
        pulumi: pulumi.clone(),
        stack: stack.clone(),
        environment: environment.clone(),
        env,
    };
    let wait = LockWait {
        ttl,
        timeout: Some(std::time::Duration::ZERO),
    };
    // Taken without waiting: a target being deployed is skipped, busy.
    let report = under_lock(
        backend,
        repo,
        (stack, environment),
        "drift --all",
        &wait,
        ui,
        |held| drift_locked(&target, &deployed, &held.info, ui),
    )
    .map_err(|e| match e.find_cause::<crate::backend::lock::HeldBy>() {
        Some(holder) => Skipped::Busy(holder.to_string()),
        None => Skipped::Failed(e),
    })?;
    Ok(Some(report))
}
