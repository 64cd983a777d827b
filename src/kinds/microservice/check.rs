//! What the microservice schema cannot say, checked on the typed model with
//! the expanded document at hand for positions (the validate stage's work).

use super::*;
use crate::diagnostic::{Code, Diagnostic};
use crate::expand::Expanded;
use crate::schema::FileKind;
use crate::source::{Sources, Span};
use crate::node::Node;
use crate::validate::{CheckKind, Config, KindInput};

/// What the schema cannot say. Returns false when something is wrong.
pub fn check(
    service: &Microservice,
    infra: &Infra,
    doc: &Expanded,
    infra_doc: Option<&Expanded>,
    sources: &Sources,
    diagnostics: &mut Vec<Diagnostic>,
) -> bool {
    let before = diagnostics.len();
    for (name, value) in &service.env {
        if looks_secret(name)
            && !service.not_secrets.contains(name)
            && !value.0.is_empty()
            && !value.0.contains(crate::expand::template::REF_START)
        {
            diagnostics.push(
                Diagnostic::warning(
                    Code::PlainSecret,
                    format!("`{name}` looks like a secret, and its value is written here in plain text"),
                )
                .at(doc.span_of(&format!("/env/{name}")))
                .help(format!("put it in AWS Secrets Manager and name it under `secrets:` (`{name}: <secret name>`); if it is no secret, add `{name}` to `not_secrets:`")),
            );
        }
    }
    let infra_span =
        |pointer: &str| infra_doc.map_or(Span::file_start(doc.file), |d| d.span_of(pointer));
    if service.expose.is_some() && service.port.is_none() {
        diagnostics.push(
            Diagnostic::error(Code::MissingField, "an exposed service needs a `port`")
                .at(doc.span_of("/expose"))
                .help("add `port: 8080` (the port the container listens on)"),
        );
    }
    let hc = &service.health_check;
    if hc.timeout_seconds >= hc.interval_seconds {
        diagnostics.push(
            Diagnostic::error(
                Code::OutOfRange,
                format!(
                    "`health_check.timeout_seconds` ({}) must be less than `interval_seconds` ({})",
                    hc.timeout_seconds, hc.interval_seconds
                ),
            )
            .at(doc.span_of("/health_check/timeout_seconds")),
        );
    }
    for (name, secret) in &service.secrets {
        if service.env.contains_key(name) {
            diagnostics.push(
                Diagnostic::error(
                    Code::Conflict,
                    format!("`{name}` is both an environment variable and a secret"),
                )
                .at(doc.span_of(&format!("/secrets/{name}")))
                .also(doc.span_of(&format!("/env/{name}")), "also set here"),
            );
        }
        let id = secret.secret();
        if id.starts_with("arn:") && !is_secret_arn(id) {
            diagnostics.push(
                Diagnostic::error(Code::PatternMismatch, format!("secret `{name}` is not a Secrets Manager ARN: `{id}`"))
                    .at(doc.span_of(&format!("/secrets/{name}")))
                    .help("give the secret's name, or an ARN like arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME"),
            );
        }
    }
    let memory = fargate_memory(infra.cpu);
    if !memory.contains(&infra.memory) {
        let shown: Vec<String> = if memory.len() > 8 {
            vec![
                memory[0].to_string(),
                "…".into(),
                memory[memory.len() - 1].to_string(),
                format!("in steps of {}", memory[1] - memory[0]),
            ]
        } else {
            memory.iter().map(u32::to_string).collect()
        };
        diagnostics.push(
            Diagnostic::error(
                Code::OutOfRange,
                format!(
                    "Fargate does not run {} MiB of memory with {} CPU units",
                    infra.memory, infra.cpu
                ),
            )
            .at(infra_span("/memory"))
            .help(format!(
                "with cpu {}, memory can be {}",
                infra.cpu,
                shown.join(", ")
            )),
        );
    }
    if let Some(scaling) = &infra.autoscaling {
        if scaling.min > scaling.max {
            diagnostics.push(
                Diagnostic::error(
                    Code::OutOfRange,
                    format!(
                        "`autoscaling.min` ({}) is more than `autoscaling.max` ({})",
                        scaling.min, scaling.max
                    ),
                )
                .at(infra_span("/autoscaling/min")),
            );
        }
        if scaling.requests_per_target.is_some() && service.expose.is_none() {
            diagnostics.push(
                Diagnostic::error(Code::InvalidValue, "`requests_per_target` scales on load balancer requests, but this service is not exposed")
                    .at(infra_span("/autoscaling/requests_per_target"))
                    .help("scale on `cpu_target` or `memory_target`, or expose the service"),
            );
        }
    }
    for d in &mut diagnostics[before..] {
        d.note_origin(doc.file, sources);
    }
    !diagnostics[before..].iter().any(Diagnostic::is_error)
}

