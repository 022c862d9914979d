//! `podip import aks`: a scenario from a running AKS cluster's JSON.
//!
//! Reads `az aks show -o json` (flat, the CLI's camelCase) or an ARM
//! `managedClusters` body (fields under `properties`, ARM's spelling), with the
//! VNets its pools use (`az network vnet show`, `az network vnet create`'s
//! `{"newVNet": …}`, ARM bodies and lists), and writes the scenario as YAML
//! text: every imported value with a comment naming the JSON field it came
//! from, a header saying what was assumed, and no workloads beyond `--fill`.
//! docs/import.md has the mapping field by field. No I/O here: the caller
//! reads the files and validates the result.

mod json;
mod vnet;
mod yaml;

use std::fmt::Write as _;

use ipnet::Ipv4Net;
use json::Node;
use serde_json::Value;
use vnet::{SubnetRef, Vnets};

/// One input file: what it is called in messages, and its text.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    pub label: &'a str,
    pub text: &'a str,
}

/// What the command line adds to the JSON.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The scenario's `duration` (`30d` when empty).
    pub duration: String,
    /// `--fill PCT`: one deployment per pool at PCT % of its pods.
    pub fill: Option<u32>,
    /// `--subnet NAME=CIDR`: subnets no VNet file gives.
    pub subnets: Vec<(String, Ipv4Net)>,
    /// A `# yaml-language-server: $schema=…` line's target, if any.
    pub schema: Option<String>,
}

/// Why a cluster could not be imported. Every variant names the file and,
/// where there is one, the JSON Pointer of the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("{label}: not JSON: {message} at line {line} column {column}")]
    NotJson { label: String, message: String, line: usize, column: usize },
    #[error("{label}: {message}")]
    NotWhatWasExpected { label: String, message: String },
    #[error("{label}: {path}: {message}")]
    Unsupported { label: String, path: String, message: String },
}

/// AKS's managed VNet, used when no pool names a subnet of the cluster's own
/// (AKS docs, "Bring your own" vs managed VNet: 10.224.0.0/12, subnet 10.224.0.0/16).
pub const MANAGED_VNET: &str = "10.224.0.0/12";
pub const MANAGED_SUBNET: &str = "10.224.0.0/16";

/// Parse `text` as JSON, naming the file and position when it is not.
fn parse(input: Input<'_>) -> Result<Value, ImportError> {
    serde_json::from_str(input.text).map_err(|e| ImportError::NotJson {
        label: input.label.to_string(),
        message: e.to_string().split(" at line ").next().unwrap_or_default().to_string(),
        line: e.line(),
        column: e.column(),
    })
}

/// The body an Azure REST API example wraps (`responses."200".body`), or the value itself.
fn unwrap_example(value: &Value) -> Node<'_> {
    let root = Node::root(value);
    if let (Some(responses), Some(_)) = (root.get("responses"), root.get("parameters")) {
        let body =
            ["200", "201"].iter().find_map(|code| responses.get(code).and_then(|r| r.get("body"))).or_else(|| {
                let first = responses.value.as_object()?.keys().next()?.clone();
                responses.get(&first)?.get("body")
            });
        if let Some(body) = body {
            return body;
        }
    }
    root
}

/// What a JSON document is, for the refusal of the wrong one.
fn describe(node: &Node<'_>) -> &'static str {
    let props = node.get("properties").unwrap_or_else(|| node.clone());
    let is_pool = |n: &Node<'_>| {
        let p = n.get("properties").unwrap_or_else(|| n.clone());
        n.get("type").and_then(|t| t.str()).is_some_and(|t| t.to_ascii_lowercase().ends_with("/agentpools"))
            || (p.get("count").is_some() && p.get("vmSize").is_some() && p.get("agentPoolProfiles").is_none())
    };
    if let Some(items) = node.get("value").filter(|v| v.is_array()) {
        let items = items.items();
        if items.iter().any(is_pool) {
            return "a list of agent pools (az aks nodepool list): pass it with --pools beside the cluster's JSON";
        }
        if items.iter().any(|i| i.get("properties").unwrap_or_else(|| i.clone()).get("addressSpace").is_some()) {
            return "a list of VNets: pass it with --vnet beside the cluster's JSON";
        }
    }
    if is_pool(node) {
        return "an agent pool (az aks nodepool show): pass it with --pools beside the cluster's JSON";
    }
    if props.get("addressSpace").is_some() || node.get("newVNet").is_some() {
        return "a VNet: pass it with --vnet beside the cluster's JSON";
    }
    "not a managed cluster"
}

