//! `apply`, `rollback`, `drift` and `history`, run as a user would, with the
//! Pulumi stand-in (tests/support/pulumi_standin.rs) on the local back-end, and
//! once against moto.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[path = "apply/adopt.rs"]
mod adopt;
#[path = "apply/kill_points.rs"]
mod kill_points;
#[path = "apply/lost_state.rs"]
mod lost_state;
#[path = "apply/plans.rs"]
mod plans;
#[path = "apply/policies.rs"]
mod policies;
#[path = "apply/pulumi_contract.rs"]
mod pulumi_contract;
#[path = "apply/read_back.rs"]
mod read_back;
#[path = "apply/rollouts.rs"]
mod rollouts;
#[path = "apply/sensitive.rs"]
mod sensitive;

const DEV: &str = "development";
const STACK_FILE: &str = "stacks/notification-platform/stack.yaml";

/// The flows run against the stand-in pretending to be the oldest Pulumi
/// deployer supports and a current one.
macro_rules! at_both_versions {
    ($($name:ident),* $(,)?) => {
        mod at_pulumi_3_227 {
            $(#[test] fn $name() { crate::common::at_pulumi_version(crate::common::PULUMI_VERSIONS[0], super::$name) })*
        }
        mod at_pulumi_current {
            $(#[test] fn $name() { crate::common::at_pulumi_version(crate::common::PULUMI_VERSIONS[1], super::$name) })*
        }
    };
}

at_both_versions!(
    first_apply_creates_everything_with_progress_and_records_the_release,
    a_new_version_updates_only_what_changed,
    approval_is_required_in_production_and_never_guessed,
    a_failure_rolls_back_to_the_last_good_release,
    explicit_rollback_to_a_release,
    ctrl_c_stops_pulumi_cleanly_records_cancelled_and_unlocks,
    a_killed_deployer_is_recovered_by_the_next_apply,
    drift_present_and_absent,
    apply_against_the_shared_aws_backend,
);

fn env_with(repo: &TestRepo, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env = pulumi_env(repo);
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    env
}

fn apply(
    repo: &TestRepo,
    environment: &str,
    version: &str,
    extra_args: &[&str],
    extra_env: &[(&str, &str)],
) -> Run {
    let var = format!("VERSION={version}");
    let mut args = vec!["apply", "-s", STACK, "-e", environment, "--var", &var];
    args.extend_from_slice(extra_args);
    repo.run_with(&args, &env_with(repo, extra_env))
}

/// `apply` to production on a terminal with `--accept-protection-downgrade`,
/// typing the answer it asks for. Returns the exit code and what was shown.
fn accept_protection_downgrade(
    repo: &TestRepo,
    version: &str,
    env: &[(String, String)],
) -> (i32, String) {
    let repo_arg = repo.path().to_str().unwrap().to_string();
    let var = format!("VERSION={version}");
    run_on_terminal(
        &[
            "apply",
            "-s",
            STACK,
            "-e",
            "production",
            "--var",
            &var,
            "--accept-protection-downgrade",
            "--repo",
            &repo_arg,
        ],
        repo.path(),
        env,
        &[(
            "Type `downgrade production` to accept",
            "downgrade production",
        )],
    )
}

fn history(repo: &TestRepo, environment: &str) -> serde_json::Value {
    let run = repo.run_with(
        &[
            "history",
            "-s",
            STACK,
            "-e",
            environment,
            "--output",
            "json",
        ],
        &pulumi_env(repo),
    );
    assert_eq!(run.code, 0, "{}", run.all());
    run.json()
}

fn no_lock_left(repo: &TestRepo) {
    let run = repo.run(&["lock", "status", "--output", "json"]);
    assert_eq!(run.json(), serde_json::json!([]), "a lock was left behind");
}

fn first_apply_creates_everything_with_progress_and_records_the_release() {
    if standin_only("knobs (fail, hang, drift, pause), pretended version or command log") {
        return;
    }
    let repo = TestRepo::example();
    // A component takes as long as its resources together; the database's and
    // queue's other resources take no time here, so their lines show exactly these.
    let seconds = "email-service-database-instance=323,email-service-database-subnets=0,email-service-database-sg=0,\
                   email-service-queue-queue=12,email-service-queue-dead-letter=0,email-service-queue-dead-letter-allow=0,email-service-api-service=165";
    let run = apply(
        &repo,
        DEV,
        "v1.0.0",
        &[],
        &[
            ("STANDIN_SECONDS", seconds),
            ("DEPLOYER_USER", "alice@company.com"),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "Acquiring lock of notification-platform / development...",
            "✓ Lock acquired",
            "Plan for notification-platform / development:",
            "+ email-service/database",
            "create (3 resources)",
            "to create, 0 to update, 0 to replace, 0 to delete",
            // Durations come from the engine's event timestamps.
            "Creating email-service/database... ✓ (5m 23s)",
            "Creating email-service/queue... ✓ (12s)",
            "Creating email-service/api... ✓ (3m 01s)",
            "✓ Deployment successful! (",
            "release #1 of notification-platform / development",
        ],
    );
    no_lock_left(&repo);
    let releases = history(&repo, DEV);
    let first = &releases[0];
    assert_eq!(first["number"], 1);
    assert_eq!(first["status"], "succeeded");
    assert_eq!(first["who"], "alice@company.com");
    assert_eq!(first["variables"]["VERSION"], "v1.0.0");
    assert_eq!(first["changes"]["create"], 43);
    // Outputs and per-component results are recorded; the program is stored.
    let record = std::fs::read_to_string(repo.file(
        ".deployer/state/stacks/notification-platform/development/releases/000001/result.json",
    ))
    .unwrap();
    let record: serde_json::Value = serde_json::from_str(&record).unwrap();
    assert_eq!(
        record["components"]["email-service/database"]["duration_ms"],
        323_000
    );
    assert_eq!(
        record["components"]["email-service/database"]["operation"],
        "create"
    );
    assert!(
        record["outputs"]["email-service/queue.url"]
            .as_str()
            .unwrap()
            .starts_with("standin-")
    );
    assert!(
        repo.file(
            ".deployer/state/stacks/notification-platform/development/releases/000001/Pulumi.yaml"
        )
        .exists()
    );
    // The contract: non-interactive, JSON events, the local back-end.
    let log = repo.read("standin.log");
    let backend = format!(
        "[backend=file://{}/.deployer/pulumi]",
        repo.path().display()
    );
    assert_contains(
        &log,
        &[
            "stack select --create --secrets-provider passphrase --stack development --non-interactive",
            "preview --json --stack development --non-interactive",
            "up --yes --skip-preview --json --stack development --non-interactive",
            &backend,
        ],
    );
}

fn a_new_version_updates_only_what_changed() {
    let repo = TestRepo::example();
    assert_eq!(apply(&repo, DEV, "v1.0.0", &[], &[]).code, 0);
    let run = apply(&repo, DEV, "v1.0.1", &[], &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            // A new image is a new task definition: ECS task definitions are
            // immutable, so Pulumi replaces them (terraform-provider-aws
            // `task_definition.go`: every argument is ForceNew) and updates
            // the service that reads its ARN.
            "0 to create, 2 to update, 2 to replace, 0 to delete",
            "± email-service/api                        replace (2 resources)",
            "Replacing email-service/api... ✓",
        ],
    );
    assert!(!run.stderr.contains("Creating"), "{}", run.stderr);
    // Nothing changed: no release.
    let run = apply(&repo, DEV, "v1.0.1", &[], &[]);
    assert_eq!(run.code, 0);
    assert_contains(
        &run.stderr,
        &["No changes: notification-platform / development is up to date"],
    );
    assert_eq!(history(&repo, DEV).as_array().unwrap().len(), 2);
}

fn approval_is_required_in_production_and_never_guessed() {
    let repo = TestRepo::example();
    let run = apply(&repo, "production", "v1.0.0", &[], &[]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "this environment requires approval, and there is no terminal to ask on",
            "pass --auto-approve",
        ],
    );
    assert_eq!(
        history(&repo, "production"),
        serde_json::json!([]),
        "nothing recorded"
    );
    no_lock_left(&repo);
    let run = apply(
        &repo,
        "production",
        "v1.0.0",
        &["--auto-approve"],
        &[("DEPLOYER_USER", "ci@company.com")],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    // The example's first production release adds more than $500 a month,
    // which its policies.yaml asks approval for: recorded with the approval.
    assert_eq!(
        history(&repo, "production")[0]["approved_by"],
        "ci@company.com (--auto-approve); approval required by policy big-cost-increase"
    );
}

/// Answers the approval prompt on a real terminal (a pseudo-terminal).
#[test]
fn approval_on_a_terminal() {
    let repo = TestRepo::example();
    let env = env_with(&repo, &[("DEPLOYER_USER", "alice@company.com")]);
    let repo_arg = repo.path().to_str().unwrap().to_string();
    let args = [
        "apply",
        "-s",
        STACK,
        "-e",
        "production",
        "--var",
        "VERSION=v1.0.0",
        "--repo",
        &repo_arg,
    ];
    let (code, text) = run_on_terminal(&args, repo.path(), &env, &[("Approve? (yes/no)", "yes")]);
    assert_eq!(code, 0, "{text}");
    assert_contains(
        &text,
        &[
            "⚠ Production deployment - approval required",
            "Approve? (yes/no)",
            "Deployment successful!",
        ],
    );
    assert_eq!(
        history(&repo, "production")[0]["approved_by"],
        "alice@company.com; approval required by policy big-cost-increase"
    );
    // Anything but "yes" changes nothing.
    let (code, text) = run_on_terminal(
        &[
            "apply",
            "-s",
            STACK,
            "-e",
            "production",
            "--var",
            "VERSION=v1.0.1",
            "--repo",
            &repo_arg,
        ],
        repo.path(),
        &env,
        &[("Approve? (yes/no)", "no")],
    );
    assert_eq!(code, 1, "{text}");
    assert_contains(&text, &["deployment not approved; nothing was changed"]);
    assert_eq!(history(&repo, "production").as_array().unwrap().len(), 1);
}

fn a_failure_rolls_back_to_the_last_good_release() {
    if standin_only("knobs (fail, hang, drift, pause), pretended version or command log") {
        return;
    }
    let repo = TestRepo::example();
    assert_eq!(apply(&repo, DEV, "v1.0.0", &[], &[]).code, 0);
    let run = apply(
        &repo,
        DEV,
        "v9.9.9",
        &[],
        &[("STANDIN_FAIL", "email-api:v9.9.9")],
    );
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "Replacing email-service/api... ✗",
            "error: email-service-api-task:",
            "injected failure for email-service-api-task",
            "Rolling back to release #1...",
            "✗ Deployment failed (release #2): email-service-api-task:",
            "✓ Rolled back to the last good release as release #3",
        ],
    );
    let releases = history(&repo, DEV);
    assert_eq!(releases[0]["number"], 3);
    assert_eq!(releases[0]["operation"], "rollback");
    assert_eq!(releases[0]["status"], "succeeded");
    assert_eq!(releases[0]["source_release"], 1);
    assert_eq!(releases[0]["variables"]["VERSION"], "v1.0.0");
    assert_eq!(releases[1]["status"], "failed");
    assert_eq!(releases[1]["rolled_back_by"], 3);
    assert!(
        releases[1]["error"]
            .as_str()
            .unwrap()
            .contains("injected failure")
    );
    no_lock_left(&repo);
    // What is deployed is v1.0.0 again.
    let deployed = repo.run_with(
        &["show", "-s", STACK, "-e", DEV, "--deployed"],
        &pulumi_env(&repo),
    );
    assert_contains(&deployed.stdout, &["email-api:v1.0.0"]);
    // --no-rollback leaves it.
    let run = apply(
        &repo,
        DEV,
        "v9.9.9",
        &["--no-rollback"],
        &[("STANDIN_FAIL", "email-api:v9.9.9")],
    );
    assert_eq!(run.code, 1);
    assert_contains(&run.stderr, &["not rolled back (--no-rollback)"]);
    assert!(!run.stderr.contains("Rolling back"));
}

