//! The engine drives the Pulumi CLI: it prepares a workspace for a stack and
//! environment, points Pulumi at its self-managed backend in the same bucket
//! (`s3://BUCKET/pulumi`) or on disk (`file://`), runs the CLI without a shell
//! and non-interactively, and reads its newline-delimited engine events as they
//! come.
//!
//! Every call is checked against Pulumi's source (pulumi/pulumi v3.227.0 and
//! v3.259.0; docs/pulumi.md lists them with their sources):
//!
//! | call | why this form |
//! |---|---|
//! | `version` | |
//! | `plugin install resource aws VERSION` | pins the provider; a no-op when installed (`pkg/cmd/pulumi/plugin/plugin_install.go`) |
//! | `stack select --create --stack E --secrets-provider P` | `pkg/cmd/pulumi/stack/stack_select.go` |
//! | `preview --json` | with `PULUMI_ENABLE_STREAMING_JSON_PREVIEW=true` a preview streams one event per line instead of printing a digest at the end (`pkg/backend/display/display.go`, `ShowEvents`); `--event-log` exists only with `PULUMI_DEBUG_COMMANDS` (`pkg/cmd/pulumi/operations/preview.go`) so it is never used |
//! | `up --yes --skip-preview --json` | streams events (`ShowJSONEvents`); `--skip-preview` so nothing runs twice |
//! | `refresh --preview-only --json` | drift: a dry run, streamed like a preview; `--yes` with `--preview-only` is refused (`updateFlagsToOptions`, `pkg/cmd/pulumi/operations/io.go`) |
//! | `stack export --stack E` | recovery reads the creates a killed run left pending (`pending_operations`, `apitype/core.go`) |
//! | `refresh --yes --skip-preview --json --clear-pending-creates [--import-pending-creates URN --import-pending-creates ID]...` | recovery: creates found in AWS are adopted, the others dropped (`pendingCreatesToImports`, `refresh.go`); without `--skip-preview` a refresh previews first (`PreviewThenPromptThenExecute`, `pkg/backend/apply.go`) |
//! | `destroy --yes --skip-preview --json` / `destroy --preview-only --json` | `pkg/cmd/pulumi/operations/destroy.go` |
//! | `config set --secret PROJECT:sensitive_NAME --stack E` (value on stdin) | a sensitive variable, encrypted by the stack's secrets manager; without a value argument and off a terminal the value is read from stdin, one trailing newline dropped (`configSetCmd.Run`, `pkg/cmd/pulumi/config/config.go`); see [`secret_config`] |
//! | `stack output --json --stack E` | `pkg/cmd/pulumi/stack/stack_output.go` |
//! | `cancel --yes --stack E` | deletes every lock file of the stack (`pkg/backend/diy/backend.go`), so [`locks`] looks first |
//!
//! All with the global `--non-interactive`; `--stack` only where the command
//! has it (`plugin install` and `version` do not). Failed resource operations
//! and a graceful cancel both exit 1 (`pkg/cmd/pulumi/cmd/exit_codes.go`: the
//! taxonomy since v3.226.0 never returns 4 for a step failure).

pub mod changes;
pub mod checkpoint;
pub mod events;
pub mod locks;
pub mod progress;
pub mod pulumi;
pub mod run;
mod secret_config;
pub mod workspace;

use crate::backend::{Backend, BackendKind};
use crate::error::{Context, Error, Result};
use events::EngineEvent;
use run::{Finished, Invocation};
pub use secret_config::KeepSecrets;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
pub use workspace::Workspace;

/// Keys of `Pulumi.<env>.yaml` that Pulumi writes when it creates a stack and
/// needs again to read its secrets; kept in the state store between runs.
const SECRETS_KEYS: [&str; 3] = ["secretsprovider:", "encryptedkey:", "encryptionsalt:"];

/// Where Pulumi's checkpoints live in the shared bucket.
pub const S3_PREFIX: &str = "pulumi";

/// A resource Pulumi was creating when it stopped (see [`Engine::pending_creates`]).
#[derive(Clone, Debug)]
pub struct PendingCreate {
    pub urn: String,
    /// Its type token, `aws:sqs/queue:Queue`.
    pub kind: String,
    /// The inputs Pulumi sent to the provider.
    pub inputs: serde_json::Value,
}

impl PendingCreate {
    /// The logical name, the last part of the URN.
    pub fn name(&self) -> &str {
        self.urn.rsplit("::").next().unwrap_or(&self.urn)
    }
}

