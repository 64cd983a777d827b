//! What is deployed: the last successful release of a stack in an
//! environment and what it applied, as `show --deployed`, `diff --against
//! deployed`, `drift`, `status` and `logs` read it.

use crate::artifacts::Artifacts;
use crate::backend::Backend;
use crate::backend::releases::{Release, Releases};
use crate::error::{Error, Result};
use serde_json::Value as Json;
use std::collections::BTreeMap;

/// The last successful release and the program, settings and manifest it
/// applied (checked against the hash it recorded).
pub struct Deployed {
    pub release: Release,
    pub files: Artifacts,
}

/// The last successful release, or `None` when nothing is deployed (never,
/// or destroyed since).
pub fn last(backend: &Backend, stack: &str, environment: &str) -> Result<Option<Deployed>> {
    let releases = Releases::new(backend.store.as_ref(), stack, environment);
    let Some(release) = releases.last_success()? else {
        return Ok(None);
    };
    let files = releases.artifacts(release.start.number, environment)?;
    Ok(Some(Deployed { release, files }))
}

/// The last successful release; when there is none, an error that says how to
/// deploy.
pub fn required(backend: &Backend, stack: &str, environment: &str) -> Result<Deployed> {
    last(backend, stack, environment)?.ok_or_else(|| {
        Error::failed(format!(
            "nothing of {stack} is deployed in {environment} yet (no successful release)"
        ))
        .with_help(format!(
            "deploy with `deployer apply --stack {stack} --environment {environment}`"
        ))
    })
}

impl Deployed {
    pub fn number(&self) -> u32 {
        self.release.start.number
    }

    /// The program as JSON, for comparing and printing.
    pub fn program_json(&self) -> Result<Json> {
        crate::load::yaml::to_json(&self.files.program).map_err(|e| {
            Error::failed(format!(
                "the stored program of release #{} is damaged: {e}",
                self.number()
            ))
        })
    }

    /// Component → kind name, from the release's manifest.
    pub fn kinds(&self) -> std::collections::BTreeMap<String, String> {
        self.files
            .manifest
            .components
            .iter()
            .map(|(c, e)| (c.clone(), e.kind.clone()))
            .collect()
    }
}

/// Every release of a stack in an environment, oldest first (checked against
/// each other: [`Releases::list`]). None at all is "no releases yet" only when
/// Pulumi's state of it is empty too: release records deleted while resources
/// exist are an error, never an empty history.
pub fn history(
    backend: &Backend,
    repo_root: &std::path::Path,
    stack: &str,
    environment: &str,
) -> Result<Vec<Release>> {
    let all = Releases::new(backend.store.as_ref(), stack, environment).list()?;
    if all.is_empty()
        && let crate::engine::checkpoint::Held::Resources(n) =
            crate::engine::checkpoint::resources(backend, repo_root, stack, environment)?
        && n > 0
    {
        return Err(Error::failed(format!(
            "{stack} / {environment} has no release records in {}, yet Pulumi's state of it holds {n} resources: the records were deleted, and what is deployed there is not known to deployer",
            backend.store.describe()
        ))
        .with_help("restore the release folders from the bucket's versions (or a backup of .deployer/); `deployer drift` and `deployer apply` need them"));
    }
    Ok(all)
}

/// A release's number and the variables it was applied with.
pub type DeployedVariables = (u32, BTreeMap<String, String>);

/// Per environment, the number and variables of its last successful release,
/// where there is one (`show` without `--var`); with what could not be read
/// (the back-end, a release), each said once.
pub fn variables(
    repo: &crate::load::Repo,
    stack: &str,
    environments: &[String],
) -> (BTreeMap<String, DeployedVariables>, Vec<String>) {
    let mut out = BTreeMap::new();
    let backend = match crate::backend::config::resolve()
        .and_then(|settings| Backend::open(&settings, &repo.root))
    {
        Ok(backend) => backend,
        Err(e) => return (out, vec![format!("cannot open the back-end: {e}")]),
    };
    let mut problems = Vec::new();
    for environment in environments {
        match Releases::new(backend.store.as_ref(), stack, environment).last_success() {
            Ok(Some(release)) => {
                // A sensitive value was never recorded: it is shown as a placeholder.
                let mut variables = release.start.variables;
                variables.retain(|_, v| v != crate::expand::variables::SENSITIVE);
                out.insert(environment.clone(), (release.start.number, variables));
            }
            Ok(None) => {}
            Err(e) => problems.push(format!(
                "cannot read the releases of {stack} / {environment}: {e}"
            )),
        }
    }
    (out, problems)
}
