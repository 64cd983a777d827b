//! `import copilot --adopt` against a Copilot application moto runs: the
//! CloudFormation stacks Copilot makes (`<app>-<env>` and
//! `<app>-<env>-<service>`, a service's addons as the nested `AddonsStack`,
//! a Worker Service's `EventsQueue` and `DeadLetterQueue` as copilot-cli's
//! `templates/workloads/services/worker/cf.yml` names them), created by
//! moto's own CloudFormation. The first plan imports the database, the
//! queues and each service's log group as they are — the stand-in reads them from moto as pulumi-aws
//! would — and a database whose files say otherwise stops the plan.

use super::*;
use serde_json::json;

/// The Copilot workspace of tests/support/copilot as application `app` (a
/// name of its own, as the tests share one moto).
fn workspace_named(app: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&crate_dir().join("tests/support/copilot"), dir.path());
    std::fs::write(
        dir.path().join("copilot/.workspace"),
        format!("application: {app}\n"),
    )
    .unwrap();
    dir
}

/// The Cloud Map service Copilot registers a discoverable service in.
const REGISTRY: &str =
    "arn:aws:servicediscovery:us-east-1:123456789012:service/srv-utcrh6wavdkggqtk";

/// How Copilot runs the worker's tasks.
#[derive(Clone, Copy)]
enum WorkerOn {
    /// `LaunchType: FARGATE`, Copilot's default.
    Fargate,
    /// Not on Fargate: what moto's CloudFormation makes of Copilot's
    /// service (moto's `create_service` defaults the launch type to EC2 and
    /// has no capacity provider strategy, which `count.spot` would give).
    Ec2,
    /// On Fargate, registered for service discovery (Cloud Map), as
    /// Copilot registers a Backend Service with a port.
    Discoverable,
}

/// How much of the frontend (a Load Balanced Web Service) Copilot runs.
#[derive(Clone, Copy, PartialEq)]
enum Frontend {
    /// Its log group and database addon only.
    AddonsOnly,
    /// Its service too, behind the environment's load balancer: the
    /// load balancer, its security group and HTTP listener in the
    /// environment's stack (copilot-cli `templates/environment/cf.yml`),
    /// the target group and listener rule in the service's
    /// (`workloads/partials/cf/alb.yml`, `http-listener.yml`), in the
    /// subnets of moto's default VPC.
    BehindLoadBalancer(Listening),
}

/// Whether Copilot runs the api (a Backend Service with `http`).
#[derive(Clone, Copy, PartialEq)]
enum Api {
    NotDeployed,
    /// Behind the environment's internal load balancer: its security
    /// group, `InternalLoadBalancer` and `InternalHTTPListener` in the
    /// environment's stack, the api's target group and `HTTPListenerRule`
    /// in its own (copilot-cli `templates/environment/cf.yml`,
    /// `workloads/partials/cf/http-listener.yml`).
    BehindInternalLoadBalancer,
}

/// What Copilot's environment listens on.
#[derive(Clone, Copy, PartialEq)]
enum Listening {
    /// HTTP only: the service's rule is `HTTPListenerRule`.
    Http,
    /// HTTPS with an ACM certificate (`http.public.certificates`): the
    /// service's rule is `HTTPSListenerRule`, and `HTTPListenerRuleWithDomain`
    /// redirects HTTP to it (copilot-cli `workloads/partials/cf/https-listener.yml`).
    Https,
}

/// The VPC and subnets moto has in us-east-1, for a load balancer (moto
/// refuses subnets it does not have).
struct MotoNetwork {
    vpc: String,
    subnets: Vec<String>,
    /// The ACM certificate of an HTTPS listener.
    certificate: Option<String>,
}

/// A certificate moto's ACM issues for `domain` (moto's load balancer
/// refuses one ACM does not have); asked through boto3, which moto brings.
fn moto_certificate(endpoint: &str, domain: &str) -> String {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, boto3\nacm = boto3.client('acm', region_name='us-east-1', endpoint_url=sys.argv[1])\nprint(acm.request_certificate(DomainName=sys.argv[2])['CertificateArn'])",
            endpoint,
            domain,
        ])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// The application of tests/support/copilot, deployed by Copilot in `test`:
/// the environment's stack and cluster, the frontend with its database
/// addon, the worker with its queues and service. The api is not deployed.
fn deploy_copilot_application(endpoint: &str, app: &str, worker_on: WorkerOn) {
    deploy_copilot_application_with(
        endpoint,
        app,
        worker_on,
        Frontend::AddonsOnly,
        Api::NotDeployed,
    );
}

