//! The engine drives the Pulumi CLI: it prepares a workspace for a stack and
//! environment, points Pulumi at its self-managed backend in the same bucket
//! (`s3://BUCKET/pulumi`) or on disk (`file://`), runs the CLI without a shell
//! and non-interactively, and reads its newline-delimited engine events as they
//! come.
//!
//! Calls deployer makes (the stand-in in `tests/support/` follows the same):
//! `version`; `stack select --create --stack E --secrets-provider P`;
//! `preview --event-log FILE`; `up --yes --skip-preview --json`;
//! `refresh --yes --json [--preview-only] [--clear-pending-creates]`;
//! `stack output --json`; `cancel --yes`. All with `--non-interactive` and
//! `--stack E` in the workspace folder.

pub mod events;
pub mod progress;
pub mod pulumi;

use crate::backend::{Backend, Kind};
use crate::error::{Error, Result};
use events::EngineEvent;
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Keys of `Pulumi.<env>.yaml` that Pulumi writes when it creates a stack and
/// needs again to read its secrets; kept in the state store between runs.
const SECRETS_KEYS: [&str; 3] = ["secretsprovider:", "encryptedkey:", "encryptionsalt:"];

/// How a run of `up` ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    /// Pulumi exited with this code (4: a resource operation failed).
    Failed(i32),
    /// Stopped on request (Ctrl+C), cleanly.
    Cancelled,
}

/// A Pulumi workspace for one stack and environment.
pub struct Engine {
    pulumi: pulumi::Pulumi,
    pub dir: PathBuf,
    pub environment: String,
    env: Vec<(String, String)>,
    secrets_provider: String,
    secrets_key: String,
    backend: Backend,
}

impl Engine {
    /// Writes the program into the workspace and sets up how Pulumi finds its state.
    pub fn prepare(
        pulumi: pulumi::Pulumi,
        backend: &Backend,
        repo_root: &Path,
        stack: &str,
        environment: &str,
        program: &str,
        settings: &str,
    ) -> Result<Engine> {
        let dir = repo_root
            .join(".deployer")
            .join("work")
            .join(stack)
            .join(environment);
        std::fs::create_dir_all(&dir).map_err(|e| {
            Error::failed(format!(
                "cannot create the workspace {}: {e}",
                dir.display()
            ))
        })?;
        let secrets_provider = match &backend.kind {
            Kind::Aws(s) => s.secrets_provider.clone(),
            Kind::Local(_) => None,
        };
        let secrets_provider = secrets_provider.unwrap_or_else(|| "passphrase".into());
        if secrets_provider == "passphrase"
            && std::env::var_os("PULUMI_CONFIG_PASSPHRASE").is_none()
            && std::env::var_os("PULUMI_CONFIG_PASSPHRASE_FILE").is_none()
        {
            return Err(Error::failed("Pulumi needs a passphrase to protect secrets in its state")
                .with_help("set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE), the same for everyone deploying this stack, or configure a KMS key as `secrets_provider: awskms://...` in ~/.deployer/config.yaml"));
        }
        let secrets_key = format!("stacks/{stack}/{environment}/pulumi-secrets.yaml");
        let stored = backend
            .store
            .get(&secrets_key)?
            .map(|(b, _)| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let write = |name: &str, text: &str| {
            crate::artifacts::write_atomic(&dir.join(name), text.as_bytes()).map_err(|e| {
                Error::failed(format!("cannot write {name} in {}: {e}", dir.display()))
            })
        };
        write("Pulumi.yaml", program)?;
        write(
            &format!("Pulumi.{environment}.yaml"),
            &format!("{}{}", secrets_lines(&stored), settings),
        )?;
        let env = vec![
            (
                "PULUMI_BACKEND_URL".to_string(),
                backend_url(backend, repo_root),
            ),
            ("PULUMI_SKIP_UPDATE_CHECK".to_string(), "true".to_string()),
            (
                "PULUMI_DIY_BACKEND_NO_LEGACY_WARNING".to_string(),
                "true".to_string(),
            ),
        ];
        Ok(Engine {
            pulumi,
            dir,
            environment: environment.to_string(),
            env,
            secrets_provider,
            secrets_key,
            backend: backend.clone(),
        })
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.pulumi.path);
        command
            .args(args)
            .args(["--stack", &self.environment, "--non-interactive"])
            .current_dir(&self.dir)
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        // Its own process group: Ctrl+C reaches deployer only, which passes on
        // exactly one interrupt (a second one would make Pulumi stop uncleanly).
        use std::os::unix::process::CommandExt;
        command.process_group(0);
        command
    }

    /// Runs a command to completion, returning its exit code and output.
    fn run(&self, args: &[&str]) -> Result<(i32, String, String)> {
        let out = self
            .command(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| {
                Error::failed(format!("cannot run {}: {e}", self.pulumi.path.display()))
            })?;
        Ok((
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ))
    }

    fn check(&self, what: &str, (code, stdout, stderr): (i32, String, String)) -> Result<String> {
        if code == 0 {
            return Ok(stdout);
        }
        let detail = last_lines(&format!("{stdout}\n{stderr}"), 12);
        Err(
            Error::failed(format!("`pulumi {what}` failed (exit {code}):\n{detail}"))
                .with_help(exit_help(code)),
        )
    }

