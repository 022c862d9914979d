//! The floor under the peer churn (`benches/peer-churn.yaml`): the same replay
//! written for that one kind of scenario and nothing else, to measure what its
//! work costs with none of the model's generality (docs/performance.md,
//! "Seventh round"). It is a measurement and an independent check of the model,
//! not a second model: it knows that no node comes or goes, and that every pod
//! starts the moment it binds and ends only by its lifetime, so a pod end
//! carries its node and no pod record exists. It uses the engine's queue and
//! stream, the ziggurat exponential, `net`'s bitmap pool, `dynamic`'s target
//! rule and a spread index of one bitmap per load, and does the model's
//! tracker's work per event. Its samples and peaks equal the model's
//! (`tests` below, and `benches/race.sh` on the peer churn itself).
//! [`replay_with_pod_records`] also keeps the model's per-pod state (records
//! with generations, each node's pod list and each pod's slot in it), to tell
//! what that state costs from what the code around it costs;
//! [`replay_on_calendar`] runs on [`CalendarQueue`] instead of the engine's
//! queue; [`replay_bare`] runs only the churn's draws, alone or with a queue:
//! what no exact replay can drop ("Eighth round").

use engine::{SimTime, Simulation, Streams};
use net::IndexPool;

use crate::calendar::CalendarQueue;

/// One dynamic pool under spread, fed by one churn workload named `churn`
/// with exponential lifetimes; every node ready at time zero.
#[derive(Debug, Clone, Copy)]
pub struct Churn {
    pub seed: u64,
    pub nodes: u32,
    pub max_pods: u32,
    /// The pod subnet's usable addresses (its size less Azure's 5 reserved).
    pub pod_subnet_usable: u32,
    pub arrivals_per_hour: f64,
    pub mean_lifetime_s: u64,
    pub duration_s: u64,
    pub sample_every_s: u64,
}

impl Churn {
    /// `benches/peer-churn.yaml`.
    pub const PEER: Churn = Churn {
        seed: 1,
        nodes: 100,
        max_pods: 250,
        pod_subnet_usable: 65_531,
        arrivals_per_hour: 20_000.0,
        mean_lifetime_s: 3_600,
        duration_s: 172_800,
        sample_every_s: 3_600,
    };

    /// The churn of `scenarios/scale-1m-pods.yaml` (its workload `jobs`), for
    /// [`replay_bare`] only: that scenario is static-block, which the floor
    /// does not replay, and its draws come from the stream `churn/jobs`, not
    /// `churn/churn`, so only the counts' scale is the scenario's.
    pub const SCALE_1M_JOBS: Churn = Churn {
        seed: 1,
        nodes: 5_000,
        max_pods: 207,
        pod_subnet_usable: 0,
        arrivals_per_hour: 60_000.0,
        mean_lifetime_s: 1_800,
        duration_s: 30 * 86_400,
        sample_every_s: 3_600,
    };
}

/// What the floor measures, in the model's terms.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The pod subnet at each sample: (time_s, allocated, in_use).
    pub samples: Vec<(u64, u64, u64)>,
    pub events: u64,
    pub peak_allocated: u64,
    pub peak_in_use: u64,
    /// Time-averaged in_use / allocated over both subnets, × 100.
    pub ip_efficiency_pct: f64,
}

#[derive(Clone, Copy)]
enum Event<T> {
    Arrival,
    /// A pod ends: the ticket its book gave it.
    End(T),
}

/// How the floor keeps its pods. [`NoBook`] keeps nothing (a pod end carries
/// its node); [`PodBook`] keeps what the model keeps of a churn pod, to measure
/// what that costs.
trait Book {
    type Ticket: Copy;
    /// A pod starts on `node`.
    fn start(&mut self, node: u32) -> Self::Ticket;
    /// A pod's end comes up: the node it leaves, unless the ticket is stale.
    fn end(&mut self, ticket: Self::Ticket) -> Option<u32>;
}

struct NoBook;

impl Book for NoBook {
    type Ticket = u32;
    fn start(&mut self, node: u32) -> u32 {
        node
    }
    fn end(&mut self, node: u32) -> Option<u32> {
        Some(node)
    }
}

