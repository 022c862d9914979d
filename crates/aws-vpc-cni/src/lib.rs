//! `aws-vpc-cni` and `aws-prefix`: the Amazon VPC CNI's IP address manager,
//! ipamd (`../shared/research/other-clouds.md` §1–2), in secondary-IP mode and
//! with prefix delegation.
//!
//! A node attaches ENIs (up to its machine's limit). Every ENI takes its
//! primary address from the node subnet (the first ENI's is the node's IP)
//! and holds *slots*: secondary IPs, or aligned /28 prefixes of 16 addresses
//! (from the pool's `pod_subnet` when it names one, modelling a subnet CIDR
//! reservation, else from the node subnet). Pods take addresses from their
//! node's slots, first ENI first; a pod with none waits.
//!
//! ipamd's pool monitor decides on its own clock, every 5 s per node: short
//! of its warm target it tops up an ENI with room, else attaches a new ENI;
//! over it, it releases what its mode lets it (never single IPs under
//! `warm_eni_target`), at most once per 30 s, and detaches an unused ENI at
//! least a minute old. A released pod IP cools down for `ip_cooldown` (30 s):
//! unusable, yet counted as available. After EC2 says the subnet is short
//! (`InsufficientFreeAddressesInSubnet`, `InsufficientCidrBlocks`) it stops
//! asking for 120 s. podip runs the monitor only at the ticks where it can act
//! (every change asks for the next tick), which gives the same decisions as
//! polling, at the same times.
//!
//! **Assumptions** (docs/model.md): a new ENI's addresses are usable at the
//! tick that attaches it (the attach latency, "up to 10 seconds", is not
//! modelled); pods take the first free address of the oldest ENI, and a
//! departing pod frees one of the newest ENI that has one (podip does not
//! track which pod holds which address); ipamd releases and detaches the
//! newest first.

use std::collections::VecDeque;

use allocator::{
    AddressRange, AddressSpace, Allocator, Build, Failure, FailureKind, Finding, Granularity, InUse, Machine, MaxPods,
    Mode, NodeId, NodeSpec, NodeTable, RangeId, Request, Role, SettingSpec, Settings, SubnetRules, Update, Wake,
    return_node_ip, take_node_ip,
};

pub mod machines;

/// The subnet could not supply the addresses (EC2's `InsufficientFreeAddressesInSubnet`).
pub const POD_IP_EXHAUSTED: FailureKind = FailureKind::sized("pod-ip-exhausted");
/// No aligned /28 free although addresses are (EC2's `InsufficientCidrBlocks`).
pub const INSUFFICIENT_CIDR_BLOCKS: FailureKind = FailureKind::sized("insufficient-cidr-blocks");
/// Pods wait and the node has every ENI attached and full: no size fixes it.
pub const ENI_LIMIT: FailureKind = FailureKind::limit("eni-limit");

/// ipamd's pool monitor interval (`ipPoolMonitorInterval`).
pub const MONITOR_MS: u64 = 5_000;
/// The least time between two releases (`decreaseIPPoolInterval`).
pub const DECREASE_INTERVAL_MS: u64 = 30_000;
/// An ENI younger than this is never detached (`minENILifeTime`).
pub const MIN_ENI_LIFETIME_MS: u64 = 60_000;
/// No request for this long after the subnet ran short (`insufficientCidrErrorCooldown`).
pub const INSUFFICIENT_BACKOFF_MS: u64 = 120_000;
/// Addresses in a prefix.
pub const PREFIX_IPS: u32 = 16;

const SETTINGS: &[SettingSpec] = &[
    SettingSpec { key: "warm_eni_target", default: "1", help: "ENIs' worth of free IPs to keep (secondary IPs)" },
    SettingSpec {
        key: "warm_ip_target",
        default: "0",
        help: "free IPs to keep; with minimum_ip_target, overrides the others",
    },
    SettingSpec { key: "minimum_ip_target", default: "0", help: "IPs to hold however few pods run" },
    SettingSpec {
        key: "warm_prefix_target",
        default: "1",
        help: "free /28 prefixes to keep (prefix delegation; the shipped manifest's 1)",
    },
    SettingSpec { key: "ip_cooldown", default: "30", help: "seconds a released pod IP stays unusable" },
];

