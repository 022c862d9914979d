//! A JSON Schema (draft 2020-12) of the scenario format, for editors
//! (`# yaml-language-server: $schema=…`): the keys and value types `raw.rs`
//! accepts, allocator names and mode blocks from the registry. It checks the
//! shape only, as parsing does; `podip validate` checks the rest (prefixes,
//! references, ranges). `podip schema` prints it; docs/scenario.schema.json
//! is its committed copy (a test keeps them equal).

use serde_json::{Value, json};

/// `{fixed: 10m}`-style durations: whole seconds, or runs of a number and a unit.
const DURATION_PATTERN: &str = "^([0-9]+|([0-9]+[smhdw])+)$";

fn duration(description: &str) -> Value {
    json!({
        "description": description,
        "oneOf": [
            {"type": "integer", "minimum": 0},
            {"type": "string", "pattern": DURATION_PATTERN}
        ]
    })
}

fn prefix(description: &str) -> Value {
    json!({"type": "string", "description": description, "pattern": "^[0-9.]+/[0-9]+$"})
}

fn count(description: &str) -> Value {
    json!({"type": "integer", "minimum": 0, "description": description})
}

fn object(required: &[&str], properties: Value) -> Value {
    json!({"type": "object", "additionalProperties": false, "required": required, "properties": properties})
}

/// An optional mapping: written empty (`timing:`) it reads as absent.
fn nullable(mut v: Value) -> Value {
    v["type"] = json!(["object", "null"]);
    v
}

fn pool() -> Value {
    object(
        &["name", "count", "vnet_subnet"],
        json!({
            "name": {"type": "string"},
            "count": count("nodes at time zero"),
            "vnet_subnet": {"type": "string", "description": "the subnet node IPs come from"},
            "pod_subnet": {"type": ["string", "null"], "description": "dynamic and static-block: the subnet pod IPs come from"},
            "max_pods": {"type": ["integer", "null"], "minimum": 0},
            "max_surge": {"type": ["integer", "string", "null"], "description": "a node count, or a percent of the pool like \"33%\""},
            "autoscale": nullable(object(&["min", "max"], json!({"min": count("fewest nodes"), "max": count("most nodes")}))),
            "os": {"enum": ["linux", "windows", null]},
            "instance_type": {"type": ["string", "null"], "description": "aws-vpc-cni and aws-prefix: the EC2 instance type (its ENI limits)"},
            "eni": nullable(object(&["count", "ips"], json!({
                "count": {"type": "integer", "minimum": 1, "maximum": 15, "description": "ENIs per node (network card 0)"},
                "ips": {"type": "integer", "minimum": 2, "maximum": 64, "description": "IPv4 addresses per ENI, its primary included"},
                "vcpus": {"type": ["integer", "null"], "minimum": 1, "maximum": 1024}
            })))
        }),
    )
}

fn cluster() -> Value {
    let mut properties = json!({
        "name": {"type": "string"},
        "allocator": allocator(),
        "max_pods": {"type": ["integer", "null"], "minimum": 0},
        "pod_cidr": {"anyOf": [prefix("kubenet, overlay, gke and calico: the range carved per node (calico: its IP pool)"), {"type": "null"}]},
        "service_cidr": {"anyOf": [prefix("the Kubernetes service range (validated, never allocated from)"), {"type": "null"}]},
        "dns_service_ip": {"type": ["string", "null"]},
        "scheduler": {"enum": ["spread", "pack", "random", null]},
        "node_pools": {"type": "array", "items": pool()}
    });
    for mode in modes::ALL {
        let Some(key) = mode.settings_key else { continue };
        let settings: serde_json::Map<String, Value> = mode
            .settings
            .iter()
            .map(|s| (s.key.to_string(), json!({"description": format!("{} (default: {})", s.help, s.default)})))
            .collect();
        properties[key] = json!({
            "description": format!("the {} allocator's settings; ignored, with a warning, under other allocators", mode.name),
            "type": ["object", "null"],
            "additionalProperties": false,
            "properties": settings
        });
    }
    json!({"type": "object", "additionalProperties": false, "required": ["name", "node_pools"], "properties": properties})
}

