//! What a networking mode *is*, in one value: [`Mode`].
//!
//! Each mode crate exports one `pub static MODE: Mode`; the `modes` crate lists
//! them; scenario validation, the cluster model, the CLI's help and the docs
//! table all read the descriptor instead of matching on a closed list. Adding a
//! mode is one crate plus one line in `modes`.
//!
//! A descriptor holds data and plain `fn` pointers, no state: it is `'static`,
//! shared by every cluster and thread, and compared by name.

use std::collections::BTreeMap;
use std::fmt;

use net::{AddressSpace, Granularity, Ipv4Net, RangeId, SubnetRules};

use crate::{Allocator, Failure, FailureKind};

/// One networking mode, described once.
pub struct Mode {
    /// The name scenarios, the CLI and outputs use (`dynamic`, `kubenet`, …).
    pub name: &'static str,
    /// The cloud's own name for it, for help and docs.
    pub cloud_name: &'static str,
    /// One line: what the mode reserves and when.
    pub summary: &'static str,
    /// The max_pods default and the values the mode accepts.
    pub max_pods: MaxPods,
    /// What the cloud reserves in each of its subnets.
    pub subnet_rules: SubnetRules,
    /// `Some(unit)` when each pool draws pod IPs from a `pod_subnet` handing out
    /// that unit (single addresses, /28 blocks); the pool must name one.
    pub pod_subnet: Option<Granularity>,
    /// What the cloud reserves in a pool's `pod_subnet` (Azure's five for
    /// dynamic and static-block; nothing in an AWS prefix reservation).
    pub pod_subnet_rules: SubnetRules,
    /// Whether a pool may leave out its `pod_subnet` (its pods then take
    /// addresses from the node subnet: AWS prefixes without a reservation).
    pub pod_subnet_optional: bool,
    /// `Some(unit)` when the cluster's `pod_cidr` is carved into per-node ranges
    /// of that unit (/24s under kubenet and overlay).
    pub pod_cidr: Option<Granularity>,
    /// Whether Windows pools may use the mode.
    pub windows: bool,
    /// The failures the mode's allocator can report (beyond the shared
    /// [`FailureKind::NODE_IP_EXHAUSTED`]), for help and docs.
    pub failures: &'static [FailureKind],
    /// Where a node's running pods' IPs are counted and how many addresses
    /// that range has in use for the node with `running` pods: the model's
    /// invariant check compares every range against these bounds.
    pub in_use: fn(running: u64) -> InUse,
    /// The cluster key holding the mode's settings block (`dynamic` for
    /// `clusters[].dynamic: {…}`); `None` when the mode has no settings.
    pub settings_key: Option<&'static str>,
    /// The keys of the mode's settings block, with their defaults.
    pub settings: &'static [SettingSpec],
    /// Checks a cluster's settings (types, ranges, unknown keys are checked
    /// before, from [`Self::settings`]).
    pub check_settings: fn(&Settings) -> Vec<Finding>,
    /// Checks a node pool (e.g. static-block's 16N − 1 advice).
    pub check_pool: fn(&PoolFacts) -> Vec<Finding>,
    /// Checks a pod subnet's prefix (e.g. static-block's /12 to /26).
    pub check_pod_subnet: fn(name: &str, prefix: Ipv4Net) -> Vec<Finding>,
    /// Why one node holds `each` addresses of a range the planner sized, when
    /// the mode has its own words for it (`1 + max_pods 30`); `None` leaves it
    /// to the planner's generic ones (`node IP`, `2 /28 blocks`).
    pub holding: fn(each: u64) -> Option<String>,
    /// The cloud's own words for a failure of the mode's (its API error or
    /// the CNI's message, with what it reads of the range), appended to the
    /// event's detail; `None` for none.
    pub failure_words: fn(&Failure, &AddressSpace) -> Option<String>,
    /// Machine types whose network interfaces bound a node (AWS's ENIs): a
    /// pool of the mode names one (`instance_type`) or writes its limits
    /// (`eni`), and its max_pods defaults to and is capped by what the machine
    /// holds; `None` for modes where the machine does not matter.
    pub machines: Option<&'static Machines>,
    /// What the cloud's pre-check of a scale operation counts for each new node
    /// of this max_pods, when it has one (AKS: node-subnet and static-block), so
    /// a failure can be told in the cloud's words; `None` for modes whose nodes
    /// take their pod addresses later.
    pub prechecked: fn(max_pods: u32) -> Option<PreCheck>,
    /// An allocator for the nodes of one cluster.
    pub build: fn(&Build<'_>) -> Box<dyn Allocator>,
}

impl Mode {
    /// A mode with no settings, pool or subnet rules of its own; set the
    /// fields that differ with struct update syntax.
    pub const fn base(name: &'static str, build: fn(&Build<'_>) -> Box<dyn Allocator>) -> Mode {
        Mode {
            name,
            cloud_name: "",
            summary: "",
            max_pods: MaxPods { default: 110, min: 10, max: 250 },
            subnet_rules: SubnetRules::AZURE,
            pod_subnet: None,
            pod_subnet_rules: SubnetRules::AZURE,
            pod_subnet_optional: false,
            pod_cidr: None,
            windows: true,
            failures: &[],
            in_use: |running| InUse { range: Role::NodeSubnet, min: running, max: running },
            settings_key: None,
            settings: &[],
            check_settings: |_| Vec::new(),
            check_pool: |_| Vec::new(),
            check_pod_subnet: |_, _| Vec::new(),
            holding: |_| None,
            prechecked: |_| None,
            machines: None,
            failure_words: |_, _| None,
            build,
        }
    }
}

