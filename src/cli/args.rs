//! Command-line definitions (clap). Kept apart from the code that runs commands.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "deployer",
    version,
    about = "Deploy services to AWS from a repository of small YAML files",
    long_about = "deployer compiles a deployment repository (stacks → services → components) into Pulumi programs, validates every file against JSON Schemas, and deploys with a DynamoDB lock and S3 state.",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Show what deployer does underneath: every Pulumi command line, the names
    /// of the variables it sets, exit codes and where Pulumi's output is kept
    /// and the causes under an error (also `DEPLOYER_LOG=debug`)
    #[arg(long, short = 'v', global = true)]
    pub verbose: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check every file of a stack (or of all stacks) and report every problem
    Validate(ValidateArgs),
    /// Print the compiled Pulumi program (or the resolved configuration)
    Show(ShowArgs),
    /// Compile stacks into Pulumi programs in a folder, skipping unchanged ones
    Compile(CompileArgs),
    /// Show what a change does to the compiled program (exit 0 no change, 1 changes, 2 error)
    Diff(DiffArgs),
    /// The stacks and environments whose compiled program a change alters (no AWS needed)
    Affected(AffectedArgs),
    /// Preview a deployment and save it as a plan for review (`apply --plan` deploys exactly it)
    Plan(PlanArgs),
    /// Estimated monthly cost of a stack's environments, per component (on-demand list prices; no AWS needed)
    Cost(CostArgs),
    /// Deploy a stack to an environment: lock, compile, preview, approve, pulumi up, record, unlock
    Apply(ApplyArgs),
    /// Re-apply an earlier release's program as a new release
    Rollback(RollbackArgs),
    /// Tear an environment down: lock, plan (everything goes), confirmation, pulumi destroy, record
    Destroy(DestroyArgs),
    /// Compare what is deployed with AWS (exit 0 no drift, 1 drift, 2 error)
    Drift(DriftArgs),
    /// What is running, per component, from live AWS (exit 1 when anything is unhealthy)
    Status(StatusArgs),
    /// CloudWatch Logs of components (`--follow` to keep reading)
    Logs(LogsArgs),
    /// Configure the shared back-end: S3 bucket, DynamoDB table, region
    Init(InitArgs),
    /// Releases of a stack in an environment
    History(HistoryArgs),
    /// See who holds stack locks, or run a command while holding one
    #[command(subcommand)]
    Lock(LockCommand),
    /// Remove a stale lock (its holder is shown first)
    Unlock(UnlockArgs),
    /// Write the JSON Schemas of every file kind, for editors
    Schema(SchemaArgs),
    /// Scaffold stacks
    #[command(subcommand)]
    Stack(StackCommand),
    /// Bring another tool's application over (an AWS Copilot workspace)
    #[command(subcommand)]
    Import(ImportCommand),
    /// Show deployer's version and the Pulumi CLI it finds
    Version(VersionArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell)
    Completions(CompletionsArgs),
    /// Write man pages for deployer and each of its commands
    Man(ManArgs),
}

impl Command {
    /// Whether the command was asked for JSON (`--output json`): its errors
    /// are then JSON on stdout too.
    /// How the command stops on Ctrl+C: cleanly when it holds a lock or
    /// drives Pulumi. A new command has to say (the match is exhaustive).
    pub fn on_interrupt(&self) -> crate::interrupt::OnInterrupt {
        use crate::interrupt::OnInterrupt::{FinishCleanly, StopAtOnce};
        match self {
            Command::Apply(_)
            | Command::Plan(_)
            | Command::Rollback(_)
            | Command::Destroy(_)
            | Command::Drift(_)
            | Command::Lock(LockCommand::Exec(_) | LockCommand::Status(_))
            | Command::Logs(_)
            | Command::Init(_) => FinishCleanly,
            Command::Validate(_)
            | Command::Cost(_)
            | Command::Show(_)
            | Command::Compile(_)
            | Command::Diff(_)
            | Command::Affected(_)
            | Command::Status(_)
            | Command::History(_)
            | Command::Unlock(_)
            | Command::Schema(_)
            | Command::Stack(_)
            | Command::Import(_)
            | Command::Version(_)
            | Command::Completions(_)
            | Command::Man(_) => StopAtOnce,
        }
    }

