//! VNets from `az network vnet show` / `create` and ARM bodies, and the
//! scenario's `network` block built from the subnets the pools name.

use std::fmt::Write as _;

use ipnet::Ipv4Net;

use crate::json::Node;
use crate::{ImportError, Input, MANAGED_SUBNET, MANAGED_VNET, parse, unwrap_example};

/// A pool's `vnetSubnetId` or `podSubnetId`: the VNet and subnet it names.
#[derive(Debug, Clone)]
pub struct SubnetRef {
    pub vnet: String,
    pub subnet: String,
    /// The JSON Pointer it was read from.
    pub source: String,
}

impl SubnetRef {
    /// `/subscriptions/…/virtualNetworks/VNET/subnets/SUBNET` (any case).
    pub fn parse(id: &str, source: &str) -> Option<Self> {
        let parts: Vec<&str> = id.split('/').collect();
        let after = |key: &str| {
            let i = parts.iter().position(|p| p.eq_ignore_ascii_case(key))?;
            parts.get(i + 1).filter(|s| !s.is_empty()).map(|s| s.to_string())
        };
        Some(SubnetRef { vnet: after("virtualNetworks")?, subnet: after("subnets")?, source: source.to_string() })
    }
}

/// One VNet as its JSON gives it.
#[derive(Debug, Clone)]
pub struct Vnet {
    pub name: String,
    /// Its address prefixes, each with where it came from (`FILE /pointer`).
    pub prefixes: Vec<(Ipv4Net, String)>,
    /// Its subnets: name, first prefix, where it came from.
    pub subnets: Vec<(String, Ipv4Net, String)>,
}

/// The VNets of every `--vnet` file.
#[derive(Debug, Default)]
pub struct Vnets(pub Vec<Vnet>);

impl Vnets {
    pub fn parse(inputs: &[Input<'_>]) -> Result<Self, ImportError> {
        let mut vnets = Vec::new();
        for &input in inputs {
            let value = parse(input)?;
            let body = unwrap_example(&value);
            let body = body.get("newVNet").unwrap_or(body);
            let items = match body.get("value") {
                Some(list) if list.is_array() => list.items(),
                _ => vec![body],
            };
            for item in items {
                vnets.push(read_vnet(&item, input.label)?);
            }
        }
        Ok(Vnets(vnets))
    }

    fn find(&self, name: &str) -> Option<&Vnet> {
        self.0.iter().find(|v| v.name.eq_ignore_ascii_case(name))
    }
}

fn read_vnet(node: &Node<'_>, label: &str) -> Result<Vnet, ImportError> {
    let props = node.get("properties").unwrap_or_else(|| node.clone());
    let Some(space) = props.get("addressSpace") else {
        return Err(ImportError::NotWhatWasExpected {
            label: label.to_string(),
            message: format!(
                "{}: expected a VNet (`az network vnet show -o json`, its `create` output, or an ARM \
                 virtualNetworks body, with addressSpace.addressPrefixes)",
                node.pointer()
            ),
        });
    };
    let name = node.get("name").and_then(|n| n.str()).unwrap_or_default().to_string();
    let cidr = |n: &Node<'_>| -> Result<Ipv4Net, ImportError> {
        n.str().and_then(|s| s.parse().ok()).ok_or_else(|| ImportError::Unsupported {
            label: label.to_string(),
            path: n.pointer().to_string(),
            message: format!("{} is not an IPv4 prefix like 10.0.0.0/16", n.value),
        })
    };
    let mut prefixes = Vec::new();
    for p in space.get("addressPrefixes").map(|l| l.items()).unwrap_or_default() {
        // IPv6 address space is not modelled.
        if p.str().is_some_and(|s| s.contains(':')) {
            continue;
        }
        prefixes.push((cidr(&p)?, format!("{label} {}", p.pointer())));
    }
    let mut subnets = Vec::new();
    for s in props.get("subnets").map(|l| l.items()).unwrap_or_default() {
        let sp = s.get("properties").unwrap_or_else(|| s.clone());
        let Some(subnet_name) = s.get("name").and_then(|n| n.str()) else { continue };
        let first = match (sp.get("addressPrefix"), sp.get("addressPrefixes")) {
            (Some(one), _) => Some(one),
            (None, Some(list)) => list.items().into_iter().find(|p| p.str().is_some_and(|s| !s.contains(':'))),
            (None, None) => None,
        };
        if let Some(p) = first {
            let mut source = format!("{label} {}", p.pointer());
            let more = sp.get("addressPrefixes").map(|l| l.items().len()).unwrap_or(0);
            if more > 1 {
                source.push_str(&format!(" (the first of {more}: podip models one prefix per subnet)"));
            }
            subnets.push((subnet_name.to_string(), cidr(&p)?, source));
        }
    }
    Ok(Vnet { name, prefixes, subnets })
}

/// The scenario's network: address space and subnets, with their sources.
#[derive(Debug, Default)]
pub struct Layout {
    space: Vec<(Ipv4Net, String)>,
    subnets: Vec<(String, Ipv4Net, String)>,
    /// `(vnet, subnet)` (lower case) → the scenario's subnet name.
    names: Vec<((String, String), String)>,
    vnets_added: Vec<String>,
    unknown_space: bool,
}

