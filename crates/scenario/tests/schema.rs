//! The JSON Schema of the scenario format (docs/scenario.schema.json): every
//! bundled and acceptance scenario meets it, and it refuses what loading
//! refuses for unknown keys and wrong types.

use std::path::{Path, PathBuf};

use scenario::{Overrides, parse_str, schema, schema_text};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn as_json(yaml: &str) -> serde_json::Value {
    let value: serde_yaml::Value = serde_yaml::from_str(yaml).unwrap();
    serde_json::to_value(value).unwrap()
}

fn validator() -> jsonschema::Validator {
    jsonschema::draft202012::new(&schema()).expect("the schema is a valid draft 2020-12 schema")
}

/// The scenario files under `dir`, recursively.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(yaml_files(&path));
        } else if path.extension().is_some_and(|e| e == "yaml") {
            out.push(path);
        }
    }
    out.sort();
    out
}

#[test]
fn the_committed_schema_is_what_podip_prints() {
    let path = root().join("docs/scenario.schema.json");
    if std::env::var_os("PODIP_BLESS").is_some() {
        std::fs::write(&path, schema_text()).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        schema_text(),
        "docs/scenario.schema.json is stale: run PODIP_BLESS=1 cargo test -p scenario --test schema"
    );
}

#[test]
fn every_bundled_and_acceptance_scenario_meets_the_schema() {
    let v = validator();
    let mut files = yaml_files(&root().join("scenarios"));
    let bundled = files.len();
    files.extend(yaml_files(&root().join("../shared/acceptance/cases")));
    assert!(bundled >= 10 && files.len() > bundled + 10, "{files:?}");
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let loads = parse_str(&text, "f.yaml", &Overrides::default());
        let errors: Vec<String> =
            v.iter_errors(&as_json(&text)).map(|e| format!("{} at {}", e, e.instance_path())).collect();
        // A file podip loads meets the schema; one that fails only semantic rules may too.
        if loads.is_ok() {
            assert!(errors.is_empty(), "{}: {errors:?}", file.display());
        }
        // Bundled files say where their schema is.
        if file.starts_with(root().join("scenarios")) {
            assert!(
                text.starts_with("# yaml-language-server: $schema=../docs/scenario.schema.json\n"),
                "{}",
                file.display()
            );
        }
    }
}

const BASE: &str = "\
name: base
duration: 1d
network:
  address_space: [10.1.0.0/16]
  subnets: {nodes: 10.1.0.0/24, pods: 10.1.16.0/20}
clusters:
  - name: c1
    dynamic: {scarcity: {upper: \"95%\", lower: \"90%\"}}
    node_pools:
      - {name: p1, count: 3, vnet_subnet: nodes, pod_subnet: pods, autoscale: {min: 1, max: 5}, max_surge: \"33%\"}
workloads:
  - {name: web, cluster: c1, kind: deployment, replicas: 10}
  - {name: jobs, cluster: c1, kind: churn, arrivals_per_hour: 60, lifetime: {lognormal: {median: 10m, sigma: 1}}}
events:
  - {at: 1h, scale_pool: {cluster: c1, pool: p1, count: 4}}
  - {at: 2h30m, rollout: {name: web}}
timing: {node_drain: 2m}
";

/// For each edit, loading fails on the shape, and so does the schema.
#[test]
fn the_schema_refuses_what_loading_refuses_for_unknown_keys_and_types() {
    let v = validator();
    assert!(parse_str(BASE, "b.yaml", &Overrides::default()).is_ok());
    assert!(
        v.is_valid(&as_json(BASE)),
        "{:?}",
        v.iter_errors(&as_json(BASE)).map(|e| e.to_string()).collect::<Vec<_>>()
    );
    let cases = [
        ("an unknown top-level key", "duration: 1d\n", "duration: 1d\nduraton: 2d\n"),
        ("an unknown cluster key", "  - name: c1\n", "  - name: c1\n    max_podz: 30\n"),
        ("an unknown pool key", "count: 3,", "count: 3, cout: 4,"),
        ("an unknown workload key", "replicas: 10}", "replicas: 10, replica: 1}"),
        ("an unknown event action", "rollout: {name: web}", "rolout: {name: web}"),
        ("an unknown lifetime", "lognormal: {median: 10m, sigma: 1}", "normal: {median: 10m, sigma: 1}"),
        ("an unknown timing key", "node_drain: 2m", "node_dran: 2m"),
        ("an unknown setting of the mode", "upper: \"95%\"", "upper: \"95%\"}, bogus: {a: 1"),
        ("an unknown allocator", "  - name: c1\n", "  - name: c1\n    allocator: calico-x\n"),
        ("an unknown kind", "kind: deployment", "kind: statefulset"),
        ("an unknown scheduler", "  - name: c1\n", "  - name: c1\n    scheduler: fair\n"),
        ("a string count", "count: 3,", "count: three,"),
        ("a negative count", "count: 3,", "count: -3,"),
        ("a list for a name", "name: base", "name: [base]"),
        ("a mapping for subnets' prefix", "nodes: 10.1.0.0/24", "nodes: {a: 1}"),
        ("a string for host_network", "replicas: 10}", "replicas: 10, host_network: maybe}"),
        ("a missing required key", "duration: 1d\n", ""),
        ("a missing pool count", "count: 3, ", ""),
        ("clusters not a list", "clusters:\n", "clusters: {}\nx:\n"),
    ];
    for (what, from, to) in cases {
        assert_eq!(BASE.matches(from).count(), 1, "{what}: `{from}` must occur once");
        let text = BASE.replacen(from, to, 1);
        let loaded = parse_str(&text, "b.yaml", &Overrides::default());
        assert!(loaded.is_err(), "{what}: podip loads it:\n{text}");
        let json = std::panic::catch_unwind(|| as_json(&text));
        if let Ok(json) = json {
            assert!(!v.is_valid(&json), "{what}: the schema accepts it:\n{text}");
        }
    }
}
