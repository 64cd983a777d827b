//! `deployer cost`: what each environment of a stack costs a month, per
//! component, estimated from its compiled program with the prices deployer
//! carries (`cost`, `pricing/aws.json`). No AWS is asked.

use super::{check_with, open_repo, var_args};
use crate::cli::ExitStatus;
use crate::cli::args::{CostArgs, ReportFormat};
use crate::cli::printer::Printer;
use crate::cost::{Estimate, Price, Prices, range};
use crate::ops::spend::Spend;

/// An environment, its estimate, and (with `--actual`) what AWS billed.
type Estimated = (String, Estimate, Option<Spend>);
use crate::error::Result;
use crate::pipeline::{Missing, Options, Undeclared};
use serde_json::json;

pub fn run(args: CostArgs, printer: &Printer) -> Result<ExitStatus> {
    if let (true, Some(out)) = (args.refresh_prices, &args.out) {
        let kept = crate::ops::spend::refresh_prices(out)?;
        for what in &kept {
            printer.warning(what);
        }
        printer.success(format!(
            "Wrote the price table to {} ({} kept as they were); use it with DEPLOYER_PRICES={}",
            out.display(),
            kept.len(),
            out.display()
        ));
        return Ok(ExitStatus::Success);
    }
    let repo = open_repo(&args.repo.repo)?;
    let (stack, environment) = super::resolve_stack_and_environment(
        printer,
        &repo,
        args.stack.as_deref(),
        args.environment.as_deref(),
    )?;
    let file = super::stack_file(printer, &repo, &stack)?;
    let environments: Vec<String> = match environment {
        Some(env) => vec![env],
        None => file.environments.keys().cloned().collect(),
    };
    let given = !args.vars.vars.is_empty() || !args.vars.var_files.is_empty();
    let vars = var_args(args.vars)?;
    let prices = Prices::load()?;
    let mut estimates = Vec::new();
    for environment in environments {
        // What a program costs does not depend on an image tag: a variable
        // not given is a placeholder, as `show` does.
        let options = Options {
            environment: Some(environment.clone()),
            missing: if given {
                Missing::Error
            } else {
                Missing::Placeholder
            },
            undeclared: Undeclared::Error,
            programs: crate::pipeline::Programs::Keep,
            prefetched: Default::default(),
        };
        let mut checked =
            check_with(printer, &repo, &stack, &vars, &options).into_result(printer)?;
        let compiled = checked.take_compiled(0);
        let resolved = &checked.environments[0];
        let files = crate::artifacts::Artifacts::new(
            resolved,
            &compiled,
            String::new(),
            &checked.variables,
        );
        let spend = if args.actual {
            let scope = crate::ops::Scope {
                repo: &repo,
                stack: stack.clone(),
                environment: environment.clone(),
            };
            let days = (args.since.as_secs() / 86_400).max(1);
            Some(crate::ops::spend::actual(
                &scope,
                &resolved.env,
                days,
                &crate::cli::ui::CliUi::new(printer),
            )?)
        } else {
            None
        };
        estimates.push((
            environment,
            crate::cost::estimate(&files, &resolved.env.region, &prices),
            spend,
        ));
    }
    match args.output {
        ReportFormat::Json => printer.json(&json!({
            "stack": stack,
            "environments": estimates.iter().map(|(environment, estimate, spend)| {
                let mut value = json!(estimate);
                value["environment"] = json!(environment);
                value["actual"] = json!(spend);
                value
            }).collect::<Vec<_>>(),
            "prices": {
                "as_of": prices.as_of,
                "currency": prices.currency,
                "hours_per_month": prices.hours_per_month,
                "source": prices.source,
            },
        })),
        ReportFormat::Markdown => printer.out_raw(&markdown(&stack, &estimates, &prices)),
        ReportFormat::Text => {
            for (environment, estimate, spend) in &estimates {
                text(printer, &stack, environment, estimate);
                if let Some(spend) = spend {
                    actual_text(printer, estimate, spend);
                }
            }
            printer.status(format!(
                "prices: on-demand list prices of pricing/aws.json as of {}, {} hours a month; {}",
                prices.as_of,
                prices.hours_per_month,
                "usage-based costs are named, never counted as $0"
            ));
        }
    }
    Ok(ExitStatus::Success)
}

