//! The back-end against a real S3/DynamoDB endpoint (moto in server mode on loopback):
//! `init`, the lock (racing, expiry, SIGKILL, unlock, refusals), release records
//! (conflicting writers, partial writes), `history`, an unreachable endpoint,
//! and the local back-end.

use crate::common::*;
use deployer::backend::releases::{ReleaseResult, ReleaseStart, Releases, Status};
use deployer::backend::{Acquire, LockInfo, LockRefused, Put, StateStore, lock_key};
use std::time::{Duration, Instant};

const DEV: &str = "development";

#[path = "backend/outages.rs"]
mod outages;

fn with(env: &[(String, String)], extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env = env.to_vec();
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    env
}

#[test]
fn init_writes_the_config_and_creates_bucket_and_table() {
    let backend = AwsBackend::new();
    let config = std::fs::read_to_string(backend.home.path().join("config.yaml")).unwrap();
    assert_contains(
        &config,
        &[
            &format!("bucket: {}", backend.bucket),
            &format!("table: {}", backend.table),
            "region: us-east-1",
        ],
    );
    // Running it again finds them and says so.
    let run = backend.init_create();
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            &format!("Found S3 bucket `{}`", backend.bucket),
            &format!("Found DynamoDB table `{}`", backend.table),
        ],
    );
    // The bucket is versioned, encrypted and not public; the table has TTL on `expires`.
    let clients = backend.clients();
    // (moto answers GetBucketVersioning with an XML root the Rust SDK rejects; boto3 reads it.)
    let script = format!(
        "import boto3; print(boto3.client('s3', endpoint_url='{}', region_name='us-east-1', aws_access_key_id='t', aws_secret_access_key='t').get_bucket_versioning(Bucket='{}').get('Status'))",
        backend.endpoint, backend.bucket
    );
    let out = std::process::Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "Enabled",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let block = clients
        .block_on(
            clients
                .s3
                .get_public_access_block()
                .bucket(&backend.bucket)
                .send(),
        )
        .unwrap();
    assert_eq!(
        block
            .public_access_block_configuration()
            .and_then(|c| c.block_public_acls()),
        Some(true)
    );
    let encryption = clients
        .block_on(
            clients
                .s3
                .get_bucket_encryption()
                .bucket(&backend.bucket)
                .send(),
        )
        .unwrap();
    assert!(encryption.server_side_encryption_configuration().is_some());
    let ttl = clients
        .block_on(
            clients
                .dynamodb
                .describe_time_to_live()
                .table_name(&backend.table)
                .send(),
        )
        .unwrap();
    assert_eq!(
        ttl.time_to_live_description()
            .and_then(|d| d.attribute_name()),
        Some("expires")
    );
}

#[test]
fn init_without_a_terminal_names_the_flag() {
    let home = tempfile::tempdir().unwrap();
    let run = deployer_with_env(
        &["init"],
        home.path(),
        &[("DEPLOYER_HOME", home.path().to_str().unwrap())],
    );
    assert_eq!(run.code, 2);
    assert_contains(
        &run.stderr,
        &[
            "cannot ask for S3 Bucket: not a terminal",
            "help: pass --bucket",
        ],
    );
    assert!(!home.path().join("config.yaml").exists());
}

#[test]
fn environment_variables_override_the_config_file() {
    let backend = AwsBackend::new();
    let repo = TestRepo::example();
    let env = with(&backend.env(), &[("DEPLOYER_LOCK_TABLE", "no-such-table")]);
    let run = repo.run_with(&["lock", "status"], &env);
    assert_eq!(run.code, 1);
    assert_contains(
        &run.stderr,
        &[
            "DynamoDB table `no-such-table`",
            "does not exist",
            "deployer init --create",
        ],
    );
}

