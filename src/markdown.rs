//! Markdown for pull-request comments (`plan --output markdown`, `diff
//! --output markdown`): a hidden marker line first, so a CI step can find and
//! update its own comment per stack and environment instead of posting
//! another; the summary; what deletes or replaces, above everything; then one
//! collapsible section per component. No colour codes, the same bytes for
//! the same input, and never longer than [`LIMIT`] characters: whole sections
//! are left out from the end, and a last line says how many and how to see
//! them (GitHub refuses comments over 65,536 characters).

/// The longest comment written, well under GitHub's 65,536.
pub const LIMIT: usize = 60_000;

pub struct Section {
    pub title: String,
    pub body: String,
}

/// `<!-- deployer:KIND stack/environment -->`: what a CI step looks for.
pub fn marker(kind: &str, stack: &str, environment: &str) -> String {
    format!("<!-- deployer:{kind} {stack}/{environment} -->")
}

pub fn comment(
    marker: &str,
    summary: &str,
    warnings: &[String],
    sections: &[Section],
    see_everything: &str,
) -> String {
    let mut head = format!("{marker}\n{summary}\n\n");
    if !warnings.is_empty() {
        head.push_str("> [!WARNING]\n> **Deletes or replaces:**\n");
        for w in warnings {
            head.push_str(&format!("> - {w}\n"));
        }
        head.push('\n');
    }
    let rendered: Vec<String> = sections
        .iter()
        .map(|s| {
            format!(
                "<details><summary>{}</summary>\n\n{}\n</details>\n\n",
                escape(&s.title),
                s.body.trim_end()
            )
        })
        .collect();
    // Room for the line that says what was left out.
    const FOOTER: usize = 400;
    let mut out = head;
    let mut kept = 0;
    for section in &rendered {
        if out.chars().count() + section.chars().count() + FOOTER > LIMIT {
            break;
        }
        out.push_str(section);
        kept += 1;
    }
    if kept < rendered.len() {
        out.push_str(&format!(
            "_{} more of {} sections left out to keep this comment under {LIMIT} characters; see everything with `{}`._\n",
            rendered.len() - kept,
            rendered.len(),
            see_everything
        ));
    }
    // Warnings alone could be longer than the limit: cut at a line.
    if out.chars().count() > LIMIT {
        let mut cut: String = out.chars().take(LIMIT - FOOTER).collect();
        if let Some(end) = cut.rfind('\n') {
            cut.truncate(end + 1);
        }
        cut.push_str(&format!(
            "\n_Cut to stay under {LIMIT} characters; see everything with `{see_everything}`._\n"
        ));
        out = cut;
    }
    out
}

/// A table cell or title: no markup from names.
pub fn escape(text: &str) -> String {
    text.replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_comments_are_cut_at_sections_and_say_so() {
        let sections: Vec<Section> = (0..500)
            .map(|i| Section {
                title: format!("component-{i}"),
                body: "| resource | change |\n|---|---|\n".to_string()
                    + &"| r | update |\n".repeat(20),
            })
            .collect();
        let text = comment("<!-- m -->", "summary", &[], &sections, "deployer plan");
        assert!(text.chars().count() <= LIMIT, "{}", text.len());
        assert!(text.starts_with("<!-- m -->\nsummary\n"));
        assert!(
            text.trim_end()
                .ends_with("see everything with `deployer plan`._")
        );
        assert!(text.contains("sections left out"));
        // Whole sections only.
        assert_eq!(
            text.matches("<details>").count(),
            text.matches("</details>").count()
        );
        // The same input, the same bytes.
        assert_eq!(
            text,
            comment("<!-- m -->", "summary", &[], &sections, "deployer plan")
        );
    }
}
