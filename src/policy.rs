//! The platform team's rules (`policies.yaml` at the repository's root),
//! checked on every plan before anything changes: each rule's `when` is a CEL
//! expression (the `cel` crate) over a documented model of the plan
//! ([`PlanModel`]). A rule that names `change` is asked once per changed
//! component; any other once per plan.
//!
//! The file is read like every other (spans, the schema, file:line errors);
//! an expression that does not parse, names a field the model does not have,
//! or does not give true or false is an error at its line, found by
//! `validate` before any plan meets it.

use crate::diagnostic::{Code, Diagnostic};
use crate::load::{Loader, Repo};
use crate::model::policy::{Effect, PolicyFile, Rule};
use crate::schema::FileKind;
use crate::source::Sources;
use serde::Serialize;

/// The file's name at the repository's root.
pub const FILE: &str = "policies.yaml";

/// The fields of the model, for checking a rule and for its error's help.
const FIELDS: &[(&str, &[&str])] = &[
    (
        "plan",
        &[
            "monthly_cost_delta",
            "monthly_cost_before",
            "monthly_cost_after",
            "creates",
            "updates",
            "replaces",
            "deletes",
        ],
    ),
    ("stack", &["name"]),
    (
        "environment",
        &[
            "name",
            "production",
            "approval_required",
            "account",
            "region",
        ],
    ),
    (
        "change",
        &[
            "component",
            "kind",
            "op",
            "impact",
            "resources",
            "monthly_cost_delta",
        ],
    ),
];

