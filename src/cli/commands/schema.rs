//! `deployer schema --out DIR`: the JSON Schemas editors use.

use crate::cli::ExitStatus;
use crate::cli::args::SchemaArgs;
use crate::cli::printer::Printer;
use crate::error::{Error, Result};

pub fn run(args: SchemaArgs, printer: &Printer) -> Result<ExitStatus> {
    let written = crate::schema::write_all(&args.out).map_err(|e| {
        Error::failed(format!(
            "cannot write schemas to {}: {e}",
            args.out.display()
        ))
    })?;
    for name in written {
        printer.out(args.out.join(name).display());
    }
    Ok(ExitStatus::Success)
}
