use std::net::Ipv4Addr;
use std::ops::{Index, IndexMut};

use ipnet::Ipv4Net;

use crate::{IndexPool, SMALLEST_SUBNET_PREFIX, size_of_prefix};

/// Index of a range in its [`AddressSpace`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RangeId(pub u32);

/// What a range is, which fixes how many of its addresses are usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeKind {
    /// A subnet of the VNet (or VPC): its cloud reserves some addresses ([`SubnetRules`]).
    VnetSubnet,
    /// A pod CIDR (kubenet, overlay, a GKE secondary range, a Calico pool):
    /// logical, nothing reserved.
    PodCidr,
}

/// The unit a range hands out: an aligned prefix of this length, single
/// addresses being /32s. Any length fits: /28 static blocks, /24 kubenet
/// ranges, /26 Calico blocks, GKE's /24–/28 per-node ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Granularity(u8);

impl Granularity {
    /// Single addresses (node subnets, dynamic pod subnets).
    pub const ADDRESS: Granularity = Granularity(32);
    /// Aligned /28 blocks (static-block pod subnets).
    pub const BLOCK28: Granularity = Granularity(28);
    /// Aligned /24s (kubenet and overlay pod CIDRs).
    pub const SLASH24: Granularity = Granularity(24);

    /// Units that are aligned prefixes of length `prefix_len`.
    ///
    /// # Panics
    /// If `prefix_len` is over 32.
    pub const fn prefix(prefix_len: u8) -> Granularity {
        assert!(prefix_len <= 32, "a prefix length is at most 32");
        Granularity(prefix_len)
    }

    pub const fn prefix_len(self) -> u8 {
        self.0
    }

    /// Addresses in one unit.
    pub const fn unit_size(self) -> u64 {
        1 << (32 - self.0 as u32)
    }
}

/// What a cloud reserves in each of its subnets, and the smallest subnet it
/// allows. Pod CIDRs reserve nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubnetRules {
    /// Reserved at the start: the network address, then the cloud's own.
    pub reserved_first: u32,
    /// Reserved at the end (broadcast, and GCP's second-to-last).
    pub reserved_last: u32,
    /// The longest prefix a subnet may have.
    pub smallest_prefix: u8,
    /// The cloud's name, for errors.
    pub cloud: &'static str,
}

impl SubnetRules {
    /// Azure: `.0` network, `.1` gateway, `.2`/`.3` Azure DNS, the last (broadcast); /29 at least.
    pub const AZURE: SubnetRules =
        SubnetRules { reserved_first: 4, reserved_last: 1, smallest_prefix: SMALLEST_SUBNET_PREFIX, cloud: "Azure" };
    /// AWS: the first four (network, router, DNS, future use) and the last; /28 at least.
    pub const AWS: SubnetRules = SubnetRules { reserved_first: 4, reserved_last: 1, smallest_prefix: 28, cloud: "AWS" };
    /// An AWS subnet CIDR reservation (of type prefix), modelled as a range of
    /// its own: it lies inside its subnet, whose reserved addresses are outside
    /// it, so it reserves none; /28 at least.
    pub const AWS_RESERVATION: SubnetRules = SubnetRules {
        reserved_first: 0,
        reserved_last: 0,
        smallest_prefix: 28,
        cloud: "AWS (a subnet CIDR reservation)",
    };
    /// Google Cloud: network, gateway, second-to-last and broadcast; /29 at least.
    pub const GCP: SubnetRules =
        SubnetRules { reserved_first: 2, reserved_last: 2, smallest_prefix: 29, cloud: "Google Cloud" };