#[test]
fn a_failed_first_deployment_has_nothing_to_roll_back_to() {
    if standin_only("knobs (fail, hang, drift, pause), pretended version or command log") {
        return;
    }
    let repo = TestRepo::example();
    let run = apply(
        &repo,
        DEV,
        "v1.0.0",
        &[],
        &[("STANDIN_FAIL", "email-service-database-instance")],
    );
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "This was the first deployment of notification-platform / development: there is no earlier release to roll back to",
        ],
    );
    assert_eq!(history(&repo, DEV)[0]["status"], "failed");
}

fn explicit_rollback_to_a_release() {
    let repo = TestRepo::example();
    for v in ["v1.0.0", "v1.1.0", "v1.2.0"] {
        assert_eq!(apply(&repo, DEV, v, &[], &[]).code, 0);
    }
    // Default: the successful release before the current one.
    let run = repo.run_with(&["rollback", "-s", STACK, "-e", DEV], &pulumi_env(&repo));
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "Rolling back notification-platform / development to release #2 (LOG_LEVEL=info VERSION=v1.1.0",
            "± email-service/api",
            "Deployment successful!",
            "release #4",
        ],
    );
    let run = repo.run_with(
        &["rollback", "-s", STACK, "-e", DEV, "--to", "1"],
        &pulumi_env(&repo),
    );
    assert_eq!(run.code, 0, "{}", run.all());
    let releases = history(&repo, DEV);
    assert_eq!(releases[0]["source_release"], 1);
    assert_eq!(releases[0]["variables"]["VERSION"], "v1.0.0");
    let deployed = repo.run_with(
        &["show", "-s", STACK, "-e", DEV, "--deployed"],
        &pulumi_env(&repo),
    );
    assert_contains(&deployed.stdout, &["email-api:v1.0.0"]);
    let run = repo.run_with(
        &["rollback", "-s", STACK, "-e", DEV, "--to", "42"],
        &pulumi_env(&repo),
    );
    assert_eq!(run.code, 2);
    assert_contains(&run.stderr, &["has no release #42"]);
    // Rollback in production follows the same approval rules.
    let run = repo.run_with(
        &["rollback", "-s", STACK, "-e", "production", "--to", "1"],
        &pulumi_env(&repo),
    );
    assert_eq!(run.code, 2);
    assert_contains(&run.stderr, &["pass --auto-approve"]);
}

fn wait_for(path: &std::path::Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && !text.is_empty()
        {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn ctrl_c_stops_pulumi_cleanly_records_cancelled_and_unlocks() {
    if standin_only("knobs (fail, hang, drift, pause), pretended version or command log") {
        return;
    }
    let repo = TestRepo::example();
    assert_eq!(apply(&repo, DEV, "v1.0.0", &[], &[]).code, 0);
    let marker = repo.file("hanging.pid");
    let env = env_with(
        &repo,
        &[
            ("STANDIN_HANG", "email-api:v2.0.0"),
            ("STANDIN_MARKER", marker.to_str().unwrap()),
        ],
    );
    let child = repo
        .command(
            &["apply", "-s", STACK, "-e", DEV, "--var", "VERSION=v2.0.0"],
            &env,
        )
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&marker);
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_contains(
        &stderr,
        &["Deployment cancelled; Pulumi stopped cleanly and release #2 is recorded as cancelled"],
    );
    assert!(
        !stderr.contains("Rolling back"),
        "a cancel is not a failure to roll back:\n{stderr}"
    );
    assert_eq!(history(&repo, DEV)[0]["status"], "cancelled");
    no_lock_left(&repo);
    // Pulumi's own lock is gone too: the next apply just works.
    assert_eq!(apply(&repo, DEV, "v2.0.0", &[], &[]).code, 0);
}

/// Starts `apply VERSION=v2.0.0` (lock TTL `ttl`) with Pulumi hanging in the
/// middle of it, then SIGKILLs deployer. Returns the pid of the `pulumi` it
/// left behind.
fn kill_deployer_mid_apply(repo: &TestRepo, ttl: &str, extra: &[(&str, &str)]) -> i32 {
    let marker = repo.file("hanging.pid");
    let mut knobs = vec![
        ("STANDIN_HANG", "email-api:v2.0.0"),
        ("STANDIN_MARKER", marker.to_str().unwrap()),
    ];
    knobs.extend_from_slice(extra);
    let args = [
        "apply",
        "-s",
        STACK,
        "-e",
        DEV,
        "--var",
        "VERSION=v2.0.0",
        "--lock-ttl",
        ttl,
    ];
    let mut child = repo
        .command(&args, &env_with(repo, &knobs))
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pulumi_pid: i32 = wait_for(&marker).trim().parse().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    pulumi_pid
}

fn a_killed_deployer_is_recovered_by_the_next_apply() {
    if standin_only("knobs (fail, hang, drift, pause), pretended version or command log") {
        return;
    }
    let repo = TestRepo::example();
    assert_eq!(apply(&repo, DEV, "v1.0.0", &[], &[]).code, 0);
    let pulumi_pid = kill_deployer_mid_apply(&repo, "3s", &[]);
    // The machine dies: Pulumi is killed outright too.
    unsafe { libc::kill(pulumi_pid, libc::SIGKILL) };
    assert_eq!(history(&repo, DEV)[0]["status"], "in_progress");
    let run = apply(&repo, DEV, "v2.0.0", &["--lock-timeout", "60s"], &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "⚠ Stack is locked",
            "Release #2 was interrupted: its process stopped before it finished. Recovering before deploying.",
            "Clearing Pulumi's stale lock...",
            "Refreshing the state from AWS and clearing pending operations...",
            "Deployment successful!",
        ],
    );
    let releases = history(&repo, DEV);
    assert_eq!(releases[1]["status"], "interrupted");
    assert_eq!(releases[0]["status"], "succeeded");
    assert_contains(
        &repo.read("standin.log"),
        &[
            "cancel --yes --stack development --non-interactive",
            "refresh --yes --skip-preview --json --clear-pending-creates --stack development --non-interactive",
        ],
    );
}

