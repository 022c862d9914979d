//! Semantic validation: the raw document (`raw.rs`) → the validated [`Scenario`].
//!
//! Every fault found is collected (not just the first), each with the field path
//! it concerns and what would be valid; warnings are collected alongside. The
//! rules are those of scenario.md and model.md; choices where the specs are silent
//! are marked "Decision".

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::Read;
use std::net::Ipv4Addr;
use std::path::Path;

use ipnet::Ipv4Net;

use crate::diag::{Diagnostic, FieldPath, LoadError, Severity};
use crate::duration::{format_duration, parse_duration};
use crate::model::*;
use crate::raw::*;
use crate::yaml;

/// Command-line settings applied while loading.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Overrides {
    /// Replaces the allocator of every cluster *before* validation (defaults and
    /// rules depend on it).
    pub allocator: Option<&'static Mode>,
    /// Replaces the scenario's `seed`.
    pub seed: Option<u64>,
}

/// A valid scenario and the warnings found while checking it.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub scenario: Scenario,
    pub warnings: Vec<Diagnostic>,
}

/// Nodes per pool (count, autoscale max, scale_pool count).
pub const MAX_NODES_PER_POOL: u64 = 1_000;
/// Nodes per cluster: the sum over its pools of the autoscale max, else the count.
pub const MAX_NODES_PER_CLUSTER: u64 = 5_000;
/// max_pods range, all allocators.
pub const MAX_PODS_RANGE: std::ops::RangeInclusive<u64> = 10..=250;
/// Decision: replicas are capped at what the largest valid cluster could run
/// (5,000 nodes × 250 pods), so a typo cannot make the simulator allocate billions
/// of pods.
pub const MAX_REPLICAS: u64 = MAX_NODES_PER_CLUSTER * 250;
/// Longest duration: simulated time counts milliseconds in a u64.
pub const MAX_DURATION: Seconds = u64::MAX / 1000;
/// Decision: at most this many samples (`duration / sample_every`), so a typo
/// cannot make the outputs unbounded.
pub const MAX_SAMPLES: u64 = 10_000_000;
/// Ranges AKS forbids for every VNet prefix, subnet, pod CIDR and service CIDR.
pub const FORBIDDEN_RANGES: [&str; 4] = ["169.254.0.0/16", "172.30.0.0/16", "172.31.0.0/16", "192.0.2.0/24"];
pub const DEFAULT_POD_CIDR: &str = "10.244.0.0/16";
pub const DEFAULT_SERVICE_CIDR: &str = "10.0.0.0/16";
pub const DEFAULT_SAMPLE_EVERY: Seconds = 3_600;
pub const DEFAULT_MAX_SURGE: Surge = Surge::Percent(10);

/// Location lookups re-read the file; this bounds the bytes re-read in total.
const LOCATE_BUDGET_BYTES: usize = 16 * 1024 * 1024;
const LOCATE_MAX: usize = 200;

/// Reads and validates the scenario file at `path`. Errors name the file as given.
pub fn load(path: &Path, overrides: &Overrides) -> Result<Loaded, LoadError> {
    let label = path.display().to_string();
    let fail = |message: String| LoadError {
        errors: vec![Diagnostic {
            severity: Severity::Error,
            file: label.clone(),
            path: String::new(),
            message,
            location: None,
        }],
        warnings: Vec::new(),
    };
    let file = std::fs::File::open(path).map_err(|e| fail(format!("cannot read the file: {e}")))?;
    let mut bytes = Vec::new();
    file.take(yaml::MAX_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(format!("cannot read the file: {e}")))?;
    if bytes.len() > yaml::MAX_BYTES {
        return Err(fail(too_large()));
    }
    let text = String::from_utf8(bytes).map_err(|e| fail(format!("the file is not UTF-8 text: {e}")))?;
    parse_str(&text, &label, overrides)
}

fn too_large() -> String {
    format!("the file is larger than {} MiB, the limit for a scenario", yaml::MAX_BYTES / (1024 * 1024))
}

/// Validates scenario text; `file_label` names it in diagnostics.
pub fn parse_str(text: &str, file_label: &str, overrides: &Overrides) -> Result<Loaded, LoadError> {
    let diag = |severity, path: String, message: String, location| Diagnostic {
        severity,
        file: file_label.to_owned(),
        path,
        message,
        location,
    };
    if text.len() > yaml::MAX_BYTES {
        return Err(LoadError {
            errors: vec![diag(Severity::Error, String::new(), too_large(), None)],
            warnings: Vec::new(),
        });
    }
    let raw = yaml::parse(text).map_err(|f| LoadError {
        errors: vec![diag(Severity::Error, f.path, f.message, f.location)],
        warnings: Vec::new(),
    })?;

    check(&raw, Some(text), file_label, overrides)
}

/// Validates a scenario built or edited in code (`podip plan`'s resized ranges):
/// it is written back as the document it stands for, every default spelled
/// out, and checked by exactly the rules a file is. Diagnostics name
/// `file_label` and have no positions. A valid scenario comes back equal to
/// itself (tested on every bundled scenario).
pub fn validate(scenario: &Scenario, file_label: &str) -> Result<Loaded, LoadError> {
    check(&crate::document::document(scenario), None, file_label, &Overrides::default())
}

/// The rules over a parsed document; `text`, when there is one, gives positions.
fn check(raw: &RawScenario, text: Option<&str>, file_label: &str, overrides: &Overrides) -> Result<Loaded, LoadError> {
    let diag = |severity, path: String, message: String, location| Diagnostic {
        severity,
        file: file_label.to_owned(),
        path,
        message,
        location,
    };
    let mut v = Validator { overrides: *overrides, errors: Vec::new(), warnings: Vec::new() };
    let scenario = v.scenario(raw);

    // Positions: a re-read per diagnostic, within a budget.
    let mut budget = text.map_or(0, |text| (LOCATE_BUDGET_BYTES / text.len().max(1)).min(LOCATE_MAX));
    let mut finish = |severity, list: Vec<(FieldPath, String)>| {
        let mut out: Vec<Diagnostic> = list
            .into_iter()
            .map(|(path, message)| {
                let location = match text {
                    Some(text) if budget > 0 => {
                        budget -= 1;
                        yaml::locate(text, &path)
                    }
                    _ => None,
                };
                diag(severity, path.to_string(), message, location)
            })
            .collect();
        // File order; unlocated ones last, in the order found.
        out.sort_by_key(|d| d.location.map_or((usize::MAX, usize::MAX), |l| (l.line, l.column)));
        out
    };
    let errors = finish(Severity::Error, v.errors);
    let warnings = finish(Severity::Warning, v.warnings);
    if errors.is_empty() { Ok(Loaded { scenario, warnings }) } else { Err(LoadError { errors, warnings }) }
}

