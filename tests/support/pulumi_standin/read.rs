//! The provider's `Read` of a live resource, for an import: pulumi-aws asks
//! AWS (with the credentials and endpoint of the environment Pulumi runs in,
//! `AWS_ENDPOINT_URL` in the tests) and returns the resource's inputs, or
//! nothing when it does not exist (`ImportStep.Apply`,
//! pkg/resource/deploy/step.go: "resource '<id>' does not exist").
//!
//! The stand-in reads the types deployer adopts, each by the id pulumi-aws
//! imports it with (the "Import" section of each resource's page): an RDS
//! instance by its identifier, an SQS queue by its URL, a log group by its
//! name, an ECS cluster by its name, an ECS service by `<cluster>/<name>`,
//! a load balancer, listener, target group or listener rule by its ARN.
//! It returns the inputs
//! deployer's programs set and every input that forces a replacement
//! ([`super::REPLACING`]); any other type is refused, as a provider without an
//! importer would be.

use serde_json::{Value, json};

/// `Ok(None)`: AWS says there is no such resource.
pub fn read(kind: &str, id: &str, region: &str) -> Result<Option<Value>, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(region.to_string()))
            .load()
            .await;
        match kind {
            "aws:rds/instance:Instance" => rds_instance(&config, id).await,
            "aws:sqs/queue:Queue" => sqs_queue(&config, id).await,
            "aws:cloudwatch/logGroup:LogGroup" => log_group(&config, id).await,
            "aws:ecs/cluster:Cluster" => ecs_cluster(&config, id).await,
            "aws:ecs/service:Service" => ecs_service(&config, id).await,
            "aws:lb/loadBalancer:LoadBalancer" => load_balancer(&config, id).await,
            "aws:lb/listener:Listener" => listener(&config, id).await,
            "aws:lb/targetGroup:TargetGroup" => target_group(&config, id).await,
            "aws:lb/listenerRule:ListenerRule" => listener_rule(&config, id).await,
            other => Err(format!(
                "the stand-in cannot import {other}: it reads only aws:rds/instance:Instance, aws:sqs/queue:Queue, aws:cloudwatch/logGroup:LogGroup, aws:ecs/cluster:Cluster, aws:ecs/service:Service and aws:lb's loadBalancer, listener, targetGroup and listenerRule"
            )),
        }
    })
}

async fn rds_instance(config: &aws_config::SdkConfig, id: &str) -> Result<Option<Value>, String> {
    let client = aws_sdk_rds::Client::new(config);
    let answer = client
        .describe_db_instances()
        .db_instance_identifier(id)
        .send()
        .await;
    let found = match answer {
        Ok(found) => found,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_db_instance_not_found_fault()) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(format!("reading RDS instance {id}: {e:?}")),
    };
    let Some(db) = found.db_instances().first() else {
        return Ok(None);
    };
    Ok(Some(json!({
        "identifier": db.db_instance_identifier(),
        "engine": db.engine(),
        "engineVersion": db.engine_version(),
        "instanceClass": db.db_instance_class(),
        "allocatedStorage": db.allocated_storage(),
        "storageType": db.storage_type(),
        "storageEncrypted": db.storage_encrypted().unwrap_or(false),
        "dbName": db.db_name(),
        "username": db.master_username(),
        "port": db.endpoint().and_then(|e| e.port()),
        "multiAz": db.multi_az().unwrap_or(false),
        "backupRetentionPeriod": db.backup_retention_period(),
        "deletionProtection": db.deletion_protection().unwrap_or(false),
        "publiclyAccessible": db.publicly_accessible().unwrap_or(false),
    })))
}

async fn sqs_queue(config: &aws_config::SdkConfig, url: &str) -> Result<Option<Value>, String> {
    use aws_sdk_sqs::types::QueueAttributeName;
    let client = aws_sdk_sqs::Client::new(config);
    let answer = client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await;
    let found = match answer {
        Ok(found) => found,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_queue_does_not_exist()) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(format!("reading SQS queue {url}: {e:?}")),
    };
    let attributes = found.attributes().cloned().unwrap_or_default();
    let number = |name: QueueAttributeName| {
        attributes
            .get(&name)
            .and_then(|v| v.parse::<i64>().ok())
            .map_or(Value::Null, Value::from)
    };
    let flag = |name: QueueAttributeName| attributes.get(&name).is_some_and(|v| v == "true");
    Ok(Some(json!({
        "name": url.rsplit('/').next().unwrap_or(url),
        "fifoQueue": flag(QueueAttributeName::FifoQueue),
        "visibilityTimeoutSeconds": number(QueueAttributeName::VisibilityTimeout),
        "messageRetentionSeconds": number(QueueAttributeName::MessageRetentionPeriod),
        "delaySeconds": number(QueueAttributeName::DelaySeconds),
        "receiveWaitTimeSeconds": number(QueueAttributeName::ReceiveMessageWaitTimeSeconds),
        "maxMessageSize": number(QueueAttributeName::MaximumMessageSize),
    })))
}

