//! A rollout ECS runs itself (`rollout:` in infra.yaml): the deployment
//! configuration of a blue-green, canary or linear deployment; for one that
//! moves traffic, the alternate target group, the test listener rule and the
//! role ECS assumes to move it; the CloudWatch alarms that roll a deployment
//! back; and the lifecycle hooks.
//!
//! What ECS needs is the Amazon ECS Developer Guide's: "Application Load
//! Balancer resources for blue/green, linear, and canary deployments" (two
//! target groups, a production and an optional test listener rule that forward
//! to both, weighted), "Amazon ECS infrastructure IAM role for load balancers"
//! (trusts `ecs.amazonaws.com`, the managed policy below), "How CloudWatch
//! alarms detect Amazon ECS deployment failures", and "Lifecycle hooks for
//! Amazon ECS service deployments" (a role ECS assumes to invoke the function).

use super::access::{Context, assumed_by, attach_managed_policy, policy, role_name};
use crate::emit::emitter::Emitter;
use crate::emit::network;
use crate::emit::program::{Key, Resource, Value, iam_statement, list, map, r, s, strings};
use crate::kinds::microservice::{Rollout, Strategy};

const LOAD_BALANCER_POLICY: &str = "policy/AmazonECSInfrastructureRolePolicyForLoadBalancers";

/// The header that sends a request to the new revision through the test
/// listener rule.
pub(super) const TEST_HEADER: &str = "X-Deployer-Test";

/// The forward action of a listener rule: straight to the target group, or,
/// when ECS moves traffic, to both groups with all weight on the primary one
/// (ECS changes the weights as it shifts; see [`ignores_shifted_weights`]).
pub(super) fn forward(primary: &str, alternate: Option<&str>) -> Value {
    match alternate {
        None => list([map([
            ("type", s("forward")),
            ("targetGroupArn", r(format!("{primary}.arn"))),
        ])]),
        Some(alternate) => list([map([
            ("type", s("forward")),
            (
                "forward",
                map([(
                    "targetGroups",
                    list([
                        map([
                            ("arn", r(format!("{primary}.arn"))),
                            ("weight", Value::Int(100)),
                        ]),
                        map([
                            ("arn", r(format!("{alternate}.arn"))),
                            ("weight", Value::Int(0)),
                        ]),
                    ]),
                )]),
            ),
        ])]),
    }
}

/// ECS moves the weights of a shifting rule during and after every
/// deployment, and leaves the one it moved traffic to as the primary; a
/// program that set them back would undo the last rollout on the next apply.
pub(super) fn ignores_shifted_weights(rule: Resource) -> Resource {
    let mut rule = rule;
    rule.ignore_changes.push("actions".into());
    rule
}

/// The test listener rule: requests with [`TEST_HEADER`] on `test_path` (or
/// the service's own paths) and hosts, before the production rule.
pub(super) fn test_route(
    e: &mut Emitter,
    cx: &Context,
    conditions: Vec<Value>,
    primary: &str,
    alternate: &str,
) -> String {
    let index = cx.index;
    let expose = cx.service.expose.as_ref().expect("a shifting rollout is exposed");
    let mut conditions = conditions;
    if let Some(path) = &cx.infra.rollout.test_path {
        conditions.retain(|c| c.field("pathPattern").is_none());
        conditions.push(map([("pathPattern", map([("values", strings([path]))]))]));
    }
    conditions.push(map([(
        "httpHeader",
        map([
            ("httpHeaderName", s(TEST_HEADER)),
            ("values", strings(["true"])),
        ]),
    )]));
    let name = e.name(index, "test-route");
    let priority = e.stack.components[index]
        .test_route_priority
        .unwrap_or(49999);
    let rule = Resource::new(&name, "aws:lb/listenerRule:ListenerRule")
        .set(
            "listenerArn",
            r(format!("{}.arn", network::listener(e, expose.visibility))),
        )
        .set("priority", Value::Int(i64::from(priority)))
        .set("actions", forward(primary, Some(alternate)))
        .set("conditions", Value::List(conditions))
        .set("tags", cx.tags.clone());
    e.add(index, ignores_shifted_weights(rule));
    name
}

