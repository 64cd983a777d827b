//! An AWS Copilot workspace (aws.github.io/copilot-cli/docs/manifest/) read
//! into a deployment repository: `copilot/.workspace` (the application),
//! `copilot/<service>/manifest.yml` for Load Balanced Web, Backend and Worker
//! Services, `copilot/environments/<env>/manifest.yml`. Every key of every
//! manifest is accounted for in the report: mapped (to which file and key),
//! not supported (with what to do), or unknown (at its file:line) — nothing
//! is dropped silently.

use crate::node::{Node, Value as Yaml};
use crate::source::Sources;
use serde::Serialize;
use serde_json::{Map, Value as Json, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What became of one key of a manifest.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Entry {
    /// The manifest, relative to the workspace.
    pub file: String,
    pub line: usize,
    /// `http.healthcheck.path`, `environments.prod.count`.
    pub key: String,
    /// `mapped`, `unsupported` or `unknown`.
    pub outcome: &'static str,
    /// Where it went (`services/api/components/app/infra.yaml: cpu`), or
    /// what to do.
    pub detail: String,
}

/// The whole migration: the files written and every key's fate.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub application: String,
    pub stack: String,
    pub written: Vec<String>,
    pub entries: Vec<Entry>,
    /// The data stores the repository declares for ones Copilot made: what
    /// `--adopt` looks for in Copilot's CloudFormation stacks.
    pub adoptable: Vec<Adoptable>,
}

/// A resource of a Copilot service's CloudFormation stack (or of its addons'
/// nested stack) that a component of the repository stands for.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Adoptable {
    pub service: String,
    /// Its name in Copilot's template: a Worker Service's `EventsQueue` and
    /// `DeadLetterQueue` (copilot-cli `templates/workloads/services/worker/cf.yml`),
    /// an addon's own name for its database.
    pub logical_id: String,
    /// `<service>/<component>`.
    pub component: String,
    pub role: Role,
}

/// What an adoptable resource is to its component.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// An sqs.yaml component's queue.
    Queue,
    /// An sqs.yaml component's dead-letter queue.
    DeadLetterQueue,
    /// An rds.yaml component's instance.
    Database,
    /// A microservice.yaml component's log group: Copilot's `LogGroup` of
    /// every service (`DependsOn: LogGroup` of its task definition,
    /// copilot-cli `templates/workloads/services/*/cf.yml`).
    LogGroup,
    /// The environment's ECS cluster: Copilot's `Cluster` of the
    /// environment's stack (copilot-cli `templates/environment/cf.yml`).
    Cluster,
    /// A microservice.yaml component's ECS service, for a service without a
    /// load balancer: Copilot's `Service` (copilot-cli
    /// `templates/workloads/services/*/cf.yml`).
    Service,
    /// The environment's load balancer: Copilot's `PublicLoadBalancer` or
    /// `InternalLoadBalancer` (copilot-cli `templates/environment/cf.yml`).
    LoadBalancer,
    /// One of its listeners: `HTTPListener`, `HTTPSListener`,
    /// `InternalHTTPListener` or `InternalHTTPSListener` (the same file).
    Listener,
    /// A microservice.yaml component's target group: Copilot's
    /// `TargetGroup` of a service behind a load balancer (copilot-cli
    /// `templates/workloads/partials/cf/alb.yml`).
    TargetGroup,
    /// A microservice.yaml component's listener rule: Copilot's
    /// `HTTPSListenerRule`, or `HTTPListenerRule` where the load balancer
    /// has no HTTPS (`templates/workloads/partials/cf/https-listener.yml`,
    /// `http-listener.yml`).
    ListenerRule,
}

impl Role {
    /// The Pulumi type of the resource it is in the program.
    pub fn token(self) -> &'static str {
        match self {
            Role::Queue | Role::DeadLetterQueue => "aws:sqs/queue:Queue",
            Role::Database => "aws:rds/instance:Instance",
            Role::LogGroup => "aws:cloudwatch/logGroup:LogGroup",
            Role::Cluster => "aws:ecs/cluster:Cluster",
            Role::Service => "aws:ecs/service:Service",
            Role::LoadBalancer => "aws:lb/loadBalancer:LoadBalancer",
            Role::Listener => "aws:lb/listener:Listener",
            Role::TargetGroup => "aws:lb/targetGroup:TargetGroup",
            Role::ListenerRule => "aws:lb/listenerRule:ListenerRule",
        }
    }

    /// How the program's name for it ends (`<service>-<component>-queue`).
    pub fn name_suffix(self) -> &'static str {
        match self {
            Role::Queue => "-queue",
            Role::DeadLetterQueue => "-dead-letter",
            Role::Database => "-instance",
            Role::LogGroup => "-logs",
            Role::Cluster => crate::emit::network::CLUSTER,
            Role::Service => "-service",
            Role::LoadBalancer => "-alb",
            Role::Listener => "-alb-http",
            Role::TargetGroup => "-tg",
            Role::ListenerRule => "-route",
        }
    }

    /// The file that says the names it keeps: the component's, or
    /// stack.yaml for the cluster every component shares.
    pub fn file(self) -> &'static str {
        match self {
            Role::Queue | Role::DeadLetterQueue => "sqs.yaml",
            Role::Database => "rds.yaml",
            Role::LogGroup | Role::Service | Role::TargetGroup | Role::ListenerRule => {
                "microservice.yaml"
            }
            Role::Cluster | Role::LoadBalancer | Role::Listener => "stack.yaml",
        }
    }
}

/// How the import is asked for.
pub struct Import<'a> {
    /// The folder holding `copilot/`.
    pub workspace: &'a Path,
    pub stack: &'a str,
    /// The deployment repository to write (created when missing).
    pub out: &'a Path,
    /// Environment → AWS account, where the manifests do not say.
    pub accounts: BTreeMap<String, String>,
    pub region: String,
}

/// A problem that stops the import before anything is written.
#[derive(Debug)]
pub struct Refused(pub String);

/// The service types read, and what each becomes.
const WEB: &str = "Load Balanced Web Service";
const BACKEND: &str = "Backend Service";
const WORKER: &str = "Worker Service";

