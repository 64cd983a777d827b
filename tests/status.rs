//! `status` and `logs` against moto: the resources a release records are created
//! through the AWS SDK, a matching release record is written, and the commands
//! are run as a user would.

use crate::common::*;
use deployer::backend::releases::{ReleaseResult, ReleaseStart, Releases, Status};
use deployer::inspect::Cloud;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const DEV: &str = "development";

struct World {
    backend: AwsBackend,
    repo: TestRepo,
    cloud: Cloud,
    cluster: String,
    api_service: String,
    worker_service: String,
    database: String,
    queue: String,
    dead_letters: String,
    api_logs: String,
    worker_logs: String,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Creates what a release of the example records, and records the release.
fn world() -> World {
    let server = moto::moto();
    let backend = AwsBackend::on(server);
    let b = backend.open();
    let cloud = Cloud::in_region("us-east-1").unwrap();
    let id = moto::unique("w");
    let (runtime, config) = deployer::backend::aws::sdk_config("us-east-1").unwrap();
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let vpc = runtime
        .block_on(ec2.create_vpc().cidr_block("10.0.0.0/16").send())
        .unwrap()
        .vpc
        .unwrap()
        .vpc_id
        .unwrap();
    let subnet = runtime
        .block_on(
            ec2.create_subnet()
                .vpc_id(&vpc)
                .cidr_block("10.0.1.0/24")
                .send(),
        )
        .unwrap()
        .subnet
        .unwrap()
        .subnet_id
        .unwrap();
    let sg = runtime
        .block_on(
            ec2.create_security_group()
                .group_name(&id)
                .description("tasks")
                .vpc_id(&vpc)
                .send(),
        )
        .unwrap()
        .group_id
        .unwrap();

    let cluster = format!("{id}-cluster");
    cloud
        .block_on(
            cloud
                .client::<aws_sdk_ecs::Client>()
                .create_cluster()
                .cluster_name(&cluster)
                .send(),
        )
        .unwrap();
    let task = cloud
        .block_on(
            cloud
                .client::<aws_sdk_ecs::Client>()
                .register_task_definition()
                .family(&id)
                .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
                .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
                .cpu("256")
                .memory("512")
                .container_definitions(
                    aws_sdk_ecs::types::ContainerDefinition::builder()
                        .name("api")
                        .image("x")
                        .build(),
                )
                .send(),
        )
        .unwrap()
        .task_definition
        .unwrap()
        .task_definition_arn
        .unwrap();
    let network = aws_sdk_ecs::types::NetworkConfiguration::builder()
        .awsvpc_configuration(
            aws_sdk_ecs::types::AwsVpcConfiguration::builder()
                .subnets(&subnet)
                .security_groups(&sg)
                .build()
                .unwrap(),
        )
        .build();
    let service = |name: &str| {
        cloud
            .block_on(
                cloud
                    .client::<aws_sdk_ecs::Client>()
                    .create_service()
                    .cluster(&cluster)
                    .service_name(name)
                    .task_definition(&task)
                    .desired_count(2)
                    .launch_type(aws_sdk_ecs::types::LaunchType::Fargate)
                    .network_configuration(network.clone())
                    .send(),
            )
            .unwrap();
    };
    let (api_service, worker_service) = (format!("{id}-api"), format!("{id}-worker"));
    service(&api_service);
    service(&worker_service);

    let target_group = cloud
        .block_on(
            cloud
                .client::<aws_sdk_elasticloadbalancingv2::Client>()
                .create_target_group()
                .name(&id[..id.len().min(32)])
                .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
                .port(8080)
                .vpc_id(&vpc)
                .target_type(aws_sdk_elasticloadbalancingv2::types::TargetTypeEnum::Ip)
                .send(),
        )
        .unwrap()
        .target_groups()[0]
        .target_group_arn()
        .unwrap()
        .to_string();
    cloud
        .block_on(
            cloud
                .client::<aws_sdk_elasticloadbalancingv2::Client>()
                .register_targets()
                .target_group_arn(&target_group)
                .targets(
                    aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder()
                        .id("10.0.1.5")
                        .port(8080)
                        .build(),
                )
                .send(),
        )
        .unwrap();

    let database = format!("{id}-db");
    cloud
        .block_on(
            cloud
                .client::<aws_sdk_rds::Client>()
                .create_db_instance()
                .db_instance_identifier(&database)
                .db_instance_class("db.t4g.micro")
                .engine("postgres")
                .master_username("app")
                .master_user_password("a-long-password")
                .allocated_storage(20)
                .send(),
        )
        .unwrap();
    let queue = cloud
        .block_on(
            cloud
                .client::<aws_sdk_sqs::Client>()
                .create_queue()
                .queue_name(format!("{id}-queue"))
                .send(),
        )
        .unwrap()
        .queue_url
        .unwrap();
    let dead_letters = cloud
        .block_on(
            cloud
                .client::<aws_sdk_sqs::Client>()
                .create_queue()
                .queue_name(format!("{id}-dlq"))
                .send(),
        )
        .unwrap()
        .queue_url
        .unwrap();
    let cache = format!("{id}-cache");
    cloud
        .block_on(
            cloud
                .client::<aws_sdk_elasticache::Client>()
                .create_replication_group()
                .replication_group_id(&cache)
                .replication_group_description("cache")
                .engine("valkey")
                .cache_node_type("cache.t4g.micro")
                .num_cache_clusters(2)
                .send(),
        )
        .unwrap();
    let (api_logs, worker_logs) = (
        format!("/deployer/{id}/email-service/api"),
        format!("/deployer/{id}/delivery-service/worker"),
    );
    for group in [&api_logs, &worker_logs] {
        cloud
            .block_on(
                cloud
                    .client::<aws_sdk_cloudwatchlogs::Client>()
                    .create_log_group()
                    .log_group_name(group.as_str())
                    .send(),
            )
            .unwrap();
        cloud
            .block_on(
                cloud
                    .client::<aws_sdk_cloudwatchlogs::Client>()
                    .create_log_stream()
                    .log_group_name(group.as_str())
                    .log_stream_name("app/1")
                    .send(),
            )
            .unwrap();
    }

    // The release that created them.
    let repo = TestRepo::example();
    let files = repo.compiled(STACK, DEV, "v1.0.1");
    let outputs: BTreeMap<String, serde_json::Value> = [
        ("_stack.cluster", cluster.as_str()),
        ("email-service/api.name", api_service.as_str()),
        ("email-service/api.target_group", target_group.as_str()),
        ("email-service/api.log_group", api_logs.as_str()),
        ("delivery-service/worker.name", worker_service.as_str()),
        ("delivery-service/worker.log_group", worker_logs.as_str()),
        ("email-service/database.identifier", database.as_str()),
        ("email-service/queue.url", queue.as_str()),
        ("email-service/cache.id", cache.as_str()),
        ("email-service/queue.dead_letter_url", dead_letters.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), serde_json::json!(v)))
    .collect();
    record_release(&b, DEV, &files, &outputs);
    World {
        backend,
        repo,
        cloud,
        cluster,
        api_service,
        worker_service,
        database,
        queue,
        dead_letters,
        api_logs,
        worker_logs,
    }
}