/// The role ECS assumes to move traffic between the target groups and to
/// invoke the lifecycle hooks, when the rollout needs either.
pub(super) fn role(e: &mut Emitter, cx: &Context) -> Option<String> {
    let Context {
        index, id, tags, infra, ..
    } = cx;
    let index = *index;
    let rollout = &infra.rollout;
    if !rollout.shifts_traffic() && rollout.hooks.is_empty() {
        return None;
    }
    let assume = assumed_by("ecs.amazonaws.com");
    let role = e.name(index, "rollout-role");
    e.add(
        index,
        Resource::new(&role, "aws:iam/role:Role")
            .set("name", s(role_name(e, index, "rollout")))
            .set(
                "description",
                s(format!("lets ECS roll out {id}: move its traffic, run its hooks")),
            )
            .set("assumeRolePolicy", assume)
            .set("tags", tags.clone()),
    );
    if rollout.shifts_traffic() {
        attach_managed_policy(e, index, "rollout-managed", &role, LOAD_BALANCER_POLICY);
    }
    if !rollout.hooks.is_empty() {
        let mut functions: Vec<Value> = Vec::new();
        for hook in &rollout.hooks {
            let function = s(&hook.function);
            if !functions.contains(&function) {
                functions.push(function);
            }
        }
        e.add(
            index,
            Resource::new(e.name(index, "rollout-policy"), "aws:iam/rolePolicy:RolePolicy")
                .set("role", r(format!("{role}.id")))
                .set(
                    "policy",
                    policy(vec![iam_statement(&["lambda:InvokeFunction"], functions)]),
                ),
        );
    }
    Some(role)
}

/// `deploymentConfiguration` of the service, for every strategy but rolling.
pub(super) fn deployment_configuration(rollout: &Rollout, role: Option<&str>) -> Option<Value> {
    let strategy = rollout.strategy;
    if strategy == Strategy::Rolling {
        return None;
    }
    // pulumi-aws 7.51.1 types the minutes as strings and the percentages as
    // numbers (`ServiceDeploymentConfiguration*Args`).
    let minutes = |m: u32| s(m.to_string());
    let mut config = vec![
        (Key::from("strategy"), s(strategy.ecs_name())),
        ("bakeTimeInMinutes".into(), minutes(rollout.bake_minutes())),
    ];
    match strategy {
        Strategy::Canary => config.push((
            "canaryConfiguration".into(),
            map([
                ("canaryPercent", Value::Float(f64::from(rollout.canary_percent()))),
                ("canaryBakeTimeInMinutes", minutes(rollout.step_minutes())),
            ]),
        )),
        Strategy::Linear => config.push((
            "linearConfiguration".into(),
            map([
                ("stepPercent", Value::Float(f64::from(rollout.step_percent()))),
                ("stepBakeTimeInMinutes", minutes(rollout.step_minutes())),
            ]),
        )),
        Strategy::Rolling | Strategy::BlueGreen => {}
    }
    if let (false, Some(role)) = (rollout.hooks.is_empty(), role) {
        config.push((
            "lifecycleHooks".into(),
            Value::List(
                rollout
                    .hooks
                    .iter()
                    .map(|hook| {
                        map([
                            ("hookTargetArn", s(&hook.function)),
                            ("lifecycleStages", strings([hook.stage.ecs_name()])),
                            ("roleArn", r(format!("{role}.arn"))),
                        ])
                    })
                    .collect(),
            ),
        ));
    }
    Some(Value::Map(config))
}

/// `advancedConfiguration` of the service's load balancer: what ECS moves
/// traffic between.
pub(super) fn advanced_configuration(
    alternate: &str,
    route: &str,
    test_route: &str,
    role: &str,
) -> Value {
    map([
        ("alternateTargetGroupArn", r(format!("{alternate}.arn"))),
        ("productionListenerRule", r(format!("{route}.arn"))),
        ("testListenerRule", r(format!("{test_route}.arn"))),
        ("roleArn", r(format!("{role}.arn"))),
    ])
}