/// Reading never waits for a deploy: with the lock held, the read-only
/// commands answer at once.
#[test]
fn read_only_commands_never_take_the_lock() {
    let repo = TestRepo::example();
    assert_eq!(apply(&repo, DEV, "v1.0.0", &[], &[]).code, 0);
    let mut holder = repo
        .command(
            &["lock", "exec", "-s", STACK, "-e", DEV, "--", "sleep", "30"],
            &[],
        )
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&repo.file(&format!(
        ".deployer/locks/{}.json",
        deployer::backend::lock_key(STACK, DEV)
    )));
    let out = repo.file("out");
    let out = out.to_str().unwrap();
    let env = pulumi_env(&repo);
    for args in [
        vec!["validate"],
        vec!["show", "-e", DEV, "--deployed"],
        vec!["show", "--var", "VERSION=v1.0.1"],
        vec!["compile", "--out", out, "--var", "VERSION=v1.0.1"],
        vec![
            "diff",
            "-e",
            DEV,
            "--against",
            "deployed",
            "--var",
            "VERSION=v1.0.0",
        ],
        vec!["history", "-e", DEV],
        vec!["lock", "status"],
    ] {
        let started = Instant::now();
        let run = repo.run_with(&args, &env);
        assert!(run.code == 0, "{args:?}: {}", run.all());
        assert!(
            !run.stderr.contains("Waiting for lock"),
            "{args:?}: {}",
            run.all()
        );
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{args:?} waited"
        );
    }
    let _ = holder.kill();
    holder.wait().unwrap();
}

#[test]
fn a_held_lock_makes_apply_wait_then_proceed() {
    let repo = TestRepo::example();
    let mut holder = repo
        .command(
            &["lock", "exec", "-s", STACK, "-e", DEV, "--", "sleep", "2"],
            &[("DEPLOYER_USER".to_string(), "bob@company.com".to_string())],
        )
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let lock_file = repo.file(&format!(
        ".deployer/locks/{}.json",
        deployer::backend::lock_key(STACK, DEV)
    ));
    wait_for(&lock_file);
    let run = apply(&repo, DEV, "v1.0.0", &[], &[]);
    holder.wait().unwrap();
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "⚠ Stack is locked",
            "Locked by: bob@company.com",
            "Waiting for lock... (Ctrl+C to cancel)",
            "✓ Lock acquired",
            "Deployment successful!",
        ],
    );
}

fn drift_present_and_absent() {
    if standin_only("knobs (fail, hang, drift, pause), pretended version or command log") {
        return;
    }
    let repo = TestRepo::example();
    let run = repo.run_with(&["drift", "-s", STACK, "-e", DEV], &pulumi_env(&repo));
    assert_eq!(run.code, 2);
    assert_contains(
        &run.stderr,
        &["nothing of notification-platform is deployed in development yet"],
    );
    assert_eq!(apply(&repo, DEV, "v1.0.0", &[], &[]).code, 0);
    let run = repo.run_with(&["drift", "-s", STACK, "-e", DEV], &pulumi_env(&repo));
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(
        &run.stderr,
        &["No drift: AWS matches release #1 of notification-platform / development"],
    );
    let env = env_with(
        &repo,
        &[(
            "STANDIN_DRIFT",
            "email-service-queue-queue,email-service-api-logs:deleted",
        )],
    );
    let run = repo.run_with(&["drift", "-s", STACK, "-e", DEV], &env);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stdout,
        &[
            "Drift in notification-platform / development against release #1:",
            "email-service/queue",
            "~ email-service-queue-queue (aws:sqs/queue:Queue) changed: tags",
            "email-service-api-logs (aws:cloudwatch/logGroup:LogGroup) deleted",
        ],
    );
    let json = repo
        .run_with(&["drift", "-s", STACK, "-e", DEV, "--output", "json"], &env)
        .json();
    assert_eq!(json["drift"], true);
    assert_eq!(
        json["components"]["email-service/queue"][0]["change"],
        "changed"
    );
    assert_eq!(
        json["components"]["email-service/api"][0]["change"],
        "deleted"
    );
    assert_contains(
        &repo.read("standin.log"),
        &["refresh --preview-only --json --stack development --non-interactive"],
    );
}

/// `drift --all`: every environment of every stack, a line each as it
/// finishes, a summary, exit codes combined; a target whose lock is held is
/// skipped at once and said to be busy; JSON and markdown for an issue.
#[test]
fn drift_all_reports_every_target_and_skips_a_busy_one() {
    if standin_only("knobs (fail, hang, drift, pause), pretended version or command log") {
        return;
    }
    let repo = TestRepo::example();
    assert_eq!(apply(&repo, DEV, "v1.0.0", &[], &[]).code, 0);
    let staging = apply(&repo, "staging", "v1.0.0", &["--auto-approve"], &[]);
    assert_eq!(staging.code, 0, "{}", staging.all());
    let clean = repo.run_with(&["drift", "--all"], &pulumi_env(&repo));
    assert_eq!(clean.code, 0, "{}", clean.all());
    assert_contains(
        &clean.stdout,
        &[
            "✓ notification-platform / development: no drift (release #1)",
            "✓ notification-platform / staging: no drift (release #1)",
            "- notification-platform / production: nothing deployed",
            "3 targets: 0 drifted, 2 without drift, 1 not deployed, 0 busy (skipped), 0 errors",
        ],
    );
    let drifting = env_with(&repo, &[("STANDIN_DRIFT", "email-service-queue-queue")]);
    let run = repo.run_with(&["drift", "--all", "--jobs", "2"], &drifting);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stdout,
        &[
            "~ notification-platform / development: drift in 1 component (release #1)",
            "~ notification-platform / staging: drift in 1 component (release #1)",
            "email-service/queue: email-service-queue-queue changed (tags)",
            "3 targets: 2 drifted, 0 without drift, 1 not deployed, 0 busy (skipped), 0 errors",
        ],
    );
    let json = repo
        .run_with(&["drift", "--all", "--output", "json"], &drifting)
        .json();
    assert_documented_shape("drift", &json);
    assert_eq!(json["summary"]["drift"], 2);
    let markdown = repo.run_with(&["drift", "--all", "--output", "markdown"], &drifting);
    assert_contains(
        &markdown.stdout,
        &[
            "### Drift: 2 of 3 targets differ from their release",
            "| notification-platform / staging | #1 | drift | email-service/queue (1) |",
        ],
    );
    // A deploy (here a maintenance under `lock exec`) holds staging's lock:
    // drift --all does not wait for it.
    let mut holder = repo
        .command(
            &[
                "lock", "exec", "-s", STACK, "-e", "staging", "--", "sleep", "20",
            ],
            &[("DEPLOYER_USER".to_string(), "bob@company.com".to_string())],
        )
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&repo.file(&format!(
        ".deployer/locks/{}.json",
        deployer::backend::lock_key(STACK, "staging")
    )));
    let started = Instant::now();
    let run = repo.run_with(&["drift", "--all"], &pulumi_env(&repo));
    let _ = holder.kill();
    holder.wait().unwrap();
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(started.elapsed() < Duration::from_secs(15), "it waited");
    assert_contains(
        &run.stdout,
        &[
            "notification-platform / staging: skipped, locked by bob@company.com (lock exec sleep 20)",
            "1 without drift, 1 not deployed, 1 busy (skipped), 0 errors",
        ],
    );
}

