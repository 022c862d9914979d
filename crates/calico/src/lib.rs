//! `calico`: Calico IPAM (`../shared/research/other-clouds.md` §4).
//!
//! The IP pool is the cluster's `pod_cidr`, cut into aligned blocks of
//! `block_size` (default /26). A pod takes an address from its node's affine
//! blocks, in claim order, first with room; else the node claims a new block
//! (the first free one from a start seeded by the node, so each node walks the
//! pool in its own fixed order); else, unless `strict_affinity`, it borrows an
//! address from any claimed block, in the same order. At `max_blocks_per_host`
//! affine blocks a claim fails at once, without borrowing.
//!
//! Blocks stay claimed (and count as allocated) after they empty: the
//! controller releases an empty block only when its node has at least two and
//! it stayed empty for `release_after_s` (15 min), and a deleted node's blocks
//! once they hold no address (a borrower's pods may keep one claimed).
//!
//! A pod that gets no address waits; the mode is timed so that a freed
//! address, or a released block, wakes the oldest waiting node at once.
//! **Assumption:** podip does not track which pod holds which address, so a
//! departing pod frees an address of the node's borrowed blocks first, then of
//! its newest affine block with one.

use std::collections::BTreeSet;

use allocator::{
    AddressSpace, Allocator, Build, Failure, FailureKind, Finding, Granularity, InUse, MaxPods, Mode, NodeId, NodeSpec,
    NodeTable, RangeId, Request, Role, SettingSpec, Settings, Update, Wake, return_node_ip, take_node_ip,
};

/// Strict affinity, and the node can claim no block.
pub const NO_FREE_AFFINE_BLOCKS: FailureKind = FailureKind::sized("no-free-affine-blocks");
/// The node has `max_blocks_per_host` blocks: no size fixes it.
pub const BLOCK_LIMIT_REACHED: FailureKind = FailureKind::limit("block-limit-reached");
/// No block to claim and nothing left to borrow.
pub const IP_POOL_EXHAUSTED: FailureKind = FailureKind::sized("ip-pool-exhausted");

/// The mode, for the registry.
pub static MODE: Mode = Mode {
    cloud_name: "Calico IPAM (self-managed)",
    summary: "pods take addresses from blocks of the IP pool (pod_cidr) affine to their node, claimed as needed; \
              borrowed from other nodes' blocks unless strict",
    max_pods: MaxPods { default: 110, min: 10, max: 250 },
    pod_cidr: Some(Granularity::ADDRESS),
    failures: &[NO_FREE_AFFINE_BLOCKS, BLOCK_LIMIT_REACHED, IP_POOL_EXHAUSTED],
    in_use: |running| InUse { range: Role::PodCidr, min: running, max: running },
    settings_key: Some("calico"),
    settings: &[
        SettingSpec { key: "block_size", default: "26", help: "prefix length of the IPAM blocks (20 to 32)" },
        SettingSpec { key: "strict_affinity", default: "false", help: "never borrow from other nodes' blocks" },
        SettingSpec { key: "max_blocks_per_host", default: "20", help: "affine blocks a node may claim (0: 20)" },
        SettingSpec { key: "release_after_s", default: "900", help: "seconds an empty block stays affine" },
    ],
    check_settings,
    holding: |each| (each > 1).then(|| format!("{} addresses of claimed blocks", each)),
    ..Mode::base("calico", build)
};

/// The settings, read and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    pub block_size: u8,
    pub strict_affinity: bool,
    pub max_blocks_per_host: u32,
    pub release_after_ms: u64,
}

impl Default for Config {
    /// Calico's defaults.
    fn default() -> Self {
        Config { block_size: 26, strict_affinity: false, max_blocks_per_host: 20, release_after_ms: 900_000 }
    }
}

impl Config {
    pub fn from_settings(s: &Settings) -> Result<Config, Finding> {
        let d = Config::default();
        let max_blocks = s.int("max_blocks_per_host", i64::from(d.max_blocks_per_host), 0..=1_000_000)? as u32;
        Ok(Config {
            block_size: s.int("block_size", i64::from(d.block_size), 20..=32)? as u8,
            strict_affinity: s.bool("strict_affinity", d.strict_affinity)?,
            // Calico: 0 means the default, 20.
            max_blocks_per_host: if max_blocks == 0 { 20 } else { max_blocks },
            release_after_ms: s.int("release_after_s", 900, 0..=86_400)? as u64 * 1000,
        })
    }

