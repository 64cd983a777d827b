//! One diagnostic type for every stage, rendered compiler-style or as JSON.
//!
//! A diagnostic has a stable [`Code`], a message, an optional primary span (or a
//! path when the problem is a folder or a missing file), secondary labels, notes
//! and a `help:` line. Stages collect them instead of stopping at the first, so a
//! user sees every problem in one run.

use crate::source::{FileId, Sources, Span};
use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

macro_rules! codes {
    ($($variant:ident => $name:literal: $doc:literal,)*) => {
        /// Stable diagnostic codes. The string form is what users see and search for;
        /// `docs/errors.md` lists them all.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code { $(#[doc = $doc] $variant,)* }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $name,)* }
            }

            pub fn description(self) -> &'static str {
                match self { $(Code::$variant => $doc,)* }
            }
        }
    };
}

codes! {
    YamlSyntax => "yaml-syntax": "The file is not valid YAML.",
    DuplicateKey => "duplicate-key": "A mapping has the same key twice.",
    UnsupportedYaml => "unsupported-yaml": "A YAML feature deployer does not accept (custom tags, complex keys, several documents).",
    NotUtf8 => "not-utf8": "The file is not valid UTF-8 text.",
    EmptyFile => "empty-file": "The file holds no document.",
    Io => "io": "The file or folder could not be read.",
    UnknownStack => "unknown-stack": "No stack of that name in the repository.",
    NotARepository => "not-a-repository": "The folder is not a deployment repository (no `stacks/`).",
    MissingFile => "missing-file": "A required file (stack.yaml, service.yaml) is missing.",
    NoKindFile => "no-kind-file": "A component folder has no kind file (`<kind>.yaml`, such as microservice.yaml).",
    MultipleKindFiles => "multiple-kind-files": "A component folder has more than one kind file.",
    UnexpectedFile => "unexpected-file": "A file deployer does not know in a place where it expects its own files.",
    InvalidName => "invalid-name": "A stack, service, component or environment name is not DNS-safe.",
    SymlinkEscape => "symlink-escape": "A symbolic link points outside the repository.",
    UnknownKey => "unknown-key": "A key the schema does not define.",
    WrongType => "wrong-type": "A value of the wrong type.",
    MissingField => "missing-field": "A required field is missing.",
    InvalidValue => "invalid-value": "A value that is not one of the allowed ones.",
    OutOfRange => "out-of-range": "A number or length outside its allowed range.",
    PatternMismatch => "pattern-mismatch": "A string that does not have the required form.",
    SchemaViolation => "schema-violation": "Any other schema rule that a value breaks.",
    UnknownEnvironment => "unknown-environment": "An overlay or option names an environment the stack does not declare.",
    UndeclaredVariable => "undeclared-variable": "A variable given on the command line that the stack does not declare.",
    MissingVariable => "missing-variable": "A required variable without a value.",
    InvalidVariable => "invalid-variable": "A variable value that does not match its pattern, or a malformed --var.",
    MissingPreset => "missing-preset": "`extends` names a preset file that does not exist.",
    PresetCycle => "preset-cycle": "Presets extend each other in a cycle.",
    PresetOutsideShared => "preset-outside-shared": "`extends` names a file outside the repository's `shared/` folder.",
    TemplateSyntax => "template-syntax": "A template expression that does not parse.",
    UndefinedName => "undefined-name": "A template uses a name that is not defined.",
    FuelExhausted => "fuel-exhausted": "A template ran for too long (loop or recursion), or needed too much time or memory, and was stopped.",
    TemplateAccess => "template-access": "A template tried to load a file outside `shared/`.",
    TemplateError => "template-error": "A template failed while rendering.",
    UnknownComponent => "unknown-component": "`uses` or a reference names a component the stack does not have.",
    UnknownOutput => "unknown-output": "A reference names an output the component kind does not have.",
    InvalidUse => "invalid-use": "A component uses another in a way its kind does not allow.",
    DependencyCycle => "dependency-cycle": "Components depend on each other in a cycle.",
    Conflict => "conflict": "Two components claim the same thing (route, environment variable, name).",
    InvalidConfig => "invalid-config": "A config file is not a mapping, or too large to deliver.",
    PlainSecret => "plain-secret": "A value whose name looks like a secret (password, token, API key) is written in plain text instead of coming from Secrets Manager.",
    InvalidRollout => "invalid-rollout": "A `rollout:` that ECS would refuse: a traffic shift or a load balancer alarm on a service without a load balancer, or an option of another strategy.",
    InvalidPolicy => "invalid-policy": "A rule of policies.yaml whose `when` does not parse as CEL, names a field the plan's model does not have, or does not give true or false.",
    InvalidAdoption => "invalid-adoption": "An environment's `adopt:` in stack.yaml names a resource its compiled program does not declare, so the live resource would never be imported.",
    NameTooLong => "name-too-long": "An AWS name derived from the stack, environment, service and component would be longer than its resource type allows.",
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A secondary span with a label, e.g. "first defined here".
#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: Code,
    pub message: String,
    /// Where the problem is. `None` with a `path` for folder-level problems.
    pub span: Option<Span>,
    /// Label under the primary span.
    pub label: Option<String>,
    /// Repository-relative path for problems that have no span (a folder, a missing file).
    pub path: Option<String>,
    pub labels: Vec<Label>,
    pub notes: Vec<String>,
    pub help: Option<String>,
}

