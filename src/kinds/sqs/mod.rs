//! `sqs.yaml`: a message queue (Amazon SQS) with its dead-letter queue.

pub mod check;
pub mod emit;
pub mod status;

use super::Component;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A queue. Messages that fail `dead_letter.max_receives` times move to a
/// dead-letter queue, which `deployer status` watches.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
#[schemars(title = "deployer sqs.yaml")]
pub struct Sqs {
    /// The queue's name in AWS (with `.fifo` for a FIFO queue). Default:
    /// `<stack>-<environment>-<service>-<component>`, shortened to fit. Set
    /// it to keep the name of a queue the environment adopts: a new name is a
    /// new queue, and the messages stay in the old one.
    #[schemars(regex(pattern = r"^[A-Za-z0-9_-]{1,80}(\.fifo)?$"))]
    pub queue_name: Option<String>,
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
            queue_name: None,
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
    /// The dead-letter queue's name in AWS. Default: the queue's default
    /// name followed by `-dlq`. Set it to keep the name of an adopted one.
    #[schemars(regex(pattern = r"^[A-Za-z0-9_-]{1,80}(\.fifo)?$"))]
    pub queue_name: Option<String>,
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
            queue_name: None,
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

impl Component for Sqs {
    type File = Sqs;
    const LABEL: &'static str = "SQS";
    const OUTPUTS: &'static [(&'static str, &'static str)] = OUTPUTS;
    const WIRED_ENV: &'static [&'static str] = &["URL", "ARN"];

    fn output_available(&self, output: &str) -> Result<(), String> {
        match output {
            "dead_letter_url" | "dead_letter_arn" if !self.dead_letter.enabled => {
                Err("its dead-letter queue is turned off".into())
            }
            _ => Ok(()),
        }
    }
}
