//! A property-test driver every allocator crate runs: random sequences of node
//! creations and deletions, pod binds and unbinds and reconciles, checking the
//! address-space invariants after every step.
//!
//! Invariants: in every range allocated ≤ usable, free = usable − allocated and
//! in_use ≤ allocated; a pod counted as started never outnumbers the node's
//! pods; and deleting every node returns every address. An address handed out
//! twice is caught by the pools themselves (a double return panics).

use proptest::prelude::*;

use crate::{AddressSpace, Allocator, NodeId, NodeSpec, Update};

/// One step of a random run; indices pick among live nodes modulo their count.
#[derive(Debug, Clone)]
pub enum Op {
    Create,
    Delete(usize),
    Bind(usize),
    Unbind(usize, bool),
    Reconcile(usize),
}

pub fn ops(max_len: usize) -> impl Strategy<Value = Vec<Op>> {
    let op = prop_oneof![
        2 => Just(Op::Create),
        1 => any::<usize>().prop_map(Op::Delete),
        8 => any::<usize>().prop_map(Op::Bind),
        5 => (any::<usize>(), any::<bool>()).prop_map(|(n, ip)| Op::Unbind(n, ip)),
        1 => any::<usize>().prop_map(Op::Reconcile),
    ];
    prop::collection::vec(op, 0..max_len)
}

#[derive(Debug)]
struct Live {
    id: NodeId,
    started: u32,
    waiting: u32,
}

/// Run `ops` against `allocator` with nodes built from `spec`, checking the
/// invariants after every step. Returns a description of the first violation.
pub fn check_run(
    allocator: &mut dyn Allocator,
    space: &mut AddressSpace,
    spec: NodeSpec,
    ops: &[Op],
) -> Result<(), String> {
    let mut live: Vec<Live> = Vec::new();
    let mut next_id = 0u32;
    let apply = |node: &mut Live, update: Update| -> Result<(), String> {
        if update.started > node.waiting {
            return Err(format!(
                "{:?} started {} pods but only {} were waiting",
                node.id, update.started, node.waiting
            ));
        }
        node.waiting -= update.started;
        node.started += update.started;
        Ok(())
    };
    for op in ops {
        match *op {
            Op::Create => {
                let id = NodeId(next_id);
                next_id += 1;
                if allocator.create_node(id, &spec, space).is_ok() {
                    let mut node = Live { id, started: 0, waiting: 0 };
                    let update = allocator.reconcile(id, space);
                    apply(&mut node, update)?;
                    live.push(node);
                }
            }
            Op::Delete(i) if !live.is_empty() => {
                let node = live.remove(i % live.len());
                allocator.delete_node(node.id, space);
            }
            Op::Bind(i) if !live.is_empty() => {
                let n = i % live.len();
                let node = &mut live[n];
                if allocator.accepts_pods(node.id) && node.started + node.waiting < spec.max_pods {
                    node.waiting += 1;
                    let update = allocator.pod_bound(node.id, space);
                    apply(node, update)?;
                }
            }
            Op::Unbind(i, with_ip) if !live.is_empty() => {
                let n = i % live.len();
                let node = &mut live[n];
                let had_ip = if with_ip && node.started > 0 {
                    node.started -= 1;
                    true
                } else if node.waiting > 0 {
                    node.waiting -= 1;
                    false
                } else if node.started > 0 {
                    node.started -= 1;
                    true
                } else {
                    continue;
                };
                let update = allocator.pod_unbound(node.id, had_ip, space);
                apply(node, update)?;
            }
            Op::Reconcile(i) if !live.is_empty() => {
                let n = i % live.len();
                let update = allocator.reconcile(live[n].id, space);
                apply(&mut live[n], update)?;
            }
            _ => {}
        }
        check_space(space)?;
        check_held(allocator, space, live.iter().map(|n| n.id))?;
    }
    for node in live.drain(..) {
        allocator.delete_node(node.id, space);
    }
    for (_, range) in space.iter() {
        if range.allocated() != 0 || range.in_use() != 0 {
            return Err(format!(
                "{} still holds {} allocated, {} in use after every node was deleted",
                range.name(),
                range.allocated(),
                range.in_use()
            ));
        }
    }
    Ok(())
}

/// The per-range count invariants.
/// What the live nodes say they hold, and what the mode retains for nodes
/// already deleted, adds up to each range's `allocated` (`Allocator::held_in`
/// and `retained`, which `podip plan`'s breakdowns rest on).
pub fn check_held(
    allocator: &dyn Allocator,
    space: &AddressSpace,
    live: impl Iterator<Item = NodeId> + Clone,
) -> Result<(), String> {
    for (id, range) in space.iter() {
        let held: u64 = live.clone().map(|node| allocator.held_in(node, id)).sum::<u64>() + allocator.retained(id);
        if held != range.allocated() {
            return Err(format!("{}: nodes hold {held} but {} are allocated", range.name(), range.allocated()));
        }
    }
    Ok(())
}

pub fn check_space(space: &AddressSpace) -> Result<(), String> {
    for (_, range) in space.iter() {
        if range.allocated() > range.usable() {
            return Err(format!("{}: allocated {} > usable {}", range.name(), range.allocated(), range.usable()));
        }
        if range.free() != range.usable() - range.allocated() {
            return Err(format!("{}: free is not usable − allocated", range.name()));
        }
        if range.in_use() > range.allocated() {
            return Err(format!("{}: in_use {} > allocated {}", range.name(), range.in_use(), range.allocated()));
        }
    }
    Ok(())
}
