//! What a microservice looks like live: running/desired tasks, the rollout of
//! its primary deployment, and target health when exposed.

use super::MicroserviceSpec;
use crate::inspect::status::{ComponentStatus, Health, Outputs, StatusKind};
use crate::inspect::{Cloud, output, problem};
use crate::kinds::Component;
use serde_json::json;
use std::collections::BTreeMap;

impl StatusKind for MicroserviceSpec {
    fn status(cloud: &Cloud, outputs: &Outputs, component: &str) -> ComponentStatus {
        let mut status = ComponentStatus::new(component, Self::LABEL);
        let (Some(cluster), Some(name)) = (
            outputs.get("_stack.cluster").and_then(|v| v.as_str()),
            output(outputs, component, "name"),
        ) else {
            return status.unrecorded("name");
        };
        let resource = format!("ECS service {name} in cluster {cluster}");
        let described = cloud.block_on(
            cloud
                .client::<aws_sdk_ecs::Client>()
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
            Err(err) => return status.unknown(problem("ecs:DescribeServices", &resource, &err)),
        };
        let Some(service) = service else {
            return status.not_found(&resource);
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
        let deployment = deployment(cloud, cluster, name, &mut status);
        let mut targets = json!(null);
        if let Some(group) = output(outputs, component, "target_group") {
            match cloud.block_on(
                cloud
                    .client::<aws_sdk_elasticloadbalancingv2::Client>()
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
        status.details = json!({"cluster": cluster, "service": name, "running": running, "desired": desired, "pending": service.pending_count(), "rollout": rollout, "rollout_reason": reason, "targets": targets, "deployment": deployment});
        status
    }
}

/// The service's newest deployment as ECS reports it (`ListServiceDeployments`):
/// a rollout in progress — its strategy, stage, share of traffic and the bake
/// left — or the last one's outcome when ECS rolled it back. Where ECS cannot
/// say (an endpoint without service deployments), the rest of the status
/// stands; a missing permission is said.
fn deployment(
    cloud: &Cloud,
    cluster: &str,
    name: &str,
    status: &mut ComponentStatus,
) -> serde_json::Value {
    match crate::inspect::rollout::latest(cloud, cluster, name, None) {
        Ok(Some(d)) => {
            if !d.finished() {
                let left = d
                    .bake_left(crate::backend::now())
                    .map(|m| format!(", {m}m of the bake left"))
                    .unwrap_or_default();
                status.flag(
                    Health::Warning,
                    format!("{}: {}{left}", d.shape(), d.progress()),
                );
            } else if d.status == "ROLLBACK_FAILED" {
                status.flag(
                    Health::Unhealthy,
                    format!("ECS could not roll back the last deployment: {}", d.why()),
                );
            } else if d.rolled_back() {
                status.flag(
                    Health::Warning,
                    format!("ECS rolled back the last deployment ({}): {}", d.shape(), d.why()),
                );
            }
            json!(d)
        }
        Ok(None) => json!(null),
        Err(why) => {
            if why.starts_with("not allowed") {
                status.flag(Health::Warning, why.clone());
            }
            json!({"unread": why})
        }
    }
}