/// How a run of `up`, `refresh` or `destroy` ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    /// Pulumi exited with this code (a failed resource operation exits 1).
    Failed(i32),
    /// Stopped on request (Ctrl+C), cleanly.
    Cancelled,
}

/// A Pulumi workspace for one stack and environment.
pub struct Engine {
    pulumi: pulumi::Pulumi,
    pub dir: PathBuf,
    /// Where every Pulumi command's output is kept: the stack's workspace's
    /// `logs/`, whatever folder Pulumi runs in.
    logs: PathBuf,
    /// A plan's own workspace, removed when the engine is dropped.
    _scratch: Option<tempfile::TempDir>,
    pub environment: String,
    project: String,
    env: Vec<(String, String)>,
    secrets_provider: String,
    secrets_key: String,
    backend: Backend,
    repo_root: PathBuf,
}

/// `.deployer/pulumi`: the local back-end's Pulumi state.
pub fn local_state_root(repo_root: &Path) -> PathBuf {
    repo_root.join(".deployer").join("pulumi")
}

/// Checks that Pulumi can unlock secrets as `pkg/secrets/passphrase/manager.go`
/// (`readPassphrase`) does: `PULUMI_CONFIG_PASSPHRASE` set (even empty), or
/// `PULUMI_CONFIG_PASSPHRASE_FILE` naming a file that can be read.
fn check_passphrase() -> Result<()> {
    let help = "set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE), the same for everyone deploying this stack, or configure a KMS key as `secrets_provider: awskms://...` in ~/.deployer/config.yaml";
    if std::env::var_os("PULUMI_CONFIG_PASSPHRASE").is_some() {
        return Ok(());
    }
    match std::env::var_os("PULUMI_CONFIG_PASSPHRASE_FILE").filter(|f| !f.is_empty()) {
        Some(file) => std::fs::read(&file).map(|_| ()).map_err(|e| {
            Error::failed(format!(
                "PULUMI_CONFIG_PASSPHRASE_FILE names {}, which cannot be read: {e}",
                PathBuf::from(&file).display()
            ))
            .with_help(help)
        }),
        None => Err(
            Error::failed("Pulumi needs a passphrase to protect secrets in its state")
                .with_help(help),
        ),
    }
}

/// What a Pulumi workspace is prepared from.
pub struct Setup<'a> {
    pub pulumi: pulumi::Pulumi,
    pub backend: &'a Backend,
    pub repo_root: &'a Path,
    pub stack: &'a str,
    pub environment: &'a str,
    /// `Pulumi.yaml` and `Pulumi.<environment>.yaml` as compiled.
    pub program: &'a str,
    pub settings: &'a str,
    /// Who runs it (the provider's role session is named after them).
    pub who: &'a str,
    pub workspace: Workspace,
}

/// What a Pulumi command acts on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum CommandOn {
    /// This environment's stack: `--stack` is added.
    Stack,
    /// Pulumi itself (`plugin install`): no stack.
    Pulumi,
}

