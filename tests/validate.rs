//! `deployer validate` as a user runs it: every error class has a test that checks
//! the message, the code and the position.

use crate::common::*;

const API: &str = "stacks/notification-platform/services/email-service/components/api";
const QUEUE: &str = "stacks/notification-platform/services/email-service/components/queue";

fn validate(repo: &TestRepo) -> Run {
    repo.run(&["validate", "--stack", STACK])
}

#[test]
fn the_example_is_valid() {
    let run = validate(&TestRepo::example());
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(&run.stderr, &["✓ notification-platform: 15 files valid"]);
}

#[test]
fn the_example_is_valid_with_real_variables_in_every_environment() {
    let repo = TestRepo::example();
    for env in ["development", "staging", "production"] {
        let run = repo.run(&[
            "validate",
            "--stack",
            STACK,
            "--environment",
            env,
            "--var",
            "VERSION=v1.2.3",
        ]);
        assert_eq!(run.code, 0, "{env}: {}", run.all());
        assert!(!run.stderr.contains("placeholder"), "{}", run.stderr);
    }
}

#[test]
fn yaml_syntax_error() {
    let repo = TestRepo::example();
    repo.write(
        &format!("{API}/infra.yaml"),
        "cpu: 512\nmemory: [1024\nreplicas: 2\n",
    );
    let run = validate(&repo);
    assert_eq!(run.code, 1);
    assert_contains(
        &run.stderr,
        &[
            "error[yaml-syntax]: invalid YAML",
            &format!("{API}/infra.yaml:3:"),
        ],
    );
}

#[test]
fn duplicate_key_points_at_both() {
    let repo = TestRepo::example();
    repo.write(
        &format!("{QUEUE}/sqs.yaml"),
        "retention_days: 4\nfifo: false\nretention_days: 5\n",
    );
    let run = validate(&repo);
    assert_eq!(run.code, 1);
    assert_contains(
        &run.stderr,
        &[
            "error[duplicate-key]: duplicate key `retention_days`",
            &format!("{QUEUE}/sqs.yaml:3:1"),
            "first defined here",
        ],
    );
}

#[test]
fn unknown_key_suggests_the_closest() {
    let repo = TestRepo::example();
    repo.edit(&format!("{API}/infra.yaml"), "replicas: 2", "replica: 2");
    let run = validate(&repo);
    assert_eq!(run.code, 1);
    assert_contains(
        &run.stderr,
        &[
            "error[unknown-key]: unknown key `replica`",
            &format!("{API}/infra.yaml:4:1"),
            "help: did you mean `replicas`?",
        ],
    );
}

#[test]
fn unknown_nested_key_names_its_parent() {
    let repo = TestRepo::example();
    repo.edit(
        &format!("{QUEUE}/sqs.yaml"),
        "max_receives: 5",
        "max_recieves: 5",
    );
    let run = validate(&repo);
    assert_contains(
        &run.stderr,
        &[
            "unknown key `max_recieves` in `dead_letter`",
            &format!("{QUEUE}/sqs.yaml:5:3"),
            "did you mean `max_receives`?",
        ],
    );
}

#[test]
fn wrong_type() {
    let repo = TestRepo::example();
    repo.edit(
        &format!("{QUEUE}/sqs.yaml"),
        "retention_days: 4",
        "retention_days: four",
    );
    let run = validate(&repo);
    assert_eq!(run.code, 1);
    assert_contains(
        &run.stderr,
        &[
            "error[wrong-type]: `retention_days` should be an integer, not the string `four`",
            &format!("{QUEUE}/sqs.yaml:3:17"),
        ],
    );
}

#[test]
fn missing_required_field() {
    let repo = TestRepo::example();
    let path = "stacks/notification-platform/services/delivery-service/components/worker/microservice.yaml";
    let text = repo.read(path);
    let without: String = text
        .lines()
        .filter(|l| !l.starts_with("image:"))
        .map(|l| format!("{l}\n"))
        .collect();
    repo.write(path, without);
    let run = validate(&repo);
    assert_eq!(run.code, 1);
    assert_contains(
        &run.stderr,
        &[
            "error[missing-field]: missing required field `image`",
            &format!("{path}:2:1"),
            "note: image: Container image",
        ],
    );
}

