//! The command line: clap definitions in [`args`], one module per command in
//! [`commands`], all output through [`printer::Printer`]. This is the only module
//! that prints, and the only place exit codes are decided.

pub mod args;
pub mod commands;
pub mod printer;
pub mod ui;

use crate::error::{Error, ErrorKind};
use args::{Cli, Command};
use clap::Parser;
use printer::Printer;
use std::process::ExitCode;

/// What a command ended with, and so the process's exit code (as uv's
/// `ExitStatus`). A command returns `Success`, `Failure` or `External`; an
/// [`Error`] it returns becomes `Failure` or `Error` in [`report`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// Exit 0: done as asked (for `diff` and `drift`: nothing differs).
    Success,
    /// Exit 1: the command ran and found problems (invalid files, unhealthy
    /// components; for `diff` and `drift`: something differs), or could not do
    /// what was asked.
    Failure,
    /// Exit 2: the command was asked wrongly (usage, an unknown stack or
    /// environment); for `diff` and `drift`, any error, so CI can tell
    /// "differs" from "broken".
    Error,
    /// Another program's exit code, passed on (`lock exec`).
    External(u8),
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> ExitCode {
        match status {
            ExitStatus::Success => ExitCode::SUCCESS,
            ExitStatus::Failure => ExitCode::from(1),
            ExitStatus::Error => ExitCode::from(2),
            ExitStatus::External(code) => ExitCode::from(code),
        }
    }
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return bad_command_line(err),
    };
    init_logging(cli.verbose);
    let shown = Shown {
        json: cli.command.json_output(),
        causes: cli.verbose,
    };
    crate::interrupt::set_reporter(|message| Printer::new().status(message));
    crate::interrupt::install(cli.command.on_interrupt());
    let printer = Printer::new();
    let result = match cli.command {
        Command::Validate(args) => commands::validate::run(args, &printer),
        Command::Show(args) => commands::show::run(args, &printer),
        Command::Cost(args) => commands::cost::run(args, &printer),
        Command::Compile(args) => commands::compile::run(args, &printer),
        Command::Diff(args) => any_error_is_2(commands::diff::run(args, &printer), &printer, shown),
        Command::Affected(args) => commands::affected::run(args, &printer),
        Command::Plan(args) => commands::plan::run(args, &printer),
        Command::Apply(args) => commands::apply::run(args, &printer),
        Command::Rollback(args) => commands::apply::rollback(args, &printer),
        Command::Destroy(args) => commands::apply::destroy(args, &printer),
        Command::Drift(args) => {
            any_error_is_2(commands::drift::run(args, &printer), &printer, shown)
        }
        Command::Status(args) => commands::status::run(args, &printer),
        Command::Logs(args) => commands::logs::run(args, &printer),
        Command::Init(args) => commands::init::run(args, &printer),
        Command::History(args) => commands::history::run(args, &printer),
        Command::Lock(args::LockCommand::Status(args)) => commands::lock::status(args, &printer),
        Command::Lock(args::LockCommand::Exec(args)) => commands::lock::exec(args, &printer),
        Command::Unlock(args) => commands::lock::unlock(args, &printer),
        Command::Schema(args) => commands::schema::run(args, &printer),
        Command::Stack(args::StackCommand::Init(args)) => commands::stack_init::run(args, &printer),
        Command::Import(args::ImportCommand::Copilot(args)) => {
            commands::import::copilot(args, &printer)
        }
        Command::Version(args) => commands::version::run(args, &printer),
        Command::Completions(args) => commands::completions::run(args, &printer),
        Command::Man(args) => commands::completions::man(args, &printer),
    };
    match result {
        Ok(status) => status.into(),
        Err(err) => report(&printer, &err, shown).into(),
    }
}

/// A command line clap refuses. With `--output json` the error is also JSON
/// on stdout, as every other error is.
fn bad_command_line(err: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    let informational = matches!(
        err.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    );
    let args: Vec<String> = std::env::args().collect();
    let json = args
        .windows(2)
        .any(|w| w[0] == "--output" && w[1] == "json")
        || args.iter().any(|a| a == "--output=json");
    if json && !informational {
        let message = err.kind().as_str().unwrap_or("invalid command line");
        let text = err.render().to_string();
        let detail = text
            .lines()
            .next()
            .unwrap_or_default()
            .trim_start_matches("error: ");
        Printer::new().json(&serde_json::json!({"error": {
            "code": "usage",
            "message": if detail.is_empty() { message } else { detail },
            "help": "run the command with --help for its flags",
        }}));
    }
    err.exit()
}

/// For `diff` and `drift`, whose exit 1 means "differs": every error is
/// reported and exits 2.
fn any_error_is_2(
    result: crate::error::Result<ExitStatus>,
    printer: &Printer,
    shown: Shown,
) -> crate::error::Result<ExitStatus> {
    result.or_else(|err| {
        report(printer, &err, shown);
        Ok(ExitStatus::Error)
    })
}

/// How an error is shown.
#[derive(Clone, Copy)]
pub struct Shown {
    /// `--output json`: also as JSON on stdout.
    pub json: bool,
    /// `--verbose`: with the chain of causes under it.
    pub causes: bool,
}

/// Prints an error and says how the process ends: `Error` (2) for usage
/// errors and an unknown stack or environment, `Failure` (1) otherwise. With
/// `--output json` it is also printed on stdout as
/// `{"error": {"code", "message", "help"}}` (docs/json.md); with `--verbose`
/// each cause the message does not already quote follows it, `caused by: …`.
pub fn report(printer: &Printer, err: &Error, shown: Shown) -> ExitStatus {
    if shown.json {
        let code = match err.kind() {
            ErrorKind::Diagnostic(d) => d.code.as_str(),
            ErrorKind::Usage { .. } => "usage",
            ErrorKind::Failed { .. } => "failed",
        };
        printer.json(&serde_json::json!({"error": {
            "code": code,
            "message": err.to_string(),
            "help": err.help(),
        }}));
    }
    let status = print_error(printer, err);
    if shown.causes {
        for cause in err.causes() {
            printer.status(format!("  caused by: {cause}"));
        }
    }
    status
}

fn print_error(printer: &Printer, err: &Error) -> ExitStatus {
    match err.kind() {
        ErrorKind::Diagnostic(d) => {
            printer.diagnostic(d, &crate::source::Sources::default());
            if d.code == crate::diagnostic::Code::UnknownStack
                || d.code == crate::diagnostic::Code::UnknownEnvironment
            {
                ExitStatus::Error
            } else {
                ExitStatus::Failure
            }
        }
        ErrorKind::Usage { message, help } => {
            printer.error(message, help.as_deref());
            ExitStatus::Error
        }
        ErrorKind::Failed { message, help } => {
            printer.error(message, help.as_deref());
            ExitStatus::Failure
        }
    }
}

/// `--verbose` or `DEPLOYER_LOG` (a `tracing` filter such as `debug`) turns on
/// the log of what deployer does underneath, on stderr.
fn init_logging(verbose: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = match std::env::var("DEPLOYER_LOG").ok().filter(|v| !v.is_empty()) {
        Some(spec) => EnvFilter::try_new(&spec).unwrap_or_else(|_| EnvFilter::new("debug")),
        None if verbose => EnvFilter::new("deployer=debug"),
        None => return,
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false)
        .without_time()
        .try_init();
}
