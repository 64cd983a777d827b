//! What the real Pulumi CLI does that deployer must meet (read from
//! pulumi/pulumi at v3.227.0 and v3.259.0; README, "Pulumi compatibility"),
//! each a flow a user runs into, against the stand-in that models it.

use super::*;

/// `stack output --json` prints `{}` for a stack without outputs
/// (`stack_output.go`): removing the last component deletes everything, and
/// the release succeeds instead of staying in progress.
#[test]
fn removing_every_component_deletes_everything_and_the_release_succeeds() {
    let repo = TestRepo::example();
    assert_eq!(apply(&repo, DEV, "v1.0.0", &[], &[]).code, 0);
    repo.remove("stacks/notification-platform/services");
    let run = apply(&repo, DEV, "v1.0.0", &["--auto-approve"], &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(&run.stderr, &["Deployment successful!"]);
    let releases = history(&repo, DEV);
    assert_eq!(releases[0]["status"], "succeeded", "{releases}");
    assert_eq!(releases[0]["number"], 2);
    no_lock_left(&repo);
    // The next apply finds nothing to recover and nothing to change.
    let run = apply(&repo, DEV, "v1.0.0", &[], &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(!run.stderr.contains("interrupted"), "{}", run.stderr);
}

/// `PULUMI_SKIP_CONFIRMATIONS=true`, common in CI, makes `refresh` and
/// `destroy` set `--yes` themselves, which `--preview-only` refuses
/// (`refresh.go`, `destroy.go`, `io.go`): deployer keeps it from Pulumi.
#[test]
fn skip_confirmations_in_the_environment_breaks_neither_drift_nor_destroy() {
    if standin_only("knobs (fail, hang, drift, pause), pretended version or command log") {
        return;
    }
    let repo = TestRepo::example();
    assert_eq!(apply(&repo, DEV, "v1.0.0", &[], &[]).code, 0);
    let env = env_with(&repo, &[("PULUMI_SKIP_CONFIRMATIONS", "true")]);
    let run = repo.run_with(&["drift", "-s", STACK, "-e", DEV], &env);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(&run.stderr, &["No drift"]);
    let run = repo.run_with(&["destroy", "-s", STACK, "-e", DEV, "--auto-approve"], &env);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(
        &run.stderr,
        &["Destroyed notification-platform / development"],
    );
    // The stand-in refuses it as the real CLI does, so the test is real.
    let direct = std::process::Command::new(standin())
        .args([
            "refresh",
            "--preview-only",
            "--json",
            "--stack",
            DEV,
            "--non-interactive",
        ])
        .current_dir(repo.file(".deployer/work/notification-platform/development"))
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env(
            "PULUMI_BACKEND_URL",
            format!("file://{}", repo.file(".deployer/pulumi").display()),
        )
        .output()
        .unwrap();
    assert_eq!(direct.status.code(), Some(1));
    assert_contains(
        &String::from_utf8_lossy(&direct.stderr),
        &["--yes and --preview-only cannot be used together"],
    );
}

/// An older release pins the pulumi-aws version it was compiled with, and
/// Pulumi selects plugins by exact version (`SelectCompatiblePlugin`): a
/// rollback installs that version, not the one deployer pins today.
#[test]
fn a_rollback_installs_the_provider_its_release_pins() {
    if standin_only("knobs (fail, hang, drift, pause), pretended version or command log") {
        return;
    }
    let repo = TestRepo::example();
    assert_eq!(apply(&repo, DEV, "v1.0.0", &[], &[]).code, 0);
    assert_eq!(apply(&repo, DEV, "v1.0.1", &[], &[]).code, 0);
    // Release #1 as an older deployer recorded it: its program pins 7.50.0.
    let dir = repo.file(".deployer/state/stacks/notification-platform/development/releases/000001");
    let program = std::fs::read_to_string(dir.join("Pulumi.yaml")).unwrap();
    let older = program.replace("version: \"7.51.1\"", "version: \"7.50.0\"");
    assert_ne!(older, program);
    std::fs::write(dir.join("Pulumi.yaml"), &older).unwrap();
    let manifest = std::fs::read_to_string(dir.join("manifest.json")).unwrap();
    let mut manifest: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    manifest["provider_version"] = "7.50.0".into();
    manifest["program_hash"] = format!(
        "sha256:{:x}",
        sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(
            older.as_bytes()
        ))
    )
    .into();
    std::fs::write(dir.join("manifest.json"), manifest.to_string()).unwrap();
    let record = dir.join("release.json");
    let mut release: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&record).unwrap()).unwrap();
    release["program_hash"] = manifest["program_hash"].clone();
    // Recorded before deployer kept each stored file's hash.
    release.as_object_mut().unwrap().remove("files");
    std::fs::write(&record, release.to_string()).unwrap();
    let run = repo.run_with(
        &["rollback", "-s", STACK, "-e", DEV, "--to", "1"],
        &pulumi_env(&repo),
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(
        &repo.read("standin.log"),
        &["plugin install resource aws 7.50.0"],
    );
}

