//! S3 and DynamoDB failing in the middle of a deploy, through a
//! fault-injecting proxy in front of moto (tests/support/fault_proxy.py):
//! transient faults are retried; a lasting one ends in an error that says
//! what failed and in what state things are, never a partial record and never
//! "nothing deployed" when records exist; the next apply recovers by itself.

use super::*;

fn apply(repo: &TestRepo, env: &[(String, String)], version: &str, extra: &[&str]) -> Run {
    let var = format!("VERSION={version}");
    let mut args = vec!["apply", "-s", STACK, "-e", DEV, "--var", &var];
    args.extend_from_slice(extra);
    repo.run_with(&args, env)
}

fn statuses(repo: &TestRepo, env: &[(String, String)]) -> Vec<String> {
    let run = repo.run_with(
        &["history", "-s", STACK, "-e", DEV, "--output", "json"],
        env,
    );
    assert_eq!(run.code, 0, "{}", run.all());
    run.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn transient_faults_are_retried() {
    let (repo, _backend, outage, env) = example_through_proxy();
    outage.faults(serde_json::json!([
        {"method": "PUT", "path": "releases/000001/release.json", "fault": "503", "times": 1},
        {"target": "DynamoDB_20120810.PutItem", "fault": "throttle", "times": 2},
        {"method": "GET", "path": "latest.json", "fault": "reset", "times": 1},
        {"method": "PUT", "path": "releases/000001/result.json", "fault": "500", "times": 1},
    ]));
    let run = apply(&repo, &env, "v1.0.0", &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    let log = outage.log();
    for (request, fault) in [
        ("release.json", "-> 503"),
        ("PutItem", "-> throttle"),
        ("latest.json", "-> reset"),
        ("result.json", "-> 500"),
    ] {
        assert!(
            log.lines()
                .any(|l| l.contains(request) && l.ends_with(fault)),
            "`{request} {fault}` was never injected:\n{log}"
        );
    }
    assert!(
        log.lines()
            .any(|l| l.contains("releases/000001/result.json") && l.ends_with("-> 200")),
        "the result was written on a retry:\n{log}"
    );
    assert_eq!(statuses(&repo, &env), ["succeeded"]);
}

#[test]
fn a_lasting_outage_while_recording_the_outcome_is_explained_and_recovered() {
    let (repo, _backend, outage, env) = example_through_proxy();
    outage.faults(serde_json::json!([
        {"method": "PUT", "path": "releases/000001/result.json", "fault": "500"},
    ]));
    let run = apply(&repo, &env, "v1.0.0", &["--lock-ttl", "3s"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stderr,
        &["result.json", "release #1", "next `deployer apply`"],
    );
    assert_contains(
        &run.stderr,
        &[
            "release #1 was deployed in AWS, but its outcome could not be recorded",
            "failed: InternalError",
        ],
    );
    // The outage ends: the next apply finds release #1 unfinished and recovers.
    outage.faults(serde_json::json!([]));
    let run = apply(&repo, &env, "v1.0.1", &["--lock-timeout", "60s"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(&run.stderr, &["Release #1 was interrupted"]);
    assert_eq!(statuses(&repo, &env), ["succeeded", "interrupted"]);
}

#[test]
fn records_that_cannot_be_read_are_an_error_never_nothing_deployed() {
    let (repo, _backend, outage, env) = example_through_proxy();
    assert_eq!(apply(&repo, &env, "v1.0.0", &[]).code, 0);
    outage.faults(serde_json::json!([
        {"method": "GET", "path": "stacks/notification-platform/development/", "fault": "500"},
    ]));
    let run = repo.run_with(&["history", "-s", STACK, "-e", DEV], &env);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(!run.stderr.contains("no releases"), "{}", run.all());
    assert_contains(&run.stderr, &["S3 bucket"]);
    let run = apply(&repo, &env, "v1.0.1", &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    outage.faults(serde_json::json!([]));
    assert_eq!(
        statuses(&repo, &env),
        ["succeeded"],
        "nothing was recorded meanwhile"
    );
}

#[test]
fn a_lock_that_cannot_be_released_expires_and_is_said() {
    let (repo, _backend, outage, env) = example_through_proxy();
    outage.faults(serde_json::json!([
        {"target": "DynamoDB_20120810.DeleteItem", "fault": "reset"},
    ]));
    let run = apply(&repo, &env, "v1.0.0", &["--lock-ttl", "3s"]);
    assert_eq!(run.code, 0, "deployed and recorded: {}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "Deployment successful!",
            "could not be released (releasing the lock failed: dispatch failure: Connection reset by peer",
            "it expires by itself within 3s, and nothing else needs doing",
        ],
    );
    outage.faults(serde_json::json!([]));
    let run = apply(&repo, &env, "v1.0.1", &["--lock-timeout", "60s"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(statuses(&repo, &env)[0], "succeeded");
}

#[test]
fn a_lasting_outage_before_the_release_is_recorded_changes_nothing() {
    let (repo, _backend, outage, env) = example_through_proxy();
    outage.faults(serde_json::json!([
        {"method": "PUT", "path": "releases/000001/", "fault": "503"},
    ]));
    let run = apply(&repo, &env, "v1.0.0", &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "release.json failed: SlowDown",
            "try again in a few minutes",
        ],
    );
    assert!(
        !run.stderr.contains("Creating"),
        "nothing was deployed:\n{}",
        run.all()
    );
    outage.faults(serde_json::json!([]));
    let run = repo.run_with(&["history", "-s", STACK, "-e", DEV], &env);
    assert_contains(&run.stderr, &["no releases"]);
    assert_eq!(apply(&repo, &env, "v1.0.0", &[]).code, 0);
    assert_eq!(statuses(&repo, &env), ["succeeded"]);
}

/// DynamoDB failing while the heartbeat renews the lock, during a deploy that
/// takes real time (`--lock-ttl 3s`: a beat a second). A short outage is said
/// once, with when the lock would lapse, retried, and said over when a renewal
/// succeeds; a lasting one is said to have let the lock lapse. Both deploys go
/// on and are recorded, and no lock is left.
#[test]
fn an_outage_during_the_heartbeat_is_said_and_outlived() {
    if standin_only("knobs (fail, hang, drift, pause), pretended version or command log") {
        return;
    }
    let (repo, _backend, outage, mut env) = example_through_proxy();
    env.push(("STANDIN_PAUSE".into(), "email-service-api-task=5000".into()));
    env.push(("DEPLOYER_AWS_MAX_ATTEMPTS".into(), "1".into()));
    let renewals_fail = serde_json::json!([
        {"target": "DynamoDB_20120810.UpdateItem", "fault": "throttle"},
    ]);
    outage.faults(renewals_fail.clone());
    let run = std::thread::scope(|scope| {
        let apply = scope.spawn(|| apply(&repo, &env, "v1.0.0", &["--lock-ttl", "3s"]));
        // The outage ends once a renewal has failed (the SDK's own retries,
        // which hide shorter outages, are off in this test).
        let deadline = Instant::now() + Duration::from_secs(60);
        while !outage.log().contains("UpdateItem -> throttle") {
            assert!(
                Instant::now() < deadline,
                "no renewal was attempted:\n{}",
                outage.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        outage.faults(serde_json::json!([]));
        apply.join().unwrap()
    });
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "Could not renew the stack's lock (renewing the lock failed: ThrottlingException",
            "; trying again, it lapses in ",
            "The stack's lock was renewed again.",
            "Deployment successful!",
        ],
    );
    assert!(!run.stderr.contains("lapsed"), "{}", run.all());
    assert_eq!(
        run.stderr.matches("Could not renew").count(),
        1,
        "said once per outage: {}",
        run.all()
    );

    // An outage longer than the lock's time to live.
    outage.faults(renewals_fail);
    let run = apply(&repo, &env, "v1.0.1", &["--lock-ttl", "3s"]);
    outage.faults(serde_json::json!([]));
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "Could not renew the stack's lock",
            "The stack's lock lapsed at ",
            "Pulumi's own lock on the stack's state still stops a second update of it",
            "Deployment successful!",
        ],
    );
    assert_eq!(statuses(&repo, &env), ["succeeded", "succeeded"]);
    let lock = repo.run_with(&["lock", "status", "--output", "json"], &env);
    assert_eq!(lock.json(), serde_json::json!([]), "a lock was left behind");
}
