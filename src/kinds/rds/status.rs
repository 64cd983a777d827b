//! What a database looks like live: the instance's status and pending
//! maintenance.

use super::Rds;
use crate::inspect::status::{ComponentStatus, Health, Outputs, StatusKind};
use crate::inspect::{Cloud, output, problem};
use crate::kinds::Component;
use serde_json::json;

impl StatusKind for Rds {
    fn status(cloud: &Cloud, outputs: &Outputs, component: &str) -> ComponentStatus {
        let mut status = ComponentStatus::new(component, Self::LABEL);
        let Some(identifier) = output(outputs, component, "identifier") else {
            return status.unrecorded("identifier");
        };
        let resource = format!("RDS instance {identifier}");
        let instance = match cloud.block_on(
            cloud
                .client::<aws_sdk_rds::Client>()
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
            Err(err) => return status.unknown(problem("rds:DescribeDBInstances", &resource, &err)),
        };
        let Some(instance) = instance else {
            return status.not_found(&resource);
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
                    .client::<aws_sdk_rds::Client>()
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
}
