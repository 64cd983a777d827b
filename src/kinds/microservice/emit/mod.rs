//! What a microservice becomes in AWS: a log group, a security group, execution
//! and task roles with least privilege, a Fargate task definition (secrets and
//! configs injected by ECS, never as values), an ECS service with rolling updates
//! and circuit-breaker rollback, and — when exposed — a target group and a
//! listener rule on the environment's load balancer, plus autoscaling.

mod access;
mod rollout;

use super::{Architecture, Capacity, Microservice, MicroserviceSpec, route_paths};
use crate::emit::emitter::{EmitKind, Emitter, Grant};
use crate::emit::network::{self, Direction};
use crate::emit::program::{
    Key, Part, Resource, Value, iam_statement, list, map, r, s, strings, to_json,
};
use crate::resolve::Wire;
use access::Context;
use std::collections::BTreeMap;


/// The URL path a service answers under: `/email/*` gives `/email`.
fn path_prefix(expose: &super::Exposure) -> String {
    let first = route_paths(expose).into_iter().next().unwrap_or_default();
    let cut = first.find(['*', '?']).unwrap_or(first.len());
    first[..cut].trim_end_matches('/').to_string()
}

fn output(e: &Emitter, index: usize, service: &Microservice, output: &str) -> Vec<Part> {
    match output {
        "url" => match &service.expose {
            Some(expose) if !expose.hosts.is_empty() => {
                let scheme = if network::https(e, expose.visibility) {
                    "https://"
                } else {
                    "http://"
                };
                vec![Part::Text(format!(
                    "{scheme}{}{}",
                    expose.hosts[0],
                    path_prefix(expose)
                ))]
            }
            Some(expose) => {
                let mut url = network::base_url(e, expose.visibility);
                url.push(Part::Text(path_prefix(expose)));
                url
            }
            None => Vec::new(),
        },
        "name" => vec![Part::Ref(format!("{}.name", e.name(index, "service")))],
        "security_group" => vec![Part::Ref(format!("{}.id", e.name(index, "sg")))],
        "log_group" => vec![Part::Ref(format!("{}.name", e.name(index, "logs")))],
        "task_role_arn" => vec![Part::Ref(format!("{}.arn", e.name(index, "task-role")))],
        "target_group" => vec![Part::Ref(format!("{}.arn", target_group_name(e, index)))],
        _ => Vec::new(),
    }
}

/// Using a service gives its URL; the load balancer is already reachable.
fn grant(e: &Emitter, target: usize, service: &Microservice, wire: &Wire) -> Grant {
    Grant {
        env: vec![(
            format!("{}_URL", wire.env_prefix),
            output(e, target, service, "url"),
        )],
        ..Grant::default()
    }
}

fn emit(e: &mut Emitter, index: usize, spec: &MicroserviceSpec) {
    let cx = Context {
        index,
        service: (*spec.settings).clone(),
        infra: spec.infra.clone(),
        id: e.id(index).clone(),
        tags: e.tags(index),
        net: e.stack.env.network.clone(),
    };
    let (logs, sg) = logs_and_security_group(e, &cx);
    let balancing = load_balancing(e, &cx, &sg);
    let wiring = access::wiring(e, &cx, &sg);
    let mut task_statements = wiring.task_statements;
    if cx.service.exec {
        // What ECS Exec's agent in the task opens (AWS's "Using Amazon ECS
        // Exec", IAM permissions required): these actions take no resource.
        task_statements.push(iam_statement(
            &[
                "ssmmessages:CreateControlChannel",
                "ssmmessages:CreateDataChannel",
                "ssmmessages:OpenControlChannel",
                "ssmmessages:OpenDataChannel",
            ],
            vec![s("*")],
        ));
    }
    let (execution_role, task_role) = access::roles(
        e,
        &cx,
        task_statements,
        wiring.execution_secrets,
        wiring.execution_parameters,
    );
    let task = task_definition(
        e,
        &cx,
        wiring.env,
        wiring.secrets,
        &logs,
        &execution_role,
        &task_role,
    );
    let service_name = ecs_service(e, &cx, &task, &sg, &balancing);
    autoscaling(e, &cx, &service_name, &balancing.target_group);
}

/// What the load balancer has for a service: its target group (named even
/// when not exposed, for outputs), the listener rule, and — when the rollout
/// moves traffic — the alternate target group and the test rule.
struct Balancing {
    target_group: String,
    route: Option<String>,
    shift: Option<Shift>,
}

