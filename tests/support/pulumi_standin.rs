//! A stand-in for the Pulumi CLI, built by the test suite (`cargo test` builds
//! examples): no Pulumi CLI can be installed on the project's machines.
//!
//! It honours the command-line contract of every call deployer makes and writes
//! the same events, so that deployer works unchanged with the real CLI:
//!
//! - `pulumi version` prints `v3.x.y`
//!   (https://github.com/pulumi/pulumi/blob/master/pkg/cmd/pulumi/version.go);
//! - `pulumi stack select --create --stack S --secrets-provider P --non-interactive`
//!   (https://www.pulumi.com/docs/iac/cli/commands/pulumi_stack_select/): creates
//!   the stack and, for the passphrase provider, writes `encryptionsalt` into
//!   `Pulumi.<S>.yaml` as the real CLI does;
//! - `pulumi preview --event-log FILE` writes engine events to FILE
//!   (the mechanism of the Automation API);
//! - `pulumi up --yes --skip-preview --json` and `pulumi refresh --yes --json
//!   [--preview-only] [--clear-pending-creates]` stream engine events, one JSON
//!   object per line on stdout (https://github.com/pulumi/pulumi/pull/8275);
//! - `pulumi stack output --json` prints the outputs as a JSON object;
//! - `pulumi cancel --yes` removes a self-managed backend's stale lock
//!   (https://github.com/pulumi/pulumi/pull/9100).
//!
//! Events follow `EngineEvent` in `sdk/go/common/apitype/events.go`: `sequence`,
//! `timestamp` (Unix seconds) and one of `preludeEvent`, `resourcePreEvent`,
//! `resOutputsEvent`, `resOpFailedEvent`, `diagnosticEvent`, `summaryEvent`,
//! `cancelEvent`. Exit codes follow https://www.pulumi.com/docs/iac/cli/exit-codes/
//! (0 success, 2 configuration, 4 resource error, 6 stack not found, 8 cancelled).
//!
//! State lives where the real CLI keeps it for `file://` backends
//! (`<path>/.pulumi/stacks/<project>/<stack>.json`, locks under
//! `.pulumi/locks/`); for `s3://` backends the stand-in keeps it under
//! `$STANDIN_STATE_DIR` instead of the bucket.
//!
//! Knobs (environment variables), each matching resources whose name or inputs
//! contain the given text:
//! - `STANDIN_FAIL=text`: that resource's operation fails (exit 4);
//! - `STANDIN_HANG=text`: hang at that resource until interrupted, then stop
//!   cleanly (exit 8), writing `$STANDIN_MARKER` with its pid while hanging;
//! - `STANDIN_DRIFT=name[:deleted],...`: refresh reports these resources changed
//!   (or deleted) in the cloud;
//! - `STANDIN_SECONDS=name=secs,...`: simulated seconds a resource takes (the
//!   event timestamps advance by it; default 1 for a change, 0 for `same`);
//! - `STANDIN_VERSION`: what `version` prints (default v3.230.0);
//! - `STANDIN_LOG=file`: every command line is appended to it;
//! - `STANDIN_TIMES=file`: the microseconds each call took are appended to it
//!   (for the overhead benchmark, which subtracts them).

use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

struct Args {
    words: Vec<String>,
    flags: BTreeMap<String, String>,
    switches: Vec<String>,
}

fn parse_args() -> Args {
    let mut args = Args {
        words: Vec::new(),
        flags: BTreeMap::new(),
        switches: Vec::new(),
    };
    let mut it = std::env::args().skip(1).peekable();
    let valued = [
        "--stack",
        "-s",
        "--cwd",
        "-C",
        "--event-log",
        "--secrets-provider",
    ];
    while let Some(arg) = it.next() {
        if valued.contains(&arg.as_str()) {
            args.flags.insert(
                arg.trim_start_matches('-').to_string(),
                it.next().unwrap_or_default(),
            );
        } else if let Some(switch) = arg.strip_prefix("--") {
            args.switches.push(switch.to_string());
        } else {
            args.words.push(arg);
        }
    }
    args
}