#[test]
fn bad_enum_value_suggests() {
    let repo = TestRepo::example();
    repo.edit(
        "stacks/notification-platform/stack.yaml",
        "approval: required",
        "approval: requird",
    );
    let run = validate(&repo);
    assert_eq!(run.code, 1);
    assert_contains(
        &run.stderr,
        &[
            "error[invalid-value]: `environments.production.approval` must be one of `required`, `none`; found the string `requird`",
            "stacks/notification-platform/stack.yaml:38:15",
            "did you mean `required`?",
        ],
    );
}

#[test]
fn out_of_range_number() {
    let repo = TestRepo::example();
    repo.edit(&format!("{API}/infra.yaml"), "max: 6", "max: 5000");
    let run = validate(&repo);
    assert_contains(
        &run.stderr,
        &[
            "error[out-of-range]: `autoscaling.max` must be at most 1000; found `5000`",
            &format!("{API}/infra.yaml:7:8"),
        ],
    );
}

#[test]
fn fargate_memory_must_fit_the_cpu() {
    let repo = TestRepo::example();
    repo.edit(&format!("{API}/infra.yaml"), "memory: 1024", "memory: 8192");
    let run = validate(&repo);
    assert_contains(
        &run.stderr,
        &[
            "Fargate does not run 8192 MiB of memory with 512 CPU units",
            &format!("{API}/infra.yaml:3:9"),
            "with cpu 512, memory can be 1024, 2048, 3072, 4096",
        ],
    );
}

#[test]
fn component_without_kind_file() {
    let repo = TestRepo::example();
    repo.write(
        &format!("{SERVICES}/email-service/components/search/notes.txt"),
        "todo",
    );
    let run = validate(&repo);
    assert_eq!(run.code, 1);
    assert_contains(
        &run.stderr,
        &[
            "error[no-kind-file]: component `search` has no kind file",
            &format!("--> {SERVICES}/email-service/components/search"),
        ],
    );
}

#[test]
fn component_with_two_kind_files() {
    let repo = TestRepo::example();
    repo.write(&format!("{QUEUE}/rds.yaml"), "engine: postgres\n");
    let run = validate(&repo);
    assert_contains(
        &run.stderr,
        &["error[multiple-kind-files]: component `queue` has 2 kind files: rds.yaml, sqs.yaml"],
    );
}

#[test]
fn misspelt_kind_file() {
    let repo = TestRepo::example();
    repo.write(
        &format!("{SERVICES}/email-service/components/cache/microservce.yaml"),
        "image: x\n",
    );
    let run = validate(&repo);
    assert_contains(
        &run.stderr,
        &[
            "unexpected file `microservce.yaml`",
            "did you mean `microservice.yaml`?",
        ],
    );
}

#[test]
fn overlay_for_an_undeclared_environment() {
    let repo = TestRepo::example();
    repo.edit(&format!("{API}/infra.yaml"), "  production:", "  prod:");
    let run = validate(&repo);
    assert_eq!(run.code, 1);
    assert_contains(
        &run.stderr,
        &[
            "error[unknown-environment]: overlay for environment `prod`, which the stack does not declare",
            &format!("{API}/infra.yaml:15:3"),
            "declared environments: development, production, staging",
            "did you mean `production`?",
        ],
    );
}

#[test]
fn names_must_be_dns_safe() {
    let repo = TestRepo::example();
    std::fs::rename(
        repo.file(&format!("{SERVICES}/delivery-service")),
        repo.file(&format!("{SERVICES}/Delivery_Service")),
    )
    .unwrap();
    let run = validate(&repo);
    assert_contains(
        &run.stderr,
        &[
            "error[invalid-name]: `Delivery_Service` is not a valid service name",
            "rename the folder, for example to `delivery-service`",
        ],
    );

    let repo = TestRepo::example();
    let long = "a-component-name-that-is-far-too-long";
    std::fs::rename(
        repo.file(QUEUE),
        repo.file(&format!("{SERVICES}/email-service/components/{long}")),
    )
    .unwrap();
    let run = validate(&repo);
    assert_contains(
        &run.stderr,
        &[&format!(
            "`{long}` is 37 characters long; a component name has at most 32"
        )],
    );
}

#[test]
fn environment_names_in_stack_yaml_must_be_dns_safe() {
    let repo = TestRepo::example();
    repo.edit(
        "stacks/notification-platform/stack.yaml",
        "  staging:",
        "  Staging_1:",
    );
    let run = validate(&repo);
    assert_contains(
        &run.stderr,
        &[
            "error[invalid-name]: invalid key `Staging_1` in `environments`",
            "stacks/notification-platform/stack.yaml:27:3",
        ],
    );
}

