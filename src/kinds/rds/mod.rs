//! `rds.yaml`: a managed relational database (Amazon RDS).

pub mod check;
pub mod emit;
pub mod status;

use super::Component;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A managed database instance. The master password is created and rotated by
/// RDS in Secrets Manager; services that `use` the database get it injected.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "deployer rds.yaml")]
pub struct Rds {
    /// Database engine.
    pub engine: DbEngine,
    /// Engine major version: `16` for PostgreSQL 16, `8.0` for MySQL 8.0,
    /// `10.11` for MariaDB. RDS applies minor upgrades itself in the maintenance
    /// window, so only the major version is deployed: a full version (`16.4`)
    /// is accepted, and its minor part ignored, because naming it would make a
    /// later apply try to downgrade an upgraded instance, which AWS refuses.
    #[schemars(regex(pattern = r"^[0-9]+(\.[0-9]+)*$"))]
    pub version: String,
    /// Instance class, for example `db.t4g.micro`.
    #[schemars(regex(pattern = r"^db\.[a-z0-9]+\.[a-z0-9]+$"))]
    pub instance_class: String,
    /// Storage size and type.
    #[serde(default)]
    pub storage: Storage,
    /// The instance's identifier in AWS, part of its endpoint's host name.
    /// Default: `<stack>-<environment>-<service>-<component>`, shortened to
    /// fit. Set it to keep the identifier of a database the environment
    /// adopts: renaming an instance changes its endpoint.
    #[schemars(regex(pattern = r"^[a-zA-Z](-?[a-zA-Z0-9])*$"), length(max = 63))]
    pub identifier: Option<String>,
    /// Name of the database created in the instance (default: the component
    /// name with `_` for `-`).
    #[schemars(regex(pattern = r"^[A-Za-z][A-Za-z0-9_]{0,62}$"))]
    pub database: Option<String>,
    /// Master user name.
    #[serde(default = "default_username")]
    #[schemars(regex(pattern = r"^[A-Za-z][A-Za-z0-9_]{0,15}$"))]
    pub username: String,
    /// Port (default: 5432 for PostgreSQL, 3306 for MySQL and MariaDB).
    #[schemars(range(min = 1150, max = 65535))]
    pub port: Option<u16>,
    /// Standby in a second availability zone. Default: on in production.
    pub multi_az: Option<bool>,
    /// Days of automated backups (0 turns them off). Default: 7, or 30 in production.
    #[schemars(range(min = 0, max = 35))]
    pub backup_retention_days: Option<u32>,
    /// Refuse deletion of the instance, in AWS and in Pulumi (`protect`, so
    /// `deployer destroy` stops before it). Default: on in production.
    pub deletion_protection: Option<bool>,
    /// Turn on Performance Insights.
    #[serde(default)]
    pub performance_insights: bool,
    /// Weekly maintenance window in UTC, `ddd:hh24:mi-ddd:hh24:mi`.
    #[schemars(regex(
        pattern = r"^(mon|tue|wed|thu|fri|sat|sun):[0-2][0-9]:[0-5][0-9]-(mon|tue|wed|thu|fri|sat|sun):[0-2][0-9]:[0-5][0-9]$"
    ))]
    pub maintenance_window: Option<String>,
    /// Daily backup window in UTC, `hh24:mi-hh24:mi`.
    #[schemars(regex(pattern = r"^[0-2][0-9]:[0-5][0-9]-[0-2][0-9]:[0-5][0-9]$"))]
    pub backup_window: Option<String>,
    /// Security groups the instance keeps beside deployer's own, so what
    /// reaches it through them still does: `deployer import copilot
    /// --adopt` writes the groups an adopted database has, so the Copilot
    /// services running beside deployer's keep their connections until
    /// they are retired. Remove them then: deployer's own group lets in
    /// exactly the components that `use` the database.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(regex(pattern = r"^sg-[0-9a-f]{8,17}$")), length(max = 4))]
    pub keep_security_groups: Vec<String>,
}

fn default_username() -> String {
    "app".into()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
// (Named `Engine` in the published schema, as it always was.)
#[schemars(rename = "Engine")]
pub enum DbEngine {
    Postgres,
    Mysql,
    Mariadb,
}

impl DbEngine {
    pub fn as_str(self) -> &'static str {
        match self {
            DbEngine::Postgres => "postgres",
            DbEngine::Mysql => "mysql",
            DbEngine::Mariadb => "mariadb",
        }
    }

    pub fn default_port(self) -> u16 {
        match self {
            DbEngine::Postgres => 5432,
            DbEngine::Mysql | DbEngine::Mariadb => 3306,
        }
    }
}

/// Storage of the instance.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Storage {
    /// Allocated storage in GiB.
    #[schemars(range(min = 20, max = 65536))]
    pub size_gb: u32,
    /// Let RDS grow storage up to this many GiB.
    #[schemars(range(min = 21, max = 65536))]
    pub max_size_gb: Option<u32>,
    /// Storage type.
    #[serde(rename = "type")]
    pub kind: StorageType,
}

impl Default for Storage {
    fn default() -> Self {
        Storage {
            size_gb: 20,
            max_size_gb: None,
            kind: StorageType::Gp3,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum StorageType {
    Gp3,
    Gp2,
}

impl StorageType {
    pub fn as_str(self) -> &'static str {
        match self {
            StorageType::Gp3 => "gp3",
            StorageType::Gp2 => "gp2",
        }
    }
}

/// Outputs other components can reference with `{{ ref("service/component.output") }}`.
pub const OUTPUTS: &[(&str, &str)] = &[
    ("host", "host name of the instance"),
    ("port", "port the database listens on"),
    ("endpoint", "`host:port`"),
    ("database", "name of the database"),
    ("username", "master user name"),
    (
        "secret_arn",
        "ARN of the Secrets Manager secret holding the master credentials",
    ),
    ("arn", "ARN of the instance"),
    ("identifier", "the instance identifier"),
];

impl Component for Rds {
    type File = Rds;
    const LABEL: &'static str = "RDS";
    const OUTPUTS: &'static [(&'static str, &'static str)] = OUTPUTS;
    const WIRED_ENV: &'static [&'static str] = &["HOST", "PORT", "NAME", "USERNAME", "PASSWORD"];
}
