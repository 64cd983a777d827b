//! A stand-in for the Pulumi CLI, built by the test suite (`cargo test` builds
//! examples): no Pulumi CLI can be installed on the project's machines.
//!
//! It is a model of the real CLI, written from Pulumi's source
//! (`../shared/pulumi-contract.md` lists the facts; each behaviour below names
//! the file of pulumi/pulumi, v3.227.0 unless said otherwise, it follows). It is
//! worth what it refuses, so it refuses what the real CLI refuses:
//!
//! - flags a command does not have, `--event-log` without
//!   `PULUMI_DEBUG_COMMANDS` ([`cli`]), `--yes` with `--preview-only`
//!   (`updateFlagsToOptions`, `pkg/cmd/pulumi/operations/io.go`), an operation
//!   without `--yes`/`--skip-preview` when not interactive
//!   (`NoConfirmationInNonInteractiveError`, exit 2 for `up`);
//! - backend URL query parameters its pretended version's gocloud does not know
//!   ([`blob`]);
//! - a missing passphrase, or an empty `PULUMI_CONFIG_PASSPHRASE_FILE`
//!   (`readPassphrase`, `pkg/secrets/passphrase/manager.go`);
//! - a stack locked by another process (`checkForLock`, `pkg/backend/diy/lock.go`);
//! - autonamed names over the provider's maximum, and explicit names over AWS's
//!   (`NewUniqueName`, `sdk/go/common/resource/resource_id.go`; maxima from
//!   pulumi-aws `provider/resources.go`), failing the preview;
//! - deleting a protected resource, in `destroy`, `up` and previews alike
//!   (`deleteProtectedError`, `pkg/resource/deploy/step.go`), and replacing
//!   one that stays protected (`step_generator.go`);
//! - `--yes` with `--preview-only`, also when `PULUMI_SKIP_CONFIRMATIONS` sets
//!   `--yes` (`refresh.go`, `destroy.go`);
//! - a stack config missing a value the program declares, in `refresh` and
//!   `destroy` too up to 3.248 (`ValidateStackConfigAndApplyProjectConfig`);
//! - a provider plugin version that is not installed when downloads fail.
//!
//! And it produces what the real CLI produces:
//! - `preview --json` prints one indented digest at the end
//!   (`ShowPreviewDigest`, `pkg/backend/display/json.go`) unless
//!   `PULUMI_ENABLE_STREAMING_JSON_PREVIEW` is true, when it streams events
//!   (`ShowEvents`, `pkg/backend/display/display.go`); `up`, `refresh`, `destroy`
//!   with `--json` stream events, one JSON object a line (`ShowJSONEvents`);
//! - operations without `--skip-preview` preview first
//!   (`PreviewThenPromptThenExecute`, `pkg/backend/apply.go`);
//! - events follow `sdk/go/common/apitype/events.go`; a preview's are marked
//!   `planning`; a failed step's diagnostic comes before its `resOpFailedEvent`;
//!   a refresh's pre-event op is `refresh` and the result (`same`, `update`,
//!   `delete`) is the op of its outputs event, with `detailedDiff` entries
//!   `{diffKind, inputDiff}` (`OnResourceStepPost`, `pkg/engine/update.go`);
//! - a failed step and a graceful cancel exit 1 (`ExitCodeFor`,
//!   `pkg/cmd/pulumi/cmd/exit_codes.go`; `BailErrorf("canceled")`);
//! - a replacement as three steps, `create-replacement`, `replace` and (after
//!   every other step) `delete-replaced`, or delete first for a named
//!   resource (`step_generator.go`), when an input the provider marks
//!   `ForceNew` changes ([`REPLACING`]);
//! - `stack output --json` of a stack without outputs prints `{}`
//!   (`stack_output.go`);
//! - the DIY layout: state at `.pulumi/stacks/<project>/<stack>.json` (the
//!   legacy layout `.pulumi/stacks/<stack>.json` without `meta.yaml`; `.gz` or
//!   `.zst` with `PULUMI_DIY_BACKEND_GZIP`/`_ZSTD`), gocloud's `.attrs` beside
//!   every object of a `file://` back-end; locks at
//!   `.pulumi/locks/organization/<project>/<stack>/<id>.json` holding
//!   `{pid, username, hostname, timestamp}`, taken by `up`, `refresh` and
//!   `destroy` (preview-only too) but not `preview` (`pkg/backend/diy/backend.go`);
//!   `cancel` deletes every lock of the stack without looking;
//! - an import (`options.import`) of a resource not in the state reads it
//!   live ([`read`]) and fails when it does not exist ("resource '<id>' does
//!   not exist", `ImportStep.Apply`, pkg/resource/deploy/step.go); then the
//!   program is diffed against what was read, as an update would be
//!   (`continueStepsFromImport`, step_generator.go): an `import` step, then
//!   an update or a replacement — which a resource that still names an id to
//!   import may not undergo: a warning in a preview, an error in `up`; the
//!   import step runs before what depends on it, so a reference to what an
//!   import read (`${cluster.arn}`) is known to the diff of another import;
//! - `up` with pending operations proceeds with a warning
//!   (`deployment_executor.go`); `refresh --clear-pending-creates` drops them.
//!
//! The stand-in's own state format is simpler than Pulumi's checkpoint.
//!
//! Knobs (environment variables), each matching resources whose name or
//! inputs contain the given text:
//! - `STANDIN_VERSION`: what `version` prints and which gocloud it models
//!   (default v3.259.0);
//! - `STANDIN_FAIL=text`: that resource's operation fails;
//! - `STANDIN_HANG=text`: hang at that resource until interrupted, then stop
//!   cleanly, writing `$STANDIN_MARKER` with its pid while hanging;
//!   `STANDIN_IGNORE_INTERRUPT=1` keeps hanging after an interrupt;
//! - `STANDIN_DRIFT=name[:deleted],...`: a refresh finds these resources changed
//!   (or deleted) in the cloud;
//! - `STANDIN_SECONDS=name=secs,...`: simulated seconds a resource takes;
//! - `STANDIN_PAUSE=text=millis`: that resource's operation takes real time;
//! - `STANDIN_OFFLINE=1`: plugin downloads fail;
//! - `STANDIN_LOG=file`: every command line is appended to it;
//! - `STANDIN_TIMES=file`: the microseconds each call took (for the benchmark).

#![allow(clippy::print_stdout, clippy::print_stderr)] // a test program reports by printing

mod blob;
mod cli;
mod read;

use blob::Bucket;
use cli::{Args, truthy};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

const STACK_TYPE: &str = "pulumi:pulumi:Stack";

/// Names pulumi-aws fills in when a program leaves them out (autonaming:
/// `<logical name>-` and 7 random characters), with the provider's maximum for
/// each (pulumi-aws `provider/resources.go`, `autonaming.go`: 255 unless a
/// resource says otherwise), and AWS's own maximum for an explicit value.
const NAMES: &[(&str, &str, usize)] = &[
    ("aws:lb/loadBalancer:LoadBalancer", "name", 32),
    ("aws:lb/targetGroup:TargetGroup", "name", 32),
    ("aws:iam/role:Role", "name", 64),
    ("aws:iam/rolePolicy:RolePolicy", "name", 128),
    ("aws:iam/policy:Policy", "name", 128),
    ("aws:ec2/securityGroup:SecurityGroup", "name", 255),
    ("aws:rds/subnetGroup:SubnetGroup", "name", 255),
    ("aws:rds/instance:Instance", "identifier", 63),
    ("aws:sqs/queue:Queue", "name", 80),
    ("aws:ecs/cluster:Cluster", "name", 255),
    ("aws:ecs/service:Service", "name", 255),
    ("aws:cloudwatch/logGroup:LogGroup", "name", 512),
    ("aws:appautoscaling/policy:Policy", "name", 255),
    ("aws:cloudwatch/metricAlarm:MetricAlarm", "name", 255),
    ("aws:elasticache/subnetGroup:SubnetGroup", "name", 255),
    (
        "aws:elasticache/replicationGroup:ReplicationGroup",
        "replicationGroupId",
        40,
    ),
];

