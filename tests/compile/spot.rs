//! Fargate Spot (infra.yaml `capacity: spot`): the service's capacity
//! provider strategy, and both Fargate providers on the cluster.

use super::*;

/// A service on Spot runs every task beyond `on_demand_base` on
/// `FARGATE_SPOT` (no launch type: ECS takes one or the other), after the
/// cluster has both providers; the other services keep `launchType:
/// FARGATE`. An `on_demand_base` off Spot is an error at its line.
#[test]
fn a_service_on_spot_gets_a_capacity_provider_strategy_and_its_cluster_both_providers() {
    let repo = TestRepo::example();
    let worker =
        "stacks/notification-platform/services/delivery-service/components/worker/infra.yaml";
    repo.edit(
        worker,
        "replicas: 1\n",
        "replicas: 1\ncapacity: spot\non_demand_base: 1\n",
    );
    let run = show(&repo, "development");
    assert_eq!(run.code, 0, "{}", run.all());
    let program = deployer::load::yaml::to_json(&run.stdout).unwrap();
    let service = &program["resources"]["delivery-service-worker-service"];
    assert!(service["properties"]["launchType"].is_null(), "{service:#}");
    assert_eq!(
        service["properties"]["capacityProviderStrategies"],
        serde_json::json!([
            {"capacityProvider": "FARGATE_SPOT", "weight": 1},
            {"capacityProvider": "FARGATE", "base": 1, "weight": 0}
        ])
    );
    assert!(
        service["options"]["dependsOn"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d == "${cluster-capacity-providers}"),
        "{service:#}"
    );
    let providers = &program["resources"]["cluster-capacity-providers"]["properties"];
    assert_eq!(providers["clusterName"], "${cluster.name}");
    assert_eq!(
        providers["capacityProviders"],
        serde_json::json!(["FARGATE", "FARGATE_SPOT"])
    );
    assert_eq!(
        program["resources"]["email-service-api-service"]["properties"]["launchType"],
        "FARGATE"
    );
    passes_the_provider_checker(&repo, "development");
    // Spot has no list price: the estimate says it prices the tasks as on
    // demand.
    let run = repo.run(&["cost", "-s", "notification-platform", "-e", "development"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_contains(
        &run.stdout,
        &["on Spot: priced as on demand, which Spot costs less than"],
    );

    repo.edit(worker, "capacity: spot\n", "");
    let run = validate(&repo);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_contains(
        &run.stderr,
        &["infra.yaml:", "`on_demand_base`", "does not run on Spot"],
    );
}
