//! The scenario file as written: serde types that mirror scenario.md key for key.
//!
//! Only the *shape* is checked here (known keys, value types, enumerated values);
//! everything that can be reported together — ranges, references, prefixes,
//! durations — is left as written and checked by `validate/`, so one run reports
//! every such fault. Nothing in this module knows the YAML backend.

use std::collections::BTreeMap;
use std::fmt;

use allocator::Mode;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

/// A scalar kept as written, for values that are "an integer or a string"
/// (durations, `max_surge`); `validate/` interprets it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar {
    Int(i128),
    Float(f64),
    Str(String),
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Int(n) => write!(f, "{n}"),
            Scalar::Float(x) => write!(f, "{x}"),
            Scalar::Str(s) => write!(f, "{s}"),
        }
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer or a string")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar::Int(i128::from(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar::Int(i128::from(v)))
            }
            fn visit_i128<E: de::Error>(self, v: i128) -> Result<Scalar, E> {
                Ok(Scalar::Int(v))
            }
            fn visit_u128<E: de::Error>(self, v: u128) -> Result<Scalar, E> {
                Ok(i128::try_from(v).map_or_else(|_| Scalar::Str(v.to_string()), Scalar::Int))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar::Float(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar::Str(v.to_owned()))
            }
        }
        d.deserialize_any(V)
    }
}

/// A YAML mapping of name → value kept in file order, duplicates included
/// (validation reports them).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OrderedMap(pub Vec<(String, String)>);

impl<'de> Deserialize<'de> for OrderedMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OrderedMap;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping of subnet name to prefix, like {nodes: 10.240.0.0/16}")
            }
            fn visit_unit<E: de::Error>(self) -> Result<OrderedMap, E> {
                Ok(OrderedMap(Vec::new()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OrderedMap, A::Error> {
                let mut entries = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, String>()? {
                    entries.push((k, v));
                }
                Ok(OrderedMap(entries))
            }
        }
        d.deserialize_any(V)
    }
}

/// A mode named in the file: any of the `modes` registry's, checked while
/// parsing so an unknown name gets serde's "expected one of" with its position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawAllocator(pub &'static Mode);

impl<'de> Deserialize<'de> for RawAllocator {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        static NAMES: std::sync::LazyLock<Vec<&'static str>> =
            std::sync::LazyLock::new(|| modes::ALL.iter().map(|mode| mode.name).collect());
        // Checked inside the visitor, so the error carries the value's path and position.
        struct Name;
        impl Visitor<'_> for Name {
            type Value = RawAllocator;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an allocator name")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<RawAllocator, E> {
                modes::find(name).map(RawAllocator).ok_or_else(|| E::unknown_variant(name, &NAMES))
            }
        }
        d.deserialize_str(Name)
    }
}

/// A value in a cluster's mode block (`clusters[].dynamic`): a scalar or a nested mapping.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawSetting {
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    Map(BTreeMap<String, RawSetting>),
}

impl RawSetting {
    pub fn of(setting: &allocator::Setting) -> Self {
        use allocator::Setting;
        match setting {
            Setting::Bool(b) => RawSetting::Bool(*b),
            Setting::Int(i) => RawSetting::Int(*i),
            Setting::Float(f) => RawSetting::Float(*f),
            Setting::Text(t) => RawSetting::Text(t.clone()),
            Setting::Map(m) => RawSetting::Map(m.0.iter().map(|(k, v)| (k.clone(), RawSetting::of(v))).collect()),
        }
    }

