//! The VNet: its prefixes (`Ranges`), subnets, overlaps and AKS's forbidden ranges.

use super::*;

/// The VNet's prefixes as sorted, disjoint ranges (overlapping prefixes merged),
/// for lookups in O(log n).
pub(super) struct Ranges(Vec<(u32, u32, Ipv4Net)>);

impl Ranges {
    pub(super) fn new(prefixes: &[Ipv4Net]) -> Self {
        let mut sorted = prefixes.to_vec();
        sorted.sort_by_key(|n| (n.network(), n.prefix_len()));
        let mut out: Vec<(u32, u32, Ipv4Net)> = Vec::new();
        for n in sorted {
            let (start, end) = (u32::from(n.network()), u32::from(n.broadcast()));
            match out.last_mut() {
                // CIDR prefixes overlap only by nesting: the first one covers.
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => out.push((start, end, n)),
            }
        }
        Self(out)
    }

    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The range holding the last start at or before `addr`.
    pub(super) fn at(&self, addr: u32) -> Option<&(u32, u32, Ipv4Net)> {
        let i = self.0.partition_point(|r| r.0 <= addr);
        i.checked_sub(1).map(|i| &self.0[i])
    }

    /// A VNet prefix holding all of `net`.
    pub(super) fn containing(&self, net: Ipv4Net) -> Option<Ipv4Net> {
        self.at(u32::from(net.network())).filter(|r| u32::from(net.broadcast()) <= r.1).map(|r| r.2)
    }

    /// A VNet prefix sharing an address with `net`.
    pub(super) fn overlapping(&self, net: Ipv4Net) -> Option<Ipv4Net> {
        self.at(u32::from(net.broadcast())).filter(|r| r.1 >= u32::from(net.network())).map(|r| r.2)
    }
}

