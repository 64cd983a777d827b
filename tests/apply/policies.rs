//! The example's policies.yaml as a platform team means it: replacing the
//! production database is denied by `plan`, `apply` and `apply --plan` before
//! anything changes; only a person on a terminal overrides it, with a reason
//! the release keeps; a big cost increase asks for approval.

use super::*;

const DATABASE: &str =
    "stacks/notification-platform/services/email-service/components/database/rds.yaml";
const RULE: &str = "no-database-replacement-in-production";

/// Lifts the production database's protection as its own team would
/// (`deletion_protection: false`, accepted on a terminal): an update the
/// policy allows, and the only way past Pulumi's `protect`.
fn lift_protection(repo: &TestRepo) {
    repo.edit(
        DATABASE,
        "    backup_retention_days: 30\n",
        "    backup_retention_days: 30\n    deletion_protection: false\n",
    );
    let (code, text) = accept_protection_downgrade(repo, "v1.0.0", &pulumi_env(repo));
    assert_eq!(code, 0, "{text}");
}

/// Production deployed, its database's protection lifted, then its
/// database's name changed: RDS replaces an instance whose database name
/// changes (`dbName` forces a new one). Only the platform team's policy
/// stands in the way now.
fn production_with_a_database_replacement() -> TestRepo {
    let repo = TestRepo::example();
    let first = apply(&repo, "production", "v1.0.0", &["--auto-approve"], &[]);
    assert_eq!(first.code, 0, "{}", first.all());
    lift_protection(&repo);
    repo.edit(DATABASE, "database: email\n", "database: email_v2\n");
    repo
}

#[test]
fn replacing_the_production_database_is_denied_before_anything_changes() {
    let repo = production_with_a_database_replacement();
    let denied = format!(
        "denied by policy `{RULE}` (email-service/database): Production data stores are never replaced by a deploy; migrate instead.; nothing was changed"
    );

    let run = apply(&repo, "production", "v1.0.0", &["--auto-approve"], &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[&denied, &format!("--override-policy {RULE} --reason TEXT")],
    );
    assert_eq!(
        history(&repo, "production").as_array().unwrap().len(),
        2,
        "nothing was deployed"
    );

    let plan = repo.run_with(
        &[
            "plan",
            "-s",
            STACK,
            "-e",
            "production",
            "--var",
            "VERSION=v1.0.0",
        ],
        &pulumi_env(&repo),
    );
    assert_eq!(plan.code, 1, "{}", plan.all());
    assert_contains(&plan.stderr, &[&denied]);

    // --auto-approve is no override, nor is an override without a terminal.
    let run = apply(
        &repo,
        "production",
        "v1.0.0",
        &[
            "--auto-approve",
            "--override-policy",
            RULE,
            "--reason",
            "migrating to v2",
        ],
        &[],
    );
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[&format!(
            "policy `{RULE}` can be overridden on a terminal only; nothing was changed"
        )],
    );
    assert_eq!(history(&repo, "production").as_array().unwrap().len(), 2);

    // A person on a terminal overrides it, says why, and approves.
    let env = env_with(&repo, &[("DEPLOYER_USER", "alice@company.com")]);
    let repo_arg = repo.path().to_str().unwrap().to_string();
    let (code, text) = run_on_terminal(
        &[
            "apply",
            "-s",
            STACK,
            "-e",
            "production",
            "--var",
            "VERSION=v1.0.0",
            "--override-policy",
            RULE,
            "--reason",
            "migrating to v2",
            "--repo",
            &repo_arg,
        ],
        repo.path(),
        &env,
        &[("Approve? (yes/no)", "yes")],
    );
    assert_eq!(code, 0, "{text}");
    assert_contains(
        &text,
        &[&format!(
            "policy `{RULE}` (email-service/database): Production data stores are never replaced by a deploy; migrate instead. denies this change; overridden: migrating to v2"
        )],
    );
    assert_eq!(
        history(&repo, "production")[0]["approved_by"],
        format!("alice@company.com; overrode policy {RULE} (migrating to v2)")
    );
}

#[test]
fn a_reviewed_plan_carries_every_rule_and_a_denied_one_stops_apply_plan() {
    let repo = TestRepo::example();
    let file = repo.file("plan.json");
    let run = super::plans::plan(&repo, "production", "v1.0.0", &file);
    assert_eq!(run.code, 0, "{}", run.all());
    // A first production deployment adds more than $500 a month.
    assert_contains(
        &run.stderr,
        &[
            "policy `big-cost-increase`: This change adds more than $500 a month to the estimate. requires approval",
        ],
    );
    let saved: serde_json::Value = serde_json::from_str(&repo.read("plan.json")).unwrap();
    assert_eq!(
        saved["policies"],
        serde_json::json!([
            {"name": RULE, "effect": "deny", "matched": false, "changes": [], "message": "Production data stores are never replaced by a deploy; migrate instead."},
            {"name": "big-cost-increase", "effect": "require-approval", "matched": true, "changes": [], "message": "This change adds more than $500 a month to the estimate."},
        ])
    );
    assert_eq!(
        super::plans::apply_plan(&repo, &file, &["--auto-approve"]).code,
        0
    );

    // A plan made before the policy existed is still stopped by it.
    lift_protection(&repo);
    repo.edit(DATABASE, "database: email\n", "database: email_v2\n");
    let policies = repo.read("policies.yaml");
    repo.remove("policies.yaml");
    let run = super::plans::plan(&repo, "production", "v1.0.0", &file);
    assert_eq!(run.code, 0, "{}", run.all());
    repo.write("policies.yaml", policies);
    let run = super::plans::apply_plan(&repo, &file, &["--auto-approve"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(&run.stderr, &[&format!("denied by policy `{RULE}`")]);
    assert_eq!(history(&repo, "production").as_array().unwrap().len(), 2);
}

#[test]
fn an_invalid_policy_file_stops_every_plan_and_apply() {
    let repo = TestRepo::example();
    repo.edit("policies.yaml", "change.op in", "change.operation in");
    let run = apply(&repo, DEV, "v1.0.0", &[], &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "policies.yaml has 1 error, the first at policies.yaml:6:11: rule `no-database-replacement-in-production` names `change.operation`",
            "`deployer validate` shows them all",
        ],
    );
    assert_eq!(history(&repo, DEV).as_array().unwrap().len(), 0);
}

/// A `require-approval` rule makes an environment that needs none ask, and
/// the approval records which rule asked.
#[test]
fn a_require_approval_rule_asks_where_the_environment_would_not() {
    let repo = TestRepo::example();
    repo.edit(
        "policies.yaml",
        "plan.monthly_cost_delta > 500.0",
        "plan.monthly_cost_delta > 50.0",
    );
    let run = apply(&repo, DEV, "v1.0.0", &[], &[]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "policy `big-cost-increase`: This change adds more than $500 a month to the estimate. requires approval",
        ],
    );
    assert_eq!(history(&repo, DEV).as_array().unwrap().len(), 0);
    let run = apply(
        &repo,
        DEV,
        "v1.0.0",
        &["--auto-approve"],
        &[("DEPLOYER_USER", "ci@company.com")],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(
        history(&repo, DEV)[0]["approved_by"],
        "ci@company.com (--auto-approve); approval required by policy big-cost-increase"
    );
}