    /// Addresses in a block.
    pub fn block_addresses(self) -> u32 {
        1 << (32 - self.block_size)
    }
}

fn check_settings(settings: &Settings) -> Vec<Finding> {
    Config::from_settings(settings).err().into_iter().collect()
}

fn build(build: &Build<'_>) -> Box<dyn Allocator> {
    let config = Config::from_settings(build.settings).expect("checked by check_settings");
    let pool = build.pod_cidr.expect("the model builds a pod CIDR range for a pod_cidr mode");
    Box::new(Calico::new(pool, config))
}

/// FNV-1a, 32 bits: Calico seeds each host's walk of the pool with FNV-32 of
/// its name; podip's allocators see node ids, so it hashes the id's bytes.
fn fnv32(node: NodeId) -> u32 {
    node.0.to_le_bytes().iter().fold(0x811c_9dc5u32, |h, &b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193))
}

/// A claimed block.
#[derive(Debug, Clone)]
struct Block {
    /// Its first address unit in the pool.
    start: u32,
    /// The node it is affine to; `None` once that node is gone.
    affine: Option<NodeId>,
    /// Addresses assigned to the affine node's pods, and to other nodes' (borrowed).
    own: u32,
    borrowed: u32,
    /// When it last became empty (for release), if it is.
    empty_since: Option<u64>,
}

impl Block {
    fn assigned(&self) -> u32 {
        self.own + self.borrowed
    }
}

#[derive(Debug, Default)]
struct Node {
    node_subnet: Option<RangeId>,
    node_ip: u32,
    /// Affine blocks (ids into `blocks`), in claim order.
    affine: Vec<usize>,
    /// Blocks of other nodes it borrows from, with how many addresses.
    borrowed: Vec<(usize, u32)>,
    /// Pods bound to it that need an address, and those that have one.
    demand: u32,
    started: u32,
}

/// The `calico` allocator for the nodes of one cluster.
#[derive(Debug)]
pub struct Calico {
    pool: RangeId,
    config: Config,
    nodes: NodeTable<Node>,
    /// Claimed blocks, by id; a released block's slot is reused.
    blocks: Vec<Option<Block>>,
    free_ids: Vec<usize>,
    /// Nodes with pods waiting for an address, woken when one may have appeared.
    waiting: BTreeSet<NodeId>,
    now_ms: u64,
    wakes: Vec<Wake>,
}

impl Calico {
    pub fn new(pool: RangeId, config: Config) -> Self {
        Calico {
            pool,
            config,
            nodes: NodeTable::default(),
            blocks: Vec::new(),
            free_ids: Vec::new(),
            waiting: BTreeSet::new(),
            now_ms: 0,
            wakes: Vec::new(),
        }
    }

    fn block(&self, id: usize) -> &Block {
        self.blocks[id].as_ref().expect("a live block id")
    }

    fn block_mut(&mut self, id: usize) -> &mut Block {
        self.blocks[id].as_mut().expect("a live block id")
    }

    /// Blocks claimed by `node`, for tests and reports.
    pub fn blocks_of(&self, node: NodeId) -> usize {
        self.nodes.get(node).affine.len()
    }

    /// Blocks claimed in all (affine or orphaned).
    pub fn claimed_blocks(&self) -> usize {
        self.blocks.iter().flatten().count()
    }

