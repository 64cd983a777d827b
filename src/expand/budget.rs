//! What one template render may cost beyond minijinja's fuel. Fuel counts
//! instructions, not what one instruction allocates: `{% set ns.x = ns.x +
//! ns.x %}` forty times is 40 instructions and 2^40 list items. A watchdog
//! thread looks at every render in progress, on every thread; one that runs
//! longer than [`SECONDS`] — alone, or with the renders of its stack before
//! it — or grows the process by more than [`GROWTH_MB`] stops deployer with
//! an error naming the file. (Counting a stack's renders together matters: a
//! macro file imported by every component of every environment can cost
//! 4.4 s per import, each under the bound, 13 s in all — found by the fuzzing
//! harness. Watching every thread matters too: stacks compile side by side,
//! and a runaway render on one must be stopped like a lone one.) Rendering
//! comes before any lock is taken or anything is written, so stopping there
//! loses nothing.

use std::collections::HashMap;
use std::sync::Mutex;
use std::thread::ThreadId;
use std::time::{Duration, Instant};

/// Wall time the renders of one stack may take, together.
pub const SECONDS: u64 = 5;
/// Memory the process may grow by while one render runs (checked every
/// 10 ms, so peak memory stays well under 512 MB).
pub const GROWTH_MB: u64 = 160;

struct Render {
    file: String,
    started: Instant,
    /// Read by the watchdog when it first sees the render (renders are many
    /// and mostly short: reading /proc on each would cost more than they do).
    rss_before: Option<u64>,
}

/// What one thread is rendering, and what its stack's renders cost so far.
/// Stacks compile on several threads at once, each under its own bound: one
/// slot for the whole process would let a second thread's render replace a
/// runaway one in it, so that nothing watched it any more.
#[derive(Default)]
struct Thread {
    current: Option<Render>,
    /// Time spent in this stack's renders that have finished.
    spent: Duration,
}

static THREADS: Mutex<Option<HashMap<ThreadId, Thread>>> = Mutex::new(None);

fn with_thread<T>(f: impl FnOnce(&mut Thread) -> T) -> T {
    let mut threads = lock();
    f(threads
        .get_or_insert_with(HashMap::new)
        .entry(std::thread::current().id())
        .or_default())
}

/// A new stack starts on this thread: its renders are counted afresh.
pub fn begin_stack() {
    with_thread(|t| t.spent = Duration::ZERO);
}

/// Runs `render` for a string of `file` under the watchdog.
pub fn watched<T>(file: &str, render: impl FnOnce() -> T) -> T {
    start_watchdog();
    let started = Instant::now();
    with_thread(|t| {
        t.current = Some(Render {
            file: file.to_string(),
            started,
            rss_before: None,
        })
    });
    let out = render();
    with_thread(|t| {
        t.current = None;
        t.spent += started.elapsed();
    });
    out
}

fn lock() -> std::sync::MutexGuard<'static, Option<HashMap<ThreadId, Thread>>> {
    THREADS.lock().unwrap_or_else(|e| e.into_inner())
}

fn start_watchdog() {
    static STARTED: std::sync::Once = std::sync::Once::new();
    STARTED.call_once(|| {
        std::thread::spawn(|| {
            loop {
                std::thread::sleep(Duration::from_millis(10));
                let mut threads = lock();
                let Some(threads) = threads.as_mut() else {
                    continue;
                };
                let mut now = None;
                let over = threads.values_mut().find_map(|t| {
                    let spent = t.spent;
                    let r = t.current.as_mut()?;
                    let rss = *now.get_or_insert_with(resident_bytes);
                    let grown =
                        rss.saturating_sub(*r.rss_before.get_or_insert(rss)) / (1024 * 1024);
                    if r.started.elapsed() > Duration::from_secs(SECONDS) {
                        Some((r.file.clone(), format!("ran for more than {SECONDS} s")))
                    } else if r.started.elapsed() + spent > Duration::from_secs(SECONDS) {
                        Some((
                            r.file.clone(),
                            format!(
                                "brought the time spent in its stack's templates past {SECONDS} s"
                            ),
                        ))
                    } else if grown > GROWTH_MB {
                        Some((r.file.clone(), format!("needed more than {GROWTH_MB} MB")))
                    } else {
                        None
                    }
                });
                if let Some((file, what)) = over {
                    stop(&file, &what);
                }
            }
        });
    });
}

/// Ends the process with the error: the render cannot be interrupted from
/// outside, and nothing has been locked or written yet.
fn stop(file: &str, what: &str) -> ! {
    crate::interrupt::exit_with(
        &format!(
            "error[{}]: a template in {file} {what} and was stopped; nothing was written\n  help: look for a loop that doubles a list or string, or a value repeated many times (`'x' * n`, `list * n`)",
            crate::diagnostic::Code::FuelExhausted.as_str()
        ),
        1,
    )
}

/// The process's resident memory (`/proc/self/statm`; 0 where there is none).
fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}
