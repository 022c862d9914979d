//! The address arithmetic and layout of `podip plan` (plan.md, "What is sized" and "Layout").
//!
//! Two pure parts, no I/O and no simulation:
//! - [`capacity`] and [`smallest_prefix`]: what a range hands out at a prefix length, and
//!   the longest prefix whose capacity covers a required count (plan.md, "How", step 2);
//! - [`lay_out_subnets`] and [`lay_out_pod_cidrs`]: where the ranges that must grow go, so a
//!   planned scenario is one the validator accepts (subnets inside the VNet, nothing
//!   overlapping).
//!
//! Addresses are handled as `u64` offsets (start, exclusive end), so the end of
//! 255.255.255.0/24 (2^32) and of 0.0.0.0/0 needs no special case and nothing overflows.
//! Every function is total: inputs the model does not allow give `None` or
//! [`Layout::DoesNotFit`], never a panic.

use std::net::Ipv4Addr;
use std::ops::RangeInclusive;

use ipnet::Ipv4Net;

/// What a range hands out, which fixes its capacity at a prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RangeKind {
    /// A VNet subnet handing out single addresses (node IPs, node-subnet reservations,
    /// dynamic batches): Azure reserves 5 addresses per subnet.
    SubnetAddresses,
    /// A Google Cloud subnet handing out single addresses (gke's node IPs): 4 reserved.
    GcpSubnetAddresses,
    /// An AWS subnet handing out single addresses (node IPs, ENI primaries,
    /// secondary IPs, prefixes among them): 5 reserved, /28 the smallest.
    AwsSubnetAddresses,
    /// A VNet subnet used as a static-block pod subnet: aligned /28 blocks, never the first
    /// or last /28 (they hold Azure's reserved addresses; model.md's assumption).
    SubnetBlocks,
    /// A kubenet or overlay pod CIDR: logical, carved into /24s, nothing reserved.
    PodCidr,
    /// An AWS subnet CIDR reservation for /28 prefixes (aws-prefix's `pod_subnet`):
    /// aligned /28s, nothing reserved (its subnet's reserved addresses lie outside it).
    ReservationBlocks,
}

/// Addresses Azure reserves in every VNet subnet (network, gateway, 2 × DNS, broadcast).
const AZURE_RESERVED: u64 = 5;
/// Addresses Google Cloud reserves in every subnet (network, gateway, second-to-last, broadcast).
pub(crate) const GCP_RESERVED: u64 = 4;

/// The prefix lengths a range of `kind` may have, largest range (shortest prefix) first.
///
/// /29 is Azure's smallest subnet; a static-block pod subnet must be a /12 or smaller and at
/// least a /28 (its unit); a pod CIDR must hold at least one /24.
fn allowed_prefixes(kind: RangeKind) -> RangeInclusive<u8> {
    match kind {
        RangeKind::SubnetAddresses | RangeKind::GcpSubnetAddresses => 0..=29,
        RangeKind::AwsSubnetAddresses => 0..=28,
        RangeKind::SubnetBlocks | RangeKind::ReservationBlocks => 12..=28,
        RangeKind::PodCidr => 0..=24,
    }
}

/// Addresses in a prefix of length `p`; callers guarantee `p ≤ 32`.
fn size_of(p: u8) -> u64 {
    1u64 << (32 - u32::from(p.min(32)))
}

/// Addresses a range of `kind` can hand out at prefix length `p`, or None where the prefix is
/// not allowed:
/// - `SubnetAddresses`: 2^(32−p) − 5 for 0 ≤ p ≤ 29 (Azure reserves 5 per subnet; /29 is the
///   smallest subnet); `GcpSubnetAddresses`: 2^(32−p) − 4 (Google Cloud reserves 4);
///   `AwsSubnetAddresses`: 2^(32−p) − 5 for p ≤ 28 (AWS's smallest subnet);
/// - `SubnetBlocks`: 16 × (2^(28−p) − 2) for 12 ≤ p ≤ 28 (static /28 blocks; the first and last
///   /28 hold reserved addresses and are never handed out, so a /27 and a /28 hand out nothing:
///   `Some(0)`, not a negative count); a /12 is the largest allowed;
/// - `PodCidr`: 256 × 2^(24−p) for 0 ≤ p ≤ 24 (carved into /24s, nothing reserved);
/// - `ReservationBlocks`: 16 × 2^(28−p) for 12 ≤ p ≤ 28 (an AWS prefix reservation's /28s).
pub fn capacity(kind: RangeKind, p: u8) -> Option<u64> {
    if !allowed_prefixes(kind).contains(&p) {
        return None;
    }
    let size = size_of(p);
    Some(match kind {
        RangeKind::SubnetAddresses | RangeKind::AwsSubnetAddresses => size - AZURE_RESERVED,
        RangeKind::GcpSubnetAddresses => size - GCP_RESERVED,
        RangeKind::SubnetBlocks => 16 * (size / 16).saturating_sub(2),
        // 256 × 2^(24−p) = 2^(32−p): every address of every /24 is usable.
        RangeKind::PodCidr => size,
        // 16 × 2^(28−p): every /28 of it.
        RangeKind::ReservationBlocks => size,
    })
}

