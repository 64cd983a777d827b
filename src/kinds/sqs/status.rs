//! What a queue looks like live: its depth, and its dead-letter queue's (dead
//! letters are a warning).

use super::Sqs;
use aws_sdk_sqs::error::ProvideErrorMetadata;
use crate::inspect::status::{ComponentStatus, Health, Outputs, StatusKind};
use crate::inspect::{Cloud, output, problem};
use crate::kinds::Component;
use serde_json::json;

impl StatusKind for Sqs {
    fn status(cloud: &Cloud, outputs: &Outputs, component: &str) -> ComponentStatus {
        let mut status = ComponentStatus::new(component, Self::LABEL);
        let Some(url) = output(outputs, component, "url") else {
            return status.unrecorded("url");
        };
        let depth = |url: &str| -> Result<(u64, u64), String> {
            let request = cloud
                .client::<aws_sdk_sqs::Client>()
                .get_queue_attributes()
                .queue_url(url)
                .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
                .attribute_names(
                    aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
                );
            match cloud.block_on(request.send()) {
                Ok(out) => {
                    let read = |name: aws_sdk_sqs::types::QueueAttributeName| {
                        out.attributes()
                            .and_then(|a| a.get(&name))
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(0)
                    };
                    Ok((
                        read(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages),
                        read(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
                    ))
                }
                Err(err)
                    if err
                        .as_service_error()
                        .is_some_and(|e| e.is_queue_does_not_exist())
                        || err.code().is_some_and(|c| c.contains("NonExistentQueue")) =>
                {
                    Err("not found".to_string())
                }
                Err(err) => Err(problem("sqs:GetQueueAttributes", url, &err)),
            }
        };
        match depth(url) {
            Ok((waiting, in_flight)) => {
                status.state = format!("active, {waiting} waiting");
                status.details = json!({"url": url, "waiting": waiting, "in_flight": in_flight});
            }
            Err(why) if why == "not found" => return status.not_found(&format!("queue {url}")),
            Err(why) => return status.unknown(why),
        }
        if let Some(dlq) = output(outputs, component, "dead_letter_url") {
            match depth(dlq) {
                Ok((dead, _)) => {
                    status.details["dead_letters"] = json!(dead);
                    if dead > 0 {
                        status.flag(
                            Health::Warning,
                            format!(
                                "{dead} message{} in the dead-letter queue",
                                if dead == 1 { "" } else { "s" }
                            ),
                        );
                    }
                }
                Err(why) => status.flag(Health::Unhealthy, format!("dead-letter queue: {why}")),
            }
        }
        status
    }
}
