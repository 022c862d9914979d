//! Every file of `../shared/import-corpus/` (real `az` outputs and Azure REST API
//! examples no one here wrote) imports, validates and replays; bad input is
//! refused with the file, the JSON Pointer and what would do.

use std::path::PathBuf;

use import::{ImportError, Input, Options, aks};
use scenario::{Overrides, parse_str};

fn corpus(name: &str) -> (String, String) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/import-corpus").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (name.to_string(), text)
}

fn options(subnets: &[(&str, &str)]) -> Options {
    Options {
        duration: "1d".into(),
        fill: Some(40),
        subnets: subnets.iter().map(|(n, c)| (n.to_string(), c.parse().unwrap())).collect(),
        schema: None,
    }
}

/// Import, validate and replay; returns the YAML and the replay.
fn check(
    cluster: (&str, &str),
    vnets: &[(String, String)],
    pools: Option<&(String, String)>,
    opts: &Options,
) -> (String, cluster::Replay) {
    let vnets: Vec<Input<'_>> = vnets.iter().map(|(l, t)| Input { label: l, text: t }).collect();
    let pools = pools.map(|(l, t)| Input { label: l, text: t });
    let yaml = aks(Input { label: cluster.0, text: cluster.1 }, &vnets, pools, opts).unwrap_or_else(|e| panic!("{e}"));
    let loaded = parse_str(&yaml, "imported.yaml", &Overrides::default()).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    // It meets the schema its first line names.
    let json = serde_json::to_value(serde_yaml::from_str::<serde_yaml::Value>(&yaml).unwrap()).unwrap();
    let schema = jsonschema::draft202012::new(&scenario::schema()).unwrap();
    let errors: Vec<String> = schema.iter_errors(&json).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}\n{yaml}");
    let replay = cluster::replay(&loaded.scenario).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    (yaml, replay)
}

fn import_err(cluster: &str, vnets: &[(String, String)], opts: &Options) -> ImportError {
    let vnets: Vec<Input<'_>> = vnets.iter().map(|(l, t)| Input { label: l, text: t }).collect();
    aks(Input { label: "c.json", text: cluster }, &vnets, None, opts).unwrap_err()
}

fn nodes_at_end(r: &cluster::Replay) -> u32 {
    let last = r.cluster.last().unwrap().time_s;
    r.cluster.iter().filter(|s| s.time_s == last).map(|s| s.nodes).sum()
}

#[test]
fn arm_examples_import_on_the_managed_vnet() {
    for (file, allocator) in [
        ("ManagedClustersGet.json", "kubenet"),
        ("ManagedClustersCreate_DualStackNetworking.json", "kubenet"),
        ("ManagedClustersCreate_UserAssignedNATGateway.json", "kubenet"),
        ("AdvancedNetworkingTransitEncryption.json", "overlay"),
    ] {
        let (label, text) = corpus(file);
        let (yaml, r) = check((&label, &text), &[], None, &options(&[]));
        assert!(
            yaml.contains(&format!("allocator: {allocator}  # /responses/200/body/properties/networkProfile/")),
            "{file}:\n{yaml}"
        );
        assert!(yaml.contains("    - 10.224.0.0/12  # AKS's managed VNet"), "{file}:\n{yaml}");
        assert!(
            yaml.contains("    pod_cidr: 10.244.0.0/16  # /responses/200/body/properties/networkProfile/podCidr"),
            "{yaml}"
        );
        assert!(yaml.contains("max_pods: 110  # /responses/200/body/properties/agentPoolProfiles/0/maxPods"), "{yaml}");
        assert_eq!(nodes_at_end(&r), 3, "{file}");
        // --fill 40: 40 % of 3 × 110.
        assert!(yaml.contains("replicas: 132}"), "{yaml}");
        assert_eq!(r.cluster.last().unwrap().pods_running, 132, "{file}");
    }
    let (label, text) = corpus("ManagedClustersCreate_DualStackNetworking.json");
    let (yaml, _) = check((&label, &text), &[], None, &options(&[]));
    assert!(yaml.contains("IPv6 ranges (fd11:1234::/64, fd00:1234::/108) are not modelled"), "{yaml}");
    let (label, text) = corpus("ManagedClustersGet.json");
    let (yaml, _) = check((&label, &text), &[], None, &options(&[]));
    assert!(
        yaml.contains(
            "max_surge: '33%'  # /responses/200/body/properties/agentPoolProfiles/0/upgradeSettings/maxSurge"
        ),
        "{yaml}"
    );
}

