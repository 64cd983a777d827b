//! `policies.yaml` at the root of a deployment repository: the platform
//! team's rules, checked on every plan before anything changes.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The rules every plan and apply of the repository is checked against.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "deployer policies.yaml")]
pub struct PolicyFile {
    /// Each rule, in order.
    pub rules: Vec<Rule>,
}

/// One rule: when its condition holds, its effect applies.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// A name to refer to it by (`--override-policy NAME`).
    #[schemars(regex(pattern = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"), length(max = 64))]
    pub name: String,
    /// A CEL expression over the plan (docs/guide.md, "Policies"): `plan`,
    /// `stack`, `environment` and, in a rule that names it, each `change`.
    /// For example `environment.production && change.kind == "rds" &&
    /// change.op in ["replace", "delete"]`.
    #[schemars(length(min = 1, max = 4096))]
    pub when: String,
    /// `deny` stops the plan before anything changes; `require-approval`
    /// makes the environment ask for approval; `warn` says so and goes on.
    pub effect: Effect,
    /// What to tell the person whose change it stops.
    pub message: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Effect {
    /// Stop `plan`, `apply` and `apply --plan` before anything changes.
    Deny,
    /// Ask for approval even where the environment needs none.
    RequireApproval,
    /// Say so, and go on.
    Warn,
}

impl Effect {
    pub fn name(self) -> &'static str {
        match self {
            Effect::Deny => "deny",
            Effect::RequireApproval => "require-approval",
            Effect::Warn => "warn",
        }
    }
}