    /// Selects the Pulumi stack of this environment, creating it the first time.
    pub fn select_stack(&self) -> Result<()> {
        let result = self.run(&[
            "stack",
            "select",
            "--create",
            "--secrets-provider",
            &self.secrets_provider,
        ])?;
        self.check("stack select", result)?;
        // Keep what Pulumi wrote to decrypt this stack's secrets for the next run.
        let config =
            std::fs::read_to_string(self.dir.join(format!("Pulumi.{}.yaml", self.environment)))
                .unwrap_or_default();
        let lines = secrets_lines(&config);
        if !lines.is_empty() {
            let current = self.backend.store.get(&self.secrets_key)?;
            if current.as_ref().map(|(b, _)| b.as_slice()) != Some(lines.as_bytes()) {
                self.backend.store.put_if(
                    &self.secrets_key,
                    lines.as_bytes(),
                    current.as_ref().map(|(_, tag)| tag.as_str()),
                )?;
            }
        }
        Ok(())
    }

    /// Runs a preview and returns its events.
    pub fn preview(&self) -> Result<Vec<EngineEvent>> {
        let log = self.dir.join(".preview-events.jsonl");
        let _ = std::fs::remove_file(&log);
        let result = self.run(&["preview", "--event-log", log.to_str().unwrap_or_default()])?;
        let events = read_events(&log);
        let _ = std::fs::remove_file(&log);
        self.check("preview", result)?;
        Ok(events)
    }

    /// Runs `pulumi up`, calling `on_event` for every engine event as it comes.
    /// Ctrl+C is passed on once and the run is waited for.
    pub fn up(&self, on_event: impl FnMut(&EngineEvent)) -> Result<(Outcome, String)> {
        self.stream(&["up", "--yes", "--skip-preview", "--json"], on_event)
    }

    /// `pulumi refresh`; with `preview_only` nothing is changed.
    pub fn refresh(
        &self,
        preview_only: bool,
        clear_pending: bool,
        on_event: impl FnMut(&EngineEvent),
    ) -> Result<(Outcome, String)> {
        let mut args = vec!["refresh", "--yes", "--json"];
        if preview_only {
            args.push("--preview-only");
        }
        if clear_pending {
            args.push("--clear-pending-creates");
        }
        self.stream(&args, on_event)
    }

    fn stream(
        &self,
        args: &[&str],
        mut on_event: impl FnMut(&EngineEvent),
    ) -> Result<(Outcome, String)> {
        let mut child = self
            .command(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                Error::failed(format!("cannot run {}: {e}", self.pulumi.path.display()))
            })?;
        let (tx, rx) = mpsc::channel::<String>();
        let stdout = child.stdout.take().expect("piped");
        let reader = std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(std::result::Result::ok)
            {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut stderr = child.stderr.take().expect("piped");
        let errors = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
            text
        });
        let mut other = String::new();
        let mut interrupted = false;
        loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => match events::parse(&line) {
                    Some(event) => on_event(&event),
                    None => {
                        other.push_str(&line);
                        other.push('\n');
                    }
                },
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
            if crate::interrupt::interrupted() && !interrupted {
                interrupted = true;
                // Pulumi finishes what is in flight, saves its state and exits.
                unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
            }
        }
        let _ = reader.join();
        let status = child
            .wait()
            .map_err(|e| Error::failed(format!("waiting for pulumi failed: {e}")))?;
        let stderr = errors.join().unwrap_or_default();
        let output = format!("{other}{stderr}");
        let code = status.code().unwrap_or(-1);
        let outcome = match code {
            0 => Outcome::Succeeded,
            _ if interrupted => Outcome::Cancelled,
            8 => Outcome::Cancelled,
            code => Outcome::Failed(code),
        };
        Ok((outcome, output))
    }

    /// The stack's outputs after an update.
    pub fn outputs(&self) -> Result<BTreeMap<String, serde_json::Value>> {
        let result = self.run(&["stack", "output", "--json"])?;
        let text = self.check("stack output", result)?;
        serde_json::from_str(&text)
            .map_err(|e| Error::failed(format!("cannot read the stack's outputs: {e}")))
    }

    /// Removes Pulumi's own lock on the stack, left by a process that died. Safe
    /// only while deployer's lock proves nobody else is running.
    pub fn cancel_stale_lock(&self) -> Result<()> {
        let result = self.run(&["cancel", "--yes"])?;
        self.check("cancel", result).map(|_| ())
    }
}

/// Where Pulumi keeps its checkpoints: beside deployer's records.
pub fn backend_url(backend: &Backend, repo_root: &Path) -> String {
    if let Some(url) = std::env::var("DEPLOYER_PULUMI_BACKEND_URL")
        .ok()
        .filter(|u| !u.is_empty())
    {
        return url;
    }
    match &backend.kind {
        Kind::Local(_) => format!(
            "file://{}",
            repo_root.join(".deployer").join("pulumi").display()
        ),
        Kind::Aws(s) => {
            let mut url = format!("s3://{}/pulumi?region={}", s.bucket, s.region);
            if let Some(endpoint) = &s.endpoint {
                url.push_str(&format!(
                    "&endpoint={}&use_path_style=true",
                    endpoint.replace('&', "%26")
                ));
            }
            url
        }
    }
}

fn secrets_lines(config: &str) -> String {
    config
        .lines()
        .filter(|l| SECRETS_KEYS.iter().any(|k| l.starts_with(k)))
        .map(|l| format!("{l}\n"))
        .collect()
}

fn read_events(path: &Path) -> Vec<EngineEvent> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(events::parse)
        .collect()
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// What to do about a Pulumi exit code (stable since CLI 3.226.1:
/// https://www.pulumi.com/docs/iac/cli/exit-codes/).
pub fn exit_help(code: i32) -> String {
    match code {
        2 => "Pulumi refused the program or its configuration; this is likely a deployer bug: please report it with the output above".into(),
        3 => "Pulumi could not authenticate: check AWS credentials and PULUMI_CONFIG_PASSPHRASE".into(),
        4 => "a resource operation failed: see Pulumi's message above".into(),
        6 => "the Pulumi stack was not found".into(),
        8 => "the run was cancelled".into(),
        _ => "see Pulumi's output above".into(),
    }
}
