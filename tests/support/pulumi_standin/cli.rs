//! The stand-in's command line: the subcommands deployer calls, each with the
//! flags the real CLI defines for it at v3.227.0 (the oldest version deployer
//! supports; later versions only add flags). A flag the real command does not
//! have is refused as cobra refuses it (`error: unknown flag: --x`, exit 1,
//! printed by `cmdutil.DisplayErrorMessage` and mapped by `ExitCodeFor`).
//!
//! Sources (pulumi/pulumi at v3.227.0):
//! - global flags: `pkg/cmd/pulumi/pulumi.go` (`PersistentFlags` of the root)
//! - `preview`, `up`, `refresh`, `destroy`: `pkg/cmd/pulumi/operations/*.go`;
//!   `--event-log` is declared only `if env.DebugCommands.Value()`
//! - `stack select`, `stack output`: `pkg/cmd/pulumi/stack/stack_select.go`,
//!   `stack_output.go` (`--stack` is also a persistent flag of `stack`, `stack.go`)
//! - `cancel`: `pkg/cmd/pulumi/cancel/cancel.go`
//! - `config set`: `pkg/cmd/pulumi/config/config.go` (one or two arguments)
//! - `plugin install`: `pkg/cmd/pulumi/plugin/plugin_install.go`

use std::collections::BTreeMap;