impl Engine {
    /// Prepares a workspace afresh — exactly the program and its settings,
    /// nothing else ([`workspace`]) — and how Pulumi finds its state.
    pub fn prepare(setup: Setup<'_>) -> Result<Engine> {
        let Setup {
            pulumi,
            backend,
            repo_root,
            stack,
            environment,
            program,
            settings,
            who,
            workspace,
        } = setup;
        let own = workspace::locked_dir(repo_root, stack, environment);
        let logs = own.join("logs");
        workspace::real_folder(repo_root, &logs)?;
        let (dir, scratch) = match workspace {
            Workspace::Locked => {
                workspace::clear(&own)?;
                (own, None)
            }
            Workspace::Scratch => {
                let scratch = tempfile::Builder::new()
                    .prefix("deployer-plan-")
                    .tempdir()
                    .map_err(|e| {
                        Error::failed(format!("cannot create a temporary workspace: {e}"))
                            .with_source(e)
                    })?;
                (scratch.path().to_path_buf(), Some(scratch))
            }
        };
        let secrets_provider = match &backend.kind {
            BackendKind::Aws(s) => s.secrets_provider.clone(),
            BackendKind::Local(_) => None,
        };
        let secrets_provider = secrets_provider.unwrap_or_else(|| "passphrase".into());
        if secrets_provider == "passphrase" {
            check_passphrase()?;
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
                    .with_source(e)
            })
        };
        write("Pulumi.yaml", program)?;
        let secret_config =
            secret_config::stored(backend, &secret_config::stored_key(stack, environment))?;
        write(
            &format!("Pulumi.{environment}.yaml"),
            &format!(
                "{}{}",
                secrets_lines(&stored),
                secret_config::with_stored(&with_session(settings, who), &secret_config)
            ),
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
            // Previews (and `refresh --preview-only`) stream events like `up`
            // instead of printing one digest at the end.
            (
                "PULUMI_ENABLE_STREAMING_JSON_PREVIEW".to_string(),
                "true".to_string(),
            ),
        ];
        Ok(Engine {
            pulumi,
            dir,
            logs,
            _scratch: scratch,
            environment: environment.to_string(),
            project: stack.to_string(),
            env,
            secrets_provider,
            secrets_key,
            backend: backend.clone(),
            repo_root: repo_root.to_path_buf(),
        })
    }

    /// Where the logs of every Pulumi command of this workspace are kept.
    pub fn logs(&self) -> PathBuf {
        self.logs.clone()
    }

    /// Checks that the workspace still holds exactly what deployer wrote, and
    /// the program whose hash is `program_hash`, just before an update.
    pub fn verify_program(&self, program_hash: &str) -> Result<()> {
        workspace::verify(&self.dir, &self.environment, program_hash)
    }

    /// Runs `pulumi ARGS`, adding `--stack` where the command takes it and the
    /// global `--non-interactive`.
    fn invoke(
        &self,
        label: &str,
        args: &[&str],
        on: CommandOn,
        on_event: impl FnMut(&EngineEvent),
    ) -> Result<Finished> {
        self.invoke_with_input(label, args, on, None, on_event)
    }

    fn invoke_with_input(
        &self,
        label: &str,
        args: &[&str],
        on: CommandOn,
        input: Option<&str>,
        on_event: impl FnMut(&EngineEvent),
    ) -> Result<Finished> {
        let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        if on == CommandOn::Stack {
            all.extend(["--stack".to_string(), self.environment.clone()]);
        }
        all.push("--non-interactive".into());
        let logs = self.logs();
        Invocation {
            program: &self.pulumi.path,
            args: all,
            dir: &self.dir,
            env: &self.env,
            logs: &logs,
            label,
            input,
        }
        .run(on_event)
    }

    /// Runs a command that must succeed; returns what it printed.
    fn check(&self, label: &str, args: &[&str], on: CommandOn) -> Result<String> {
        let finished = self.invoke(label, args, on, |_| {})?;
        if finished.code != 0 {
            return Err(finished.error(&args.join(" ")));
        }
        Ok(finished.output)
    }

    /// Makes sure the pulumi-aws plugin a program pins is installed (a no-op
    /// when it is). An older release's program pins the version it was
    /// compiled with, and Pulumi selects plugins by exact version
    /// (`SelectCompatiblePlugin`, `sdk/go/common/workspace/plugins.go`), so a
    /// rollback, drift or destroy installs that one, not today's.
    pub fn install_provider(&self, version: &str) -> Result<()> {
        let finished = self.invoke(
            "plugin-install",
            &["plugin", "install", "resource", "aws", version],
            CommandOn::Pulumi,
            |_| {},
        )?;
        if finished.code != 0 {
            return Err(Error::failed(format!(
                "cannot install the pulumi-aws provider {version} that deployer pins (exit {}):\n{}",
                finished.code,
                finished.tail(8)
            ))
            .with_help(format!(
                "install it once where the internet is reachable: `pulumi plugin install resource aws {version}` (or from a file with `--file`); Pulumi's whole output is in {}",
                finished.log.display()
            )));
        }
        Ok(())
    }

    /// Selects the Pulumi stack of this environment, creating it the first time.
    pub fn select_stack(&self) -> Result<()> {
        self.check(
            "stack-select",
            &[
                "stack",
                "select",
                "--create",
                "--secrets-provider",
                &self.secrets_provider,
            ],
            CommandOn::Stack,
        )?;
        // Keep what Pulumi wrote to decrypt this stack's secrets for the next run.
        let config = crate::fs::read_back_text(
            &self.dir.join(format!("Pulumi.{}.yaml", self.environment)),
            crate::fs::ReadBack::Record,
        )
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
        self.dry_run("preview", &["preview", "--json"])
    }

    /// A command that changes nothing and streams events (a preview, or an
    /// operation with `--preview-only`): its events, or what Pulumi reported.
    fn dry_run(&self, label: &str, args: &[&str]) -> Result<Vec<EngineEvent>> {
        let mut events = Vec::new();
        let finished = self.invoke(label, args, CommandOn::Stack, |e| {
            crate::failpoint::point("preview.event");
            events.push(e.clone())
        })?;
        if finished.code != 0 {
            return Err(preview_failure(
                &finished,
                &events,
                &args[..args.len() - 1].join(" "),
            ));
        }
        Ok(events)
    }

    /// Runs `pulumi up`, calling `on_event` for every engine event as it comes.
    pub fn up(&self, on_event: impl FnMut(&EngineEvent)) -> Result<(Outcome, Finished)> {
        self.operation("up", &["up", "--yes", "--skip-preview", "--json"], on_event)
    }

    /// `pulumi destroy`: every resource of the stack goes.
    pub fn destroy(&self, on_event: impl FnMut(&EngineEvent)) -> Result<(Outcome, Finished)> {
        self.operation(
            "destroy",
            &["destroy", "--yes", "--skip-preview", "--json"],
            on_event,
        )
    }

    /// What `destroy` would do, changing nothing.
    pub fn preview_destroy(&self) -> Result<Vec<EngineEvent>> {
        self.dry_run("destroy-preview", &["destroy", "--preview-only", "--json"])
    }

    /// What AWS has that the state does not say, changing nothing: a refresh
    /// as a dry run.
    pub fn preview_refresh(&self) -> Result<Vec<EngineEvent>> {
        self.dry_run("refresh-preview", &["refresh", "--preview-only", "--json"])
    }

    /// The creates a killed Pulumi began and never saw finish: the state's
    /// `pending_operations` of type `creating` (`stack export`,
    /// `pkg/cmd/pulumi/stack/stack_export.go`; `OperationV2`,
    /// `sdk/go/common/apitype/core.go`). AWS may have finished them.
    pub fn pending_creates(&self) -> Result<Vec<PendingCreate>> {
        let text = self.check("stack-export", &["stack", "export"], CommandOn::Stack)?;
        let export: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            Error::failed(format!("cannot read `pulumi stack export`'s output: {e}")).with_source(e)
        })?;
        Ok(export["deployment"]["pending_operations"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|op| op["type"] == "creating")
            .map(|op| PendingCreate {
                urn: op["resource"]["urn"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                kind: op["resource"]["type"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                inputs: op["resource"]["inputs"].clone(),
            })
            .collect())
    }

    /// Reads the state back from AWS and settles what a killed Pulumi left
    /// pending: each create found in AWS is adopted with its id
    /// (`--import-pending-creates URN ID`, repeated: a `StringArray` of
    /// pairs, `pendingCreatesToImports` in `refresh.go`), the others dropped
    /// (`--clear-pending-creates`).
    pub fn refresh_settling_pending(
        &self,
        found: &[(String, String)],
    ) -> Result<(Outcome, Finished)> {
        let mut args = vec![
            "refresh",
            "--yes",
            "--skip-preview",
            "--json",
            "--clear-pending-creates",
        ];
        for (urn, id) in found {
            args.extend([
                "--import-pending-creates",
                urn,
                "--import-pending-creates",
                id,
            ]);
        }
        self.operation("refresh", &args, |_| {})
    }

    fn operation(
        &self,
        label: &str,
        args: &[&str],
        on_event: impl FnMut(&EngineEvent),
    ) -> Result<(Outcome, Finished)> {
        let finished = self.invoke(label, args, CommandOn::Stack, on_event)?;
        // A graceful cancel exits 1 like any failure (`BailErrorf("canceled")` in
        // deployment_executor.go); 8 only when the context was cancelled.
        let outcome = match finished.code {
            0 => Outcome::Succeeded,
            _ if finished.interrupted => Outcome::Cancelled,
            8 => Outcome::Cancelled,
            code => Outcome::Failed(code),
        };
        Ok((outcome, finished))
    }

    /// The stack's outputs after an update.
    pub fn outputs(&self) -> Result<BTreeMap<String, serde_json::Value>> {
        let text = self.check(
            "stack-output",
            &["stack", "output", "--json"],
            CommandOn::Stack,
        )?;
        serde_json::from_str(&text).context(|| "cannot read the stack's outputs".to_string())
    }

    /// Pulumi's own lock files on this stack, when deployer can read them.
    pub fn pulumi_locks(&self) -> Result<Option<Vec<locks::DiyLock>>> {
        locks::read(
            &self.backend,
            &self.repo_root,
            &self.project,
            &self.environment,
        )
    }

    /// Removes Pulumi's own lock on the stack, left by a process that died. Safe
    /// only while deployer's lock proves nobody else is running, and after
    /// [`Engine::pulumi_locks`] showed no live owner.
    pub fn cancel_stale_lock(&self) -> Result<()> {
        self.check("cancel", &["cancel", "--yes"], CommandOn::Stack)
            .map(|_| ())
    }
}