fn allocator() -> Value {
    let names: Vec<Value> = modes::ALL.iter().map(|m| json!(m.name)).chain([Value::Null]).collect();
    json!({"enum": names, "description": "the networking mode (podip modes lists them)"})
}

fn workload() -> Value {
    let lifetime = nullable(object(
        &[],
        json!({
            "fixed": duration("every pod runs this long"),
            "exponential": duration("the mean"),
            "uniform": {"type": "array", "items": duration("low, then high"), "minItems": 2, "maxItems": 2},
            "lognormal": nullable(object(&["median", "sigma"], json!({"median": duration("the median"), "sigma": {"type": "number"}})))
        }),
    ));
    object(
        &["name", "cluster", "kind"],
        json!({
            "name": {"type": "string"},
            "cluster": {"type": "string"},
            "pool": {"type": ["string", "null"]},
            "kind": {"enum": ["deployment", "daemonset", "churn"]},
            "replicas": {"type": ["integer", "null"], "minimum": 0},
            "host_network": {"type": ["boolean", "null"]},
            "arrivals_per_hour": {"type": ["number", "null"]},
            "lifetime": lifetime,
            "start": duration("churn: when arrivals start"),
            "end": duration("churn: when arrivals end")
        }),
    )
}

fn event() -> Value {
    let pool_ref =
        || nullable(object(&["cluster", "pool"], json!({"cluster": {"type": "string"}, "pool": {"type": "string"}})));
    object(
        &["at"],
        json!({
            "at": duration("when, from the start"),
            "scale_pool": nullable(object(&["cluster", "pool", "count"], json!({
                "cluster": {"type": "string"}, "pool": {"type": "string"}, "count": count("the pool's new node count")
            }))),
            "upgrade_pool": pool_ref(),
            "add_pool": nullable(object(&["cluster", "pool"], json!({"cluster": {"type": "string"}, "pool": pool()}))),
            "remove_pool": pool_ref(),
            "scale_workload": nullable(object(&["name", "replicas"], json!({"name": {"type": "string"}, "replicas": count("the deployment's replicas")}))),
            "rollout": nullable(object(&["name"], json!({"name": {"type": "string"}})))
        }),
    )
}

/// The schema as a JSON value.
pub fn schema() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "podip scenario",
        "description": "A cluster's life for podip to replay (docs/scenario-format.md). The shape only: podip validate checks prefixes, references and ranges.",
        "type": "object",
        "additionalProperties": false,
        "required": ["name", "duration", "network", "clusters"],
        "properties": {
            "name": {"type": "string"},
            "description": {"type": ["string", "null"]},
            "seed": {"type": ["integer", "null"], "minimum": 0},
            "duration": duration("the simulated time span, like 30d or 1d12h"),
            "sample_every": duration("the interval of the time series (default 1h)"),
            "allocator": allocator(),
            "network": object(&["address_space", "subnets"], json!({
                "address_space": {"type": "array", "items": prefix("a VNet prefix")},
                "subnets": {
                    "type": ["object", "null"],
                    "description": "subnet name -> prefix",
                    "additionalProperties": prefix("the subnet's prefix")
                }
            })),
            "clusters": {"type": "array", "items": cluster()},
            "workloads": {"type": ["array", "null"], "items": workload()},
            "events": {"type": ["array", "null"], "items": event()},
            "timing": nullable(object(&[], json!({
                "node_provision": duration("default 3m"),
                "node_drain": duration("default 1m per node"),
                "node_reimage": duration("default 5m")
            })))
        }
    })
}

/// The schema as the text `podip schema` prints and docs/scenario.schema.json holds.
pub fn schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&schema()).expect("a JSON value serialises");
    text.push('\n');
    text
}
