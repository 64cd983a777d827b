//! `cache.yaml`: an in-memory cache (Amazon ElastiCache, Valkey or Redis OSS).

use crate::diagnostic::{Code, Diagnostic};
use crate::expand::Expanded;
use crate::validate::span_of;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A cache: an ElastiCache replication group in the private subnets, encrypted
/// at rest and in transit, reachable only from the components that use it.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "deployer cache.yaml")]
pub struct Cache {
    /// Cache engine: `valkey` (the default) or `redis` (Redis OSS).
    #[serde(default)]
    pub engine: CacheEngine,
    /// Engine major version (default: `8.0` for Valkey, `7.1` for Redis OSS).
    /// Minor upgrades are applied automatically.
    #[schemars(regex(pattern = r"^[0-9]+\.[0-9]+$"))]
    pub version: Option<String>,
    /// Node type, for example `cache.t4g.micro`.
    #[serde(default = "default_node_type")]
    #[schemars(regex(pattern = r"^cache\.[a-z0-9]+\.[a-z0-9]+$"))]
    pub node_type: String,
    /// Nodes: one primary and the rest replicas. Default: 1, or 2 in
    /// production (which needs at least 2, for automatic failover).
    #[schemars(range(min = 1, max = 6))]
    pub nodes: Option<u32>,
    /// Days of daily snapshots kept (0 turns them off). Default: 0, or 7 in production.
    #[schemars(range(min = 0, max = 35))]
    pub snapshot_retention_days: Option<u32>,
    /// Port (default 6379).
    #[schemars(range(min = 1024, max = 65535))]
    pub port: Option<u16>,
    /// Weekly maintenance window in UTC, `ddd:hh24:mi-ddd:hh24:mi`.
    #[schemars(regex(
        pattern = r"^(mon|tue|wed|thu|fri|sat|sun):[0-2][0-9]:[0-5][0-9]-(mon|tue|wed|thu|fri|sat|sun):[0-2][0-9]:[0-5][0-9]$"
    ))]
    pub maintenance_window: Option<String>,
}

fn default_node_type() -> String {
    "cache.t4g.micro".into()
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CacheEngine {
    #[default]
    Valkey,
    Redis,
}

impl Cache {
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(6379)
    }

    pub fn nodes(&self, production: bool) -> u32 {
        self.nodes.unwrap_or(if production { 2 } else { 1 })
    }

    fn engine_version(&self) -> String {
        self.version.clone().unwrap_or_else(|| match self.engine {
            CacheEngine::Valkey => "8.0".into(),
            CacheEngine::Redis => "7.1".into(),
        })
    }
}

/// Outputs other components can reference with `{{ ref("service/component.output") }}`.
pub const OUTPUTS: &[(&str, &str)] = &[
    (
        "primary_endpoint",
        "address of the primary node (reads and writes)",
    ),
    (
        "reader_endpoint",
        "address that spreads reads over the replicas",
    ),
    ("port", "port the cache listens on"),
    ("id", "the replication group's id"),
];

/// What the schema cannot say. Returns false when something is wrong.
pub fn check(
    cache: &Cache,
    production: bool,
    doc: &Expanded,
    diagnostics: &mut Vec<Diagnostic>,
) -> bool {
    if production && cache.nodes(true) < 2 {
        diagnostics.push(
            Diagnostic::error(
                Code::OutOfRange,
                "a production cache needs at least 2 nodes, so that it fails over automatically",
            )
            .at(span_of(doc, "/nodes"))
            .help("set `nodes: 2` or more in production (leave it out: 2 is the default there)"),
        );
        return false;
    }
    true
}

use crate::emit::Emitter;
use crate::emit::program::{Part, Resource, Value, r, s};
use crate::kinds::Grant;
use crate::resolve::Wire;

pub fn output(e: &Emitter, index: usize, cache: &Cache, output: &str) -> Vec<Part> {
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
pub fn grant(e: &Emitter, target: usize, cache: &Cache, wire: &Wire) -> Grant {
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
pub fn emit(e: &mut Emitter, index: usize) {
    let crate::kinds::Spec::Cache(cache) = &e.stack.components[index].spec else {
        return;
    };
    let cache = cache.clone();
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