#[test]
fn az_outputs_import_with_their_vnets() {
    // Azure CNI node subnet, its VNet from `az network vnet create`.
    let (label, text) = corpus("az-aks-create-azurecni-node-subnet-myAKSCluster.json");
    let vnet = corpus("az-network-vnet-create-myAKSVnet.json");
    let (yaml, r) = check((&label, &text), &[vnet], None, &options(&[]));
    assert!(
        yaml.contains("allocator: node-subnet  # /networkProfile/networkPlugin azure, no pool has a podSubnetId"),
        "{yaml}"
    );
    assert!(
        yaml.contains(
            "    - 10.0.0.0/12  # az-network-vnet-create-myAKSVnet.json /newVNet/addressSpace/addressPrefixes/0"
        ),
        "{yaml}"
    );
    assert!(
        yaml.contains(
            "    myAKSSubnet: 10.8.0.0/16  # az-network-vnet-create-myAKSVnet.json /newVNet/subnets/0/addressPrefix"
        ),
        "{yaml}"
    );
    assert!(yaml.contains("        vnet_subnet: myAKSSubnet  # /agentPoolProfiles/0/vnetSubnetId"), "{yaml}");
    assert!(yaml.contains("max_pods: 30  # /agentPoolProfiles/0/maxPods"), "{yaml}");
    // 3 nodes × (1 + 30) of the node subnet.
    let nodes = r.ranges.iter().position(|x| x.name == "myAKSSubnet").unwrap() as u32;
    assert_eq!(r.utilization.iter().find(|s| s.range == nodes).unwrap().allocated, 93);

    // Kubenet on a BYO /26 whose VNet was created before its subnet: the subnet from --subnet.
    let (label, text) = corpus("az-aks-create-kubenet-byo-subnet-akscli-3.json");
    let vnet = corpus("az-network-vnet-create-akscli-3.json");
    let (yaml, r) = check((&label, &text), &[vnet], None, &options(&[("akssubnet", "10.225.0.0/26")]));
    assert!(yaml.contains("    akssubnet: 10.225.0.0/26  # --subnet akssubnet=10.225.0.0/26"), "{yaml}");
    assert!(yaml.contains("    - 10.225.0.0/24  # az-network-vnet-create-akscli-3.json"), "{yaml}");
    assert_eq!(nodes_at_end(&r), 3);

    // Overlay, no VNet file: the subnet's own prefix stands for the address space.
    let (label, text) = corpus("az-aks-create-overlay-marketflow.json");
    let (yaml, r) = check((&label, &text), &[], None, &options(&[("aks-subnet", "10.1.0.0/24")]));
    assert!(
        yaml.contains(
            "allocator: overlay  # /networkProfile/networkPlugin azure + /networkProfile/networkPluginMode overlay"
        ),
        "{yaml}"
    );
    assert!(yaml.contains("its subnets' own prefixes stand for it"), "{yaml}");
    assert!(yaml.contains("max_pods: 250  # /agentPoolProfiles/0/maxPods"), "{yaml}");
    assert_eq!(nodes_at_end(&r), 2);
}

#[test]
fn agent_pool_files_import_with_pools() {
    let cluster = corpus("ManagedClustersGet.json");
    for file in ["AgentPoolsCreate_Update.json", "AgentPoolsList.json"] {
        let pools = corpus(file);
        let (yaml, r) = check((&cluster.0, &cluster.1), &[], Some(&pools), &options(&[]));
        assert!(yaml.contains(&format!("# {file} /responses/200/body/")), "{yaml}");
        assert!(!yaml.contains("nodepool1"), "the cluster's own pools are replaced:\n{yaml}");
        assert_eq!(nodes_at_end(&r), 3, "{file}");
    }
    // Alone, each is refused and told where it goes.
    for (file, hint) in [
        ("AgentPoolsCreate_Update.json", "an agent pool (az aks nodepool show): pass it with --pools"),
        ("AgentPoolsList.json", "a list of agent pools (az aks nodepool list): pass it with --pools"),
        ("VirtualNetworkGet.json", "a VNet: pass it with --vnet"),
        ("VirtualNetworkList.json", "a list of VNets: pass it with --vnet"),
    ] {
        let (_, text) = corpus(file);
        let e = import_err(&text, &[], &options(&[])).to_string();
        assert!(e.starts_with("c.json: expected a managed cluster") && e.contains(hint), "{file}: {e}");
    }
}