    /// Addresses reserved in every subnet.
    pub const fn reserved(self) -> u64 {
        self.reserved_first as u64 + self.reserved_last as u64
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    #[error("{prefix} is smaller than a /{}, the smallest subnet {} allows", rules.smallest_prefix, rules.cloud)]
    SubnetTooSmall { prefix: Ipv4Net, rules: SubnetRules },
    #[error("{prefix} is smaller than one /{} unit", granularity.prefix_len())]
    SmallerThanUnit { prefix: Ipv4Net, granularity: Granularity },
}

/// One range of addresses: its identity, its pool of units and its in-use count.
#[derive(Debug, Clone)]
pub struct AddressRange {
    name: String,
    prefix: Ipv4Net,
    kind: RangeKind,
    granularity: Granularity,
    /// Unit `i` of the pool is unit `first_unit + i` of the prefix.
    first_unit: u32,
    pool: IndexPool,
    /// Fixed by the prefix and kind; kept because every sample and summary reads it.
    usable: u64,
    in_use: u64,
    /// Units ever given back: lets callers notice returns cheaply.
    returns: u64,
    /// Unconstrained (`podip plan`): the pool grows whenever a take would fail.
    grows: bool,
    /// Unconstrained only: the most units ever allocated at once, counted at
    /// every take, so it includes what an operation takes and undoes within
    /// one event (an atomic scale-up that a full route table rolls back).
    high_water: u32,
}

impl AddressRange {
    /// An Azure VNet subnet handing out units of `granularity`
    /// ([`Self::subnet`] with [`SubnetRules::AZURE`]).
    pub fn vnet_subnet(name: impl Into<String>, prefix: Ipv4Net, granularity: Granularity) -> Result<Self, RangeError> {
        Self::subnet(name, prefix, granularity, SubnetRules::AZURE)
    }

    /// A cloud subnet handing out units of `granularity`.
    ///
    /// Single addresses skip the reserved ones (4 at the start and the
    /// broadcast at the end under Azure). For blocks, every block holding a
    /// reserved address is never handed out (model.md's assumption), so an
    /// Azure subnet of prefix p offers 2^(28−p) − 2 /28s.
    pub fn subnet(
        name: impl Into<String>,
        prefix: Ipv4Net,
        granularity: Granularity,
        rules: SubnetRules,
    ) -> Result<Self, RangeError> {
        if prefix.prefix_len() > rules.smallest_prefix {
            return Err(RangeError::SubnetTooSmall { prefix, rules });
        }
        let units = units_in(prefix, granularity)?;
        let size = granularity.unit_size();
        let first_unit = u64::from(rules.reserved_first).div_ceil(size);
        let last_units = u64::from(rules.reserved_last).div_ceil(size);
        let usable = size_of_prefix(prefix.prefix_len()).saturating_sub(rules.reserved());
        Ok(Self::build(
            name.into(),
            prefix,
            RangeKind::VnetSubnet,
            granularity,
            first_unit as u32,
            units.saturating_sub(first_unit + last_units),
            usable,
        ))
    }

    /// A pod CIDR carved into units of `granularity` (/24s under kubenet and
    /// overlay); nothing is reserved.
    pub fn pod_cidr(name: impl Into<String>, prefix: Ipv4Net, granularity: Granularity) -> Result<Self, RangeError> {
        let units = units_in(prefix, granularity)?;
        let usable = size_of_prefix(prefix.prefix_len());
        Ok(Self::build(name.into(), prefix, RangeKind::PodCidr, granularity, 0, units, usable))
    }

    fn build(
        name: String,
        prefix: Ipv4Net,
        kind: RangeKind,
        granularity: Granularity,
        first_unit: u32,
        units: u64,
        usable: u64,
    ) -> Self {
        let units = u32::try_from(units).expect("a /0 has at most 2^32 addresses");
        Self {
            name,
            prefix,
            kind,
            granularity,
            first_unit,
            pool: IndexPool::new(units),
            usable,
            in_use: 0,
            returns: 0,
            grows: false,
            high_water: 0,
        }
    }

    /// The same range able to supply whatever is asked: its pool starts empty
    /// and doubles whenever a take would fail, so memory follows what is taken,
    /// not the size a range would need. Its prefix stays the one written (for
    /// its name); `usable` becomes unbounded, so it never reaches a threshold.
    /// Units are handed out lowest first as always, so every count the model
    /// reads matches a range that is merely large enough (model.md).
    pub fn unconstrained(mut self) -> Self {
        self.pool = IndexPool::new(0);
        self.usable = UNCONSTRAINED_USABLE;
        self.grows = true;
        self
    }