#[test]
fn file_that_is_not_utf8() {
    let repo = TestRepo::example();
    repo.write(
        &format!("{QUEUE}/sqs.yaml"),
        b"retention_days: 4\n\xff\xfe\n",
    );
    let run = validate(&repo);
    assert_contains(
        &run.stderr,
        &[
            "error[not-utf8]",
            &format!("{QUEUE}/sqs.yaml is not UTF-8 text (invalid byte at offset 18, line 2)"),
        ],
    );
}

#[test]
fn empty_file() {
    let repo = TestRepo::example();
    repo.write(&format!("{QUEUE}/sqs.yaml"), "# nothing yet\n");
    let run = validate(&repo);
    assert_eq!(run.code, 1);
    assert_contains(
        &run.stderr,
        &[
            "error[empty-file]: sqs.yaml is empty",
            &format!("{QUEUE}/sqs.yaml:1:1"),
            "write `{}`",
        ],
    );
}

#[test]
fn symlink_leaving_the_repository() {
    let repo = TestRepo::example();
    let outside = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(outside.path(), "retention_days: 4\n").unwrap();
    repo.remove(&format!("{QUEUE}/sqs.yaml"));
    std::os::unix::fs::symlink(outside.path(), repo.file(&format!("{QUEUE}/sqs.yaml"))).unwrap();
    let run = validate(&repo);
    assert_eq!(run.code, 1);
    assert_contains(
        &run.stderr,
        &[
            "error[symlink-escape]",
            &format!("{QUEUE}/sqs.yaml is a link to"),
            "outside the repository",
        ],
    );
}

#[test]
fn symlink_inside_the_repository_is_fine() {
    let repo = TestRepo::example();
    repo.write("shared/queues/default.yaml", "retention_days: 4\n");
    repo.remove(&format!("{QUEUE}/sqs.yaml"));
    std::os::unix::fs::symlink(
        repo.file("shared/queues/default.yaml"),
        repo.file(&format!("{QUEUE}/sqs.yaml")),
    )
    .unwrap();
    let run = validate(&repo);
    assert_eq!(run.code, 0, "{}", run.all());
}

#[test]
fn unknown_stack_lists_the_known_ones() {
    let run = TestRepo::example().run(&["validate", "--stack", "notification-platfrom"]);
    assert_eq!(run.code, 2);
    assert_contains(
        &run.stderr,
        &[
            "error[unknown-stack]: no stack named `notification-platfrom`",
            "stacks in this repository: notification-platform",
            "did you mean `notification-platform`?",
        ],
    );
}

#[test]
fn unknown_environment_option() {
    // An unknown environment is a usage error (exit 2), as in every command.
    let run = TestRepo::example().run(&["validate", "--stack", STACK, "--environment", "prod"]);
    assert_eq!(run.code, 2);
    assert_contains(
        &run.stderr,
        &["no environment `prod`", "did you mean `production`?"],
    );
}

#[test]
fn every_error_in_every_file_with_a_summary() {
    let repo = TestRepo::example();
    repo.edit(&format!("{API}/infra.yaml"), "replicas: 2", "replica: 2");
    repo.edit(
        &format!("{QUEUE}/sqs.yaml"),
        "retention_days: 4",
        "retention_days: 40",
    );
    let run = validate(&repo);
    assert_eq!(run.code, 1);
    assert_contains(
        &run.stderr,
        &[
            "unknown key `replica`",
            "`retention_days` must be at most 14",
            "error: 2 errors in 2 files",
        ],
    );
}

/// A broken stack.yaml (or a bad variable) stops the expansion, but not the
/// checks: every other file is still checked as written, as an editor shows
/// it, so one run reports everything.
#[test]
fn everything_is_reported_whatever_else_is_broken() {
    let repo = TestRepo::example();
    repo.edit(
        "stacks/notification-platform/stack.yaml",
        "owner: ",
        "owner: [1, 2]\nold_owner: ",
    );
    repo.edit(&format!("{API}/infra.yaml"), "replicas: 2", "replica: 2");
    repo.edit(
        &format!("{QUEUE}/sqs.yaml"),
        "retention_days: 4",
        "retention_days: 40",
    );
    let run = validate(&repo);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "`owner` should be a string, not a list",
            "unknown key `old_owner`",
            "unknown key `replica`",
            "`retention_days` must be at most 14",
            "checked as written: stack.yaml has errors, so presets, overlays and templates were not applied",
            "error: 4 errors in 3 files",
        ],
    );
    // A variable that does not match its pattern stops the expansion too.
    let repo = TestRepo::example();
    repo.edit(&format!("{API}/infra.yaml"), "replicas: 2", "replica: 2");
    let run = repo.run(&["validate", "--stack", STACK, "--var", "VERSION=latest"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "variable `VERSION` is `latest`",
            "unknown key `replica`",
            "error: 2 errors in 2 files",
        ],
    );
}

