//! What the sqs schema cannot say, checked on the typed model with the
//! expanded document at hand for positions (the validate stage's work).

use super::*;
use crate::diagnostic::{Code, Diagnostic};
use crate::expand::Expanded;
use crate::validate::{CheckKind, KindInput};

/// What the schema cannot say. Returns false when something is wrong.
pub fn check(sqs: &Sqs, doc: &Expanded, diagnostics: &mut Vec<Diagnostic>) -> bool {
    let mut ok = true;
    if sqs.content_based_deduplication && !sqs.fifo {
        diagnostics.push(
            Diagnostic::error(
                Code::InvalidValue,
                "`content_based_deduplication` needs a FIFO queue",
            )
            .at(doc.span_of("/content_based_deduplication"))
            .help("set `fifo: true`, or remove content_based_deduplication"),
        );
        ok = false;
    }
    if sqs.dead_letter.enabled && sqs.dead_letter.retention_days < sqs.retention_days {
        diagnostics.push(
            Diagnostic::warning(
                Code::InvalidValue,
                format!(
                    "dead letters are kept {} days but messages {} days: a message's age carries over, so dead letters may expire at once",
                    sqs.dead_letter.retention_days, sqs.retention_days
                ),
            )
            .at(doc.span_of("/dead_letter/retention_days")),
        );
    }
    ok
}

impl CheckKind for Sqs {
    fn check(input: &KindInput<'_>, diagnostics: &mut Vec<Diagnostic>) -> Option<Sqs> {
        input.read::<Self>(diagnostics)
            .filter(|spec| check(spec, input.doc, diagnostics))
    }
}