struct Shift {
    alternate: String,
    test_route: String,
}

/// The log group, and the tasks' security group with its outbound rule.
fn logs_and_security_group(e: &mut Emitter, cx: &Context) -> (String, String) {
    let Context {
        index,
        id,
        tags,
        net,
        ..
    } = cx;
    let index = *index;
    let logs = e.name(index, "logs");
    e.add(
        index,
        Resource::new(&logs, "aws:cloudwatch/logGroup:LogGroup")
            .set(
                "name",
                s(cx.service.log_group.clone().unwrap_or_else(|| {
                    format!(
                        "/deployer/{}/{}/{}/{}",
                        e.stack.name, e.stack.environment, id.service, id.component
                    )
                })),
            )
            .set(
                "retentionInDays",
                Value::Int(i64::from(e.stack.env.log_retention_days())),
            )
            .set("tags", tags.clone()),
    );

    let sg = e.name(index, "sg");
    e.add(
        index,
        Resource::new(&sg, "aws:ec2/securityGroup:SecurityGroup")
            .set("description", s(format!("tasks of {id}")))
            .set("vpcId", s(&net.vpc))
            .set("tags", tags.clone()),
    );
    e.add(
        index,
        Resource::new(
            e.name(index, "egress"),
            "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
        )
        .set("securityGroupId", r(format!("{sg}.id")))
        .set(
            "description",
            s("outbound: images, AWS APIs, used components"),
        )
        .set("ipProtocol", s("-1"))
        .set("cidrIpv4", s("0.0.0.0/0"))
        .set("tags", tags.clone()),
    );

    (logs, sg)
}

/// When exposed: the target group, the listener rule, and the two security
/// group rules between load balancer and tasks; with a rollout that moves
/// traffic, the alternate target group and the test rule too.
fn load_balancing(e: &mut Emitter, cx: &Context, sg: &str) -> Balancing {
    let Context {
        index,
        id,
        tags,
        service,
        infra,
        ..
    } = cx;
    let index = *index;
    let target_group = target_group_name(e, index);
    let mut balancing = Balancing {
        target_group: target_group.clone(),
        route: None,
        shift: None,
    };
    let (Some(expose), Some(port)) = (&service.expose, service.port) else {
        return balancing;
    };
    let mut main = target_group_resource(&target_group, cx, port);
    if let Some(name) = &service.target_group_name {
        main = main.set("name", s(name));
    }
    e.add(index, main);
    let alternate = infra.rollout.shifts_traffic().then(|| {
        let alternate = e.autonamed(index, "tg-alt", 32);
        e.add(index, target_group_resource(&alternate, cx, port));
        alternate
    });
    let alb_sg = network::alb_security_group(expose.visibility);
    let from_alb = network::tcp_between(
        e.name(index, "from-alb"),
        Direction::Ingress,
        sg,
        &alb_sg,
        port,
        "from the load balancer".into(),
        tags.clone(),
    );
    e.add(index, from_alb);
    let to_tasks = network::tcp_between(
        e.name(index, "alb-to-tasks"),
        Direction::Egress,
        &alb_sg,
        sg,
        port,
        format!("to the tasks of {id}"),
        tags.clone(),
    );
    e.add(index, to_tasks);
    let mut conditions = Vec::new();
    let paths = route_paths(expose);
    if !paths.is_empty() {
        conditions.push(map([("pathPattern", map([("values", strings(&paths))]))]));
    }
    if !expose.hosts.is_empty() {
        conditions.push(map([(
            "hostHeader",
            map([("values", strings(&expose.hosts))]),
        )]));
    }
    if !expose.allowed_source_ips.is_empty() {
        conditions.push(map([(
            "sourceIp",
            map([("values", strings(&expose.allowed_source_ips))]),
        )]));
    }
    let name = e.name(index, "route");
    let rule = Resource::new(&name, "aws:lb/listenerRule:ListenerRule")
        .set(
            "listenerArn",
            r(format!("{}.arn", network::listener(e, expose.visibility))),
        )
        .set(
            "priority",
            Value::Int(i64::from(
                e.stack.components[index].route_priority.unwrap_or(50000),
            )),
        )
        .set("actions", rollout::forward(&target_group, alternate.as_deref()))
        .set("conditions", Value::List(conditions.clone()))
        .set("tags", tags.clone());
    match alternate {
        Some(alternate) => {
            e.add(index, rollout::ignores_shifted_weights(rule));
            let test_route = rollout::test_route(e, cx, conditions, &target_group, &alternate);
            balancing.shift = Some(Shift {
                alternate,
                test_route,
            });
        }
        None => e.add(index, rule),
    }
    balancing.route = Some(name);
    balancing
}

