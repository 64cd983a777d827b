//! `stacks/<stack>/stack.yaml`: environments, variables and tags of a stack.
//!
//! stack.yaml is not templated: it declares what templates in the other files
//! see (`environment`, `var`, `stack`).

use super::{Tags, Text, tags_schema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A stack: services deployed together, to each of its environments.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "deployer stack.yaml")]
pub struct StackFile {
    /// What this stack is for, in a sentence.
    pub description: Option<String>,
    /// Who owns the stack: a team name or an email address. Shown in `status`
    /// and put in the `deployer:owner` tag.
    pub owner: Option<String>,
    /// Tags put on every AWS resource of the stack, for cost tracking and
    /// ownership (keys may not start with `aws:` or `deployer:`).
    #[serde(default)]
    #[schemars(schema_with = "tags_schema")]
    pub tags: Tags,
    /// Variables this stack accepts (`--var NAME=VALUE`), available to templates
    /// as `{{ var.NAME }}`. A variable that is not declared here is refused.
    #[serde(default)]
    #[schemars(extend("propertyNames" = {"pattern": "^[A-Z][A-Z0-9_]*$", "maxLength": 64}))]
    pub variables: BTreeMap<String, VariableSpec>,
    /// The environments this stack deploys to, by name (for example
    /// `development`, `staging`, `production`). Names are DNS-safe, at most 16
    /// characters.
    #[schemars(extend("propertyNames" = {"pattern": "^[a-z]([a-z0-9-]*[a-z0-9])?$", "maxLength": 16}, "minProperties" = 1))]
    pub environments: BTreeMap<String, EnvironmentSpec>,
    /// The environment commands use when `--environment` is left out (after
    /// `DEPLOYER_ENVIRONMENT`). Without it: an environment named `development`
    /// or `dev`, else the only one. Never a production environment.
    #[schemars(regex(pattern = r"^[a-z]([a-z0-9-]*[a-z0-9])?$"))]
    pub default_environment: Option<String>,
}

/// A variable the stack accepts.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VariableSpec {
    /// What the variable means; shown when it is missing.
    pub description: Option<String>,
    /// Whether every command that compiles the stack must be given a value.
    #[serde(default)]
    pub required: bool,
    /// Value used when none is given.
    pub default: Option<Text>,
    /// A regular expression the whole value must match (for example
    /// `^v\d+\.\d+\.\d+$` for a release tag).
    pub pattern: Option<String>,
    /// A secret (a token, a password): its value is kept out of compiled
    /// programs, manifests, release records, `history`, `show` and error
    /// messages (shown as `(sensitive)`), and reaches Pulumi only as an
    /// encrypted secret config value. Usable where a value reaches the running
    /// container: `env`, `command`, `entrypoint` and configs.
    #[serde(default)]
    pub sensitive: bool,
}

/// Where and how an environment is deployed.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentSpec {
    /// The 12-digit AWS account ID. deployer refuses to deploy with credentials
    /// for another account.
    #[schemars(regex(pattern = r"^[0-9]{12}$"))]
    pub account: String,
    /// An IAM role in the environment's account that deployer assumes for
    /// everything touching the environment's resources (Pulumi's AWS provider,
    /// `status`, `logs`, `drift`), with a session named after the user. The
    /// shared back-end (bucket, table) keeps your own credentials.
    #[schemars(regex(pattern = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$"))]
    pub role_arn: Option<String>,
    /// The AWS region, for example `us-east-1`.
    #[schemars(regex(pattern = r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$"))]
    pub region: String,
    /// Other names `--environment` accepts for this one, e.g. `[dev]` for
    /// `development`.
    #[serde(default)]
    #[schemars(inner(regex(pattern = r"^[a-z]([a-z0-9-]*[a-z0-9])?$")))]
    pub aliases: Vec<String>,
    /// A production environment gets the safe defaults: deletion protection and
    /// final snapshots for databases, multi-AZ, longer log and backup retention,
    /// and approval before every apply.
    #[serde(default)]
    pub production: bool,
    /// Whether `apply` and `rollback` ask for approval before changing anything.
    /// Defaults to `required` in production environments and `none` elsewhere.
    pub approval: Option<Approval>,
    /// The existing network the environment deploys into.
    pub network: Network,
    /// Extra tags for this environment's resources, merged over the stack's.
    #[serde(default)]
    #[schemars(schema_with = "tags_schema")]
    pub tags: Tags,
    /// Days to keep container logs. Defaults to 30, or 90 in production.
    #[schemars(extend("enum" = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]))]
    pub log_retention_days: Option<u32>,
    /// The name of the environment's ECS cluster. Leave it out for
    /// `<stack>-<environment>`; name one to keep a cluster that is already
    /// there, with the services running in it (`deployer import copilot
    /// --adopt` writes Copilot's). A new name is a new cluster: every
    /// service moves to it.
    #[schemars(length(min = 1, max = 255), regex(pattern = r"^[A-Za-z0-9_-]+$"))]
    pub cluster: Option<String>,
    /// Load balancers already there that this environment's keep serving,
    /// by visibility (`deployer import copilot --adopt` writes Copilot's).
    /// Leave them out for deployer to make its own.
    #[serde(default, skip_serializing_if = "LoadBalancers::is_empty")]
    pub load_balancers: LoadBalancers,
    /// Live resources this environment's program takes over instead of
    /// creating, by the program's resource name: each gets Pulumi's `import`
    /// option with the resource's id (an ARN, a name, a queue URL, as
    /// pulumi-aws imports that type). `deployer import copilot --adopt` writes
    /// them; remove them after the environment's first apply, since Pulumi
    /// refuses to replace a resource that still names an id to import.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("propertyNames" = {"pattern": "^[A-Za-z0-9_.-]+$"}))]
    pub adopt: BTreeMap<String, AdoptedId>,
}

