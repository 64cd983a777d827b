//! Emission: one Pulumi YAML program per (stack, environment).
//!
//! Stack-wide resources (cluster, load balancers) come from [`network`]; each
//! component kind emits its own resources (`crate::kinds::*::emit`). Everything is
//! built in a fixed order from sorted inputs, so the same input always gives the
//! same bytes.

pub mod names;
pub mod network;
pub mod program;

use crate::kinds::{self, Spec};
use crate::resolve::refs::{self, Piece};
use crate::resolve::{Id, ResolvedStack, parse_target};
use program::{Part, Program, Resource, Value, map, s};
use serde_json::json;
use std::collections::BTreeMap;

/// What emission produces for one stack and environment.
pub struct Compiled {
    pub program: Program,
    /// `Pulumi.<environment>.yaml`: provider settings of the Pulumi stack.
    pub settings: serde_json::Value,
}

impl Compiled {
    /// `component → [resource names]`, `_stack` for stack-wide resources.
    pub fn resources_by_component(&self) -> BTreeMap<String, Vec<String>> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in &self.program.resources {
            out.entry(r.component.clone().unwrap_or_else(|| "_stack".into()))
                .or_default()
                .push(r.name.clone());
        }
        out
    }
}

pub fn emit(stack: &ResolvedStack) -> Compiled {
    let mut e = Emitter {
        stack,
        program: Program {
            name: stack.name.clone(),
            description: format!(
                "{} — {} (compiled by deployer; do not edit)",
                stack.stack.description.as_deref().unwrap_or(&stack.name),
                stack.environment
            ),
            secret_config: stack
                .stack
                .variables
                .iter()
                .filter(|(_, v)| v.sensitive)
                .map(|(name, _)| secret_config_key(name))
                .collect(),
            ..Program::default()
        },
    };
    network::emit(&mut e);
    for index in 0..stack.components.len() {
        match &stack.components[index].spec {
            Spec::Microservice(..) => kinds::microservice::emit::emit(&mut e, index),
            Spec::Rds(_) => kinds::rds::emit(&mut e, index),
            Spec::Sqs(_) => kinds::sqs::emit(&mut e, index),
            Spec::Cache(_) => kinds::cache::emit(&mut e, index),
        }
    }
    for index in 0..stack.components.len() {
        let c = &stack.components[index];
        for (output, _) in c.spec.kind().outputs() {
            if kinds::output_available(&c.spec, output).is_ok() {
                let value = Value::interp(kinds::output(&e, index, output));
                e.program
                    .outputs
                    .push((format!("{}.{output}", c.id), value));
            }
        }
    }
    let mut settings = json!({
        "config": {
            "aws:region": stack.env.region,
            "aws:allowedAccountIds": [stack.env.account],
        }
    });
    if let Some(role) = &stack.env.role_arn {
        // The provider assumes the environment's role; the session is named
        // after the user when the program is deployed (`engine::session_name`).
        settings["config"]["aws:assumeRoles"] = json!([{ "roleArn": role }]);
    }
    Compiled {
        program: e.program,
        settings,
    }
}

/// The state of emission: the stack being emitted and the program so far.
pub struct Emitter<'a> {
    pub stack: &'a ResolvedStack,
    pub program: Program,
}