/// The model's record of a pod, as big (one cache line) and as reused (a free
/// list that keeps generations).
#[derive(Clone, Copy, Default)]
#[repr(C, align(64))]
struct PodRecord {
    node: u32,
    generation: u32,
    running: bool,
    created: u64,
}

/// Pod records, each node's list of its pods and each pod's slot in it, as
/// the model keeps them (`World::pods`, `Node::pods`, `World::pod_slots`).
#[derive(Default)]
struct PodBook {
    pods: Vec<PodRecord>,
    free: Vec<u32>,
    slots: Vec<u8>,
    on_node: Vec<Vec<u32>>,
    created: u64,
}

impl Book for PodBook {
    /// (pod, generation, node), as the model's `Event::PodEnd`.
    type Ticket = (u32, u32, u32);

    fn start(&mut self, node: u32) -> (u32, u32, u32) {
        self.created += 1;
        let record = PodRecord { node, generation: 0, running: true, created: self.created };
        let pod = match self.free.pop() {
            Some(pod) => {
                let generation = self.pods[pod as usize].generation;
                self.pods[pod as usize] = PodRecord { generation, ..record };
                pod
            }
            None => {
                self.pods.push(record);
                self.slots.push(0);
                self.pods.len() as u32 - 1
            }
        };
        if self.on_node.len() <= node as usize {
            self.on_node.resize_with(node as usize + 1, Vec::new);
        }
        let list = &mut self.on_node[node as usize];
        self.slots[pod as usize] = u8::try_from(list.len()).expect("at most 256 pods a node");
        list.push(pod);
        (pod, self.pods[pod as usize].generation, node)
    }

    fn end(&mut self, (pod, generation, node): (u32, u32, u32)) -> Option<u32> {
        let record = &mut self.pods[pod as usize];
        if record.generation != generation || !record.running {
            return None;
        }
        (record.generation, record.running) = (generation.wrapping_add(1), false);
        let slot = self.slots[pod as usize];
        let list = &mut self.on_node[node as usize];
        list.swap_remove(usize::from(slot));
        if let Some(&moved) = list.get(usize::from(slot)) {
            self.slots[moved as usize] = slot;
        }
        self.free.push(pod);
        Some(node)
    }
}

/// Spread's pick: the fewest pods, ties by creation order. Nodes by load, one
/// bitmap per load, and the lowest load with a node.
struct Spread {
    words: usize,
    by_load: Vec<u64>,
    lowest: usize,
}

impl Spread {
    fn new(nodes: u32, max_pods: u32) -> Spread {
        let words = (nodes as usize).div_ceil(64);
        let mut spread = Spread { words, by_load: vec![0; words * (max_pods as usize + 1)], lowest: 0 };
        for node in 0..nodes as usize {
            spread.by_load[node / 64] |= 1 << (node % 64);
        }
        spread
    }

    /// # Panics
    /// If every node is full: the floor does not model unschedulable pods.
    fn pick(&mut self) -> usize {
        // The last row holds the full nodes.
        let rows_with_room = self.by_load.len() / self.words - 1;
        loop {
            assert!(self.lowest < rows_with_room, "no node has room: the floor does not model unschedulable pods");
            let words = &self.by_load[self.lowest * self.words..(self.lowest + 1) * self.words];
            if let Some(w) = words.iter().position(|&w| w != 0) {
                return w * 64 + words[w].trailing_zeros() as usize;
            }
            self.lowest += 1;
        }
    }

    fn moved(&mut self, node: usize, from: u32, to: u32) {
        let (word, bit) = (node / 64, 1u64 << (node % 64));
        self.by_load[from as usize * self.words + word] &= !bit;
        self.by_load[to as usize * self.words + word] |= bit;
        self.lowest = self.lowest.min(to as usize);
    }
}

/// `x.round()` for the draws' range (0 < x < 2^52), without the libm call: the
/// fast path of the model's `millis` (`cluster::world::draws`), whose guards for
/// other values the floor's draws never need.
fn millis(x: f64) -> u64 {
    debug_assert!(x > 0.0 && x < 4_503_599_627_370_496.0, "{x} outside the draws' range");
    let whole = x as i64;
    (whole + i64::from(x - whole as f64 >= 0.5)) as u64
}

