//! What ECS made of a service's deployment, from its service deployments
//! (Amazon ECS API Reference: `ListServiceDeployments`,
//! `DescribeServiceDeployments`, the `ServiceDeployment` data type), and
//! stopping one with rollback (`StopServiceDeployment`). `apply` reads them to
//! report a rollout as it happens and to never call a release ECS rolled back
//! successful; `status` shows one in progress; `rollback` stops one.

use super::{Cloud, problem};
use aws_sdk_ecs::types::{CreatedAt, ServiceDeploymentStatus, StopServiceDeploymentStopType};

/// One service deployment, as ECS describes it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ServiceDeployment {
    pub arn: String,
    /// `PENDING`, `IN_PROGRESS`, `SUCCESSFUL`, `STOPPED`, `STOP_REQUESTED`,
    /// `ROLLBACK_REQUESTED`, `ROLLBACK_IN_PROGRESS`, `ROLLBACK_SUCCESSFUL`,
    /// `ROLLBACK_FAILED` ("View service history using Amazon ECS service
    /// deployments").
    pub status: String,
    pub status_reason: Option<String>,
    /// `ROLLING`, `BLUE_GREEN`, `CANARY`, `LINEAR`.
    pub strategy: Option<String>,
    /// Where it is: `SCALE_UP`, `PRODUCTION_TRAFFIC_SHIFT`, `BAKE_TIME`, …
    pub stage: Option<String>,
    /// The share of production traffic ECS asked for the new revision.
    pub traffic_percent: Option<f64>,
    pub canary_percent: Option<f64>,
    pub step_percent: Option<f64>,
    pub step_minutes: Option<i32>,
    pub bake_minutes: Option<i32>,
    /// Unix seconds.
    pub created_at: Option<i64>,
    pub started_at: Option<i64>,
    pub updated_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub rollback_reason: Option<String>,
    pub triggered_alarms: Vec<String>,
    pub failed_tasks: Option<i32>,
}

impl ServiceDeployment {
    /// Completed, one way or the other.
    pub fn finished(&self) -> bool {
        matches!(
            self.status.as_str(),
            "SUCCESSFUL" | "STOPPED" | "ROLLBACK_SUCCESSFUL" | "ROLLBACK_FAILED"
        )
    }

    /// The new revision does not run: ECS rolled it back (an alarm, the
    /// circuit breaker, a hook, a stop) or stopped it.
    pub fn rolled_back(&self) -> bool {
        self.status.starts_with("ROLLBACK") || self.status.starts_with("STOP")
    }

    /// Why it was rolled back, in ECS's words, with the alarms that fired.
    pub fn why(&self) -> String {
        let mut parts = Vec::new();
        if !self.triggered_alarms.is_empty() {
            parts.push(format!(
                "alarm {} in ALARM",
                self.triggered_alarms.join(", ")
            ));
        }
        if let Some(failed) = self.failed_tasks.filter(|n| *n > 0) {
            parts.push(format!("{failed} tasks failed to start"));
        }
        for reason in [&self.rollback_reason, &self.status_reason]
            .into_iter()
            .flatten()
        {
            if !reason.is_empty() && !parts.contains(reason) {
                parts.push(reason.clone());
            }
        }
        if parts.is_empty() {
            parts.push(format!("ECS says {}", self.status));
        }
        parts.join("; ")
    }

    /// `canary 10% → 100% after 5m, baking 10m`: the rollout's shape.
    pub fn shape(&self) -> String {
        let bake = self
            .bake_minutes
            .map(|m| format!(", baking {m}m"))
            .unwrap_or_default();
        let wait = self.step_minutes.unwrap_or(0);
        match self.strategy.as_deref() {
            Some("CANARY") => format!(
                "canary {}% → 100% after {wait}m{bake}",
                percent(self.canary_percent.unwrap_or(5.0))
            ),
            Some("LINEAR") => format!(
                "linear +{}% every {wait}m{bake}",
                percent(self.step_percent.unwrap_or(10.0))
            ),
            Some("BLUE_GREEN") => format!("blue/green{bake}"),
            _ => "rolling".into(),
        }
    }

    /// `PRODUCTION_TRAFFIC_SHIFT, 10% of traffic on the new revision`.
    pub fn progress(&self) -> String {
        let mut line = self.stage.clone().unwrap_or_else(|| self.status.clone());
        if let Some(share) = self.traffic_percent {
            line.push_str(&format!(
                ", {}% of traffic on the new revision",
                percent(share)
            ));
        }
        line
    }

