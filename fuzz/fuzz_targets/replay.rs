//! Valid scenarios built from fuzzer bytes (the same generator as the
//! whole-run invariant test) replayed with every invariant checked after every
//! event; the run must also end with every address returned, since every pool
//! is removed an hour before the end.

#![no_main]

#[path = "../../crates/cluster/tests/generated/mod.rs"]
#[allow(dead_code)]
mod generated;

use arbitrary::{Result, Unstructured};
use generated::*;
use libfuzzer_sys::fuzz_target;
use scenario::{Overrides, parse_str};

fn pool(u: &mut Unstructured) -> Result<Pool> {
    let count: u32 = u.int_in_range(0..=4)?;
    let autoscale = if u.arbitrary()? {
        let (below, above): (u32, u32) = (u.int_in_range(0..=2)?, u.int_in_range(0..=3)?);
        Some((count.saturating_sub(below), (count + above).max(1)))
    } else {
        None
    };
    Ok(Pool {
        count,
        max_pods: u.int_in_range(10..=60)?,
        node_subnet: u.int_in_range(0..=1)?,
        pod_subnet: u.int_in_range(0..=1)?,
        autoscale,
        surge: u.int_in_range(1..=2)?,
    })
}

fn kind(u: &mut Unstructured) -> Result<Kind> {
    Ok(match u.int_in_range(0..=2)? {
        0 => Kind::Deployment(u.int_in_range(0..=119)?),
        1 => Kind::DaemonSet(u.arbitrary()?),
        _ => {
            let lifetime = match u.int_in_range(0..=3)? {
                0 => Lifetime::Fixed(u.int_in_range(1..=119)?),
                1 => Lifetime::Exponential(u.int_in_range(1..=119)?),
                2 => {
                    let a = u.int_in_range(1..=59)?;
                    Lifetime::Uniform(a, a + u.int_in_range(0..=59)?)
                }
                _ => Lifetime::LogNormal(u.int_in_range(1..=59)?, u.int_in_range(1..=14)?),
            };
            Kind::Churn { per_hour: u.int_in_range(1..=399)?, lifetime }
        }
    })
}

fn action(u: &mut Unstructured) -> Result<Action> {
    Ok(match u.int_in_range(0..=5)? {
        0 => Action::ScalePool { pool: u.int_in_range(0..=2)?, count: u.int_in_range(0..=6)? },
        1 => Action::Upgrade { pool: u.int_in_range(0..=2)? },
        2 => Action::Add(pool(u)?),
        3 => Action::Remove { pool: u.int_in_range(0..=2)? },
        4 => Action::ScaleWorkload { workload: u.int_in_range(0..=3)?, replicas: u.int_in_range(0..=149)? },
        _ => Action::Rollout { workload: u.int_in_range(0..=3)? },
    })
}

fn case(u: &mut Unstructured) -> Result<Case> {
    let second: Option<usize> = if u.arbitrary()? { Some(u.int_in_range(0..=ALLOCATORS.len() - 1)?) } else { None };
    let clusters = 1 + usize::from(second.is_some());
    let mut pools = Vec::new();
    for _ in 0..u.int_in_range(1..=3)? {
        pools.push((u.int_in_range(0..=clusters - 1)?, pool(u)?));
    }
    let mut workloads = Vec::new();
    for _ in 0..u.int_in_range(0..=4)? {
        let cluster = u.int_in_range(0..=clusters - 1)?;
        let pool = if u.arbitrary()? { Some(u.int_in_range(0..=1)?) } else { None };
        workloads.push(Workload { cluster, pool, kind: kind(u)? });
    }
    let mut events = Vec::new();
    for _ in 0..u.int_in_range(0..=7)? {
        events.push((u.int_in_range(0..=(HOURS - 1) * 60 - 1)?, u.int_in_range(0..=clusters - 1)?, action(u)?));
    }
    Ok(Case {
        seed: u.arbitrary()?,
        allocator: u.int_in_range(0..=ALLOCATORS.len() - 1)?,
        second,
        scheduler: u.int_in_range(0..=2)?,
        node_prefixes: [u.int_in_range(24..=28)?, u.int_in_range(24..=28)?],
        pod_prefixes: [u.int_in_range(21..=27)?, u.int_in_range(21..=27)?],
        pod_cidr: u.int_in_range(19..=23)?,
        pools,
        workloads,
        events,
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(case) = case(&mut Unstructured::new(data)) else { return };
    let text = yaml(&case);
    // To turn an input into a regression test: print its scenario.
    if std::env::var_os("PODIP_FUZZ_PRINT").is_some() {
        eprintln!("--- scenario ---\n{text}");
    }
    let Ok(loaded) = parse_str(&text, "generated.yaml", &Overrides::default()) else { return };
    let options = cluster::Options { check_invariants: true, ..cluster::Options::default() };
    let replay = cluster::replay_with(&loaded.scenario, options, &mut |_| {})
        .unwrap_or_else(|e| panic!("{e}\n--- scenario ---\n{text}"));
    let end = u64::from(HOURS) * 3600;
    for s in replay.utilization.iter().filter(|s| s.time_s == end) {
        assert_eq!((s.allocated, s.in_use), (0, 0), "range {} at the end\n{text}", replay.ranges[s.range as usize].name);
    }
});
