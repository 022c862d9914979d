//! docs/architecture.md's codemap says which crates each crate may depend on;
//! `cargo metadata` says which it does. They must agree: a new dependency is a
//! design decision, made in the table first.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

const MODE_CRATES: [&str; 8] =
    ["node-subnet", "dynamic", "static-block", "kubenet", "overlay", "gke", "calico", "aws-vpc-cni"];

/// The codemap: each crate its row names → the names its last column allows.
fn codemap(page: &str) -> BTreeMap<String, BTreeSet<String>> {
    let start = page.find("## Codemap").expect("a Codemap section");
    let end = page[start..].find("## Invariants").map_or(page.len(), |i| start + i);
    let words = |text: &str| -> Vec<String> {
        text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .filter(|w| w.starts_with(|c: char| c.is_ascii_lowercase()))
            .map(str::to_owned)
            .collect()
    };
    let ticked = |text: &str| -> Vec<String> { text.split('`').skip(1).step_by(2).map(str::to_owned).collect() };
    let mut rows: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut above: Vec<String> = Vec::new();
    for line in page[start..end].lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').collect();
        let (crates, may) = (cells[1], cells[cells.len() - 2]);
        let mut allowed: BTreeSet<String> = words(may).into_iter().collect();
        // "the mode crates": those the mode crates' row names (modes::ALL's crates).
        if may.contains("the mode crates") {
            allowed.extend(MODE_CRATES.iter().map(|s| s.to_string()));
        }
        if let Some((_, but)) = may.split_once("every crate above but") {
            let except = ticked(but.split(',').next().unwrap_or(""));
            allowed.extend(above.iter().cloned());
            allowed.retain(|c| !except.contains(c));
        }
        let named = ticked(crates);
        for name in &named {
            rows.insert(name.clone(), allowed.clone());
        }
        above.extend(named);
    }
    rows
}

#[test]
fn every_dependency_is_in_the_codemap() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let page = std::fs::read_to_string(root.join("docs/architecture.md")).unwrap();
    let map = codemap(&page);
    assert!(map["benches"].contains("engine") && !map["benches"].contains("podip"), "{:?}", map["benches"]);
    assert!(map["modes"].contains("overlay"), "{:?}", map["modes"]);

    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(&root)
        .output()
        .expect("cargo metadata runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut faults = Vec::new();
    let packages = metadata["packages"].as_array().unwrap();
    assert!(packages.len() >= 14, "{} workspace packages", packages.len());
    for package in packages {
        let name = package["name"].as_str().unwrap();
        let Some(allowed) = map.get(name) else {
            faults.push(format!("crate `{name}` has no row in the codemap"));
            continue;
        };
        for dep in package["dependencies"].as_array().unwrap() {
            // Normal dependencies only: dev- and build-dependencies have a kind.
            if !dep["kind"].is_null() {
                continue;
            }
            let dep = dep["name"].as_str().unwrap();
            if !allowed.contains(dep) {
                faults.push(format!("crate `{name}` depends on `{dep}`, which its codemap row does not allow"));
            }
        }
    }
    assert!(faults.is_empty(), "docs/architecture.md's codemap is out of date:\n{}", faults.join("\n"));
}