/// An environment's load balancers that are already there, by visibility.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoadBalancers {
    /// The internet-facing one, for components exposed `public`.
    pub public: Option<KeptLoadBalancer>,
    /// The one inside the VPC, for components exposed `internal`.
    pub internal: Option<KeptLoadBalancer>,
}

impl LoadBalancers {
    pub fn is_empty(&self) -> bool {
        self.public.is_none() && self.internal.is_none()
    }
}

/// A load balancer kept under its name, with the security groups it has.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeptLoadBalancer {
    /// Its name, which AWS cannot change: another name is a new load
    /// balancer, at a new DNS name.
    #[schemars(
        length(min = 1, max = 32),
        regex(pattern = r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$")
    )]
    pub name: String,
    /// Security groups it keeps beside deployer's own, so the tasks that
    /// admit requests from them still get them: Copilot's services let in
    /// their load balancer's groups, and keep serving through it until
    /// deployer's replace them. Remove them once Copilot's services are
    /// retired: deployer's own group admits what the load balancer serves.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(regex(pattern = r"^sg-[0-9a-f]{8,17}$")), length(max = 4))]
    pub keep_security_groups: Vec<String>,
}

/// The id of a live resource to import (what `pulumi import` takes for its type).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct AdoptedId(#[schemars(length(min = 1, max = 2048))] pub String);

impl EnvironmentSpec {
    pub fn approval_required(&self) -> bool {
        match self.approval {
            Some(Approval::Required) => true,
            Some(Approval::None) => false,
            None => self.production,
        }
    }

    pub fn log_retention_days(&self) -> u32 {
        self.log_retention_days
            .unwrap_or(if self.production { 90 } else { 30 })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Approval {
    /// Ask before applying (or require `--auto-approve`).
    Required,
    /// Apply without asking.
    None,
}

/// An existing VPC: deployer does not create networks, it deploys into the one the
/// platform team runs.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// The VPC ID, for example `vpc-0a1b2c3d4e5f67890`.
    #[schemars(regex(pattern = r"^vpc-[0-9a-f]{8,17}$"))]
    pub vpc: String,
    /// Private subnets (at least two, in different availability zones) for
    /// containers and databases.
    #[schemars(length(min = 2), inner(regex(pattern = r"^subnet-[0-9a-f]{8,17}$")))]
    pub private_subnets: Vec<String>,
    /// Public subnets (at least two) for the internet-facing load balancer;
    /// required when a component is exposed publicly.
    #[serde(default)]
    #[schemars(inner(regex(pattern = r"^subnet-[0-9a-f]{8,17}$")))]
    pub public_subnets: Vec<String>,
    /// ACM certificate ARN for HTTPS. With it, load balancers listen on 443 and
    /// redirect port 80 to HTTPS; without it they serve HTTP on port 80.
    #[schemars(regex(
        pattern = r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[A-Za-z0-9-]+$"
    ))]
    pub certificate: Option<String>,
}
