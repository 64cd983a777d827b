//! Pulumi engine events, as the CLI writes them one JSON object per line
//! (`pulumi up --json`, `pulumi refresh --json`, `pulumi preview --event-log`).
//!
//! The shapes follow `EngineEvent` in Pulumi's `sdk/go/common/apitype/events.go`
//! (https://github.com/pulumi/pulumi/blob/master/sdk/go/common/apitype/events.go):
//! each event has `sequence`, `timestamp` (Unix seconds) and exactly one of the
//! event fields. Only the fields deployer uses are read; unknown ones are ignored,
//! so newer CLIs keep working.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EngineEvent {
    #[serde(default)]
    pub sequence: u64,
    #[serde(default)]
    pub timestamp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_event: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdout_event: Option<StdoutEvent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnostic_event: Option<DiagnosticEvent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prelude_event: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary_event: Option<SummaryEvent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_pre_event: Option<ResourceEvent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub res_outputs_event: Option<ResourceEvent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub res_op_failed_event: Option<ResOpFailedEvent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_event: Option<ErrorEvent>,
    /// Payloads deployer does not read (`policyEvent`, `progressEvent`, and
    /// those a newer CLI adds), kept so that they still count as events.
    #[serde(flatten, skip_serializing)]
    pub other: BTreeMap<String, serde_json::Value>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct StdoutEvent {
    #[serde(default)]
    pub message: String,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct DiagnosticEvent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urn: Option<String>,
    #[serde(default)]
    pub message: String,
    /// `info`, `info#err`, `warning` or `error`.
    #[serde(default)]
    pub severity: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ephemeral: bool,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SummaryEvent {
    #[serde(default)]
    pub maybe_corrupt: bool,
    #[serde(default)]
    pub duration_seconds: i64,
    /// Count of resources by operation (`create`, `update`, `same`, ...).
    #[serde(default)]
    pub resource_changes: BTreeMap<String, u32>,
    #[serde(default)]
    pub is_preview: bool,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct ResourceEvent {
    pub metadata: StepMetadata,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub planning: bool,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct ResOpFailedEvent {
    pub metadata: StepMetadata,
    #[serde(default)]
    pub status: i64,
    #[serde(default)]
    pub steps: i64,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct ErrorEvent {
    #[serde(default)]
    pub error: String,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StepMetadata {
    /// `same`, `create`, `update`, `delete`, `replace`, `create-replacement`,
    /// `delete-replaced`, `read`, `refresh`, ...
    pub op: String,
    pub urn: String,
    #[serde(rename = "type", default)]
    pub kind: String,
    /// The inputs that force a replacement, for a replacing step
    /// (`StepEventMetadata.Keys`, sdk/go/common/apitype/events.go).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diffs: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detailed_diff: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<serde_json::Value>,
}

impl StepMetadata {
    /// The logical name of the resource: the last `::` part of its URN
    /// (`urn:pulumi:<stack>::<project>::<type>::<name>`).
    pub fn name(&self) -> &str {
        self.urn.rsplit("::").next().unwrap_or(&self.urn)
    }

    /// The stack resource itself (`pulumi:pulumi:Stack`) and providers are not
    /// deployer's resources.
    pub fn is_internal(&self) -> bool {
        self.kind.starts_with("pulumi:")
    }
}

/// Parses one line of output; `None` for lines that are not events (the CLI may
/// print other text, which is shown to the user as it is). An event carries
/// exactly one payload (`events.go`); a JSON object without one is not an
/// event: `stack output --json` prints `{}` for a stack without outputs
/// (`pkg/cmd/pulumi/stack/stack_output.go`).
pub fn parse(line: &str) -> Option<EngineEvent> {
    let line = line.trim();
    if !line.starts_with('{') {
        return None;
    }
    let event: EngineEvent = serde_json::from_str(line).ok()?;
    event.has_payload().then_some(event)
}

impl EngineEvent {
    fn has_payload(&self) -> bool {
        self.cancel_event.is_some()
            || self.stdout_event.is_some()
            || self.diagnostic_event.is_some()
            || self.prelude_event.is_some()
            || self.summary_event.is_some()
            || self.resource_pre_event.is_some()
            || self.res_outputs_event.is_some()
            || self.res_op_failed_event.is_some()
            || self.error_event.is_some()
            || self.other.iter().any(|(k, _)| k.ends_with("Event"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_shapes_pulumi_writes() {
        let line = r#"{"sequence":3,"timestamp":1700000000,"resourcePreEvent":{"metadata":{"op":"create","urn":"urn:pulumi:dev::proj::aws:sqs/queue:Queue::email-service-queue-queue","type":"aws:sqs/queue:Queue","old":null,"new":{"type":"aws:sqs/queue:Queue"},"detailedDiff":null,"provider":""}}}"#;
        let event = parse(line).unwrap();
        let pre = event.resource_pre_event.unwrap();
        assert_eq!(pre.metadata.op, "create");
        assert_eq!(pre.metadata.name(), "email-service-queue-queue");
        assert_eq!(event.timestamp, 1700000000);
        let summary = parse(r#"{"sequence":9,"timestamp":1,"summaryEvent":{"maybeCorrupt":false,"durationSeconds":515,"resourceChanges":{"create":3},"PolicyPacks":{}}}"#).unwrap();
        assert_eq!(summary.summary_event.unwrap().duration_seconds, 515);
        assert!(parse("Updating (dev):").is_none());
        // `stack output --json` of a stack without outputs.
        assert!(parse("{}").is_none());
        assert!(parse(r#"{"sequence":4,"timestamp":1,"policyEvent":{}}"#).is_some());
    }
}