    /// Assign one address to a pod of `node`, Calico's AutoAssign order.
    fn assign(&mut self, node: NodeId, space: &mut AddressSpace) -> Result<(), Failure> {
        let size = self.config.block_addresses();
        // (1) Its affine blocks, in claim order.
        let affine = self.nodes.get(node).affine.clone();
        if let Some(&id) = affine.iter().find(|&&id| self.block(id).assigned() < size) {
            let b = self.block_mut(id);
            b.own += 1;
            b.empty_since = None;
            space[self.pool].bind(1);
            return Ok(());
        }
        let failure = |kind, available| Failure { kind, range: Some(self.pool), wanted: 1, available };
        // At the cap a claim fails at once, with no borrowing.
        if affine.len() as u32 >= self.config.max_blocks_per_host {
            return Err(failure(BLOCK_LIMIT_REACHED, 0));
        }
        // (2) Claim a new block, walking the pool from the node's seeded start.
        let range = &mut space[self.pool];
        let blocks_in_pool = (range.units_capacity() / size).max(1);
        let from = fnv32(node) % blocks_in_pool * size;
        if let Some(start) = range.take_aligned_from(size, from) {
            range.bind(1);
            let block = Block { start, affine: Some(node), own: 1, borrowed: 0, empty_since: None };
            let id = match self.free_ids.pop() {
                Some(id) => {
                    self.blocks[id] = Some(block);
                    id
                }
                None => {
                    self.blocks.push(Some(block));
                    self.blocks.len() - 1
                }
            };
            self.nodes.get_mut(node).affine.push(id);
            // With a second block, the node's empty ones become releasable.
            if self.nodes.get(node).affine.len() == 2 {
                let first = self.nodes.get(node).affine[0];
                if let Some(since) = self.block(first).empty_since {
                    let due = (since + self.config.release_after_ms).saturating_sub(self.now_ms);
                    self.wakes.push(Wake { node, after_ms: due });
                }
            }
            return Ok(());
        }
        if self.config.strict_affinity {
            return Err(failure(NO_FREE_AFFINE_BLOCKS, 0));
        }
        // (3) Borrow from any claimed block, in the node's order (by block start from its seed).
        let lender = self
            .blocks
            .iter()
            .enumerate()
            .filter_map(|(id, b)| b.as_ref().map(|b| (id, b)))
            .filter(|(_, b)| b.assigned() < size && b.affine != Some(node))
            .min_by_key(|(_, b)| (b.start.wrapping_sub(from), b.start))
            .map(|(id, _)| id);
        let Some(id) = lender else { return Err(failure(IP_POOL_EXHAUSTED, 0)) };
        let b = self.block_mut(id);
        b.borrowed += 1;
        b.empty_since = None;
        space[self.pool].bind(1);
        let n = self.nodes.get_mut(node);
        match n.borrowed.iter_mut().find(|(b, _)| *b == id) {
            Some((_, count)) => *count += 1,
            None => n.borrowed.push((id, 1)),
        }
        Ok(())
    }

    /// Free one address of a pod of `node`: a borrowed one first, then one of
    /// its newest affine block holding one (the module's assumption).
    fn unassign(&mut self, node: NodeId, space: &mut AddressSpace) {
        space[self.pool].unbind(1);
        let n = self.nodes.get_mut(node);
        if let Some(last) = n.borrowed.last_mut() {
            let id = last.0;
            last.1 -= 1;
            if last.1 == 0 {
                n.borrowed.pop();
            }
            self.block_mut(id).borrowed -= 1;
            self.emptied(id, space);
        } else {
            let id = *n
                .affine
                .iter()
                .rev()
                .find(|&&id| self.blocks[id].as_ref().is_some_and(|b| b.own > 0))
                .expect("a node with a started pod holds an address");
            self.block_mut(id).own -= 1;
            self.emptied(id, space);
        }
        self.wake_a_waiting_node();
    }

    /// A block may have emptied: an orphan goes back to the pool at once; an
    /// affine one starts its wait for release (its node then gets a wake).
    fn emptied(&mut self, id: usize, space: &mut AddressSpace) {
        let (empty, affine) = {
            let b = self.block(id);
            (b.assigned() == 0, b.affine)
        };
        if !empty {
            return;
        }
        match affine {
            None => self.release(id, space),
            Some(node) => {
                let now = self.now_ms;
                self.block_mut(id).empty_since = Some(now);
                if self.nodes.get(node).affine.len() >= 2 {
                    self.wakes.push(Wake { node, after_ms: self.config.release_after_ms });
                }
            }
        }
    }

    /// Give a block back to the pool.
    fn release(&mut self, id: usize, space: &mut AddressSpace) {
        let b = self.blocks[id].take().expect("a live block id");
        space[self.pool].give_back_aligned(b.start, self.config.block_addresses());
        self.free_ids.push(id);
        self.wake_a_waiting_node();
    }

    /// The controller's pass for `node`: release its blocks empty for the
    /// grace period, oldest claim first, while it keeps at least one.
    fn release_idle(&mut self, node: NodeId, space: &mut AddressSpace) {
        let due = self.now_ms.saturating_sub(self.config.release_after_ms);
        loop {
            let affine = &self.nodes.get(node).affine;
            if affine.len() < 2 {
                return;
            }
            let idle = affine.iter().position(|&id| self.block(id).empty_since.is_some_and(|t| t <= due));
            let Some(i) = idle else { return };
            let id = self.nodes.get_mut(node).affine.remove(i);
            self.release(id, space);
        }
    }