/// Secondary-IP mode.
pub static MODE: Mode = Mode {
    cloud_name: "Amazon VPC CNI (secondary IPs)",
    summary: "ENIs from the node subnet, each with secondary IPs for pods, kept warm by ipamd's targets",
    machines: Some(&machines::SECONDARY),
    failure_words: |f, space| failure_words(false, f, space),
    ..base("aws-vpc-cni", |b| build(b, false))
};

/// Prefix delegation.
pub static PREFIX_MODE: Mode = Mode {
    cloud_name: "Amazon VPC CNI (prefix delegation)",
    summary: "ENIs from the node subnet, each with aligned /28 prefixes for pods (from the pool's pod_subnet, a \
              prefix reservation, if it names one)",
    machines: Some(&machines::PREFIX),
    failure_words: |f, space| failure_words(true, f, space),
    pod_subnet: Some(Granularity::BLOCK28),
    pod_subnet_rules: SubnetRules::AWS_RESERVATION,
    pod_subnet_optional: true,
    check_pod_subnet: |name, prefix| {
        if prefix.prefix_len() > 28 {
            vec![Finding::error(
                "",
                format!(
                    "pod subnet `{name}` ({prefix}) is smaller than a /28: a prefix reservation holds whole /28 prefixes"
                ),
            )]
        } else {
            Vec::new()
        }
    },
    in_use: |running| InUse { range: Role::PodSubnet, min: running, max: running },
    // In a reservation a node holds prefixes only; in its node subnet its
    // ENIs' primaries too (fewer than 16: validation allows at most 15 ENIs).
    holding: |each| match (each / 16, each % 16) {
        (0, _) => None,
        (prefixes, 0) => Some(format!("{prefixes} /28 prefixes")),
        (prefixes, 1) => Some(format!("1 ENI primary + {prefixes} /28 prefixes")),
        (prefixes, enis) => Some(format!("{enis} ENI primaries + {prefixes} /28 prefixes")),
    },
    ..base("aws-prefix", |b| build(b, true))
};

const fn base(name: &'static str, build: fn(&Build<'_>) -> Box<dyn Allocator>) -> Mode {
    Mode {
        max_pods: MaxPods { default: 110, min: 10, max: 250 },
        subnet_rules: SubnetRules::AWS,
        windows: false,
        failures: &[POD_IP_EXHAUSTED, INSUFFICIENT_CIDR_BLOCKS, ENI_LIMIT],
        settings_key: Some("aws_vpc_cni"),
        settings: SETTINGS,
        check_settings,
        ..Mode::base(name, build)
    }
}

/// EC2's errors and the CNI's message (other-clouds.md §1–2), for events.
fn failure_words(prefix: bool, failure: &Failure, space: &AddressSpace) -> Option<String> {
    let retry = "ipamd asks again in 120 s";
    let blocks = failure.range.map_or(0, |r| space[r].free_blocks(28));
    let cidr_blocks = "InsufficientCidrBlocks: The specified subnet does not have enough free cidr blocks to satisfy \
                       the request";
    if failure.kind == POD_IP_EXHAUSTED && prefix {
        Some(format!("fewer than 16 addresses free; EC2: {cidr_blocks}; {retry}"))
    } else if failure.kind == POD_IP_EXHAUSTED {
        Some(format!(
            "EC2: InsufficientFreeAddressesInSubnet: The specified subnet does not have enough free addresses to \
             satisfy the request; {retry}"
        ))
    } else if failure.kind == INSUFFICIENT_CIDR_BLOCKS {
        Some(format!("{blocks} free /28s; EC2: {cidr_blocks}; {retry}"))
    } else if failure.kind == ENI_LIMIT {
        Some(
            "CNI: add cmd: failed to assign an IP address to container (every ENI attached and full; available \
             counts IPs in their 30 s cooldown)"
                .to_owned(),
        )
    } else {
        None
    }
}

