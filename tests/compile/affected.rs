//! `deployer affected`: a fixture repository (the example, a second stack
//! that shares nothing with it, a variable file) and one kind of change per
//! case, each checked against the stacks and environments it must list —
//! no more (a README, a comment) and no fewer (a shared preset or macro, a
//! variable file, an overlay of one environment, a version pin).

use super::*;
use std::collections::BTreeSet;

const NP: &str = "notification-platform";
const ALL: [&str; 3] = ["development", "production", "staging"];

/// The example plus stack `payments` (scaffolded, no presets) and
/// `vars.yaml`, committed as the base.
fn fixture() -> TestRepo {
    let repo = TestRepo::example();
    let dir = repo.file("stacks/payments");
    std::fs::create_dir_all(&dir).unwrap();
    let run = deployer(&init_args(&["--service", "checkout"]), &dir);
    assert_eq!(run.code, 0, "{}", run.all());
    repo.write("vars.yaml", "LOG_LEVEL: info\n");
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "base"]);
    repo
}

/// `(stack, environment, change)` listed by `affected --base main`.
fn affected(repo: &TestRepo, extra: &[&str]) -> Vec<(String, String, String)> {
    let mut args = vec!["--base", "main"];
    args.extend_from_slice(extra);
    between(repo, &args)
}

/// `(stack, environment, change)` listed by `affected ARGS`.
fn between(repo: &TestRepo, extra: &[&str]) -> Vec<(String, String, String)> {
    let mut args = vec!["affected", "--output", "json"];
    args.extend_from_slice(extra);
    listed(&repo.run(&args))
}