impl fmt::Debug for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// Modes are compared by name: two descriptors of one name are one mode.
impl PartialEq for Mode {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for Mode {}

/// The max_pods a mode defaults to and accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxPods {
    /// When neither the pool nor the cluster sets one.
    pub default: u32,
    pub min: u32,
    pub max: u32,
}

/// A range as a mode sees it, relative to a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The pool's `vnet_subnet`.
    NodeSubnet,
    /// The pool's `pod_subnet`.
    PodSubnet,
    /// The cluster's `pod_cidr`.
    PodCidr,
}

/// What AKS's pre-check of a scale operation counts for one new node: the
/// addresses it pre-allocates in one of the pool's ranges. AKS refuses the
/// operation with `InsufficientSubnetSize: Pre-allocated IPs N exceeds IPs
/// available M in Subnet Cidr P` when nodes × `per_node` exceeds the free ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreCheck {
    pub range: Role,
    pub per_node: u64,
}

impl PreCheck {
    /// AKS's words for an operation of `nodes` new nodes against a range with
    /// `free` addresses: its error when the count exceeds them; otherwise what
    /// the pre-check passed, so the reader knows the failure came later.
    pub fn words(self, nodes: u32, free: u64, prefix: Ipv4Net) -> String {
        let wanted = u64::from(nodes) * self.per_node;
        if wanted > free {
            format!(
                "InsufficientSubnetSize: Pre-allocated IPs {wanted} exceeds IPs available {free} in Subnet Cidr {prefix}"
            )
        } else {
            format!("AKS's pre-check passes (pre-allocated IPs {wanted} of {free} available in {prefix})")
        }
    }
}

/// What a node has in use in one range, beyond its own node IP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InUse {
    pub range: Role,
    pub min: u64,
    pub max: u64,
}

/// What [`Mode::build`] gets: the cluster's ranges and settings.
#[derive(Debug, Clone, Copy)]
pub struct Build<'a> {
    /// The cluster's pod CIDR range: `Some` exactly when [`Mode::pod_cidr`] is.
    pub pod_cidr: Option<RangeId>,
    /// The cluster's settings, already checked by [`Mode::check_settings`].
    pub settings: &'a Settings,
}

/// A machine's network interfaces, as a pool's `instance_type` or `eni` gives
/// them: every node of the pool has these limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Machine {
    /// Network interfaces it can attach (AWS: ENIs on network card 0).
    pub interfaces: u32,
    /// IPv4 addresses per interface, its primary included.
    pub addresses_per_interface: u32,
    /// vCPUs, when known (AWS's max-pods calculator caps by them).
    pub vcpus: Option<u32>,
}

