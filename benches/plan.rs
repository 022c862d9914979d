//! `podip plan`'s library call on the bundled `scenarios/growth-compare.yaml`:
//! five allocators × 8 seeds, 120 summary-only replays (unconstrained, as
//! written, verified), on one worker and on every core. Throughput is replays.
//! docs/performance.md ("Plan") has the figures and the comparison with 40
//! plain `podip run --no-charts` calls.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use plan::PlanOptions;
use scenario::{Overrides, Scenario};

const SCENARIO: &str = include_str!("../scenarios/growth-compare.yaml");

fn scenarios() -> Vec<Scenario> {
    modes::ALL
        .iter()
        .map(|&allocator| {
            let overrides = Overrides { allocator: Some(allocator), ..Overrides::default() };
            scenario::parse_str(SCENARIO, "growth-compare.yaml", &overrides).expect("a valid scenario").scenario
        })
        .collect()
}

fn plan_growth_compare(c: &mut Criterion) {
    let scenarios = scenarios();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut group = c.benchmark_group("plan/growth-compare/5x8");
    let replays =
        plan::plan_many(&scenarios, &PlanOptions { seeds: 8, ..PlanOptions::default() }).expect("plans").replays;
    group.throughput(Throughput::Elements(replays));
    for jobs in [1, cores] {
        let options = PlanOptions { seeds: 8, jobs, ..PlanOptions::default() };
        group.bench_function(format!("jobs={jobs}"), |b| {
            b.iter(|| black_box(plan::plan_many(&scenarios, &options).expect("plans")))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(10)).warm_up_time(Duration::from_secs(1));
    targets = plan_growth_compare
}
criterion_main!(benches);
