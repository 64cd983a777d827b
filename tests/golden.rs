//! The compiled programs of the example repository, compared byte for byte with
//! `golden/`. Regenerate on purpose only:
//!
//!     DEPLOYER_UPDATE_GOLDEN=1 cargo test --test offline golden
//!
//! Every golden program must also pass the provider checker
//! (`../shared/pulumi-aws/check_program.py`, or its copy in tests/support).

use crate::common::*;
use std::path::Path;

const ENVIRONMENTS: [&str; 3] = ["development", "staging", "production"];

fn compile(repo: &TestRepo, out: &Path) {
    let run = repo.run(&[
        "compile",
        "--all",
        "--out",
        out.to_str().unwrap(),
        "--var",
        "VERSION=v1.0.0",
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
}

#[test]
fn example_programs_match_golden() {
    let repo = TestRepo::example();
    let out = tempfile::tempdir().unwrap();
    compile(&repo, out.path());
    let update = std::env::var_os("DEPLOYER_UPDATE_GOLDEN").is_some();
    for env in ENVIRONMENTS {
        for file in ["Pulumi.yaml".to_string(), format!("Pulumi.{env}.yaml")] {
            let fresh =
                std::fs::read_to_string(out.path().join(STACK).join(env).join(&file)).unwrap();
            let golden_path = crate_dir().join("golden").join(STACK).join(env).join(&file);
            if update {
                std::fs::create_dir_all(golden_path.parent().unwrap()).unwrap();
                std::fs::write(&golden_path, &fresh).unwrap();
                continue;
            }
            let golden = std::fs::read_to_string(&golden_path).unwrap_or_else(|_| {
                panic!(
                    "{} is missing: DEPLOYER_UPDATE_GOLDEN=1 cargo test --test offline golden",
                    golden_path.display()
                )
            });
            if fresh != golden {
                let diff = similar::TextDiff::from_lines(&golden, &fresh)
                    .unified_diff()
                    .header("golden", "compiled")
                    .to_string();
                panic!(
                    "{STACK}/{env}/{file} differs from golden/ (regenerate on purpose with DEPLOYER_UPDATE_GOLDEN=1):\n{diff}"
                );
            }
        }
    }
}

#[test]
fn golden_programs_pass_the_provider_checker() {
    let (checker, index) = provider_checker();
    assert!(
        checker.exists(),
        "the provider checker is missing at {}",
        checker.display()
    );
    let programs: Vec<String> = ENVIRONMENTS
        .iter()
        .map(|env| {
            crate_dir()
                .join("golden")
                .join(STACK)
                .join(env)
                .join("Pulumi.yaml")
                .display()
                .to_string()
        })
        .collect();
    let out = std::process::Command::new("python3")
        .arg(&checker)
        .arg(&index)
        .args(&programs)
        .output()
        .expect("python3");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "check_program.py found problems:\n{text}"
    );
    assert_contains(&text, &["3 programs checked, 0 problems"]);
}

#[test]
fn output_does_not_depend_on_file_system_order() {
    // Copy the example with every folder's entries created in reverse order.
    fn copy_reversed(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        let mut entries: Vec<_> = std::fs::read_dir(from)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        entries.reverse();
        for path in entries {
            let target = to.join(path.file_name().unwrap());
            if path.is_dir() {
                copy_reversed(&path, &target)
            } else {
                std::fs::copy(&path, &target).unwrap();
            }
        }
    }
    let reversed = tempfile::tempdir().unwrap();
    copy_reversed(
        &crate_dir().join("examples/deployment-repo"),
        reversed.path(),
    );
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    compile(&TestRepo::example(), a.path());
    let run = deployer(
        &[
            "compile",
            "--all",
            "--out",
            b.path().to_str().unwrap(),
            "--var",
            "VERSION=v1.0.0",
            "--repo",
            reversed.path().to_str().unwrap(),
        ],
        reversed.path(),
    );
    assert_eq!(run.code, 0, "{}", run.all());
    for env in ENVIRONMENTS {
        let dir = |root: &Path| root.join(STACK).join(env);
        for file in ["Pulumi.yaml", "manifest.json"] {
            assert_eq!(
                std::fs::read(dir(a.path()).join(file)).unwrap(),
                std::fs::read(dir(b.path()).join(file)).unwrap(),
                "{env}/{file}"
            );
        }
    }
}
