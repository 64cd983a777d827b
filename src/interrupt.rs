//! Ctrl+C (and SIGTERM): the first one asks deployer to stop cleanly — stop
//! waiting, tell a running Pulumi to stop, release what it holds. A second one
//! exits at once (a lock it held then expires by itself).

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
            eprintln!("interrupted again: exiting now");
            std::process::exit(130);
        }
    });
}

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
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