/// Records a successful release of the example in `environment` whose
/// outputs are `outputs`, as an apply would.
fn record_release(
    b: &deployer::backend::Backend,
    environment: &str,
    files: &deployer::artifacts::Artifacts,
    outputs: &BTreeMap<String, serde_json::Value>,
) {
    let releases = Releases::new(b.store.as_ref(), STACK, environment);
    let start = ReleaseStart {
        number: 0,
        operation: "apply".into(),
        stack: STACK.into(),
        environment: environment.into(),
        who: "alice@company.com".into(),
        host: "laptop".into(),
        started: deployer::backend::now(),
        variables: [("VERSION".to_string(), "v1.0.1".to_string())].into(),
        git_commit: None,
        program_hash: files.manifest.program_hash.clone(),
        deployer_version: "test".into(),
        provider_version: None,
        aws_identity: None,
        lock_id: "l".into(),
        approved_by: None,
        source_release: None,
        plan_hash: None,
        planned_by: None,
        files: Default::default(),
    };
    let n = releases.begin(start, files).unwrap();
    let result = ReleaseResult {
        number: n,
        status: Status::Succeeded,
        finished: deployer::backend::now(),
        duration_ms: 1,
        outputs: outputs.clone(),
        components: BTreeMap::new(),
        changes: BTreeMap::new(),
        error: None,
        rolled_back_by: None,
    };
    releases.finish(&result).unwrap();
}