/// [`deploy_copilot_application`], with as much of the frontend as
/// `frontend` says; the network a load balancer went into.
fn deploy_copilot_application_with(
    endpoint: &str,
    app: &str,
    worker_on: WorkerOn,
    frontend: Frontend,
    api: Api,
) -> MotoNetwork {
    moto::point_this_process_at(endpoint);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .load()
            .await;
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&config)
                .force_path_style(true)
                .build(),
        );
        let cloudformation = aws_sdk_cloudformation::Client::new(&config);
        // Copilot records where each environment runs in SSM, in the
        // application's region (copilot-cli internal/pkg/config/env.go).
        let ssm = aws_sdk_ssm::Client::new(&config);
        for (env, region, account) in [
            ("test", "us-east-1", "123456789012"),
            ("prod", "us-west-2", "210987654321"),
        ] {
            ssm.put_parameter()
                .name(format!("/copilot/applications/{app}/environments/{env}"))
                .r#type(aws_sdk_ssm::types::ParameterType::String)
                .value(
                    json!({"app": app, "name": env, "region": region, "accountID": account, "registryURL": "", "executionRoleARN": "", "managerRoleARN": ""})
                        .to_string(),
                )
                .send()
                .await
                .unwrap();
        }
        // Copilot uploads the addons' template to the application's bucket
        // and nests it; CloudFormation names the instance when the template
        // does not (moto's own name fails its RDS validation, so it is given).
        let bucket = moto::unique("stackset");
        s3.create_bucket().bucket(&bucket).send().await.unwrap();
        let addons = json!({"Resources": {
            "frontenddbSecret": {"Type": "AWS::SecretsManager::Secret", "Properties": {"Description": "test frontend database credentials"}},
            "frontenddb": {"Type": "AWS::RDS::DBInstance", "Properties": {
                "DBInstanceIdentifier": format!("{app}-test-frontend-addonsstack-frontenddb-1f2e3d"),
                "Engine": "postgres", "EngineVersion": "16.3", "DBInstanceClass": "db.t4g.micro",
                "AllocatedStorage": "20", "StorageEncrypted": true, "DBName": "shop",
                "MasterUsername": "shopadmin", "MasterUserPassword": "not-a-real-password"}}
        }});
        s3.put_object()
            .bucket(&bucket)
            .key("manifests/frontend/addons.yml")
            .body(addons.to_string().into_bytes().into())
            .send()
            .await
            .unwrap();
        // Copilot leaves the cluster's name to CloudFormation, which makes
        // one like this (copilot-cli `templates/environment/cf.yml`).
        let cluster = format!("{app}-test-Cluster-8Z2Y4W");
        let ec2 = aws_sdk_ec2::Client::new(&config);
        let subnets = ec2.describe_subnets().send().await.unwrap();
        let network = MotoNetwork {
            vpc: subnets.subnets()[0].vpc_id().unwrap().to_string(),
            subnets: subnets
                .subnets()
                .iter()
                .filter(|s| s.vpc_id() == subnets.subnets()[0].vpc_id())
                .take(2)
                .map(|s| s.subnet_id().unwrap().to_string())
                .collect(),
            certificate: (frontend == Frontend::BehindLoadBalancer(Listening::Https))
                .then(|| moto_certificate(endpoint, "shop.example.com")),
        };
        let mut environment = json!({"Resources": {
            "Cluster": {"Type": "AWS::ECS::Cluster", "Properties": {"ClusterName": cluster}}
        }});
        if let Frontend::BehindLoadBalancer(listening) = frontend {
            let resources = environment["Resources"].as_object_mut().unwrap();
            resources.insert("PublicHTTPLoadBalancerSecurityGroup".into(), json!({
                "Type": "AWS::EC2::SecurityGroup", "Properties": {
                    "GroupDescription": "HTTP access to the public facing load balancer",
                    "VpcId": network.vpc}}));
            resources.insert("PublicLoadBalancer".into(), json!({
                "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", "Properties": {
                    "Scheme": "internet-facing", "Type": "application",
                    "SecurityGroups": [{"Ref": "PublicHTTPLoadBalancerSecurityGroup"}],
                    "Subnets": network.subnets}}));
            resources.insert("DefaultHTTPTargetGroup".into(), json!({
                "Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "Properties": {
                    "Port": 80, "Protocol": "HTTP", "TargetType": "ip", "VpcId": network.vpc}}));
            resources.insert("HTTPListener".into(), json!({
                "Type": "AWS::ElasticLoadBalancingV2::Listener", "Properties": {
                    "DefaultActions": [{"TargetGroupArn": {"Ref": "DefaultHTTPTargetGroup"}, "Type": "forward"}],
                    "LoadBalancerArn": {"Ref": "PublicLoadBalancer"}, "Port": 80, "Protocol": "HTTP"}}));
            if listening == Listening::Https {
                resources.insert("PublicHTTPSLoadBalancerSecurityGroup".into(), json!({
                    "Type": "AWS::EC2::SecurityGroup", "Properties": {
                        "GroupDescription": "HTTPS access to the public facing load balancer",
                        "VpcId": network.vpc}}));
                resources["PublicLoadBalancer"]["Properties"]["SecurityGroups"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"Ref": "PublicHTTPSLoadBalancerSecurityGroup"}));
                // The environment's hosted zone, which names its services.
                resources.insert("EnvironmentHostedZone".into(), json!({
                    "Type": "AWS::Route53::HostedZone", "Properties": {
                        "Name": format!("test.{app}.example.com.")}}));
                resources.insert("HTTPSListener".into(), json!({
                    "Type": "AWS::ElasticLoadBalancingV2::Listener", "Properties": {
                        "Certificates": [{"CertificateArn": network.certificate}],
                        "DefaultActions": [{"TargetGroupArn": {"Ref": "DefaultHTTPTargetGroup"}, "Type": "forward"}],
                        "LoadBalancerArn": {"Ref": "PublicLoadBalancer"}, "Port": 443, "Protocol": "HTTPS"}}));
            }
        }
        if api == Api::BehindInternalLoadBalancer {
            let resources = environment["Resources"].as_object_mut().unwrap();
            resources.insert("InternalLoadBalancerSecurityGroup".into(), json!({
                "Type": "AWS::EC2::SecurityGroup", "Properties": {
                    "GroupDescription": "Access to the internal load balancer",
                    "VpcId": network.vpc}}));
            resources.insert("InternalLoadBalancer".into(), json!({
                "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", "Properties": {
                    "Scheme": "internal", "Type": "application",
                    "SecurityGroups": [{"Ref": "InternalLoadBalancerSecurityGroup"}],
                    "Subnets": network.subnets}}));
            resources.insert("DefaultInternalHTTPTargetGroup".into(), json!({
                "Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "Properties": {
                    "Port": 80, "Protocol": "HTTP", "TargetType": "ip", "VpcId": network.vpc}}));
            resources.insert("InternalHTTPListener".into(), json!({
                "Type": "AWS::ElasticLoadBalancingV2::Listener", "Properties": {
                    "DefaultActions": [{"TargetGroupArn": {"Ref": "DefaultInternalHTTPTargetGroup"}, "Type": "forward"}],
                    "LoadBalancerArn": {"Ref": "InternalLoadBalancer"}, "Port": 80, "Protocol": "HTTP"}}));
        }
        cloudformation
            .create_stack()
            .stack_name(format!("{app}-test"))
            .template_body(environment.to_string())
            .send()
            .await
            .unwrap();
        let physical_id = |stack: String, logical: &'static str| {
            let cloudformation = cloudformation.clone();
            async move {
                cloudformation
                    .describe_stack_resource()
                    .stack_name(stack)
                    .logical_resource_id(logical)
                    .send()
                    .await
                    .unwrap()
                    .stack_resource_detail()
                    .unwrap()
                    .physical_resource_id()
                    .unwrap()
                    .to_string()
            }
        };
        let mut frontend_stack = json!({"Resources": {
            "LogGroup": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": format!("/copilot/{app}-test-frontend")}},
            "AddonsStack": {"Type": "AWS::CloudFormation::Stack", "Properties": {
                "TemplateURL": format!("https://{bucket}.s3.amazonaws.com/manifests/frontend/addons.yml")}}
        }});
        if let Frontend::BehindLoadBalancer(listening) = frontend {
            // Copilot's service stack finds the listeners through its
            // environment controller; here they are named.
            let listener = physical_id(format!("{app}-test"), "HTTPListener").await;
            let resources = frontend_stack["Resources"].as_object_mut().unwrap();
            let rule = match listening {
                Listening::Http => "HTTPListenerRule",
                Listening::Https => {
                    // The service's name, pointed at the load balancer.
                    resources.insert("LoadBalancerDNSAlias".into(), json!({
                        "Type": "AWS::Route53::RecordSetGroup", "Properties": {
                            "HostedZoneName": format!("test.{app}.example.com."),
                            "RecordSets": [{"Name": format!("frontend.test.{app}.example.com."),
                                "Type": "A", "TTL": "60", "ResourceRecords": ["10.0.0.1"]}]}}));
                    resources.insert("HTTPListenerRuleWithDomain".into(), json!({
                        "Type": "AWS::ElasticLoadBalancingV2::ListenerRule", "Properties": {
                            "ListenerArn": listener, "Priority": 7,
                            "Actions": [{"Type": "redirect", "RedirectConfig": {
                                "Protocol": "HTTPS", "Port": "443", "Host": "#{host}",
                                "Path": "/#{path}", "Query": "#{query}", "StatusCode": "HTTP_301"}}],
                            "Conditions": [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/*"]}}]}}));
                    "HTTPSListenerRule"
                }
            };
            let listener = match listening {
                Listening::Http => listener,
                Listening::Https => physical_id(format!("{app}-test"), "HTTPSListener").await,
            };
            resources.insert("TargetGroup".into(), json!({
                "Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "Properties": {
                    "Port": 8080, "Protocol": "HTTP", "TargetType": "ip", "VpcId": network.vpc,
                    "HealthCheckPath": "/_healthcheck"}}));
            resources.insert(rule.into(), json!({
                "Type": "AWS::ElasticLoadBalancingV2::ListenerRule", "Properties": {
                    "ListenerArn": listener, "Priority": 7,
                    "Actions": [{"TargetGroupArn": {"Ref": "TargetGroup"}, "Type": "forward"}],
                    "Conditions": [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/*"]}}]}}));
            resources.insert("TaskDefinition".into(), json!({
                "Type": "AWS::ECS::TaskDefinition", "Properties": {
                    "Family": format!("{app}-test-frontend"), "Cpu": "256", "Memory": "512",
                    "NetworkMode": "awsvpc", "RequiresCompatibilities": ["FARGATE"],
                    "ContainerDefinitions": [{"Name": "frontend", "Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/frontend:2.0.0",
                        "PortMappings": [{"ContainerPort": 8080}]}]}}));
            resources.insert("Service".into(), json!({
                "Type": "AWS::ECS::Service", "Properties": {
                    "Cluster": cluster, "TaskDefinition": {"Ref": "TaskDefinition"},
                    "DesiredCount": 2, "LaunchType": "FARGATE"}}));
        }
        let mut stacks = vec![(format!("{app}-test-frontend"), frontend_stack)];
        if api == Api::BehindInternalLoadBalancer {
            let listener = physical_id(format!("{app}-test"), "InternalHTTPListener").await;
            stacks.push((
                format!("{app}-test-api"),
                json!({"Resources": {
                    "LogGroup": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": format!("/copilot/{app}-test-api")}},
                    "TargetGroup": {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "Properties": {
                        "Port": 9000, "Protocol": "HTTP", "TargetType": "ip", "VpcId": network.vpc,
                        "HealthCheckPath": "/api/health"}},
                    "HTTPListenerRule": {"Type": "AWS::ElasticLoadBalancingV2::ListenerRule", "Properties": {
                        "ListenerArn": listener, "Priority": 5,
                        "Actions": [{"TargetGroupArn": {"Ref": "TargetGroup"}, "Type": "forward"}],
                        "Conditions": [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api", "/api/*"]}}]}},
                    "TaskDefinition": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
                        "Family": format!("{app}-test-api"), "Cpu": "512", "Memory": "1024",
                        "NetworkMode": "awsvpc", "RequiresCompatibilities": ["FARGATE"],
                        "ContainerDefinitions": [{"Name": "api", "Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/api:1.4.2",
                            "PortMappings": [{"ContainerPort": 9000}]}]}},
                    "Service": {"Type": "AWS::ECS::Service", "Properties": {
                        "Cluster": cluster, "TaskDefinition": {"Ref": "TaskDefinition"},
                        "DesiredCount": 1, "LaunchType": "FARGATE"}}
                }}),
            ));
        }
        stacks.extend([
            (
                format!("{app}-test-worker"),
                json!({"Resources": {
                    "LogGroup": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": format!("/copilot/{app}-test-worker")}},
                    "DeadLetterQueue": {"Type": "AWS::SQS::Queue", "Properties": {"MessageRetentionPeriod": 1209600}},
                    "EventsQueue": {"Type": "AWS::SQS::Queue", "Properties": {"MessageRetentionPeriod": 345600}},
                    "TaskDefinition": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
                        "Family": format!("{app}-test-worker"), "Cpu": "256", "Memory": "512",
                        "NetworkMode": "awsvpc", "RequiresCompatibilities": ["FARGATE"],
                        "ContainerDefinitions": [{"Name": "worker", "Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/worker:1.4.2"}]}},
                    "Service": {"Type": "AWS::ECS::Service", "Properties": {
                        "Cluster": cluster, "TaskDefinition": {"Ref": "TaskDefinition"},
                        "DesiredCount": 1, "LaunchType": "FARGATE", "PlatformVersion": "LATEST",
                        "PropagateTags": "SERVICE"}}
                }}),
            ),
        ]);
        for (name, template) in stacks {
            cloudformation
                .create_stack()
                .stack_name(name)
                .template_body(template.to_string())
                .send()
                .await
                .unwrap();
        }
        // moto's CloudFormation makes the service without its launch type
        // or tag propagation (moto/ecs/models.py, `Service.
        // create_from_cloudformation_json`: "TODO"), as a service on a
        // capacity provider strategy is. On Fargate, ECS makes it again,
        // under the same name and so the same ARN, as Copilot's template has it.
        // Copilot's addon gives its instance a security group of its own
        // (`VPCSecurityGroups`), which moto's CloudFormation does not read
        // (it reads `VpcSecurityGroupIds`, moto/rds/models.py): RDS is
        // given it after.
        let group = ec2
            .create_security_group()
            .group_name(format!("{app}-test-frontend-frontenddbSecurityGroup"))
            .description("The Security Group for frontenddb")
            .send()
            .await
            .unwrap()
            .group_id()
            .unwrap()
            .to_string();
        aws_sdk_rds::Client::new(&config)
            .modify_db_instance()
            .db_instance_identifier(format!("{app}-test-frontend-addonsstack-frontenddb-1f2e3d"))
            .vpc_security_group_ids(&group)
            .apply_immediately(true)
            .send()
            .await
            .unwrap();
        if let WorkerOn::Ec2 = worker_on {
            return network;
        }
        // Each balanced service's target group, which ECS registers its
        // tasks in: by the service, its container and port.
        let mut balanced: Vec<(&str, &str, i32, String)> = Vec::new();
        if let Frontend::BehindLoadBalancer(_) = frontend {
            let group = physical_id(format!("{app}-test-frontend"), "TargetGroup").await;
            balanced.push(("-frontend", "frontend", 8080, group));
        }
        if api == Api::BehindInternalLoadBalancer {
            let group = physical_id(format!("{app}-test-api"), "TargetGroup").await;
            balanced.push(("-api", "api", 9000, group));
        }
        let ecs = aws_sdk_ecs::Client::new(&config);
        let services = ecs.list_services().cluster(&cluster).send().await.unwrap();
        for arn in services.service_arns() {
            let name = arn.rsplit('/').next().unwrap();
            let described = ecs
                .describe_services()
                .cluster(&cluster)
                .services(arn)
                .send()
                .await
                .unwrap();
            let task_definition = described.services()[0].task_definition().unwrap().to_string();
            let registries = match worker_on {
                WorkerOn::Discoverable => vec![
                    aws_sdk_ecs::types::ServiceRegistry::builder()
                        .registry_arn(REGISTRY)
                        .port(9000)
                        .build(),
                ],
                _ => Vec::new(),
            };
            let balancers: Vec<aws_sdk_ecs::types::LoadBalancer> = balanced
                .iter()
                .filter(|(service, ..)| task_definition.contains(service))
                .map(|(_, container, port, group)| {
                    aws_sdk_ecs::types::LoadBalancer::builder()
                        .target_group_arn(group)
                        .container_name(*container)
                        .container_port(*port)
                        .build()
                })
                .collect();
            ecs.create_service()
                .cluster(&cluster)
                .service_name(name)
                .set_service_registries(Some(registries))
                .set_load_balancers(Some(balancers))
                .task_definition(task_definition)
                .desired_count(1)
                .launch_type(aws_sdk_ecs::types::LaunchType::Fargate)
                .platform_version("LATEST")
                .propagate_tags(aws_sdk_ecs::types::PropagateTags::Service)
                .send()
                .await
                .unwrap();
        }
        network
    })
}

#[test]
fn adopting_a_copilot_application_imports_its_data_stores_on_the_first_apply_and_replaces_none() {
    // The flags give `test` a wrong account: Copilot's record corrects it.
    let (repo, env, app, run) = imported("111111111111", &["--output", "json"]);
    let test = adoption_of(&run.json(), "test");
    let adopted = |component: &str, resource_end: &str| {
        test["adopted"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| {
                a["component"] == component
                    && a["resource"].as_str().unwrap().ends_with(resource_end)
            })
            .unwrap_or_else(|| panic!("{component} {resource_end} not adopted: {test:#}"))
            .clone()
    };
    let database = adopted("frontend/db", "-instance");
    let identifier = format!("{app}-test-frontend-addonsstack-frontenddb-1f2e3d");
    assert_eq!(database["id"], identifier);
    assert_eq!(database["type"], "aws:rds/instance:Instance");
    let queue = adopted("worker/queue", "-queue");
    assert_contains(
        queue["id"].as_str().unwrap(),
        &[&format!("/123456789012/{app}-test-worker-EventsQueue-")],
    );
    assert_eq!(queue["from"], format!("{app}-test-worker/EventsQueue"));
    adopted("worker/queue", "-dead-letter");
    let left = test["left"].as_array().unwrap();
    let left_of = |from: &str| {
        left.iter()
            .find(|l| l["from"] == from)
            .unwrap_or_else(|| panic!("{from} not listed: {test:#}"))["why"]
            .as_str()
            .unwrap()
            .to_string()
    };
    // Each service's log group, so its logs go on where they were.
    let logs = adopted("worker/app", "-logs");
    assert_eq!(logs["id"], format!("/copilot/{app}-test-worker"));
    assert_eq!(logs["type"], "aws:cloudwatch/logGroup:LogGroup");
    assert_eq!(logs["from"], format!("{app}-test-worker/LogGroup"));
    adopted("frontend/app", "-logs");
    // The environment's cluster, and in it the worker's service, which no
    // load balancer sends traffic to: it runs on as it is until the apply
    // rolls it to deployer's task definition.
    let cluster = format!("{app}-test-Cluster-8Z2Y4W");
    let adopted_cluster = test["adopted"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["resource"] == "cluster")
        .unwrap_or_else(|| panic!("the cluster is not adopted: {test:#}"))
        .clone();
    assert_eq!(adopted_cluster["id"], cluster);
    assert_eq!(adopted_cluster["from"], format!("{app}-test/Cluster"));
    let service = adopted("worker/app", "-service");
    assert_eq!(service["type"], "aws:ecs/service:Service");
    assert_eq!(service["from"], format!("{app}-test-worker/Service"));
    let service_id = service["id"].as_str().unwrap().to_string();
    assert!(
        service_id.starts_with(&format!("{cluster}/")),
        "{service_id} is not <cluster>/<service>"
    );
    let service_name = service_id.rsplit('/').next().unwrap().to_string();
    assert_contains(
        &left_of(&format!("{app}-test-api")),
        &["not deployed by Copilot in test"],
    );
    // What must outlive Copilot's stacks, by stack: every adopted resource.
    assert_eq!(retained(&test, &format!("{app}-test")), ["Cluster"]);
    let worker_stack = retained(&test, &format!("{app}-test-worker"));
    for id in ["Service", "LogGroup", "EventsQueue", "DeadLetterQueue"] {
        assert!(
            worker_stack.iter().any(|r| r == id),
            "{id}: {worker_stack:?}"
        );
    }
    assert_eq!(
        retained(&test, &format!("{app}-test-frontend")),
        ["LogGroup"]
    );

    // Where each environment runs comes from Copilot's own record.
    assert_contains(
        test["located"].as_str().unwrap(),
        &[
            "account 123456789012 (not 111111111111)",
            &format!("/copilot/applications/{app}/environments/test"),
        ],
    );
    let written = deployer::load::yaml::to_json(&repo.read("stacks/shop/stack.yaml")).unwrap();
    assert_eq!(written["environments"]["test"]["account"], "123456789012");
    assert_eq!(written["environments"]["prod"]["region"], "us-west-2");

    // What it wrote: the ids, and the names the data stores keep.
    let stack = repo.read("stacks/shop/stack.yaml");
    assert_contains(&stack, &["adopt:", &identifier]);
    let rds = repo.read("stacks/shop/services/frontend/components/db/rds.yaml");
    assert_contains(
        &rds,
        &[&format!("identifier: {identifier}"), "username: shopadmin"],
    );
    // Copilot's frontend, running beside deployer's until traffic moves,
    // keeps reaching the database through the group it has.
    let kept = database["settings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s.as_str())
        .find_map(|s| s.strip_prefix("keep_security_groups: ["))
        .unwrap_or_else(|| panic!("no group kept: {database:#}"))
        .trim_end_matches(']')
        .to_string();
    assert!(kept.starts_with("sg-"), "{kept}");
    let rds_json = deployer::load::yaml::to_json(&rds).unwrap();
    assert_eq!(
        rds_json["environments"]["test"]["keep_security_groups"],
        json!([kept])
    );
    let worker = repo.read("stacks/shop/services/worker/components/app/microservice.yaml");
    assert_contains(
        &worker,
        &[
            &format!("log_group: /copilot/{app}-test-worker"),
            &format!("service_name: {service_name}"),
            // Its revisions go on in Copilot's family.
            &format!("task_family: {app}-test-worker"),
        ],
    );
    assert_eq!(written["environments"]["test"]["cluster"], cluster);
    assert_eq!(written["environments"]["test"]["adopt"]["cluster"], cluster);
    let sqs = repo.read("stacks/shop/services/worker/components/queue/sqs.yaml");
    assert_contains(
        &sqs,
        &[&format!("queue_name: {app}-test-worker-EventsQueue-")],
    );
    let validate = repo.run(&["validate", "--all"]);
    assert_eq!(validate.code, 0, "{}", validate.all());

    // The first plan imports them: the stand-in reads each from moto, and
    // what the program changes on them is an update, never a replacement.
    let run = plan_test(&repo, &env);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "7 to import",
            "stack resources (cluster, load balancers) update (9 resources, 1 adopted first)",
            "worker/app                               update (11 resources, 2 adopted first)",
            "frontend/db                              update (3 resources, 1 adopted first)",
            "worker/queue                             update (3 resources, 2 adopted first)",
            "0 to replace, 0 to delete",
        ],
    );

    // As JSON (and in the saved plan), by component.
    let vars = variables_of(&repo);
    let mut json_plan = vec!["plan", "-s", "shop", "-e", "test", "--output", "json"];
    json_plan.extend(vars.iter().map(String::as_str));
    let run = repo.run_with(&json_plan, &env);
    assert_eq!(run.code, 0, "{}", run.all());
    let planned = run.json();
    assert_eq!(
        planned["imports"]["worker/queue"].as_array().unwrap().len(),
        2
    );
    assert_eq!(
        planned["imports"]["frontend/db"],
        json!(["frontend-db-instance"])
    );
    assert_eq!(
        planned["imports"]["worker/app"],
        json!(["worker-app-logs", "worker-app-service"])
    );

    // The first apply takes them over; the next plan imports nothing.
    let mut apply = vec!["apply", "-s", "shop", "-e", "test", "--auto-approve"];
    apply.extend(vars.iter().map(String::as_str));
    let run = repo.run_with(&apply, &env);
    assert_eq!(run.code, 0, "{}", run.all());
    let run = plan_test(&repo, &env);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(!run.stderr.contains("to import"), "{}", run.all());
}

/// A Load Balanced Web Service is taken over with what serves it: the
/// environment's load balancer (its name and security group kept, so
/// Copilot's tasks still admit its requests) and HTTP listener, the
/// service's target group (its name kept) and listener rule (its priority
/// kept), and the ECS service, in that target group. The first plan
/// imports them all and replaces nothing.
/// The application deployed with its frontend behind a load balancer that
/// listens as `listening` says, imported with `--adopt` (the environment's
/// manifest naming moto's VPC and subnets, and the certificate); the
/// repository, the environment its plans run with, the application's name,
/// what the adoption says of `test`, and what it says in the terminal (of an
/// import as it is, into a repository of its own).
fn adopted_behind_load_balancer(
    listening: Listening,
    api: Api,
) -> (
    TestRepo,
    Vec<(String, String)>,
    String,
    serde_json::Value,
    String,
) {
    let server = moto::moto();
    let app = moto::unique("shop");
    let network = deploy_copilot_application_with(
        &server.endpoint(),
        &app,
        WorkerOn::Fargate,
        Frontend::BehindLoadBalancer(listening),
        api,
    );
    let repo = TestRepo::empty();
    let aws = moto::aws_env(&server.endpoint());
    let copilot = workspace_named(&app);
    let (a, b) = (&network.subnets[0], &network.subnets[1]);
    let http = match &network.certificate {
        Some(certificate) => format!("http:\n  public:\n    certificates: [{certificate}]\n"),
        None => String::new(),
    };
    std::fs::write(
        copilot.path().join("copilot/environments/test/manifest.yml"),
        format!(
            "name: test\ntype: Environment\nnetwork:\n  vpc:\n    id: {}\n    subnets:\n      public:\n        - id: {a}\n        - id: {b}\n      private:\n        - id: {a}\n        - id: {b}\n{http}",
            network.vpc
        ),
    )
    .unwrap();
    let run = import_adopting(
        &repo,
        copilot.path(),
        "123456789012",
        &["--output", "json"],
        &aws,
    );
    let test = adoption_of(&run.json(), "test");
    let said = import_adopting(
        &TestRepo::empty(),
        copilot.path(),
        "123456789012",
        &[],
        &aws,
    );
    let mut env = pulumi_env(&repo);
    env.extend(aws);
    (repo, env, app, test, said.stderr)
}

#[test]
fn a_service_behind_copilot_s_load_balancer_is_adopted_with_it() {
    let (repo, env, app, test, _) = adopted_behind_load_balancer(Listening::Http, Api::NotDeployed);
    let adopted = |from: &str| {
        test["adopted"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["from"] == format!("{app}-{from}"))
            .unwrap_or_else(|| panic!("{from} not adopted: {test:#}"))
            .clone()
    };
    let balancer = adopted("test/PublicLoadBalancer");
    assert_eq!(balancer["resource"], "public-alb");
    // Said as its YAML would be written.
    assert_contains(
        balancer["settings"][0].as_str().unwrap(),
        &[
            "load_balancers.public: {name: ",
            ", keep_security_groups: [sg-",
        ],
    );
    assert_eq!(balancer["type"], "aws:lb/loadBalancer:LoadBalancer");
    assert_eq!(adopted("test/HTTPListener")["resource"], "public-alb-http");
    let group = adopted("test-frontend/TargetGroup");
    assert_eq!(group["component"], "frontend/app");
    assert_eq!(group["type"], "aws:lb/targetGroup:TargetGroup");
    assert_eq!(
        adopted("test-frontend/HTTPListenerRule")["resource"],
        "frontend-app-route"
    );
    let service = adopted("test-frontend/Service");
    assert_eq!(service["component"], "frontend/app");
    let mut environment_stack = retained(&test, &format!("{app}-test"));
    environment_stack.sort();
    assert_eq!(
        environment_stack,
        ["Cluster", "HTTPListener", "PublicLoadBalancer"]
    );
    let frontend_stack = retained(&test, &format!("{app}-test-frontend"));
    for id in ["TargetGroup", "HTTPListenerRule", "Service", "LogGroup"] {
        assert!(
            frontend_stack.iter().any(|r| r == id),
            "{id}: {frontend_stack:?}"
        );
    }
    // Copilot's placeholder target group stays Copilot's.
    assert!(
        test["left"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["from"] == format!("{app}-test/DefaultHTTPTargetGroup")),
        "{test:#}"
    );

    // What it wrote: the load balancer's name and groups, the target
    // group's name, the rule's priority.
    let stack = deployer::load::yaml::to_json(&repo.read("stacks/shop/stack.yaml")).unwrap();
    let kept = &stack["environments"]["test"]["load_balancers"]["public"];
    let group_ids = kept["keep_security_groups"].as_array().unwrap();
    assert_eq!(group_ids.len(), 1, "{kept}");
    assert!(group_ids[0].as_str().unwrap().starts_with("sg-"), "{kept}");
    assert!(
        kept["name"].as_str().is_some_and(|n| !n.is_empty()),
        "{kept}"
    );
    let frontend = deployer::load::yaml::to_json(
        &repo.read("stacks/shop/services/frontend/components/app/microservice.yaml"),
    )
    .unwrap();
    let overlay = &frontend["environments"]["test"];
    let group_name = group["id"].as_str().unwrap().split('/').nth(1).unwrap();
    assert_eq!(overlay["target_group_name"], group_name);
    assert_eq!(overlay["expose"]["priority"], 7);
    assert!(overlay["service_name"].is_string(), "{overlay:#}");

    // The program keeps them: the load balancer under its name with
    // Copilot's group beside deployer's, the target group under its name.
    let vars = variables_of(&repo);
    let mut show = vec!["show", "-s", "shop", "-e", "test"];
    show.extend(vars.iter().map(String::as_str));
    let shown = repo.run(&show);
    assert_eq!(shown.code, 0, "{}", shown.all());
    let program = deployer::load::yaml::to_json(&shown.stdout).unwrap();
    let resources = &program["resources"];
    assert_eq!(resources["public-alb"]["properties"]["name"], kept["name"]);
    assert_eq!(
        resources["public-alb"]["properties"]["securityGroups"],
        json!(["${public-alb-sg.id}", group_ids[0]])
    );
    let target_group = &resources["frontend-app-tg"]["properties"];
    assert_eq!(target_group["name"], group_name);
    // Copilot's settings (`stickiness: true`, its 60 s default), which the
    // first apply keeps.
    assert_eq!(target_group["deregistrationDelay"], 60);
    assert_eq!(
        target_group["stickiness"],
        json!({"enabled": true, "type": "lb_cookie", "cookieDuration": 86400})
    );

    // The first plan imports them, and replaces nothing.
    let run = plan_test(&repo, &env);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(&run.stderr, &["0 to replace, 0 to delete"]);
    let mut json_plan = vec!["plan", "-s", "shop", "-e", "test", "--output", "json"];
    json_plan.extend(vars.iter().map(String::as_str));
    let planned = repo.run_with(&json_plan, &env).json();
    let frontend_imports = planned["imports"]["frontend/app"]
        .as_array()
        .unwrap()
        .clone();
    for resource in [
        "frontend-app-tg",
        "frontend-app-route",
        "frontend-app-service",
    ] {
        assert!(
            frontend_imports.iter().any(|i| i == resource),
            "{resource}: {frontend_imports:?}"
        );
    }
    assert_eq!(
        planned["imports"]["_stack"],
        json!(["cluster", "public-alb", "public-alb-http"]),
        "{planned:#}"
    );

    // Without the load balancer's name, deployer's would be another one:
    // the plan stops and names the input.
    let file = "stacks/shop/stack.yaml";
    let name = kept["name"].as_str().unwrap();
    repo.write(
        file,
        repo.read(file)
            .replace(&format!("name: {name}"), "name: renamed-alb"),
    );
    let run = plan_test(&repo, &env);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "public-alb",
            &format!("name: \"{name}\" → \"renamed-alb\", which would replace it"),
            "nothing was changed",
        ],
    );
}

/// Behind HTTPS, the rule deployer routes through is Copilot's
/// `HTTPSListenerRule`, on the adopted HTTPS listener; Copilot's redirect
/// of HTTP (`HTTPListenerRuleWithDomain`) stays Copilot's, since deployer's
/// HTTP listener redirects every request itself. The load balancer keeps
/// both of Copilot's groups, and the first plan replaces nothing.
#[test]
fn behind_https_the_https_rule_is_adopted_and_the_redirect_left() {
    let (repo, env, app, test, said) =
        adopted_behind_load_balancer(Listening::Https, Api::NotDeployed);
    // The terminal says what to retain before Copilot's stacks go.
    assert_contains(
        &said,
        &[
            "test: before deleting Copilot's stacks, give these `DeletionPolicy: Retain`, or deleting a stack deletes them:",
            &format!("{app}-test (PublicLoadBalancer, "),
            "HTTPSListener",
            &format!("{app}-test-frontend (TargetGroup, "),
            &format!(
                "test: adopts {app}-test/HTTPSListener as public-alb-https of the environment\n"
            ),
        ],
    );
    let from = |item: &serde_json::Value| item["from"].as_str().unwrap().to_string();
    let adopted: Vec<String> = test["adopted"]
        .as_array()
        .unwrap()
        .iter()
        .map(from)
        .collect();
    for expected in [
        "test/PublicLoadBalancer",
        "test/HTTPListener",
        "test/HTTPSListener",
        "test-frontend/TargetGroup",
        "test-frontend/HTTPSListenerRule",
        "test-frontend/Service",
    ] {
        assert!(
            adopted.contains(&format!("{app}-{expected}")),
            "{expected} not adopted: {test:#}"
        );
    }
    let redirect = test["left"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["from"] == format!("{app}-test-frontend/HTTPListenerRuleWithDomain"))
        .unwrap_or_else(|| panic!("the redirect is not listed: {test:#}"));
    assert_contains(redirect["why"].as_str().unwrap(), &["stays Copilot's"]);
    let stack = deployer::load::yaml::to_json(&repo.read("stacks/shop/stack.yaml")).unwrap();
    let kept = &stack["environments"]["test"]["load_balancers"]["public"];
    assert_eq!(
        kept["keep_security_groups"].as_array().unwrap().len(),
        2,
        "{kept}"
    );
    // The names keep resolving once Copilot's stacks are gone: its hosted
    // zone and the service's alias record are retained too.
    assert!(
        retained(&test, &format!("{app}-test")).contains(&"EnvironmentHostedZone".to_string()),
        "{test:#}"
    );
    assert!(
        retained(&test, &format!("{app}-test-frontend"))
            .contains(&"LoadBalancerDNSAlias".to_string()),
        "{test:#}"
    );
    let run = plan_test(&repo, &env);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(&run.stderr, &["0 to replace, 0 to delete"]);
}

/// A Backend Service with `http` is adopted behind the environment's
/// internal load balancer: `InternalLoadBalancer` and its HTTP listener as
/// deployer's `internal-alb` and `internal-alb-http`, and the api's target
/// group, rule and service; the first plan replaces nothing.
#[test]
fn a_backend_service_behind_the_internal_load_balancer_is_adopted_with_it() {
    let (repo, env, app, test, _) =
        adopted_behind_load_balancer(Listening::Http, Api::BehindInternalLoadBalancer);
    let adopted_as = |from: &str| {
        test["adopted"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["from"] == format!("{app}-{from}"))
            .unwrap_or_else(|| panic!("{from} not adopted: {test:#}"))["resource"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(adopted_as("test/InternalLoadBalancer"), "internal-alb");
    assert_eq!(adopted_as("test/InternalHTTPListener"), "internal-alb-http");
    assert_eq!(adopted_as("test-api/TargetGroup"), "api-app-tg");
    assert_eq!(adopted_as("test-api/HTTPListenerRule"), "api-app-route");
    assert_eq!(adopted_as("test-api/Service"), "api-app-service");
    let stack = deployer::load::yaml::to_json(&repo.read("stacks/shop/stack.yaml")).unwrap();
    let kept = &stack["environments"]["test"]["load_balancers"]["internal"];
    assert!(kept["name"].is_string(), "{stack:#}");
    assert_eq!(kept["keep_security_groups"].as_array().unwrap().len(), 1);
    let run = plan_test(&repo, &env);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(&run.stderr, &["0 to replace, 0 to delete"]);
}

/// A repository imported with `--adopt` from the application deployed in
/// moto (with `--env-account test=ACCOUNT` and `extra` flags), the
/// environment its plans run with (the stand-in, moto), the application's
/// name and the import's run.
fn imported(test_account: &str, extra: &[&str]) -> (TestRepo, Vec<(String, String)>, String, Run) {
    imported_with(test_account, extra, WorkerOn::Fargate)
}

fn imported_with(
    test_account: &str,
    extra: &[&str],
    worker_on: WorkerOn,
) -> (TestRepo, Vec<(String, String)>, String, Run) {
    let server = moto::moto();
    let app = moto::unique("shop");
    deploy_copilot_application(&server.endpoint(), &app, worker_on);
    let repo = TestRepo::empty();
    let aws = moto::aws_env(&server.endpoint());
    let copilot = workspace_named(&app);
    let run = import_adopting(&repo, copilot.path(), test_account, extra, &aws);
    let mut env = pulumi_env(&repo);
    env.extend(aws);
    (repo, env, app, run)
}

/// `import copilot --adopt` of the workspace at `copilot` into `repo`,
/// which must succeed.
fn import_adopting(
    repo: &TestRepo,
    copilot: &std::path::Path,
    test_account: &str,
    extra: &[&str],
    aws: &[(String, String)],
) -> Run {
    let out = repo.path().display().to_string();
    let test = format!("test={test_account}");
    let mut args = vec![
        "import",
        "copilot",
        copilot.to_str().unwrap(),
        "--stack",
        "shop",
        "--out",
        &out,
        "--env-account",
        &test,
        "--env-account",
        "prod=210987654321",
        "--adopt",
    ];
    args.extend_from_slice(extra);
    let run = import_with(repo, &args, aws);
    assert_eq!(run.code, 0, "{}", run.all());
    run
}

/// The logical ids an environment's adoption says to retain in `stack`.
fn retained(adoption: &serde_json::Value, stack: &str) -> Vec<String> {
    adoption["retain"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["stack"] == stack)
        .map(|r| {
            r["resources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|id| id.as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// What `import copilot --adopt --output json` says of one environment.
fn adoption_of(report: &serde_json::Value, environment: &str) -> serde_json::Value {
    report["adoption"]["environments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["environment"] == environment)
        .unwrap_or_else(|| panic!("no adoption for {environment}: {report:#}"))
        .clone()
}

fn plan_test(repo: &TestRepo, env: &[(String, String)]) -> Run {
    let vars = variables_of(repo);
    let mut plan: Vec<&str> = vec!["plan", "-s", "shop", "-e", "test"];
    plan.extend(vars.iter().map(String::as_str));
    repo.run_with(&plan, env)
}

/// A database whose files no longer say what runs (here the name of its
/// database, changed for `test`) would be replaced by its import: the plan
/// stops and names the input.
#[test]
fn an_adopted_database_that_would_be_replaced_stops_the_plan_naming_the_input() {
    let (repo, env, _, _) = imported("123456789012", &[]);
    repo.edit(
        "stacks/shop/services/frontend/components/db/rds.yaml",
        "    database: shop",
        "    database: orders",
    );
    let run = plan_test(&repo, &env);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "of frontend/db holds data, and test adopts it as it is",
            "the live resource differs from the program in dbName: \"shop\" → \"orders\", which would replace it",
            "nothing was changed",
        ],
    );
}

/// A running service is taken over as it is, too: a new name (which forces
/// a new ECS service, terraform-provider-aws `internal/service/ecs/service.go`)
/// stops the plan before anything changes, naming the input.
#[test]
fn an_adopted_service_that_would_be_replaced_stops_the_plan_naming_the_input() {
    let (repo, env, _, _) = imported("123456789012", &[]);
    let file = "stacks/shop/services/worker/components/app/microservice.yaml";
    let text = repo.read(file);
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("service_name: "))
        .unwrap_or_else(|| panic!("no service_name in {text}"))
        .to_string();
    let live = line
        .trim_start()
        .trim_start_matches("service_name: ")
        .to_string();
    let indent = &line[..line.len() - line.trim_start().len()];
    repo.edit(
        file,
        &line,
        &format!("{indent}service_name: worker-renamed"),
    );
    let run = plan_test(&repo, &env);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "worker-app-service of worker/app is running, and test adopts it as it is",
            &format!("name: \"{live}\" → \"worker-renamed\", which would replace it"),
            "nothing was changed",
            "remove `worker-app-service` from `adopt:` of test",
        ],
    );
}

/// A service that does not run on Fargate (on EC2 here; on Fargate Spot,
/// with no launch type, the same check) cannot become deployer's, whose
/// `launchType: FARGATE` would force a new service: it is left running,
/// saying why, and deployer's starts beside it.
#[test]
fn a_service_not_on_fargate_is_left_running_and_said_why() {
    let (repo, env, app, run) = imported_with("123456789012", &["--output", "json"], WorkerOn::Ec2);
    let test = adoption_of(&run.json(), "test");
    let left = test["left"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["from"] == format!("{app}-test-worker/Service"))
        .unwrap_or_else(|| panic!("the worker's service is not left: {test:#}"))
        .clone();
    assert_contains(
        left["why"].as_str().unwrap(),
        &["it runs on launch type EC2", "forces a new service"],
    );
    let worker = repo.read("stacks/shop/services/worker/components/app/microservice.yaml");
    assert!(!worker.contains("service_name"), "{worker}");
    // The cluster is still adopted, and nothing is replaced.
    let run = plan_test(&repo, &env);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(&run.stderr, &["6 to import", "0 to replace, 0 to delete"]);
}

/// A service registered for service discovery is reached by that name: it
/// is adopted and stays registered (microservice.yaml
/// `keep_service_registry`), so what calls it still finds it; the import
/// changes nothing of its registration.
#[test]
fn a_discoverable_service_is_adopted_and_stays_registered() {
    let (repo, env, _, run) = imported_with(
        "123456789012",
        &["--output", "json"],
        WorkerOn::Discoverable,
    );
    let test = adoption_of(&run.json(), "test");
    let service = test["adopted"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["resource"] == "worker-app-service")
        .unwrap_or_else(|| panic!("the worker's service is not adopted: {test:#}"))
        .clone();
    assert_contains(
        &service["settings"].to_string(),
        &["keep_service_registry", REGISTRY],
    );
    let worker = deployer::load::yaml::to_json(
        &repo.read("stacks/shop/services/worker/components/app/microservice.yaml"),
    )
    .unwrap();
    assert_eq!(
        worker["environments"]["test"]["keep_service_registry"],
        json!({"registry_arn": REGISTRY, "port": 9000})
    );
    // The program keeps the service where it is registered.
    let show = repo.run(&["show", "-s", "shop", "-e", "test"]);
    assert_eq!(show.code, 0, "{}", show.all());
    let program = deployer::load::yaml::to_json(&show.stdout).unwrap();
    assert_eq!(
        program["resources"]["worker-app-service"]["properties"]["serviceRegistries"],
        json!({"registryArn": REGISTRY, "port": 9000})
    );
    let run = plan_test(&repo, &env);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(&run.stderr, &["7 to import", "0 to replace, 0 to delete"]);
}

/// An id that names nothing fails the preview as Pulumi's import does
/// ("resource '<id>' does not exist", pkg/resource/deploy/step.go).
#[test]
fn adopting_a_queue_that_is_gone_fails_the_plan_naming_it() {
    let (repo, env, app, run) = imported("123456789012", &[]);
    assert_contains(
        &run.stderr,
        &[&format!("adopts {app}-test-worker/EventsQueue")],
    );
    let stack = deployer::load::yaml::to_json(&repo.read("stacks/shop/stack.yaml")).unwrap();
    let url = stack["environments"]["test"]["adopt"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(|v| v.as_str())
        .find(|u| u.contains("EventsQueue"))
        .unwrap_or_else(|| panic!("no queue adopted: {stack:#}"))
        .to_string();
    let gone = format!("https://sqs.us-east-1.amazonaws.com/123456789012/{app}-gone");
    repo.edit("stacks/shop/stack.yaml", &url, &gone);
    let run = plan_test(&repo, &env);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(&run.all(), &[&format!("resource '{gone}' does not exist")]);
}

/// Runs `deployer` in the repository's folder (`import` takes no `--repo`).
fn import_with(repo: &TestRepo, args: &[&str], env: &[(String, String)]) -> Run {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    deployer_with_env(args, repo.path(), &env)
}

/// `--var NAME=value` for each variable the imported stack requires.
fn variables_of(repo: &TestRepo) -> Vec<String> {
    let stack = repo.read("stacks/shop/stack.yaml");
    let stack = deployer::load::yaml::to_json(&stack).unwrap();
    stack["variables"]
        .as_object()
        .into_iter()
        .flatten()
        .flat_map(|(name, _)| ["--var".to_string(), format!("{name}=1.0.0")])
        .collect()
}