/// A target group for the service's tasks, with its health check.
fn target_group_resource(name: &str, cx: &Context, port: u16) -> Resource {
    let hc = &cx.service.health_check;
    let expose = cx.service.expose.as_ref();
    Resource::new(name, "aws:lb/targetGroup:TargetGroup")
        .set("port", Value::Int(i64::from(port)))
        .set("protocol", s("HTTP"))
        .set("targetType", s("ip"))
        .set("vpcId", s(&cx.net.vpc))
        .set(
            "deregistrationDelay",
            Value::Int(i64::from(expose.map_or(30, |x| x.deregistration_delay_seconds))),
        )
        .set_opt(
            "stickiness",
            expose.filter(|x| x.stickiness).map(|_| {
                map([
                    ("enabled", Value::Bool(true)),
                    ("type", s("lb_cookie")),
                    ("cookieDuration", Value::Int(86400)),
                ])
            }),
        )
        .set(
            "healthCheck",
            map([
                ("path", s(&hc.path)),
                ("matcher", s(&hc.matcher)),
                ("protocol", s("HTTP")),
                ("port", s("traffic-port")),
                ("interval", Value::Int(i64::from(hc.interval_seconds))),
                ("timeout", Value::Int(i64::from(hc.timeout_seconds))),
                (
                    "healthyThreshold",
                    Value::Int(i64::from(hc.healthy_threshold)),
                ),
                (
                    "unhealthyThreshold",
                    Value::Int(i64::from(hc.unhealthy_threshold)),
                ),
            ]),
        )
        .set("tags", cx.tags.clone())
}

/// The Fargate task definition with its one container.
fn task_definition(
    e: &mut Emitter,
    cx: &Context,
    env: BTreeMap<String, Value>,
    secrets: BTreeMap<String, Value>,
    logs: &str,
    execution_role: &str,
    task_role: &str,
) -> String {
    let Context {
        index,
        id,
        tags,
        service,
        infra,
        ..
    } = cx;
    let index = *index;
    let mut container = vec![
        (Key::from("name"), s(&id.component)),
        ("image".into(), s(&service.image)),
        ("essential".into(), Value::Bool(true)),
    ];
    if let Some(port) = service.port {
        container.push((
            "portMappings".into(),
            list([map([
                ("containerPort", Value::Int(i64::from(port))),
                ("protocol", s("tcp")),
            ])]),
        ));
    }
    if let Some(command) = &service.command {
        container.push((
            "command".into(),
            Value::List(command.iter().map(|c| e.text(index, c)).collect()),
        ));
    }
    if let Some(entrypoint) = &service.entrypoint {
        container.push((
            "entryPoint".into(),
            Value::List(entrypoint.iter().map(|c| e.text(index, c)).collect()),
        ));
    }
    container.push((
        "environment".into(),
        Value::List(
            env.into_iter()
                .map(|(k, v)| map([("name", s(k)), ("value", v)]))
                .collect(),
        ),
    ));
    container.push((
        "secrets".into(),
        Value::List(
            secrets
                .into_iter()
                .map(|(k, v)| map([("name", s(k)), ("valueFrom", v)]))
                .collect(),
        ),
    ));
    container.push((
        "logConfiguration".into(),
        map([
            ("logDriver", s("awslogs")),
            (
                "options",
                map([
                    ("awslogs-group", r(format!("{logs}.name"))),
                    ("awslogs-region", s(&e.stack.env.region)),
                    ("awslogs-stream-prefix", s(&id.component)),
                ]),
            ),
        ]),
    ));
    if let Some(timeout) = service.stop_timeout_seconds {
        container.push(("stopTimeout".into(), Value::Int(i64::from(timeout))));
    }
    if let Some(check) = &service.container_health_check {
        let seconds = |n: u32| Value::Int(i64::from(n));
        container.push((
            "healthCheck".into(),
            map([
                ("command", strings(&check.command)),
                ("interval", seconds(check.interval_seconds)),
                ("timeout", seconds(check.timeout_seconds)),
                ("retries", seconds(check.retries)),
                ("startPeriod", seconds(check.start_period_seconds)),
            ]),
        ));
    }
    container.push((
        "readonlyRootFilesystem".into(),
        Value::Bool(service.read_only_root_filesystem),
    ));
    let task = e.name(index, "task");
    let architecture = match infra.architecture {
        Architecture::X86_64 => "X86_64",
        Architecture::Arm64 => "ARM64",
    };
    e.add(
        index,
        Resource::new(&task, "aws:ecs/taskDefinition:TaskDefinition")
            .set(
                "family",
                s(cx.service.task_family.clone().unwrap_or_else(|| {
                    e.physical_name(&[&e.qualified(index)], 255)
                })),
            )
            .set("cpu", s(infra.cpu.to_string()))
            .set("memory", s(infra.memory.to_string()))
            .set("networkMode", s("awsvpc"))
            .set("requiresCompatibilities", strings(["FARGATE"]))
            .set(
                "runtimePlatform",
                map([
                    ("cpuArchitecture", s(architecture)),
                    ("operatingSystemFamily", s("LINUX")),
                ]),
            )
            .set("executionRoleArn", r(format!("{execution_role}.arn")))
            .set("taskRoleArn", r(format!("{task_role}.arn")))
            .set(
                "containerDefinitions",
                to_json(Value::List(vec![Value::Map(container)])),
            )
            .set("tags", tags.clone()),
    );

    task
}

