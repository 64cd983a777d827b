//! Reading a component's CloudWatch Logs, once or following them: each poll
//! asks again from a little before the newest line seen (CloudWatch may store a
//! line later than its timestamp) and drops lines already shown, so nothing is
//! repeated and nothing late is lost.

use super::{Cloud, problem};
use std::collections::HashMap;

/// How far back each poll looks again for lines stored late.
const LOOKBACK_MS: i64 = 60_000;

/// One component's log group.
#[derive(Clone, Debug)]
pub struct Source {
    pub component: String,
    pub group: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    /// Milliseconds since the Unix epoch.
    pub timestamp: i64,
    pub component: String,
    pub message: String,
}

/// Follows several log groups, interleaving their lines by time.
pub struct Tail {
    sources: Vec<Source>,
    filter: Option<String>,
    /// Where the next poll starts.
    from: i64,
    /// Lines shown recently, by a key unique per line, with their timestamps.
    seen: HashMap<String, i64>,
}

impl Tail {
    pub fn new(sources: Vec<Source>, since_ms: i64, filter: Option<String>) -> Tail {
        Tail {
            sources,
            filter,
            from: since_ms,
            seen: HashMap::new(),
        }
    }

    /// New lines since the last poll, oldest first.
    pub fn poll(&mut self, cloud: &Cloud) -> Result<Vec<Line>, String> {
        let mut lines = Vec::new();
        for source in &self.sources {
            let mut token: Option<String> = None;
            loop {
                let mut request = cloud
                    .client::<aws_sdk_cloudwatchlogs::Client>()
                    .filter_log_events()
                    .log_group_name(&source.group)
                    .start_time(self.from)
                    .set_next_token(token.clone());
                if let Some(text) = &self.filter {
                    // A quoted term matches the text exactly (CloudWatch filter syntax).
                    request = request.filter_pattern(format!("\"{}\"", text.replace('"', "")));
                }
                let page = match cloud.block_on(request.send()) {
                    Ok(page) => page,
                    Err(err)
                        if err
                            .as_service_error()
                            .is_some_and(|e| e.is_resource_not_found_exception()) =>
                    {
                        return Err(format!(
                            "log group {} of {} does not exist yet: the service has not started since it was deployed, or its logs were deleted",
                            source.group, source.component
                        ));
                    }
                    Err(err) => return Err(problem("logs:FilterLogEvents", &source.group, &err)),
                };
                for event in page.events() {
                    let timestamp = event.timestamp().unwrap_or(0);
                    let key = format!(
                        "{}\u{0}{}\u{0}{}\u{0}{timestamp}",
                        source.group,
                        event.log_stream_name().unwrap_or_default(),
                        event.event_id().unwrap_or_default()
                    );
                    if self.seen.contains_key(&key) {
                        continue;
                    }
                    let message = event
                        .message()
                        .unwrap_or_default()
                        .trim_end_matches('\n')
                        .to_string();
                    if self
                        .filter
                        .as_ref()
                        .is_some_and(|f| !message.contains(f.as_str()))
                    {
                        continue;
                    }
                    self.seen.insert(key, timestamp);
                    lines.push(Line {
                        timestamp,
                        component: source.component.clone(),
                        message,
                    });
                }
                match page.next_token() {
                    Some(next) if token.as_deref() != Some(next) && !page.events().is_empty() => {
                        token = Some(next.to_string())
                    }
                    _ => break,
                }
            }
        }
        lines.sort_by(|a, b| {
            a.timestamp
                .cmp(&b.timestamp)
                .then_with(|| a.component.cmp(&b.component))
        });
        if let Some(newest) = lines.last().map(|l| l.timestamp) {
            self.from = self.from.max(newest - LOOKBACK_MS);
            let keep_after = self.from - LOOKBACK_MS;
            self.seen.retain(|_, ts| *ts >= keep_after);
        }
        Ok(lines)
    }
}
