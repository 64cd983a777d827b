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