/// Keys Copilot documents that deployer does not take over, with what to do.
const UNSUPPORTED: &[(&str, &str)] = &[
    (
        "sidecars",
        "deployer runs one container per service: run the sidecar as a service of its own, or keep it in the image",
    ),
    (
        "taskdef_overrides",
        "deployer writes the task definition itself: say what the override was for in the component's files",
    ),
    (
        "logging",
        "logs go to CloudWatch Logs (`deployer logs`); a FireLens destination is not supported",
    ),
    (
        "storage",
        "volumes (EFS, ephemeral) are not supported by deployer yet",
    ),
    (
        "network",
        "deployer runs tasks in the environment's private subnets; Service Connect and placement are not supported",
    ),
    (
        "observability",
        "X-Ray tracing is not supported by deployer yet",
    ),
    (
        "publish",
        "SNS topics are not a deployer component: create them outside, and give their ARNs as variables",
    ),
    (
        "deployment",
        "deployer rolls services out with `rollout:` in infra.yaml (rolling, blue-green, canary, linear)",
    ),
    (
        "env_file",
        "put the variables under `env:` in microservice.yaml (or `secrets:`)",
    ),
    (
        "nlb",
        "a Network Load Balancer is not supported: deployer exposes HTTP through the environment's application load balancer",
    ),
    (
        "image.depends_on",
        "deployer runs one container per service",
    ),
    ("image.labels", "Docker labels are not supported"),
    (
        "http.target_container",
        "deployer routes to the service's one container",
    ),
    ("http.target_port", "deployer routes to `port`"),
    (
        "http.redirect_to_https",
        "deployer redirects HTTP to HTTPS where the environment has a certificate",
    ),
    ("http.version", "deployer's target groups speak HTTP/1.1"),
    (
        "count.queue_delay",
        "scaling on queue backlog is not supported: scale on `cpu_target`",
    ),
];

/// Reads the workspace and writes the repository; the report says what
/// became of every key.
pub fn import(request: &Import) -> Result<Report, Refused> {
    let copilot = request.workspace.join("copilot");
    let mut sources = Sources::default();
    // Each manifest is read as a file handed over by a user is (bounded, a
    // regular file), and parsed with the spans every report line needs.
    let read = |sources: &mut Sources, path: &Path| -> Result<Node, Refused> {
        let text = crate::fs::read_back_text(path, crate::fs::ReadBack::Repository)
            .map_err(|e| Refused(format!("cannot read {}: {e}", path.display())))?;
        let display = path
            .strip_prefix(request.workspace)
            .unwrap_or(path)
            .display()
            .to_string();
        let id = sources.add(crate::source::SourceFile::new(
            display,
            path.to_path_buf(),
            text,
        ));
        let parsed = crate::load::yaml::parse(id, sources.get(id));
        match (
            parsed.root,
            parsed.diagnostics.iter().find(|d| d.is_error()),
        ) {
            (Some(root), None) => Ok(root),
            (_, Some(d)) => Err(Refused(format!(
                "{} is not valid YAML: {}",
                path.display(),
                d.message
            ))),
            (None, None) => Err(Refused(format!("{} is empty", path.display()))),
        }
    };
    let workspace = read(&mut sources, &copilot.join(".workspace")).map_err(|_| {
        Refused(format!(
            "{} has no copilot/.workspace: is it a Copilot workspace?",
            request.workspace.display()
        ))
    })?;
    let application = text(&workspace, "application")
        .ok_or_else(|| Refused("copilot/.workspace names no `application`".into()))?;
    let mut report = Report {
        application: application.clone(),
        stack: request.stack.to_string(),
        ..Report::default()
    };
    let mut environments = Vec::new();
    for dir in folders(&copilot.join("environments")) {
        let path = dir.join("manifest.yml");
        if path.exists() {
            let name = dir
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            environments.push((name, read(&mut sources, &path)?, path));
        }
    }
    let mut services = Vec::new();
    for dir in folders(&copilot) {
        let name = dir
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let path = dir.join("manifest.yml");
        if name == "environments" || !path.exists() {
            continue;
        }
        let manifest = read(&mut sources, &path)?;
        // Addons are CloudFormation, whose tags (`!Ref`, `!Sub`) deployer's
        // own files refuse: here a tagged value is read as its text.
        let addons: Vec<(PathBuf, Option<Node>)> = folders_files(&dir.join("addons"))
            .into_iter()
            .map(|addon| {
                let root = crate::fs::read_back_text(&addon, crate::fs::ReadBack::Repository)
                    .ok()
                    .and_then(|text| {
                        let id = sources.add(crate::source::SourceFile::new(
                            addon.display().to_string(),
                            addon.clone(),
                            text,
                        ));
                        crate::load::yaml::parse(id, sources.get(id)).root
                    });
                (addon, root)
            })
            .collect();
        services.push((name, manifest, path, addons));
    }
    let relative = |path: &Path| {
        path.strip_prefix(request.workspace)
            .unwrap_or(path)
            .display()
            .to_string()
    };
    let line = |node: &Node| {
        sources
            .get(node.span.file)
            .line_col(node.span.start as usize)
            .0
    };

    // stack.yaml
    let mut stack_envs = Map::new();
    for (name, manifest, path) in &environments {
        let file = relative(path);
        let mut notes = Notes::new(&file, &line, &mut report.entries);
        let env = environment(name, manifest, request, &mut notes);
        stack_envs.insert(name.clone(), env);
    }
    let stack_dir = request.out.join("stacks").join(request.stack);
    let mut written = Vec::new();
    let mut variables = Map::new();
    let mut service_files: Vec<(PathBuf, String)> = Vec::new();
    for (name, manifest, path, addons) in &services {
        let file = relative(path);
        let mut notes = Notes::new(&file, &line, &mut report.entries);
        let kind = text(manifest, "type").unwrap_or_default();
        if ![WEB, BACKEND, WORKER].contains(&kind.as_str()) {
            notes.unsupported(
                manifest,
                "type",
                &format!("a {kind} is not imported: only {WEB}, {BACKEND} and {WORKER} are"),
            );
            continue;
        }
        let dir = stack_dir.join("services").join(name);
        let component = format!("services/{name}/components/app");
        let (settings, infra, queue) = service(
            name,
            &kind,
            manifest,
            &application,
            &component,
            &mut notes,
            &mut variables,
        );
        report.adoptable.push(Adoptable {
            service: name.clone(),
            logical_id: "LogGroup".into(),
            component: format!("{name}/app"),
            role: Role::LogGroup,
        });
        // A service is taken over where it runs; one a load balancer sends
        // traffic to, with its target group and listener rule, when the
        // environment's load balancer is taken over too (`ops::adopt`).
        let balanced = settings.get("expose").is_some()
            || settings
                .get("environments")
                .and_then(Json::as_object)
                .is_some_and(|overlays| overlays.values().any(|o| o.get("expose").is_some()));
        report.adoptable.push(Adoptable {
            service: name.clone(),
            logical_id: "Service".into(),
            component: format!("{name}/app"),
            role: Role::Service,
        });
        if balanced {
            for (logical_id, role) in [
                ("TargetGroup", Role::TargetGroup),
                ("HTTPSListenerRule", Role::ListenerRule),
                ("HTTPListenerRule", Role::ListenerRule),
            ] {
                report.adoptable.push(Adoptable {
                    service: name.clone(),
                    logical_id: logical_id.into(),
                    component: format!("{name}/app"),
                    role,
                });
            }
        }
        if let Some(queue) = queue {
            for (logical_id, role) in [
                ("EventsQueue", Role::Queue),
                ("DeadLetterQueue", Role::DeadLetterQueue),
            ] {
                report.adoptable.push(Adoptable {
                    service: name.clone(),
                    logical_id: logical_id.into(),
                    component: format!("{name}/queue"),
                    role,
                });
            }
            service_files.push((
                dir.join("components/queue/sqs.yaml"),
                header("../../../../../../schemas/sqs.schema.json", &queue),
            ));
        }
        let mut settings = settings;
        for (path, root) in addons {
            let file = relative(path);
            let Some(root) = root else {
                report.entries.push(Entry {
                    file,
                    line: 1,
                    key: "(addon)".into(),
                    outcome: "unsupported",
                    detail: "could not be read as YAML: nothing was taken from it".into(),
                });
                continue;
            };
            let mut notes = Notes::new(&file, &line, &mut report.entries);
            for (component, rds, uses_entry, logical_id) in
                addon(name, path, root, &settings, &mut notes)
            {
                report.adoptable.push(Adoptable {
                    service: name.clone(),
                    logical_id,
                    component: format!("{name}/{component}"),
                    role: Role::Database,
                });
                service_files.push((
                    dir.join(format!("components/{component}/rds.yaml")),
                    header("../../../../../../schemas/rds.schema.json", &rds),
                ));
                if let Some(uses) = settings
                    .as_object_mut()
                    .map(|s| s.entry("uses").or_insert_with(|| json!([])))
                    .and_then(Json::as_array_mut)
                {
                    uses.push(uses_entry.clone());
                }
            }
        }
        service_files.push((
            dir.join("service.yaml"),
            header("../../../../schemas/service.schema.json", &json!({"description": format!("Imported from the AWS Copilot {kind} `{name}` of application `{application}`.")})),
        ));
        service_files.push((
            dir.join("components/app/microservice.yaml"),
            header(
                "../../../../../../schemas/microservice.schema.json",
                &settings,
            ),
        ));
        if infra.as_object().is_some_and(|m| !m.is_empty()) {
            service_files.push((
                dir.join("components/app/infra.yaml"),
                header("../../../../../../schemas/infra.schema.json", &infra),
            ));
        }
    }
    let mut stack = Map::new();
    stack.insert(
        "description".into(),
        json!(format!(
            "Imported from the AWS Copilot application `{application}`."
        )),
    );
    if !variables.is_empty() {
        stack.insert("variables".into(), Json::Object(variables));
    }
    stack.insert("environments".into(), Json::Object(stack_envs));
    service_files.insert(
        0,
        (
            stack_dir.join("stack.yaml"),
            header("../../schemas/stack.schema.json", &Json::Object(stack)),
        ),
    );
    for (path, text) in service_files {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Refused(format!("cannot create {}: {e}", parent.display())))?;
        }
        crate::artifacts::write_atomic(&path, text.as_bytes())
            .map_err(|e| Refused(format!("cannot write {}: {e}", path.display())))?;
        written.push(
            path.strip_prefix(request.out)
                .unwrap_or(&path)
                .display()
                .to_string(),
        );
    }
    // The schemas the files' modelines name, for editors.
    let schemas = request.out.join("schemas");
    for name in crate::schema::write_all(&schemas)
        .map_err(|e| Refused(format!("cannot write {}: {e}", schemas.display())))?
    {
        written.push(format!("schemas/{name}"));
    }
    report.written = written;
    Ok(report)
}

