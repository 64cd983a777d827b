//! What each planned change does while it deploys, in words a reviewer
//! weighs: data lost, downtime, a disruption, or nothing noticeable. Derived
//! from the preview's operations and the inputs that change, by a table per
//! resource type and property; each entry follows the AWS page it cites.

use crate::engine::changes::{Change, PlannedChanges};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// How bad it is, worst first when sorted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    DataLoss,
    Downtime,
    Disruption,
    None,
}

impl Severity {
    pub fn word(self) -> &'static str {
        match self {
            Severity::DataLoss => "data loss",
            Severity::Downtime => "downtime",
            Severity::Disruption => "disruption",
            Severity::None => "no interruption",
        }
    }
}

/// One component's impact.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Impact {
    pub component: String,
    pub severity: Severity,
    /// `the database reboots in the maintenance window: …`.
    pub text: String,
    /// The AWS page the entry follows.
    pub source: String,
}

const ECS_ROLLING: &str =
    "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-ecs.html";
const ECS_STRATEGIES: &str =
    "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-blue-green.html";
const RDS_SETTINGS: &str =
    "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ModifyInstance.Settings.html";
const RDS_MULTI_AZ: &str =
    "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Concepts.MultiAZSingleStandby.html";
const CACHE_SCALING: &str =
    "https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/Scaling.RedisReplGrps.ScaleUp.html";
const SQS_DELETE: &str =
    "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_DeleteQueue.html";
const ALB_RULES: &str =
    "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-rules.html";

/// The inputs whose change replaces a resource instead of updating it, for
/// the types whose impact depends on it: pulumi-aws passes on the bridged
/// Terraform provider's `ForceNew` (hashicorp/terraform-provider-aws,
/// `internal/service/rds/instance.go`, `elasticache/replication_group.go`,
/// `sqs/queue.go`, `elbv2/target_group.go`, `ecs/service.go`). Pulumi's
/// preview says what replaces; `diff`, which has no preview, asks this.
const REPLACED_BY: &[(&str, &[&str])] = &[
    (
        "aws:rds/instance:Instance",
        &[
            "identifier",
            "engine",
            "dbName",
            "username",
            "storageEncrypted",
            "kmsKeyId",
            "availabilityZone",
            "characterSetName",
        ],
    ),
    (
        "aws:elasticache/replicationGroup:ReplicationGroup",
        &[
            "replicationGroupId",
            "port",
            "subnetGroupName",
            "atRestEncryptionEnabled",
        ],
    ),
    ("aws:sqs/queue:Queue", &["name", "namePrefix", "fifoQueue"]),
    (
        "aws:lb/targetGroup:TargetGroup",
        &[
            "name",
            "namePrefix",
            "port",
            "protocol",
            "vpcId",
            "targetType",
        ],
    ),
    // internal/service/ecs/service.go: ForceNew, and a changed capacity
    // provider strategy (`capacityProviderStrategyCustomizeDiff`).
    (
        "aws:ecs/service:Service",
        &[
            "name",
            "cluster",
            "launchType",
            "iamRole",
            "schedulingStrategy",
            "deploymentController",
            "capacityProviderStrategies",
        ],
    ),
];

/// What a change of `properties` does to a resource of `kind`: replaces
/// it, or updates it in place.
pub fn change_of(kind: &str, properties: &[String]) -> Change {
    let replaced = REPLACED_BY
        .iter()
        .find(|(k, _)| *k == kind)
        .is_some_and(|(_, inputs)| properties.iter().any(|p| inputs.contains(&p.as_str())));
    if replaced {
        Change::Replace
    } else {
        Change::Update
    }
}

