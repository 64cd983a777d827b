//! What a cache looks like live: its replication group's status and members.

use super::Cache;
use aws_sdk_elasticache::error::ProvideErrorMetadata;
use crate::inspect::status::{ComponentStatus, Health, Outputs, StatusKind};
use crate::inspect::{Cloud, output, problem};
use crate::kinds::Component;
use serde_json::json;

impl StatusKind for Cache {
    /// A cache: its replication group's status (`available`, `modifying`, ...)
    /// and how many member nodes it has.
    fn status(cloud: &Cloud, outputs: &Outputs, component: &str) -> ComponentStatus {
        let mut status = ComponentStatus::new(component, Self::LABEL);
        let Some(id) = output(outputs, component, "id") else {
            return status.unrecorded("id");
        };
        let resource = format!("ElastiCache replication group {id}");
        let described = cloud.block_on(
            cloud
                .client::<aws_sdk_elasticache::Client>()
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
                let call = "elasticache:DescribeReplicationGroups";
                return status.unknown(problem(call, &resource, &err));
            }
        };
        let Some(group) = group else {
            return status.not_found(&resource);
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
}