/// The machine types a mode knows, and what a machine allows.
#[derive(Debug)]
pub struct Machines {
    /// Known types, by name, in the order help lists them.
    pub types: &'static [(&'static str, Machine)],
    /// Where the table comes from, for docs and messages.
    pub source: &'static str,
    /// The type a pool that names none gets (with a warning), an index into
    /// [`Self::types`], and why that one.
    pub default: usize,
    pub default_why: &'static str,
    /// The max_pods a pool of this machine defaults to and may not exceed.
    pub max_pods: fn(Machine) -> MaxPods,
    /// Why the machine allows at most that many pods (`3 ENIs × (10 − 1) + 2`).
    pub limit_words: fn(Machine) -> String,
}

impl Machines {
    /// The machine called `name`.
    pub fn find(&self, name: &str) -> Option<Machine> {
        self.types.iter().find(|(n, _)| *n == name).map(|&(_, m)| m)
    }

    /// The known names, comma-separated, for "expected one of …" messages.
    pub fn names(&self) -> String {
        self.types.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
    }
}

/// What a pool rule sees of a node pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolFacts {
    pub max_pods: u32,
    /// Whether the pool wrote max_pods itself (a finding about it then points there).
    pub max_pods_written: bool,
}

/// A fault or warning a mode's rule found; scenario validation adds the file,
/// path and line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub error: bool,
    /// The field it concerns, under the object checked (`max_pods`,
    /// `pod_subnet`, a settings key); empty for the object itself.
    pub field: &'static str,
    pub message: String,
}

impl Finding {
    pub fn error(field: &'static str, message: impl Into<String>) -> Self {
        Self { error: true, field, message: message.into() }
    }

    pub fn warning(field: &'static str, message: impl Into<String>) -> Self {
        Self { error: false, field, message: message.into() }
    }
}

/// One key of a mode's settings block (`clusters[].<settings_key>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettingSpec {
    pub key: &'static str,
    /// The default as a scenario would write it, for help and docs.
    pub default: &'static str,
    pub help: &'static str,
}

/// A value in a mode's settings block, as the scenario wrote it.
#[derive(Debug, Clone, PartialEq)]
pub enum Setting {
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    Map(Settings),
}

/// A cluster's settings for its mode: key → value, in key order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Settings(pub BTreeMap<String, Setting>);

impl Settings {
    pub fn get(&self, key: &str) -> Option<&Setting> {
        self.0.get(key)
    }

    /// An integer setting, `default` when absent; an error naming the key when
    /// it is not a whole number in `range`.
    pub fn int(&self, key: &'static str, default: i64, range: std::ops::RangeInclusive<i64>) -> Result<i64, Finding> {
        match self.get(key) {
            None => Ok(default),
            Some(Setting::Int(v)) if range.contains(v) => Ok(*v),
            Some(other) => Err(Finding::error(
                key,
                format!("{key} must be a whole number from {} to {}, not {other:?}", range.start(), range.end()),
            )),
        }
    }

    /// A true/false setting, `default` when absent.
    pub fn bool(&self, key: &'static str, default: bool) -> Result<bool, Finding> {
        match self.get(key) {
            None => Ok(default),
            Some(Setting::Bool(b)) => Ok(*b),
            Some(other) => Err(Finding::error(key, format!("{key} must be true or false, not {other:?}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_settings_default_and_check_their_range() {
        let mut settings = Settings::default();
        assert_eq!(settings.int("block", 26, 20..=32), Ok(26));
        settings.0.insert("block".into(), Setting::Int(28));
        assert_eq!(settings.int("block", 26, 20..=32), Ok(28));
        settings.0.insert("block".into(), Setting::Int(33));
        let e = settings.int("block", 26, 20..=32).unwrap_err();
        assert_eq!((e.error, e.field), (true, "block"));
        assert!(e.message.contains("from 20 to 32"), "{}", e.message);
        settings.0.insert("block".into(), Setting::Text("big".into()));
        assert!(settings.int("block", 26, 20..=32).is_err());
    }
}