/// The inputs whose change replaces a resource instead of updating it, for
/// the types deployer's programs hold: pulumi-aws passes the bridged
/// Terraform provider's `ForceNew` on (`diff.Replace()`, used by
/// `step_generator.go`), read from hashicorp/terraform-provider-aws
/// `internal/service/<service>/<resource>.go`. `*` is every input but tags.
const REPLACING: &[(&str, &[&str])] = &[
    ("aws:ecs/taskDefinition:TaskDefinition", &["*"]),
    ("aws:sqs/queue:Queue", &["name", "namePrefix", "fifoQueue"]),
    // internal/service/logs/group.go
    (
        "aws:cloudwatch/logGroup:LogGroup",
        &["name", "namePrefix", "logGroupClass"],
    ),
    (
        "aws:rds/instance:Instance",
        &[
            "engine",
            "dbName",
            "username",
            "storageEncrypted",
            "kmsKeyId",
            "availabilityZone",
            "characterSetName",
        ],
    ),
    (
        "aws:elasticache/replicationGroup:ReplicationGroup",
        &[
            "replicationGroupId",
            "port",
            "subnetGroupName",
            "atRestEncryptionEnabled",
        ],
    ),
    (
        "aws:lb/targetGroup:TargetGroup",
        &[
            "name",
            "namePrefix",
            "port",
            "protocol",
            "vpcId",
            "targetType",
        ],
    ),
    (
        "aws:lb/loadBalancer:LoadBalancer",
        &["name", "namePrefix", "internal", "loadBalancerType"],
    ),
    ("aws:lb/listener:Listener", &["loadBalancerArn"]),
    ("aws:lb/listenerRule:ListenerRule", &["listenerArn"]),
    // internal/service/ecs/service.go: ForceNew, and a changed capacity
    // provider strategy (`capacityProviderStrategyCustomizeDiff`).
    (
        "aws:ecs/service:Service",
        &[
            "name",
            "cluster",
            "launchType",
            "iamRole",
            "schedulingStrategy",
            "deploymentController",
            "capacityProviderStrategies",
        ],
    ),
    ("aws:ecs/cluster:Cluster", &["name"]),
    // internal/service/ecs/cluster_capacity_providers.go
    (
        "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders",
        &["clusterName"],
    ),
    ("aws:cloudwatch/logGroup:LogGroup", &["name", "namePrefix"]),
    ("aws:cloudwatch/metricAlarm:MetricAlarm", &["name"]),
    ("aws:iam/role:Role", &["name", "namePrefix", "path"]),
    ("aws:iam/rolePolicy:RolePolicy", &["name", "role"]),
    (
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        &["role", "policyArn"],
    ),
    (
        "aws:ec2/securityGroup:SecurityGroup",
        &["name", "namePrefix", "description", "vpcId"],
    ),
    (
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        &["securityGroupId"],
    ),
    (
        "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
        &["securityGroupId"],
    ),
    ("aws:rds/subnetGroup:SubnetGroup", &["name", "namePrefix"]),
    ("aws:elasticache/subnetGroup:SubnetGroup", &["name"]),
    ("aws:ssm/parameter:Parameter", &["name"]),
    (
        "aws:appautoscaling/target:Target",
        &["resourceId", "scalableDimension", "serviceNamespace"],
    ),
    (
        "aws:appautoscaling/policy:Policy",
        &[
            "name",
            "resourceId",
            "scalableDimension",
            "serviceNamespace",
        ],
    ),
    (
        "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy",
        &["queueUrl"],
    ),
];

/// Whether changing `old` inputs into `new` replaces a resource of `kind`.
fn replaces(kind: &str, old: &Value, new: &Value) -> bool {
    !replacing_keys(kind, old, new).is_empty()
}

/// The inputs whose change replaces a resource of `kind`: what a replacing
/// step's `keys` say (`StepEventMetadata.Keys`, sdk/go/common/apitype/events.go).
fn replacing_keys(kind: &str, old: &Value, new: &Value) -> Vec<String> {
    let Some((_, forcing)) = REPLACING.iter().find(|(t, _)| *t == kind) else {
        return Vec::new();
    };
    let empty = Map::new();
    let (old, new) = (
        old.as_object().unwrap_or(&empty),
        new.as_object().unwrap_or(&empty),
    );
    let mut keys: Vec<String> = old
        .keys()
        .chain(new.keys())
        .filter(|k| old.get(*k) != new.get(*k))
        .filter(|k| {
            if forcing.contains(&"*") {
                *k != "tags" && *k != "tagsAll" && *k != "skipDestroy"
            } else {
                forcing.contains(&k.as_str())
            }
        })
        .cloned()
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

fn version() -> String {
    std::env::var("STANDIN_VERSION").unwrap_or_else(|_| "v3.259.0".into())
}

fn version_tuple() -> (u32, u32, u32) {
    let v = version();
    let mut parts = v
        .trim_start_matches('v')
        .split(['.', '-'])
        .map(|p| p.parse().unwrap_or(0));
    (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    )
}

/// Prints an error as `cmdutil.DisplayErrorMessage` does and exits.
fn fail(code: i32, message: &str) -> ! {
    eprintln!("error: {message}");
    exit(code);
}

thread_local! {
    static TIMER: std::cell::RefCell<Option<Box<dyn std::any::Any>>> = const { std::cell::RefCell::new(None) };
}

/// Exits after recording the call's time (`process::exit` skips destructors).
fn exit(code: i32) -> ! {
    TIMER.with(|t| drop(t.borrow_mut().take()));
    std::process::exit(code);
}

fn main() {
    let started = std::time::Instant::now();
    if let Ok(times) = std::env::var("STANDIN_TIMES") {
        struct Timer(std::time::Instant, String);
        impl Drop for Timer {
            fn drop(&mut self) {
                if let Ok(mut f) = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.1)
                {
                    let _ = writeln!(f, "{}", self.0.elapsed().as_micros());
                }
            }
        }
        TIMER.with(|t| *t.borrow_mut() = Some(Box::new(Timer(started, times))));
    }
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if let Ok(log) = std::env::var("STANDIN_LOG") {
        let backend = std::env::var("PULUMI_BACKEND_URL").unwrap_or_default();
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
        {
            let _ = writeln!(f, "{} [backend={backend}]", argv.join(" "));
        }
    }
    let args = cli::parse(&argv).unwrap_or_else(|e| fail(1, &e));
    let _ = ctrlc::set_handler(|| INTERRUPTED.store(true, Ordering::SeqCst));
    match args.command.as_str() {
        "version" => println!("{}", version()),
        "plugin install" => plugin_install(&args),
        _ => {
            let ws = Workspace::open(&args);
            match args.command.as_str() {
                "stack select" => ws.select(&args),
                "stack output" => ws.outputs(),
                "stack export" => ws.export(),
                "preview" => ws.preview(&args),
                "up" => ws.up(&args),
                "refresh" => ws.refresh(&args),
                "destroy" => ws.destroy(&args),
                "cancel" => ws.cancel(&args),
                "config set" => ws.config_set(&args),
                other => fail(1, &format!("unknown command {other}")),
            }
        }
    }
    exit(0);
}

/// `$PULUMI_HOME/plugins` (default `~/.pulumi/plugins`), where `plugin install`
/// puts `resource-aws-vVERSION/`.
fn plugin_dir(name: &str, version: &str) -> PathBuf {
    let home = std::env::var_os("PULUMI_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".pulumi")
        });
    home.join("plugins").join(format!(
        "resource-{name}-v{}",
        version.trim_start_matches('v')
    ))
}

/// Installs a plugin unless it is there (`--reinstall` forces); a download
/// fails with `STANDIN_OFFLINE`.
fn install(name: &str, version: &str, reinstall: bool) -> Result<(), String> {
    let dir = plugin_dir(name, version);
    if dir.exists() && !reinstall {
        return Ok(());
    }
    if truthy("STANDIN_OFFLINE") {
        return Err(format!(
            "[resource plugin {name}-{version}] downloading from https://get.pulumi.com/releases/plugins/pulumi-resource-{name}-v{version}-linux-amd64.tar.gz: Get \"...\": dial tcp: lookup get.pulumi.com: no such host"
        ));
    }
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("PulumiPlugin.yaml"), "runtime: go\n").map_err(|e| e.to_string())
}

fn plugin_install(args: &Args) {
    let [kind, name, version] = args.positional.as_slice() else {
        fail(
            1,
            "the stand-in installs only `plugin install KIND NAME VERSION`",
        );
    };
    if kind != "resource" {
        fail(1, &format!("unrecognized plugin kind: {kind}"));
    }
    if version.trim_start_matches('v').split('.').count() != 3 {
        fail(1, &format!("VERSION must be valid semver: {version}"));
    }
    if let Err(e) = install(name, version, args.has("reinstall")) {
        fail(1, &e);
    }
    eprintln!("[resource plugin {name}-{version}] installing");
}

struct Workspace {
    dir: PathBuf,
    project: String,
    stack: String,
    program: Value,
    bucket: Bucket,
    backend_url: String,
    /// The state's layout: stacks under their project (`meta.yaml` version
    /// 1), or the legacy one without project folders (version 0).
    legacy_layout: bool,
}

/// The layout of a DIY state, as `ensurePulumiMeta` (`pkg/backend/diy/meta.go`)
/// decides it: `.pulumi/meta.yaml`'s version when there is one; else legacy
/// when stacks already sit in the legacy place, or when
/// `PULUMI_DIY_BACKEND_LEGACY_LAYOUT` asks for it (then no `meta.yaml` is
/// written); else version 1, written down.
fn legacy_layout(bucket: &Bucket) -> bool {
    if let Some(meta) = bucket.read(".pulumi/meta.yaml") {
        return String::from_utf8_lossy(&meta).contains("version: 0");
    }
    let legacy_stacks = bucket
        .list(".pulumi/stacks")
        .iter()
        .any(|k| CHECKPOINT_ENDINGS.iter().any(|e| k.ends_with(e)));
    if legacy_stacks || truthy("PULUMI_DIY_BACKEND_LEGACY_LAYOUT") {
        return true;
    }
    if let Err(e) = bucket.write(".pulumi/meta.yaml", b"version: 1\n") {
        fail(1, &format!("could not write .pulumi/meta.yaml: {e}"));
    }
    false
}

/// A checkpoint is `<stack>.json`, `.json.gz` or `.json.zst` (`stackPath`,
/// `pkg/backend/diy/state.go`).
const CHECKPOINT_ENDINGS: [&str; 3] = [".json", ".json.gz", ".json.zst"];

#[derive(Clone)]
struct Step {
    op: &'static str,
    name: String,
    kind: String,
    properties: Value,
    options: Value,
    /// A resource the program imports (`options.import`): what the
    /// provider read of it; `op` is then what follows the import.
    import: Option<Import>,
}

