//! What the user sees while a flow of `ops` runs: its steps, the plan, the
//! questions, live progress per component, and the wait for a lock.

use crate::backend::{LockInfo, now, relative, timestamp};
use crate::cli::printer::duration;
use crate::cli::printer::{BOLD, CYAN, GREEN, Printer, RED, YELLOW};
use crate::error::{Error, Result};
use crate::ops::changes::{PlannedChanges, Update, label};
use crate::ops::rollouts::RolloutEvent;
use crate::ops::{LockEvents, Ui};

/// Shows waiting the way the walkthrough does:
/// `⚠ Stack is locked / Locked by / Since / Waiting for lock... (Ctrl+C to cancel)`.
pub struct WaitPrinter;

impl LockEvents for WaitPrinter {
    fn waiting(&self, holder: &LockInfo) {
        let printer = Printer::new();
        printer.warning("Stack is locked");
        printer.status(format!("  Locked by: {}", holder.who));
        printer.status(format!("  Since: {}", relative(holder.created, now())));
        printer.status(format!(
            "  Operation: {} (pid {} on {})",
            holder.operation, holder.pid, holder.host
        ));
        printer.status(format!(
            "  Lock ID: {} (expires {})",
            holder.lock_id,
            relative(holder.expires, now())
        ));
        printer.status("Waiting for lock... (Ctrl+C to cancel)");
    }

    fn lost(&self, holder: Option<&LockInfo>) {
        let by = holder
            .map(|h| format!(" It is now held by {} ({}).", h.who, h.operation))
            .unwrap_or_default();
        Printer::new().failure(format!("The stack's lock was removed while this command held it.{by} Another deploy may now run at the same time."));
    }

    fn renewal_failed(&self, error: &Error, lapses: i64) {
        let lapsing = if lapses > now() {
            format!(", it lapses {} if this lasts", relative(lapses, now()))
        } else {
            String::new()
        };
        Printer::new().warning(format!(
            "Could not renew the stack's lock ({error}); trying again{lapsing}. The deploy goes on meanwhile."
        ));
    }

    fn lapsed(&self, at: i64) {
        Printer::new().warning(format!(
            "The stack's lock lapsed at {} while it could not be renewed: another deployer may take it. Pulumi's own lock on the stack's state still stops a second update of it; deployer's records refuse a second release with the same number.",
            timestamp(at)
        ));
    }

    fn renewed(&self) {
        Printer::new().status("The stack's lock was renewed again.");
    }
}

/// Shows a deployment in the walkthrough's words. On a terminal each component
/// in progress has a live spinner with its elapsed time; elsewhere (CI) plain
/// lines: one when a component starts, one when it ends.
pub struct CliUi<'a> {
    printer: &'a Printer,
    live: Option<Live>,
}

struct Live {
    bars: indicatif::MultiProgress,
    running: std::cell::RefCell<std::collections::BTreeMap<String, indicatif::ProgressBar>>,
    /// Whether a bar was ever drawn: from then on every line goes above the
    /// bars, before it they are printed as they come.
    drawn: std::cell::Cell<bool>,
}

impl<'a> CliUi<'a> {
    pub fn new(printer: &'a Printer) -> CliUi<'a> {
        let live = printer.live().then(|| Live {
            bars: indicatif::MultiProgress::with_draw_target(
                indicatif::ProgressDrawTarget::stderr(),
            ),
            running: Default::default(),
            drawn: Default::default(),
        });
        CliUi { printer, live }
    }

    /// A line above the live bars (or plain).
    fn line(&self, text: String) {
        match &self.live {
            Some(live) if live.drawn.get() => {
                let _ = live.bars.println(text);
            }
            _ => self.printer.status(text),
        }
    }
}

impl Ui for CliUi<'_> {
    fn step(&self, text: &str) {
        self.line(text.to_string());
    }

    fn success(&self, text: &str) {
        match &self.live {
            Some(live) if live.drawn.get() => {
                let _ = live.bars.println(format!("{GREEN}✓{GREEN:#} {text}"));
            }
            _ => self.printer.success(text),
        }
    }