/// What the cluster's network plugin makes of its pools.
struct Plugin {
    mode: &'static str,
    /// Where the choice came from, for the comment.
    source: String,
}

/// One imported pool.
struct Pool {
    name: String,
    name_src: String,
    count: u64,
    count_src: String,
    max_pods: Option<(u64, String)>,
    os: Option<(&'static str, String)>,
    max_surge: Option<(String, String)>,
    autoscale: Option<(u64, u64, String)>,
    vnet_subnet: Option<SubnetRef>,
    pod_subnet: Option<SubnetRef>,
    allocation_mode: Option<(String, String)>,
    mode_src: Option<String>,
}

/// The scenario for `cluster`, with the VNets in `vnets` and pools from
/// `pools` (an agent pool or list of them, replacing the cluster's own).
pub fn aks(
    cluster: Input<'_>,
    vnets: &[Input<'_>],
    pools: Option<Input<'_>>,
    options: &Options,
) -> Result<String, ImportError> {
    let label = cluster.label;
    let unsupported = |path: &str, message: String| ImportError::Unsupported {
        label: label.to_string(),
        path: path.to_string(),
        message,
    };
    let value = parse(cluster)?;
    let doc = unwrap_example(&value);
    let props = doc.get("properties").unwrap_or_else(|| doc.clone());
    let arm = doc.get("properties").is_some();
    let Some(profiles) = props.get("agentPoolProfiles").filter(|p| p.is_array()) else {
        return Err(ImportError::NotWhatWasExpected {
            label: label.to_string(),
            message: format!(
                "expected a managed cluster (`az aks show -o json`, or an ARM managedClusters body with \
                 properties.agentPoolProfiles), but this is {}",
                describe(&doc)
            ),
        });
    };
    let cluster_name = doc.get("name").and_then(|n| n.str()).unwrap_or("cluster").to_string();
    let name_src = doc.get("name").map_or_else(|| "not in the JSON".to_string(), |n| n.pointer().to_string());

    // The pools: the cluster's, or those of --pools.
    let pools_value;
    let (pool_label, pool_nodes) = match pools {
        None => (label, profiles.items()),
        Some(input) => {
            pools_value = parse(input)?;
            let body = unwrap_example(&pools_value);
            let items = match body.get("value") {
                Some(list) if list.is_array() => list.items(),
                _ => vec![body],
            };
            (input.label, items)
        }
    };
    let vnets = Vnets::parse(vnets)?;

    let network = props.get("networkProfile");
    let net_field = |key: &str| network.as_ref().and_then(|n| n.get(key));
    let plugin_node = net_field("networkPlugin");
    let plugin = plugin_node.as_ref().and_then(|n| n.str()).map(str::to_ascii_lowercase);
    let plugin_mode = net_field("networkPluginMode").and_then(|n| n.str().map(str::to_ascii_lowercase));

    let mut imported = Vec::new();
    for node in &pool_nodes {
        imported.push(read_pool(node, pool_label)?);
    }
    if imported.is_empty() {
        return Err(unsupported(profiles.pointer(), "the cluster has no agent pool".into()));
    }

    let plugin = match (plugin.as_deref(), plugin_mode.as_deref()) {
        (None, _) => {
            Plugin { mode: "kubenet", source: "no networkProfile.networkPlugin: ARM's default, kubenet".into() }
        }
        (Some("kubenet"), _) => Plugin { mode: "kubenet", source: pointer(&plugin_node) },
        (Some("azure"), Some("overlay")) => Plugin {
            mode: "overlay",
            source: format!("{} azure + {} overlay", pointer(&plugin_node), pointer(&net_field("networkPluginMode"))),
        },
        (Some("azure"), _) => {
            let with: Vec<&Pool> = imported.iter().filter(|p| p.pod_subnet.is_some()).collect();
            if with.is_empty() {
                Plugin {
                    mode: "node-subnet",
                    source: format!("{} azure, no pool has a podSubnetId", pointer(&plugin_node)),
                }
            } else {
                let modes: Vec<(&str, &Pool)> = imported
                    .iter()
                    .map(|p| {
                        let static_block =
                            p.allocation_mode.as_ref().is_some_and(|(m, _)| m.eq_ignore_ascii_case("StaticBlock"));
                        let mode = match (&p.pod_subnet, static_block) {
                            (None, _) => "node-subnet",
                            (Some(_), true) => "static-block",
                            (Some(_), false) => "dynamic",
                        };
                        (mode, p)
                    })
                    .collect();
                let first = modes[0].0;
                if let Some((other, pool)) = modes.iter().find(|(m, _)| *m != first) {
                    let path = pool.allocation_mode.as_ref().map_or(pool.name_src.clone(), |(_, src)| src.clone());
                    return Err(ImportError::Unsupported {
                        label: pool_label.to_string(),
                        path,
                        message: format!(
                            "pool `{}` allocates pod IPs as {other}, pool `{}` as {first}: podip's scenario format \
                             gives one allocator per cluster, so this cluster cannot be imported whole; import it \
                             with --pools naming the pools of one mode",
                            pool.name, modes[0].1.name
                        ),
                    });
                }
                let source = match first {
                    "static-block" => {
                        format!("{} azure + podSubnetId + podIpAllocationMode StaticBlock", pointer(&plugin_node))
                    }
                    _ => format!("{} azure + podSubnetId (dynamic IP allocation)", pointer(&plugin_node)),
                };
                Plugin { mode: first, source }
            }
        }
        (Some("none"), _) => {
            return Err(unsupported(
                &pointer(&plugin_node),
                "networkPlugin none: bring-your-own CNI; podip models AKS's own (kubenet, azure, azure overlay)".into(),
            ));
        }
        (Some(other), _) => {
            return Err(unsupported(
                &pointer(&plugin_node),
                format!("network plugin `{other}` is not one podip models: kubenet, azure (with or without overlay)"),
            ));
        }
    };
    let mode = modes::named(plugin.mode);

    // The network: the VNets the pools name, or AKS's managed VNet.
    let byo = imported.iter().filter(|p| p.vnet_subnet.is_some()).count();
    if byo != 0 && byo != imported.len() {
        let pool = imported.iter().find(|p| p.vnet_subnet.is_none()).expect("one pool has none");
        return Err(ImportError::Unsupported {
            label: pool_label.to_string(),
            path: pool.name_src.clone(),
            message: format!(
                "pool `{}` has no vnetSubnetId while others name their subnet: AKS puts every pool of a \
                 cluster in one VNet; give it its subnet",
                pool.name
            ),
        });
    }
    let mut assumed: Vec<String> = Vec::new();
    let mut layout = vnet::Layout::default();
    if byo == 0 {
        assumed.push(format!(
            "no pool names a vnetSubnetId: the cluster is on AKS's managed VNet, {MANAGED_VNET} with its \
             subnet aks-subnet {MANAGED_SUBNET} (AKS's documented default)"
        ));
        layout.managed();
    }
    for pool in &mut imported {
        for subnet in [&mut pool.vnet_subnet, &mut pool.pod_subnet].into_iter().flatten() {
            layout.resolve(subnet, &vnets, &options.subnets, pool_label)?;
        }
    }
    if layout.space_unknown() {
        assumed.push(
            "the VNet's address space is not in the JSON given (no --vnet file for it): its subnets' own prefixes \
             stand for it"
                .into(),
        );
    }

    // CIDRs.
    let v4 = |key: &str, list: &str| -> Option<(String, String)> {
        if let Some(n) = net_field(key) {
            return n.str().map(|s| (s.to_string(), n.pointer().to_string()));
        }
        let list = net_field(list)?;
        list.items().into_iter().find_map(|i| {
            let s = i.str()?;
            s.parse::<Ipv4Net>().ok().map(|_| (s.to_string(), i.pointer().to_string()))
        })
    };
    let pod_cidr = v4("podCidr", "podCidrs");
    let service_cidr = v4("serviceCidr", "serviceCidrs");
    let dns = net_field("dnsServiceIp").and_then(|n| n.str().map(|s| (s.to_string(), n.pointer().to_string())));
    for (key, cidr) in [("podCidr", &pod_cidr), ("serviceCidr", &service_cidr)] {
        if let Some((text, src)) = cidr
            && text.parse::<Ipv4Net>().is_err()
        {
            return Err(unsupported(src, format!("{key} `{text}` is not an IPv4 CIDR like 10.244.0.0/16")));
        }
    }
    let v6: Vec<String> = ["podCidrs", "serviceCidrs"]
        .iter()
        .filter_map(|k| net_field(k))
        .flat_map(|l| l.items())
        .filter_map(|i| i.str().filter(|s| s.contains(':')).map(String::from))
        .collect();
    if !v6.is_empty() {
        assumed.push(format!("IPv6 ranges ({}) are not modelled: podip replays the IPv4 side", v6.join(", ")));
    }

    // The text.
    let mut out = String::new();
    if let Some(schema) = &options.schema {
        writeln!(out, "# yaml-language-server: $schema={schema}").unwrap();
        if !schema.contains("://") {
            writeln!(out, "# (for editors; `podip schema > {schema}` writes it)").unwrap();
        }
    }
    let kind = if arm { "an ARM managedClusters body" } else { "az aks show output" };
    writeln!(out, "# Imported by `podip import aks` from {label} ({kind}).").unwrap();
    writeln!(out, "# Each value's comment names the JSON field it came from. Assumed:").unwrap();
    let duration = if options.duration.is_empty() { "30d" } else { options.duration.as_str() };
    assumed.insert(
        0,
        format!(
            "a {duration} replay sampled hourly (--duration); {}",
            match options.fill {
                None => "no workloads: the JSON holds none (--fill PCT adds a deployment per pool)".to_string(),
                Some(pct) => format!("one deployment per pool at {pct} % of its pods (--fill {pct})"),
            }
        ),
    );
    for line in &assumed {
        writeln!(out, "# - {line}").unwrap();
    }
    let y = yaml::quote;
    writeln!(out, "name: {}  # {name_src}", y(&cluster_name)).unwrap();
    writeln!(out, "duration: {}", y(duration)).unwrap();
    writeln!(out, "sample_every: 1h").unwrap();
    writeln!(out, "allocator: {}  # {}", mode.name, plugin.source).unwrap();
    layout.write(&mut out);
    writeln!(out, "clusters:").unwrap();
    writeln!(out, "  - name: {}  # {name_src}", y(&cluster_name)).unwrap();
    if mode.pod_cidr.is_some() {
        match &pod_cidr {
            Some((cidr, src)) => writeln!(out, "    pod_cidr: {cidr}  # {src}").unwrap(),
            None => {
                writeln!(out, "    # pod_cidr: not in the JSON, podip's default 10.244.0.0/16 (AKS's too)").unwrap()
            }
        }
    }
    match &service_cidr {
        Some((cidr, src)) => writeln!(out, "    service_cidr: {cidr}  # {src}").unwrap(),
        None => writeln!(out, "    # service_cidr: not in the JSON, AKS's default 10.0.0.0/16").unwrap(),
    }
    if let Some((ip, src)) = &dns {
        writeln!(out, "    dns_service_ip: {ip}  # {src}").unwrap();
    }
    writeln!(out, "    node_pools:").unwrap();
    // Pools read from --pools name that file in their comments.
    let from = if pools.is_some() { format!("{pool_label} ") } else { String::new() };
    for p in &imported {
        write_pool(&mut out, p, mode, &layout, &from);
    }
    if let Some(pct) = options.fill {
        writeln!(out, "workloads:").unwrap();
        for p in &imported {
            let max_pods = p.max_pods.as_ref().map_or(u64::from(mode.max_pods.default), |(m, _)| *m);
            let replicas = p.count * max_pods * u64::from(pct) / 100;
            writeln!(
                out,
                "  - {{name: {}, cluster: {}, pool: {}, kind: deployment, replicas: {replicas}}}  \
                 # --fill {pct}: {pct} % of {} nodes × max_pods {max_pods}",
                y(&format!("fill-{}", p.name)),
                y(&cluster_name),
                y(&p.name),
                p.count
            )
            .unwrap();
        }
    }
    Ok(out)
}

fn pointer(node: &Option<Node<'_>>) -> String {
    node.as_ref().map_or_else(String::new, |n| n.pointer().to_string())
}

fn read_pool(node: &Node<'_>, label: &str) -> Result<Pool, ImportError> {
    let unsupported =
        |path: String, message: String| ImportError::Unsupported { label: label.to_string(), path, message };
    // An ARM AgentPool resource has its fields under `properties`, its name beside them.
    let props = node.get("properties").unwrap_or_else(|| node.clone());
    let name_node =
        node.get("name").ok_or_else(|| unsupported(node.child_path("name"), "a pool needs a name".into()))?;
    let name =
        name_node.str().ok_or_else(|| unsupported(name_node.pointer().into(), "name must be a string".into()))?;
    let whole = |key: &str| -> Result<Option<(u64, String)>, ImportError> {
        match props.get(key) {
            None => Ok(None),
            Some(n) => n.value.as_u64().map(|v| Some((v, n.pointer().to_string()))).ok_or_else(|| {
                unsupported(n.pointer().into(), format!("{key} must be a whole number, not {}", n.value))
            }),
        }
    };
    let (count, count_src) =
        whole("count")?.ok_or_else(|| unsupported(props.child_path("count"), format!("pool `{name}` has no count")))?;
    let max_pods = whole("maxPods")?;
    let os = match props.get("osType") {
        None => None,
        Some(n) => match n.str().map(str::to_ascii_lowercase).as_deref() {
            Some("linux") => Some(("linux", n.pointer().to_string())),
            Some("windows") => Some(("windows", n.pointer().to_string())),
            _ => {
                return Err(unsupported(
                    n.pointer().into(),
                    format!("osType {} is not one podip models: Linux or Windows", n.value),
                ));
            }
        },
    };
    let max_surge = match props.get("upgradeSettings").and_then(|u| u.get("maxSurge")) {
        None => None,
        Some(n) => {
            let text = n.str().map(String::from).or_else(|| n.value.as_u64().map(|v| v.to_string()));
            match text {
                Some(t) if !t.trim().is_empty() => Some((t.trim().to_string(), n.pointer().to_string())),
                _ => {
                    return Err(unsupported(
                        n.pointer().into(),
                        format!("maxSurge {} is not a count or a percent", n.value),
                    ));
                }
            }
        }
    };
    let autoscale = match props.get("enableAutoScaling").and_then(|n| n.value.as_bool()) {
        Some(true) => {
            let min = whole("minCount")?;
            let max = whole("maxCount")?;
            match (min, max) {
                (Some((min, src)), Some((max, _))) => {
                    Some((min, max, src.rsplit_once('/').map_or(src.clone(), |(p, _)| p.to_string())))
                }
                _ => {
                    return Err(unsupported(
                        props.child_path("minCount"),
                        format!("pool `{name}` autoscales but has no minCount and maxCount"),
                    ));
                }
            }
        }
        _ => None,
    };
    let subnet = |key: &str| -> Result<Option<SubnetRef>, ImportError> {
        match props.get(key) {
            None => Ok(None),
            Some(n) => {
                let id = n.str().ok_or_else(|| unsupported(n.pointer().into(), format!("{key} must be a string")))?;
                SubnetRef::parse(id, n.pointer()).map(Some).ok_or_else(|| {
                    unsupported(
                        n.pointer().into(),
                        format!("`{id}` is not a subnet ID (…/virtualNetworks/VNET/subnets/SUBNET)"),
                    )
                })
            }
        }
    };
    let allocation_mode =
        props.get("podIpAllocationMode").and_then(|n| n.str().map(|s| (s.to_string(), n.pointer().to_string())));
    Ok(Pool {
        name: name.to_string(),
        name_src: name_node.pointer().to_string(),
        count,
        count_src,
        max_pods,
        os,
        max_surge,
        autoscale,
        vnet_subnet: subnet("vnetSubnetId")?,
        pod_subnet: subnet("podSubnetId")?,
        allocation_mode,
        mode_src: props.get("mode").and_then(|m| m.str().map(|s| format!("{} {s}", m.pointer()))),
    })
}

fn write_pool(out: &mut String, p: &Pool, mode: &allocator::Mode, layout: &vnet::Layout, from: &str) {
    let y = yaml::quote;
    let role = p.mode_src.as_ref().map_or(String::new(), |m| format!(" ({from}{m})"));
    writeln!(out, "      - name: {}  # {from}{}{role}", y(&p.name), p.name_src).unwrap();
    writeln!(out, "        count: {}  # {from}{}", p.count, p.count_src).unwrap();
    let node_subnet = p.vnet_subnet.as_ref().map_or_else(
        || ("aks-subnet".to_string(), "no vnetSubnetId: AKS's managed VNet".to_string()),
        |s| (layout.name_of(s).to_string(), format!("{from}{}", s.source)),
    );
    writeln!(out, "        vnet_subnet: {}  # {}", y(&node_subnet.0), node_subnet.1).unwrap();
    if let Some(s) = &p.pod_subnet {
        writeln!(out, "        pod_subnet: {}  # {from}{}", y(layout.name_of(s)), s.source).unwrap();
    }
    match &p.max_pods {
        Some((m, src)) => writeln!(out, "        max_pods: {m}  # {from}{src}").unwrap(),
        None => {
            writeln!(out, "        # max_pods: not in the JSON, the {} default {}", mode.name, mode.max_pods.default)
                .unwrap()
        }
    }
    if let Some((os, src)) = &p.os {
        writeln!(out, "        os: {os}  # {from}{src}").unwrap();
    }
    if let Some((surge, src)) = &p.max_surge {
        let surge = if surge.bytes().all(|b| b.is_ascii_digit()) { surge.clone() } else { y(surge) };
        writeln!(out, "        max_surge: {surge}  # {from}{src}").unwrap();
    }
    if let Some((min, max, src)) = &p.autoscale {
        writeln!(
            out,
            "        autoscale: {{min: {min}, max: {max}}}  # {from}{src}/enableAutoScaling, minCount, maxCount"
        )
        .unwrap();
    }
}