/// Pulumi 3.227–3.248 validate the stack's config in `refresh` and `destroy`
/// too (`ValidateStackConfigAndApplyProjectConfig`, until commit
/// 679dda731d): a destroy whose program reads a sensitive value that was never
/// stored gets deployer's message naming it, before Pulumi runs.
#[test]
fn a_destroy_missing_a_sensitive_value_says_which_before_pulumi_does() {
    if standin_only("knobs (fail, hang, drift, pause), pretended version or command log") {
        return;
    }
    at_pulumi_version(PULUMI_VERSIONS[0], || {
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
        let run = apply(&repo, DEV, "v1.0.0", &["--var", "API_TOKEN=s3cr3t"], &[]);
        assert_eq!(run.code, 0, "{}", run.all());
        // The stored value is lost (a restored bucket, a hand-edited store).
        let stored = repo.file(
            ".deployer/state/stacks/notification-platform/development/pulumi-secret-config.json",
        );
        assert!(stored.exists(), "the sensitive value is stored there");
        std::fs::remove_file(&stored).unwrap();
        let run = repo.run_with(
            &["destroy", "-s", STACK, "-e", DEV, "--auto-approve"],
            &pulumi_env(&repo),
        );
        assert_eq!(run.code, 1, "{}", run.all());
        assert_contains(
            &run.stderr,
            &["reads sensitive variable `API_TOKEN`", "--var API_TOKEN="],
        );
        assert!(
            !run.stderr.contains("validating stack config"),
            "{}",
            run.stderr
        );
        no_lock_left(&repo);
    });
}