/// ipamd's settings, read and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// `ENABLE_PREFIX_DELEGATION`.
    pub prefix: bool,
    pub warm_eni_target: u32,
    pub warm_ip_target: u32,
    pub minimum_ip_target: u32,
    pub warm_prefix_target: u32,
    pub ip_cooldown_ms: u64,
}

impl Config {
    /// The CNI's defaults: WARM_ENI_TARGET 1, the shipped manifest's
    /// WARM_PREFIX_TARGET 1, a 30 s cooldown.
    pub fn default_for(prefix: bool) -> Self {
        Config {
            prefix,
            warm_eni_target: 1,
            warm_ip_target: 0,
            minimum_ip_target: 0,
            warm_prefix_target: 1,
            ip_cooldown_ms: 30_000,
        }
    }

    pub fn from_settings(s: &Settings, prefix: bool) -> Result<Self, Finding> {
        let d = Config::default_for(prefix);
        let int = |key, default: u32, max| s.int(key, i64::from(default), 0..=max).map(|v| v as u32);
        Ok(Config {
            prefix,
            warm_eni_target: int("warm_eni_target", d.warm_eni_target, 64)?,
            warm_ip_target: int("warm_ip_target", d.warm_ip_target, 10_000)?,
            minimum_ip_target: int("minimum_ip_target", d.minimum_ip_target, 10_000)?,
            warm_prefix_target: int("warm_prefix_target", d.warm_prefix_target, 1_000)?,
            ip_cooldown_ms: u64::from(int("ip_cooldown", 30, 3_600)?) * 1000,
        })
    }

    /// `WARM_IP_TARGET` or `MINIMUM_IP_TARGET` set: they override the ENI and
    /// prefix targets.
    pub fn warm_ip_mode(self) -> bool {
        self.warm_ip_target > 0 || self.minimum_ip_target > 0
    }
}

fn check_settings(settings: &Settings) -> Vec<Finding> {
    match Config::from_settings(settings, false) {
        Err(finding) => vec![finding],
        Ok(c) if c.minimum_ip_target > 0 && c.warm_ip_target == 0 => vec![Finding::warning(
            "minimum_ip_target",
            "minimum_ip_target without warm_ip_target: ipamd takes WARM_IP_TARGET as 0, so once the minimum is held \
             it never asks for another IP and pods beyond it wait for ever (the CNI README: \"This configuration will \
             prevent future ENIs/IPs from being allocated\"); set warm_ip_target too",
        )],
        Ok(_) => Vec::new(),
    }
}

fn build(build: &Build<'_>, prefix: bool) -> Box<dyn Allocator> {
    Box::new(Ipamd::new(Config::from_settings(build.settings, prefix).expect("checked by check_settings")))
}

/// One secondary IP, or one /28 prefix.
#[derive(Debug, Clone, Copy)]
struct Slot {
    /// Its unit in the range it came from (a prefix's first).
    start: u32,
    assigned: u32,
    cooling: u32,
}

impl Slot {
    fn unused(self) -> bool {
        self.assigned == 0 && self.cooling == 0
    }
}

#[derive(Debug)]
struct Eni {
    primary: u32,
    attached_ms: u64,
    slots: Vec<Slot>,
}

#[derive(Debug)]
struct Node {
    node_subnet: RangeId,
    /// Where slots come from: the node subnet, or the pool's prefix reservation.
    slots_from: RangeId,
    /// Units of `slots_from` per slot: 1 for a secondary IP or a /28 of a
    /// /28-unit range; 16 for a prefix of a single-address range.
    slot_units: u32,
    machine: Machine,
    max_pods: u32,
    created_ms: u64,
    enis: Vec<Eni>,
    demand: u32,
    started: u32,
    /// Released pod IPs cooling down: (usable again at, the slot's start).
    cooling: VecDeque<(u64, u32)>,
    next_tick: Option<u64>,
    last_decrease_ms: Option<u64>,
    backoff_until_ms: u64,
    /// A failure was reported and no pod has started since: the next start
    /// ends the episode, so the next failure is an event of its own.
    failing: bool,
}