pub(super) fn overlaps(a: Ipv4Net, b: Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

pub(super) fn forbidden_ranges() -> impl Iterator<Item = Ipv4Net> {
    FORBIDDEN_RANGES.iter().map(|s| s.parse().expect("constant prefix"))
}

/// Pairs (later, earlier) of overlapping prefixes, each overlapping item reported
/// once against one it overlaps; items are (file index, prefix).
fn overlapping_pairs(items: &[(usize, Ipv4Net)]) -> Vec<(usize, usize)> {
    let mut sorted: Vec<(usize, Ipv4Net)> = items.to_vec();
    sorted.sort_by_key(|&(i, n)| (n.network(), n.prefix_len(), i));
    let mut pairs = Vec::new();
    let mut cover: Option<(u32, usize)> = None; // (highest end so far, its item)
    for &(i, n) in &sorted {
        let (start, end) = (u32::from(n.network()), u32::from(n.broadcast()));
        match cover {
            Some((cover_end, j)) if start <= cover_end => {
                pairs.push((i.max(j), i.min(j)));
                if end > cover_end {
                    cover = Some((end, i));
                }
            }
            _ => cover = Some((end, i)),
        }
    }
    pairs.sort_unstable();
    pairs
}

impl Validator {
    pub(super) fn network(&mut self, raw: &RawNetwork) -> (Network, Subnets, Ranges) {
        let p = FieldPath::root().key("network");
        let ps = p.key("address_space");
        if raw.address_space.is_empty() {
            self.err(&ps, "address_space needs at least one prefix, like [10.0.0.0/8]");
        }
        let mut space = Vec::new();
        let mut space_idx = Vec::new();
        for (i, text) in raw.address_space.iter().enumerate() {
            let pi = ps.index(i);
            if let Some(net) = self.prefix(&pi, text) {
                self.forbidden(&pi, "VNet prefix", net);
                space.push(net);
                space_idx.push((i, net));
            }
        }
        for (later, earlier) in overlapping_pairs(&space_idx) {
            let (a, b) = (&raw.address_space[later], &raw.address_space[earlier]);
            self.err(&ps.index(later), format!("VNet prefix {a} overlaps address_space[{earlier}] ({b})"));
        }

        let psub = p.key("subnets");
        let ranges = Ranges::new(&space);
        let space_list = {
            let texts: Vec<String> = space.iter().map(ToString::to_string).collect();
            list(texts.iter().map(String::as_str))
        };
        let mut subnets =
            Subnets { by_name: HashMap::new(), ids: HashMap::new(), list: String::new(), nets: Vec::new() };
        let mut names = Vec::new();
        let mut out = Vec::new();
        let mut parsed = Vec::new();
        for (i, (name, text)) in raw.subnets.0.iter().enumerate() {
            let pn = psub.key(name);
            if name.trim().is_empty() {
                self.err(&psub, "a subnet name must not be empty");
            }
            if subnets.by_name.contains_key(name) {
                self.err(&pn, format!("duplicate subnet name `{name}`"));
                continue;
            }
            let net = self.prefix(&pn, text);
            subnets.by_name.insert(name.clone(), net);
            names.push(name.as_str());
            let Some(net) = net else { continue };
            if net.prefix_len() > 29 {
                self.err(&pn, format!("subnet `{name}` ({net}) is smaller than /29, the smallest Azure subnet"));
            }
            if !ranges.is_empty() && ranges.containing(net).is_none() {
                self.err(&pn, format!("subnet `{name}` ({net}) is outside the VNet's address_space ({space_list})"));
            }
            self.forbidden(&pn, &format!("subnet `{name}`"), net);
            parsed.push((i, net));
            subnets.ids.insert(name.clone(), SubnetId(out.len() as u32));
            subnets.nets.push((name.clone(), net));
            out.push(Subnet { name: name.clone(), prefix: net });
        }
        for (later, earlier) in overlapping_pairs(&parsed) {
            let (ln, lt) = &raw.subnets.0[later];
            let (en, et) = &raw.subnets.0[earlier];
            self.err(&psub.key(ln), format!("subnet `{ln}` ({lt}) overlaps subnet `{en}` ({et})"));
        }
        subnets.list = list(names);
        (Network { address_space: space, subnets: out }, subnets, ranges)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_sweep() {
        let n = |s: &str| s.parse::<Ipv4Net>().unwrap();
        let items = [(0, n("10.0.0.0/16")), (1, n("10.1.0.0/16")), (2, n("10.0.5.0/24")), (3, n("10.0.0.0/8"))];
        assert_eq!(overlapping_pairs(&items), vec![(3, 0), (3, 1), (3, 2)]);
        let items = [(0, n("10.0.0.0/16")), (1, n("10.1.0.0/16")), (2, n("10.0.5.0/24"))];
        assert_eq!(overlapping_pairs(&items), vec![(2, 0)]);
        let items = [(0, n("10.0.0.0/24")), (1, n("10.0.1.0/24")), (2, n("0.0.0.0/0"))];
        assert_eq!(overlapping_pairs(&items), vec![(2, 0), (2, 1)]);
        assert!(overlapping_pairs(&[(0, n("10.0.0.0/24")), (1, n("10.0.1.0/24"))]).is_empty());
    }

    #[test]
    fn vnet_ranges() {
        let n = |s: &str| s.parse::<Ipv4Net>().unwrap();
        // Nested and overlapping prefixes merge into the covering one.
        let r = Ranges::new(&[n("10.2.0.0/16"), n("10.0.0.0/8"), n("10.0.0.0/16"), n("192.168.0.0/24")]);
        assert_eq!(r.containing(n("10.200.0.0/24")), Some(n("10.0.0.0/8")));
        assert_eq!(r.containing(n("192.168.0.128/25")), Some(n("192.168.0.0/24")));
        assert_eq!(r.containing(n("192.168.0.0/23")), None);
        assert_eq!(r.containing(n("11.0.0.0/24")), None);
        assert_eq!(r.overlapping(n("192.168.0.0/23")), Some(n("192.168.0.0/24")));
        assert_eq!(r.overlapping(n("0.0.0.0/0")), Some(n("192.168.0.0/24")));
        assert_eq!(r.overlapping(n("9.0.0.0/8")), None);
        assert_eq!(r.overlapping(n("10.0.0.0/16")), Some(n("10.0.0.0/8")));
        // Adjacent prefixes stay apart: a subnet must sit inside one of them.
        let r = Ranges::new(&[n("10.0.0.0/25"), n("10.0.0.128/25")]);
        assert_eq!(r.containing(n("10.0.0.0/24")), None);
        assert_eq!(r.containing(n("10.0.0.128/26")), Some(n("10.0.0.128/25")));
        let r = Ranges::new(&[n("255.255.255.255/32"), n("0.0.0.0/32")]);
        assert_eq!(r.containing(n("255.255.255.255/32")), Some(n("255.255.255.255/32")));
        assert_eq!(r.overlapping(n("0.0.0.0/31")), Some(n("0.0.0.0/32")));
        assert!(Ranges::new(&[]).is_empty());
    }
}