/// The mode named `s` (`dynamic`, `static-block`, …), from the `modes` registry.
pub fn find_allocator(s: &str) -> Result<&'static Mode, UnknownAllocator> {
    modes::find(s).ok_or_else(|| UnknownAllocator(s.to_owned()))
}

/// An allocator name that is not one of the registry's ([`modes::ALL`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown allocator `{0}`; valid allocators: {names}", names = modes::names())]
pub struct UnknownAllocator(pub String);

/// Names for a message: `a, b, c` (at most 20), or `none`.
fn list<'a, I>(names: I) -> String
where
    I: IntoIterator<Item = &'a str>,
    I::IntoIter: ExactSizeIterator,
{
    let names = names.into_iter();
    let n = names.len();
    if n == 0 {
        return "none".to_owned();
    }
    let mut out = names.take(20).collect::<Vec<_>>().join(", ");
    if n > 20 {
        out.push_str(&format!(", … ({n} in all)"));
    }
    out
}

/// The VNet's prefixes as sorted, disjoint ranges (overlapping prefixes merged),
/// for lookups in O(log n).
struct Ranges(Vec<(u32, u32, Ipv4Net)>);

impl Ranges {
    fn new(prefixes: &[Ipv4Net]) -> Self {
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

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The range holding the last start at or before `addr`.
    fn at(&self, addr: u32) -> Option<&(u32, u32, Ipv4Net)> {
        let i = self.0.partition_point(|r| r.0 <= addr);
        i.checked_sub(1).map(|i| &self.0[i])
    }

    /// A VNet prefix holding all of `net`.
    fn containing(&self, net: Ipv4Net) -> Option<Ipv4Net> {
        self.at(u32::from(net.network())).filter(|r| u32::from(net.broadcast()) <= r.1).map(|r| r.2)
    }

    /// A VNet prefix sharing an address with `net`.
    fn overlapping(&self, net: Ipv4Net) -> Option<Ipv4Net> {
        self.at(u32::from(net.broadcast())).filter(|r| r.1 >= u32::from(net.network())).map(|r| r.2)
    }
}

/// Names that references may use, with their lists for messages.
struct Known<'a> {
    clusters: HashMap<&'a str, usize>,
    cluster_list: String,
    /// Per cluster (index into `clusters[]`): its pools and those events add.
    pools: Vec<BTreeSet<&'a str>>,
    workloads: HashMap<&'a str, usize>,
    workload_list: String,
    subnets: &'a Subnets,
}