/// What a manifest's keys became, as they are looked at.
struct Notes<'a> {
    file: &'a str,
    line: &'a dyn Fn(&Node) -> usize,
    entries: &'a mut Vec<Entry>,
}

impl<'a> Notes<'a> {
    fn new(file: &'a str, line: &'a dyn Fn(&Node) -> usize, entries: &'a mut Vec<Entry>) -> Self {
        Notes {
            file,
            line,
            entries,
        }
    }

    fn push(&mut self, node: &Node, key: &str, outcome: &'static str, detail: String) {
        self.entries.push(Entry {
            file: self.file.to_string(),
            line: (self.line)(node),
            key: key.to_string(),
            outcome,
            detail,
        });
    }

    fn mapped(&mut self, node: &Node, key: &str, to: &str) {
        self.push(node, key, "mapped", to.to_string());
    }

    fn unsupported(&mut self, node: &Node, key: &str, what: &str) {
        self.push(node, key, "unsupported", what.to_string());
    }

    /// A key deployer does not know: unsupported with what to do when Copilot
    /// documents it, else unknown.
    fn other(&mut self, node: &Node, key: &str) {
        let general = key
            .rsplit_once("environments.")
            .map_or(key, |(_, k)| k.split_once('.').map_or(k, |(_, rest)| rest));
        match UNSUPPORTED
            .iter()
            .find(|(k, _)| *k == general || key.ends_with(&format!(".{k}")))
        {
            Some((_, what)) => self.unsupported(node, key, what),
            None => self.push(
                node,
                key,
                "unknown",
                "not a key of the Copilot manifest this importer knows; nothing was done with it"
                    .into(),
            ),
        }
    }
}