impl Emitter<'_> {
    pub fn id(&self, index: usize) -> &Id {
        &self.stack.components[index].id
    }

    /// Logical name of a component's resource: `email-service-api-<role>`.
    pub fn name(&self, index: usize, role: &str) -> String {
        format!("{}-{role}", self.id(index).prefix())
    }

    /// Logical name of a resource that pulumi-aws names itself: `<name>-` plus 7
    /// random characters must fit the provider's maximum for the type
    /// (`NewUniqueName`, pulumi `sdk/go/common/resource/resource_id.go`), so the
    /// component's prefix is shortened with a hash when needed. Autonaming keeps
    /// replacements create-before-delete, which a load balancer's target group
    /// needs (AWS refuses to delete one in use).
    pub fn autonamed(&self, index: usize, role: &str, provider_max: usize) -> String {
        let room = provider_max - AUTONAME_SUFFIX - role.len() - 1;
        format!("{}-{role}", short_name(&self.id(index).prefix(), room))
    }

    /// Adds a component's resource, tagged as the component's.
    pub fn add(&mut self, index: usize, resource: Resource) {
        let resource = Resource {
            component: Some(self.id(index).to_string()),
            ..resource
        };
        self.program.resources.push(resource);
    }

    /// Adds a stack-wide resource.
    pub fn add_shared(&mut self, resource: Resource) {
        self.program.resources.push(resource);
    }

    pub fn add_variable(&mut self, name: String, value: Value) {
        if !self.program.variables.iter().any(|(n, _)| *n == name) {
            self.program.variables.push((name, value));
        }
    }

    /// The tags of a component's resources.
    pub fn tags(&self, index: usize) -> Value {
        tags_value(&self.stack.components[index].tags)
    }

    /// The tags of a stack-wide resource with the given role.
    pub fn shared_tags(&self, role: &str) -> Value {
        tags_value(&self.stack.tags_for_stack(role))
    }

    /// The AWS partition of the environment's region (`aws`, `aws-cn`, `aws-us-gov`).
    pub fn partition(&self) -> &'static str {
        let region = &self.stack.env.region;
        if region.starts_with("cn-") {
            "aws-cn"
        } else if region.starts_with("us-gov-") {
            "aws-us-gov"
        } else {
            "aws"
        }
    }

    /// A physical AWS name from parts, shortened with a hash to fit `max`.
    pub fn physical_name(&self, parts: &[&str], max: usize) -> String {
        short_name(&parts.join("-"), max)
    }

    /// `stack-environment-service-component`.
    pub fn qualified(&self, index: usize) -> String {
        let id = self.id(index);
        format!(
            "{}-{}-{}-{}",
            self.stack.name, self.stack.environment, id.service, id.component
        )
    }

    /// A string from the user's files: text, with `ref()` markers turned into
    /// references to the outputs they name (checked by resolve).
    pub fn text(&self, user: usize, text: &str) -> Value {
        let Ok(pieces) = refs::split(text) else {
            return s(text);
        };
        let mut parts = Vec::new();
        for piece in pieces {
            match piece {
                Piece::Text(t) => parts.push(Part::Text(t.to_string())),
                Piece::Sensitive(name) => parts.push(Part::Ref(secret_config_key(name))),
                Piece::Ref(reference) => {
                    let (target, output) = refs::target_and_output(reference);
                    let target =
                        parse_target(self.id(user), target).and_then(|id| self.stack.index_of(&id));
                    match target {
                        Some(index) => parts.extend(kinds::output(self, index, output)),
                        None => parts.push(Part::Text(reference.to_string())),
                    }
                }
            }
        }
        Value::interp(parts)
    }

    /// A JSON value from a config, with references resolved in its strings.
    pub fn json_value(&self, user: usize, json: &serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match (n.as_i64(), n.as_f64()) {
                (Some(i), _) => Value::Int(i),
                (None, Some(f)) => Value::Float(f),
                (None, None) => s(n.to_string()),
            },
            serde_json::Value::String(text) => self.text(user, text),
            serde_json::Value::Array(items) => {
                Value::List(items.iter().map(|i| self.json_value(user, i)).collect())
            }
            serde_json::Value::Object(obj) => Value::Map(
                obj.iter()
                    .map(|(k, v)| (k.clone(), self.json_value(user, v)))
                    .collect(),
            ),
        }
    }
}

/// The Pulumi config key (in the program's project namespace) that carries a
/// sensitive variable's value, encrypted.
pub fn secret_config_key(variable: &str) -> String {
    format!("sensitive_{variable}")
}

fn tags_value(tags: &BTreeMap<String, String>) -> Value {
    map(tags.iter().map(|(k, v)| (k.clone(), s(v.clone()))))
}

/// What autonaming adds to a logical name: `-` and 7 random characters.
pub const AUTONAME_SUFFIX: usize = 8;

/// Shortens `name` to `max` characters by keeping a prefix and appending a hash
/// of the whole name, so different long names stay different.
pub fn short_name(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_string();
    }
    let hash = format!("{:08x}", fnv1a(name.as_bytes()) as u32);
    let keep = max.saturating_sub(hash.len() + 1);
    let prefix = name[..keep].trim_end_matches('-');
    format!("{prefix}-{hash}")
}

/// FNV-1a: a small, stable hash (the same on every platform and version).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_fit_and_stay_distinct() {
        assert_eq!(short_name("short", 10), "short");
        let a = short_name(&"a".repeat(100), 63);
        let b = short_name(&format!("{}b", "a".repeat(99)), 63);
        assert!(a.len() <= 63 && b.len() <= 63);
        assert_ne!(a, b);
    }
}