impl Layout {
    /// AKS's managed VNet and its one subnet.
    pub fn managed(&mut self) {
        let note = "AKS's managed VNet (no vnetSubnetId)".to_string();
        self.space.push((MANAGED_VNET.parse().expect("constant prefix"), note.clone()));
        self.subnets.push(("aks-subnet".into(), MANAGED_SUBNET.parse().expect("constant prefix"), note));
    }

    pub fn space_unknown(&self) -> bool {
        self.unknown_space
    }

    /// The scenario's name for a subnet the pools name (resolved before).
    pub fn name_of<'a>(&'a self, r: &'a SubnetRef) -> &'a str {
        let key = (r.vnet.to_ascii_lowercase(), r.subnet.to_ascii_lowercase());
        self.names.iter().find(|(k, _)| *k == key).map_or(r.subnet.as_str(), |(_, n)| n.as_str())
    }

    /// Find the subnet a pool names: `--subnet NAME=CIDR` first, then the VNet files.
    pub fn resolve(
        &mut self,
        r: &SubnetRef,
        vnets: &Vnets,
        given: &[(String, Ipv4Net)],
        label: &str,
    ) -> Result<(), ImportError> {
        let key = (r.vnet.to_ascii_lowercase(), r.subnet.to_ascii_lowercase());
        if self.names.iter().any(|(k, _)| *k == key) {
            return Ok(());
        }
        let vnet = vnets.find(&r.vnet);
        if let Some((name, prefix)) = given.iter().find(|(n, _)| n.eq_ignore_ascii_case(&r.subnet)) {
            match vnet {
                Some(v) => self.add_space(v),
                None => {
                    self.unknown_space = true;
                    self.space.push((*prefix, format!("subnet {name} (--subnet): the VNet's space is unknown")));
                }
            }
            let name = self.unique(name, &r.vnet);
            self.subnets.retain(|(n, _, _)| *n != name);
            self.subnets.push((name.clone(), *prefix, format!("--subnet {name}={prefix}")));
            self.names.push((key, name));
            return Ok(());
        }
        let missing = |why: String| ImportError::Unsupported {
            label: label.to_string(),
            path: r.source.clone(),
            message: format!(
                "{why}: pass that VNet's JSON with --vnet (az network vnet show -g RG -n {} -o json), or the \
                 subnet's prefix with --subnet {}=CIDR",
                r.vnet, r.subnet
            ),
        };
        let Some(v) = vnet else {
            return Err(missing(format!(
                "names subnet `{}` of VNet `{}`, which no --vnet file holds",
                r.subnet, r.vnet
            )));
        };
        let Some((name, _, _)) = v.subnets.iter().find(|(n, _, _)| n.eq_ignore_ascii_case(&r.subnet)) else {
            return Err(missing(format!("VNet `{}` in the --vnet files has no subnet `{}`", v.name, r.subnet)));
        };
        self.add_space(v);
        let name = self.name_in(v, name);
        self.names.push((key, name));
        Ok(())
    }

    /// A VNet's prefixes and every subnet of it (a service CIDR must avoid them all), once.
    fn add_space(&mut self, v: &Vnet) {
        if self.vnets_added.iter().any(|n| n.eq_ignore_ascii_case(&v.name)) {
            return;
        }
        self.vnets_added.push(v.name.clone());
        self.space.extend(v.prefixes.iter().cloned());
        for (name, prefix, source) in &v.subnets {
            let unique = self.unique(name, &v.name);
            self.subnets.push((unique.clone(), *prefix, source.clone()));
            let key = (v.name.to_ascii_lowercase(), name.to_ascii_lowercase());
            self.names.push((key, unique));
        }
    }

    fn name_in(&self, v: &Vnet, subnet: &str) -> String {
        let key = (v.name.to_ascii_lowercase(), subnet.to_ascii_lowercase());
        self.names.iter().find(|(k, _)| *k == key).map_or_else(|| subnet.to_string(), |(_, n)| n.clone())
    }

    /// `subnet`, or `vnet.subnet` when another VNet already has that name.
    fn unique(&self, subnet: &str, vnet: &str) -> String {
        if self.subnets.iter().any(|(n, _, _)| n == subnet) { format!("{vnet}.{subnet}") } else { subnet.to_string() }
    }

    pub fn write(&self, out: &mut String) {
        let y = crate::yaml::quote;
        writeln!(out, "network:").unwrap();
        writeln!(out, "  address_space:").unwrap();
        for (prefix, source) in &self.space {
            writeln!(out, "    - {prefix}  # {source}").unwrap();
        }
        writeln!(out, "  subnets:").unwrap();
        for (name, prefix, source) in &self.subnets {
            writeln!(out, "    {}: {prefix}  # {source}", y(name)).unwrap();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnet_ids_in_any_case() {
        let id = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet-a/subnets/nodes";
        let r = SubnetRef::parse(id, "/p").unwrap();
        assert_eq!((r.vnet.as_str(), r.subnet.as_str()), ("vnet-a", "nodes"));
        let r = SubnetRef::parse(&id.to_lowercase().replace("virtualnetworks", "VIRTUALNETWORKS"), "/p").unwrap();
        assert_eq!(r.subnet, "nodes");
        assert!(SubnetRef::parse("/subscriptions/s/resourceGroups/rg", "/p").is_none());
        assert!(SubnetRef::parse(".../virtualNetworks/v/subnets/", "/p").is_none());
    }
}
