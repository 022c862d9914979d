//! `podip import aks` from the command line: the file it writes loads and runs,
//! and bad input exits 2 with nothing written.

use std::path::PathBuf;

use super::output::{names, podip, scratch, stderr, stdout, write};

fn corpus(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/import-corpus").join(name)
}

#[test]
fn an_imported_cluster_validates_and_runs() {
    let dir = scratch("import");
    let out = dir.join("cluster.yaml");
    let o = podip(&[
        &"import",
        &"aks",
        &corpus("az-aks-create-azurecni-node-subnet-myAKSCluster.json"),
        &"--vnet",
        &corpus("az-network-vnet-create-myAKSVnet.json"),
        &"--fill",
        &"50",
        &"--duration",
        &"2d",
        &"--out",
        &out,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("# yaml-language-server: $schema="), "{text}");
    assert!(text.contains("duration: 2d\n"), "{text}");
    let o = podip(&[&"validate", &out]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = podip(&[&"run", &out, &"--out", &dir.join("run"), &"--no-charts"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // 3 nodes × 30 × 50 %.
    let cluster = std::fs::read_to_string(dir.join("run/cluster.csv")).unwrap();
    assert!(cluster.lines().last().unwrap().contains(",3,45,0,0"), "{cluster}");
    // An existing file is kept without --force, replaced with it.
    let again = [&"import" as &dyn AsRef<std::ffi::OsStr>, &"aks", &corpus("ManagedClustersGet.json"), &"--out", &out];
    let o = podip(&again);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("exists; pass --force to replace it"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), text);
    let mut forced = again.to_vec();
    forced.push(&"--force");
    assert_eq!(podip(&forced).status.code(), Some(0));
    assert!(std::fs::read_to_string(&out).unwrap().contains("allocator: kubenet"));
    // `-` (the default) is stdout.
    let o = podip(&[&"import", &"aks", &corpus("ManagedClustersGet.json")]);
    assert!(stdout(&o).contains("name: clustername1"), "{}", stdout(&o));
}

#[test]
fn bad_input_exits_2_and_writes_nothing() {
    let dir = scratch("import-bad");
    let out = dir.join("out.yaml");
    let bad = write(&dir, "bad.json", "{\"name\": ");
    let o = podip(&[&"import", &"aks", &bad, &"--out", &out]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("bad.json: not JSON: EOF while parsing a value at line 1 column 9"), "{}", stderr(&o));
    // A subnet the VNets do not hold.
    let o = podip(&[&"import", &"aks", &corpus("az-aks-create-overlay-marketflow.json"), &"--out", &out]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/agentPoolProfiles/0/vnetSubnetId: names subnet `aks-subnet`"), "{}", stderr(&o));
    // A scenario that would not validate: AKS refuses a service CIDR on a subnet.
    let o = podip(&[
        &"import",
        &"aks",
        &corpus("az-aks-create-overlay-marketflow.json"),
        &"--subnet",
        &"aks-subnet=10.0.1.0/24",
        &"--out",
        &out,
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("does not validate, so nothing was written"), "{}", stderr(&o));
    assert!(stderr(&o).contains("ServiceCidrOverlapExistingSubnetsCidr"), "{}", stderr(&o));
    let o = podip(&[&"import", &"aks", &corpus("ManagedClustersGet.json"), &"--subnet", &"nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is not NAME=CIDR"), "{}", stderr(&o));
    assert_eq!(names(&dir), ["bad.json"]);
}

#[test]
fn podip_schema_prints_the_committed_schema() {
    let o = podip(&[&"schema"]);
    assert_eq!(o.status.code(), Some(0));
    let committed =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/scenario.schema.json"))
            .unwrap();
    assert_eq!(stdout(&o), committed);
}
