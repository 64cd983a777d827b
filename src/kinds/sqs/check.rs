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
    // SQS requires a FIFO queue's name to end in `.fifo`, and only then.
    for (name, pointer) in [
        (&sqs.queue_name, "/queue_name"),
        (&sqs.dead_letter.queue_name, "/dead_letter/queue_name"),
    ] {
        if let Some(name) = name
            && name.ends_with(".fifo") != sqs.fifo
        {
            diagnostics.push(
                Diagnostic::error(
                    Code::InvalidValue,
                    if sqs.fifo {
                        format!("`{name}` names a FIFO queue without `.fifo` at its end, which SQS requires")
                    } else {
                        format!("`{name}` ends in `.fifo`, which SQS keeps for FIFO queues")
                    },
                )
                .at(doc.span_of(pointer))
                .help(if sqs.fifo {
                    format!("name it `{name}.fifo`")
                } else {
                    "set `fifo: true`, or drop `.fifo` from the name".to_string()
                }),
            );
            ok = false;
        }
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
