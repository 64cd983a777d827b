//! Taking a stack's lock: wait (with backoff) while someone else holds it,
//! keep it alive with a heartbeat while held, and release it when done — also
//! when the holder is interrupted or fails.

use super::{Acquire, Lock, LockInfo, LockRefused, now};
use crate::error::{Error, Result};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// What to lock and how long to wait.
pub struct LockRequest {
    pub key: String,
    pub who: String,
    pub operation: String,
    pub ttl: Duration,
    /// `None`: wait for as long as it takes; `Some(0)`: fail at once.
    pub timeout: Option<Duration>,
}

/// Told about waiting, so the command can show it.
pub trait Observer: Sync {
    /// Someone else holds the lock (called again when the holder changes).
    fn waiting(&self, holder: &LockInfo);
    /// The heartbeat found the lock gone (someone ran `unlock`, or took it over).
    fn lost(&self, holder: Option<&LockInfo>);
    /// A renewal failed (the first of a streak); the lock lapses at `lapses`
    /// (seconds since the epoch) unless one succeeds before.
    fn renewal_failed(&self, error: &Error, lapses: i64);
    /// Renewals kept failing past the lapse: someone else may take the lock.
    fn lapsed(&self, at: i64);
    /// A renewal succeeded after failures.
    fn renewed(&self);
}

/// A held lock. Released on drop, so every way out of a command releases it.
pub struct Held {
    lock: Arc<dyn Lock>,
    key: String,
    pub info: LockInfo,
    stop: Arc<(Mutex<bool>, Condvar)>,
    heartbeat: Option<std::thread::JoinHandle<()>>,
    lost: Arc<AtomicBool>,
    released: bool,
}

/// Why [`acquire`] gave up: who holds the lock (the error's source, for a
/// caller that skips a busy target instead of failing).
#[derive(Debug)]
pub struct HeldBy(pub LockInfo);

impl std::fmt::Display for HeldBy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "locked by {} ({}) since {}",
            self.0.who,
            self.0.operation,
            super::timestamp(self.0.created)
        )
    }
}

impl std::error::Error for HeldBy {}

/// Takes the lock, waiting while someone else holds it.
pub fn acquire(
    lock: Arc<dyn Lock>,
    request: &LockRequest,
    observer: &'static dyn Observer,
) -> Result<Held> {
    let started = Instant::now();
    let mut delay = Duration::from_millis(250);
    let mut last_holder: Option<String> = None;
    loop {
        let created = now();
        let info = LockInfo {
            lock_id: uuid::Uuid::new_v4().to_string(),
            who: request.who.clone(),
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            pid: std::process::id(),
            operation: request.operation.clone(),
            created,
            expires: created + request.ttl.as_secs() as i64,
        };
        match lock.try_acquire(&request.key, &info)? {
            Acquire::Acquired => {
                let held = Held::start(lock, request, info, observer);
                crate::failpoint::point("lock.acquired");
                return Ok(held);
            }
            Acquire::Held(holder) => {
                crate::failpoint::point("lock.waiting");
                if last_holder.as_deref() != Some(holder.lock_id.as_str()) {
                    observer.waiting(&holder);
                    last_holder = Some(holder.lock_id.clone());
                }
                let waited = started.elapsed();
                if let Some(timeout) = request.timeout
                    && waited >= timeout
                {
                    return Err(Error::failed(format!(
                            "the lock `{}` is held by {} (since {}, {}); gave up after {}s",
                            request.key,
                            holder.who,
                            super::relative(holder.created, now()),
                            holder.operation,
                            timeout.as_secs()
                        ))
                        .with_help(format!(
                            "wait for it to finish, raise --lock-timeout, or if it is stale (the process is gone) remove it with `deployer unlock {} {}`",
                            unlock_args(&request.key),
                            holder.lock_id
                        ))
                        .with_source(HeldBy(holder)));
                }
                // Exponential backoff with jitter, so many waiters do not poll in step.
                let jitter = 0.8 + f64::from(uuid::Uuid::new_v4().as_bytes()[0]) / 255.0 * 0.4;
                let mut sleep = delay.mul_f64(jitter);
                if let Some(timeout) = request.timeout {
                    sleep = sleep
                        .min(timeout.saturating_sub(waited))
                        .max(Duration::from_millis(10));
                }
                if crate::interrupt::sleep(sleep) {
                    return Err(Error::failed(
                        "interrupted while waiting for the lock; nothing was changed",
                    ));
                }
                delay = (delay * 3 / 2).min(Duration::from_secs(5));
            }
        }
    }
}

