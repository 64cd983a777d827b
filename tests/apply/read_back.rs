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

const RELEASES: &str = ".deployer/state/stacks/notification-platform/development/releases";

/// Each release's record keeps the hash of every file stored beside it: a
/// stored program edited together with its manifest, or its settings (region,
/// allowed accounts), is never applied again.
#[test]
fn edited_release_files_are_never_applied_again() {
    let repo = TestRepo::example();
    assert_eq!(apply(&repo, DEV, "v1.0.0", &[], &[]).code, 0);
    assert_eq!(apply(&repo, DEV, "v1.0.1", &[], &[]).code, 0);
    let one = repo.file(&format!("{RELEASES}/000001"));
    let program = std::fs::read_to_string(one.join("Pulumi.yaml")).unwrap();
    let evil = program.replace("email-api:v1.0.0", "email-api:v6.6.6");
    assert_ne!(evil, program);
    std::fs::write(one.join("Pulumi.yaml"), &evil).unwrap();
    let manifest = std::fs::read_to_string(one.join("manifest.json")).unwrap();
    let mut manifest: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    manifest["program_hash"] = format!(
        "sha256:{:x}",
        sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(
            evil.as_bytes()
        ))
    )
    .into();
    std::fs::write(one.join("manifest.json"), manifest.to_string()).unwrap();
    let rollback = |repo: &TestRepo| {
        repo.run_with(
            &["rollback", "-s", STACK, "-e", DEV, "--to", "1"],
            &pulumi_env(repo),
        )
    };
    let run = rollback(&repo);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stderr,
        &["000001/Pulumi.yaml does not match the hash release #1 recorded"],
    );
    // Its settings, alone.
    std::fs::write(one.join("Pulumi.yaml"), &program).unwrap();
    let settings = std::fs::read_to_string(one.join("Pulumi.development.yaml")).unwrap();
    std::fs::write(
        one.join("Pulumi.development.yaml"),
        settings.replace("111111111111", "999999999999"),
    )
    .unwrap();
    let run = rollback(&repo);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stderr,
        &["Pulumi.development.yaml does not match the hash"],
    );
    assert_eq!(
        history(&repo, DEV).as_array().unwrap().len(),
        2,
        "nothing recorded"
    );
}

/// Release folders are cross-checked with each other and with `latest.json`:
/// a deleted newest release, or one in the middle, is an error naming it; all
/// of them deleted while Pulumi's state remains is not "no releases yet".
#[test]
fn deleted_release_folders_are_named_never_a_shorter_history() {
    let repo = TestRepo::example();
    for v in ["v1.0.0", "v1.0.1", "v1.0.2"] {
        assert_eq!(apply(&repo, DEV, v, &[], &[]).code, 0);
    }
    let releases = repo.file(RELEASES);
    let history =
        |repo: &TestRepo| repo.run_with(&["history", "-s", STACK, "-e", DEV], &pulumi_env(repo));
    std::fs::rename(releases.join("000003"), repo.file("kept-3")).unwrap();
    let run = history(&repo);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "release #3 of stacks/notification-platform/development is missing (latest.json points to it)",
        ],
    );
    std::fs::rename(repo.file("kept-3"), releases.join("000003")).unwrap();
    std::fs::rename(releases.join("000002"), repo.file("kept-2")).unwrap();
    let run = history(&repo);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "release #2 of stacks/notification-platform/development is missing (later releases follow it)",
        ],
    );
    std::fs::remove_dir_all(repo.file(".deployer/state/stacks")).unwrap();
    let run = history(&repo);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stderr,
        &["has no release records", "yet Pulumi's state of it holds"],
    );
}

/// After a failed release kept with `--no-rollback`, `rollback` goes back to
/// the newest release that succeeded — what its message promises — not the
/// one before it.
#[test]
fn rollback_after_a_kept_failure_goes_to_the_last_good_release() {
    let repo = TestRepo::example();
    assert_eq!(apply(&repo, DEV, "v1.0.0", &[], &[]).code, 0);
    assert_eq!(apply(&repo, DEV, "v2.0.0", &[], &[]).code, 0);
    let run = apply(
        &repo,
        DEV,
        "v9.9.9",
        &["--no-rollback"],
        &[("STANDIN_FAIL", "email-api:v9.9.9")],
    );
    assert_eq!(run.code, 1, "{}", run.all());
    let run = repo.run_with(&["rollback", "-s", STACK, "-e", DEV], &pulumi_env(&repo));
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "Rolling back notification-platform / development to release #2 (LOG_LEVEL=info VERSION=v2.0.0",
        ],
    );
}
