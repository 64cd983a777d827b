//! `deployer plan` and `apply --plan`: what is deployed is exactly what was
//! reviewed, or nothing.

use super::*;

pub(super) fn plan(repo: &TestRepo, environment: &str, version: &str, out: &Path) -> Run {
    let var = format!("VERSION={version}");
    repo.run_with(
        &[
            "plan",
            "-s",
            STACK,
            "-e",
            environment,
            "--var",
            &var,
            "--out",
            out.to_str().unwrap(),
        ],
        &pulumi_env(repo),
    )
}

pub(super) fn apply_plan(repo: &TestRepo, plan: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["apply", "--plan", plan.to_str().unwrap()];
    args.extend_from_slice(extra);
    repo.run_with(&args, &pulumi_env(repo))
}

#[test]
fn a_reviewed_plan_is_applied_as_planned() {
    let repo = TestRepo::example();
    let file = repo.file("plan.json");
    let run = plan(&repo, "production", "v1.0.0", &file);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "to create, 0 to update",
            "Planned against no release yet",
            "deployer apply --plan",
        ],
    );
    no_lock_left(&repo);
    assert_eq!(
        history(&repo, "production").as_array().unwrap().len(),
        0,
        "a plan deploys nothing"
    );
    let saved: serde_json::Value = serde_json::from_str(&repo.read("plan.json")).unwrap();
    assert_eq!(saved["variables"]["VERSION"], "v1.0.0");
    assert_eq!(saved["base_release"], serde_json::Value::Null);
    // In production, --auto-approve with a reviewed plan is the approval.
    let run = apply_plan(&repo, &file, &["--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let release = &history(&repo, "production")[0];
    assert_eq!(release["variables"]["VERSION"], "v1.0.0");
    assert!(
        release["plan_hash"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    assert_eq!(release["planned_by"], "tester@example.com");
    assert_eq!(release["who"], "tester@example.com");
    assert_contains(
        release["approved_by"].as_str().unwrap(),
        &[
            "(reviewed plan, planned by tester@example.com as the plan file claims; applied with --auto-approve)",
        ],
    );
    // As a pull-request comment: the marker a CI step updates, then the summary.
    let run = repo.run_with(
        &[
            "plan",
            "-s",
            STACK,
            "-e",
            "production",
            "--var",
            "VERSION=v1.0.1",
            "--output",
            "markdown",
        ],
        &pulumi_env(&repo),
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout.starts_with("<!-- deployer:plan notification-platform/production -->\n### deployer plan: notification-platform / production \u{2014} 0 to create, 2 to update, 2 to replace, 0 to delete\n\nPlanned against release #1"),
        "{}",
        run.stdout
    );
    assert_contains(
        &run.stdout,
        &[
            "<details><summary>email-service/api \u{2014} 1 to replace, 1 to update</summary>",
            "| `email-service-api-task` | replace |",
            "| `email-service-api-service` | update |",
        ],
    );
    // Planned again a second later with nothing changed: the same bytes (the
    // plan id is a hash of what was planned, not of when).
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let again = repo.run_with(
        &[
            "plan",
            "-s",
            STACK,
            "-e",
            "production",
            "--var",
            "VERSION=v1.0.1",
            "--output",
            "markdown",
        ],
        &pulumi_env(&repo),
    );
    assert_eq!(again.stdout, run.stdout);
    // The plan fixes the variables.
    let run = apply_plan(&repo, &file, &["--var", "VERSION=v9.9.9"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(&run.stderr, &["the plan fixes VERSION=v1.0.0"]);
}

#[test]
fn a_plan_is_refused_when_anything_changed_since() {
    let repo = TestRepo::example();
    assert_eq!(apply(&repo, DEV, "v1.0.0", &[], &[]).code, 0);
    let file = repo.file("plan.json");
    // A file changed after planning.
    assert_eq!(plan(&repo, DEV, "v1.0.1", &file).code, 0);
    repo.edit(
        "stacks/notification-platform/services/email-service/components/api/configs/app.yaml",
        "retry_limit: 3",
        "retry_limit: 4",
    );
    let run = apply_plan(&repo, &file, &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "differs from the reviewed plan's",
            "a file changed since it was planned",
            "nothing was changed",
        ],
    );
    git_free_reset(&repo);
    // Another release landed first.
    assert_eq!(plan(&repo, DEV, "v1.0.1", &file).code, 0);
    assert_eq!(apply(&repo, DEV, "v1.0.2", &[], &[]).code, 0);
    let run = apply_plan(&repo, &file, &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stderr,
        &["the plan was made against release #1, and release #2 has landed since"],
    );
    // The preview no longer matches what was planned (here: a plan edited by hand).
    assert_eq!(plan(&repo, DEV, "v1.0.3", &file).code, 0);
    let text = repo
        .read("plan.json")
        .replacen("\"update\"", "\"replace\"", 1);
    repo.write("plan.json", text);
    let run = apply_plan(&repo, &file, &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "the preview no longer matches the reviewed plan",
            "was planned to replace, and would now update",
        ],
    );
    let statuses: Vec<String> = history(&repo, DEV)
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        statuses,
        ["succeeded", "succeeded"],
        "nothing was deployed by a refused plan"
    );
    no_lock_left(&repo);
}

/// Undo the edit of the first case without git: the example's file as shipped.
fn git_free_reset(repo: &TestRepo) {
    let rel = "stacks/notification-platform/services/email-service/components/api/configs/app.yaml";
    let original =
        std::fs::read_to_string(crate_dir().join("examples/deployment-repo").join(rel)).unwrap();
    repo.write(rel, original);
}

#[test]
fn twenty_plan_then_apply_cycles_never_refuse_falsely() {
    let repo = TestRepo::example();
    let file = repo.file("plan.json");
    for cycle in 0..20 {
        // Half the cycles change something, half change nothing.
        let version = format!("v1.0.{}", cycle / 2);
        let run = plan(&repo, DEV, &version, &file);
        assert_eq!(run.code, 0, "cycle {cycle}: {}", run.all());
        let run = apply_plan(&repo, &file, &[]);
        assert_eq!(run.code, 0, "cycle {cycle}: {}", run.all());
    }
    assert_eq!(history(&repo, DEV).as_array().unwrap().len(), 10);
}

/// A CI job's share of `affected --max-jobs`: `plan --targets` plans each
/// target in turn (one that fails does not stop the others) and saves each
/// plan with its comment; `apply --plan A --plan B` applies them in turn and
/// stops at the first refused, naming what it did not apply.
#[test]
fn a_group_is_planned_and_applied_in_turn() {
    let repo = TestRepo::example();
    repo.write(
        "targets.json",
        format!(
            r#"{{"name": "job", "targets": [
                {{"stack": "{STACK}", "environment": "staging", "change": "added", "why": []}},
                {{"stack": "{STACK}", "environment": "nowhere", "change": "added", "why": []}},
                {{"stack": "{STACK}", "environment": "production", "change": "added", "why": []}}
            ]}}"#
        ),
    );
    let plans = repo.file("plans");
    let run = repo.run_with(
        &[
            "plan",
            "--targets",
            repo.file("targets.json").to_str().unwrap(),
            "--var",
            "VERSION=v1.0.0",
            "--out",
            plans.to_str().unwrap(),
        ],
        &pulumi_env(&repo),
    );
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "[1/3] notification-platform / staging",
            "[3/3] notification-platform / production",
            "has no environment `nowhere`",
            "Planned 2 of 3 targets: 2 with changes, 0 up to date; 1 failed: notification-platform / nowhere",
        ],
    );
    for environment in ["staging", "production"] {
        let comment = repo.read(&format!("plans/plan-{STACK}-{environment}.md"));
        assert!(
            comment.starts_with(&format!("<!-- deployer:plan {STACK}/{environment} -->\n")),
            "{comment}"
        );
    }
    assert!(
        !repo
            .file(&format!("plans/plan-{STACK}-nowhere.json"))
            .exists()
    );
    let staging = plans.join(format!("plan-{STACK}-staging.json"));
    let production = plans.join(format!("plan-{STACK}-production.json"));
    let both = |first: &Path, second: &Path| {
        repo.run_with(
            &[
                "apply",
                "--plan",
                first.to_str().unwrap(),
                "--plan",
                second.to_str().unwrap(),
                "--auto-approve",
            ],
            &pulumi_env(&repo),
        )
    };
    let run = both(&staging, &production);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(&run.stderr, &["[2/2]", "Applied 2 plans"]);
    for environment in ["staging", "production"] {
        assert_eq!(history(&repo, environment).as_array().unwrap().len(), 1);
    }
    // Planned against no release, the staging plan is refused now: nothing
    // after it is applied.
    let run = both(&staging, &production);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "Applied 0 of 2 plans; stopped at",
            &format!("not applied: {}", production.display()),
        ],
    );
    assert!(!run.stderr.contains("[2/2]"), "{}", run.all());
    assert_eq!(history(&repo, "production").as_array().unwrap().len(), 1);
}

