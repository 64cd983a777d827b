//! `sqs.yaml`: a message queue (Amazon SQS) with its dead-letter queue.

use crate::diagnostic::{Code, Diagnostic};
use crate::expand::Expanded;
use crate::validate::span_of;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A queue. Messages that fail `dead_letter.max_receives` times move to a
/// dead-letter queue, which `deployer status` watches.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
#[schemars(title = "deployer sqs.yaml")]
pub struct Sqs {
    /// First-in-first-out queue with exactly-once processing.
    pub fifo: bool,
    /// FIFO only: deduplicate messages by a hash of their body.
    pub content_based_deduplication: bool,
    /// Seconds a received message stays hidden from other consumers.
    #[schemars(range(min = 0, max = 43200))]
    pub visibility_timeout_seconds: u32,
    /// Days a message is kept.
    #[schemars(range(min = 1, max = 14))]
    pub retention_days: u32,
    /// Seconds before a new message can be received.
    #[schemars(range(min = 0, max = 900))]
    pub delay_seconds: u32,
    /// Seconds a receive call waits for messages (long polling).
    #[schemars(range(min = 0, max = 20))]
    pub receive_wait_seconds: u32,
    /// Largest message in KiB.
    #[schemars(range(min = 1, max = 1024))]
    pub max_message_kb: u32,
    /// The dead-letter queue.
    pub dead_letter: DeadLetter,
}

impl Default for Sqs {
    fn default() -> Self {
        Sqs {
            fifo: false,
            content_based_deduplication: false,
            visibility_timeout_seconds: 30,
            retention_days: 4,
            delay_seconds: 0,
            receive_wait_seconds: 20,
            max_message_kb: 256,
            dead_letter: DeadLetter::default(),
        }
    }
}

/// Where messages go that cannot be processed.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct DeadLetter {
    /// Create a dead-letter queue and redrive to it.
    pub enabled: bool,
    /// Receives before a message moves to the dead-letter queue.
    #[schemars(range(min = 1, max = 1000))]
    pub max_receives: u32,
    /// Days a dead letter is kept.
    #[schemars(range(min = 1, max = 14))]
    pub retention_days: u32,
}

impl Default for DeadLetter {
    fn default() -> Self {
        DeadLetter {
            enabled: true,
            max_receives: 5,
            retention_days: 14,
        }
    }
}

/// Outputs other components can reference with `{{ ref("service/component.output") }}`.
pub const OUTPUTS: &[(&str, &str)] = &[
    ("url", "queue URL"),
    ("arn", "queue ARN"),
    ("name", "queue name"),
    ("dead_letter_url", "dead-letter queue URL"),
    ("dead_letter_arn", "dead-letter queue ARN"),
];

/// What the schema cannot say. Returns false when something is wrong.
pub fn check(sqs: &Sqs, doc: &Expanded, diagnostics: &mut Vec<Diagnostic>) -> bool {
    let mut ok = true;
    if sqs.content_based_deduplication && !sqs.fifo {
        diagnostics.push(
            Diagnostic::error(
                Code::InvalidValue,
                "`content_based_deduplication` needs a FIFO queue",
            )
            .at(span_of(doc, "/content_based_deduplication"))
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
            .at(span_of(doc, "/dead_letter/retention_days")),
        );
    }
    ok
}

use crate::emit::Emitter;
use crate::emit::program::{Part, Resource, Value, map, r, s, to_json};
use crate::kinds::Grant;
use crate::kinds::microservice::{queue_actions, statement};
use crate::resolve::Wire;

/// SQS queue names are at most 80 characters, `.fifo` included.
const MAX_NAME: usize = 80;

pub fn output(e: &Emitter, index: usize, output: &str) -> Vec<Part> {
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
pub fn grant(e: &Emitter, target: usize, wire: &Wire) -> Grant {
    let p = &wire.env_prefix;
    Grant {
        env: vec![
            (format!("{p}_URL"), output(e, target, "url")),
            (format!("{p}_ARN"), output(e, target, "arn")),
        ],
        task_statements: vec![statement(
            queue_actions(wire.access),
            vec![Value::interp(output(e, target, "arn"))],
        )],
        ..Grant::default()
    }
}

/// The queue, encrypted, and its dead-letter queue with redrive both ways
/// (messages move to it after `max_receives`, and may be sent back only to it).
pub fn emit(e: &mut Emitter, index: usize) {
    let crate::kinds::Spec::Sqs(sqs) = &e.stack.components[index].spec else {
        return;
    };
    let sqs = sqs.clone();
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
                    s(format!(
                        "{}{suffix}",
                        e.physical_name(&[&base, "dlq"], MAX_NAME - suffix.len())
                    )),
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
            s(format!(
                "{}{suffix}",
                e.physical_name(&[&base], MAX_NAME - suffix.len())
            )),
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
