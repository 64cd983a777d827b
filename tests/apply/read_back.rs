//! Nothing deployer reads back decides what is deployed: its workspace, its
//! stored values, its records and plan files, whatever was planted beside
//! them. Each test is an attack found by a hostile review, which now fails
//! safe.

use super::*;

const WORK: &str = ".deployer/work/notification-platform/development";

/// A `Main.yaml` slipped into the workspace would be the program Pulumi runs
/// (pulumi-yaml prefers it to `Pulumi.yaml`): every run prepares the workspace
/// afresh, so it is gone before Pulumi starts.
#[test]
fn a_stray_main_yaml_in_the_workspace_never_runs() {
    let repo = TestRepo::example();
    assert_eq!(apply(&repo, DEV, "v1.0.0", &[], &[]).code, 0);
    repo.write(
        &format!("{WORK}/Main.yaml"),
        "resources:\n  evil:\n    type: aws:sqs/queue:Queue\n",
    );
    let run = apply(&repo, DEV, "v1.0.1", &[], &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(
        &run.stderr,
        &["0 to create, 2 to update, 2 to replace, 0 to delete"],
    );
    assert!(!repo.file(&format!("{WORK}/Main.yaml")).exists());
    let run = repo.run_with(&["drift", "-s", STACK, "-e", DEV], &pulumi_env(&repo));
    assert_eq!(run.code, 0, "{}", run.all());
}

/// A plan takes no lock: it previews in a workspace of its own, so the stack's
/// workspace (which an apply waiting for approval will run) is never
/// rewritten, and the sensitive values it was given are not stored (a later
/// rollback would otherwise deploy a value nobody reviewed).
#[test]
fn a_plan_touches_neither_the_workspace_nor_the_stored_values() {
    let repo = TestRepo::example();
    repo.edit(
        STACK_FILE,
        "  LOG_LEVEL:",
        "  API_TOKEN: {required: true, sensitive: true}\n  LOG_LEVEL:",
    );
    repo.edit(
        "stacks/notification-platform/services/email-service/components/api/microservice.yaml",
        "  LOG_LEVEL: \"{{ var.LOG_LEVEL }}\"",
        "  LOG_LEVEL: \"{{ var.LOG_LEVEL }}\"\n  API_TOKEN: \"{{ var.API_TOKEN }}\"",
    );
    let run = apply(&repo, DEV, "v2.0.0", &["--var", "API_TOKEN=reviewed"], &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    let program = repo.read(&format!("{WORK}/Pulumi.yaml"));
    let stored_file =
        ".deployer/state/stacks/notification-platform/development/pulumi-secret-config.json";
    let stored = repo.read(stored_file);
    let run = repo.run_with(
        &[
            "plan",
            "-s",
            STACK,
            "-e",
            DEV,
            "--var",
            "VERSION=v6.6.6",
            "--var",
            "API_TOKEN=unreviewed",
        ],
        &pulumi_env(&repo),
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(
        repo.read(&format!("{WORK}/Pulumi.yaml")),
        program,
        "the workspace is untouched"
    );
    assert_eq!(
        repo.read(stored_file),
        stored,
        "the stored value is the deployed one"
    );
    assert!(!program.contains("v6.6.6"));
}

/// Links planted in `.deployer/work` lead nowhere: a workspace that is a link
/// to another folder is replaced by a folder (the other folder is not
/// written), and a `logs` link is not followed by the pruning of old logs.
#[test]
fn links_planted_in_the_workspace_are_not_followed() {
    let repo = TestRepo::example();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("precious.log"), "keep me").unwrap();
    std::fs::create_dir_all(repo.file(".deployer/work/notification-platform")).unwrap();
    std::os::unix::fs::symlink(outside.path(), repo.file(WORK)).unwrap();
    let run = apply(&repo, DEV, "v1.0.0", &[], &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    let names: Vec<String> = std::fs::read_dir(outside.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        vec!["precious.log"],
        "nothing written through the link"
    );
    assert!(std::fs::symlink_metadata(repo.file(WORK)).unwrap().is_dir());
    // The logs folder as a link to a folder of `.log` files: forty-odd runs
    // would prune them.
    std::fs::remove_dir_all(repo.file(&format!("{WORK}/logs"))).unwrap();
    std::os::unix::fs::symlink(outside.path(), repo.file(&format!("{WORK}/logs"))).unwrap();
    for i in 0..45 {
        std::fs::write(outside.path().join(format!("{i:03}.log")), "x").unwrap();
    }
    let run = apply(&repo, DEV, "v1.0.1", &[], &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(
        std::fs::read_dir(outside.path()).unwrap().count(),
        46,
        "nothing pruned outside"
    );
}