/// Every plan carries what it does to the estimated monthly cost, against the
/// deployed release's program: in its text, its pull-request comment, its
/// JSON, and in `apply`'s preview.
#[test]
fn a_plan_says_what_the_change_costs_a_month() {
    let repo = TestRepo::example();
    let file = repo.file("plan.json");
    let run = plan(&repo, DEV, "v1.0.0", &file);
    assert_eq!(run.code, 0, "{}", run.all());
    let saved: serde_json::Value = serde_json::from_str(&repo.read("plan.json")).unwrap();
    // Nothing deployed yet: the whole estimate is new.
    assert_eq!(saved["cost"]["before"]["low"], 0.0);
    assert_eq!(saved["cost"]["delta"], saved["cost"]["after"]);
    assert_eq!(apply(&repo, DEV, "v1.0.0", &[], &[]).code, 0);

    // The API goes from one 0.25 vCPU / 0.5 GB task to two of 0.5 vCPU / 1 GB:
    // (2 × (0.5 × $0.04048 + 1 × $0.004445) − (0.25 × $0.04048 + 0.5 × $0.004445)) × 730.
    repo.edit(
        "stacks/notification-platform/services/email-service/components/api/infra.yaml",
        "    cpu: 256\n    memory: 512\n    replicas: 1\n",
        "    cpu: 512\n    memory: 1024\n    replicas: 2\n",
    );
    let expected = (2.0 * (0.5 * 0.04048 + 0.004445) - (0.25 * 0.04048 + 0.5 * 0.004445)) * 730.0;
    let run = plan(&repo, DEV, "v1.0.0", &file);
    assert_eq!(run.code, 0, "{}", run.all());
    let saved: serde_json::Value = serde_json::from_str(&repo.read("plan.json")).unwrap();
    let delta = saved["cost"]["components"]["email-service/api"]["low"]
        .as_f64()
        .unwrap();
    assert!((delta - expected).abs() < 0.01, "{delta} is not {expected}");
    assert_eq!(
        saved["cost"]["components"].as_object().unwrap().len(),
        1,
        "only the API's cost moves: {}",
        saved["cost"]
    );
    assert_contains(
        &run.stderr,
        &[
            "Estimated monthly cost: $57.77 – $84.80 → $84.80 – $111.83 a month",
            "  email-service/api  +$27.03",
        ],
    );
    let json = repo
        .run_with(
            &[
                "plan",
                "-s",
                STACK,
                "-e",
                DEV,
                "--var",
                "VERSION=v1.0.0",
                "--output",
                "json",
            ],
            &pulumi_env(&repo),
        )
        .json();
    assert_documented_shape("plan", &json);
    let markdown = repo.run_with(
        &[
            "plan",
            "-s",
            STACK,
            "-e",
            DEV,
            "--var",
            "VERSION=v1.0.0",
            "--output",
            "markdown",
        ],
        &pulumi_env(&repo),
    );
    assert_contains(
        &markdown.stdout,
        &[
            "**Estimated monthly cost:** $57.77 – $84.80 → $84.80 – $111.83 a month (+$27.03)",
            "| email-service/api | +$27.03 |",
        ],
    );
    let applied = apply(&repo, DEV, "v1.0.0", &[], &[]);
    assert_contains(
        &applied.stderr,
        &["Estimated monthly cost: $57.77 – $84.80 → $84.80 – $111.83 a month (+$27.03)"],
    );
}