/// The VNet examples: a cluster whose pool sits in each one's subnet.
#[test]
fn vnet_examples_import_as_the_pools_network() {
    for (file, vnet, subnet, prefix) in [
        ("VirtualNetworkGet.json", "test-vnet", "subnet1", "10.0.1.0/24"),
        ("VirtualNetworkGetWithSubnetDelegation.json", "test-vnet", "subnet1", "10.0.1.0/24"),
        ("VirtualNetworkGetWithServiceAssociationLink.json", "test-vnet", "subnet1", "10.0.214.0/24"),
        ("VirtualNetworkCreateSubnetWithAddressPrefixes.json", "test-vnet", "test-2", "10.0.0.0/28"),
        ("VirtualNetworkList.json", "vnet1", "test-1", "10.0.0.0/24"),
    ] {
        let cluster = format!(
            r#"{{"name": "c", "networkProfile": {{"networkPlugin": "kubenet", "podCidr": "100.64.0.0/16",
               "serviceCidr": "192.168.0.0/16", "dnsServiceIp": "192.168.0.10"}},
               "agentPoolProfiles": [{{"name": "p", "count": 2, "maxPods": 30, "osType": "Linux",
               "vnetSubnetId": "/subscriptions/subid/resourceGroups/rg1/providers/Microsoft.Network/virtualNetworks/{vnet}/subnets/{subnet}"}}]}}"#
        );
        let v = corpus(file);
        let (yaml, r) = check(("c.json", &cluster), &[v], None, &options(&[]));
        assert!(yaml.contains(&format!("    {subnet}: {prefix}  # {file} /responses/200/body/")), "{file}:\n{yaml}");
        assert_eq!(nodes_at_end(&r), 2, "{file}");
    }
    let (yaml, _) = {
        let cluster = r#"{"name": "c", "networkProfile": {"networkPlugin": "kubenet", "podCidr": "100.64.0.0/16", "serviceCidr": "192.168.0.0/16", "dnsServiceIp": "192.168.0.10"},
            "agentPoolProfiles": [{"name": "p", "count": 1, "vnetSubnetId": "/x/virtualNetworks/test-vnet/subnets/test-2"}]}"#;
        let v = corpus("VirtualNetworkCreateSubnetWithAddressPrefixes.json");
        check(("c.json", cluster), &[v], None, &options(&[]))
    };
    assert!(yaml.contains("(the first of 2: podip models one prefix per subnet)"), "{yaml}");
    assert!(yaml.contains("# max_pods: not in the JSON, the kubenet default 110"), "{yaml}");
}

const AZ: &str = r#"{"name": "c", "networkProfile": {"networkPlugin": "azure", "serviceCidr": "192.168.0.0/16", "dnsServiceIp": "192.168.0.10"},
  "agentPoolProfiles": [
    {"name": "sys", "count": 2, "maxPods": 30, "osType": "Linux", "vnetSubnetId": "/x/virtualNetworks/v/subnets/nodes", "podSubnetId": "/x/virtualNetworks/v/subnets/pods"},
    {"name": "win", "count": 1, "maxPods": 30, "osType": "Windows", "vnetSubnetId": "/x/virtualNetworks/v/subnets/nodes", "podSubnetId": "/x/virtualNetworks/v/subnets/pods",
     "enableAutoScaling": true, "minCount": 1, "maxCount": 4, "upgradeSettings": {"maxSurge": "1"}}]}"#;

const VNET: &str = r#"{"name": "v", "addressSpace": {"addressPrefixes": ["10.9.0.0/16"]},
  "subnets": [{"name": "nodes", "addressPrefix": "10.9.0.0/24"}, {"name": "pods", "addressPrefix": "10.9.16.0/20"}]}"#;

fn vnet() -> Vec<(String, String)> {
    vec![("v.json".to_string(), VNET.to_string())]
}