    fn can_prompt(&self) -> bool {
        self.printer.can_prompt()
    }

    fn confirm(&self, prompt: &str) -> Result<bool> {
        dialoguer::Confirm::new()
            .with_prompt(prompt)
            .default(false)
            .interact()
            .map_err(|e| Error::failed(format!("cannot read the answer: {e}")).with_source(e))
    }

    fn lock_events(&self) -> &'static dyn LockEvents {
        &WaitPrinter
    }

    fn rollout(&self, event: &RolloutEvent) {
        match event {
            RolloutEvent::Started {
                component,
                deployment,
            } => self.step(&format!(
                "{}: {}… ({})",
                label(component),
                deployment.shape(),
                deployment.progress()
            )),
            RolloutEvent::Moved {
                component,
                deployment,
            } => {
                let left = deployment
                    .bake_left(now())
                    .map(|m| format!(", {m}m of the bake left"))
                    .unwrap_or_default();
                self.note(&format!(
                    "  {}: {}{left}",
                    label(component),
                    deployment.progress()
                ))
            }
            RolloutEvent::Finished {
                component,
                deployment,
            } if deployment.rolled_back() => self.line(format!(
                "{RED}✗{RED:#} {}: ECS rolled back the {}: {}",
                label(component),
                deployment.shape(),
                deployment.why()
            )),
            RolloutEvent::Finished {
                component,
                deployment,
            } => {
                let took = match (deployment.started_at, deployment.finished_at) {
                    (Some(start), Some(end)) if end >= start => {
                        format!(" ({})", duration((end - start) as u64 * 1000))
                    }
                    _ => String::new(),
                };
                self.line(format!(
                    "{}: {}… {GREEN}✓{GREEN:#}{took}",
                    label(component),
                    deployment.shape()
                ))
            }
            RolloutEvent::Unread { component, why } => self.warn(&format!(
                "could not ask ECS how {} rolled out ({why}); `deployer status` shows it",
                label(component)
            )),
            RolloutEvent::LeftToEcs {
                component,
                deployment,
            } => self.warn(&format!(
                "{}: ECS goes on with the {} ({}): it finishes, or rolls back on its own if an alarm fires; `deployer status` shows how it ends, `deployer rollback` stops it and rolls back",
                label(component),
                deployment.shape(),
                deployment.progress()
            )),
        }
    }

    fn warn(&self, text: &str) {
        self.line(format!("{YELLOW}⚠{YELLOW:#} {text}"));
    }

    fn note(&self, text: &str) {
        self.line(text.to_string());
    }

    fn accept_downgrade(&self, stack: &str, environment: &str, what: &str) -> Result<bool> {
        if !self.printer.can_prompt() {
            return Err(Error::usage(format!(
                "lowering the protection of {stack} / {environment} ({what}) is accepted on a terminal only"
            ))
            .with_help("run it on a terminal; CI cannot lower an environment's protection"));
        }
        self.printer.warning(format!(
            "This apply lowers the protection of {stack} / {environment}: {what}"
        ));
        let answer: String = dialoguer::Input::new()
            .with_prompt(format!("Type `downgrade {environment}` to accept"))
            .interact_text()
            .map_err(|e| Error::failed(format!("cannot read the answer: {e}")).with_source(e))?;
        Ok(answer.trim() == format!("downgrade {environment}"))
    }

    fn impacts(&self, impacts: &[crate::ops::impact::Impact]) {
        if impacts.is_empty() {
            return;
        }
        self.line("While it deploys:".to_string());
        for impact in impacts {
            let mark = match impact.severity {
                crate::ops::impact::Severity::DataLoss | crate::ops::impact::Severity::Downtime => {
                    format!("{RED}!{RED:#}")
                }
                crate::ops::impact::Severity::Disruption => format!("{YELLOW}~{YELLOW:#}"),
                crate::ops::impact::Severity::None => " ".to_string(),
            };
            self.line(format!(
                "  {mark} {}: {} ({})",
                label(&impact.component),
                impact.text,
                impact.severity.word()
            ));
        }
    }

    fn cost(&self, change: &crate::cost::CostChange) {
        self.line(format!("Estimated monthly cost: {}", change.summary()));
        let width = change
            .components
            .keys()
            .map(|c| label(c).chars().count())
            .max()
            .unwrap_or(0);
        for (component, delta) in &change.components {
            self.line(format!(
                "  {:width$}  {}",
                label(component),
                crate::cost::signed(*delta)
            ));
        }
        if !change.unknown.is_empty() {
            self.line(format!("  not estimated: {}", change.unknown.join("; ")));
        }
    }

    fn plan(&self, stack: &str, environment: &str, plan: &PlannedChanges) {
        if plan.is_empty() {
            return;
        }
        self.line(format!("{BOLD}Plan for {stack} / {environment}:{BOLD:#}"));
        for (component, resources) in &plan.components {
            let change = plan.change_of(component).map_or("update", |c| c.name());
            let (mark, style) = match change {
                "import" => ("=", CYAN),
                "create" => ("+", GREEN),
                "delete" => ("-", RED),
                "replace" => ("±", YELLOW),
                _ => ("~", YELLOW),
            };
            let n = resources.len();
            let imported = resources
                .keys()
                .filter(|r| plan.imported.contains_key(*r))
                .count();
            let adopted = if imported > 0 && change != "import" {
                format!(", {imported} adopted first")
            } else {
                String::new()
            };
            self.line(format!(
                "  {style}{mark}{style:#} {:<40} {change} ({n} resource{}{adopted})",
                label(component),
                if n == 1 { "" } else { "s" }
            ));
        }
        let counts = plan.counts();
        let imports = plan.imported.len();
        let parts: Vec<String> = (imports > 0)
            .then(|| format!("{imports} to import"))
            .into_iter()
            .chain(
                ["create", "update", "replace", "delete"]
                    .iter()
                    .map(|k| format!("{} to {k}", counts.get(k).copied().unwrap_or(0))),
            )
            .collect();
        self.line(format!("  {}", parts.join(", ")));
    }

    fn approve(&self, _stack: &str, environment: &str, production: bool) -> Result<bool> {
        if !self.printer.can_prompt() {
            return Err(Error::usage(
                "this environment requires approval, and there is no terminal to ask on",
            )
            .with_help("pass --auto-approve"));
        }
        let what = if production {
            "Production deployment".to_string()
        } else {
            format!("Deployment to {environment}")
        };
        self.printer.warning(format!("{what} - approval required"));
        let answer: String = dialoguer::Input::new()
            .with_prompt("Approve? (yes/no)")
            .interact_text()
            .map_err(|e| Error::failed(format!("cannot read the answer: {e}")).with_source(e))?;
        Ok(answer.trim() == "yes")
    }

    fn confirm_destroy(&self, stack: &str, environment: &str, production: bool) -> Result<bool> {
        if !self.printer.can_prompt() {
            return Err(Error::usage(
                "destroy asks before it deletes anything, and there is no terminal to ask on",
            )
            .with_help("pass --auto-approve (and --yes-destroy-production for production)"));
        }
        if production {
            self.printer.warning(format!(
                "Production environment: every resource of {stack} / {environment} will be deleted"
            ));
            let answer: String = dialoguer::Input::new()
                .with_prompt(format!(
                    "Type the environment's name ({environment}) to destroy it"
                ))
                .interact_text()
                .map_err(|e| {
                    Error::failed(format!("cannot read the answer: {e}")).with_source(e)
                })?;
            return Ok(answer.trim() == environment);
        }
        self.printer.warning(format!(
            "Every resource of {stack} / {environment} will be deleted"
        ));
        let answer: String = dialoguer::Input::new()
            .with_prompt("Destroy? (yes/no)")
            .interact_text()
            .map_err(|e| Error::failed(format!("cannot read the answer: {e}")).with_source(e))?;
        Ok(answer.trim() == "yes")
    }

    fn progress(&self, update: &Update) {
        match update {
            Update::Started { component, change } => {
                let text = format!("{} {}...", change.verb(), label(component));
                match &self.live {
                    Some(live) => {
                        live.drawn.set(true);
                        let bar = live.bars.add(indicatif::ProgressBar::new_spinner());
                        bar.set_style(
                            indicatif::ProgressStyle::with_template(
                                "{spinner:.cyan} {msg} {elapsed:.dim}",
                            )
                            .expect("valid template"),
                        );
                        bar.set_message(text);
                        bar.enable_steady_tick(std::time::Duration::from_millis(120));
                        live.running.borrow_mut().insert(component.clone(), bar);
                    }
                    None => self.printer.status(text),
                }
            }
            Update::Finished {
                component,
                change,
                seconds,
                failed,
            } => {
                let took = duration(*seconds as u64 * 1000);
                let mark = if *failed {
                    format!("{RED}✗{RED:#}")
                } else {
                    format!("{GREEN}✓{GREEN:#}")
                };
                let text = format!("{} {}... {mark} ({took})", change.verb(), label(component));
                match self
                    .live
                    .as_ref()
                    .and_then(|l| l.running.borrow_mut().remove(component))
                {
                    Some(bar) => {
                        bar.set_style(
                            indicatif::ProgressStyle::with_template("{msg}")
                                .expect("valid template"),
                        );
                        bar.finish_with_message(text);
                    }
                    None => self.line(text),
                }
            }
            Update::Diagnostic {
                resource,
                severity,
                message,
                ..
            } => {
                let on = resource
                    .as_ref()
                    .map(|r| format!("{r}: "))
                    .unwrap_or_default();
                let (style, word) = if severity == "error" {
                    (RED, "error")
                } else {
                    (YELLOW, "warning")
                };
                for (i, line) in message.lines().enumerate() {
                    if i == 0 {
                        self.line(format!("    {style}{word}{style:#}: {on}{line}"));
                    } else {
                        self.line(format!("      {line}"));
                    }
                }
            }
        }
    }
}

