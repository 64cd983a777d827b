//! What a running AWS Copilot application is, for `deployer import copilot
//! --adopt`: where Copilot records each environment (an SSM parameter), the
//! resources of its CloudFormation stacks with those of their nested stacks
//! (a service's addons are one: `AddonsStack`), as
//! `cloudformation:ListStackResources` gives them, and what a database found
//! there is, live.

use super::{Cloud, problem, unless_missing};
use crate::error::{Error, Result};

/// One resource of a stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackResource {
    /// The stack that declares it (a nested stack's name or ARN).
    pub stack: String,
    /// Its name in the template (`EventsQueue`).
    pub logical_id: String,
    /// `AWS::SQS::Queue`.
    pub kind: String,
    /// What CloudFormation calls it in AWS: a queue's URL, an instance's
    /// identifier, a service's ARN (`PhysicalResourceId`, per resource type
    /// in the CloudFormation reference's "Return values", `Ref`).
    pub physical_id: String,
    /// `CREATE_COMPLETE`, `UPDATE_COMPLETE`, ...
    pub status: String,
}

/// Every resource of `stack` and of the stacks nested in it; `None` when
/// there is no such stack (CloudFormation answers `ValidationError`, "Stack
/// with id … does not exist").
pub fn resources(cloud: &Cloud, stack: &str) -> Result<Option<Vec<StackResource>>> {
    let mut out = Vec::new();
    let mut pending = vec![stack.to_string()];
    let mut first = true;
    while let Some(name) = pending.pop() {
        let mut token = None;
        loop {
            let client = cloud.client::<aws_sdk_cloudformation::Client>();
            let answer = cloud.block_on(
                client
                    .list_stack_resources()
                    .stack_name(&name)
                    .set_next_token(token.clone())
                    .send(),
            );
            let page = match answer {
                Ok(page) => page,
                Err(e) if first && missing(&e) => return Ok(None),
                Err(e) => {
                    return Err(Error::failed(problem(
                        "cloudformation:ListStackResources",
                        &name,
                        &e,
                    )));
                }
            };
            first = false;
            for summary in page.stack_resource_summaries() {
                let resource = StackResource {
                    stack: name.clone(),
                    logical_id: summary
                        .logical_resource_id()
                        .unwrap_or_default()
                        .to_string(),
                    kind: summary.resource_type().unwrap_or_default().to_string(),
                    physical_id: summary
                        .physical_resource_id()
                        .unwrap_or_default()
                        .to_string(),
                    status: summary
                        .resource_status()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                };
                if resource.kind == "AWS::CloudFormation::Stack" && !resource.physical_id.is_empty()
                {
                    pending.push(resource.physical_id.clone());
                }
                out.push(resource);
            }
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
    }
    Ok(Some(out))
}

fn missing<R>(
    e: &aws_sdk_s3::error::SdkError<
        aws_sdk_cloudformation::operation::list_stack_resources::ListStackResourcesError,
        R,
    >,
) -> bool {
    use aws_sdk_s3::error::ProvideErrorMetadata;
    e.code() == Some("ValidationError") && e.message().is_some_and(|m| m.contains("does not exist"))
}

/// What a database to adopt is, live: the values of its rds.yaml that would
/// otherwise force a new instance (`rds:DescribeDBInstances`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveDatabase {
    pub engine: String,
    pub database: Option<String>,
    pub username: Option<String>,
    pub encrypted: bool,
    /// Its VPC security groups.
    pub security_groups: Vec<String>,
}

/// `None` when there is no instance `identifier`.
pub fn database(cloud: &Cloud, identifier: &str) -> Result<Option<LiveDatabase>> {
    let client = cloud.client::<aws_sdk_rds::Client>();
    let answer = cloud.block_on(
        client
            .describe_db_instances()
            .db_instance_identifier(identifier)
            .send(),
    );
    let Some(found) = unless_missing(
        answer,
        |e| e.is_db_instance_not_found_fault(),
        "rds:DescribeDBInstances",
        identifier,
    )?
    else {
        return Ok(None);
    };
    Ok(found.db_instances().first().map(|db| LiveDatabase {
        engine: db.engine().unwrap_or_default().to_string(),
        database: db.db_name().map(str::to_string),
        username: db.master_username().map(str::to_string),
        encrypted: db.storage_encrypted().unwrap_or(false),
        security_groups: db
            .vpc_security_groups()
            .iter()
            .filter_map(|g| g.vpc_security_group_id().map(str::to_string))
            .collect(),
    }))
}

/// What deployer needs to know of a running ECS service before it adopts
/// it: where it runs, how, and whether a load balancer sends it traffic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveService {
    pub name: String,
    pub cluster_arn: String,
    /// Empty when the service runs on a capacity provider strategy (a
    /// Copilot service with `count.spot`).
    pub launch_type: String,
    /// Its capacity provider strategy: each provider with its weight and
    /// base (ECS's 0 when not given).
    pub capacity: Vec<(String, i64, i64)>,
    /// The target groups load balancers send it traffic through (ARNs).
    pub target_groups: Vec<String>,
    /// Its registration for service discovery (Cloud Map), as Copilot
    /// registers a Backend Service with a port.
    pub registry: Option<LiveRegistry>,
    /// The family of the task definition it runs (`<app>-<env>-<service>`
    /// for Copilot's).
    pub task_family: Option<String>,
}

/// A service's registration in AWS Cloud Map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveRegistry {
    pub registry_arn: String,
    pub port: Option<u16>,
    pub container_port: Option<u16>,
}