/// The longest (smallest) allowed prefix length whose capacity ≥ `required`, or None if even
/// the largest allowed prefix is too small.
///
/// Capacity only grows as the prefix shortens, so this is the first allowed prefix, from the
/// longest, that holds `required` (plan.md, "How", step 2). `required = 0` gives the longest
/// allowed prefix (a /28 for `SubnetBlocks`, which holds no block at all).
pub fn smallest_prefix(kind: RangeKind, required: u64) -> Option<u8> {
    allowed_prefixes(kind).rev().find(|&p| capacity(kind, p).is_some_and(|c| c >= required))
}

/// The ranges no VNet prefix, subnet, pod CIDR or service CIDR may overlap (model.md,
/// "Address ranges"). The caller adds them to `avoid`; see [`forbidden`] for them parsed.
pub const FORBIDDEN: [&str; 4] = ["169.254.0.0/16", "172.30.0.0/16", "172.31.0.0/16", "192.0.2.0/24"];

/// [`FORBIDDEN`] as networks (built at compile time, so nothing is parsed at run time).
pub const fn forbidden() -> [Ipv4Net; 4] {
    [
        Ipv4Net::new_assert(Ipv4Addr::new(169, 254, 0, 0), 16),
        Ipv4Net::new_assert(Ipv4Addr::new(172, 30, 0, 0), 16),
        Ipv4Net::new_assert(Ipv4Addr::new(172, 31, 0, 0), 16),
        Ipv4Net::new_assert(Ipv4Addr::new(192, 0, 2, 0), 24),
    ]
}

/// Where a pod CIDR that cannot grow in place is moved to, searched in this order: the
/// RFC 1918 private ranges.
const PRIVATE: [Ipv4Net; 3] = [
    Ipv4Net::new_assert(Ipv4Addr::new(10, 0, 0, 0), 8),
    Ipv4Net::new_assert(Ipv4Addr::new(172, 16, 0, 0), 12),
    Ipv4Net::new_assert(Ipv4Addr::new(192, 168, 0, 0), 16),
];

/// One range to lay out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Want {
    /// The range's name, for the caller; the layout does not read it.
    pub name: String,
    /// The range as written in the scenario.
    pub current: Ipv4Net,
    /// The prefix length it needs (≤ current.prefix_len() means it must grow to that length;
    /// ≥ means it keeps current).
    pub needs: u8,
}

impl Want {
    /// Whether the range must grow: it needs a shorter prefix than it has.
    fn grows(&self) -> bool {
        self.needs < self.current.prefix_len()
    }

    /// The prefix length it will have: `needs` if it grows, its current one if it is kept.
    fn planned_len(&self) -> u8 {
        self.needs.min(self.current.prefix_len())
    }
}

/// The outcome of a layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// Every want placed: one range per [`Want`], in the same order (kept ones exactly as
    /// given).
    Fits(Vec<Ipv4Net>),
    /// Some want that must grow has no free aligned block.
    DoesNotFit {
        /// The smallest single prefix length that would hold every want at its planned size
        /// (kept ones at their current size); 0 when even a /0 would not (the wants add up to
        /// more than 2^32 addresses).
        needs_space: u8,
    },
}

/// Lay out VNet subnets: a want whose current prefix is at least as large as needed keeps it;
/// each one that must grow gets the lowest aligned block of its new size inside one of `space`
/// (the VNet's address prefixes, searched in the order given; a block must lie inside a single
/// prefix, as an Azure subnet must) that overlaps no other subnet (kept, or already placed; its
/// own current prefix does NOT count as taken, since it is replaced) and none of `avoid` (other
/// ranges that may not be overlapped: service CIDRs, forbidden ranges, pod CIDRs), largest first
/// (ties: in input order), so small subnets cannot fragment the space a large one needs.
///
/// If some want cannot be placed: [`Layout::DoesNotFit`], where `needs_space` is the prefix
/// length of the smallest aligned block that holds all wants at their planned sizes (the sum
/// of their sizes, rounded up to a power of two: buddy packing largest-first always fits).
pub fn lay_out_subnets(wants: &[Want], space: &[Ipv4Net], avoid: &[Ipv4Net]) -> Layout {
    lay_out(wants, avoid, space, false)
}

/// Lay out pod CIDRs (not VNet subnets; they must lie outside the VNet): a want that must grow
/// first tries the aligned block of its new size that contains its current prefix (growing in
/// place keeps the existing /24s where they are), if it overlaps nothing in `avoid` and no other
/// pod CIDR (kept or placed, own current excluded); else the lowest such aligned block in the
/// private ranges 10.0.0.0/8, then 172.16.0.0/12, then 192.168.0.0/16. Largest first, ties in
/// input order.
///
/// `avoid` holds the VNet address space, the service CIDRs and the forbidden ranges (the
/// caller passes them; [`forbidden`] returns the latter). [`Layout::DoesNotFit`] as for
/// [`lay_out_subnets`].
pub fn lay_out_pod_cidrs(wants: &[Want], avoid: &[Ipv4Net]) -> Layout {
    lay_out(wants, avoid, &PRIVATE, true)
}

