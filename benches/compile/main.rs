//! Benchmark of deployer on a synthetic repository (DESIGN.md §8).
//!
//!     cargo bench --bench compile                  # 1,000 services
//!     cargo bench --bench compile -- --services 200 --runs 9
//!
//! Runs the release binary as a user would and reports the median wall time of
//! several runs (after one warm-up) for each scenario, plus the ratio of a cache
//! hit to a cold compile where that applies.

mod generate;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

struct Args {
    services: usize,
    runs: usize,
}

fn args() -> Args {
    let mut args = Args {
        services: 1000,
        runs: 5,
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
            "--runs" => args.runs = it.next().and_then(|v| v.parse().ok()).expect("--runs N"),
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

fn time(runs: usize, mut f: impl FnMut()) -> Duration {
    f(); // warm-up: file system cache, lazy statics
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn run(bin: &Path, args: &[&str]) {
    let out = Command::new(bin).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "deployer {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn main() {
    let args = args();
    let bin = deployer();
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let files = generate::generate(&repo, args.services);
    let repo_arg = repo.to_str().unwrap();
    println!(
        "repository: {} services, {files} files, {} stacks",
        args.services,
        args.services.div_ceil(generate::SERVICES_PER_STACK)
    );

    let validate = time(args.runs, || {
        run(&bin, &["validate", "--all", "--repo", repo_arg])
    });
    println!(
        "validate --all (3 environments each)     median {:>8.1} ms",
        ms(validate)
    );
    let one = time(args.runs, || {
        run(
            &bin,
            &["validate", "--stack", "stack-000", "--repo", repo_arg],
        )
    });
    println!(
        "validate --stack (one stack of 20)       median {:>8.1} ms",
        ms(one)
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