    fn wake_a_waiting_node(&mut self) {
        if let Some(&node) = self.waiting.first() {
            self.wakes.push(Wake { node, after_ms: 0 });
        }
    }

    /// Start as many of the node's waiting pods as get an address.
    fn settle(&mut self, node: NodeId, space: &mut AddressSpace) -> Update {
        let mut started = 0;
        let mut request = Request::None;
        while self.nodes.get(node).started < self.nodes.get(node).demand {
            match self.assign(node, space) {
                Ok(()) => {
                    self.nodes.get_mut(node).started += 1;
                    started += 1;
                    request = Request::Granted;
                }
                Err(failure) => {
                    request = Request::Failed(failure);
                    break;
                }
            }
        }
        let n = self.nodes.get(node);
        let short = n.started < n.demand;
        if short {
            self.waiting.insert(node);
        } else {
            self.waiting.remove(&node);
        }
        Update { started, request, short }
    }
}

impl Allocator for Calico {
    fn name(&self) -> &'static str {
        MODE.name
    }

    /// A node takes only its node IP; its blocks come with its pods.
    fn create_node(&mut self, node: NodeId, spec: &NodeSpec, space: &mut AddressSpace) -> Result<(), Failure> {
        let node_ip = take_node_ip(spec, space)?;
        self.nodes.insert(node, Node { node_subnet: Some(spec.node_subnet), node_ip, ..Node::default() });
        Ok(())
    }

    /// Its pods' addresses go back; its empty blocks are released, the others
    /// stay claimed for their borrowers (orphaned) until they empty.
    fn delete_node(&mut self, node: NodeId, space: &mut AddressSpace) {
        let n = self.nodes.remove(node);
        self.waiting.remove(&node);
        space[self.pool].unbind(u64::from(n.started));
        for (id, count) in n.borrowed {
            self.block_mut(id).borrowed -= count;
            self.emptied(id, space);
        }
        for id in n.affine {
            let b = self.block_mut(id);
            b.own = 0;
            b.affine = None;
            if b.borrowed == 0 {
                self.release(id, space);
            }
        }
        if let Some(subnet) = n.node_subnet {
            return_node_ip(subnet, n.node_ip, space);
        }
    }

    fn held_in(&self, node: NodeId, range: RangeId) -> u64 {
        let n = self.nodes.get(node);
        let blocks =
            if range == self.pool { n.affine.len() as u64 * u64::from(self.config.block_addresses()) } else { 0 };
        u64::from(n.node_subnet == Some(range)) + blocks
    }

    /// Orphaned blocks: claimed for borrowers after their node was deleted.
    fn retained(&self, range: RangeId) -> u64 {
        if range != self.pool {
            return 0;
        }
        let orphans = self.blocks.iter().flatten().filter(|b| b.affine.is_none()).count() as u64;
        orphans * u64::from(self.config.block_addresses())
    }

    fn claim_unit(&self, range: RangeId) -> Option<u64> {
        (range == self.pool).then(|| u64::from(self.config.block_addresses()))
    }

    fn accepts_pods(&self, _node: NodeId) -> bool {
        true
    }

    fn may_refuse_pods(&self) -> bool {
        false
    }

    fn timed(&self) -> bool {
        true
    }

    fn set_now(&mut self, now_ms: u64) {
        self.now_ms = now_ms;
    }

    fn take_wakes(&mut self, into: &mut Vec<Wake>) {
        into.append(&mut self.wakes);
    }

    /// A block's grace period ended, or an address may have come free.
    fn wake(&mut self, node: NodeId, space: &mut AddressSpace) -> Update {
        if !self.nodes.contains(node) {
            return Update::default();
        }
        self.release_idle(node, space);
        self.settle(node, space)
    }

    fn reconcile(&mut self, node: NodeId, space: &mut AddressSpace) -> Update {
        self.settle(node, space)
    }

    fn pod_bound(&mut self, node: NodeId, space: &mut AddressSpace) -> Update {
        self.nodes.get_mut(node).demand += 1;
        self.settle(node, space)
    }

    fn pod_unbound(&mut self, node: NodeId, had_ip: bool, space: &mut AddressSpace) -> Update {
        let n = self.nodes.get_mut(node);
        n.demand -= 1;
        if had_ip {
            n.started -= 1;
            self.unassign(node, space);
        }
        self.settle(node, space)
    }
}

#[cfg(test)]
mod tests;
