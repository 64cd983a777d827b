//! What a compiled program costs a month, estimated from the program itself
//! (so a deployed release's stored program is priced the same way as one
//! compiled now, and a plan can show the difference) with the on-demand list
//! prices of `pricing/aws.json`, which says where each number came from.
//!
//! A month is 730 hours. Fargate tasks, database and cache instances, their
//! storage, load balancers and alarms have a price; what depends on use (SQS
//! requests, log ingestion, load balancer capacity units, data transfer) is
//! named as usage-based and never counted as $0. A region or instance type
//! the table does not price is said, never guessed.

use crate::artifacts::Artifacts;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use std::collections::BTreeMap;

/// `pricing/aws.json`, built into the binary.
const TABLE: &str = include_str!("../pricing/aws.json");

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Prices {
    pub currency: String,
    pub hours_per_month: f64,
    pub as_of: String,
    pub source: String,
    pub regions: BTreeMap<String, RegionPrices>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RegionPrices {
    /// The Price List's `location` attribute for the region.
    pub location: String,
    /// The region's prefix of usage types (`USE1-Fargate-GB-Hours`).
    pub usage_prefix: String,
    pub fargate: FargatePrices,
    pub load_balancer: LoadBalancerPrices,
    pub rds: RdsPrices,
    pub elasticache: CachePrices,
    pub cloudwatch: AlarmPrices,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FargatePrices {
    pub query: String,
    pub x86_64: TaskPrices,
    pub arm64: TaskPrices,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TaskPrices {
    pub vcpu_hour: f64,
    pub gb_hour: f64,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LoadBalancerPrices {
    pub query: String,
    pub application_hour: f64,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RdsPrices {
    pub query: String,
    /// engine → instance class → hourly price, Single-AZ.
    pub instance_hour: BTreeMap<String, BTreeMap<String, f64>>,
    /// storage type → per GB-month, Single-AZ.
    pub storage_gb_month: BTreeMap<String, f64>,
    /// storage type → per provisioned IOPS-month.
    pub iops_month: BTreeMap<String, f64>,
    pub gp3_included_iops: i64,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CachePrices {
    pub query: String,
    /// engine → node type → hourly price.
    pub node_hour: BTreeMap<String, BTreeMap<String, f64>>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AlarmPrices {
    pub query: String,
    pub alarm_metric_month: f64,
}

impl ComponentCost {
    /// Whether anything of it has a price (else it is all usage-based or
    /// unknown).
    pub fn estimated(&self) -> bool {
        self.lines
            .iter()
            .any(|l| matches!(l.price, Price::Estimated { .. }))
    }
}

impl Prices {
    /// The table built into this deployer.
    pub fn built_in() -> Prices {
        serde_json::from_str(TABLE).expect("pricing/aws.json is checked by a test")
    }

    /// The table deployer prices with: `DEPLOYER_PRICES` names one (made by
    /// `deployer cost --refresh-prices`), read as a file handed over by a
    /// user is (bounded, a regular file, no link); else the built-in one.
    pub fn load() -> crate::error::Result<Prices> {
        let Some(path) = std::env::var_os("DEPLOYER_PRICES") else {
            return Ok(Prices::built_in());
        };
        let path = std::path::PathBuf::from(path);
        let text =
            crate::fs::read_back_text(&path, crate::fs::ReadBack::PriceTable).map_err(|e| {
                crate::error::Error::usage(format!(
                    "DEPLOYER_PRICES: cannot read {}: {e}",
                    path.display()
                ))
            })?;
        serde_json::from_str(&text).map_err(|e| {
            crate::error::Error::usage(format!(
                "DEPLOYER_PRICES: {} is not a price table: {e}",
                path.display()
            ))
            .with_help("make one with `deployer cost --refresh-prices --out FILE`")
        })
    }
}

/// Dollars a month: a range when autoscaling makes the task count one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Monthly {
    pub low: f64,
    pub high: f64,
}

impl Monthly {
    fn fixed(amount: f64) -> Monthly {
        Monthly {
            low: amount,
            high: amount,
        }
    }

    fn add(self, other: Monthly) -> Monthly {
        Monthly {
            low: self.low + other.low,
            high: self.high + other.high,
        }
    }

    /// `other` taken from this: what a change adds (negative: saves).
    pub fn minus(self, other: Monthly) -> Monthly {
        Monthly {
            low: self.low - other.low,
            high: self.high - other.high,
        }
    }

    pub fn is_zero(self) -> bool {
        self.low.abs() < 0.005 && self.high.abs() < 0.005
    }
}

/// `$1,234.56` (`-$3.10` for a saving).
pub fn dollars(amount: f64) -> String {
    let cents = (amount.abs() * 100.0).round() as u64;
    let whole = (cents / 100).to_string();
    let mut grouped = String::new();
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    let sign = if amount < -0.005 { "-" } else { "" };
    format!("{sign}${grouped}.{:02}", cents % 100)
}

/// `$54.08` or `$54.08 – $216.24`.
pub fn range(monthly: Monthly) -> String {
    if (monthly.high - monthly.low).abs() < 0.005 {
        dollars(monthly.low)
    } else {
        format!("{} – {}", dollars(monthly.low), dollars(monthly.high))
    }
}

/// `+$43.80`, `-$9.01`, `+$9.01 – +$36.04`: what a change adds.
pub fn signed(delta: Monthly) -> String {
    let one = |amount: f64| {
        if amount > 0.005 {
            format!("+{}", dollars(amount))
        } else {
            dollars(amount)
        }
    };
    if (delta.high - delta.low).abs() < 0.005 {
        one(delta.low)
    } else {
        format!("{} – {}", one(delta.low), one(delta.high))
    }
}

impl CostChange {
    /// The change for a pull-request comment's summary: the total, then a
    /// row per component whose estimate moves (`name` says a component in
    /// words).
    pub fn markdown(&self, name: fn(&str) -> &str) -> String {
        use crate::markdown::escape;
        let mut out = format!(
            "\n\n**Estimated monthly cost:** {} (on-demand list prices, {}; usage-based costs not included: {}).",
            self.summary(),
            self.region,
            self.usage_based.join(", ")
        );
        if !self.components.is_empty() {
            // The largest changes, up to a limit: the summary stays short.
            const LISTED: usize = 25;
            let mut rows: Vec<(&String, &Monthly)> = self.components.iter().collect();
            rows.sort_by(|a, b| b.1.high.abs().total_cmp(&a.1.high.abs()).then(a.0.cmp(b.0)));
            out.push_str("\n\n| component | monthly change |\n|---|---|");
            for (component, delta) in rows.iter().take(LISTED) {
                out.push_str(&format!(
                    "\n| {} | {} |",
                    escape(name(component)),
                    signed(**delta)
                ));
            }
            if rows.len() > LISTED {
                out.push_str(&format!(
                    "\n| and {} more | `--output json` lists every one |",
                    rows.len() - LISTED
                ));
            }
        }
        if !self.unknown.is_empty() {
            out.push_str(&format!(
                "\n\nNot estimated: {}.",
                escape(&self.unknown.join("; "))
            ));
        }
        out
    }

    /// `$57.77 – $84.80 → $66.78 – $120.84 a month (+$9.01 – +$36.04)`.
    pub fn summary(&self) -> String {
        format!(
            "{} → {} a month ({})",
            range(self.before),
            range(self.after),
            signed(self.delta)
        )
    }
}

/// One priced thing of a component.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    /// `Fargate: 3–12 tasks × 0.5 vCPU, 1 GB (x86_64)`.
    pub what: String,
    pub price: Price,
}

/// As `--output json` writes a line: every key always there, so each line
/// has one shape (`monthly` and `why` are `null` where they do not apply).
impl Serialize for Line {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (priced, monthly, why) = match &self.price {
            Price::Estimated { monthly } => ("estimated", Some(monthly), None),
            Price::UsageBased => ("usage_based", None, None),
            Price::Unknown { why } => ("unknown", None, Some(why)),
        };
        serde_json::json!({"what": self.what, "priced": priced, "monthly": monthly, "why": why})
            .serialize(serializer)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Price {
    Estimated {
        monthly: Monthly,
    },
    /// Depends on use: named, not estimated.
    UsageBased,
    /// The table has no price for it: said, not guessed.
    Unknown {
        why: String,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ComponentCost {
    /// `service/component`, or `_stack` for the environment's own resources.
    pub component: String,
    pub monthly: Monthly,
    pub lines: Vec<Line>,
}

/// An environment's estimate.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Estimate {
    pub region: String,
    pub monthly: Monthly,
    pub components: Vec<ComponentCost>,
    /// What is usage-based in the whole environment.
    pub usage_based: Vec<String>,
    /// What the table could not price.
    pub unknown: Vec<String>,
}

/// What a change does to the monthly cost: the environment's estimate before
/// (what is deployed) and after (what would be), and each component whose
/// estimate moves.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CostChange {
    pub region: String,
    pub before: Monthly,
    pub after: Monthly,
    pub delta: Monthly,
    /// component → what its estimate moves by (only those that move).
    pub components: BTreeMap<String, Monthly>,
    /// What the estimate leaves out because it depends on use.
    pub usage_based: Vec<String>,
    /// What the price table could not price, after the change.
    pub unknown: Vec<String>,
}

/// The change from `before` (`None`: nothing deployed yet) to `after`.
pub fn change(before: Option<&Estimate>, after: &Estimate) -> CostChange {
    let cost_of = |estimate: Option<&Estimate>, component: &str| {
        estimate
            .and_then(|e| e.components.iter().find(|c| c.component == component))
            .map_or(Monthly::default(), |c| c.monthly)
    };
    let mut names: Vec<&str> = after
        .components
        .iter()
        .map(|c| c.component.as_str())
        .collect();
    if let Some(before) = before {
        names.extend(before.components.iter().map(|c| c.component.as_str()));
    }
    names.sort_unstable();
    names.dedup();
    let components = names
        .into_iter()
        .filter_map(|name| {
            let delta = cost_of(Some(after), name).minus(cost_of(before, name));
            (!delta.is_zero()).then(|| (name.to_string(), delta))
        })
        .collect();
    let before_total = before.map_or(Monthly::default(), |e| e.monthly);
    CostChange {
        region: after.region.clone(),
        before: before_total,
        after: after.monthly,
        delta: after.monthly.minus(before_total),
        components,
        usage_based: after.usage_based.clone(),
        unknown: after.unknown.clone(),
    }
}

/// The estimate of a compiled (or stored) program in `region`, each resource
/// owned by its component as the manifest says.
pub fn estimate(files: &Artifacts, region: &str, prices: &Prices) -> Estimate {
    let program = crate::load::yaml::to_json(&files.program).unwrap_or(Json::Null);
    let mut owner: BTreeMap<&str, &str> = BTreeMap::new();
    for (component, entry) in &files.manifest.components {
        for resource in &entry.resources {
            owner.insert(resource.as_str(), component.as_str());
        }
    }
    estimate_program(
        &program,
        &|name, _| owner.get(name).map(|c| c.to_string()),
        region,
        prices,
    )
}

/// The component a resource belongs to, from the `deployer:service` and
/// `deployer:component` tags every resource carries (for a program without
/// its manifest).
pub fn tagged_owner(_name: &str, resource: &Json) -> Option<String> {
    let tags = &resource["properties"]["tags"];
    let service = tags["deployer:service"].as_str()?;
    let component = tags["deployer:component"].as_str()?;
    Some(if service == "_stack" {
        "_stack".into()
    } else {
        format!("{service}/{component}")
    })
}

/// The estimate of `program` (its JSON) in `region`; `owner` names each
/// resource's component (`None`: the environment's own, `_stack`).
pub fn estimate_program(
    program: &Json,
    owner: &dyn Fn(&str, &Json) -> Option<String>,
    region: &str,
    prices: &Prices,
) -> Estimate {
    let empty = serde_json::Map::new();
    let resources = program["resources"].as_object().unwrap_or(&empty);
    let mut lines: BTreeMap<String, Vec<Line>> = BTreeMap::new();
    let region_prices = prices.regions.get(region);
    for (name, resource) in resources {
        let component = owner(name, resource).unwrap_or_else(|| "_stack".into());
        let Some(line) = price(name, resource, resources, region, region_prices, prices) else {
            continue;
        };
        let component_lines = lines.entry(component).or_default();
        // A queue and its dead-letter queue are one usage-based line.
        if !component_lines.contains(&line) {
            component_lines.push(line);
        }
    }
    let mut estimate = Estimate {
        region: region.to_string(),
        monthly: Monthly::default(),
        components: Vec::new(),
        usage_based: Vec::new(),
        unknown: Vec::new(),
    };
    for (component, mut lines) in lines {
        // What has a price first, each group in the program's order.
        lines.sort_by_key(|l| !matches!(l.price, Price::Estimated { .. }));
        let mut monthly = Monthly::default();
        for line in &lines {
            match &line.price {
                Price::Estimated { monthly: m } => monthly = monthly.add(*m),
                Price::UsageBased => {
                    if !estimate.usage_based.contains(&line.what) {
                        estimate.usage_based.push(line.what.clone());
                    }
                }
                Price::Unknown { why } => estimate.unknown.push(format!("{component}: {why}")),
            }
        }
        estimate.monthly = estimate.monthly.add(monthly);
        estimate.components.push(ComponentCost {
            component,
            monthly,
            lines,
        });
    }
    estimate.usage_based.push("data transfer".into());
    estimate
}

/// The line of one resource, or `None` for what costs nothing by itself
/// (roles, security groups, rules, parameters, target groups).
fn price(
    name: &str,
    resource: &Json,
    all: &serde_json::Map<String, Json>,
    region: &str,
    prices: Option<&RegionPrices>,
    table: &Prices,
) -> Option<Line> {
    let p = &resource["properties"];
    let hours = table.hours_per_month;
    let unknown = |what: String, why: String| Line {
        what,
        price: Price::Unknown { why },
    };
    let no_region = || format!("no prices for region {region} in pricing/aws.json");
    let line = |what: String, amount: Monthly| Line {
        what,
        price: Price::Estimated { monthly: amount },
    };
    match resource["type"].as_str().unwrap_or_default() {
        "aws:ecs/service:Service" => {
            let task = reference(&p["taskDefinition"]).and_then(|t| all.get(t));
            let task = &task?["properties"];
            let vcpu = number(&task["cpu"])? / 1024.0;
            let gb = number(&task["memory"])? / 1024.0;
            let arm = task["runtimePlatform"]["cpuArchitecture"] == "ARM64";
            let (low, high) = task_count(name, p, all);
            let architecture = if arm { "arm64" } else { "x86_64" };
            let tasks = if low == high {
                format!("{low} task{}", if low == 1 { "" } else { "s" })
            } else {
                format!("{low}–{high} tasks")
            };
            // Fargate Spot has no list price (AWS sets its discount and
            // changes it): Spot tasks are priced as on demand, an upper bound.
            let on_spot = p["capacityProviderStrategies"]
                .as_array()
                .is_some_and(|s| s.iter().any(|c| c["capacityProvider"] == "FARGATE_SPOT"));
            let what = format!(
                "Fargate: {tasks} × {} vCPU, {} GB ({architecture}){}",
                trim(vcpu),
                trim(gb),
                if on_spot {
                    ", on Spot: priced as on demand, which Spot costs less than"
                } else {
                    ""
                }
            );
            let Some(prices) = prices else {
                return Some(unknown(what, no_region()));
            };
            let rate = if arm {
                &prices.fargate.arm64
            } else {
                &prices.fargate.x86_64
            };
            let per_task = (vcpu * rate.vcpu_hour + gb * rate.gb_hour) * hours;
            Some(line(
                what,
                Monthly {
                    low: per_task * low as f64,
                    high: per_task * high as f64,
                },
            ))
        }
        "aws:rds/instance:Instance" => {
            let engine = p["engine"].as_str().unwrap_or("postgres");
            let class = p["instanceClass"].as_str().unwrap_or_default();
            let multi_az = p["multiAz"] == true;
            let copies = if multi_az { 2.0 } else { 1.0 };
            let az = if multi_az { ", Multi-AZ" } else { "" };
            let storage_type = p["storageType"].as_str().unwrap_or("gp2");
            let size = p["allocatedStorage"].as_f64().unwrap_or(0.0);
            let iops = p["iops"].as_f64();
            let what = format!("RDS {class} {engine}{az}, {} GB {storage_type}", trim(size));
            let Some(prices) = prices else {
                return Some(unknown(what, no_region()));
            };
            let Some(hourly) = prices
                .rds
                .instance_hour
                .get(engine)
                .and_then(|c| c.get(class))
            else {
                return Some(unknown(
                    what,
                    format!("no price for {class} ({engine}) in pricing/aws.json"),
                ));
            };
            let Some(per_gb) = prices.rds.storage_gb_month.get(storage_type) else {
                return Some(unknown(
                    what,
                    format!("no price for {storage_type} storage in pricing/aws.json"),
                ));
            };
            let mut monthly = hourly * hours * copies + per_gb * size * copies;
            let provisioned = match (storage_type, iops) {
                ("gp3", Some(iops)) => (iops - prices.rds.gp3_included_iops as f64).max(0.0),
                (_, Some(iops)) => iops,
                _ => 0.0,
            };
            if let Some(per_iops) = prices.rds.iops_month.get(storage_type) {
                monthly += per_iops * provisioned * copies;
            }
            Some(line(what, Monthly::fixed(monthly)))
        }
        "aws:elasticache/replicationGroup:ReplicationGroup" => {
            let engine = p["engine"].as_str().unwrap_or("redis");
            let node = p["nodeType"].as_str().unwrap_or_default();
            let nodes = p["numCacheClusters"].as_f64().unwrap_or(1.0);
            let what = format!("ElastiCache {} × {node} {engine}", trim(nodes));
            let Some(prices) = prices else {
                return Some(unknown(what, no_region()));
            };
            match prices
                .elasticache
                .node_hour
                .get(engine)
                .and_then(|n| n.get(node))
            {
                Some(hourly) => Some(line(what, Monthly::fixed(hourly * hours * nodes))),
                None => Some(unknown(
                    what,
                    format!("no price for {node} ({engine}) in pricing/aws.json"),
                )),
            }
        }
        "aws:lb/loadBalancer:LoadBalancer" => {
            let what = "application load balancer (capacity units are usage-based)".to_string();
            match prices {
                Some(prices) => Some(line(
                    what,
                    Monthly::fixed(prices.load_balancer.application_hour * hours),
                )),
                None => Some(unknown(what, no_region())),
            }
        }
        "aws:cloudwatch/metricAlarm:MetricAlarm" => {
            let metrics = p["metricQueries"].as_array().map_or(1, |q| {
                q.iter().filter(|q| q.get("metric").is_some()).count()
            });
            let what = format!(
                "CloudWatch alarm, {metrics} metric{}",
                if metrics == 1 { "" } else { "s" }
            );
            match prices {
                Some(prices) => Some(line(
                    what,
                    Monthly::fixed(prices.cloudwatch.alarm_metric_month * metrics as f64),
                )),
                None => Some(unknown(what, no_region())),
            }
        }
        "aws:sqs/queue:Queue" => Some(Line {
            what: "SQS requests".into(),
            price: Price::UsageBased,
        }),
        "aws:cloudwatch/logGroup:LogGroup" => Some(Line {
            what: "CloudWatch Logs ingestion and storage".into(),
            price: Price::UsageBased,
        }),
        _ => None,
    }
}

/// The tasks a service runs: its desired count, or its autoscaling range.
fn task_count(service: &str, p: &Json, all: &serde_json::Map<String, Json>) -> (u64, u64) {
    let scaled = format!("${{{service}.name}}");
    for resource in all.values() {
        if resource["type"] == "aws:appautoscaling/target:Target"
            && resource["properties"]["resourceId"]
                .as_str()
                .is_some_and(|id| id.contains(&scaled))
        {
            let min = resource["properties"]["minCapacity"].as_u64().unwrap_or(0);
            let max = resource["properties"]["maxCapacity"]
                .as_u64()
                .unwrap_or(min);
            return (min, max.max(min));
        }
    }
    let desired = p["desiredCount"].as_u64().unwrap_or(1);
    (desired, desired)
}

/// `name` of `${name.arn}`.
fn reference(value: &Json) -> Option<&str> {
    value
        .as_str()?
        .strip_prefix("${")?
        .strip_suffix('}')?
        .split('.')
        .next()
}

/// A number written as a number or a string (`cpu: "512"`).
fn number(value: &Json) -> Option<f64> {
    value
        .as_f64()
        .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
}

/// `0.5`, `1`, `2.5`: a quantity without trailing zeros.
fn trim(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_reads_and_every_price_is_positive() {
        let prices = Prices::built_in();
        assert_eq!(prices.hours_per_month, 730.0);
        for region in prices.regions.values() {
            assert!(region.fargate.x86_64.vcpu_hour > 0.0);
            for classes in region
                .rds
                .instance_hour
                .values()
                .chain(region.elasticache.node_hour.values())
            {
                assert!(classes.values().all(|p| *p > 0.0));
            }
        }
    }
}
