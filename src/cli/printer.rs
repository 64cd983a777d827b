//! All output goes through the [`Printer`]: results to stdout, progress and
//! diagnostics to stderr. Colour only on a terminal and never with `NO_COLOR`
//! (anstream strips the styles otherwise).

use crate::diagnostic::{self, Diagnostic, JsonDiagnostic};
use crate::source::Sources;
use anstyle::{AnsiColor, Style};
use std::io::{IsTerminal, Write};

pub struct Printer {
    styled_stderr: bool,
    /// The stack and environment the command acts on and why, once resolved:
    /// every JSON result carries it as `target`, as the text output's first
    /// line says it.
    target: std::sync::Mutex<Option<serde_json::Value>>,
}

pub const GREEN: Style = AnsiColor::Green.on_default().bold();
pub const YELLOW: Style = AnsiColor::Yellow.on_default().bold();
pub const RED: Style = AnsiColor::Red.on_default().bold();
pub const CYAN: Style = AnsiColor::Cyan.on_default().bold();
pub const BOLD: Style = Style::new().bold();
pub const DIM: Style = Style::new().dimmed();

impl Default for Printer {
    fn default() -> Self {
        Self::new()
    }
}

impl Printer {
    pub fn new() -> Printer {
        let styled_stderr =
            anstream::AutoStream::choice(&std::io::stderr()) != anstream::ColorChoice::Never;
        Printer {
            styled_stderr,
            target: Default::default(),
        }
    }

    /// Whether live progress may be drawn: stderr is a terminal and colour is
    /// allowed (`NO_COLOR` turns progress off too).
    pub fn live(&self) -> bool {
        self.styled_stderr && std::io::stderr().is_terminal()
    }

    /// Whether stdin and stderr are a terminal, so a question can be asked.
    pub fn can_prompt(&self) -> bool {
        std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
    }

    /// A result line on stdout.
    pub fn out(&self, text: impl std::fmt::Display) {
        let mut out = anstream::stdout();
        let _ = writeln!(out, "{text}");
    }

    /// Raw text on stdout (a program, JSON), printed as is.
    pub fn out_raw(&self, text: &str) {
        let mut out = anstream::stdout();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }

    /// A status line on stderr.
    pub fn status(&self, text: impl std::fmt::Display) {
        let mut err = anstream::stderr();
        let _ = writeln!(err, "{text}");
    }

    pub fn success(&self, text: impl std::fmt::Display) {
        self.status(format!("{GREEN}✓{GREEN:#} {text}"));
    }

    pub fn warning(&self, text: impl std::fmt::Display) {
        self.status(format!("{YELLOW}⚠{YELLOW:#} {text}"));
    }

    pub fn failure(&self, text: impl std::fmt::Display) {
        self.status(format!("{RED}✗{RED:#} {text}"));
    }

    /// An error line like rustc's `error: ...` with an optional help line.
    pub fn error(&self, message: &str, help: Option<&str>) {
        self.status(format!("{RED}error{RED:#}{BOLD}: {message}{BOLD:#}"));
        if let Some(help) = help {
            self.status(format!("  {} {help}", styled_help()));
        }
    }

    pub fn diagnostic(&self, d: &Diagnostic, sources: &Sources) {
        self.status(self.render(d, sources));
    }

    /// A diagnostic as text, to print later (from another thread's work).
    pub fn render(&self, d: &Diagnostic, sources: &Sources) -> String {
        let colour = if self.styled_stderr {
            diagnostic::Colour::Terminal
        } else {
            diagnostic::Colour::Plain
        };
        format!("{}\n", diagnostic::render(d, sources, colour))
    }

    /// Remember what the command acts on, for [`Printer::json`].
    pub fn set_target(&self, target: serde_json::Value) {
        *self.target.lock().unwrap_or_else(|e| e.into_inner()) = Some(target);
    }

    /// A JSON result on stdout. With a target resolved, an object gets a
    /// `target` field and each object of a list (one per environment or
    /// release) gets one too, unless it has its own.
    pub fn json(&self, value: &impl serde::Serialize) {
        let mut value = serde_json::to_value(value).expect("values serialise");
        if let Some(target) = self
            .target
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            let add = |object: &mut serde_json::Map<String, serde_json::Value>| {
                object.entry("target").or_insert_with(|| target.clone());
            };
            match &mut value {
                serde_json::Value::Object(object) => add(object),
                serde_json::Value::Array(items) => items
                    .iter_mut()
                    .filter_map(serde_json::Value::as_object_mut)
                    .for_each(add),
                _ => {}
            }
        }
        let mut text = serde_json::to_string_pretty(&value).expect("values serialise");
        text.push('\n');
        // JSON holds no styles to strip: written as is, in one piece (through
        // anstream's stripping adapter a large document cost quadratic time).
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }

    pub fn json_diagnostics(d: &[Diagnostic], sources: &Sources) -> Vec<JsonDiagnostic> {
        d.iter().map(|d| JsonDiagnostic::new(d, sources)).collect()
    }
}

fn styled_help() -> String {
    let cyan = AnsiColor::Cyan.on_default().bold();
    format!("{cyan}help:{cyan:#}")
}

/// `8m 35s`, `12s`, `1h 02m`.
pub fn duration(ms: u64) -> String {
    let secs = ms / 1000;
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m {:02}s", secs / 60, secs % 60),
        _ => format!("{}h {:02}m", secs / 3600, secs % 3600 / 60),
    }
}