/// The allocator for the nodes of one cluster.
#[derive(Debug)]
pub struct Ipamd {
    config: Config,
    nodes: NodeTable<Node>,
    now_ms: u64,
    wakes: Vec<Wake>,
}

/// What the pool monitor did and when it wants to look again.
struct Decision {
    request: Request,
    again_at: Option<u64>,
}

impl Ipamd {
    pub fn new(config: Config) -> Self {
        Ipamd { config, nodes: NodeTable::default(), now_ms: 0, wakes: Vec::new() }
    }

    /// Addresses in one slot.
    fn slot_ips(&self) -> u32 {
        if self.config.prefix { PREFIX_IPS } else { 1 }
    }

    /// (ENIs, IPs across them) of `node`, for tests and reports.
    pub fn holding(&self, node: NodeId) -> (usize, u64) {
        let n = self.nodes.get(node);
        (n.enis.len(), self.total(n))
    }

    /// Prefixes (or secondary IPs) per ENI of `node`, and the addresses each
    /// has unassigned, in ENI order.
    pub fn slots(&self, node: NodeId) -> Vec<Vec<u32>> {
        let ips = self.slot_ips();
        self.nodes.get(node).enis.iter().map(|e| e.slots.iter().map(|s| ips - s.assigned).collect()).collect()
    }

    fn total(&self, n: &Node) -> u64 {
        n.enis.iter().map(|e| e.slots.len() as u64).sum::<u64>() * u64::from(self.slot_ips())
    }

    /// Slots an ENI can hold: one per non-primary IPv4 address.
    fn max_slots(n: &Node) -> usize {
        n.machine.addresses_per_interface as usize - 1
    }

    /// IPs short of the warm-IP targets (`datastoreTargetState`).
    fn short_ips(&self, n: &Node) -> u64 {
        let (total, assigned) = (self.total(n), u64::from(n.started));
        let available = total - assigned;
        let c = self.config;
        u64::from(c.warm_ip_target).saturating_sub(available).max(u64::from(c.minimum_ip_target).saturating_sub(total))
    }

    /// IPs over the warm-IP targets.
    fn over_ips(&self, n: &Node) -> u64 {
        let (total, assigned) = (self.total(n), u64::from(n.started));
        let available = total - assigned;
        let c = self.config;
        available.saturating_sub(u64::from(c.warm_ip_target)).min(total.saturating_sub(u64::from(c.minimum_ip_target)))
    }

    /// Prefixes with no IP assigned (ipamd's free prefixes; IPs cooling in
    /// them do not count as assigned, but keep them from being released).
    fn free_prefixes(n: &Node) -> u64 {
        n.enis.iter().flat_map(|e| &e.slots).filter(|s| s.assigned == 0).count() as u64
    }

    /// `isDatastorePoolTooLow`.
    fn too_low(&self, n: &Node) -> bool {
        let total = self.total(n);
        if total >= u64::from(n.max_pods) {
            return false;
        }
        let c = self.config;
        let available = total - u64::from(n.started);
        if c.warm_ip_mode() {
            self.short_ips(n) > 0
        } else if c.prefix {
            available < u64::from(PREFIX_IPS * c.warm_prefix_target) || (c.warm_prefix_target == 0 && available == 0)
        } else {
            let per_eni = Self::max_slots(n) as u64;
            available < per_eni * u64::from(c.warm_eni_target) || (c.warm_eni_target == 0 && available == 0)
        }
    }

    /// Slots the monitor asks for when the pool is too low.
    fn wanted_slots(&self, n: &Node) -> usize {
        let c = self.config;
        if c.warm_ip_mode() {
            let short = self.short_ips(n);
            (if c.prefix { short.div_ceil(u64::from(PREFIX_IPS)) } else { short }).max(1) as usize
        } else if c.prefix {
            (u64::from(c.warm_prefix_target).saturating_sub(Self::free_prefixes(n))).max(1) as usize
        } else {
            // Warm-ENI mode fills whole ENIs.
            Self::max_slots(n)
        }
    }

