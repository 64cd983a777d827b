//! Benchmark of deployer on a synthetic repository (DESIGN.md §8).
//!
//!     cargo bench --bench compile                  # 1,000 services, 50 stacks
//!     cargo bench --bench compile -- --services 10000 --stacks 200
//!     cargo bench --bench compile -- --services 200 --runs 9
//!     cargo bench --bench compile -- --generate /tmp/repo   # only write the repository
//!
//! Runs the release binary as a user would and reports the median wall time of
//! several runs (after one warm-up) for each scenario, as a ratio to the floor
//! measured in the same run (reading every file of the repository once, as
//! `find … | xargs cat` does), and the peak memory of one run of each (GNU
//! time's maximum resident set size). What a cold run needs first (its
//! output or cache removed, the last run's writes flushed) is done before
//! the clock starts.

#![allow(clippy::print_stdout, clippy::print_stderr)] // a test program reports by printing

mod generate;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

struct Args {
    services: usize,
    /// How many stacks the services are spread over (default: 20 services a stack).
    stacks: Option<usize>,
    runs: usize,
    /// Only write the repository into this folder (for profiling by hand).
    generate: Option<std::path::PathBuf>,
}

fn args() -> Args {
    let mut args = Args {
        services: 1000,
        stacks: None,
        runs: 5,
        generate: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--services" => {
                args.services = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--services N")
            }
            "--stacks" => {
                args.stacks = Some(it.next().and_then(|v| v.parse().ok()).expect("--stacks N"))
            }
            "--runs" => args.runs = it.next().and_then(|v| v.parse().ok()).expect("--runs N"),
            "--generate" => args.generate = Some(it.next().expect("--generate DIR").into()),
            _ => {} // cargo bench passes --bench
        }
    }
    args
}

fn deployer() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    let bin = dir.join("deployer");
    assert!(
        bin.exists(),
        "build the binary first: cargo build --release"
    );
    bin
}

fn time(runs: usize, f: impl FnMut()) -> Duration {
    time_prepared(runs, || {}, f)
}