fn fail(code: i32, message: &str) -> ! {
    eprintln!("error: {message}");
    exit(code);
}

thread_local! {
    static TIMER: std::cell::RefCell<Option<Box<dyn std::any::Any>>> = const { std::cell::RefCell::new(None) };
}

fn record_time(path: &str, started: std::time::Instant) {
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(f, "{}", started.elapsed().as_micros());
    }
}

/// Exits after recording the call's time (`process::exit` skips destructors).
fn exit(code: i32) -> ! {
    TIMER.with(|t| drop(t.borrow_mut().take()));
    std::process::exit(code);
}

fn main() {
    let started = std::time::Instant::now();
    if let Ok(times) = std::env::var("STANDIN_TIMES") {
        // Recorded at exit, however the process ends normally.
        struct Timer(std::time::Instant, String);
        impl Drop for Timer {
            fn drop(&mut self) {
                record_time(&self.1, self.0);
            }
        }
        TIMER.with(|t| *t.borrow_mut() = Some(Box::new(Timer(started, times))));
    }
    if let Ok(log) = std::env::var("STANDIN_LOG") {
        let line = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
        let backend = std::env::var("PULUMI_BACKEND_URL").unwrap_or_default();
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
        {
            let _ = writeln!(f, "{line} [backend={backend}]");
        }
    }
    let args = parse_args();
    let _ = ctrlc::set_handler(|| INTERRUPTED.store(true, Ordering::SeqCst));
    let words: Vec<&str> = args.words.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["version"] => println!(
            "{}",
            std::env::var("STANDIN_VERSION").unwrap_or_else(|_| "v3.230.0".into())
        ),
        _ => {
            if !args.switches.iter().any(|s| s == "non-interactive") {
                fail(
                    2,
                    "the stand-in expects --non-interactive, as deployer always passes it",
                );
            }
            let ws = Workspace::open(&args);
            match words.as_slice() {
                ["stack", "select"] => ws.select(&args),
                ["stack", "output"] => ws.outputs(),
                ["preview"] => ws.preview(&args),
                ["up"] => ws.up(&args),
                ["refresh"] => ws.refresh(&args),
                ["cancel"] => ws.cancel(),
                other => fail(2, &format!("unknown command {other:?}")),
            }
        }
    }
    exit(0);
}

struct Workspace {
    dir: PathBuf,
    project: String,
    stack: String,
    program: Value,
    state_root: PathBuf,
}

#[derive(Clone)]
struct Step {
    op: &'static str,
    name: String,
    kind: String,
    inputs: Value,
}

impl Workspace {
    fn open(args: &Args) -> Workspace {
        let dir = args
            .flags
            .get("cwd")
            .map(PathBuf::from)
            .unwrap_or_else(|| std::env::current_dir().unwrap());
        let text = std::fs::read_to_string(dir.join("Pulumi.yaml"))
            .unwrap_or_else(|_| fail(2, "no Pulumi.yaml in the current directory"));
        let program = deployer::load::yaml::to_json(&text)
            .unwrap_or_else(|e| fail(2, &format!("Pulumi.yaml: {e}")));
        if program["runtime"] != "yaml" {
            fail(2, "Pulumi.yaml: runtime must be yaml");
        }
        let project = program["name"]
            .as_str()
            .unwrap_or_else(|| fail(2, "Pulumi.yaml: missing name"))
            .to_string();
        let stack = args
            .flags
            .get("stack")
            .cloned()
            .unwrap_or_else(|| fail(6, "no stack selected; pass --stack"));
        let backend = std::env::var("PULUMI_BACKEND_URL")
            .unwrap_or_else(|_| fail(3, "PULUMI_BACKEND_URL is not set (not logged in)"));
        let state_root = match backend.strip_prefix("file://") {
            Some(path) => PathBuf::from(path),
            None => {
                let base = std::env::var("STANDIN_STATE_DIR").unwrap_or_else(|_| {
                    fail(
                        1,
                        "the stand-in keeps s3:// state in $STANDIN_STATE_DIR, which is not set",
                    )
                });
                let key: String = backend
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                    .collect();
                PathBuf::from(base).join(key)
            }
        };
        Workspace {
            dir,
            project,
            stack,
            program,
            state_root,
        }
    }

