//! The cache component's resources in the Pulumi program, its outputs, and
//! what using it grants (the emit stage's work).

use super::*;
use crate::emit::emitter::{EmitKind, Emitter, Grant};
use crate::emit::program::{Part, Resource, Value, r, s};
use crate::resolve::Wire;

fn output(e: &Emitter, index: usize, cache: &Cache, output: &str) -> Vec<Part> {
    let group = e.name(index, "cache");
    match output {
        "primary_endpoint" => vec![Part::Ref(format!("{group}.primaryEndpointAddress"))],
        "reader_endpoint" => vec![Part::Ref(format!("{group}.readerEndpointAddress"))],
        "port" => vec![Part::Text(cache.port().to_string())],
        "id" => vec![Part::Ref(format!("{group}.replicationGroupId"))],
        _ => Vec::new(),
    }
}

/// Using a cache gives its address (`PREFIX_HOST`, `PREFIX_READER_HOST`,
/// `PREFIX_PORT`, `PREFIX_TLS=true`) and network access to its port, as a
/// database's does.
fn grant(e: &Emitter, target: usize, cache: &Cache, wire: &Wire) -> Grant {
    let p = &wire.env_prefix;
    Grant {
        env: vec![
            (
                format!("{p}_HOST"),
                output(e, target, cache, "primary_endpoint"),
            ),
            (
                format!("{p}_READER_HOST"),
                output(e, target, cache, "reader_endpoint"),
            ),
            (format!("{p}_PORT"), output(e, target, cache, "port")),
            (format!("{p}_TLS"), vec![Part::Text("true".into())]),
        ],
        ingress: Some((e.name(target, "sg"), cache.port())),
        ..Grant::default()
    }
}

/// The subnet group, a security group only its users open, and the replication
/// group: encrypted at rest and in transit; in production multi-AZ with
/// automatic failover and daily snapshots.
fn emit(e: &mut Emitter, index: usize, cache: &Cache) {
    let id = e.id(index).clone();
    let tags = e.tags(index);
    let production = e.stack.env.production;
    let (subnets, sg) = crate::emit::network::private_placement(
        e,
        index,
        "aws:elasticache/subnetGroup:SubnetGroup",
        "cache",
    );
    let nodes = cache.nodes(production);
    let failover = nodes >= 2;
    let group = Resource::new(
        e.name(index, "cache"),
        "aws:elasticache/replicationGroup:ReplicationGroup",
    )
    .set(
        "replicationGroupId",
        s(e.physical_name(&[&e.qualified(index)], 40)),
    )
    .set("description", s(format!("cache {id}")))
    .set(
        "engine",
        s(match cache.engine {
            CacheEngine::Valkey => "valkey",
            CacheEngine::Redis => "redis",
        }),
    )
    .set("engineVersion", s(cache.engine_version()))
    .set("nodeType", s(&cache.node_type))
    .set("numCacheClusters", Value::Int(i64::from(nodes)))
    .set("port", Value::Int(i64::from(cache.port())))
    .set("subnetGroupName", r(format!("{subnets}.name")))
    .set("securityGroupIds", Value::List(vec![r(format!("{sg}.id"))]))
    .set("atRestEncryptionEnabled", Value::Bool(true))
    .set("transitEncryptionEnabled", Value::Bool(true))
    .set("automaticFailoverEnabled", Value::Bool(failover))
    .set("multiAzEnabled", Value::Bool(failover && production))
    .set(
        "snapshotRetentionLimit",
        Value::Int(i64::from(
            cache
                .snapshot_retention_days
                .unwrap_or(if production { 7 } else { 0 }),
        )),
    )
    .set("autoMinorVersionUpgrade", Value::Bool(true))
    .set("applyImmediately", Value::Bool(!production))
    .set_opt(
        "maintenanceWindow",
        cache.maintenance_window.as_ref().map(s),
    )
    .set("tags", tags);
    e.add(index, group);
}

impl EmitKind for Cache {
    const MAIN_ROLE: &'static str = "cache";
    const HOLDS_DATA: &'static [&'static str] = &["aws:elasticache/replicationGroup:ReplicationGroup"];

    fn emit(&self, e: &mut Emitter<'_>, index: usize) {
        emit(e, index, self)
    }

    fn output(&self, e: &Emitter<'_>, index: usize, name: &str) -> Vec<Part> {
        output(e, index, self, name)
    }

    fn grant(&self, e: &Emitter<'_>, target: usize, wire: &Wire) -> Grant {
        grant(e, target, self, wire)
    }
}
