//! The command line: clap definitions in [`args`], one module per command in
//! [`commands`], all output through [`printer::Printer`]. This is the only module
//! that prints, and the only place exit codes are decided.

pub mod args;
pub mod commands;
pub mod printer;

use crate::error::Error;
use args::{Cli, Command};
use clap::Parser;
use printer::Printer;
use std::process::ExitCode;

/// What a command ended with. Errors are separate ([`Error`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    Success,
    /// The command ran and found problems (invalid files, unhealthy components).
    Failure,
    /// Pass on another program's exit code (`lock exec`).
    Code(u8),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let careful = matches!(
        cli.command,
        Command::Apply(_)
            | Command::Plan(_)
            | Command::Rollback(_)
            | Command::Destroy(_)
            | Command::Drift(_)
            | Command::Lock(_)
            | Command::Logs(_)
            | Command::Init(_)
    );
    crate::interrupt::set_reporter(|message| Printer::new().status(message));
    crate::interrupt::install(careful);
    let printer = Printer::new();
    let result = match cli.command {
        Command::Validate(args) => commands::validate::run(args, &printer),
        Command::Show(args) => commands::show::run(args, &printer),
        Command::Compile(args) => commands::compile::run(args, &printer),
        Command::Diff(args) => {
            // diff: 0 no change, 1 changes, 2 any error (so CI can tell them apart).
            return match commands::diff::run(args, &printer) {
                Ok(ExitStatus::Success) => ExitCode::SUCCESS,
                Ok(ExitStatus::Failure | ExitStatus::Code(_)) => ExitCode::from(1),
                Err(err) => {
                    report(&printer, &err);
                    ExitCode::from(2)
                }
            };
        }
        Command::Affected(args) => commands::affected::run(args, &printer),
        Command::Plan(args) => commands::plan::run(args, &printer),
        Command::Apply(args) => commands::apply::run(args, &printer),
        Command::Rollback(args) => commands::apply::rollback(args, &printer),
        Command::Destroy(args) => commands::apply::destroy(args, &printer),
        Command::Drift(args) => {
            // drift: 0 no drift, 1 drift, 2 any error.
            return match commands::drift::run(args, &printer) {
                Ok(ExitStatus::Success) => ExitCode::SUCCESS,
                Ok(ExitStatus::Failure | ExitStatus::Code(_)) => ExitCode::from(1),
                Err(err) => {
                    report(&printer, &err);
                    ExitCode::from(2)
                }
            };
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
        Command::Version(args) => commands::version::run(args, &printer),
        Command::Completions(args) => commands::completions::run(args, &printer),
        Command::Man(args) => commands::completions::man(args, &printer),
    };
    match result {
        Ok(ExitStatus::Success) => ExitCode::SUCCESS,
        Ok(ExitStatus::Failure) => ExitCode::from(1),
        Ok(ExitStatus::Code(code)) => ExitCode::from(code),
        Err(err) => {
            let code = report(&printer, &err);
            ExitCode::from(code)
        }
    }
}

/// Prints an error and returns its exit code: 2 for usage errors, 1 otherwise.
pub fn report(printer: &Printer, err: &Error) -> u8 {
    match err {
        Error::Diagnostic(d) => {
            printer.diagnostic(d, &crate::source::Sources::default());
            if d.code == crate::diagnostic::Code::UnknownStack
                || d.code == crate::diagnostic::Code::UnknownEnvironment
            {
                2
            } else {
                1
            }
        }
        Error::Usage { message, help } => {
            printer.error(message, help.as_deref());
            2
        }
        Error::Failed { message, help } => {
            printer.error(message, help.as_deref());
            1
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