#[test]
fn pod_subnets_map_to_dynamic_or_static_block() {
    let (yaml, r) = check(("c.json", AZ), &vnet(), None, &options(&[]));
    assert!(yaml.contains("allocator: dynamic  # /networkProfile/networkPlugin azure + podSubnetId"), "{yaml}");
    assert!(yaml.contains("        os: windows  # /agentPoolProfiles/1/osType"), "{yaml}");
    assert!(yaml.contains("        autoscale: {min: 1, max: 4}  # /agentPoolProfiles/1/enableAutoScaling"), "{yaml}");
    assert!(yaml.contains("        max_surge: 1  # /agentPoolProfiles/1/upgradeSettings/maxSurge"), "{yaml}");
    assert_eq!(nodes_at_end(&r), 3);
    let static_block = AZ
        .replace(r#""podSubnetId""#, r#""podIpAllocationMode": "StaticBlock", "podSubnetId""#)
        .replace(r#""osType": "Windows""#, r#""osType": "Linux""#);
    let (yaml, _) = check(("c.json", &static_block), &vnet(), None, &options(&[]));
    assert!(yaml.contains("allocator: static-block  # /networkProfile/networkPlugin azure + podSubnetId + podIpAllocationMode StaticBlock"), "{yaml}");
}

#[test]
fn bad_input_names_the_file_the_field_and_what_would_do() {
    let opts = options(&[]);
    let e = import_err("{\"name\": \"c\",\n  \"agentPoolProfiles\": [}", &vnet(), &opts);
    assert!(matches!(e, ImportError::NotJson { line: 2, .. }), "{e:?}");
    assert!(e.to_string().starts_with("c.json: not JSON: expected value at line 2 column"), "{e}");
    let e = import_err(r#"{"name": "c"}"#, &vnet(), &opts).to_string();
    assert!(e.contains("expected a managed cluster") && e.contains("this is not a managed cluster"), "{e}");
    let e = import_err(&AZ.replace(r#""osType": "Windows""#, r#""osType": "Mariner""#), &vnet(), &opts).to_string();
    assert_eq!(e, r#"c.json: /agentPoolProfiles/1/osType: osType "Mariner" is not one podip models: Linux or Windows"#);
    let e = import_err(&AZ.replace("subnets/pods", "subnets/gone"), &vnet(), &opts).to_string();
    assert!(
        e.starts_with("c.json: /agentPoolProfiles/0/podSubnetId: VNet `v` in the --vnet files has no subnet `gone`"),
        "{e}"
    );
    assert!(e.contains("or the subnet's prefix with --subnet gone=CIDR"), "{e}");
    let e = import_err(AZ, &[], &opts).to_string();
    assert!(
        e.contains("names subnet `nodes` of VNet `v`, which no --vnet file holds: pass that VNet's JSON with --vnet"),
        "{e}"
    );
    let e = import_err(&AZ.replace(r#""networkPlugin": "azure""#, r#""networkPlugin": "none""#), &vnet(), &opts)
        .to_string();
    assert!(e.starts_with("c.json: /networkProfile/networkPlugin: networkPlugin none: bring-your-own CNI"), "{e}");
    // Pools in two pod IP allocation modes: the format has one allocator per cluster.
    let mixed = AZ.replacen(r#""podSubnetId""#, r#""podIpAllocationMode": "StaticBlock", "podSubnetId""#, 1);
    let e = import_err(&mixed, &vnet(), &opts).to_string();
    assert!(e.contains("pool `win` allocates pod IPs as dynamic, pool `sys` as static-block"), "{e}");
    let e = import_err(&AZ.replace(r#""count": 2, "#, ""), &vnet(), &opts).to_string();
    assert_eq!(e, "c.json: /agentPoolProfiles/0/count: pool `sys` has no count");
    let e = import_err(&AZ.replace(r#""count": 2"#, r#""count": -2"#), &vnet(), &opts).to_string();
    assert_eq!(e, "c.json: /agentPoolProfiles/0/count: count must be a whole number, not -2");
    let e = import_err(AZ, &[("v.json".into(), "[1,".into())], &opts).to_string();
    assert!(e.starts_with("v.json: not JSON"), "{e}");
    let e = import_err(AZ, &[("v.json".into(), r#"{"name": "v"}"#.into())], &opts).to_string();
    assert!(e.starts_with("v.json: /: expected a VNet"), "{e}");
}
