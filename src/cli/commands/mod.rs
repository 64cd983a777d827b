//! One module per command.

pub mod affected;
pub mod apply;
pub mod compile;
pub mod completions;
pub mod cost;
pub mod diff;
pub mod drift;
pub mod every;
pub mod history;
pub mod import;
pub mod init;
pub mod lock;
pub mod logs;
pub mod plan;
pub mod schema;
pub mod show;
pub mod stack_init;
pub mod status;
pub mod target;
pub mod validate;
pub mod version;

use crate::error::{Context, Result};
use crate::load::Repo;

/// Opens the repository from `--repo` or the current folder.
pub fn open_repo(repo: &Option<std::path::PathBuf>) -> Result<Repo> {
    let cwd = std::env::current_dir().context(|| "cannot read the current folder".to_string())?;
    Repo::open(repo.as_deref(), &cwd)
}

/// The stacks a command works on: every one with `--all`, else the one given
/// (checked to exist) or inferred.
pub fn selected_stacks(
    printer: &Printer,
    repo: &Repo,
    selection: &crate::cli::args::StackSelection,
) -> Result<Vec<String>> {
    if selection.all {
        printer.set_target(serde_json::json!({"all": true}));
        return Ok(repo.stack_names());
    }
    Ok(vec![resolve_stack(
        printer,
        repo,
        selection.stack.as_deref(),
    )?])
}

/// [`selected_stacks`], and the environment when one is given (resolved from
/// an alias, and said in `target`).
pub fn selected_stacks_in(
    printer: &Printer,
    repo: &Repo,
    selection: &crate::cli::args::StackSelection,
    environment: Option<&str>,
) -> Result<(Vec<String>, Option<String>)> {
    if selection.all {
        printer.set_target(serde_json::json!({"all": true}));
        return Ok((repo.stack_names(), None));
    }
    let (stack, environment) =
        resolve_stack_and_environment(printer, repo, selection.stack.as_deref(), environment)?;
    Ok((vec![stack], environment))
}

/// "1 error", "2 errors".
pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

use crate::cli::printer::Printer;
use crate::diagnostic::sort_and_dedup;
use crate::error::Error;
use crate::pipeline::{self, Checked, GivenVars, Missing, Options, Undeclared};
use crate::source::Sources;

/// A stack checked for compiling, with its diagnostics already rendered (so a
/// worker thread can check it and the main thread print it in order).
pub struct StackCheck {
    pub stack: String,
    pub checked: Checked,
    pub rendered: Vec<String>,
    pub errors: usize,
}

impl StackCheck {
    /// The error to report when the stack has errors.
    pub fn failure(&self) -> Option<Error> {
        let stack = &self.stack;
        (self.errors > 0).then(|| {
            Error::failed(format!(
                "stack `{stack}` has {}; nothing was compiled",
                plural(self.errors, "error")
            ))
            .with_help(format!(
                "run `deployer validate --stack {stack}` to see them again"
            ))
        })
    }

    /// Prints the diagnostics; an error when any of them is one.
    pub fn into_result(self, printer: &Printer) -> Result<Checked> {
        self.rendered.iter().for_each(|text| printer.status(text));
        match self.failure() {
            Some(err) => Err(err),
            None => Ok(self.checked),
        }
    }
}

/// Checks a stack for compiling: every variable needs a value. Files in
/// `read` (what compile's input hash read) are taken from there, not read
/// again.
pub fn check_quietly(
    printer: &Printer,
    repo: &Repo,
    stack: &str,
    environment: Option<String>,
    vars: &GivenVars,
    undeclared: Undeclared,
    read: crate::load::Prefetched,
) -> StackCheck {
    let options = Options {
        environment,
        missing: Missing::Error,
        undeclared,
        programs: crate::pipeline::Programs::Keep,
        prefetched: read,
    };
    check_with(printer, repo, stack, vars, &options)
}

/// Compiles a stack as `options` say, its diagnostics rendered.
pub fn check_with(
    printer: &Printer,
    repo: &Repo,
    stack: &str,
    vars: &GivenVars,
    options: &Options,
) -> StackCheck {
    let mut sources = Sources::default();
    let mut diagnostics = Vec::new();
    let checked =
        pipeline::compile_stack(repo, stack, vars, options, &mut sources, &mut diagnostics);
    sort_and_dedup(&mut diagnostics, &sources);
    let rendered = diagnostics
        .iter()
        .map(|d| printer.render(d, &sources))
        .collect();
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    StackCheck {
        stack: stack.to_string(),
        checked,
        rendered,
        errors,
    }
}

/// [`check_quietly`], printing at once.
pub fn check_for_compile(
    printer: &Printer,
    repo: &Repo,
    stack: &str,
    environment: Option<String>,
    vars: &GivenVars,
    undeclared: Undeclared,
) -> Result<Checked> {
    let read = crate::load::Prefetched::default();
    check_quietly(printer, repo, stack, environment, vars, undeclared, read).into_result(printer)
}

