//! `drift`: refreshes the deployed release in preview mode, changing nothing,
//! and reports per component the resources whose real state differs from the
//! recorded one. The caller holds the stack's lock.

use super::deploy::owners;
use super::deployed::Deployed;
use super::{Target, Ui};
use crate::backend::LockInfo;
use crate::engine::changes::{Drifted, drift_from};
use crate::engine::{Engine, Setup, Workspace};
use crate::error::Result;
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

/// Refreshes `deployed`'s program against AWS in preview mode.
pub fn drift(
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
