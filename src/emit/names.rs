//! The AWS names of every resource type deployer emits, and the check that each
//! one fits before anything reaches Pulumi.
//!
//! A name is either set by deployer (explicit: it must fit AWS's limit for the
//! type) or left to pulumi-aws, which autonames it `<logical name>-` plus 7
//! random characters and fails the preview when that exceeds the provider's
//! maximum for the type (`NewUniqueName`, pulumi `sdk/go/common/resource/
//! resource_id.go`; maxima from pulumi-aws `provider/resources.go`, 255 unless a
//! resource says otherwise, `provider/autonaming.go`). docs/names.md is this
//! table in words; a test keeps the two in step.

use super::program::{Program, Value};

/// How a resource type is named.
pub struct Naming {
    pub token: &'static str,
    /// The input that holds the name.
    pub property: &'static str,
    /// The longest name AWS (explicit) or pulumi-aws (autonamed) accepts.
    pub max: usize,
    /// How deployer names it, for docs/names.md.
    pub how: &'static str,
}

pub const NAMINGS: &[Naming] = &[
    Naming {
        token: "aws:ecs/cluster:Cluster",
        property: "name",
        max: 255,
        how: "`<stack>-<environment>`, or stack.yaml's environment `cluster`",
    },
    Naming {
        token: "aws:lb/loadBalancer:LoadBalancer",
        property: "name",
        max: 32,
        how: "autonamed from `public-alb` / `internal-alb`",
    },
    Naming {
        token: "aws:lb/targetGroup:TargetGroup",
        property: "name",
        max: 32,
        how: "autonamed from `<service>-<component>-tg` (and `-tg-alt`, a rollout's alternate group), shortened with a hash",
    },
    Naming {
        token: "aws:ec2/securityGroup:SecurityGroup",
        property: "name",
        max: 255,
        how: "autonamed from the logical name",
    },
    Naming {
        token: "aws:cloudwatch/logGroup:LogGroup",
        property: "name",
        max: 512,
        how: "`/deployer/<stack>/<environment>/<service>/<component>`",
    },
    Naming {
        token: "aws:iam/role:Role",
        property: "name",
        max: 64,
        how: "`<stack>-<environment>-<service>-<component>-exec` / `-task` / `-rollout`, shortened with a hash",
    },
    Naming {
        token: "aws:iam/rolePolicy:RolePolicy",
        property: "name",
        max: 128,
        how: "autonamed from `<service>-<component>-execution-policy` / `-task-policy` / `-rollout-policy`",
    },
    Naming {
        token: "aws:ecs/taskDefinition:TaskDefinition",
        property: "family",
        max: 255,
        how: "`<stack>-<environment>-<service>-<component>`, shortened with a hash, or microservice.yaml `task_family`",
    },
    Naming {
        token: "aws:ecs/service:Service",
        property: "name",
        max: 255,
        how: "`<service>-<component>`, or microservice.yaml `service_name`",
    },
    Naming {
        token: "aws:cloudwatch/metricAlarm:MetricAlarm",
        property: "name",
        max: 255,
        how: "`<stack>-<environment>-<service>-<component>-5xx-rate` / `-p99-latency`, shortened with a hash",
    },
    Naming {
        token: "aws:appautoscaling/policy:Policy",
        property: "name",
        max: 255,
        how: "`<stack>-<environment>-<service>-<component>-<metric>`, shortened with a hash",
    },
    Naming {
        token: "aws:ssm/parameter:Parameter",
        property: "name",
        max: 1011,
        how: "`/deployer/<stack>/<environment>/<service>/<component>/config/<name>`",
    },
    Naming {
        token: "aws:rds/subnetGroup:SubnetGroup",
        property: "name",
        max: 255,
        how: "autonamed from the logical name",
    },
    Naming {
        token: "aws:rds/instance:Instance",
        property: "identifier",
        max: 63,
        how: "`<stack>-<environment>-<service>-<component>`, shortened with a hash",
    },
    Naming {
        token: "aws:sqs/queue:Queue",
        property: "name",
        max: 80,
        how: "`<stack>-<environment>-<service>-<component>[-dlq][.fifo]`, shortened with a hash",
    },
    Naming {
        token: "aws:elasticache/subnetGroup:SubnetGroup",
        property: "name",
        max: 255,
        how: "autonamed from the logical name",
    },
    Naming {
        token: "aws:elasticache/replicationGroup:ReplicationGroup",
        property: "replicationGroupId",
        max: 40,
        how: "`<stack>-<environment>-<service>-<component>`, shortened with a hash",
    },
];

/// One name that cannot fit.
#[derive(Debug, PartialEq, Eq)]
pub struct TooLong {
    pub resource: String,
    pub token: &'static str,
    pub name: String,
    pub max: usize,
    pub autonamed: bool,
}

impl TooLong {
    pub fn message(&self) -> String {
        if self.autonamed {
            format!(
                "resource `{}` ({}) would be named `{}-` plus 7 random characters, longer than the {} pulumi-aws allows",
                self.resource, self.token, self.name, self.max
            )
        } else {
            format!(
                "resource `{}` ({}) would be named `{}` ({} characters); AWS allows {}",
                self.resource,
                self.token,
                self.name,
                self.name.len(),
                self.max
            )
        }
    }
}

/// Every name of a program that would fail at preview.
pub fn check(program: &Program) -> Vec<TooLong> {
    let mut problems = Vec::new();
    for resource in &program.resources {
        let Some(naming) = NAMINGS.iter().find(|n| n.token == resource.token) else {
            continue;
        };
        let explicit = resource.property(naming.property);
        match explicit {
            Some(Value::Str(name)) if name.len() > naming.max => problems.push(TooLong {
                resource: resource.name.clone(),
                token: naming.token,
                name: name.clone(),
                max: naming.max,
                autonamed: false,
            }),
            // A name computed at deploy time cannot be checked here.
            Some(_) => {}
            None if resource.name.len() + AUTONAME_SUFFIX > naming.max => problems.push(TooLong {
                resource: resource.name.clone(),
                token: naming.token,
                name: resource.name.clone(),
                max: naming.max,
                autonamed: true,
            }),
            None => {}
        }
    }
    problems
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

    use crate::emit::program::{Resource, s};

    #[test]
    fn names_over_the_limit_are_found() {
        let program = Program {
            resources: vec![
                Resource::new("short-tg", "aws:lb/targetGroup:TargetGroup"),
                Resource::new(
                    "a-logical-name-of-25-char",
                    "aws:lb/targetGroup:TargetGroup",
                ),
                Resource::new("role", "aws:iam/role:Role").set("name", s("r".repeat(65))),
                Resource::new("ok-role", "aws:iam/role:Role").set("name", s("r".repeat(64))),
            ],
            ..Program::default()
        };
        let found = check(&program);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].autonamed);
        assert!(
            found[0]
                .message()
                .contains("longer than the 32 pulumi-aws allows")
        );
        assert!(!found[1].autonamed);
        assert!(
            found[1]
                .message()
                .contains("(65 characters); AWS allows 64")
        );
    }
}