#[test]
fn a_missing_or_old_pulumi_is_refused_before_anything_happens() {
    if standin_only("knobs (fail, hang, drift, pause), pretended version or command log") {
        return;
    }
    let repo = TestRepo::example();
    let mut env = pulumi_env(&repo);
    env.retain(|(k, _)| k != "DEPLOYER_PULUMI");
    env.push(("PATH".into(), "/usr/bin:/bin".into()));
    let run = repo.run_with(
        &["apply", "-s", STACK, "-e", DEV, "--var", "VERSION=v1.0.0"],
        &env,
    );
    assert_eq!(run.code, 1);
    assert_contains(
        &run.stderr,
        &[
            "the Pulumi CLI was not found",
            "https://www.pulumi.com/docs/install/",
            "DEPLOYER_PULUMI",
        ],
    );
    let run = apply(
        &repo,
        DEV,
        "v1.0.0",
        &[],
        &[("STANDIN_VERSION", "v3.200.0")],
    );
    assert_eq!(run.code, 1);
    assert_contains(
        &run.stderr,
        &["is too old; deployer needs 3.227.0 or newer"],
    );
    no_lock_left(&repo);
    assert_eq!(history(&repo, DEV), serde_json::json!([]));
    let env = env_with(&repo, &[]);
    let run = deployer_with_env(
        &["version"],
        repo.path(),
        &env.iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect::<Vec<_>>(),
    );
    assert_contains(
        &run.stdout,
        &[
            "pulumi 3.259.0",
            "pulumi-aws 7.51.1 (pinned in every program)",
        ],
    );
}

#[test]
fn a_passphrase_is_required() {
    let repo = TestRepo::example();
    let mut env = pulumi_env(&repo);
    env.retain(|(k, _)| k != "PULUMI_CONFIG_PASSPHRASE");
    let run = repo.run_with(
        &["apply", "-s", STACK, "-e", DEV, "--var", "VERSION=v1.0.0"],
        &env,
    );
    assert_eq!(run.code, 1);
    assert_contains(
        &run.stderr,
        &["Pulumi needs a passphrase", "PULUMI_CONFIG_PASSPHRASE"],
    );
    no_lock_left(&repo);
}

#[test]
fn history_shows_every_outcome() {
    if standin_only("knobs (fail, hang, drift, pause), pretended version or command log") {
        return;
    }
    let repo = TestRepo::example();
    assert_eq!(apply(&repo, DEV, "v1.0.0", &[], &[]).code, 0);
    assert_eq!(
        apply(
            &repo,
            DEV,
            "v9.9.9",
            &[],
            &[("STANDIN_FAIL", "email-api:v9.9.9")]
        )
        .code,
        1
    );
    let run = repo.run_with(&["history", "-s", STACK, "-e", DEV], &pulumi_env(&repo));
    assert_eq!(run.code, 0, "{}", run.all());
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines[1].starts_with("3  succeeded (rollback to #1)"),
        "{}",
        run.stdout
    );
    assert!(
        lines[2].starts_with("2  failed, rolled back by #3"),
        "{}",
        run.stdout
    );
    assert!(lines[3].starts_with("1  succeeded"), "{}", run.stdout);
}

fn apply_against_the_shared_aws_backend() {
    if standin_only("knobs (fail, hang, drift, pause), pretended version or command log") {
        return;
    }
    let backend = AwsBackend::new();
    let repo = TestRepo::example();
    // development lives in account 111111111111: deployer assumes a role there
    // (moto answers as 123456789012 and lets it assume roles in other accounts).
    repo.edit(
        "stacks/notification-platform/stack.yaml",
        "    aliases: [dev]\n",
        "    aliases: [dev]\n    role_arn: arn:aws:iam::111111111111:role/deployer\n",
    );
    let env = backend.deploy_env(&repo);
    let run = repo.run_with(
        &["apply", "-s", STACK, "-e", DEV, "--var", "VERSION=v1.0.0"],
        &env,
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(!run.stderr.contains("no back-end configured"));
    // Records in S3, lock in DynamoDB, Pulumi's state beside them in the bucket.
    let b = backend.open();
    let releases = deployer::backend::releases::Releases::new(b.store.as_ref(), STACK, DEV);
    assert_eq!(releases.latest().unwrap().unwrap().status(), "succeeded");
    assert!(
        b.lock
            .get(&deployer::backend::lock_key(STACK, DEV))
            .unwrap()
            .is_none()
    );
    assert!(
        b.store
            .get(&format!("stacks/{STACK}/{DEV}/pulumi-secrets.yaml"))
            .unwrap()
            .is_some(),
        "Pulumi's encryption salt is kept"
    );
    let log = repo.read("standin.log");
    assert_contains(
        &log,
        &[&format!(
            "[backend=s3://{}/pulumi?region=us-east-1&endpoint={}&s3ForcePathStyle=true]",
            backend.bucket,
            backend.endpoint.replace(':', "%3A").replace('/', "%2F")
        )],
    );
    let run = repo.run_with(&["history", "-s", STACK, "-e", DEV], &env);
    assert!(
        run.stdout
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("1  succeeded"),
        "{}",
        run.stdout
    );
    // Pulumi's provider assumes the role, its session named after the user;
    // the back-end kept the caller's own credentials.
    let settings =
        repo.read(".deployer/work/notification-platform/development/Pulumi.development.yaml");
    assert_contains(
        &settings,
        &[
            "\"aws:assumeRoles\":",
            "- roleArn: arn:aws:iam::111111111111:role/deployer",
            "sessionName: \"tester@example.com\"",
        ],
    );
    // An environment in another account, without a role, is refused before any lock.
    let run = repo.run_with(
        &[
            "apply",
            "-s",
            STACK,
            "-e",
            "staging",
            "--var",
            "VERSION=v1.0.0",
        ],
        &env,
    );
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "your credentials belong to AWS account 123456789012, but environment `staging` is in account 222222222222; nothing was locked or changed",
            "give the environment a `role_arn`",
        ],
    );
    assert!(!run.stderr.contains("Acquiring lock"), "{}", run.stderr);
    // The caller's AWS identity is recorded beside the self-declared user, and
    // an obvious disagreement is said.
    let json = repo
        .run_with(
            &["history", "-s", STACK, "-e", DEV, "--output", "json"],
            &env,
        )
        .json();
    let arn = json[0]["aws_identity"].as_str().unwrap();
    assert!(arn.starts_with("arn:aws:"), "{arn}");
    assert_eq!(json[0]["who"], "tester@example.com");
    assert_eq!(
        json[0]["identity_differs"], true,
        "tester is not moto's user"
    );
    let text = repo
        .run_with(&["history", "-s", STACK, "-e", DEV], &env)
        .stdout;
    assert_contains(
        &text,
        &[&format!(
            "tester@example.com (AWS: {arn} ⚠ not the same person?)"
        )],
    );
    // Pulumi's checkpoint is in the bucket (the DIY layout), not on this machine.
    let checkpoint = format!("pulumi/.pulumi/stacks/{STACK}/{DEV}.json");
    assert!(b.store.get(&checkpoint).unwrap().is_some(), "{checkpoint}");
    assert!(!repo.file(".deployer/pulumi").exists());
    // A second release, drift both ways, and a rollback, all through the bucket.
    let run = repo.run_with(
        &["apply", "-s", STACK, "-e", DEV, "--var", "VERSION=v1.0.1"],
        &env,
    );
    assert_eq!(run.code, 0, "{}", run.all());
    let run = repo.run_with(&["drift", "-s", STACK, "-e", DEV], &env);
    assert_eq!(run.code, 0, "{}", run.all());
    let mut drifted = env.clone();
    drifted.push(("STANDIN_DRIFT".into(), "email-service-queue-queue".into()));
    let run = repo.run_with(&["drift", "-s", STACK, "-e", DEV], &drifted);
    assert_eq!(run.code, 1, "{}", run.all());
    let run = repo.run_with(&["rollback", "-s", STACK, "-e", DEV, "--to", "1"], &env);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        b.store
            .list(&format!("pulumi/.pulumi/locks/organization/{STACK}/{DEV}/"))
            .unwrap()
            .is_empty(),
        "Pulumi's lock is released"
    );
}

