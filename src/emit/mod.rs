//! Emission: one Pulumi YAML program per (stack, environment).
//!
//! Stack-wide resources (cluster, load balancers) come from [`network`]; each
//! component kind emits its own resources (`crate::kinds::*::emit`). Everything is
//! built in a fixed order from sorted inputs, so the same input always gives the
//! same bytes.

pub mod emitter;
pub mod names;
pub mod network;
pub mod program;

use crate::resolve::ResolvedStack;
use emitter::{Emitter, secret_config_key};
use program::{Program, Value};
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
        e.emit_component(index);
    }
    for index in 0..stack.components.len() {
        let c = &stack.components[index];
        for (output, _) in c.spec.kind().outputs() {
            if c.spec.output_available(output).is_ok() {
                let value = Value::interp(e.output(index, output));
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
