//! Ctrl+C (and SIGTERM): the first one asks deployer to stop cleanly — stop
//! waiting, tell a running Pulumi to stop, release what it holds. A second one
//! exits at once (a lock it held then expires by itself).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static COUNT: AtomicUsize = AtomicUsize::new(0);

/// How a command stops on Ctrl+C (each command says, in `Command::on_interrupt`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnInterrupt {
    /// Commands that hold a lock or drive Pulumi: stop cleanly on the first
    /// signal (Pulumi told, records written, the lock released), at once on
    /// the second.
    FinishCleanly,
    /// Every other command (validate, show, compile, ...) changes nothing
    /// that needs cleaning up, so it stops at once, so `timeout` and a CI
    /// cancel always end it.
    StopAtOnce,
}

/// Installs the handler (once; later calls do nothing).
pub fn install(on: OnInterrupt) {
    let careful = on == OnInterrupt::FinishCleanly;
    static INSTALLED: AtomicBool = AtomicBool::new(false);
    if INSTALLED.swap(true, Ordering::SeqCst) {
        return;
    }
    let _ = ctrlc::set_handler(move || {
        INTERRUPTED.store(true, Ordering::SeqCst);
        if !careful {
            let _held = clean_up();
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
/// ends the process with `code`, after [`clean_up`].
pub fn exit_with(message: &str, code: i32) -> ! {
    if let Some(say) = SAY.get() {
        say(message);
    }
    let _held = clean_up();
    std::process::exit(code)
}

/// What must not outlive the process however it ends — a checkout in
/// `/dev/shm` (16 MB for 40 stacks), the `tar` still filling it — when it
/// exits from a signal handler or a watchdog, where nothing is dropped.
static LEFT_BEHIND: Mutex<(Vec<PathBuf>, Vec<u32>)> = Mutex::new((Vec::new(), Vec::new()));

fn left_behind() -> std::sync::MutexGuard<'static, (Vec<PathBuf>, Vec<u32>)> {
    LEFT_BEHIND.lock().unwrap_or_else(|e| e.into_inner())
}

/// Registered while it lives: a folder removed, or a child process killed,
/// if the process ends before this is dropped. Dropping it removes the
/// folder (or forgets the child, which its owner waits for).
pub struct OnExit(Registered);

enum Registered {
    Folder(PathBuf),
    Child(u32),
}

impl OnExit {
    /// Creates a folder with `create` and registers it, in one step under
    /// the registry's lock: a process ending meanwhile leaves no folder it
    /// does not know.
    pub fn create_folder<T>(
        create: impl FnOnce() -> std::io::Result<T>,
        path: impl Fn(&T) -> &std::path::Path,
    ) -> std::io::Result<(T, OnExit)> {
        let mut registry = left_behind();
        let folder = create()?;
        let at = path(&folder).to_path_buf();
        registry.0.push(at.clone());
        Ok((folder, OnExit(Registered::Folder(at))))
    }

    pub fn kill_child(child: &std::process::Child) -> OnExit {
        left_behind().1.push(child.id());
        OnExit(Registered::Child(child.id()))
    }
}

impl Drop for OnExit {
    /// A folder is removed here, under the registry's lock, then forgotten:
    /// a process ending while it is being removed finishes the removal.
    fn drop(&mut self) {
        let mut registry = left_behind();
        match &self.0 {
            Registered::Folder(path) => {
                let _ = std::fs::remove_dir_all(path);
                registry.0.retain(|p| p != path);
            }
            Registered::Child(pid) => registry.1.retain(|p| p != pid),
        }
    }
}

/// Kills the registered children and waits for them to be gone (a `tar`
/// still writing would refill a folder being removed), then removes the
/// registered folders. The registry stays locked until the process exits, so
/// no thread registers (or, through [`OnExit::create_folder`], creates) a
/// folder after it.
fn clean_up() -> std::sync::MutexGuard<'static, (Vec<PathBuf>, Vec<u32>)> {
    let registry = left_behind();
    for pid in &registry.1 {
        // SAFETY: kill(2) and waitpid(2) with the pid of a child this process
        // spawned; reaping it here is fine: the process is ending.
        unsafe {
            libc::kill(*pid as i32, libc::SIGKILL);
            libc::waitpid(*pid as i32, std::ptr::null_mut(), 0);
        }
    }
    for dir in &registry.0 {
        for _ in 0..3 {
            if std::fs::remove_dir_all(dir).is_ok() || !dir.exists() {
                break;
            }
        }
    }
    registry
}