/// A flag: long name, shorthand, whether it takes a value.
type Flag = (&'static str, Option<char>, bool);

const GLOBAL: &[Flag] = &[
    ("cwd", Some('C'), true),
    ("emoji", Some('e'), false),
    ("fully-qualify-stack-names", Some('Q'), false),
    ("disable-integrity-checking", None, false),
    ("logflow", None, false),
    ("logtostderr", None, false),
    ("non-interactive", None, false),
    ("tracing", None, true),
    ("profiling", None, true),
    ("memprofilerate", None, true),
    ("verbose", Some('v'), true),
    ("color", None, true),
    ("tracing-header", None, true),
];

/// Flags shared by the four operations (`preview`, `up`, `refresh`, `destroy`).
const OPERATION: &[Flag] = &[
    ("debug", Some('d'), false),
    ("stack", Some('s'), true),
    ("config-file", None, true),
    ("config", Some('c'), true),
    ("config-path", None, false),
    ("message", Some('m'), true),
    ("target", Some('t'), true),
    ("target-dependents", None, false),
    ("diff", None, false),
    ("json", Some('j'), false),
    ("parallel", Some('p'), true),
    ("show-replacement-steps", None, false),
    ("show-sames", None, false),
    ("suppress-outputs", None, false),
    ("suppress-progress", None, false),
    ("suppress-permalink", None, true),
    ("neo", None, false),
    ("copilot", None, false),
    ("exec-kind", None, true),
    ("exec-agent", None, true),
    ("client", None, true),
];

const PREVIEW: &[Flag] = &[
    ("expect-no-changes", None, false),
    ("save-plan", None, true),
    ("show-secrets", None, false),
    ("import-file", None, true),
    ("exclude", Some('x'), true),
    ("replace", None, true),
    ("target-replace", None, true),
    ("exclude-dependents", None, false),
    ("policy-pack", None, true),
    ("policy-pack-config", None, true),
    ("refresh", Some('r'), true),
    ("run-program", None, false),
    ("show-config", None, false),
    ("show-policy-remediations", None, false),
    ("show-reads", None, false),
    ("show-full-output", None, false),
    ("attach-debugger", None, true),
    ("neo-task-on-failure", None, false),
];

const UP: &[Flag] = &[
    ("expect-no-changes", None, false),
    ("secrets-provider", None, true),
    ("exclude", None, true),
    ("replace", None, true),
    ("target-replace", None, true),
    ("exclude-dependents", None, false),
    ("policy-pack", None, true),
    ("policy-pack-config", None, true),
    ("refresh", Some('r'), true),
    ("run-program", None, false),
    ("show-config", None, false),
    ("show-policy-remediations", None, false),
    ("show-secrets", None, false),
    ("show-reads", None, false),
    ("skip-preview", Some('f'), false),
    ("show-full-output", None, false),
    ("yes", Some('y'), false),
    ("continue-on-error", None, false),
    ("attach-debugger", None, true),
    ("plan", None, true),
    ("strict", None, false),
    ("neo-task-on-failure", None, false),
];

const REFRESH: &[Flag] = &[
    ("run-program", None, false),
    ("expect-no-changes", None, false),
    ("exclude", Some('x'), true),
    ("preview-only", None, false),
    ("skip-preview", Some('f'), false),
    ("yes", Some('y'), false),
    ("exclude-dependents", None, false),
    ("skip-pending-creates", None, false),
    ("clear-pending-creates", None, false),
    ("import-pending-creates", None, true),
];

const DESTROY: &[Flag] = &[
    ("run-program", None, false),
    ("remove", None, false),
    ("exclude", Some('x'), true),
    ("exclude-protected", None, false),
    ("preview-only", None, false),
    ("refresh", Some('r'), true),
    ("show-config", None, false),
    ("skip-preview", Some('f'), false),
    ("show-full-output", None, false),
    ("continue-on-error", None, false),
    ("yes", Some('y'), false),
];

const STACK_SELECT: &[Flag] = &[
    ("stack", Some('s'), true),
    ("create", Some('c'), false),
    ("secrets-provider", None, true),
];

const STACK_OUTPUT: &[Flag] = &[
    ("json", Some('j'), false),
    ("shell", None, false),
    ("stack", Some('s'), true),
    ("show-secrets", None, false),
];

/// `config set` (`pkg/cmd/pulumi/config/config.go`: `--stack` and
/// `--config-file` are persistent flags of `config`).
const CONFIG_SET: &[Flag] = &[
    ("stack", Some('s'), true),
    ("config-file", None, true),
    ("path", None, false),
    ("plaintext", None, false),
    ("secret", None, false),
    ("type", None, true),
];

/// `pkg/cmd/pulumi/stack/stack_export.go`.
const STACK_EXPORT: &[Flag] = &[
    ("stack", Some('s'), true),
    ("file", None, true),
    ("version", None, true),
    ("show-secrets", None, false),
];

const CANCEL: &[Flag] = &[("yes", Some('y'), false), ("stack", Some('s'), true)];

const PLUGIN_INSTALL: &[Flag] = &[
    ("server", None, true),
    ("exact", None, false),
    ("file", Some('f'), true),
    ("reinstall", None, false),
    ("checksum", None, true),
];

/// A parsed command line.
pub struct Args {
    /// `preview`, `up`, `stack select`, ...
    pub command: String,
    pub positional: Vec<String>,
    /// Every value given to each flag, in order.
    values: BTreeMap<String, Vec<String>>,
    switches: Vec<String>,
}

impl Args {
    pub fn has(&self, switch: &str) -> bool {
        self.switches.iter().any(|s| s == switch)
    }

    /// A string flag's value: the last one given, as cobra's `StringVar` keeps.
    pub fn value(&self, flag: &str) -> Option<&str> {
        self.values.get(flag)?.last().map(String::as_str)
    }

    /// Every value of a repeatable flag (cobra's `StringArray`, which splits
    /// nothing on commas).
    pub fn values(&self, flag: &str) -> &[String] {
        self.values.get(flag).map(Vec::as_slice).unwrap_or_default()
    }
}

/// The `PULUMI_*` boolean variables as `cmdutil.IsTruthy` reads them.
pub fn truthy(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

/// Parses the command line, refusing what cobra refuses. `Err` carries the
/// message; every such error exits 1.
pub fn parse(argv: &[String]) -> Result<Args, String> {
    let mut words = Vec::new();
    let mut rest = Vec::new();
    // The subcommand is the leading words that name one.
    let mut it = argv.iter().peekable();
    while let Some(word) = it.peek() {
        if word.starts_with('-') {
            break;
        }
        let candidate = if words.is_empty() {
            word.to_string()
        } else {
            format!("{} {word}", words.join(" "))
        };
        if table(&candidate).is_none()
            && !["stack", "plugin", "config"].contains(&candidate.as_str())
        {
            break;
        }
        words.push(it.next().unwrap().clone());
    }
    rest.extend(it.cloned());
    let command = words.join(" ");
    let Some(own) = table(&command) else {
        return Err(format!("unknown command \"{command}\" for \"pulumi\""));
    };
    let debug = truthy("PULUMI_DEBUG_COMMANDS");
    let mut flags: Vec<Flag> = GLOBAL.iter().chain(own.iter()).copied().collect();
    if matches!(command.as_str(), "preview" | "up" | "refresh" | "destroy") {
        flags.extend(OPERATION);
        if debug {
            flags.push(("event-log", None, true));
        }
    }
    let mut args = Args {
        command,
        positional: Vec::new(),
        values: BTreeMap::new(),
        switches: Vec::new(),
    };
    let mut i = 0;
    while i < rest.len() {
        let arg = &rest[i];
        i += 1;
        let (flag, inline) = if let Some(long) = arg.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let flag = flags
                .iter()
                .find(|f| f.0 == name)
                .ok_or_else(|| format!("unknown flag: --{name}"))?;
            (flag, inline)
        } else if let Some(short) = arg.strip_prefix('-').filter(|s| !s.is_empty()) {
            let c = short.chars().next().unwrap();
            let flag = flags
                .iter()
                .find(|f| f.1 == Some(c))
                .ok_or_else(|| format!("unknown shorthand flag: '{c}' in -{short}"))?;
            let inline = (short.len() > 1).then(|| short[1..].trim_start_matches('=').to_string());
            (flag, inline)
        } else {
            args.positional.push(arg.clone());
            continue;
        };
        if flag.2 {
            let value = match inline {
                Some(v) => v,
                None => {
                    let v = rest
                        .get(i)
                        .ok_or_else(|| format!("flag needs an argument: --{}", flag.0))?;
                    i += 1;
                    v.clone()
                }
            };
            args.values
                .entry(flag.0.to_string())
                .or_default()
                .push(value);
        } else if inline.as_deref().is_none_or(|v| v == "true") {
            args.switches.push(flag.0.to_string());
        }
    }
    let most = match args.command.as_str() {
        "plugin install" => 3,
        "cancel" => 1,
        "config set" => 2,
        _ => 0,
    };
    if args.positional.len() > most {
        return Err(format!(
            "accepts at most {most} arg(s), received {}",
            args.positional.len()
        ));
    }
    Ok(args)
}

fn table(command: &str) -> Option<&'static [Flag]> {
    Some(match command {
        "version" => &[],
        "preview" => PREVIEW,
        "up" => UP,
        "refresh" => REFRESH,
        "destroy" => DESTROY,
        "stack select" => STACK_SELECT,
        "stack output" => STACK_OUTPUT,
        "stack export" => STACK_EXPORT,
        "cancel" => CANCEL,
        "config set" => CONFIG_SET,
        "plugin install" => PLUGIN_INSTALL,
        _ => return None,
    })
}
