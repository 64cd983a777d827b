//! Kill points for the reliability tests: with `DEPLOYER_KILL_AT=NAME` (or
//! `NAME:N`, the N-th time) deployer kills itself with SIGKILL when it reaches
//! the point of that name, as a power cut or the OOM killer would: no handler
//! runs, nothing is cleaned up. The test suite (tests/apply/kill_points.rs)
//! then proves the next command recovers with no manual step.
//!
//! Only debug builds (the test suite's) have them: in a release build
//! [`point`] is empty and the variable means nothing.

/// A named point of the deploy flow where a kill is tested.
#[cfg(debug_assertions)]
pub fn point(name: &str) {
    use std::sync::Mutex;
    static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let Ok(spec) = std::env::var("DEPLOYER_KILL_AT") else {
        return;
    };
    let (target, nth) = match spec.split_once(':') {
        Some((target, n)) => (target, n.parse::<usize>().unwrap_or(1)),
        None => (spec.as_str(), 1),
    };
    if target != name {
        return;
    }
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    seen.push(name.to_string());
    if seen.iter().filter(|s| *s == name).count() == nth {
        // SAFETY: raising a signal has no preconditions.
        unsafe { libc::raise(libc::SIGKILL) };
    }
}

#[cfg(not(debug_assertions))]
#[inline(always)]
pub fn point(_name: &str) {}