/// One service's microservice.yaml and infra.yaml (with `environments:`
/// overlays from Copilot's `environments:`).
fn service(
    name: &str,
    kind: &str,
    manifest: &Node,
    application: &str,
    component: &str,
    notes: &mut Notes,
    variables: &mut Map<String, Json>,
) -> (Json, Json, Option<Json>) {
    let micro = format!("{component}/microservice.yaml");
    let infra_file = format!("{component}/infra.yaml");
    let mut settings = Map::new();
    let mut infra = Map::new();
    let mut overlays_settings = Map::new();
    let mut overlays_infra = Map::new();
    let mut queue = None;
    let Some(map) = manifest.as_map() else {
        return (Json::Object(settings), Json::Object(infra), None);
    };
    for (key, value) in &map.entries {
        let k = key.name.as_str();
        match k {
            "name" | "type" => notes.mapped(
                value,
                k,
                &format!("the service `{name}` (folder), a microservice"),
            ),
            "subscribe" if kind == WORKER => {
                queue = Some(subscribe(name, value, notes, &mut settings));
            }
            "environments" => {
                for (env, overrides) in value
                    .as_map()
                    .map(|m| m.entries.as_slice())
                    .unwrap_or_default()
                {
                    let mut s = Map::new();
                    let mut i = Map::new();
                    for (okey, ovalue) in overrides
                        .as_map()
                        .map(|m| m.entries.as_slice())
                        .unwrap_or_default()
                    {
                        let path = format!("environments.{}.{}", env.name, okey.name);
                        fields(
                            &okey.name,
                            ovalue,
                            &path,
                            kind,
                            application,
                            name,
                            notes,
                            &micro,
                            &infra_file,
                            &mut s,
                            &mut i,
                            variables,
                        );
                    }
                    if !s.is_empty() {
                        overlays_settings.insert(env.name.clone(), Json::Object(s));
                    }
                    if !i.is_empty() {
                        overlays_infra.insert(env.name.clone(), Json::Object(i));
                    }
                }
            }
            _ => fields(
                k,
                value,
                k,
                kind,
                application,
                name,
                notes,
                &micro,
                &infra_file,
                &mut settings,
                &mut infra,
                variables,
            ),
        }
    }
    if kind == BACKEND && settings.get("expose").is_some() {
        // A Backend Service is reached inside the VPC only.
        settings["expose"]["visibility"] = json!("internal");
    }
    if !overlays_settings.is_empty() {
        settings.insert("environments".into(), Json::Object(overlays_settings));
    }
    // An overlay's `null` removes a key of the file: one the file does not
    // have says nothing.
    for overlay in overlays_infra.values_mut() {
        if let Json::Object(keys) = overlay {
            keys.retain(|key, value| !value.is_null() || infra.contains_key(key));
        }
    }
    if !overlays_infra.is_empty() {
        infra.insert("environments".into(), Json::Object(overlays_infra));
    }
    (Json::Object(settings), Json::Object(infra), queue)
}

/// A service's addons (`copilot/<service>/addons/*.yml`, CloudFormation): an
/// `AWS::RDS::DBInstance` of PostgreSQL or MySQL with a plain class becomes
/// an rds.yaml component of the service, which the service `uses`; an Aurora
/// cluster (what `copilot storage init` writes) and every other resource are
/// reported with what to do. CloudFormation's tags (`!Ref`, `!Sub`) are read
/// as the text they carry: a value that is one is not taken over.
fn addon(
    service: &str,
    path: &Path,
    root: &Node,
    settings: &Json,
    notes: &mut Notes,
) -> Vec<(String, Json, Json, String)> {
    let mut components = Vec::new();
    let resources = root
        .as_map()
        .and_then(|m| m.get("Resources"))
        .and_then(Node::as_map)
        .map(|m| m.entries.as_slice())
        .unwrap_or_default();
    let stem = path
        .file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .to_lowercase()
        .replace(|c: char| !c.is_ascii_alphanumeric(), "-");
    for (name, resource) in resources {
        let key = format!("Resources.{}", name.name);
        let field = |k: &str| {
            resource
                .as_map()
                .and_then(|m| m.get("Properties"))
                .and_then(Node::as_map)
                .and_then(|m| m.get(k))
        };
        let kind = resource
            .as_map()
            .and_then(|m| m.get("Type"))
            .and_then(Node::as_str)
            .unwrap_or_default();
        match kind {
            "AWS::RDS::DBInstance" => {
                let engine = field("Engine").and_then(Node::as_str).unwrap_or_default();
                let class = field("DBInstanceClass")
                    .and_then(Node::as_str)
                    .unwrap_or_default();
                let engine = match engine {
                    "postgres" => "postgres",
                    "mysql" => "mysql",
                    _ => "",
                };
                if engine.is_empty() || !class.starts_with("db.") || class == "db.serverless" {
                    notes.unsupported(
                        resource,
                        &key,
                        "an RDS instance whose engine or class does not map (Aurora, serverless, or computed): write an rds.yaml component by hand",
                    );
                    continue;
                }
                let version = field("EngineVersion")
                    .and_then(Node::as_str)
                    .and_then(|v| v.split('.').next())
                    .filter(|v| v.chars().all(|c| c.is_ascii_digit()))
                    .unwrap_or(if engine == "postgres" { "16" } else { "8" })
                    .to_string();
                let version = if engine == "mysql" && !version.contains('.') {
                    format!("{version}.0")
                } else {
                    version
                };
                let mut rds = Map::new();
                rds.insert("engine".into(), json!(engine));
                rds.insert("version".into(), json!(version));
                rds.insert("instance_class".into(), json!(class));
                if let Some(size) = field("AllocatedStorage").and_then(|n| {
                    n.as_str()
                        .and_then(|s| s.parse::<u64>().ok())
                        .or_else(|| yaml_json(n).as_u64())
                }) {
                    rds.insert("storage".into(), json!({"size_gb": size}));
                }
                if let Some(database) = field("DBName").and_then(Node::as_str) {
                    rds.insert("database".into(), json!(database));
                }
                let component = stem.clone();
                // The variables `uses` sets must not be ones the service
                // already sets itself (a Copilot secret named DB_PASSWORD).
                let taken = |name: &str| {
                    ["env", "secrets"]
                        .iter()
                        .any(|k| settings[*k].get(name).is_some())
                };
                let mut prefix = component.to_uppercase().replace('-', "_");
                if ["HOST", "PORT", "NAME", "USERNAME", "PASSWORD"]
                    .iter()
                    .any(|v| taken(&format!("{prefix}_{v}")))
                {
                    prefix.push_str("_RDS");
                }
                notes.mapped(
                    resource,
                    &key,
                    &format!(
                        "services/{service}/components/{component}/rds.yaml (engine, version, instance_class, storage, database), used by the service; its connection comes as {prefix}_HOST, _PORT, _NAME, _USERNAME, _PASSWORD"
                    ),
                );
                let uses = json!({"component": component, "env_prefix": prefix});
                components.push((component, Json::Object(rds), uses, name.name.clone()));
            }
            "AWS::RDS::DBCluster" => notes.unsupported(
                resource,
                &key,
                "an Aurora cluster is not a deployer kind: use an rds.yaml component (engine postgres or mysql, an instance class) and migrate the data",
            ),
            _ => notes.unsupported(
                resource,
                &key,
                &format!("a {kind} stays outside deployer: keep it in CloudFormation, and give what the service needs from it as variables"),
            ),
        }
    }
    components
}

