//! `rollout:` in infra.yaml as a user meets it: what each strategy compiles
//! to (checked in the program, and by the provider checker), and what
//! `validate` refuses because ECS would.

use super::{API, WORKER, passes_the_provider_checker, show, validate};
use crate::common::*;
use serde_json::{Value, json};

fn program(repo: &TestRepo, env: &str) -> Value {
    let run = show(repo, env);
    assert_eq!(run.code, 0, "{}", run.all());
    deployer::load::yaml::to_json(&run.stdout).unwrap()
}

fn resource<'a>(program: &'a Value, name: &str) -> &'a Value {
    let found = &program["resources"][name];
    assert!(found.is_object(), "no resource `{name}` in the program");
    found
}

#[test]
fn the_example_rolls_production_out_as_a_canary_watched_by_two_alarms() {
    let repo = TestRepo::example();
    let production = program(&repo, "production");
    let service = &resource(&production, "email-service-api-service")["properties"];
    assert_eq!(
        service["deploymentConfiguration"],
        json!({
            "strategy": "CANARY",
            "bakeTimeInMinutes": "10",
            "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": "5"},
        })
    );
    assert!(
        service.get("deploymentCircuitBreaker").is_none(),
        "the circuit breaker is for rolling updates only"
    );
    let alternate = production["resources"]
        .as_object()
        .unwrap()
        .keys()
        .find(|k| k.starts_with("email-service-api-tg-alt"))
        .expect("an alternate target group")
        .clone();
    assert_eq!(
        service["loadBalancers"][0]["advancedConfiguration"],
        json!({
            "alternateTargetGroupArn": format!("${{{alternate}.arn}}"),
            "productionListenerRule": "${email-service-api-route.arn}",
            "testListenerRule": "${email-service-api-test-route.arn}",
            "roleArn": "${email-service-api-rollout-role.arn}",
        })
    );
    assert_eq!(
        service["alarms"],
        json!({
            "alarmNames": [
                "${email-service-api-alarm-5xx-rate.name}",
                "${email-service-api-alarm-p99-latency.name}",
            ],
            "enable": true,
            "rollback": true,
        })
    );

    // Both rules forward to both groups, all weight on the live one, and
    // leave the weights to ECS once it has moved them.
    let route = resource(&production, "email-service-api-route");
    let test_route = resource(&production, "email-service-api-test-route");
    for rule in [route, test_route] {
        let groups = &rule["properties"]["actions"][0]["forward"]["targetGroups"];
        assert_eq!(groups[0]["weight"], 100);
        assert_eq!(groups[1]["arn"], format!("${{{alternate}.arn}}"));
        assert_eq!(groups[1]["weight"], 0);
        assert_eq!(rule["options"]["ignoreChanges"], json!(["actions"]));
    }
    let priority = |rule: &Value| rule["properties"]["priority"].as_i64().unwrap();
    assert!(
        priority(test_route) < priority(route),
        "test requests match first"
    );
    let conditions = test_route["properties"]["conditions"].to_string();
    assert_contains(&conditions, &["X-Deployer-Test", "/email/*"]);

    let role = resource(&production, "email-service-api-rollout-role");
    assert_contains(
        &role["properties"]["assumeRolePolicy"].to_string(),
        &["ecs.amazonaws.com"],
    );
    assert_eq!(
        resource(&production, "email-service-api-rollout-managed")["properties"]["policyArn"],
        "arn:aws:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers"
    );

    let errors = &resource(&production, "email-service-api-alarm-5xx-rate")["properties"];
    assert_eq!(
        errors["name"],
        "notification-platform-production-email-service-api-5xx-rate"
    );
    assert_eq!(errors["threshold"], json!(5.0));
    let queries = errors["metricQueries"].as_array().unwrap();
    assert_eq!(
        queries.len(),
        5,
        "errors and requests of both groups, and the rate"
    );
    assert_eq!(
        queries[4]["expression"],
        "100 * (FILL(e1, 0) + FILL(e2, 0)) / (FILL(r1, 0) + FILL(r2, 0))"
    );
    let latency = &resource(&production, "email-service-api-alarm-p99-latency")["properties"];
    assert_eq!(
        latency["threshold"], 1.5,
        "seconds, as CloudWatch measures it"
    );
    assert_eq!(latency["tags"]["deployer:component"], "api");

    // Development keeps the rolling update.
    let development = program(&repo, "development");
    let service = &resource(&development, "email-service-api-service")["properties"];
    assert!(service.get("deploymentConfiguration").is_none());
    assert_eq!(service["deploymentCircuitBreaker"]["rollback"], true);
    assert!(
        development["resources"]
            .get("email-service-api-test-route")
            .is_none()
    );
    assert!(
        development["resources"]
            .get("email-service-api-alarm-5xx-rate")
            .is_none()
    );
}