/// Replay `churn`.
///
/// # Panics
/// If a pod finds no node with room or the pod subnet runs out: the floor
/// covers the scenarios where neither happens.
pub fn replay(churn: &Churn) -> Outcome {
    replay_with(churn, NoBook, Simulation::new())
}

/// [`replay`] on [`CalendarQueue`] instead of the engine's queue.
pub fn replay_on_calendar(churn: &Churn) -> Outcome {
    replay_with(churn, NoBook, CalendarQueue::new())
}

/// [`replay`], keeping pod records and node pod lists as the model does: what
/// the model's state costs, apart from the code that handles it.
pub fn replay_with_pod_records(churn: &Churn) -> Outcome {
    replay_with(churn, PodBook::default(), Simulation::new())
}

fn replay_with<B: Book>(churn: &Churn, mut book: B, mut sim: impl Pending<Event<B::Ticket>>) -> Outcome {
    // What the model would reject or the floor does not cover.
    assert!(churn.nodes > 0 && churn.duration_s > 0, "a floor needs nodes and time");
    assert!(churn.max_pods <= dynamic::MAX_TARGET, "dynamic allows at most {} pods a node", dynamic::MAX_TARGET);
    assert!(churn.arrivals_per_hour > 0.0, "a churn needs arrivals");
    let mut rng = Streams::new(churn.seed).stream("churn/churn");
    let rate_per_ms = churn.arrivals_per_hour / 3_600_000.0;
    let mean_lifetime_ms = churn.mean_lifetime_s as f64 * 1000.0;
    let (duration_ms, step_ms) = (churn.duration_s * 1000, churn.sample_every_s.max(1) * 1000);
    let nodes = u64::from(churn.nodes);
    // dynamic's rule: the primary plus 16 × ceil(0.5 + demand / 16), capped.
    let wanted = |demand: u32| 1 + dynamic::target_for(demand, churn.max_pods) as usize;
    let mut subnet = IndexPool::new(churn.pod_subnet_usable);
    // Per node: the pod-subnet units it holds, and its pods (all started).
    let mut held: Vec<Vec<u32>> = (0..nodes).map(|_| Vec::with_capacity(wanted(churn.max_pods))).collect();
    let mut pods = vec![0u32; churn.nodes as usize];
    for units in &mut held {
        subnet.take_lowest_many(wanted(0) as u32, units);
    }
    let mut in_use = nodes; // the primaries
    let mut spread = Spread::new(churn.nodes, churn.max_pods);
    // The tracker's per-event work: peaks and the time-weighted ratio over both
    // VNet subnets (the node subnet's `nodes` addresses are all in use).
    let ratio_of = |in_use: u64, allocated: u64| (in_use + nodes) as f64 / (allocated + nodes) as f64;
    let (mut peak_allocated, mut peak_in_use) = (u64::from(subnet.allocated()), in_use);
    let (mut weighted, mut last_change) = (0.0f64, 0u64);
    let mut ratio = ratio_of(in_use, u64::from(subnet.allocated()));

    let first = millis(cluster::standard_exponential(&mut rng) / rate_per_ms);
    if first <= duration_ms {
        sim.push(first, Event::Arrival);
    }
    let mut events = 0;
    let mut samples = Vec::new();
    let mut sample_at = 0u64;
    loop {
        while let Some((now, event)) = sim.pop_until(sample_at) {
            events += 1;
            let (node, to) = match event {
                Event::Arrival => {
                    let lifetime = millis(cluster::standard_exponential(&mut rng) * mean_lifetime_ms);
                    let gap = millis(cluster::standard_exponential(&mut rng) / rate_per_ms);
                    let node = spread.pick();
                    let ticket = book.start(node as u32);
                    sim.push(now + lifetime, Event::End(ticket));
                    if now + gap <= duration_ms {
                        sim.push(now + gap, Event::Arrival);
                    }
                    in_use += 1;
                    (node, pods[node] + 1)
                }
                Event::End(ticket) => {
                    let Some(node) = book.end(ticket) else { continue };
                    in_use -= 1;
                    (node as usize, pods[node as usize] - 1)
                }
            };
            spread.moved(node, pods[node], to);
            pods[node] = to;
            let (units, want) = (&mut held[node], wanted(to));
            if units.len() < want {
                subnet.take_lowest_many((want - units.len()) as u32, units);
            } else if units.len() > want {
                subnet.give_back_many(&units[want..]);
                units.truncate(want);
            }
            let allocated = u64::from(subnet.allocated());
            weighted += ratio * (now - last_change) as f64;
            last_change = now;
            ratio = ratio_of(in_use, allocated);
            peak_allocated = peak_allocated.max(allocated);
            peak_in_use = peak_in_use.max(in_use);
        }
        samples.push((sample_at / 1000, u64::from(subnet.allocated()), in_use));
        if sample_at >= duration_ms {
            break;
        }
        sample_at = (sample_at + step_ms).min(duration_ms);
    }
    weighted += ratio * (duration_ms - last_change) as f64;
    Outcome { samples, events, peak_allocated, peak_in_use, ip_efficiency_pct: 100.0 * weighted / duration_ms as f64 }
}

