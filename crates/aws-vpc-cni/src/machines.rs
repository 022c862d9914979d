//! EC2 instance types and the max pods they allow (other-clouds.md §1–2).

use allocator::{Machine, Machines, MaxPods};

/// The common types: (ENIs on network card 0, IPv4 addresses per ENI, vCPUs).
/// Source: the EC2 User Guide's "IP addresses per network interface per
/// instance type" table, as `misc/eni-max-pods.txt` of aws/amazon-vpc-cni-k8s
/// derives its max pods from it (every row's formula matches that file).
const TYPES: [(&str, Machine); 13] = [
    ("t3.small", machine(3, 4, 2)),
    ("t3.medium", machine(3, 6, 2)),
    ("t3.large", machine(3, 12, 2)),
    ("m5.large", machine(3, 10, 2)),
    ("m5.xlarge", machine(4, 15, 4)),
    ("m5.2xlarge", machine(4, 15, 8)),
    ("m5.4xlarge", machine(8, 30, 16)),
    ("m4.4xlarge", machine(8, 30, 16)),
    ("c5.large", machine(3, 10, 2)),
    ("c5.xlarge", machine(4, 15, 4)),
    ("r5.large", machine(3, 10, 2)),
    ("m6i.large", machine(3, 10, 2)),
    ("p3dn.24xlarge", machine(15, 50, 96)),
];

const fn machine(enis: u32, ips: u32, vcpus: u32) -> Machine {
    Machine { interfaces: enis, addresses_per_interface: ips, vcpus: Some(vcpus) }
}

/// m5.large: eksctl's default node type.
const DEFAULT: usize = 3;
const DEFAULT_WHY: &str = "eksctl's default node type";

const SOURCE: &str = "the EC2 User Guide's IP addresses per network interface, as aws/amazon-vpc-cni-k8s \
                      misc/eni-max-pods.txt uses them";

/// podip's node model holds at most 250 pods a node (scenario limit).
const PODIP_LIMIT: u32 = 250;

/// Secondary-IP mode's table.
pub static SECONDARY: Machines = Machines {
    types: &TYPES,
    source: SOURCE,
    default: DEFAULT,
    default_why: DEFAULT_WHY,
    max_pods: |m| limits(eni_max_pods(m), PODIP_LIMIT),
    limit_words: |m| {
        format!(
            "{} ENIs × ({} IPv4 − 1) + 2 = {}{}",
            m.interfaces,
            m.addresses_per_interface,
            eni_max_pods(m),
            podip_limit_words(eni_max_pods(m))
        )
    },
};

/// Prefix delegation's table.
pub static PREFIX: Machines = Machines {
    types: &TYPES,
    source: SOURCE,
    default: DEFAULT,
    default_why: DEFAULT_WHY,
    max_pods: |m| {
        let mut l = limits(prefix_max_pods(m), PODIP_LIMIT);
        l.default = l.default.min(calculator_cap(m));
        l
    },
    limit_words: |m| {
        format!(
            "{} ENIs × ({} IPv4 − 1) × 16 + 2 = {}{}",
            m.interfaces,
            m.addresses_per_interface,
            prefix_max_pods(m),
            podip_limit_words(prefix_max_pods(m))
        )
    },
};

/// ", and podip's limit of 250" where that is the tighter bound.
fn podip_limit_words(formula: u32) -> String {
    if formula > PODIP_LIMIT { format!(", and podip's limit of {PODIP_LIMIT}") } else { String::new() }
}

fn limits(formula: u32, cap: u32) -> MaxPods {
    let max = formula.min(cap);
    MaxPods { default: max, min: max.min(10), max }
}

/// Max pods in secondary-IP mode: ENIs × (IPv4 per ENI − 1) + 2, the `+2` for
/// the host-network pods (aws-node, kube-proxy): m5.large 29, p3dn.24xlarge 737.
pub fn eni_max_pods(m: Machine) -> u32 {
    m.interfaces * (m.addresses_per_interface - 1) + 2
}

/// Max pods with prefix delegation before the calculator's cap:
/// ENIs × ((IPv4 per ENI − 1) × 16) + 2 (m5.large 434).
pub fn prefix_max_pods(m: Machine) -> u32 {
    m.interfaces * ((m.addresses_per_interface - 1) * 16) + 2
}

/// The max-pods calculator's recommendation with prefix delegation: 110 up
/// to 30 vCPUs, 250 above. **Assumption:** an `eni` written without `vcpus`
/// gets 110, the smaller.
pub fn calculator_cap(m: Machine) -> u32 {
    match m.vcpus {
        Some(v) if v > 30 => 250,
        _ => 110,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(name: &str) -> Machine {
        SECONDARY.find(name).unwrap()
    }

    #[test]
    fn max_pods_follow_the_eni_formula() {
        // misc/eni-max-pods.txt's values.
        let expected = [
            ("t3.small", 11),
            ("t3.medium", 17),
            ("t3.large", 35),
            ("m5.large", 29),
            ("m5.xlarge", 58),
            ("m5.2xlarge", 58),
            ("m5.4xlarge", 234),
            ("m4.4xlarge", 234),
            ("c5.large", 29),
            ("c5.xlarge", 58),
            ("r5.large", 29),
            ("m6i.large", 29),
            ("p3dn.24xlarge", 737),
        ];
        for (name, pods) in expected {
            assert_eq!(eni_max_pods(named(name)), pods, "{name}");
        }
        assert_eq!(TYPES.len(), expected.len());
    }

    #[test]
    fn defaults_and_limits_per_mode() {
        let m5 = named("m5.large");
        assert_eq!((SECONDARY.max_pods)(m5), MaxPods { default: 29, min: 10, max: 29 });
        // With prefixes: 434 before the cap, 110 for 2 vCPUs, 250 the most podip holds.
        assert_eq!(prefix_max_pods(m5), 434);
        assert_eq!((PREFIX.max_pods)(m5), MaxPods { default: 110, min: 10, max: 250 });
        let p3dn = named("p3dn.24xlarge");
        assert_eq!((SECONDARY.max_pods)(p3dn).default, 250);
        assert!((SECONDARY.limit_words)(p3dn).contains("= 737, and podip's limit of 250"));
        assert_eq!((PREFIX.max_pods)(p3dn).default, 250);
        // A machine smaller than ten pods allows what it holds.
        let tiny = Machine { interfaces: 1, addresses_per_interface: 4, vcpus: None };
        assert_eq!((SECONDARY.max_pods)(tiny), MaxPods { default: 5, min: 5, max: 5 });
        assert_eq!((PREFIX.max_pods)(tiny).default, 50);
        assert!(SECONDARY.names().starts_with("t3.small, t3.medium"));
        assert_eq!(TYPES[DEFAULT].0, "m5.large");
    }
}