#[test]
fn linear_and_blue_green_rollouts_with_hooks_and_named_alarms_compile() {
    let repo = TestRepo::example();
    let hook = "arn:aws:lambda:us-east-1:123456789012:function:smoke-tests";
    repo.edit(
        &format!("{API}/infra.yaml"),
        "    rollout:\n      strategy: canary\n      canary_percent: 10\n",
        &format!(
            "    rollout:\n      strategy: linear\n      step_percent: 25\n      test_path: /email/health\n      hooks:\n        - {{stage: POST_TEST_TRAFFIC_SHIFT, function: \"{hook}\"}}\n"
        ),
    );
    repo.edit(
        &format!("{API}/infra.yaml"),
        "        p99_latency_ms: 1500",
        "        p99_latency_ms: 1500\n        names: [payments-slo-burn]",
    );
    let production = program(&repo, "production");
    let service = &resource(&production, "email-service-api-service")["properties"];
    let configuration = &service["deploymentConfiguration"];
    assert_eq!(configuration["strategy"], "LINEAR");
    assert_eq!(
        configuration["linearConfiguration"],
        json!({"stepPercent": 25.0, "stepBakeTimeInMinutes": "5"})
    );
    assert_eq!(
        configuration["lifecycleHooks"],
        json!([{
            "hookTargetArn": hook,
            "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
            "roleArn": "${email-service-api-rollout-role.arn}",
        }])
    );
    assert_eq!(service["alarms"]["alarmNames"][2], "payments-slo-burn");
    let policy = resource(&production, "email-service-api-rollout-policy")["properties"]["policy"]
        .to_string();
    assert_contains(&policy, &["lambda:InvokeFunction", hook]);
    let conditions =
        resource(&production, "email-service-api-test-route")["properties"]["conditions"]
            .to_string();
    assert_contains(&conditions, &["/email/health"]);
    assert!(
        !conditions.contains("/email/*"),
        "test_path replaces the paths: {conditions}"
    );
    passes_the_provider_checker(&repo, "production");

    repo.edit(
        &format!("{API}/infra.yaml"),
        "strategy: linear",
        "strategy: blue-green",
    );
    repo.edit(&format!("{API}/infra.yaml"), "      step_percent: 25\n", "");
    repo.edit(&format!("{API}/infra.yaml"), "      step_minutes: 5\n", "");
    let production = program(&repo, "production");
    let configuration = &resource(&production, "email-service-api-service")["properties"]["deploymentConfiguration"];
    assert_eq!(configuration["strategy"], "BLUE_GREEN");
    assert!(configuration.get("linearConfiguration").is_none());
    passes_the_provider_checker(&repo, "production");
}

