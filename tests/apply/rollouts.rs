//! Rollouts ECS runs itself, followed by `apply` and stopped by `rollback`,
//! on the shared back-end (moto) with the stand-in. moto has no service
//! deployments, so the fault proxy serves them (tests/support/fault_proxy.py):
//! each snapshot below is an `ServiceDeployment` with the fields of the Amazon
//! ECS API Reference (API_ServiceDeployment, API_ServiceRevisionSummary,
//! API_ServiceDeploymentAlarms, API_Rollback, API_DeploymentConfiguration,
//! API_CanaryConfiguration), and each describe shows the next one.

use super::*;
use serde_json::{Value, json};

const API_SERVICE: &str = "email-service-api";
const WORKER_SERVICE: &str = "delivery-service-worker";
const ALARM: &str = "notification-platform-development-email-service-api-5xx-rate";

/// The example with the API rolling out as a canary in development.
fn canary_in_development() -> (TestRepo, AwsBackend, FaultProxy, Vec<(String, String)>) {
    let (repo, backend, proxy, mut env) = example_through_proxy();
    repo.edit(
        "stacks/notification-platform/services/email-service/components/api/infra.yaml",
        "    autoscaling: null\n",
        "    autoscaling: null\n    rollout:\n      strategy: canary\n      canary_percent: 10\n      step_minutes: 5\n      bake_minutes: 10\n      alarms:\n        error_rate_percent: 5\n",
    );
    env.push(("DEPLOYER_ROLLOUT_POLL_MS".into(), "100".into()));
    (repo, backend, proxy, env)
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as f64
}

/// One snapshot of a deployment of `service`.
fn snapshot(service: &str, id: &str, status: &str, stage: &str, traffic: f64) -> Value {
    let cluster = "arn:aws:ecs:us-east-1:123456789012:cluster/notification-platform-development";
    json!({
        "serviceDeploymentArn": format!("arn:aws:ecs:us-east-1:123456789012:service-deployment/notification-platform-development/{service}/{id}"),
        "serviceArn": format!("arn:aws:ecs:us-east-1:123456789012:service/notification-platform-development/{service}"),
        "clusterArn": cluster,
        "startedAt": now() - 60.0,
        "updatedAt": now(),
        "status": status,
        "lifecycleStage": stage,
        "targetServiceRevision": {
            "arn": format!("arn:aws:ecs:us-east-1:123456789012:service-revision/notification-platform-development/{service}/{id}"),
            "requestedTaskCount": 1,
            "runningTaskCount": 1,
            "pendingTaskCount": 0,
            "requestedProductionTrafficWeight": traffic,
        },
    })
}

/// A canary of the API: 10 % for 5 minutes, then a 10-minute bake.
fn canary(id: &str, status: &str, stage: &str, traffic: f64) -> Value {
    let mut s = snapshot(API_SERVICE, id, status, stage, traffic);
    s["deploymentConfiguration"] = json!({
        "strategy": "CANARY",
        "bakeTimeInMinutes": 10,
        "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 5},
        "alarms": {"alarmNames": [ALARM], "enable": true, "rollback": true},
    });
    s
}

/// The worker's rolling update, finished.
fn worker_done(id: &str) -> Value {
    let mut s = snapshot(WORKER_SERVICE, id, "SUCCESSFUL", "CLEAN_UP", 100.0);
    s["finishedAt"] = json!(now());
    s["deploymentConfiguration"] = json!({"strategy": "ROLLING"});
    s
}

fn serve(proxy: &FaultProxy, api: Vec<Value>, worker_id: &str) {
    proxy.ecs_deployments(json!({"deployments": [
        {"service": API_SERVICE, "snapshots": api},
        {"service": WORKER_SERVICE, "snapshots": [worker_done(worker_id)]},
    ]}));
}

fn apply_version(repo: &TestRepo, env: &[(String, String)], version: &str) -> Run {
    let var = format!("VERSION={version}");
    repo.run_with(&["apply", "-s", STACK, "-e", DEV, "--var", &var], env)
}