/// Every plan says what each changed component goes through while it
/// deploys, data loss and downtime first, from the preview's operations and
/// the inputs that change.
#[test]
fn a_plan_says_what_each_change_does_while_it_deploys() {
    let repo = TestRepo::example();
    assert_eq!(apply(&repo, DEV, "v1.0.0", &[], &[]).code, 0);
    repo.edit(
        "stacks/notification-platform/services/email-service/components/database/rds.yaml",
        "backup_retention_days: 7\n",
        "backup_retention_days: 7\ninstance_class: db.t4g.small\n",
    );
    let file = repo.file("plan.json");
    let run = plan(&repo, DEV, "v1.0.1", &file);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "While it deploys:",
            "! email-service/database: the instance class changes now: single-AZ, the database is unavailable for the change, usually minutes (downtime)",
            "email-service/api: a rolling replacement of 1 task: minimum healthy 100 %, no capacity lost (no interruption)",
        ],
    );
    let database = run
        .stderr
        .find("email-service/database: the instance")
        .unwrap();
    let api = run.stderr.find("email-service/api: a rolling").unwrap();
    assert!(database < api, "downtime first:\n{}", run.stderr);
    let saved: serde_json::Value = serde_json::from_str(&repo.read("plan.json")).unwrap();
    assert_eq!(saved["impacts"][0]["component"], "email-service/database");
    assert_eq!(saved["impacts"][0]["severity"], "downtime");
    assert_eq!(
        saved["impacts"][0]["source"],
        "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ModifyInstance.Settings.html"
    );
    let markdown = repo.run_with(
        &[
            "plan",
            "-s",
            STACK,
            "-e",
            DEV,
            "--var",
            "VERSION=v1.0.1",
            "--output",
            "markdown",
        ],
        &pulumi_env(&repo),
    );
    assert_contains(
        &markdown.stdout,
        &[
            "**While it deploys:**",
            "- **email-service/database** (downtime): the instance class changes now",
        ],
    );
}
