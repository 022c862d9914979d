//! Bitmap pools under churn at 90% occupancy: take the lowest free unit and give
//! back a random held one, so occupancy stays put and the free units stay scattered.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use net::{AddressRange, Granularity, IndexPool, Ipv4Net};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Take/give-back pairs per timed iteration.
const BATCH: u64 = 1000;
const OCCUPANCY: f64 = 0.9;

/// Anything that hands out numbered units lowest-first.
trait Units {
    fn capacity(&self) -> u32;
    fn take(&mut self) -> Option<u32>;
    fn give_back(&mut self, unit: u32);
}

impl Units for IndexPool {
    fn capacity(&self) -> u32 {
        IndexPool::capacity(self)
    }
    fn take(&mut self) -> Option<u32> {
        self.take_lowest()
    }
    fn give_back(&mut self, unit: u32) {
        IndexPool::give_back(self, unit);
    }
}

impl Units for AddressRange {
    fn capacity(&self) -> u32 {
        self.units_capacity()
    }
    fn take(&mut self) -> Option<u32> {
        AddressRange::take(self)
    }
    fn give_back(&mut self, unit: u32) {
        AddressRange::give_back(self, unit);
    }
}

/// Fill `pool` completely, then free random units down to 90%: returns the held units.
fn fill_to_occupancy(pool: &mut impl Units, rng: &mut ChaCha8Rng) -> Vec<u32> {
    let mut held: Vec<u32> = std::iter::from_fn(|| pool.take()).collect();
    let keep = (f64::from(pool.capacity()) * OCCUPANCY) as usize;
    while held.len() > keep {
        let unit = held.swap_remove(rng.random_range(0..held.len()));
        pool.give_back(unit);
    }
    held
}

fn bench_churn(c: &mut Criterion, name: &str, mut pool: impl Units) {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let mut held = fill_to_occupancy(&mut pool, &mut rng);
    let mut group = c.benchmark_group("pools");
    group.throughput(Throughput::Elements(BATCH));
    group.bench_function(name, |b| {
        b.iter(|| {
            for _ in 0..BATCH {
                let unit = pool.take().expect("10% free");
                let slot = rng.random_range(0..held.len());
                pool.give_back(std::mem::replace(&mut held[slot], black_box(unit)));
            }
        });
    });
    group.finish();
}

fn pools(c: &mut Criterion) {
    let slash12: Ipv4Net = "10.0.0.0/12".parse().expect("valid prefix");
    bench_churn(c, "IndexPool/address_slash12", IndexPool::new(1 << 20));
    let addresses = AddressRange::vnet_subnet("pods", slash12, Granularity::ADDRESS).expect("valid subnet");
    bench_churn(c, "AddressRange/address_slash12", addresses);
    bench_churn(c, "IndexPool/block28_slash12", IndexPool::new((1 << 16) - 2));
    let blocks = AddressRange::vnet_subnet("pods", slash12, Granularity::BLOCK28).expect("valid subnet");
    bench_churn(c, "AddressRange/block28_slash12", blocks);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = pools
}
criterion_main!(benches);
