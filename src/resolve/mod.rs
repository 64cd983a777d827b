//! Resolution: what components mean together. Checks `uses` and `ref()`
//! references (a target that does not exist, an output its kind does not have, a
//! cycle), routes that collide, names that collide, and computes each
//! component's tags and wiring. Emission reads only what this stage produces.

pub mod refs;

use crate::diagnostic::{Code, Diagnostic, did_you_mean};
use crate::kinds::Spec;
use crate::kinds::microservice::Visibility;
use crate::model::stack::{EnvironmentSpec, StackFile};
use crate::node::Node;
use crate::source::Span;
use crate::validate::{Config, TypedStack};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// `service/component`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Id {
    pub service: String,
    pub component: String,
}

impl Id {
    /// Prefix of the component's resource names: `email-service-api`.
    pub fn prefix(&self) -> String {
        format!("{}-{}", self.service, self.component)
    }
}

impl std::fmt::Display for Id {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.service, self.component)
    }
}

/// A stack ready to emit for one environment.
#[derive(Debug)]
pub struct ResolvedStack {
    pub name: String,
    pub environment: String,
    pub env: EnvironmentSpec,
    pub stack: StackFile,
    /// Sorted by id, so output never depends on file-system order.
    pub components: Vec<Component>,
}

#[derive(Debug)]
pub struct Component {
    pub id: Id,
    pub spec: Spec,
    pub configs: Vec<Config>,
    /// Every tag for this component's resources, `deployer:*` included.
    pub tags: BTreeMap<String, String>,
    pub uses: Vec<Wire>,
    /// Components this one must come after (uses and references), by index.
    pub after: BTreeSet<usize>,
    /// Listener rule priority, for exposed services.
    pub route_priority: Option<u32>,
    /// Priority of the test listener rule of a rollout that shifts traffic:
    /// the nearest free one before `route_priority`, so test requests (with
    /// the test header) match before production ones.
    pub test_route_priority: Option<u32>,
}

/// One resolved `uses` entry.
#[derive(Clone, Debug)]
pub struct Wire {
    pub target: usize,
    pub access: crate::kinds::Access,
    /// Prefix of the environment variables, e.g. `QUEUE` for `QUEUE_URL`.
    pub env_prefix: String,
}

impl ResolvedStack {
    pub fn index_of(&self, id: &Id) -> Option<usize> {
        self.components.iter().position(|c| &c.id == id)
    }

    pub fn tags_for_stack(&self, role: &str) -> BTreeMap<String, String> {
        let mut tags = base_tags(&self.stack, &self.env);
        tags.insert("deployer:stack".into(), self.name.clone());
        tags.insert("deployer:environment".into(), self.environment.clone());
        tags.insert("deployer:service".into(), "_stack".into());
        tags.insert("deployer:component".into(), format!("_{role}"));
        tags
    }
}

fn base_tags(stack: &StackFile, env: &EnvironmentSpec) -> BTreeMap<String, String> {
    let mut tags: BTreeMap<String, String> = stack
        .tags
        .iter()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect();
    tags.extend(env.tags.iter().map(|(k, v)| (k.clone(), v.0.clone())));
    if let Some(owner) = &stack.owner {
        tags.insert("deployer:owner".into(), owner.clone());
    }
    tags
}