    /// Unconstrained ranges: the most addresses ever allocated at once, even
    /// for a moment within an event; 0 for other ranges.
    pub fn high_water(&self) -> u64 {
        u64::from(self.high_water) * self.granularity.unit_size()
    }

    /// Whether the range grows on demand ([`Self::unconstrained`]).
    pub fn is_unconstrained(&self) -> bool {
        self.grows
    }

    /// Make room for `n` more units (an unconstrained range only).
    #[cold]
    fn grow_for(&mut self, n: u32) {
        let needed = self.pool.allocated().saturating_add(n);
        let capacity = self.pool.capacity().saturating_mul(2).max(needed).max(64);
        self.pool.grow(capacity);
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn prefix(&self) -> Ipv4Net {
        self.prefix
    }

    #[inline]
    pub fn kind(&self) -> RangeKind {
        self.kind
    }

    pub fn granularity(&self) -> Granularity {
        self.granularity
    }

    /// Addresses that can ever be handed out. For a VNet subnet this is its size
    /// less 5, whatever the granularity (outputs.md); a block subnet can hand out
    /// fewer, since its first and last /28 are never used.
    #[inline]
    pub fn usable(&self) -> u64 {
        self.usable
    }

    /// Addresses taken from the range (units × unit size).
    #[inline]
    pub fn allocated(&self) -> u64 {
        u64::from(self.pool.allocated()) * self.granularity.unit_size()
    }

    /// `usable − allocated`.
    #[inline]
    pub fn free(&self) -> u64 {
        self.usable() - self.allocated()
    }

    /// Addresses bound to something running.
    #[inline]
    pub fn in_use(&self) -> u64 {
        self.in_use
    }

    pub fn units_capacity(&self) -> u32 {
        self.pool.capacity()
    }

    #[inline]
    pub fn units_free(&self) -> u32 {
        self.pool.free()
    }

    pub fn units_allocated(&self) -> u32 {
        self.pool.allocated()
    }

    /// Take the lowest free unit.
    #[inline]
    pub fn take(&mut self) -> Option<u32> {
        let unit = match self.pool.take_lowest() {
            None if self.grows => {
                self.grow_for(1);
                self.pool.take_lowest()
            }
            unit => unit,
        };
        if self.grows {
            self.high_water = self.high_water.max(self.pool.allocated());
        }
        unit
    }

    /// Take `n` units, all or none, appending them to `into`.
    pub fn take_many(&mut self, n: u32, into: &mut Vec<u32>) -> bool {
        if self.pool.free() < n {
            if !self.grows {
                return false;
            }
            self.grow_for(n);
        }
        self.pool.take_lowest_many(n, into);
        if self.grows {
            self.high_water = self.high_water.max(self.pool.allocated());
        }
        true
    }

    /// Take an aligned block of `units` units (a power of two: 16 single
    /// addresses are a /28; 16 /28 units a /24), all or none, and return its
    /// first unit; `None` when no aligned block is wholly free although free
    /// units may remain (AWS's `InsufficientCidrBlocks`). Blocks are aligned
    /// in addresses as well as units, since units are.
    ///
    /// # Panics
    /// If `units` is not a power of two.
    pub fn take_aligned(&mut self, units: u32) -> Option<u32> {
        // Unit u is address first_unit + u of the prefix.
        let offset = self.first_unit;
        let start = match self.pool.take_aligned_run(units, offset) {
            None if self.grows => {
                // 2 × units new free units hold a whole aligned block.
                let capacity = self.pool.capacity();
                self.pool.grow(capacity.saturating_mul(2).max(capacity + 2 * units).max(64));
                self.pool.take_aligned_run(units, offset)
            }
            start => start,
        };
        if self.grows {
            self.high_water = self.high_water.max(self.pool.allocated());
        }
        start
    }

    /// [`Self::take_aligned`] starting the search at unit `from` (wrapping
    /// round); an unconstrained range grows as `take_aligned` does.
    pub fn take_aligned_from(&mut self, units: u32, from: u32) -> Option<u32> {
        let offset = self.first_unit;
        let start = match self.pool.take_aligned_run_from(units, offset, from) {
            None if self.grows => {
                let capacity = self.pool.capacity();
                self.pool.grow(capacity.saturating_mul(2).max(capacity + 2 * units).max(64));
                self.pool.take_aligned_run_from(units, offset, from)
            }
            start => start,
        };
        if self.grows {
            self.high_water = self.high_water.max(self.pool.allocated());
        }
        start
    }

    /// Free aligned blocks of `prefix_len` (`free_blocks_28` in
    /// utilization.csv: what AWS prefix delegation can still take). Units at
    /// least that big count whole (a free /24 holds sixteen /28s); smaller
    /// units count where an aligned block of them is wholly free. An
    /// unconstrained range reports 0: it has no fixed size to fragment.
    pub fn free_blocks(&self, prefix_len: u8) -> u64 {
        if self.grows {
            return 0;
        }
        let unit = self.granularity.prefix_len();
        if unit <= prefix_len {
            return u64::from(self.pool.free()) << (prefix_len - unit);
        }
        u64::from(self.pool.free_aligned_runs(1 << (unit - prefix_len), self.first_unit))
    }

    /// Return a block taken by [`Self::take_aligned`].
    pub fn give_back_aligned(&mut self, start: u32, units: u32) {
        self.pool.give_back_run(start, units);
        self.returns += u64::from(units);
    }

    /// Return a unit taken earlier.
    #[inline]
    pub fn give_back(&mut self, unit: u32) {
        self.pool.give_back(unit);
        self.returns += 1;
    }

    /// Return units taken earlier, all at once ([`IndexPool::give_back_many`]).
    #[inline]
    pub fn give_back_many(&mut self, units: &[u32]) {
        self.pool.give_back_many(units);
        self.returns += units.len() as u64;
    }

    /// How many units have ever been given back (a change counter).
    #[inline]
    pub fn returns(&self) -> u64 {
        self.returns
    }

    pub fn is_taken(&self, unit: u32) -> bool {
        self.pool.is_allocated(unit)
    }

    /// Count `n` more addresses as bound to something running.
    #[inline]
    pub fn bind(&mut self, n: u64) {
        self.in_use += n;
    }

    /// Count `n` addresses as no longer bound.
    ///
    /// # Panics
    /// If more are unbound than were bound: a bookkeeping bug.
    #[inline]
    pub fn unbind(&mut self, n: u64) {
        self.in_use = self.in_use.checked_sub(n).expect("unbound more addresses than were bound");
    }

    /// The prefix of unit `unit` (a /32 for single addresses).
    pub fn unit_net(&self, unit: u32) -> Ipv4Net {
        let size = self.granularity.unit_size();
        let base = u64::from(u32::from(self.prefix.network()));
        let start = base + u64::from(self.first_unit + unit) * size;
        let addr = Ipv4Addr::from(u32::try_from(start).expect("inside the prefix"));
        Ipv4Net::new(addr, self.granularity.prefix_len()).expect("valid prefix length")
    }
}

/// `usable` of an unconstrained range: far above any count a replay reaches
/// (2^32 units of /24s), so `free` never runs out and no threshold is crossed.
const UNCONSTRAINED_USABLE: u64 = 1 << 60;

fn units_in(prefix: Ipv4Net, granularity: Granularity) -> Result<u64, RangeError> {
    if prefix.prefix_len() > granularity.prefix_len() {
        return Err(RangeError::SmallerThanUnit { prefix, granularity });
    }
    Ok(1 << (granularity.prefix_len() - prefix.prefix_len()))
}

/// Every range of a simulation, indexed by [`RangeId`].
#[derive(Debug, Clone, Default)]
pub struct AddressSpace {
    ranges: Vec<AddressRange>,
}

impl AddressSpace {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, range: AddressRange) -> RangeId {
        self.ranges.push(range);
        RangeId(u32::try_from(self.ranges.len() - 1).expect("fewer than 2^32 ranges"))
    }

    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The ranges in [`RangeId`] order.
    pub fn ranges(&self) -> &[AddressRange] {
        &self.ranges
    }