    pub fn json_output(&self) -> bool {
        match self {
            Command::Validate(a) => a.output == OutputFormat::Json,
            Command::Show(a) => a.output == ProgramFormat::Json,
            Command::Cost(a) => a.output == ReportFormat::Json,
            Command::Compile(a) => a.output == OutputFormat::Json,
            Command::Diff(a) => a.output == ReportFormat::Json,
            Command::Affected(a) => a.output == OutputFormat::Json,
            Command::Plan(a) => a.output == ReportFormat::Json,
            Command::Drift(a) => a.output == ReportFormat::Json,
            Command::Status(a) => a.output == ReportFormat::Json,
            Command::History(a) => a.output == OutputFormat::Json,
            Command::Lock(LockCommand::Status(a)) => a.output == OutputFormat::Json,
            Command::Version(a) => a.output == OutputFormat::Json,
            Command::Import(ImportCommand::Copilot(a)) => a.output == OutputFormat::Json,
            Command::Apply(_)
            | Command::Rollback(_)
            | Command::Destroy(_)
            | Command::Logs(_)
            | Command::Init(_)
            | Command::Lock(LockCommand::Exec(_))
            | Command::Unlock(_)
            | Command::Schema(_)
            | Command::Stack(_)
            | Command::Completions(_)
            | Command::Man(_) => false,
        }
    }
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Folder to write `deployer.1` and `deployer-<command>.1` into
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum StackCommand {
    /// Write a stack.yaml and a first service in the current folder
    Init(StackInitArgs),
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// An AWS Copilot workspace: its services and environments become a stack,
    /// with a report of what became of every manifest key
    Copilot(ImportCopilotArgs),
}

#[derive(Debug, Args)]
pub struct ImportCopilotArgs {
    /// The folder holding `copilot/` (default: the current folder)
    #[arg(value_name = "DIR", default_value = ".")]
    pub workspace: PathBuf,
    /// The stack the application becomes
    #[arg(long, value_name = "NAME")]
    pub stack: String,
    /// The deployment repository to write (created when missing)
    #[arg(long, value_name = "REPO")]
    pub out: PathBuf,
    /// An environment's AWS account, which Copilot keeps outside its manifests
    /// (repeatable: `--env-account prod=123456789012`)
    #[arg(long, value_name = "NAME=ID", value_parser = parse_pair)]
    pub env_account: Vec<(String, String)>,
    /// The region of every environment; with --adopt, the application's
    /// region, where Copilot records each environment's own
    #[arg(long, value_name = "REGION", default_value = "us-east-1")]
    pub region: String,
    /// Read the running application from AWS (where Copilot records each
    /// environment, and its CloudFormation stacks) and record its databases
    /// and queues in stack.yaml's `adopt:`, so each environment's first apply
    /// takes them over instead of creating new ones
    #[arg(long)]
    pub adopt: bool,
    /// Output format of the report
    #[arg(long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

fn parse_pair(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("`{text}` is not NAME=ID"))
}

/// Options every command that reads a repository takes.
#[derive(Debug, Args)]
pub struct RepoArgs {
    /// The deployment repository (default: the git root above the current folder)
    #[arg(long, value_name = "DIR", global = true)]
    pub repo: Option<PathBuf>,
}

#[derive(Clone, Debug, Default, Args)]
pub struct VarArgs {
    /// Set a stack variable (repeatable)
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Read variables from a YAML file of NAME: value (repeatable; --var wins)
    #[arg(long = "var-file", value_name = "FILE")]
    pub var_files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct StackSelection {
    /// The stack, a folder under stacks/ (default: DEPLOYER_STACK, the stack
    /// folder you are in, or the only stack)
    #[arg(long, short = 's', value_name = "STACK", conflicts_with = "all")]
    pub stack: Option<String>,
    /// Every stack in the repository
    #[arg(long)]
    pub all: bool,
}

/// Output of a report reviewers read: `plan`, `diff`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    #[default]
    Text,
    Json,
    /// For a pull-request comment (at most 60,000 characters)
    Markdown,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub selection: StackSelection,
    /// Check only this environment (default: every environment of the stack)
    #[arg(long, short = 'e', value_name = "ENV", conflicts_with = "all")]
    pub environment: Option<String>,
    #[command(flatten)]
    pub vars: VarArgs,
    #[command(flatten)]
    pub repo: RepoArgs,
    /// Output format
    #[arg(long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ProgramFormat {
    #[default]
    Yaml,
    Json,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The stack, a folder under stacks/ (default: DEPLOYER_STACK, the stack
    /// folder you are in, or the only stack)
    #[arg(long, short = 's', value_name = "STACK")]
    pub stack: Option<String>,
    /// Only this environment (default: every environment in turn)
    #[arg(long, short = 'e', value_name = "ENV")]
    pub environment: Option<String>,
    /// Print the merged configuration of every component instead of the program
    #[arg(long, conflicts_with = "deployed")]
    pub resolved: bool,
    /// Print the program of the last successful release instead (needs --environment)
    #[arg(long, requires = "environment")]
    pub deployed: bool,
    /// Output format (`--format` is the same flag)
    #[arg(long, visible_alias = "format", value_enum, default_value_t)]
    pub output: ProgramFormat,
    #[command(flatten)]
    pub vars: VarArgs,
    #[command(flatten)]
    pub repo: RepoArgs,
}

#[derive(Debug, Args)]
pub struct CostArgs {
    /// The stack, a folder under stacks/ (default: DEPLOYER_STACK, the stack
    /// folder you are in, or the only stack)
    #[arg(long, short = 's', value_name = "STACK")]
    pub stack: Option<String>,
    /// Only this environment (default: every environment in turn)
    #[arg(long, short = 'e', value_name = "ENV")]
    pub environment: Option<String>,
    /// Also read what AWS billed, per component, from Cost Explorer (by
    /// deployer's tags, which must be activated as cost allocation tags)
    #[arg(long)]
    pub actual: bool,
    /// How far back `--actual` reads, up to today (days: 30d)
    #[arg(long, value_name = "DURATION", default_value = "30d", value_parser = parse_duration, requires = "actual")]
    pub since: std::time::Duration,
    /// Ask every price of the table again of the AWS Price List Query API
    /// (pricing:GetProducts) and write the new table to --out; use it with
    /// DEPLOYER_PRICES=FILE
    #[arg(long, requires = "out", conflicts_with_all = ["actual", "environment"])]
    pub refresh_prices: bool,
    /// Where --refresh-prices writes the table
    #[arg(long, value_name = "FILE", requires = "refresh_prices")]
    pub out: Option<std::path::PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t)]
    pub output: ReportFormat,
    #[command(flatten)]
    pub vars: VarArgs,
    #[command(flatten)]
    pub repo: RepoArgs,
}

