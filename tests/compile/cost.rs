//! `deployer cost`: each figure recomputed here from the list prices AWS
//! publishes (us-east-1, on-demand, 730 hours), independently of
//! pricing/aws.json; usage-based costs named, never $0; what the table cannot
//! price said, never guessed.

use super::API;
use crate::common::*;
use serde_json::Value;

const HOURS: f64 = 730.0;
const DATABASE: &str =
    "stacks/notification-platform/services/email-service/components/database/rds.yaml";

fn cost(repo: &TestRepo, env: &str) -> Value {
    let run = repo.run(&["cost", "-s", STACK, "-e", env, "--output", "json"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let json = run.json();
    assert_documented_shape("cost", &json);
    json["environments"][0].clone()
}

fn component<'a>(estimate: &'a Value, name: &str) -> &'a Value {
    estimate["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["component"] == name)
        .unwrap_or_else(|| panic!("no {name} in {estimate:#}"))
}

fn close(actual: &Value, expected: f64) {
    let actual = actual.as_f64().unwrap();
    assert!(
        (actual - expected).abs() < 0.01,
        "{actual} is not {expected:.4}"
    );
}

#[test]
fn fargate_databases_and_caches_are_priced_at_list_prices() {
    let repo = TestRepo::example();
    let production = cost(&repo, "production");
    assert_eq!(production["region"], "us-east-1");
    // email-service/api: 0.5 vCPU and 1 GB on x86_64 (us-east-1 Linux/x86:
    // $0.04048 per vCPU-hour, $0.004445 per GB-hour), 3 to 12 tasks.
    let per_task = (0.5 * 0.04048 + 1.0 * 0.004445) * HOURS;
    let api = component(&production, "email-service/api");
    let fargate = &api["lines"][api["lines"]
        .as_array()
        .unwrap()
        .iter()
        .position(|l| l["what"].as_str().unwrap().starts_with("Fargate"))
        .unwrap()];
    assert_eq!(
        fargate["what"],
        "Fargate: 3–12 tasks × 0.5 vCPU, 1 GB (x86_64)"
    );
    close(&fargate["monthly"]["low"], 3.0 * per_task);
    close(&fargate["monthly"]["high"], 12.0 * per_task);
    // db.r6g.large PostgreSQL $0.225 an hour and 100 GB gp3 at $0.115 a
    // GB-month, both doubled by Multi-AZ.
    let database = component(&production, "email-service/database");
    close(
        &database["monthly"]["low"],
        2.0 * (0.225 * HOURS + 0.115 * 100.0),
    );
    // Three cache.r7g.large Valkey nodes at $0.1752 an hour (20 % below Redis OSS).
    let cache = component(&production, "email-service/cache");
    close(&cache["monthly"]["low"], 3.0 * 0.1752 * HOURS);
    assert_eq!(
        component(&production, "email-service/queue")["lines"][0]["priced"],
        "usage_based"
    );
    let usage: Vec<&str> = production["usage_based"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap())
        .collect();
    assert!(
        usage.contains(&"SQS requests") && usage.contains(&"data transfer"),
        "{usage:?}"
    );

    // Graviton: $0.03238 per vCPU-hour and $0.00356 per GB-hour.
    repo.edit(
        &format!("{API}/infra.yaml"),
        "    cpu: 256\n",
        "    cpu: 256\n    architecture: arm64\n",
    );
    let development = cost(&repo, "development");
    let api = component(&development, "email-service/api");
    assert_eq!(
        api["lines"][0]["what"],
        "Fargate: 1 task × 0.25 vCPU, 0.5 GB (arm64)"
    );
    close(
        &api["lines"][0]["monthly"]["low"],
        (0.25 * 0.03238 + 0.5 * 0.00356) * HOURS,
    );

    let run = repo.run(&["cost", "-s", STACK, "-e", "production"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(
        &run.stdout,
        &[
            "notification-platform / production: $824.29 – $1,040.53 a month (estimated, us-east-1)",
            "    RDS db.r6g.large postgres, Multi-AZ, 100 GB gp3",
            "  email-service/queue",
            "SQS requests",
            "usage-based, not estimated",
        ],
    );
    let queue = run
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("email-service/queue"))
        .unwrap();
    assert!(queue.ends_with("usage-based"), "never $0: {queue}");
}

#[test]
fn what_the_price_table_lacks_is_said_not_guessed() {
    let repo = TestRepo::example();
    repo.edit(
        DATABASE,
        "extends: shared/presets/postgres.yaml\n",
        "extends: shared/presets/postgres.yaml\ninstance_class: db.x2g.large\n",
    );
    let development = cost(&repo, "development");
    let database = component(&development, "email-service/database");
    assert_eq!(database["lines"][0]["priced"], "unknown");
    assert_eq!(
        database["lines"][0]["why"],
        "no price for db.x2g.large (postgres) in pricing/aws.json"
    );
    assert_eq!(database["monthly"]["low"], 0.0);
    assert_contains(
        &development["unknown"].to_string(),
        &["email-service/database: no price for db.x2g.large"],
    );
    let run = repo.run(&["cost", "-s", STACK, "-e", "development"]);
    assert_contains(
        &run.stdout,
        &["not estimated: no price for db.x2g.large (postgres)"],
    );

    repo.edit(
        "stacks/notification-platform/stack.yaml",
        "region: us-east-1",
        "region: eu-central-2",
    );
    let development = cost(&repo, "development");
    assert_eq!(development["monthly"]["high"], 0.0);
    assert_contains(
        &development["unknown"].to_string(),
        &["no prices for region eu-central-2 in pricing/aws.json"],
    );
}