/// `(stack, environment, change)` of a successful `affected --output json`.
fn listed(run: &Run) -> Vec<(String, String, String)> {
    assert_eq!(run.code, 0, "{}", run.all());
    run.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["stack"].as_str().unwrap().to_string(),
                a["environment"].as_str().unwrap().to_string(),
                a["change"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn expect(stack: &str, environments: &[&str], change: &str) -> Vec<(String, String, String)> {
    environments
        .iter()
        .map(|e| (stack.to_string(), e.to_string(), change.to_string()))
        .collect()
}

fn payments_environments(repo: &TestRepo) -> Vec<String> {
    let text = repo.read("stacks/payments/stack.yaml");
    let mut envs: Vec<String> = ALL
        .iter()
        .filter(|e| text.contains(&format!("  {e}:")))
        .map(|e| e.to_string())
        .collect();
    envs.sort();
    envs
}

#[test]
fn affected_lists_exactly_what_each_kind_of_change_reaches() {
    let repo = fixture();
    let payments = payments_environments(&repo);
    let payments: Vec<&str> = payments.iter().map(String::as_str).collect();
    let np = |change: &str| expect(NP, &ALL, change);
    let pin = {
        let mut all = expect(NP, &ALL, "deployer version");
        all.extend(expect("payments", &payments, "deployer version"));
        all
    };
    let config = format!("{API}/configs/app.yaml");
    let stack_yaml = "stacks/notification-platform/stack.yaml";
    type Case<'a> = (
        &'a str,
        Box<dyn Fn(&TestRepo) + 'a>,
        Vec<(String, String, String)>,
    );
    let cases: Vec<Case> = vec![
        (
            "a README",
            Box::new(|r| r.write("README.md", "# changed\n")),
            vec![],
        ),
        (
            "shared/README.md",
            Box::new(|r| r.write("shared/README.md", "changed\n")),
            vec![],
        ),
        (
            "a comment in a config",
            Box::new(|r| r.edit(&config, "tracking:\n", "# a note\ntracking:\n")),
            vec![],
        ),
        (
            "a shared preset",
            Box::new(|r| {
                r.edit(
                    "shared/presets/worker.yaml",
                    "stop_timeout_seconds: 120",
                    "stop_timeout_seconds: 90",
                )
            }),
            np("changed"),
        ),
        (
            "a shared macro",
            Box::new(|r| {
                r.edit(
                    "shared/macros/images.j2",
                    ".amazonaws.com/",
                    ".amazonaws.com.cn/",
                )
            }),
            np("changed"),
        ),
        (
            "an overlay of one environment",
            Box::new(|r| r.edit(&config, "retry_limit: 5", "retry_limit: 6")),
            expect(NP, &["production"], "changed"),
        ),
        (
            // vars.yaml gives LOG_LEVEL: its default is not what is compiled.
            "a variable's default that the variable file overrides",
            Box::new(|r| r.edit(stack_yaml, "default: info", "default: warn")),
            vec![],
        ),
        (
            "the variable file given",
            Box::new(|r| r.write("vars.yaml", "LOG_LEVEL: debug\n")),
            np("changed"),
        ),
        (
            "a new config file, not committed",
            Box::new(|r| r.write(&format!("{API}/configs/extra.yaml"), "feature: true\n")),
            np("changed"),
        ),
        (
            "a new component",
            Box::new(|r| {
                r.write(
                    "stacks/notification-platform/services/email-service/components/audit/sqs.yaml",
                    "fifo: false\n",
                )
            }),
            np("changed"),
        ),
        (
            "the other stack's tags",
            Box::new(|r| {
                r.edit(
                    "stacks/payments/stack.yaml",
                    "  stack: \"payments\"",
                    "  stack: \"payments\"\n  cost-center: cc-9",
                )
            }),
            expect("payments", &payments, "changed"),
        ),
        (
            "an environment removed",
            Box::new(|r| {
                let text = r.read(stack_yaml);
                let start = text.find("  staging:").unwrap();
                let end = start + text[start..].find("  production:").unwrap();
                r.write(stack_yaml, format!("{}{}", &text[..start], &text[end..]));
            }),
            expect(NP, &["staging"], "removed"),
        ),
        (
            "a new stack",
            Box::new(|r| copy_dir(&r.file("stacks/payments"), &r.file("stacks/ledger"))),
            expect("ledger", &payments, "added"),
        ),
        (
            "a stack deleted",
            Box::new(|r| std::fs::remove_dir_all(r.file("stacks/payments")).unwrap()),
            expect("payments", &payments, "removed"),
        ),
        (
            "a file that no longer parses",
            Box::new(|r| r.write(&config, "email: [unclosed\n")),
            np("no longer compiles"),
        ),
        (
            "the pinned deployer version",
            Box::new(|r| r.write(".deployer-version", "v0.2.0\n")),
            pin,
        ),
    ];
    assert!(cases.len() >= 15);
    for (what, change, mut want) in cases {
        git(&repo, &["checkout", "-q", "--", "."]);
        git(&repo, &["clean", "-q", "-fd"]);
        change(&repo);
        let mut got = affected(&repo, &["--var-file", "vars.yaml"]);
        got.sort();
        want.sort();
        assert_eq!(got, want, "after changing {what}");
    }
}

#[test]
fn affected_between_two_commits_says_why() {
    let repo = fixture();
    repo.edit(
        "shared/presets/worker.yaml",
        "stop_timeout_seconds: 120",
        "stop_timeout_seconds: 90",
    );
    git(&repo, &["commit", "-q", "-am", "shorter stop"]);
    repo.write("README.md", "# not committed, not compared\n");
    let run = repo.run(&["affected", "--base", "main~1", "--head", "main", "--why"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(
        run.stdout,
        "notification-platform / development (changed)\n    shared/presets/worker.yaml\n\
         notification-platform / production (changed)\n    shared/presets/worker.yaml\n\
         notification-platform / staging (changed)\n    shared/presets/worker.yaml\n"
    );
    assert_contains(
        &run.stderr,
        &["3 stack environments affected between main~1 and main"],
    );
    // Nothing between a revision and itself; an unknown revision is a usage error.
    let run = repo.run(&["affected", "--base", "main", "--head", "main"]);
    assert_contains(&run.stderr, &["No stack or environment is affected"]);
    let run = repo.run(&["affected", "--base", "nope"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_contains(&run.stderr, &["unknown git revision `nope`"]);
}

/// Compiles at a revision are kept in `.deployer/cache/affected/` and used
/// again (the entry is not rewritten); a damaged entry is compiled afresh; a
/// value given with `--var` turns the cache off, so it is written nowhere.
#[test]
fn affected_keeps_compiles_of_revisions_and_never_a_command_line_value() {
    let repo = fixture();
    repo.edit(
        "shared/presets/worker.yaml",
        "stop_timeout_seconds: 120",
        "stop_timeout_seconds: 90",
    );
    let want = expect(NP, &ALL, "changed");
    let cache = repo.file(".deployer/cache/affected");
    let entries = || -> Vec<std::path::PathBuf> {
        let mut found: Vec<_> = std::fs::read_dir(&cache)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        found.sort();
        found
    };
    assert_eq!(affected(&repo, &[]), want);
    // The base side of notification-platform, the one stack the preset reaches.
    let kept = entries();
    assert_eq!(kept.len(), 1, "{kept:?}");
    let written = std::fs::metadata(&kept[0]).unwrap().modified().unwrap();
    let text = std::fs::read_to_string(&kept[0]).unwrap();
    assert!(text.contains("sha256:") && text.contains("shared/presets/worker.yaml"));
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert_eq!(affected(&repo, &[]), want);
    assert_eq!(
        std::fs::metadata(&kept[0]).unwrap().modified().unwrap(),
        written,
        "a kept compile is used, not redone"
    );
    std::fs::write(&kept[0], "{ damaged").unwrap();
    assert_eq!(affected(&repo, &[]), want);
    assert!(
        std::fs::read_to_string(&kept[0])
            .unwrap()
            .contains("sha256:")
    );

    std::fs::remove_dir_all(repo.file(".deployer")).unwrap();
    assert_eq!(affected(&repo, &["--var", "LOG_LEVEL=debug"]), want);
    assert_eq!(entries(), Vec::<std::path::PathBuf>::new());
}

/// A kept compile is trusted only when it authenticates (an HMAC under a key
/// outside the repository, `DEPLOYER_HOME/cache.key` or `DEPLOYER_CACHE_KEY`):
/// the head side's entry copied under the base's name, an entry committed from
/// another machine, and a link to `/dev/zero` are each ignored and the stack
/// compiled, so `affected` still lists the change.
#[test]
fn a_poisoned_affected_cache_cannot_hide_a_change() {
    let repo = fixture();
    repo.edit(
        "stacks/notification-platform/services/email-service/components/api/infra.yaml",
        "replicas: 2",
        "replicas: 5",
    );
    git(&repo, &["commit", "-qam", "more replicas"]);
    let want = expect(NP, &["staging"], "changed");
    let both = ["--head", "HEAD"];
    let affected = |repo: &TestRepo, extra: &[&str]| {
        let mut args = vec!["--base", "HEAD~1"];
        args.extend_from_slice(extra);
        between(repo, &args)
    };
    assert_eq!(affected(&repo, &both), want);
    let cache = repo.file(".deployer/cache/affected");
    let entry = |text: &str| -> std::path::PathBuf {
        std::fs::read_dir(&cache)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                let t = std::fs::read_to_string(p).unwrap_or_default();
                t.contains(text) && t.contains("\"notification-platform\"")
                    || (t.contains(text) && t.contains("notification-platform/"))
            })
            .unwrap_or_else(|| panic!("no entry computed at {text}"))
    };
    let base = entry("\"revision\":\"HEAD~1\"");
    let head = entry("\"revision\":\"HEAD\"");
    assert_ne!(base, head);
    // The head side's entry under the base's name: both sides would agree.
    std::fs::copy(&head, &base).unwrap();
    assert_eq!(affected(&repo, &both), want, "a swapped entry is ignored");
    // An entry made under another secret (committed from another machine).
    let other = tempfile::tempdir().unwrap();
    let home = [(
        "DEPLOYER_HOME".to_string(),
        other.path().display().to_string(),
    )];
    std::fs::remove_dir_all(&cache).unwrap();
    let run = repo.run_with(
        &[
            "affected", "--base", "HEAD~1", "--head", "HEAD", "--output", "json",
        ],
        &home,
    );
    assert_eq!(run.code, 0, "{}", run.all());
    let forged: Vec<std::path::PathBuf> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    // Make every entry say "nothing changed": the head's hashes everywhere.
    let head_text = std::fs::read_to_string(entry("\"revision\":\"HEAD\"")).unwrap();
    let head_hashes: serde_json::Value =
        serde_json::from_str::<serde_json::Value>(&head_text).unwrap()["hashes"].clone();
    for path in &forged {
        let mut e: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        if e["hashes"]["read"]
            .to_string()
            .contains("notification-platform/")
        {
            e["hashes"] = head_hashes.clone();
            std::fs::write(path, e.to_string()).unwrap();
        }
    }
    assert_eq!(
        affected(&repo, &both),
        want,
        "another secret's entries are ignored"
    );
    // A link to /dev/zero in its place is not read.
    std::fs::remove_file(&base).ok();
    std::os::unix::fs::symlink("/dev/zero", &base).unwrap();
    assert_eq!(affected(&repo, &both), want);
    // `.deployer/` carries its `.gitignore`, whoever made it.
    assert_eq!(repo.read(".deployer/.gitignore").lines().last(), Some("*"));
}

/// A revision is checked out into a temporary folder (`/dev/shm` unless
/// `TMPDIR` is set) while the head compiles: SIGTERM (or Ctrl+C) in the
/// middle ends `affected` at once and leaves no checkout behind, and no
/// `tar` still filling it.
#[test]
fn an_interrupted_affected_leaves_no_checkout_behind() {
    let repo = fixture();
    for i in 0..40 {
        copy_dir(
            &repo.file("stacks/notification-platform"),
            &repo.file(&format!("stacks/copy-{i:02}")),
        );
    }
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "many stacks"]);
    repo.edit(
        "shared/presets/worker.yaml",
        "stop_timeout_seconds: 120",
        "stop_timeout_seconds: 90",
    );
    let tmp = tempfile::tempdir().unwrap();
    let scratch = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("deployer-")
            })
            .collect()
    };
    let mut child = repo
        .command(
            &["affected", "--base", "HEAD~1"],
            &[("TMPDIR".into(), tmp.path().display().to_string())],
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while scratch().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(!scratch().is_empty(), "the checkout never appeared");
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(
        scratch(),
        Vec::<std::path::PathBuf>::new(),
        "a checkout was left behind"
    );
}