/// As the provider reads it (`resourceGroupRead`, terraform-provider-aws
/// `internal/service/logs/group.go`): `DescribeLogGroups` by the name as a
/// prefix, the one with exactly that name; a retention of none is 0.
async fn log_group(config: &aws_config::SdkConfig, name: &str) -> Result<Option<Value>, String> {
    let client = aws_sdk_cloudwatchlogs::Client::new(config);
    let found = client
        .describe_log_groups()
        .log_group_name_prefix(name)
        .send()
        .await
        .map_err(|e| format!("reading log group {name}: {e:?}"))?;
    let Some(group) = found
        .log_groups()
        .iter()
        .find(|g| g.log_group_name() == Some(name))
    else {
        return Ok(None);
    };
    Ok(Some(json!({
        "name": group.log_group_name(),
        "retentionInDays": group.retention_in_days().unwrap_or(0),
        "kmsKeyId": group.kms_key_id(),
        "logGroupClass": group.log_group_class().map(|c| c.as_str()).unwrap_or("STANDARD"),
    })))
}

/// As the provider reads it (`resourceClusterRead`, terraform-provider-aws
/// `internal/service/ecs/cluster.go`): `DescribeClusters` of the name, with
/// its settings and tags; a cluster that is not `ACTIVE` is gone.
async fn ecs_cluster(config: &aws_config::SdkConfig, name: &str) -> Result<Option<Value>, String> {
    use aws_sdk_ecs::types::ClusterField;
    let client = aws_sdk_ecs::Client::new(config);
    let found = client
        .describe_clusters()
        .clusters(name)
        .include(ClusterField::Settings)
        .include(ClusterField::Tags)
        .send()
        .await
        .map_err(|e| format!("reading ECS cluster {name}: {e:?}"))?;
    let Some(cluster) = found
        .clusters()
        .iter()
        .find(|c| c.status() == Some("ACTIVE"))
    else {
        return Ok(None);
    };
    let settings: Vec<Value> = cluster
        .settings()
        .iter()
        .map(|s| json!({"name": s.name().map(|n| n.as_str()), "value": s.value()}))
        .collect();
    let tags: serde_json::Map<String, Value> = cluster
        .tags()
        .iter()
        .map(|t| (t.key().unwrap_or_default().to_string(), json!(t.value())))
        .collect();
    // `arn` is an output the program's services refer to, never an input.
    Ok(Some(json!({
        "arn": cluster.cluster_arn(),
        "name": cluster.cluster_name(),
        "settings": settings,
        "tags": tags,
    })))
}