/// The ECS service: rolling updates with the circuit breaker's rollback, or the
/// rollout ECS runs itself; behind its target group when exposed. Returns its
/// resource name.
fn ecs_service(
    e: &mut Emitter,
    cx: &Context,
    task: &str,
    sg: &str,
    balancing: &Balancing,
) -> String {
    let Context {
        index,
        id,
        tags,
        service,
        infra,
        net,
        ..
    } = cx;
    let index = *index;
    let desired = match &infra.autoscaling {
        Some(a) => infra.replicas.clamp(a.min, a.max.max(a.min)),
        None => infra.replicas,
    };
    let mut ecs = Resource::new(e.name(index, "service"), "aws:ecs/service:Service")
        .set(
            "name",
            s(service.service_name.clone().unwrap_or_else(|| {
                e.physical_name(&[&id.service, &id.component], 255)
            })),
        )
        .set("cluster", r(format!("{}.arn", network::CLUSTER)))
        .set("taskDefinition", r(format!("{task}.arn")))
        .set("desiredCount", Value::Int(i64::from(desired)));
    ecs = match infra.capacity {
        Capacity::OnDemand => ecs.set("launchType", s("FARGATE")),
        // As Copilot orders it (copilot-cli `convertCapacityProviders`):
        // Spot takes every task beyond the base kept on regular Fargate.
        Capacity::Spot => {
            let mut strategy = vec![map([
                ("capacityProvider", s("FARGATE_SPOT")),
                ("weight", Value::Int(1)),
            ])];
            if infra.on_demand_base > 0 {
                strategy.push(map([
                    ("capacityProvider", s("FARGATE")),
                    ("base", Value::Int(i64::from(infra.on_demand_base))),
                    ("weight", Value::Int(0)),
                ]));
            }
            ecs.set("capacityProviderStrategies", Value::List(strategy))
                .depends_on([network::CAPACITY_PROVIDERS.to_string()])
        }
    };
    ecs = ecs
        .set("platformVersion", s("LATEST"))
        .set("deploymentMinimumHealthyPercent", Value::Int(100))
        .set("deploymentMaximumPercent", Value::Int(200));
    let rollout = &infra.rollout;
    let role = rollout::role(e, cx);
    ecs = match rollout::deployment_configuration(rollout, role.as_deref()) {
        Some(configuration) => ecs.set("deploymentConfiguration", configuration),
        // The circuit breaker is for rolling updates only (AWS::ECS::Service
        // DeploymentCircuitBreaker).
        None => ecs.set(
            "deploymentCircuitBreaker",
            map([
                ("enable", Value::Bool(true)),
                ("rollback", Value::Bool(true)),
            ]),
        ),
    };
    // The target groups the load balancer measures, when there is one.
    let target_groups: Vec<String> = match &balancing.route {
        Some(_) => std::iter::once(balancing.target_group.clone())
            .chain(balancing.shift.as_ref().map(|shift| shift.alternate.clone()))
            .collect(),
        None => Vec::new(),
    };
    ecs = ecs.set_opt("alarms", rollout::alarms(e, cx, &target_groups));
    ecs = ecs.set_opt(
        "serviceRegistries",
        service.keep_service_registry.as_ref().map(|registry| {
            let port = |p: Option<u16>| p.map(|p| Value::Int(i64::from(p)));
            let mut entries = vec![(Key::from("registryArn"), s(&registry.registry_arn))];
            entries.extend(
                [
                    ("port", port(registry.port)),
                    (
                        "containerName",
                        registry.container_port.map(|_| s(&id.component)),
                    ),
                    ("containerPort", port(registry.container_port)),
                ]
                .into_iter()
                .filter_map(|(k, v)| Some((Key::from(k), v?))),
            );
            Value::Map(entries)
        }),
    );
    ecs = ecs
        .set(
            "networkConfiguration",
            map([
                ("subnets", strings(&net.private_subnets)),
                ("securityGroups", Value::List(vec![r(format!("{sg}.id"))])),
                ("assignPublicIp", Value::Bool(false)),
            ]),
        );
    if let (Some(route), Some(port)) = (&balancing.route, service.port) {
        let mut load_balancer = vec![
            (
                Key::from("targetGroupArn"),
                r(format!("{}.arn", balancing.target_group)),
            ),
            ("containerName".into(), s(&id.component)),
            ("containerPort".into(), Value::Int(i64::from(port))),
        ];
        if let (Some(shift), Some(role)) = (&balancing.shift, &role) {
            load_balancer.push((
                "advancedConfiguration".into(),
                rollout::advanced_configuration(&shift.alternate, route, &shift.test_route, role),
            ));
        }
        ecs = ecs
            .set("loadBalancers", list([Value::Map(load_balancer)]))
            .set(
                "healthCheckGracePeriodSeconds",
                Value::Int(i64::from(service.health_check.grace_period_seconds)),
            );
    }
    ecs = ecs
        .set_opt(
            "enableExecuteCommand",
            service.exec.then_some(Value::Bool(true)),
        )
        .set("propagateTags", s("SERVICE"))
        .set("enableEcsManagedTags", Value::Bool(true))
        .set("waitForSteadyState", Value::Bool(true))
        .set("tags", tags.clone());
    // Traffic reaches the target group only once its rule exists; used components
    // come first so the service starts against them.
    let after: Vec<usize> = e.stack.components[index].after.iter().copied().collect();
    let rules = balancing
        .route
        .iter()
        .chain(balancing.shift.as_ref().map(|shift| &shift.test_route))
        .cloned();
    ecs = ecs
        .depends_on(rules)
        .depends_on(after.into_iter().map(|t| e.main_resource(t)));
    if infra.autoscaling.is_some() {
        ecs.ignore_changes.push("desiredCount".into());
    }
    let service_name = ecs.name.clone();
    e.add(index, ecs);

    service_name
}