/// The impacts of changes known without a preview (`diff`): per component,
/// each resource's type, change, inputs as they will be, and the inputs that
/// change; the worst per component, data loss and downtime first.
pub fn impacts_of(
    changes: &[(String, String, Change, serde_json::Value, Vec<String>)],
) -> Vec<Impact> {
    let mut worst: BTreeMap<&str, Impact> = BTreeMap::new();
    for (component, kind, change, inputs, changed) in changes {
        let changed: BTreeSet<&str> = changed.iter().map(String::as_str).collect();
        let Some((severity, text, source)) = resource_impact(kind, *change, inputs, &changed)
        else {
            continue;
        };
        let impact = Impact {
            component: component.clone(),
            severity,
            text,
            source: source.to_string(),
        };
        if worst
            .get(component.as_str())
            .is_none_or(|w| impact.severity < w.severity)
        {
            worst.insert(component, impact);
        }
    }
    let mut out: Vec<Impact> = worst.into_values().collect();
    out.sort_by(|a, b| {
        a.severity
            .cmp(&b.severity)
            .then(a.component.cmp(&b.component))
    });
    out
}

/// The impacts for a pull-request comment's summary (`name` says a
/// component in words).
pub fn markdown(impacts: &[Impact], name: fn(&str) -> &str) -> String {
    use crate::markdown::escape;
    if impacts.is_empty() {
        return String::new();
    }
    // The summary stays short whatever the change: what interrupts anything
    // is listed (the worst first, up to a limit); what does not is counted.
    const LISTED: usize = 25;
    let (notable, quiet): (Vec<&Impact>, Vec<&Impact>) =
        impacts.iter().partition(|i| i.severity != Severity::None);
    let shown: Vec<&Impact> = if notable.is_empty() {
        quiet.iter().take(LISTED).copied().collect()
    } else {
        notable.iter().take(LISTED).copied().collect()
    };
    let mut out = "\n\n**While it deploys:**\n".to_string();
    for impact in &shown {
        out.push_str(&format!(
            "\n- **{}** ({}): {} ([AWS]({}))",
            escape(name(&impact.component)),
            impact.severity.word(),
            escape(&impact.text),
            impact.source
        ));
    }
    let unlisted = impacts.len() - shown.len();
    if unlisted > 0 {
        out.push_str(&format!(
            "\n- and {unlisted} more component{} ({} of them without interruption); `--output json` lists every one",
            if unlisted == 1 { "" } else { "s" },
            quiet.len().min(unlisted)
        ));
    }
    out
}

/// Every changed component's impact, data loss and downtime first.
pub fn impacts(plan: &PlannedChanges) -> Vec<Impact> {
    let mut out: Vec<Impact> = plan
        .components
        .iter()
        .filter_map(|(component, resources)| component_impact(plan, component, resources))
        .collect();
    out.sort_by(|a, b| {
        a.severity
            .cmp(&b.severity)
            .then(a.component.cmp(&b.component))
    });
    out
}

/// The worst of a component's resources' impacts.
fn component_impact(
    plan: &PlannedChanges,
    component: &str,
    resources: &BTreeMap<String, Change>,
) -> Option<Impact> {
    resources
        .iter()
        .filter_map(|(resource, change)| {
            let kind = plan.types.get(resource)?;
            let inputs = plan.inputs.get(resource).cloned().unwrap_or_default();
            let changed: BTreeSet<&str> = plan
                .changed_inputs
                .get(resource)
                .map(|c| c.iter().map(String::as_str).collect())
                .unwrap_or_default();
            let (severity, text, source) = resource_impact(kind, *change, &inputs, &changed)?;
            Some(Impact {
                component: component.to_string(),
                severity,
                text,
                source: source.to_string(),
            })
        })
        .min_by_key(|i| i.severity)
}

