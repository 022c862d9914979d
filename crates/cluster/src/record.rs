//! What a replay records: samples, events and the exact summary figures.

use allocator::FailureKind;
use engine::SimTime;
use net::{AddressSpace, Ipv4Net, RangeKind};

/// A kind of `events.csv` row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventKind {
    Allocation(FailureKind),
    UpgradeBlocked,
    PodUnschedulable,
}

impl EventKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            EventKind::Allocation(kind) => kind.as_str(),
            EventKind::UpgradeBlocked => "upgrade-blocked",
            EventKind::PodUnschedulable => "pod-unschedulable",
        }
    }

    /// Exhaustion kinds count in `summary.csv`; `pod-unschedulable` is about
    /// node capacity, not addresses, and does not.
    pub const fn is_exhaustion(self) -> bool {
        !matches!(self, EventKind::PodUnschedulable)
    }
}

/// One address range as outputs name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeInfo {
    /// The subnet's name, or `<cluster>/pod-cidr`.
    pub name: String,
    pub prefix: Ipv4Net,
    pub is_vnet_subnet: bool,
    /// Addresses per claim when a mode claims the range in blocks of its own
    /// (`Allocator::claim_unit`: Calico's IPAM blocks).
    pub block: Option<u64>,
}

/// One node pool as outputs name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolInfo {
    pub cluster: String,
    pub pool: String,
}

/// A `utilization.csv` row (names in [`Replay::ranges`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RangeSample {
    pub time_s: u64,
    pub range: u32,
    pub usable: u64,
    pub allocated: u64,
    pub in_use: u64,
    /// Free aligned /28s ([`net::AddressRange::free_blocks`]): how fragmented the free addresses are.
    pub free_blocks_28: u64,
}

/// A `cluster.csv` row (names in [`Replay::pools`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSample {
    pub time_s: u64,
    pub pool: u32,
    pub nodes: u32,
    pub pods_running: u64,
    pub pods_waiting_ip: u64,
    pub pods_unschedulable: u64,
}

/// An `events.csv` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    pub time_s: u64,
    pub kind: EventKind,
    pub cluster: String,
    pub pool: String,
    pub node: String,
    pub range: String,
    pub detail: String,
    /// What ran out: the allocation kind itself, or what blocked an upgrade's
    /// surge nodes; `None` for `pod-unschedulable`.
    pub cause: Option<FailureKind>,
}

impl EventRecord {
    /// Whether a larger range would have avoided the event: an address
    /// exhaustion, or an upgrade blocked for want of addresses. A full route
    /// table and unschedulable pods are not (plan.md).
    pub fn is_size_dependent(&self) -> bool {
        match self.kind {
            EventKind::Allocation(kind) => kind.fixed_by_size(),
            EventKind::UpgradeBlocked => self.cause.is_some_and(FailureKind::fixed_by_size),
            EventKind::PodUnschedulable => false,
        }
    }
}

/// The `summary.csv` figures, exact (tracked at every change of state).
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Peak `allocated` of the busiest VNet subnet (the one with the highest peak
    /// `allocated / usable`; ties go to the first in file order).
    pub peak_allocated: u64,
    pub peak_allocated_pct: f64,
    /// The busiest subnet's name, and its peak `in_use`.
    pub busiest_range: Option<String>,
    pub peak_in_use: u64,
    pub first_exhaustion_s: Option<u64>,
    /// When any VNet subnet first had at least 80 % / 100 % of its usable
    /// addresses allocated (exact).
    pub first_80_pct_s: Option<u64>,
    pub first_100_pct_s: Option<u64>,
    pub exhaustion_events: u64,
    /// Nodes that operations asked for and could not create (counted once per
    /// logged failure, like the events).
    pub nodes_failed: u64,
    /// Pods that had to wait for an IP after being bound (each wait counts once).
    pub pod_ip_waits: u64,
    pub max_pods_waiting_ip: u64,
    /// Time-averaged `in_use / allocated` over all VNet subnets together, × 100,
    /// over the time they had anything allocated. `None` if they never did.
    pub ip_efficiency_pct: Option<f64>,
    /// Every range's own figures, in [`Replay::ranges`] order (pod CIDRs too).
    pub ranges: Vec<RangeSummary>,
}

/// How full one address range got, exact (tracked at every change of state).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RangeSummary {
    pub peak_allocated: u64,
    /// When `peak_allocated` was first reached (`None` while nothing was ever
    /// allocated), and the number of simulation events processed by then (0:
    /// at time zero), which finds the same moment in a replay that follows the
    /// same trajectory (see `Options::breakdowns`).
    pub peak_at_s: Option<u64>,
    pub peak_event: u64,
    /// Unconstrained replays: the most addresses ever allocated at once, even
    /// within an event (an operation that takes addresses and then fails on a
    /// full route table gives them back before the event ends); otherwise
    /// equal to `peak_allocated`. What a range must hold to see no exhaustion.
    pub peak_transient: u64,
    pub peak_in_use: u64,
    /// When the range first had at least 80 % / 100 % of its usable addresses allocated.
    pub first_80_pct_s: Option<u64>,
    pub first_100_pct_s: Option<u64>,
}