fn overlaps(a: Ipv4Net, b: Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

fn forbidden_ranges() -> impl Iterator<Item = Ipv4Net> {
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

struct ClusterCtx {
    name: String,
    allocator: &'static Mode,
    max_pods: u32,
}

/// One pool, initial or added by an event, for the checks across pools.
struct PoolUse {
    owner: String, // "cluster/pool"
    path: FieldPath,
    allocator: &'static Mode,
    vnet_subnet: String,
    pod_subnet: Option<String>,
}

/// What a subnet name refers to.
struct Subnets {
    /// First prefix per name (None when it did not parse).
    by_name: HashMap<String, Option<Ipv4Net>>,
    /// The names, for messages.
    list: String,
}

impl Subnets {
    fn known(&self) -> &str {
        &self.list
    }
}

struct Validator {
    overrides: Overrides,
    errors: Vec<(FieldPath, String)>,
    warnings: Vec<(FieldPath, String)>,
}

impl Validator {
    fn err(&mut self, p: &FieldPath, msg: impl Into<String>) {
        self.errors.push((p.clone(), msg.into()));
    }

    fn warn(&mut self, p: &FieldPath, msg: impl Into<String>) {
        self.warnings.push((p.clone(), msg.into()));
    }

    fn scenario(&mut self, raw: &RawScenario) -> Scenario {
        let root = FieldPath::root();
        if raw.name.trim().is_empty() {
            self.err(&root.key("name"), "name must not be empty");
        }
        let duration = match self.duration(&root.key("duration"), &raw.duration) {
            Some(0) => {
                self.err(&root.key("duration"), "duration must be greater than 0");
                0
            }
            Some(d) if d > MAX_DURATION => {
                self.err(
                    &root.key("duration"),
                    format!(
                        "duration {d} s is longer than simulated time can count in milliseconds; at most \
                         {MAX_DURATION} s (about 584 million years)"
                    ),
                );
                MAX_DURATION
            }
            d => d.unwrap_or(0),
        };
        let sample_every = match &raw.sample_every {
            None => DEFAULT_SAMPLE_EVERY,
            Some(s) => {
                let p = root.key("sample_every");
                let v = self.duration(&p, s).unwrap_or(DEFAULT_SAMPLE_EVERY);
                if v == 0 {
                    self.err(&p, "sample_every must be greater than 0");
                }
                v.max(1)
            }
        };
        if duration / sample_every > MAX_SAMPLES {
            let p = if raw.sample_every.is_some() { root.key("sample_every") } else { root.key("duration") };
            self.err(
                &p,
                format!(
                    "duration {} sampled every {} makes {} samples; at most {MAX_SAMPLES} are allowed (raise sample_every)",
                    format_duration(duration),
                    format_duration(sample_every),
                    duration / sample_every
                ),
            );
        }
        let timing = self.timing(raw.timing.as_ref());
        let (network, subnets, vnet) = self.network(&raw.network);

        // Clusters and their initial pools.
        let mut pool_uses = Vec::new();
        let default_allocator = raw.allocator.map_or(modes::DEFAULT, |a| a.0);
        let mut clusters = Vec::new();
        if raw.clusters.is_empty() {
            self.err(&root.key("clusters"), "a scenario needs at least one cluster");
        }
        let mut cluster_index = HashMap::new();
        for (i, rc) in raw.clusters.iter().enumerate() {
            let p = root.key("clusters").index(i);
            self.unique_name(&mut cluster_index, ("clusters", i), &p, "cluster", &rc.name);
            let cluster = self.cluster(rc, &p, default_allocator, &vnet, &subnets, &mut pool_uses);
            clusters.push(cluster);
        }

        // What references may name: pools include those that events add.
        let events_raw = raw.events.as_deref().unwrap_or_default();
        let mut pools: Vec<BTreeSet<&str>> =
            raw.clusters.iter().map(|c| c.node_pools.iter().map(|p| p.name.as_str()).collect()).collect();
        for e in events_raw {
            if let Some(a) = &e.add_pool
                && let Some(&ci) = cluster_index.get(a.cluster.as_str())
            {
                pools[ci].insert(a.pool.name.as_str());
            }
        }
        let raw_workloads = raw.workloads.as_deref().unwrap_or_default();
        let mut known = Known {
            cluster_list: list(raw.clusters.iter().map(|c| c.name.as_str())),
            clusters: cluster_index,
            pools,
            workloads: HashMap::new(),
            workload_list: list(raw_workloads.iter().map(|w| w.name.as_str())),
            subnets: &subnets,
        };

        let workloads = self.workloads(raw_workloads, &mut known);
        let events = self.events(events_raw, duration, &clusters, &workloads, &known, &mut pool_uses);
        self.pool_subnets(&pool_uses, &subnets);

        Scenario {
            name: raw.name.clone(),
            description: raw.description.clone(),
            seed: self.overrides.seed.or(raw.seed).unwrap_or(0),
            duration,
            sample_every,
            network,
            clusters,
            workloads,
            events,
            timing,
        }
    }

    /// A duration scalar; reports and returns None when malformed.
    fn duration(&mut self, p: &FieldPath, s: &Scalar) -> Option<Seconds> {
        let r = match s {
            Scalar::Int(n) if *n < 0 => Err(format!("`{n}` is not a duration: it must not be negative")),
            Scalar::Int(n) => u64::try_from(*n).map_err(|_| format!("duration `{n}` is too large")),
            Scalar::Float(x) => {
                Err(format!("`{x}` is not a duration: write whole seconds, or parts like 1h30m (units s, m, h, d, w)"))
            }
            Scalar::Str(t) => parse_duration(t).map_err(|e| e.to_string()),
        };
        r.map_err(|m| self.err(p, m)).ok()
    }

    fn timing(&mut self, raw: Option<&RawTiming>) -> Timing {
        let mut t = Timing::default();
        let Some(raw) = raw else { return t };
        let p = FieldPath::root().key("timing");
        for (key, value, slot) in [
            ("node_provision", &raw.node_provision, &mut t.node_provision),
            ("node_drain", &raw.node_drain, &mut t.node_drain),
            ("node_reimage", &raw.node_reimage, &mut t.node_reimage),
        ] {
            if let Some(s) = value
                && let Some(v) = self.duration(&p.key(key), s)
            {
                *slot = v;
            }
        }
        t
    }

    /// A prefix; reports and returns None when malformed or with host bits set.
    fn prefix(&mut self, p: &FieldPath, text: &str) -> Option<Ipv4Net> {
        match text.parse::<Ipv4Net>() {
            Ok(net) if net.addr() != net.network() => {
                self.err(p, format!("`{text}` has host bits set; did you mean {}?", net.trunc()));
                None
            }
            Ok(net) => Some(net),
            Err(_) => {
                self.err(p, format!("`{text}` is not an IPv4 prefix; write a CIDR like 10.240.0.0/16"));
                None
            }
        }
    }

    fn forbidden(&mut self, p: &FieldPath, what: &str, net: Ipv4Net) {
        for f in forbidden_ranges() {
            if overlaps(net, f) {
                self.err(
                    p,
                    format!(
                        "{what} {net} touches {f}, a range AKS reserves; keep clear of {}",
                        FORBIDDEN_RANGES.join(", ")
                    ),
                );
            }
        }
    }

    /// Reports an empty or repeated name; `seen` maps names to their first index.
    fn unique_name<'a>(
        &mut self,
        seen: &mut HashMap<&'a str, usize>,
        (list_key, index): (&str, usize),
        p: &FieldPath,
        what: &str,
        name: &'a str,
    ) {
        if name.trim().is_empty() {
            self.err(&p.key("name"), format!("a {what} name must not be empty"));
            return;
        }
        if let Some(&first) = seen.get(name) {
            self.err(&p.key("name"), format!("duplicate {what} name `{name}` (also {list_key}[{first}])"));
        } else {
            seen.insert(name, index);
        }
    }

    fn network(&mut self, raw: &RawNetwork) -> (Network, Subnets, Ranges) {
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
        let mut subnets = Subnets { by_name: HashMap::new(), list: String::new() };
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

    /// A max_pods within what the mode accepts (itself within [`MAX_PODS_RANGE`]).
    fn max_pods(&mut self, p: &FieldPath, v: u64, mode: &Mode) -> u32 {
        let (min, max) = (u64::from(mode.max_pods.min), u64::from(mode.max_pods.max));
        if !(min..=max).contains(&v) {
            self.err(p, format!("max_pods {v} is out of range: it must be between {min} and {max}"));
        }
        v.clamp(min, max) as u32
    }

    fn cluster(
        &mut self,
        rc: &RawCluster,
        p: &FieldPath,
        default_allocator: &'static Mode,
        vnet: &Ranges,
        subnets: &Subnets,
        pool_uses: &mut Vec<PoolUse>,
    ) -> Cluster {
        let allocator = self.overrides.allocator.or(rc.allocator.map(|a| a.0)).unwrap_or(default_allocator);
        let max_pods = match rc.max_pods {
            Some(v) => self.max_pods(&p.key("max_pods"), v, allocator),
            None => allocator.max_pods.default,
        };
        let ctx = ClusterCtx { name: rc.name.clone(), allocator, max_pods };

        // Pod CIDR: always well-formed; checked further only where it is used.
        let default_pod_cidr: Ipv4Net = DEFAULT_POD_CIDR.parse().expect("constant prefix");
        let pp = p.key("pod_cidr");
        let pod_cidr = match &rc.pod_cidr {
            Some(t) => self.prefix(&pp, t),
            None => Some(default_pod_cidr),
        };
        if let Some(unit) = allocator.pod_cidr
            && let Some(net) = pod_cidr
        {
            self.forbidden(&pp, "pod_cidr", net);
            let unit = unit.prefix_len();
            if net.prefix_len() > unit {
                self.err(&pp, format!("pod_cidr {net} is smaller than /{unit}; it is carved into a /{unit} per node"));
            }
            // Decision: AKS refuses a pod CIDR inside the VNet, but model.md does not
            // list it and nothing simulated depends on it: a warning.
            if let Some(s) = vnet.overlapping(net) {
                self.warn(
                    &pp,
                    format!("pod_cidr {net} overlaps the VNet's address space ({s}); AKS would refuse this"),
                );
            }
        }

        let psvc = p.key("service_cidr");
        let service_cidr = match &rc.service_cidr {
            Some(t) => self.prefix(&psvc, t),
            None => Some(DEFAULT_SERVICE_CIDR.parse().expect("constant prefix")),
        };
        if let Some(svc) = service_cidr {
            self.forbidden(&psvc, "service_cidr", svc);
            if let Some(s) = vnet.overlapping(svc) {
                if rc.service_cidr.is_some() {
                    self.err(&psvc, format!("service_cidr {svc} overlaps the VNet's address space ({s})"));
                } else {
                    // Decision: the default 10.0.0.0/16 lies inside the common VNet
                    // 10.0.0.0/8 (scenario.md's own example), which must validate;
                    // nothing simulated uses the service range, so only warn.
                    self.warn(
                        &psvc,
                        format!(
                            "the default service_cidr {svc} overlaps the VNet's address space ({s}); \
                             AKS would refuse this: set service_cidr to a range outside the VNet"
                        ),
                    );
                }
            }
            if allocator.pod_cidr.is_some()
                && let Some(pod) = pod_cidr
                && overlaps(svc, pod)
            {
                self.err(&psvc, format!("service_cidr {svc} overlaps the pod_cidr {pod}"));
            }
        }

        let pdns = p.key("dns_service_ip");
        let dns = match (&rc.dns_service_ip, service_cidr) {
            (Some(t), svc) => match t.parse::<Ipv4Addr>() {
                Ok(ip) => {
                    if let Some(svc) = svc {
                        self.check_dns(&pdns, ip, svc, false);
                    }
                    ip
                }
                Err(_) => {
                    self.err(&pdns, format!("`{t}` is not an IPv4 address, like 10.0.0.10"));
                    Ipv4Addr::UNSPECIFIED
                }
            },
            (None, Some(svc)) => {
                let ip = Ipv4Addr::from(u32::from(svc.network()).saturating_add(10));
                self.check_dns(&pdns, ip, svc, true);
                ip
            }
            (None, None) => Ipv4Addr::UNSPECIFIED,
        };

        let scheduler = match rc.scheduler {
            None | Some(RawScheduler::Spread) => Scheduler::Spread,
            Some(RawScheduler::Pack) => Scheduler::Pack,
            Some(RawScheduler::Random) => Scheduler::Random,
        };

        let ppools = p.key("node_pools");
        if rc.node_pools.is_empty() {
            self.err(&ppools, "a cluster needs at least one node pool");
        }
        let mut seen = HashMap::new();
        let mut pools = Vec::new();
        let mut nodes: u64 = 0;
        for (j, rp) in rc.node_pools.iter().enumerate() {
            let pj = ppools.index(j);
            self.unique_name(&mut seen, ("node_pools", j), &pj, "pool", &rp.name);
            let pool = self.pool(rp, &pj, &ctx, subnets, pool_uses);
            nodes = nodes.saturating_add(rp.autoscale.map_or(rp.count, |a| a.max.max(rp.count)));
            pools.push(pool);
        }
        if nodes > MAX_NODES_PER_CLUSTER {
            self.err(
                &ppools,
                format!(
                    "the pools of cluster `{}` can reach {nodes} nodes (counts, or autoscale maxes); \
                     the limit is {MAX_NODES_PER_CLUSTER} per cluster",
                    rc.name
                ),
            );
        }

        let settings = self.settings(rc.settings.as_ref(), &p.key("settings"), allocator);
        Cluster {
            name: rc.name.clone(),
            allocator,
            settings,
            pod_cidr: pod_cidr.unwrap_or(default_pod_cidr),
            service_cidr: service_cidr.unwrap_or(DEFAULT_SERVICE_CIDR.parse().expect("constant prefix")),
            dns_service_ip: dns,
            scheduler,
            max_pods,
            node_pools: pools,
        }
    }

    /// `clusters[].settings`: only the mode's own keys, then the mode's checks.
    fn settings(&mut self, raw: Option<&BTreeMap<String, RawSetting>>, p: &FieldPath, mode: &Mode) -> Settings {
        let Some(raw) = raw else { return Settings::default() };
        let mut settings = Settings::default();
        for (key, value) in raw {
            if mode.settings.iter().any(|spec| spec.key == key) {
                settings.0.insert(key.clone(), value.to_setting());
            } else {
                let known = list(mode.settings.iter().map(|spec| spec.key));
                self.err(
                    &p.key(key),
                    format!("unknown setting `{key}` for the {mode} allocator; its settings: {known}"),
                );
            }
        }
        self.findings(p, (mode.check_settings)(&settings));
        settings
    }

    fn check_dns(&mut self, p: &FieldPath, ip: Ipv4Addr, svc: Ipv4Net, defaulted: bool) {
        let what = if defaulted {
            format!("the default dns_service_ip {ip} (.10 of service_cidr)")
        } else {
            format!("dns_service_ip {ip}")
        };
        let net = u32::from(svc.network());
        if !svc.contains(&ip) {
            let hint = if defaulted { "; set dns_service_ip" } else { "" };
            self.err(p, format!("{what} is outside the service_cidr {svc}{hint}"));
        } else if u32::from(ip) == net || Some(u32::from(ip)) == net.checked_add(1) {
            self.err(
                p,
                format!(
                    "{what} is the network or first address of service_cidr {svc}; use another address in it, \
                     like .10"
                ),
            );
        }
    }

    fn pool(
        &mut self,
        rp: &RawPool,
        p: &FieldPath,
        ctx: &ClusterCtx,
        subnets: &Subnets,
        pool_uses: &mut Vec<PoolUse>,
    ) -> NodePool {
        let alloc = ctx.allocator;
        if rp.count > MAX_NODES_PER_POOL {
            self.err(
                &p.key("count"),
                format!("count {} exceeds the limit of {MAX_NODES_PER_POOL} nodes per pool", rp.count),
            );
        }
        if !subnets.by_name.contains_key(&rp.vnet_subnet) {
            self.err(
                &p.key("vnet_subnet"),
                format!("unknown subnet `{}`; known subnets: {}", rp.vnet_subnet, subnets.known()),
            );
        }
        let pod_subnet = if alloc.pod_subnet.is_some() {
            match &rp.pod_subnet {
                None => {
                    self.err(
                        p,
                        format!(
                            "pool `{}` needs a pod_subnet under the {alloc} allocator (the subnet its pods take \
                             IPs from; known subnets: {})",
                            rp.name,
                            subnets.known()
                        ),
                    );
                    None
                }
                Some(s) => {
                    if !subnets.by_name.contains_key(s) {
                        self.err(
                            &p.key("pod_subnet"),
                            format!("unknown subnet `{s}`; known subnets: {}", subnets.known()),
                        );
                    }
                    Some(s.clone())
                }
            }
        } else {
            if rp.pod_subnet.is_some() {
                self.warn(&p.key("pod_subnet"), format!("pod_subnet is ignored by the {alloc} allocator"));
            }
            None
        };
        let max_pods = match rp.max_pods {
            Some(v) => self.max_pods(&p.key("max_pods"), v, alloc),
            None => ctx.max_pods,
        };
        let max_surge = match &rp.max_surge {
            None => DEFAULT_MAX_SURGE,
            Some(s) => self.surge(&p.key("max_surge"), s),
        };
        let autoscale = rp.autoscale.map(|a| {
            let pa = p.key("autoscale");
            if a.min > a.max {
                self.err(&pa, format!("autoscale min {} is greater than max {}", a.min, a.max));
            } else if rp.count < a.min || rp.count > a.max {
                self.err(
                    &p.key("count"),
                    format!("count {} is outside the autoscale range [{}, {}]", rp.count, a.min, a.max),
                );
            }
            if a.max > MAX_NODES_PER_POOL {
                self.err(
                    &pa.key("max"),
                    format!("autoscale max {} exceeds the limit of {MAX_NODES_PER_POOL} nodes per pool", a.max),
                );
            }
            Autoscale { min: a.min.min(MAX_NODES_PER_POOL) as u32, max: a.max.min(MAX_NODES_PER_POOL) as u32 }
        });
        let os = match rp.os {
            None | Some(RawOs::Linux) => Os::Linux,
            Some(RawOs::Windows) => {
                if !alloc.windows {
                    self.err(&p.key("os"), format!("the {alloc} allocator does not support Windows pools"));
                }
                Os::Windows
            }
        };
        let facts = allocator::PoolFacts { max_pods, max_pods_written: rp.max_pods.is_some() };
        self.findings(p, (alloc.check_pool)(&facts));
        pool_uses.push(PoolUse {
            owner: format!("{}/{}", ctx.name, rp.name),
            path: p.clone(),
            allocator: alloc,
            vnet_subnet: rp.vnet_subnet.clone(),
            pod_subnet: pod_subnet.clone(),
        });
        NodePool {
            name: rp.name.clone(),
            count: rp.count.min(MAX_NODES_PER_POOL) as u32,
            vnet_subnet: rp.vnet_subnet.clone(),
            pod_subnet,
            max_pods,
            max_surge,
            autoscale,
            os,
        }
    }

    fn surge(&mut self, p: &FieldPath, s: &Scalar) -> Surge {
        let bad = |what: &str| {
            format!(
                "`{what}` is not a valid max_surge: write a node count of at least 1, like 3, or a percent from 1% to 100%, like \"33%\""
            )
        };
        let r = match s {
            Scalar::Int(n) => {
                u32::try_from(*n).ok().filter(|n| *n >= 1).map(Surge::Count).ok_or_else(|| bad(&s.to_string()))
            }
            Scalar::Float(_) => Err(bad(&s.to_string())),
            Scalar::Str(t) => {
                let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
                match t.strip_suffix('%') {
                    Some(d) if digits(d) => d
                        .parse::<u32>()
                        .ok()
                        .filter(|v| (1..=100).contains(v))
                        .map(Surge::Percent)
                        .ok_or_else(|| bad(t)),
                    None if digits(t) => {
                        t.parse::<u32>().ok().filter(|n| *n >= 1).map(Surge::Count).ok_or_else(|| bad(t))
                    }
                    _ => Err(bad(t)),
                }
            }
        };
        r.unwrap_or_else(|m| {
            self.err(p, m);
            DEFAULT_MAX_SURGE
        })
    }

    fn workloads<'a>(&mut self, raw: &'a [RawWorkload], known: &mut Known<'a>) -> Vec<Workload> {
        let root = FieldPath::root().key("workloads");
        let mut out = Vec::new();
        for (i, w) in raw.iter().enumerate() {
            let p = root.index(i);
            self.unique_name(&mut known.workloads, ("workloads", i), &p, "workload", &w.name);
            match known.clusters.get(w.cluster.as_str()) {
                None => self.err(
                    &p.key("cluster"),
                    format!("unknown cluster `{}`; known clusters: {}", w.cluster, known.cluster_list),
                ),
                Some(&ci) => {
                    let pools = &known.pools[ci];
                    if let Some(pool) = &w.pool
                        && !pools.contains(pool.as_str())
                    {
                        self.err(
                            &p.key("pool"),
                            format!(
                                "unknown pool `{pool}` in cluster `{}`; known pools: {}",
                                w.cluster,
                                list(pools.iter().copied())
                            ),
                        );
                    }
                }
            }
            let kind = self.workload_kind(w, &p);
            out.push(Workload { name: w.name.clone(), cluster: w.cluster.clone(), pool: w.pool.clone(), kind });
        }
        out
    }

    fn workload_kind(&mut self, w: &RawWorkload, p: &FieldPath) -> WorkloadKind {
        let (kind_name, allowed): (&str, &[&str]) = match w.kind {
            RawKind::Deployment => ("deployment", &["replicas"]),
            RawKind::DaemonSet => ("daemonset", &["host_network"]),
            RawKind::Churn => ("churn", &["arrivals_per_hour", "lifetime", "start", "end"]),
        };
        let present = [
            ("replicas", w.replicas.is_some()),
            ("host_network", w.host_network.is_some()),
            ("arrivals_per_hour", w.arrivals_per_hour.is_some()),
            ("lifetime", w.lifetime.is_some()),
            ("start", w.start.is_some()),
            ("end", w.end.is_some()),
        ];
        for (key, is) in present {
            if is && !allowed.contains(&key) {
                self.err(
                    &p.key(key),
                    format!("`{key}` does not apply to a {kind_name} workload (its own keys: {})", allowed.join(", ")),
                );
            }
        }
        match w.kind {
            RawKind::Deployment => {
                let replicas = match w.replicas {
                    Some(r) => self.replicas(&p.key("replicas"), r),
                    None => {
                        self.err(p, "a deployment needs `replicas`");
                        0
                    }
                };
                WorkloadKind::Deployment { replicas }
            }
            RawKind::DaemonSet => WorkloadKind::DaemonSet { host_network: w.host_network.unwrap_or(false) },
            RawKind::Churn => {
                let rate = match w.arrivals_per_hour {
                    Some(r) if r.is_finite() && r > 0.0 => r,
                    Some(r) => {
                        self.err(
                            &p.key("arrivals_per_hour"),
                            format!("arrivals_per_hour must be a finite number greater than 0, not {r}"),
                        );
                        1.0
                    }
                    None => {
                        self.err(p, "a churn workload needs `arrivals_per_hour` (pods per hour)");
                        1.0
                    }
                };
                let lifetime = match &w.lifetime {
                    Some(l) => self.lifetime(&p.key("lifetime"), l),
                    None => {
                        self.err(
                            p,
                            "a churn workload needs `lifetime`: {fixed: D}, {exponential: D}, {uniform: [D1, D2]} \
                             or {lognormal: {median: D, sigma: F}}",
                        );
                        Lifetime::Fixed(1)
                    }
                };
                let start = w.start.as_ref().and_then(|s| self.duration(&p.key("start"), s)).unwrap_or(0);
                let end = w.end.as_ref().and_then(|s| self.duration(&p.key("end"), s));
                if let Some(end) = end
                    && end <= start
                {
                    self.err(
                        &p.key("end"),
                        format!("end {} must be after start {}", format_duration(end), format_duration(start)),
                    );
                }
                WorkloadKind::Churn { arrivals_per_hour: rate, lifetime, start, end }
            }
        }
    }

    fn replicas(&mut self, p: &FieldPath, r: u64) -> u32 {
        if r > MAX_REPLICAS {
            self.err(
                p,
                format!(
                    "replicas {r} is more than any cluster can run ({MAX_NODES_PER_CLUSTER} nodes × 250 pods = \
                     {MAX_REPLICAS})"
                ),
            );
        }
        r.min(MAX_REPLICAS) as u32
    }

    fn lifetime(&mut self, p: &FieldPath, l: &RawLifetime) -> Lifetime {
        let positive = |v: &mut Self, p: &FieldPath, s: &Scalar, what: &str| -> Seconds {
            match v.duration(p, s) {
                Some(0) => {
                    v.err(p, format!("{what} must be greater than 0"));
                    1
                }
                Some(d) => d,
                None => 1,
            }
        };
        let given: Vec<&str> = [
            ("fixed", l.fixed.is_some()),
            ("exponential", l.exponential.is_some()),
            ("uniform", l.uniform.is_some()),
            ("lognormal", l.lognormal.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, is)| is.then_some(k))
        .collect();
        if given.len() != 1 {
            let found = if given.is_empty() { "none".to_owned() } else { given.join(" and ") };
            self.err(
                p,
                format!(
                    "a lifetime is exactly one of {{fixed: D}}, {{exponential: D}}, {{uniform: [D1, D2]}} or \
                     {{lognormal: {{median: D, sigma: F}}}}; found {found}"
                ),
            );
            return Lifetime::Fixed(1);
        }
        if let Some(s) = &l.fixed {
            Lifetime::Fixed(positive(self, &p.key("fixed"), s, "a fixed lifetime"))
        } else if let Some(s) = &l.exponential {
            Lifetime::Exponential(positive(self, &p.key("exponential"), s, "an exponential lifetime's mean"))
        } else if let Some(v) = &l.uniform {
            let pu = p.key("uniform");
            if v.len() != 2 {
                self.err(&pu, format!("uniform takes two durations [low, high], not {}", v.len()));
                return Lifetime::Fixed(1);
            }
            let lo = self.duration(&pu.index(0), &v[0]);
            let hi = self.duration(&pu.index(1), &v[1]);
            match (lo, hi) {
                (Some(lo), Some(hi)) if lo > hi => {
                    self.err(
                        &pu,
                        format!("uniform low {} is greater than high {}", format_duration(lo), format_duration(hi)),
                    );
                    Lifetime::Fixed(1)
                }
                (Some(_), Some(0)) => {
                    self.err(&pu, "a uniform lifetime's high bound must be greater than 0");
                    Lifetime::Fixed(1)
                }
                (Some(lo), Some(hi)) => Lifetime::Uniform(lo, hi),
                _ => Lifetime::Fixed(1),
            }
        } else if let Some(ln) = &l.lognormal {
            let pl = p.key("lognormal");
            let median = positive(self, &pl.key("median"), &ln.median, "a lognormal lifetime's median");
            if !(ln.sigma.is_finite() && ln.sigma >= 0.0) {
                self.err(&pl.key("sigma"), format!("sigma must be a finite number of at least 0, not {}", ln.sigma));
            }
            Lifetime::LogNormal { median, sigma: if ln.sigma.is_finite() { ln.sigma.max(0.0) } else { 0.0 } }
        } else {
            unreachable!("exactly one lifetime key was found above")
        }
    }

    fn events(
        &mut self,
        raw: &[RawEvent],
        duration: Seconds,
        clusters: &[Cluster],
        workloads: &[Workload],
        known: &Known<'_>,
        pool_uses: &mut Vec<PoolUse>,
    ) -> Vec<TimedEvent> {
        let root = FieldPath::root().key("events");
        // (at, file index, action)
        let mut parsed: Vec<(Seconds, usize, Action)> = Vec::new();
        for (i, e) in raw.iter().enumerate() {
            let p = root.index(i);
            let at = self.duration(&p.key("at"), &e.at);
            let names: Vec<&str> = [
                ("scale_pool", e.scale_pool.is_some()),
                ("upgrade_pool", e.upgrade_pool.is_some()),
                ("add_pool", e.add_pool.is_some()),
                ("remove_pool", e.remove_pool.is_some()),
                ("scale_workload", e.scale_workload.is_some()),
                ("rollout", e.rollout.is_some()),
            ]
            .into_iter()
            .filter_map(|(n, is)| is.then_some(n))
            .collect();
            match names.len() {
                1 => {}
                0 => {
                    self.err(
                        &p,
                        "an event needs one action: scale_pool, upgrade_pool, add_pool, remove_pool, \
                         scale_workload or rollout",
                    );
                    continue;
                }
                _ => {
                    self.err(
                        &p,
                        format!(
                            "an event holds exactly one action, this one has {}; split it into separate events",
                            names.join(" and ")
                        ),
                    );
                    continue;
                }
            }
            let cluster = |v: &mut Self, pc: FieldPath, name: &str| -> Option<usize> {
                let found = known.clusters.get(name).copied();
                if found.is_none() {
                    v.err(&pc, format!("unknown cluster `{name}`; known clusters: {}", known.cluster_list));
                }
                found
            };
            let deployment = |v: &mut Self, pn: FieldPath, name: &str, action: &str| match known
                .workloads
                .get(name)
                .map(|&i| &workloads[i].kind)
            {
                None => v.err(&pn, format!("unknown workload `{name}`; known workloads: {}", known.workload_list)),
                Some(WorkloadKind::Deployment { .. }) => {}
                Some(kind) => {
                    let kind = if matches!(kind, WorkloadKind::DaemonSet { .. }) { "daemonset" } else { "churn" };
                    v.err(&pn, format!("`{name}` is a {kind} workload; {action} applies to deployments only"))
                }
            };
            let action = if let Some(a) = &e.scale_pool {
                let pa = p.key("scale_pool");
                cluster(self, pa.key("cluster"), &a.cluster);
                if a.count > MAX_NODES_PER_POOL {
                    self.err(
                        &pa.key("count"),
                        format!("count {} exceeds the limit of {MAX_NODES_PER_POOL} nodes per pool", a.count),
                    );
                }
                Action::ScalePool {
                    cluster: a.cluster.clone(),
                    pool: a.pool.clone(),
                    count: a.count.min(MAX_NODES_PER_POOL) as u32,
                }
            } else if let Some(a) = &e.upgrade_pool {
                cluster(self, p.key("upgrade_pool").key("cluster"), &a.cluster);
                Action::UpgradePool { cluster: a.cluster.clone(), pool: a.pool.clone() }
            } else if let Some(a) = &e.remove_pool {
                cluster(self, p.key("remove_pool").key("cluster"), &a.cluster);
                Action::RemovePool { cluster: a.cluster.clone(), pool: a.pool.clone() }
            } else if let Some(a) = &e.add_pool {
                let pa = p.key("add_pool");
                let Some(ci) = cluster(self, pa.key("cluster"), &a.cluster) else { continue };
                let c = &clusters[ci];
                let ctx = ClusterCtx { name: c.name.clone(), allocator: c.allocator, max_pods: c.max_pods };
                if a.pool.name.trim().is_empty() {
                    self.err(&pa.key("pool").key("name"), "a pool name must not be empty");
                }
                let pool = self.pool(&a.pool, &pa.key("pool"), &ctx, known.subnets, pool_uses);
                Action::AddPool { cluster: a.cluster.clone(), pool }
            } else if let Some(a) = &e.scale_workload {
                let pa = p.key("scale_workload");
                deployment(self, pa.key("name"), &a.name, "scale_workload");
                let replicas = self.replicas(&pa.key("replicas"), a.replicas);
                Action::ScaleWorkload { name: a.name.clone(), replicas }
            } else if let Some(a) = &e.rollout {
                deployment(self, p.key("rollout").key("name"), &a.name, "rollout");
                Action::Rollout { name: a.name.clone() }
            } else {
                unreachable!("exactly one action was found above")
            };
            if let Some(at) = at {
                parsed.push((at, i, action));
            }
        }
        // Replay order: by time, ties in file order.
        parsed.sort_by_key(|&(at, i, _)| (at, i));
        self.pool_timeline(&parsed, clusters, known);

        let mut out = Vec::new();
        for (at, i, action) in parsed {
            if at > duration {
                self.warn(
                    &root.index(i).key("at"),
                    format!(
                        "the event at {} comes after the scenario's duration ({}) and is dropped",
                        format_duration(at),
                        format_duration(duration)
                    ),
                );
            } else {
                out.push(TimedEvent { at, action });
            }
        }
        out
    }

    /// Pool references in events must name a pool that exists at that moment:
    /// initial pools, plus `add_pool`, minus `remove_pool`, in replay order.
    fn pool_timeline(&mut self, sorted: &[(Seconds, usize, Action)], clusters: &[Cluster], known: &Known<'_>) {
        let root = FieldPath::root().key("events");
        let mut live: Vec<BTreeSet<&str>> =
            clusters.iter().map(|c| c.node_pools.iter().map(|p| p.name.as_str()).collect()).collect();
        // Nodes each live pool can reach (its count, or its autoscale max), for
        // the per-cluster limit at every moment of the timeline.
        let reach_of = |p: &NodePool| u64::from(p.autoscale.map_or(p.count, |a| a.max.max(p.count)));
        let mut reach: Vec<BTreeMap<&str, u64>> =
            clusters.iter().map(|c| c.node_pools.iter().map(|p| (p.name.as_str(), reach_of(p))).collect()).collect();
        let mut over_limit = vec![false; clusters.len()];
        let mut removed: HashMap<(usize, &str), (Seconds, usize)> = HashMap::new();
        let mut first_add: HashMap<(usize, &str), (Seconds, usize)> = HashMap::new();
        let refs = sorted.iter().filter_map(|(at, i, action)| {
            let (key, cluster, pool) = match action {
                Action::ScalePool { cluster, pool, .. } => ("scale_pool", cluster, pool),
                Action::UpgradePool { cluster, pool } => ("upgrade_pool", cluster, pool),
                Action::RemovePool { cluster, pool } => ("remove_pool", cluster, pool),
                Action::AddPool { cluster, pool } => ("add_pool", cluster, &pool.name),
                Action::ScaleWorkload { .. } | Action::Rollout { .. } => return None,
            };
            // An unknown cluster is reported already.
            let ci = *known.clusters.get(cluster.as_str())?;
            Some((*at, *i, key, ci, cluster.as_str(), pool.as_str(), action))
        });
        let refs: Vec<_> = refs.collect();
        for &(at, i, key, ci, _, pool, _) in &refs {
            if key == "add_pool" {
                first_add.entry((ci, pool)).or_insert((at, i));
            }
        }
        for (at, i, key, ci, cluster, pool, action) in refs {
            let pools = &mut live[ci];
            let exists = pools.contains(pool);
            let p = root.index(i).key(key);
            if let Action::AddPool { pool: spec, .. } = action {
                if exists {
                    self.err(
                        &p.key("pool").key("name"),
                        format!("pool `{pool}` already exists in cluster `{cluster}` at {}", format_duration(at)),
                    );
                } else {
                    pools.insert(pool);
                    reach[ci].insert(pool, reach_of(spec));
                    self.cluster_limit(&p, cluster, at, &reach[ci], &mut over_limit[ci]);
                }
                continue;
            }
            if !exists {
                let mut msg = format!(
                    "pool `{pool}` does not exist in cluster `{cluster}` at {}; pools then: {}",
                    format_duration(at),
                    list(pools.iter().copied())
                );
                if let Some((t, j)) = removed.get(&(ci, pool)) {
                    msg.push_str(&format!(" (it is removed at {} by events[{j}])", format_duration(*t)));
                } else if let Some((t, j)) = first_add.get(&(ci, pool)) {
                    msg.push_str(&format!(" (it is added only at {} by events[{j}])", format_duration(*t)));
                }
                self.err(&p.key("pool"), msg);
                continue;
            }
            match action {
                Action::RemovePool { .. } => {
                    pools.remove(pool);
                    reach[ci].remove(pool);
                    removed.insert((ci, pool), (at, i));
                }
                Action::ScalePool { count, .. } => {
                    let nodes = reach[ci].entry(pool).or_default();
                    *nodes = (*nodes).max(u64::from(*count));
                    self.cluster_limit(&p, cluster, at, &reach[ci], &mut over_limit[ci]);
                }
                _ => {}
            }
        }
    }

    /// model.md's 5,000 nodes per cluster, at one moment of the timeline
    /// (reported once per cluster).
    fn cluster_limit(
        &mut self,
        p: &FieldPath,
        cluster: &str,
        at: Seconds,
        reach: &BTreeMap<&str, u64>,
        over: &mut bool,
    ) {
        let nodes: u64 = reach.values().sum();
        if nodes > MAX_NODES_PER_CLUSTER && !*over {
            *over = true;
            self.err(
                p,
                format!(
                    "cluster `{cluster}` can reach {nodes} nodes at {} (pool counts, or autoscale maxes); \
                     the limit is {MAX_NODES_PER_CLUSTER} per cluster",
                    format_duration(at)
                ),
            );
        }
    }

    /// Rules across pools and clusters about pod subnets.
    fn pool_subnets(&mut self, uses: &[PoolUse], subnets: &Subnets) {
        let mut node_subnet_of: HashMap<&str, &str> = HashMap::new();
        for u in uses {
            node_subnet_of.entry(u.vnet_subnet.as_str()).or_insert(u.owner.as_str());
        }
        let mut mode_of: HashMap<&str, (&Mode, &str)> = HashMap::new();
        // Each subnet's prefix is checked once, for the first pool that uses it.
        let mut checked: HashSet<(&str, &str)> = HashSet::new();
        for u in uses {
            let Some(ps) = u.pod_subnet.as_deref() else { continue };
            let p = u.path.key("pod_subnet");
            if let Some(owner) = node_subnet_of.get(ps) {
                self.err(
                    &p,
                    format!(
                        "subnet `{ps}` is the node subnet (vnet_subnet) of pool {owner}; a pod subnet cannot also \
                         be a node subnet"
                    ),
                );
            }
            match mode_of.get(ps) {
                Some((mode, owner)) if *mode != u.allocator => self.err(
                    &p,
                    format!(
                        "pod subnet `{ps}` is used in {mode} mode by pool {owner}; a subnet serves one mode only, \
                         so pool {} cannot use it in {} mode",
                        u.owner, u.allocator
                    ),
                ),
                Some(_) => {}
                None => {
                    mode_of.insert(ps, (u.allocator, u.owner.as_str()));
                }
            }
            if let Some(Some(net)) = subnets.by_name.get(ps)
                && checked.insert((ps, u.allocator.name))
            {
                let findings = (u.allocator.check_pod_subnet)(ps, *net);
                self.findings(&u.path, findings);
            }
        }
    }

    /// A mode rule's findings, at `p` or the field they name under it.
    fn findings(&mut self, p: &FieldPath, findings: Vec<allocator::Finding>) {
        for finding in findings {
            let at = if finding.field.is_empty() { p.clone() } else { p.key(finding.field) };
            if finding.error {
                self.err(&at, finding.message);
            } else {
                self.warn(&at, finding.message);
            }
        }
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
