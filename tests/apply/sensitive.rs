//! Sensitive variables: the value reaches Pulumi encrypted and nothing else —
//! a canary value is looked for in every output, file and record.

use super::*;

const API: &str = "stacks/notification-platform/services/email-service/components/api";

/// Declares `API_TOKEN` sensitive and uses it in the api's env and a config.
fn with_sensitive_token(repo: &TestRepo) {
    repo.edit(
        STACK_FILE,
        "variables:\n",
        "variables:\n  API_TOKEN:\n    description: Token of the mail provider.\n    required: true\n    sensitive: true\n    pattern: '[a-z0-9-]+'\n",
    );
    repo.edit(
        &format!("{API}/microservice.yaml"),
        "env:\n",
        "env:\n  MAIL_TOKEN: \"Bearer {{ var.API_TOKEN }}\"\n",
    );
    repo.edit(
        &format!("{API}/configs/app.yaml"),
        "email:\n",
        "email:\n  provider_token: \"{{ var.API_TOKEN }}\"\n",
    );
}

/// Every file under `dir` (the repository with its `.deployer/`: local state,
/// records, Pulumi's workspace, logs and checkpoints) that holds `needle`.
fn files_holding(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if entry.file_type().unwrap().is_dir() {
            found.extend(files_holding(&path, needle));
        } else if std::fs::read(&path)
            .is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
        {
            found.push(path);
        }
    }
    found
}