    fn state_path(&self) -> PathBuf {
        self.state_root
            .join(".pulumi/stacks")
            .join(&self.project)
            .join(format!("{}.json", self.stack))
    }

    fn locks_dir(&self) -> PathBuf {
        self.state_root
            .join(".pulumi/locks")
            .join(&self.project)
            .join(&self.stack)
    }

    fn load(&self) -> Value {
        match std::fs::read_to_string(self.state_path()) {
            Ok(text) => serde_json::from_str(&text)
                .unwrap_or_else(|_| fail(1, "the stack's checkpoint is damaged")),
            Err(_) => fail(6, &format!("no stack named '{}' found", self.stack)),
        }
    }

    fn save(&self, state: &Value) {
        let path = self.state_path();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(state).unwrap()).unwrap();
        std::fs::rename(tmp, path).unwrap();
    }

    fn urn(&self, kind: &str, name: &str) -> String {
        format!(
            "urn:pulumi:{}::{}::{kind}::{name}",
            self.stack, self.project
        )
    }

    fn check_passphrase(&self, provider: &str) {
        if provider == "passphrase"
            && std::env::var_os("PULUMI_CONFIG_PASSPHRASE").is_none()
            && std::env::var_os("PULUMI_CONFIG_PASSPHRASE_FILE").is_none()
        {
            fail(
                2,
                "passphrase must be set with PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE environment variables",
            );
        }
    }

    fn select(&self, args: &Args) {
        let provider = args
            .flags
            .get("secrets-provider")
            .cloned()
            .unwrap_or_else(|| "passphrase".into());
        self.check_passphrase(&provider);
        if self.state_path().exists() {
            return;
        }
        if !args.switches.iter().any(|s| s == "create") {
            fail(6, &format!("no stack named '{}' found", self.stack));
        }
        self.save(&json!({"resources": {}, "order": [], "pending": [], "outputs": {}}));
        let config = self.dir.join(format!("Pulumi.{}.yaml", self.stack));
        let text = std::fs::read_to_string(&config).unwrap_or_default();
        if provider == "passphrase" && !text.contains("encryptionsalt:") {
            let salt = format!("v1:{}:v1:standin:standin", uuid::Uuid::new_v4().simple());
            std::fs::write(&config, format!("encryptionsalt: {salt}\n{text}")).unwrap();
        } else if provider != "passphrase" && !text.contains("secretsprovider:") {
            std::fs::write(
                &config,
                format!("secretsprovider: {provider}\nencryptedkey: c3RhbmRpbg==\n{text}"),
            )
            .unwrap();
        }
        println!("Created stack '{}'", self.stack);
    }

    fn outputs(&self) {
        let state = self.load();
        println!(
            "{}",
            serde_json::to_string_pretty(&state["outputs"]).unwrap()
        );
    }

    fn cancel(&self) {
        let _ = std::fs::remove_dir_all(self.locks_dir());
        println!(
            "The currently running update for '{}' has been canceled!",
            self.stack
        );
    }

    fn lock(&self) -> PathBuf {
        let dir = self.locks_dir();
        if let Ok(entries) = std::fs::read_dir(&dir) {
            let held: Vec<String> = entries
                .flatten()
                .map(|e| e.path().display().to_string())
                .collect();
            if !held.is_empty() {
                fail(
                    1,
                    &format!(
                        "the stack is currently locked by {} lock(s). Either wait for the other process(es) to end or delete the lock file with `pulumi cancel`.\n  {}",
                        held.len(),
                        held.join("\n  ")
                    ),
                );
            }
        }
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{}.json", uuid::Uuid::new_v4()));
        std::fs::write(&path, json!({"pid": std::process::id()}).to_string()).unwrap();
        path
    }

    /// What `up` would do: program resources in order, then deletions.
    fn plan(&self, state: &Value) -> Vec<Step> {
        let empty = Map::new();
        let resources = self.program["resources"].as_object().unwrap_or(&empty);
        let known = state["resources"].as_object().unwrap_or(&empty);
        let mut steps = Vec::new();
        for (name, resource) in resources {
            let kind = resource["type"].as_str().unwrap_or_default().to_string();
            let inputs = json!({"properties": resource.get("properties").cloned().unwrap_or(Value::Null), "options": resource.get("options").cloned().unwrap_or(Value::Null)});
            let op = match known.get(name) {
                None => "create",
                Some(old) if old["type"] != kind.as_str() => "replace",
                Some(old) if old["inputs"] != inputs => "update",
                Some(_) => "same",
            };
            steps.push(Step {
                op,
                name: name.clone(),
                kind,
                inputs,
            });
        }
        let order = creation_order(state);
        for name in order.iter().rev() {
            if !resources.contains_key(name)
                && let Some(old) = known.get(name)
            {
                steps.push(Step {
                    op: "delete",
                    name: name.clone(),
                    kind: old["type"].as_str().unwrap_or_default().into(),
                    inputs: old["inputs"].clone(),
                });
            }
        }
        steps
    }

    fn preview(&self, args: &Args) {
        let state = self.load();
        let steps = self.plan(&state);
        let mut events = Events::new(None);
        events.emit("preludeEvent", json!({"config": {}}));
        let mut counts: BTreeMap<&str, u32> = BTreeMap::new();
        for step in &steps {
            *counts.entry(step.op).or_default() += 1;
            let metadata = self.metadata(step, &state);
            events.emit(
                "resourcePreEvent",
                json!({"metadata": metadata, "planning": true}),
            );
            events.emit(
                "resOutputsEvent",
                json!({"metadata": metadata, "planning": true}),
            );
            if step.op != "same" {
                println!("    {} {} {}", step.op, step.kind, step.name);
            }
        }
        events.emit("summaryEvent", json!({"maybeCorrupt": false, "durationSeconds": 0, "resourceChanges": counts, "PolicyPacks": {}, "isPreview": true}));
        if let Some(path) = args.flags.get("event-log") {
            std::fs::write(path, events.lines.join("")).unwrap();
        }
    }

    fn metadata(&self, step: &Step, state: &Value) -> Value {
        let old = state["resources"].get(&step.name).map(|r| json!({"type": r["type"], "urn": self.urn(&step.kind, &step.name), "inputs": r["inputs"], "outputs": r["outputs"]}));
        let new = (step.op != "delete").then(|| json!({"type": step.kind, "urn": self.urn(&step.kind, &step.name), "inputs": step.inputs}));
        let diffs: Vec<&str> = if step.op == "update" {
            vec!["properties"]
        } else {
            vec![]
        };
        json!({"op": step.op, "urn": self.urn(&step.kind, &step.name), "type": step.kind, "old": old, "new": new, "diffs": diffs, "detailedDiff": null, "provider": ""})
    }

    fn up(&self, args: &Args) {
        if !args.switches.iter().any(|s| s == "yes") {
            fail(
                2,
                "--yes must be passed in to proceed when running in non-interactive mode",
            );
        }
        let mut state = self.load();
        if state["pending"].as_array().is_some_and(|p| !p.is_empty()) {
            fail(
                1,
                "the current deployment has resource(s) with pending operations; run `pulumi refresh --clear-pending-creates` to clear them",
            );
        }
        let lock = self.lock();
        let mut events = Events::new(Some(std::io::stdout()));
        let started = events.clock;
        events.emit("preludeEvent", json!({"config": {}}));
        let stack_kind = "pulumi:pulumi:Stack";
        let stack_name = format!("{}-{}", self.project, self.stack);
        let stack_meta = json!({"op": "same", "urn": self.urn(stack_kind, &stack_name), "type": stack_kind, "old": null, "new": null, "provider": ""});
        events.emit("resourcePreEvent", json!({"metadata": stack_meta}));
        let knob = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let matches = |step: &Step, text: &str| {
            step.name.contains(text) || step.inputs.to_string().contains(text)
        };
        let seconds = parse_seconds();
        let mut counts: BTreeMap<&str, u32> = BTreeMap::new();
        let mut exit = 0;
        for step in self.plan(&state) {
            let metadata = self.metadata(&step, &state);
            *counts.entry(step.op).or_default() += 1;
            events.emit("resourcePreEvent", json!({"metadata": metadata}));
            if step.op != "same" {
                if knob("STANDIN_HANG").is_some_and(|t| matches(&step, &t)) {
                    state["pending"] = json!([{"resource": step.name, "type": step.op}]);
                    self.save(&state);
                    if let Some(marker) = knob("STANDIN_MARKER") {
                        std::fs::write(marker, std::process::id().to_string()).unwrap();
                    }
                    while !INTERRUPTED.load(Ordering::SeqCst) {
                        std::thread::sleep(std::time::Duration::from_millis(20));
                    }
                    // Cancelled: the in-flight operation completes, then the update stops.
                    state["pending"] = json!([]);
                    apply(&mut state, &step);
                    events.emit("resOutputsEvent", json!({"metadata": metadata}));
                    events.emit("diagnosticEvent", json!({"message": "update canceled\n", "color": "never", "severity": "error"}));
                    exit = 8;
                    break;
                }
                if knob("STANDIN_FAIL").is_some_and(|t| matches(&step, &t)) {
                    events.advance(seconds.get(&step.name).copied().unwrap_or(1));
                    let urn = self.urn(&step.kind, &step.name);
                    events.emit(
                        "diagnosticEvent",
                        json!({"urn": urn, "message": format!("  {} {}: operation error: StandinFailure: injected failure for {}\n", step.op, step.kind, step.name), "color": "never", "severity": "error"}),
                    );
                    events.emit(
                        "resOpFailedEvent",
                        json!({"metadata": metadata, "status": 1, "steps": 1}),
                    );
                    exit = 4;
                    break;
                }
            }
            if step.op != "same" {
                events.advance(seconds.get(&step.name).copied().unwrap_or(1));
            }
            apply(&mut state, &step);
            self.save(&state);
            events.emit(
                "resOutputsEvent",
                json!({"metadata": self.metadata(&step, &state)}),
            );
        }
        if exit == 0 {
            state["outputs"] = outputs(&self.program);
        }
        self.save(&state);
        events.emit("resOutputsEvent", json!({"metadata": stack_meta}));
        let duration = events.clock - started;
        events.emit("summaryEvent", json!({"maybeCorrupt": false, "durationSeconds": duration, "resourceChanges": counts, "PolicyPacks": {}, "isPreview": false}));
        events.emit("cancelEvent", json!({}));
        let _ = std::fs::remove_file(lock);
        if exit != 0 {
            eprintln!("error: update failed");
        }
        self::exit(exit);
    }

    fn refresh(&self, args: &Args) {
        let preview_only = args.switches.iter().any(|s| s == "preview-only");
        if !preview_only && !args.switches.iter().any(|s| s == "yes") {
            fail(
                2,
                "--yes must be passed in to proceed when running in non-interactive mode",
            );
        }
        let mut state = self.load();
        let lock = (!preview_only).then(|| self.lock());
        if args.switches.iter().any(|s| s == "clear-pending-creates") {
            state["pending"] = json!([]);
        }
        let drift: BTreeMap<String, bool> = std::env::var("STANDIN_DRIFT")
            .unwrap_or_default()
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| match s.strip_suffix(":deleted") {
                Some(name) => (name.to_string(), true),
                None => (s.to_string(), false),
            })
            .collect();
        let mut events = Events::new(Some(std::io::stdout()));
        events.emit("preludeEvent", json!({"config": {}}));
        let mut counts: BTreeMap<&str, u32> = BTreeMap::new();
        let order = creation_order(&state);
        for name in order {
            let resource = state["resources"][&name].clone();
            let kind = resource["type"].as_str().unwrap_or_default().to_string();
            let (op, diffs) = match drift.get(&name) {
                Some(true) => ("delete", vec![]),
                Some(false) => ("update", vec!["tags"]),
                None => ("same", vec![]),
            };
            *counts.entry(op).or_default() += 1;
            let detailed: Map<String, Value> = diffs
                .iter()
                .map(|d| (d.to_string(), json!({"kind": "update"})))
                .collect();
            let metadata = json!({"op": op, "urn": self.urn(&kind, &name), "type": kind, "old": resource, "new": resource, "diffs": diffs, "detailedDiff": detailed, "provider": ""});
            events.emit("resourcePreEvent", json!({"metadata": metadata}));
            events.emit("resOutputsEvent", json!({"metadata": metadata}));
        }
        events.emit("summaryEvent", json!({"maybeCorrupt": false, "durationSeconds": 0, "resourceChanges": counts, "PolicyPacks": {}, "isPreview": preview_only}));
        if !preview_only {
            self.save(&state);
        }
        if let Some(lock) = lock {
            let _ = std::fs::remove_file(lock);
        }
    }
}

