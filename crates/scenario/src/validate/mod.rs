//! Semantic validation: the raw document (`raw.rs`) → the validated [`Scenario`].
//!
//! Every fault found is collected (not just the first), each with the field path
//! it concerns and what would be valid; warnings are collected alongside. The
//! rules are those of scenario.md and model.md; choices where the specs are silent
//! are marked "Decision".
//!
//! This module holds loading (`load`, `parse_str`, `validate`), the limits, the
//! `Validator` and the walk over a scenario; each rule group is a submodule:
//! `network`, `clusters` (where each mode's descriptor supplies its own rules),
//! `workloads`, `events`.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::Read;
use std::net::Ipv4Addr;
use std::path::Path;

use ipnet::Ipv4Net;

use crate::diag::{Diagnostic, FieldPath, LoadError, Location, Severity};
use crate::duration::{format_duration, parse_duration};
use crate::model::*;
use crate::raw::*;
use crate::yaml;

mod clusters;
mod events;
mod network;
mod workloads;

use network::{Ranges, forbidden_ranges, overlaps};

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

fn diagnostic(file: &str, severity: Severity, path: String, message: String, location: Option<Location>) -> Diagnostic {
    Diagnostic { severity, file: file.to_owned(), path, message, location }
}

/// Validates scenario text; `file_label` names it in diagnostics.
pub fn parse_str(text: &str, file_label: &str, overrides: &Overrides) -> Result<Loaded, LoadError> {
    let fatal = |path: String, message: String, location| LoadError {
        errors: vec![diagnostic(file_label, Severity::Error, path, message, location)],
        warnings: Vec::new(),
    };
    if text.len() > yaml::MAX_BYTES {
        return Err(fatal(String::new(), too_large(), None));
    }
    let raw = crate::raw::with_mode_known(overrides.allocator, || yaml::parse(text))
        .map_err(|f| fatal(f.path, f.message, f.location))?;

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
    let diag = |severity, path, message, location| diagnostic(file_label, severity, path, message, location);
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

/// The keys of a one-of mapping (an event's action, a lifetime's kind) that
/// the document wrote, in the order given.
fn present<const N: usize>(keys: [(&'static str, bool); N]) -> Vec<&'static str> {
    keys.into_iter().filter_map(|(key, written)| written.then_some(key)).collect()
}

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

struct ClusterCtx {
    name: String,
    allocator: &'static Mode,
    max_pods: u32,
    /// Whether the cluster wrote its max_pods (else a machine's default wins).
    max_pods_written: bool,
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
    /// Each subnet's index in `network.subnets` (those whose prefix parsed).
    ids: HashMap<String, SubnetId>,
    /// The names, for messages.
    list: String,
    /// The subnets whose prefix parsed, in file order (for overlap checks).
    nets: Vec<(String, Ipv4Net)>,
}

impl Subnets {
    fn known(&self) -> &str {
        &self.list
    }

    /// The first subnet, in file order, sharing an address with `net`.
    fn overlapping(&self, net: Ipv4Net) -> Option<&(String, Ipv4Net)> {
        self.nets.iter().find(|(_, subnet)| overlaps(*subnet, net))
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
