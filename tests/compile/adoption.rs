//! `adopt:` in stack.yaml as a user meets it: the environment's program
//! imports the named resources (Pulumi's `import` option, accepted by the
//! provider checker), only that environment's, and a name the program does
//! not declare is an error at its line; sqs.yaml's `queue_name` and rds.yaml's
//! `identifier` keep an adopted store's names, and the environment's
//! `cluster` and microservice.yaml's `service_name` a running cluster's and
//! service's.

use super::{passes_the_provider_checker, show, validate};
use crate::common::*;

const STACK_FILE: &str = "stacks/notification-platform/stack.yaml";
const QUEUE: &str = "stacks/notification-platform/services/email-service/components/queue/sqs.yaml";
const URL: &str = "https://sqs.us-east-1.amazonaws.com/111111111111/legacy-email-queue";

fn adopt(repo: &TestRepo, entries: &str) {
    repo.edit(
        STACK_FILE,
        "    aliases: [dev]\n",
        &format!("    aliases: [dev]\n    adopt:\n{entries}"),
    );
}

#[test]
fn an_adopted_queue_is_imported_by_its_environment_under_the_name_it_has() {
    let repo = TestRepo::example();
    adopt(&repo, &format!("      email-service-queue-queue: {URL}\n"));
    repo.write(
        QUEUE,
        format!(
            "{}environments:\n  development:\n    queue_name: legacy-email-queue\n",
            repo.read(QUEUE)
        ),
    );
    let run = show(&repo, "development");
    assert_eq!(run.code, 0, "{}", run.all());
    let program = deployer::load::yaml::to_json(&run.stdout).unwrap();
    let queue = &program["resources"]["email-service-queue-queue"];
    assert_eq!(queue["options"]["import"], URL);
    assert_eq!(queue["properties"]["name"], "legacy-email-queue");
    // Nothing else is imported, and no other environment imports it.
    let imports = program["resources"]
        .as_object()
        .unwrap()
        .values()
        .filter(|r| r["options"].get("import").is_some())
        .count();
    assert_eq!(imports, 1);
    let staging = deployer::load::yaml::to_json(&show(&repo, "staging").stdout).unwrap();
    assert!(
        staging["resources"]["email-service-queue-queue"]["options"]
            .get("import")
            .is_none()
    );

    passes_the_provider_checker(&repo, "development");
}

#[test]
fn adopting_a_resource_the_program_does_not_declare_is_an_error_at_its_line() {
    let repo = TestRepo::example();
    adopt(&repo, &format!("      email-service-queue-queu: {URL}\n"));
    let run = validate(&repo);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "error[invalid-adoption]: `development` adopts `email-service-queue-queu`, which its program does not declare",
            "stack.yaml:22",
            "email-service-queue-queue",
        ],
    );
}

#[test]
fn a_queue_name_must_say_fifo_exactly_when_the_queue_is() {
    let repo = TestRepo::example();
    repo.write(
        QUEUE,
        format!("{}queue_name: legacy-email-queue.fifo\n", repo.read(QUEUE)),
    );
    let run = validate(&repo);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "`legacy-email-queue.fifo` ends in `.fifo`, which SQS keeps for FIFO queues",
            "sqs.yaml:6",
        ],
    );
}

#[test]
fn an_adopted_cluster_and_service_keep_the_names_they_run_under() {
    let repo = TestRepo::example();
    repo.edit(
        STACK_FILE,
        "    aliases: [dev]\n",
        "    aliases: [dev]\n    cluster: legacy-dev-Cluster-1A2B\n    adopt:\n      cluster: legacy-dev-Cluster-1A2B\n      delivery-service-worker-service: legacy-dev-Cluster-1A2B/legacy-worker\n",
    );
    let worker = "stacks/notification-platform/services/delivery-service/components/worker/microservice.yaml";
    repo.write(
        worker,
        format!(
            "{}environments:\n  development:\n    service_name: legacy-worker\n    keep_service_registry:\n      registry_arn: arn:aws:servicediscovery:us-east-1:111111111111:service/srv-utcrh6wavdkggqtk\n      container_port: 8080\n",
            repo.read(worker)
        ),
    );
    let run = show(&repo, "development");
    assert_eq!(run.code, 0, "{}", run.all());
    let program = deployer::load::yaml::to_json(&run.stdout).unwrap();
    let cluster = &program["resources"]["cluster"];
    assert_eq!(cluster["properties"]["name"], "legacy-dev-Cluster-1A2B");
    assert_eq!(cluster["options"]["import"], "legacy-dev-Cluster-1A2B");
    let service = &program["resources"]["delivery-service-worker-service"];
    assert_eq!(service["properties"]["name"], "legacy-worker");
    assert_eq!(
        service["options"]["import"],
        "legacy-dev-Cluster-1A2B/legacy-worker"
    );
    // The service runs in the adopted cluster, which its other users name too,
    // and stays registered where it was, by the component's container.
    assert_eq!(service["properties"]["cluster"], "${cluster.arn}");
    assert_eq!(
        service["properties"]["serviceRegistries"],
        serde_json::json!({
            "registryArn": "arn:aws:servicediscovery:us-east-1:111111111111:service/srv-utcrh6wavdkggqtk",
            "containerName": "worker",
            "containerPort": 8080
        })
    );
    // Other environments keep deployer's names.
    let staging = deployer::load::yaml::to_json(&show(&repo, "staging").stdout).unwrap();
    assert_eq!(
        staging["resources"]["cluster"]["properties"]["name"],
        "notification-platform-staging"
    );
    assert_eq!(
        staging["resources"]["delivery-service-worker-service"]["properties"]["name"],
        "delivery-service-worker"
    );

    passes_the_provider_checker(&repo, "development");
}