/// One stack in one environment compiled into what a release records, for
/// the commands that deploy or plan it.
pub fn compile_one(
    printer: &Printer,
    repo: &Repo,
    stack: &str,
    environment: &str,
    vars: &GivenVars,
) -> Result<(Checked, crate::artifacts::Artifacts)> {
    let mut checked = check_for_compile(
        printer,
        repo,
        stack,
        Some(environment.to_string()),
        vars,
        Undeclared::Error,
    )?;
    if checked.environments.is_empty() {
        return Err(Error::failed(format!(
            "stack `{stack}` has no environment `{environment}`"
        )));
    }
    let compiled = checked.take_compiled(0);
    let resolved = &checked.environments[0];
    let input_hash = crate::artifacts::input_hash(repo, stack, &vars.vars, &vars.var_files)
        .context(|| format!("cannot read the files of `{stack}`"))?;
    let files =
        crate::artifacts::Artifacts::new(resolved, &compiled, input_hash, &checked.variables);
    Ok((checked, files))
}

pub fn var_args(args: crate::cli::args::VarArgs) -> Result<GivenVars> {
    Ok(GivenVars {
        vars: args.pairs()?,
        var_files: args.var_files,
    })
}

/// Opens the configured back-end; says once when it is the local one.
pub fn open_backend(printer: &Printer, repo: &Repo) -> Result<crate::backend::Backend> {
    crate::ops::open_backend(repo, &crate::cli::ui::CliUi::new(printer))
}

/// How long a flow waits for the stack's lock, and how long it lasts.
pub fn lock_wait(options: &crate::cli::args::LockOptions) -> crate::ops::LockWait {
    crate::ops::LockWait {
        ttl: options.lock_ttl,
        timeout: options.lock_timeout,
    }
}

/// The stack and environment a command acts on: as given, else inferred (and
/// said on the first line), reading only stack.yaml.
pub fn resolve_target(
    printer: &Printer,
    repo: &Repo,
    given: &crate::cli::args::StackEnv,
) -> Result<target::ChosenTarget> {
    let (stack, stack_from) = target::stack(repo, given.stack.as_deref())?;
    let (environment, environment_from) = match (
        pipeline::read_stack_file(repo, &stack).0,
        &given.environment,
    ) {
        (Some(file), given) => target::environment(&stack, &file, given.as_deref())?,
        // A broken stack.yaml is reported by the commands that compile it.
        (None, Some(environment)) => (environment.clone(), "--environment".to_string()),
        (None, None) => {
            stack_file(printer, repo, &stack)?;
            unreachable!("stack_file fails when read_stack_file did")
        }
    };
    Ok(announce(
        printer,
        target::ChosenTarget {
            stack,
            environment,
            stack_from,
            environment_from,
        },
    ))
}

/// Says what was inferred on the first line, and puts the target in every
/// JSON result.
pub fn announce(printer: &Printer, target: target::ChosenTarget) -> target::ChosenTarget {
    if let Some(line) = target.inferred() {
        printer.status(line);
    }
    printer.set_target(serde_json::to_value(&target).expect("a target serialises"));
    target
}

/// The stack a command acts on and, when `--environment` is given, that
/// environment (an alias resolved to its name): what `target` says in JSON
/// output. Without `--environment` the command covers every environment.
pub fn resolve_stack_and_environment(
    printer: &Printer,
    repo: &Repo,
    stack: Option<&str>,
    environment: Option<&str>,
) -> Result<(String, Option<String>)> {
    match environment {
        Some(environment) => {
            let given = crate::cli::args::StackEnv {
                stack: stack.map(str::to_string),
                environment: Some(environment.to_string()),
            };
            let target = resolve_target(printer, repo, &given)?;
            Ok((target.stack, Some(target.environment)))
        }
        None => Ok((resolve_stack(printer, repo, stack)?, None)),
    }
}

/// The stack a command acts on, when it takes no environment (or an optional one).
pub fn resolve_stack(printer: &Printer, repo: &Repo, given: Option<&str>) -> Result<String> {
    let (stack, from) = target::stack(repo, given)?;
    if from != "--stack" {
        printer.status(format!("{stack} (stack: {from})"));
    }
    printer.set_target(serde_json::json!({"stack": stack, "stack_from": from}));
    Ok(stack)
}

/// One answer: from its flag, else asked, else its default, else an error naming the flag.
pub struct Asker {
    pub interactive: bool,
}

impl Asker {
    pub fn ask(
        &self,
        given: Option<String>,
        prompt: &str,
        flag: &str,
        default: Option<&str>,
        check: impl Fn(&str) -> std::result::Result<(), String>,
    ) -> Result<String> {
        if let Some(value) = given {
            check(&value).map_err(|why| Error::usage(format!("{flag}: {why}")))?;
            return Ok(value);
        }
        if !self.interactive {
            return match default {
                Some(d) => Ok(d.to_string()),
                None => Err(
                    Error::usage(format!("cannot ask for {prompt}: not a terminal"))
                        .with_help(format!("pass {flag}")),
                ),
            };
        }
        let mut input = dialoguer::Input::<String>::new().with_prompt(prompt);
        if let Some(d) = default {
            input = input.default(d.to_string());
        }
        input
            .validate_with(|v: &String| check(v))
            .interact_text()
            .context(|| "cannot read the answer".to_string())
    }
}

/// A stack's stack.yaml, checked; its diagnostics printed when it is not valid.
pub fn stack_file(
    printer: &Printer,
    repo: &Repo,
    stack: &str,
) -> Result<crate::model::stack::StackFile> {
    let (parsed, diagnostics, sources) = pipeline::read_stack_file(repo, stack);
    parsed.ok_or_else(|| {
        for d in &diagnostics {
            printer.diagnostic(d, &sources);
        }
        Error::failed(format!(
            "stacks/{stack}/stack.yaml is not valid; fix it first"
        ))
    })
}