impl World {
    fn run(&self, args: &[&str]) -> Run {
        self.repo.run_with(args, &self.backend.env())
    }

    fn put_logs(&self, group: &str, events: &[(i64, &str)]) {
        let mut request = self
            .cloud
            .client::<aws_sdk_cloudwatchlogs::Client>()
            .put_log_events()
            .log_group_name(group)
            .log_stream_name("app/1");
        for (ts, message) in events {
            request = request.log_events(
                aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                    .timestamp(*ts)
                    .message(*message)
                    .build()
                    .unwrap(),
            );
        }
        self.cloud.block_on(request.send()).unwrap();
    }
}

#[test]
fn status_of_a_healthy_environment() {
    let w = world();
    let run = w.run(&["status", "-s", STACK]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(
        &run.stdout,
        &["notification-platform / development — release #1 (VERSION=v1.0.1), applied"],
    );
    let lines: Vec<&str> = run.stdout.lines().collect();
    let line = |component: &str| {
        *lines
            .iter()
            .find(|l| l.contains(component))
            .unwrap_or_else(|| panic!("no line for {component}:\n{}", run.stdout))
    };
    let api = line("email-service/api");
    assert!(
        api.starts_with("✓ email-service/api")
            && api.contains("MicroService")
            && api.contains(&format!("{0}/{0} running", moto::ECS_SERVICE_RUNNING))
            && api.ends_with("Healthy"),
        "{api}"
    );
    let db = line("email-service/database");
    assert!(
        db.starts_with("✓")
            && db.contains("RDS")
            && db.contains("available")
            && db.ends_with("Healthy"),
        "{db}"
    );
    let queue = line("email-service/queue");
    assert!(
        queue.starts_with("✓") && queue.contains("SQS") && queue.contains("active, 0 waiting"),
        "{queue}"
    );
    let cache = line("email-service/cache");
    assert!(
        // moto reports one member node whatever the group was created with.
        cache.starts_with("✓") && cache.contains("Cache") && cache.contains("available, 1 node"),
        "{cache}"
    );
    // Only environments with a release are shown.
    assert!(!run.stdout.contains("production"));
    let json = w
        .run(&["status", "-s", STACK, "-e", DEV, "--output", "json"])
        .json();
    assert_documented_shape("status", &json);
    let components = json["components"].as_array().unwrap();
    let api = components
        .iter()
        .find(|c| c["component"] == "email-service/api")
        .unwrap();
    assert_eq!(api["health"], "healthy");
    assert_eq!(api["details"]["running"], moto::ECS_SERVICE_RUNNING);
    assert_eq!(api["details"]["targets"]["healthy"], 1);
    assert_eq!(json["healthy"], true);

    // Every environment at once: a line each, a summary, the same JSON per target.
    let run = w.run(&["status", "--all", "--jobs", "3"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(
        &run.stdout,
        &[
            "✓ notification-platform / development: 5 components healthy (release #1)",
            "- notification-platform / production: nothing deployed",
            "3 targets: 1 healthy, 0 unhealthy, 2 not deployed, 0 errors",
        ],
    );
    let json = w.run(&["status", "--all", "--output", "json"]).json();
    assert_documented_shape("status", &json);
    assert_eq!(json["summary"]["healthy"], 1);
}

#[test]
fn status_flags_dead_letters_as_a_warning_and_missing_or_stopped_as_unhealthy() {
    let w = world();
    for body in ["bounce-1", "bounce-2", "bounce-3"] {
        w.cloud
            .block_on(
                w.cloud
                    .client::<aws_sdk_sqs::Client>()
                    .send_message()
                    .queue_url(&w.dead_letters)
                    .message_body(body)
                    .send(),
            )
            .unwrap();
    }
    let run = w.run(&["status", "-s", STACK, "-e", DEV]);
    assert_eq!(
        run.code,
        0,
        "a warning does not fail the gate: {}",
        run.all()
    );
    assert_contains(
        &run.stdout,
        &[
            "⚠ email-service/queue",
            "3 messages in the dead-letter queue",
        ],
    );

    w.cloud
        .block_on(
            w.cloud
                .client::<aws_sdk_rds::Client>()
                .stop_db_instance()
                .db_instance_identifier(&w.database)
                .send(),
        )
        .unwrap();
    w.cloud
        .block_on(
            w.cloud
                .client::<aws_sdk_sqs::Client>()
                .delete_queue()
                .queue_url(&w.queue)
                .send(),
        )
        .unwrap();
    w.cloud
        .block_on(
            w.cloud
                .client::<aws_sdk_ecs::Client>()
                .delete_service()
                .cluster(&w.cluster)
                .service(&w.worker_service)
                .force(true)
                .send(),
        )
        .unwrap();
    let run = w.run(&["status", "-s", STACK, "-e", DEV]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stdout,
        &[
            "✗ email-service/database",
            "instance is stopped",
            "✗ email-service/queue",
            "not found",
            "does not exist",
            "✗ delivery-service/worker",
        ],
    );
    let json = w
        .run(&["status", "-s", STACK, "-e", DEV, "--output", "json"])
        .json();
    assert_eq!(json["healthy"], false);
    let run = w.run(&["status", "--all", "--output", "markdown"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stdout,
        &[
            "### Status: 1 of 3 targets unhealthy",
            "| notification-platform / development | #1 | unhealthy | ",
            "email-service/database: instance is stopped",
        ],
    );
}

/// moto has no ECS service deployments: the fault proxy in front of it serves
/// them (tests/support/fault_proxy.py), with the fields of the Amazon ECS API
/// Reference's `ServiceDeployment` (and `ServiceRevisionSummary`,
/// `ServiceDeploymentAlarms`, `Rollback`, `DeploymentConfiguration`).
#[test]
fn status_shows_a_rollout_in_progress_and_a_deployment_ecs_rolled_back() {
    let w = world();
    let proxy = FaultProxy::start();
    let mut env = w.backend.env();
    env.retain(|(k, _)| k != "AWS_ENDPOINT_URL");
    env.push(("AWS_ENDPOINT_URL".into(), proxy.endpoint()));
    let now = deployer::backend::now() as f64;
    let deployment = |status: &str, stage: &str, traffic: f64| {
        serde_json::json!({
            "serviceDeploymentArn": format!("arn:aws:ecs:us-east-1:123456789012:service-deployment/{}/{}/d1", w.cluster, w.api_service),
            "serviceArn": format!("arn:aws:ecs:us-east-1:123456789012:service/{}/{}", w.cluster, w.api_service),
            "status": status,
            "lifecycleStage": stage,
            "startedAt": now - 900.0,
            "updatedAt": now - 180.0,
            "targetServiceRevision": {"arn": "r2", "requestedTaskCount": 2, "runningTaskCount": 2, "pendingTaskCount": 0, "requestedProductionTrafficWeight": traffic},
            "deploymentConfiguration": {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 10},
        })
    };
    proxy.ecs_deployments(serde_json::json!({"deployments": [
        {"service": w.api_service, "snapshots": [deployment("IN_PROGRESS", "BAKE_TIME", 100.0)]},
    ]}));
    let run = w.repo.run_with(&["status", "-s", STACK, "-e", DEV], &env);
    assert_eq!(
        run.code,
        0,
        "a rollout in progress is no failure: {}",
        run.all()
    );
    assert_contains(
        &run.stdout,
        &[
            "blue/green, baking 10m: BAKE_TIME, 100% of traffic on the new revision, 7m of the bake left",
        ],
    );
    let api = run
        .stdout
        .lines()
        .find(|l| l.contains("email-service/api"))
        .unwrap();
    assert!(api.starts_with("⚠"), "{api}");
    let json = w
        .repo
        .run_with(
            &["status", "-s", STACK, "-e", DEV, "--output", "json"],
            &env,
        )
        .json();
    assert_documented_shape("status", &json);
    let details = &json["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["component"] == "email-service/api")
        .unwrap()["details"]["deployment"];
    assert_eq!(details["stage"], "BAKE_TIME");
    assert_eq!(details["strategy"], "BLUE_GREEN");

    let mut rolled_back = deployment("ROLLBACK_SUCCESSFUL", "CLEAN_UP", 0.0);
    rolled_back["alarms"] = serde_json::json!({"status": "TRIGGERED", "alarmNames": ["api-5xx"], "triggeredAlarmNames": ["api-5xx"]});
    rolled_back["finishedAt"] = serde_json::json!(now);
    proxy.ecs_deployments(serde_json::json!({"deployments": [
        {"service": w.api_service, "snapshots": [rolled_back]},
    ]}));
    let run = w.repo.run_with(&["status", "-s", STACK, "-e", DEV], &env);
    assert_contains(
        &run.stdout,
        &["ECS rolled back the last deployment (blue/green, baking 10m): alarm api-5xx in ALARM"],
    );
}

#[test]
fn status_without_a_release_says_how_to_deploy() {
    let backend = AwsBackend::on(moto::moto());
    let repo = TestRepo::example();
    let run = repo.run_with(&["status", "-s", STACK, "-e", "staging"], &backend.env());
    assert_eq!(run.code, 1);
    assert_contains(
        &run.stderr,
        &[
            "nothing of notification-platform is deployed in staging yet",
            "deployer apply --stack notification-platform --environment staging",
        ],
    );
}

#[test]
fn logs_show_lines_with_since_and_filter() {
    let w = world();
    let now = now_ms();
    w.put_logs(
        &w.api_logs,
        &[
            (now - 30 * 60_000, "INFO an old line"),
            (now - 3_000, "INFO Starting email-api v1.0.1"),
            (now - 2_000, "INFO Connected to database"),
            (now - 1_000, "ERROR Server listening failed on :8080"),
        ],
    );
    // Deployed in staging too: the environment is inferred as every command
    // infers it (development), not refused as ambiguous.
    let staging = w.repo.compiled(STACK, "staging", "v1.0.1");
    record_release(&w.backend.open(), "staging", &staging, &BTreeMap::new());
    let run = w.run(&["logs", "--component", "email-service/api"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "notification-platform / development (stack: only stack; environment: development environment)",
        ],
    );
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines.len(),
        3,
        "the default --since 10m leaves the old line out:\n{}",
        run.stdout
    );
    let time = jiff::Timestamp::from_millisecond(now - 3_000)
        .unwrap()
        .strftime("%Y-%m-%d %H:%M:%S")
        .to_string();
    assert_eq!(lines[0], format!("{time} INFO Starting email-api v1.0.1"));
    assert!(lines[2].ends_with("ERROR Server listening failed on :8080"));
    let run = w.run(&["logs", "-c", "email-service/api", "--since", "1h"]);
    assert_eq!(run.stdout.lines().count(), 4);
    let run = w.run(&["logs", "-c", "email-service/api", "--filter", "ERROR"]);
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
    assert!(run.stdout.contains("ERROR Server listening failed"));
}

#[test]
fn logs_of_several_components_are_interleaved_with_a_prefix() {
    let w = world();
    let now = now_ms();
    w.put_logs(
        &w.api_logs,
        &[(now - 3_000, "api first"), (now - 1_000, "api third")],
    );
    w.put_logs(&w.worker_logs, &[(now - 2_000, "worker second")]);
    let run = w.run(&[
        "logs",
        "-c",
        "email-service/api",
        "-c",
        "delivery-service/worker",
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 3);
    assert!(lines[0].starts_with("[email-service/api]") && lines[0].ends_with("api first"));
    assert!(
        lines[1].starts_with("[delivery-service/worker]") && lines[1].ends_with("worker second")
    );
    assert!(lines[2].ends_with("api third"));
}

#[test]
fn logs_follow_picks_up_new_lines_without_repeating_any() {
    let w = world();
    let now = now_ms();
    w.put_logs(&w.api_logs, &[(now - 1_000, "before start")]);
    let mut child = w
        .repo
        .command(
            &["logs", "-c", "email-service/api", "--follow"],
            &w.backend.env(),
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let mut seen = Vec::new();
    let wait_for = |text: &str, seen: &mut Vec<String>| {
        let deadline = Instant::now() + Duration::from_secs(40);
        while !seen.iter().any(|l| l.ends_with(text)) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "`{text}` never came; saw {seen:?}");
            if let Ok(line) = rx.recv_timeout(left) {
                seen.push(line);
            }
        }
    };
    wait_for("before start", &mut seen);
    for i in 1..=3 {
        w.put_logs(&w.api_logs, &[(now_ms(), &format!("new line {i}"))]);
        wait_for(&format!("new line {i}"), &mut seen);
    }
    // A few more polls: still nothing repeated.
    std::thread::sleep(Duration::from_secs(3));
    while let Ok(line) = rx.try_recv() {
        seen.push(line);
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert!(
        child.wait().unwrap().success(),
        "Ctrl+C ends --follow cleanly"
    );
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), seen.len(), "a line was shown twice: {seen:?}");
    assert_eq!(seen.len(), 4, "{seen:?}");
}

#[test]
fn logs_errors_say_what_to_do() {
    let w = world();
    // The only stack is the one (as every command infers it); its release
    // has no such component.
    let run = w.run(&["logs", "-c", "email-service/apii"]);
    assert_eq!(run.code, 2);
    assert_contains(
        &run.stderr,
        &[
            "has no component `email-service/apii`",
            "did you mean `email-service/api`?",
            "components: delivery-service/worker, email-service/api, email-service/cache, email-service/database, email-service/queue",
        ],
    );
    let run = w.run(&["logs", "-c", "email-service/database"]);
    assert_eq!(run.code, 2);
    assert_contains(
        &run.stderr,
        &["is a rds component; only microservices write logs to CloudWatch"],
    );
    w.cloud
        .block_on(
            w.cloud
                .client::<aws_sdk_cloudwatchlogs::Client>()
                .delete_log_group()
                .log_group_name(&w.api_logs)
                .send(),
        )
        .unwrap();
    let run = w.run(&["logs", "-c", "email-service/api"]);
    assert_eq!(run.code, 1);
    assert_contains(
        &run.stderr,
        &["does not exist yet: the service has not started since it was deployed"],
    );
}

/// `cost --actual` reads Cost Explorer (moto serves the results queued to it,
/// as `GetCostAndUsage` returns them: `ResultsByTime`, each with `Groups` of
/// tag keys written `KEY$VALUE` and `Metrics`), grouped by deployer's tags.
#[test]
fn cost_actual_reads_what_aws_billed_by_deployers_tags() {
    let repo = TestRepo::example();
    let server = moto::moto();
    let group = |service: &str, component: &str, amount: &str| {
        serde_json::json!({
            "Keys": [format!("deployer:service${service}"), format!("deployer:component${component}")],
            "Metrics": {"UnblendedCost": {"Amount": amount, "Unit": "USD"}},
        })
    };
    let results = serde_json::json!({"results": [{
        "ResultsByTime": [
            {
                "TimePeriod": {"Start": "2026-11-02", "End": "2026-12-01"},
                "Total": {},
                "Groups": [
                    group("email-service", "api", "8.25"),
                    group("email-service", "database", "12.40"),
                    group("_stack", "_alb", "15.10"),
                ],
                "Estimated": false,
            },
            {
                "TimePeriod": {"Start": "2026-12-01", "End": "2026-12-02"},
                "Total": {},
                "Groups": [group("email-service", "api", "0.30"), group("", "", "1.00")],
                "Estimated": true,
            },
        ],
        "DimensionValueAttributes": [],
    }]});
    let posted = std::process::Command::new("python3")
        .arg("-c")
        .arg("import sys, urllib.request; urllib.request.urlopen(urllib.request.Request(sys.argv[1], data=sys.argv[2].encode(), headers={'Content-Type': 'application/json'}))")
        .arg(format!("{}/moto-api/static/ce/cost-and-usage-results", server.endpoint()))
        .arg(results.to_string())
        .status()
        .unwrap();
    assert!(posted.success());
    let env = moto::aws_env(&server.endpoint());
    let run = repo.run_with(
        &[
            "cost", "-s", STACK, "-e", DEV, "--actual", "--since", "30d", "--output", "json",
        ],
        &env,
    );
    assert_eq!(run.code, 0, "{}", run.all());
    let actual = &run.json()["environments"][0]["actual"];
    let amount = |c: &str| actual["components"][c].as_f64().unwrap();
    assert!(
        (amount("email-service/api") - 8.55).abs() < 1e-9,
        "{actual}"
    );
    assert!((amount("email-service/database") - 12.40).abs() < 1e-9);
    assert!((amount("_stack") - 15.10).abs() < 1e-9);
    assert!((amount("untagged") - 1.00).abs() < 1e-9);
    assert!((actual["total"].as_f64().unwrap() - 37.05).abs() < 1e-9);
    assert_eq!(actual["estimated"], true);
    let days = |date: &str| date.parse::<jiff::civil::Date>().unwrap();
    assert_eq!(
        (days(actual["end"].as_str().unwrap()) - days(actual["start"].as_str().unwrap()))
            .get_days(),
        30
    );
}

/// `cost --refresh-prices` asks the AWS Price List Query API for every number
/// of the table (moto has no Price List: the fault proxy answers
/// `GetProducts` with price list items shaped as the API's), keeps and names
/// what no product matches, and the table it writes is what `DEPLOYER_PRICES`
/// prices with.
#[test]
fn refresh_prices_asks_the_price_list_and_prices_with_the_new_table() {
    let repo = TestRepo::example();
    let proxy = FaultProxy::start();
    let virginia = "US East (N. Virginia)";
    proxy.price_list(serde_json::json!([
        {"serviceCode": "AmazonECS", "productFamily": "Compute", "attributes": {"location": virginia, "usagetype": "USE1-Fargate-vCPU-Hours:perCPU", "operatingSystem": "Linux"}, "usd": "0.0500000000"},
        {"serviceCode": "AWSELB", "productFamily": "Load Balancer-Application", "attributes": {"location": virginia, "usagetype": "USE1-LoadBalancerUsage"}, "usd": "0.0300000000"},
        {"serviceCode": "AmazonECS", "productFamily": "Compute", "attributes": {"location": "EU (Frankfurt)", "usagetype": "EUC1-Fargate-vCPU-Hours:perCPU"}, "usd": "0.9000000000"},
    ]));
    let env = moto::aws_env(&proxy.endpoint());
    let out = repo.file("prices.json");
    let run = repo.run_with(
        &["cost", "--refresh-prices", "--out", out.to_str().unwrap()],
        &env,
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "us-east-1: Fargate arm64 vCPU-hour: no product matched; kept 0.03238",
            "Wrote the price table to",
            "use it with DEPLOYER_PRICES=",
        ],
    );
    let table: serde_json::Value = serde_json::from_str(&repo.read("prices.json")).unwrap();
    let region = &table["regions"]["us-east-1"];
    assert_eq!(region["fargate"]["x86_64"]["vcpu_hour"], 0.05);
    assert_eq!(region["load_balancer"]["application_hour"], 0.03);
    assert_eq!(region["fargate"]["arm64"]["vcpu_hour"], 0.03238, "kept");
    assert_eq!(
        table["as_of"].as_str().unwrap(),
        &deployer::backend::timestamp(deployer::backend::now())[..10]
    );
    let log = proxy.log();
    assert!(
        log.lines()
            .any(|l| l.contains("AWSPriceListService.GetProducts")
                && l.contains("\"Type\":\"TERM_MATCH\"")
                && l.contains("USE1-Fargate-vCPU-Hours:perCPU")),
        "{log}"
    );

    let mut priced = env.clone();
    priced.push(("DEPLOYER_PRICES".into(), out.display().to_string()));
    let run = repo.run_with(
        &["cost", "-s", STACK, "-e", DEV, "--output", "json"],
        &priced,
    );
    assert_eq!(run.code, 0, "{}", run.all());
    let api = run.json()["environments"][0]["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["component"] == "email-service/api")
        .unwrap()
        .clone();
    let expected = (0.25 * 0.05 + 0.5 * 0.004445) * 730.0;
    assert!(
        (api["monthly"]["low"].as_f64().unwrap() - expected).abs() < 0.01,
        "{api}"
    );

    // A table that is not one is an error naming it, never a silent fallback.
    repo.write("prices.json", "{\"currency\": \"USD\"}");
    let run = repo.run_with(&["cost", "-s", STACK, "-e", DEV], &priced);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(&run.stderr, &["DEPLOYER_PRICES:", "is not a price table"]);
}
