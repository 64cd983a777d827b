//! Structure-aware fuzzing of deployer's front end: damaged copies of the
//! bundled example (byte flips, type swaps, huge strings, deep nesting, alias
//! bombs, invalid UTF-8, BOMs and NULs, symlinks and FIFOs, template abuse,
//! truncated and deleted files, many files, and mixes of these) through
//! `validate`, `show --resolved`, `compile` and `diff`, each run bounded in
//! time and watched for panics (exit 101), aborts (a signal), hangs and
//! memory.
//!
//! ```text
//! cargo run --release --example fuzz -- --cases 10000 --seed 1 \
//!     --deployer target/release/deployer
//! ```
//!
//! Prints a JSON report; exits 1 when any run panicked, aborted, hung or
//! went over the memory bound. The test suite runs a small seeded batch
//! (`tests/validate.rs`, `fuzzing_finds_no_crash_hang_or_blowup`).

#![allow(clippy::print_stdout, clippy::print_stderr)] // a test program reports by printing

mod mutate;

use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The bounds every run must keep (issue 14: 512 MB, 10 s on the example).
const MEMORY_LIMIT_MB: i64 = 512;
const TIME_LIMIT_SECONDS: u64 = 10;
/// Examples kept in the report per kind of problem (all are counted).
const FAILURES_KEPT_PER_KIND: usize = 10;

struct Options {
    /// Per run; a debug build (the test suite's) is several times slower.
    timeout: Duration,
    cases: u64,
    seed: u64,
    /// Cases run at once.
    jobs: usize,
    /// The first case's number (a case is the same damage at any run).
    first: u64,
    deployer: PathBuf,
    example: PathBuf,
}

fn options() -> Options {
    let mut options = Options {
        timeout: Duration::from_secs(TIME_LIMIT_SECONDS),
        cases: 100,
        seed: 1,
        jobs: 1,
        first: 0,
        deployer: PathBuf::from("target/debug/deployer"),
        example: PathBuf::from("examples/deployment-repo"),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        match flag.as_str() {
            "--cases" => options.cases = value.parse().unwrap_or_else(|_| usage("--cases N")),
            "--seed" => options.seed = value.parse().unwrap_or_else(|_| usage("--seed N")),
            "--jobs" => options.jobs = value.parse().unwrap_or_else(|_| usage("--jobs N")),
            "--first" => options.first = value.parse().unwrap_or_else(|_| usage("--first N")),
            "--deployer" => options.deployer = value.into(),
            "--timeout" => {
                options.timeout = Duration::from_secs(
                    value.parse().unwrap_or_else(|_| usage("--timeout SECONDS")),
                )
            }
            "--example" => options.example = value.into(),
            _ => usage(&format!("unknown flag {flag}")),
        }
    }
    options
}

fn usage(problem: &str) -> ! {
    eprintln!(
        "fuzz: {problem}\nusage: fuzz [--cases N] [--first N] [--seed N] [--jobs N] [--deployer PATH] [--example DIR] [--timeout SECONDS]"
    );
    std::process::exit(2);
}

/// How one run of deployer ended.
struct Outcome {
    code: Option<i32>,
    signal: Option<i32>,
    hung: bool,
    max_rss_mb: i64,
    seconds: f64,
    stderr_tail: String,
}

impl Outcome {
    fn problem(&self) -> Option<&'static str> {
        if self.hung {
            Some("hang")
        } else if self.signal.is_some() {
            Some("abort")
        } else if self.code == Some(101) {
            Some("panic")
        } else if self.max_rss_mb > MEMORY_LIMIT_MB {
            Some("memory")
        } else {
            None
        }
    }
}

/// Runs deployer through a fresh copy of this harness (`--measure`), which
/// runs it with a watchdog and reports its peak memory from `wait4`.
///
/// Why the extra process: `ru_maxrss` survives `execve` (Linux keeps the
/// larger of the old and new address space's high-water mark), so a child
/// forked straight from the harness reports the harness's own size once the
/// harness has grown — a mutation that writes a 450 MB file made every later
/// run "use" 1.3 GB. Forked from a just-started measurer, the inherited figure
/// is a few MB.
fn run(deployer: &Path, args: &[&str], dir: &Path, timeout: Duration) -> Outcome {
    let stderr_path = dir.join(".fuzz-stderr");
    let stderr = std::fs::File::create(&stderr_path).expect("stderr file");
    let started = Instant::now();
    let measured = Command::new(std::env::current_exe().expect("the harness's own path"))
        .arg("--measure")
        .arg(timeout.as_millis().to_string())
        .arg(deployer)
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("DEPLOYER_USER", "fuzz@example.com")
        .env("HOME", dir)
        .stdin(Stdio::null())
        .stderr(stderr)
        .output()
        .expect("the measurer starts");
    let report: serde_json::Value = serde_json::from_slice(&measured.stdout)
        .unwrap_or_else(|_| panic!("the measurer said {:?}", measured));
    let text = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    let tail: String = text
        .lines()
        .rev()
        .take(6)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
        .join("\n");
    Outcome {
        code: report["code"].as_i64().map(|c| c as i32),
        signal: report["signal"].as_i64().map(|s| s as i32),
        hung: report["hung"].as_bool().unwrap_or(false),
        max_rss_mb: report["max_rss_kb"].as_i64().unwrap_or(0) / 1024,
        seconds: started.elapsed().as_secs_f64(),
        stderr_tail: tail.chars().take(600).collect(),
    }
}