#[test]
fn a_service_name_aws_refuses_is_an_error_at_its_line() {
    let repo = TestRepo::example();
    let worker = "stacks/notification-platform/services/delivery-service/components/worker/microservice.yaml";
    repo.write(
        worker,
        format!("{}service_name: legacy worker!\n", repo.read(worker)),
    );
    let run = validate(&repo);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(&run.stderr, &["microservice.yaml:", "service_name"]);
}

#[test]
fn an_adopted_database_keeps_the_security_groups_it_is_reached_through() {
    let repo = TestRepo::example();
    let database =
        "stacks/notification-platform/services/email-service/components/database/rds.yaml";
    repo.edit(
        database,
        "environments:\n",
        "environments:\n  development:\n    keep_security_groups: [sg-0a1b2c3d4e5f60001]\n",
    );
    let run = show(&repo, "development");
    assert_eq!(run.code, 0, "{}", run.all());
    let program = deployer::load::yaml::to_json(&run.stdout).unwrap();
    assert_eq!(
        program["resources"]["email-service-database-instance"]["properties"]["vpcSecurityGroupIds"],
        serde_json::json!(["${email-service-database-sg.id}", "sg-0a1b2c3d4e5f60001"])
    );
    passes_the_provider_checker(&repo, "development");

    // Only a security group's id.
    repo.edit(database, "sg-0a1b2c3d4e5f60001", "default");
    let run = validate(&repo);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(&run.stderr, &["rds.yaml:", "keep_security_groups"]);
}

/// An adopted load balancer keeps its name and, beside deployer's own
/// group, the security groups its targets admit requests from; an adopted
/// target group keeps its name. Another environment keeps deployer's
/// autonaming. A name AWS would refuse is an error at its line.
#[test]
fn an_adopted_load_balancer_and_target_group_keep_their_names() {
    let repo = TestRepo::example();
    let stack = "stacks/notification-platform/stack.yaml";
    repo.edit(
        stack,
        "  development:\n    aliases: [dev]\n",
        "  development:\n    aliases: [dev]\n    load_balancers:\n      public:\n        name: shop-Publi-1XD8QJ0ZQ6R7M\n        keep_security_groups: [sg-0a1b2c3d4e5f60009]\n",
    );
    let api =
        "stacks/notification-platform/services/email-service/components/api/microservice.yaml";
    repo.edit(
        api,
        "environments:\n",
        "environments:\n  development:\n    target_group_name: shop-Targe-1N2B4J6K8M0P\n    expose:\n      priority: 7\n      stickiness: true\n      deregistration_delay_seconds: 60\n",
    );
    let run = show(&repo, "development");
    assert_eq!(run.code, 0, "{}", run.all());
    let program = deployer::load::yaml::to_json(&run.stdout).unwrap();
    let balancer = &program["resources"]["public-alb"]["properties"];
    assert_eq!(balancer["name"], "shop-Publi-1XD8QJ0ZQ6R7M");
    assert_eq!(
        balancer["securityGroups"],
        serde_json::json!(["${public-alb-sg.id}", "sg-0a1b2c3d4e5f60009"])
    );
    let group = &program["resources"]["email-service-api-tg"]["properties"];
    assert_eq!(group["name"], "shop-Targe-1N2B4J6K8M0P");
    assert_eq!(group["deregistrationDelay"], 60);
    assert_eq!(group["stickiness"]["type"], "lb_cookie");
    // The overlay's `expose.priority` is merged into the preset's `expose`.
    let route = &program["resources"]["email-service-api-route"]["properties"];
    assert_eq!(route["priority"], 7);
    assert_eq!(
        route["conditions"][0]["pathPattern"]["values"][0],
        "/email/*"
    );
    passes_the_provider_checker(&repo, "development");
    let run = show(&repo, "staging");
    let staging = deployer::load::yaml::to_json(&run.stdout).unwrap();
    assert!(staging["resources"]["public-alb"]["properties"]["name"].is_null());
    assert!(staging["resources"]["email-service-api-tg"]["properties"]["name"].is_null());

    repo.edit(
        stack,
        "name: shop-Publi-1XD8QJ0ZQ6R7M",
        "name: -not-a-name-",
    );
    let run = validate(&repo);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(&run.stderr, &["stack.yaml:", "name"]);
}
