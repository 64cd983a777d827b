//! Test support: a copy of the example repository in a temporary folder, and a
//! way to run the `deployer` binary in it the way a user would.
#![allow(dead_code)]

pub mod fault_proxy;
pub mod moto;

pub use fault_proxy::FaultProxy;

use std::path::{Path, PathBuf};
use std::process::Command;

pub const STACK: &str = "notification-platform";
pub const SERVICES: &str = "stacks/notification-platform/services";

pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub struct TestRepo {
    dir: tempfile::TempDir,
}

/// The result of one run of the binary.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<std::process::Output> for Run {
    fn from(out: std::process::Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Run {
    /// stdout and stderr together, for assertions that do not care where a line went.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

impl TestRepo {
    /// A fresh copy of `examples/deployment-repo`.
    pub fn example() -> TestRepo {
        let dir = tempfile::tempdir().expect("temp dir");
        copy_dir(&crate_dir().join("examples/deployment-repo"), dir.path());
        let repo = TestRepo { dir };
        if real_pulumi().is_some() {
            // The real provider refuses an account other than the
            // environment's (`allowedAccountIds`): moto answers as one.
            let stack = "stacks/notification-platform/stack.yaml";
            let text = repo.read(stack);
            let text = ["111111111111", "222222222222", "333333333333"]
                .iter()
                .fold(text, |t, a| t.replace(a, "123456789012"));
            repo.write(stack, text);
        }
        repo
    }

    /// An empty repository (only `stacks/`).
    pub fn empty() -> TestRepo {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("stacks")).unwrap();
        TestRepo { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn file(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write(&self, rel: &str, text: impl AsRef<[u8]>) {
        let path = self.file(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.file(rel)).unwrap()
    }

    /// Replaces `from` with `to` in a file; panics if `from` is not there, so a
    /// test cannot silently test nothing.
    pub fn edit(&self, rel: &str, from: &str, to: &str) {
        let text = self.read(rel);
        assert!(text.contains(from), "{rel} does not contain {from:?}");
        self.write(rel, text.replacen(from, to, 1));
    }

    /// Puts the example's development environment in moto's own account
    /// (123456789012), so deploying it needs no role to assume.
    pub fn development_in_motos_account(&self) {
        self.edit(
            &format!("stacks/{STACK}/stack.yaml"),
            "    account: \"111111111111\"\n",
            "    account: \"123456789012\"\n",
        );
    }

    pub fn remove(&self, rel: &str) {
        let path = self.file(rel);
        if path.is_dir() {
            std::fs::remove_dir_all(path).unwrap();
        } else {
            std::fs::remove_file(path).unwrap();
        }
    }

    /// Runs `deployer ARGS --repo <this repo>`.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, &[])
    }

    /// Runs `deployer ARGS --repo <this repo>` with extra environment variables.
    pub fn run_with(&self, args: &[&str], env: &[(String, String)]) -> Run {
        let repo = self.path().to_str().unwrap().to_string();
        let all = with_repo(args, &repo);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        deployer_with_env(&all, self.path(), &env)
    }

    /// `deployer compile` of one stack and environment at `VERSION=version`,
    /// read back as the artifacts a release records.
    pub fn compiled(
        &self,
        stack: &str,
        environment: &str,
        version: &str,
    ) -> deployer::artifacts::Artifacts {
        let out = tempfile::tempdir().unwrap();
        let run = self.run(&[
            "compile",
            "--stack",
            stack,
            "-e",
            environment,
            "--out",
            out.path().to_str().unwrap(),
            "--var",
            &format!("VERSION={version}"),
        ]);
        assert_eq!(run.code, 0, "{}", run.all());
        let dir = out.path().join(stack).join(environment);
        let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
        deployer::artifacts::Artifacts {
            program: read("Pulumi.yaml"),
            settings: read(&format!("Pulumi.{environment}.yaml")),
            manifest: serde_json::from_str(&read("manifest.json")).unwrap(),
        }
    }

    /// A `deployer ARGS --repo <this repo>` command to start in the background.
    pub fn command(&self, args: &[&str], env: &[(String, String)]) -> Command {
        let mut cmd = base_command(self.path());
        cmd.args(with_repo(args, self.path().to_str().unwrap()));
        cmd.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        cmd
    }
}

/// `git ARGS` in the repository, as a test identity.
pub fn git(repo: &TestRepo, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.email=t@example.com", "-c", "user.name=t"])
        .args(args)
        .current_dir(repo.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The example, committed on branch `main` of a new git repository.
pub fn git_repo() -> TestRepo {
    let repo = TestRepo::example();
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "base"]);
    repo
}

/// `ARGS --repo DIR`, with `--repo` before a trailing `-- COMMAND`.
fn with_repo<'a>(args: &[&'a str], repo: &'a str) -> Vec<&'a str> {
    let split = args.iter().position(|a| *a == "--").unwrap_or(args.len());
    let mut all = args[..split].to_vec();
    all.extend(["--repo", repo]);
    all.extend(&args[split..]);
    all
}

/// Runs the binary in `cwd` without colour and without a terminal.
pub fn deployer(args: &[&str], cwd: &Path) -> Run {
    deployer_with_env(args, cwd, &[])
}

pub fn deployer_with_env(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> Run {
    let mut cmd = base_command(cwd);
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run deployer").into()
}

/// The binary with the environment every test starts from: no colour, and
/// none of the developer's own configuration or identity.
pub fn base_command(cwd: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_deployer"));
    let home = std::env::temp_dir().join("deployer-tests-empty-home");
    cmd.current_dir(cwd)
        .env("NO_COLOR", "1")
        .env("DEPLOYER_HOME", &home)
        .env("DEPLOYER_USER", "tester@example.com")
        .env_remove("DEPLOYER_PULUMI")
        .env_remove("PULUMI_CONFIG_PASSPHRASE")
        .env_remove("DEPLOYER_STATE_BUCKET")
        .env_remove("DEPLOYER_LOCK_TABLE")
        // Never the instance metadata service, whatever a test forgets.
        .env("AWS_EC2_METADATA_DISABLED", "true");
    // A test that points this process at moto (`AwsBackend::open`) must not
    // give AWS to the deployer another test runs, nor may the developer's own
    // ~/.aws: each test passes the AWS it means (moto) explicitly.
    for (name, value) in moto::aws_env("") {
        match name.as_str() {
            "AWS_CONFIG_FILE" | "AWS_SHARED_CREDENTIALS_FILE" | "AWS_EC2_METADATA_DISABLED" => {
                cmd.env(name, value);
            }
            _ => {
                cmd.env_remove(name);
            }
        }
    }
    cmd.env_remove("AWS_PROFILE");
    cmd
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Asserts that `haystack` contains every needle, showing it all when not.
#[track_caller]
pub fn assert_contains(haystack: &str, needles: &[&str]) {
    for needle in needles {
        assert!(
            haystack.contains(needle),
            "expected to find {needle:?} in:\n{haystack}"
        );
    }
}

/// A shared back-end on moto: a fresh bucket and table, created by
/// `deployer init --create`, and the environment that selects them.
pub struct AwsBackend {
    pub home: tempfile::TempDir,
    pub bucket: String,
    pub table: String,
    pub endpoint: String,
}

impl AwsBackend {
    pub fn new() -> AwsBackend {
        AwsBackend::on(moto::moto())
    }

    /// A fresh bucket and table on a given moto server.
    pub fn on(server: &moto::Moto) -> AwsBackend {
        let endpoint = server.endpoint();
        let backend = AwsBackend {
            home: tempfile::tempdir().unwrap(),
            bucket: moto::unique("state"),
            table: moto::unique("locks"),
            endpoint,
        };
        let run = backend.init_create();
        assert_eq!(run.code, 0, "init --create failed: {}", run.all());
        backend
    }

    /// `deployer init --create` on this bucket and table, as a user runs it.
    pub fn init_create(&self) -> Run {
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        deployer_with_env(
            &[
                "init",
                "--bucket",
                &self.bucket,
                "--table",
                &self.table,
                "--region",
                "us-east-1",
                "--create",
            ],
            self.home.path(),
            &env,
        )
    }

    /// [`AwsBackend::env`] with the Pulumi the deploy tests run (`pulumi_env`).
    pub fn deploy_env(&self, repo: &TestRepo) -> Vec<(String, String)> {
        let mut env = self.env();
        env.extend(pulumi_env(repo));
        env
    }

    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = moto::aws_env(&self.endpoint);
        env.push((
            "DEPLOYER_HOME".into(),
            self.home.path().display().to_string(),
        ));
        env
    }

    /// In-process clients read credentials and endpoint from the environment,
    /// like the binary does; without this they would look for real AWS.
    fn point_this_process_at_moto(&self) {
        moto::point_this_process_at(&self.endpoint);
    }

    /// The same settings the binary uses.
    fn settings(&self) -> deployer::backend::aws::Settings {
        deployer::backend::aws::Settings {
            bucket: self.bucket.clone(),
            table: self.table.clone(),
            region: "us-east-1".into(),
            endpoint: Some(self.endpoint.clone()),
            path_style: true,
            secrets_provider: None,
        }
    }

    /// The library's AWS clients on the same endpoint, for checking AWS from a test.
    pub fn clients(&self) -> deployer::backend::aws::Clients {
        self.point_this_process_at_moto();
        deployer::backend::aws::Clients::connect(&self.settings()).unwrap()
    }

    /// The library's back-end on the same bucket and table.
    pub fn open(&self) -> deployer::backend::Backend {
        self.point_this_process_at_moto();
        deployer::backend::Backend::open(
            &deployer::backend::config::Resolved::Aws(self.settings()),
            std::path::Path::new("/nonexistent"),
        )
        .unwrap()
    }
}

/// The Pulumi stand-in (`tests/support/pulumi_standin/`), built by `cargo test`
/// as an example next to the test binaries.
pub fn standin() -> PathBuf {
    example_binary("pulumi-standin")
}

/// An example binary `cargo test` built next to the test binaries.
pub fn example_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let debug = exe.parent().unwrap().parent().unwrap();
    let path = debug.join("examples").join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo test` (it builds examples)",
        path.display()
    );
    path
}

thread_local! {
    /// The Pulumi version the stand-in pretends to be, for the test on this thread.
    static PULUMI_VERSION: std::cell::RefCell<Option<&'static str>> = const { std::cell::RefCell::new(None) };
}

/// The oldest Pulumi deployer supports (gocloud v0.37) and a current one
/// (gocloud v0.46): the flow tests run at both.
pub const PULUMI_VERSIONS: [&str; 2] = ["v3.227.0", "v3.259.0"];

/// Runs a test with the stand-in pretending to be Pulumi `version`.
pub fn at_pulumi_version(version: &'static str, test: impl FnOnce()) {
    PULUMI_VERSION.with(|v| *v.borrow_mut() = Some(version));
    test();
}

/// Environment for `apply` with the stand-in: its path, a passphrase, where it
/// logs the command lines it was given, its own `PULUMI_HOME` (plugins), and the
/// version it pretends to be when the test chose one.
pub fn pulumi_env(repo: &TestRepo) -> Vec<(String, String)> {
    let mut env = standin_env(repo);
    if let Some(version) = PULUMI_VERSION.with(|v| *v.borrow()) {
        env.push(("STANDIN_VERSION".into(), version.into()));
    }
    env
}

/// The real Pulumi CLI the deploy tests run against instead of the stand-in,
/// when `DEPLOYER_TEST_PULUMI` names one (.github/workflows/pulumi-e2e.yml;
/// docs/pulumi.md, "Running the deploy tests against the real Pulumi CLI").
pub fn real_pulumi() -> Option<PathBuf> {
    std::env::var_os("DEPLOYER_TEST_PULUMI")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
}

/// A test that needs what only the stand-in has — a knob that fails, hangs,
/// slows or drifts a resource, its pretended version, its log of the
/// command lines it was given — skips itself against the real CLI, saying so.
pub fn standin_only(needs: &str) -> bool {
    if real_pulumi().is_none() {
        return false;
    }
    eprintln!("skipped against the real Pulumi CLI: needs the stand-in's {needs}");
    true
}

fn standin_env(repo: &TestRepo) -> Vec<(String, String)> {
    let pulumi = real_pulumi().unwrap_or_else(standin);
    let mut env = Vec::new();
    if real_pulumi().is_some() {
        // The real pulumi-aws provider talks to AWS: moto, through the
        // endpoint every AWS SDK honours.
        env.extend(moto::aws_env(&moto::moto().endpoint()));
    }
    env.extend([
        ("DEPLOYER_PULUMI".into(), pulumi.display().to_string()),
        ("PULUMI_CONFIG_PASSPHRASE".into(), "test-passphrase".into()),
        (
            "STANDIN_LOG".into(),
            repo.file("standin.log").display().to_string(),
        ),
        (
            "PULUMI_HOME".into(),
            repo.file("pulumi-home").display().to_string(),
        ),
    ]);
    env
}

/// Runs the binary on a pseudo-terminal (Python's `pty`), answering each prompt
/// when its text appears, in order. Returns the exit code and everything shown.
pub fn run_on_terminal(
    args: &[&str],
    cwd: &Path,
    env: &[(String, String)],
    answers: &[(&str, &str)],
) -> (i32, String) {
    let script = r#"
import json, os, pty, sys, select
answers = json.loads(sys.argv[1])
argv = sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
out = b""
while True:
    try:
        r, _, _ = select.select([fd], [], [], 60)
        if not r: break
        chunk = os.read(fd, 1024)
    except OSError:
        break
    if not chunk: break
    out += chunk
    if answers and answers[0][0].encode() in out.split(b"\x00")[-1]:
        os.write(fd, answers[0][1].encode() + b"\r")
        out += b"\x00"
        answers.pop(0)
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.replace(b"\x00", b"").decode("utf-8", "replace"))
sys.exit(os.waitstatus_to_exitcode(status))
"#;
    let answers =
        serde_json::to_string(&answers.iter().map(|(p, a)| [*p, *a]).collect::<Vec<_>>()).unwrap();
    let cmd = base_command(cwd);
    let program = cmd.get_program().to_owned();
    let mut python = Command::new("python3");
    python
        .arg("-c")
        .arg(script)
        .arg(answers)
        .arg(program)
        .args(args)
        .current_dir(cwd);
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => python.env(k, v),
            None => python.env_remove(k),
        };
    }
    python.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let out = python.output().expect("python3");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The provider checker: the team's shared copy when it is beside the
/// repository, else the one in tests/support/pulumi-aws. Returns (script, index).
pub fn provider_checker() -> (PathBuf, PathBuf) {
    let shared = crate_dir().join("../shared/pulumi-aws");
    let dir = if shared.join("check_program.py").exists() {
        shared
    } else {
        crate_dir().join("tests/support/pulumi-aws")
    };
    (dir.join("check_program.py"), dir.join("index.json.gz"))
}

/// `stack init` with every answer given as a flag (no terminal), plus `extra`.
pub fn init_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "stack",
        "init",
        "--account",
        "123456789012",
        "--vpc",
        "vpc-0123456789abcdef0",
        "--private-subnets",
        "subnet-0123456789abcdef0,subnet-0123456789abcdef1",
        "--owner",
        "team@example.com",
    ];
    args.extend_from_slice(extra);
    args
}

/// The JSON examples docs/json.md gives under `## deployer <command>`.
pub fn documented_json(command: &str) -> Vec<serde_json::Value> {
    let doc = std::fs::read_to_string(crate_dir().join("docs/json.md")).unwrap();
    if command == "error" {
        let top = &doc[..doc.find("\n## deployer ").unwrap()];
        return json_blocks(top)
            .into_iter()
            .filter(|b| b.get("error").is_some())
            .collect();
    }
    let heading = format!("## deployer {command}\n");
    let start = doc
        .find(&heading)
        .unwrap_or_else(|| panic!("docs/json.md has no section `{heading}`"));
    let section = &doc[start + heading.len()..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    json_blocks(section)
}

/// Every fenced ```json block of `text`, parsed.
pub fn json_blocks(text: &str) -> Vec<serde_json::Value> {
    text.split("```json\n")
        .skip(1)
        .map(|block| {
            let block = &block[..block.find("```").unwrap()];
            serde_json::from_str(block)
                .unwrap_or_else(|e| panic!("docs/json.md: a block is not JSON ({e}):\n{block}"))
        })
        .collect()
}

/// Asserts that `actual` has one of the shapes docs/json.md documents for
/// `command`: the same keys at every level (a documented `<NAME>` key stands
/// for any key), values of the same type (a documented `{}` is any object,
/// `null` anything; an actual `null` may stand for any documented value), and
/// every `target` one of the documented targets.
#[track_caller]
pub fn assert_documented_shape(command: &str, actual: &serde_json::Value) {
    let documented = documented_json(command);
    let problems: Vec<String> = documented
        .iter()
        .map(|doc| {
            let mut problems = Vec::new();
            shape_problems(doc, actual, "", &mut problems);
            problems.join("\n")
        })
        .collect();
    assert!(
        problems.iter().any(String::is_empty),
        "`deployer {command} --output json` does not match docs/json.md:\n{}\n\nactual:\n{actual:#}",
        problems.join("\n--- or ---\n")
    );
}

fn shape_problems(
    doc: &serde_json::Value,
    actual: &serde_json::Value,
    path: &str,
    out: &mut Vec<String>,
) {
    use serde_json::Value;
    match (doc, actual) {
        (Value::Null, _) | (_, Value::Null) => {}
        (Value::Object(d), Value::Object(_)) if d.is_empty() => {}
        (Value::Object(d), Value::Object(a)) => {
            if let Some((key, shape)) = d.iter().find(|(k, _)| k.starts_with('<')) {
                assert_eq!(d.len(), 1, "docs/json.md: {path}/{key} stands alone");
                for (k, v) in a {
                    shape_problems(shape, v, &format!("{path}/{k}"), out);
                }
                return;
            }
            for key in d.keys() {
                if !a.contains_key(key) {
                    out.push(format!("{path}/{key}: documented, missing"));
                }
            }
            for (key, value) in a {
                match (key.as_str(), d.get(key)) {
                    ("target", Some(_)) => target_problems(value, &format!("{path}/target"), out),
                    (_, Some(shape)) => shape_problems(shape, value, &format!("{path}/{key}"), out),
                    (_, None) => out.push(format!("{path}/{key}: not documented")),
                }
            }
        }
        (Value::Array(d), Value::Array(a)) => {
            if let Some(shape) = d.first() {
                for (i, item) in a.iter().enumerate() {
                    shape_problems(shape, item, &format!("{path}/{i}"), out);
                }
            }
        }
        (Value::String(_), Value::String(_))
        | (Value::Number(_), Value::Number(_))
        | (Value::Bool(_), Value::Bool(_)) => {}
        (d, a) => out.push(format!("{path}: documented {d}, found {a}")),
    }
}

fn target_problems(actual: &serde_json::Value, path: &str, out: &mut Vec<String>) {
    let doc = std::fs::read_to_string(crate_dir().join("docs/json.md")).unwrap();
    let top = &doc[..doc.find("\n## deployer ").unwrap()];
    let targets: Vec<serde_json::Value> = json_blocks(top)
        .into_iter()
        .filter(|b| b.get("error").is_none())
        .collect();
    let fits = targets.iter().any(|t| {
        let mut problems = Vec::new();
        shape_problems(t, actual, path, &mut problems);
        problems.is_empty()
    });
    if !fits {
        out.push(format!(
            "{path}: {actual} is none of the documented targets"
        ));
    }
}

/// The example (development in moto's own account) on the shared back-end,
/// with deployer, Pulumi and the AWS SDK all going through the fault proxy.
pub fn example_through_proxy() -> (TestRepo, AwsBackend, FaultProxy, Vec<(String, String)>) {
    let backend = AwsBackend::new();
    let proxy = FaultProxy::start();
    let config = backend.home.path().join("config.yaml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace(&backend.endpoint, &proxy.endpoint())).unwrap();
    let repo = TestRepo::example();
    repo.development_in_motos_account();
    let mut env = backend.env();
    env.retain(|(k, _)| k != "AWS_ENDPOINT_URL");
    env.push(("AWS_ENDPOINT_URL".into(), proxy.endpoint()));
    env.extend(pulumi_env(&repo));
    (repo, backend, proxy, env)
}