#[derive(Debug, Args)]
pub struct CompileArgs {
    #[command(flatten)]
    pub selection: StackSelection,
    /// Only this environment (default: every environment)
    #[arg(long, short = 'e', value_name = "ENV", conflicts_with = "all")]
    pub environment: Option<String>,
    /// Folder to write DIR/<stack>/<environment>/ into
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    #[command(flatten)]
    pub vars: VarArgs,
    #[command(flatten)]
    pub repo: RepoArgs,
    /// Output format of the summary
    #[arg(long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    #[command(flatten)]
    pub target: StackEnv,
    /// What to compare the working tree with: a git revision (branch, tag, commit), or `deployed` for the last successful release
    #[arg(long, value_name = "REV")]
    pub against: String,
    #[command(flatten)]
    pub vars: VarArgs,
    #[command(flatten)]
    pub repo: RepoArgs,
    /// Output format (`markdown`: for a pull-request comment)
    #[arg(long, visible_alias = "format", value_enum, default_value_t)]
    pub output: ReportFormat,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub target: StackEnv,
    /// Plan each stack and environment this JSON file lists, in turn (a job
    /// of `affected --max-jobs --output json`, or its `targets`)
    #[arg(long, value_name = "FILE", conflicts_with_all = ["stack", "environment"])]
    pub targets: Option<PathBuf>,
    #[command(flatten)]
    pub vars: VarArgs,
    /// Write the plan to this file, for `deployer apply --plan FILE`; with
    /// --targets, a folder: plan-STACK-ENV.json and its comment, plan-STACK-ENV.md
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub repo: RepoArgs,
    /// Output format (`markdown`: for a pull-request comment)
    #[arg(long, visible_alias = "format", value_enum, default_value_t)]
    pub output: ReportFormat,
}