/// `fuzz --measure MILLISECONDS PROGRAM ARGS…`: runs PROGRAM (stdout
/// discarded, stderr inherited), kills it at the deadline, and prints how it
/// ended and its peak resident memory as one JSON object.
fn measure(mut args: impl Iterator<Item = String>) -> ! {
    let millis: u64 = args
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or_else(|| usage("--measure MILLISECONDS PROGRAM ARGS…"));
    let program = args
        .next()
        .unwrap_or_else(|| usage("--measure needs a program"));
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("deployer starts");
    let pid = child.id() as libc::pid_t;
    let done = Arc::new(AtomicBool::new(false));
    let hung = Arc::new(AtomicBool::new(false));
    let watchdog = {
        let (done, hung) = (done.clone(), hung.clone());
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_millis(millis);
            while !done.load(Ordering::SeqCst) {
                if Instant::now() >= deadline {
                    hung.store(true, Ordering::SeqCst);
                    // SAFETY: the child is not reaped until wait4 below returns.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our child, status and usage are valid for writes.
    unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    done.store(true, Ordering::SeqCst);
    watchdog.join().expect("watchdog");
    std::mem::forget(child); // reaped by wait4
    let report = json!({
        "code": libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        "signal": libc::WIFSIGNALED(status).then(|| libc::WTERMSIG(status)),
        "hung": hung.load(Ordering::SeqCst),
        "max_rss_kb": usage.ru_maxrss,
    });
    println!("{report}");
    std::process::exit(0);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn git(dir: &Path, args: &[&str]) {
    let ok = Command::new("git")
        .args([
            "-c",
            "user.email=fuzz@example.com",
            "-c",
            "user.name=fuzz",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "git {args:?} failed in {}", dir.display());
}

fn main() {
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().is_some_and(|flag| flag == "--measure") {
        measure(args.skip(1));
    }
    let options = options();
    let deployer = std::fs::canonicalize(&options.deployer)
        .unwrap_or_else(|_| usage(&format!("no deployer at {}", options.deployer.display())));
    let pristine = tempfile::tempdir().unwrap();
    copy_dir(&options.example, pristine.path());
    // Two stacks: stacks compile side by side on threads of their own, and a
    // runaway render must be bounded on each (issue 27).
    copy_dir(
        &pristine.path().join("stacks/notification-platform"),
        &pristine.path().join("stacks/second-platform"),
    );
    git(pristine.path(), &["init", "-q", "-b", "main"]);
    git(pristine.path(), &["add", "-A"]);
    git(pristine.path(), &["commit", "-q", "-m", "example"]);
    let commands: [(&str, &[&str]); 4] = [
        ("validate", &["validate", "--all", "--repo", "."]),
        (
            "show",
            &[
                "show",
                "--resolved",
                "--stack",
                "notification-platform",
                "--repo",
                ".",
                "--var",
                "VERSION=v1.0.0",
            ],
        ),
        (
            "compile",
            &[
                "compile",
                "--all",
                "--out",
                ".fuzz-out",
                "--repo",
                ".",
                "--var",
                "VERSION=v1.0.0",
            ],
        ),
        (
            "diff",
            &[
                "diff",
                "--stack",
                "notification-platform",
                "--against",
                "HEAD",
                "--repo",
                ".",
                "--var",
                "VERSION=v1.0.0",
            ],
        ),
    ];
    let case = |case: u64| run_case(&options, &deployer, pristine.path(), &commands, case);
    let mut exit_codes: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_mutation: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut problems: BTreeMap<&'static str, u64> = BTreeMap::new();
    // A problem seen while other cases ran beside it is run again alone: one
    // that does not recur (a run slowed past the limit by a busy machine) is
    // counted apart, never dropped.
    let mut not_repeated: BTreeMap<&'static str, u64> = BTreeMap::new();
    // Every failure is counted; the first few of each kind are kept whole, so a
    // rare kind is never crowded out of the report by a common one.
    let mut failures: BTreeMap<&'static str, Vec<serde_json::Value>> = BTreeMap::new();
    let mut peak_by_command: BTreeMap<&str, i64> = BTreeMap::new();
    let (mut peak_mb, mut slowest, mut runs, mut done) = (0i64, 0f64, 0u64, 0u64);
    let started = Instant::now();
    let next = std::sync::atomic::AtomicU64::new(0);
    let (sender, results) = std::sync::mpsc::channel::<Case>();
    // (case, command, problem, what to report): each run that had a problem.
    let mut suspects: Vec<(u64, &'static str, &'static str, serde_json::Value)> = Vec::new();
    std::thread::scope(|scope| {
        for _ in 0..options.jobs.max(1) {
            let sender = sender.clone();
            let (next, case) = (&next, &case);
            scope.spawn(move || {
                loop {
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    if n >= options.cases {
                        break;
                    }
                    sender
                        .send(case(options.first + n))
                        .expect("the collector runs");
                }
            });
        }
        drop(sender);
        for result in results {
            done += 1;
            for (kind, _) in &result.mutations {
                *by_mutation.entry(kind).or_default() += 1;
            }
            for (name, outcome) in &result.outcomes {
                runs += 1;
                peak_mb = peak_mb.max(outcome.max_rss_mb);
                let peak = peak_by_command.entry(name).or_default();
                *peak = (*peak).max(outcome.max_rss_mb);
                slowest = slowest.max(outcome.seconds);
                let key = match (outcome.code, outcome.signal, outcome.hung) {
                    (_, _, true) => "hang".to_string(),
                    (Some(code), _, _) => code.to_string(),
                    (None, Some(signal), _) => format!("signal {signal}"),
                    (None, None, _) => "unknown".to_string(),
                };
                *exit_codes.entry(key).or_default() += 1;
                let Some(problem) = outcome.problem() else {
                    continue;
                };
                suspects.push((result.case, name, problem, json!({
                    "case": result.case,
                    "seed": result.seed,
                    "command": name,
                    "problem": problem,
                    "mutations": result.mutations.iter().map(|(k, d)| format!("{k}: {d}")).collect::<Vec<_>>(),
                    "max_rss_mb": outcome.max_rss_mb,
                    "seconds": outcome.seconds,
                    "stderr": outcome.stderr_tail,
                })));
            }
            if done % 250 == 0 {
                eprintln!(
                    "fuzz: {done} of {} cases, {} s, {} runs to look at again",
                    options.cases,
                    started.elapsed().as_secs(),
                    suspects.len()
                );
            }
        }
    });
    // With cases side by side, each problem is run again once the others are
    // done, alone on the machine.
    for (number, command, problem, mut suspect) in suspects {
        let again = if options.jobs > 1 {
            case(number)
                .outcomes
                .into_iter()
                .find(|(name, _)| *name == command)
                .and_then(|(_, o)| o.problem())
        } else {
            Some(problem)
        };
        match again {
            Some(_) => *problems.entry(problem).or_default() += 1,
            None => *not_repeated.entry(problem).or_default() += 1,
        }
        suspect["repeated_alone"] = json!(again.is_some());
        let kept = failures.entry(problem).or_default();
        if kept.len() < FAILURES_KEPT_PER_KIND {
            kept.push(suspect);
        }
    }
    let report = json!({
        "cases": options.cases,
        "seed": options.seed,
        "timeout_seconds": options.timeout.as_secs(),
        "runs": runs,
        "seconds": started.elapsed().as_secs(),
        "exit_codes": exit_codes,
        "panics": problems.get("panic").copied().unwrap_or(0),
        "aborts": problems.get("abort").copied().unwrap_or(0),
        "hangs": problems.get("hang").copied().unwrap_or(0),
        "over_memory": problems.get("memory").copied().unwrap_or(0),
        "not_repeated_alone": not_repeated,
        "peak_rss_mb": peak_mb,
        "peak_rss_mb_by_command": peak_by_command,
        "slowest_seconds": (slowest * 100.0).round() / 100.0,
        "mutations": by_mutation,
        "failures": failures,
    });
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
    if !problems.is_empty() {
        std::process::exit(1);
    }
}

/// One damaged copy of the example and how each command ended on it.
struct Case {
    case: u64,
    seed: u64,
    mutations: Vec<(&'static str, String)>,
    outcomes: Vec<(&'static str, Outcome)>,
}

/// Damages a fresh copy of the example as case `case` of the seed says (the
/// same damage every time) and runs every command on it.
fn run_case(
    options: &Options,
    deployer: &Path,
    pristine: &Path,
    commands: &[(&'static str, &[&str])],
    case: u64,
) -> Case {
    let seed = options.seed.wrapping_mul(1_000_003).wrapping_add(case);
    let mut rng = fastrand::Rng::with_seed(seed);
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("repo");
    copy_dir(pristine, &dir);
    let mutations = mutate::mutate(&mut rng, &dir);
    let outcomes = commands
        .iter()
        .map(|(name, args)| (*name, run(deployer, args, &dir, options.timeout)))
        .collect();
    // A FIFO or a read-only folder must not stop the clean-up.
    let _ = Command::new("chmod")
        .args(["-R", "u+rwx"])
        .arg(scratch.path())
        .status();
    Case {
        case,
        seed,
        mutations,
        outcomes,
    }
}