impl Diagnostic {
    /// A problem in a value that came from a preset is shown at the preset's
    /// line; say which file it was merged into, since the preset may serve many.
    pub fn note_origin(&mut self, file: FileId, sources: &Sources) {
        if let Some(span) = self.span
            && span.file != file
        {
            self.notes.push(format!(
                "this value comes from {} and is merged into {}",
                sources.get(span.file).display,
                sources.get(file).display
            ));
        }
    }

    pub fn error(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            span: None,
            label: None,
            path: None,
            labels: Vec::new(),
            notes: Vec::new(),
            help: None,
        }
    }

    pub fn warning(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }

    pub fn at(mut self, span: Span) -> Self {
        self.span = Some(span);
        self
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn in_path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    pub fn also(mut self, span: Span, message: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The file this diagnostic is about, for sorting and counting.
    pub fn file_display(&self, sources: &Sources) -> Option<String> {
        match (self.span, &self.path) {
            (Some(span), _) => Some(sources.get(span.file).display.clone()),
            (None, Some(path)) => Some(path.clone()),
            _ => None,
        }
    }

    fn sort_key(&self, sources: &Sources) -> (String, u32, Code, String) {
        (
            self.file_display(sources).unwrap_or_default(),
            self.span.map_or(0, |s| s.start),
            self.code,
            self.message.clone(),
        )
    }
}

/// Sorts diagnostics by file and position and drops exact repeats (the same file is
/// checked once per environment, so the same problem can be found several times).
pub fn sort_and_dedup(diagnostics: &mut Vec<Diagnostic>, sources: &Sources) {
    diagnostics.sort_by_cached_key(|d| d.sort_key(sources));
    diagnostics.dedup_by(|a, b| {
        a.code == b.code && a.span == b.span && a.path == b.path && a.message == b.message
    });
}

/// Whether a rendered diagnostic carries terminal colours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Colour {
    Plain,
    Terminal,
}