/// A component's monthly figure, or what it is when nothing has a price.
fn component_total(component: &crate::cost::ComponentCost) -> String {
    if component.estimated() {
        range(component.monthly)
    } else {
        "usage-based".into()
    }
}

fn component_label(component: &str) -> &str {
    if component == "_stack" {
        "environment (load balancers)"
    } else {
        component
    }
}

fn price_text(price: &Price) -> String {
    match price {
        Price::Estimated { monthly } => range(*monthly),
        Price::UsageBased => "usage-based, not estimated".into(),
        Price::Unknown { why } => format!("not estimated: {why}"),
    }
}

fn text(printer: &Printer, stack: &str, environment: &str, estimate: &Estimate) {
    printer.out(format!(
        "{stack} / {environment}: {} a month (estimated, {})",
        range(estimate.monthly),
        estimate.region
    ));
    let width = estimate
        .components
        .iter()
        .flat_map(|c| c.lines.iter().map(|l| l.what.len() + 4))
        .chain(
            estimate
                .components
                .iter()
                .map(|c| component_label(&c.component).len() + 2),
        )
        .max()
        .unwrap_or(0);
    for component in &estimate.components {
        printer.out(format!(
            "  {:width$}  {}",
            component_label(&component.component),
            component_total(component),
            width = width - 2
        ));
        for line in &component.lines {
            printer.out(format!(
                "    {:width$}  {}",
                line.what,
                price_text(&line.price),
                width = width - 4
            ));
        }
    }
    if !estimate.unknown.is_empty() {
        printer.out(format!("  not estimated: {}", estimate.unknown.join("; ")));
    }
    printer.out(format!(
        "  plus usage-based: {}",
        estimate.usage_based.join(", ")
    ));
}

/// What AWS billed, per component, beside each estimate.
fn actual_text(printer: &Printer, estimate: &Estimate, spend: &Spend) {
    printer.out(format!(
        "  billed {} to {} (Cost Explorer, by deployer's tags{}): {} {}",
        spend.start,
        spend.end,
        if spend.estimated {
            ", still estimated"
        } else {
            ""
        },
        crate::cost::dollars(spend.total),
        spend.currency
    ));
    for (component, amount) in &spend.components {
        let estimated = estimate
            .components
            .iter()
            .find(|c| &c.component == component)
            .map(|c| format!(" (estimate {} a month)", range(c.monthly)))
            .unwrap_or_default();
        printer.out(format!(
            "    {}  {}{estimated}",
            component_label(component),
            crate::cost::dollars(*amount)
        ));
    }
}

fn markdown(stack: &str, estimates: &[Estimated], prices: &Prices) -> String {
    let mut out = format!("### Estimated monthly cost of {stack}\n\n");
    for (environment, estimate, spend) in estimates {
        out.push_str(&format!(
            "**{environment}** ({}): **{}** a month\n\n| component | monthly | what |\n|---|---|---|\n",
            estimate.region,
            range(estimate.monthly)
        ));
        for component in &estimate.components {
            let what: Vec<String> = component
                .lines
                .iter()
                .map(|l| format!("{}: {}", l.what, price_text(&l.price)))
                .collect();
            out.push_str(&format!(
                "| {} | {} | {} |\n",
                component_label(&component.component),
                component_total(component),
                what.join("<br>")
            ));
        }
        out.push_str(&format!(
            "\nPlus usage-based: {}.\n\n",
            estimate.usage_based.join(", ")
        ));
        if let Some(spend) = spend {
            out.push_str(&format!(
                "Billed {} to {} (Cost Explorer): **{}**\n\n",
                spend.start,
                spend.end,
                crate::cost::dollars(spend.total)
            ));
        }
    }
    out.push_str(&format!(
        "_On-demand list prices as of {}, {} hours a month (deployer's pricing/aws.json says where each comes from)._\n",
        prices.as_of, prices.hours_per_month
    ));
    out
}
