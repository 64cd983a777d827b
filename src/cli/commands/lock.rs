//! `deployer lock status`, `deployer lock exec`, `deployer unlock`.

use super::{open_backend, open_repo, resolve_target};
use crate::backend::lock::{self, Held, LockRequest, Observer};
use crate::backend::{
    Backend, LockInfo, LockRefused, lock_key, now, parse_lock_key, relative, timestamp,
};
use crate::cli::ExitStatus;
use crate::cli::args::{LockExecArgs, LockOptions, LockStatusArgs, OutputFormat, UnlockArgs};
use crate::cli::printer::Printer;
use crate::error::{Error, Result};
use crate::load::Repo;
use serde_json::json;

/// Shows waiting the way the walkthrough does:
/// `⚠ Stack is locked / Locked by / Since / Waiting for lock... (Ctrl+C to cancel)`.
pub struct WaitPrinter;

impl Observer for WaitPrinter {
    fn waiting(&self, holder: &LockInfo) {
        let printer = Printer::new();
        printer.warning("Stack is locked");
        printer.status(format!("  Locked by: {}", holder.who));
        printer.status(format!("  Since: {}", relative(holder.created, now())));
        printer.status(format!(
            "  Operation: {} (pid {} on {})",
            holder.operation, holder.pid, holder.host
        ));
        printer.status(format!(
            "  Lock ID: {} (expires {})",
            holder.lock_id,
            relative(holder.expires, now())
        ));
        printer.status("Waiting for lock... (Ctrl+C to cancel)");
    }

    fn lost(&self, holder: Option<&LockInfo>) {
        let by = holder
            .map(|h| format!(" It is now held by {} ({}).", h.who, h.operation))
            .unwrap_or_default();
        Printer::new().failure(format!("The stack's lock was removed while this command held it.{by} Another deploy may now run at the same time."));
    }

    fn renewal_failed(&self, error: &Error, lapses: i64) {
        let lapsing = if lapses > now() {
            format!(", it lapses {} if this lasts", relative(lapses, now()))
        } else {
            String::new()
        };
        Printer::new().warning(format!(
            "Could not renew the stack's lock ({error}); trying again{lapsing}. The deploy goes on meanwhile."
        ));
    }

    fn lapsed(&self, at: i64) {
        Printer::new().warning(format!(
            "The stack's lock lapsed at {} while it could not be renewed: another deployer may take it. Pulumi's own lock on the stack's state still stops a second update of it; deployer's records refuse a second release with the same number.",
            timestamp(at)
        ));
    }

    fn renewed(&self) {
        Printer::new().status("The stack's lock was renewed again.");
    }
}

/// Takes a stack's lock for an operation, showing the wait.
pub fn take(
    printer: &Printer,
    backend: &Backend,
    repo: &Repo,
    stack: &str,
    environment: &str,
    operation: &str,
    options: &LockOptions,
) -> Result<Held> {
    let request = LockRequest {
        key: lock_key(stack, environment),
        who: backend.who(&repo.root),
        operation: operation.to_string(),
        ttl: options.lock_ttl,
        timeout: options.lock_timeout,
    };
    printer.status(format!("Acquiring lock of {stack} / {environment}..."));
    let held = lock::acquire(backend.lock.clone(), &request, &WaitPrinter)?;
    printer.success("Lock acquired");
    Ok(held)
}