impl Held {
    fn start(
        lock: Arc<dyn Lock>,
        request: &LockRequest,
        info: LockInfo,
        observer: &'static dyn Observer,
    ) -> Held {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let lost = Arc::new(AtomicBool::new(false));
        let period = (request.ttl / 3).max(Duration::from_secs(1));
        let heartbeat = {
            let (lock, key, id, stop, lost, ttl) = (
                lock.clone(),
                request.key.clone(),
                info.lock_id.clone(),
                stop.clone(),
                lost.clone(),
                request.ttl,
            );
            let mut lapses = info.expires;
            std::thread::spawn(move || {
                let (flag, signal) = &*stop;
                let mut stopped = flag.lock().expect("heartbeat flag");
                let mut next = Instant::now() + period;
                // While renewals fail (DynamoDB unreachable, throttled): the
                // next retry's delay, and whether the lapse was said.
                let mut failing: Option<(Duration, bool)> = None;
                loop {
                    // Checked before every wait: the stop may come before the first one.
                    if *stopped {
                        return;
                    }
                    let left = next.saturating_duration_since(Instant::now());
                    if !left.is_zero() {
                        stopped = signal
                            .wait_timeout(stopped, left)
                            .expect("heartbeat flag")
                            .0;
                        continue;
                    }
                    next = Instant::now() + period;
                    // Not holding the flag during the call, so a release is never kept waiting.
                    drop(stopped);
                    let renewed = lock.renew(&key, &id, now() + ttl.as_secs() as i64);
                    crate::failpoint::point("lock.heartbeat");
                    stopped = flag.lock().expect("heartbeat flag");
                    match renewed {
                        Ok(()) => {
                            lapses = now() + ttl.as_secs() as i64;
                            if failing.take().is_some() {
                                observer.renewed();
                            }
                        }
                        Err(LockRefused::NotHolder(holder)) => {
                            lost.store(true, Ordering::SeqCst);
                            observer.lost(holder.as_ref());
                            return;
                        }
                        // An outage: said once, then retried sooner than a beat
                        // (from 1 s, doubling up to the beat), so a short one
                        // costs little of the lock's time to live.
                        Err(LockRefused::Backend(error)) => {
                            let (delay, said_lapse) = match failing {
                                None => {
                                    observer.renewal_failed(&error, lapses);
                                    (Duration::from_secs(1), false)
                                }
                                Some((delay, said)) => ((delay * 2).min(period), said),
                            };
                            let lapsed = now() >= lapses;
                            if lapsed && !said_lapse {
                                observer.lapsed(lapses);
                            }
                            failing = Some((delay, said_lapse || lapsed));
                            next = Instant::now() + delay;
                        }
                    }
                }
            })
        };
        Held {
            lock,
            key: request.key.clone(),
            info,
            stop,
            heartbeat: Some(heartbeat),
            lost,
            released: false,
        }
    }

    /// Whether the lock was lost while held.
    pub fn lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    fn stop_heartbeat(&mut self) {
        let (flag, signal) = &*self.stop;
        *flag.lock().expect("heartbeat flag") = true;
        signal.notify_all();
        if let Some(handle) = self.heartbeat.take() {
            let _ = handle.join();
        }
    }

    /// Releases the lock, reporting a failure (drop releases quietly).
    pub fn release(mut self) -> Result<()> {
        self.stop_heartbeat();
        self.released = true;
        match self.lock.release(&self.key, &self.info.lock_id) {
            Ok(()) => Ok(()),
            Err(LockRefused::NotHolder(_)) if self.lost() => Ok(()),
            Err(LockRefused::NotHolder(holder)) => Err(Error::failed(format!(
                "the lock `{}` was no longer ours when releasing it{}",
                self.key,
                holder
                    .map(|h| format!(" (now held by {})", h.who))
                    .unwrap_or_default()
            ))),
            Err(LockRefused::Backend(e)) => Err(Error::failed(format!(
                "the lock `{}` could not be released ({e}); it expires by itself within {}s, and nothing else needs doing",
                self.key,
                self.info.expires - self.info.created
            ))),
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if !self.released {
            self.stop_heartbeat();
            let _ = self.lock.release(&self.key, &self.info.lock_id);
        }
    }
}

/// `--stack S --environment E` from a lock key `stack:S:env:E`.
fn unlock_args(key: &str) -> String {
    match super::parse_lock_key(key) {
        Some((stack, env)) => format!("--stack {stack} --environment {env}"),
        None => key.to_string(),
    }
}