/// As the provider imports and reads it (`resourceServiceImport` and
/// `resourceServiceRead`, terraform-provider-aws
/// `internal/service/ecs/service.go`): the id is `<cluster>/<name>`; the
/// cluster is kept as its ARN, the task definition as `family:revision`
/// (the import gives neither as the program will), a launch type of none as
/// `""`. Only what ECS answers is returned, so what it leaves out is not
/// diffed.
async fn ecs_service(config: &aws_config::SdkConfig, id: &str) -> Result<Option<Value>, String> {
    let Some((cluster, name)) = id.split_once('/') else {
        return Err(format!(
            "wrong format of resource: {id}, expecting 'cluster-name/service-name'"
        ));
    };
    let client = aws_sdk_ecs::Client::new(config);
    let answer = client
        .describe_services()
        .cluster(cluster)
        .services(name)
        .send()
        .await;
    let found = match answer {
        Ok(found) => found,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_cluster_not_found_exception()) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(format!("reading ECS service {id}: {e:?}")),
    };
    let Some(service) = found
        .services()
        .iter()
        .find(|s| s.status() == Some("ACTIVE"))
    else {
        return Ok(None);
    };
    let mut live = serde_json::Map::new();
    live.insert("name".into(), json!(service.service_name()));
    live.insert("cluster".into(), json!(service.cluster_arn()));
    live.insert(
        "launchType".into(),
        json!(service.launch_type().map_or("", |l| l.as_str())),
    );
    live.insert("desiredCount".into(), json!(service.desired_count()));
    live.insert(
        "schedulingStrategy".into(),
        json!(
            service
                .scheduling_strategy()
                .map_or("REPLICA", |s| s.as_str())
        ),
    );
    live.insert(
        "deploymentController".into(),
        json!({"type": service.deployment_controller().map_or("ECS", |c| c.r#type().as_str())}),
    );
    live.insert(
        "capacityProviderStrategies".into(),
        Value::Array(
            service
                .capacity_provider_strategy()
                .iter()
                .map(|c| json!({"capacityProvider": c.capacity_provider(), "weight": c.weight(), "base": c.base()}))
                .collect(),
        ),
    );
    if let Some(definition) = service.task_definition() {
        let family_revision = definition.split_once('/').map_or(definition, |(_, f)| f);
        live.insert("taskDefinition".into(), json!(family_revision));
    }
    if let Some(version) = service.platform_version() {
        live.insert("platformVersion".into(), json!(version));
    }
    if let Some(propagate) = service.propagate_tags() {
        live.insert("propagateTags".into(), json!(propagate.as_str()));
    }
    if let Some(role) = service.role_arn() {
        let role_name = role.split_once('/').map_or(role, |(_, r)| r);
        live.insert("iamRole".into(), json!(role_name));
    }
    // flattenServiceRegistries; MaxItems 1, an object in pulumi-aws.
    if let Some(registry) = service.service_registries().first() {
        let mut entry = serde_json::Map::new();
        entry.insert("registryArn".into(), json!(registry.registry_arn()));
        if let Some(port) = registry.port() {
            entry.insert("port".into(), json!(port));
        }
        if let Some(port) = registry.container_port() {
            entry.insert("containerPort".into(), json!(port));
        }
        if let Some(name) = registry.container_name() {
            entry.insert("containerName".into(), json!(name));
        }
        live.insert("serviceRegistries".into(), Value::Object(entry));
    }
    if let Some(vpc) = service
        .network_configuration()
        .and_then(|n| n.awsvpc_configuration())
    {
        live.insert(
            "networkConfiguration".into(),
            json!({
                "subnets": vpc.subnets(),
                "securityGroups": vpc.security_groups(),
                "assignPublicIp": vpc.assign_public_ip().is_some_and(|a| a.as_str() == "ENABLED"),
            }),
        );
    }
    Ok(Some(Value::Object(live)))
}

/// Whether an Elastic Load Balancing error says the thing is not there
/// (`LoadBalancerNotFound`, `ListenerNotFound`, `TargetGroupNotFound`,
/// `RuleNotFound`): the provider's read then finds nothing.
fn elb_not_found<E: aws_sdk_elasticloadbalancingv2::error::ProvideErrorMetadata>(e: &E) -> bool {
    e.code().is_some_and(|c| c.ends_with("NotFound"))
}

/// What an ARN's resource part after `<kind>/` is: the provider's
/// `arn_suffix` (`app/<name>/<id>` for a load balancer, `targetgroup/<name>/<id>`).
fn arn_suffix(arn: &str, after: &str) -> String {
    arn.split_once(after)
        .map_or(String::new(), |(_, rest)| rest.to_string())
}

/// As `resourceLoadBalancerRead` sets it (terraform-provider-aws
/// `internal/service/elbv2/load_balancer.go`): the id is the ARN; `internal`
/// from the scheme; `arn_suffix` from the ARN.
async fn load_balancer(config: &aws_config::SdkConfig, id: &str) -> Result<Option<Value>, String> {
    let client = aws_sdk_elasticloadbalancingv2::Client::new(config);
    let found = match client
        .describe_load_balancers()
        .load_balancer_arns(id)
        .send()
        .await
    {
        Ok(found) => found,
        Err(e) if e.as_service_error().is_some_and(elb_not_found) => return Ok(None),
        Err(e) => return Err(format!("reading load balancer {id}: {e:?}")),
    };
    let Some(lb) = found.load_balancers().first() else {
        return Ok(None);
    };
    Ok(Some(json!({
        "name": lb.load_balancer_name(),
        "internal": lb.scheme().is_some_and(|s| s.as_str() == "internal"),
        "loadBalancerType": lb.r#type().map(|t| t.as_str()),
        "securityGroups": lb.security_groups(),
        "subnets": lb.availability_zones().iter().filter_map(|z| z.subnet_id()).collect::<Vec<_>>(),
        "arn": lb.load_balancer_arn(),
        "arnSuffix": arn_suffix(id, ":loadbalancer/"),
        "dnsName": lb.dns_name(),
        "zoneId": lb.canonical_hosted_zone_id(),
    })))
}

/// As `resourceListenerRead` sets it (`internal/service/elbv2/listener.go`):
/// the id is the ARN.
async fn listener(config: &aws_config::SdkConfig, id: &str) -> Result<Option<Value>, String> {
    let client = aws_sdk_elasticloadbalancingv2::Client::new(config);
    let found = match client.describe_listeners().listener_arns(id).send().await {
        Ok(found) => found,
        Err(e) if e.as_service_error().is_some_and(elb_not_found) => return Ok(None),
        Err(e) => return Err(format!("reading listener {id}: {e:?}")),
    };
    let Some(listener) = found.listeners().first() else {
        return Ok(None);
    };
    let mut live = serde_json::Map::new();
    live.insert("arn".into(), json!(listener.listener_arn()));
    live.insert(
        "loadBalancerArn".into(),
        json!(listener.load_balancer_arn()),
    );
    live.insert("port".into(), json!(listener.port()));
    live.insert(
        "protocol".into(),
        json!(listener.protocol().map(|p| p.as_str())),
    );
    if let Some(policy) = listener.ssl_policy() {
        live.insert("sslPolicy".into(), json!(policy));
    }
    if let Some(certificate) = listener
        .certificates()
        .first()
        .and_then(|c| c.certificate_arn())
    {
        live.insert("certificateArn".into(), json!(certificate));
    }
    Ok(Some(Value::Object(live)))
}

/// As `resourceTargetGroupRead` sets it (`internal/service/elbv2/target_group.go`):
/// the id is the ARN.
async fn target_group(config: &aws_config::SdkConfig, id: &str) -> Result<Option<Value>, String> {
    let client = aws_sdk_elasticloadbalancingv2::Client::new(config);
    let found = match client
        .describe_target_groups()
        .target_group_arns(id)
        .send()
        .await
    {
        Ok(found) => found,
        Err(e) if e.as_service_error().is_some_and(elb_not_found) => return Ok(None),
        Err(e) => return Err(format!("reading target group {id}: {e:?}")),
    };
    let Some(group) = found.target_groups().first() else {
        return Ok(None);
    };
    Ok(Some(json!({
        "name": group.target_group_name(),
        "port": group.port(),
        "protocol": group.protocol().map(|p| p.as_str()),
        "vpcId": group.vpc_id(),
        "targetType": group.target_type().map(|t| t.as_str()),
        "arn": group.target_group_arn(),
        "arnSuffix": id.rsplit_once(':').map_or("", |(_, suffix)| suffix),
    })))
}

/// As `resourceListenerRuleRead` sets it (`internal/service/elbv2/listener_rule.go`):
/// the id is the ARN, and "the listener arn isn't in the response but can be
/// derived from the rule arn" (`ListenerARNFromRuleARN`:
/// `^(arn:.+:listener)-rule(/.+)/[^/]+$`).
async fn listener_rule(config: &aws_config::SdkConfig, id: &str) -> Result<Option<Value>, String> {
    let client = aws_sdk_elasticloadbalancingv2::Client::new(config);
    let found = match client.describe_rules().rule_arns(id).send().await {
        Ok(found) => found,
        Err(e) if e.as_service_error().is_some_and(elb_not_found) => return Ok(None),
        Err(e) => return Err(format!("reading listener rule {id}: {e:?}")),
    };
    let Some(rule) = found.rules().first() else {
        return Ok(None);
    };
    let listener = regex::Regex::new(r"^(arn:.+:listener)-rule(/.+)/[^/]+$")
        .expect("a valid pattern")
        .captures(id)
        .map_or(String::new(), |c| format!("{}{}", &c[1], &c[2]));
    let mut live = serde_json::Map::new();
    live.insert("arn".into(), json!(rule.rule_arn()));
    live.insert("listenerArn".into(), json!(listener));
    // "default" is the listener's own rule, 99999 to the provider.
    let priority = match rule.priority() {
        Some("default") | None => 99999,
        Some(p) => p
            .parse::<i64>()
            .map_err(|e| format!("rule {id}'s priority: {e}"))?,
    };
    live.insert("priority".into(), json!(priority));
    Ok(Some(Value::Object(live)))
}