#[derive(Debug, Args)]
pub struct AffectedArgs {
    /// The revision before the change: a branch, tag or commit (e.g. origin/main)
    #[arg(long, value_name = "REV")]
    pub base: String,
    /// The revision with the change (default: the working tree, uncommitted files included)
    #[arg(long, value_name = "REV")]
    pub head: Option<String>,
    /// Also list the changed files that reach each stack and environment
    #[arg(long)]
    pub why: bool,
    /// Group the targets into at most N CI jobs (alone: 256, GitHub Actions'
    /// matrix limit); with --output json, a list of jobs, each with its targets
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "256", value_parser = clap::value_parser!(u16).range(1..))]
    pub max_jobs: Option<u16>,
    #[command(flatten)]
    pub vars: VarArgs,
    #[command(flatten)]
    pub repo: RepoArgs,
    /// Output format
    #[arg(long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// S3 bucket for release records and Pulumi state
    #[arg(long)]
    pub bucket: Option<String>,
    /// DynamoDB table for locks
    #[arg(long)]
    pub table: Option<String>,
    /// AWS region of the bucket and table
    #[arg(long)]
    pub region: Option<String>,
    /// An S3-compatible endpoint (uses path-style addressing)
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Create the bucket and table when they do not exist
    #[arg(long)]
    pub create: bool,
}

#[derive(Clone, Debug, Args)]
pub struct StackEnv {
    /// The stack, a folder under stacks/ (default: DEPLOYER_STACK, the stack
    /// folder you are in, or the only stack)
    #[arg(long, short = 's', value_name = "STACK")]
    pub stack: Option<String>,
    /// The environment, or one of its aliases (default: DEPLOYER_ENVIRONMENT,
    /// `default_environment:`, `development`/`dev`, or the only one; never production)
    #[arg(long, short = 'e', value_name = "ENV")]
    pub environment: Option<String>,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub target: StackEnv,
    #[command(flatten)]
    pub vars: VarArgs,
    /// Approve without asking, where the environment requires approval (for CI)
    #[arg(long)]
    pub auto_approve: bool,
    /// Deploy exactly this reviewed plan (`deployer plan --out`), or nothing:
    /// refused when the program, the last release or the preview differs.
    /// Repeatable: each in turn, stopping at the first that does not succeed
    #[arg(long, value_name = "FILE", conflicts_with = "var_files")]
    pub plan: Vec<std::path::PathBuf>,
    /// When the deployment fails, leave it as it is instead of re-applying the last good release
    #[arg(long)]
    pub no_rollback: bool,
    /// Accept that stack.yaml lowers this environment's recorded protection
    /// (production, approval, protected resources); asked on a terminal, never with --auto-approve alone
    #[arg(long)]
    pub accept_protection_downgrade: bool,
    /// Apply although Pulumi's state of the environment is lost while its
    /// records or AWS say resources exist: everything is created again
    #[arg(long)]
    pub recreate_lost_state: bool,
    /// Let a change a `deny` rule of policies.yaml stops go ahead (on a
    /// terminal only, never with --auto-approve alone; recorded in the release)
    #[arg(long, value_name = "POLICY", requires = "reason")]
    pub override_policy: Vec<String>,
    /// Why the policy is overridden, recorded in the release
    #[arg(long, value_name = "TEXT", requires = "override_policy")]
    pub reason: Option<String>,
    #[command(flatten)]
    pub lock: LockOptions,
    #[command(flatten)]
    pub repo: RepoArgs,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    #[command(flatten)]
    pub target: StackEnv,
    /// The release to go back to (default: the successful release before the current one)
    #[arg(long, value_name = "N")]
    pub to: Option<u32>,
    /// Approve without asking, where the environment requires approval
    #[arg(long)]
    pub auto_approve: bool,
    #[command(flatten)]
    pub lock: LockOptions,
    #[command(flatten)]
    pub repo: RepoArgs,
}

