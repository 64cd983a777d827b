//! Saved plans: what a reviewer saw, so that `apply --plan` deploys exactly
//! that or nothing. A plan fixes the compiled program (its hash), the release
//! it was planned against, and the operation on every resource; `apply --plan`
//! takes the lock, recompiles, and refuses before anything changes when any of
//! them differs (a file edited since, another release landing first, AWS or
//! the state moving under it).

use crate::engine::changes::PlannedChanges;
use crate::error::{Context, Error, Result};
use crate::ops::changes::label;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The version of the plan file format.
const FORMAT: u32 = 1;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
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
    /// component → resource → `import`, `create`, `update`, `replace` or
    /// `delete`.
    pub components: BTreeMap<String, BTreeMap<String, String>>,
    /// component → the resources its environment adopts (`adopt:` in
    /// stack.yaml): imported as they are before any change above, which
    /// their program fixes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub imports: BTreeMap<String, Vec<String>>,
    /// What the change does to the estimated monthly cost (`crate::cost`),
    /// for the reviewer: not part of what the plan fixes.
    #[serde(default)]
    pub cost: Option<crate::cost::CostChange>,
    /// Every rule of `policies.yaml` and how it came out (a denying one that
    /// matched stops the plan instead).
    #[serde(default)]
    pub policies: Vec<crate::policy::RuleResult>,
    /// What each changed component goes through while it deploys, data loss
    /// and downtime first.
    #[serde(default)]
    pub impacts: Vec<super::impact::Impact>,
}

/// A preview's changes as a plan file writes them.
pub fn operations(plan: &PlannedChanges) -> BTreeMap<String, BTreeMap<String, String>> {
    plan.components
        .iter()
        .map(|(component, resources)| {
            let resources = resources
                .iter()
                .map(|(resource, change)| (resource.clone(), change.name().to_string()))
                .collect();
            (component.clone(), resources)
        })
        .collect()
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
        preview: &PlannedChanges,
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
            imports: preview
                .components
                .iter()
                .map(|(component, resources)| {
                    let imported: Vec<String> = resources
                        .keys()
                        .filter(|r| preview.imported.contains_key(*r))
                        .cloned()
                        .collect();
                    (component.clone(), imported)
                })
                .filter(|(_, imported)| !imported.is_empty())
                .collect(),
            cost: None,
            policies: Vec::new(),
            impacts: super::impact::impacts(preview),
        }
    }

    /// Reads a plan file, refusing one of another format or deployer version.
    pub fn read(path: &Path) -> Result<PlanFile> {
        let text = crate::fs::read_back_text(path, crate::fs::ReadBack::Plan)
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
            .context(|| format!("cannot write {}", path.display()))
    }

    /// The plan file's own hash, recorded in the release it becomes.
    pub fn hash(&self) -> String {
        crate::artifacts::sha256(&serde_json::to_vec(self).expect("a plan serialises"))
    }

    /// The plan's id: a hash of what was planned — the deployer and provider,
    /// the stack and environment, the program and settings, the variables,
    /// the release it was planned against and every operation — and not of
    /// when, by whom or at which commit. Planning again with nothing changed
    /// gives the same id (and the same pull-request comment).
    pub fn id(&self) -> String {
        let planned = serde_json::json!({
            "format": self.format,
            "deployer_version": self.deployer_version,
            "provider_version": self.provider_version,
            "stack": self.stack,
            "environment": self.environment,
            "variables": self.variables,
            "program_hash": self.program_hash,
            "settings_hash": self.settings_hash,
            "base_release": self.base_release,
            "components": self.components,
        });
        crate::artifacts::sha256(&serde_json::to_vec(&planned).expect("a plan serialises"))
    }

    /// The plan as `plan --output json` prints it: the file, and its id.
    pub fn to_json(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).expect("a plan serialises");
        value["id"] = serde_json::Value::String(self.id());
        value
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

/// The first 12 hex digits of a `sha256:` hash.
pub fn short(hash: &str) -> &str {
    let hex = hash.strip_prefix("sha256:").unwrap_or(hash);
    &hex[..hex.len().min(12)]
}

