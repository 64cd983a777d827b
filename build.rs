//! Records the git commit (and whether the sources match it) and the target
//! deployer is built for, for `deployer version` and `affected`'s cache.
use std::process::Command;

fn main() {
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=DEPLOYER_GIT_COMMIT={commit}");
    // Whether the sources differ from that commit: such a build cannot be told
    // apart from another by its commit (`affected` caches by build).
    let clean = Command::new("git")
        .args([
            "status",
            "--porcelain",
            "--untracked-files=no",
            "--",
            "src",
            "Cargo.toml",
            "Cargo.lock",
            "build.rs",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .is_some_and(|o| o.stdout.is_empty());
    println!("cargo:rustc-env=DEPLOYER_GIT_CLEAN={clean}");
    println!("cargo:rerun-if-changed=src");
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".into());
    println!("cargo:rustc-env=DEPLOYER_TARGET={target}");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
}
