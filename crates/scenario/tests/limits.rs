//! Size estimates and resource limits: a scenario too large to run is refused
//! before it starts; every bundled scenario fits the defaults.

use scenario::{Limits, Overrides, estimate, parse_str};

fn load(text: &str) -> scenario::Scenario {
    parse_str(text, "limits.yaml", &Overrides::default()).unwrap_or_else(|e| panic!("{e}")).scenario
}

const NET: &str = "network:\n  address_space: [10.0.0.0/8]\n  subnets: {nodes: 10.2.0.0/20, pods: 10.1.0.0/16}\n\
    clusters:\n  - name: c\n    node_pools: [{name: p, count: 3, vnet_subnet: nodes, pod_subnet: pods}]\n";

fn exceeded(text: &str) -> Vec<String> {
    estimate(&load(text)).exceeded(&Limits::DEFAULT, 1).iter().map(ToString::to_string).collect()
}

#[test]
fn a_trillion_arrivals_an_hour_is_refused() {
    let text = format!(
        "name: t\nduration: 365d\n{NET}workloads:\n  - {{name: j, cluster: c, kind: churn, arrivals_per_hour: 1e12, lifetime: {{fixed: 1m}}}}\n"
    );
    let errors = exceeded(&text);
    assert!(errors.iter().any(|e| e.contains("live pods") && e.contains("--max-live-pods")), "{errors:?}");
    assert!(errors.iter().any(|e| e.contains("simulation events") && e.contains("--max-events")), "{errors:?}");
    assert!(errors.iter().any(|e| e.contains("pending events")), "{errors:?}");
    assert!(errors[0].starts_with("too large to run: about 6.67e10 live pods, over the limit of 1.00e7"), "{errors:?}");
}

#[test]
fn one_second_samples_over_a_year_are_refused() {
    // Validation already refuses more than 10 million samples.
    let text = format!("name: t\nduration: 365d\nsample_every: 1s\n{NET}");
    let e = parse_str(&text, "limits.yaml", &Overrides::default()).unwrap_err().to_string();
    assert!(e.contains("samples; at most 10000000 are allowed"), "{e}");
    // 100 days of one-second samples pass validation but not the output rows limit
    // (two subnets and a pool: three rows a sample).
    let errors = exceeded(&format!("name: t\nduration: 100d\nsample_every: 1s\n{NET}"));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("2.59e7 output rows, over the limit of 2.00e7 (raise it with --max-output-rows"),
        "{errors:?}"
    );
}

#[test]
fn a_small_scenario_fits_and_compare_multiplies() {
    let text = format!(
        "name: t\nduration: 30d\n{NET}workloads:\n  - {{name: w, cluster: c, kind: deployment, replicas: 100}}\n  - {{name: j, cluster: c, kind: churn, arrivals_per_hour: 600, lifetime: {{exponential: 10m}}}}\n"
    );
    let e = estimate(&load(&text));
    assert!(e.exceeded(&Limits::DEFAULT, 1).is_empty());
    // 100 × 1.25 + 600/h × 10 min × 4 + 10; 721 samples + the end × (2 ranges + 1 pool).
    assert_eq!(e.live_pods, 125.0 + 410.0);
    assert_eq!(e.output_rows, 722.0 * 3.0);
    // Arrivals: 600 × 720 h, each an arrival and an end.
    assert!(e.events >= 2.0 * 600.0 * 720.0);
    let tight = Limits { max_output_rows: 3000.0, ..Limits::DEFAULT };
    assert!(e.exceeded(&tight, 1).is_empty());
    assert_eq!(e.exceeded(&tight, 2).len(), 1, "two allocators hold twice the rows");
}

#[test]
fn a_nan_or_infinite_estimate_is_refused() {
    // lognormal sigma 40: a mean lifetime of e^800 s (infinite in f64).
    let text = format!(
        "name: t\nduration: 1d\n{NET}workloads:\n  - {{name: j, cluster: c, kind: churn, arrivals_per_hour: 1, lifetime: {{lognormal: {{median: 1m, sigma: 40}}}}}}\n"
    );
    // Few arrivals in a day: the population is capped by them, so it still fits.
    assert!(exceeded(&text).is_empty(), "{:?}", exceeded(&text));
    let e = scenario::Estimate { live_pods: f64::NAN, pending_events: 0.0, events: 0.0, output_rows: f64::INFINITY };
    assert_eq!(e.exceeded(&Limits::DEFAULT, 1).len(), 2);
}

#[test]
fn every_bundled_scenario_fits_the_default_limits() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scenarios");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let loaded = scenario::load(&path, &Overrides::default()).unwrap_or_else(|e| panic!("{e}"));
            let errors = estimate(&loaded.scenario).exceeded(&Limits::DEFAULT, 5);
            assert!(errors.is_empty(), "{}: {errors:?}", path.display());
            seen += 1;
        }
    }
    assert!(seen >= 5);
}

#[test]
fn autoscaler_scans_count_for_pools_added_later() {
    // Ten thousand years: the autoscaler's 10-second scans alone are 3e10 events,
    // whether the autoscaled pool is there from the start or added by an event.
    let long = "name: t\nduration: 3650000d\nsample_every: 3650000d\n";
    let from_start =
        format!("{long}{NET}").replace("pod_subnet: pods}", "pod_subnet: pods, autoscale: {min: 3, max: 5}}");
    let added = format!(
        "{long}{NET}events:\n  - {{at: 1h, add_pool: {{cluster: c, pool: {{name: q, count: 1, vnet_subnet: nodes, pod_subnet: pods, autoscale: {{min: 1, max: 2}}}}}}}}\n"
    );
    for text in [from_start, added] {
        let errors = exceeded(&text);
        assert!(errors.iter().any(|e| e.contains("simulation events")), "{errors:?}\n{text}");
    }
}

#[test]
fn replays_together_add_outputs_and_keep_the_largest_running_ones() {
    let small = scenario::Estimate { live_pods: 10.0, pending_events: 5.0, events: 100.0, output_rows: 7.0 };
    let large = scenario::Estimate { live_pods: 40.0, pending_events: 9.0, events: 300.0, output_rows: 11.0 };
    let one_core = scenario::Estimate::of_replays(&[small, large, small], 1);
    assert_eq!(one_core, scenario::Estimate { live_pods: 40.0, pending_events: 9.0, events: 500.0, output_rows: 25.0 });
    let two_cores = scenario::Estimate::of_replays(&[small, large, small], 2);
    assert_eq!((two_cores.live_pods, two_cores.pending_events), (80.0, 18.0));
    // More cores than replays: every replay runs at once.
    assert_eq!(scenario::Estimate::of_replays(&[small, large], 8).live_pods, 80.0);
}
