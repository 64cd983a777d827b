//! What AWS billed an environment, from Cost Explorer (`GetCostAndUsage`,
//! AWS Billing and Cost Management API Reference), grouped by the
//! `deployer:service` and `deployer:component` tags deployer puts on every
//! resource and filtered by `deployer:stack` and `deployer:environment`.
//! The tags count only once they are activated as cost allocation tags.

use super::{Cloud, problem};
use aws_sdk_costexplorer::types::{
    DateInterval, Expression, Granularity, GroupDefinition, GroupDefinitionType, TagValues,
};
use std::collections::BTreeMap;

/// The metric read: costs as billed, before credits and discounts are spread.
const METRIC: &str = "UnblendedCost";

/// Spend over a period, per component.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Spend {
    /// `yyyy-mm-dd`, inclusive.
    pub start: String,
    /// `yyyy-mm-dd`, exclusive (Cost Explorer's `End`).
    pub end: String,
    pub currency: String,
    /// `service/component` (`_stack` for the environment's own resources,
    /// `untagged` for what carries no deployer tags) → amount.
    pub components: BTreeMap<String, f64>,
    pub total: f64,
    /// Whether Cost Explorer says any figure is still an estimate.
    pub estimated: bool,
}

/// `stack` in `environment` from `start` to `end` (`yyyy-mm-dd`).
pub fn actual(
    cloud: &Cloud,
    stack: &str,
    environment: &str,
    start: &str,
    end: &str,
) -> Result<Spend, String> {
    let tag = |key: &str, value: &str| {
        Expression::builder()
            .tags(TagValues::builder().key(key).values(value).build())
            .build()
    };
    let group = |key: &str| {
        GroupDefinition::builder()
            .r#type(GroupDefinitionType::Tag)
            .key(key)
            .build()
    };
    let period = DateInterval::builder()
        .start(start)
        .end(end)
        .build()
        .map_err(|e| format!("cannot ask Cost Explorer for {start}..{end}: {e}"))?;
    let client = cloud.client::<aws_sdk_costexplorer::Client>();
    let mut spend = Spend {
        start: start.to_string(),
        end: end.to_string(),
        currency: "USD".into(),
        components: BTreeMap::new(),
        total: 0.0,
        estimated: false,
    };
    let mut token: Option<String> = None;
    loop {
        let answer = cloud
            .block_on(
                client
                    .get_cost_and_usage()
                    .time_period(period.clone())
                    .granularity(Granularity::Monthly)
                    .metrics(METRIC)
                    .filter(
                        Expression::builder()
                            .and(tag("deployer:stack", stack))
                            .and(tag("deployer:environment", environment))
                            .build(),
                    )
                    .group_by(group("deployer:service"))
                    .group_by(group("deployer:component"))
                    .set_next_page_token(token.clone())
                    .send(),
            )
            .map_err(|e| {
                problem(
                    "ce:GetCostAndUsage",
                    &format!("{stack} / {environment}"),
                    &e,
                )
            })?;
        for period in answer.results_by_time() {
            spend.estimated |= period.estimated();
            for group in period.groups() {
                let Some(amount) = group.metrics().and_then(|m| m.get(METRIC)) else {
                    continue;
                };
                let value: f64 = amount.amount().unwrap_or("0").parse().unwrap_or(0.0);
                if let Some(unit) = amount.unit() {
                    spend.currency = unit.to_string();
                }
                *spend
                    .components
                    .entry(component_of(group.keys()))
                    .or_default() += value;
                spend.total += value;
            }
        }
        token = answer.next_page_token().map(str::to_string);
        if token.is_none() {
            return Ok(spend);
        }
    }
}

/// `["deployer:service$email-service", "deployer:component$api"]` →
/// `email-service/api`: Cost Explorer writes a tag group's key as
/// `KEY$VALUE`, with an empty value for resources without the tag.
fn component_of(keys: &[String]) -> String {
    let value = |tag: &str| {
        keys.iter()
            .find_map(|k| k.strip_prefix(&format!("{tag}$")))
            .filter(|v| !v.is_empty())
    };
    match (value("deployer:service"), value("deployer:component")) {
        (Some("_stack"), _) => "_stack".into(),
        (Some(service), Some(component)) => format!("{service}/{component}"),
        _ => "untagged".into(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn group_keys_name_the_component() {
        let keys = |a: &str, b: &str| vec![a.to_string(), b.to_string()];
        assert_eq!(
            super::component_of(&keys(
                "deployer:service$email-service",
                "deployer:component$api"
            )),
            "email-service/api"
        );
        assert_eq!(
            super::component_of(&keys("deployer:service$_stack", "deployer:component$_alb")),
            "_stack"
        );
        assert_eq!(
            super::component_of(&keys("deployer:service$", "deployer:component$")),
            "untagged"
        );
    }
}