/// Target-tracking autoscaling on CPU, memory or requests.
fn autoscaling(e: &mut Emitter, cx: &Context, service_name: &str, target_group: &str) {
    let Context {
        index,
        tags,
        service,
        infra,
        ..
    } = cx;
    let index = *index;
    if let Some(scaling) = &infra.autoscaling {
        let target = e.name(index, "scaling");
        e.add(
            index,
            Resource::new(&target, "aws:appautoscaling/target:Target")
                .set("minCapacity", Value::Int(i64::from(scaling.min)))
                .set(
                    "maxCapacity",
                    Value::Int(i64::from(scaling.max.max(scaling.min))),
                )
                .set(
                    "resourceId",
                    Value::interp(vec![
                        Part::Text("service/".into()),
                        Part::Ref(format!("{}.name", network::CLUSTER)),
                        Part::Text("/".into()),
                        Part::Ref(format!("{service_name}.name")),
                    ]),
                )
                .set("scalableDimension", s("ecs:service:DesiredCount"))
                .set("serviceNamespace", s("ecs"))
                .set("tags", tags.clone()),
        );
        // Each policy: its metric's name, the value to hold, and how the
        // metric is specified (predefined, or CloudWatch's own).
        let mut specifications: Vec<(&str, Value, &str, Value)> = Vec::new();
        let mut predefined = |metric, value: u32, kind, label: Option<Value>| {
            let mut spec = vec![(Key::from("predefinedMetricType"), s(kind))];
            if let Some(label) = label {
                spec.push(("resourceLabel".into(), label));
            }
            specifications.push((
                metric,
                Value::Int(i64::from(value)),
                "predefinedMetricSpecification",
                Value::Map(spec),
            ));
        };
        let no_target = scaling.cpu_target.is_none()
            && scaling.memory_target.is_none()
            && scaling.requests_per_target.is_none()
            && scaling.response_time_ms.is_none();
        if let Some(cpu) = scaling.cpu_target.or(no_target.then_some(70)) {
            predefined("cpu", cpu, "ECSServiceAverageCPUUtilization", None);
        }
        if let Some(memory) = scaling.memory_target {
            predefined("memory", memory, "ECSServiceAverageMemoryUtilization", None);
        }
        if let (Some(requests), Some(expose)) = (scaling.requests_per_target, &service.expose) {
            let label = Value::interp(vec![
                Part::Ref(format!("{}.arnSuffix", network::alb(expose.visibility))),
                Part::Text("/".into()),
                Part::Ref(format!("{target_group}.arnSuffix")),
            ]);
            predefined(
                "requests",
                requests,
                "ALBRequestCountPerTarget",
                Some(label),
            );
        }
        // The load balancer's average response time for the service's target
        // group, in seconds (CloudWatch's `AWS/ApplicationELB`
        // `TargetResponseTime`, by `LoadBalancer` and `TargetGroup`), as
        // Copilot's `count.response_time` scales.
        if let (Some(milliseconds), Some(expose)) = (scaling.response_time_ms, &service.expose) {
            let dimension = |name: &str, reference: String| {
                map([("name", s(name)), ("value", r(reference))])
            };
            specifications.push((
                "response-time",
                Value::Float(f64::from(milliseconds) / 1000.0),
                "customizedMetricSpecification",
                map([
                    ("metricName", s("TargetResponseTime")),
                    ("namespace", s("AWS/ApplicationELB")),
                    ("statistic", s("Average")),
                    (
                        "dimensions",
                        list([
                            dimension(
                                "LoadBalancer",
                                format!("{}.arnSuffix", network::alb(expose.visibility)),
                            ),
                            dimension("TargetGroup", format!("{target_group}.arnSuffix")),
                        ]),
                    ),
                ]),
            ));
        }
        for (metric, value, specified_as, specification) in specifications {
            e.add(
                index,
                Resource::new(
                    e.name(index, &format!("scale-{metric}")),
                    "aws:appautoscaling/policy:Policy",
                )
                .set(
                    "name",
                    s(format!(
                        "{}-{metric}",
                        e.physical_name(&[&e.qualified(index)], 200)
                    )),
                )
                .set("policyType", s("TargetTrackingScaling"))
                .set("resourceId", r(format!("{target}.resourceId")))
                .set(
                    "scalableDimension",
                    r(format!("{target}.scalableDimension")),
                )
                .set("serviceNamespace", r(format!("{target}.serviceNamespace")))
                .set(
                    "targetTrackingScalingPolicyConfiguration",
                    map([
                        ("targetValue", value),
                        (specified_as, specification),
                        ("scaleInCooldown", Value::Int(300)),
                        ("scaleOutCooldown", Value::Int(60)),
                    ]),
                ),
            );
        }
    }
}

/// The target group's logical name: autonamed, at most 32 characters
/// (pulumi-aws `provider/resources.go`).
pub fn target_group_name(e: &Emitter, index: usize) -> String {
    e.autonamed(index, "tg", 32)
}

impl EmitKind for MicroserviceSpec {
    const MAIN_ROLE: &'static str = "service";
    const HOLDS_DATA: &'static [&'static str] = &[];

    fn emit(&self, e: &mut Emitter<'_>, index: usize) {
        emit(e, index, self)
    }

    fn output(&self, e: &Emitter<'_>, index: usize, name: &str) -> Vec<Part> {
        output(e, index, &self.settings, name)
    }

    fn grant(&self, e: &Emitter<'_>, target: usize, wire: &Wire) -> Grant {
        grant(e, target, &self.settings, wire)
    }
}
