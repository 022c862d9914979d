//! The registry: every networking mode podip knows, in the order help and
//! docs list them. Each entry is the mode crate's own descriptor
//! ([`allocator::Mode`]); nothing here knows what a mode does.
//!
//! Adding a mode: write its crate (one `pub static MODE: Mode` and its
//! allocator) and add one line to [`ALL`].

use allocator::Mode;

/// Every mode, in the order scenarios' docs and the CLI's help list them.
pub static ALL: [&Mode; 5] = [&node_subnet::MODE, &dynamic::MODE, &static_block::MODE, &kubenet::MODE, &overlay::MODE];

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

#[cfg(test)]
mod tests {
    use super::*;
    use allocator::{Build, Settings};
    use net::AddressSpace;

    #[test]
    fn names_are_unique_and_found() {
        for (i, mode) in ALL.iter().enumerate() {
            assert!(ALL[..i].iter().all(|earlier| earlier.name != mode.name), "{} twice", mode.name);
            assert_eq!(find(mode.name), Some(*mode));
        }
        assert_eq!(find("calico"), None);
        assert_eq!(names(), "node-subnet, dynamic, static-block, kubenet, overlay");
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
