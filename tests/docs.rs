//! Documentation that must stay in step with the code.

mod common;

#[test]
fn every_diagnostic_code_is_documented() {
    let doc = std::fs::read_to_string(common::crate_dir().join("docs/errors.md")).unwrap();
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
    let doc = std::fs::read_to_string(common::crate_dir().join("docs/names.md")).unwrap();
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
    let root = common::crate_dir();
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
        let help = std::process::Command::new(env!("CARGO_BIN_EXE_deployer"))
            .args([command, "--help"])
            .output()
            .unwrap();
        if !help.status.success() {
            // Prose ("deployer drives", "deployer's lock") is no command line.
            continue;
        }
        let help = String::from_utf8_lossy(&help.stdout);
        for flag in words.iter().filter(|w| w.starts_with("--")) {
            let flag = flag.split('=').next().unwrap();
            assert!(
                help.contains(&format!("{flag} "))
                    || help.contains(&format!("{flag}\n"))
                    || help.contains(&format!("{flag},")),
                "`deployer {command}` has no {flag} (docs/ci.md or action.yml: {line})"
            );
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

/// The architecture's rules (docs/architecture.md), checked against every
/// file of `src/`: imports point to the same or a lower layer, no kind
/// imports another, only the printer prints — except the exceptions the
/// document lists, each of which must still exist.
#[test]
fn the_layers_only_point_down() {
    let root = common::crate_dir();
    let doc = std::fs::read_to_string(root.join("docs/architecture.md")).unwrap();
    let layers = layer_table(&doc);
    let listed = listed_exceptions(&doc);
    let src = root.join("src");
    let kinds: Vec<String> = std::fs::read_dir(src.join("kinds"))
        .unwrap()
        .flatten()
        .map(|e| {
            e.file_name()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_string()
        })
        .filter(|k| k != "mod")
        .collect();
    // Every module lib.rs declares is placed.
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    for module in regex::Regex::new(r"(?m)^pub mod (\w+);")
        .unwrap()
        .captures_iter(&lib)
    {
        assert!(
            layers.contains_key(&module[1]),
            "docs/architecture.md gives module `{}` no layer",
            &module[1]
        );
    }
    // What each module uses, as `a` → `b` (top-level modules) and, inside
    // `kinds`, `kinds::a` → `kinds::b`.
    let mut found = std::collections::BTreeSet::new();
    let mut printing = Vec::new();
    let print = regex::Regex::new(r"\b(e?print(ln)?|dbg)!\(").unwrap();
    for file in deployer::fs::files_under(&src).unwrap() {
        let rel = file
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if !rel.ends_with(".rs") || rel == "main.rs" {
            continue;
        }
        let module = module_of(&rel);
        let text = without_tests(&std::fs::read_to_string(&file).unwrap());
        if rel != "cli/printer.rs" && print.is_match(&text) {
            printing.push(rel.clone());
        }
        for path in paths_used(&text) {
            let Some(target) = resolve(&module, &path) else {
                continue;
            };
            let (from, to) = (&module[0], &target[0]);
            if from != to {
                found.insert(format!("`{from}` → `{to}`"));
            } else if from == "kinds" && module.len() > 1 && target.len() > 1 {
                let (a, b) = (&module[1], &target[1]);
                if a != b && kinds.contains(a) && kinds.contains(b) {
                    found.insert(format!("`kinds::{a}` → `kinds::{b}`"));
                }
            }
        }
    }
    assert!(
        printing.is_empty(),
        "only src/cli/printer.rs prints, yet: {printing:?}"
    );
    let breaks = |edge: &str| -> bool {
        let names: Vec<&str> = edge
            .split('`')
            .filter(|s| !s.trim().is_empty() && s.trim() != "→")
            .collect();
        if names[0].starts_with("kinds::") {
            return true;
        }
        let layer = |m: &str| layers.get(m).copied().unwrap_or(usize::MAX);
        layer(names[1]) > layer(names[0])
    };
    let unlisted: Vec<&String> = found
        .iter()
        .filter(|e| breaks(e) && !listed.contains(*e))
        .collect();
    assert!(
        unlisted.is_empty(),
        "imports that point up a layer or across kinds (docs/architecture.md): {unlisted:?}"
    );
    let gone: Vec<&String> = listed.iter().filter(|e| !found.contains(*e)).collect();
    assert!(
        gone.is_empty(),
        "docs/architecture.md lists exceptions that no longer exist; remove them: {gone:?}"
    );
}

/// `module` → layer, from the table's `| N | \`a\`, \`b\` | … |` rows.
fn layer_table(doc: &str) -> std::collections::BTreeMap<String, usize> {
    let row = regex::Regex::new(r"(?m)^\| (\d+) \| ([^|]+) \|").unwrap();
    let name = regex::Regex::new(r"`(\w+)`").unwrap();
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
    regex::Regex::new(r"`[\w:]+` → `[\w:]+`")
        .unwrap()
        .find_iter(section)
        .map(|m| m.as_str().to_string())
        .collect()
}

/// `kinds/rds.rs` → `[kinds, rds]`; `kinds/mod.rs` → `[kinds]`; `lib.rs` → `[]`.
fn module_of(rel: &str) -> Vec<String> {
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
/// `use` trees (`use crate::{a::b, c::{d, e}}`) spelled out.
fn paths_used(text: &str) -> Vec<String> {
    fn spell(prefix: &str, tree: &str, out: &mut Vec<String>) {
        let tree = tree.trim();
        match tree.find('{') {
            Some(open) => {
                let head = tree[..open].trim_end_matches("::");
                let prefix = [prefix, head]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join("::");
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
            None => {
                let item = tree.split(" as ").next().unwrap().trim();
                out.push(
                    [prefix, item]
                        .iter()
                        .filter(|s| !s.is_empty())
                        .copied()
                        .collect::<Vec<_>>()
                        .join("::"),
                );
            }
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
    out
}

/// A path named in `module`, as the top module (and, in `kinds`, the kind)
/// it leads to; `None` for a path inside the module itself.
fn resolve(module: &[String], path: &str) -> Option<Vec<String>> {
    let mut parts = path.split("::").peekable();
    let mut at: Vec<String> = match parts.peek() {
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
    (!at.is_empty()).then_some(at.into_iter().take(2).collect())
}