/// What flows run side by side (`drift --all`, `status --all`) show: only
/// warnings, each on its own line; the command prints one line per target
/// when it is done. Nothing can be asked.
pub struct QuietUi;

impl Ui for QuietUi {
    fn step(&self, _text: &str) {}

    fn success(&self, _text: &str) {}

    fn warn(&self, text: &str) {
        Printer::new().warning(text);
    }

    fn note(&self, _text: &str) {}

    fn accept_downgrade(&self, stack: &str, environment: &str, _what: &str) -> Result<bool> {
        Err(Error::usage(format!(
            "{stack} / {environment}: nothing can be asked while several targets run"
        )))
    }

    fn plan(&self, _stack: &str, _environment: &str, _plan: &PlannedChanges) {}

    fn cost(&self, _change: &crate::cost::CostChange) {}

    fn impacts(&self, _impacts: &[crate::ops::impact::Impact]) {}

    fn approve(&self, stack: &str, environment: &str, _production: bool) -> Result<bool> {
        self.accept_downgrade(stack, environment, "")
    }

    fn confirm_destroy(&self, stack: &str, environment: &str, _production: bool) -> Result<bool> {
        self.accept_downgrade(stack, environment, "")
    }

    fn progress(&self, _update: &Update) {}

    fn can_prompt(&self) -> bool {
        false
    }

    fn confirm(&self, prompt: &str) -> Result<bool> {
        Err(Error::usage(format!(
            "cannot ask `{prompt}` while several targets run"
        )))
    }

    fn lock_events(&self) -> &'static dyn LockEvents {
        &WaitPrinter
    }

    fn rollout(&self, event: &RolloutEvent) {
        if let RolloutEvent::Unread { component, why } = event {
            self.warn(&format!(
                "could not ask ECS how {component} rolled out ({why})"
            ));
        }
    }
}