/// A checkpoint written compressed (`PULUMI_DIY_BACKEND_ZSTD`) or in the
/// legacy layout (`PULUMI_DIY_BACKEND_LEGACY_LAYOUT`) is Pulumi's state all the
/// same: deployer does not call it lost. gocloud's `.attrs` files beside the
/// local back-end's objects are not Pulumi locks.
#[test]
fn compressed_and_legacy_checkpoints_are_state_and_attrs_files_no_locks() {
    if standin_only("knobs (fail, hang, drift, pause), pretended version or command log") {
        return;
    }
    for (knob, checkpoint) in [
        (
            "PULUMI_DIY_BACKEND_ZSTD",
            ".deployer/pulumi/.pulumi/stacks/notification-platform/development.json.zst",
        ),
        (
            "PULUMI_DIY_BACKEND_LEGACY_LAYOUT",
            ".deployer/pulumi/.pulumi/stacks/development.json",
        ),
    ] {
        let repo = TestRepo::example();
        let run = apply(&repo, DEV, "v1.0.0", &[], &[(knob, "true")]);
        assert_eq!(run.code, 0, "{knob}: {}", run.all());
        assert!(repo.file(checkpoint).exists(), "{knob}: {checkpoint}");
        assert!(
            repo.file(&format!("{checkpoint}.attrs")).exists(),
            "{knob}: fileblob's attributes beside it"
        );
        let run = apply(&repo, DEV, "v1.0.1", &[], &[(knob, "true")]);
        assert_eq!(run.code, 0, "{knob}: {}", run.all());
        assert!(!run.stderr.contains("is missing"), "{knob}: {}", run.stderr);
        // A killed run leaves a release in progress; recovery reads Pulumi's
        // locks, and the `.attrs` of an old lock is no lock of pid 0.
        let lock_dir = if knob.ends_with("LEGACY_LAYOUT") {
            ".deployer/pulumi/.pulumi/locks/development"
        } else {
            ".deployer/pulumi/.pulumi/locks/organization/notification-platform/development"
        };
        repo.write(
            &format!("{lock_dir}/old.json.attrs"),
            "{\"user.content_type\":\"text/plain; charset=utf-8\",\"user.metadata\":null}\n",
        );
        let run = apply(
            &repo,
            DEV,
            "v1.0.2",
            &["--lock-ttl", "3s"],
            &[(knob, "true"), ("DEPLOYER_KILL_AT", "engine.event:6")],
        );
        assert_eq!(
            run.code,
            -1,
            "{knob}: killed at engine.event:6: {}",
            run.all()
        );
        let run = apply(
            &repo,
            DEV,
            "v1.0.2",
            &["--lock-timeout", "60s"],
            &[(knob, "true"), ("DEPLOYER_PULUMI_STOP_WAIT", "5")],
        );
        assert_eq!(run.code, 0, "{knob}: {}", run.all());
        assert!(!run.stderr.contains("pid 0"), "{knob}: {}", run.stderr);
    }
}