/// Renders one diagnostic the way rustc does: title, location, snippet, notes, help.
pub fn render(diagnostic: &Diagnostic, sources: &Sources, colour: Colour) -> String {
    let level = match diagnostic.severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
    };
    let title = level
        .primary_title(diagnostic.message.as_str())
        .id(diagnostic.code.as_str());
    let mut group = Group::with_title(title);
    if let Some(span) = diagnostic.span {
        // Each snippet is given only the lines it shows (`lines_around`):
        // the renderer scans what it is given, and a whole file per
        // diagnostic made 10,000 problems in one file quadratic.
        let file = sources.get(span.file);
        let primary_range = span_for_snippet(span, &file.text);
        let same_file: Vec<(&Label, std::ops::Range<usize>)> = diagnostic
            .labels
            .iter()
            .filter(|l| l.span.file == span.file)
            .map(|l| (l, span_for_snippet(l.span, &file.text)))
            .collect();
        let mut ranges = vec![primary_range.clone()];
        ranges.extend(same_file.iter().map(|(_, r)| r.clone()));
        let (text, offset, line) = file.lines_around(&ranges);
        let shift = |r: &std::ops::Range<usize>| r.start - offset..r.end - offset;
        let mut primary = AnnotationKind::Primary.span(shift(&primary_range));
        if let Some(label) = &diagnostic.label {
            primary = primary.label(label.as_str());
        }
        let mut snippet = Snippet::source(text)
            .line_start(line)
            .path(file.display.as_str())
            .annotation(primary);
        for (label, range) in &same_file {
            snippet = snippet.annotation(
                AnnotationKind::Context
                    .span(shift(range))
                    .label(label.message.as_str()),
            );
        }
        group = group.element(snippet);
        for label in diagnostic
            .labels
            .iter()
            .filter(|l| l.span.file != span.file)
        {
            let other = sources.get(label.span.file);
            let range = span_for_snippet(label.span, &other.text);
            let (text, offset, line) = other.lines_around(std::slice::from_ref(&range));
            group = group.element(
                Snippet::source(text)
                    .line_start(line)
                    .path(other.display.as_str())
                    .annotation(
                        AnnotationKind::Context
                            .span(range.start - offset..range.end - offset)
                            .label(label.message.as_str()),
                    ),
            );
        }
    } else if let Some(path) = &diagnostic.path {
        group = group.element(annotate_snippets::Origin::path(path.as_str()));
    }
    for note in &diagnostic.notes {
        group = group.element(Level::NOTE.message(note.as_str()));
    }
    if let Some(help) = &diagnostic.help {
        group = group.element(Level::HELP.message(help.as_str()));
    }
    let renderer = if colour == Colour::Terminal {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    renderer.render(&[group])
}

/// Empty spans are widened to one character so the caret has something to sit
/// under; spans are clipped to the text so a stale span can never panic.
fn span_for_snippet(span: Span, text: &str) -> std::ops::Range<usize> {
    let start = (span.start as usize).min(text.len());
    let mut end = (span.end as usize).clamp(start, text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    if end == start {
        end = text[start..].chars().next().map_or(start, |c| {
            if c == '\n' {
                start
            } else {
                start + c.len_utf8()
            }
        });
    }
    start..end
}

/// The machine-readable form of a diagnostic, for editors and CI annotations.
#[derive(Serialize)]
pub struct JsonDiagnostic {
    pub severity: Severity,
    pub code: &'static str,
    pub message: String,
    pub file: Option<String>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub end_line: Option<usize>,
    pub end_column: Option<usize>,
    pub label: Option<String>,
    pub notes: Vec<String>,
    pub help: Option<String>,
}

impl JsonDiagnostic {
    pub fn new(d: &Diagnostic, sources: &Sources) -> JsonDiagnostic {
        let (mut line, mut column, mut end_line, mut end_column) = (None, None, None, None);
        if let Some(span) = d.span {
            let file = sources.get(span.file);
            let (l, c) = file.line_col(span.start as usize);
            let (el, ec) = file.line_col(span.end as usize);
            (line, column, end_line, end_column) = (Some(l), Some(c), Some(el), Some(ec));
        }
        JsonDiagnostic {
            severity: d.severity,
            code: d.code.as_str(),
            message: d.message.clone(),
            file: d.file_display(sources),
            line,
            column,
            end_line,
            end_column,
            label: d.label.clone(),
            notes: d.notes.clone(),
            help: d.help.clone(),
        }
    }
}

/// "did you mean `x`?" for a misspelt name, when one candidate is close enough.
pub fn did_you_mean<'a>(
    wrong: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    closest(wrong, candidates).map(|c| format!("did you mean `{c}`?"))
}

pub fn closest<'a>(wrong: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(wrong, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}
