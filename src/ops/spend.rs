//! `cost --actual`: what AWS billed each component of an environment over a
//! recent period (`inspect::spend`), beside the estimate.

use super::{Scope, Ui, open_backend};
use crate::error::{Error, Result};
use crate::inspect::Cloud;
use crate::model::stack::EnvironmentSpec;

pub use crate::inspect::spend::Spend;

/// The spend of the scope's environment over the `days` before today.
pub fn actual(scope: &Scope, env: &EnvironmentSpec, days: u64, ui: &dyn Ui) -> Result<Spend> {
    let backend = open_backend(scope.repo, ui)?;
    let cloud = Cloud::connect(env, &backend.who(&scope.repo.root))?;
    let today = crate::backend::now();
    let day = |secs: i64| crate::backend::timestamp(secs)[..10].to_string();
    let start = day(today - days as i64 * 86_400);
    crate::inspect::spend::actual(&cloud, &scope.stack, &scope.environment, &start, &day(today))
        .map_err(|why| {
            Error::failed(format!("cannot read what AWS billed: {why}")).with_help(
                "Cost Explorer groups by deployer's tags only once `deployer:stack`, `deployer:environment`, `deployer:service` and `deployer:component` are activated as cost allocation tags (Billing console, Cost allocation tags)",
            )
        })
}

/// `cost --refresh-prices --out FILE`: the price table deployer uses, every
/// number asked again of the AWS Price List Query API (`inspect::pricing`,
/// in us-east-1, where the API answers), written to `out`. Returns what no
/// product matched (kept as it was).
pub fn refresh_prices(out: &std::path::Path) -> Result<Vec<String>> {
    let cloud = Cloud::in_region("us-east-1")?;
    let table = crate::cost::Prices::load()?;
    let today = crate::backend::timestamp(crate::backend::now())[..10].to_string();
    let (fresh, kept) = crate::inspect::pricing::refresh(&cloud, &table, &today)
        .map_err(|why| Error::failed(format!("cannot refresh the prices: {why}")))?;
    let text = serde_json::to_string_pretty(&fresh).expect("a price table serialises") + "\n";
    crate::artifacts::write_atomic(out, text.as_bytes())
        .map_err(|e| Error::failed(format!("cannot write {}: {e}", out.display())))?;
    Ok(kept)
}