#[test]
fn json_output_for_editors_and_ci() {
    let repo = TestRepo::example();
    repo.edit(&format!("{API}/infra.yaml"), "replicas: 2", "replica: 2");
    let run = repo.run(&["validate", "--stack", STACK, "--output", "json"]);
    assert_eq!(run.code, 1);
    let report = run.json();
    assert_eq!(report["valid"], false);
    assert_eq!(report["errors"], 1);
    let d = &report["diagnostics"][0];
    assert_eq!(d["code"], "unknown-key");
    assert_eq!(d["file"], format!("{API}/infra.yaml"));
    assert_eq!(d["line"], 4);
    assert_eq!(d["column"], 1);
    assert_eq!(d["help"], "did you mean `replicas`?");
}

#[test]
fn usage_errors_exit_2() {
    let repo = TestRepo::example();
    assert_eq!(
        repo.run(&["validate"]).code,
        0,
        "the only stack is inferred"
    );
    copy_dir(
        &repo.file(&format!("stacks/{STACK}")),
        &repo.file("stacks/second"),
    );
    assert_eq!(
        repo.run(&["validate"]).code,
        2,
        "two stacks, no --stack, no --all"
    );
    repo.remove("stacks/second");
    assert_eq!(
        repo.run(&["validate", "--stack", STACK, "--var", "NOEQUALS"])
            .code,
        2
    );
}

#[test]
fn variables_are_checked() {
    let repo = TestRepo::example();
    let run = repo.run(&["validate", "--stack", STACK, "--var", "VERSON=v1.0.0"]);
    assert_eq!(run.code, 1);
    assert_contains(
        &run.stderr,
        &[
            "error[undeclared-variable]: variable `VERSON` is not declared by stack `notification-platform`",
            "did you mean `VERSION`?",
        ],
    );
    let run = repo.run(&["validate", "--stack", STACK, "--var", "VERSION=1.0"]);
    assert_contains(
        &run.stderr,
        &[
            "error[invalid-variable]: variable `VERSION` is `1.0`, which does not match `^v[0-9]+\\.[0-9]+\\.[0-9]+$`",
        ],
    );
}

#[test]
fn all_stacks() {
    let repo = TestRepo::example();
    let run = repo.run(&["validate", "--all"]);
    assert_eq!(run.code, 0, "{}", run.all());
}

#[test]
fn repository_is_found_from_a_subfolder() {
    let repo = TestRepo::example();
    std::fs::create_dir(repo.file(".git")).unwrap();
    let run = deployer(&["validate", "--stack", STACK], &repo.file(SERVICES));
    assert_eq!(run.code, 0, "{}", run.all());
}

#[test]
fn not_a_repository() {
    let dir = tempfile::tempdir().unwrap();
    let run = deployer(&["validate", "--stack", STACK], dir.path());
    assert_eq!(run.code, 1);
    assert_contains(
        &run.stderr,
        &["error[not-a-repository]", "pass `--repo DIR`"],
    );
}

