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
    let kinds = deployed.kinds();
    let cloud = Cloud::connect(env, &backend.who(&scope.repo.root))?;
    let components = crate::inspect::status::check(&cloud, &deployed.release, &kinds);
    Ok(StatusReport {
        release: deployed.release,
        components,
    })
}