pub fn status(args: LockStatusArgs, printer: &Printer) -> Result<ExitStatus> {
    let repo = open_repo(&args.repo.repo)?;
    if let Some(stack) = &args.stack {
        repo.require_stack(stack)?;
    }
    let backend = open_backend(printer, &repo)?;
    let prefix = args.stack.as_ref().map(|s| format!("stack:{s}:env:"));
    let locks: Vec<(String, LockInfo)> = backend
        .lock
        .list()?
        .into_iter()
        .filter(|(k, _)| prefix.as_ref().is_none_or(|p| k.starts_with(p)))
        .collect();
    let t = now();
    match args.output {
        OutputFormat::Json => printer.json(
            &locks
                .iter()
                .map(|(key, info)| {
                    let (stack, environment) = parse_lock_key(key).unwrap_or((key, ""));
                    json!({"stack": stack, "environment": environment, "key": key, "expired": info.expires <= t, "lock": info})
                })
                .collect::<Vec<_>>(),
        ),
        OutputFormat::Text if locks.is_empty() => {
            printer.status(format!("no locks held ({})", backend.lock.describe()))
        }
        OutputFormat::Text => {
            for (key, info) in &locks {
                let state = if info.expires <= t {
                    format!("expired {}", relative(info.expires, t))
                } else {
                    format!("expires {}", relative(info.expires, t))
                };
                printer.out(format!(
                    "{key}  {}  {}  since {}  pid {} on {}  {state}  id {}",
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
    let (stack, environment) = (&target.stack, &target.environment);
    let backend = open_backend(printer, &repo)?;
    let held = take(
        printer,
        &backend,
        &repo,
        stack,
        environment,
        &format!("lock exec {}", args.command.join(" ")),
        &args.lock,
    )?;
    let mut child = std::process::Command::new(&args.command[0])
        .args(&args.command[1..])
        .env("DEPLOYER_LOCK_ID", &held.info.lock_id)
        .spawn()
        .map_err(|e| Error::failed(format!("cannot run `{}`: {e}", args.command[0])))?;
    let mut forwarded = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => {
                return Err(Error::failed(format!(
                    "waiting for `{}` failed: {e}",
                    args.command[0]
                )));
            }
        }
        crate::interrupt::forward_to(&child, &mut forwarded);
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let lost = held.lost();
    release(printer, held);
    if lost {
        return Err(Error::failed("the lock was lost while the command ran"));
    }
    Ok(match status.code() {
        Some(0) => ExitStatus::Success,
        Some(code) => ExitStatus::External(code.clamp(1, 255) as u8),
        None => ExitStatus::External(128 + 2),
    })
}

pub fn unlock(args: UnlockArgs, printer: &Printer) -> Result<ExitStatus> {
    let repo = open_repo(&args.repo.repo)?;
    let target = resolve_target(printer, &repo, &args.target)?;
    let (stack, environment) = (&target.stack, &target.environment);
    let backend = open_backend(printer, &repo)?;
    let key = lock_key(stack, environment);
    let Some(lock_id) = args.lock_id.as_deref() else {
        return unlock_damaged(printer, &backend, &key, stack, environment, args.yes);
    };
    let Some(holder) = backend.lock.get(&key)? else {
        return Err(Error::failed(format!(
            "{stack} / {environment} is not locked; nothing to remove"
        )));
    };
    let t = now();
    printer.status(format!("Lock of {stack} / {environment}:"));
    printer.status(format!(
        "  Locked by: {} (pid {} on {})",
        holder.who, holder.pid, holder.host
    ));
    printer.status(format!("  Operation: {}", holder.operation));
    printer.status(format!(
        "  Since: {} ({})",
        timestamp(holder.created),
        relative(holder.created, t)
    ));
    printer.status(format!(
        "  Expires: {} ({})",
        timestamp(holder.expires),
        relative(holder.expires, t)
    ));
    printer.status(format!("  Lock ID: {}", holder.lock_id));
    if holder.lock_id != lock_id {
        return Err(Error::failed(format!(
            "the lock's id is {}, not {}; nothing was removed",
            holder.lock_id, lock_id
        ))
        .with_help(
            "a different process holds it now; check it is really stale before removing it",
        ));
    }
    if !confirm_removal(printer, args.yes)? {
        printer.status("Nothing removed.");
        return Ok(ExitStatus::Failure);
    }
    match backend.lock.release(&key, lock_id) {
        Ok(()) => {
            printer.success(format!("Removed lock {lock_id}"));
            Ok(ExitStatus::Success)
        }
        Err(LockRefused::NotHolder(now_holder)) => Err(Error::failed(format!(
            "the lock changed hands while removing it{}; nothing was removed",
            now_holder
                .map(|h| format!(" (now {} by {})", h.lock_id, h.who))
                .unwrap_or_default()
        ))),
        Err(LockRefused::Backend(e)) => Err(e),
    }
}

/// Asks before a lock is removed (`--yes` answers for CI).
fn confirm_removal(printer: &Printer, yes: bool) -> Result<bool> {
    if yes {
        return Ok(true);
    }
    if !printer.can_prompt() {
        return Err(Error::usage("cannot ask for confirmation: not a terminal")
            .with_help("pass --yes to remove the lock"));
    }
    dialoguer::Confirm::new()
        .with_prompt("Remove this lock? The process holding it must be gone, or two deploys will run at once")
        .default(false)
        .interact()
        .map_err(|e| Error::failed(format!("cannot read the answer: {e}")))
}

/// `unlock --damaged`: a lock record nobody can read (so no id to give) is
/// removed after confirmation, and what it held is shown.
fn unlock_damaged(
    printer: &Printer,
    backend: &crate::backend::Backend,
    key: &str,
    stack: &str,
    environment: &str,
    yes: bool,
) -> Result<ExitStatus> {
    match backend.lock.get(key) {
        Ok(None) => {
            return Err(Error::failed(format!(
                "{stack} / {environment} is not locked; nothing to remove"
            )));
        }
        Ok(Some(holder)) => {
            return Err(Error::failed(format!(
                "the lock of {stack} / {environment} is not damaged: it is held by {} ({}); nothing was removed",
                holder.who, holder.lock_id
            ))
            .with_help(format!(
                "if it is stale, remove it by its id: `deployer unlock --stack {stack} --environment {environment} {}`",
                holder.lock_id
            )));
        }
        Err(e) => printer.warning(e.to_string()),
    }
    if !confirm_removal(printer, yes)? {
        printer.status("Nothing removed.");
        return Ok(ExitStatus::Failure);
    }
    match backend.lock.remove_damaged(key)? {
        Some(held) => {
            printer.success(format!(
                "Removed the damaged lock of {stack} / {environment}; it held: {held}"
            ));
            Ok(ExitStatus::Success)
        }
        None => Err(Error::failed(format!(
            "the lock of {stack} / {environment} changed while removing it (it is readable now, or gone); nothing was removed"
        ))),
    }
}

/// Releases the lock a command held. When the back-end cannot take it back,
/// that is a warning, not the command's failure: what was done is done and
/// recorded, and the lock expires by itself.
pub fn release(printer: &Printer, held: crate::backend::lock::Held) {
    if let Err(e) = held.release() {
        printer.warning(e.to_string());
    }
}