/// What an exact replay of a churn cannot drop, whatever its model: the churn's
/// draws (fixed by the golden files: one ChaCha8 stream, the ziggurat, lifetime
/// then gap per arrival) and, with [`Bare::DrawsAndQueue`], the engine's queue
/// under the floor's pattern of pushes and pops (docs/performance.md, "Eighth
/// round"). No node, pod subnet or tracker: the time left over is what a model
/// may spend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bare {
    /// Only the draws, in the floor's order.
    Draws,
    /// The draws and the queue: every arrival pushes its pod's end and the next
    /// arrival, and the queue is drained to each sample time.
    DrawsAndQueue,
    /// [`Bare::DrawsAndQueue`] with [`CalendarQueue`] in place of the engine's.
    DrawsAndCalendar,
}

/// What a [`replay_bare`] did: enough to tie it to the floor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BareOutcome {
    pub arrivals: u64,
    /// Events popped (zero for [`Bare::Draws`]).
    pub events: u64,
    /// The sum of every lifetime and gap drawn, in ms: the same for every part.
    pub drawn_ms: u64,
}

/// Replay only `part` of `churn`: see [`Bare`].
pub fn replay_bare(churn: &Churn, part: Bare) -> BareOutcome {
    assert!(churn.arrivals_per_hour > 0.0, "a churn needs arrivals");
    let mut rng = Streams::new(churn.seed).stream("churn/churn");
    let rate_per_ms = churn.arrivals_per_hour / 3_600_000.0;
    let mean_lifetime_ms = churn.mean_lifetime_s as f64 * 1000.0;
    let (duration_ms, step_ms) = (churn.duration_s * 1000, churn.sample_every_s.max(1) * 1000);
    let first = millis(cluster::standard_exponential(&mut rng) / rate_per_ms);
    let mut draw = |now: u64| {
        let lifetime = millis(cluster::standard_exponential(&mut rng) * mean_lifetime_ms);
        let gap = millis(cluster::standard_exponential(&mut rng) / rate_per_ms);
        (now + lifetime, now + gap)
    };
    let mut outcome = BareOutcome { arrivals: 0, events: 0, drawn_ms: 0 };
    match part {
        Bare::Draws => {
            let mut now = first;
            while now <= duration_ms {
                let (end, next) = draw(now);
                outcome.arrivals += 1;
                outcome.drawn_ms += (end - now) + (next - now);
                now = next;
            }
            outcome
        }
        Bare::DrawsAndQueue => drain(Simulation::new(), first, draw, duration_ms, step_ms, outcome),
        Bare::DrawsAndCalendar => drain(CalendarQueue::new(), first, draw, duration_ms, step_ms, outcome),
    }
}

/// The floor's queue: the engine's, or [`CalendarQueue`] to race it. Times in ms.
trait Pending<E> {
    fn push(&mut self, at_ms: u64, event: E);
    fn pop_until(&mut self, limit_ms: u64) -> Option<(u64, E)>;
}

impl<E: Copy> Pending<E> for Simulation<E> {
    #[inline(always)]
    fn push(&mut self, at_ms: u64, event: E) {
        self.schedule(SimTime::from_millis(at_ms), event);
    }
    #[inline(always)]
    fn pop_until(&mut self, limit_ms: u64) -> Option<(u64, E)> {
        Simulation::pop_until(self, SimTime::from_millis(limit_ms)).map(|(at, event)| (at.as_millis(), event))
    }
}

