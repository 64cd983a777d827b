//! A back-end that lost what it knew (Pulumi's checkpoint deleted, a
//! `.deployer/` cleaned away, another bucket) is said before anything is
//! created a second time.

use super::*;

#[test]
fn lost_pulumi_state_stops_apply_and_destroy_before_anything_changes() {
    let repo = TestRepo::example();
    assert_eq!(apply(&repo, DEV, "v1.0.0", &[], &[]).code, 0);
    // `.deployer/pulumi` is gone (a clean-up, a disk restored without it).
    std::fs::remove_dir_all(repo.file(".deployer/pulumi")).unwrap();
    let run = apply(&repo, DEV, "v1.0.1", &[], &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "Pulumi's state of notification-platform / development is missing, yet release #1 records what was deployed there",
            "nothing was changed",
            "restore",
            "--recreate-lost-state",
        ],
    );
    let run = repo.run_with(
        &["destroy", "-s", STACK, "-e", DEV, "--auto-approve"],
        &pulumi_env(&repo),
    );
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(&run.stderr, &["a destroy would remove nothing"]);
    assert_eq!(
        history(&repo, DEV).as_array().unwrap().len(),
        1,
        "nothing recorded"
    );
    no_lock_left(&repo);
    // Said explicitly, it goes ahead and creates everything.
    let run = apply(&repo, DEV, "v1.0.1", &["--recreate-lost-state"], &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(&run.stderr, &["create"]);
}

#[test]
fn a_first_apply_where_the_environment_already_runs_says_so() {
    if standin_only("knobs (fail, hang, drift, pause), pretended version or command log") {
        return;
    }
    let backend = AwsBackend::new();
    let repo = TestRepo::example();
    // development in moto's own account, so no role is needed, and in a region
    // no other test uses: the cluster this test creates stays its own.
    repo.edit(
        STACK_FILE,
        "    account: \"111111111111\"\n    region: us-east-1\n",
        "    account: \"123456789012\"\n    region: eu-west-3\n",
    );
    let env = backend.deploy_env(&repo);
    // What an earlier back-end deployed still runs: the stack's cluster.
    cluster_still_runs(&backend, "eu-west-3");
    let vars = ["apply", "-s", STACK, "-e", DEV, "--var", "VERSION=v1.0.0"];
    let run = repo.run_with(&vars, &env);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "notification-platform / development has no release and no Pulumi state",
            "yet its cluster arn:aws:ecs:eu-west-3:123456789012:cluster/notification-platform-development runs in AWS",
            "nothing was changed",
        ],
    );
    let log = std::fs::read_to_string(repo.file("standin.log")).unwrap_or_default();
    assert!(
        !log.contains("stack select") && !log.contains("preview"),
        "{log}"
    );
    let mut anyway = vars.to_vec();
    anyway.push("--recreate-lost-state");
    let run = repo.run_with(&anyway, &env);
    assert_eq!(run.code, 0, "{}", run.all());
}

/// `git clean -fdx` took the local back-end's `.deployer/`: with AWS
/// credentials configured, the first apply finds the cluster still running
/// and stops; without any, it says it could not check.
#[test]
fn a_deleted_local_state_is_noticed_when_aws_can_be_asked() {
    let repo = TestRepo::example();
    let vars = ["apply", "-s", STACK, "-e", DEV, "--var", "VERSION=v1.0.0"];
    let run = repo.run_with(&vars, &pulumi_env(&repo));
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(
        &run.stderr,
        &["no AWS credentials are configured to check that it is not already deployed"],
    );
    std::fs::remove_dir_all(repo.file(".deployer")).unwrap();
    // AWS (moto) has what the lost state deployed, in a region no other test
    // uses (moto is shared by the tests of this binary).
    repo.edit(
        STACK_FILE,
        "    account: \"111111111111\"\n    region: us-east-1\n",
        "    account: \"111111111111\"\n    region: eu-west-2\n",
    );
    let backend = AwsBackend::new();
    cluster_still_runs(&backend, "eu-west-2");
    let mut env = moto::aws_env(&backend.endpoint);
    env.extend(pulumi_env(&repo));
    let run = repo.run_with(&vars, &env);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "has no release and no Pulumi state",
            "runs in AWS",
            "nothing was changed",
        ],
    );
}

/// What an earlier deployment left in AWS (moto): the stack's cluster of
/// development, in `region` (each test its own: moto is shared by the tests
/// of this binary).
fn cluster_still_runs(backend: &AwsBackend, region: &str) {
    backend.open();
    let cloud = deployer::inspect::Cloud::in_region(region).unwrap();
    cloud
        .block_on(
            cloud
                .client::<aws_sdk_ecs::Client>()
                .create_cluster()
                .cluster_name("notification-platform-development")
                .send(),
        )
        .unwrap();
}