/// An import step (`ImportStep`, pkg/resource/deploy/step.go): the live
/// resource's id and inputs as read, then the program diffed against them
/// as for any update (`continueStepsFromImport`, step_generator.go).
#[derive(Clone)]
struct Import {
    id: String,
    /// The inputs the provider read ([`read`]).
    live: Value,
    /// Why the import cannot be done: the resource does not exist, or its
    /// type cannot be read.
    problem: Option<String>,
    /// The inputs the program changes, as `key: live => program`.
    differences: Vec<String>,
    /// Those of them that force a replacement.
    keys: Vec<String>,
}

impl Workspace {
    fn open(args: &Args) -> Workspace {
        let dir = args
            .value("cwd")
            .map(PathBuf::from)
            .unwrap_or_else(|| std::env::current_dir().unwrap());
        let text = std::fs::read_to_string(dir.join("Pulumi.yaml")).unwrap_or_else(|_| {
            fail(
                1,
                &format!(
                    "no Pulumi.yaml project file found (searching upwards from {})",
                    dir.display()
                ),
            )
        });
        let project_file = deployer::load::yaml::to_json(&text)
            .unwrap_or_else(|e| fail(1, &format!("Pulumi.yaml: {e}")));
        if project_file["runtime"] != "yaml" {
            fail(1, "the stand-in runs only `runtime: yaml` programs");
        }
        // pulumi-yaml takes the program from `Main.json`, else `Main.yaml`,
        // else `Pulumi.yaml` itself (`LoadDir`, pkg/pulumiyaml).
        let program = ["Main.json", "Main.yaml"]
            .iter()
            .find_map(|name| {
                std::fs::read_to_string(dir.join(name))
                    .ok()
                    .map(|t| (name, t))
            })
            .map(|(name, text)| {
                deployer::load::yaml::to_json(&text)
                    .unwrap_or_else(|e| fail(1, &format!("{name}: {e}")))
            })
            .unwrap_or_else(|| project_file.clone());
        let project = project_file["name"]
            .as_str()
            .unwrap_or_else(|| fail(1, "Pulumi.yaml: project is missing a 'name' attribute"))
            .to_string();
        let stack = args
            .value("stack")
            .map(str::to_string)
            .or_else(|| args.positional.first().cloned())
            .unwrap_or_else(|| {
                fail(
                    6,
                    "no stack selected; please use `pulumi stack select` to choose one",
                )
            });
        let backend_url = std::env::var("PULUMI_BACKEND_URL").unwrap_or_else(|_| {
            fail(
                3,
                "PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI sessions",
            )
        });
        let bucket = Bucket::open(&backend_url, version_tuple()).unwrap_or_else(|e| fail(1, &e));
        let legacy_layout = legacy_layout(&bucket);
        Workspace {
            dir,
            project,
            stack,
            program,
            bucket,
            backend_url,
            legacy_layout,
        }
    }

    /// Where the checkpoint lives without its ending (`StackBasePath`,
    /// `pkg/backend/diy/store.go`).
    fn state_base(&self) -> String {
        if self.legacy_layout {
            format!(".pulumi/stacks/{}", self.stack)
        } else {
            format!(".pulumi/stacks/{}/{}", self.project, self.stack)
        }
    }