#[derive(Debug, Args)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub target: StackEnv,
    /// Destroy without asking (for CI); a production environment also needs --yes-destroy-production
    #[arg(long)]
    pub auto_approve: bool,
    /// Confirm that a production environment is to be destroyed (with --auto-approve; on a terminal, typing its name does)
    #[arg(long)]
    pub yes_destroy_production: bool,
    #[command(flatten)]
    pub lock: LockOptions,
    #[command(flatten)]
    pub repo: RepoArgs,
}

#[derive(Debug, Args)]
pub struct DriftArgs {
    #[command(flatten)]
    pub target: StackEnv,
    /// Every environment of every stack (with --stack, of that stack), one
    /// line each as it finishes, then a summary
    #[arg(long, conflicts_with = "environment")]
    pub all: bool,
    /// With --all: how many targets are read at once
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    #[command(flatten)]
    pub lock: LockOptions,
    #[command(flatten)]
    pub repo: RepoArgs,
    /// Output format (markdown: for an issue or a chat message)
    #[arg(long, value_enum, default_value_t)]
    pub output: ReportFormat,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The stack, a folder under stacks/ (default: DEPLOYER_STACK, the stack
    /// folder you are in, or the only stack)
    #[arg(long, short = 's', value_name = "STACK")]
    pub stack: Option<String>,
    /// The environment, or one of its aliases (default: DEPLOYER_ENVIRONMENT,
    /// `default_environment:`, `development`/`dev`, or the only one; never production)
    #[arg(long, short = 'e', value_name = "ENV")]
    pub environment: Option<String>,
    /// Every environment of every stack (with --stack, of that stack), one
    /// line each as it finishes, then a summary
    #[arg(long, conflicts_with = "environment")]
    pub all: bool,
    /// With --all: how many targets are read at once
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    #[command(flatten)]
    pub repo: RepoArgs,
    /// Output format (markdown: for an issue or a chat message)
    #[arg(long, value_enum, default_value_t)]
    pub output: ReportFormat,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// SERVICE/COMPONENT whose logs to show (repeatable: lines are interleaved by time)
    #[arg(long, short = 'c', value_name = "SERVICE/COMPONENT", required = true)]
    pub component: Vec<String>,
    /// The stack (default: DEPLOYER_STACK, the stack folder you are in, the
    /// only stack, or the one stack that has the components)
    #[arg(long, short = 's', value_name = "STACK")]
    pub stack: Option<String>,
    /// The environment, or one of its aliases (default: DEPLOYER_ENVIRONMENT,
    /// `default_environment:`, `development`/`dev`, or the only one; never production)
    #[arg(long, short = 'e', value_name = "ENV")]
    pub environment: Option<String>,
    /// Keep reading new lines until Ctrl+C
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// How far back to start, e.g. 30s, 10m, 2h
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_duration)]
    pub since: std::time::Duration,
    /// Only lines containing this text
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
    #[command(flatten)]
    pub repo: RepoArgs,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub target: StackEnv,
    /// Show at most this many releases, newest first
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    #[command(flatten)]
    pub repo: RepoArgs,
    /// Output format
    #[arg(long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