    /// Take `want` slots for ENI `eni` of `node`, all or none as EC2 assigns
    /// them, or, with `retry_one`, one after a refusal (ipamd's retry on an
    /// attached ENI); the failure if the range gave none.
    fn take_slots(
        &mut self,
        node: NodeId,
        eni: usize,
        want: usize,
        retry_one: bool,
        space: &mut AddressSpace,
    ) -> Result<(), Failure> {
        let (prefix, slot_ips) = (self.config.prefix, self.slot_ips());
        let n = self.nodes.get_mut(node);
        let range = &mut space[n.slots_from];
        let mut units = Vec::with_capacity(want);
        if take_all(range, n.slot_units, want, &mut units)
            || (retry_one && take_all(range, n.slot_units, 1, &mut units))
        {
            n.enis[eni].slots.extend(units.into_iter().map(|start| Slot { start, assigned: 0, cooling: 0 }));
            return Ok(());
        }
        let free = range.free();
        // A prefix refused while a /28's worth of addresses is free: EC2's
        // InsufficientCidrBlocks (no aligned /28 whole, or fewer than asked).
        let kind = if prefix && free >= u64::from(PREFIX_IPS) { INSUFFICIENT_CIDR_BLOCKS } else { POD_IP_EXHAUSTED };
        let wanted = want as u64 * u64::from(slot_ips);
        Err(Failure { kind, range: Some(n.slots_from), wanted, available: free })
    }

    /// `increaseDatastorePool`: top up the first ENI with room, else attach one.
    fn increase(&mut self, node: NodeId, space: &mut AddressSpace) -> Decision {
        let now = self.now_ms;
        let n = self.nodes.get(node);
        let want = self.wanted_slots(n);
        let max_slots = Self::max_slots(n);
        let failed = |this: &mut Self, failure: Failure| {
            let n = this.nodes.get_mut(node);
            n.backoff_until_ms = now + INSUFFICIENT_BACKOFF_MS;
            Decision { request: Request::Failed(failure), again_at: Some(n.backoff_until_ms) }
        };
        if let Some(eni) = n.enis.iter().position(|e| e.slots.len() < max_slots) {
            let room = max_slots - n.enis[eni].slots.len();
            let ask = if self.config.warm_ip_mode() || self.config.prefix { want.min(room) } else { room };
            return match self.take_slots(node, eni, ask, true, space) {
                Ok(()) => Decision { request: Request::Granted, again_at: Some(now + 1) },
                Err(failure) => failed(self, failure),
            };
        }
        if n.enis.len() as u32 >= n.machine.interfaces {
            // Every ENI attached and full: only pods that wait make it an event.
            let waiting = n.demand - n.started;
            // Available as ipamd counts it: cooling IPs included.
            let available = self.total(n) - u64::from(n.started);
            let request = if waiting > 0 {
                Request::Failed(Failure { kind: ENI_LIMIT, range: None, wanted: u64::from(waiting), available })
            } else {
                Request::None
            };
            return Decision { request, again_at: None };
        }
        let subnet = n.node_subnet;
        let Some(primary) = space[subnet].take() else {
            let failure = Failure { kind: POD_IP_EXHAUSTED, range: Some(subnet), wanted: 1, available: 0 };
            return failed(self, failure);
        };
        let n = self.nodes.get_mut(node);
        n.enis.push(Eni { primary, attached_ms: now, slots: Vec::new() });
        let eni = n.enis.len() - 1;
        let ask = want.min(max_slots);
        match self.take_slots(node, eni, ask, false, space) {
            Ok(()) => Decision { request: Request::Granted, again_at: Some(now + 1) },
            Err(failure) => {
                // CreateNetworkInterface asks for its addresses at once: no ENI.
                self.nodes.get_mut(node).enis.pop();
                space[subnet].give_back(primary);
                failed(self, failure)
            }
        }
    }