/// On a terminal with colour allowed, components get live spinners that end as
/// the same completed lines.
#[test]
fn live_progress_on_a_terminal() {
    if standin_only("knobs (fail, hang, drift, pause), pretended version or command log") {
        return;
    }
    let repo = TestRepo::example();
    let env = env_with(
        &repo,
        &[
            ("NO_COLOR", ""),
            (
                "STANDIN_SECONDS",
                "email-service-database-instance=323,email-service-database-subnets=0,email-service-database-sg=0",
            ),
        ],
    );
    let repo_arg = repo.path().to_str().unwrap().to_string();
    let (code, text) = run_on_terminal(
        &[
            "apply",
            "-s",
            STACK,
            "-e",
            DEV,
            "--var",
            "VERSION=v1.0.0",
            "--repo",
            &repo_arg,
        ],
        repo.path(),
        &env,
        &[],
    );
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("\u{1b}["), "styled on a terminal");
    let plain = strip_ansi(&text);
    assert_contains(
        &plain,
        &[
            "Plan for notification-platform / development:",
            "Creating email-service/database... ✓ (5m 23s)",
            "Deployment successful!",
        ],
    );
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for n in chars.by_ref() {
                    if n.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// A workspace with a one-resource program, for running the stand-in directly.
fn standin_workspace(program: &str) -> (tempfile::TempDir, Vec<(String, String)>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Pulumi.yaml"), program).unwrap();
    let env = vec![
        (
            "PULUMI_BACKEND_URL".to_string(),
            format!("file://{}", dir.path().join("state").display()),
        ),
        ("PULUMI_CONFIG_PASSPHRASE".to_string(), "x".to_string()),
        (
            "PULUMI_HOME".to_string(),
            dir.path().join("home").display().to_string(),
        ),
    ];
    (dir, env)
}

fn run_standin(dir: &std::path::Path, args: &[&str], env: &[(String, String)]) -> Run {
    let out = std::process::Command::new(crate::common::standin())
        .args(args)
        .current_dir(dir)
        .env_remove("PULUMI_DEBUG_COMMANDS")
        .env_remove("PULUMI_ENABLE_STREAMING_JSON_PREVIEW")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .unwrap();
    out.into()
}

const QUEUE_PROGRAM: &str = "name: p\nruntime: yaml\nresources:\n  q:\n    type: aws:sqs/queue:Queue\n    properties:\n      name: q\n";

/// What the real CLI refuses, the stand-in refuses (each case cites the Pulumi
/// source it follows in tests/support/pulumi_standin/).
#[test]
fn the_stand_in_refuses_what_pulumi_refuses() {
    if standin_only("knobs (fail, hang, drift, pause), pretended version or command log") {
        return;
    }
    let (dir, mut env) = standin_workspace(QUEUE_PROGRAM);
    let select = run_standin(
        dir.path(),
        &[
            "stack",
            "select",
            "--create",
            "--stack",
            "dev",
            "--non-interactive",
        ],
        &env,
    );
    assert_eq!(select.code, 0, "{}", select.all());
    // --event-log exists only with PULUMI_DEBUG_COMMANDS (preview.go).
    let run = run_standin(
        dir.path(),
        &["preview", "--event-log", "x", "--stack", "dev"],
        &env,
    );
    assert_eq!(run.code, 1);
    assert_contains(&run.stderr, &["error: unknown flag: --event-log"]);
    let mut debug = env.clone();
    debug.push(("PULUMI_DEBUG_COMMANDS".into(), "true".into()));
    let log = dir.path().join("events.jsonl");
    let run = run_standin(
        dir.path(),
        &[
            "preview",
            "--event-log",
            log.to_str().unwrap(),
            "--stack",
            "dev",
        ],
        &debug,
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        std::fs::read_to_string(&log)
            .unwrap()
            .contains("resourcePreEvent")
    );
    // Flags a command does not have; --stack on `plugin install`.
    let run = run_standin(
        dir.path(),
        &[
            "plugin", "install", "resource", "aws", "7.51.1", "--stack", "dev",
        ],
        &env,
    );
    assert_eq!(run.code, 1);
    assert_contains(&run.stderr, &["unknown flag: --stack"]);
    // --yes with --preview-only (updateFlagsToOptions).
    let run = run_standin(
        dir.path(),
        &[
            "refresh",
            "--yes",
            "--preview-only",
            "--json",
            "--stack",
            "dev",
        ],
        &env,
    );
    assert_eq!(run.code, 1);
    assert_contains(
        &run.stderr,
        &["--yes and --preview-only cannot be used together"],
    );
    // An update without confirmation, not on a terminal: exit 2.
    let run = run_standin(dir.path(), &["up", "--json", "--stack", "dev"], &env);
    assert_eq!(run.code, 2, "{}", run.all());
    // A preview with --json prints one digest unless streaming is turned on.
    let run = run_standin(dir.path(), &["preview", "--json", "--stack", "dev"], &env);
    assert_eq!(run.code, 0);
    let digest: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(digest["changeSummary"]["create"], 1);
    assert!(
        run.stdout.lines().count() > 10,
        "indented, not one event per line"
    );
    let mut streaming = env.clone();
    streaming.push(("PULUMI_ENABLE_STREAMING_JSON_PREVIEW".into(), "true".into()));
    let run = run_standin(
        dir.path(),
        &["preview", "--json", "--stack", "dev"],
        &streaming,
    );
    assert!(
        run.stdout
            .lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok())
    );
    // An empty PULUMI_CONFIG_PASSPHRASE_FILE is no passphrase (readPassphrase).
    let mut no_phrase: Vec<(String, String)> = env
        .iter()
        .filter(|(k, _)| k != "PULUMI_CONFIG_PASSPHRASE")
        .cloned()
        .collect();
    no_phrase.push(("PULUMI_CONFIG_PASSPHRASE_FILE".into(), String::new()));
    let run = run_standin(
        dir.path(),
        &["preview", "--json", "--stack", "dev"],
        &no_phrase,
    );
    assert_eq!(run.code, 1);
    assert_contains(&run.stderr, &["passphrase must be set"]);
    // gocloud v0.37 (Pulumi 3.227–3.244) refuses `use_path_style`; v0.46 knows it.
    env[0].1 =
        "s3://b/pulumi?region=us-east-1&endpoint=http%3A%2F%2F127.0.0.1%3A9&use_path_style=true"
            .into();
    env.push(("STANDIN_VERSION".into(), "v3.227.0".into()));
    let run = run_standin(
        dir.path(),
        &["stack", "output", "--json", "--stack", "dev"],
        &env,
    );
    assert_eq!(run.code, 1);
    assert_contains(&run.stderr, &["unknown query parameter \"use_path_style\""]);
    env[0].1 = env[0].1.replace("use_path_style", "s3ForcePathStyle");
    let run = run_standin(
        dir.path(),
        &["stack", "output", "--json", "--stack", "dev"],
        &env,
    );
    assert!(
        !run.stderr.contains("unknown query parameter"),
        "{}",
        run.stderr
    );
}

/// pulumi-aws autonames a resource `<name>-` plus 7 characters and fails the
/// preview when that exceeds the type's maximum.
#[test]
fn the_stand_in_fails_a_preview_whose_autonamed_name_cannot_fit() {
    let program = "name: p\nruntime: yaml\nresources:\n  email-service-api-target-group:\n    type: aws:lb/targetGroup:TargetGroup\n    properties:\n      port: 80\n";
    let (dir, env) = standin_workspace(program);
    run_standin(
        dir.path(),
        &["stack", "select", "--create", "--stack", "dev"],
        &env,
    );
    let run = run_standin(dir.path(), &["preview", "--stack", "dev"], &env);
    assert_eq!(run.code, 1);
    let mut streaming = env.clone();
    streaming.push(("PULUMI_ENABLE_STREAMING_JSON_PREVIEW".into(), "true".into()));
    let run = run_standin(
        dir.path(),
        &["preview", "--json", "--stack", "dev"],
        &streaming,
    );
    assert_contains(
        &run.stdout,
        &[
            "name 'email-service-api-target-group-' plus 7 random chars is longer than maximum length 32",
        ],
    );
}

