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
    assert_eq!(names.len(), 8);
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
    assert!(json["build_target"].as_str().unwrap().contains('-'));
}

/// `plan --targets` refuses what is not a list of targets before anything
/// else, saying what it expects; and it is a group or a target, not both.
#[test]
fn plan_targets_must_be_a_list_of_targets() {
    let repo = TestRepo::example();
    let targets = repo.file("targets.json");
    for (text, expected) in [
        (r#"{"stack": "a"}"#, "is not a list of targets"),
        ("[]", "lists no target"),
        ("not json", "is not a list of targets"),
    ] {
        repo.write("targets.json", text);
        let run = repo.run(&["plan", "--targets", targets.to_str().unwrap()]);
        assert_eq!(run.code, 2, "{text}: {}", run.all());
        assert_contains(&run.stderr, &[expected]);
    }
    let run = repo.run(&[
        "plan",
        "--targets",
        targets.to_str().unwrap(),
        "--stack",
        STACK,
    ]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(&run.stderr, &["cannot be used with"]);
}

/// `import copilot` on a Copilot workspace the team wrote from Copilot's
/// manifest reference (tests/support/copilot: a web, a backend and a worker
/// service, two environments, overrides, an addon): the repository it writes
/// validates and compiles, and the report accounts for every key — mapped,
/// not supported with what to do, or unknown at its line.
#[test]
fn a_copilot_workspace_becomes_a_repository_that_validates_with_every_key_accounted_for() {
    let out = tempfile::tempdir().unwrap();
    let repo_dir = out.path().join("repo");
    let workspace = crate_dir().join("tests/support/copilot");
    let args = [
        "import",
        "copilot",
        workspace.to_str().unwrap(),
        "--stack",
        "shop",
        "--out",
        repo_dir.to_str().unwrap(),
        "--env-account",
        "test=111111111111",
        "--env-account",
        "prod=210987654321",
        "--output",
        "json",
    ];
    let run = deployer(&args, out.path());
    assert_eq!(run.code, 0, "{}", run.all());
    let report = run.json();
    assert_eq!(report["application"], "shop");
    let entries = report["entries"].as_array().unwrap();
    let entry = |file: &str, key: &str| {
        entries
            .iter()
            .find(|e| e["file"].as_str().unwrap().ends_with(file) && e["key"] == key)
            .unwrap_or_else(|| panic!("no entry for {file} {key}: {report:#}"))
    };
    let typo = entry("frontend/manifest.yml", "healthchek");
    assert_eq!(typo["outcome"], "unknown");
    assert_eq!(typo["line"], 41);
    assert_eq!(
        entry("frontend/manifest.yml", "sidecars")["outcome"],
        "unsupported"
    );
    // A plain name is an SSM parameter's (Copilot's manifest reference).
    assert_eq!(
        entry("frontend/manifest.yml", "secrets.GITHUB_TOKEN")["detail"],
        "services/frontend/components/app/microservice.yaml: secrets.GITHUB_TOKEN.parameter"
    );
    assert_contains(
        entry("api/manifest.yml", "secrets.WEBHOOK_KEY")["detail"]
            .as_str()
            .unwrap(),
        &["a CloudFormation export", "list-exports"],
    );
    assert_eq!(
        entry("frontend/manifest.yml", "environments.prod.count.range")["detail"],
        "services/frontend/components/app/infra.yaml: autoscaling.min, autoscaling.max"
    );
    assert_eq!(
        entry(
            "frontend/manifest.yml",
            "environments.prod.count.response_time"
        )["detail"],
        "services/frontend/components/app/infra.yaml: autoscaling.response_time_ms"
    );
    assert_eq!(
        entry("frontend/manifest.yml", "http.stickiness")["detail"],
        "services/frontend/components/app/microservice.yaml: expose.stickiness"
    );
    // Routed as Copilot's rule routes (the path and what is below it), and
    // drained as Copilot's target group is (60 s unless the manifest says).
    let micro = |service: &str| {
        deployer::load::yaml::to_json(
            &std::fs::read_to_string(repo_dir.join(format!(
                "stacks/shop/services/{service}/components/app/microservice.yaml"
            )))
            .unwrap(),
        )
        .unwrap()
    };
    let frontend = micro("frontend");
    assert_eq!(frontend["expose"]["paths"], serde_json::json!(["/*"]));
    assert_eq!(frontend["expose"]["stickiness"], true);
    assert_eq!(
        frontend["expose"]["allowed_source_ips"],
        serde_json::json!(["10.24.34.0/23"])
    );
    assert_eq!(frontend["expose"]["deregistration_delay_seconds"], 60);
    let api_service = micro("api");
    assert_eq!(
        api_service["expose"]["paths"],
        serde_json::json!(["/api", "/api/*"])
    );
    // Copilot's container health check, its defaults where it says nothing.
    assert_eq!(
        api_service["container_health_check"],
        serde_json::json!({
            "command": ["CMD-SHELL", "curl -f http://localhost:9000/api/health || exit 1"],
            "interval_seconds": 15, "timeout_seconds": 5, "retries": 3
        })
    );
    assert_eq!(
        entry("frontend/manifest.yml", "exec")["detail"],
        "services/frontend/components/app/microservice.yaml: exec"
    );
    // Fargate Spot: every task (`count.spot`), or those beyond the first
    // `spot_from` less one (`count.range.spot_from`).
    assert_eq!(
        entry("api/manifest.yml", "count.range.spot_from")["detail"],
        "services/api/components/app/infra.yaml: capacity: spot, on_demand_base (spot_from less one)"
    );
    assert_eq!(
        entry("api/manifest.yml", "environments.prod.count.spot")["detail"],
        "services/api/components/app/infra.yaml: replicas, capacity: spot"
    );
    assert_eq!(
        entry("frontend/manifest.yml", "http.healthcheck.grace_period")["detail"],
        "services/frontend/components/app/microservice.yaml: health_check.grace_period_seconds"
    );
    assert_eq!(
        entry("worker/manifest.yml", "subscribe.queue.dead_letter")["detail"],
        "services/worker/components/queue/sqs.yaml: dead_letter.max_receives"
    );
    assert_eq!(
        entry("worker/manifest.yml", "subscribe.topics.orders")["outcome"],
        "unsupported"
    );
    assert_eq!(
        entry("nightly/manifest.yml", "type")["outcome"],
        "unsupported"
    );
    assert_contains(
        entry("frontend/addons/db.yml", "Resources.frontenddb")["detail"]
            .as_str()
            .unwrap(),
        &["services/frontend/components/db/rds.yaml", "DB_RDS_HOST"],
    );
    assert_eq!(
        entry("frontend/addons/db.yml", "Resources.frontenddbSecret")["outcome"],
        "unsupported"
    );
    assert_eq!(
        entry("api/addons/aurora.yml", "Resources.apiclusterDBCluster")["outcome"],
        "unsupported"
    );
    assert_eq!(
        entry("environments/prod/manifest.yml", "http.public.certificates")["detail"],
        "stack.yaml: environments.prod.network.certificate"
    );
    // Every top-level key of every manifest has an entry.
    for manifest in [
        "frontend",
        "api",
        "worker",
        "environments/test",
        "environments/prod",
    ] {
        let path = workspace
            .join("copilot")
            .join(manifest)
            .join("manifest.yml");
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            let Some((key, _)) = line.split_once(':') else {
                continue;
            };
            if line.starts_with(' ') || line.starts_with('#') || key.is_empty() {
                continue;
            }
            assert!(
                entries.iter().any(|e| e["file"]
                    .as_str()
                    .unwrap()
                    .ends_with(&format!("{manifest}/manifest.yml"))
                    && (e["key"] == key
                        || e["key"].as_str().unwrap().starts_with(&format!("{key}.")))),
                "{manifest}: `{key}` is not accounted for"
            );
        }
    }

    let api = deployer::load::yaml::to_json(
        &std::fs::read_to_string(
            repo_dir.join("stacks/shop/services/api/components/app/infra.yaml"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(api["capacity"], "spot");
    assert_eq!(api["on_demand_base"], 2);
    // Copilot's override replaces the whole `count`: what it leaves out of
    // the file's (scaling, Spot) is removed for the environment.
    assert_eq!(
        api["environments"]["prod"],
        serde_json::json!({"replicas": 2, "capacity": "spot", "autoscaling": null, "on_demand_base": null})
    );
    assert_eq!(
        api["environments"]["test"],
        serde_json::json!({"replicas": 1, "autoscaling": null, "capacity": null, "on_demand_base": null})
    );
    let infra = std::fs::read_to_string(
        repo_dir.join("stacks/shop/services/frontend/components/app/infra.yaml"),
    )
    .unwrap();
    assert_contains(
        &infra,
        &[
            "architecture: arm64",
            "cpu_target: 70",
            "requests_per_target: 500",
        ],
    );
    let api = std::fs::read_to_string(
        repo_dir.join("stacks/shop/services/api/components/app/microservice.yaml"),
    )
    .unwrap();
    assert_contains(&api, &["visibility: internal", "/api/*", "- /bin/sh"]);
    let frontend = std::fs::read_to_string(
        repo_dir.join("stacks/shop/services/frontend/components/app/microservice.yaml"),
    )
    .unwrap();
    assert_contains(
        &frontend,
        &[
            "grace_period_seconds: 120",
            "matcher: \"200,301\"",
            "secret: shop/db",
            "key: password",
        ],
    );
    assert!(repo_dir.join("schemas/microservice.schema.json").exists());

    let validate = deployer(
        &["validate", "--all", "--repo", repo_dir.to_str().unwrap()],
        out.path(),
    );
    assert_eq!(validate.code, 0, "{}", validate.all());
    assert_contains(&validate.stderr, &["✓ shop: 12 files valid"]);
    let worker = std::fs::read_to_string(
        repo_dir.join("stacks/shop/services/worker/components/app/microservice.yaml"),
    )
    .unwrap();
    assert_contains(
        &worker,
        &[
            "component: queue",
            "access: read",
            "COPILOT_QUEUE_URI: \"{{ ref('worker/queue.url') }}\"",
        ],
    );
    let queue = std::fs::read_to_string(
        repo_dir.join("stacks/shop/services/worker/components/queue/sqs.yaml"),
    )
    .unwrap();
    assert_contains(
        &queue,
        &[
            "retention_days: 4",
            "visibility_timeout_seconds: 30",
            "max_receives: 5",
        ],
    );
    let compiled = deployer(
        &[
            "compile",
            "--all",
            "--out",
            out.path().join("programs").to_str().unwrap(),
            "--var",
            "VERSION=v1.0.0",
            "--repo",
            repo_dir.to_str().unwrap(),
        ],
        out.path(),
    );
    assert_eq!(compiled.code, 0, "{}", compiled.all());
}