/// Resolves a typed stack; every problem goes to `diagnostics`. `known` lists
/// every component the stack has, including ones that failed validation, so that
/// a reference to a broken component is not reported a second time.
pub fn resolve(
    name: &str,
    stack: &StackFile,
    typed: TypedStack,
    known: &BTreeSet<Id>,
    diagnostics: &mut Vec<Diagnostic>,
) -> ResolvedStack {
    let env = stack.environments[&typed.environment].clone();
    // Each component with its kind file and configs, for pointing at values.
    let mut entries: Vec<(Component, (Node, Vec<Node>))> = Vec::new();
    for service in typed.services {
        for c in service.components {
            let id = Id {
                service: c.service.clone(),
                component: c.name.clone(),
            };
            let mut tags = base_tags(stack, &env);
            tags.extend(
                service
                    .file
                    .tags
                    .iter()
                    .map(|(k, v)| (k.clone(), v.0.clone())),
            );
            if let Some(owner) = &service.file.owner {
                tags.insert("deployer:owner".into(), owner.clone());
            }
            tags.insert("deployer:stack".into(), name.to_string());
            tags.insert("deployer:environment".into(), typed.environment.clone());
            tags.insert("deployer:service".into(), id.service.clone());
            tags.insert("deployer:component".into(), id.component.clone());
            let configs = c.configs.iter().map(|cfg| cfg.root.clone()).collect();
            let component = Component {
                id,
                spec: c.spec,
                configs: c.configs,
                tags,
                uses: Vec::new(),
                after: BTreeSet::new(),
                route_priority: None,
                test_route_priority: None,
            };
            entries.push((component, (c.doc.root, configs)));
        }
    }
    // Sorted by id, so output never depends on file-system order.
    entries.sort_by(|a, b| a.0.id.cmp(&b.0.id));
    let (components, docs): (Vec<Component>, Vec<(Node, Vec<Node>)>) = entries.into_iter().unzip();

    let mut resolved = ResolvedStack {
        name: name.to_string(),
        environment: typed.environment,
        env,
        stack: stack.clone(),
        components,
    };
    let mut edges: Vec<Vec<(usize, Span)>> = vec![Vec::new(); resolved.components.len()];
    check_prefixes(&resolved, &docs, diagnostics);
    for i in 0..resolved.components.len() {
        let (root, configs) = &docs[i];
        let wires = resolve_uses(&resolved, i, root, known, diagnostics);
        for (wire, span) in &wires {
            edges[i].push((wire.target, *span));
        }
        for (target, span) in refs::check(&resolved, i, root, configs, known, diagnostics) {
            // A component may refer to its own outputs (its URL, say): not a cycle.
            if target != i {
                edges[i].push((target, span));
            }
        }
        let component = &mut resolved.components[i];
        component.after.extend(edges[i].iter().map(|(t, _)| *t));
        component.uses = wires.into_iter().map(|(w, _)| w).collect();
    }
    check_cycles(&resolved, &edges, diagnostics);
    check_routes(&resolved, &docs, diagnostics);
    assign_priorities(&mut resolved, &docs, diagnostics);
    resolved
}