/// An address range as offsets: `[start, end)`, `end` up to 2^32.
type Span = (u64, u64);

fn span_of(net: &Ipv4Net) -> Span {
    let start = u64::from(u32::from(net.network()));
    (start, start + size_of(net.prefix_len()))
}

/// The network of `len` starting at offset `start`, if `start` is an address.
fn net_at(start: u64, len: u8) -> Option<Ipv4Net> {
    let addr = Ipv4Addr::from(u32::try_from(start).ok()?);
    Ipv4Net::new(addr, len).ok()
}

/// `spans` sorted and merged into disjoint, non-adjacent spans, so a search can jump from one
/// to the next.
fn merged(spans: &[Span]) -> Vec<Span> {
    let mut sorted = spans.to_vec();
    sorted.sort_unstable();
    let mut out: Vec<Span> = Vec::with_capacity(sorted.len());
    for (start, end) in sorted {
        match out.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => out.push((start, end)),
        }
    }
    out
}

/// Whether `span` overlaps any of `taken` (merged, sorted).
fn is_free(span: Span, taken: &[Span]) -> bool {
    let i = taken.partition_point(|t| t.1 <= span.0);
    taken.get(i).is_none_or(|t| t.0 >= span.1)
}

/// The start of the lowest block of `size` addresses, aligned to `size`, inside `within` and
/// overlapping none of `taken` (merged, sorted).
///
/// Jumps past each conflicting span instead of trying every aligned start, so the cost is
/// O(log n + conflicts), not O(2^(len − within)): a /29 in a /8 behind hundreds of taken
/// ranges is found at once.
fn lowest_free(within: Span, size: u64, taken: &[Span]) -> Option<u64> {
    // `within` is a network, so its start is aligned to any block no larger than it.
    if size == 0 || size > within.1.saturating_sub(within.0) {
        return None;
    }
    let mut candidate = within.0;
    let mut i = taken.partition_point(|t| t.1 <= candidate);
    loop {
        let end = candidate + size;
        if end > within.1 {
            return None;
        }
        while taken.get(i).is_some_and(|t| t.1 <= candidate) {
            i += 1;
        }
        match taken.get(i) {
            // The block overlaps this span: the next candidate is the first aligned start at or
            // after the span's end (≤ 2^32 + size, no overflow in u64).
            Some(t) if t.0 < end => candidate = t.1.div_ceil(size) * size,
            _ => return Some(candidate),
        }
    }
}

/// The prefix length of the smallest aligned block holding every want at its planned size.
///
/// Sizes are powers of two; placed largest first, each lands aligned right after the previous
/// ones (buddy packing), so a block of the sum rounded up to a power of two always holds them.
fn needs_space(wants: &[Want]) -> u8 {
    let total = wants.iter().fold(0u64, |sum, w| sum.saturating_add(size_of(w.planned_len())));
    let block = total.max(1).checked_next_power_of_two().unwrap_or(u64::MAX);
    // trailing_zeros of a power of two is its log2; above 2^32 nothing holds them: report /0.
    let bits = u8::try_from(block.trailing_zeros()).unwrap_or(u8::MAX);
    32u8.saturating_sub(bits)
}

