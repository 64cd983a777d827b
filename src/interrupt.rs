//! Ctrl+C (and SIGTERM): the first one asks deployer to stop cleanly — stop
//! waiting, tell a running Pulumi to stop, release what it holds. A second one
//! exits at once (a lock it held then expires by itself).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static COUNT: AtomicUsize = AtomicUsize::new(0);

/// Installs the handler (once; later calls do nothing). `careful` commands
/// (those that hold a lock or drive Pulumi) stop cleanly on the first signal and
/// at once on the second; every other command (validate, show, compile, ...)
/// changes nothing that needs cleaning up, so it stops at once, so `timeout`
/// and a CI cancel always end it.
pub fn install(careful: bool) {
    static INSTALLED: AtomicBool = AtomicBool::new(false);
    if INSTALLED.swap(true, Ordering::SeqCst) {
        return;
    }
    let _ = ctrlc::set_handler(move || {
        INTERRUPTED.store(true, Ordering::SeqCst);
        if !careful {
            std::process::exit(130);
        }
        if COUNT.fetch_add(1, Ordering::SeqCst) >= 1 {
            exit_with("interrupted again: exiting now", 130);
        }
    });
}

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Passes an interruption on to `child` once, as SIGINT, so that it finishes
/// what is in flight and exits (Pulumi saves its state). The terminal sends
/// Ctrl+C to the child too; a SIGTERM to deployer alone reaches it only this
/// way. `forwarded` remembers that it was done; call it while waiting.
pub fn forward_to(child: &std::process::Child, forwarded: &mut bool) {
    if interrupted() && !*forwarded {
        *forwarded = true;
        // SAFETY: kill(2) with the pid of a child this process spawned and has not reaped.
        unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    }
}

/// Sleeps up to `duration`, returning early (true) when interrupted.
pub fn sleep(duration: std::time::Duration) -> bool {
    let step = std::time::Duration::from_millis(50);
    let start = std::time::Instant::now();
    while start.elapsed() < duration {
        if interrupted() {
            return true;
        }
        std::thread::sleep(step.min(duration.saturating_sub(start.elapsed())));
    }
    interrupted()
}

/// How a last message is said when the process must end from a thread that
/// cannot return an error (a second Ctrl+C, the template watchdog). Only the
/// command line prints: it installs its printer's way here at start (a lower
/// layer calling up through a table, as typst's `Routines` do).
static SAY: OnceLock<fn(&str)> = OnceLock::new();

/// Installs how [`exit_with`] says its message (once; later calls do nothing).
pub fn set_reporter(say: fn(&str)) {
    let _ = SAY.set(say);
}

/// Says `message` through the installed reporter (nothing when none is) and
/// ends the process with `code`.
pub fn exit_with(message: &str, code: i32) -> ! {
    if let Some(say) = SAY.get() {
        say(message);
    }
    std::process::exit(code)
}