    /// `decreaseDatastorePool` and `tryFreeENI`.
    fn decrease(&mut self, node: NodeId, space: &mut AddressSpace) -> Decision {
        let now = self.now_ms;
        let c = self.config;
        let n = self.nodes.get(node);
        let mut again_at = None;
        // Slots over the target, in slots (warm-ENI mode never releases single IPs).
        let over = if c.warm_ip_mode() {
            let over = self.over_ips(n);
            if c.prefix { over / u64::from(PREFIX_IPS) } else { over }
        } else if c.prefix {
            Self::free_prefixes(n).saturating_sub(u64::from(c.warm_prefix_target))
        } else {
            0
        };
        let releasable = n.enis.iter().flat_map(|e| &e.slots).any(|s| s.unused());
        if over > 0 && releasable {
            match n.last_decrease_ms {
                Some(last) if now < last + DECREASE_INTERVAL_MS => again_at = Some(last + DECREASE_INTERVAL_MS),
                _ => {
                    self.release_slots(node, over as usize, space);
                    self.nodes.get_mut(node).last_decrease_ms = Some(now);
                    again_at = Some(now + 1);
                }
            }
        }
        // Detach one ENI: never the primary, unused, a minute old; under
        // warm-ENI (secondary) only with a whole ENI more free than the target.
        let n = self.nodes.get(node);
        let per_eni = Self::max_slots(n) as u64 * u64::from(self.slot_ips());
        let available = self.total(n) - u64::from(n.started);
        let warm_eni = !c.warm_ip_mode() && !c.prefix;
        let surplus = available >= u64::from(c.warm_eni_target + 1) * per_eni;
        let unused =
            |e: &Eni| if warm_eni { surplus && e.slots.iter().all(|s| s.unused()) } else { e.slots.is_empty() };
        // The minute is each ENI's own condition: the newest that meets it
        // goes; if none does yet, look again when the first comes of age.
        let of_age = |e: &Eni| now >= e.attached_ms + MIN_ENI_LIFETIME_MS;
        let candidate = n.enis.iter().enumerate().skip(1).rev().find(|(_, e)| unused(e) && of_age(e)).map(|(i, _)| i);
        if let Some(i) = candidate {
            self.detach(node, i, space);
            again_at = Some(now + 1);
        } else if let Some(at) =
            n.enis.iter().skip(1).filter(|e| unused(e)).map(|e| e.attached_ms + MIN_ENI_LIFETIME_MS).min()
        {
            again_at = Some(again_at.map_or(at, |a: u64| a.min(at)));
        }
        Decision { request: Request::None, again_at }
    }

    /// Give back up to `count` unused slots, newest ENI and newest slot first.
    fn release_slots(&mut self, node: NodeId, mut count: usize, space: &mut AddressSpace) {
        let n = self.nodes.get_mut(node);
        let range = &mut space[n.slots_from];
        for eni in n.enis.iter_mut().rev() {
            let mut i = eni.slots.len();
            while i > 0 && count > 0 {
                i -= 1;
                if eni.slots[i].unused() {
                    let slot = eni.slots.remove(i);
                    give_back(range, slot.start, n.slot_units);
                    count -= 1;
                }
            }
        }
    }

    fn detach(&mut self, node: NodeId, eni: usize, space: &mut AddressSpace) {
        let n = self.nodes.get_mut(node);
        let e = n.enis.remove(eni);
        for slot in e.slots {
            give_back(&mut space[n.slots_from], slot.start, n.slot_units);
        }
        space[n.node_subnet].give_back(e.primary);
    }

    /// The pool monitor's pass at the current time.
    fn monitor(&mut self, node: NodeId, space: &mut AddressSpace) -> Decision {
        let n = self.nodes.get(node);
        if self.too_low(n) {
            if self.now_ms < n.backoff_until_ms {
                return Decision { request: Request::None, again_at: Some(n.backoff_until_ms) };
            }
            return self.increase(node, space);
        }
        self.decrease(node, space)
    }