/// A failed preview: the errors Pulumi reported as events (a name too long, a
/// missing permission) first, then the end of its output.
fn preview_failure(finished: &Finished, events: &[EngineEvent], what: &str) -> Error {
    let errors: Vec<String> = events
        .iter()
        .filter_map(|e| e.diagnostic_event.as_ref())
        .filter(|d| d.severity == "error" && !d.message.trim().is_empty())
        .map(|d| {
            let resource = d
                .urn
                .as_deref()
                .map(|u| format!("{}: ", u.rsplit("::").next().unwrap_or(u)))
                .unwrap_or_default();
            format!("  {resource}{}", d.message.trim())
        })
        .collect();
    if errors.is_empty() {
        return finished.error(what);
    }
    Error::failed(format!(
        "`pulumi {what}` failed (exit {}):\n{}",
        finished.code,
        errors.join("\n")
    ))
    .with_help(format!(
        "nothing was changed; Pulumi's whole output is in {}",
        finished.log.display()
    ))
}

/// Where Pulumi keeps its checkpoints: beside deployer's records.
///
/// For S3 the query follows what gocloud.dev's S3 opener accepts at every
/// supported version: Pulumi 3.227–3.244 pin gocloud v0.37.0, whose
/// `aws.ConfigFromURLParams` knows `region`, `endpoint`, `disableSSL`,
/// `s3ForcePathStyle` and `awssdk` and fails every command on any other
/// parameter ("unknown query parameter"); v0.46.0 (Pulumi 3.245+) still accepts
/// `s3ForcePathStyle` as the legacy spelling of `use_path_style`
/// (`blob/s3blob/s3blob.go`). Values are percent-encoded.
pub fn backend_url(backend: &Backend, repo_root: &Path) -> String {
    if let Some(url) = std::env::var("DEPLOYER_PULUMI_BACKEND_URL")
        .ok()
        .filter(|u| !u.is_empty())
    {
        return url;
    }
    match &backend.kind {
        BackendKind::Local(_) => format!("file://{}", local_state_root(repo_root).display()),
        BackendKind::Aws(s) => {
            let mut url = format!(
                "s3://{}/{S3_PREFIX}?region={}",
                s.bucket,
                query_escape(&s.region)
            );
            if let Some(endpoint) = &s.endpoint {
                url.push_str(&format!("&endpoint={}", query_escape(endpoint)));
            }
            if s.path_style {
                url.push_str("&s3ForcePathStyle=true");
            }
            url
        }
    }
}