/// Deleting a protected resource fails Pulumi's preview, not only its destroy
/// (`deleteProtectedError`, `step.go`): removing a production database from
/// the repository is stopped by deployer's recorded protection first, and,
/// when that is lowered on a terminal, by Pulumi's preview — before anything
/// changes, saying why.
#[test]
fn removing_a_protected_database_stops_before_anything_changes() {
    let repo = TestRepo::example();
    let run = apply(&repo, "production", "v1.0.0", &["--auto-approve"], &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    repo.remove("stacks/notification-platform/services/email-service/components/database");
    repo.edit(
        "stacks/notification-platform/services/email-service/components/api/microservice.yaml",
        "  - database\n",
        "",
    );
    let run = apply(&repo, "production", "v1.0.0", &["--auto-approve"], &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stderr,
        &["is no longer protected", "nothing was changed"],
    );
    let args = [
        "apply",
        "-s",
        STACK,
        "-e",
        "production",
        "--var",
        "VERSION=v1.0.0",
        "--accept-protection-downgrade",
        "--repo",
        repo.path().to_str().unwrap(),
    ];
    let (code, text) = run_on_terminal(
        &args,
        repo.path(),
        &pulumi_env(&repo),
        &[
            ("to accept", "downgrade production"),
            ("Approve? (yes/no)", "yes"),
        ],
    );
    assert_eq!(code, 1, "{text}");
    assert_contains(&text, &["cannot be deleted", "because it is protected"]);
    let releases = history(&repo, "production");
    assert_eq!(
        releases.as_array().unwrap().len(),
        1,
        "nothing new recorded: {releases}"
    );
    no_lock_left(&repo);
}

/// A Pulumi killed outright while creating a resource leaves a pending
/// create, which the cloud may have finished (`deployment_executor.go`
/// warns to check first). Recovery looks each one up in AWS by its name and
/// adopts what exists (`refresh --import-pending-creates URN ID`); what it
/// cannot look up is named, never dropped silently.
#[test]
fn recovery_adopts_what_aws_finished_creating_and_names_what_it_cannot_tell() {
    if standin_only("knobs (fail, hang, drift, pause), pretended version or command log") {
        return;
    }
    let server = moto::moto();
    let sqs_name = "notification-platform-development-email-service-queue";
    // Each knob matches the resource's own name only (not the resources
    // that refer to it).
    for (hang, aws_finished) in [
        (format!("\"name\":\"{sqs_name}\""), true),
        (
            "\"name\":\"notification-platform-development-email-service-api-task\"".to_string(),
            false,
        ),
    ] {
        let hang = hang.as_str();
        let repo = TestRepo::example();
        let mut env = env_with(
            &repo,
            &[
                ("STANDIN_HANG", hang),
                ("STANDIN_IGNORE_INTERRUPT", "1"),
                ("STANDIN_MARKER", repo.file("hanging.pid").to_str().unwrap()),
            ],
        );
        env.extend(moto::aws_env(&server.endpoint()));
        let mut deployer = repo
            .command(
                &[
                    "apply",
                    "-s",
                    STACK,
                    "-e",
                    DEV,
                    "--var",
                    "VERSION=v1.0.0",
                    "--lock-ttl",
                    "3s",
                ],
                &env,
            )
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let pulumi: i32 = wait_for(&repo.file("hanging.pid")).trim().parse().unwrap();
        // A power cut: both go at once, nothing is saved on the way out.
        deployer.kill().unwrap();
        deployer.wait().unwrap();
        unsafe { libc::kill(pulumi, libc::SIGKILL) };
        moto::point_this_process_at(&server.endpoint());
        let cloud = deployer::inspect::Cloud::in_region("us-east-1").unwrap();
        if aws_finished {
            cloud
                .block_on(
                    cloud
                        .client::<aws_sdk_sqs::Client>()
                        .create_queue()
                        .queue_name(sqs_name)
                        .send(),
                )
                .unwrap();
        }
        let mut env = pulumi_env(&repo);
        env.extend(moto::aws_env(&server.endpoint()));
        env.push(("DEPLOYER_PULUMI_STOP_WAIT".into(), "5".into()));
        let run = repo.run_with(
            &[
                "apply",
                "-s",
                STACK,
                "-e",
                DEV,
                "--var",
                "VERSION=v1.0.0",
                "--lock-timeout",
                "60s",
            ],
            &env,
        );
        assert_eq!(run.code, 0, "{hang}: {}", run.all());
        if aws_finished {
            assert_contains(
                &run.stderr,
                &[
                    "email-service-queue-queue (aws:sqs/queue:Queue) was being created when the run stopped, and AWS finished it: adopted into Pulumi's state as http",
                ],
            );
            assert_contains(
                &repo.read("standin.log"),
                &[
                    "--import-pending-creates urn:pulumi:development::notification-platform::aws:sqs/queue:Queue::email-service-queue-queue --import-pending-creates http",
                ],
            );
            cloud
                .block_on(
                    cloud
                        .client::<aws_sdk_sqs::Client>()
                        .delete_queue()
                        .queue_url(
                            cloud
                                .block_on(
                                    cloud
                                        .client::<aws_sdk_sqs::Client>()
                                        .get_queue_url()
                                        .queue_name(sqs_name)
                                        .send(),
                                )
                                .unwrap()
                                .queue_url()
                                .unwrap(),
                        )
                        .send(),
                )
                .unwrap();
        } else {
            assert_contains(
                &run.stderr,
                &[
                    "email-service-api-task-role (aws:iam/role:Role) was being created when the run stopped, and deployer cannot tell whether AWS finished it",
                    "deployer:stack notification-platform",
                ],
            );
        }
        let releases = history(&repo, DEV);
        assert_eq!(releases[1]["status"], "interrupted", "{releases}");
        assert_eq!(releases[0]["status"], "succeeded", "{releases}");
    }
}