impl PlanFile {
    /// The plan as a pull-request comment ([`crate::markdown`]).
    pub fn markdown(&self) -> String {
        use crate::markdown::{Section, escape};
        let counts = self.counts();
        let count = |op: &str| counts.get(op).copied().unwrap_or(0);
        let imports: usize = self.imports.values().map(Vec::len).sum();
        let mut summary = format!(
            "### deployer plan: {} / {} \u{2014} {}{} to create, {} to update, {} to replace, {} to delete",
            self.stack,
            self.environment,
            if imports > 0 {
                format!("{imports} to import, ")
            } else {
                String::new()
            },
            count("create"),
            count("update"),
            count("replace"),
            count("delete")
        );
        summary.push_str(&format!(
            "\n\nPlanned against {}{} by {}; plan `{}`, program `{}`.",
            self.base_release
                .map_or("no release yet".to_string(), |n| format!("release #{n}")),
            self.git_commit
                .as_deref()
                .map(|c| format!(" at commit `{c}`"))
                .unwrap_or_default(),
            escape(&self.planned_by),
            short(&self.id()),
            short(&self.program_hash)
        ));
        summary.push_str(&super::impact::markdown(&self.impacts, label));
        if let Some(cost) = self.cost.as_ref().filter(|_| !self.components.is_empty()) {
            summary.push_str(&cost.markdown(label));
        }
        if self.components.is_empty() {
            summary = format!(
                "### deployer plan: {} / {} \u{2014} no changes",
                self.stack, self.environment
            );
        }
        let warnings: Vec<String> = self
            .components
            .iter()
            .flat_map(|(component, resources)| {
                resources
                    .iter()
                    .filter(|(_, op)| *op == "replace" || *op == "delete")
                    .map(move |(resource, op)| {
                        let done = if op == "delete" {
                            "deleted"
                        } else {
                            "replaced"
                        };
                        format!(
                            "`{}`: `{}` is {done}",
                            escape(label(component)),
                            escape(resource)
                        )
                    })
            })
            .collect();
        let sections: Vec<Section> = self
            .components
            .iter()
            .map(|(component, resources)| {
                let mut ops: BTreeMap<&str, usize> = BTreeMap::new();
                for op in resources.values() {
                    *ops.entry(op.as_str()).or_default() += 1;
                }
                let what: Vec<String> = ops.iter().map(|(op, n)| format!("{n} to {op}")).collect();
                let adopted = self.imports.get(component);
                let mut body = "| resource | change |\n|---|---|\n".to_string();
                for (resource, op) in resources {
                    let imported = adopted.is_some_and(|a| a.contains(resource));
                    let change = if imported && op != "import" {
                        format!("import, then {op}")
                    } else {
                        op.clone()
                    };
                    body.push_str(&format!("| `{}` | {change} |\n", escape(resource)));
                }
                Section {
                    title: format!("{} \u{2014} {}", label(component), what.join(", ")),
                    body,
                }
            })
            .collect();
        crate::markdown::comment(
            &crate::markdown::marker("plan", &self.stack, &self.environment),
            &summary,
            &warnings,
            &sections,
            &format!(
                "deployer plan --stack {} --environment {}",
                self.stack, self.environment
            ),
        )
    }
}

impl PlanFile {
    /// The variables `apply --plan` compiles with: the plan's, with the
    /// sensitive ones given again (`--var`), since a plan records them as
    /// `(sensitive)`. Any other `--var` is refused: the plan fixed it.
    pub fn given_again(&self, given: &[(String, String)]) -> Result<Vec<(String, String)>> {
        let sensitive = crate::expand::variables::SENSITIVE;
        let mut out: Vec<(String, String)> = self
            .variables
            .iter()
            .filter(|(_, v)| v.as_str() != sensitive)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (name, value) in given {
            match self.variables.get(name) {
                Some(v) if v == sensitive => out.push((name.clone(), value.clone())),
                Some(v) => {
                    return Err(Error::usage(format!(
                        "the plan fixes {name}={v}; only sensitive variables are given again with --plan"
                    )));
                }
                None => {
                    return Err(Error::usage(format!("the plan has no variable {name}")));
                }
            }
        }
        Ok(out)
    }
}
