//! What is running, per component of a release, from live AWS.
//!
//! A microservice: running/desired tasks, the rollout of its primary
//! deployment, and target health when exposed. A database: instance status and
//! pending maintenance. A queue: its depth and its dead-letter queue's (dead
//! letters are a warning). A cache: its replication group's status and members. Anything recorded but gone from AWS is `not found`.

use super::{Cloud, output, problem};
use crate::backend::releases::Release;
use aws_sdk_sqs::error::ProvideErrorMetadata;
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    Healthy,
    /// Works, but needs a look (rolling out, dead letters, maintenance pending).
    Warning,
    Unhealthy,
}

#[derive(Clone, Debug, Serialize)]
pub struct ComponentStatus {
    pub component: String,
    pub kind: String,
    /// `2/2 running`, `available`, `active`.
    pub state: String,
    pub health: Health,
    /// Why it is not healthy; empty when it is.
    pub reasons: Vec<String>,
    pub details: serde_json::Value,
}

impl ComponentStatus {
    fn new(component: &str, kind: &str) -> ComponentStatus {
        ComponentStatus {
            component: component.into(),
            kind: kind.into(),
            state: String::new(),
            health: Health::Healthy,
            reasons: Vec::new(),
            details: json!({}),
        }
    }

    fn flag(&mut self, health: Health, reason: impl Into<String>) {
        self.health = self.health.max(health);
        self.reasons.push(reason.into());
    }
}

/// Checks every component of a release. `kinds` is component → kind name, from
/// the release's manifest.
pub fn check(
    cloud: &Cloud,
    release: &Release,
    kinds: &BTreeMap<String, String>,
) -> Vec<ComponentStatus> {
    let empty = BTreeMap::new();
    let outputs = release.result.as_ref().map_or(&empty, |r| &r.outputs);
    kinds
        .iter()
        .filter(|(c, _)| c.as_str() != "_stack")
        .map(|(component, kind)| match kind.as_str() {
            "microservice" => microservice(cloud, outputs, component),
            "rds" => database(cloud, outputs, component),
            "sqs" => queue(cloud, outputs, component),
            "cache" => cache(cloud, outputs, component),
            other => {
                let mut s = ComponentStatus::new(component, other);
                s.flag(
                    Health::Warning,
                    format!("deployer cannot check a {other} component"),
                );
                s
            }
        })
        .collect()
}

fn unrecorded(status: &mut ComponentStatus, name: &str) {
    status.state = "unknown".into();
    status.flag(
        Health::Unhealthy,
        format!(
            "the release does not record `{}.{name}`; apply again to record it",
            status.component
        ),
    );
}