/// A change that reaches a stack through a link inside the repository counts
/// as a change of what the link points to: an `infra.yaml` linked to a file
/// in `shared/` or in another stack, and a `--var-file` link retargeted.
#[test]
fn changes_through_links_inside_the_repository_are_found() {
    let repo = fixture();
    let api = "stacks/notification-platform/services/email-service/components/api/infra.yaml";
    let worker =
        "stacks/notification-platform/services/delivery-service/components/worker/infra.yaml";
    repo.write("shared/infra/api.yaml", repo.read(api));
    std::fs::remove_file(repo.file(api)).unwrap();
    std::os::unix::fs::symlink("../../../../../../shared/infra/api.yaml", repo.file(api)).unwrap();
    let checkout = "stacks/payments/services/checkout/components/api/infra.yaml";
    std::fs::remove_file(repo.file(worker)).unwrap();
    std::os::unix::fs::symlink(
        "../../../../../payments/services/checkout/components/api/infra.yaml",
        repo.file(worker),
    )
    .unwrap();
    repo.write("vars-a.yaml", "LOG_LEVEL: info\n");
    repo.write("vars-b.yaml", "LOG_LEVEL: debug\n");
    std::fs::remove_file(repo.file("vars.yaml")).unwrap();
    std::os::unix::fs::symlink("vars-a.yaml", repo.file("vars.yaml")).unwrap();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "links"]);
    let run = repo.run(&["validate", "--all"]);
    assert_eq!(run.code, 0, "the linked files are valid: {}", run.all());
    let base = ["--base", "HEAD"];

    // The shared file the api's infra.yaml links to.
    repo.edit("shared/infra/api.yaml", "replicas: 2", "replicas: 5");
    assert_eq!(between(&repo, &base), expect(NP, &["staging"], "changed"));
    git(&repo, &["checkout", "-q", "--", "shared"]);

    // Another stack's file the worker's infra.yaml links to.
    repo.edit(checkout, "memory: 512", "memory: 1024");
    let found = between(&repo, &base);
    for environment in ALL {
        assert!(
            found.contains(&(
                NP.to_string(),
                environment.to_string(),
                "changed".to_string()
            )),
            "{environment}: {found:?}"
        );
    }
    git(&repo, &["checkout", "-q", "--", "stacks"]);

    // The var file's link retargeted.
    std::fs::remove_file(repo.file("vars.yaml")).unwrap();
    std::os::unix::fs::symlink("vars-b.yaml", repo.file("vars.yaml")).unwrap();
    let found = between(&repo, &["--base", "HEAD", "--var-file", "vars.yaml"]);
    assert!(
        found.iter().any(|(s, _, c)| s == NP && c == "changed"),
        "{found:?}"
    );
}

