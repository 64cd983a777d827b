//! `deployer completions SHELL` and `deployer man --out DIR`: generated from the
//! command-line definitions (clap_complete, clap_mangen), so they never drift
//! from the commands themselves.

use crate::cli::ExitStatus;
use crate::cli::args::{Cli, CompletionsArgs, ManArgs};
use crate::cli::printer::Printer;
use crate::error::{Context, Result};
use clap::CommandFactory;

pub fn run(args: CompletionsArgs, printer: &Printer) -> Result<ExitStatus> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "deployer", &mut script);
    printer.out_raw(&String::from_utf8_lossy(&script));
    Ok(ExitStatus::Success)
}

pub fn man(args: ManArgs, printer: &Printer) -> Result<ExitStatus> {
    std::fs::create_dir_all(&args.out)
        .context(|| format!("cannot create {}", args.out.display()))?;
    let command = Cli::command();
    let mut pages = vec![("deployer".to_string(), command.clone())];
    // A page is named `deployer-apply` (as git's are), but its synopsis shows
    // the command as it is typed: `deployer apply`.
    for sub in command.get_subcommands() {
        let name = format!("deployer-{}", sub.get_name());
        let typed = format!("deployer {}", sub.get_name());
        pages.push((name.clone(), sub.clone().name(&name).bin_name(&typed)));
        for nested in sub.get_subcommands() {
            let name = format!("{name}-{}", nested.get_name());
            let typed = format!("{typed} {}", nested.get_name());
            pages.push((name.clone(), nested.clone().name(&name).bin_name(typed)));
        }
    }
    for (name, page) in &pages {
        let mut text = Vec::new();
        clap_mangen::Man::new(page.clone())
            .render(&mut text)
            .context(|| format!("cannot render the man page of {name}"))?;
        let text = roff_ascii(&String::from_utf8_lossy(&text));
        let path = args.out.join(format!("{name}.1"));
        crate::artifacts::write_atomic(&path, text.as_bytes())
            .context(|| format!("cannot write {}", path.display()))?;
    }
    printer.success(format!(
        "wrote {} man pages to {}",
        pages.len(),
        args.out.display()
    ));
    Ok(ExitStatus::Success)
}

/// roff input is ASCII: groff reads other bytes as Latin-1 and warns (`→` is
/// "invalid input character code 134"). Every other character is written as
/// groff's and mandoc's Unicode escape, `\[u2192]`.
fn roff_ascii(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            out.push_str(&format!("\\[u{:04X}]", c as u32));
        }
    }
    out
}
