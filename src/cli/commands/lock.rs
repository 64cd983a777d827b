//! `deployer lock status`, `deployer lock exec`, `deployer unlock`: the
//! arguments read, one `ops::lock` call, what it returns printed.

use super::{lock_wait, open_repo, resolve_target};
use crate::backend::{now, relative};
use crate::cli::ExitStatus;
use crate::cli::args::{LockExecArgs, LockStatusArgs, OutputFormat, UnlockArgs};
use crate::cli::printer::Printer;
use crate::cli::ui::CliUi;
use crate::error::Result;
use crate::ops::Scope;
use crate::ops::lock::{Confirm, Removal, Unlocked};
use serde_json::json;

pub fn status(args: LockStatusArgs, printer: &Printer) -> Result<ExitStatus> {
    let repo = open_repo(&args.repo.repo)?;
    let (locks, described) =
        crate::ops::lock::list(&repo, args.stack.as_deref(), &CliUi::new(printer))?;
    let t = now();
    match args.output {
        OutputFormat::Json => printer.json(
            &locks
                .iter()
                .map(|held| {
                    json!({"stack": held.stack, "environment": held.environment, "key": held.key, "expired": held.info.expires <= t, "lock": held.info})
                })
                .collect::<Vec<_>>(),
        ),
        OutputFormat::Text if locks.is_empty() => {
            printer.status(format!("no locks held ({described})"))
        }
        OutputFormat::Text => {
            for held in &locks {
                let info = &held.info;
                let state = if info.expires <= t {
                    format!("expired {}", relative(info.expires, t))
                } else {
                    format!("expires {}", relative(info.expires, t))
                };
                printer.out(format!(
                    "{}  {}  {}  since {}  pid {} on {}  {state}  id {}",
                    held.key,
                    info.who,
                    info.operation,
                    relative(info.created, t),
                    info.pid,
                    info.host,
                    info.lock_id
                ));
            }
        }
    }
    Ok(ExitStatus::Success)
}

pub fn exec(args: LockExecArgs, printer: &Printer) -> Result<ExitStatus> {
    let repo = open_repo(&args.repo.repo)?;
    let target = resolve_target(printer, &repo, &args.target)?;
    let scope = Scope {
        repo: &repo,
        stack: target.stack,
        environment: target.environment,
    };
    let status = crate::ops::lock::exec(
        scope,
        &args.command,
        &lock_wait(&args.lock),
        &CliUi::new(printer),
    )?;
    Ok(match status.code() {
        Some(0) => ExitStatus::Success,
        Some(code) => ExitStatus::External(code.clamp(1, 255) as u8),
        None => ExitStatus::External(128 + 2),
    })
}

pub fn unlock(args: UnlockArgs, printer: &Printer) -> Result<ExitStatus> {
    let repo = open_repo(&args.repo.repo)?;
    let target = resolve_target(printer, &repo, &args.target)?;
    let (stack, environment) = (target.stack.clone(), target.environment.clone());
    let scope = Scope {
        repo: &repo,
        stack: target.stack,
        environment: target.environment,
    };
    let removal = match args.lock_id {
        Some(id) => Removal::Id(id),
        None => Removal::Damaged,
    };
    let confirm = if args.yes {
        Confirm::Given
    } else {
        Confirm::Ask
    };
    match crate::ops::lock::unlock(scope, removal, confirm, &CliUi::new(printer))? {
        Unlocked::Removed(lock_id) => printer.success(format!("Removed lock {lock_id}")),
        Unlocked::RemovedDamaged(held) => printer.success(format!(
            "Removed the damaged lock of {stack} / {environment}; it held: {held}"
        )),
        Unlocked::Declined => {
            printer.status("Nothing removed.");
            return Ok(ExitStatus::Failure);
        }
    }
    Ok(ExitStatus::Success)
}