    /// Cooldowns that ended by now.
    fn expire(&mut self, node: NodeId) -> bool {
        let now = self.now_ms;
        let n = self.nodes.get_mut(node);
        let mut any = false;
        while let Some(&(at, start)) = n.cooling.front() {
            if at > now {
                break;
            }
            n.cooling.pop_front();
            let slot = n.enis.iter_mut().flat_map(|e| e.slots.iter_mut()).find(|s| s.start == start);
            slot.expect("a cooling slot is never released").cooling -= 1;
            any = true;
        }
        any
    }

    /// Give waiting pods the first usable addresses, oldest ENI first.
    fn start_waiting(&mut self, node: NodeId, space: &mut AddressSpace) -> u32 {
        let cap = self.slot_ips();
        let n = self.nodes.get_mut(node);
        let mut started = 0;
        'pods: while n.started < n.demand {
            for slot in n.enis.iter_mut().flat_map(|e| e.slots.iter_mut()) {
                if slot.assigned + slot.cooling < cap {
                    slot.assigned += 1;
                    n.started += 1;
                    started += 1;
                    continue 'pods;
                }
            }
            break;
        }
        space[n.slots_from].bind(u64::from(started));
        started
    }

    /// Ask for the monitor's first tick at or after `at` (after now).
    fn tick_at(&mut self, node: NodeId, at: u64) {
        let now = self.now_ms;
        let n = self.nodes.get_mut(node);
        let at = at.max(now + 1);
        let tick = n.created_ms + (at - n.created_ms).div_ceil(MONITOR_MS) * MONITOR_MS;
        if n.next_tick.is_none_or(|t| tick < t) {
            n.next_tick = Some(tick);
            self.wakes.push(Wake { node, after_ms: tick - now });
        }
    }

    /// A pass: cooldowns end, the monitor acts if asked, waiting pods start.
    fn step(&mut self, node: NodeId, run_monitor: bool, space: &mut AddressSpace) -> Update {
        let changed = self.expire(node);
        let decision =
            if run_monitor { self.monitor(node, space) } else { Decision { request: Request::None, again_at: None } };
        let started = self.start_waiting(node, space);
        if let Some(at) = decision.again_at {
            self.tick_at(node, at);
        }
        if changed || started > 0 {
            self.tick_at(node, self.now_ms);
        }
        let n = self.nodes.get_mut(node);
        let request = match decision.request {
            Request::Failed(f) => {
                n.failing = true;
                Request::Failed(f)
            }
            // Waiting pods got addresses after a failure: it is over.
            Request::None if n.failing && started > 0 => {
                n.failing = false;
                Request::Granted
            }
            other => {
                n.failing &= other != Request::Granted;
                other
            }
        };
        Update { started, request, short: false }
    }
}

/// Take `count` slots of `units` units each (aligned runs when more than
/// one), all or none.
fn take_all(range: &mut AddressRange, units: u32, count: usize, into: &mut Vec<u32>) -> bool {
    if units == 1 {
        return range.take_many(count as u32, into);
    }
    let first = into.len();
    for _ in 0..count {
        match range.take_aligned(units) {
            Some(start) => into.push(start),
            None => {
                for start in into.drain(first..) {
                    range.give_back_aligned(start, units);
                }
                return false;
            }
        }
    }
    true
}

fn give_back(range: &mut AddressRange, start: u32, units: u32) {
    if units == 1 { range.give_back(start) } else { range.give_back_aligned(start, units) }
}

