//! The compiler as a user meets it: `show`, `compile`, `diff`, and every error
//! class of expansion and resolution, with its message and position.

use crate::common::*;

#[path = "compile/adoption.rs"]
mod adoption;
#[path = "compile/affected.rs"]
mod affected;
#[path = "compile/at_scale.rs"]
mod at_scale;
#[path = "compile/cost.rs"]
mod cost;
#[path = "compile/rollouts.rs"]
mod rollouts;
#[path = "compile/spot.rs"]
mod spot;
// The benchmarks' repository generator, for tests at their scale.
#[path = "../benches/compile/generate.rs"]
#[allow(dead_code)]
mod generate;

const API: &str = "stacks/notification-platform/services/email-service/components/api";
const WORKER: &str = "stacks/notification-platform/services/delivery-service/components/worker";
const V: &str = "VERSION=v1.0.0";

fn show(repo: &TestRepo, env: &str) -> Run {
    repo.run(&["show", "--stack", STACK, "--environment", env, "--var", V])
}

fn validate(repo: &TestRepo) -> Run {
    repo.run(&["validate", "--stack", STACK])
}

/// Compiles one environment's program, runs `check_program.py` on it, and
/// returns it.
fn passes_the_provider_checker(repo: &TestRepo, env: &str) -> String {
    let out = tempfile::tempdir().unwrap();
    let run = repo.run(&[
        "compile",
        "--stack",
        STACK,
        "-e",
        env,
        "--out",
        out.path().to_str().unwrap(),
        "--var",
        V,
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    let (checker, index) = provider_checker();
    let checked = std::process::Command::new("python3")
        .arg(&checker)
        .arg(&index)
        .arg(out.path().join(STACK).join(env).join("Pulumi.yaml"))
        .output()
        .expect("python3");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
    assert!(checked.status.success(), "{env}: {text}");
    std::fs::read_to_string(out.path().join(STACK).join(env).join("Pulumi.yaml")).unwrap()
}

// ---- show ----

#[test]
fn show_prints_the_program_of_one_environment() {
    let run = show(&TestRepo::example(), "production");
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(
        &run.stdout,
        &[
            "name: notification-platform\nruntime: yaml\n",
            "public-alb-https:",
            "email-service-database-instance:",
            "protect: true",
        ],
    );
    assert!(
        !run.stdout.contains("# ----"),
        "a single environment has no headers"
    );
}

#[test]
fn show_without_environment_prints_each_in_turn() {
    let run = TestRepo::example().run(&["show", "--stack", STACK, "--var", V]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(
        &run.stdout,
        &[
            "# ---- notification-platform / development ----",
            "# ---- notification-platform / staging ----",
            "# ---- notification-platform / production ----",
        ],
    );
}

#[test]
fn show_json_is_the_same_program() {
    let repo = TestRepo::example();
    let run = repo.run(&[
        "show",
        "--stack",
        STACK,
        "--environment",
        "development",
        "--var",
        V,
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    let program = &run.json()["environments"]["development"];
    assert_eq!(program["runtime"], "yaml");
    assert_eq!(
        program["resources"]["email-service-queue-queue"]["type"],
        "aws:sqs/queue:Queue"
    );
}

#[test]
fn show_resolved_merges_presets_and_overlays_and_keeps_secrets_as_references() {
    let repo = TestRepo::example();
    let run = repo.run(&[
        "show",
        "--stack",
        STACK,
        "--environment",
        "production",
        "--var",
        V,
        "--resolved",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    let view = &run.json()["environments"]["production"];
    let api = &view["components"]["email-service/api"];
    assert_eq!(
        api["settings"]["env"]["LOG_LEVEL"], "warn",
        "production overlay"
    );
    assert_eq!(
        api["settings"]["expose"]["paths"][0], "/email/*",
        "preset parameter"
    );
    assert_eq!(
        api["settings"]["read_only_root_filesystem"], true,
        "preset's production overlay"
    );
    assert_eq!(api["infra"]["replicas"], 3);
    assert_eq!(
        api["settings"]["secrets"]["SENDGRID_API_KEY"],
        "notification-platform/sendgrid-api-key"
    );
    assert_eq!(api["configs"]["app"]["email"]["retry_limit"], 5);
    assert_eq!(api["wired"][1]["component"], "email-service/cache");
    assert_eq!(api["wired"][2]["component"], "email-service/queue");
    assert_eq!(api["tags"]["compliance"], "pci");
    let worker = &view["components"]["delivery-service/worker"];
    assert_eq!(
        worker["settings"]["env"]["STATUS_CALLBACK_URL"],
        "{{ ref(\"email-service/api.url\") }}/email/status"
    );
}

/// `show` without `--var` shows the current configuration: placeholders for
/// required variables where nothing is deployed, never a failure.
#[test]
fn show_without_variables_shows_placeholders() {
    let repo = TestRepo::example();
    let run = repo.run(&["show", "--stack", STACK, "--environment", "development"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(
        &run.stderr,
        &["note: development: nothing deployed yet, so VERSION is shown as `<VERSION>`"],
    );
    assert_contains(&run.stdout, &["email-api:<VERSION>"]);
    // Given some variables, a required one missing is still an error.
    let run = repo.run(&["show", "-e", "development", "--var", "LOG_LEVEL=debug"]);
    assert_eq!(run.code, 1);
    assert_contains(
        &run.stderr,
        &[
            "error[missing-variable]: stack `notification-platform` needs variable `VERSION`",
            "pass `--var VERSION=VALUE`",
            "nothing was compiled",
        ],
    );
}

#[test]
fn variables_from_a_file() {
    let repo = TestRepo::example();
    repo.write("vars.yaml", "VERSION: v2.0.0\nLOG_LEVEL: debug\n");
    let vars = repo.file("vars.yaml");
    let run = repo.run(&[
        "show",
        "--stack",
        STACK,
        "-e",
        "development",
        "--var-file",
        vars.to_str().unwrap(),
        "--var",
        "LOG_LEVEL=warn",
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(&run.stdout, &["email-api:v2.0.0", "value: warn"]);
}

// ---- compile ----

#[test]
fn compile_writes_programs_and_a_manifest_then_hits_the_cache() {
    let repo = TestRepo::example();
    let out = tempfile::tempdir().unwrap();
    let out_arg = out.path().to_str().unwrap();
    let run = repo.run(&["compile", "--all", "--out", out_arg, "--var", V]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(&run.stderr, &["3 programs compiled, 0 up to date"]);
    let dir = out.path().join(STACK).join("staging");
    assert!(dir.join("Pulumi.yaml").exists() && dir.join("Pulumi.staging.yaml").exists());
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["deployer_version"], env!("CARGO_PKG_VERSION"));
    assert!(
        manifest["input_hash"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    let queue = &manifest["components"]["email-service/queue"];
    assert_eq!(queue["kind"], "sqs");
    assert_eq!(
        queue["resources"],
        serde_json::json!([
            "email-service-queue-dead-letter",
            "email-service-queue-queue",
            "email-service-queue-dead-letter-allow"
        ])
    );

    let before = std::fs::metadata(dir.join("Pulumi.yaml"))
        .unwrap()
        .modified()
        .unwrap();
    let run = repo.run(&["compile", "--all", "--out", out_arg, "--var", V]);
    assert_eq!(run.code, 0);
    assert_contains(
        &run.stderr,
        &["nothing changed: 3 programs up to date", "(cache hit)"],
    );
    assert_eq!(
        std::fs::metadata(dir.join("Pulumi.yaml"))
            .unwrap()
            .modified()
            .unwrap(),
        before,
        "a cache hit rewrites nothing"
    );

    // A changed input, a changed variable, or a tampered output each compile again.
    repo.edit(&format!("{API}/infra.yaml"), "max: 6", "max: 7");
    assert_contains(
        &repo
            .run(&["compile", "--all", "--out", out_arg, "--var", V])
            .stderr,
        &["3 programs compiled"],
    );
    assert_contains(
        &repo
            .run(&[
                "compile",
                "--all",
                "--out",
                out_arg,
                "--var",
                "VERSION=v1.0.1",
            ])
            .stderr,
        &["3 programs compiled"],
    );
    std::fs::write(dir.join("Pulumi.yaml"), "tampered").unwrap();
    assert_contains(
        &repo
            .run(&[
                "compile",
                "--all",
                "--out",
                out_arg,
                "--var",
                "VERSION=v1.0.1",
            ])
            .stderr,
        &["3 programs compiled"],
    );
}

/// A cache hit on files that have settled takes the input hash from the
/// fingerprint of their times (`inputs.json`), without reading them; an
/// edit that keeps a file's size and modification time still changes its
/// change time, and the stack is compiled again.
#[test]
fn a_settled_repository_hits_the_cache_from_its_fingerprint() {
    let repo = TestRepo::example();
    let out = tempfile::tempdir().unwrap();
    let out_arg = out.path().to_str().unwrap();
    let compile = || repo.run(&["compile", "--all", "--out", out_arg, "--var", V]);
    let record = out.path().join(STACK).join("inputs.json");
    // Just written: too recent for their times to be trusted.
    assert_contains(&compile().stderr, &["3 programs compiled"]);
    assert!(!record.exists(), "a record of files younger than 2 s");
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert_contains(&compile().stderr, &["(cache hit)"]);
    assert!(record.exists());
    assert_contains(&compile().stderr, &["(cache hit)"]);
    // Same size, modification time set back: only the change time tells.
    let infra = repo.file(&format!("{API}/infra.yaml"));
    let modified = std::fs::metadata(&infra).unwrap().modified().unwrap();
    repo.edit(&format!("{API}/infra.yaml"), "max: 6", "max: 7");
    std::fs::File::options()
        .write(true)
        .open(&infra)
        .unwrap()
        .set_modified(modified)
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert_contains(&compile().stderr, &["3 programs compiled"]);
    assert_contains(&compile().stderr, &["(cache hit)"]);
}

/// Compile lists a stack's folders once, in its input hash's walk, and
/// loads from that listing: it sees what validate sees — hidden files and
/// folders skipped, a component folder linked from inside the repository
/// followed, a kind file linked to another in the same stack loaded once in
/// each folder, an empty component folder reported.
#[test]
fn compile_loads_what_its_walk_listed() {
    let repo = TestRepo::example();
    let out = tempfile::tempdir().unwrap();
    let out_arg = out.path().to_str().unwrap();
    repo.write(&format!("{API}/.notes.yaml"), "not: [a kind file\n");
    repo.write(
        &format!("{SERVICES}/.archive/components/old/sqs.yaml"),
        "retention_days: [\n",
    );
    for file in ["microservice.yaml", "infra.yaml"] {
        repo.write(
            &format!("common/worker/{file}"),
            repo.read(&format!("{WORKER}/{file}")),
        );
    }
    repo.remove(WORKER);
    std::os::unix::fs::symlink(repo.file("common/worker"), repo.file(WORKER)).unwrap();
    // A kind file linked to another component's in the same stack: the
    // input hash meets that file twice (listed, and as the link's target),
    // and the loader must still see one kind file in each folder.
    let bounces = format!("{SERVICES}/email-service/components/bounces");
    std::fs::create_dir(repo.file(&bounces)).unwrap();
    std::os::unix::fs::symlink(
        "../queue/sqs.yaml",
        repo.file(&format!("{bounces}/sqs.yaml")),
    )
    .unwrap();
    let compile = || repo.run(&["compile", "--all", "--out", out_arg, "--var", V]);
    let run = compile();
    assert_eq!(run.code, 0, "{}", run.all());
    let program =
        std::fs::read_to_string(out.path().join(STACK).join("staging/Pulumi.yaml")).unwrap();
    assert_contains(
        &program,
        &[
            "delivery-service-worker-logs:",
            "email-service-bounces-queue:",
            "email-service-queue-queue:",
        ],
    );
    assert!(!program.contains("archive"), "a hidden folder was compiled");

    std::fs::create_dir(repo.file(&format!("{SERVICES}/email-service/components/empty"))).unwrap();
    let run = compile();
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "error[no-kind-file]: component `empty` has no kind file",
            "has 1 error; nothing was compiled",
        ],
    );
}

/// A stack reads a file through a link from elsewhere in the repository:
/// an edit to that file compiles the stack again, whether its files are
/// read or known by their times.
#[test]
fn a_file_read_through_a_link_is_an_input_of_the_cache() {
    let repo = TestRepo::example();
    let out = tempfile::tempdir().unwrap();
    let out_arg = out.path().to_str().unwrap();
    let infra = format!("{API}/infra.yaml");
    repo.write("common/infra.yaml", repo.read(&infra));
    std::fs::remove_file(repo.file(&infra)).unwrap();
    std::os::unix::fs::symlink(repo.file("common/infra.yaml"), repo.file(&infra)).unwrap();
    let compile = || repo.run(&["compile", "--all", "--out", out_arg, "--var", V]);
    assert_contains(&compile().stderr, &["3 programs compiled"]);
    repo.edit("common/infra.yaml", "max: 6", "max: 7");
    assert_contains(&compile().stderr, &["3 programs compiled"]);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert_contains(&compile().stderr, &["(cache hit)"]);
    repo.edit("common/infra.yaml", "max: 7", "max: 8");
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert_contains(&compile().stderr, &["3 programs compiled"]);
    let program =
        std::fs::read_to_string(out.path().join(STACK).join("staging/Pulumi.yaml")).unwrap();
    assert_contains(&program, &["maxCapacity: 8"]);
}

#[test]
fn compile_one_environment() {
    let repo = TestRepo::example();
    let out = tempfile::tempdir().unwrap();
    let run = repo.run(&[
        "compile",
        "--stack",
        STACK,
        "-e",
        "staging",
        "--out",
        out.path().to_str().unwrap(),
        "--var",
        V,
        "--output",
        "json",
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.json()["compiled"][0]["environment"], "staging");
    assert!(!out.path().join(STACK).join("development").exists());
}

#[test]
fn compile_all_refuses_a_variable_no_stack_declares() {
    let repo = TestRepo::example();
    let out = tempfile::tempdir().unwrap();
    let run = repo.run(&[
        "compile",
        "--all",
        "--out",
        out.path().to_str().unwrap(),
        "--var",
        V,
        "--var",
        "VERSON=x",
    ]);
    assert_eq!(run.code, 2);
    assert_contains(&run.stderr, &["no stack declares `VERSON`"]);
}

#[test]
fn compile_stops_on_errors_and_writes_nothing() {
    let repo = TestRepo::example();
    repo.edit(&format!("{API}/infra.yaml"), "replicas: 2", "replica: 2");
    let out = tempfile::tempdir().unwrap();
    let run = repo.run(&[
        "compile",
        "--all",
        "--out",
        out.path().to_str().unwrap(),
        "--var",
        V,
    ]);
    assert_eq!(run.code, 1);
    assert_contains(
        &run.stderr,
        &[
            "unknown key `replica`",
            "stack `notification-platform` has 1 error; nothing was compiled",
        ],
    );
    assert!(!out.path().join(STACK).exists());
}

// ---- expansion errors ----

#[test]
fn missing_preset() {
    let repo = TestRepo::example();
    repo.edit(
        &format!("{API}/microservice.yaml"),
        "preset: shared/presets/web-api.yaml",
        "preset: shared/presets/web-apii.yaml",
    );
    let run = validate(&repo);
    assert_eq!(run.code, 1);
    assert_contains(
        &run.stderr,
        &[
            "error[missing-preset]: preset `shared/presets/web-apii.yaml` does not exist",
            &format!("{API}/microservice.yaml:3:11"),
            "did you mean `shared/presets/web-api.yaml`?",
        ],
    );
}

#[test]
fn preset_outside_shared() {
    let repo = TestRepo::example();
    repo.edit(
        &format!("{API}/microservice.yaml"),
        "preset: shared/presets/web-api.yaml",
        "preset: shared/../stacks/notification-platform/stack.yaml",
    );
    let run = validate(&repo);
    assert_contains(
        &run.stderr,
        &[
            "error[preset-outside-shared]",
            &format!("{API}/microservice.yaml:3:11"),
        ],
    );
}

#[test]
fn a_preset_sees_every_name_and_only_its_own_params() {
    let repo = TestRepo::example();
    repo.write(
        "shared/presets/base.yaml",
        "env:\n  WHO: \"{{ service.name }}/{{ component.name }} ({{ component.kind }}) of {{ stack.name }} in {{ environment.name }} at {{ var.VERSION }}: {{ params.level }}; outer path seen: {{ params.path is defined }}\"\n",
    );
    repo.edit(
        "shared/presets/web-api.yaml",
        "port: \"{{ params.port",
        "extends:\n  preset: shared/presets/base.yaml\n  with:\n    level: \"inner of {{ params.path }}\"\nport: \"{{ params.port",
    );
    let run = show(&repo, "production");
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(
        &run.stdout,
        &[&format!(
            "email-service/api (microservice) of {STACK} in production at {}: inner of /email/*; outer path seen: False",
            V.trim_start_matches("VERSION=")
        )],
    );
}

#[test]
fn preset_cycle() {
    let repo = TestRepo::example();
    repo.write(
        "shared/presets/a.yaml",
        "extends: shared/presets/b.yaml\nport: 1\n",
    );
    repo.write(
        "shared/presets/b.yaml",
        "extends: shared/presets/a.yaml\nport: 2\n",
    );
    repo.edit(
        &format!("{WORKER}/microservice.yaml"),
        "extends: shared/presets/worker.yaml",
        "extends: shared/presets/a.yaml",
    );
    let run = validate(&repo);
    assert_eq!(run.code, 1);
    assert_contains(
        &run.stderr,
        &[
            "error[preset-cycle]: presets extend each other in a cycle: shared/presets/a.yaml → shared/presets/b.yaml → shared/presets/a.yaml",
            "shared/presets/b.yaml:1:10",
        ],
    );
}

#[test]
fn template_syntax_error_points_at_the_template_line() {
    let repo = TestRepo::example();
    repo.edit(
        &format!("{API}/microservice.yaml"),
        "env:\n",
        "env:\n  BANNER: |\n    Welcome to {{ stack.name }}\n    running {{ var.VERSION\n    end\n",
    );
    let run = validate(&repo);
    assert_eq!(run.code, 1);
    assert_contains(
        &run.stderr,
        &[
            "error[template-syntax]: template syntax error",
            &format!("{API}/microservice.yaml:12:5"),
            "12 |     end",
        ],
    );
}

#[test]
fn undefined_template_variable() {
    let repo = TestRepo::example();
    repo.edit(
        &format!("{API}/microservice.yaml"),
        "{{ var.LOG_LEVEL }}",
        "{{ var.LOG_LEVLE }}",
    );
    let run = validate(&repo);
    assert_eq!(run.code, 1);
    assert_contains(
        &run.stderr,
        &[
            "error[undefined-name]: undefined name `var.LOG_LEVLE` in template",
            &format!("{API}/microservice.yaml:9:14"),
            "did you mean `var.LOG_LEVEL`?",
        ],
    );
}

#[test]
fn undefined_name_in_a_preset_says_which_file_used_it() {
    let repo = TestRepo::example();
    repo.edit(
        "shared/presets/worker.yaml",
        "{{ service.name }}",
        "{{ servce.name }}",
    );
    let run = validate(&repo);
    assert_contains(
        &run.stderr,
        &[
            "undefined name `servce.name`",
            "shared/presets/worker.yaml:8:21",
            "did you mean `service`?",
            &format!("in a preset extended by {WORKER}/microservice.yaml"),
        ],
    );
}

#[test]
fn fuel_is_limited() {
    let repo = TestRepo::example();
    repo.edit(
        &format!("{API}/microservice.yaml"),
        "{{ var.LOG_LEVEL }}",
        "{% for i in range(9000) %}{% for j in range(9000) %}{% endfor %}{% endfor %}",
    );
    let run = validate(&repo);
    assert_eq!(run.code, 1);
    assert_contains(
        &run.stderr,
        &[
            "error[fuel-exhausted]: template ran too long",
            &format!("{API}/microservice.yaml:9:14"),
        ],
    );
}

#[test]
fn templates_cannot_read_outside_shared() {
    let repo = TestRepo::example();
    repo.edit(
        &format!("{API}/microservice.yaml"),
        "{{ var.LOG_LEVEL }}",
        "{% include '../stacks/notification-platform/stack.yaml' %}",
    );
    let run = validate(&repo);
    assert_eq!(run.code, 1);
    assert_contains(
        &run.stderr,
        &[
            "error[template-access]",
            "is outside shared/",
            &format!("{API}/microservice.yaml:9:14"),
        ],
    );
    let repo = TestRepo::example();
    repo.edit(
        &format!("{API}/microservice.yaml"),
        "{{ var.LOG_LEVEL }}",
        "{% include '/etc/passwd' %}",
    );
    assert_contains(&validate(&repo).stderr, &["error[template-access]"]);
}

#[test]
fn macros_from_shared_work() {
    let run = show(&TestRepo::example(), "development");
    assert_contains(
        &run.stdout,
        &["image: \"123456789012.dkr.ecr.us-east-1.amazonaws.com/email-api:v1.0.0\""],
    );
}

// ---- references ----

#[test]
fn unknown_component_in_uses() {
    let repo = TestRepo::example();
    repo.edit(
        &format!("{API}/microservice.yaml"),
        "  - database\n",
        "  - databse\n",
    );
    let run = validate(&repo);
    assert_eq!(run.code, 1);
    assert_contains(
        &run.stderr,
        &[
            "error[unknown-component]: no component `databse` in stack `notification-platform`",
            &format!("{API}/microservice.yaml:14:5"),
            "did you mean `database`?",
        ],
    );
}

#[test]
fn unknown_component_in_a_reference() {
    let repo = TestRepo::example();
    repo.edit(
        &format!("{WORKER}/microservice.yaml"),
        "ref('email-service/api.url')",
        "ref('email-service/apii.url')",
    );
    let run = validate(&repo);
    assert_eq!(run.code, 1);
    assert_contains(
        &run.stderr,
        &[
            "error[unknown-component]: no component `email-service/apii`",
            &format!("{WORKER}/microservice.yaml:7:24"),
            "did you mean `email-service/api`?",
        ],
    );
}

#[test]
fn unknown_output_in_a_reference() {
    let repo = TestRepo::example();
    repo.edit(
        &format!("{WORKER}/microservice.yaml"),
        "ref('email-service/api.url')",
        "ref('email-service/api.uri')",
    );
    let run = validate(&repo);
    assert_contains(
        &run.stderr,
        &[
            "error[unknown-output]: microservice `email-service/api` has no output `uri`",
            "outputs of a microservice: url, name",
            "did you mean `url`?",
        ],
    );
}

#[test]
fn reference_cycle() {
    let repo = TestRepo::example();
    repo.edit(
        &format!("{API}/microservice.yaml"),
        "env:\n",
        "env:\n  WORKER_LOGS: \"{{ ref('delivery-service/worker.log_group') }}\"\n",
    );
    let run = validate(&repo);
    assert_eq!(run.code, 1);
    assert_contains(
        &run.stderr,
        &[
            "error[dependency-cycle]: components depend on each other in a cycle: delivery-service/worker → email-service/api → delivery-service/worker",
        ],
    );
}

#[test]
fn references_only_where_values_reach_the_container() {
    let repo = TestRepo::example();
    repo.edit(
        &format!("{WORKER}/microservice.yaml"),
        "image: \"",
        "image: \"{{ ref('email-service/queue.url') }}",
    );
    let run = validate(&repo);
    assert_contains(
        &run.stderr,
        &[
            "error[invalid-use]: `ref(\"email-service/queue.url\")` cannot be used here",
            &format!("{WORKER}/microservice.yaml:3:8"),
        ],
    );
}

#[test]
fn using_a_service_that_is_not_exposed() {
    let repo = TestRepo::example();
    repo.edit(
        &format!("{API}/microservice.yaml"),
        "  - database\n",
        "  - delivery-service/worker\n  - database\n",
    );
    assert_contains(
        &validate(&repo).stderr,
        &["error[invalid-use]: `delivery-service/worker` is not exposed, so nothing can call it"],
    );
}

#[test]
fn wired_variables_may_not_clash_with_the_users_own() {
    let repo = TestRepo::example();
    repo.edit(
        &format!("{API}/microservice.yaml"),
        "env:\n",
        "env:\n  QUEUE_URL: mine\n",
    );
    assert_contains(
        &validate(&repo).stderr,
        &[
            "error[conflict]: using `email-service/queue` sets `QUEUE_URL`, which this service also sets itself",
        ],
    );
}

#[test]
fn two_services_on_the_same_route() {
    let repo = TestRepo::example();
    repo.edit(
        &format!("{WORKER}/microservice.yaml"),
        "command:",
        "port: 8080\nexpose:\n  visibility: public\n  paths: [/email/*]\ncommand:",
    );
    assert_contains(
        &validate(&repo).stderr,
        &[
            "error[conflict]: `email-service/api` and `delivery-service/worker` have the same route (paths /email/*)",
        ],
    );
}

// ---- wiring, least privilege, injection ----

#[test]
fn uses_wires_variables_network_and_least_privilege() {
    let run = show(&TestRepo::example(), "development");
    let program = &run.stdout;
    // The worker reads the queue: receive/delete on that queue's ARN only, never sqs:* or *.
    assert_contains(
        program,
        &[
            "delivery-service-worker-task-policy:",
            "- sqs:ReceiveMessage",
            "\"${email-service-queue-queue.arn}\"",
            "name: EMAIL_QUEUE_URL",
        ],
    );
    assert!(!program.contains("sqs:*") && !program.contains("Resource: \"*\""));
    // The API writes to the queue: SendMessage but not ReceiveMessage.
    let api_policy = program
        .split("email-service-api-task-policy:")
        .nth(1)
        .unwrap()
        .split("\n  email-service-api-task:")
        .next()
        .unwrap();
    assert!(
        api_policy.contains("sqs:SendMessage") && !api_policy.contains("sqs:ReceiveMessage"),
        "{api_policy}"
    );
    // Only the API may reach the database, on its port.
    assert_contains(
        program,
        &[
            "email-service-api-to-email-service-database:",
            "fromPort: 5432",
        ],
    );
    assert!(!program.contains("delivery-service-worker-to-email-service-database"));
}

#[test]
fn values_cannot_inject_yaml_or_interpolations() {
    let repo = TestRepo::example();
    let nasty = r#"  NASTY: "${aws:secret} $HOME \"quoted\" line\nbreak key: [x] #{{ '{{' }}""#;
    repo.edit(
        &format!("{API}/microservice.yaml"),
        "env:\n",
        &format!("env:\n{nasty}\n"),
    );
    // The provider checker parses it and finds no unknown reference.
    let text = passes_the_provider_checker(&repo, "development");
    assert_contains(
        &text,
        &[r#"value: "$${aws:secret} $$HOME \"quoted\" line\nbreak key: [x] #{{""#],
    );
}

// ---- diff ----

/// `deployer diff` of the development environment against branch `main`.
fn diff_against_main(repo: &TestRepo, extra: &[&str]) -> Run {
    let mut args = vec![
        "diff",
        "--stack",
        STACK,
        "-e",
        "development",
        "--against",
        "main",
        "--var",
        V,
    ];
    args.extend_from_slice(extra);
    repo.run(&args)
}

#[test]
fn diff_without_changes_exits_0() {
    let repo = git_repo();
    let run = diff_against_main(&repo, &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(&run.stderr, &["no changes against `main`"]);
}

#[test]
fn diff_shows_resources_then_text_and_exits_1() {
    let repo = git_repo();
    repo.edit(
        &format!("{API}/infra.yaml"),
        "cpu: 256\n    memory: 512",
        "cpu: 512\n    memory: 1024",
    );
    repo.write(
        &format!("{SERVICES}/email-service/components/bounces/sqs.yaml"),
        "retention_days: 7\n",
    );
    let run = diff_against_main(&repo, &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stdout,
        &[
            "notification-platform / development against `main`: 3 to add, 1 to change, 0 to remove",
            "+ email-service-bounces-queue (aws:sqs/queue:Queue)",
            "~ email-service-api-task (aws:ecs/taskDefinition:TaskDefinition): cpu, memory",
            "--- main:Pulumi.yaml",
            "+++ working tree:Pulumi.yaml",
            "-      cpu: \"256\"",
            "+      cpu: \"512\"",
        ],
    );
    // What it costs: the API's one task from 0.25 vCPU / 0.5 GB to 0.5 vCPU /
    // 1 GB at $0.04048 per vCPU-hour and $0.004445 per GB-hour, 730 hours; the
    // new queue is usage-based.
    assert_contains(
        &run.stdout,
        &[
            "  estimated monthly cost: $57.77 – $84.80 → $66.78 – $93.81 a month (+$9.01)",
            "    email-service/api  +$9.01",
        ],
    );
    let json = diff_against_main(&repo, &["--output", "json"]).json();
    assert_eq!(json["changed"], true);
    assert_eq!(
        json["updated"][0]["properties"],
        serde_json::json!(["cpu", "memory"])
    );
    let delta = json["cost"]["delta"]["low"].as_f64().unwrap();
    let expected = (0.5 * 0.04048 + 0.004445 - (0.25 * 0.04048 + 0.5 * 0.004445)) * 730.0;
    assert!((delta - expected).abs() < 0.01, "{delta}");
    assert_eq!(json["cost"]["components"].as_object().unwrap().len(), 1);
}

/// Without a preview, `diff` tells a replacement from an update by the inputs
/// that force one (ForceNew in the provider), and says what each component
/// goes through while it deploys, data loss first.
#[test]
fn diff_says_what_each_change_does_while_it_deploys() {
    let repo = git_repo();
    repo.edit(
        "stacks/notification-platform/services/email-service/components/database/rds.yaml",
        "database: email\n",
        "database: email_v2\n",
    );
    repo.edit(
        &format!("{API}/infra.yaml"),
        "cpu: 256\n    memory: 512",
        "cpu: 512\n    memory: 1024",
    );
    let run = diff_against_main(&repo, &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stdout,
        &[
            "  while it deploys, email-service/database: the database is replaced: a new one starts empty, and what it holds is lost unless restored from a snapshot (data loss)",
        ],
    );
    let json = diff_against_main(&repo, &["--output", "json"]).json();
    assert_eq!(json["impacts"][0]["component"], "email-service/database");
    assert_eq!(json["impacts"][0]["severity"], "data-loss");
    let markdown = diff_against_main(&repo, &["--output", "markdown"]);
    assert_contains(
        &markdown.stdout,
        &[
            "**While it deploys:**",
            "- **email-service/database** (data loss)",
        ],
    );
}

/// `diff --output markdown` is a pull-request comment: its marker line first,
/// removals called out above the sections, one section per component, no
/// colour codes, the same bytes on a re-run.
#[test]
fn diff_as_markdown_for_a_pull_request_comment() {
    let repo = git_repo();
    repo.edit(
        &format!("{API}/infra.yaml"),
        "cpu: 256\n    memory: 512",
        "cpu: 512\n    memory: 1024",
    );
    std::fs::remove_dir_all(repo.file(&format!("{SERVICES}/email-service/components/cache")))
        .unwrap();
    repo.edit(&format!("{API}/microservice.yaml"), "  - cache\n", "");
    let run = diff_against_main(&repo, &["--output", "markdown"]);
    assert_eq!(run.code, 1, "{}", run.all());
    let text = &run.stdout;
    assert!(text.starts_with("<!-- deployer:diff notification-platform/development -->\n### deployer diff: notification-platform / development against `main`"), "{text}");
    assert_contains(
        text,
        &[
            "> [!WARNING]\n> **Deletes or replaces:**\n",
            "> - `email-service/cache`: `email-service-cache-cache` (aws:elasticache/replicationGroup:ReplicationGroup) is removed",
            "<details><summary>email-service/api",
            "| ~ change | `email-service-api-task` | `aws:ecs/taskDefinition:TaskDefinition` |",
            "<details><summary>email-service/cache",
            "**Estimated monthly cost:** $57.77 – $84.80 → $57.44 – $84.47 a month (-$0.33)",
            "| email-service/cache | -$9.34 |",
        ],
    );
    assert!(!text.contains('\u{1b}'), "no colour codes");
    assert!(text.find("[!WARNING]") < text.find("<details>"));
    assert_eq!(
        diff_against_main(&repo, &["--format", "markdown"]).stdout,
        *text
    );
}

#[test]
fn diff_errors_exit_2() {
    let repo = git_repo();
    let run = repo.run(&[
        "diff",
        "--stack",
        STACK,
        "-e",
        "development",
        "--against",
        "no-such-branch",
        "--var",
        V,
    ]);
    assert_eq!(run.code, 2);
    assert_contains(&run.stderr, &["unknown git revision `no-such-branch`"]);
    repo.edit(&format!("{API}/infra.yaml"), "replicas: 2", "replica: 2");
    let run = diff_against_main(&repo, &[]);
    assert_eq!(run.code, 2);
    assert_contains(&run.stderr, &["unknown key `replica`"]);
}

#[test]
fn diff_against_a_revision_without_the_stack_adds_everything() {
    let repo = TestRepo::example();
    std::fs::write(repo.file("README.md"), "x").unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "README.md"]);
    git(&repo, &["commit", "-qm", "empty"]);
    let run = diff_against_main(&repo, &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stdout,
        &[
            "to add, 0 to change, 0 to remove",
            "+ cluster (aws:ecs/cluster:Cluster)",
        ],
    );
}

/// Config values keep their types, map keys are escaped like values, and a key
/// Pulumi YAML would read as a function call is refused at its line.
#[test]
fn configs_keep_numbers_and_nulls_and_cannot_inject_through_keys() {
    let repo = TestRepo::example();
    repo.write(
        &format!("{API}/configs/app.yaml"),
        "ratio: 0.25\nnothing: null\n\"${secret.value}\": x\nlist: [1.5, null]\n",
    );
    let run = show(&repo, "development");
    assert_eq!(run.code, 0, "{}", run.all());
    let program = deployer::load::yaml::to_json(&run.stdout).unwrap();
    let value =
        &program["resources"]["email-service-api-config-app"]["properties"]["value"]["fn::toJSON"];
    assert_eq!(value["ratio"], serde_json::json!(0.25));
    assert_eq!(value["nothing"], serde_json::Value::Null);
    assert_eq!(value["list"], serde_json::json!([1.5, null]));
    assert_eq!(
        value["$${secret.value}"], "x",
        "the key is not an interpolation"
    );
    repo.write(&format!("{API}/configs/app.yaml"), "a: 1\nfn::secret: x\n");
    let run = validate(&repo);
    assert_eq!(run.code, 1);
    assert_contains(
        &run.stderr,
        &[
            "error[invalid-config]: config `app` has a key `fn::secret`",
            "configs/app.yaml:2:1",
        ],
    );
    // Pulumi writes `<` as `\u003c` (Go's json.Marshal): 8,192 characters of
    // them are six times larger than they look.
    repo.write(
        &format!("{API}/configs/app.yaml"),
        format!("html: \"{}\"\n", "<".repeat(1400)),
    );
    let run = validate(&repo);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(&run.stderr, &["config `app` is 8411 bytes as JSON"]);
}

#[test]
fn every_resource_and_invoke_pins_the_provider() {
    let run = show(&TestRepo::example(), "production");
    let program = deployer::load::yaml::to_json(&run.stdout).unwrap();
    for (name, resource) in program["resources"].as_object().unwrap() {
        assert_eq!(resource["options"]["version"], "7.51.1", "{name}");
    }
    let invokes: Vec<&serde_json::Value> = program["variables"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(|v| v.get("fn::invoke"))
        .collect();
    assert!(!invokes.is_empty());
    for invoke in invokes {
        assert_eq!(invoke["options"]["version"], "7.51.1");
    }
    assert_contains(&run.stdout, &["engineVersion: \"16\""]);
}

/// The template sandbox holds when `shared/` itself is a link out of the
/// repository: nothing it points at reaches a program, `show` or an error.
#[test]
fn a_shared_folder_linked_out_of_the_repository_gives_templates_nothing() {
    let repo = TestRepo::example();
    let outside = tempfile::tempdir().unwrap();
    copy_dir(&repo.file("shared"), outside.path());
    std::fs::write(outside.path().join("secret.txt"), "CANARY-7f3a9").unwrap();
    repo.remove("shared");
    std::os::unix::fs::symlink(outside.path(), repo.file("shared")).unwrap();
    repo.edit(
        &format!("{API}/microservice.yaml"),
        "env:\n",
        "env:\n  LEAK: \"{% include 'secret.txt' %}\"\n",
    );
    for args in [
        vec!["validate", "--stack", STACK],
        vec!["show", "--stack", STACK, "--var", V],
    ] {
        let run = repo.run(&args);
        assert_eq!(run.code, 1, "{args:?}: {}", run.all());
        assert!(
            !run.all().contains("CANARY-7f3a9"),
            "{args:?} leaked:\n{}",
            run.all()
        );
        assert_contains(
            &run.stderr,
            &[
                "error[template-access]",
                "shared/ is a link to",
                "outside the repository",
            ],
        );
    }
}

/// `compile` never writes through a link planted in its output folder.
#[test]
fn compile_never_writes_through_a_planted_link() {
    let repo = TestRepo::example();
    let out = tempfile::tempdir().unwrap();
    let victim = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(victim.path(), "precious").unwrap();
    let dir = out.path().join(STACK).join("development");
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(victim.path(), dir.join("Pulumi.yaml")).unwrap();
    let run = repo.run(&[
        "compile",
        "--stack",
        STACK,
        "--out",
        out.path().to_str().unwrap(),
        "--var",
        V,
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(std::fs::read_to_string(victim.path()).unwrap(), "precious");
    let written = dir.join("Pulumi.yaml");
    assert!(!written.symlink_metadata().unwrap().file_type().is_symlink());
    assert!(
        std::fs::read_to_string(written)
            .unwrap()
            .contains("runtime: yaml")
    );
}

/// Two compiles into one folder at once, with different variables: the
/// manifest always describes the program beside it.
#[test]
fn concurrent_compiles_never_leave_a_torn_folder() {
    let repo = TestRepo::example();
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join(STACK).join("development");
    for round in 0..12 {
        let children: Vec<_> = ["v1.0.0", "v2.0.0"]
            .iter()
            .map(|v| {
                repo.command(
                    &[
                        "compile",
                        "--stack",
                        STACK,
                        "-e",
                        "development",
                        "--out",
                        out.path().to_str().unwrap(),
                        "--var",
                        &format!("VERSION={v}"),
                    ],
                    &[],
                )
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
            })
            .collect();
        for mut child in children {
            assert!(child.wait().unwrap().success());
        }
        let manifest: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap())
                .unwrap();
        let program = std::fs::read(dir.join("Pulumi.yaml")).unwrap();
        assert_eq!(
            manifest["program_hash"].as_str().unwrap(),
            deployer::artifacts::sha256(&program),
            "round {round}: the manifest describes another program"
        );
    }
}

/// `exec: true` turns ECS Exec on for the service and lets its task role
/// open the SSM channels the agent in the task uses; with a read-only root
/// file system (where the agent cannot write) it is an error at its line.
#[test]
fn exec_turns_ecs_exec_on_with_the_channels_it_needs() {
    let repo = TestRepo::example();
    let worker = "stacks/notification-platform/services/delivery-service/components/worker/microservice.yaml";
    repo.write(worker, format!("{}exec: true\n", repo.read(worker)));
    let run = show(&repo, "development");
    assert_eq!(run.code, 0, "{}", run.all());
    let program = deployer::load::yaml::to_json(&run.stdout).unwrap();
    let service = &program["resources"]["delivery-service-worker-service"]["properties"];
    assert_eq!(service["enableExecuteCommand"], true);
    let policy =
        program["resources"]["delivery-service-worker-task-policy"]["properties"]["policy"]
            .to_string();
    assert_contains(
        &policy,
        &[
            "ssmmessages:CreateControlChannel",
            "ssmmessages:OpenDataChannel",
        ],
    );
    assert!(
        program["resources"]["email-service-api-service"]["properties"]["enableExecuteCommand"]
            .is_null()
    );
    passes_the_provider_checker(&repo, "development");

    repo.write(
        worker,
        format!("{}read_only_root_filesystem: true\n", repo.read(worker)),
    );
    let run = validate(&repo);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "microservice.yaml:",
            "`exec` needs a writable root file system",
        ],
    );
}

/// A secret from an SSM parameter: ECS reads it by ARN (a name is made one
/// in the environment's account and region), and the execution role may
/// get exactly it; a name SSM would refuse is an error at its line.
#[test]
fn a_secret_from_an_ssm_parameter_is_read_by_its_arn() {
    let repo = TestRepo::example();
    let worker = "stacks/notification-platform/services/delivery-service/components/worker/microservice.yaml";
    repo.edit(
        worker,
        "secrets:\n",
        "secrets:\n  GITHUB_TOKEN:\n    parameter: /shop/github-token\n",
    );
    let run = show(&repo, "development");
    assert_eq!(run.code, 0, "{}", run.all());
    let program = deployer::load::yaml::to_json(&run.stdout).unwrap();
    let arn = "arn:aws:ssm:us-east-1:111111111111:parameter/shop/github-token";
    let definitions =
        program["resources"]["delivery-service-worker-task"]["properties"]["containerDefinitions"]
            .to_string();
    assert_contains(&definitions, &["GITHUB_TOKEN", arn]);
    let policy =
        program["resources"]["delivery-service-worker-execution-policy"]["properties"]["policy"]
            .to_string();
    assert_contains(&policy, &["ssm:GetParameters", arn]);
    passes_the_provider_checker(&repo, "development");

    repo.edit(
        worker,
        "parameter: /shop/github-token",
        "parameter: 'not a name!'",
    );
    let run = validate(&repo);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(&run.stderr, &["microservice.yaml:", "GITHUB_TOKEN"]);
}

/// `expose.allowed_source_ips` routes only requests from those addresses
/// (a `sourceIp` condition of the listener rule); a rule with more than the
/// 5 condition values a load balancer takes is an error at `expose`.
#[test]
fn only_allowed_source_addresses_are_routed_and_a_rule_stays_within_five_values() {
    let repo = TestRepo::example();
    let api =
        "stacks/notification-platform/services/email-service/components/api/microservice.yaml";
    repo.edit(
        api,
        "environments:\n",
        "environments:\n  development:\n    expose:\n      allowed_source_ips: [10.24.34.0/23, \"2001:db8::/32\"]\n",
    );
    let run = show(&repo, "development");
    assert_eq!(run.code, 0, "{}", run.all());
    let program = deployer::load::yaml::to_json(&run.stdout).unwrap();
    let conditions = &program["resources"]["email-service-api-route"]["properties"]["conditions"];
    assert!(
        conditions
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["sourceIp"]["values"]
                == serde_json::json!(["10.24.34.0/23", "2001:db8::/32"])),
        "{conditions:#}"
    );
    passes_the_provider_checker(&repo, "development");

    repo.edit(
        api,
        "allowed_source_ips: [10.24.34.0/23, \"2001:db8::/32\"]",
        "allowed_source_ips: [10.0.0.0/16, 10.1.0.0/16, 10.2.0.0/16, 10.3.0.0/16, 10.4.0.0/16]",
    );
    let run = validate(&repo);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "6 condition values (1 paths, 0 hosts, 5 source addresses)",
            "at most 5",
            "merged into stacks/notification-platform/services/email-service/components/api/microservice.yaml",
        ],
    );
}

/// `container_health_check` becomes the container's ECS health check; a
/// command that does not start with `CMD` or `CMD-SHELL` is an error at
/// its line.
#[test]
fn a_container_health_check_is_the_container_s() {
    let repo = TestRepo::example();
    let worker = "stacks/notification-platform/services/delivery-service/components/worker/microservice.yaml";
    repo.write(
        worker,
        format!(
            "{}container_health_check:\n  command: [CMD-SHELL, \"test -f /tmp/alive\"]\n  start_period_seconds: 20\n",
            repo.read(worker)
        ),
    );
    let run = show(&repo, "development");
    assert_eq!(run.code, 0, "{}", run.all());
    let program = deployer::load::yaml::to_json(&run.stdout).unwrap();
    let definitions =
        program["resources"]["delivery-service-worker-task"]["properties"]["containerDefinitions"]
            .to_string();
    assert_contains(
        &definitions,
        &[
            "healthCheck",
            "test -f /tmp/alive",
            "\"startPeriod\":20",
            "\"retries\":3",
        ],
    );
    passes_the_provider_checker(&repo, "development");

    repo.edit(worker, "command: [CMD-SHELL, ", "command: [sh, ");
    let run = validate(&repo);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stderr,
        &["microservice.yaml:", "starts with `CMD` or `CMD-SHELL`"],
    );
}

/// `autoscaling.response_time_ms` holds the load balancer's average
/// response time for the service's target group, in seconds, by
/// CloudWatch's `TargetResponseTime`; a service no load balancer routes to
/// cannot scale on it.
#[test]
fn a_service_scales_on_its_response_time() {
    let repo = TestRepo::example();
    let infra = "stacks/notification-platform/services/email-service/components/api/infra.yaml";
    repo.write(
        infra,
        "cpu: 256\nmemory: 512\nreplicas: 2\nautoscaling:\n  min: 2\n  max: 6\n  response_time_ms: 250\n",
    );
    let run = show(&repo, "development");
    assert_eq!(run.code, 0, "{}", run.all());
    let program = deployer::load::yaml::to_json(&run.stdout).unwrap();
    let configuration = &program["resources"]["email-service-api-scale-response-time"]["properties"]
        ["targetTrackingScalingPolicyConfiguration"];
    assert_eq!(configuration["targetValue"], 0.25);
    let metric = &configuration["customizedMetricSpecification"];
    assert_eq!(metric["metricName"], "TargetResponseTime");
    assert_eq!(metric["namespace"], "AWS/ApplicationELB");
    assert_eq!(metric["dimensions"][0]["value"], "${public-alb.arnSuffix}");
    // It alone: no CPU policy is added for want of a target.
    assert!(program["resources"]["email-service-api-scale-cpu"].is_null());
    passes_the_provider_checker(&repo, "development");

    let worker =
        "stacks/notification-platform/services/delivery-service/components/worker/infra.yaml";
    repo.edit(worker, "cpu_target: 70", "response_time_ms: 250");
    let run = validate(&repo);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stderr,
        &["infra.yaml:", "`response_time_ms`", "not exposed"],
    );
}