/// 20 processes race for one lock; each records when it ran. Exactly one runs at
/// a time, and all of them run.
#[test]
fn twenty_processes_take_turns() {
    let backend = AwsBackend::new();
    let repo = TestRepo::example();
    let log = repo.file("turns.log");
    let script = format!(
        "echo start $(date +%s%N) $$ >> {0}; sleep 0.1; echo end $(date +%s%N) $$ >> {0}",
        log.display()
    );
    let children: Vec<_> = (0..20)
        .map(|i| {
            repo.command(
                &[
                    "lock",
                    "exec",
                    "-s",
                    STACK,
                    "-e",
                    DEV,
                    "--lock-timeout",
                    "300s",
                    "--",
                    "sh",
                    "-c",
                    &script,
                ],
                &with(
                    &backend.env(),
                    &[("DEPLOYER_USER", &format!("racer-{i}@example.com"))],
                ),
            )
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = std::fs::read_to_string(&log).unwrap();
    let mut events: Vec<(u128, bool)> = text
        .lines()
        .map(|l| {
            let parts: Vec<&str> = l.split_whitespace().collect();
            (parts[1].parse().unwrap(), parts[0] == "start")
        })
        .collect();
    assert_eq!(events.len(), 40, "every process ran once:\n{text}");
    events.sort();
    let mut inside = 0;
    for (_, start) in events {
        inside += if start { 1 } else { -1 };
        assert!(
            (0..=1).contains(&inside),
            "two processes held the lock at once:\n{text}"
        );
    }
}

#[test]
fn an_expired_lock_is_taken_over_and_other_stacks_do_not_block() {
    let backend = AwsBackend::new();
    let b = backend.open();
    let stale = LockInfo {
        lock_id: "stale-id".into(),
        who: "gone@example.com".into(),
        host: "old-host".into(),
        pid: 1,
        operation: "apply".into(),
        created: 1,
        expires: 2,
    };
    assert!(matches!(
        b.lock.try_acquire(&lock_key(STACK, DEV), &stale).unwrap(),
        Acquire::Acquired
    ));
    let repo = TestRepo::example();
    let run = try_lock_now(&repo, DEV, &backend.env());
    assert_eq!(run.code, 0, "the expired lock is taken over: {}", run.all());
    // A live lock on production does not block development or staging.
    let live = LockInfo {
        lock_id: "live".into(),
        expires: deployer::backend::now() + 3600,
        ..stale
    };
    assert!(matches!(
        b.lock
            .try_acquire(&lock_key(STACK, "production"), &live)
            .unwrap(),
        Acquire::Acquired
    ));
    for env in [DEV, "staging"] {
        let run = try_lock_now(&repo, env, &backend.env());
        assert_eq!(run.code, 0, "{env}: {}", run.all());
    }
    let run = try_lock_now(&repo, "production", &backend.env());
    assert_eq!(run.code, 1);
    assert_contains(
        &run.stderr,
        &[
            "⚠ Stack is locked",
            "Locked by: gone@example.com",
            "Waiting for lock... (Ctrl+C to cancel)",
            "gave up after 0s",
        ],
    );
}

/// `deployer lock exec --lock-timeout 0 -- true`: takes the lock only if it is free now.
fn try_lock_now(repo: &TestRepo, environment: &str, env: &[(String, String)]) -> Run {
    repo.run_with(
        &[
            "lock",
            "exec",
            "-s",
            STACK,
            "-e",
            environment,
            "--lock-timeout",
            "0",
            "--",
            "true",
        ],
        env,
    )
}

fn wait_for_lock(backend: &deployer::backend::Backend, key: &str) -> LockInfo {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(info) = backend.lock.get(key).unwrap() {
            return info;
        }
        assert!(Instant::now() < deadline, "the lock was never taken");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_killed_holder_leaves_a_stale_lock_that_expires() {
    let backend = AwsBackend::new();
    let b = backend.open();
    let repo = TestRepo::example();
    let key = lock_key(STACK, DEV);
    let mut holder = repo
        .command(
            &[
                "lock",
                "exec",
                "-s",
                STACK,
                "-e",
                DEV,
                "--lock-ttl",
                "4s",
                "--",
                "sleep",
                "60",
            ],
            &with(&backend.env(), &[("DEPLOYER_USER", "victim@example.com")]),
        )
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let info = wait_for_lock(&b, &key);
    assert_eq!(info.pid, holder.id());
    holder.kill().unwrap(); // SIGKILL: no chance to release
    holder.wait().unwrap();
    // The next one sees the stale holder...
    let run = try_lock_now(&repo, DEV, &backend.env());
    assert_eq!(run.code, 1);
    assert_contains(
        &run.stderr,
        &[
            "Locked by: victim@example.com",
            &format!("pid {}", info.pid),
            &format!(
                "deployer unlock --stack {STACK} --environment {DEV} {}",
                info.lock_id
            ),
        ],
    );
    // ...and takes it over once it expires.
    let started = Instant::now();
    let run = repo.run_with(
        &[
            "lock",
            "exec",
            "-s",
            STACK,
            "-e",
            DEV,
            "--lock-timeout",
            "30s",
            "--",
            "true",
        ],
        &backend.env(),
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(started.elapsed() < Duration::from_secs(15));
    assert!(b.lock.get(&key).unwrap().is_none(), "released after use");
}

#[test]
fn unlock_removes_a_stale_lock_before_it_expires() {
    let backend = AwsBackend::new();
    let b = backend.open();
    let repo = TestRepo::example();
    let key = lock_key(STACK, DEV);
    let mut holder = repo
        .command(
            &["lock", "exec", "-s", STACK, "-e", DEV, "--", "sleep", "60"],
            &backend.env(),
        )
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let info = wait_for_lock(&b, &key);
    holder.kill().unwrap();
    holder.wait().unwrap();
    // The wrong id removes nothing.
    let run = repo.run_with(
        &["unlock", "-s", STACK, "-e", DEV, "not-the-id", "--yes"],
        &backend.env(),
    );
    assert_eq!(run.code, 1);
    assert_contains(
        &run.stderr,
        &[
            "Locked by: tester@example.com",
            &format!(
                "the lock's id is {}, not not-the-id; nothing was removed",
                info.lock_id
            ),
        ],
    );
    // Without a terminal, confirmation needs --yes.
    let run = repo.run_with(
        &["unlock", "-s", STACK, "-e", DEV, &info.lock_id],
        &backend.env(),
    );
    assert_eq!(run.code, 2);
    assert_contains(&run.stderr, &["pass --yes"]);
    let run = repo.run_with(
        &["unlock", "-s", STACK, "-e", DEV, &info.lock_id, "--yes"],
        &backend.env(),
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(&run.stderr, &[&format!("Removed lock {}", info.lock_id)]);
    let run = try_lock_now(&repo, DEV, &backend.env());
    assert_eq!(run.code, 0, "{}", run.all());
}

/// A lock record nobody can read (a hand edit, another tool, a bug) stops
/// deploys with a message saying how to remove it, and `unlock --damaged`
/// removes it, showing what it held — on both back-ends.
#[test]
fn a_damaged_lock_is_said_and_unlock_removes_it() {
    // Local: a lock file that is no JSON.
    let repo = TestRepo::example();
    let key = lock_key(STACK, DEV);
    std::fs::create_dir_all(repo.file(".deployer/locks")).unwrap();
    std::fs::write(
        repo.file(&format!(".deployer/locks/{key}.json")),
        "{\"who\": \"half a lo",
    )
    .unwrap();
    // AWS: an item with no id and no expiry (it would never expire). (An
    // expiry that is a string would do too, but moto answers its comparison
    // with an internal error where DynamoDB fails the condition.)
    let backend = AwsBackend::new();
    let clients = backend.clients();
    clients
        .block_on(
            clients
                .dynamodb
                .put_item()
                .table_name(&backend.table)
                .item(
                    "LockID",
                    aws_sdk_dynamodb::types::AttributeValue::S(key.clone()),
                )
                .item(
                    "who",
                    aws_sdk_dynamodb::types::AttributeValue::S("someone".into()),
                )
                .send(),
        )
        .unwrap();
    for (env, held) in [(vec![], "half a lo"), (backend.env(), "who=S(\"someone\")")] {
        let run = try_lock_now(&repo, DEV, &env);
        assert_eq!(run.code, 1, "{}", run.all());
        assert_contains(
            &run.stderr,
            &[
                "is damaged",
                "deployer unlock --stack notification-platform --environment development --damaged",
            ],
        );
        let unlock = ["unlock", "-s", STACK, "-e", DEV, "--damaged"];
        let run = repo.run_with(&unlock, &env);
        assert_eq!(
            run.code,
            2,
            "confirmation needs --yes off a terminal: {}",
            run.all()
        );
        let mut yes = unlock.to_vec();
        yes.push("--yes");
        let run = repo.run_with(&yes, &env);
        assert_eq!(run.code, 0, "{}", run.all());
        assert_contains(&run.stderr, &["Removed the damaged lock", held]);
        let run = try_lock_now(&repo, DEV, &env);
        assert_eq!(run.code, 0, "{}", run.all());
        // A readable lock is not "damaged": --damaged removes nothing then.
        let run = repo.run_with(&yes, &env);
        assert_eq!(run.code, 1, "{}", run.all());
        assert_contains(&run.stderr, &["not locked"]);
    }
}

#[test]
fn release_and_renew_by_a_non_holder_are_refused() {
    let backend = AwsBackend::new();
    let b = backend.open();
    let key = lock_key(STACK, DEV);
    let now = deployer::backend::now();
    let mine = LockInfo {
        lock_id: "mine".into(),
        who: "me".into(),
        host: "h".into(),
        pid: 1,
        operation: "apply".into(),
        created: now,
        expires: now + 60,
    };
    assert!(matches!(
        b.lock.try_acquire(&key, &mine).unwrap(),
        Acquire::Acquired
    ));
    assert!(
        matches!(b.lock.release(&key, "someone-else"), Err(LockRefused::NotHolder(Some(h))) if h.lock_id == "mine")
    );
    assert!(matches!(
        b.lock.renew(&key, "someone-else", now + 999),
        Err(LockRefused::NotHolder(Some(_)))
    ));
    assert_eq!(
        b.lock.get(&key).unwrap().unwrap().expires,
        now + 60,
        "the refused renew changed nothing"
    );
    b.lock.renew(&key, "mine", now + 120).unwrap();
    b.lock.release(&key, "mine").unwrap();
    assert!(b.lock.get(&key).unwrap().is_none());
}

fn start(who: &str) -> ReleaseStart {
    ReleaseStart {
        number: 0,
        operation: "apply".into(),
        stack: STACK.into(),
        environment: DEV.into(),
        who: who.into(),
        host: "h".into(),
        started: deployer::backend::now(),
        variables: [("VERSION".to_string(), "v1.0.0".to_string())].into(),
        git_commit: Some("abc123".into()),
        program_hash: "sha256:x".into(),
        deployer_version: "test".into(),
        provider_version: None,
        aws_identity: None,
        lock_id: "l".into(),
        approved_by: None,
        source_release: None,
        plan_hash: None,
        planned_by: None,
        files: Default::default(),
    }
}

fn artifacts() -> deployer::artifacts::Artifacts {
    deployer::artifacts::Artifacts {
        program: "name: x\nruntime: yaml\n".into(),
        settings: "config: {}\n".into(),
        manifest: serde_json::from_value(serde_json::json!({
            "deployer_version": "test", "stack": STACK, "environment": DEV, "input_hash": "i", "program_hash": "p",
            "settings_hash": "s", "variables": {}, "environments": [DEV], "components": {}
        }))
        .unwrap(),
    }
}

/// Writers racing for the same release number: one wins each number, the others
/// fail loudly, and no record is overwritten.
#[test]
fn writers_of_the_same_release_number_never_overwrite_each_other() {
    let backend = AwsBackend::new();
    let b = backend.open();
    let barrier = std::sync::Barrier::new(4);
    let results: Vec<(String, Result<u32, String>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let (b, barrier) = (&b, &barrier);
                scope.spawn(move || {
                    let who = format!("writer-{i}");
                    barrier.wait();
                    let releases = Releases::new(b.store.as_ref(), STACK, DEV);
                    (
                        who.clone(),
                        releases
                            .begin(start(&who), &artifacts())
                            .map_err(|e| e.to_string()),
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let won: Vec<&(String, Result<u32, String>)> =
        results.iter().filter(|(_, r)| r.is_ok()).collect();
    assert!(!won.is_empty());
    for (who, result) in &results {
        if let Err(message) = result {
            assert!(
                message.contains("was just written by someone else; nothing of ours was recorded"),
                "{who}: {message}"
            );
        }
    }
    let releases = Releases::new(b.store.as_ref(), STACK, DEV);
    let mut numbers = Vec::new();
    for (who, result) in won {
        let n = *result.as_ref().unwrap();
        numbers.push(n);
        assert_eq!(
            releases.get(n).unwrap().unwrap().start.who,
            *who,
            "release {n} is the winner's record"
        );
    }
    numbers.sort();
    numbers.dedup();
    assert_eq!(
        numbers.len(),
        results.iter().filter(|(_, r)| r.is_ok()).count(),
        "every winner has its own number"
    );
    assert_eq!(
        releases.numbers().unwrap(),
        numbers,
        "no loser left a record behind"
    );
}

/// A store that fails on its Nth write, to check that a failed release leaves nothing.
struct FailingStore {
    inner: deployer::backend::local::LocalStore,
    writes: std::sync::atomic::AtomicUsize,
    fail_at: usize,
}

impl StateStore for FailingStore {
    fn put_new(&self, key: &str, bytes: &[u8]) -> deployer::error::Result<Put> {
        if self
            .writes
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            + 1
            == self.fail_at
        {
            return Err(deployer::error::Error::failed("injected outage"));
        }
        self.inner.put_new(key, bytes)
    }
    fn put_if(&self, key: &str, bytes: &[u8], etag: Option<&str>) -> deployer::error::Result<Put> {
        self.inner.put_if(key, bytes, etag)
    }
    fn get(&self, key: &str) -> deployer::error::Result<Option<(Vec<u8>, String)>> {
        self.inner.get(key)
    }
    fn list(&self, prefix: &str) -> deployer::error::Result<Vec<String>> {
        self.inner.list(prefix)
    }
    fn delete(&self, key: &str) -> deployer::error::Result<()> {
        self.inner.delete(key)
    }
    fn describe(&self) -> String {
        "failing store".into()
    }
}

#[test]
fn an_outage_while_recording_leaves_no_partial_release() {
    for fail_at in 1..=4 {
        let dir = tempfile::tempdir().unwrap();
        let store = FailingStore {
            inner: deployer::backend::local::LocalStore::new(dir.path().to_path_buf()),
            writes: Default::default(),
            fail_at,
        };
        let releases = Releases::new(&store, STACK, DEV);
        let err = releases.begin(start("me"), &artifacts()).unwrap_err();
        assert!(err.to_string().contains("injected outage"));
        assert!(
            store.list("stacks/").unwrap().is_empty(),
            "write {fail_at} failed and left {:?}",
            store.list("stacks/").unwrap()
        );
    }
}

#[test]
fn an_unreachable_endpoint_is_retried_then_explained() {
    let repo = TestRepo::example();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut env = moto::aws_env(&format!("http://127.0.0.1:{closed}"));
    env.extend([
        ("DEPLOYER_STATE_BUCKET".into(), "company-state".into()),
        ("DEPLOYER_LOCK_TABLE".into(), "company-locks".into()),
        ("DEPLOYER_AWS_MAX_ATTEMPTS".into(), "3".into()),
    ]);
    let run = repo.run_with(
        &["lock", "exec", "-s", STACK, "-e", DEV, "--", "true"],
        &env,
    );
    assert_eq!(run.code, 1);
    assert_contains(
        &run.stderr,
        &[
            "taking the lock failed",
            "DynamoDB table `company-locks`",
            "could not reach AWS after retrying",
            "AWS_ENDPOINT_URL",
        ],
    );
    let run = repo.run_with(&["history", "-s", STACK, "-e", DEV], &env);
    assert_eq!(run.code, 1);
    assert_contains(
        &run.stderr,
        &[
            "S3 bucket `company-state`",
            "could not reach AWS after retrying",
        ],
    );
    assert!(!run.stderr.contains("caused by"), "{}", run.stderr);
    // --verbose shows the layers the message leaves out, under it.
    let verbose = repo.run_with(&["history", "-s", STACK, "-e", DEV, "--verbose"], &env);
    assert_eq!(verbose.code, 1);
    let causes: Vec<&str> = verbose
        .stderr
        .lines()
        .filter(|l| l.trim_start().starts_with("caused by: "))
        .collect();
    assert!(!causes.is_empty(), "{}", verbose.stderr);
    let error_line = verbose.stderr.find("could not reach AWS").unwrap();
    assert!(
        verbose.stderr.find("caused by: ").unwrap() > error_line,
        "{}",
        verbose.stderr
    );
}

#[test]
fn a_missing_bucket_is_explained() {
    let backend = AwsBackend::new();
    let repo = TestRepo::example();
    let env = with(
        &backend.env(),
        &[("DEPLOYER_STATE_BUCKET", "no-such-bucket-here")],
    );
    let run = repo.run_with(&["history", "-s", STACK, "-e", DEV], &env);
    assert_eq!(run.code, 1);
    assert_contains(
        &run.stderr,
        &[
            "S3 bucket `no-such-bucket-here` does not exist",
            "deployer init --create",
        ],
    );
}

#[test]
fn history_reads_what_is_recorded() {
    let backend = AwsBackend::new();
    let b = backend.open();
    let releases = Releases::new(b.store.as_ref(), STACK, DEV);
    let first = releases
        .begin(start("alice@example.com"), &artifacts())
        .unwrap();
    releases
        .finish(&ReleaseResult {
            number: first,
            status: Status::Succeeded,
            finished: deployer::backend::now(),
            duration_ms: 515_000,
            outputs: Default::default(),
            components: Default::default(),
            changes: [("create".to_string(), 12)].into(),
            error: None,
            rolled_back_by: None,
        })
        .unwrap();
    let second = releases
        .begin(start("bob@example.com"), &artifacts())
        .unwrap();
    assert_eq!((first, second), (1, 2));
    let repo = TestRepo::example();
    let run = repo.run_with(&["history", "-s", STACK, "-e", DEV], &backend.env());
    assert_eq!(run.code, 0, "{}", run.all());
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(lines[0].starts_with("#  STATUS"), "{}", run.stdout);
    assert!(
        lines[1].starts_with("2  in progress") && lines[1].contains("bob@example.com"),
        "{}",
        run.stdout
    );
    assert!(
        lines[2].starts_with("1  succeeded")
            && lines[2].contains("8m 35s")
            && lines[2].contains("VERSION=v1.0.0"),
        "{}",
        run.stdout
    );
    let json = repo
        .run_with(
            &["history", "-s", STACK, "-e", DEV, "--output", "json"],
            &backend.env(),
        )
        .json();
    assert_eq!(json[1]["number"], 1);
    assert_eq!(json[1]["status"], "succeeded");
    assert_eq!(json[1]["who"], "alice@example.com");
    assert_eq!(json[1]["duration_ms"], 515_000);
    assert_eq!(json[1]["commit"], "abc123");
    assert_eq!(json[1]["variables"]["VERSION"], "v1.0.0");
    assert_eq!(json[0]["status"], "in_progress");
}

#[test]
fn the_local_backend_is_the_default_and_says_so() {
    let repo = TestRepo::example();
    let run = repo.run(&["lock", "exec", "-s", STACK, "-e", DEV, "--", "true"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "note: no back-end configured",
            "state and locks are local, in .deployer",
            "deployer init",
        ],
    );
    assert_eq!(run.stderr.matches("no back-end configured").count(), 1);
    // The same lock semantics: a held lock blocks, with the holder shown.
    let mut holder = repo
        .command(
            &["lock", "exec", "-s", STACK, "-e", DEV, "--", "sleep", "60"],
            &[],
        )
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !repo
        .file(&format!(".deployer/locks/{}.json", lock_key(STACK, DEV)))
        .exists()
    {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(50));
    }
    let run = try_lock_now(&repo, DEV, &[]);
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert_eq!(run.code, 1);
    assert_contains(
        &run.stderr,
        &["⚠ Stack is locked", "Locked by: tester@example.com"],
    );
}

#[test]
fn lock_exec_passes_the_exit_code_and_releases() {
    let repo = TestRepo::example();
    let run = repo.run(&[
        "lock", "exec", "-s", STACK, "-e", DEV, "--", "sh", "-c", "exit 7",
    ]);
    assert_eq!(run.code, 7);
    let status = repo.run(&["lock", "status", "--output", "json"]);
    assert_eq!(
        status.json(),
        serde_json::json!([]),
        "released after the command failed"
    );
}

#[test]
fn the_heartbeat_keeps_a_lock_past_its_ttl_and_notices_when_it_is_taken() {
    let backend = AwsBackend::new();
    let b = backend.open();
    let repo = TestRepo::example();
    let key = lock_key(STACK, DEV);
    let holder = repo
        .command(
            &[
                "lock",
                "exec",
                "-s",
                STACK,
                "-e",
                DEV,
                "--lock-ttl",
                "3s",
                "--",
                "sleep",
                "9",
            ],
            &backend.env(),
        )
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let info = wait_for_lock(&b, &key);
    std::thread::sleep(Duration::from_secs(5));
    // Past the 3s TTL, still held: the heartbeat renewed it.
    let run = try_lock_now(&repo, DEV, &backend.env());
    assert_eq!(
        run.code,
        1,
        "the lock expired although its holder runs: {}",
        run.all()
    );
    assert!(
        b.lock.get(&key).unwrap().unwrap().expires > info.expires,
        "renewed"
    );
    // Someone removes it: the holder says so and fails.
    b.lock.release(&key, &info.lock_id).unwrap();
    let out = holder.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_contains(
        &stderr,
        &[
            "The stack's lock was removed while this command held it",
            "the lock was lost while the command ran",
        ],
    );
}

/// Records the compiled example as a successful release in the repository's
/// local back-end, as `apply` would.
fn record_release(repo: &TestRepo, version: &str) {
    let files = repo.compiled(STACK, DEV, version);
    let store = deployer::backend::local::LocalStore::new(repo.file(".deployer/state"));
    let releases = Releases::new(&store, STACK, DEV);
    let n = releases.begin(start("alice@example.com"), &files).unwrap();
    let result = ReleaseResult {
        number: n,
        status: Status::Succeeded,
        finished: deployer::backend::now(),
        duration_ms: 1000,
        outputs: Default::default(),
        components: Default::default(),
        changes: Default::default(),
        error: None,
        rolled_back_by: None,
    };
    releases.finish(&result).unwrap();
}

#[test]
fn show_and_diff_against_what_is_deployed() {
    let repo = TestRepo::example();
    let run = repo.run(&["show", "-s", STACK, "-e", DEV, "--deployed"]);
    assert_eq!(run.code, 1);
    assert_contains(
        &run.stderr,
        &["nothing of notification-platform is deployed in development yet"],
    );
    record_release(&repo, "v1.0.0");
    let run = repo.run(&["show", "-s", STACK, "-e", DEV, "--deployed"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "release #1 of notification-platform / development",
            "by alice@example.com",
        ],
    );
    assert_contains(&run.stdout, &["email-api:v1.0.0"]);
    let same = repo.run(&[
        "diff",
        "-s",
        STACK,
        "-e",
        DEV,
        "--against",
        "deployed",
        "--var",
        "VERSION=v1.0.0",
    ]);
    assert_eq!(same.code, 0, "{}", same.all());
    let changed = repo.run(&[
        "diff",
        "-s",
        STACK,
        "-e",
        DEV,
        "--against",
        "deployed",
        "--var",
        "VERSION=v1.0.1",
    ]);
    assert_eq!(changed.code, 1, "{}", changed.all());
    assert_contains(
        &changed.stdout,
        &[
            "0 to add, 2 to change, 0 to remove",
            "~ email-service-api-task (aws:ecs/taskDefinition:TaskDefinition): containerDefinitions",
            "-",
            "email-api:v1.0.0",
            "+",
            "email-api:v1.0.1",
        ],
    );
}

#[test]
fn init_asks_on_a_terminal_like_the_walkthrough() {
    let home = tempfile::tempdir().unwrap();
    let env = vec![
        (
            "DEPLOYER_HOME".to_string(),
            home.path().display().to_string(),
        ),
        ("AWS_REGION".to_string(), String::new()),
    ];
    let answers = [
        ("S3 Bucket", "company-deployer-state"),
        ("DynamoDB Table", "company-deployer-locks"),
        ("Region", "us-east-1"),
    ];
    let (code, text) = run_on_terminal(&["init"], home.path(), &env, &answers);
    assert_eq!(code, 0, "{text}");
    assert_contains(
        &text,
        &[
            "S3 Bucket",
            "DynamoDB Table",
            "Region",
            &format!("✓ Saved to {}", home.path().join("config.yaml").display()),
        ],
    );
    let config = std::fs::read_to_string(home.path().join("config.yaml")).unwrap();
    assert_contains(
        &config,
        &[
            "bucket: company-deployer-state",
            "table: company-deployer-locks",
            "region: us-east-1",
        ],
    );
}