/// Go's `url.QueryEscape`: letters, digits and `-_.~` stay, space is `+`,
/// everything else is `%XX`.
fn query_escape(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Names the provider's role session after the user (`aws:assumeRoles`, set
/// by compile when the environment has a `role_arn`): who deployed is then in
/// the environment account's CloudTrail.
fn with_session(settings: &str, who: &str) -> String {
    if !settings.contains("aws:assumeRoles") {
        return settings.to_string();
    }
    let Ok(mut json) = crate::load::yaml::to_json(settings) else {
        return settings.to_string();
    };
    if let Some(roles) = json["config"]["aws:assumeRoles"].as_array_mut() {
        for role in roles {
            role["sessionName"] = serde_json::Value::String(crate::backend::aws::session_name(who));
        }
    }
    crate::emit::yaml::to_yaml(&json)
}

fn secrets_lines(config: &str) -> String {
    config
        .lines()
        .filter(|l| SECRETS_KEYS.iter().any(|k| l.starts_with(k)))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// What to do about a Pulumi exit code (`pkg/cmd/pulumi/cmd/exit_codes.go`,
/// stable since v3.226.0). A failed resource operation and a cancel exit 1.
pub fn exit_help(code: i32) -> String {
    match code {
        2 => "Pulumi refused the command line or the program's configuration; this is likely a deployer bug: please report it with the log above".into(),
        // A wrong or missing passphrase exits 1 (`pkg/secrets/passphrase/manager.go`).
        3 => "Pulumi could not log in to its state, was refused access, or misses an environment variable it needs: check the AWS credentials for the state bucket and the variables above".into(),
        6 => "the Pulumi stack was not found".into(),
        8 => "the run was cancelled".into(),
        255 => "Pulumi hit an internal error; please report it with the log above".into(),
        _ => "see Pulumi's messages above".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_escaped_like_go() {
        assert_eq!(
            query_escape("http://127.0.0.1:4566/a b&c"),
            "http%3A%2F%2F127.0.0.1%3A4566%2Fa+b%26c"
        );
        assert_eq!(query_escape("us-east-1"), "us-east-1");
    }
}