/// `--verbose` shows every Pulumi command deployer runs, the names (never the
/// values) of the variables it sets, exit codes and where the output is kept.
#[test]
fn verbose_shows_every_pulumi_command() {
    if standin_only("knobs (fail, hang, drift, pause), pretended version or command log") {
        return;
    }
    let repo = TestRepo::example();
    let run = apply(&repo, DEV, "v1.0.0", &["--verbose"], &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "running pulumi",
            "plugin install resource aws 7.51.1 --non-interactive",
            "preview --json --stack development --non-interactive",
            "PULUMI_ENABLE_STREAMING_JSON_PREVIEW",
            "pulumi finished code=0",
            ".deployer/work/notification-platform/development/logs/",
        ],
    );
    assert!(
        !run.stderr.contains("test-passphrase"),
        "no values are logged"
    );
    // A failure shows the end of Pulumi's output and where the rest is.
    let run = apply(
        &repo,
        DEV,
        "v9.9.9",
        &["--no-rollback"],
        &[("STANDIN_FAIL", "email-api:v9.9.9")],
    );
    assert_eq!(run.code, 1);
    assert_contains(&run.stderr, &["Pulumi's whole output is in", "-up.log"]);
}

#[test]
fn a_provider_that_cannot_be_installed_stops_before_anything_changes() {
    if standin_only("knobs (fail, hang, drift, pause), pretended version or command log") {
        return;
    }
    let repo = TestRepo::example();
    let run = apply(&repo, DEV, "v1.0.0", &[], &[("STANDIN_OFFLINE", "1")]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "cannot install the pulumi-aws provider 7.51.1 that deployer pins",
            "pulumi plugin install resource aws 7.51.1",
        ],
    );
    assert_eq!(history(&repo, DEV), serde_json::json!([]));
    no_lock_left(&repo);
}

/// A deployer killed while its `pulumi` runs on: the next apply does not
/// delete Pulumi's lock under it, but asks it to stop and waits.
#[test]
fn an_orphaned_pulumi_is_waited_for_before_its_lock_is_removed() {
    if standin_only("knobs (fail, hang, drift, pause), pretended version or command log") {
        return;
    }
    let repo = TestRepo::example();
    assert_eq!(apply(&repo, DEV, "v1.0.0", &[], &[]).code, 0);
    let pulumi_pid = kill_deployer_mid_apply(&repo, "2s", &[("STANDIN_IGNORE_INTERRUPT", "1")]);
    let run = apply(
        &repo,
        DEV,
        "v2.0.0",
        &["--lock-timeout", "60s"],
        &[("DEPLOYER_PULUMI_STOP_WAIT", "2")],
    );
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            &format!(
                "Pulumi (pid {pulumi_pid}) from the interrupted release still runs on this machine"
            ),
            "is still running; nothing was changed",
        ],
    );
    assert!(
        !repo.read("standin.log").contains("cancel --yes"),
        "Pulumi's lock was not removed under a running pulumi"
    );
    assert_eq!(
        history(&repo, DEV)[0]["status"],
        "in_progress",
        "recovered next time"
    );
    unsafe { libc::kill(pulumi_pid, libc::SIGKILL) };
    let run = apply(&repo, DEV, "v2.0.0", &[], &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "Release #2 was interrupted",
            "Removing Pulumi's lock left by",
            "Clearing Pulumi's stale lock...",
            "Deployment successful!",
        ],
    );
    assert_eq!(history(&repo, DEV)[1]["status"], "interrupted");
}

/// A repository whose every name is as long as deployer allows: it validates,
/// each AWS name in its program fits AWS's and pulumi-aws's limits (an
/// independent table, from AWS's documentation), and it deploys.
#[test]
fn the_longest_names_fit_every_aws_limit() {
    let stack = "s".repeat(24);
    let env = "e".repeat(16);
    let service = format!("svc-{}", "x".repeat(28));
    let (api, db, queue) = (
        format!("api-{}", "a".repeat(28)),
        format!("db-{}", "d".repeat(29)),
        format!("queue-{}", "q".repeat(26)),
    );
    let repo = TestRepo::empty();
    repo.write(
        &format!("stacks/{stack}/stack.yaml"),
        format!("variables:\n  VERSION: {{required: true}}\nenvironments:\n  {env}:\n    account: \"111111111111\"\n    region: us-east-1\n    network:\n      vpc: vpc-0a1b2c3d4e5f60001\n      private_subnets: [subnet-0a1b2c3d4e5f6a001, subnet-0a1b2c3d4e5f6a002]\n      public_subnets: [subnet-0a1b2c3d4e5f6b001, subnet-0a1b2c3d4e5f6b002]\n"),
    );
    let base = format!("stacks/{stack}/services/{service}");
    repo.write(&format!("{base}/service.yaml"), "description: long names\n");
    repo.write(
        &format!("{base}/components/{api}/microservice.yaml"),
        format!("image: \"app:{{{{ var.VERSION }}}}\"\nport: 8080\nexpose: {{visibility: public, paths: [\"/*\"]}}\nuses: [{db}, {queue}]\n"),
    );
    repo.write(
        &format!("{base}/components/{api}/infra.yaml"),
        "autoscaling: {min: 1, max: 2, memory_target: 60}\n",
    );
    repo.write(
        &format!("{base}/components/{api}/configs/app.yaml"),
        "a: 1\n",
    );
    repo.write(
        &format!("{base}/components/{db}/rds.yaml"),
        "engine: postgres\nversion: \"16\"\ninstance_class: db.t4g.micro\n",
    );
    repo.write(
        &format!("{base}/components/{queue}/sqs.yaml"),
        "fifo: true\n",
    );
    let run = repo.run(&["validate", "--stack", &stack]);
    assert_eq!(run.code, 0, "{}", run.all());
    let out = tempfile::tempdir().unwrap();
    let run = repo.run(&[
        "compile",
        "--stack",
        &stack,
        "--out",
        out.path().to_str().unwrap(),
        "--var",
        "VERSION=v1",
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    let text =
        std::fs::read_to_string(out.path().join(&stack).join(&env).join("Pulumi.yaml")).unwrap();
    let program = deployer::load::yaml::to_json(&text).unwrap();
    // (type, name property, AWS limit): an explicit name must fit; a missing
    // one is autonamed `<logical name>-` + 7 characters, which must fit too.
    let limits = [
        ("aws:lb/loadBalancer:LoadBalancer", "name", 32),
        ("aws:lb/targetGroup:TargetGroup", "name", 32),
        ("aws:iam/role:Role", "name", 64),
        ("aws:iam/rolePolicy:RolePolicy", "name", 128),
        ("aws:ec2/securityGroup:SecurityGroup", "name", 255),
        ("aws:rds/subnetGroup:SubnetGroup", "name", 255),
        ("aws:rds/instance:Instance", "identifier", 63),
        ("aws:sqs/queue:Queue", "name", 80),
        ("aws:ecs/cluster:Cluster", "name", 255),
        ("aws:ecs/service:Service", "name", 255),
        ("aws:ecs/taskDefinition:TaskDefinition", "family", 255),
        ("aws:cloudwatch/logGroup:LogGroup", "name", 512),
        ("aws:appautoscaling/policy:Policy", "name", 255),
    ];
    let mut checked = 0;
    for (logical, resource) in program["resources"].as_object().unwrap() {
        let token = resource["type"].as_str().unwrap();
        let Some((_, property, max)) = limits.iter().find(|(t, _, _)| *t == token) else {
            continue;
        };
        checked += 1;
        match resource["properties"][property].as_str() {
            Some(name) => assert!(
                name.len() <= *max,
                "{token} {logical}: `{name}` is over {max}"
            ),
            None => assert!(
                logical.len() + 8 <= *max,
                "{token} {logical}: autonamed over {max}"
            ),
        }
    }
    assert!(checked >= 15, "only {checked} named resources were checked");
    let run = repo.run_with(
        &["apply", "-s", &stack, "-e", &env, "--var", "VERSION=v1"],
        &pulumi_env(&repo),
    );
    assert_eq!(run.code, 0, "{}", run.all());
}

/// The guide's command lines, as written: the stack from the repository (its
/// only one) or the folder you are in, the environment from `development`, an
/// alias, or the environment variables — said on the first line, and never a
/// production environment by default.
#[test]
fn stack_and_environment_are_inferred_and_said() {
    let repo = TestRepo::example();
    let env = pulumi_env(&repo);
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    // `deployer apply --var VERSION=v1.0.2`, from the deployment repository.
    let run = deployer_with_env(
        &["apply", "--var", "VERSION=v1.0.2"],
        repo.path(),
        &env_refs,
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stderr.starts_with("notification-platform / development (stack: only stack; environment: development environment)"),
        "{}",
        run.stderr
    );
    // From inside the stack's folder, with the guide's short `dev` (an alias).
    let inside = repo.file("stacks/notification-platform/services/email-service");
    let run = deployer_with_env(
        &["history", "--environment", "dev", "--output", "json"],
        &inside,
        &env_refs,
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "notification-platform / development (stack: current folder; environment: --environment `dev`, an alias)",
        ],
    );
    assert_eq!(run.json()[0]["variables"]["VERSION"], "v1.0.2");
    // `--output json` carries the same: what was acted on, and why.
    assert_eq!(
        run.json()[0]["target"],
        serde_json::json!({
            "stack": "notification-platform",
            "environment": "development",
            "stack_from": "current folder",
            "environment_from": "--environment `dev`, an alias",
        })
    );
    let run = deployer_with_env(&["status", "--output", "json"], &inside, &env_refs);
    assert_eq!(
        run.json()["target"]["stack_from"],
        "current folder",
        "{}",
        run.all()
    );
    // An environment that is no alias keeps its did-you-mean (exit 2).
    let run = deployer_with_env(
        &["history", "--environment", "stage"],
        repo.path(),
        &env_refs,
    );
    assert_eq!(run.code, 2);
    assert_contains(
        &run.stderr,
        &["has no environment `stage`", "did you mean `staging`?"],
    );
    // DEPLOYER_ENVIRONMENT; a default that would be production stops, listing the choices.
    let mut staging = env_refs.clone();
    staging.push(("DEPLOYER_ENVIRONMENT", "staging"));
    let run = deployer_with_env(&["lock", "exec", "--", "true"], repo.path(), &staging);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "(stack: only stack; environment: DEPLOYER_ENVIRONMENT)",
            "Acquiring lock of notification-platform / staging",
        ],
    );
    repo.edit(
        "stacks/notification-platform/stack.yaml",
        "    aliases: [dev]\n",
        "    aliases: [dev]\n    production: true\n",
    );
    let run = deployer_with_env(
        &["apply", "--var", "VERSION=v1.0.3", "--auto-approve"],
        repo.path(),
        &env_refs,
    );
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "`development` is a production environment, and deployer never picks one by default",
            "development (production), production (production), staging",
            "pass --environment NAME",
        ],
    );
    assert_eq!(
        history(&repo, DEV).as_array().unwrap().len(),
        1,
        "nothing was deployed"
    );
    // Two stacks: which one must be said.
    copy_dir(
        &repo.file("stacks/notification-platform"),
        &repo.file("stacks/other-platform"),
    );
    let run = deployer_with_env(&["history", "-e", "staging"], repo.path(), &env_refs);
    assert_eq!(run.code, 2);
    assert_contains(
        &run.stderr,
        &["which stack? this repository has 2: notification-platform, other-platform"],
    );
}

