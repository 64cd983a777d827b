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