    /// The checkpoint that exists (any compression), if any, decompressed.
    fn existing_state(&self) -> Option<(String, Vec<u8>)> {
        let base = self.state_base();
        CHECKPOINT_ENDINGS.iter().find_map(|e| {
            let key = format!("{base}{e}");
            let bytes = self.bucket.read(&key)?;
            let mut json = Vec::new();
            let read = if e.ends_with(".gz") {
                std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut json)
                    .is_ok()
            } else if e.ends_with(".zst") {
                ruzstd::decoding::StreamingDecoder::new(&bytes[..])
                    .ok()
                    .is_some_and(|mut d| std::io::Read::read_to_end(&mut d, &mut json).is_ok())
            } else {
                json = bytes;
                true
            };
            if !read {
                fail(1, &format!("the stack's checkpoint {key} is damaged"));
            }
            Some((key, json))
        })
    }

    /// A checkpoint's bytes as written under `key`: gzip or Zstandard by its
    /// ending (`encoding.Compress`, `sdk/go/common/encoding`).
    fn compressed(key: &str, json: Vec<u8>) -> Vec<u8> {
        if key.ends_with(".gz") {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            std::io::Write::write_all(&mut encoder, &json).unwrap();
            encoder.finish().unwrap()
        } else if key.ends_with(".zst") {
            ruzstd::encoding::compress_to_vec(
                &json[..],
                ruzstd::encoding::CompressionLevel::Fastest,
            )
        } else {
            json
        }
    }

    /// Where the checkpoint is written: `.json`, or `.json.gz`/`.json.zst`
    /// with `PULUMI_DIY_BACKEND_GZIP`/`_ZSTD` (`newDIYBackend`, `backend.go`).
    fn state_key(&self) -> String {
        let ending = if truthy("PULUMI_DIY_BACKEND_ZSTD") {
            ".json.zst"
        } else if truthy("PULUMI_DIY_BACKEND_GZIP") {
            ".json.gz"
        } else {
            ".json"
        };
        format!("{}{ending}", self.state_base())
    }

    /// `stackLockDir` (`pkg/backend/diy/lock.go`): named by the stack's fully
    /// qualified name, which has no project in the legacy layout.
    fn lock_dir(&self) -> String {
        if self.legacy_layout {
            format!(".pulumi/locks/{}", self.stack)
        } else {
            format!(".pulumi/locks/organization/{}/{}", self.project, self.stack)
        }
    }

    /// The stand-in's own state, kept in the checkpoint beside the parts of
    /// Pulumi's shape deployer reads.
    fn load(&self) -> Value {
        match self.existing_state() {
            Some((_, bytes)) => {
                let mut checkpoint: Value = serde_json::from_slice(&bytes)
                    .unwrap_or_else(|_| fail(1, "the stack's checkpoint is damaged"));
                checkpoint["standin"].take()
            }
            None => fail(6, &format!("no stack named '{}' found", self.stack)),
        }
    }

    /// The state as `apitype.DeploymentV3` has it, in the parts deployer
    /// reads (`sdk/go/common/apitype/core.go`): its resources (the stack's
    /// own and its provider among them, as Pulumi records them) and its
    /// pending operations (`OperationV2`).
    fn deployment(&self, state: &Value) -> Value {
        let mut resources: Vec<Value> = creation_order(state)
            .iter()
            .map(|name| {
                let r = &state["resources"][name];
                json!({"urn": self.urn(r["type"].as_str().unwrap_or_default(), name), "custom": true, "id": r["outputs"]["id"], "type": r["type"], "inputs": r["inputs"]})
            })
            .collect();
        if !resources.is_empty() {
            let stack = format!("{}-{}", self.project, self.stack);
            resources.insert(
                0,
                json!({"urn": self.urn(STACK_TYPE, &stack), "custom": false, "type": STACK_TYPE}),
            );
            resources.insert(1, json!({"urn": self.urn("pulumi:providers:aws", "default_7_51_1"), "custom": true, "type": "pulumi:providers:aws"}));
        }
        let pending: Vec<Value> = state["pending"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| json!({"resource": {"urn": p["urn"], "custom": true, "type": p["kind"], "inputs": p["inputs"]}, "type": p["type"]}))
            .collect();
        let mut deployment = json!({"manifest": {"time": jiff::Timestamp::now().to_string(), "version": version()}, "resources": resources});
        if !pending.is_empty() {
            deployment["pending_operations"] = Value::Array(pending);
        }
        deployment
    }

    /// Writes the checkpoint, a `VersionedCheckpoint` (`{"version": 3,
    /// "checkpoint": {"stack", "latest"}}`, `apitype/core.go`) carrying the
    /// stand-in's own state too; one in another compression is removed
    /// (`saveCheckpoint`, `state.go`).
    fn save(&self, state: &Value) {
        let key = self.state_key();
        let checkpoint = json!({
            "version": 3,
            "checkpoint": {
                "stack": format!("organization/{}/{}", self.project, self.stack),
                "latest": self.deployment(state),
            },
            "standin": state,
        });
        let bytes = Self::compressed(&key, serde_json::to_vec_pretty(&checkpoint).unwrap());
        if let Err(e) = self.bucket.write(&key, &bytes) {
            fail(1, &format!("could not save the checkpoint: {e}"));
        }
        for ending in CHECKPOINT_ENDINGS {
            let other = format!("{}{ending}", self.state_base());
            if other != key {
                self.bucket.delete(&other);
            }
        }
    }

    fn urn(&self, kind: &str, name: &str) -> String {
        format!(
            "urn:pulumi:{}::{}::{kind}::{name}",
            self.stack, self.project
        )
    }

    /// The stack's secrets need a passphrase when it uses the passphrase provider.
    fn check_passphrase(&self) {
        let config = std::fs::read_to_string(self.dir.join(format!("Pulumi.{}.yaml", self.stack)))
            .unwrap_or_default();
        if !config.contains("encryptionsalt:") {
            return;
        }
        if std::env::var_os("PULUMI_CONFIG_PASSPHRASE").is_some() {
            return;
        }
        match std::env::var("PULUMI_CONFIG_PASSPHRASE_FILE") {
            Ok(file) if !file.is_empty() => {
                if let Err(e) = std::fs::read(&file) {
                    fail(
                        1,
                        &format!("unable to read PULUMI_CONFIG_PASSPHRASE_FILE: {e}"),
                    );
                }
            }
            _ => fail(
                1,
                "passphrase must be set with PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE environment variables",
            ),
        }
    }

    /// `Pulumi.<stack>.yaml` as JSON (empty when there is none).
    fn stack_config(&self) -> Value {
        let text = std::fs::read_to_string(self.dir.join(format!("Pulumi.{}.yaml", self.stack)))
            .unwrap_or_default();
        if text.trim().is_empty() {
            return json!({});
        }
        deployer::load::yaml::to_json(&text)
            .unwrap_or_else(|e| fail(1, &format!("Pulumi.{}.yaml: {e}", self.stack)))
    }

    /// `pulumi config set KEY [VALUE]` (`configSetCmd.Run`,
    /// `pkg/cmd/pulumi/config/config.go`): without VALUE, reads stdin when it is
    /// not a terminal (dropping one trailing newline); a key without a namespace
    /// is the project's; `--secret` encrypts with the stack's secrets manager;
    /// a plain value whose key looks like a secret is refused without
    /// `--plaintext` (`looksLikeSecret`: the stand-in checks the key pattern,
    /// not the value's entropy).
    fn config_set(&self, args: &Args) {
        let key = args
            .positional
            .first()
            .unwrap_or_else(|| fail(2, "accepts between 1 and 2 arg(s), received 0"));
        let key = if key.contains(':') {
            key.clone()
        } else {
            format!("{}:{key}", self.project)
        };
        let value = match args.positional.get(1) {
            Some(v) => v.clone(),
            None if !std::io::IsTerminal::is_terminal(&std::io::stdin()) => {
                let mut text = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut text).unwrap();
                text.strip_suffix('\n').map(str::to_string).unwrap_or(text)
            }
            None => fail(2, "config value must be specified in non-interactive mode"),
        };
        if self.existing_state().is_none() {
            fail(6, &format!("no stack named '{}' found", self.stack));
        }
        let name = key.rsplit(':').next().unwrap_or_default();
        let entry = if args.has("secret") {
            self.check_passphrase();
            json!({"secure": seal(&value)})
        } else {
            let looks_secret = regex::Regex::new("(?i)passwd|pass|password|pwd|secret|token")
                .unwrap()
                .is_match(name);
            if looks_secret && !args.has("plaintext") {
                fail(
                    1,
                    &format!(
                        "config value for '{key}' looks like a secret; rerun with --secret to encrypt it, or --plaintext if you meant to store in plaintext"
                    ),
                );
            }
            Value::String(value)
        };
        let mut config = self.stack_config();
        config["config"][&key] = entry;
        std::fs::write(
            self.dir.join(format!("Pulumi.{}.yaml", self.stack)),
            deployer::emit::yaml::to_yaml(&config),
        )
        .unwrap();
    }

    /// The program's own config (project config, `ProjectConfigType`) checked
    /// against the stack's (`ValidateStackConfigAndApplyProjectConfig`,
    /// `pkg/workspace/config.go`; wrapped "validating stack config: ..." by
    /// `pkg/cmd/pulumi/operations/up.go`), as `up` and `preview` always do.
    fn validate_config(&self) {
        let empty = Map::new();
        let declared = self.program["config"].as_object().unwrap_or(&empty);
        let config = self.stack_config();
        let mut missing = Vec::new();
        for (name, spec) in declared {
            if name.contains(':') || spec.get("default").is_some() || spec.get("value").is_some() {
                continue;
            }
            match config["config"].get(format!("{}:{name}", self.project)) {
                None => missing.push(name.clone()),
                Some(value) if spec["secret"] == true && value.get("secure").is_none() => fail(
                    1,
                    &format!(
                        "validating stack config: Stack '{}' with configuration key '{name}' must be encrypted as it's secret",
                        self.stack
                    ),
                ),
                Some(_) => {}
            }
        }
        match missing.as_slice() {
            [] => {}
            [one] => fail(
                1,
                &format!(
                    "validating stack config: Stack '{}' is missing configuration value '{one}'",
                    self.stack
                ),
            ),
            many => fail(
                1,
                &format!(
                    "validating stack config: Stack '{}' is missing configuration values {}",
                    self.stack,
                    many.iter()
                        .map(|k| format!("'{k}'"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
        }
    }

    /// A property value with the program's config read in (`${key}`), as the
    /// YAML runtime evaluates it: a string that reads a secret is a secret,
    /// kept encrypted in the state (the real checkpoint's secret envelope,
    /// `sdk/go/common/resource/sig.Secret`).
    fn with_config(&self, value: &Value, config: &Value) -> Value {
        match value {
            Value::String(text) if text.contains("${") => {
                let re = regex::Regex::new(r"\$\$|\$\{([^}.\[]+)\}").unwrap();
                let mut secret = false;
                let resolved = re.replace_all(text, |c: &regex::Captures| {
                    let Some(name) = c.get(1).map(|m| m.as_str()) else {
                        return "$$".to_string();
                    };
                    if self.program["config"].get(name).is_none() {
                        return c[0].to_string();
                    }
                    match config["config"].get(format!("{}:{name}", self.project)) {
                        Some(Value::Object(o)) if o.contains_key("secure") => {
                            secret = true;
                            unseal(o["secure"].as_str().unwrap_or_default())
                        }
                        Some(Value::String(plain)) => plain.clone(),
                        _ => c[0].to_string(),
                    }
                });
                if secret {
                    json!({"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "ciphertext": seal(&resolved)})
                } else {
                    Value::String(resolved.into_owned())
                }
            }
            Value::Array(items) => {
                Value::Array(items.iter().map(|i| self.with_config(i, config)).collect())
            }
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.with_config(v, config)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    fn select(&self, args: &Args) {
        let provider = args.value("secrets-provider").unwrap_or("passphrase");
        if self.existing_state().is_some() {
            self.check_passphrase();
            return;
        }
        if !args.has("create") {
            fail(6, &format!("no stack named '{}' found", self.stack));
        }
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
        self.check_passphrase();
        self.save(&json!({"resources": {}, "order": [], "pending": [], "outputs": {}}));
        println!("Created stack '{}'", self.stack);
    }

    fn outputs(&self) {
        self.check_passphrase();
        let state = self.load();
        println!(
            "{}",
            serde_json::to_string_pretty(&state["outputs"]).unwrap()
        );
    }

    /// `stack export`: the deployment as `apitype.DeploymentV3` has it, in
    /// the parts deployer reads (`pending_operations` of `OperationV2`,
    /// `sdk/go/common/apitype/core.go`).
    fn export(&self) {
        self.check_passphrase();
        let state = self.load();
        println!(
            "{}",
            serde_json::to_string_pretty(
                &json!({"version": 3, "deployment": self.deployment(&state)})
            )
            .unwrap()
        );
    }

    /// `--import-pending-creates URN ID ...` (`pendingCreatesToImports`,
    /// `refresh.go`): pairs, each pending create of that URN becoming the
    /// resource with that id; an odd count is refused.
    fn import_pending_creates(&self, args: &Args, state: &mut Value) {
        let given = args.values("import-pending-creates");
        if !given.len().is_multiple_of(2) {
            fail(
                1,
                "each URN must be followed by an ID: found an odd number of entries",
            );
        }
        let mut pending = state["pending"].as_array().cloned().unwrap_or_default();
        for pair in given.chunks(2) {
            let Some(at) = pending
                .iter()
                .position(|p| p["urn"] == pair[0].as_str() && p["type"] == "creating")
            else {
                eprintln!(
                    "warning: \"{}\" did not correspond to a pending create",
                    pair[0]
                );
                continue;
            };
            let op = pending.remove(at);
            let step = Step {
                op: "create",
                name: op["resource"].as_str().unwrap_or_default().to_string(),
                kind: op["kind"].as_str().unwrap_or_default().to_string(),
                properties: op["inputs"].clone(),
                options: Value::Null,
                import: None,
            };
            apply(state, &step);
            state["resources"][&step.name]["outputs"]["id"] = Value::String(pair[1].clone());
        }
        state["pending"] = Value::Array(pending);
    }

    /// `pkg/cmd/pulumi/cancel/cancel.go`: asks only on a terminal (never here),
    /// and refuses a stack given both as `--stack` and as an argument.
    fn cancel(&self, args: &Args) {
        if args.value("stack").is_some() && !args.positional.is_empty() {
            fail(
                1,
                "only one of --stack or argument stack name may be specified, not both",
            );
        }
        // Every lock file of the stack, whoever holds it (`CancelCurrentUpdate`).
        for key in self.bucket.list(&self.lock_dir()) {
            self.bucket.delete(&key);
        }
        println!(
            "The currently running update for '{}' has been canceled!",
            self.stack
        );
    }

    /// Takes the stack's lock, refusing when another process holds one.
    fn lock(&self) -> String {
        let held = self.bucket.list(&self.lock_dir());
        if !held.is_empty() {
            let mut message = format!(
                "the stack is currently locked by {} lock(s). Either wait for the other process(es) to end or delete the lock file with `pulumi cancel`.",
                held.len()
            );
            for key in &held {
                let content: Value = self
                    .bucket
                    .read(key)
                    .and_then(|b| serde_json::from_slice(&b).ok())
                    .unwrap_or(Value::Null);
                message.push_str(&format!(
                    "\n  {}/{key}: created by {}@{} (pid {}) at {}",
                    self.backend_url.split('?').next().unwrap_or_default(),
                    content["username"].as_str().unwrap_or("?"),
                    content["hostname"].as_str().unwrap_or("?"),
                    content["pid"],
                    content["timestamp"].as_str().unwrap_or("?")
                ));
            }
            fail(1, &message);
        }
        let key = format!("{}/{}.json", self.lock_dir(), uuid::Uuid::new_v4());
        let content = json!({
            "pid": std::process::id(),
            "username": std::env::var("USER").unwrap_or_else(|_| "root".into()),
            "hostname": gethostname::gethostname().to_string_lossy(),
            "timestamp": jiff::Timestamp::now().to_string(),
        });
        if let Err(e) = self.bucket.write(&key, content.to_string().as_bytes()) {
            fail(1, &e);
        }
        key
    }

    /// Every plugin version the program names must be installed; Pulumi
    /// downloads missing ones (`GetReferencedPackages`), which fails offline.
    fn ensure_plugins(&self) {
        let mut versions = Vec::new();
        collect_versions(&self.program, &mut versions);
        versions.sort();
        versions.dedup();
        for version in versions {
            if let Err(e) = install("aws", &version, false) {
                fail(1, &format!("could not load plugin for aws provider: {e}"));
            }
        }
    }

    /// What `up` would do: program resources in order, then deletions.
    fn plan(&self, state: &Value) -> Vec<Step> {
        let empty = Map::new();
        let resources = self.program["resources"].as_object().unwrap_or(&empty);
        let known = state["resources"].as_object().unwrap_or(&empty);
        let mut steps = Vec::new();
        let config = self.stack_config();
        // Imports are read before anything is diffed: the import step runs
        // before what depends on it, so in a preview an imported resource's
        // outputs are known to its dependents (`${cluster.arn}`). An import
        // happens when the resource is not in the state, or was imported
        // with another id (`isImport`, step_generator.go).
        let region = config["aws:region"]
            .as_str()
            .unwrap_or("us-east-1")
            .to_string();
        let reads: BTreeMap<String, Result<Option<Value>, String>> = resources
            .iter()
            .filter_map(|(name, resource)| {
                let id = resource["options"]["import"].as_str()?;
                let kind = resource["type"].as_str().unwrap_or_default();
                known
                    .get(name)
                    .is_none_or(|old| old["importId"] != id)
                    .then(|| (name.clone(), read::read(kind, id, &region)))
            })
            .collect();
        for (name, resource) in resources {
            let kind = resource["type"].as_str().unwrap_or_default().to_string();
            let properties = self.with_config(
                &resource.get("properties").cloned().unwrap_or(json!({})),
                &config,
            );
            let options = resource.get("options").cloned().unwrap_or(Value::Null);
            if let Some(id) = options["import"].as_str()
                && reads.contains_key(name)
            {
                steps.push(Self::import_step(
                    name,
                    &kind,
                    id,
                    properties,
                    options.clone(),
                    known.get(name),
                    &reads,
                ));
                continue;
            }
            let op = match known.get(name) {
                None => "create",
                Some(old) if old["type"] != kind.as_str() => "replace",
                Some(old) if replaces(&kind, &old["inputs"], &properties) => "replace",
                Some(old) if old["inputs"] != properties || old["options"] != options => "update",
                Some(_) => "same",
            };
            steps.push(Step {
                op,
                name: name.clone(),
                kind,
                properties,
                options,
                import: None,
            });
        }
        // A replacement's outputs (its id, its ARN) are new and unknown until
        // it is created, so a resource that reads them is updated too
        // (the preview diffs an unknown input as a change: `plugin.DiffSome`).
        let replaced: Vec<String> = steps
            .iter()
            .filter(|s| s.op == "replace")
            .map(|s| s.name.clone())
            .collect();
        for step in steps.iter_mut().filter(|s| s.op == "same") {
            let text = step.properties.to_string();
            if replaced
                .iter()
                .any(|r| text.contains(&format!("${{{r}.")) || text.contains(&format!("${{{r}}}")))
            {
                step.op = "update";
            }
        }
        for name in creation_order(state).iter().rev() {
            if !resources.contains_key(name)
                && let Some(old) = known.get(name)
            {
                steps.push(Step {
                    op: "delete",
                    name: name.clone(),
                    kind: old["type"].as_str().unwrap_or_default().into(),
                    properties: old["inputs"].clone(),
                    options: old["options"].clone(),
                    import: None,
                });
            }
        }
        steps
    }

    /// An import, and what follows it: the program's inputs diffed against
    /// what was read, over the inputs the program sets (an input it leaves
    /// out is the provider's to compute, as `kmsKeyId` or `availabilityZone`).
    /// A reference to what another import read is resolved first.
    fn import_step(
        name: &str,
        kind: &str,
        id: &str,
        properties: Value,
        options: Value,
        old: Option<&Value>,
        reads: &BTreeMap<String, Result<Option<Value>, String>>,
    ) -> Step {
        let (live, problem) = if old.is_some() {
            (
                Value::Null,
                Some(format!(
                    "the stand-in does not model an import-replacement of {name} (it is already in the state with another id)"
                )),
            )
        } else {
            // Read for every import `plan` makes (`isImport`).
            match &reads[name] {
                Ok(Some(live)) => (live.clone(), None),
                Ok(None) => (Value::Null, Some(format!("resource '{id}' does not exist"))),
                Err(e) => (Value::Null, Some(e.clone())),
            }
        };
        let empty = Map::new();
        let resolved = as_sets(kind, &resolve_imported(&properties, reads));
        let live_sets = as_sets(kind, &live);
        let program = resolved.as_object().unwrap_or(&empty);
        let read = live_sets.as_object().unwrap_or(&empty);
        let differing: Vec<&String> = program
            .keys()
            .filter(|k| read.contains_key(*k) && read.get(*k) != program.get(*k))
            .collect();
        let shown = |v: Option<&Value>| v.map_or("null".to_string(), Value::to_string);
        let differences = differing
            .iter()
            .map(|k| format!("{k}: {} => {}", shown(read.get(*k)), shown(program.get(*k))))
            .collect();
        // Only what both have: an input the program leaves out (a log
        // group's `logGroupClass`, optional and computed) is not diffed.
        let (live_compared, compared): (Map<String, Value>, Map<String, Value>) = program
            .iter()
            .filter_map(|(k, v)| {
                let live = read.get(k)?;
                Some(((k.clone(), live.clone()), (k.clone(), v.clone())))
            })
            .unzip();
        let keys = replacing_keys(
            kind,
            &Value::Object(live_compared),
            &Value::Object(compared),
        );
        let op = if problem.is_some() {
            "same"
        } else if !keys.is_empty() {
            "replace"
        } else if differing.is_empty() {
            "same"
        } else {
            "update"
        };
        Step {
            op,
            name: name.to_string(),
            kind: kind.to_string(),
            properties,
            options,
            import: Some(Import {
                id: id.to_string(),
                live,
                problem,
                differences,
                keys,
            }),
        }
    }

    /// An import's problem: the resource cannot be read (an error in preview
    /// and update alike), or it would be replaced, which a resource that
    /// still names an id to import may not be: a warning in a preview, an
    /// error in an update (step_generator.go).
    fn import_problem(&self, step: &Step, preview: bool) -> Option<(&'static str, String)> {
        let import = step.import.as_ref()?;
        if let Some(problem) = &import.problem {
            return Some(("error", problem.clone()));
        }
        (step.op == "replace").then(|| {
            (
                if preview { "warning" } else { "error" },
                format!(
                    "previously-imported resources that still specify an ID may not be replaced; please remove the `import` declaration from your program;\n{}",
                    import.differences.join("\n")
                ),
            )
        })
    }

    /// The provider's check of names (preview and update both run it): an
    /// autonamed name that cannot fit, or an explicit one AWS refuses.
    fn name_problem(&self, step: &Step) -> Option<String> {
        let (_, property, max) = NAMES.iter().find(|(t, _, _)| *t == step.kind)?;
        match step.properties.get(*property).and_then(Value::as_str) {
            Some(explicit) if explicit.len() > *max => Some(format!(
                "expected length of {property} to be in the range (1 - {max}), got {explicit}"
            )),
            Some(_) => None,
            None if step.properties.get(*property).is_some() => None,
            None => {
                let prefix = format!("{}-", step.name);
                (prefix.len() + 7 > *max).then(|| {
                    format!(
                        "name '{prefix}' plus 7 random chars is longer than maximum length {max}"
                    )
                })
            }
        }
    }

    /// What stops a step: deleting a protected resource (`deleteProtectedError`,
    /// `pkg/resource/deploy/step.go`, checked in previews too), or replacing
    /// one that stays protected (`step_generator.go`).
    fn protect_problem(&self, step: &Step, state: &Value) -> Option<String> {
        let urn = self.urn(&step.kind, &step.name);
        // An imported resource's old state is what the import wrote, with the
        // program's `protect`.
        let old_protect = state["resources"][&step.name]["options"]["protect"] == true
            || (step.import.is_some() && step.options["protect"] == true);
        match step.op {
            "delete" if old_protect => Some(format!(
                "resource \"{urn}\" cannot be deleted\nbecause it is protected. To unprotect the resource, either remove the `protect` flag from the resource in your Pulumi program and run `pulumi up`, or use the command:\n`pulumi state unprotect '{urn}'`"
            )),
            "replace" if old_protect && step.options["protect"] == true => Some(format!(
                "unable to replace resource \"{urn}\"\nas it is currently marked for protection. To unprotect the resource, remove the `protect` flag from the resource in your Pulumi program and run `pulumi up`"
            )),
            _ => None,
        }
    }

    /// The steps a change takes, as events show them: one, or for a
    /// replacement three (`step_generator.go`): `create-replacement` and
    /// `replace` now and `delete-replaced` after every other step; or, when
    /// the old one must go first (`deleteBeforeReplace`, or an explicit name,
    /// pulumi-aws's `nameRequiresDeleteBeforeReplace`), `delete-replaced`,
    /// `replace`, `create-replacement`. Returns (now, after the others).
    fn ops(&self, step: &Step) -> (Vec<&'static str>, Option<&'static str>) {
        if step.import.is_some() {
            let then = Step {
                import: None,
                ..step.clone()
            };
            let (mut now, after) = if step.op == "same" {
                (vec![], None)
            } else {
                self.ops(&then)
            };
            now.insert(0, "import");
            return (now, after);
        }
        if step.op != "replace" {
            return (vec![step.op], None);
        }
        let named = NAMES
            .iter()
            .find(|(t, _, _)| *t == step.kind)
            .is_some_and(|(_, property, _)| step.properties.get(*property).is_some());
        if named || step.options["deleteBeforeReplace"] == true {
            (
                vec!["delete-replaced", "replace", "create-replacement"],
                None,
            )
        } else {
            (
                vec!["create-replacement", "replace"],
                Some("delete-replaced"),
            )
        }
    }

    fn metadata(&self, op: &str, step: &Step, state: &Value) -> Value {
        let urn = self.urn(&step.kind, &step.name);
        if let Some(import) = &step.import {
            // The import's own step has no old state and the read one as new;
            // the steps after it have the read state as old.
            let read = json!({"type": step.kind, "urn": urn, "id": import.id, "inputs": import.live, "outputs": import.live, "protect": step.options["protect"] == true, "parent": "", "provider": ""});
            let program = json!({"type": step.kind, "urn": urn, "id": "", "inputs": step.properties, "outputs": {}, "protect": step.options["protect"] == true, "parent": "", "provider": ""});
            let diffs: Vec<&str> = import
                .differences
                .iter()
                .filter_map(|d| d.split(':').next())
                .collect();
            return if op == "import" {
                json!({"op": op, "urn": urn, "type": step.kind, "old": null, "new": read, "diffs": [], "detailedDiff": null, "provider": ""})
            } else {
                json!({"op": op, "urn": urn, "type": step.kind, "old": read, "new": program, "keys": import.keys, "diffs": diffs, "detailedDiff": null, "provider": ""})
            };
        }
        let old = state["resources"].get(&step.name).map(|r| {
            json!({"type": r["type"], "urn": urn, "id": format!("{}-id", step.name), "inputs": r["inputs"], "outputs": r["outputs"], "protect": r["options"]["protect"] == true, "parent": "", "provider": ""})
        });
        let new = (step.op != "delete").then(|| {
            json!({"type": step.kind, "urn": urn, "id": "", "inputs": step.properties, "outputs": {}, "protect": step.options["protect"] == true, "parent": "", "provider": ""})
        });
        let diffs: Vec<&str> = if step.op == "update" {
            vec!["properties"]
        } else {
            vec![]
        };
        let keys = match state["resources"].get(&step.name) {
            Some(was) if step.op == "replace" => {
                replacing_keys(&step.kind, &was["inputs"], &step.properties)
            }
            _ => Vec::new(),
        };
        json!({"op": op, "urn": urn, "type": step.kind, "old": old, "new": new, "keys": keys, "diffs": diffs, "detailedDiff": null, "provider": ""})
    }

    fn stack_metadata(&self, op: &str) -> Value {
        let name = format!("{}-{}", self.project, self.stack);
        json!({"op": op, "urn": self.urn(STACK_TYPE, &name), "type": STACK_TYPE, "old": null, "new": null, "provider": ""})
    }

    /// The preview phase: events marked `planning`, and the steps' problems as
    /// error diagnostics. Returns whether it found none.
    fn preview_phase(&self, events: &mut Events, state: &Value, steps: &[Step]) -> bool {
        events.emit("preludeEvent", json!({"config": {}}));
        let stack = self.stack_metadata("same");
        events.emit(
            "resourcePreEvent",
            json!({"metadata": stack, "planning": true}),
        );
        let mut counts: BTreeMap<&str, u32> = BTreeMap::new();
        let mut ok = true;
        let mut later = Vec::new();
        for step in steps {
            let (now, after) = self.ops(step);
            let metadata = self.metadata(now[0], step, state);
            events.emit(
                "resourcePreEvent",
                json!({"metadata": metadata, "planning": true}),
            );
            if let Some((severity, message)) = self.import_problem(step, true) {
                events.emit(
                    "diagnosticEvent",
                    json!({"urn": self.urn(&step.kind, &step.name), "prefix": format!("{severity}: "), "message": format!("{message}\n"), "color": "never", "severity": severity}),
                );
                if severity == "error" {
                    ok = false;
                    continue;
                }
            }
            if step.import.is_some() {
                *counts.entry("import").or_default() += 1;
            }
            let problem = self.protect_problem(step, state).or_else(|| {
                (step.op != "delete")
                    .then(|| self.name_problem(step))
                    .flatten()
            });
            if let Some(problem) = problem {
                events.emit(
                    "diagnosticEvent",
                    json!({"urn": self.urn(&step.kind, &step.name), "prefix": "error: ", "message": format!("{problem}\n"), "color": "never", "severity": "error"}),
                );
                ok = false;
                continue;
            }
            *counts.entry(step.op).or_default() += 1;
            for (i, op) in now.iter().enumerate() {
                let metadata = self.metadata(op, step, state);
                if i > 0 {
                    events.emit(
                        "resourcePreEvent",
                        json!({"metadata": metadata, "planning": true}),
                    );
                }
                events.emit(
                    "resOutputsEvent",
                    json!({"metadata": metadata, "planning": true}),
                );
            }
            later.extend(after.map(|op| (op, step)));
        }
        for (op, step) in later {
            let metadata = self.metadata(op, step, state);
            events.emit(
                "resourcePreEvent",
                json!({"metadata": metadata, "planning": true}),
            );
            events.emit(
                "resOutputsEvent",
                json!({"metadata": metadata, "planning": true}),
            );
        }
        events.emit(
            "resOutputsEvent",
            json!({"metadata": stack, "planning": true}),
        );
        events.emit("summaryEvent", json!({"maybeCorrupt": false, "durationSeconds": 0, "resourceChanges": counts, "PolicyPacks": {}, "isPreview": true}));
        ok
    }

    fn preview(&self, args: &Args) {
        self.check_passphrase();
        self.validate_config();
        self.ensure_plugins();
        let state = self.load();
        let steps = self.plan(&state);
        let mut events = Events::new(args, true);
        let ok = self.preview_phase(&mut events, &state, &steps);
        events.finish();
        if !ok {
            fail(1, "preview failed");
        }
    }

    fn up(&self, args: &Args) {
        let skip = args.has("skip-preview");
        if !(args.has("yes") || skip) {
            fail(
                2,
                "--yes or --skip-preview or --preview-only must be passed in to proceed when running in non-interactive mode",
            );
        }
        self.check_passphrase();
        self.validate_config();
        self.ensure_plugins();
        let mut state = self.load();
        let lock = self.lock();
        let steps = self.plan(&state);
        if !skip {
            let mut preview = Events::new(args, true);
            let ok = self.preview_phase(&mut preview, &state, &steps);
            preview.finish();
            if !ok {
                self.bucket.delete(&lock);
                fail(1, "preview failed");
            }
        }
        let mut events = Events::new(args, false);
        let started = events.clock;
        events.emit("preludeEvent", json!({"config": {}}));
        let pending = state["pending"].as_array().cloned().unwrap_or_default();
        if !pending.is_empty() {
            let list: Vec<String> = pending
                .iter()
                .map(|p| {
                    format!(
                        "  * {}, interrupted while {}",
                        p["urn"].as_str().unwrap_or("?"),
                        p["type"].as_str().unwrap_or("?")
                    )
                })
                .collect();
            events.emit("diagnosticEvent", json!({"prefix": "warning: ", "message": format!("Attempting to deploy or update resources with {} pending operations from previous deployment.\n{}\nThese resources are in an unknown state because the Pulumi CLI was interrupted while waiting for changes to these resources to complete.\n", pending.len(), list.join("\n")), "color": "never", "severity": "warning"}));
        }
        let stack = self.stack_metadata("same");
        events.emit("resourcePreEvent", json!({"metadata": stack}));
        let knob = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let matches = |step: &Step, text: &str| {
            step.name.contains(text) || step.properties.to_string().contains(text)
        };
        let seconds = parse_seconds();
        let mut counts: BTreeMap<&str, u32> = BTreeMap::new();
        let mut failure: Option<&str> = None;
        let mut later = Vec::new();
        for step in &steps {
            let problem = self
                .import_problem(step, false)
                .map(|(_, message)| message)
                .or_else(|| self.protect_problem(step, &state))
                .or_else(|| {
                    (step.op != "delete")
                        .then(|| self.name_problem(step))
                        .flatten()
                });
            if let Some(problem) = problem {
                events.emit("diagnosticEvent", json!({"urn": self.urn(&step.kind, &step.name), "prefix": "error: ", "message": format!("{problem}\n"), "color": "never", "severity": "error"}));
                failure = Some("update failed");
                break;
            }
            let (now, after) = self.ops(step);
            let metadata = self.metadata(now[0], step, &state);
            *counts.entry(step.op).or_default() += 1;
            events.emit("resourcePreEvent", json!({"metadata": metadata}));
            if step.op != "same" {
                if knob("STANDIN_HANG").is_some_and(|t| matches(step, &t)) {
                    let urn = self.urn(&step.kind, &step.name);
                    let kind = if step.op == "create" {
                        "creating"
                    } else {
                        "updating"
                    };
                    state["pending"] = json!([{"urn": urn, "resource": step.name, "type": kind, "kind": step.kind, "inputs": step.properties}]);
                    self.save(&state);
                    if let Some(marker) = knob("STANDIN_MARKER") {
                        std::fs::write(marker, std::process::id().to_string()).unwrap();
                    }
                    let ignore = truthy("STANDIN_IGNORE_INTERRUPT");
                    while ignore || !INTERRUPTED.load(Ordering::SeqCst) {
                        std::thread::sleep(std::time::Duration::from_millis(20));
                    }
                    // Cancelled: the operation in flight completes, then the update stops.
                    state["pending"] = json!([]);
                    apply(&mut state, step);
                    events.emit("resOutputsEvent", json!({"metadata": metadata}));
                    failure = Some("canceled");
                    break;
                }
                if knob("STANDIN_FAIL").is_some_and(|t| matches(step, &t)) {
                    events.advance(seconds.get(&step.name).copied().unwrap_or(1));
                    let urn = self.urn(&step.kind, &step.name);
                    events.emit("diagnosticEvent", json!({"urn": urn, "prefix": "error: ", "message": format!("  {} {}: operation error: StandinFailure: injected failure for {}\n", step.op, step.kind, step.name), "color": "never", "severity": "error"}));
                    events.emit(
                        "resOpFailedEvent",
                        json!({"metadata": metadata, "status": 0, "steps": 1}),
                    );
                    failure = Some("update failed");
                    break;
                }
                events.advance(seconds.get(&step.name).copied().unwrap_or(1));
                // A resource that takes real time, as most do in AWS.
                if let Some((text, millis)) = knob("STANDIN_PAUSE").and_then(|k| {
                    k.rsplit_once('=')
                        .map(|(t, m)| (t.to_string(), m.to_string()))
                }) && matches(step, &text)
                {
                    std::thread::sleep(std::time::Duration::from_millis(
                        millis.parse().unwrap_or(0),
                    ));
                }
            }
            apply(&mut state, step);
            self.save(&state);
            for (i, op) in now.iter().enumerate() {
                let metadata = self.metadata(op, step, &state);
                if i > 0 {
                    events.emit("resourcePreEvent", json!({"metadata": metadata}));
                }
                events.emit("resOutputsEvent", json!({"metadata": metadata}));
            }
            later.extend(after.map(|op| (op, step)));
        }
        if failure.is_none() {
            for (op, step) in later {
                let metadata = self.metadata(op, step, &state);
                events.emit("resourcePreEvent", json!({"metadata": metadata}));
                events.advance(1);
                events.emit("resOutputsEvent", json!({"metadata": metadata}));
            }
            state["outputs"] = outputs(&self.program);
        }
        self.save(&state);
        events.emit("resOutputsEvent", json!({"metadata": stack}));
        let duration = events.clock - started;
        events.emit("summaryEvent", json!({"maybeCorrupt": false, "durationSeconds": duration, "resourceChanges": counts, "PolicyPacks": {}, "isPreview": false}));
        events.emit("cancelEvent", json!({}));
        self.bucket.delete(&lock);
        if let Some(why) = failure {
            fail(1, why);
        }
    }

    /// The refresh's steps: every resource in the state, and what the cloud says
    /// of it (`STANDIN_DRIFT`).
    fn refresh_steps(&self, state: &Value) -> Vec<(String, Value, &'static str)> {
        let drift: BTreeMap<String, bool> = std::env::var("STANDIN_DRIFT")
            .unwrap_or_default()
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| match s.strip_suffix(":deleted") {
                Some(name) => (name.to_string(), true),
                None => (s.to_string(), false),
            })
            .collect();
        creation_order(state)
            .into_iter()
            .map(|name| {
                let resource = state["resources"][&name].clone();
                let result = match drift.get(&name) {
                    Some(true) => "delete",
                    Some(false) => "update",
                    None => "same",
                };
                (name, resource, result)
            })
            .collect()
    }

    fn refresh_events(&self, events: &mut Events, state: &Value, planning: bool) {
        events.emit("preludeEvent", json!({"config": {}}));
        let mut counts: BTreeMap<&str, u32> = BTreeMap::new();
        for (name, resource, result) in self.refresh_steps(state) {
            let kind = resource["type"].as_str().unwrap_or_default().to_string();
            let urn = self.urn(&kind, &name);
            let pre = json!({"op": "refresh", "urn": urn, "type": kind, "old": resource, "new": resource, "detailedDiff": null, "provider": ""});
            events.emit(
                "resourcePreEvent",
                json!({"metadata": pre, "planning": planning}),
            );
            let (diffs, detailed) = if result == "update" {
                (
                    vec!["tags"],
                    json!({"tags": {"diffKind": "update", "inputDiff": false}}),
                )
            } else {
                (vec![], Value::Null)
            };
            *counts.entry(result).or_default() += 1;
            let done = json!({"op": result, "urn": urn, "type": kind, "old": resource, "new": if result == "delete" { Value::Null } else { resource.clone() }, "diffs": diffs, "detailedDiff": detailed, "provider": ""});
            events.emit(
                "resOutputsEvent",
                json!({"metadata": done, "planning": planning}),
            );
        }
        events.emit("summaryEvent", json!({"maybeCorrupt": false, "durationSeconds": 0, "resourceChanges": counts, "PolicyPacks": {}, "isPreview": planning}));
    }

    /// `refresh` and `destroy` validate the stack's config like `up` from
    /// 3.227 to 3.248, and only when they run the program (`--run-program`)
    /// from 3.249 (`refresh.go`, `destroy.go`; commit 679dda731d, #23691).
    fn validate_config_without_program(&self, args: &Args) {
        if version_tuple() < (3, 249, 0) || args.has("run-program") {
            self.validate_config();
        }
    }

    fn refresh(&self, args: &Args) {
        // refresh.go checks confirmation itself first, with a plain error (exit 1).
        let (preview_only, skip) = update_flags(args, 1);
        if args.has("skip-pending-creates") && args.has("clear-pending-creates") {
            fail(
                1,
                "cannot set both --skip-pending-creates and --clear-pending-creates",
            );
        }
        self.check_passphrase();
        self.validate_config_without_program(args);
        let mut state = self.load();
        let lock = self.lock();
        // Imports first, then what remains is cleared (`refresh.go`).
        self.import_pending_creates(args, &mut state);
        if args.has("clear-pending-creates") {
            state["pending"] = json!([]);
        }
        self.save(&state);
        if preview_only {
            let mut events = Events::new(args, true);
            self.refresh_events(&mut events, &state, true);
            events.finish();
        } else {
            if !skip {
                let mut events = Events::new(args, true);
                self.refresh_events(&mut events, &state, true);
                events.finish();
            }
            let mut events = Events::new(args, false);
            self.refresh_events(&mut events, &state, false);
            for (name, _, result) in self.refresh_steps(&state) {
                if result == "delete" {
                    let kind = state["resources"][&name]["type"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    apply(
                        &mut state,
                        &Step {
                            op: "delete",
                            name,
                            kind,
                            properties: Value::Null,
                            options: Value::Null,
                            import: None,
                        },
                    );
                }
            }
            self.save(&state);
            events.finish();
        }
        self.bucket.delete(&lock);
    }

    fn destroy(&self, args: &Args) {
        // destroy.go returns NoConfirmationInNonInteractiveError (exit 2).
        let (preview_only, skip) = update_flags(args, 2);
        self.check_passphrase();
        self.validate_config_without_program(args);
        let mut state = self.load();
        let lock = self.lock();
        let steps: Vec<Step> = creation_order(&state)
            .iter()
            .rev()
            .map(|name| {
                let old = &state["resources"][name];
                Step {
                    op: "delete",
                    name: name.clone(),
                    kind: old["type"].as_str().unwrap_or_default().into(),
                    properties: old["inputs"].clone(),
                    options: old["options"].clone(),
                    import: None,
                }
            })
            .filter(|s| !(args.has("exclude-protected") && s.options["protect"] == true))
            .collect();
        let protected: Vec<&Step> = steps
            .iter()
            .filter(|s| s.options["protect"] == true)
            .collect();
        let run = |planning: bool,
                   state: &mut Value,
                   events: &mut Events|
         -> Option<&'static str> {
            events.emit("preludeEvent", json!({"config": {}}));
            let mut counts: BTreeMap<&str, u32> = BTreeMap::new();
            for step in &steps {
                let metadata = self.metadata("delete", step, state);
                events.emit(
                    "resourcePreEvent",
                    json!({"metadata": metadata, "planning": planning}),
                );
                if step.options["protect"] == true {
                    let urn = self.urn(&step.kind, &step.name);
                    events.emit("diagnosticEvent", json!({"urn": urn, "prefix": "error: ", "message": format!("resource \"{urn}\" cannot be deleted\nbecause it is protected. To unprotect the resource, either remove the `protect` flag from the resource in your Pulumi program and run `pulumi up`, or use the command:\n`pulumi state unprotect '{urn}'`\n"), "color": "never", "severity": "error"}));
                    return Some(if planning {
                        "preview failed"
                    } else {
                        "update failed"
                    });
                }
                *counts.entry("delete").or_default() += 1;
                let fail_here = std::env::var("STANDIN_FAIL")
                    .ok()
                    .filter(|t| !t.is_empty())
                    .is_some_and(|t| step.name.contains(&t));
                if !planning && fail_here {
                    let urn = self.urn(&step.kind, &step.name);
                    events.emit("diagnosticEvent", json!({"urn": urn, "prefix": "error: ", "message": format!("  deleting {}: operation error: StandinFailure: injected failure for {}\n", step.kind, step.name), "color": "never", "severity": "error"}));
                    events.emit(
                        "resOpFailedEvent",
                        json!({"metadata": metadata, "status": 0, "steps": 1}),
                    );
                    return Some("update failed");
                }
                if !planning {
                    events.advance(1);
                    apply(state, step);
                    self.save(state);
                }
                events.emit(
                    "resOutputsEvent",
                    json!({"metadata": metadata, "planning": planning}),
                );
            }
            events.emit("summaryEvent", json!({"maybeCorrupt": false, "durationSeconds": 0, "resourceChanges": counts, "PolicyPacks": {}, "isPreview": planning}));
            None
        };
        let mut failure = None;
        if preview_only || !skip {
            let mut events = Events::new(args, true);
            failure = run(true, &mut state, &mut events);
            events.finish();
        }
        if failure.is_none() && !preview_only {
            let mut events = Events::new(args, false);
            failure = run(false, &mut state, &mut events);
            if failure.is_none() {
                state["outputs"] = json!({});
                self.save(&state);
            }
            events.emit("cancelEvent", json!({}));
        }
        let _ = protected;
        self.bucket.delete(&lock);
        if let Some(why) = failure {
            fail(1, why);
        }
    }
}

/// The confirmation flags of `refresh` and `destroy`, checked as the real CLI
/// does (`yes = yes || skipPreview`, then `updateFlagsToOptions` in
/// `pkg/cmd/pulumi/operations/io.go`). `unconfirmed` is the exit code when
/// nothing confirms the operation (each command says it its own way). Returns
/// (preview only, skip preview).
fn update_flags(args: &Args, unconfirmed: i32) -> (bool, bool) {
    let preview_only = args.has("preview-only");
    let skip = args.has("skip-preview");
    // `yes = yes || skipPreview || env.SkipConfirmations.Value()`
    // (`refresh.go`, `destroy.go`): PULUMI_SKIP_CONFIRMATIONS in the
    // environment makes a preview-only run fail below.
    let yes = args.has("yes") || skip || truthy("PULUMI_SKIP_CONFIRMATIONS");
    if !yes && !preview_only {
        fail(
            unconfirmed,
            "--yes or --skip-preview or --preview-only must be passed in to proceed when running in non-interactive mode",
        );
    }
    if skip && preview_only {
        fail(
            1,
            "--skip-preview and --preview-only cannot be used together",
        );
    }
    if yes && preview_only {
        fail(1, "--yes and --preview-only cannot be used together");
    }
    (preview_only, skip)
}

/// Every `options.version` in the program (resources and invokes).
fn collect_versions(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(v) = map
                .get("options")
                .and_then(|o| o.get("version"))
                .and_then(Value::as_str)
            {
                out.push(v.to_string());
            }
            map.values().for_each(|v| collect_versions(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_versions(v, out)),
        _ => {}
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
        let id = step
            .import
            .as_ref()
            .map_or(format!("{}-id", step.name), |i| i.id.clone());
        let outputs = json!({"id": id, "arn": format!("arn:aws:standin:::{}", step.name)});
        state["resources"][&step.name] = json!({"type": step.kind, "inputs": step.properties, "options": step.options, "outputs": outputs});
        if let Some(import) = &step.import {
            state["resources"][&step.name]["importId"] = Value::String(import.id.clone());
        }
        if !order.contains(&Value::String(step.name.clone())) {
            order.push(Value::String(step.name.clone()));
        }
    }
    state["order"] = Value::Array(order);
}

/// The stand-in's encryption of a secret: not secure, but never the plain
/// text (so a test that looks for a secret in the state finds nothing, as
/// it would with Pulumi's AES-GCM).
fn seal(text: &str) -> String {
    let hex: String = text.bytes().map(|b| format!("{:02x}", b ^ 0x5a)).collect();
    format!("v1:standin:{hex}")
}

fn unseal(sealed: &str) -> String {
    let hex = sealed.strip_prefix("v1:standin:").unwrap_or_default();
    let bytes: Vec<u8> = (0..hex.len() / 2)
        .filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
        .map(|b| b ^ 0x5a)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The inputs the provider keeps as sets, in an order of their own, each
/// element with the provider's zero for what it leaves out: an ECS
/// service's `capacity_provider_strategy` is a `schema.TypeSet` whose
/// `base` and `weight` are optional integers (terraform-provider-aws
/// `internal/service/ecs/service.go`), so a strategy given in another order,
/// or without `base: 0`, is the same strategy.
fn as_sets(kind: &str, inputs: &Value) -> Value {
    let mut inputs = inputs.clone();
    if kind != "aws:ecs/service:Service" {
        return inputs;
    }
    if let Some(Value::Array(strategy)) = inputs.get_mut("capacityProviderStrategies") {
        for entry in strategy.iter_mut() {
            if let Value::Object(fields) = entry {
                for zero in ["base", "weight"] {
                    fields.entry(zero).or_insert(json!(0));
                }
            }
        }
        strategy.sort_by_key(|entry| entry.to_string());
    }
    inputs
}

/// Program outputs with every `${res.prop}` replaced: by the input itself
/// when `prop` is a literal input of `res` (a provider's outputs include its
/// inputs: an ECS service's `name` is the name it was given), else by a
/// recognisable value.
/// `value` with each string that is exactly a reference to an output of
/// an imported resource (`${cluster.arn}`) replaced by what its import read.
fn resolve_imported(
    value: &Value,
    reads: &BTreeMap<String, Result<Option<Value>, String>>,
) -> Value {
    match value {
        Value::String(text) => text
            .strip_prefix("${")
            .and_then(|rest| rest.strip_suffix('}'))
            .and_then(|reference| reference.split_once('.'))
            .and_then(|(resource, output)| match reads.get(resource) {
                Some(Ok(Some(live))) => live.get(output).filter(|v| !v.is_null()).cloned(),
                _ => None,
            })
            .unwrap_or_else(|| value.clone()),
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| resolve_imported(v, reads)).collect())
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), resolve_imported(v, reads)))
                .collect(),
        ),
        other => other.clone(),
    }
}

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
                    let literal = c[1].split_once('.').and_then(|(resource, property)| {
                        program["resources"][resource]["properties"][property]
                            .as_str()
                            .filter(|v| !v.contains("${"))
                    });
                    match literal {
                        Some(input) => input.to_string(),
                        None => format!("standin-{}", c[1].replace('.', "-")),
                    }
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

/// Numbered, timestamped events, written as the display of the real CLI would:
/// streamed one per line with `--json` (for a preview only when streaming
/// previews are on), or for a preview without streaming one digest at the end.
struct Events {
    stream: bool,
    digest: bool,
    log: Option<std::fs::File>,
    collected: Vec<Value>,
    sequence: u64,
    /// Simulated clock: starts now and advances by each resource's seconds.
    clock: i64,
}

impl Events {
    fn new(args: &Args, preview: bool) -> Events {
        let json = args.has("json");
        let streaming = !preview || truthy("PULUMI_ENABLE_STREAMING_JSON_PREVIEW");
        let clock = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        Events {
            stream: json && streaming,
            digest: json && !streaming,
            log: args
                .value("event-log")
                .and_then(|p| std::fs::File::create(p).ok()),
            collected: Vec::new(),
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
        let line = format!("{}\n", Value::Object(event.clone()));
        if self.stream {
            let mut out = std::io::stdout();
            let _ = out.write_all(line.as_bytes());
            let _ = out.flush();
        } else if !self.digest && kind == "resourcePreEvent" {
            // The plain display: one line per change.
            let m = &event[kind]["metadata"];
            if m["op"] != "same" {
                println!(
                    "    {} {} {}",
                    m["op"].as_str().unwrap_or(""),
                    m["type"].as_str().unwrap_or(""),
                    m["urn"].as_str().unwrap_or("")
                );
            }
        }
        if let Some(log) = &mut self.log {
            let _ = log.write_all(line.as_bytes());
        }
        self.collected.push(Value::Object(event));
    }

    /// For a preview without streaming: the digest (`display.PreviewDigest`,
    /// indented as `json.MarshalIndent(&digest, "", "    ")`).
    fn finish(&mut self) {
        if !self.digest {
            return;
        }
        let mut steps = Vec::new();
        let mut diagnostics = Vec::new();
        let mut summary = Value::Null;
        for e in &self.collected {
            if let Some(pre) = e.get("resourcePreEvent") {
                let m = &pre["metadata"];
                steps.push(json!({"op": m["op"], "urn": m["urn"], "provider": "", "old": m["old"], "new": m["new"], "diffReasons": m["diffs"], "detailedDiff": m["detailedDiff"]}));
            }
            if let Some(d) = e.get("diagnosticEvent") {
                diagnostics.push(
                    json!({"urn": d["urn"], "message": d["message"], "severity": d["severity"]}),
                );
            }
            if let Some(s) = e.get("summaryEvent") {
                summary = s["resourceChanges"].clone();
            }
        }
        let digest = json!({"config": {}, "steps": steps, "diagnostics": diagnostics, "duration": 0, "changeSummary": summary});
        let mut out = Vec::new();
        let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
        let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
        serde::Serialize::serialize(&digest, &mut ser).unwrap();
        println!("{}", String::from_utf8_lossy(&out));
    }
}