#[test]
fn destroy_removes_an_environment_and_history_says_so() {
    if standin_only("knobs (fail, hang, drift, pause), pretended version or command log") {
        return;
    }
    let repo = TestRepo::example();
    assert_eq!(apply(&repo, DEV, "v1.0.0", &[], &[]).code, 0);
    let run = repo.run_with(&["destroy", "-s", STACK, "-e", DEV], &pulumi_env(&repo));
    assert_eq!(run.code, 2, "asks, and there is no terminal: {}", run.all());
    assert_contains(&run.stderr, &["pass --auto-approve"]);
    let run = repo.run_with(
        &["destroy", "-s", STACK, "-e", DEV, "--auto-approve"],
        &pulumi_env(&repo),
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "Previewing what is destroyed...",
            "- email-service/database",
            "0 to create, 0 to update, 0 to replace, 43 to delete",
            "Deleting email-service/api... ✓",
            "✓ Destroyed notification-platform / development",
            "recorded as release #2",
        ],
    );
    let releases = history(&repo, DEV);
    assert_eq!(releases[0]["status"], "destroyed");
    assert_eq!(releases[0]["operation"], "destroy");
    no_lock_left(&repo);
    assert_contains(
        &repo.read("standin.log"),
        &[
            "destroy --preview-only --json --stack development --non-interactive",
            "destroy --yes --skip-preview --json --stack development --non-interactive",
        ],
    );
    // Nothing is deployed now; destroying again changes nothing; apply brings it back.
    let run = repo.run_with(
        &["show", "-s", STACK, "-e", DEV, "--deployed"],
        &pulumi_env(&repo),
    );
    assert_eq!(run.code, 1);
    let run = repo.run_with(
        &["destroy", "-s", STACK, "-e", DEV, "--auto-approve"],
        &pulumi_env(&repo),
    );
    assert_contains(&run.stderr, &["is already destroyed (release #2)"]);
    let run = apply(&repo, DEV, "v1.0.0", &[], &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(&run.stderr, &["43 to create"]);
}

#[test]
fn destroying_production_needs_its_word_and_stops_at_protected_resources() {
    let repo = TestRepo::example();
    assert_eq!(
        apply(&repo, "production", "v1.0.0", &["--auto-approve"], &[]).code,
        0
    );
    let run = repo.run_with(
        &["destroy", "-s", STACK, "-e", "production", "--auto-approve"],
        &pulumi_env(&repo),
    );
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(&run.stderr, &["--yes-destroy-production"]);
    let run = repo.run_with(
        &[
            "destroy",
            "-s",
            STACK,
            "-e",
            "production",
            "--auto-approve",
            "--yes-destroy-production",
        ],
        &pulumi_env(&repo),
    );
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "has protected resources, so nothing was destroyed",
            "email-service-database-instance (aws:rds/instance:Instance) of email-service/database",
            "deletion_protection: false",
        ],
    );
    assert_eq!(history(&repo, "production").as_array().unwrap().len(), 1);
    no_lock_left(&repo);
    // Lifting the protection, as the message says, lets it through.
    repo.write(
        "stacks/notification-platform/services/email-service/components/database/rds.yaml",
        repo.read(
            "stacks/notification-platform/services/email-service/components/database/rds.yaml",
        ) + "deletion_protection: false\n",
    );
    // Lowering a recorded protection is accepted on a terminal only.
    assert_eq!(
        apply(&repo, "production", "v1.0.0", &["--auto-approve"], &[]).code,
        1
    );
    let (code, text) = accept_protection_downgrade(&repo, "v1.0.0", &pulumi_env(&repo));
    assert_eq!(code, 0, "{text}");
    let run = repo.run_with(
        &[
            "destroy",
            "-s",
            STACK,
            "-e",
            "production",
            "--auto-approve",
            "--yes-destroy-production",
        ],
        &pulumi_env(&repo),
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(history(&repo, "production")[0]["status"], "destroyed");
}

#[test]
fn a_failed_destroy_is_recorded_and_leaves_the_lock_free() {
    if standin_only("knobs (fail, hang, drift, pause), pretended version or command log") {
        return;
    }
    let repo = TestRepo::example();
    assert_eq!(apply(&repo, DEV, "v1.0.0", &[], &[]).code, 0);
    let run = repo.run_with(
        &["destroy", "-s", STACK, "-e", DEV, "--auto-approve"],
        &env_with(&repo, &[("STANDIN_FAIL", "email-service-queue-queue")]),
    );
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stderr,
        &["Destroy failed (release #2)", "injected failure"],
    );
    assert_eq!(history(&repo, DEV)[0]["status"], "failed");
    no_lock_left(&repo);
}

/// The local back-end's folder keeps itself out of git.
#[test]
fn local_state_is_ignored_by_git() {
    let repo = TestRepo::example();
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(repo.path())
            .output()
            .unwrap()
    };
    git(&["init", "-q"]);
    assert_eq!(apply(&repo, DEV, "v1.0.0", &[], &[]).code, 0);
    assert!(repo.file(".deployer/.gitignore").exists());
    let status =
        String::from_utf8(git(&["status", "--porcelain", "--untracked-files=all"]).stdout).unwrap();
    assert!(!status.contains(".deployer"), "{status}");
}