/// A Worker Service's `subscribe`: its queue becomes an sqs.yaml component
/// `queue` of the same service, which the worker reads (`uses`), with its URL
/// where Copilot put it (`COPILOT_QUEUE_URI`); each SNS topic it subscribes
/// to is not deployer's, and is said.
fn subscribe(
    name: &str,
    value: &Node,
    notes: &mut Notes,
    settings: &mut Map<String, Json>,
) -> Json {
    let file = format!("services/{name}/components/queue/sqs.yaml");
    let mut sqs = Map::new();
    for (key, v) in value
        .as_map()
        .map(|m| m.entries.as_slice())
        .unwrap_or_default()
    {
        let path = format!("subscribe.{}", key.name);
        match key.name.as_str() {
            "topics" => {
                let topics = match &v.value {
                    Yaml::Seq(items) => items.as_slice(),
                    _ => &[],
                };
                for topic in topics {
                    let field = |k: &str| {
                        topic
                            .as_map()
                            .and_then(|m| m.get(k))
                            .and_then(Node::as_str)
                            .unwrap_or("?")
                            .to_string()
                    };
                    let (topic_name, service) = (field("name"), field("service"));
                    notes.unsupported(
                        topic,
                        &format!("{path}.{topic_name}"),
                        &format!("the SNS topic `{topic_name}` of `{service}` is not a deployer component: subscribe the queue ({file}) to it outside deployer, or have `{service}` send to the queue (`uses: {name}/queue` with `access: write`)"),
                    );
                }
            }
            "queue" => {
                for (qk, qv) in v.as_map().map(|m| m.entries.as_slice()).unwrap_or_default() {
                    let qpath = format!("{path}.{}", qk.name);
                    let target = match qk.name.as_str() {
                        "retention" => {
                            seconds(qv).map(|s| ("retention_days", json!((s / 86_400).max(1))))
                        }
                        "timeout" => seconds(qv).map(|s| ("visibility_timeout_seconds", json!(s))),
                        "delay" => seconds(qv).map(|s| ("delay_seconds", json!(s))),
                        "fifo" => Some(("fifo", json!(!matches!(qv.value, Yaml::Bool(false))))),
                        "dead_letter" => qv.as_map().and_then(|m| m.get("tries")).map(|tries| {
                            (
                                "dead_letter.max_receives",
                                json!({"enabled": true, "max_receives": yaml_json(tries)}),
                            )
                        }),
                        _ => None,
                    };
                    match target {
                        Some((field, value)) => {
                            let key = field.split('.').next().unwrap_or(field);
                            sqs.insert(key.into(), value);
                            notes.mapped(qv, &qpath, &format!("{file}: {field}"));
                        }
                        None => notes.other(qv, &qpath),
                    }
                }
            }
            _ => notes.other(v, &path),
        }
    }
    settings.insert(
        "uses".into(),
        json!([{"component": "queue", "access": "read"}]),
    );
    if let Some(env) = settings
        .entry("env")
        .or_insert_with(|| json!({}))
        .as_object_mut()
    {
        env.insert(
            "COPILOT_QUEUE_URI".into(),
            json!(format!("{{{{ ref('{name}/queue.url') }}}}")),
        );
    }
    Json::Object(sqs)
}