#[derive(Debug, Subcommand)]
pub enum LockCommand {
    /// Show who holds locks (all of them, or one stack's)
    Status(LockStatusArgs),
    /// Run a command while holding a stack's lock (for maintenance that must not race a deploy)
    Exec(LockExecArgs),
}

#[derive(Debug, Args)]
pub struct LockStatusArgs {
    /// Only this stack
    #[arg(long, short = 's', value_name = "STACK")]
    pub stack: Option<String>,
    #[command(flatten)]
    pub repo: RepoArgs,
    /// Output format
    #[arg(long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

/// How deployer waits for and holds a stack's lock.
#[derive(Debug, Args)]
pub struct LockOptions {
    /// How long to wait for a lock someone else holds; 0 fails at once (default: wait until it is free)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub lock_timeout: Option<std::time::Duration>,
    /// How long the lock lasts if deployer stops renewing it (it renews while running)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "1h")]
    pub lock_ttl: std::time::Duration,
}

#[derive(Debug, Args)]
pub struct LockExecArgs {
    #[command(flatten)]
    pub target: StackEnv,
    #[command(flatten)]
    pub lock: LockOptions,
    #[command(flatten)]
    pub repo: RepoArgs,
    /// The command and its arguments
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct UnlockArgs {
    #[command(flatten)]
    pub target: StackEnv,
    /// The id of the lock to remove (shown by `lock status` and by a waiting deployer)
    #[arg(required_unless_present = "damaged")]
    pub lock_id: Option<String>,
    /// Remove a lock record that cannot be read (no id, no expiry), showing
    /// what it held
    #[arg(long, conflicts_with = "lock_id")]
    pub damaged: bool,
    /// Do not ask for confirmation (needed without a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,
    #[command(flatten)]
    pub repo: RepoArgs,
}

fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    crate::backend::parse_duration(text)
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Folder to write the schemas into
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct VersionArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

#[derive(Debug, Args)]
pub struct StackInitArgs {
    /// Stack name (default: the current folder's name)
    #[arg(long)]
    pub name: Option<String>,
    /// One sentence on what the stack is for
    #[arg(long)]
    pub description: Option<String>,
    /// Owning team or email address
    #[arg(long)]
    pub owner: Option<String>,
    /// Environments to declare, comma-separated; one named `production` is marked production
    #[arg(long, value_delimiter = ',', value_name = "ENV,...")]
    pub environments: Vec<String>,
    /// AWS account ID for every environment (edit stack.yaml to use several)
    #[arg(long)]
    pub account: Option<String>,
    /// AWS region
    #[arg(long)]
    pub region: Option<String>,
    /// VPC ID to deploy into
    #[arg(long)]
    pub vpc: Option<String>,
    /// Private subnet IDs, comma-separated (at least two)
    #[arg(long, value_delimiter = ',', value_name = "SUBNET,...")]
    pub private_subnets: Vec<String>,
    /// Name of the first service
    #[arg(long)]
    pub service: Option<String>,
    /// Container image of the first service's `api` component (without tag)
    #[arg(long)]
    pub image: Option<String>,
    /// Take defaults for everything not given instead of asking
    #[arg(long, short = 'y')]
    pub yes: bool,
}

impl VarArgs {
    /// Each `--var NAME=VALUE` as a pair. A malformed one is refused without
    /// echoing it (clap's own errors repeat the value given): it may be a
    /// secret typed without its name.
    pub fn pairs(&self) -> crate::error::Result<Vec<(String, String)>> {
        self.vars
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let nth = i + 1;
                let (name, value) = text.split_once('=').ok_or_else(|| {
                    crate::error::Error::usage(format!(
                        "--var number {nth} is not NAME=VALUE (it has no `=`); its text is not shown"
                    ))
                })?;
                if name.is_empty() {
                    return Err(crate::error::Error::usage(format!(
                        "--var number {nth} has no variable name before `=`; its value is not shown"
                    )));
                }
                Ok((name.to_string(), value.to_string()))
            })
            .collect()
    }
}