fn statuses(repo: &TestRepo, env: &[(String, String)]) -> Vec<String> {
    let run = repo.run_with(
        &["history", "-s", STACK, "-e", DEV, "--output", "json"],
        env,
    );
    assert_eq!(run.code, 0, "{}", run.all());
    let mut all: Vec<String> = run
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap().to_string())
        .collect();
    all.reverse();
    all
}

/// Waits until an apply follows deployment `id`.
fn following(proxy: &FaultProxy, id: &str) {
    let deadline = Instant::now() + Duration::from_secs(120);
    let described = format!("{API_SERVICE}/{id}\"");
    while !proxy
        .log()
        .lines()
        .any(|l| l.contains("DescribeServiceDeployments") && l.contains(&described))
    {
        assert!(
            Instant::now() < deadline,
            "apply never followed the rollout"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Starts `apply VERSION=v1.0.1` in the background while ECS bakes its canary
/// (a deployment that stays in BAKE_TIME), and returns once it follows it.
fn apply_while_baking(
    repo: &TestRepo,
    proxy: &FaultProxy,
    env: &[(String, String)],
) -> std::process::Child {
    serve(
        proxy,
        vec![canary("second", "IN_PROGRESS", "BAKE_TIME", 100.0)],
        "second",
    );
    let apply = repo
        .command(
            &["apply", "-s", STACK, "-e", DEV, "--var", "VERSION=v1.0.1"],
            env,
        )
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    following(proxy, "second");
    apply
}

/// A first release whose deployments ECS finished at once.
fn first_release(repo: &TestRepo, proxy: &FaultProxy, env: &[(String, String)]) {
    let mut done = canary("first", "SUCCESSFUL", "CLEAN_UP", 100.0);
    done["finishedAt"] = json!(now());
    serve(proxy, vec![done], "first");
    let run = apply_version(repo, env, "v1.0.0");
    assert_eq!(run.code, 0, "{}", run.all());
}

#[test]
fn a_canary_is_followed_stage_by_stage_and_succeeds_only_when_ecs_says_so() {
    let (repo, _backend, proxy, env) = canary_in_development();
    first_release(&repo, &proxy, &env);
    let mut done = canary("second", "SUCCESSFUL", "CLEAN_UP", 100.0);
    let started = now() - 1390.0;
    done["startedAt"] = json!(started);
    done["finishedAt"] = json!(started + 1390.0);
    serve(
        &proxy,
        vec![
            canary("second", "IN_PROGRESS", "PRODUCTION_TRAFFIC_SHIFT", 10.0),
            canary("second", "IN_PROGRESS", "PRODUCTION_TRAFFIC_SHIFT", 10.0),
            canary("second", "IN_PROGRESS", "BAKE_TIME", 100.0),
            done,
        ],
        "second",
    );
    let run = apply_version(&repo, &env, "v1.0.1");
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "email-service/api: canary 10% → 100% after 5m, baking 10m… (PRODUCTION_TRAFFIC_SHIFT, 10% of traffic on the new revision)",
            "  email-service/api: BAKE_TIME, 100% of traffic on the new revision, 10m of the bake left",
            "email-service/api: canary 10% → 100% after 5m, baking 10m… ✓ (23m 10s)",
            "Deployment successful!",
        ],
    );
    assert_eq!(statuses(&repo, &env), ["succeeded", "succeeded"]);
    // Asked with the release's own window: deployments created since it began.
    let log = proxy.log();
    assert!(
        log.lines().any(|l| l.contains("ListServiceDeployments")
            && l.contains(&format!("\"service\":\"{API_SERVICE}\""))
            && l.contains("\"createdAt\":{\"after\"")),
        "{log}"
    );
}

#[test]
fn a_canary_ecs_rolls_back_is_a_failed_release_with_the_alarm_and_no_second_rollback() {
    let (repo, _backend, proxy, env) = canary_in_development();
    first_release(&repo, &proxy, &env);
    let mut rolled_back = canary("second", "ROLLBACK_SUCCESSFUL", "CLEAN_UP", 0.0);
    rolled_back["finishedAt"] = json!(now());
    rolled_back["statusReason"] =
        json!("Service deployment rolled back because of alarm triggers.");
    rolled_back["alarms"] = json!({
        "status": "TRIGGERED",
        "alarmNames": [ALARM],
        "triggeredAlarmNames": [ALARM],
    });
    rolled_back["rollback"] = json!({
        "reason": "CloudWatch alarm triggered",
        "startedAt": now() - 30.0,
        "serviceRevisionArn": "arn:aws:ecs:us-east-1:123456789012:service-revision/notification-platform-development/email-service-api/first",
    });
    serve(
        &proxy,
        vec![
            canary("second", "IN_PROGRESS", "PRODUCTION_TRAFFIC_SHIFT", 10.0),
            rolled_back,
        ],
        "second",
    );
    let run = apply_version(&repo, &env, "v1.0.1");
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            &format!(
                "✗ email-service/api: ECS rolled back the canary 10% → 100% after 5m, baking 10m: alarm {ALARM} in ALARM; CloudWatch alarm triggered; Service deployment rolled back because of alarm triggers."
            ),
            "Deployment failed (release #2): ECS rolled back email-service/api",
            "the service runs the revision of release #1 again",
            "ECS rolled back on its own and runs the previous revision, so deployer did not roll back on top of it",
        ],
    );
    assert!(
        !run.stderr.contains("Deployment successful"),
        "{}",
        run.stderr
    );
    assert_eq!(
        statuses(&repo, &env),
        ["succeeded", "failed"],
        "no release of deployer's own rollback"
    );
    let show = repo.run_with(
        &["history", "-s", STACK, "-e", DEV, "--output", "json"],
        &env,
    );
    assert_contains(&show.stdout, &[ALARM]);
}