impl<E: Copy> Pending<E> for CalendarQueue<E> {
    #[inline(always)]
    fn push(&mut self, at_ms: u64, event: E) {
        CalendarQueue::push(self, at_ms, event);
    }
    #[inline(always)]
    fn pop_until(&mut self, limit_ms: u64) -> Option<(u64, E)> {
        CalendarQueue::pop_until(self, limit_ms)
    }
}

/// The floor's loop with nothing but its draws and `queue`: every arrival
/// pushes its pod's end and the next arrival; the queue drains to each sample.
fn drain(
    mut queue: impl Pending<Event<u32>>,
    first: u64,
    mut draw: impl FnMut(u64) -> (u64, u64),
    duration_ms: u64,
    step_ms: u64,
    mut outcome: BareOutcome,
) -> BareOutcome {
    if first <= duration_ms {
        queue.push(first, Event::Arrival);
    }
    let mut sample_at = 0u64;
    loop {
        while let Some((now, event)) = queue.pop_until(sample_at) {
            outcome.events += 1;
            if let Event::Arrival = event {
                let (end, next) = draw(now);
                queue.push(end, Event::End(outcome.arrivals as u32));
                if next <= duration_ms {
                    queue.push(next, Event::Arrival);
                }
                outcome.arrivals += 1;
                outcome.drawn_ms += (end - now) + (next - now);
            }
        }
        if sample_at >= duration_ms {
            break;
        }
        sample_at = (sample_at + step_ms).min(duration_ms);
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scenario `churn` describes, for the model.
    fn scenario_text(churn: &Churn, pod_subnet_prefix: u8) -> String {
        format!(
            "name: floor\nseed: {seed}\nduration: {duration}s\nsample_every: {every}s\nallocator: dynamic\n\
             network:\n  address_space: [10.32.0.0/11, 10.64.0.0/10]\n  subnets:\n    nodes: 10.32.0.0/24\n    \
             pods: 10.64.0.0/{pod_subnet_prefix}\n\
             clusters:\n  - name: c1\n    allocator: dynamic\n    scheduler: spread\n    node_pools:\n      \
             - {{name: pool1, count: {nodes}, vnet_subnet: nodes, pod_subnet: pods, max_pods: {max_pods}}}\n\
             workloads:\n  - {{name: churn, cluster: c1, kind: churn, arrivals_per_hour: {rate},\n     \
             lifetime: {{exponential: {lifetime}s}}}}\n",
            seed = churn.seed,
            duration = churn.duration_s,
            every = churn.sample_every_s,
            nodes = churn.nodes,
            max_pods = churn.max_pods,
            rate = churn.arrivals_per_hour,
            lifetime = churn.mean_lifetime_s,
        )
    }

    /// The floor (with and without pod records) and the model agree on every
    /// sample of the pod subnet, the event count, its peaks and the efficiency.
    fn check(churn: Churn, pod_subnet_prefix: u8) {
        let churn = Churn { pod_subnet_usable: (1 << (32 - pod_subnet_prefix)) - 5, ..churn };
        check_against(&churn, &scenario_text(&churn, pod_subnet_prefix));
    }

    fn check_against(churn: &Churn, text: &str) {
        let loaded = scenario::parse_str(text, "floor.yaml", &scenario::Overrides::default()).expect("valid");
        let model = cluster::replay(&loaded.scenario).expect("replays");
        assert!(model.events.is_empty(), "the floor covers runs without failures: {:?}", model.events);
        let pods = model.ranges.iter().position(|r| r.name == "pods").expect("a pods range") as u32;
        let samples: Vec<(u64, u64, u64)> =
            model.utilization.iter().filter(|s| s.range == pods).map(|s| (s.time_s, s.allocated, s.in_use)).collect();
        let range = &model.summary.ranges[pods as usize];
        let efficiency = model.summary.ip_efficiency_pct.expect("addresses allocated");
        for floor in [replay(churn), replay_with_pod_records(churn), replay_on_calendar(churn)] {
            assert_eq!(floor.samples, samples);
            assert_eq!(floor.events, model.events_processed);
            assert_eq!((floor.peak_allocated, floor.peak_in_use), (range.peak_allocated, range.peak_in_use));
            let pct = floor.ip_efficiency_pct;
            assert!((pct - efficiency).abs() < 1e-9, "{pct} vs {efficiency}");
        }
    }

    #[test]
    fn agrees_with_the_model_on_a_small_churn() {
        check(Churn { nodes: 7, max_pods: 40, arrivals_per_hour: 3_000.0, mean_lifetime_s: 240, ..short() }, 22);
    }

    /// `Churn::PEER` is `benches/peer-churn.yaml` (its first six hours): 100
    /// nodes, two words of spread's bitmaps.
    #[test]
    fn agrees_with_the_model_on_the_peer_churn() {
        let text = include_str!("peer-churn.yaml");
        let six_hours = text.replace("\nduration: 2d\n", "\nduration: 6h\n");
        assert_ne!(six_hours, text, "peer-churn.yaml has a duration line");
        check_against(&Churn { duration_s: 6 * 3_600, ..Churn::PEER }, &six_hours);
    }

    /// max_pods 30, less than two batches: every node's target is capped.
    #[test]
    fn agrees_with_the_model_near_max_pods() {
        check(Churn { nodes: 5, max_pods: 30, arrivals_per_hour: 1_800.0, mean_lifetime_s: 200, ..short() }, 24);
    }

    /// The bare parts draw what the floor draws and pop what it pops.
    #[test]
    fn bare_parts_draw_and_pop_as_the_floor() {
        let small = Churn { nodes: 7, max_pods: 40, arrivals_per_hour: 3_000.0, mean_lifetime_s: 240, ..short() };
        for churn in [Churn { duration_s: 6 * 3_600, ..Churn::PEER }, Churn { pod_subnet_usable: 1_019, ..small }] {
            let (draws, queue) = (replay_bare(&churn, Bare::Draws), replay_bare(&churn, Bare::DrawsAndQueue));
            assert_eq!(queue.events, replay(&churn).events);
            assert_eq!(replay_bare(&churn, Bare::DrawsAndCalendar), queue);
            assert_eq!((draws.arrivals, draws.drawn_ms), (queue.arrivals, queue.drawn_ms));
            assert_eq!(draws.events, 0);
            // Every arrival pops, and so does every end within the duration.
            assert!(queue.arrivals > 1_000 && queue.events > queue.arrivals && queue.events < 2 * queue.arrivals);
        }
    }

    /// `Churn::SCALE_1M_JOBS` is the `jobs` churn of `scenarios/scale-1m-pods.yaml`.
    #[test]
    fn scale_1m_jobs_is_the_scenarios_churn() {
        let text = include_str!("../scenarios/scale-1m-pods.yaml");
        let loaded = scenario::parse_str(text, "scale-1m-pods.yaml", &scenario::Overrides::default()).expect("valid");
        let scenario = &loaded.scenario;
        let jobs = scenario.workloads.iter().find(|w| w.name == "jobs").expect("a jobs workload");
        let scenario::WorkloadKind::Churn { arrivals_per_hour, lifetime, start: 0, end: None } = jobs.kind else {
            panic!("jobs is a churn over the whole run: {:?}", jobs.kind);
        };
        let churn = Churn::SCALE_1M_JOBS;
        assert_eq!(arrivals_per_hour, churn.arrivals_per_hour);
        assert_eq!(lifetime, scenario::Lifetime::Exponential(churn.mean_lifetime_s));
        assert_eq!(
            (scenario.seed, scenario.duration, scenario.sample_every),
            (churn.seed, churn.duration_s, churn.sample_every_s)
        );
        let nodes: u32 = scenario.clusters.iter().flat_map(|c| &c.node_pools).map(|p| p.count).sum();
        assert_eq!(nodes, churn.nodes);
        assert!(scenario.clusters.iter().flat_map(|c| &c.node_pools).all(|p| p.max_pods == churn.max_pods));
    }

    fn short() -> Churn {
        Churn { seed: 3, duration_s: 6 * 3_600, sample_every_s: 600, pod_subnet_usable: 0, ..Churn::PEER }
    }
}