/// `None` when `cluster` has no active service `service` (a name or ARN).
pub fn ecs_service(cloud: &Cloud, cluster: &str, service: &str) -> Result<Option<LiveService>> {
    let client = cloud.client::<aws_sdk_ecs::Client>();
    let answer = cloud.block_on(
        client
            .describe_services()
            .cluster(cluster)
            .services(service)
            .send(),
    );
    let Some(found) = unless_missing(
        answer,
        |e| e.is_cluster_not_found_exception(),
        "ecs:DescribeServices",
        service,
    )?
    else {
        return Ok(None);
    };
    Ok(found
        .services()
        .iter()
        .find(|s| s.status() == Some("ACTIVE"))
        .map(|s| LiveService {
            name: s.service_name().unwrap_or_default().to_string(),
            cluster_arn: s.cluster_arn().unwrap_or_default().to_string(),
            launch_type: s
                .launch_type()
                .map(|l| l.as_str().to_string())
                .unwrap_or_default(),
            capacity: s
                .capacity_provider_strategy()
                .iter()
                .map(|c| {
                    (
                        c.capacity_provider().to_string(),
                        i64::from(c.weight()),
                        i64::from(c.base()),
                    )
                })
                .collect(),
            target_groups: s
                .load_balancers()
                .iter()
                .filter_map(|b| b.target_group_arn().map(str::to_string))
                .collect(),
            registry: s.service_registries().first().and_then(|r| {
                Some(LiveRegistry {
                    registry_arn: r.registry_arn()?.to_string(),
                    port: r.port().and_then(|p| u16::try_from(p).ok()),
                    container_port: r.container_port().and_then(|p| u16::try_from(p).ok()),
                })
            }),
            // arn:aws:ecs:<region>:<account>:task-definition/<family>:<revision>
            task_family: s
                .task_definition()
                .and_then(|arn| arn.rsplit_once('/'))
                .and_then(|(_, family_revision)| family_revision.rsplit_once(':'))
                .map(|(family, _)| family.to_string()),
        }))
}

/// A load balancer to adopt, live (`elasticloadbalancing:DescribeLoadBalancers`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveLoadBalancer {
    pub name: String,
    pub security_groups: Vec<String>,
}

/// `None` when there is no load balancer `arn`.
pub fn load_balancer(cloud: &Cloud, arn: &str) -> Result<Option<LiveLoadBalancer>> {
    let client = cloud.client::<aws_sdk_elasticloadbalancingv2::Client>();
    let answer = cloud.block_on(
        client
            .describe_load_balancers()
            .load_balancer_arns(arn)
            .send(),
    );
    let Some(found) = unless_missing(
        answer,
        |e| e.is_load_balancer_not_found_exception(),
        "elasticloadbalancing:DescribeLoadBalancers",
        arn,
    )?
    else {
        return Ok(None);
    };
    Ok(found.load_balancers().first().map(|b| LiveLoadBalancer {
        name: b.load_balancer_name().unwrap_or_default().to_string(),
        security_groups: b.security_groups().to_vec(),
    }))
}

/// A listener rule's priority (`elasticloadbalancing:DescribeRules`):
/// `None` when there is no rule `arn`, or it is a listener's default.
pub fn rule_priority(cloud: &Cloud, arn: &str) -> Result<Option<u32>> {
    let client = cloud.client::<aws_sdk_elasticloadbalancingv2::Client>();
    let answer = cloud.block_on(client.describe_rules().rule_arns(arn).send());
    let Some(found) = unless_missing(
        answer,
        |e| e.is_rule_not_found_exception(),
        "elasticloadbalancing:DescribeRules",
        arn,
    )?
    else {
        return Ok(None);
    };
    Ok(found
        .rules()
        .first()
        .and_then(|r| r.priority())
        .and_then(|p| p.parse().ok()))
}

/// An environment as Copilot records it: the SSM parameter
/// `/copilot/applications/<app>/environments/<env>` in the application's
/// region, a JSON document whose `region` and `accountID` say where the
/// environment runs (copilot-cli `internal/pkg/config/env.go`, `Environment`
/// and `fmtEnvParamPath`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopilotEnvironment {
    pub parameter: String,
    pub region: String,
    pub account: String,
}

/// `None` when Copilot has no record of the environment (`ParameterNotFound`).
pub fn environment(
    cloud: &Cloud,
    application: &str,
    environment: &str,
) -> Result<Option<CopilotEnvironment>> {
    let parameter = format!("/copilot/applications/{application}/environments/{environment}");
    let answer = cloud.block_on(
        cloud
            .client::<aws_sdk_ssm::Client>()
            .get_parameter()
            .name(&parameter)
            .send(),
    );
    let Some(found) = unless_missing(
        answer,
        |e| e.is_parameter_not_found(),
        "ssm:GetParameter",
        &parameter,
    )?
    else {
        return Ok(None);
    };
    let value = found
        .parameter()
        .and_then(|p| p.value())
        .unwrap_or_default();
    let record: serde_json::Value = serde_json::from_str(value).map_err(|e| {
        Error::failed(format!(
            "Copilot's record {parameter} is not the JSON Copilot writes: {e}"
        ))
    })?;
    let field = |key: &str| record[key].as_str().unwrap_or_default().to_string();
    Ok(Some(CopilotEnvironment {
        region: field("region"),
        account: field("accountID"),
        parameter,
    }))
}
