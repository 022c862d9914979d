//! The scenario file as written: serde types that mirror scenario.md key for key.
//!
//! Only the *shape* is checked here (known keys, value types, enumerated values);
//! everything that can be reported together — ranges, references, prefixes,
//! durations — is left as written and checked by `validate/`, so one run reports
//! every such fault. Nothing in this module knows the YAML backend.

use std::collections::BTreeMap;
use std::fmt;

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
pub(crate) struct RawAllocator(pub &'static allocator::Mode);

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

/// A value under `clusters[].settings`: a scalar or a nested mapping.
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

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCluster {
    pub name: String,
    pub allocator: Option<RawAllocator>,
    pub max_pods: Option<u64>,
    pub pod_cidr: Option<String>,
    pub service_cidr: Option<String>,
    pub dns_service_ip: Option<String>,
    pub scheduler: Option<RawScheduler>,
    pub settings: Option<BTreeMap<String, RawSetting>>,
    pub node_pools: Vec<RawPool>,
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