/// One range's running figures, together so that `Tracker::observe` reads one
/// record per range.
#[derive(Debug, Clone, Copy)]
struct RangeTrack {
    peak_allocated: u64,
    peak_at: Option<SimTime>,
    peak_event: u64,
    peak_in_use: u64,
    /// The allocated counts that reach 80 % and 100 % of the usable addresses,
    /// set to `u64::MAX` once reached (or if never reachable): one comparison
    /// per event each.
    next_80: u64,
    next_100: u64,
    /// When the range first reached 80 % and 100 % allocated.
    at_80: Option<SimTime>,
    at_100: Option<SimTime>,
    /// A VNet subnet (the summary's figures are over those).
    vnet: bool,
}

/// Running statistics behind [`Summary`].
#[derive(Debug, Clone, Default)]
pub(crate) struct Tracker {
    /// Per range, in the address space's order.
    ranges: Vec<RangeTrack>,
    last_change: SimTime,
    /// Σ in_use / Σ allocated over VNet subnets since `last_change`, if allocated > 0.
    ratio: Option<f64>,
    /// The `(Σ in_use, Σ allocated)` that `ratio` was computed from.
    ratio_of: (u64, u64),
    weighted_ratio: f64,
    weighted_time: f64,
    first_80_pct: Option<SimTime>,
    first_100_pct: Option<SimTime>,
    pub waiting_now: u64,
    pub max_waiting: u64,
    pub pod_ip_waits: u64,
    pub nodes_failed: u64,
}

impl Tracker {
    /// For the ranges of `space` (fixed for the whole run).
    pub fn new(space: &AddressSpace) -> Self {
        // allocated × 100 ≥ usable × pct  ⇔  allocated ≥ ⌈usable × pct / 100⌉.
        let threshold = |usable: u64, pct: u64| {
            if usable == 0 { u64::MAX } else { (u128::from(usable) * u128::from(pct)).div_ceil(100) as u64 }
        };
        let ranges = space
            .iter()
            .map(|(_, r)| RangeTrack {
                peak_allocated: 0,
                peak_at: None,
                peak_event: 0,
                peak_in_use: 0,
                next_80: threshold(r.usable(), 80),
                next_100: threshold(r.usable(), 100),
                at_80: None,
                at_100: None,
                vnet: r.kind() == RangeKind::VnetSubnet,
            })
            .collect();
        Self { ranges, ..Self::default() }
    }

    /// Fold in the state after everything that happened at `now`.
    ///
    /// Runs after every event, so it reads each range's two counters and does
    /// little else: a threshold can only be crossed by a new peak, and the
    /// ratio is recomputed only when the totals it divides changed.
    #[inline(always)]
    pub fn observe(&mut self, now: SimTime, event: u64, space: &AddressSpace) {
        self.close_interval(now);
        let (mut in_use, mut allocated) = (0u64, 0u64);
        for (track, range) in self.ranges.iter_mut().zip(space.ranges()) {
            let (range_allocated, range_in_use) = (range.allocated(), range.in_use());
            track.peak_in_use = track.peak_in_use.max(range_in_use);
            if range_allocated > track.peak_allocated {
                track.peak_allocated = range_allocated;
                track.peak_at = Some(now);
                track.peak_event = event;
                if range_allocated >= track.next_80.min(track.next_100) {
                    Self::crossed(track, range_allocated, now, &mut self.first_80_pct, &mut self.first_100_pct);
                }
            }
            let vnet_mask = u64::from(track.vnet).wrapping_neg();
            in_use += range_in_use & vnet_mask;
            allocated += range_allocated & vnet_mask;
        }
        if (in_use, allocated) != self.ratio_of {
            self.ratio_of = (in_use, allocated);
            self.ratio = (allocated > 0).then(|| in_use as f64 / allocated as f64);
        }
        self.max_waiting = self.max_waiting.max(self.waiting_now);
    }

    /// `track`'s range reached one of its thresholds at `now`.
    #[cold]
    fn crossed(
        track: &mut RangeTrack,
        allocated: u64,
        now: SimTime,
        first_80_pct: &mut Option<SimTime>,
        first_100_pct: &mut Option<SimTime>,
    ) {
        if allocated >= track.next_80 {
            track.next_80 = u64::MAX;
            track.at_80 = Some(now);
            if track.vnet {
                first_80_pct.get_or_insert(now);
            }
        }
        if allocated >= track.next_100 {
            track.next_100 = u64::MAX;
            track.at_100 = Some(now);
            if track.vnet {
                first_100_pct.get_or_insert(now);
            }
        }
    }