/// One key of a service manifest (or of one environment's overrides).
#[allow(clippy::too_many_arguments)]
fn fields(
    key: &str,
    value: &Node,
    path: &str,
    kind: &str,
    application: &str,
    name: &str,
    notes: &mut Notes,
    micro: &str,
    infra_file: &str,
    settings: &mut Map<String, Json>,
    infra: &mut Map<String, Json>,
    variables: &mut Map<String, Json>,
) {
    match key {
        "image" => {
            for (sub, v) in value
                .as_map()
                .map(|m| m.entries.as_slice())
                .unwrap_or_default()
            {
                let p = format!("{path}.{}", sub.name);
                match sub.name.as_str() {
                    "location" => {
                        settings.insert("image".into(), json!(v.as_str().unwrap_or_default()));
                        notes.mapped(v, &p, &to(micro, "image"));
                    }
                    "build" => {
                        variables.insert("VERSION".into(), json!({"description": "The tag of every image built by CI and pushed to ECR.", "required": true}));
                        settings.insert(
                            "image".into(),
                            json!(format!("<account>.dkr.ecr.<region>.amazonaws.com/{application}/{name}:{{{{ var.VERSION }}}}")),
                        );
                        notes.mapped(v, &p, &format!("{}; deployer deploys images and does not build them: build and push in CI, and replace <account> and <region>", to(micro, "image")));
                    }
                    // Copilot's container health check (its defaults:
                    // every 10 s, 5 s, 2 retries, no start period).
                    "healthcheck" => {
                        let mut check = Map::new();
                        check.insert("interval_seconds".into(), json!(10));
                        check.insert("timeout_seconds".into(), json!(5));
                        check.insert("retries".into(), json!(2));
                        for (hk, hv) in v.as_map().map(|m| m.entries.as_slice()).unwrap_or_default()
                        {
                            let hp = format!("{p}.{}", hk.name);
                            let field = match hk.name.as_str() {
                                "command" => Some((
                                    "command",
                                    match &hv.value {
                                        Yaml::Seq(items) => {
                                            Json::Array(items.iter().map(yaml_json).collect())
                                        }
                                        Yaml::Str(text) => json!(["CMD-SHELL", text]),
                                        _ => Json::Null,
                                    },
                                )),
                                "interval" => seconds(hv).map(|s| ("interval_seconds", json!(s))),
                                "timeout" => seconds(hv).map(|s| ("timeout_seconds", json!(s))),
                                "start_period" => {
                                    seconds(hv).map(|s| ("start_period_seconds", json!(s)))
                                }
                                "retries" => Some(("retries", yaml_json(hv))),
                                _ => None,
                            };
                            match field {
                                Some((key, value)) if !value.is_null() => {
                                    check.insert(key.into(), value);
                                    notes.mapped(
                                        hv,
                                        &hp,
                                        &to(micro, &format!("container_health_check.{key}")),
                                    );
                                }
                                _ => notes.other(hv, &hp),
                            }
                        }
                        settings.insert("container_health_check".into(), Json::Object(check));
                    }
                    "port" => {
                        settings.insert("port".into(), yaml_json(v));
                        notes.mapped(v, &p, &to(micro, "port"));
                    }
                    _ => notes.other(v, &p),
                }
            }
        }
        "http" if kind != WORKER => {
            if matches!(value.value, Yaml::Bool(false)) {
                notes.mapped(
                    value,
                    path,
                    "no `expose`: not reached through a load balancer",
                );
                return;
            }
            let mut expose = Map::new();
            expose.insert("visibility".into(), json!("public"));
            for (sub, v) in value
                .as_map()
                .map(|m| m.entries.as_slice())
                .unwrap_or_default()
            {
                let p = format!("{path}.{}", sub.name);
                match sub.name.as_str() {
                    // As Copilot's rule matches it (copilot-cli
                    // `workloads/partials/cf/http-listener.yml`): the path
                    // and what is below it, or everything for `/`.
                    "path" => {
                        let route = v.as_str().unwrap_or("/").trim_end_matches('/').to_string();
                        expose.insert(
                            "paths".into(),
                            match route.is_empty() {
                                true => json!(["/*"]),
                                false => json!([route, format!("{route}/*")]),
                            },
                        );
                        notes.mapped(v, &p, &to(micro, "expose.paths"));
                    }
                    "allowed_source_ips" => {
                        let ips: Vec<Json> = match &v.value {
                            Yaml::Seq(items) => items.iter().map(yaml_json).collect(),
                            _ => Vec::new(),
                        };
                        expose.insert("allowed_source_ips".into(), Json::Array(ips));
                        notes.mapped(v, &p, &to(micro, "expose.allowed_source_ips"));
                    }
                    "stickiness" => {
                        expose.insert(
                            "stickiness".into(),
                            json!(matches!(v.value, Yaml::Bool(true))),
                        );
                        notes.mapped(v, &p, &to(micro, "expose.stickiness"));
                    }
                    "deregistration_delay" => match seconds(v) {
                        Some(delay) => {
                            expose.insert("deregistration_delay_seconds".into(), json!(delay));
                            notes.mapped(v, &p, &to(micro, "expose.deregistration_delay_seconds"));
                        }
                        None => notes.other(v, &p),
                    },
                    "alias" => {
                        let hosts: Vec<Json> = match &v.value {
                            Yaml::Str(s) => vec![json!(s)],
                            Yaml::Seq(items) => items
                                .iter()
                                .filter_map(|i| {
                                    i.as_str().map(|s| json!(s)).or_else(|| {
                                        i.as_map()?.get("name")?.as_str().map(|s| json!(s))
                                    })
                                })
                                .collect(),
                            _ => Vec::new(),
                        };
                        expose.insert("hosts".into(), Json::Array(hosts));
                        notes.mapped(
                            v,
                            &p,
                            &to(
                                micro,
                                "expose.hosts (DNS records are not managed by deployer)",
                            ),
                        );
                    }
                    "healthcheck" => {
                        let mut check = Map::new();
                        match &v.value {
                            Yaml::Str(s) => {
                                check.insert("path".into(), json!(s));
                                notes.mapped(v, &p, &to(micro, "health_check.path"));
                            }
                            Yaml::Map(m) => {
                                for (hk, hv) in &m.entries {
                                    let hp = format!("{p}.{}", hk.name);
                                    let target = match hk.name.as_str() {
                                        "path" => Some(("path", yaml_json(hv))),
                                        "success_codes" => Some(("matcher", yaml_json(hv))),
                                        "healthy_threshold" => {
                                            Some(("healthy_threshold", yaml_json(hv)))
                                        }
                                        "unhealthy_threshold" => {
                                            Some(("unhealthy_threshold", yaml_json(hv)))
                                        }
                                        "interval" => {
                                            seconds(hv).map(|s| ("interval_seconds", json!(s)))
                                        }
                                        "timeout" => {
                                            seconds(hv).map(|s| ("timeout_seconds", json!(s)))
                                        }
                                        "grace_period" => {
                                            seconds(hv).map(|s| ("grace_period_seconds", json!(s)))
                                        }
                                        _ => None,
                                    };
                                    match target {
                                        Some((field, value)) => {
                                            check.insert(field.into(), value);
                                            notes.mapped(
                                                hv,
                                                &hp,
                                                &to(micro, &format!("health_check.{field}")),
                                            );
                                        }
                                        None => notes.other(hv, &hp),
                                    }
                                }
                            }
                            _ => notes.other(v, &p),
                        }
                        settings.insert("health_check".into(), Json::Object(check));
                    }
                    _ => notes.other(v, &p),
                }
            }
            // Copilot's target groups wait 60 s when the manifest does not
            // say (copilot-cli `manifest.DefaultDeregistrationDelay`).
            expose
                .entry("deregistration_delay_seconds")
                .or_insert(json!(60));
            settings.insert("expose".into(), Json::Object(expose));
        }
        "variables" => {
            let mut env = Map::new();
            for (var, v) in value
                .as_map()
                .map(|m| m.entries.as_slice())
                .unwrap_or_default()
            {
                env.insert(var.name.clone(), yaml_json(v));
                notes.mapped(
                    v,
                    &format!("{path}.{}", var.name),
                    &to(micro, &format!("env.{}", var.name)),
                );
            }
            settings.insert("env".into(), Json::Object(env));
        }
        "secrets" => {
            let mut secrets = Map::new();
            for (var, v) in value
                .as_map()
                .map(|m| m.entries.as_slice())
                .unwrap_or_default()
            {
                let p = format!("{path}.{}", var.name);
                let manager = v
                    .as_map()
                    .and_then(|m| m.get("secretsmanager"))
                    .and_then(Node::as_str);
                match (v.as_str(), manager) {
                    (Some(arn), _) if arn.starts_with("arn:aws:secretsmanager:") => {
                        secrets.insert(var.name.clone(), json!(arn));
                        notes.mapped(v, &p, &to(micro, &format!("secrets.{}", var.name)));
                    }
                    (_, Some(secret)) => {
                        // `name:json-key::` picks a key of a JSON secret.
                        let mut parts = secret.splitn(3, ':');
                        let (id, json_key) = (parts.next().unwrap_or(secret), parts.next().filter(|k| !k.is_empty()));
                        let value = match json_key {
                            Some(key) => json!({"secret": id, "key": key}),
                            None => json!(id),
                        };
                        secrets.insert(var.name.clone(), value);
                        notes.mapped(v, &p, &to(micro, &format!("secrets.{}", var.name)));
                    }
                    // A name or ARN of an SSM parameter (Copilot's plain
                    // `secrets: NAME: parameter`).
                    (Some(parameter), _) => {
                        secrets.insert(var.name.clone(), json!({"parameter": parameter}));
                        notes.mapped(v, &p, &to(micro, &format!("secrets.{}.parameter", var.name)));
                    }
                    _ if v.as_map().is_some_and(|m| m.get("from_cfn").is_some()) => notes.unsupported(v, &p, "a CloudFormation export: give the secret's ARN the export holds (`aws cloudformation list-exports`) under `secrets:`"),
                    _ => notes.other(v, &p),
                }
            }
            settings.insert("secrets".into(), Json::Object(secrets));
        }
        // `exec: true`, or a map (`command`, …); either turns ECS Exec on.
        "exec" => {
            let on = match &value.value {
                Yaml::Bool(on) => *on,
                Yaml::Map(_) => true,
                _ => false,
            };
            settings.insert("exec".into(), json!(on));
            notes.mapped(value, path, &to(micro, "exec"));
        }
        "command" | "entrypoint" => {
            let list = match &value.value {
                Yaml::Str(s) => s.split_whitespace().map(|w| json!(w)).collect(),
                Yaml::Seq(items) => items.iter().map(yaml_json).collect(),
                _ => Vec::new(),
            };
            settings.insert(key.into(), Json::Array(list));
            notes.mapped(value, path, &to(micro, key));
        }
        "platform" => {
            let text = match &value.value {
                Yaml::Str(s) => s.clone(),
                Yaml::Map(m) => m
                    .get("architecture")
                    .and_then(Node::as_str)
                    .unwrap_or("x86_64")
                    .to_string(),
                _ => String::new(),
            };
            let arm = text.contains("arm");
            infra.insert(
                "architecture".into(),
                json!(if arm { "arm64" } else { "x86_64" }),
            );
            notes.mapped(value, path, &to(infra_file, "architecture"));
        }
        "cpu" | "memory" => {
            infra.insert(key.into(), yaml_json(value));
            notes.mapped(value, path, &to(infra_file, key));
        }
        // An environment's `count` replaces the service's whole `count`
        // (Copilot's overrides replace what they name): what it does not
        // say is removed from the overlay (`null`), not kept from the file.
        "count" if path.starts_with("environments.") => {
            for key in ["autoscaling", "capacity", "on_demand_base"] {
                infra.insert(key.into(), Json::Null);
            }
            count(value, path, infra, notes, infra_file);
        }
        "count" => count(value, path, infra, notes, infra_file),
        "tags" => notes.unsupported(
            value,
            path,
            "put the tags in service.yaml's `tags:` (they apply to every resource of the service)",
        ),
        _ => notes.other(value, path),
    }
}