/// Like [`time`], with `prepare` run before each run and not timed: what
/// is measured is the command, not removing what the last run wrote.
fn time_prepared(runs: usize, mut prepare: impl FnMut(), mut f: impl FnMut()) -> Duration {
    prepare();
    f(); // warm-up: file system cache, lazy statics
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            prepare();
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

/// The output of the last run removed, and its writes flushed to disk, so
/// that the next run does not share the disk with the last one's write-back
/// (600 programs are 500 MB at 10,000 services).
fn remove_flushed(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    let _ = Command::new("sync").status();
}

fn run(bin: &Path, args: &[&str]) {
    let out = Command::new(bin).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "deployer {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Peak memory of one run, in MB, where GNU time is installed.
fn peak_mb(bin: &Path, args: &[&str]) -> Option<f64> {
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .arg(bin)
        .args(args)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stderr);
    let kb: f64 = text.lines().last()?.trim().parse().ok()?;
    Some(kb / 1024.0)
}

fn report(what: &str, median: Duration, floor: Duration, peak: Option<f64>) {
    let peak = peak.map_or(String::new(), |mb| format!("  peak {mb:>5.0} MB"));
    println!(
        "{what:<44} median {:>8.1} ms  {:>5.2}× floor{peak}",
        ms(median),
        median.as_secs_f64() / floor.as_secs_f64()
    );
}

fn main() {
    let args = args();
    let per_stack = args.stacks.map_or(generate::SERVICES_PER_STACK, |n| {
        args.services.div_ceil(n.max(1))
    });
    if let Some(dir) = &args.generate {
        let files = generate::generate_in_stacks_of(dir, args.services, per_stack);
        println!(
            "wrote {files} files for {} services into {}",
            args.services,
            dir.display()
        );
        return;
    }
    let bin = deployer();
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let files = generate::generate_in_stacks_of(&repo, args.services, per_stack);
    let repo_arg = repo.to_str().unwrap();
    println!(
        "repository: {} services, {files} files, {} stacks",
        args.services,
        args.services.div_ceil(per_stack)
    );
    // The floor: every file read once, by the fastest tools there are.
    let floor = time(args.runs, || {
        let ok = Command::new("sh")
            .arg("-c")
            .arg("find \"$1\" -type f -print0 | xargs -0 cat > /dev/null")
            .arg("sh")
            .arg(&repo)
            .status()
            .unwrap()
            .success();
        assert!(ok, "find | xargs cat failed");
    });
    println!(
        "floor: find | xargs cat of every file      median {:>8.1} ms",
        ms(floor)
    );

    let validate_all = ["validate", "--all", "--repo", repo_arg];
    let validate = time(args.runs, || run(&bin, &validate_all));
    report(
        "validate --all (3 environments each)",
        validate,
        floor,
        peak_mb(&bin, &validate_all),
    );
    let one = time(args.runs, || {
        run(
            &bin,
            &["validate", "--stack", "stack-000", "--repo", repo_arg],
        )
    });
    println!(
        "validate --stack (one stack)             median {:>8.1} ms",
        ms(one)
    );

    let out = dir.path().join("out");
    let out_arg = out.to_str().unwrap();
    let compile = [
        "compile",
        "--all",
        "--repo",
        repo_arg,
        "--out",
        out_arg,
        "--var",
        "VERSION=v1.0.0",
    ];
    let cold = time_prepared(args.runs, || remove_flushed(&out), || run(&bin, &compile));
    let _ = std::fs::remove_dir_all(&out);
    report("compile --all, cold", cold, floor, peak_mb(&bin, &compile));
    let hit = time(args.runs, || run(&bin, &compile));
    report(
        "compile --all, cache hit",
        hit,
        floor,
        peak_mb(&bin, &compile),
    );
    let one = [
        "compile",
        "--stack",
        "stack-000",
        "--repo",
        repo_arg,
        "--out",
        out_arg,
        "--var",
        "VERSION=v1.0.0",
    ];
    let one_cold = time_prepared(
        args.runs,
        || remove_flushed(&out.join("stack-000")),
        || run(&bin, &one),
    );
    println!(
        "compile --stack (one stack), cold        median {:>8.1} ms",
        ms(one_cold)
    );
    affected(&bin, &repo, args.runs, cold);
}

/// `affected --base HEAD` against the working tree after three kinds of change:
/// one that reaches nothing, one stack's file, and a preset every stack uses.
fn affected(bin: &Path, repo: &Path, runs: usize, compile_cold: Duration) {
    let git = |args: &[&str]| {
        let ok = Command::new("git")
            // No automatic gc in the background: it would race the `gc` below.
            .args([
                "-c",
                "user.email=b@example.com",
                "-c",
                "user.name=b",
                "-c",
                "gc.auto=0",
            ])
            .args(args)
            .current_dir(repo)
            .output()
            .unwrap()
            .status
            .success();
        assert!(ok, "git {args:?}");
    };
    git(&["init", "-q", "-b", "main"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "base"]);
    // Packed, as a clone is (CI checks out a clone): 2,278 loose objects
    // would make reading the base from git 0.2 s slower than any clone.
    git(&["gc", "-q"]);
    let repo_arg = repo.to_str().unwrap();
    let affected = ["affected", "--base", "main", "--repo", repo_arg];
    let count = || {
        let out = Command::new(bin)
            .args(affected)
            .args(["--output", "json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        json.as_array().unwrap().len()
    };
    let edit = |rel: &str, from: &str, to: &str| {
        let path = repo.join(rel);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{rel} has no `{from}`");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    };
    std::fs::write(repo.join("README.md"), "# changed\n").unwrap();
    let none = time(runs, || run(bin, &affected));
    println!(
        "affected, a README changed ({} listed)     median {:>8.1} ms",
        count(),
        ms(none)
    );
    edit("stacks/stack-000/stack.yaml", "owner:", "# edited\nowner:");
    edit(
        "stacks/stack-001/stack.yaml",
        "cost-center: cc-0001",
        "cost-center: cc-9001",
    );
    let one = time(runs, || run(bin, &affected));
    println!(
        "affected, one stack's file ({} listed)     median {:>8.1} ms",
        count(),
        ms(one)
    );
    git(&["checkout", "-q", "--", "."]);
    edit(
        "shared/presets/worker.yaml",
        "stop_timeout_seconds: 120",
        "stop_timeout_seconds: 90",
    );
    let cache = repo.join(".deployer/cache");
    let cold = time_prepared(
        runs,
        || {
            let _ = std::fs::remove_dir_all(&cache);
        },
        || run(bin, &affected),
    );
    println!(
        "affected, a shared preset ({} listed)    median {:>8.1} ms  (nothing kept; {:.2}× compile --all cold)",
        count(),
        ms(cold),
        cold.as_secs_f64() / compile_cold.as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&cache);
    if let Some(mb) = peak_mb(bin, &affected) {
        println!("affected, a shared preset, peak memory      {mb:>5.0} MB");
    }
    let kept = time(runs, || run(bin, &affected));
    println!(
        "affected, a shared preset, base kept       median {:>8.1} ms",
        ms(kept)
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