/// `--max-jobs N` groups what is affected into at most N CI jobs (alone:
/// 256, GitHub's matrix limit), every target in one job, a stack's
/// environments together.
#[test]
fn affected_groups_targets_into_at_most_max_jobs() {
    let repo = fixture();
    repo.edit(
        "shared/presets/worker.yaml",
        "stop_timeout_seconds: 120",
        "stop_timeout_seconds: 90",
    );
    let run = repo.run(&[
        "affected",
        "--base",
        "main",
        "--max-jobs",
        "2",
        "--output",
        "json",
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    let jobs = run.json();
    assert_documented_shape("affected", &jobs);
    let jobs = jobs.as_array().unwrap();
    assert_eq!(jobs.len(), 2, "{jobs:?}");
    let listed: Vec<(String, String)> = jobs
        .iter()
        .flat_map(|j| j["targets"].as_array().unwrap().iter())
        .map(|t| {
            (
                t["stack"].as_str().unwrap().into(),
                t["environment"].as_str().unwrap().into(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = expect(NP, &ALL, "changed")
        .into_iter()
        .map(|(s, e, _)| (s, e))
        .collect();
    assert_eq!(listed, expected);
    assert_eq!(jobs[0]["name"], format!("{NP} / {} and 1 more", ALL[0]));
    // Alone, the flag means GitHub's limit: three targets, three jobs.
    let run = repo.run(&[
        "affected",
        "--base",
        "main",
        "--max-jobs",
        "--output",
        "json",
    ]);
    assert_eq!(run.json().as_array().unwrap().len(), 3, "{}", run.all());
    let run = repo.run(&["affected", "--base", "main", "--max-jobs", "0"]);
    assert_eq!(run.code, 2, "{}", run.all());
}

/// An untracked folder is a change of everything in it: a new stack, not
/// committed, is listed as added with its folder as the reason — on a first
/// run and on the next, when git answers from its untracked cache — and is
/// gone from the list once removed. In a deployment repository that is a
/// folder of git's, untracked files beside it reach nothing.
#[test]
fn untracked_folders_count_inside_the_repository_only() {
    let outer = TestRepo::empty();
    copy_dir(
        &crate_dir().join("examples/deployment-repo"),
        &outer.file("deploy"),
    );
    outer.write("docs/README.md", "# docs\n");
    git(&outer, &["init", "-q", "-b", "main"]);
    git(&outer, &["add", "-A"]);
    git(&outer, &["commit", "-q", "-m", "base"]);
    let deploy = outer.file("deploy");
    // Each target, and the reasons given for all of them.
    let affected = || {
        let run = deployer(
            &[
                "affected",
                "--base",
                "main",
                "--output",
                "json",
                "--repo",
                deploy.to_str().unwrap(),
            ],
            outer.path(),
        );
        let mut targets = listed(&run);
        targets.sort();
        let why: BTreeSet<String> = run
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["why"].to_string())
            .collect();
        (targets, why)
    };
    outer.write("docs/new/shared/presets/worker.yaml", "cpu: 4096\n");
    let nothing = (vec![], BTreeSet::new());
    assert_eq!(affected(), nothing, "untracked files beside the repository");
    copy_dir(
        &outer.file(&format!("deploy/stacks/{NP}")),
        &outer.file("deploy/stacks/np-two"),
    );
    let added = (
        expect("np-two", &ALL, "added"),
        BTreeSet::from([r#"["stacks/np-two/"]"#.to_string()]),
    );
    assert_eq!(affected(), added, "a new stack's folder, first run");
    assert_eq!(affected(), added, "the same, from git's untracked cache");
    std::fs::remove_dir_all(outer.file("deploy/stacks/np-two")).unwrap();
    assert_eq!(affected(), nothing, "the new stack removed");
}
