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