#[test]
fn rollback_during_the_bake_stops_the_deployment_and_the_following_apply_records_it() {
    let (repo, _backend, proxy, env) = canary_in_development();
    first_release(&repo, &proxy, &env);
    let apply = apply_while_baking(&repo, &proxy, &env);
    let rollback = repo.run_with(
        &["rollback", "-s", STACK, "-e", DEV, "--auto-approve"],
        &env,
    );
    assert_eq!(rollback.code, 0, "{}", rollback.all());
    assert_contains(
        &rollback.stderr,
        &[
            "Stopping ECS's canary 10% → 100% after 5m, baking 10m of email-service/api (BAKE_TIME, 100% of traffic on the new revision) with rollback...",
            "ECS stops the rollout of email-service/api and brings back the revision that ran before",
        ],
    );
    let out = apply.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_contains(
        &stderr,
        &[
            "ECS rolled back email-service/api (canary 10% → 100% after 5m, baking 10m): a stop with rollback was requested (StopServiceDeployment)",
            "did not roll back on top of it",
        ],
    );
    assert_eq!(statuses(&repo, &env), ["succeeded", "failed"]);
    let log = proxy.log();
    let stop = log
        .lines()
        .find(|l| l.contains("StopServiceDeployment"))
        .unwrap_or_else(|| panic!("no StopServiceDeployment:\n{log}"));
    assert_contains(
        stop,
        &[
            "\"stopType\":\"ROLLBACK\"",
            "service-deployment/notification-platform-development/email-service-api/second",
            "-> 200",
        ],
    );
}

#[test]
fn ctrl_c_while_ecs_bakes_leaves_the_rollout_to_ecs_and_says_so() {
    let (repo, _backend, proxy, env) = canary_in_development();
    first_release(&repo, &proxy, &env);
    let apply = apply_while_baking(&repo, &proxy, &env);
    // SAFETY: kill(2) with the pid of a child this test spawned.
    unsafe { libc::kill(apply.id() as i32, libc::SIGINT) };
    let out = apply.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_contains(
        &stderr,
        &[
            "email-service/api: ECS goes on with the canary 10% → 100% after 5m, baking 10m (BAKE_TIME, 100% of traffic on the new revision): it finishes, or rolls back on its own if an alarm fires",
            "`deployer rollback` stops it and rolls back",
            "Deployment cancelled: interrupted while ECS rolled out email-service/api",
        ],
    );
    assert_eq!(statuses(&repo, &env), ["succeeded", "cancelled"]);
}
