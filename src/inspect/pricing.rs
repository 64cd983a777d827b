//! Rebuilding the price table from the AWS Price List Query API
//! (`pricing:GetProducts`, AWS Billing and Cost Management API Reference):
//! each number of `pricing/aws.json` is asked again with the filters its
//! `query` names, and the on-demand price of the product that matches is
//! taken from the price list (`terms.OnDemand.*.priceDimensions.*.
//! pricePerUnit.USD`, "Reading the price list" in the AWS Price List guide).
//! A number no product matches is kept, and said.

use super::{Cloud, problem};
use crate::cost::Prices;
use aws_sdk_pricing::types::{Filter, FilterType};

/// One question to the Price List: a service and `TERM_MATCH` filters.
struct Ask<'a> {
    service: &'a str,
    filters: Vec<(&'a str, String)>,
}

/// The table with every number asked again, and what could not be.
pub fn refresh(
    cloud: &Cloud,
    table: &Prices,
    today: &str,
) -> Result<(Prices, Vec<String>), String> {
    let mut fresh = table.clone();
    let mut kept = Vec::new();
    let client = cloud.client::<aws_sdk_pricing::Client>();
    let ask = |ask: Ask| -> Result<Option<f64>, String> {
        let mut request = client
            .get_products()
            .service_code(ask.service)
            .format_version("aws_v1")
            .max_results(10);
        for (field, value) in &ask.filters {
            request = request.filters(
                Filter::builder()
                    .r#type(FilterType::TermMatch)
                    .field(*field)
                    .value(value)
                    .build()
                    .map_err(|e| e.to_string())?,
            );
        }
        let answer = cloud
            .block_on(request.send())
            .map_err(|e| problem("pricing:GetProducts", ask.service, &e))?;
        Ok(answer.price_list().iter().find_map(|item| on_demand(item)))
    };
    for (region, prices) in fresh.regions.iter_mut() {
        let location = prices.location.clone();
        let prefix = prices.usage_prefix.clone();
        let at = |filters: &[(&'static str, String)]| {
            let mut all = vec![("location", location.clone())];
            all.extend(filters.iter().cloned());
            all
        };
        let mut update = |what: String, slot: &mut f64, asked: Ask| -> Result<(), String> {
            match ask(asked)? {
                Some(price) => *slot = price,
                None => kept.push(format!("{region}: {what}: no product matched; kept {slot}")),
            }
            Ok(())
        };
        for (arch, usage) in [("x86_64", ""), ("arm64", "ARM-")] {
            let task = if arch == "arm64" {
                &mut prices.fargate.arm64
            } else {
                &mut prices.fargate.x86_64
            };
            update(
                format!("Fargate {arch} vCPU-hour"),
                &mut task.vcpu_hour,
                Ask {
                    service: "AmazonECS",
                    filters: at(&[(
                        "usagetype",
                        format!("{prefix}-Fargate-{usage}vCPU-Hours:perCPU"),
                    )]),
                },
            )?;
            update(
                format!("Fargate {arch} GB-hour"),
                &mut task.gb_hour,
                Ask {
                    service: "AmazonECS",
                    filters: at(&[("usagetype", format!("{prefix}-Fargate-{usage}GB-Hours"))]),
                },
            )?;
        }
        update(
            "application load balancer hour".into(),
            &mut prices.load_balancer.application_hour,
            Ask {
                service: "AWSELB",
                filters: at(&[
                    ("productFamily", "Load Balancer-Application".into()),
                    ("usagetype", format!("{prefix}-LoadBalancerUsage")),
                ]),
            },
        )?;
        for (engine, classes) in prices.rds.instance_hour.iter_mut() {
            let engine_name = match engine.as_str() {
                "postgres" => "PostgreSQL",
                "mysql" => "MySQL",
                "mariadb" => "MariaDB",
                other => other,
            }
            .to_string();
            for (class, price) in classes.iter_mut() {
                update(
                    format!("RDS {class} {engine}"),
                    price,
                    Ask {
                        service: "AmazonRDS",
                        filters: at(&[
                            ("instanceType", class.clone()),
                            ("databaseEngine", engine_name.clone()),
                            ("deploymentOption", "Single-AZ".into()),
                        ]),
                    },
                )?;
            }
        }
        for (kind, price) in prices.rds.storage_gb_month.iter_mut() {
            let volume = match kind.as_str() {
                "gp3" => "General Purpose-GP3",
                "gp2" => "General Purpose",
                "io1" => "Provisioned IOPS",
                "io2" => "Provisioned IOPS-IO2",
                other => other,
            };
            update(
                format!("RDS {kind} storage GB-month"),
                price,
                Ask {
                    service: "AmazonRDS",
                    filters: at(&[
                        ("productFamily", "Database Storage".into()),
                        ("volumeType", volume.into()),
                        ("deploymentOption", "Single-AZ".into()),
                    ]),
                },
            )?;
        }
        for (engine, nodes) in prices.elasticache.node_hour.iter_mut() {
            let engine_name = match engine.as_str() {
                "redis" => "Redis",
                "valkey" => "Valkey",
                other => other,
            }
            .to_string();
            for (node, price) in nodes.iter_mut() {
                update(
                    format!("ElastiCache {node} {engine}"),
                    price,
                    Ask {
                        service: "AmazonElastiCache",
                        filters: at(&[
                            ("instanceType", node.clone()),
                            ("cacheEngine", engine_name.clone()),
                        ]),
                    },
                )?;
            }
        }
        update(
            "CloudWatch alarm metric-month".into(),
            &mut prices.cloudwatch.alarm_metric_month,
            Ask {
                service: "AmazonCloudWatch",
                filters: at(&[
                    ("productFamily", "Alarm".into()),
                    ("usagetype", format!("{prefix}-CW:AlarmMonitorUsage")),
                ]),
            },
        )?;
    }
    fresh.as_of = today.to_string();
    fresh.source = format!(
        "On-demand list prices from the AWS Price List Query API (pricing:GetProducts), asked on {today} by `deployer cost --refresh-prices`; each entry's `query` names the filters. {}",
        if kept.is_empty() {
            "Every number was refreshed.".to_string()
        } else {
            format!(
                "{} numbers no product matched were kept from the table before.",
                kept.len()
            )
        }
    );
    Ok((fresh, kept))
}

/// The on-demand USD price of one price list item (a JSON document as a
/// string): its first price dimension with a non-zero price.
fn on_demand(item: &str) -> Option<f64> {
    let item: serde_json::Value = serde_json::from_str(item).ok()?;
    let terms = item["terms"]["OnDemand"].as_object()?;
    terms
        .values()
        .filter_map(|term| term["priceDimensions"].as_object())
        .flat_map(|dimensions| dimensions.values())
        .filter_map(|d| d["pricePerUnit"]["USD"].as_str()?.parse::<f64>().ok())
        .find(|price| *price > 0.0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_price_of_an_item_is_its_on_demand_dimension() {
        let item = r#"{"product": {"sku": "S"}, "terms": {"OnDemand": {"S.JRTCKXETXF": {"priceDimensions": {"S.JRTCKXETXF.6YS6EN2CT7": {"unit": "hours", "pricePerUnit": {"USD": "0.0404800000"}}}}}}}"#;
        assert_eq!(super::on_demand(item), Some(0.04048));
        assert_eq!(super::on_demand(r#"{"terms": {}}"#), None);
    }
}