/// The shared layout: kept wants stay; the others, largest first (stable, so ties keep input
/// order), take the in-place block if `in_place` and it is free, else the lowest free aligned
/// block of the first of `regions` that has one.
fn lay_out(wants: &[Want], avoid: &[Ipv4Net], regions: &[Ipv4Net], in_place: bool) -> Layout {
    let mut planned: Vec<Option<Ipv4Net>> =
        wants.iter().map(|w| if w.grows() { None } else { Some(w.current) }).collect();
    let mut taken: Vec<Span> =
        avoid.iter().chain(wants.iter().filter(|w| !w.grows()).map(|w| &w.current)).map(span_of).collect();
    let mut order: Vec<(usize, &Want)> = wants.iter().enumerate().filter(|(_, w)| w.grows()).collect();
    order.sort_by_key(|(_, w)| w.needs);

    for (i, want) in order {
        let free = merged(&taken);
        let size = size_of(want.needs);
        let grown = net_at(span_of(&want.current).0, want.needs)
            .map(|n| n.trunc())
            .filter(|n| in_place && is_free(span_of(n), &free));
        let found = grown.or_else(|| {
            regions.iter().find_map(|r| lowest_free(span_of(r), size, &free).and_then(|s| net_at(s, want.needs)))
        });
        match (found, planned.get_mut(i)) {
            (Some(net), Some(slot)) => {
                taken.push(span_of(&net));
                *slot = Some(net);
            }
            _ => return Layout::DoesNotFit { needs_space: needs_space(wants) },
        }
    }
    match planned.into_iter().collect::<Option<Vec<_>>>() {
        Some(nets) => Layout::Fits(nets),
        // Unreachable: every growing want was placed above.
        None => Layout::DoesNotFit { needs_space: needs_space(wants) },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RangeKind::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    fn nets(list: &[&str]) -> Vec<Ipv4Net> {
        list.iter().map(|s| net(s)).collect()
    }

    fn want(name: &str, current: &str, needs: u8) -> Want {
        Want { name: name.to_string(), current: net(current), needs }
    }

    fn fits(list: &[&str]) -> Layout {
        Layout::Fits(nets(list))
    }

    // ---- capacity ----

    #[test]
    fn capacity_formulas() {
        assert_eq!(capacity(SubnetAddresses, 24), Some(251));
        assert_eq!(capacity(SubnetAddresses, 29), Some(3));
        assert_eq!(capacity(SubnetAddresses, 30), None);
        assert_eq!(capacity(SubnetAddresses, 0), Some((1 << 32) - 5));
        assert_eq!(capacity(SubnetAddresses, 33), None);
        assert_eq!(capacity(SubnetAddresses, 255), None);
        // Google Cloud: 4 reserved, so a /29 holds 4 and a /27 holds 28.
        assert_eq!((capacity(GcpSubnetAddresses, 29), capacity(GcpSubnetAddresses, 27)), (Some(4), Some(28)));
        assert_eq!(smallest_prefix(GcpSubnetAddresses, 28), Some(27));
        // AWS: Azure's 5 reserved, but a /28 the least.
        assert_eq!((capacity(AwsSubnetAddresses, 28), capacity(AwsSubnetAddresses, 29)), (Some(11), None));
        assert_eq!(smallest_prefix(AwsSubnetAddresses, 3), Some(28));
        // A prefix reservation: every /28 of it, a /28 the least.
        assert_eq!((capacity(ReservationBlocks, 28), capacity(ReservationBlocks, 24)), (Some(16), Some(256)));
        assert_eq!((smallest_prefix(ReservationBlocks, 17), capacity(ReservationBlocks, 29)), (Some(27), None));
        assert_eq!(smallest_prefix(SubnetAddresses, 28), Some(26));

        assert_eq!(capacity(SubnetBlocks, 28), Some(0));
        assert_eq!(capacity(SubnetBlocks, 27), Some(0));
        assert_eq!(capacity(SubnetBlocks, 26), Some(32));
        assert_eq!(capacity(SubnetBlocks, 24), Some(16 * 14));
        assert_eq!(capacity(SubnetBlocks, 12), Some(16 * ((1 << 16) - 2)));
        assert_eq!(capacity(SubnetBlocks, 11), None);
        assert_eq!(capacity(SubnetBlocks, 29), None);

        assert_eq!(capacity(PodCidr, 24), Some(256));
        assert_eq!(capacity(PodCidr, 16), Some(65_536));
        assert_eq!(capacity(PodCidr, 0), Some(1 << 32));
        assert_eq!(capacity(PodCidr, 25), None);
    }

    #[test]
    fn plan_md_known_answers() {
        // Node subnets: 17 nodes × 31 + …: 1,581 and 1,550 addresses → /21 (2,043 usable; /22 has 1,019).
        assert_eq!(smallest_prefix(SubnetAddresses, 1_581), Some(21));
        assert_eq!(smallest_prefix(SubnetAddresses, 1_550), Some(21));
        // 252 kubenet nodes, one node IP each: a /24 holds 251.
        assert_eq!(smallest_prefix(SubnetAddresses, 252), Some(23));
        assert_eq!(smallest_prefix(SubnetAddresses, 251), Some(24));
        // Dynamic: 15 nodes × 17 = 255 > 251.
        assert_eq!(smallest_prefix(SubnetAddresses, 15 * 17), Some(23));
        // Overlay: 300 nodes × 256 = 76,800 > 65,536.
        assert_eq!(smallest_prefix(PodCidr, 300 * 256), Some(15));
        // Static-block: 20 blocks = 320 addresses; a /24 offers 14 blocks (224), a /23 30 (480).
        assert_eq!(smallest_prefix(SubnetBlocks, 320), Some(23));
        // Small counts: /29 is the floor.
        assert_eq!(smallest_prefix(SubnetAddresses, 0), Some(29));
        assert_eq!(smallest_prefix(SubnetAddresses, 3), Some(29));
        assert_eq!(smallest_prefix(SubnetAddresses, 4), Some(28));
        // A /12 is the largest static-block pod subnet.
        let max_blocks = capacity(SubnetBlocks, 12).unwrap();
        assert_eq!(smallest_prefix(SubnetBlocks, max_blocks), Some(12));
        assert_eq!(smallest_prefix(SubnetBlocks, max_blocks + 1), None);
        assert_eq!(smallest_prefix(SubnetBlocks, 0), Some(28));
        assert_eq!(smallest_prefix(SubnetBlocks, 1), Some(26));
        assert_eq!(smallest_prefix(SubnetAddresses, (1 << 32) - 5), Some(0));
        assert_eq!(smallest_prefix(SubnetAddresses, (1 << 32) - 4), None);
        assert_eq!(smallest_prefix(PodCidr, 1 << 32), Some(0));
        assert_eq!(smallest_prefix(PodCidr, (1 << 32) + 1), None);
        assert_eq!(smallest_prefix(PodCidr, u64::MAX), None);
        assert_eq!(smallest_prefix(PodCidr, 0), Some(24));
    }

    #[test]
    fn smallest_prefix_is_the_longest_prefix_that_holds_required() {
        for kind in [SubnetAddresses, GcpSubnetAddresses, AwsSubnetAddresses, SubnetBlocks, PodCidr, ReservationBlocks]
        {
            let mut required: Vec<u64> = (0..=40).collect();
            for k in 0..=33u32 {
                let pow = 1u64 << k;
                required.extend(pow.saturating_sub(40)..=pow + 40);
            }
            for r in required {
                let longest = (0..=32u8).rev().find(|&p| capacity(kind, p).is_some_and(|c| c >= r));
                let got = smallest_prefix(kind, r);
                assert_eq!(got, longest, "{kind:?} required {r}");
                if let Some(p) = got {
                    assert!(capacity(kind, p).unwrap() >= r);
                    // One longer is not allowed or too small.
                    assert!(capacity(kind, p + 1).is_none_or(|c| c < r), "{kind:?} {r} /{p}");
                } else {
                    let widest = *allowed_prefixes(kind).start();
                    assert!(capacity(kind, widest).unwrap() < r);
                }
            }
        }
    }

    #[test]
    fn capacity_never_decreases_as_the_prefix_shortens() {
        for kind in [SubnetAddresses, GcpSubnetAddresses, AwsSubnetAddresses, SubnetBlocks, PodCidr, ReservationBlocks]
        {
            let caps: Vec<u64> = allowed_prefixes(kind).rev().filter_map(|p| capacity(kind, p)).collect();
            assert!(caps.windows(2).all(|w| w[0] <= w[1]), "{kind:?}");
            assert_eq!(caps.len(), allowed_prefixes(kind).count());
        }
    }

    // ---- helpers ----

    #[test]
    fn lowest_free_jumps_past_taken_spans() {
        let within = span_of(&net("10.0.0.0/24"));
        let taken = merged(&[span_of(&net("10.0.0.0/26")), span_of(&net("10.0.0.64/28"))]);
        let base = within.0;
        // /26 blocks: .0 taken, .64 overlaps the /28, so .128.
        assert_eq!(lowest_free(within, 64, &taken), Some(base + 128));
        // /28 blocks: .80 is the first free aligned one.
        assert_eq!(lowest_free(within, 16, &taken), Some(base + 80));
        // Larger than the prefix: none.
        assert_eq!(lowest_free(within, 512, &taken), None);
        // Top of the address space: no overflow.
        let top = span_of(&net("255.255.255.0/24"));
        let taken = merged(&[span_of(&net("255.255.255.0/25"))]);
        assert_eq!(lowest_free(top, 128, &taken), Some(top.0 + 128));
        let taken = merged(&[span_of(&net("255.255.255.128/25"))]);
        assert_eq!(lowest_free(top, 128, &taken), Some(top.0));
        let taken = merged(&[span_of(&net("255.255.255.0/25")), span_of(&net("255.255.255.192/26"))]);
        assert_eq!(lowest_free(top, 128, &taken), None);
        assert_eq!(lowest_free(top, 32, &taken), Some(top.0 + 128));
    }

    #[test]
    fn merged_joins_overlapping_and_adjacent_spans() {
        assert_eq!(merged(&[(10, 20), (0, 5), (5, 8), (12, 30), (40, 41)]), vec![(0, 8), (10, 30), (40, 41)]);
    }

    #[test]
    fn needs_space_rounds_the_sum_up_to_a_power_of_two() {
        let ws = [want("a", "10.0.0.0/28", 25), want("b", "10.0.1.0/28", 25), want("c", "10.0.2.0/28", 26)];
        assert_eq!(needs_space(&ws), 23); // 128 + 128 + 64 = 320 → 512
        // Kept ones count at their current size.
        let ws = [want("a", "10.0.0.0/24", 26), want("b", "10.0.1.0/28", 25)];
        assert_eq!(needs_space(&ws), 23); // 256 + 128 = 384 → 512
        assert_eq!(needs_space(&[want("a", "10.0.0.0/24", 24)]), 24);
        assert_eq!(needs_space(&[]), 32);
        // More than the whole IPv4 space: reported as /0.
        assert_eq!(needs_space(&[want("a", "10.0.0.0/8", 0), want("b", "11.0.0.0/8", 1)]), 0);
        assert_eq!(needs_space(&[want("a", "10.0.0.0/8", 1), want("b", "11.0.0.0/8", 1)]), 0);
    }

    #[test]
    fn forbidden_matches_its_strings() {
        let parsed: Vec<Ipv4Net> = FORBIDDEN.iter().map(|s| net(s)).collect();
        assert_eq!(parsed, forbidden().to_vec());
        assert_eq!(PRIVATE.to_vec(), nets(&["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]));
    }

    // ---- subnets ----

    #[test]
    fn a_grown_subnet_fits_in_place() {
        let ws = [want("nodes", "10.0.0.0/24", 22), want("pods", "10.1.0.0/16", 16)];
        assert_eq!(lay_out_subnets(&ws, &nets(&["10.0.0.0/8"]), &[]), fits(&["10.0.0.0/22", "10.1.0.0/16"]));
    }

    #[test]
    fn a_grown_subnet_moves_past_its_neighbours() {
        // nodes must become a /22; 10.0.0.0/22 holds a kept neighbour, so it moves to 10.0.4.0/22
        // ... which another neighbour overlaps, so 10.0.8.0/22.
        let ws = [want("a", "10.0.1.0/24", 24), want("nodes", "10.0.0.0/24", 22), want("b", "10.0.6.0/23", 23)];
        assert_eq!(
            lay_out_subnets(&ws, &nets(&["10.0.0.0/16"]), &[]),
            fits(&["10.0.1.0/24", "10.0.8.0/22", "10.0.6.0/23"])
        );
    }

    #[test]
    fn kept_subnets_never_move() {
        // Kept ones are returned exactly as written, even when a grower could use their room,
        // and a want that needs less than it has keeps what it has.
        let ws = [
            want("big", "10.0.0.0/16", 20),
            want("exact", "10.1.0.0/24", 24),
            want("grow", "10.2.0.0/24", 15),
            want("hostbits", "10.3.0.5/24", 26),
        ];
        let Layout::Fits(got) = lay_out_subnets(&ws, &nets(&["10.0.0.0/8"]), &[]) else { panic!("does not fit") };
        assert_eq!(got[0], net("10.0.0.0/16"));
        assert_eq!(got[1], net("10.1.0.0/24"));
        // 10.2.0.0/15 overlaps 10.3.0.0/24: the first free /15 is 10.4.0.0/15.
        assert_eq!(got[2], net("10.4.0.0/15"));
        assert_eq!(got[3], net("10.3.0.5/24"));
    }

    #[test]
    fn largest_first_changes_the_answer() {
        // A /24 space, a kept /26 at the top; a needs a /26, b a /25.
        let space = nets(&["10.0.0.0/24"]);
        let kept = want("c", "10.0.0.192/26", 26);
        let a = want("a", "10.0.0.0/28", 26);
        let b = want("b", "10.0.0.16/28", 25);
        // In input order a would take 10.0.0.0/26 and b would then have no /25 left.
        assert_eq!(lay_out_subnets(&[a.clone(), kept.clone()], &space, &[]), fits(&["10.0.0.0/26", "10.0.0.192/26"]));
        let a_first = want("a", "10.0.0.0/26", 26);
        assert!(matches!(lay_out_subnets(&[a_first, b.clone(), kept.clone()], &space, &[]), Layout::DoesNotFit { .. }));
        // Largest first: b takes the lower /25, a the free /26 after it.
        assert_eq!(
            lay_out_subnets(&[a.clone(), b.clone(), kept.clone()], &space, &[]),
            fits(&["10.0.0.128/26", "10.0.0.0/25", "10.0.0.192/26"])
        );
        // Ties keep input order.
        let x = want("x", "10.0.0.0/28", 26);
        let y = want("y", "10.0.0.16/28", 26);
        assert_eq!(lay_out_subnets(&[y.clone(), x.clone()], &space, &[]), fits(&["10.0.0.0/26", "10.0.0.64/26"]));
        assert_eq!(lay_out_subnets(&[x, y], &space, &[]), fits(&["10.0.0.0/26", "10.0.0.64/26"]));
    }

    #[test]
    fn does_not_fit_names_the_space_needed() {
        let ws = [want("a", "10.0.0.0/28", 25), want("b", "10.0.0.16/28", 25), want("c", "10.0.0.32/28", 26)];
        assert_eq!(lay_out_subnets(&ws, &nets(&["10.0.0.0/24"]), &[]), Layout::DoesNotFit { needs_space: 23 });
        // With room it fits, buddy-packed.
        assert_eq!(
            lay_out_subnets(&ws, &nets(&["10.0.0.0/23"]), &[]),
            fits(&["10.0.0.0/25", "10.0.0.128/25", "10.0.1.0/26"])
        );
        // A want larger than every prefix of the space.
        let ws = [want("a", "10.0.0.0/24", 16)];
        assert_eq!(lay_out_subnets(&ws, &nets(&["10.0.0.0/20"]), &[]), Layout::DoesNotFit { needs_space: 16 });
        // No space at all.
        assert_eq!(lay_out_subnets(&ws, &[], &[]), Layout::DoesNotFit { needs_space: 16 });
        // Nothing to grow: fits even with no space.
        assert_eq!(lay_out_subnets(&[want("k", "10.0.0.0/24", 25)], &[], &[]), fits(&["10.0.0.0/24"]));
        assert_eq!(lay_out_subnets(&[], &[], &[]), Layout::Fits(vec![]));
    }

    #[test]
    fn avoid_ranges_are_respected() {
        // A service CIDR at 10.0.0.0/20 and a pod CIDR at 10.0.16.0/22 inside the VNet's space.
        let avoid = nets(&["10.0.0.0/20", "10.0.16.0/22"]);
        let ws = [want("nodes", "10.0.32.0/24", 22), want("small", "10.0.33.0/28", 27)];
        assert_eq!(lay_out_subnets(&ws, &nets(&["10.0.0.0/16"]), &avoid), fits(&["10.0.20.0/22", "10.0.24.0/27"]));
        // Avoid covering the whole space: does not fit.
        assert_eq!(
            lay_out_subnets(&ws, &nets(&["10.0.0.0/16"]), &nets(&["10.0.0.0/15"])),
            // 1,024 + 32 addresses → 2,048.
            Layout::DoesNotFit { needs_space: 21 }
        );
    }

    #[test]
    fn a_block_lies_inside_a_single_address_space_prefix() {
        // Two adjacent /25s make a /24, but a /24 subnet may not straddle them.
        let space = nets(&["10.0.0.0/25", "10.0.0.128/25"]);
        let ws = [want("a", "10.0.0.0/26", 24)];
        assert_eq!(lay_out_subnets(&ws, &space, &[]), Layout::DoesNotFit { needs_space: 24 });
        let ws = [want("a", "10.0.0.0/26", 25), want("b", "10.0.0.128/26", 25)];
        assert_eq!(lay_out_subnets(&ws, &space, &[]), fits(&["10.0.0.0/25", "10.0.0.128/25"]));
        // Prefixes are searched in the order given, not by address: the first one that has room.
        let space = nets(&["192.168.0.0/24", "10.0.0.0/16"]);
        let ws = [want("k", "192.168.0.0/25", 25), want("a", "192.168.0.128/27", 24), want("b", "10.0.0.0/28", 26)];
        assert_eq!(lay_out_subnets(&ws, &space, &[]), fits(&["192.168.0.0/25", "10.0.0.0/24", "192.168.0.128/26"]));
    }

    #[test]
    fn the_top_and_the_whole_of_ipv4() {
        let ws = [want("k", "255.255.255.0/25", 25), want("g", "255.255.255.192/27", 26)];
        assert_eq!(
            lay_out_subnets(&ws, &nets(&["255.255.255.0/24"]), &[]),
            fits(&["255.255.255.0/25", "255.255.255.128/26"])
        );
        let ws = [want("g", "10.0.0.0/24", 0)];
        assert_eq!(lay_out_subnets(&ws, &nets(&["0.0.0.0/0"]), &[]), fits(&["0.0.0.0/0"]));
        assert_eq!(
            lay_out_subnets(&ws, &nets(&["0.0.0.0/0"]), &nets(&["255.255.255.255/32"])),
            Layout::DoesNotFit { needs_space: 0 }
        );
    }

    #[test]
    fn many_taken_ranges_in_a_slash_8_are_searched_fast() {
        // 600 kept /24s from 10.0.0.0, hundreds of scattered avoid /30s, and /29 wants that
        // must grow: found by jumping, not by trying 2^21 candidates.
        let mut ws: Vec<Want> = (0..600u32)
            .map(|i| {
                let a = Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 0, 0, 0)) + (i << 8));
                Want { name: format!("k{i}"), current: Ipv4Net::new(a, 24).unwrap(), needs: 24 }
            })
            .collect();
        let avoid: Vec<Ipv4Net> = (0..500u32)
            .map(|i| Ipv4Net::new(Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 2, 88, 0)) + i * 8), 30).unwrap())
            .collect();
        for i in 0..200 {
            ws.push(want(&format!("g{i}"), "10.200.0.0/30", 29));
        }
        ws.push(want("last", "10.200.0.0/30", 16));
        let started = std::time::Instant::now();
        let Layout::Fits(got) = lay_out_subnets(&ws, &nets(&["10.0.0.0/8"]), &avoid) else { panic!("does not fit") };
        assert!(started.elapsed().as_secs() < 5);
        // 600 /24s end at 10.2.88.0; the avoid /30s start there, one every 8 addresses, so each
        // /29 overlaps one until they end at 10.2.88.0 + 4,000.
        assert_eq!(got[600], net("10.2.103.160/29"));
        assert_eq!(got[799], net(&format!("10.2.{}.{}/29", (4000 + 199 * 8) / 256 + 88, (4000 + 199 * 8) % 256)));
        // The /16 goes first (largest), to the first /16 past everything taken.
        assert_eq!(got[800], net("10.3.0.0/16"));
        // Nothing overlaps.
        let mut all: Vec<Span> = got.iter().chain(&avoid).map(span_of).collect();
        all.sort_unstable();
        assert!(all.windows(2).all(|w| w[0].1 <= w[1].0));
    }

    // ---- pod CIDRs ----

    fn pod_avoid(vnet: &[&str]) -> Vec<Ipv4Net> {
        let mut avoid = nets(vnet);
        avoid.push(net("10.0.0.0/16")); // service CIDR
        avoid.extend(forbidden());
        avoid
    }

    #[test]
    fn a_pod_cidr_grows_in_place_when_free() {
        let ws = [want("overlay", "10.244.0.0/16", 15), want("kubenet", "10.250.0.0/16", 14)];
        assert_eq!(lay_out_pod_cidrs(&ws, &pod_avoid(&["10.224.0.0/12"])), fits(&["10.244.0.0/15", "10.248.0.0/14"]));
        // Growing in place keeps its position even outside the private ranges.
        let ws = [want("cgnat", "100.64.0.0/16", 14)];
        assert_eq!(lay_out_pod_cidrs(&ws, &pod_avoid(&["10.1.0.0/16"])), fits(&["100.64.0.0/14"]));
        // A want that needs less keeps what it has.
        let ws = [want("k", "10.244.0.0/16", 20)];
        assert_eq!(lay_out_pod_cidrs(&ws, &pod_avoid(&["10.1.0.0/16"])), fits(&["10.244.0.0/16"]));
    }

    #[test]
    fn a_pod_cidr_moves_to_the_lowest_free_private_block() {
        // 10.244.0.0/15 would overlap another cluster's kept pod CIDR at 10.245.0.0/16: the
        // lowest free /15 in 10/8 past the service CIDR (10.0/16) and the VNet (10.1/16).
        let ws = [want("a", "10.244.0.0/16", 15), want("b", "10.245.0.0/16", 16)];
        assert_eq!(lay_out_pod_cidrs(&ws, &pod_avoid(&["10.1.0.0/16"])), fits(&["10.2.0.0/15", "10.245.0.0/16"]));
        // In place over the VNet: moves.
        let ws = [want("a", "10.244.0.0/16", 12)];
        assert_eq!(lay_out_pod_cidrs(&ws, &pod_avoid(&["10.240.0.0/16"])), fits(&["10.16.0.0/12"]));
    }

    #[test]
    fn a_pod_cidr_skips_the_vnet_and_the_forbidden_ranges() {
        // The VNet takes all of 10/8; 172.16.0.0/13, 172.24.0.0/14 and 172.28.0.0/15 are other
        // clusters' pod CIDRs; 172.30/16 and 172.31/16 are forbidden: 192.168.0.0/16 is left.
        let ws = [
            want("a", "10.244.0.0/24", 16),
            want("b", "172.16.0.0/13", 13),
            want("c", "172.24.0.0/14", 14),
            want("d", "172.28.0.0/15", 15),
        ];
        let avoid = pod_avoid(&["10.0.0.0/8"]);
        assert_eq!(
            lay_out_pod_cidrs(&ws, &avoid),
            fits(&["192.168.0.0/16", "172.16.0.0/13", "172.24.0.0/14", "172.28.0.0/15"])
        );
        // A /13 cannot avoid 172.30/16 in 172.24/13, and 192.168/16 is too small.
        let ws = [want("a", "10.244.0.0/16", 13), want("b", "172.16.0.0/13", 13)];
        assert_eq!(lay_out_pod_cidrs(&ws, &avoid), Layout::DoesNotFit { needs_space: 12 });
        // Growing in place into 169.254/16 is refused.
        let ws = [want("a", "169.253.0.0/16", 14)];
        assert_eq!(lay_out_pod_cidrs(&ws, &pod_avoid(&["10.1.0.0/16"])), fits(&["10.4.0.0/14"]));
        // Without the forbidden ranges in avoid, the caller gets what it asked for.
        let ws = [want("a", "169.253.0.0/16", 14)];
        assert_eq!(lay_out_pod_cidrs(&ws, &[]), fits(&["169.252.0.0/14"]));
    }

    #[test]
    fn pod_cidrs_go_largest_first_and_do_not_overlap_each_other() {
        // b (/14) goes first and grows in place over a's current /16, which does not count as
        // taken for a itself, nor for others while a is unplaced; a then moves.
        let ws = [want("a", "10.244.0.0/16", 15), want("b", "10.245.0.0/16", 14)];
        assert_eq!(lay_out_pod_cidrs(&ws, &pod_avoid(&["10.1.0.0/16"])), fits(&["10.2.0.0/15", "10.244.0.0/14"]));
    }
}
