//! The sqs component's resources in the Pulumi program, its outputs, and
//! what using it grants (the emit stage's work).

use crate::emit::emitter::{EmitKind, Emitter, Grant};
use crate::emit::program::{Part, Resource, Value, iam_statement, map, r, s, to_json};
use super::Sqs;
use crate::kinds::Access;
use crate::resolve::Wire;

/// SQS queue names are at most 80 characters, `.fifo` included.
const MAX_NAME: usize = 80;

fn output(e: &Emitter, index: usize, output: &str) -> Vec<Part> {
    let queue = e.name(index, "queue");
    let dlq = e.name(index, "dead-letter");
    let reference = |expr: String| vec![Part::Ref(expr)];
    match output {
        "url" => reference(format!("{queue}.url")),
        "arn" => reference(format!("{queue}.arn")),
        "name" => reference(format!("{queue}.name")),
        "dead_letter_url" => reference(format!("{dlq}.url")),
        "dead_letter_arn" => reference(format!("{dlq}.arn")),
        _ => Vec::new(),
    }
}

/// Using a queue gives its URL and ARN and exactly the SQS actions the access
/// needs, on this queue only.
fn grant(e: &Emitter, target: usize, wire: &Wire) -> Grant {
    let p = &wire.env_prefix;
    Grant {
        env: vec![
            (format!("{p}_URL"), output(e, target, "url")),
            (format!("{p}_ARN"), output(e, target, "arn")),
        ],
        task_statements: vec![iam_statement(
            queue_actions(wire.access),
            vec![Value::interp(output(e, target, "arn"))],
        )],
        ..Grant::default()
    }
}

/// The queue, encrypted, and its dead-letter queue with redrive both ways
/// (messages move to it after `max_receives`, and may be sent back only to it).
fn emit(e: &mut Emitter, index: usize, sqs: &Sqs) {
    let tags = e.tags(index);
    let suffix = if sqs.fifo { ".fifo" } else { "" };
    let base = e.qualified(index);
    let queue = e.name(index, "queue");
    let dlq = e.name(index, "dead-letter");
    if sqs.dead_letter.enabled {
        e.add(
            index,
            Resource::new(&dlq, "aws:sqs/queue:Queue")
                .set(
                    "name",
                    s(sqs.dead_letter.queue_name.clone().unwrap_or_else(|| {
                        format!(
                            "{}{suffix}",
                            e.physical_name(&[&base, "dlq"], MAX_NAME - suffix.len())
                        )
                    })),
                )
                .set("fifoQueue", Value::Bool(sqs.fifo))
                .set(
                    "messageRetentionSeconds",
                    Value::Int(i64::from(sqs.dead_letter.retention_days) * 86400),
                )
                .set("sqsManagedSseEnabled", Value::Bool(true))
                .set("tags", tags.clone()),
        );
    }
    let mut main = Resource::new(&queue, "aws:sqs/queue:Queue")
        .set(
            "name",
            s(sqs.queue_name.clone().unwrap_or_else(|| {
                format!(
                    "{}{suffix}",
                    e.physical_name(&[&base], MAX_NAME - suffix.len())
                )
            })),
        )
        .set("fifoQueue", Value::Bool(sqs.fifo));
    if sqs.fifo {
        main = main.set(
            "contentBasedDeduplication",
            Value::Bool(sqs.content_based_deduplication),
        );
    }
    main = main
        .set(
            "visibilityTimeoutSeconds",
            Value::Int(i64::from(sqs.visibility_timeout_seconds)),
        )
        .set(
            "messageRetentionSeconds",
            Value::Int(i64::from(sqs.retention_days) * 86400),
        )
        .set("delaySeconds", Value::Int(i64::from(sqs.delay_seconds)))
        .set(
            "receiveWaitTimeSeconds",
            Value::Int(i64::from(sqs.receive_wait_seconds)),
        )
        .set(
            "maxMessageSize",
            Value::Int(i64::from(sqs.max_message_kb) * 1024),
        )
        .set("sqsManagedSseEnabled", Value::Bool(true));
    if sqs.dead_letter.enabled {
        main = main.set(
            "redrivePolicy",
            to_json(map([
                ("deadLetterTargetArn", r(format!("{dlq}.arn"))),
                (
                    "maxReceiveCount",
                    Value::Int(i64::from(sqs.dead_letter.max_receives)),
                ),
            ])),
        );
    }
    e.add(index, main.set("tags", tags));
    if sqs.dead_letter.enabled {
        e.add(
            index,
            Resource::new(
                e.name(index, "dead-letter-allow"),
                "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy",
            )
            .set("queueUrl", r(format!("{dlq}.url")))
            .set(
                "redriveAllowPolicy",
                to_json(map([
                    ("redrivePermission", s("byQueue")),
                    (
                        "sourceQueueArns",
                        Value::List(vec![r(format!("{queue}.arn"))]),
                    ),
                ])),
            ),
        );
    }
}

/// SQS actions for each kind of access.
fn queue_actions(access: Access) -> &'static [&'static str] {
    match access {
        Access::Read => &[
            "sqs:ChangeMessageVisibility",
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
            "sqs:GetQueueUrl",
            "sqs:ReceiveMessage",
        ],
        Access::Write => &[
            "sqs:GetQueueAttributes",
            "sqs:GetQueueUrl",
            "sqs:SendMessage",
        ],
        Access::ReadWrite => &[
            "sqs:ChangeMessageVisibility",
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
            "sqs:GetQueueUrl",
            "sqs:ReceiveMessage",
            "sqs:SendMessage",
        ],
    }
}

impl EmitKind for Sqs {
    const MAIN_ROLE: &'static str = "queue";
    const HOLDS_DATA: &'static [&'static str] = &["aws:sqs/queue:Queue"];

    fn emit(&self, e: &mut Emitter<'_>, index: usize) {
        emit(e, index, self)
    }

    fn output(&self, e: &Emitter<'_>, index: usize, name: &str) -> Vec<Part> {
        output(e, index, name)
    }

    fn grant(&self, e: &Emitter<'_>, target: usize, wire: &Wire) -> Grant {
        grant(e, target, wire)
    }
}
