//! The rds component's resources in the Pulumi program, its outputs, and
//! what using it grants (the emit stage's work).

use super::*;
use crate::emit::emitter::{EmitKind, Emitter, Grant};
use crate::emit::program::{Part, Resource, Value, r, s};
use crate::resolve::Wire;

impl Rds {
    /// The version deployed: the major part of `version` (`16` of `16.4`,
    /// `8.0` of `8.0.35`), as pulumi-aws advises with `autoMinorVersionUpgrade`.
    pub fn major_version(&self) -> String {
        let parts = match self.engine {
            DbEngine::Postgres => 1,
            DbEngine::Mysql | DbEngine::Mariadb => 2,
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

fn output(e: &Emitter, index: usize, rds: &Rds, output: &str) -> Vec<Part> {
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
fn grant(e: &Emitter, target: usize, rds: &Rds, wire: &Wire) -> Grant {
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
fn emit(e: &mut Emitter, index: usize, rds: &Rds) {
    let id = e.id(index).clone();
    let tags = e.tags(index);
    let production = e.stack.env.production;
    let (subnets, sg) = crate::emit::network::private_placement(
        e,
        index,
        "aws:rds/subnetGroup:SubnetGroup",
        "database",
    );
    let identifier = rds
        .identifier
        .clone()
        .unwrap_or_else(|| e.physical_name(&[&e.qualified(index)], 63));
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
            Value::List(
                std::iter::once(r(format!("{sg}.id")))
                    .chain(rds.keep_security_groups.iter().map(s))
                    .collect(),
            ),
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

impl EmitKind for Rds {
    const MAIN_ROLE: &'static str = "instance";
    const HOLDS_DATA: &'static [&'static str] = &["aws:rds/instance:Instance"];

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
