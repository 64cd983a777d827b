//! Documentation that must stay in step with the code.

#[test]
fn every_diagnostic_code_is_documented() {
    let doc = std::fs::read_to_string(crate::common::crate_dir().join("docs/errors.md")).unwrap();
    for code in deployer::diagnostic::Code::ALL {
        assert!(
            doc.contains(&format!("`{}`", code.as_str())),
            "docs/errors.md does not describe `{}`",
            code.as_str()
        );
    }
}

#[test]
fn every_named_resource_type_is_in_the_names_table() {
    let doc = std::fs::read_to_string(crate::common::crate_dir().join("docs/names.md")).unwrap();
    for naming in deployer::emit::names::NAMINGS {
        let row = doc
            .lines()
            .find(|l| l.contains(&format!("`{}`", naming.token)))
            .unwrap_or_else(|| panic!("docs/names.md has no row for {}", naming.token));
        assert!(
            row.contains(&format!("| {} |", naming.max)),
            "docs/names.md gives another limit for {}: {row}",
            naming.token
        );
    }
}

/// Every `deployer` command line of the CI recipe (docs/ci.md, action.yml)
/// names a command and flags the binary has: the recipe cannot drift.
#[test]
fn the_ci_recipe_uses_only_commands_and_flags_that_exist() {
    let root = crate::common::crate_dir();
    let mut text = std::fs::read_to_string(root.join("docs/ci.md")).unwrap();
    text.push_str(&std::fs::read_to_string(root.join("action.yml")).unwrap());
    // `command: X` inputs of the action are deployer command lines too.
    let text = text.replace("command: ", "deployer ").replace("\\\n", " ");
    let mut checked = 0;
    for line in text.lines() {
        let Some(at) = line.find("deployer ") else {
            continue;
        };
        let words: Vec<&str> = line[at + "deployer ".len()..].split_whitespace().collect();
        let Some(command) = words
            .first()
            .filter(|w| w.chars().all(|c| c.is_ascii_lowercase()))
        else {
            continue;
        };
        // Prose ("deployer drives", "deployer's lock") is no command line.
        if !command_names().contains(&command.to_string()) {
            continue;
        }
        let line = format!("deployer {}", words.join(" "));
        if let Err(why) = names_exist(&line) {
            panic!("{why} (docs/ci.md or action.yml: {line})");
        }
        checked += 1;
    }
    assert!(checked >= 6, "only {checked} command lines found");
    // And the workflows and the action are YAML.
    let ci = std::fs::read_to_string(root.join("docs/ci.md")).unwrap();
    let blocks = ci
        .split("```yaml\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap().to_string());
    for block in blocks.chain([std::fs::read_to_string(root.join("action.yml")).unwrap()]) {
        deployer::load::yaml::to_json(&block)
            .unwrap_or_else(|e| panic!("not YAML ({e}):\n{block}"));
    }
}

/// Every command that prints JSON, run as a user would on the example (the
/// stand-in deploys it on the local back-end): each output has the shape
/// docs/json.md documents, `target` included, and so does each error. Every
/// command with `--output json` has a section there. (`status` reads live AWS:
/// its shape is checked in the `aws` binary's status tests.)
#[test]
fn every_json_output_has_its_documented_shape() {
    use crate::common::*;
    use clap::CommandFactory;
    let mut sections = 0;
    for command in deployer::cli::args::Cli::command().get_subcommands() {
        let nested: Vec<_> = command.get_subcommands().collect();
        let commands: Vec<(String, &clap::Command)> = if nested.is_empty() {
            vec![(command.get_name().to_string(), command)]
        } else {
            nested
                .into_iter()
                .map(|n| (format!("{} {}", command.get_name(), n.get_name()), n))
                .collect()
        };
        for (name, command) in commands {
            if command.get_arguments().any(|a| a.get_id() == "output") {
                assert!(
                    !documented_json(&name).is_empty(),
                    "docs/json.md: no example for {name}"
                );
                sections += 1;
            }
        }
    }
    assert!(sections >= 11, "{sections}");

    let repo = git_repo();
    let json = |args: &[&str], env: &[(String, String)]| -> serde_json::Value {
        let mut all = args.to_vec();
        all.extend(["--output", "json"]);
        let run = repo.run_with(&all, env);
        assert!(run.code == 0 || run.code == 1, "{args:?}: {}", run.all());
        run.json()
    };
    let none: &[(String, String)] = &[];
    let api = "stacks/notification-platform/services/email-service/components/api";
    assert_documented_shape("validate", &json(&["validate", "-e", "dev"], none));
    assert_documented_shape("validate", &json(&["validate", "--all"], none));
    assert_documented_shape("show", &json(&["show"], none));
    assert_documented_shape(
        "show",
        &json(&["show", "-e", "production", "--resolved"], none),
    );
    let build = repo.file("build");
    let build = build.to_str().unwrap();
    let compile = [
        "compile",
        "--all",
        "--out",
        build,
        "--var",
        "VERSION=v1.0.0",
    ];
    assert_documented_shape("compile", &json(&compile, none));
    assert_documented_shape("compile", &json(&compile, none));
    let version = deployer(&["version", "--output", "json"], repo.path());
    assert_documented_shape("version", &version.json());
    repo.edit(&format!("{api}/infra.yaml"), "replicas: 2", "replicas: 4");
    assert_documented_shape(
        "diff",
        &json(
            &[
                "diff",
                "-e",
                "staging",
                "--against",
                "main",
                "--var",
                "VERSION=v1.0.0",
            ],
            none,
        ),
    );
    assert_documented_shape(
        "affected",
        &json(&["affected", "--base", "main", "--why"], none),
    );
    assert_documented_shape("validate", &json(&["validate", "-s", STACK], none));

    let env = pulumi_env(&repo);
    let run = repo.run_with(&["apply", "--var", "VERSION=v1.0.0"], &env);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_documented_shape("plan", &json(&["plan", "--var", "VERSION=v1.0.1"], &env));
    let mut drifting = env.clone();
    drifting.push(("STANDIN_DRIFT".into(), "email-service-queue-queue".into()));
    let drift = json(&["drift"], &drifting);
    assert_eq!(drift["drift"], true);
    assert_documented_shape("drift", &drift);
    assert_documented_shape("history", &json(&["history"], &env));
    // A lock held: `lock status` inside `lock exec`.
    let out = repo.file("locks.json");
    let script = format!(
        "{} lock status --output json --repo {} > {}",
        env!("CARGO_BIN_EXE_deployer"),
        repo.path().display(),
        out.display()
    );
    let run = repo.run_with(&["lock", "exec", "--", "sh", "-c", &script], &env);
    assert_eq!(run.code, 0, "{}", run.all());
    let locks: serde_json::Value = serde_json::from_str(&repo.read("locks.json")).unwrap();
    assert_eq!(locks.as_array().unwrap().len(), 1);
    assert_documented_shape("lock status", &locks);

    // Errors are JSON on stdout too, with the exit code of the text error.
    for (args, code, error) in [
        (vec!["validate", "-e", "prod"], 2, "unknown-environment"),
        (
            vec![
                "diff",
                "-e",
                "staging",
                "--against",
                "nosuch",
                "--var",
                "VERSION=v1.0.0",
            ],
            2,
            "usage",
        ),
        (
            vec!["show", "-e", "development", "--var", "VERSION=latest"],
            1,
            "failed",
        ),
        (vec!["validate", "--no-such-flag"], 2, "usage"),
        (
            vec!["plan", "-e", "production", "--var", "VERSION=v1.0.0"],
            1,
            "failed",
        ),
    ] {
        let mut all = args.clone();
        all.extend(["--output", "json"]);
        let run = repo.run_with(&all, none);
        assert_eq!(run.code, code, "{args:?}: {}", run.all());
        let value = run.json();
        assert_eq!(value["error"]["code"], error, "{args:?}: {value}");
        assert_documented_shape("error", &value);
    }
}

/// The architecture's rules (docs/architecture.md), checked against every
/// file of `src/`: no file imports another that imports it back, imports
/// point to the same or a lower layer, no kind imports another nor is
/// imported from outside the kinds, only the printer prints — except the
/// exceptions the document lists, each of which must still exist.
/// What files under `src/cli/` may not import (docs/architecture.md, "the
/// command line asks").
const CLI_NEVER_NAMES: &[&[&str]] = &[
    &["backend", "lock"],
    &["engine"],
    &["expand"],
    &["validate"],
    &["resolve"],
    &["emit"],
    &["inspect"],
];

#[test]
fn the_layers_only_point_down() {
    let root = crate::common::crate_dir();
    let doc = std::fs::read_to_string(root.join("docs/architecture.md")).unwrap();
    let layers = layer_table(&doc);
    let listed = listed_exceptions(&doc);
    let src = root.join("src");
    let graph = import_graph(&src);
    // Every module lib.rs declares is placed.
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    for module in regex::Regex::new(r"(?m)^pub(?:\(crate\))? mod (\w+);")
        .unwrap()
        .captures_iter(&lib)
    {
        assert!(
            layers.contains_key(&module[1]),
            "docs/architecture.md gives module `{}` no layer",
            &module[1]
        );
    }
    let cycles = cycles(&graph.edges);
    assert!(
        cycles.is_empty(),
        "files that import each other, in a circle: {cycles:?}"
    );
    let kinds: Vec<String> = std::fs::read_dir(src.join("kinds"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let layer = |key: &str| -> usize {
        *layers
            .get(key)
            .unwrap_or_else(|| panic!("docs/architecture.md gives `{key}` no layer"))
    };
    let mut breaking = std::collections::BTreeSet::new();
    for (from, targets) in &graph.edges {
        for to in targets {
            let (a, b) = (layer_key(from), layer_key(to));
            if layer(&b) > layer(&a) {
                breaking.insert(format!("`{a}` → `{b}`"));
            }
            if let ([k1, a, ..], [k2, b, ..]) = (from.as_slice(), to.as_slice())
                && k1 == "kinds"
                && k2 == "kinds"
                && a != b
                && kinds.contains(a)
                && kinds.contains(b)
            {
                breaking.insert(format!("`kinds::{a}` → `kinds::{b}`"));
            }
            // Outside the kinds, a kind is reached through the registry only.
            if let ([top, ..], [k2, b, ..]) = (from.as_slice(), to.as_slice())
                && top != "kinds"
                && k2 == "kinds"
                && kinds.contains(b)
            {
                breaking.insert(format!("`{top}` → `kinds::{b}`"));
            }
        }
    }
    // The command line asks `ops` and `pipeline`, never the stages or the
    // engine behind them.
    for (from, targets) in &graph.edges {
        for to in targets {
            if from.first().map(String::as_str) == Some("cli")
                && let Some(stage) = CLI_NEVER_NAMES.iter().find(|stage| {
                    stage.len() <= to.len() && stage.iter().zip(to).all(|(a, b)| *a == b)
                })
            {
                breaking.insert(format!("`{}` → `{}`", from.join("::"), stage.join("::")));
            }
        }
    }
    assert!(
        graph.printing.is_empty(),
        "only src/cli/printer.rs prints, yet: {:?}",
        graph.printing
    );
    let unlisted: Vec<&String> = breaking.iter().filter(|e| !listed.contains(*e)).collect();
    assert!(
        unlisted.is_empty(),
        "imports that point up a layer or across kinds (docs/architecture.md): {unlisted:?}"
    );
    let gone: Vec<&String> = listed.iter().filter(|e| !breaking.contains(*e)).collect();
    assert!(
        gone.is_empty(),
        "docs/architecture.md lists exceptions that no longer exist; remove them: {gone:?}"
    );
}

/// Which layer's row a module belongs to: its top module, except in `kinds`,
/// where a kind's folder holds four layers' work — its model (`kinds::<k>`),
/// its checks (`kinds::*::check`), its emitter (`kinds::*::emit`) and its live
/// status (`kinds::*::status`).
fn layer_key(module: &[String]) -> String {
    match module {
        [top] if top != "kinds" => top.clone(),
        [top, ..] if top != "kinds" => top.clone(),
        [_, _, role, ..] => format!("kinds::*::{role}"),
        _ => "kinds".into(),
    }
}

/// `key` → layer, from the table's `| N | \`a\`, \`b\` | … |` rows.
fn layer_table(doc: &str) -> std::collections::BTreeMap<String, usize> {
    let row = regex::Regex::new(r"(?m)^\| (\d+) \| ([^|]+) \|").unwrap();
    let name = regex::Regex::new(r"`([\w:*]+)`").unwrap();
    let mut layers = std::collections::BTreeMap::new();
    for caps in row.captures_iter(doc) {
        let layer: usize = caps[1].parse().unwrap();
        for module in name.captures_iter(&caps[2]) {
            layers.insert(module[1].to_string(), layer);
        }
    }
    assert!(layers.len() > 20, "docs/architecture.md has no layer table");
    layers
}

/// The `` `a` → `b` `` pairs of the "Known exceptions" section.
fn listed_exceptions(doc: &str) -> std::collections::BTreeSet<String> {
    let section = doc
        .split("### Known exceptions")
        .nth(1)
        .expect("docs/architecture.md has a Known exceptions section")
        .split("\n## ")
        .next()
        .unwrap();
    regex::Regex::new(r"`[\w:*]+` → `[\w:*]+`")
        .unwrap()
        .find_iter(section)
        .map(|m| m.as_str().to_string())
        .collect()
}

type Module = Vec<String>;

/// Which module file uses which (`crate::`, `super::` and `self::` paths, `use`
/// trees spelled out, and paths through a module a `use` brought in), and
/// which files print. A parent's relative paths to its own children (`mod x;`
/// … `x::item`) are left out: the module tree, not an import.
struct ImportGraph {
    edges: std::collections::BTreeMap<Module, std::collections::BTreeSet<Module>>,
    printing: Vec<String>,
}

fn import_graph(src: &std::path::Path) -> ImportGraph {
    let mut texts = std::collections::BTreeMap::new();
    let mut printing = Vec::new();
    let print = regex::Regex::new(r"\b(e?print(ln)?|dbg)!\(").unwrap();
    for file in deployer::fs::files_under(src).unwrap() {
        let rel = file
            .strip_prefix(src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if !rel.ends_with(".rs") || rel == "main.rs" {
            continue;
        }
        let text = without_tests(&std::fs::read_to_string(&file).unwrap());
        if rel != "cli/printer.rs" && print.is_match(&text) {
            printing.push(rel.clone());
        }
        texts.insert(module_of(&rel), text);
    }
    let mut edges = std::collections::BTreeMap::new();
    for (module, text) in &texts {
        let mut targets = std::collections::BTreeSet::new();
        for path in paths_used(text) {
            let mut absolute = absolute(module, &path);
            // The longest prefix that is a module file: `crate::emit::program::s`
            // is in `emit::program`.
            while !absolute.is_empty() && !texts.contains_key(&absolute) {
                absolute.pop();
            }
            if !absolute.is_empty() && absolute != *module {
                targets.insert(absolute);
            }
        }
        edges.insert(module.clone(), targets);
    }
    ImportGraph { edges, printing }
}

/// Groups of modules that import each other in a circle (Tarjan).
fn cycles(
    edges: &std::collections::BTreeMap<Module, std::collections::BTreeSet<Module>>,
) -> Vec<Vec<String>> {
    struct State<'a> {
        edges: &'a std::collections::BTreeMap<Module, std::collections::BTreeSet<Module>>,
        index: std::collections::BTreeMap<&'a Module, (usize, usize)>,
        stack: Vec<&'a Module>,
        on_stack: std::collections::BTreeSet<&'a Module>,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a Module) {
        let n = s.index.len();
        s.index.insert(v, (n, n));
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.edges.get(v).into_iter().flatten() {
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.index[v].1.min(s.index[w].1);
                s.index.get_mut(v).unwrap().1 = low;
            } else if s.on_stack.contains(w) {
                let low = s.index[v].1.min(s.index[w].0);
                s.index.get_mut(v).unwrap().1 = low;
            }
        }
        if s.index[v].0 == s.index[v].1 {
            let mut group = Vec::new();
            loop {
                let w = s.stack.pop().unwrap();
                s.on_stack.remove(w);
                group.push(w.join("::"));
                if w == v {
                    break;
                }
            }
            if group.len() > 1 {
                s.found.push(group);
            }
        }
    }
    let mut s = State {
        edges,
        index: Default::default(),
        stack: Vec::new(),
        on_stack: Default::default(),
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.found
}

/// `kinds/rds/mod.rs` → `[kinds, rds]`; `kinds/rds/emit.rs` → `[kinds, rds, emit]`; `lib.rs` → `[]`.
fn module_of(rel: &str) -> Module {
    let mut parts: Vec<String> = rel
        .trim_end_matches(".rs")
        .split('/')
        .map(String::from)
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// The file without its unit tests (`#[cfg(test)] mod tests`) and comments.
fn without_tests(text: &str) -> String {
    let code = text.split("#[cfg(test)]\nmod tests").next().unwrap();
    code.lines()
        .map(|line| line.split("//").next().unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `crate::…`, `super::…` and `self::…` path the code names, with
/// `use` trees (`use crate::{a::b, c::{d, e}}`) spelled out, and paths that
/// start with a module a `use` brought in (`use crate::kinds;` … `kinds::rds::x`).
fn paths_used(text: &str) -> Vec<String> {
    fn join(a: &str, b: &str) -> String {
        [a, b]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join("::")
    }
    fn spell(prefix: &str, tree: &str, out: &mut Vec<String>) {
        let tree = tree.trim();
        match tree.find('{') {
            Some(open) => {
                let prefix = join(prefix, tree[..open].trim_end_matches("::"));
                let inner = &tree[open + 1..tree.rfind('}').unwrap()];
                let (mut depth, mut start) = (0, 0);
                for (i, c) in inner.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            spell(&prefix, &inner[start..i], out);
                            start = i + 1;
                        }
                        _ => {}
                    }
                }
                spell(&prefix, &inner[start..], out);
            }
            None if tree.is_empty() => {}
            None => out.push(join(prefix, tree.split(" as ").next().unwrap().trim())),
        }
    }
    let mut out = Vec::new();
    let uses = regex::Regex::new(r"\buse\s+((?:crate|super|self)\b[^;]*);").unwrap();
    for caps in uses.captures_iter(text) {
        let tree: String = caps[1].split_whitespace().collect();
        spell("", &tree, &mut out);
    }
    let inline = regex::Regex::new(r"\b(?:crate|super)(?:::\w+)+").unwrap();
    out.extend(inline.find_iter(text).map(|m| m.as_str().to_string()));
    // Names a `use` brought in, then used as the start of a path.
    let mut brought = std::collections::BTreeMap::new();
    for path in &out {
        let path = path.strip_suffix("::self").unwrap_or(path);
        if let Some(last) = path.rsplit("::").next()
            && last.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && !matches!(last, "crate" | "super" | "self")
        {
            brought.insert(last.to_string(), path.to_string());
        }
    }
    if !brought.is_empty() {
        // One pattern for all of them: `(?:^|[^\w:])(kinds|program)((?:::\w+)+)`.
        let names = brought.keys().cloned().collect::<Vec<_>>().join("|");
        let through = regex::Regex::new(&format!(r"(?:^|[^\w:])({names})((?:::\w+)+)")).unwrap();
        out.extend(
            through
                .captures_iter(text)
                .map(|c| format!("{}{}", brought[&c[1]], &c[2])),
        );
    }
    out
}

/// A path named in `module`, from the crate's root.
fn absolute(module: &[String], path: &str) -> Module {
    let mut parts = path.split("::").peekable();
    let mut at: Module = match parts.peek() {
        Some(&"crate") => {
            parts.next();
            Vec::new()
        }
        _ => module.to_vec(),
    };
    while let Some(&step) = parts.peek() {
        match step {
            "super" => {
                at.pop();
            }
            "self" => {}
            _ => break,
        }
        parts.next();
    }
    at.extend(parts.map(String::from));
    at
}

/// docs/commands.md is the command reference generated from the clap
/// definitions (`DEPLOYER_UPDATE_DOCS=1 cargo test --test offline docs`
/// writes it): a flag added, renamed or explained anew shows here first.
#[test]
fn the_command_reference_is_generated_from_the_command_line() {
    let path = crate::common::crate_dir().join("docs/commands.md");
    let generated = command_reference();
    if std::env::var_os("DEPLOYER_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let written = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        written == generated,
        "docs/commands.md is not what the command line defines: run `DEPLOYER_UPDATE_DOCS=1 cargo test --test offline docs` and review the change"
    );
}

fn command_reference() -> String {
    use clap::CommandFactory;
    let mut root = deployer::cli::args::Cli::command();
    root.build();
    let mut out = String::from(
        "# Command reference\n\n\
         Generated from deployer's own command-line definitions by `tests/docs.rs`\n\
         (`DEPLOYER_UPDATE_DOCS=1 cargo test --test offline docs` writes it; the test\n\
         fails while it differs). `deployer help COMMAND` and `man deployer-COMMAND`\n\
         say the same. The [user guide](guide.md) shows the commands at work.\n\n\
         Every command takes `--verbose` (`-v`): what deployer does underneath, and\n\
         the causes under an error. Exit codes: 0 success, 1 failure, 2 usage error;\n\
         `diff` and `drift` exit 1 when something differs and 2 on any error.\n",
    );
    fn walk(cmd: &clap::Command, path: &str, out: &mut String) {
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            let name = format!("{path} {}", sub.get_name());
            if sub.has_subcommands() {
                walk(sub, &name, out);
                continue;
            }
            let about = sub
                .get_long_about()
                .or(sub.get_about())
                .map(|a| a.to_string())
                .unwrap_or_default();
            let usage = sub.clone().render_usage().to_string();
            let usage = usage.trim_start_matches("Usage: ");
            out.push_str(&format!(
                "\n## `{name}`\n\n{about}\n\n```\n{usage}\n```\n\n"
            ));
            let args: Vec<&clap::Arg> = sub
                .get_arguments()
                .filter(|a| {
                    !a.is_hide_set()
                        && !["help", "version", "verbose"].contains(&a.get_id().as_str())
                })
                .collect();
            if args.is_empty() {
                continue;
            }
            out.push_str("| argument | meaning |\n|---|---|\n");
            for arg in args {
                out.push_str(&format!("| `{}` | {} |\n", spelling(arg), meaning(arg)));
            }
        }
    }
    fn spelling(arg: &clap::Arg) -> String {
        let value = arg
            .get_value_names()
            .map(|names| {
                names
                    .iter()
                    .map(|n| format!("<{n}>"))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_else(|| format!("<{}>", arg.get_id().as_str().to_uppercase()));
        let takes_value = arg.get_action().takes_values();
        match (arg.get_long(), arg.get_short()) {
            (Some(long), Some(short)) if takes_value => format!("-{short}, --{long} {value}"),
            (Some(long), None) if takes_value => format!("--{long} {value}"),
            (Some(long), Some(short)) => format!("-{short}, --{long}"),
            (Some(long), None) => format!("--{long}"),
            (None, _) => value,
        }
    }
    fn meaning(arg: &clap::Arg) -> String {
        let mut text = arg
            .get_long_help()
            .or(arg.get_help())
            .map(|h| h.to_string())
            .unwrap_or_default()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let possible: Vec<String> = arg
            .get_possible_values()
            .iter()
            .filter(|v| !v.is_hide_set())
            .map(|v| format!("`{}`", v.get_name()))
            .collect();
        if !possible.is_empty() && arg.get_action().takes_values() {
            text.push_str(&format!(" (one of {})", possible.join(", ")));
        }
        let defaults: Vec<String> = arg
            .get_default_values()
            .iter()
            .map(|v| v.to_string_lossy().into_owned())
            .collect();
        if !defaults.is_empty() && arg.get_action().takes_values() {
            text.push_str(&format!(" (default `{}`)", defaults.join(" ")));
        }
        if let Some(env) = arg.get_env() {
            text.push_str(&format!(" (also `{}`)", env.to_string_lossy()));
        }
        text.replace('|', "\\|")
    }
    walk(&root, "deployer", &mut out);
    out
}

/// Every `deployer` command line the README and docs/ show (after `$ ` in a
/// console block, or an indented one) is one the command line accepts: the
/// command exists, its flags do, and their values parse.
#[test]
fn every_command_line_in_the_docs_parses() {
    use clap::Parser;
    let root = crate::common::crate_dir();
    let mut docs = vec![root.join("README.md")];
    docs.extend(
        deployer::fs::files_under(&root.join("docs"))
            .unwrap()
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "md")),
    );
    let mut checked = 0;
    let mut refused = Vec::new();
    for doc in &docs {
        let text = std::fs::read_to_string(doc).unwrap();
        let mut fence: Option<String> = None;
        for (number, line) in text.lines().enumerate() {
            let trimmed = line.trim_start();
            if trimmed.starts_with("```") {
                fence = match fence {
                    Some(_) => None,
                    None => Some(trimmed.trim_start_matches('`').to_string()),
                };
                continue;
            }
            let whole: Vec<&str> = match fence.as_deref() {
                Some("console") => trimmed.strip_prefix("$ ").into_iter().collect(),
                Some("sh" | "bash" | "shell") => vec![trimmed],
                Some(_) => Vec::new(),
                None if line.starts_with("    ") => vec![trimmed],
                None => Vec::new(),
            };
            let place = format!("{}:{}", doc.display(), number + 1);
            for part in whole.iter().flat_map(|c| deployer_parts(c)) {
                if part.contains(['\\', '…']) || part.contains("...") {
                    continue;
                }
                checked += 1;
                let Some(words) = shlex::split(part) else {
                    refused.push(format!("{place}: cannot split `{part}`"));
                    continue;
                };
                if let Err(e) = deployer::cli::args::Cli::try_parse_from(&words) {
                    let first = e.render().to_string();
                    let first = first.lines().next().unwrap_or_default().to_string();
                    refused.push(format!("{place}: `{part}`: {first}"));
                }
            }
            // A `deployer …` in backticks in prose or a table names a command
            // and some of its flags: they must exist.
            if fence.is_none() {
                for code in line.split('`').skip(1).step_by(2) {
                    for part in deployer_parts(code) {
                        checked += 1;
                        if let Err(why) = names_exist(part) {
                            refused.push(format!("{place}: `{part}`: {why}"));
                        }
                    }
                }
            }
        }
    }
    assert!(
        checked > 40,
        "only {checked} command lines found in the docs"
    );
    assert!(
        refused.is_empty(),
        "command lines the docs show that deployer refuses:\n{}",
        refused.join("\n")
    );
}

/// The `deployer …` commands of a shell line (`a && b | c > f  # note`).
fn deployer_parts(command: &str) -> Vec<&str> {
    command
        .split(" && ")
        .flat_map(|p| p.split(" | "))
        .map(|p| p.split(" #").next().unwrap())
        .map(|p| {
            p.split(" >> ")
                .next()
                .unwrap()
                .split(" > ")
                .next()
                .unwrap()
                .trim()
        })
        .filter(|p| p.starts_with("deployer "))
        .collect()
}

/// The names of deployer's commands.
fn command_names() -> Vec<String> {
    use clap::CommandFactory;
    deployer::cli::args::Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect()
}

/// The command a synopsis names exists, and so does each `--flag` it names.
fn names_exist(synopsis: &str) -> Result<(), String> {
    use clap::CommandFactory;
    let mut root = deployer::cli::args::Cli::command();
    root.build();
    let mut command = &root;
    let words: Vec<&str> = synopsis.split_whitespace().skip(1).collect();
    let mut i = 0;
    while let Some(word) = words.get(i) {
        match command.find_subcommand(word) {
            Some(sub) => command = sub,
            None if command.has_subcommands() && word.chars().all(|c| c.is_ascii_lowercase()) => {
                return Err(format!("no command `{word}`"));
            }
            None => break,
        }
        i += 1;
    }
    for word in &words[i..] {
        let Some(long) = word.strip_prefix("--") else {
            continue;
        };
        let long = long
            .split(['=', ']', ')', ',', '`', '.', ';', ':'])
            .next()
            .unwrap();
        if !long.is_empty() && !command.get_arguments().any(|a| a.get_long() == Some(long)) {
            return Err(format!("`{}` has no --{long}", command.get_name()));
        }
    }
    Ok(())
}