    pub fn to_setting(&self) -> allocator::Setting {
        use allocator::Setting;
        match self {
            RawSetting::Bool(b) => Setting::Bool(*b),
            RawSetting::Int(i) => Setting::Int(*i),
            RawSetting::Float(f) => Setting::Float(*f),
            RawSetting::Text(t) => Setting::Text(t.clone()),
            RawSetting::Map(m) => {
                Setting::Map(allocator::Settings(m.iter().map(|(k, v)| (k.clone(), v.to_setting())).collect()))
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum RawScheduler {
    Spread,
    Pack,
    Random,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum RawOs {
    Linux,
    Windows,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub(crate) enum RawKind {
    #[serde(rename = "deployment")]
    Deployment,
    #[serde(rename = "daemonset")]
    DaemonSet,
    #[serde(rename = "churn")]
    Churn,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawScenario {
    pub name: String,
    pub description: Option<String>,
    pub seed: Option<u64>,
    pub duration: Scalar,
    pub sample_every: Option<Scalar>,
    pub allocator: Option<RawAllocator>,
    pub network: RawNetwork,
    pub clusters: Vec<RawCluster>,
    pub workloads: Option<Vec<RawWorkload>>,
    pub events: Option<Vec<RawEvent>>,
    pub timing: Option<RawTiming>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNetwork {
    pub address_space: Vec<String>,
    pub subnets: OrderedMap,
}

/// A cluster. Besides its fixed keys it may hold one block per mode, under
/// the mode's [`Mode::settings_key`] (`dynamic: {scarcity: …}`): the block of
/// the mode the cluster runs applies, the others are ignored with a warning,
/// so one file serves `podip compare` across modes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RawCluster {
    pub name: String,
    pub allocator: Option<RawAllocator>,
    pub max_pods: Option<u64>,
    pub pod_cidr: Option<String>,
    pub service_cidr: Option<String>,
    pub dns_service_ip: Option<String>,
    pub scheduler: Option<RawScheduler>,
    /// `(settings key, block)` in file order.
    pub mode_settings: Vec<(&'static str, BTreeMap<String, RawSetting>)>,
    pub node_pools: Vec<RawPool>,
}

const CLUSTER_KEYS: [&str; 8] =
    ["name", "allocator", "max_pods", "pod_cidr", "service_cidr", "dns_service_ip", "scheduler", "node_pools"];

thread_local! {
    /// A mode outside the registry that this thread is parsing for (an
    /// `--allocator` given in code, as tests do), so its settings key is known.
    static EXTRA_MODE: std::cell::Cell<Option<&'static Mode>> = const { std::cell::Cell::new(None) };
}

/// Run `parse` with `mode`'s settings key known besides the registry's.
pub(crate) fn with_mode_known<T>(mode: Option<&'static Mode>, parse: impl FnOnce() -> T) -> T {
    let before = EXTRA_MODE.replace(mode);
    let out = parse();
    EXTRA_MODE.set(before);
    out
}

/// The settings key `key` names, if a mode (registered, or the one being
/// parsed for) has it.
fn mode_settings_key(key: &str) -> Option<&'static str> {
    let extra = EXTRA_MODE.get();
    modes::ALL.iter().copied().chain(extra).find_map(|m| m.settings_key.filter(|k| *k == key))
}

/// Every key a cluster may hold, for the unknown-key message.
fn cluster_keys() -> &'static [&'static str] {
    static KEYS: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| {
        let mut keys = CLUSTER_KEYS.to_vec();
        keys.extend(modes::ALL.iter().filter_map(|m| m.settings_key));
        keys
    });
    &KEYS
}

/// A cluster key, checked while the key is read so an unknown one is reported
/// at its own position (as derived structs do).
enum ClusterKey {
    Field(&'static str),
    Mode(&'static str),
}

impl<'de> Deserialize<'de> for ClusterKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Key;
        impl Visitor<'_> for Key {
            type Value = ClusterKey;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a cluster key")
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<ClusterKey, E> {
                if let Some(field) = CLUSTER_KEYS.iter().find(|k| **k == key) {
                    return Ok(ClusterKey::Field(field));
                }
                mode_settings_key(key).map(ClusterKey::Mode).ok_or_else(|| E::unknown_field(key, cluster_keys()))
            }
        }
        d.deserialize_identifier(Key)
    }
}

impl<'de> Deserialize<'de> for RawCluster {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Cluster;
        impl<'de> Visitor<'de> for Cluster {
            type Value = RawCluster;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a cluster mapping")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawCluster, A::Error> {
                fn set<T, E: de::Error>(slot: &mut Option<T>, key: &'static str, value: T) -> Result<(), E> {
                    if slot.is_some() {
                        return Err(E::duplicate_field(key));
                    }
                    *slot = Some(value);
                    Ok(())
                }
                let (mut name, mut allocator, mut max_pods, mut pod_cidr) = (None, None, None, None);
                let (mut service_cidr, mut dns_service_ip, mut scheduler, mut node_pools) = (None, None, None, None);
                let mut mode_settings: Vec<(&'static str, BTreeMap<String, RawSetting>)> = Vec::new();
                while let Some(key) = map.next_key::<ClusterKey>()? {
                    match key {
                        ClusterKey::Field("name") => set(&mut name, "name", map.next_value()?)?,
                        // Optional keys written empty (`pod_cidr:`) read as absent, as derived ones do.
                        ClusterKey::Field("allocator") => {
                            set(&mut allocator, "allocator", map.next_value::<Option<RawAllocator>>()?)?
                        }
                        ClusterKey::Field("max_pods") => {
                            set(&mut max_pods, "max_pods", map.next_value::<Option<u64>>()?)?
                        }
                        ClusterKey::Field("pod_cidr") => {
                            set(&mut pod_cidr, "pod_cidr", map.next_value::<Option<String>>()?)?
                        }
                        ClusterKey::Field("service_cidr") => {
                            set(&mut service_cidr, "service_cidr", map.next_value::<Option<String>>()?)?
                        }
                        ClusterKey::Field("dns_service_ip") => {
                            set(&mut dns_service_ip, "dns_service_ip", map.next_value::<Option<String>>()?)?
                        }
                        ClusterKey::Field("scheduler") => {
                            set(&mut scheduler, "scheduler", map.next_value::<Option<RawScheduler>>()?)?
                        }
                        ClusterKey::Field("node_pools") => set(&mut node_pools, "node_pools", map.next_value()?)?,
                        ClusterKey::Field(other) => return Err(de::Error::unknown_field(other, cluster_keys())),
                        ClusterKey::Mode(k) if mode_settings.iter().any(|(seen, _)| *seen == k) => {
                            return Err(de::Error::duplicate_field(k));
                        }
                        ClusterKey::Mode(k) => {
                            let block = map.next_value::<Option<BTreeMap<String, RawSetting>>>()?;
                            mode_settings.push((k, block.unwrap_or_default()));
                        }
                    }
                }
                Ok(RawCluster {
                    name: name.ok_or_else(|| de::Error::missing_field("name"))?,
                    allocator: allocator.flatten(),
                    max_pods: max_pods.flatten(),
                    pod_cidr: pod_cidr.flatten(),
                    service_cidr: service_cidr.flatten(),
                    dns_service_ip: dns_service_ip.flatten(),
                    scheduler: scheduler.flatten(),
                    mode_settings,
                    node_pools: node_pools.ok_or_else(|| de::Error::missing_field("node_pools"))?,
                })
            }
        }
        d.deserialize_map(Cluster)
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPool {
    pub name: String,
    pub count: u64,
    pub vnet_subnet: String,
    pub pod_subnet: Option<String>,
    pub max_pods: Option<u64>,
    pub max_surge: Option<Scalar>,
    pub autoscale: Option<RawAutoscale>,
    pub os: Option<RawOs>,
    /// Modes whose nodes are bounded by their machine (`Mode::machines`): a type it knows…
    pub instance_type: Option<String>,
    /// …or the machine's interface limits written out.
    pub eni: Option<RawEni>,
}

/// `eni: {count: N, ips: M}`: interfaces per node and IPv4 addresses per
/// interface (primary included); `vcpus` optional.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEni {
    pub count: u64,
    pub ips: u64,
    pub vcpus: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAutoscale {
    pub min: u64,
    pub max: u64,
}

/// One flat mapping for every kind; which keys apply to which kind is checked in
/// validation (so the message can say so).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWorkload {
    pub name: String,
    pub cluster: String,
    pub pool: Option<String>,
    pub kind: RawKind,
    pub replicas: Option<u64>,
    pub host_network: Option<bool>,
    pub arrivals_per_hour: Option<f64>,
    pub lifetime: Option<RawLifetime>,
    pub start: Option<Scalar>,
    pub end: Option<Scalar>,
}

/// `{fixed: D}`, `{exponential: D}`, `{uniform: [D1, D2]}` or
/// `{lognormal: {median: D, sigma: F}}`: exactly one key, checked in validation.
/// (A struct rather than an enum: serde_yaml 0.9 reads data-carrying enums only
/// from YAML tags.)
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLifetime {
    pub fixed: Option<Scalar>,
    pub exponential: Option<Scalar>,
    pub uniform: Option<Vec<Scalar>>,
    pub lognormal: Option<RawLogNormal>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLogNormal {
    pub median: Scalar,
    pub sigma: f64,
}

/// `{at: D, <action>: {...}}`; exactly one action is checked in validation.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEvent {
    pub at: Scalar,
    pub scale_pool: Option<RawScalePool>,
    pub upgrade_pool: Option<RawPoolRef>,
    pub add_pool: Option<RawAddPool>,
    pub remove_pool: Option<RawPoolRef>,
    pub scale_workload: Option<RawScaleWorkload>,
    pub rollout: Option<RawRollout>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawScalePool {
    pub cluster: String,
    pub pool: String,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPoolRef {
    pub cluster: String,
    pub pool: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAddPool {
    pub cluster: String,
    pub pool: RawPool,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawScaleWorkload {
    pub name: String,
    pub replicas: u64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRollout {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTiming {
    pub node_provision: Option<Scalar>,
    pub node_drain: Option<Scalar>,
    pub node_reimage: Option<Scalar>,
}
