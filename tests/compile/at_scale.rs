//! Pull-request comments at the benchmarks' scale (benches/compile/generate.rs):
//! `diff --output markdown` never over GitHub's comment limit, whatever the
//! size of the change.

use super::*;

/// The markdown limit (`src/markdown.rs`): GitHub refuses comments over 65,536.
const LIMIT: usize = 60_000;

/// Every stack's cost centre (a tag on every resource) and every shared
/// preset changed, then committed as nothing: the working tree against `main`.
fn every_stack_changed(services: usize, per_stack: usize) -> (TestRepo, Vec<String>) {
    let repo = TestRepo::empty();
    generate::generate_in_stacks_of(repo.path(), services, per_stack);
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "base"]);
    let stacks: Vec<String> = (0..services.div_ceil(per_stack))
        .map(|s| format!("stack-{s:03}"))
        .collect();
    for stack in &stacks {
        repo.edit(
            &format!("stacks/{stack}/stack.yaml"),
            "cost-center: cc-",
            "cost-center: moved-",
        );
    }
    repo.edit(
        "shared/presets/worker.yaml",
        "stop_timeout_seconds: 120",
        "stop_timeout_seconds: 90",
    );
    (repo, stacks)
}

fn markdown(repo: &TestRepo, stack: &str) -> String {
    let run = repo.run(&[
        "diff",
        "--stack",
        stack,
        "-e",
        "production",
        "--against",
        "main",
        "--var",
        V,
        "--output",
        "markdown",
    ]);
    assert_eq!(run.code, 1, "{}", run.all());
    let text = run.stdout;
    assert!(
        text.starts_with(&format!("<!-- deployer:diff {stack}/production -->\n")),
        "{text}"
    );
    assert!(
        text.chars().count() <= LIMIT,
        "{stack}: {} characters",
        text.chars().count()
    );
    text
}

/// The 1,000-service repository with every stack changed: each stack's
/// comment is whole (nothing left out) and under the limit; `validate
/// --all` counts the fifty stacks.
#[test]
fn markdown_of_every_stack_of_the_benchmark_repository_stays_under_the_limit() {
    let (repo, stacks) = every_stack_changed(1000, generate::SERVICES_PER_STACK);
    assert_eq!(stacks.len(), 50);
    let mut largest = 0;
    for stack in &stacks {
        let text = markdown(&repo, stack);
        assert!(!text.contains("left out"), "{stack}: {text}");
        assert!(text.contains("to change"), "{stack}: {text}");
        largest = largest.max(text.chars().count());
    }
    eprintln!("largest comment: {largest} characters");
    // Fifty stacks valid are counted, not named on one line.
    let run = repo.run(&["validate", "--all", "--var", "VERSION=v1.0.0"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stderr.starts_with("✓ 50 stacks: ") && run.stderr.contains(" files valid"),
        "{}",
        run.stderr
    );
}

/// One stack of 300 services, every resource changed: the comment is cut at
/// a component boundary with a line saying how much was left out and how to
/// see it, and is the same bytes on a re-run.
#[test]
fn markdown_of_a_change_too_large_for_one_comment_is_cut_and_says_so() {
    let (repo, stacks) = every_stack_changed(300, 300);
    let text = markdown(&repo, &stacks[0]);
    assert_contains(
        &text,
        &["sections left out to keep this comment under 60000 characters; see everything with `"],
    );
    assert!(
        text.trim_end().ends_with("._"),
        "{}",
        &text[text.len() - 300..]
    );
    assert_eq!(
        text.matches("<details>").count(),
        text.matches("</details>").count()
    );
    assert_eq!(markdown(&repo, &stacks[0]), text);
}
