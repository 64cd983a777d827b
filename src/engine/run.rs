//! Running one Pulumi command: no shell, its own process group, every line it
//! prints kept in a log file in the workspace (so a disagreement with the real CLI
//! can be reported and reproduced), engine events handed on as they come.

use super::events::{self, EngineEvent};
use crate::error::{Context, Error, Result};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Logs kept per workspace; older ones are removed.
const KEEP_LOGS: usize = 40;

/// How a command ended.
pub struct Finished {
    pub code: i32,
    /// Whether deployer passed on an interrupt while it ran.
    pub interrupted: bool,
    /// Lines that were not engine events (stdout), then stderr.
    pub output: String,
    /// Where every line it printed was kept.
    pub log: PathBuf,
}

impl Finished {
    /// The last non-empty lines of Pulumi's own output, indented, for messages.
    pub fn tail(&self, n: usize) -> String {
        let lines: Vec<&str> = self
            .output
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect();
        lines[lines.len().saturating_sub(n)..]
            .iter()
            .map(|l| format!("  {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// An error for a command that failed: what ran, its exit code, the end of
    /// what it said, and where all of it is.
    pub fn error(&self, what: &str) -> Error {
        let tail = self.tail(12);
        let shown = if tail.is_empty() {
            String::new()
        } else {
            format!(":\n{tail}")
        };
        Error::failed(format!(
            "`pulumi {what}` failed (exit {}){shown}",
            self.code
        ))
        .with_help(format!(
            "Pulumi's whole output is in {}; {}",
            self.log.display(),
            super::exit_help(self.code)
        ))
    }
}

/// One Pulumi invocation.
pub struct Invocation<'a> {
    pub program: &'a Path,
    pub args: Vec<String>,
    pub dir: &'a Path,
    /// Variables deployer sets (only their names are ever logged).
    pub env: &'a [(String, String)],
    /// Folder for the log of everything the command prints.
    pub logs: &'a Path,
    /// A short name for the log file (`preview`, `up`, ...).
    pub label: &'a str,
    /// Written to the command's standard input (a secret value: never logged,
    /// never on the command line where `ps` shows it).
    pub input: Option<&'a str>,
}

/// Variables of the user's environment that would change what deployer's
/// Pulumi commands do, removed from theirs (`sdk/go/common/env/env.go`):
/// - `PULUMI_SKIP_CONFIRMATIONS` makes `refresh` and `destroy` set `--yes`
///   themselves (`yes = yes || skipPreview || env.SkipConfirmations`,
///   `pkg/cmd/pulumi/operations/refresh.go`, `destroy.go`), which
///   `updateFlagsToOptions` then refuses beside `--preview-only` (`io.go`):
///   every drift check and destroy preview would fail;
/// - `PULUMI_RUN_PROGRAM` makes `refresh` and `destroy` run the program (and
///   validate its config) as `--run-program` does;
/// - `PULUMI_SKIP_CHECKPOINTS` saves the state only at the end of an update,
///   so a killed run would leave no record of what it created.
pub const SCRUBBED_ENV: [&str; 3] = [
    "PULUMI_SKIP_CONFIRMATIONS",
    "PULUMI_RUN_PROGRAM",
    "PULUMI_SKIP_CHECKPOINTS",
];

impl Invocation<'_> {
    fn command(&self) -> Command {
        let mut command = Command::new(self.program);
        for name in SCRUBBED_ENV {
            command.env_remove(name);
        }
        command
            .args(&self.args)
            .current_dir(self.dir)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(if self.input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        use std::os::unix::process::CommandExt;
        // Its own process group: Ctrl+C on a terminal reaches deployer only, which
        // passes on exactly one interrupt (a second would make Pulumi stop uncleanly).
        command.process_group(0);
        #[cfg(target_os = "linux")]
        unsafe {
            // If deployer dies (killed, crashed), Pulumi is asked to stop as Ctrl+C
            // would: it finishes what is in flight, saves its state and releases its
            // lock, instead of running on as an orphan nobody watches.
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGINT);
                Ok(())
            });
        }
        command
    }

    fn log_path(&self) -> PathBuf {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros());
        self.logs.join(format!("{stamp}-{}.log", self.label))
    }

    /// Runs to completion, calling `on_event` for each engine event on stdout.
    /// Ctrl+C is passed on once and the command is waited for.
    pub fn run(&self, mut on_event: impl FnMut(&EngineEvent)) -> Result<Finished> {
        let _ = std::fs::create_dir_all(self.logs);
        prune(self.logs);
        let log = self.log_path();
        let mut file = std::fs::File::create(&log).ok();
        if let Some(f) = &mut file {
            let _ = writeln!(f, "$ pulumi {}", self.args.join(" "));
            let names: Vec<&str> = self.env.iter().map(|(k, _)| k.as_str()).collect();
            let _ = writeln!(f, "# environment set by deployer: {}", names.join(" "));
        }
        tracing::debug!(
            command = %format!("{} {}", self.program.display(), self.args.join(" ")),
            dir = %self.dir.display(),
            env = %self.env.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>().join(","),
            "running pulumi"
        );
        let mut child = self.command().spawn().map_err(|e| {
            Error::failed(format!("cannot run {}: {e}", self.program.display()))
                .with_source(e)
                .with_help(super::pulumi::INSTALL_HELP)
        })?;
        if let (Some(input), Some(mut stdin)) = (self.input, child.stdin.take()) {
            // Dropped at the end of the statement: the command sees end of input.
            let _ = stdin.write_all(input.as_bytes());
        }
        let (tx, rx) = mpsc::channel::<(bool, String)>();
        let stdout = child.stdout.take().expect("piped");
        let stderr = child.stderr.take().expect("piped");
        let out_tx = tx.clone();
        let readers = [
            std::thread::spawn(move || forward(stdout, false, out_tx)),
            std::thread::spawn(move || forward(stderr, true, tx)),
        ];
        let mut output = String::new();
        let mut errors = String::new();
        let mut interrupted = false;
        loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok((is_stderr, line)) => {
                    if let Some(f) = &mut file {
                        let _ = writeln!(f, "{}{line}", if is_stderr { "! " } else { "" });
                    }
                    if is_stderr {
                        errors.push_str(&line);
                        errors.push('\n');
                    } else if let Some(event) = events::parse(&line) {
                        on_event(&event);
                    } else {
                        output.push_str(&line);
                        output.push('\n');
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
            // Pulumi finishes what is in flight, saves its state and exits.
            crate::interrupt::forward_to(&child, &mut interrupted);
        }
        for reader in readers {
            let _ = reader.join();
        }
        let status = child
            .wait()
            .context(|| "waiting for pulumi failed".to_string())?;
        let code = status.code().unwrap_or(-1);
        if let Some(f) = &mut file {
            let _ = writeln!(f, "# exit code {code}");
        }
        tracing::debug!(code, log = %log.display(), "pulumi finished");
        output.push_str(&errors);
        Ok(Finished {
            code,
            interrupted,
            output,
            log,
        })
    }
}

fn forward(pipe: impl std::io::Read, is_stderr: bool, tx: mpsc::Sender<(bool, String)>) {
    for line in std::io::BufReader::new(pipe)
        .lines()
        .map_while(std::result::Result::ok)
    {
        if tx.send((is_stderr, line)).is_err() {
            break;
        }
    }
}

/// Keeps the newest [`KEEP_LOGS`] logs of a workspace.
fn prune(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut logs: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    if logs.len() < KEEP_LOGS {
        return;
    }
    logs.sort();
    for old in &logs[..logs.len() + 1 - KEEP_LOGS] {
        let _ = std::fs::remove_file(old);
    }
}
