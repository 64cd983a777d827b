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