#[test]
fn a_sensitive_variable_appears_in_no_output_file_or_record() {
    let repo = TestRepo::example();
    with_sensitive_token(&repo);
    let env = pulumi_env(&repo);
    let canary = "canary-5e1f0a9b77";
    let token = format!("API_TOKEN={canary}");
    let mut outputs = String::new();
    let mut run = |args: &[&str]| {
        let run = repo.run_with(args, &env);
        outputs.push_str(&run.all());
        run
    };
    let apply = run(&[
        "apply",
        "-s",
        STACK,
        "-e",
        DEV,
        "--var",
        "VERSION=v1.0.0",
        "--var",
        &token,
    ]);
    assert_eq!(apply.code, 0, "{}", apply.all());
    // The compiled program reads it from Pulumi's encrypted config.
    let out = repo.file("out");
    let compile = run(&[
        "compile",
        "-s",
        STACK,
        "-e",
        DEV,
        "--var",
        "VERSION=v1.0.0",
        "--var",
        &token,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(compile.code, 0, "{}", compile.all());
    let program = std::fs::read_to_string(out.join(STACK).join(DEV).join("Pulumi.yaml")).unwrap();
    assert_contains(
        &program,
        &[
            "sensitive_API_TOKEN:\n    type: string\n    secret: true",
            // The env value reaches the container from an encrypted SSM
            // parameter, not the task definition.
            "name: /deployer/notification-platform/development/email-service/api/env/MAIL_TOKEN\n      description: \"env MAIL_TOKEN of email-service/api, which reads a sensitive variable\"\n      type: SecureString\n      value: \"Bearer ${sensitive_API_TOKEN}\"",
            "- name: MAIL_TOKEN\n                valueFrom: \"${email-service-api-env-mail-token.arn}\"",
            // The config that reads it is an encrypted SSM parameter too.
            "type: SecureString",
            "provider_token: \"${sensitive_API_TOKEN}\"",
        ],
    );
    let (checker, index) = provider_checker();
    let check = std::process::Command::new("python3")
        .arg(&checker)
        .arg(&index)
        .arg(out.join(STACK).join(DEV).join("Pulumi.yaml"))
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    // What reviewers and operators read says `(sensitive)`.
    let history = run(&["history", "-s", STACK, "-e", DEV, "--output", "json"]);
    assert_eq!(history.json()[0]["variables"]["API_TOKEN"], "(sensitive)");
    let show = run(&[
        "show",
        "-s",
        STACK,
        "-e",
        DEV,
        "--var",
        "VERSION=v1.0.0",
        "--var",
        &token,
    ]);
    assert_eq!(show.code, 0, "{}", show.all());
    assert_contains(&show.stdout, &["Bearer ${sensitive_API_TOKEN}"]);
    let show = run(&["show", "-s", STACK, "--resolved"]);
    assert_eq!(show.code, 0, "{}", show.all());
    assert_contains(&show.stdout, &["Bearer {{ var.API_TOKEN }} (sensitive)"]);
    run(&["status", "-s", STACK, "-e", DEV, "--output", "json"]);
    run(&[
        "diff",
        "-s",
        STACK,
        "-e",
        DEV,
        "--var",
        "VERSION=v1.0.1",
        "--var",
        &token,
    ]);
    // A value that fails the pattern is refused without being repeated.
    let bad = format!("API_TOKEN=Not Valid {canary}");
    let refused = run(&[
        "apply",
        "-s",
        STACK,
        "-e",
        DEV,
        "--var",
        "VERSION=v1.0.1",
        "--var",
        &bad,
    ]);
    assert_eq!(refused.code, 1, "{}", refused.all());
    assert_contains(
        &refused.stderr,
        &["sensitive variable `API_TOKEN` does not match"],
    );
    // A rollback (no value given) re-applies with the value stored encrypted.
    let second = run(&[
        "apply",
        "-s",
        STACK,
        "-e",
        DEV,
        "--var",
        "VERSION=v1.0.1",
        "--var",
        &token,
    ]);
    assert_eq!(second.code, 0, "{}", second.all());
    let rollback = run(&["rollback", "-s", STACK, "-e", DEV, "--to", "1"]);
    assert_eq!(rollback.code, 0, "{}", rollback.all());
    // The canary is nowhere: not in any output, nor any file of the repository,
    // its local back-end, Pulumi's workspace, logs or (encrypted) state.
    assert!(!outputs.contains(canary), "{outputs}");
    assert_eq!(files_holding(repo.path(), canary), Vec::<PathBuf>::new());
    // Pulumi did get it: the stand-in holds it in the state, sealed.
    let sealed: String = canary
        .bytes()
        .map(|b| format!("{:02x}", b ^ 0x5a))
        .collect();
    assert!(!files_holding(repo.path(), &sealed).is_empty());
}

#[test]
fn a_changed_sensitive_value_updates_what_reads_it() {
    let repo = TestRepo::example();
    with_sensitive_token(&repo);
    let env = pulumi_env(&repo);
    let apply = |token: &str| {
        repo.run_with(
            &[
                "apply",
                "-s",
                STACK,
                "-e",
                DEV,
                "--var",
                "VERSION=v1.0.0",
                "--var",
                &format!("API_TOKEN={token}"),
            ],
            &env,
        )
    };
    assert_eq!(apply("first-token").code, 0);
    let same = apply("first-token");
    assert_contains(&same.stderr, &["No changes"]);
    let changed = apply("second-token");
    assert_eq!(changed.code, 0, "{}", changed.all());
    assert_contains(&changed.stderr, &["email-service/api"]);
}

#[test]
fn a_sensitive_variable_is_refused_where_it_would_be_written_down() {
    let repo = TestRepo::example();
    with_sensitive_token(&repo);
    // In an image name it would be in the program, the state and AWS.
    repo.edit(
        &format!("{API}/microservice.yaml"),
        "image: \"",
        "image: \"{{ var.API_TOKEN }}",
    );
    let run = repo.run(&["validate", "-s", STACK]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stderr,
        &["sensitive variable `API_TOKEN` cannot be used here"],
    );
    // A default would be plain text in the repository.
    repo.edit(
        STACK_FILE,
        "    sensitive: true\n",
        "    sensitive: true\n    default: abc\n",
    );
    let run = repo.run(&["validate", "-s", STACK]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stderr,
        &["sensitive variable `API_TOKEN` has a default"],
    );
}

#[test]
fn a_rollback_to_a_program_whose_secret_was_never_stored_says_how_to_give_it() {
    let repo = TestRepo::example();
    with_sensitive_token(&repo);
    let env = pulumi_env(&repo);
    let run = repo.run_with(
        &[
            "apply",
            "-s",
            STACK,
            "-e",
            DEV,
            "--var",
            "VERSION=v1.0.0",
            "--var",
            "API_TOKEN=t1",
        ],
        &env,
    );
    assert_eq!(run.code, 0, "{}", run.all());
    // The stored ciphertext is lost (a new back-end copy, a damaged bucket).
    let stored = files_holding(repo.path(), "sensitive_API_TOKEN")
        .into_iter()
        .find(|p| p.ends_with("pulumi-secret-config.json"))
        .expect("the encrypted value is kept in the back-end");
    std::fs::remove_file(stored).unwrap();
    let run = repo.run_with(&["rollback", "-s", STACK, "-e", DEV, "--to", "1"], &env);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stderr,
        &[
            "reads sensitive variable `API_TOKEN`, and no value was ever stored",
            "--var API_TOKEN=...",
        ],
    );
}
