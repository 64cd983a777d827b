//! `status`: each component of the last successful release, as AWS runs it
//! now.

use super::{Scope, Ui, deployed, open_backend};
use crate::backend::releases::Release;
use crate::error::Result;
use crate::inspect::Cloud;
use crate::model::stack::EnvironmentSpec;

pub use crate::inspect::status::{ComponentStatus, Health};

/// What `status` found.
pub struct StatusReport {
    /// The release that runs.
    pub release: Release,
    pub components: Vec<ComponentStatus>,
}

/// `deployer status`: the deployed release's components, from live AWS in
/// `env` (as stack.yaml says it now).
pub fn status(scope: Scope, env: &EnvironmentSpec, ui: &dyn Ui) -> Result<StatusReport> {
    let backend = open_backend(scope.repo, ui)?;
    let deployed = deployed::required(&backend, &scope.stack, &scope.environment)?;
    live(&backend, scope.repo, deployed, env)
}

/// `deployed`'s components as AWS runs them now, in `env`.
fn live(
    backend: &crate::backend::Backend,
    repo: &crate::load::Repo,
    deployed: deployed::Deployed,
    env: &EnvironmentSpec,
) -> Result<StatusReport> {
    let cloud = Cloud::connect(env, &backend.who(&repo.root))?;
    let components = crate::inspect::status::check(&cloud, &deployed.release, &deployed.kinds());
    Ok(StatusReport {
        release: deployed.release,
        components,
    })
}

/// How one target of `status --all` is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Healthy,
    Unhealthy,
    /// No successful release: nothing runs.
    NotDeployed,
    Error,
}

/// One target of `status --all`, as `--output json` prints it.
#[derive(serde::Serialize)]
pub struct TargetStatus {
    pub stack: String,
    pub environment: String,
    pub outcome: Outcome,
    pub release: Option<u32>,
    pub components: Vec<ComponentStatus>,
    /// Why it could not be read.
    pub detail: Option<String>,
}

/// `deployer status --all`: every target's components from live AWS, `jobs`
/// at a time; `done` sees each as it finishes.
pub fn status_every(
    repo: &crate::load::Repo,
    targets: &[super::EveryTarget],
    jobs: usize,
    ui: &(dyn Ui + Sync),
    mut done: impl FnMut(&TargetStatus),
) -> Result<Vec<TargetStatus>> {
    let backend = open_backend(repo, ui)?;
    Ok(crate::parallel::in_parallel(
        targets,
        jobs,
        |target| {
            let mut out = TargetStatus {
                stack: target.stack.clone(),
                environment: target.environment.clone(),
                outcome: Outcome::Error,
                release: None,
                components: Vec::new(),
                detail: None,
            };
            let read = || -> Result<Option<StatusReport>> {
                let env = target.env.clone().map_err(crate::error::Error::failed)?;
                match deployed::last(&backend, &target.stack, &target.environment)? {
                    Some(deployed) => live(&backend, repo, deployed, &env).map(Some),
                    None => Ok(None),
                }
            };
            match read() {
                Ok(Some(StatusReport {
                    release,
                    components,
                })) => {
                    out.outcome = if components.iter().any(|c| c.health == Health::Unhealthy) {
                        Outcome::Unhealthy
                    } else {
                        Outcome::Healthy
                    };
                    out.release = Some(release.start.number);
                    out.components = components;
                }
                Ok(None) => out.outcome = Outcome::NotDeployed,
                Err(e) => out.detail = Some(e.to_string()),
            }
            out
        },
        |_, result| done(result),
    ))
}