fn microservice(
    cloud: &Cloud,
    outputs: &BTreeMap<String, serde_json::Value>,
    component: &str,
) -> ComponentStatus {
    let mut status = ComponentStatus::new(component, "MicroService");
    let (Some(cluster), Some(name)) = (
        outputs.get("_stack.cluster").and_then(|v| v.as_str()),
        output(outputs, component, "name"),
    ) else {
        unrecorded(&mut status, "name");
        return status;
    };
    let resource = format!("ECS service {name} in cluster {cluster}");
    let described = cloud.block_on(
        cloud
            .ecs
            .describe_services()
            .cluster(cluster)
            .services(name)
            .send(),
    );
    let service = match described {
        Ok(out) => out
            .services()
            .iter()
            .find(|s| s.status() == Some("ACTIVE"))
            .cloned(),
        Err(err) => {
            status.state = "unknown".into();
            status.flag(
                Health::Unhealthy,
                problem("ecs:DescribeServices", &resource, &err),
            );
            return status;
        }
    };
    let Some(service) = service else {
        status.state = "not found".into();
        status.flag(Health::Unhealthy, format!("{resource} does not exist"));
        return status;
    };
    let (running, desired) = (service.running_count(), service.desired_count());
    status.state = format!("{running}/{desired} running");
    let primary = service
        .deployments()
        .iter()
        .find(|d| d.status() == Some("PRIMARY"));
    let rollout = primary
        .and_then(|d| d.rollout_state())
        .map(|r| r.as_str().to_string());
    let reason = primary
        .and_then(|d| d.rollout_state_reason())
        .unwrap_or_default()
        .to_string();
    let failed_old = service.deployments().iter().any(|d| {
        d.status() != Some("PRIMARY") && d.rollout_state().is_some_and(|r| r.as_str() == "FAILED")
    });
    match rollout.as_deref() {
        Some("FAILED") => status.flag(Health::Unhealthy, format!("rollout failed: {reason}")),
        Some("IN_PROGRESS") => status.flag(
            Health::Warning,
            format!("rolling out ({running}/{desired} running)"),
        ),
        _ if failed_old || reason.to_lowercase().contains("rolled back") => {
            status.flag(Health::Warning, format!("rolled back: {reason}"))
        }
        _ if running < desired => status.flag(
            Health::Unhealthy,
            format!("only {running} of {desired} tasks running"),
        ),
        _ => {}
    }
    if desired == 0 {
        status.flag(Health::Warning, "scaled to zero tasks");
    }
    let mut targets = json!(null);
    if let Some(group) = output(outputs, component, "target_group") {
        match cloud.block_on(
            cloud
                .elb
                .describe_target_health()
                .target_group_arn(group)
                .send(),
        ) {
            Ok(out) => {
                let mut by_state: BTreeMap<String, u32> = BTreeMap::new();
                for t in out.target_health_descriptions() {
                    let state = t
                        .target_health()
                        .and_then(|h| h.state())
                        .map_or("unknown", |s| s.as_str())
                        .to_string();
                    *by_state.entry(state).or_default() += 1;
                }
                let unhealthy = by_state.get("unhealthy").copied().unwrap_or(0);
                let starting = by_state.get("initial").copied().unwrap_or(0);
                if unhealthy > 0 {
                    status.flag(
                        Health::Unhealthy,
                        format!(
                            "{unhealthy} unhealthy target{}",
                            if unhealthy == 1 { "" } else { "s" }
                        ),
                    );
                } else if starting > 0 {
                    status.flag(
                        Health::Warning,
                        format!(
                            "{starting} target{} starting",
                            if starting == 1 { "" } else { "s" }
                        ),
                    );
                }
                targets = json!(by_state);
            }
            Err(err) => status.flag(
                Health::Unhealthy,
                problem("elasticloadbalancing:DescribeTargetHealth", group, &err),
            ),
        }
    }
    status.details = json!({"cluster": cluster, "service": name, "running": running, "desired": desired, "pending": service.pending_count(), "rollout": rollout, "rollout_reason": reason, "targets": targets});
    status
}

fn database(
    cloud: &Cloud,
    outputs: &BTreeMap<String, serde_json::Value>,
    component: &str,
) -> ComponentStatus {
    let mut status = ComponentStatus::new(component, "RDS");
    let Some(identifier) = output(outputs, component, "identifier") else {
        unrecorded(&mut status, "identifier");
        return status;
    };
    let resource = format!("RDS instance {identifier}");
    let instance = match cloud.block_on(
        cloud
            .rds
            .describe_db_instances()
            .db_instance_identifier(identifier)
            .send(),
    ) {
        Ok(out) => out.db_instances().first().cloned(),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_db_instance_not_found_fault()) =>
        {
            None
        }
        Err(err) => {
            status.state = "unknown".into();
            status.flag(
                Health::Unhealthy,
                problem("rds:DescribeDBInstances", &resource, &err),
            );
            return status;
        }
    };
    let Some(instance) = instance else {
        status.state = "not found".into();
        status.flag(Health::Unhealthy, format!("{resource} does not exist"));
        return status;
    };
    let state = instance
        .db_instance_status()
        .unwrap_or("unknown")
        .to_string();
    match state.as_str() {
        "available" => {}
        "backing-up"
        | "modifying"
        | "upgrading"
        | "rebooting"
        | "maintenance"
        | "starting"
        | "creating"
        | "renaming"
        | "resetting-master-credentials"
        | "storage-optimization"
        | "configuring-enhanced-monitoring"
        | "configuring-log-exports"
        | "configuring-iam-database-auth" => {
            status.flag(Health::Warning, format!("instance is {state}"))
        }
        _ => status.flag(Health::Unhealthy, format!("instance is {state}")),
    }
    // Best effort: pending maintenance is advice, and not every endpoint answers it.
    let mut maintenance = Vec::new();
    if let Some(arn) = instance.db_instance_arn()
        && let Ok(out) = cloud.block_on(
            cloud
                .rds
                .describe_pending_maintenance_actions()
                .resource_identifier(arn)
                .send(),
        )
    {
        for resource in out.pending_maintenance_actions() {
            for action in resource.pending_maintenance_action_details() {
                maintenance.push(action.action().unwrap_or("maintenance").to_string());
            }
        }
    }
    if !maintenance.is_empty() {
        status.flag(
            Health::Warning,
            format!("maintenance pending: {}", maintenance.join(", ")),
        );
    }
    status.state = state.clone();
    status.details = json!({"identifier": identifier, "status": state, "engine": instance.engine(), "class": instance.db_instance_class(), "multi_az": instance.multi_az(), "pending_maintenance": maintenance});
    status
}

