//! The registry: every networking mode podip knows, in the order help and
//! docs list them. Each entry is the mode crate's own descriptor
//! ([`allocator::Mode`]); nothing here knows what a mode does.
//!
//! Adding a mode: write its crate (one `pub static MODE: Mode` and its
//! allocator) and add one line to [`ALL`].

use allocator::Mode;

/// Every mode, in the order scenarios' docs and the CLI's help list them.
pub static ALL: [&Mode; 9] = [
    &node_subnet::MODE,
    &dynamic::MODE,
    &static_block::MODE,
    &kubenet::MODE,
    &overlay::MODE,
    &gke::MODE,
    &calico::MODE,
    &aws_vpc_cni::MODE,
    &aws_vpc_cni::PREFIX_MODE,
];

/// The mode of clusters whose scenario names none (scenario.md).
pub static DEFAULT: &Mode = &dynamic::MODE;

/// The mode a scenario names, if podip has it.
pub fn find(name: &str) -> Option<&'static Mode> {
    ALL.iter().copied().find(|mode| mode.name == name)
}

/// The registered mode called `name`, for code and tests that name a built-in one.
///
/// # Panics
/// If no registered mode has that name.
pub fn named(name: &str) -> &'static Mode {
    find(name).unwrap_or_else(|| panic!("no mode `{name}` in the registry (modes::ALL)"))
}

/// The modes' names, comma-separated, for "expected one of …" messages.
pub fn names() -> String {
    ALL.iter().map(|mode| mode.name).collect::<Vec<_>>().join(", ")
}

/// The modes as a Markdown table, for `podip modes` and docs/modes.md (a test
/// keeps that page equal to it).
pub fn table() -> String {
    let mut out = String::from(
        "| mode | cloud's name | what a node takes | max_pods: default (range) | pod addresses from | Windows | failures | settings |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for mode in ALL {
        let unit = |g: allocator::Granularity| match g.prefix_len() {
            32 => "addresses".to_owned(),
            len => format!("/{len} blocks"),
        };
        let pods_from = match (mode.pod_subnet, mode.pod_cidr) {
            (Some(unit_of), _) if mode.pod_subnet_optional => {
                format!("the pool's `pod_subnet` if it names one, else its `vnet_subnet` ({})", unit(unit_of))
            }
            (Some(unit_of), _) => format!("the pool's `pod_subnet` ({})", unit(unit_of)),
            (_, Some(unit_of)) => format!("the cluster's `pod_cidr` ({})", unit(unit_of)),
            _ => "the pool's `vnet_subnet`".to_owned(),
        };
        let mut failures = vec![format!("`{}`", allocator::FailureKind::NODE_IP_EXHAUSTED)];
        failures.extend(
            mode.failures
                .iter()
                .map(|f| if f.fixed_by_size() { format!("`{f}`") } else { format!("`{f}` (no size fixes it)") }),
        );
        let settings = if mode.settings.is_empty() {
            "none".to_owned()
        } else {
            mode.settings.iter().map(|s| format!("`{}` ({})", s.key, s.default)).collect::<Vec<_>>().join(", ")
        };
        let m = mode.max_pods;
        let max_pods = match mode.machines {
            // The pool's machine decides: show the default type's.
            Some(machines) => {
                let (name, machine) = machines.types[machines.default];
                let l = (machines.max_pods)(machine);
                format!("the machine's: {name} {} ({}–{})", l.default, l.min, l.max)
            }
            None => format!("{} ({}–{})", m.default, m.min, m.max),
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} | {} | {} |\n",
            mode.name,
            mode.cloud_name,
            mode.summary,
            max_pods,
            pods_from,
            if mode.windows { "yes" } else { "no" },
            failures.join(", "),
            settings,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use allocator::{Build, Settings};
    use net::AddressSpace;

    /// docs/modes.md holds the table between two markers; rewrite it with
    /// `PODIP_BLESS=1 cargo test -p modes`.
    #[test]
    fn docs_table_is_the_registry() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/modes.md");
        let page = std::fs::read_to_string(path).expect("docs/modes.md");
        let (begin, end) = ("<!-- modes table: begin -->\n", "<!-- modes table: end -->");
        let start = page.find(begin).expect("the begin marker") + begin.len();
        let stop = page.find(end).expect("the end marker");
        if std::env::var_os("PODIP_BLESS").is_some() {
            std::fs::write(path, format!("{}{}{}", &page[..start], table(), &page[stop..])).unwrap();
            return;
        }
        assert_eq!(&page[start..stop], table(), "docs/modes.md is stale: run PODIP_BLESS=1 cargo test -p modes");
    }

    #[test]
    fn names_are_unique_and_found() {
        for (i, mode) in ALL.iter().enumerate() {
            assert!(ALL[..i].iter().all(|earlier| earlier.name != mode.name), "{} twice", mode.name);
            assert_eq!(find(mode.name), Some(*mode));
        }
        assert_eq!(find("flannel"), None);
        // The Azure modes first, in the order scenario.md lists them (help and docs follow it).
        assert!(names().starts_with("node-subnet, dynamic, static-block, kubenet, overlay"), "{}", names());
    }

    #[test]
    fn every_descriptor_is_consistent() {
        for mode in ALL {
            let max = mode.max_pods;
            assert!(max.min <= max.default && max.default <= max.max, "{mode}: max_pods default out of range");
            assert!(!mode.cloud_name.is_empty() && !mode.summary.is_empty(), "{mode}: undocumented");
            assert!(!(mode.pod_subnet.is_some() && mode.pod_cidr.is_some()), "{mode}: two pod ranges");
        }
    }

    #[test]
    fn each_mode_builds_the_allocator_it_names() {
        let mut space = AddressSpace::new();
        let range = space.add(
            net::AddressRange::pod_cidr("c/pod-cidr", "10.244.0.0/16".parse().unwrap(), net::Granularity::SLASH24)
                .unwrap(),
        );
        let settings = Settings::default();
        for mode in ALL {
            let pod_cidr = mode.pod_cidr.map(|_| range);
            let allocator = (mode.build)(&Build { pod_cidr, settings: &settings });
            assert_eq!(allocator.name(), mode.name);
        }
    }
}
