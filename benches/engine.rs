//! The hold model on the event queue: pop the earliest event, push one at a later
//! random time, with a fixed number pending. `EventQueue` against a plain
//! `BinaryHeap` on `(time, sequence)`.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use engine::{EventQueue, SimTime};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Hold operations per timed iteration.
const BATCH: u64 = 1000;
/// Mean delay of a new event, ms (uniform in `[0, 2 * MEAN)`): about 17 minutes,
/// a pod's lifetime in a churny cluster.
const MEAN_DELAY_MS: u64 = 1_000_000;

/// An event the size of the model's (16 bytes, `Copy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Payload {
    Arrive { pod: u32, node: u32 },
    Depart { pod: u32, range: u32, unit: u32 },
}

fn payload(i: u64) -> Payload {
    let pod = i as u32;
    if i.is_multiple_of(2) {
        Payload::Arrive { pod, node: pod / 30 }
    } else {
        Payload::Depart { pod, range: 7, unit: pod }
    }
}

fn delay(rng: &mut ChaCha8Rng) -> u64 {
    rng.random_range(0..2 * MEAN_DELAY_MS)
}

fn hold(c: &mut Criterion) {
    let mut group = c.benchmark_group("hold");
    group.throughput(Throughput::Elements(BATCH));
    for pending in [1_000u64, 100_000, 1_000_000] {
        group.bench_with_input(BenchmarkId::new("EventQueue", pending), &pending, |b, &pending| {
            let mut rng = ChaCha8Rng::seed_from_u64(1);
            let mut queue = EventQueue::new();
            for i in 0..pending {
                queue.push(SimTime::from_millis(delay(&mut rng)), payload(i));
            }
            b.iter(|| {
                for _ in 0..BATCH {
                    let (now, event) = queue.pop().expect("events pending");
                    black_box(event);
                    queue.push(now.saturating_add(SimTime::from_millis(delay(&mut rng))), event);
                }
            });
        });
        group.bench_with_input(BenchmarkId::new("BinaryHeap", pending), &pending, |b, &pending| {
            let mut rng = ChaCha8Rng::seed_from_u64(1);
            let mut heap = BinaryHeap::new();
            let mut seq = 0u64;
            for i in 0..pending {
                heap.push(Reverse((delay(&mut rng), seq, payload(i))));
                seq += 1;
            }
            b.iter(|| {
                for _ in 0..BATCH {
                    let Reverse((now, _, event)) = heap.pop().expect("events pending");
                    black_box(event);
                    heap.push(Reverse((now + delay(&mut rng), seq, event)));
                    seq += 1;
                }
            });
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = hold
}
criterion_main!(benches);
