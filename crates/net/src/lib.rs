//! Address ranges for podip: VNet subnets with Azure's reserved addresses, kubenet
//! and overlay pod CIDRs, and the bitmap pools that hand out their units.
//!
//! A range hands out units of one size, fixed when it is built: single addresses
//! (node subnets, dynamic pod subnets) or aligned prefixes of any length (/28
//! static blocks, /24 pod CIDR ranges, /26 Calico blocks). An address range can
//! also hand out aligned blocks of its addresses (AWS /28 prefixes beside
//! secondary IPs). Each cloud reserves its own addresses per subnet
//! ([`SubnetRules`]). Counts are reported in addresses.

mod index_pool;
mod range;

pub use index_pool::IndexPool;
pub use ipnet::Ipv4Net;
pub use range::{AddressRange, AddressSpace, Granularity, RangeError, RangeId, RangeKind, SubnetRules};

/// Addresses Azure reserves in every VNet subnet: the network address, `.1`
/// (gateway), `.2` and `.3` (Azure DNS) and the last (broadcast).
pub const AZURE_RESERVED_PER_SUBNET: u64 = 5;

/// The smallest VNet subnet Azure allows.
pub const SMALLEST_SUBNET_PREFIX: u8 = 29;

/// Addresses in a prefix of length `prefix_len`.
pub fn size_of_prefix(prefix_len: u8) -> u64 {
    1u64 << (32 - u32::from(prefix_len.min(32)))
}

/// Addresses a VNet subnet can hand out: its size less Azure's 5 reserved.
pub fn usable_in_subnet(prefix_len: u8) -> u64 {
    size_of_prefix(prefix_len).saturating_sub(AZURE_RESERVED_PER_SUBNET)
}