/// A service's `count` (or one environment's): a number of tasks, or a map of
/// `range` (with `spot_from`), scaling targets and `spot`, into infra.yaml.
fn count(
    value: &Node,
    path: &str,
    infra: &mut Map<String, Json>,
    notes: &mut Notes,
    infra_file: &str,
) {
    match &value.value {
        Yaml::Int(n) => {
            infra.insert("replicas".into(), json!(n));
            notes.mapped(value, path, &to(infra_file, "replicas"));
        }
        Yaml::Map(m) => {
            let mut scaling = Map::new();
            for (ck, cv) in &m.entries {
                let p = format!("{path}.{}", ck.name);
                match ck.name.as_str() {
                    "range" => {
                        let range = match &cv.value {
                            Yaml::Str(s) => s.split_once('-').map(|(a, b)| {
                                (a.trim().parse::<u64>().ok(), b.trim().parse::<u64>().ok())
                            }),
                            Yaml::Map(r) => Some((
                                r.get("min").and_then(|n| yaml_json(n).as_u64()),
                                r.get("max").and_then(|n| yaml_json(n).as_u64()),
                            )),
                            _ => None,
                        };
                        if let Some((Some(min), Some(max))) = range {
                            scaling.insert("min".into(), json!(min));
                            scaling.insert("max".into(), json!(max));
                            notes.mapped(
                                cv,
                                &p,
                                &to(infra_file, "autoscaling.min, autoscaling.max"),
                            );
                        } else {
                            notes.other(cv, &p);
                        }
                        // The range's other keys: `spot_from`, the task
                        // count from which tasks run on Spot.
                        for (rk, rv) in cv
                            .as_map()
                            .map(|r| r.entries.as_slice())
                            .unwrap_or_default()
                        {
                            let rp = format!("{p}.{}", rk.name);
                            match rk.name.as_str() {
                                "min" | "max" => {}
                                "spot_from" => match yaml_json(rv).as_u64() {
                                    Some(from) => {
                                        infra.insert("capacity".into(), json!("spot"));
                                        if from > 1 {
                                            infra.insert("on_demand_base".into(), json!(from - 1));
                                        }
                                        notes.mapped(rv, &rp, &to(infra_file, "capacity: spot, on_demand_base (spot_from less one)"));
                                    }
                                    None => notes.other(rv, &rp),
                                },
                                _ => notes.other(rv, &rp),
                            }
                        }
                    }
                    // Every task on Spot (copilot-cli
                    // `convertCapacityProviders`: `FARGATE_SPOT`, weight 1).
                    "spot" => match yaml_json(cv).as_u64() {
                        Some(count) => {
                            infra.insert("replicas".into(), json!(count));
                            infra.insert("capacity".into(), json!("spot"));
                            notes.mapped(cv, &p, &to(infra_file, "replicas, capacity: spot"));
                        }
                        None => notes.other(cv, &p),
                    },
                    "cpu_percentage" => {
                        scaling.insert("cpu_target".into(), yaml_json(cv));
                        notes.mapped(cv, &p, &to(infra_file, "autoscaling.cpu_target"));
                    }
                    "memory_percentage" => {
                        scaling.insert("memory_target".into(), yaml_json(cv));
                        notes.mapped(cv, &p, &to(infra_file, "autoscaling.memory_target"));
                    }
                    "requests" => {
                        // Copilot counts requests per task per minute too.
                        scaling.insert("requests_per_target".into(), yaml_json(cv));
                        notes.mapped(cv, &p, &to(infra_file, "autoscaling.requests_per_target"));
                    }
                    // A duration (`2s`, `500ms`): the response time to hold.
                    "response_time" => match duration_ms(cv) {
                        Some(ms) => {
                            scaling.insert("response_time_ms".into(), json!(ms));
                            notes.mapped(cv, &p, &to(infra_file, "autoscaling.response_time_ms"));
                        }
                        None => notes.other(cv, &p),
                    },
                    _ => notes.other(cv, &p),
                }
            }
            if let (Some(min), true) = (scaling.get("min").cloned(), scaling.contains_key("max")) {
                infra.insert("replicas".into(), min);
                infra.insert("autoscaling".into(), Json::Object(scaling));
            }
        }
        _ => notes.other(value, path),
    }
}

