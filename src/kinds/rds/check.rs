//! What the rds schema cannot say, checked on the typed model with the
//! expanded document at hand for positions (the validate stage's work).

use super::*;
use crate::diagnostic::{Code, Diagnostic};
use crate::expand::Expanded;
use crate::validate::{CheckKind, KindInput};

/// What the schema cannot say. Returns false when something is wrong.
pub fn check(rds: &Rds, doc: &Expanded, diagnostics: &mut Vec<Diagnostic>) -> bool {
    if let Some(max) = rds.storage.max_size_gb
        && max <= rds.storage.size_gb
    {
        diagnostics.push(
                Diagnostic::error(Code::OutOfRange, format!("`storage.max_size_gb` ({max}) must be larger than `storage.size_gb` ({})", rds.storage.size_gb))
                    .at(doc.span_of("/storage/max_size_gb"))
                    .help("storage autoscaling grows from size_gb up to max_size_gb; leave max_size_gb out to turn it off"),
            );
        return false;
    }
    true
}

impl CheckKind for Rds {
    fn check(input: &KindInput<'_>, diagnostics: &mut Vec<Diagnostic>) -> Option<Rds> {
        input.read::<Self>(diagnostics)
            .filter(|spec| check(spec, input.doc, diagnostics))
    }
}