    /// Minutes of the bake left, when it is baking.
    pub fn bake_left(&self, now: i64) -> Option<i64> {
        if self.stage.as_deref() != Some("BAKE_TIME") {
            return None;
        }
        let since = self.updated_at.or(self.started_at)?;
        let total = i64::from(self.bake_minutes?) * 60;
        Some(((total - (now - since)).max(0) + 59) / 60)
    }
}

fn percent(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

/// The newest deployment of `service` in `cluster`, created at or after
/// `since` (Unix seconds) when given; `None` when there is none.
pub fn latest(
    cloud: &Cloud,
    cluster: &str,
    service: &str,
    since: Option<i64>,
) -> Result<Option<ServiceDeployment>, String> {
    let resource = format!("ECS service {service} in cluster {cluster}");
    let ecs = cloud.client::<aws_sdk_ecs::Client>();
    let mut request = ecs
        .list_service_deployments()
        .cluster(cluster)
        .service(service);
    if let Some(since) = since {
        request = request.created_at(
            CreatedAt::builder()
                .after(aws_sdk_ecs::primitives::DateTime::from_secs(since))
                .build(),
        );
    }
    let listed = cloud
        .block_on(request.send())
        .map_err(|e| problem("ecs:ListServiceDeployments", &resource, &e))?;
    // ECS does not promise an order: the newest is the one created last.
    let Some(newest) = listed
        .service_deployments()
        .iter()
        .max_by_key(|d| d.created_at().map(|t| t.secs()))
        .and_then(|d| d.service_deployment_arn())
    else {
        return Ok(None);
    };
    let described = cloud
        .block_on(
            ecs.describe_service_deployments()
                .service_deployment_arns(newest)
                .send(),
        )
        .map_err(|e| problem("ecs:DescribeServiceDeployments", newest, &e))?;
    let Some(d) = described.service_deployments().first() else {
        let why = described
            .failures()
            .first()
            .and_then(|f| f.reason())
            .unwrap_or("not described");
        return Err(format!(
            "ecs:DescribeServiceDeployments did not describe {newest}: {why}"
        ));
    };
    let configuration = d.deployment_configuration();
    let secs = |t: Option<&aws_sdk_ecs::primitives::DateTime>| t.map(|t| t.secs());
    Ok(Some(ServiceDeployment {
        arn: newest.to_string(),
        status: d
            .status()
            .map_or("UNKNOWN", ServiceDeploymentStatus::as_str)
            .to_string(),
        status_reason: d.status_reason().map(str::to_string),
        strategy: configuration
            .and_then(|c| c.strategy())
            .map(|s| s.as_str().to_string()),
        stage: d.lifecycle_stage().map(|s| s.as_str().to_string()),
        traffic_percent: d
            .target_service_revision()
            .and_then(|r| r.requested_production_traffic_weight()),
        canary_percent: configuration
            .and_then(|c| c.canary_configuration())
            .and_then(|c| c.canary_percent()),
        step_percent: configuration
            .and_then(|c| c.linear_configuration())
            .and_then(|c| c.step_percent()),
        step_minutes: configuration.and_then(|c| {
            c.canary_configuration()
                .and_then(|c| c.canary_bake_time_in_minutes())
                .or_else(|| {
                    c.linear_configuration()
                        .and_then(|l| l.step_bake_time_in_minutes())
                })
        }),
        bake_minutes: configuration.and_then(|c| c.bake_time_in_minutes()),
        created_at: secs(d.created_at()),
        started_at: secs(d.started_at()),
        updated_at: secs(d.updated_at()),
        finished_at: secs(d.finished_at()),
        rollback_reason: d.rollback().and_then(|r| r.reason()).map(str::to_string),
        triggered_alarms: d
            .alarms()
            .map(|a| a.triggered_alarm_names().to_vec())
            .unwrap_or_default(),
        failed_tasks: d.deployment_circuit_breaker().map(|c| c.failure_count()),
    }))
}

/// Asks ECS to stop a deployment in progress and roll back to the revision
/// that ran before it (`StopServiceDeployment`, stop type `ROLLBACK`).
pub fn stop(cloud: &Cloud, deployment: &str) -> Result<(), String> {
    cloud
        .block_on(
            cloud
                .client::<aws_sdk_ecs::Client>()
                .stop_service_deployment()
                .service_deployment_arn(deployment)
                .stop_type(StopServiceDeploymentStopType::Rollback)
                .send(),
        )
        .map(|_| ())
        .map_err(|e| problem("ecs:StopServiceDeployment", deployment, &e))
}
