//! deployer's own overhead around `pulumi up` (DESIGN.md §8): a full `apply`
//! against moto in server mode (DynamoDB lock, S3 records) with the Pulumi stand-in,
//! which does no work, minus the time the stand-in's own calls take.
//!
//!     cargo build --release --examples && cargo bench --bench apply
//!     cargo bench --bench apply -- --runs 21
//!
//! Reports medians: the whole apply, the stand-in's calls within it, and what
//! is left — deployer's lock, compile, records and unlock, with AWS round trips.

#![allow(clippy::print_stdout, clippy::print_stderr)] // a test program reports by printing

#[path = "../../tests/common/moto.rs"]
#[allow(dead_code)] // the tests' moto helpers, of which the benchmark uses some
mod moto;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn release_dir() -> PathBuf {
    std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target)
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn main() {
    let runs = std::env::args()
        .skip_while(|a| a != "--runs")
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(11usize);
    let deployer = release_dir().join("deployer");
    let standin = release_dir().join("examples").join("pulumi-standin");
    assert!(
        deployer.exists() && standin.exists(),
        "build first: cargo build --release --examples"
    );
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/deployment-repo"),
        &repo,
    );
    let endpoint = moto::moto().endpoint();
    let mut env = moto::aws_env(&endpoint);
    env.extend([
        (
            "DEPLOYER_HOME".to_string(),
            dir.path().join("home").display().to_string(),
        ),
        ("DEPLOYER_PULUMI".to_string(), standin.display().to_string()),
        ("PULUMI_CONFIG_PASSPHRASE".to_string(), "bench".to_string()),
        (
            "PULUMI_HOME".to_string(),
            dir.path().join("pulumi-home").display().to_string(),
        ),
        ("DEPLOYER_USER".to_string(), "bench@example.com".to_string()),
        ("NO_COLOR".to_string(), "1".to_string()),
    ]);
    let run = |args: &[&str], extra: &[(&str, String)]| {
        let out = Command::new(&deployer)
            .args(args)
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .envs(extra.iter().map(|(k, v)| (*k, v.as_str())))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "deployer {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(
        &[
            "init",
            "--bucket",
            &moto::unique("bench-state"),
            "--table",
            &moto::unique("bench-locks"),
            "--region",
            "us-east-1",
            "--create",
        ],
        &[],
    );
    let repo_arg = repo.to_str().unwrap();
    let times_file = dir.path().join("standin-times");
    let mut totals = Vec::new();
    let mut standin_times = Vec::new();
    for i in 0..=runs {
        let _ = std::fs::remove_file(&times_file);
        let version = format!("VERSION=v1.0.{i}");
        let started = Instant::now();
        run(
            &[
                "apply",
                "--repo",
                repo_arg,
                "-s",
                "notification-platform",
                "-e",
                "development",
                "--var",
                &version,
            ],
            &[("STANDIN_TIMES", times_file.display().to_string())],
        );
        let total = started.elapsed();
        let inside: u64 = std::fs::read_to_string(&times_file)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.parse::<u64>().ok())
            .sum();
        if i > 0 {
            // The first apply creates the Pulumi stack; every later one updates.
            totals.push(total);
            standin_times.push(Duration::from_micros(inside));
        }
    }
    let overheads: Vec<Duration> = totals
        .iter()
        .zip(&standin_times)
        .map(|(t, s)| t.saturating_sub(*s))
        .collect();
    println!("apply with a do-nothing Pulumi, against moto ({runs} runs, each an update):");
    println!(
        "  whole apply                         median {:>7.1} ms",
        ms(median(totals))
    );
    println!(
        "  of which the stand-in's 5 calls     median {:>7.1} ms",
        ms(median(standin_times))
    );
    println!(
        "  deployer's own overhead             median {:>7.1} ms  (lock, compile, records, unlock, AWS round trips)",
        ms(median(overheads))
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