/// The names of the resources in the state, oldest first.
fn creation_order(state: &Value) -> Vec<String> {
    state["order"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn apply(state: &mut Value, step: &Step) {
    let mut order: Vec<Value> = state["order"].as_array().cloned().unwrap_or_default();
    if step.op == "delete" {
        state["resources"]
            .as_object_mut()
            .unwrap()
            .remove(&step.name);
        order.retain(|n| n != &Value::String(step.name.clone()));
    } else {
        let outputs = json!({"id": format!("{}-id", step.name), "arn": format!("arn:aws:standin:::{}", step.name)});
        state["resources"][&step.name] =
            json!({"type": step.kind, "inputs": step.inputs, "outputs": outputs});
        if !order.contains(&Value::String(step.name.clone())) {
            order.push(Value::String(step.name.clone()));
        }
    }
    state["order"] = Value::Array(order);
}

/// Program outputs with every `${res.prop}` replaced by a recognisable value.
fn outputs(program: &Value) -> Value {
    let re = regex::Regex::new(r"\$\{([^}]*)\}").unwrap();
    let mut out = Map::new();
    if let Some(map) = program["outputs"].as_object() {
        for (k, v) in map {
            let text = v
                .as_str()
                .map(String::from)
                .unwrap_or_else(|| v.to_string());
            let resolved = re
                .replace_all(&text, |c: &regex::Captures| {
                    format!("standin-{}", c[1].replace('.', "-"))
                })
                .replace("$$", "$");
            out.insert(k.clone(), Value::String(resolved));
        }
    }
    Value::Object(out)
}

fn parse_seconds() -> BTreeMap<String, i64> {
    std::env::var("STANDIN_SECONDS")
        .unwrap_or_default()
        .split(',')
        .filter_map(|pair| {
            let (name, secs) = pair.split_once('=')?;
            Some((name.to_string(), secs.parse().ok()?))
        })
        .collect()
}

/// Numbered, timestamped events, written as they happen.
struct Events {
    out: Option<std::io::Stdout>,
    lines: Vec<String>,
    sequence: u64,
    /// Simulated clock: starts now and advances by each resource's seconds.
    clock: i64,
}

impl Events {
    fn new(out: Option<std::io::Stdout>) -> Events {
        let clock = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        Events {
            out,
            lines: Vec::new(),
            sequence: 0,
            clock,
        }
    }

    fn advance(&mut self, seconds: i64) {
        self.clock += seconds;
    }

    fn emit(&mut self, kind: &str, body: Value) {
        self.sequence += 1;
        let mut event = Map::new();
        event.insert("sequence".into(), json!(self.sequence));
        event.insert("timestamp".into(), json!(self.clock));
        event.insert(kind.into(), body);
        let line = format!("{}\n", Value::Object(event));
        if let Some(out) = &mut self.out {
            let _ = out.write_all(line.as_bytes());
            let _ = out.flush();
        }
        self.lines.push(line);
    }
}
