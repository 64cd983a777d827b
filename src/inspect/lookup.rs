//! Whether a resource Pulumi was creating exists in AWS, and its provider id:
//! what `pulumi refresh --import-pending-creates URN ID` needs to adopt it
//! instead of forgetting it. The id is the one pulumi-aws keeps in its state,
//! the bridged Terraform provider's `d.SetId(...)` for the type
//! (hashicorp/terraform-provider-aws `internal/service/<service>/<resource>.go`).

use super::Cloud;
use serde_json::Value;

/// What AWS says of a resource.
#[derive(Debug, PartialEq, Eq)]
pub enum Found {
    /// It exists; its provider id.
    Exists(String),
    /// It does not.
    Absent,
    /// deployer cannot look this type up (or its inputs name nothing).
    CannotTell,
}

/// Looks a resource of type `kind`, created with `inputs`, up by the name it
/// was given.
pub fn find(cloud: &Cloud, kind: &str, inputs: &Value) -> crate::error::Result<Found> {
    let text = |key: &str| inputs.get(key).and_then(Value::as_str).map(str::to_string);
    let failed =
        |e: String| crate::error::Error::failed(format!("looking up a {kind} in AWS: {e}"));
    let found = |id: Option<String>| Ok(id.map_or(Found::Absent, Found::Exists));
    match kind {
        // `queue.go`: the id is the queue's URL.
        "aws:sqs/queue:Queue" => {
            let Some(name) = text("name") else {
                return Ok(Found::CannotTell);
            };
            match cloud.block_on(
                cloud
                    .client::<aws_sdk_sqs::Client>()
                    .get_queue_url()
                    .queue_name(&name)
                    .send(),
            ) {
                Ok(out) => found(out.queue_url().map(str::to_string)),
                Err(e) if format!("{e:?}").contains("NonExistentQueue") => Ok(Found::Absent),
                Err(e) => Err(failed(format!("{e:?}"))),
            }
        }
        // `log_group.go`: the id is the group's name.
        "aws:cloudwatch/logGroup:LogGroup" => {
            let Some(name) = text("name") else {
                return Ok(Found::CannotTell);
            };
            let out = cloud
                .block_on(
                    cloud
                        .client::<aws_sdk_cloudwatchlogs::Client>()
                        .describe_log_groups()
                        .log_group_name_prefix(&name)
                        .send(),
                )
                .map_err(|e| failed(format!("{e:?}")))?;
            let exists = out
                .log_groups()
                .iter()
                .any(|g| g.log_group_name() == Some(name.as_str()));
            found(exists.then_some(name))
        }
        // `instance.go` (rds): the id is the instance's resource id (`db-…`).
        "aws:rds/instance:Instance" => {
            let Some(identifier) = text("identifier") else {
                return Ok(Found::CannotTell);
            };
            match cloud.block_on(
                cloud
                    .client::<aws_sdk_rds::Client>()
                    .describe_db_instances()
                    .db_instance_identifier(&identifier)
                    .send(),
            ) {
                Ok(out) => found(
                    out.db_instances()
                        .first()
                        .and_then(|i| i.dbi_resource_id())
                        .map(str::to_string),
                ),
                Err(e) if format!("{e:?}").contains("DBInstanceNotFound") => Ok(Found::Absent),
                Err(e) => Err(failed(format!("{e:?}"))),
            }
        }
        // `replication_group.go`: the id is the group's id.
        "aws:elasticache/replicationGroup:ReplicationGroup" => {
            let Some(id) = text("replicationGroupId") else {
                return Ok(Found::CannotTell);
            };
            match cloud.block_on(
                cloud
                    .client::<aws_sdk_elasticache::Client>()
                    .describe_replication_groups()
                    .replication_group_id(&id)
                    .send(),
            ) {
                Ok(out) => found((!out.replication_groups().is_empty()).then_some(id)),
                Err(e) if format!("{e:?}").contains("ReplicationGroupNotFound") => {
                    Ok(Found::Absent)
                }
                Err(e) => Err(failed(format!("{e:?}"))),
            }
        }
        // `cluster.go`, `service.go` (ecs): the id is the ARN.
        "aws:ecs/cluster:Cluster" => {
            let Some(name) = text("name") else {
                return Ok(Found::CannotTell);
            };
            let out = cloud
                .block_on(
                    cloud
                        .client::<aws_sdk_ecs::Client>()
                        .describe_clusters()
                        .clusters(&name)
                        .send(),
                )
                .map_err(|e| failed(format!("{e:?}")))?;
            found(
                out.clusters()
                    .iter()
                    .find(|c| c.status() == Some("ACTIVE"))
                    .and_then(|c| c.cluster_arn())
                    .map(str::to_string),
            )
        }
        "aws:ecs/service:Service" => {
            let (Some(name), Some(cluster)) = (text("name"), text("cluster")) else {
                return Ok(Found::CannotTell);
            };
            let out = cloud
                .block_on(
                    cloud
                        .client::<aws_sdk_ecs::Client>()
                        .describe_services()
                        .cluster(&cluster)
                        .services(&name)
                        .send(),
                )
                .map_err(|e| failed(format!("{e:?}")))?;
            found(
                out.services()
                    .iter()
                    .find(|s| s.status() != Some("INACTIVE"))
                    .and_then(|s| s.service_arn())
                    .map(str::to_string),
            )
        }
        // `target_group.go`, `load_balancer.go` (elbv2): the id is the ARN.
        "aws:lb/targetGroup:TargetGroup" => {
            let Some(name) = text("name") else {
                return Ok(Found::CannotTell);
            };
            match cloud.block_on(
                cloud
                    .client::<aws_sdk_elasticloadbalancingv2::Client>()
                    .describe_target_groups()
                    .names(&name)
                    .send(),
            ) {
                Ok(out) => found(
                    out.target_groups()
                        .first()
                        .and_then(|t| t.target_group_arn())
                        .map(str::to_string),
                ),
                Err(e) if format!("{e:?}").contains("TargetGroupNotFound") => Ok(Found::Absent),
                Err(e) => Err(failed(format!("{e:?}"))),
            }
        }
        "aws:lb/loadBalancer:LoadBalancer" => {
            let Some(name) = text("name") else {
                return Ok(Found::CannotTell);
            };
            match cloud.block_on(
                cloud
                    .client::<aws_sdk_elasticloadbalancingv2::Client>()
                    .describe_load_balancers()
                    .names(&name)
                    .send(),
            ) {
                Ok(out) => found(
                    out.load_balancers()
                        .first()
                        .and_then(|l| l.load_balancer_arn())
                        .map(str::to_string),
                ),
                Err(e) if format!("{e:?}").contains("LoadBalancerNotFound") => Ok(Found::Absent),
                Err(e) => Err(failed(format!("{e:?}"))),
            }
        }
        _ => Ok(Found::CannotTell),
    }
}