    pub fn iter(&self) -> impl Iterator<Item = (RangeId, &AddressRange)> {
        self.ranges.iter().enumerate().map(|(i, r)| (RangeId(i as u32), r))
    }

    pub fn find(&self, name: &str) -> Option<RangeId> {
        self.iter().find(|(_, r)| r.name() == name).map(|(id, _)| id)
    }
}

impl Index<RangeId> for AddressSpace {
    type Output = AddressRange;
    #[inline]
    fn index(&self, id: RangeId) -> &AddressRange {
        &self.ranges[id.0 as usize]
    }
}

impl IndexMut<RangeId> for AddressSpace {
    fn index_mut(&mut self, id: RangeId) -> &mut AddressRange {
        &mut self.ranges[id.0 as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    #[test]
    fn azure_reserves_five_addresses_per_subnet() {
        assert_eq!(crate::AZURE_RESERVED_PER_SUBNET, 5);
        let slash24 = AddressRange::vnet_subnet("nodes", net("10.0.0.0/24"), Granularity::ADDRESS).unwrap();
        assert_eq!(slash24.usable(), 251);
        assert_eq!(slash24.units_capacity(), 251);
        let slash29 = AddressRange::vnet_subnet("tiny", net("10.0.0.0/29"), Granularity::ADDRESS).unwrap();
        assert_eq!(slash29.usable(), 3);
    }

    #[test]
    fn free_28s_count_only_wholly_free_aligned_blocks() {
        // A /24 of single addresses: the first /28 holds .0–.3 and the last
        // .255, so 14 of its 16 /28s can be handed out whole.
        let mut r = AddressRange::subnet("nodes", net("10.0.0.0/24"), Granularity::ADDRESS, SubnetRules::AWS).unwrap();
        assert_eq!(r.free_blocks(28), 14);
        // .4–.15 fill the first /28 without touching another.
        for _ in 0..12 {
            r.take().unwrap();
        }
        assert_eq!(r.free_blocks(28), 14);
        // .16 breaks the second: 235 addresses free, 13 /28s.
        let sixteen = r.take().unwrap();
        assert_eq!((r.free(), r.free_blocks(28)), (238, 13));
        r.give_back(sixteen);
        assert_eq!(r.free_blocks(28), 14);
        // An aligned take is a /28: one fewer.
        let start = r.take_aligned(16).unwrap();
        assert_eq!(r.unit_net(start).addr().to_string(), "10.0.0.16");
        assert_eq!(r.free_blocks(28), 13);
        // Scattered single addresses: one in each of the 16 /28s leaves none free whole, with 235 addresses free.
        let mut s = AddressRange::subnet("s", net("10.1.0.0/24"), Granularity::ADDRESS, SubnetRules::AWS).unwrap();
        let all: Vec<u32> = std::iter::from_fn(|| s.take()).collect();
        for &u in &all {
            if s.unit_net(u).addr().octets()[3] % 16 != 7 {
                s.give_back(u);
            }
        }
        assert_eq!((s.units_free(), s.free_blocks(28)), (251 - 16, 0));
        // Larger units count whole: a /28-block subnet's free blocks, a pod
        // CIDR's free /24s × 16.
        let blocks = AddressRange::vnet_subnet("pods", net("10.2.0.0/24"), Granularity::BLOCK28).unwrap();
        assert_eq!(blocks.free_blocks(28), 14);
        let mut cidr = AddressRange::pod_cidr("pod-cidr", net("10.244.0.0/16"), Granularity::SLASH24).unwrap();
        cidr.take().unwrap();
        assert_eq!(cidr.free_blocks(28), 255 * 16);
        assert_eq!(cidr.clone().unconstrained().free_blocks(28), 0);
    }

    #[test]
    fn single_addresses_skip_the_reserved_ones() {
        let mut r = AddressRange::vnet_subnet("nodes", net("10.0.0.0/29"), Granularity::ADDRESS).unwrap();
        let units: Vec<u32> = std::iter::from_fn(|| r.take()).collect();
        let addrs: Vec<String> = units.iter().map(|&u| r.unit_net(u).addr().to_string()).collect();
        // .0 network, .1 gateway, .2/.3 DNS, .7 broadcast are never handed out.
        assert_eq!(addrs, ["10.0.0.4", "10.0.0.5", "10.0.0.6"]);
        assert_eq!(r.free(), 0);
    }

    #[test]
    fn smaller_than_slash29_is_refused() {
        assert!(matches!(
            AddressRange::vnet_subnet("x", net("10.0.0.0/30"), Granularity::ADDRESS),
            Err(RangeError::SubnetTooSmall { .. })
        ));
    }

    #[test]
    fn block_subnets_never_hand_out_their_first_and_last_slash28() {
        let mut r = AddressRange::vnet_subnet("pods", net("10.1.0.0/24"), Granularity::BLOCK28).unwrap();
        assert_eq!(r.units_capacity(), 14);
        assert_eq!(r.usable(), 251);
        let units: Vec<u32> = std::iter::from_fn(|| r.take()).collect();
        let blocks: Vec<Ipv4Net> = units.iter().map(|&u| r.unit_net(u)).collect();
        assert_eq!(blocks.first().unwrap().to_string(), "10.1.0.16/28");
        assert_eq!(blocks.last().unwrap().to_string(), "10.1.0.224/28");
        assert_eq!(r.allocated(), 224);
        assert_eq!(r.free(), 27);
    }

    #[test]
    fn pod_cidrs_reserve_nothing_and_carve_slash24s() {
        let mut r = AddressRange::pod_cidr("c1/pod-cidr", net("10.244.0.0/16"), Granularity::SLASH24).unwrap();
        assert_eq!(r.usable(), 65_536);
        assert_eq!(r.units_capacity(), 256);
        let first = r.take().unwrap();
        assert_eq!(r.unit_net(first).to_string(), "10.244.0.0/24");
        assert_eq!(r.allocated(), 256);
        assert!(AddressRange::pod_cidr("x", net("10.244.0.0/25"), Granularity::SLASH24).is_err());
    }

    #[test]
    fn take_many_is_all_or_nothing() {
        let mut r = AddressRange::vnet_subnet("nodes", net("10.0.0.0/28"), Granularity::ADDRESS).unwrap();
        let mut held = Vec::new();
        assert!(r.take_many(10, &mut held));
        assert!(!r.take_many(2, &mut held));
        assert_eq!(held.len(), 10);
        assert_eq!(r.free(), 1);
    }

    #[test]
    fn unconstrained_ranges_supply_whatever_is_asked_lowest_first() {
        let mut r =
            AddressRange::vnet_subnet("nodes", net("10.0.0.0/29"), Granularity::ADDRESS).unwrap().unconstrained();
        assert!(r.is_unconstrained());
        let mut held = Vec::new();
        assert!(r.take_many(1000, &mut held));
        assert_eq!(held, (0..1000).collect::<Vec<u32>>());
        assert_eq!(r.allocated(), 1000);
        r.give_back(10);
        assert_eq!(r.take(), Some(10));
        assert_eq!(r.take(), Some(1000));
        assert_eq!(r.high_water(), 1001);
        r.give_back(1000);
        r.give_back(999);
        assert_eq!(r.high_water(), 1001, "the most ever held at once, not now");
        // Memory follows what was taken: the pool doubled, it did not become a /1.
        assert!(r.units_capacity() < 4096);
        let mut blocks =
            AddressRange::vnet_subnet("pods", net("10.1.0.0/26"), Granularity::BLOCK28).unwrap().unconstrained();
        assert!(blocks.take_many(20, &mut Vec::new()));
        assert_eq!(blocks.allocated(), 320);
    }

    #[test]
    fn each_cloud_reserves_its_own_addresses() {
        let aws = AddressRange::subnet("a", net("10.0.0.0/24"), Granularity::ADDRESS, SubnetRules::AWS).unwrap();
        assert_eq!((aws.usable(), aws.units_capacity()), (251, 251));
        let mut gcp = AddressRange::subnet("g", net("10.0.0.0/29"), Granularity::ADDRESS, SubnetRules::GCP).unwrap();
        assert_eq!(gcp.usable(), 4);
        let units: Vec<u32> = std::iter::from_fn(|| gcp.take()).collect();
        let addrs: Vec<String> = units.iter().map(|&u| gcp.unit_net(u).addr().to_string()).collect();
        // .0 network, .1 gateway, .6 second-to-last and .7 broadcast are GCP's.
        assert_eq!(addrs, ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"]);
        assert!(matches!(
            AddressRange::subnet("a", net("10.0.0.0/29"), Granularity::ADDRESS, SubnetRules::AWS),
            Err(RangeError::SubnetTooSmall { .. })
        ));
        assert_eq!(SubnetRules::AZURE.reserved(), crate::AZURE_RESERVED_PER_SUBNET);
    }

    #[test]
    fn blocks_of_any_length() {
        // Calico's default /26 blocks in a /24 pool: four, nothing reserved.
        let mut calico = AddressRange::pod_cidr("p", net("192.168.0.0/24"), Granularity::prefix(26)).unwrap();
        let units: Vec<u32> = std::iter::from_fn(|| calico.take()).collect();
        let blocks: Vec<String> = units.iter().map(|&u| calico.unit_net(u).to_string()).collect();
        assert_eq!(blocks, ["192.168.0.0/26", "192.168.0.64/26", "192.168.0.128/26", "192.168.0.192/26"]);
        // GKE at max_pods 30: a /26 per node; a /24 holds 4 nodes.
        assert_eq!(
            AddressRange::pod_cidr("g", net("10.4.0.0/24"), Granularity::prefix(26)).unwrap().units_capacity(),
            4
        );
    }

    #[test]
    fn aligned_blocks_next_to_single_addresses() {
        // AWS prefix delegation: /28 prefixes and secondary IPs from one subnet.
        let mut r = AddressRange::subnet("s", net("10.0.0.0/26"), Granularity::ADDRESS, SubnetRules::AWS).unwrap();
        let first = r.take().unwrap();
        assert_eq!(r.unit_net(first).to_string(), "10.0.0.4/32");
        // 10.0.0.0/28 holds reserved and taken addresses: the first free /28 is .16.
        let block = r.take_aligned(16).unwrap();
        assert_eq!(r.unit_net(block).to_string(), "10.0.0.16/32");
        assert_eq!(r.allocated(), 17);
        assert_eq!(r.take_aligned(16).map(|u| r.unit_net(u).to_string()), Some("10.0.0.32/32".into()));
        // 10.0.0.48/28 holds the broadcast: no whole /28 is left, yet 26 addresses are.
        assert_eq!(r.take_aligned(16), None);
        assert_eq!(r.free(), 26);
        let returns = r.returns();
        r.give_back_aligned(block, 16);
        assert_eq!(r.returns(), returns + 16);
        assert_eq!(r.take_aligned(16), Some(block));
        let mut grows =
            AddressRange::vnet_subnet("u", net("10.0.0.0/29"), Granularity::ADDRESS).unwrap().unconstrained();
        for _ in 0..10 {
            let start = grows.take_aligned(16).unwrap();
            assert_eq!((start + 4) % 16, 0, "aligned in the address space");
        }
        assert_eq!(grows.high_water(), 160);
    }

    #[test]
    fn in_use_is_counted() {
        let mut r = AddressRange::pod_cidr("p", net("10.244.0.0/16"), Granularity::SLASH24).unwrap();
        r.bind(3);
        r.unbind(1);
        assert_eq!(r.in_use(), 2);
    }
}