/// `uses:` entries: the target exists, is not this component, can be used, and
/// its environment variables do not collide with ones the user sets.
fn resolve_uses(
    stack: &ResolvedStack,
    index: usize,
    root: &Node,
    known: &BTreeSet<Id>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<(Wire, Span)> {
    let component = &stack.components[index];
    let Spec::Microservice(spec) = &component.spec else {
        return Vec::new();
    };
    let service = &spec.settings;
    let mut wires: Vec<(Wire, Span)> = Vec::new();
    let mut env_names: HashMap<String, Span> = HashMap::new();
    for (i, entry) in service.uses.iter().enumerate() {
        let span = root.locate(&format!("/uses/{i}")).0;
        let Some(target_id) = parse_target(&component.id, entry.component()) else {
            continue;
        };
        let Some(target) = stack.index_of(&target_id) else {
            if !known.contains(&target_id) {
                diagnostics.push(unknown_component(
                    stack,
                    known,
                    &component.id,
                    entry.component(),
                    span,
                ));
            }
            continue;
        };
        if target == index {
            diagnostics.push(
                Diagnostic::error(Code::InvalidUse, format!("`{}` uses itself", component.id))
                    .at(span),
            );
            continue;
        }
        if wires.iter().any(|(w, _)| w.target == target) {
            diagnostics.push(
                Diagnostic::error(
                    Code::Conflict,
                    format!("`{target_id}` is listed twice in `uses`"),
                )
                .at(span),
            );
            continue;
        }
        let target_component = &stack.components[target];
        if let Spec::Microservice(t) = &target_component.spec
            && t.settings.expose.is_none()
        {
            diagnostics.push(
                    Diagnostic::error(Code::InvalidUse, format!("`{target_id}` is not exposed, so nothing can call it"))
                        .at(span)
                        .help(format!("add `expose: {{visibility: internal}}` to {target_id}, or remove it from `uses`")),
                );
            continue;
        }
        let env_prefix = entry
            .env_prefix()
            .map(str::to_string)
            .unwrap_or_else(|| default_prefix(&component.id, &target_id));
        for name in target_component.spec.kind().wired_env_names(&env_prefix) {
            if service.env.contains_key(&name) || service.secrets.contains_key(&name) {
                diagnostics.push(
                    Diagnostic::error(Code::Conflict, format!("using `{target_id}` sets `{name}`, which this service also sets itself"))
                        .at(span)
                        .help("remove your own variable, or choose another prefix with `{component: ..., env_prefix: OTHER}`"),
                );
            } else if let Some(first) = env_names.insert(name.clone(), span) {
                diagnostics.push(
                    Diagnostic::error(
                        Code::Conflict,
                        format!("two `uses` entries both set `{name}`"),
                    )
                    .at(span)
                    .also(first, "also set by this entry")
                    .help("give one of them another `env_prefix`"),
                );
            }
        }
        wires.push((
            Wire {
                target,
                access: entry.access(),
                env_prefix,
            },
            span,
        ));
    }
    wires
}

/// `QUEUE` for `queue` in the same service; `EMAIL_SERVICE_QUEUE` for another service's.
fn default_prefix(user: &Id, target: &Id) -> String {
    let name = if user.service == target.service {
        target.component.clone()
    } else {
        format!("{}_{}", target.service, target.component)
    };
    name.to_uppercase().replace('-', "_")
}

/// `queue` (same service) or `service/queue`.
pub fn parse_target(user: &Id, text: &str) -> Option<Id> {
    match text.split_once('/') {
        Some((service, component)) => Some(Id {
            service: service.into(),
            component: component.into(),
        }),
        None if !text.is_empty() => Some(Id {
            service: user.service.clone(),
            component: text.into(),
        }),
        None => None,
    }
}

pub fn unknown_component(
    stack: &ResolvedStack,
    known: &BTreeSet<Id>,
    user: &Id,
    text: &str,
    span: Span,
) -> Diagnostic {
    let mut d = Diagnostic::error(
        Code::UnknownComponent,
        format!("no component `{text}` in stack `{}`", stack.name),
    )
    .at(span);
    let same_service: Vec<&str> = known
        .iter()
        .filter(|k| k.service == user.service && *k != user)
        .map(|k| k.component.as_str())
        .collect();
    let all: Vec<String> = known
        .iter()
        .filter(|k| *k != user)
        .map(Id::to_string)
        .collect();
    let candidates: Vec<&str> = same_service
        .iter()
        .copied()
        .chain(all.iter().map(String::as_str))
        .collect();
    if let Some(help) = did_you_mean(text, candidates) {
        d = d.help(help);
    }
    if !all.is_empty() {
        d = d.note(format!("components of this stack: {}", all.join(", ")));
    }
    d.note("name a component of the same service as `component`, or of another service as `service/component`")
}

/// Resource names are `<service>-<component>-<role>`; two components whose
/// prefixes are equal (`a-b/c` and `a/b-c`) would collide.
fn check_prefixes(
    stack: &ResolvedStack,
    docs: &[(Node, Vec<Node>)],
    diagnostics: &mut Vec<Diagnostic>,
) {
    let mut seen: HashMap<String, &Id> = HashMap::new();
    for (c, (root, _)) in stack.components.iter().zip(docs) {
        if let Some(other) = seen.insert(c.id.prefix(), &c.id) {
            diagnostics.push(
                Diagnostic::error(
                    Code::Conflict,
                    format!(
                        "`{}` and `{other}` would both name their resources `{}-...`",
                        c.id,
                        c.id.prefix()
                    ),
                )
                .at(Span::file_start(root.span.file))
                .help("rename one of the two services or components"),
            );
        }
    }
}

/// Cycles in the graph of uses and references, reported once each, at the edge
/// that closes the cycle.
fn check_cycles(
    stack: &ResolvedStack,
    edges: &[Vec<(usize, Span)>],
    diagnostics: &mut Vec<Diagnostic>,
) {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    fn visit(
        node: usize,
        edges: &[Vec<(usize, Span)>],
        marks: &mut [Mark],
        path: &mut Vec<usize>,
        stack: &ResolvedStack,
        diagnostics: &mut Vec<Diagnostic>,
    ) {
        marks[node] = Mark::Active;
        path.push(node);
        for &(next, span) in &edges[node] {
            match marks[next] {
                Mark::New => visit(next, edges, marks, path, stack, diagnostics),
                Mark::Active => {
                    let start = path.iter().position(|&n| n == next).unwrap_or(0);
                    let names: Vec<String> = path[start..]
                        .iter()
                        .chain([&next])
                        .map(|&n| stack.components[n].id.to_string())
                        .collect();
                    diagnostics.push(
                        Diagnostic::error(Code::DependencyCycle, format!("components depend on each other in a cycle: {}", names.join(" → ")))
                            .at(span)
                            .help("one of them must not need the other; pass what it needs through a config or a variable"),
                    );
                }
                Mark::Done => {}
            }
        }
        path.pop();
        marks[node] = Mark::Done;
    }
    let mut marks = vec![Mark::New; edges.len()];
    for node in 0..edges.len() {
        if marks[node] == Mark::New {
            visit(node, edges, &mut marks, &mut Vec::new(), stack, diagnostics);
        }
    }
}

/// Two services on the same load balancer with the same hosts and paths would
/// take each other's traffic; a public service needs public subnets.
fn check_routes(
    stack: &ResolvedStack,
    docs: &[(Node, Vec<Node>)],
    diagnostics: &mut Vec<Diagnostic>,
) {
    // (public, paths, hosts) → the first component with that route.
    type Route = (bool, Vec<String>, Vec<String>);
    let mut routes: HashMap<Route, (&Id, Span)> = HashMap::new();
    for (c, (root, _)) in stack.components.iter().zip(docs) {
        let Spec::Microservice(spec) = &c.spec else {
            continue;
        };
        let service = &spec.settings;
        let Some(expose) = &service.expose else {
            continue;
        };
        let span = root.locate("/expose").0;
        let public = expose.visibility == Visibility::Public;
        if public && stack.env.network.public_subnets.len() < 2 {
            diagnostics.push(
                Diagnostic::error(Code::InvalidUse, format!("`{}` is public, but environment `{}` has fewer than two public subnets", c.id, stack.environment))
                    .at(span)
                    .help(format!("add `network.public_subnets` (two or more) to `{}` in stack.yaml, or expose the service as `internal`", stack.environment)),
            );
        }
        let mut paths = crate::kinds::microservice::route_paths(expose);
        paths.sort();
        let mut hosts = expose.hosts.clone();
        hosts.sort();
        if let Some((other, other_span)) =
            routes.insert((public, paths.clone(), hosts.clone()), (&c.id, span))
        {
            diagnostics.push(
                Diagnostic::error(
                    Code::Conflict,
                    format!(
                        "`{}` and `{other}` have the same route ({})",
                        c.id,
                        describe_route(&paths, &hosts)
                    ),
                )
                .at(span)
                .also(other_span, "same route here")
                .help("give one of them other `paths` or `hosts`"),
            );
        }
    }
}

fn describe_route(paths: &[String], hosts: &[String]) -> String {
    let mut parts = Vec::new();
    if !hosts.is_empty() {
        parts.push(format!("hosts {}", hosts.join(", ")));
    }
    parts.push(format!("paths {}", paths.join(", ")));
    parts.join(", ")
}

/// Listener rule priorities: explicit ones as given; the others from 100 up in
/// steps of 100, more specific routes first (host and path, then host, then
/// longer paths), so a catch-all `/*` never shadows `/email/*`.
fn assign_priorities(
    stack: &mut ResolvedStack,
    docs: &[(Node, Vec<Node>)],
    diagnostics: &mut Vec<Diagnostic>,
) {
    for visibility in [Visibility::Public, Visibility::Internal] {
        let mut exposed: Vec<(usize, &crate::kinds::microservice::Exposure)> = stack
            .components
            .iter()
            .enumerate()
            .filter_map(|(i, c)| match &c.spec {
                Spec::Microservice(m) => m
                    .settings
                    .expose
                    .as_ref()
                    .filter(|x| x.visibility == visibility)
                    .map(|x| (i, x)),
                _ => None,
            })
            .collect();
        let specificity = |x: &crate::kinds::microservice::Exposure| {
            let literal = crate::kinds::microservice::route_paths(x)
                .iter()
                .map(|p| p.find(['*', '?']).unwrap_or(p.len()))
                .max()
                .unwrap_or(0);
            (!x.hosts.is_empty(), literal)
        };
        exposed.sort_by(|(ia, a), (ib, b)| specificity(b).cmp(&specificity(a)).then(ia.cmp(ib)));
        let mut taken: HashMap<u32, usize> = HashMap::new();
        for &(i, x) in &exposed {
            if let Some(p) = x.priority
                && let Some(other) = taken.insert(p, i)
            {
                let span = docs[i].0.locate("/expose/priority").0;
                diagnostics.push(
                    Diagnostic::error(
                        Code::Conflict,
                        format!(
                            "`{}` and `{}` have the same listener rule priority {p}",
                            stack.components[i].id, stack.components[other].id
                        ),
                    )
                    .at(span),
                );
            }
        }
        let mut next = 100;
        let mut assigned = Vec::new();
        for &(i, x) in &exposed {
            let priority = match x.priority {
                Some(p) => p,
                None => {
                    while taken.contains_key(&next) {
                        next += 100;
                    }
                    taken.insert(next, i);
                    next
                }
            };
            assigned.push((i, priority));
        }
        for &(i, p) in &assigned {
            stack.components[i].route_priority = Some(p);
        }
        for (i, p) in assigned {
            let shifts = matches!(&stack.components[i].spec, Spec::Microservice(m) if m.infra.rollout.shifts_traffic());
            if !shifts {
                continue;
            }
            match (1..p).rev().find(|q| !taken.contains_key(q)) {
                Some(q) => {
                    taken.insert(q, i);
                    stack.components[i].test_route_priority = Some(q);
                }
                None => {
                    let span = docs[i].0.locate("/expose/priority").0;
                    diagnostics.push(
                        Diagnostic::error(
                            Code::Conflict,
                            format!(
                                "`{}` rolls out with a test listener rule, which needs a free priority before its own ({p}), and none is left",
                                stack.components[i].id
                            ),
                        )
                        .at(span)
                        .help("give `expose.priority` a higher number, with room below it"),
                    );
                }
            }
        }
    }
}