/// What a rule sees: the plan, the stack, the environment.
#[derive(Clone, Debug, Serialize)]
pub struct PlanModel {
    pub plan: PlanFacts,
    pub stack: StackFacts,
    pub environment: EnvironmentFacts,
    pub changes: Vec<ChangeFacts>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct PlanFacts {
    /// The change in the estimated monthly cost, in US dollars (the high end
    /// of the range).
    pub monthly_cost_delta: f64,
    pub monthly_cost_before: f64,
    pub monthly_cost_after: f64,
    /// Live resources taken over as they are (an environment's `adopt:`).
    pub imports: u64,
    pub creates: u64,
    pub updates: u64,
    pub replaces: u64,
    pub deletes: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct StackFacts {
    pub name: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct EnvironmentFacts {
    pub name: String,
    pub production: bool,
    pub approval_required: bool,
    pub account: String,
    pub region: String,
}

/// One changed component.
#[derive(Clone, Debug, Serialize)]
pub struct ChangeFacts {
    /// `service/component`, or `_stack`.
    pub component: String,
    /// `microservice`, `rds`, `sqs`, `cache`, or `stack`.
    pub kind: String,
    /// The strongest operation on its resources: `delete`, `replace`,
    /// `update` or `create`.
    pub op: String,
    /// What it goes through while it deploys (`ops::impact`): `data-loss`,
    /// `downtime`, `disruption` or `none`.
    pub impact: String,
    pub resources: Vec<ResourceFacts>,
    pub monthly_cost_delta: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct ResourceFacts {
    pub name: String,
    pub op: String,
}

/// A rule and its compiled expression.
pub struct CompiledRule {
    pub rule: Rule,
    program: cel::Program,
    per_change: bool,
}

/// The repository's policies, ready to ask.
pub struct Policies {
    pub rules: Vec<CompiledRule>,
}

/// How one rule came out on a plan.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct RuleResult {
    pub name: String,
    pub effect: Effect,
    pub matched: bool,
    /// The changed components it matched (a rule that names `change`).
    pub changes: Vec<String>,
    pub message: Option<String>,
}

/// `policies.yaml` read and checked: the policies when it exists and holds
/// no error, and what is wrong with it.
pub struct Loaded {
    pub policies: Option<Policies>,
    pub diagnostics: Vec<Diagnostic>,
    pub sources: Sources,
}

/// Reads `policies.yaml` of `repo`, if it has one.
pub fn load(repo: &Repo) -> Loaded {
    let mut sources = Sources::default();
    let path = repo.root.join(FILE);
    if !path.exists() {
        return Loaded {
            policies: None,
            diagnostics: Vec::new(),
            sources,
        };
    }
    let (doc, mut diagnostics) = {
        let mut loader = Loader::new(repo, &mut sources);
        let doc = loader.parse_file(&path);
        (doc, loader.diagnostics)
    };
    let Some(doc) = doc else {
        return Loaded {
            policies: None,
            diagnostics,
            sources,
        };
    };
    let Some(file) = crate::validate::check::<PolicyFile>(
        FileKind::Policies,
        &doc.root,
        doc.file,
        &sources,
        &mut diagnostics,
    ) else {
        return Loaded {
            policies: None,
            diagnostics,
            sources,
        };
    };
    let mut rules = Vec::new();
    for (i, rule) in file.rules.into_iter().enumerate() {
        let span = doc.root.locate(&format!("/rules/{i}/when")).0;
        let invalid = |message: String| {
            Diagnostic::error(Code::InvalidPolicy, message)
                .at(span)
                .help(model_help())
        };
        let program = match cel::Program::compile(&rule.when) {
            Ok(program) => program,
            Err(e) => {
                diagnostics.push(invalid(format!(
                    "rule `{}`: `when` is not a CEL expression: {}",
                    rule.name,
                    e.to_string().lines().next().unwrap_or_default()
                )));
                continue;
            }
        };
        if let Some(field) = unknown_field(&rule.when) {
            diagnostics.push(invalid(format!(
                "rule `{}` names `{field}`, which the plan's model does not have",
                rule.name
            )));
            continue;
        }
        let per_change = program.references().has_variable("change");
        let compiled = CompiledRule {
            rule,
            program,
            per_change,
        };
        // Asked once of a model with every field, an expression that cannot
        // give true or false fails here, not on a plan.
        if let Err(why) = compiled.ask(&PlanModel::sample(), Some(&ChangeFacts::sample())) {
            diagnostics.push(invalid(format!("rule `{}`: {why}", compiled.rule.name)));
            continue;
        }
        rules.push(compiled);
    }
    let has_errors = diagnostics.iter().any(Diagnostic::is_error);
    Loaded {
        policies: (!has_errors).then_some(Policies { rules }),
        diagnostics,
        sources,
    }
}

/// The repository's policies for a flow that plans or deploys: none without
/// `policies.yaml`; an error (naming the first problem and where) when the
/// file has one, so an invalid policy never lets a change through.
pub fn required(repo: &Repo) -> crate::error::Result<Option<Policies>> {
    let loaded = load(repo);
    let errors: Vec<&Diagnostic> = loaded.diagnostics.iter().filter(|d| d.is_error()).collect();
    if let Some(first) = errors.first() {
        let place = match first.span {
            Some(span) => {
                let file = loaded.sources.get(span.file);
                let (line, column) = file.line_col(span.start as usize);
                format!("{}:{line}:{column}", file.display)
            }
            None => FILE.to_string(),
        };
        return Err(crate::error::Error::failed(format!(
            "{FILE} has {} error{}, the first at {place}: {}; nothing was changed",
            errors.len(),
            if errors.len() == 1 { "" } else { "s" },
            first.message
        ))
        .with_help("`deployer validate` shows them all"));
    }
    Ok(loaded.policies)
}

/// `plan.x`, `change.y`…: a field after one of the model's names that the
/// model does not have (quoted text aside).
fn unknown_field(expression: &str) -> Option<String> {
    let mut text = String::new();
    let mut quote = None;
    for c in expression.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None => text.push(c),
        }
    }
    let words: Vec<&str> = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        .collect();
    for word in words {
        let mut parts = word.split('.');
        let (Some(root), Some(field)) = (parts.next(), parts.next()) else {
            continue;
        };
        if let Some((_, fields)) = FIELDS.iter().find(|(name, _)| *name == root)
            && !fields.contains(&field)
        {
            return Some(format!("{root}.{field}"));
        }
    }
    None
}

fn model_help() -> String {
    let fields: Vec<String> = FIELDS
        .iter()
        .map(|(root, fields)| format!("{root}.{{{}}}", fields.join(", ")))
        .collect();
    format!(
        "the model: {} (docs/guide.md, \"Policies\")",
        fields.join("; ")
    )
}

impl CompiledRule {
    /// The rule's answer on `model` (and `change`, for a rule that names it).
    fn ask(&self, model: &PlanModel, change: Option<&ChangeFacts>) -> Result<bool, String> {
        let mut context = cel::Context::default();
        give(&mut context, "plan", &model.plan)?;
        give(&mut context, "stack", &model.stack)?;
        give(&mut context, "environment", &model.environment)?;
        if let Some(change) = change {
            give(&mut context, "change", change)?;
        }
        match self.program.execute(&context) {
            Ok(cel::Value::Bool(answer)) => Ok(answer),
            Ok(other) => Err(format!("`when` gives {other:?}, not true or false")),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// Gives a part of the model to an expression as variable `name`.
fn give<T: Serialize>(context: &mut cel::Context, name: &str, value: &T) -> Result<(), String> {
    context
        .add_variable(name, value)
        .map_err(|e| format!("cannot give `{name}` to the expression: {e}"))
}

impl Policies {
    /// Every rule's result on `model`; an expression that fails on it is an
    /// error naming the rule (a policy that cannot be asked does not let a
    /// change through).
    pub fn evaluate(&self, model: &PlanModel) -> Result<Vec<RuleResult>, String> {
        let mut results = Vec::new();
        for compiled in &self.rules {
            let rule = &compiled.rule;
            let failed = |why: String| format!("policy `{}` could not be asked: {why}", rule.name);
            let (matched, changes) = if compiled.per_change {
                let mut changes = Vec::new();
                for change in &model.changes {
                    if compiled.ask(model, Some(change)).map_err(failed)? {
                        changes.push(change.component.clone());
                    }
                }
                (!changes.is_empty(), changes)
            } else {
                (compiled.ask(model, None).map_err(failed)?, Vec::new())
            };
            results.push(RuleResult {
                name: rule.name.clone(),
                effect: rule.effect,
                matched,
                changes,
                message: rule.message.clone(),
            });
        }
        Ok(results)
    }
}

impl RuleResult {
    /// `no-database-replacement-in-production (email-service/database):
    /// Production data stores are never replaced…`.
    pub fn describe(&self) -> String {
        let mut text = format!("`{}`", self.name);
        if !self.changes.is_empty() {
            text.push_str(&format!(" ({})", self.changes.join(", ")));
        }
        if let Some(message) = &self.message {
            text.push_str(&format!(": {message}"));
        }
        text
    }
}

impl PlanModel {
    /// A model with every field, for checking rules.
    fn sample() -> PlanModel {
        PlanModel {
            plan: PlanFacts::default(),
            stack: StackFacts {
                name: "stack".into(),
            },
            environment: EnvironmentFacts {
                name: "production".into(),
                production: true,
                approval_required: true,
                account: "123456789012".into(),
                region: "us-east-1".into(),
            },
            changes: vec![ChangeFacts::sample()],
        }
    }
}

impl ChangeFacts {
    fn sample() -> ChangeFacts {
        ChangeFacts {
            component: "service/component".into(),
            kind: "rds".into(),
            op: "replace".into(),
            impact: "data-loss".into(),
            resources: vec![ResourceFacts {
                name: "resource".into(),
                op: "replace".into(),
            }],
            monthly_cost_delta: 0.0,
        }
    }
}