/// Deleting two lines of stack.yaml does not switch production's protection
/// off: the protection earlier applies established holds until someone accepts
/// lowering it on a terminal, with a flag naming it.
#[test]
fn an_edited_stack_yaml_cannot_lower_production_protection() {
    let repo = TestRepo::example();
    assert_eq!(
        apply(&repo, "production", "v1.0.0", &["--auto-approve"], &[]).code,
        0
    );
    repo.edit(
        "stacks/notification-platform/stack.yaml",
        "    production: true\n    approval: required\n",
        "",
    );
    let run = apply(&repo, "production", "v1.0.1", &["--auto-approve"], &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "stack.yaml lowers the protection that earlier applies of notification-platform / production established",
            "production: true → false",
            "approval: required → none",
            "`email-service-database-instance` is no longer protected",
            "--auto-approve alone cannot lower it",
        ],
    );
    let run = apply(
        &repo,
        "production",
        "v1.0.1",
        &["--auto-approve", "--accept-protection-downgrade"],
        &[],
    );
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(&run.stderr, &["is accepted on a terminal only"]);
    assert_eq!(
        history(&repo, "production").as_array().unwrap().len(),
        1,
        "nothing changed"
    );
    no_lock_left(&repo);
    // Rollback and destroy honour the recorded class too: approval is still
    // needed, and destroying is still destroying production.
    let env = pulumi_env(&repo);
    let run = repo.run_with(&["rollback", "-s", STACK, "-e", "production"], &env);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(&run.stderr, &["this environment requires approval"]);
    let run = repo.run_with(
        &["destroy", "-s", STACK, "-e", "production", "--auto-approve"],
        &env,
    );
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(&run.stderr, &["--yes-destroy-production"]);
    // On a terminal, with the flag and the typed answer, it goes, and is recorded.
    let env = env_with(&repo, &[("DEPLOYER_USER", "alice@company.com")]);
    let (code, text) = accept_protection_downgrade(&repo, "v1.0.1", &env);
    assert_eq!(code, 0, "{text}");
    let approved = history(&repo, "production")[0]["approved_by"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        approved.starts_with(
            "alice@company.com (protection downgrade accepted: production: true → false"
        ),
        "{approved}"
    );
}

/// A plan that deletes data says so above everything, attributes the deleted
/// resources to their component, and needs approval in any environment.
#[test]
fn deleting_a_database_or_queue_is_called_out_and_needs_approval() {
    let repo = TestRepo::example();
    assert_eq!(apply(&repo, DEV, "v1.0.0", &[], &[]).code, 0);
    repo.remove("stacks/notification-platform/services/email-service/components/queue");
    repo.edit(
        "stacks/notification-platform/services/email-service/components/api/microservice.yaml",
        "  - component: queue\n    access: write\n",
        "",
    );
    repo.edit(
        "stacks/notification-platform/services/delivery-service/components/worker/microservice.yaml",
        "uses:\n  - component: email-service/queue\n    access: read\n    env_prefix: EMAIL_QUEUE\n",
        "",
    );
    let run = apply(&repo, DEV, "v1.0.0", &[], &[]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "- email-service/queue                      delete (3 resources)",
            "email-service-queue-queue of email-service/queue holds data and will be deleted",
            "pass --auto-approve",
        ],
    );
    assert_eq!(history(&repo, DEV).as_array().unwrap().len(), 1);
    let run = apply(&repo, DEV, "v1.0.0", &["--auto-approve"], &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(
        history(&repo, DEV)[0]["approved_by"],
        "tester@example.com (--auto-approve)"
    );
}

/// A damaged record is an error naming the object and how to repair it, never
/// a different answer.
#[test]
fn damaged_release_records_are_errors_not_other_answers() {
    let repo = TestRepo::example();
    for v in ["v1.0.0", "v1.1.0", "v1.2.0"] {
        assert_eq!(apply(&repo, DEV, v, &[], &[]).code, 0);
    }
    let releases = ".deployer/state/stacks/notification-platform/development/releases";
    // A stored program edited afterwards is not applied again.
    let program = format!("{releases}/000002/Pulumi.yaml");
    repo.write(&program, repo.read(&program).replace("v1.1.0", "v6.6.6"));
    let run = repo.run_with(&["rollback", "-s", STACK, "-e", DEV], &pulumi_env(&repo));
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stderr,
        &["000002/Pulumi.yaml does not match the hash release #2 recorded when it was applied"],
    );
    // A deleted record: rollback does not quietly pick #1 instead of #2.
    repo.remove(&format!("{releases}/000002/release.json"));
    let run = repo.run_with(&["rollback", "-s", STACK, "-e", DEV], &pulumi_env(&repo));
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "the record of release #2",
            "is missing",
            "restore it from the bucket's versions",
        ],
    );
    let run = repo.run_with(&["history", "-s", STACK, "-e", DEV], &pulumi_env(&repo));
    assert_eq!(run.code, 1);
    no_lock_left(&repo);
}

/// Release numbers are numbers: after 999999 comes 1000000, and the largest
/// possible number is refused, not wrapped to 0.
#[test]
fn release_numbers_sort_and_end_as_numbers() {
    let backend = tempfile::tempdir().unwrap();
    let store = deployer::backend::local::LocalStore::new(backend.path().to_path_buf());
    let releases = deployer::backend::releases::Releases::new(&store, STACK, DEV);
    let repo = TestRepo::example();
    let files = repo.compiled(STACK, DEV, "v1.0.0");
    let start = |n: u32| deployer::backend::releases::ReleaseStart {
        number: n,
        operation: "apply".into(),
        stack: STACK.into(),
        environment: DEV.into(),
        who: "t".into(),
        host: "h".into(),
        started: 0,
        variables: Default::default(),
        git_commit: None,
        program_hash: String::new(),
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
    let plant = |n: u32| {
        let dir = backend
            .path()
            .join(format!("stacks/{STACK}/{DEV}/releases/{n:06}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("release.json"),
            serde_json::to_vec(&start(n)).unwrap(),
        )
        .unwrap();
    };
    plant(999_999);
    assert_eq!(releases.begin(start(0), &files).unwrap(), 1_000_000);
    assert_eq!(releases.begin(start(0), &files).unwrap(), 1_000_001);
    assert_eq!(releases.numbers().unwrap().last(), Some(&1_000_001));
    plant(u32::MAX);
    let err = releases.begin(start(0), &files).unwrap_err().to_string();
    assert!(err.contains("the largest there can be"), "{err}");
}

/// `drift --all` at scale, on the shared back-end in moto: 50 stacks of
/// three environments are 150 targets; with eight at a time every one is
/// reported, once, and the summary counts them all (the deployed one
/// refreshed through Pulumi under its lock in DynamoDB, the others read from
/// S3 and said to have nothing deployed).
#[test]
fn drift_all_reports_each_of_150_targets() {
    if standin_only("knobs (drift)") {
        return;
    }
    let backend = AwsBackend::new();
    let repo = TestRepo::example();
    repo.development_in_motos_account();
    let original = repo.file(&format!("stacks/{STACK}"));
    for i in 1..50 {
        copy_dir(&original, &repo.file(&format!("stacks/copy-{i:02}")));
    }
    let mut env = backend.deploy_env(&repo);
    let applied = repo.run_with(
        &["apply", "-s", STACK, "-e", DEV, "--var", "VERSION=v1.0.0"],
        &env,
    );
    assert_eq!(applied.code, 0, "{}", applied.all());
    env.push(("STANDIN_DRIFT".into(), "email-service-queue-queue".into()));
    let started = Instant::now();
    let run = repo.run_with(&["drift", "--all", "--jobs", "8", "--output", "json"], &env);
    assert_eq!(run.code, 1, "{}", run.all());
    let json = run.json();
    let targets = json["targets"].as_array().unwrap();
    let mut seen: Vec<String> = targets
        .iter()
        .map(|t| {
            format!(
                "{} / {}",
                t["stack"].as_str().unwrap(),
                t["environment"].as_str().unwrap()
            )
        })
        .collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 150, "every target once: {seen:?}");
    assert_eq!(json["summary"]["targets"], 150);
    assert_eq!(json["summary"]["drift"], 1);
    assert_eq!(json["summary"]["not_deployed"], 149);
    assert_eq!(json["summary"]["error"], 0);
    eprintln!("drift --all over 150 targets: {:?}", started.elapsed());
}