fn is_secret_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(7, ':').collect();
    parts.len() == 7 && parts[2] == "secretsmanager" && parts[5] == "secret" && !parts[6].is_empty()
}

/// Names that usually hold secrets: `*password*`, `*secret*`, `*token*`,
/// `*api_key*`, `*private_key*` (case-insensitive, `-` and `_` alike).
pub fn looks_secret(name: &str) -> bool {
    let name = name.to_lowercase().replace('-', "_");
    [
        "password",
        "passwd",
        "secret",
        "token",
        "api_key",
        "apikey",
        "private_key",
    ]
    .iter()
    .any(|w| name.contains(w))
}

impl CheckKind for MicroserviceSpec {
    /// microservice.yaml and infra.yaml are both read (and their errors both
    /// reported) before either's checks.
    fn check(input: &KindInput<'_>, diagnostics: &mut Vec<Diagnostic>) -> Option<Self> {
        let settings = input.read::<Self>(diagnostics);
        let component = input.component;
        let infra = match &component.infra {
            Some(d) => crate::validate::check::<Infra>(
                FileKind::Infra,
                &d.root,
                d.file,
                input.sources,
                diagnostics,
            ),
            None if component.infra_failed => None,
            None => Some(Infra::default()),
        };
        let (settings, infra) = (settings?, infra?);
        let ok = check(
            &settings,
            &infra,
            input.doc,
            component.infra.as_ref(),
            input.sources,
            diagnostics,
        );
        ok.then(|| MicroserviceSpec {
            settings: Box::new(settings),
            infra,
        })
    }

    fn check_configs(&self, configs: &[Config], diagnostics: &mut Vec<Diagnostic>) {
        for config in configs {
            plain_secrets_in_config(&config.root, &self.settings.not_secrets, diagnostics);
        }
    }
}

/// Config keys that look like secrets and hold literal text (see
/// [`looks_secret`]): a warning each, at the key.
fn plain_secrets_in_config(node: &Node, allowed: &[String], diagnostics: &mut Vec<Diagnostic>) {
    match &node.value {
        crate::node::Value::Map(map) => {
            for (key, value) in &map.entries {
                if looks_secret(&key.name)
                    && !allowed.contains(&key.name)
                    && matches!(&value.value, crate::node::Value::Str(s) if !s.is_empty() && !s.contains(crate::expand::template::REF_START))
                {
                    diagnostics.push(
                        Diagnostic::warning(
                            Code::PlainSecret,
                            format!("config key `{}` looks like a secret, and its value is written here in plain text: it would be in the program, the state and every diff", key.name),
                        )
                        .at(key.span)
                        .help(format!("deliver it from Secrets Manager with `secrets:` in microservice.yaml instead; if it is no secret, add `{}` to `not_secrets:`", key.name)),
                    );
                }
                plain_secrets_in_config(value, allowed, diagnostics);
            }
        }
        crate::node::Value::Seq(items) => {
            for item in items {
                plain_secrets_in_config(item, allowed, diagnostics);
            }
        }
        _ => {}
    }
}
