//! `cache.yaml`: an in-memory cache (Amazon ElastiCache, Valkey or Redis OSS).

pub mod check;
pub mod emit;
pub mod status;

use super::Component;
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

impl Component for Cache {
    type File = Cache;
    const LABEL: &'static str = "Cache";
    const OUTPUTS: &'static [(&'static str, &'static str)] = OUTPUTS;
    const WIRED_ENV: &'static [&'static str] = &["HOST", "READER_HOST", "PORT", "TLS"];
}