/// The alarms deployer creates for the rollout, over every target group the
/// service has (the new revision may be behind either), and the service's
/// `alarms`: those and the ones named, with rollback.
pub(super) fn alarms(e: &mut Emitter, cx: &Context, target_groups: &[String]) -> Option<Value> {
    let Context {
        index,
        id,
        tags,
        service,
        infra,
        ..
    } = cx;
    let index = *index;
    let watched = &infra.rollout.alarms;
    if !watched.any() {
        return None;
    }
    let mut names: Vec<Value> = Vec::new();
    if let Some(expose) = &service.expose {
        let alb = network::alb(expose.visibility);
        let metric = |id: String, name: &str, stat: &str, tg: &str| {
            map([
                ("id", s(id)),
                (
                    "metric",
                    map([
                        ("namespace", s("AWS/ApplicationELB")),
                        ("metricName", s(name)),
                        (
                            "dimensions",
                            map([
                                ("LoadBalancer", r(format!("{alb}.arnSuffix"))),
                                ("TargetGroup", r(format!("{tg}.arnSuffix"))),
                            ]),
                        ),
                        ("period", Value::Int(60)),
                        ("stat", s(stat)),
                    ]),
                ),
                ("returnData", Value::Bool(false)),
            ])
        };
        let ids = |prefix: &str| -> Vec<String> {
            (1..=target_groups.len()).map(|n| format!("{prefix}{n}")).collect()
        };
        let mut queries: Vec<(&str, String, f64, Vec<Value>, String)> = Vec::new();
        if let Some(percent) = watched.error_rate_percent {
            let (errors, requests) = (ids("e"), ids("r"));
            let mut metrics = Vec::new();
            for (n, tg) in target_groups.iter().enumerate() {
                metrics.push(metric(errors[n].clone(), "HTTPCode_Target_5XX_Count", "Sum", tg));
                metrics.push(metric(requests[n].clone(), "RequestCount", "Sum", tg));
            }
            // A target group with no traffic reports no data points: FILL
            // makes it 0, and a minute with no requests at all divides by 0,
            // which CloudWatch drops (missing data, not breaching).
            let sum = |ids: &[String]| {
                ids.iter()
                    .map(|i| format!("FILL({i}, 0)"))
                    .collect::<Vec<_>>()
                    .join(" + ")
            };
            let expression = format!("100 * ({}) / ({})", sum(&errors), sum(&requests));
            queries.push((
                "5xx-rate",
                format!("share of 5xx responses passes {percent} %"),
                f64::from(percent),
                metrics,
                expression,
            ));
        }
        if let Some(ms) = watched.p99_latency_ms {
            let latencies = ids("l");
            let metrics = target_groups
                .iter()
                .enumerate()
                .map(|(n, tg)| metric(latencies[n].clone(), "TargetResponseTime", "p99", tg))
                .collect();
            let expression = format!("MAX([{}])", latencies.join(", "));
            queries.push((
                "p99-latency",
                format!("p99 response time passes {ms} ms"),
                f64::from(ms) / 1000.0,
                metrics,
                expression,
            ));
        }
        for (what, when, threshold, mut metrics, expression) in queries {
            metrics.push(map([
                ("id", s("watched")),
                ("expression", s(expression)),
                ("label", s(format!("{id} {what}"))),
                ("returnData", Value::Bool(true)),
            ]));
            let alarm = e.name(index, &format!("alarm-{what}"));
            e.add(
                index,
                Resource::new(&alarm, "aws:cloudwatch/metricAlarm:MetricAlarm")
                    .set(
                        "name",
                        s(e.physical_name(&[&e.qualified(index), what], 255)),
                    )
                    .set(
                        "alarmDescription",
                        s(format!("rolls back a deployment of {id} when its {when} over a minute")),
                    )
                    .set("comparisonOperator", s("GreaterThanThreshold"))
                    .set("threshold", Value::Float(threshold))
                    .set("evaluationPeriods", Value::Int(1))
                    .set("datapointsToAlarm", Value::Int(1))
                    .set("treatMissingData", s("notBreaching"))
                    .set("metricQueries", Value::List(metrics))
                    .set("tags", tags.clone()),
            );
            names.push(r(format!("{alarm}.name")));
        }
    }
    names.extend(watched.names.iter().map(s));
    Some(map([
        ("alarmNames", Value::List(names)),
        ("enable", Value::Bool(true)),
        ("rollback", Value::Bool(true)),
    ]))
}