fn queue(
    cloud: &Cloud,
    outputs: &BTreeMap<String, serde_json::Value>,
    component: &str,
) -> ComponentStatus {
    let mut status = ComponentStatus::new(component, "SQS");
    let Some(url) = output(outputs, component, "url") else {
        unrecorded(&mut status, "url");
        return status;
    };
    let depth = |url: &str| -> Result<(u64, u64), String> {
        let request = cloud
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(
                aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
            );
        match cloud.block_on(request.send()) {
            Ok(out) => {
                let read = |name: aws_sdk_sqs::types::QueueAttributeName| {
                    out.attributes()
                        .and_then(|a| a.get(&name))
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0)
                };
                Ok((
                    read(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages),
                    read(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
                ))
            }
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_queue_does_not_exist())
                    || err.code().is_some_and(|c| c.contains("NonExistentQueue")) =>
            {
                Err("not found".to_string())
            }
            Err(err) => Err(problem("sqs:GetQueueAttributes", url, &err)),
        }
    };
    match depth(url) {
        Ok((waiting, in_flight)) => {
            status.state = format!("active, {waiting} waiting");
            status.details = json!({"url": url, "waiting": waiting, "in_flight": in_flight});
        }
        Err(why) => {
            status.state = if why == "not found" {
                "not found".into()
            } else {
                "unknown".into()
            };
            let reason = if why == "not found" {
                format!("queue {url} does not exist")
            } else {
                why
            };
            status.flag(Health::Unhealthy, reason);
            return status;
        }
    }
    if let Some(dlq) = output(outputs, component, "dead_letter_url") {
        match depth(dlq) {
            Ok((dead, _)) => {
                status.details["dead_letters"] = json!(dead);
                if dead > 0 {
                    status.flag(
                        Health::Warning,
                        format!(
                            "{dead} message{} in the dead-letter queue",
                            if dead == 1 { "" } else { "s" }
                        ),
                    );
                }
            }
            Err(why) => status.flag(Health::Unhealthy, format!("dead-letter queue: {why}")),
        }
    }
    status
}

/// A cache: its replication group's status (`available`, `modifying`, ...)
/// and how many member nodes it has.
fn cache(
    cloud: &Cloud,
    outputs: &BTreeMap<String, serde_json::Value>,
    component: &str,
) -> ComponentStatus {
    let mut status = ComponentStatus::new(component, "Cache");
    let Some(id) = output(outputs, component, "id") else {
        unrecorded(&mut status, "id");
        return status;
    };
    let resource = format!("ElastiCache replication group {id}");
    let described = cloud.block_on(
        cloud
            .elasticache
            .describe_replication_groups()
            .replication_group_id(id)
            .send(),
    );
    let group = match described {
        Ok(out) => out.replication_groups().first().cloned(),
        Err(err)
            if err.code() == Some("ReplicationGroupNotFoundFault")
                || err.code() == Some("ReplicationGroupNotFound") =>
        {
            None
        }
        Err(err) => {
            status.state = "unknown".into();
            status.flag(
                Health::Unhealthy,
                problem("elasticache:DescribeReplicationGroups", &resource, &err),
            );
            return status;
        }
    };
    let Some(group) = group else {
        status.state = "not found".into();
        status.flag(Health::Unhealthy, format!("{resource} does not exist"));
        return status;
    };
    let state = group.status().unwrap_or("unknown").to_string();
    let members = group.member_clusters().len();
    status.state = format!(
        "{state}, {members} node{}",
        if members == 1 { "" } else { "s" }
    );
    status.details = json!({"status": state, "members": group.member_clusters()});
    match state.as_str() {
        "available" => {}
        "creating" | "modifying" | "snapshotting" => status.flag(Health::Warning, state.clone()),
        other => status.flag(Health::Unhealthy, format!("replication group is {other}")),
    }
    status
}