/// Inputs that used to crash or hang deployer: each is a located error, at once.
#[test]
fn hostile_inputs_are_refused_promptly() {
    let repo = TestRepo::example();
    let queue = "stacks/notification-platform/services/email-service/components/queue";
    // 10,000 levels of block lists (`- - - ... x`): refused before a tree is built.
    let deep = format!("a:\n  {}x\n", "- ".repeat(10_000));
    repo.write(&format!("{queue}/sqs.yaml"), &deep);
    let started = std::time::Instant::now();
    let run = repo.run(&["validate", "--stack", STACK]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(&run.stderr, &["nested more than 100 levels deep"]);
    // One 100 KB anchor reused 20,000 times: bounded by bytes, not only nodes.
    let mut bomb = format!("x: &a \"{}\"\nl:\n", "b".repeat(100_000));
    bomb.push_str(&"  - *a\n".repeat(20_000));
    repo.write(&format!("{queue}/sqs.yaml"), &bomb);
    let run = repo.run(&["validate", "--stack", STACK]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(&run.stderr, &["aliases expand to more than"]);
    repo.write(&format!("{queue}/sqs.yaml"), "{}\n");
    // A FIFO where a file should be, and a link loop, in the stack's folder.
    let status = std::process::Command::new("mkfifo")
        .arg(repo.file(
            "stacks/notification-platform/services/email-service/components/api/configs/pipe.yaml",
        ))
        .status()
        .unwrap();
    assert!(status.success());
    std::os::unix::fs::symlink(".", repo.file("stacks/notification-platform/loop")).unwrap();
    let run = repo.run(&["validate", "--stack", STACK]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(&run.stderr, &["configs/pipe.yaml is not a regular file"]);
    let out = tempfile::tempdir().unwrap();
    let run = repo.run(&[
        "compile",
        "--stack",
        STACK,
        "--out",
        out.path().to_str().unwrap(),
        "--var",
        "VERSION=v1.0.0",
    ]);
    assert_eq!(run.code, 1, "{}", run.all());
    // Compile lists from its input walk: the FIFO is in that listing too.
    assert_contains(&run.stderr, &["configs/pipe.yaml is not a regular file"]);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
}

/// A macro file that is slow to import (a sequence of 100,000,000 items,
/// the most minijinja allows, rendered at its top level), imported by a
/// component in every environment: each import stays under the 5 s a render
/// may take, so the bound counts them together and the command ends by 10 s
/// (found by the long fuzzing run: compile --all took 13 s).
#[test]
fn slow_template_imports_are_bounded_together() {
    let repo = TestRepo::example();
    let macros = repo.read("shared/macros/images.j2");
    repo.write(
        "shared/macros/images.j2",
        format!("{macros}{{{{ [1] * 100000000 }}}}\n"),
    );
    let out = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let run = repo.run(&[
        "compile",
        "--all",
        "--out",
        out.path().to_str().unwrap(),
        "--var",
        "VERSION=v1.0.0",
    ]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "error[fuel-exhausted]: a template in",
            "and was stopped; nothing was written",
        ],
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn secret_looking_values_in_plain_text_are_flagged() {
    let repo = TestRepo::example();
    let api = "stacks/notification-platform/services/email-service/components/api";
    repo.edit(
        &format!("{api}/microservice.yaml"),
        "env:\n",
        "env:\n  DB_PASSWORD: hunter2\n  TOKEN_TTL: \"60\"\n",
    );
    repo.write(
        &format!("{api}/configs/app.yaml"),
        "db:\n  password: hunter2\n",
    );
    let run = repo.run(&["validate", "--stack", STACK]);
    assert_eq!(run.code, 0, "warnings do not fail validate: {}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "warning[plain-secret]: `DB_PASSWORD` looks like a secret",
            "microservice.yaml:",
            "warning[plain-secret]: config key `password` looks like a secret",
            "configs/app.yaml:2:3",
            "add `TOKEN_TTL` to `not_secrets:`",
        ],
    );
    repo.edit(
        &format!("{api}/microservice.yaml"),
        "env:\n",
        "not_secrets: [TOKEN_TTL, password]\nenv:\n",
    );
    let run = repo.run(&["validate", "--stack", STACK]);
    assert!(!run.stderr.contains("TOKEN_TTL"), "{}", run.stderr);
    assert!(
        !run.stderr.contains("config key `password`"),
        "{}",
        run.stderr
    );
    assert_contains(&run.stderr, &["`DB_PASSWORD` looks like a secret"]);
}

/// A seeded batch of the fuzzing harness (tests/support/fuzz/): damaged copies
/// of the example through validate, show, compile and diff; no panic, abort,
/// hang or memory over 512 MB. `DEPLOYER_FUZZ_SEED` picks another batch; the
/// long run is `cargo run --release --example fuzz -- --cases 10000`.
#[test]
fn fuzzing_finds_no_crash_hang_or_blowup() {
    let seed = std::env::var("DEPLOYER_FUZZ_SEED").unwrap_or_else(|_| "20261127".into());
    let out = std::process::Command::new(example_binary("fuzz"))
        .args(["--cases", "24", "--seed", &seed, "--timeout", "30"])
        .arg("--deployer")
        .arg(env!("CARGO_BIN_EXE_deployer"))
        .arg("--example")
        .arg(crate_dir().join("examples/deployment-repo"))
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(report["runs"], 96, "{report:#}");
    for problem in ["panics", "aborts", "hangs", "over_memory"] {
        assert_eq!(report[problem], 0, "{problem}: {report:#}");
    }
    assert!(out.status.success(), "{report:#}");
}

/// A `--var-file` of a stack with a sensitive variable may hold its value:
/// every diagnostic shows the file with its values masked — a pattern
/// mismatch, a syntax error, a wrong type, a duplicate key — and the value
/// never appears.
#[test]
fn a_sensitive_value_in_a_var_file_is_never_shown() {
    let repo = TestRepo::example();
    repo.edit(
        "stacks/notification-platform/stack.yaml",
        "  LOG_LEVEL:",
        "  API_TOKEN: {required: true, sensitive: true, pattern: '^tok_[a-z]+$'}\n  LOG_LEVEL:",
    );
    let canary = "SuperSecret123";
    let cases = [
        (
            "pattern mismatch",
            format!("API_TOKEN: {canary}\nVERSION: v1.0.0\n"),
        ),
        (
            "syntax error",
            format!("API_TOKEN: \"{canary}\nVERSION: [v1\n"),
        ),
        (
            "wrong type",
            format!("API_TOKEN: [{canary}]\nVERSION: v1.0.0\n"),
        ),
        (
            "duplicate key",
            format!("API_TOKEN: tok_{canary}\nAPI_TOKEN: {canary}\nVERSION: v1.0.0\n"),
        ),
    ];
    for (what, text) in cases {
        repo.write("secrets.yaml", &text);
        let run = repo.run(&["validate", "--stack", STACK, "--var-file", "secrets.yaml"]);
        assert_eq!(run.code, 1, "{what}: {}", run.all());
        assert!(
            !run.all().contains(canary),
            "{what} shows the value:\n{}",
            run.all()
        );
        assert!(
            run.stderr.contains("secrets.yaml"),
            "{what}: {}",
            run.stderr
        );
    }
}

/// Stacks compile side by side, each render watched on its own thread: a
/// list-doubling template imported by two stacks is stopped as it is with
/// one (it ran 26–31 s and aborted at 1.6 GB), and a FIFO a template includes
/// from `shared/` is refused, not waited on.
#[test]
fn runaway_templates_are_bounded_on_every_thread() {
    let repo = TestRepo::example();
    copy_dir(
        &repo.file("stacks/notification-platform"),
        &repo.file("stacks/second-platform"),
    );
    let macros = repo.read("shared/macros/images.j2");
    repo.write(
        "shared/macros/images.j2",
        format!("{{% set ns = namespace(x=[1]) %}}{{% for i in range(40) %}}{{% set ns.x = ns.x + ns.x %}}{{% endfor %}}{macros}"),
    );
    let started = std::time::Instant::now();
    let run = repo.run(&["validate", "--all", "--var", "VERSION=v1.0.0"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stderr,
        &["error[fuel-exhausted]: a template in", "was stopped"],
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );

    repo.write("shared/macros/images.j2", macros);
    let fifo = repo.file("shared/macros/pipe.j2");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    repo.edit(
        "stacks/second-platform/services/email-service/components/api/microservice.yaml",
        "image: \"",
        "image: \"{% include 'macros/pipe.j2' %}",
    );
    let started = std::time::Instant::now();
    let run = repo.run(&["validate", "--all", "--var", "VERSION=v1.0.0"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(&run.stderr, &["pipe.j2", "not a regular file"]);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
}

/// Diagnostics cost linear time: 10,000 unknown keys in one file are each
/// reported (text and JSON) without the quadratic cost of rendering the whole
/// file per diagnostic or searching the mapping per key (14 s for 10,000 and
/// 190 s for 40,000 before, release build; the bound here is for a debug one).
#[test]
fn ten_thousand_unknown_keys_are_reported_in_linear_time() {
    let repo = TestRepo::example();
    let keys: String = (0..10_000).map(|i| format!("k{i}: 1\n")).collect();
    repo.write(
        &format!("{QUEUE}/sqs.yaml"),
        repo.read(&format!("{QUEUE}/sqs.yaml")) + &keys,
    );
    for output in ["text", "json"] {
        let started = std::time::Instant::now();
        let run = repo.run(&[
            "validate",
            "--stack",
            STACK,
            "-e",
            "development",
            "--output",
            output,
        ]);
        assert_eq!(run.code, 1);
        let took = started.elapsed();
        assert!(
            took < std::time::Duration::from_secs(30),
            "{output}: {took:?}"
        );
        if output == "json" {
            assert_eq!(run.json()["errors"], 10_000);
        } else {
            assert_contains(&run.stderr, &["error: 10000 errors in 1 file"]);
        }
    }
}

/// A deeply nested file is parsed on a thread with a large stack; when that
/// thread cannot start (an address-space limit), the file gets an error, not
/// a crash (exit 101).
#[test]
fn a_parser_thread_that_cannot_start_is_an_error() {
    let repo = TestRepo::example();
    let deep: String = std::iter::once("a:\n".to_string())
        .chain((0..150).map(|i| format!("{}- \n", " ".repeat(i + 1))))
        .collect();
    repo.write(&format!("{QUEUE}/sqs.yaml"), deep);
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v 900000 && exec {} validate --repo {}",
            env!("CARGO_BIN_EXE_deployer"),
            repo.path().display()
        ))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_contains(
        &stderr,
        &["sqs.yaml is nested deeply enough to need a parser thread"],
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Messages say what happened, and never echo a value that may be secret:
/// a malformed `--var` is not repeated, a preset that is a device is not
/// "missing", a var file outside the repository is not "a link to itself".
#[test]
fn messages_say_what_happened_and_echo_no_value() {
    let repo = TestRepo::example();
    for bad in ["=hunter2", "hunter2"] {
        let run = repo.run(&["validate", "--stack", STACK, "--var", bad]);
        assert_eq!(run.code, 2, "{}", run.all());
        assert!(!run.all().contains("hunter2"), "{bad}: {}", run.all());
        assert_contains(&run.stderr, &["--var number 1"]);
    }
    std::os::unix::fs::symlink("/dev/zero", repo.file("shared/presets/zero.yaml")).unwrap();
    repo.edit(
        "stacks/notification-platform/services/email-service/components/database/rds.yaml",
        "extends: shared/presets/postgres.yaml",
        "extends: shared/presets/zero.yaml",
    );
    let run = repo.run(&["validate", "--stack", STACK]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stderr,
        &["preset `shared/presets/zero.yaml` is a device, not a file"],
    );
    let outside = tempfile::tempdir().unwrap();
    let vars = outside.path().join("vars.yaml");
    std::fs::write(&vars, "VERSION: v1.0.0\n").unwrap();
    let run = repo.run(&[
        "validate",
        "--stack",
        STACK,
        "--var-file",
        vars.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stderr,
        &["vars.yaml is outside the repository; deployer reads files inside it only"],
    );
    assert!(!run.stderr.contains("is a link to"), "{}", run.stderr);
}

/// policies.yaml is checked like every other file: its schema, and each
/// rule's CEL expression — one that does not parse, names a field the plan's
/// model lacks, or cannot give true or false — at its line.
#[test]
fn policy_rules_are_checked_at_their_line() {
    let repo = TestRepo::example();
    for (from, to, expected) in [
        (
            "change.op in",
            "change.operation in",
            "error[invalid-policy]: rule `no-database-replacement-in-production` names `change.operation`, which the plan's model does not have",
        ),
        (
            "plan.monthly_cost_delta > 500.0",
            "plan.monthly_cost_delta >",
            "error[invalid-policy]: rule `big-cost-increase`: `when` is not a CEL expression",
        ),
        (
            "plan.monthly_cost_delta > 500.0",
            "plan.monthly_cost_delta + 500.0",
            "error[invalid-policy]: rule `big-cost-increase`: `when` gives Float(500.0), not true or false",
        ),
        (
            "effect: require-approval",
            "effect: ask",
            "error[invalid-value]",
        ),
    ] {
        let original = repo.read("policies.yaml");
        repo.write("policies.yaml", original.replace(from, to));
        let run = validate(&repo);
        assert_eq!(run.code, 1, "{to}: {}", run.all());
        assert_contains(&run.stderr, &[expected, "policies.yaml:"]);
        repo.write("policies.yaml", original);
    }
    assert_eq!(validate(&repo).code, 0);
}
