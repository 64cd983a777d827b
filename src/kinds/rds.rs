//! `rds.yaml`: a managed relational database (Amazon RDS).

use crate::diagnostic::{Code, Diagnostic};
use crate::expand::Expanded;
use crate::validate::span_of;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A managed database instance. The master password is created and rotated by
/// RDS in Secrets Manager; services that `use` the database get it injected.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "deployer rds.yaml")]
pub struct Rds {
    /// Database engine.
    pub engine: Engine,
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
}

fn default_username() -> String {
    "app".into()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    Postgres,
    Mysql,
    Mariadb,
}

impl Engine {
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Postgres => "postgres",
            Engine::Mysql => "mysql",
            Engine::Mariadb => "mariadb",
        }
    }

    pub fn default_port(self) -> u16 {
        match self {
            Engine::Postgres => 5432,
            Engine::Mysql | Engine::Mariadb => 3306,
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

/// What the schema cannot say. Returns false when something is wrong.
pub fn check(rds: &Rds, doc: &Expanded, diagnostics: &mut Vec<Diagnostic>) -> bool {
    if let Some(max) = rds.storage.max_size_gb
        && max <= rds.storage.size_gb
    {
        diagnostics.push(
                Diagnostic::error(Code::OutOfRange, format!("`storage.max_size_gb` ({max}) must be larger than `storage.size_gb` ({})", rds.storage.size_gb))
                    .at(span_of(doc, "/storage/max_size_gb"))
                    .help("storage autoscaling grows from size_gb up to max_size_gb; leave max_size_gb out to turn it off"),
            );
        return false;
    }
    true
}

use crate::emit::Emitter;
use crate::emit::program::{Part, Resource, Value, r, s};
use crate::kinds::Grant;
use crate::resolve::Wire;

impl Rds {
    /// The version deployed: the major part of `version` (`16` of `16.4`,
    /// `8.0` of `8.0.35`), as pulumi-aws advises with `autoMinorVersionUpgrade`.
    pub fn major_version(&self) -> String {
        let parts = match self.engine {
            Engine::Postgres => 1,
            Engine::Mysql | Engine::Mariadb => 2,
        };
        self.version
            .split('.')
            .take(parts)
            .collect::<Vec<_>>()
            .join(".")
    }

    pub fn port(&self) -> u16 {
        self.port.unwrap_or_else(|| self.engine.default_port())
    }

    /// The database name: as given, or the component's name with `_` for `-`.
    pub fn database_name(&self, component: &str) -> String {
        self.database
            .clone()
            .unwrap_or_else(|| component.replace('-', "_"))
    }
}

pub fn output(e: &Emitter, index: usize, rds: &Rds, output: &str) -> Vec<Part> {
    let instance = e.name(index, "instance");
    let reference = |prop: &str| vec![Part::Ref(format!("{instance}.{prop}"))];
    match output {
        "host" => reference("address"),
        "port" => vec![Part::Text(rds.port().to_string())],
        "endpoint" => reference("endpoint"),
        "database" => vec![Part::Text(rds.database_name(&e.id(index).component))],
        "username" => vec![Part::Text(rds.username.clone())],
        "secret_arn" => reference("masterUserSecrets[0].secretArn"),
        "arn" => reference("arn"),
        "identifier" => reference("identifier"),
        _ => Vec::new(),
    }
}

/// Using a database gives its address, and its credentials as secrets injected
/// from the secret RDS manages; only the user's tasks may reach its port.
pub fn grant(e: &Emitter, target: usize, rds: &Rds, wire: &Wire) -> Grant {
    let p = &wire.env_prefix;
    let secret = output(e, target, rds, "secret_arn");
    let key = |k: &str| {
        let mut parts = secret.clone();
        parts.push(Part::Text(format!(":{k}::")));
        parts
    };
    Grant {
        env: vec![
            (format!("{p}_HOST"), output(e, target, rds, "host")),
            (format!("{p}_PORT"), output(e, target, rds, "port")),
            (format!("{p}_NAME"), output(e, target, rds, "database")),
        ],
        secrets: vec![
            (format!("{p}_USERNAME"), key("username")),
            (format!("{p}_PASSWORD"), key("password")),
        ],
        execution_secrets: vec![Value::interp(secret)],
        ingress: Some((e.name(target, "sg"), rds.port())),
        ..Grant::default()
    }
}

/// A subnet group in the private subnets, a security group that only users open,
/// and the instance: encrypted, password managed by RDS, not public, with the
/// production defaults (multi-AZ, longer backups, deletion protection, a final
/// snapshot, and `protect` so Pulumi never deletes it).
pub fn emit(e: &mut Emitter, index: usize) {
    let crate::kinds::Spec::Rds(rds) = &e.stack.components[index].spec else {
        return;
    };
    let rds = rds.clone();
    let id = e.id(index).clone();
    let tags = e.tags(index);
    let production = e.stack.env.production;
    let (subnets, sg) = crate::emit::network::private_placement(
        e,
        index,
        "aws:rds/subnetGroup:SubnetGroup",
        "database",
    );
    let identifier = e.physical_name(&[&e.qualified(index)], 63);
    let mut instance = Resource::new(e.name(index, "instance"), "aws:rds/instance:Instance")
        .set("identifier", s(&identifier))
        .set("engine", s(rds.engine.as_str()))
        .set("engineVersion", s(rds.major_version()))
        .set("instanceClass", s(&rds.instance_class))
        .set(
            "allocatedStorage",
            Value::Int(i64::from(rds.storage.size_gb)),
        )
        .set_opt(
            "maxAllocatedStorage",
            rds.storage.max_size_gb.map(|m| Value::Int(i64::from(m))),
        )
        .set("storageType", s(rds.storage.kind.as_str()))
        .set("storageEncrypted", Value::Bool(true))
        .set("dbName", s(rds.database_name(&id.component)))
        .set("username", s(&rds.username))
        .set("manageMasterUserPassword", Value::Bool(true))
        .set("port", Value::Int(i64::from(rds.port())))
        .set("dbSubnetGroupName", r(format!("{subnets}.name")))
        .set(
            "vpcSecurityGroupIds",
            Value::List(vec![r(format!("{sg}.id"))]),
        )
        .set("publiclyAccessible", Value::Bool(false))
        .set("multiAz", Value::Bool(rds.multi_az.unwrap_or(production)))
        .set(
            "backupRetentionPeriod",
            Value::Int(i64::from(
                rds.backup_retention_days
                    .unwrap_or(if production { 30 } else { 7 }),
            )),
        )
        .set(
            "deletionProtection",
            Value::Bool(rds.deletion_protection.unwrap_or(production)),
        )
        .set("autoMinorVersionUpgrade", Value::Bool(true))
        .set("copyTagsToSnapshot", Value::Bool(true))
        .set(
            "performanceInsightsEnabled",
            Value::Bool(rds.performance_insights),
        )
        .set("applyImmediately", Value::Bool(!production))
        .set_opt("maintenanceWindow", rds.maintenance_window.as_ref().map(s))
        .set_opt("backupWindow", rds.backup_window.as_ref().map(s));
    instance = if production {
        instance.set("skipFinalSnapshot", Value::Bool(false)).set(
            "finalSnapshotIdentifier",
            s(format!("{}-final", e.physical_name(&[&identifier], 57))),
        )
    } else {
        instance.set("skipFinalSnapshot", Value::Bool(true))
    };
    instance = instance.set("tags", tags);
    // Pulumi refuses to delete a protected resource; it follows deletion
    // protection, so `deletion_protection: false` (then an apply) lifts both.
    instance.protect = rds.deletion_protection.unwrap_or(production);
    e.add(index, instance);
}
