//! Saved plans: what a reviewer saw, so that `apply --plan` deploys exactly
//! that or nothing. A plan fixes the compiled program (its hash), the release
//! it was planned against, and the operation on every resource; `apply --plan`
//! takes the lock, recompiles, and refuses before anything changes when any of
//! them differs (a file edited since, another release landing first, AWS or
//! the state moving under it).

use crate::engine::progress::{Change, Plan};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The version of the plan file format.
const FORMAT: u32 = 1;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct PlanFile {
    pub format: u32,
    pub deployer_version: String,
    pub provider_version: String,
    pub stack: String,
    pub environment: String,
    /// As shown and recorded: a sensitive variable is `(sensitive)` and must
    /// be given again to `apply --plan`.
    pub variables: BTreeMap<String, String>,
    pub git_commit: Option<String>,
    pub program_hash: String,
    pub settings_hash: String,
    /// The newest release when the plan was made (`None`: none yet).
    pub base_release: Option<u32>,
    pub planned_by: String,
    /// Unix seconds.
    pub planned_at: i64,
    /// component → resource → `create`, `update`, `replace` or `delete`.
    pub components: BTreeMap<String, BTreeMap<String, String>>,
}

/// A preview's changes as a plan file writes them.
pub fn operations(plan: &Plan) -> BTreeMap<String, BTreeMap<String, String>> {
    plan.components
        .iter()
        .map(|(component, resources)| {
            let resources = resources
                .iter()
                .map(|(resource, change)| (resource.clone(), word(*change).to_string()))
                .collect();
            (component.clone(), resources)
        })
        .collect()
}

fn word(change: Change) -> &'static str {
    match change {
        Change::Create => "create",
        Change::Update => "update",
        Change::Replace => "replace",
        Change::Delete => "delete",
    }
}

impl PlanFile {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        files: &crate::artifacts::Artifacts,
        stack: &str,
        environment: &str,
        variables: &BTreeMap<String, String>,
        git_commit: Option<String>,
        base_release: Option<u32>,
        planned_by: &str,
        preview: &Plan,
    ) -> PlanFile {
        PlanFile {
            format: FORMAT,
            deployer_version: crate::artifacts::VERSION.into(),
            provider_version: files.manifest.provider_version.clone(),
            stack: stack.into(),
            environment: environment.into(),
            variables: variables.clone(),
            git_commit,
            program_hash: files.manifest.program_hash.clone(),
            settings_hash: files.manifest.settings_hash.clone(),
            base_release,
            planned_by: planned_by.into(),
            planned_at: crate::backend::now(),
            components: operations(preview),
        }
    }

    /// Reads a plan file, refusing one of another format or deployer version.
    pub fn read(path: &Path) -> Result<PlanFile> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::usage(format!("cannot read the plan {}: {e}", path.display())))?;
        let plan: PlanFile = serde_json::from_str(&text).map_err(|e| {
            Error::usage(format!("{} is not a deployer plan: {e}", path.display()))
                .with_help("make one with `deployer plan --out FILE`")
        })?;
        if plan.format != FORMAT || plan.deployer_version != crate::artifacts::VERSION {
            return Err(Error::failed(format!(
                "{} was made by deployer {} (plan format {}); this is deployer {}: its program could differ",
                path.display(),
                plan.deployer_version,
                plan.format,
                crate::artifacts::VERSION
            ))
            .with_help("plan again with this deployer"));
        }
        Ok(plan)
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).expect("a plan serialises") + "\n";
        crate::artifacts::write_atomic(path, text.as_bytes())
            .map_err(|e| Error::failed(format!("cannot write {}: {e}", path.display())))
    }

    /// The plan's own hash, recorded in the release it becomes.
    pub fn hash(&self) -> String {
        crate::artifacts::sha256(&serde_json::to_vec(self).expect("a plan serialises"))
    }

    /// Counts of each operation, for the summary line.
    pub fn counts(&self) -> BTreeMap<&str, usize> {
        let mut counts = BTreeMap::new();
        for op in self.components.values().flat_map(|r| r.values()) {
            *counts.entry(op.as_str()).or_default() += 1;
        }
        counts
    }
}

/// How the preview now differs from the planned operations, in words (empty
/// when it does not).
pub fn differences(
    planned: &BTreeMap<String, BTreeMap<String, String>>,
    now: &BTreeMap<String, BTreeMap<String, String>>,
) -> Vec<String> {
    let flat =
        |m: &BTreeMap<String, BTreeMap<String, String>>| -> BTreeMap<String, (String, String)> {
            m.iter()
                .flat_map(|(c, r)| {
                    r.iter()
                        .map(move |(res, op)| (res.clone(), (c.clone(), op.clone())))
                })
                .collect()
        };
    let (before, after) = (flat(planned), flat(now));
    let mut out = Vec::new();
    for (resource, (component, op)) in &before {
        match after.get(resource) {
            None => out.push(format!(
                "{component}: {resource} was planned to {op}, and now does not change"
            )),
            Some((_, now)) if now != op => out.push(format!(
                "{component}: {resource} was planned to {op}, and would now {now}"
            )),
            Some(_) => {}
        }
    }
    for (resource, (component, op)) in &after {
        if !before.contains_key(resource) {
            out.push(format!(
                "{component}: {resource} would now {op}, which the plan did not say"
            ));
        }
    }
    out
}