/// One environment of stack.yaml.
fn environment(name: &str, manifest: &Node, request: &Import, notes: &mut Notes) -> Json {
    let mut network = Map::new();
    let file = "stack.yaml";
    for (key, value) in manifest
        .as_map()
        .map(|m| m.entries.as_slice())
        .unwrap_or_default()
    {
        match key.name.as_str() {
            "name" | "type" => {
                notes.mapped(value, &key.name, &format!("{file}: environments.{name}"))
            }
            "network" => {
                let vpc = value.as_map().and_then(|m| m.get("vpc"));
                for (vk, vv) in vpc
                    .and_then(Node::as_map)
                    .map(|m| m.entries.as_slice())
                    .unwrap_or_default()
                {
                    let p = format!("network.vpc.{}", vk.name);
                    match vk.name.as_str() {
                        "id" => {
                            network.insert("vpc".into(), yaml_json(vv));
                            notes.mapped(vv, &p, &format!("{file}: environments.{name}.network.vpc"));
                        }
                        "subnets" => {
                            for (placement, field) in [("public", "public_subnets"), ("private", "private_subnets")] {
                                let Some(list) = vv.as_map().and_then(|m| m.get(placement)) else {
                                    continue;
                                };
                                let ids: Vec<Json> = match &list.value {
                                    Yaml::Seq(items) => items
                                        .iter()
                                        .filter_map(|i| i.as_map()?.get("id").map(yaml_json))
                                        .collect(),
                                    _ => Vec::new(),
                                };
                                network.insert(field.into(), Json::Array(ids));
                                notes.mapped(list, &format!("{p}.{placement}"), &format!("{file}: environments.{name}.network.{field}"));
                            }
                        }
                        _ => notes.unsupported(vv, &p, "a VPC Copilot creates (cidr, flow logs) is not created by deployer: give the ids of an existing VPC and its subnets"),
                    }
                }
            }
            "http" => {
                let certificate = value
                    .as_map()
                    .and_then(|m| m.get("public"))
                    .and_then(Node::as_map)
                    .and_then(|m| m.get("certificates"))
                    .and_then(|c| match &c.value {
                        Yaml::Seq(items) => {
                            items.first().and_then(Node::as_str).map(str::to_string)
                        }
                        _ => None,
                    });
                match certificate {
                    Some(arn) => {
                        network.insert("certificate".into(), json!(arn));
                        notes.mapped(
                            value,
                            "http.public.certificates",
                            &format!("{file}: environments.{name}.network.certificate"),
                        );
                    }
                    None => notes.other(value, "http"),
                }
            }
            _ => notes.other(value, &key.name),
        }
    }
    for (field, placeholder) in [("vpc", "vpc-REPLACE-ME"), ("private_subnets", "")] {
        if !network.contains_key(field) {
            network.insert(
                field.into(),
                if placeholder.is_empty() {
                    json!([])
                } else {
                    json!(placeholder)
                },
            );
            notes.unsupported(manifest, &format!("network.{field}"), &format!("the manifest gives no {field} (Copilot created the VPC): write the ids into stack.yaml"));
        }
    }
    let account = request.accounts.get(name).cloned().unwrap_or_else(|| {
        notes.unsupported(manifest, "account", &format!("Copilot keeps an environment's account outside its manifest: pass --env-account {name}=ID"));
        "000000000000".into()
    });
    json!({"account": account, "region": request.region, "network": network})
}

/// A YAML leaf as JSON.
fn yaml_json(node: &Node) -> Json {
    node.to_json()
}

/// `30s`, `2m`, `1m30s` as seconds.
fn seconds(node: &Node) -> Option<u64> {
    match &node.value {
        Yaml::Int(n) => u64::try_from(*n).ok(),
        // Copilot writes Go durations (`15s`, `2m`, `1m30s`), which jiff's
        // friendly format reads.
        Yaml::Str(s) => s
            .parse::<jiff::SignedDuration>()
            .ok()
            .and_then(|d| u64::try_from(d.as_secs()).ok()),
        _ => None,
    }
}

/// Where a manifest key went, as the report says it: `<file>: <key>`.
fn to(file: &str, key: &str) -> String {
    format!("{file}: {key}")
}

/// A Go duration (`2s`, `500ms`) in milliseconds.
fn duration_ms(node: &Node) -> Option<u64> {
    let duration = node.as_str()?.parse::<jiff::SignedDuration>().ok()?;
    u64::try_from(duration.as_millis())
        .ok()
        .filter(|ms| *ms > 0)
}

fn text(node: &Node, key: &str) -> Option<String> {
    node.as_map()?.get(key)?.as_str().map(str::to_string)
}

/// Sub-folders of `dir`, sorted.
fn folders(dir: &Path) -> Vec<PathBuf> {
    entries(dir, Path::is_dir)
}

/// Files of `dir`, sorted.
fn folders_files(dir: &Path) -> Vec<PathBuf> {
    entries(dir, Path::is_file)
}

/// The entries of `dir` that `keep` keeps, sorted; none when it cannot be read.
fn entries(dir: &Path, keep: fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| keep(p))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// Changes a file the import wrote (its modeline kept): how `--adopt`
/// records what it found.
pub fn edit(path: &Path, change: impl FnOnce(&mut Json)) -> Result<(), Refused> {
    let text = crate::fs::read_back_text(path, crate::fs::ReadBack::Repository)
        .map_err(|e| Refused(format!("cannot read {}: {e}", path.display())))?;
    let schema = text
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("# yaml-language-server: $schema="))
        .unwrap_or_default()
        .to_string();
    let mut value = crate::load::yaml::to_json(&text)
        .map_err(|e| Refused(format!("cannot read {}: {e}", path.display())))?;
    change(&mut value);
    crate::artifacts::write_atomic(path, header(&schema, &value).as_bytes())
        .map_err(|e| Refused(format!("cannot write {}: {e}", path.display())))
}

/// A file as written: the editor modeline, then the YAML.
fn header(schema: &str, value: &Json) -> String {
    format!(
        "# yaml-language-server: $schema={schema}\n{}",
        crate::pipeline::to_yaml(value)
    )
}
