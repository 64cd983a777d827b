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
