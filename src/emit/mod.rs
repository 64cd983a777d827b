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
pub mod yaml;

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

/// Whether a resource of Pulumi type `token` holds data, by the kinds'
/// [`emitter::EmitKind::HOLDS_DATA`].
pub fn holds_data(token: &str) -> bool {
    use crate::kinds::{Kind, on_kind};
    use emitter::EmitKind;
    Kind::ALL
        .iter()
        .any(|kind| on_kind!(*kind, K => <K as EmitKind>::HOLDS_DATA).contains(&token))
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
                    .push((format!("{}.{output}", c.id).into(), value));
            }
        }
    }
    // Resources the environment adopts take over live ones (stack.yaml's
    // `adopt:`; a name the program lacks is reported by `pipeline`).
    for resource in &mut e.program.resources {
        if let Some(id) = stack.env.adopt.get(&resource.name) {
            resource.import = Some(id.0.clone());
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

#[cfg(test)]
mod tests {
    use crate::pipeline::{GivenVars, Options, compile_stack};
    use std::collections::BTreeSet;

    /// AWS resource types that keep data a deletion loses, by pulumi-aws
    /// token: whatever a kind emits of these must be gated.
    const KEEPS_DATA_IN_AWS: &[&str] = &[
        "aws:rds/instance:Instance",
        "aws:rds/cluster:Cluster",
        "aws:sqs/queue:Queue",
        "aws:elasticache/replicationGroup:ReplicationGroup",
        "aws:elasticache/cluster:Cluster",
        "aws:elasticache/serverlessCache:ServerlessCache",
        "aws:dynamodb/table:Table",
        "aws:s3/bucket:Bucket",
        "aws:s3/bucketV2:BucketV2",
        "aws:efs/fileSystem:FileSystem",
        "aws:kinesis/stream:Stream",
        "aws:secretsmanager/secret:Secret",
    ];

    /// Every type the example's programs hold, in every environment (it
    /// has one component of every kind).
    fn emitted_types() -> BTreeSet<&'static str> {
        let root =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/deployment-repo");
        let repo = crate::load::Repo::open(Some(&root), &root).unwrap();
        let mut sources = crate::source::Sources::default();
        let mut diagnostics = Vec::new();
        let options = Options {
            environment: None,
            missing: crate::expand::variables::Missing::Placeholder,
            undeclared: crate::pipeline::Undeclared::Error,
            programs: crate::pipeline::Programs::Keep,
            prefetched: Default::default(),
        };
        let mut checked = compile_stack(
            &repo,
            "notification-platform",
            &GivenVars::default(),
            &options,
            &mut sources,
            &mut diagnostics,
        );
        assert!(
            !diagnostics
                .iter()
                .any(crate::diagnostic::Diagnostic::is_error)
        );
        let kinds: BTreeSet<_> = checked.loaded.components().map(|(_, c)| c.kind).collect();
        assert_eq!(
            kinds.len(),
            crate::kinds::Kind::ALL.len(),
            "the example has a component of every kind"
        );
        (0..checked.environments.len())
            .flat_map(|i| checked.take_compiled(i).program.resources)
            .map(|r| r.token)
            .collect()
    }

    #[test]
    fn every_resource_that_keeps_data_is_gated_and_every_gate_is_emitted() {
        let emitted = emitted_types();
        for token in &emitted {
            if KEEPS_DATA_IN_AWS.contains(token) {
                assert!(
                    super::holds_data(token),
                    "{token} keeps data: add it to its kind's HOLDS_DATA"
                );
            }
        }
        for kind in crate::kinds::Kind::ALL {
            let declared =
                crate::kinds::on_kind!(*kind, K => <K as super::emitter::EmitKind>::HOLDS_DATA);
            for token in declared {
                assert!(
                    emitted.contains(token),
                    "{} declares {token}, which it never emits",
                    kind.name()
                );
            }
        }
    }
}