impl Allocator for Ipamd {
    fn name(&self) -> &'static str {
        if self.config.prefix { PREFIX_MODE.name } else { MODE.name }
    }

    /// The node's IP is its primary ENI's primary address; the ENI's slots
    /// come with the monitor's first pass ([`Self::reconcile`]).
    fn create_node(&mut self, node: NodeId, spec: &NodeSpec, space: &mut AddressSpace) -> Result<(), Failure> {
        let machine = spec.machine.expect("validation gives every pool of an AWS mode a machine");
        let slots_from =
            if self.config.prefix { spec.pod_subnet.unwrap_or(spec.node_subnet) } else { spec.node_subnet };
        let unit = space[slots_from].granularity().unit_size() as u32;
        let slot_units = self.slot_ips() / unit.min(self.slot_ips());
        let primary = take_node_ip(spec, space)?;
        self.nodes.insert(
            node,
            Node {
                node_subnet: spec.node_subnet,
                slots_from,
                slot_units,
                machine,
                max_pods: spec.max_pods,
                created_ms: self.now_ms,
                enis: vec![Eni { primary, attached_ms: self.now_ms, slots: Vec::new() }],
                demand: 0,
                started: 0,
                cooling: VecDeque::new(),
                next_tick: None,
                last_decrease_ms: None,
                backoff_until_ms: 0,
                failing: false,
            },
        );
        Ok(())
    }

    fn delete_node(&mut self, node: NodeId, space: &mut AddressSpace) {
        let n = self.nodes.remove(node);
        space[n.slots_from].unbind(u64::from(n.started));
        for (i, eni) in n.enis.into_iter().enumerate() {
            for slot in eni.slots {
                give_back(&mut space[n.slots_from], slot.start, n.slot_units);
            }
            if i == 0 {
                return_node_ip(n.node_subnet, eni.primary, space);
            } else {
                space[n.node_subnet].give_back(eni.primary);
            }
        }
    }

    fn accepts_pods(&self, _node: NodeId) -> bool {
        true
    }

    fn may_refuse_pods(&self) -> bool {
        false
    }

    fn held_in(&self, node: NodeId, range: RangeId) -> u64 {
        let n = self.nodes.get(node);
        let mut held = 0;
        if range == n.node_subnet {
            held += n.enis.len() as u64;
        }
        if range == n.slots_from {
            held += self.total(n);
        }
        held
    }

    fn timed(&self) -> bool {
        true
    }

    fn set_now(&mut self, now_ms: u64) {
        self.now_ms = now_ms;
    }

    fn take_wakes(&mut self, into: &mut Vec<Wake>) {
        into.append(&mut self.wakes);
    }

    /// A monitor tick, or a cooldown's end.
    fn wake(&mut self, node: NodeId, space: &mut AddressSpace) -> Update {
        if !self.nodes.contains(node) {
            return Update::default();
        }
        let tick = self.nodes.get(node).next_tick == Some(self.now_ms);
        if tick {
            self.nodes.get_mut(node).next_tick = None;
        }
        self.step(node, tick, space)
    }

    /// After creation: ipamd's first pass runs at once.
    fn reconcile(&mut self, node: NodeId, space: &mut AddressSpace) -> Update {
        self.step(node, true, space)
    }

    fn pod_bound(&mut self, node: NodeId, space: &mut AddressSpace) -> Update {
        self.nodes.get_mut(node).demand += 1;
        let update = self.step(node, false, space);
        self.tick_at(node, self.now_ms);
        update
    }

    fn pod_unbound(&mut self, node: NodeId, had_ip: bool, space: &mut AddressSpace) -> Update {
        let now = self.now_ms;
        let cooldown = self.config.ip_cooldown_ms;
        let n = self.nodes.get_mut(node);
        n.demand -= 1;
        if had_ip {
            n.started -= 1;
            space[n.slots_from].unbind(1);
            let slot = n
                .enis
                .iter_mut()
                .rev()
                .flat_map(|e| e.slots.iter_mut().rev())
                .find(|s| s.assigned > 0)
                .expect("a node with a started pod has an assigned address");
            slot.assigned -= 1;
            if cooldown > 0 {
                slot.cooling += 1;
                let start = slot.start;
                n.cooling.push_back((now + cooldown, start));
                self.wakes.push(Wake { node, after_ms: cooldown });
            }
        }
        let update = self.step(node, false, space);
        self.tick_at(node, now);
        update
    }
}

#[cfg(test)]
mod tests;
