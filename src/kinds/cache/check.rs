//! What the cache schema cannot say, checked on the typed model with the
//! expanded document at hand for positions (the validate stage's work).

use super::*;
use crate::diagnostic::{Code, Diagnostic};
use crate::expand::Expanded;
use crate::validate::{CheckKind, KindInput};

/// What the schema cannot say. Returns false when something is wrong.
pub fn check(
    cache: &Cache,
    production: bool,
    doc: &Expanded,
    diagnostics: &mut Vec<Diagnostic>,
) -> bool {
    if production && cache.nodes(production) < 2 {
        diagnostics.push(
            Diagnostic::error(
                Code::OutOfRange,
                "a production cache needs at least 2 nodes, so that it fails over automatically",
            )
            .at(doc.span_of("/nodes"))
            .help("set `nodes: 2` or more in production (leave it out: 2 is the default there)"),
        );
        return false;
    }
    true
}

impl CheckKind for Cache {
    fn check(input: &KindInput<'_>, diagnostics: &mut Vec<Diagnostic>) -> Option<Cache> {
        input.read::<Self>(diagnostics)
            .filter(|spec| check(spec, input.production, input.doc, diagnostics))
    }
}
