//! A deployer killed (SIGKILL: no handler runs) at each point of `apply`,
//! `rollback` and `destroy` where a kill could leave something behind
//! (`DEPLOYER_KILL_AT`, src/failpoint.rs). For each: the next `apply`
//! succeeds with no manual step; history is consistent (release numbers
//! 1..n, none reused or skipped, a release the killed process began marked
//! interrupted, none left in progress); Pulumi's state is intact (the same
//! apply again changes nothing); no lock is left.

use super::*;

/// What runs before the kill, and the command that is killed.
#[derive(Clone, Copy)]
enum Killed {
    /// `apply VERSION=v2.0.0` after release #1.
    Apply,
    /// `apply` that fails (a resource of v9.9.9 fails) and rolls back itself.
    FailingApply,
    /// `rollback` to #1 after releases #1 and #2.
    Rollback,
    /// `destroy` after release #1.
    Destroy,
    /// `apply` while someone else holds the lock.
    ApplyWaiting,
    /// `apply` while Pulumi hangs, so the heartbeat comes.
    ApplyHanging,
}

fn killed_at(point: &str, killed: Killed) {
    if standin_only("knobs (fail, hang, drift, pause), pretended version or command log") {
        return;
    }
    let repo = TestRepo::example();
    assert_eq!(apply(&repo, DEV, "v1.0.0", &[], &[]).code, 0);
    let marker = repo.file("hanging.pid");
    let mut knobs: Vec<(&str, &str)> = vec![("DEPLOYER_KILL_AT", point)];
    let mut holder = None;
    let args: Vec<&str> = match killed {
        Killed::Apply | Killed::ApplyWaiting | Killed::ApplyHanging => {
            vec!["apply", "-s", STACK, "-e", DEV, "--var", "VERSION=v2.0.0"]
        }
        Killed::FailingApply => {
            knobs.push(("STANDIN_FAIL", "email-api:v9.9.9"));
            vec!["apply", "-s", STACK, "-e", DEV, "--var", "VERSION=v9.9.9"]
        }
        Killed::Rollback => {
            assert_eq!(apply(&repo, DEV, "v2.0.0", &[], &[]).code, 0);
            vec!["rollback", "-s", STACK, "-e", DEV, "--to", "1"]
        }
        Killed::Destroy => vec!["destroy", "-s", STACK, "-e", DEV, "--auto-approve"],
    };
    if let Killed::ApplyWaiting = killed {
        let lock_file = repo.file(&format!(
            ".deployer/locks/{}.json",
            deployer::backend::lock_key(STACK, DEV)
        ));
        holder = Some(
            repo.command(
                &["lock", "exec", "-s", STACK, "-e", DEV, "--", "sleep", "2"],
                &[],
            )
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
        );
        wait_for(&lock_file);
    }
    if let Killed::ApplyHanging = killed {
        knobs.push(("STANDIN_HANG", "email-api:v2.0.0"));
        knobs.push(("STANDIN_MARKER", marker.to_str().unwrap()));
    }
    let before = history(&repo, DEV).as_array().unwrap().len();
    let mut all = args.clone();
    all.extend(["--lock-ttl", "3s"]);
    let run = repo.run_with(&all, &env_with(&repo, &knobs));
    // Killed by the signal (no exit code): the point was reached.
    assert_eq!(run.code, -1, "`{point}` was never reached:\n{}", run.all());
    if let Some(mut holder) = holder {
        holder.wait().unwrap();
    }
    // The next apply recovers by itself.
    let next = apply(&repo, DEV, "v3.0.0", &["--lock-timeout", "60s"], &[]);
    assert_eq!(next.code, 0, "after a kill at `{point}`:\n{}", next.all());
    let history = history(&repo, DEV);
    let releases = history.as_array().unwrap();
    let numbers: Vec<u64> = releases
        .iter()
        .rev()
        .map(|r| r["number"].as_u64().unwrap())
        .collect();
    assert_eq!(
        numbers,
        (1..=numbers.len() as u64).collect::<Vec<_>>(),
        "numbers reused or skipped after `{point}`"
    );
    assert_eq!(releases[0]["status"], "succeeded");
    assert!(
        releases.iter().all(|r| r["status"] != "in_progress"),
        "a release left in progress after `{point}`: {history:#}"
    );
    // Every release the killed process began has an outcome: interrupted
    // unless it got to record one.
    for begun in &releases[1..releases.len() - before] {
        let status = begun["status"].as_str().unwrap();
        assert!(
            [
                "interrupted",
                "failed",
                "succeeded",
                "rolled_back",
                "destroyed"
            ]
            .contains(&status),
            "release #{} is {status} after `{point}`",
            begun["number"]
        );
    }
    // Pulumi's state matches what was deployed: the same apply changes nothing.
    let again = apply(&repo, DEV, "v3.0.0", &[], &[]);
    assert_eq!(again.code, 0, "{}", again.all());
    assert_contains(&again.stderr, &["No changes"]);
    no_lock_left(&repo);
}

macro_rules! kill_points {
    ($($name:ident: $point:literal in $killed:ident,)*) => {
        $(#[test] fn $name() { killed_at($point, Killed::$killed) })*
    };
}

kill_points! {
    apply_after_compile: "compile.checked" in Apply,
    apply_while_waiting_for_the_lock: "lock.waiting" in ApplyWaiting,
    apply_after_taking_the_lock: "lock.acquired" in Apply,
    apply_during_the_preview: "preview.event" in Apply,
    apply_after_the_release_record_claims_its_number: "release.object-written" in Apply,
    apply_with_the_program_half_recorded: "release.object-written:2" in Apply,
    apply_after_the_release_began: "release.begun" in Apply,
    apply_mid_up_after_some_resources: "engine.event:6" in Apply,
    apply_between_up_and_the_record: "engine.finished" in Apply,
    apply_after_recording_the_result: "release.finished" in Apply,
    apply_during_a_heartbeat: "lock.heartbeat" in ApplyHanging,
    apply_during_the_automatic_rollback: "release.begun:2" in FailingApply,
    apply_mid_automatic_rollback_up: "engine.finished" in FailingApply,
    rollback_after_it_began: "release.begun" in Rollback,
    rollback_mid_up: "engine.event:4" in Rollback,
    destroy_after_it_began: "release.begun" in Destroy,
    destroy_mid_destroy: "engine.event:5" in Destroy,
    destroy_between_destroy_and_the_record: "engine.finished" in Destroy,
}

#[test]
fn a_recovery_killed_midway_is_recovered_again() {
    let repo = TestRepo::example();
    assert_eq!(apply(&repo, DEV, "v1.0.0", &[], &[]).code, 0);
    for point in ["engine.event:6", "recovery.refresh"] {
        let run = apply(
            &repo,
            DEV,
            "v2.0.0",
            &["--lock-ttl", "3s", "--lock-timeout", "60s"],
            &[("DEPLOYER_KILL_AT", point)],
        );
        assert_eq!(run.code, -1, "`{point}` was never reached:\n{}", run.all());
    }
    let run = apply(&repo, DEV, "v3.0.0", &["--lock-timeout", "60s"], &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(&run.stderr, &["Release #2 was interrupted"]);
    let history = history(&repo, DEV);
    let statuses: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["succeeded", "interrupted", "succeeded"]);
    no_lock_left(&repo);
}