/// The table: what a change of `kind` does.
fn resource_impact(
    kind: &str,
    change: Change,
    inputs: &serde_json::Value,
    changed: &BTreeSet<&str>,
) -> Option<(Severity, String, &'static str)> {
    let only = |keys: &[&str]| !changed.is_empty() && changed.iter().all(|c| keys.contains(c));
    let any = |keys: &[&str]| keys.iter().any(|k| changed.contains(k));
    match (kind, change) {
        (_, Change::Create) => None,
        ("aws:rds/instance:Instance", Change::Replace | Change::Delete) => Some((
            Severity::DataLoss,
            format!(
                "the database is {}: a new one starts empty, and what it holds is lost unless restored from a snapshot",
                if change == Change::Delete { "deleted" } else { "replaced" }
            ),
            RDS_SETTINGS,
        )),
        ("aws:rds/instance:Instance", _) => {
            let multi_az = inputs["multiAz"] == true;
            let when = if inputs["applyImmediately"] == true {
                "now"
            } else {
                "in the next maintenance window"
            };
            if any(&["engineVersion"]) {
                Some((
                    Severity::Downtime,
                    format!("a major version upgrade, {when}: the database is unavailable while it upgrades"),
                    RDS_SETTINGS,
                ))
            } else if any(&["instanceClass"]) && multi_az {
                Some((
                    Severity::Disruption,
                    format!("the instance class changes {when}: Multi-AZ fails over to the standby, typically 60–120 seconds without connections"),
                    RDS_MULTI_AZ,
                ))
            } else if any(&["instanceClass"]) {
                Some((
                    Severity::Downtime,
                    format!("the instance class changes {when}: single-AZ, the database is unavailable for the change, usually minutes"),
                    RDS_SETTINGS,
                ))
            } else if any(&["multiAz"]) {
                Some((
                    Severity::Disruption,
                    "Multi-AZ is switched: no outage, with lower performance while the standby is created".into(),
                    RDS_SETTINGS,
                ))
            } else if any(&["storageType", "allocatedStorage", "iops"]) {
                Some((
                    Severity::None,
                    "storage changes online, without an outage (performance may dip while it optimises)".into(),
                    RDS_SETTINGS,
                ))
            } else {
                Some((
                    Severity::None,
                    "settings change without an outage".into(),
                    RDS_SETTINGS,
                ))
            }
        }
        ("aws:elasticache/replicationGroup:ReplicationGroup", Change::Replace | Change::Delete) => {
            Some((
                Severity::DataLoss,
                "the cache is replaced: a new one starts empty".into(),
                CACHE_SCALING,
            ))
        }
        ("aws:elasticache/replicationGroup:ReplicationGroup", _) if any(&["nodeType"]) => Some((
            Severity::Disruption,
            "the node type scales online: the cache stays available, with writes paused briefly at the switch".into(),
            CACHE_SCALING,
        )),
        ("aws:elasticache/replicationGroup:ReplicationGroup", _) => Some((
            Severity::None,
            "replicas and settings change online".into(),
            CACHE_SCALING,
        )),
        ("aws:sqs/queue:Queue", Change::Replace | Change::Delete) => Some((
            Severity::DataLoss,
            "the queue is replaced: messages waiting in it are lost".into(),
            SQS_DELETE,
        )),
        ("aws:sqs/queue:Queue", _) => Some((
            Severity::None,
            "queue attributes change without interruption".into(),
            SQS_DELETE,
        )),
        ("aws:ecs/taskDefinition:TaskDefinition", _) => None,
        ("aws:ecs/service:Service", Change::Delete) => Some((
            Severity::Downtime,
            "the service is deleted: its tasks stop".into(),
            ECS_ROLLING,
        )),
        ("aws:ecs/service:Service", Change::Replace) => Some((
            Severity::Downtime,
            "the service is replaced: the old one's tasks stop while the new one's start".into(),
            ECS_ROLLING,
        )),
        ("aws:ecs/service:Service", _) => {
            if only(&["desiredCount", "tags"]) {
                return Some((
                    Severity::None,
                    "the task count changes, without replacing any task".into(),
                    ECS_ROLLING,
                ));
            }
            let tasks = inputs["desiredCount"].as_u64().unwrap_or(1);
            let configuration = &inputs["deploymentConfiguration"];
            let strategy = configuration["strategy"].as_str().unwrap_or("ROLLING");
            let minutes = |v: &serde_json::Value| v.as_str().unwrap_or("0").to_string();
            let text = match strategy {
                "CANARY" => format!(
                    "a canary replaces its {tasks} tasks: {}% of traffic first, the rest after {} min, the old tasks kept {} min",
                    configuration["canaryConfiguration"]["canaryPercent"].as_f64().unwrap_or(5.0),
                    minutes(&configuration["canaryConfiguration"]["canaryBakeTimeInMinutes"]),
                    minutes(&configuration["bakeTimeInMinutes"])
                ),
                "LINEAR" => format!(
                    "a linear rollout replaces its {tasks} tasks: {}% more traffic every {} min, the old tasks kept {} min",
                    configuration["linearConfiguration"]["stepPercent"].as_f64().unwrap_or(10.0),
                    minutes(&configuration["linearConfiguration"]["stepBakeTimeInMinutes"]),
                    minutes(&configuration["bakeTimeInMinutes"])
                ),
                "BLUE_GREEN" => format!(
                    "blue/green replaces its {tasks} tasks: all traffic moves at once, the old tasks kept {} min",
                    minutes(&configuration["bakeTimeInMinutes"])
                ),
                _ if inputs["deploymentMinimumHealthyPercent"].as_u64() == Some(100) => format!(
                    "a rolling replacement of {tasks} task{}: minimum healthy 100 %, no capacity lost",
                    if tasks == 1 { "" } else { "s" }
                ),
                _ => format!("a rolling replacement of {tasks} tasks, with fewer running for a while"),
            };
            let source = if strategy == "ROLLING" { ECS_ROLLING } else { ECS_STRATEGIES };
            Some((Severity::None, text, source))
        }
        ("aws:lb/targetGroup:TargetGroup", Change::Replace) => Some((
            Severity::Disruption,
            "a new target group: tasks register again, and requests may fail while none is healthy".into(),
            ALB_RULES,
        )),
        ("aws:lb/listenerRule:ListenerRule", _) => Some((
            Severity::None,
            "routing changes at once".into(),
            ALB_RULES,
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(
        kind: &str,
        change: Change,
        inputs: serde_json::Value,
        changed: &[&str],
    ) -> (Severity, String) {
        let changed: BTreeSet<&str> = changed.iter().copied().collect();
        let (severity, text, _) = resource_impact(kind, change, &inputs, &changed).unwrap();
        (severity, text)
    }

    #[test]
    fn an_instance_class_change_is_downtime_on_single_az_and_a_failover_on_multi_az() {
        let rds = "aws:rds/instance:Instance";
        let (single, text) = one(
            rds,
            Change::Update,
            json!({"multiAz": false, "applyImmediately": true}),
            &["instanceClass"],
        );
        assert_eq!(single, Severity::Downtime);
        assert!(text.contains("now"), "{text}");
        let (multi, text) = one(
            rds,
            Change::Update,
            json!({"multiAz": true}),
            &["instanceClass"],
        );
        assert_eq!(multi, Severity::Disruption);
        assert!(
            text.contains("in the next maintenance window") && text.contains("60–120 seconds"),
            "{text}"
        );
        assert_eq!(
            one(rds, Change::Replace, json!({}), &[]).0,
            Severity::DataLoss
        );
        assert_eq!(
            one(rds, Change::Update, json!({}), &["engineVersion"]).0,
            Severity::Downtime
        );
        assert_eq!(
            one(rds, Change::Update, json!({}), &["allocatedStorage"]).0,
            Severity::None
        );
    }

    #[test]
    fn a_service_update_says_how_its_tasks_are_replaced() {
        let ecs = "aws:ecs/service:Service";
        let (_, text) = one(
            ecs,
            Change::Update,
            json!({"desiredCount": 3, "deploymentMinimumHealthyPercent": 100}),
            &["taskDefinition"],
        );
        assert_eq!(
            text,
            "a rolling replacement of 3 tasks: minimum healthy 100 %, no capacity lost"
        );
        let canary = json!({"desiredCount": 3, "deploymentConfiguration": {"strategy": "CANARY", "bakeTimeInMinutes": "10", "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": "5"}}});
        let (_, text) = one(ecs, Change::Update, canary, &["taskDefinition"]);
        assert_eq!(
            text,
            "a canary replaces its 3 tasks: 10% of traffic first, the rest after 5 min, the old tasks kept 10 min"
        );
        let (_, text) = one(
            ecs,
            Change::Update,
            json!({"desiredCount": 4}),
            &["desiredCount"],
        );
        assert_eq!(text, "the task count changes, without replacing any task");
        assert_eq!(
            one("aws:sqs/queue:Queue", Change::Replace, json!({}), &[]).0,
            Severity::DataLoss
        );
    }
}
