//! `deployer cost`: what each environment of a stack costs a month, per
//! component, estimated from its compiled program with the prices deployer
//! carries (`cost`, `pricing/aws.json`). No AWS is asked.

use super::{check_with, open_repo, var_args};
use crate::cli::ExitStatus;
use crate::cli::args::{CostArgs, ReportFormat};
use crate::cli::printer::Printer;
use crate::cost::{Estimate, Price, Prices, range};
use crate::error::Result;
use crate::pipeline::{Missing, Options, Undeclared};
use serde_json::json;

pub fn run(args: CostArgs, printer: &Printer) -> Result<ExitStatus> {
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
    let prices = Prices::built_in();
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
        estimates.push((
            environment,
            crate::cost::estimate(&files, &resolved.env.region, &prices),
        ));
    }
    match args.output {
        ReportFormat::Json => printer.json(&json!({
            "stack": stack,
            "environments": estimates.iter().map(|(environment, estimate)| {
                let mut value = json!(estimate);
                value["environment"] = json!(environment);
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
            for (environment, estimate) in &estimates {
                text(printer, &stack, environment, estimate);
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

fn markdown(stack: &str, estimates: &[(String, Estimate)], prices: &Prices) -> String {
    let mut out = format!("### Estimated monthly cost of {stack}\n\n");
    for (environment, estimate) in estimates {
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
    }
    out.push_str(&format!(
        "_On-demand list prices as of {}, {} hours a month (deployer's pricing/aws.json says where each comes from)._\n",
        prices.as_of, prices.hours_per_month
    ));
    out
}
