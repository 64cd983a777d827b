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
    // ECS Exec's agent writes under /var/lib/amazon/ssm and crashes on a
    // read-only root (aws-containers/amazon-ecs-exec-checker#21).
    if service.exec && service.read_only_root_filesystem {
        diagnostics.push(
            Diagnostic::error(
                Code::InvalidValue,
                "`exec` needs a writable root file system, and `read_only_root_filesystem` is true",
            )
            .at(doc.span_of("/exec"))
            .help("ECS Exec's agent writes into the container: turn one of the two off"),
        );
    }
    // "Condition values per rule: 5" (Application Load Balancer quotas);
    // a rollout's test route adds its header's.
    if let Some(expose) = &service.expose {
        let paths = super::route_paths(expose).len();
        let values = paths + expose.hosts.len() + expose.allowed_source_ips.len();
        let room = match infra.rollout.shifts_traffic() {
            true => 4,
            false => 5,
        };
        if values > room {
            diagnostics.push(
                Diagnostic::error(
                    Code::OutOfRange,
                    format!(
                        "the service's listener rule would have {values} condition values ({paths} paths, {} hosts, {} source addresses), and a load balancer takes at most {room}{}",
                        expose.hosts.len(),
                        expose.allowed_source_ips.len(),
                        if room == 4 { " with a rollout's test route" } else { "" }
                    ),
                )
                .at(doc.span_of("/expose"))
                .help("route fewer paths or hosts (a path pattern with `*` covers many), or split the service's routes between components"),
            );
        }
    }
    if let Some(check) = &service.container_health_check
        && !matches!(check.command.first().map(String::as_str), Some("CMD" | "CMD-SHELL"))
    {
        diagnostics.push(
            Diagnostic::error(
                Code::InvalidValue,
                "a container health check's `command` starts with `CMD` or `CMD-SHELL`",
            )
            .at(doc.span_of("/container_health_check/command"))
            .help("write `[CMD-SHELL, \"curl -f http://localhost/ || exit 1\"]`, or `[CMD, program, args…]`"),
        );
    }
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
        let Some(id) = secret.secret() else {
            continue;
        };
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
        // What only a load balancer measures.
        let measured = [
            (
                scaling.response_time_ms.is_some(),
                "response_time_ms",
                "the load balancer's response time",
            ),
            (
                scaling.requests_per_target.is_some(),
                "requests_per_target",
                "load balancer requests",
            ),
        ];
        for (_, key, what) in measured.iter().filter(|(set, ..)| *set) {
            if service.expose.is_none() {
                diagnostics.push(
                    Diagnostic::error(
                        Code::InvalidValue,
                        format!("`{key}` scales on {what}, but this service is not exposed"),
                    )
                    .at(infra_span(&format!("/autoscaling/{key}")))
                    .help("scale on `cpu_target` or `memory_target`, or expose the service"),
                );
            }
        }
    }
    if infra.on_demand_base > 0 && infra.capacity != super::Capacity::Spot {
        diagnostics.push(
            Diagnostic::error(
                Code::InvalidValue,
                "`on_demand_base` says how many tasks stay off Spot, but this service does not run on Spot",
            )
            .at(infra_span("/on_demand_base"))
            .help("add `capacity: spot`, or remove `on_demand_base`: every task already runs on regular Fargate"),
        );
    }
    check_rollout(&infra.rollout, service.expose.is_some(), &infra_span, diagnostics);
    for d in &mut diagnostics[before..] {
        d.note_origin(doc.file, sources);
    }
    !diagnostics[before..].iter().any(Diagnostic::is_error)
}

/// Where ECS documents what a rollout needs.
const TRAFFIC_SHIFT_DOCS: &str =
    "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/alb-resources-for-blue-green.html";
const ALARM_DOCS: &str =
    "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-alarm-failure.html";
const STRATEGY_DOCS: &str =
    "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentConfiguration.html";

/// What ECS refuses of a `rollout:` that the schema cannot say: a traffic
/// shift, or an alarm on load balancer metrics, for a service without a load
/// balancer; options that belong to another strategy (ECS ignores them, which
/// would leave the reader believing they apply).
fn check_rollout(
    rollout: &Rollout,
    exposed: bool,
    at: &dyn Fn(&str) -> Span,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let strategy = rollout.strategy;
    let invalid = |message: String, pointer: &str, help: String| {
        Diagnostic::error(Code::InvalidRollout, message)
            .at(at(pointer))
            .help(help)
    };
    if rollout.shifts_traffic() && !exposed {
        let help = if strategy == Strategy::BlueGreen {
            format!("expose the service, or write `shift_traffic: false` to run it blue/green without traffic to move (see {TRAFFIC_SHIFT_DOCS})")
        } else {
            format!("expose the service, or use `strategy: rolling` (see {TRAFFIC_SHIFT_DOCS})")
        };
        diagnostics.push(invalid(
            format!(
                "`strategy: {}` moves traffic through the load balancer, but this service is not exposed",
                strategy.name()
            ),
            "/rollout/strategy",
            help,
        ));
    }
    if !rollout.shift_traffic && strategy != Strategy::BlueGreen {
        diagnostics.push(invalid(
            format!("`shift_traffic: false` is for `strategy: blue-green`; `{}` has no such choice", strategy.name()),
            "/rollout/shift_traffic",
            format!("remove `shift_traffic`, or use `strategy: blue-green` (see {STRATEGY_DOCS})"),
        ));
    }
    let belongs: [(&str, bool, &str); 5] = [
        ("canary_percent", rollout.canary_percent.is_some() && strategy != Strategy::Canary, "canary"),
        ("step_percent", rollout.step_percent.is_some() && strategy != Strategy::Linear, "linear"),
        (
            "step_minutes",
            rollout.step_minutes.is_some() && !matches!(strategy, Strategy::Canary | Strategy::Linear),
            "canary or linear",
        ),
        ("bake_minutes", rollout.bake_minutes.is_some() && strategy == Strategy::Rolling, "blue-green, canary or linear"),
        ("test_path", rollout.test_path.is_some() && !rollout.shifts_traffic(), "blue-green, canary or linear behind the load balancer"),
    ];
    for (key, misplaced, owner) in belongs {
        if misplaced {
            diagnostics.push(invalid(
                format!("`{key}` applies to a {owner} rollout, and this one is `{}`", strategy.name()),
                &format!("/rollout/{key}"),
                format!("set `strategy:` to the one you mean, or remove `{key}` (see {STRATEGY_DOCS})"),
            ));
        }
    }
    if !rollout.hooks.is_empty() && strategy == Strategy::Rolling {
        diagnostics.push(invalid(
            "lifecycle hooks run in blue-green, canary and linear deployments, and this one is `rolling`".into(),
            "/rollout/hooks",
            "choose one of those strategies, or remove `hooks` (see https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-lifecycle-hooks.html)".into(),
        ));
    }
    if !exposed {
        for (key, set) in [
            ("error_rate_percent", rollout.alarms.error_rate_percent.is_some()),
            ("p99_latency_ms", rollout.alarms.p99_latency_ms.is_some()),
        ] {
            if set {
                diagnostics.push(invalid(
                    format!("`alarms.{key}` is measured by the load balancer, but this service is not exposed"),
                    &format!("/rollout/alarms/{key}"),
                    format!("watch an alarm of your own with `alarms.names`, or expose the service (see {ALARM_DOCS})"),
                ));
            }
        }
    }
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