    fn close_interval(&mut self, now: SimTime) {
        let dt = now.saturating_sub(self.last_change).as_millis() as f64;
        if let Some(ratio) = self.ratio {
            self.weighted_ratio += ratio * dt;
            self.weighted_time += dt;
        }
        self.last_change = now;
    }

    pub fn finish(mut self, end: SimTime, space: &AddressSpace, events: &[EventRecord]) -> Summary {
        self.close_interval(end);
        let mut busiest: Option<(usize, f64)> = None;
        for (i, (_, range)) in space.iter().enumerate() {
            if range.kind() != RangeKind::VnetSubnet || range.usable() == 0 {
                continue;
            }
            let pct = 100.0 * self.ranges[i].peak_allocated as f64 / range.usable() as f64;
            if busiest.is_none_or(|(_, best)| pct > best) {
                busiest = Some((i, pct));
            }
        }
        let exhaustions = events.iter().filter(|e| e.kind.is_exhaustion());
        let ip_efficiency_pct = if self.weighted_time > 0.0 {
            // The ratio is constant between changes, so a run that never holds an
            // address at all has no efficiency rather than 0 %.
            Some(100.0 * self.weighted_ratio / self.weighted_time)
        } else {
            self.ratio.map(|ratio| 100.0 * ratio)
        };
        Summary {
            peak_allocated: busiest.map_or(0, |(i, _)| self.ranges[i].peak_allocated),
            peak_allocated_pct: busiest.map_or(0.0, |(_, pct)| pct),
            busiest_range: busiest
                .map(|(i, _)| space.iter().nth(i).map(|(_, r)| r.name().to_string()).unwrap_or_default()),
            peak_in_use: busiest.map_or(0, |(i, _)| self.ranges[i].peak_in_use),
            first_exhaustion_s: exhaustions.clone().map(|e| e.time_s).min(),
            first_80_pct_s: self.first_80_pct.map(SimTime::as_secs),
            first_100_pct_s: self.first_100_pct.map(SimTime::as_secs),
            exhaustion_events: exhaustions.count() as u64,
            nodes_failed: self.nodes_failed,
            pod_ip_waits: self.pod_ip_waits,
            max_pods_waiting_ip: self.max_waiting,
            ip_efficiency_pct,
            ranges: self
                .ranges
                .iter()
                .zip(space.ranges())
                .map(|(r, range)| RangeSummary {
                    peak_allocated: r.peak_allocated,
                    peak_transient: r.peak_allocated.max(range.high_water()),
                    peak_at_s: r.peak_at.map(SimTime::as_secs),
                    peak_event: r.peak_event,
                    peak_in_use: r.peak_in_use,
                    first_80_pct_s: r.at_80.map(SimTime::as_secs),
                    first_100_pct_s: r.at_100.map(SimTime::as_secs),
                })
                .collect(),
        }
    }
}

/// Ask a replay to record which nodes hold `range` right after simulation event
/// number `event` (0: after time zero) — the moment a range reached its peak in
/// an earlier replay of the same trajectory ([`RangeSummary::peak_event`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct BreakdownAt {
    pub event: u64,
    /// Index into [`Replay::ranges`].
    pub range: u32,
}

/// Who held a range's addresses at one moment: the arithmetic behind a peak.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breakdown {
    pub at: BreakdownAt,
    pub time_s: u64,
    /// The range's `allocated` then: the sum of `holders`' nodes × each.
    pub allocated: u64,
    /// Nodes grouped by pool and by how many addresses each holds, in pool
    /// order, then most held first.
    pub holders: Vec<Holders>,
    /// What the scenario was doing: the event just handled, then what was under
    /// way (upgrades).
    pub doing: Vec<String>,
}

/// `nodes` nodes of one pool each holding `each` addresses of a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holders {
    /// Index into [`Replay::pools`].
    pub pool: u32,
    pub nodes: u32,
    pub each: u64,
}

/// Everything one replay produced, in memory: cheap to compare, merge or write.
#[derive(Debug, Clone)]
pub struct Replay {
    /// The scenario's `name`.
    pub scenario_name: String,
    /// The allocator column: the allocator's name, or the names of a scenario's
    /// clusters joined by `+` when they differ.
    pub allocator: String,
    pub ranges: Vec<RangeInfo>,
    pub pools: Vec<PoolInfo>,
    /// In time order, then range order.
    pub utilization: Vec<RangeSample>,
    /// In time order, then pool order.
    pub cluster: Vec<PoolSample>,
    /// In the order they happened.
    pub events: Vec<EventRecord>,
    pub summary: Summary,
    /// Simulation events processed.
    pub events_processed: u64,
    pub duration_s: u64,
    /// The snapshots `Options::breakdowns` asked for, in the order asked.
    pub breakdowns: Vec<Breakdown>,
}