#[test]
fn a_worker_runs_blue_green_only_when_it_says_there_is_no_traffic_to_shift() {
    let repo = TestRepo::example();
    let infra = format!("{WORKER}/infra.yaml");
    let before = repo.read(&infra);
    repo.write(
        &infra,
        format!("{before}rollout:\n  strategy: blue-green\n"),
    );
    let run = validate(&repo);
    assert_eq!(run.code, 1, "{}", run.all());
    let line = before.lines().count() + 2;
    assert_contains(
        &run.stderr,
        &[
            "error[invalid-rollout]: `strategy: blue-green` moves traffic through the load balancer, but this service is not exposed",
            &format!("{infra}:{line}:"),
            "`shift_traffic: false`",
            "alb-resources-for-blue-green.html",
        ],
    );

    repo.write(
        &infra,
        format!(
            "{before}rollout:\n  strategy: blue-green\n  shift_traffic: false\n  bake_minutes: 3\n"
        ),
    );
    let production = program(&repo, "production");
    let service = &resource(&production, "delivery-service-worker-service")["properties"];
    assert_eq!(
        service["deploymentConfiguration"],
        json!({"strategy": "BLUE_GREEN", "bakeTimeInMinutes": "3"})
    );
    assert!(service.get("loadBalancers").is_none());
    assert!(
        production["resources"]
            .get("delivery-service-worker-rollout-role")
            .is_none(),
        "no traffic to move and no hooks: ECS needs no role"
    );
    passes_the_provider_checker(&repo, "production");
}

#[test]
fn validate_refuses_a_rollout_ecs_would_refuse_citing_the_page() {
    let repo = TestRepo::example();
    let infra = format!("{API}/infra.yaml");
    let cases: [(&str, &str, &[&str]); 6] = [
        (
            "canary_percent: 10",
            "canary_percent: 100",
            &[
                "error[out-of-range]: `rollout.canary_percent` must be at most 99; found `100`",
                "API_CanaryConfiguration",
            ],
        ),
        (
            "canary_percent: 10",
            "step_percent: 2",
            &[
                "error[out-of-range]: `rollout.step_percent` must be at least 3; found `2`",
                "API_LinearConfiguration",
            ],
        ),
        (
            "canary_percent: 10",
            "step_percent: 20",
            &[
                "error[invalid-rollout]: `step_percent` applies to a linear rollout, and this one is `canary`",
                "API_DeploymentConfiguration.html",
            ],
        ),
        (
            "error_rate_percent: 5",
            "error_rate_percent: 0",
            &[
                "error[out-of-range]: `rollout.alarms.error_rate_percent` must be at least 1; found `0`",
            ],
        ),
        (
            "bake_minutes: 10",
            "bake_minutes: 10\n      hooks:\n        - {stage: AFTER_DEPLOY, function: \"arn:aws:lambda:us-east-1:123456789012:function:f\"}",
            &[
                "error[invalid-value]",
                "AFTER_DEPLOY",
                "POST_TEST_TRAFFIC_SHIFT",
            ],
        ),
        (
            "bake_minutes: 10",
            "bake_minutes: 1441",
            &["error[out-of-range]: `rollout.bake_minutes` must be at most 1440; found `1441`"],
        ),
    ];
    let original = repo.read(&infra);
    for (from, to, expected) in cases {
        repo.write(&infra, original.replace(from, to));
        let run = validate(&repo);
        assert_eq!(run.code, 1, "{to}: {}", run.all());
        assert_contains(&run.stderr, expected);
        assert_contains(&run.stderr, &[&format!("{infra}:")]);
    }

    // Hooks on a rolling update; an alarm the load balancer measures on a
    // service without one.
    repo.write(&infra, original);
    let worker = format!("{WORKER}/infra.yaml");
    let before = repo.read(&worker);
    repo.write(
        &worker,
        format!("{before}rollout:\n  alarms:\n    p99_latency_ms: 900\n  hooks:\n    - {{stage: PRE_SCALE_UP, function: \"arn:aws:lambda:us-east-1:123456789012:function:f\"}}\n"),
    );
    let run = validate(&repo);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "lifecycle hooks run in blue-green, canary and linear deployments, and this one is `rolling`",
            "deployment-lifecycle-hooks.html",
            "`alarms.p99_latency_ms` is measured by the load balancer, but this service is not exposed",
            "deployment-alarm-failure.html",
        ],
    );
}
