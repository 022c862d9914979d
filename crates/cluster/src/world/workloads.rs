//! Workloads: deployments (scaling, rollouts), daemonsets and churn arrivals,
//! and the lifetime draws.

use super::*;

impl World<'_> {
    pub(super) fn start_workload(&mut self, w: usize) {
        match &self.workloads[w].kind {
            WorkloadKind::Deployment { replicas, .. } => {
                for _ in 0..*replicas {
                    let pod = self.new_pod(w, false, 0, None);
                    self.place(pod);
                }
            }
            WorkloadKind::DaemonSet { host_network } => {
                let host_network = *host_network;
                let cluster = self.workloads[w].cluster;
                let restrict = self.workloads[w].pool;
                let nodes: Vec<NodeId> = self.clusters[cluster]
                    .pools
                    .iter()
                    .filter(|&&p| restrict.is_none_or(|r| r == p))
                    .flat_map(|&p| self.pools[p].nodes.iter().copied())
                    .filter(|n| self.nodes[n.index()].phase == Phase::Ready)
                    .collect();
                for node in nodes {
                    self.daemon_pod(w, node, host_network);
                }
            }
            WorkloadKind::Churn(_) => self.start_churn(w),
        }
    }

    /// Draw the first gap, then the first arrival's draws, and schedule it.
    pub(super) fn start_churn(&mut self, w: usize) {
        let WorkloadKind::Churn(churn) = &mut self.workloads[w].kind else { return };
        if churn.start <= churn.end {
            let first = after(churn.start, churn_gap(churn));
            churn.ahead = churn_draws(churn);
            if let Some(first) = first.filter(|&t| t <= churn.end) {
                self.sim.schedule(first, Event::ChurnArrival(w as u32));
            }
        }
    }

    pub(super) fn daemon_pod(&mut self, w: usize, node: NodeId, host_network: bool) {
        let n = &self.nodes[node.index()];
        if n.pods().len() as u32 >= n.max_pods {
            return;
        }
        let pod = self.new_pod(w, host_network, 0, None);
        self.bind(pod, node);
    }

    pub(super) fn churn_arrival(&mut self, w: usize) {
        let WorkloadKind::Churn(churn) = &mut self.workloads[w].kind else { return };
        let ChurnDraws { lifetime_ms, gap } = churn.ahead;
        churn.ahead = churn_draws(churn);
        let end = churn.end;
        let pod = self.new_pod(w, false, 0, Some(lifetime_ms));
        self.place(pod);
        if let Some(next) = after(self.now(), gap).filter(|&t| t <= end) {
            self.sim.schedule(next, Event::ChurnArrival(w as u32));
        }
    }

    pub(super) fn scale_deployment(&mut self, w: usize, replicas: u32) {
        let WorkloadKind::Deployment { replicas: current, revision, rolling } = &mut self.workloads[w].kind else {
            return;
        };
        *current = replicas;
        let (revision, rolling) = (*revision, *rolling);
        if rolling {
            // Scaled down mid-rollout: the new revision keeps at most `replicas`
            // pods (its surplus goes, not-running first); the rollout then
            // retires the old pods as availability allows.
            let new = self.workloads[w].pods.iter().filter(|p| self.pods[p.0 as usize].revision == revision).count();
            if let Some(surplus) = (new as u32).checked_sub(replicas).filter(|&n| n > 0) {
                self.remove_replicas(w, surplus, move |p| p.revision == revision);
            }
            self.rollouts_due.push(w);
            return;
        }
        let have = self.workloads[w].pods.len() as u32;
        if replicas > have {
            for _ in have..replicas {
                let pod = self.new_pod(w, false, revision, None);
                self.place(pod);
            }
        } else if replicas < have {
            self.remove_replicas(w, have - replicas, |_| true);
        }
    }

    /// Delete `count` of a deployment's pods as the ReplicaSet controller ranks
    /// them: not yet running first (newest first), then pods on the nodes that
    /// hold the most of its replicas, newest first, one at a time.
    pub(super) fn remove_replicas(&mut self, w: usize, mut count: u32, which: impl Fn(&Pod) -> bool) {
        let mut not_running: Vec<PodId> = Vec::new();
        let mut by_node: BTreeMap<NodeId, Vec<PodId>> = BTreeMap::new();
        for &pod in &self.workloads[w].pods {
            let p = &self.pods[pod.0 as usize];
            if !which(p) {
                continue;
            }
            match (p.state, p.node()) {
                (PodState::Running, Some(node)) => by_node.entry(node).or_default().push(pod),
                _ => not_running.push(pod),
            }
        }
        not_running.sort_by_key(|p| std::cmp::Reverse(self.pods[p.0 as usize].created));
        for pod in not_running {
            if count == 0 {
                return;
            }
            self.delete_pod(pod);
            count -= 1;
        }
        let created = |pods: &Vec<Pod>, id: PodId| pods[id.0 as usize].created;
        let mut ranked: BTreeSet<(usize, u64, NodeId)> = BTreeSet::new();
        for (&node, list) in by_node.iter_mut() {
            list.sort_by_key(|&p| created(&self.pods, p));
            ranked.insert((list.len(), created(&self.pods, *list.last().expect("non-empty")), node));
        }
        while count > 0 {
            let Some((_, _, node)) = ranked.pop_last() else { return };
            let list = by_node.get_mut(&node).expect("ranked nodes have pods");
            let pod = list.pop().expect("non-empty");
            if let Some(&newest) = list.last() {
                ranked.insert((list.len(), created(&self.pods, newest), node));
            }
            self.delete_pod(pod);
            count -= 1;
        }
    }

    /// One pass of a deployment's rolling update (maxSurge 25 % rounded up,
    /// maxUnavailable 25 % rounded down): add new pods up to the surge, remove
    /// old pods not running, then old running pods while enough stay available.
    /// It runs again whenever one of the deployment's pods starts.
    pub(super) fn rollout_progress(&mut self, w: usize) {
        let WorkloadKind::Deployment { replicas, revision, rolling: true } = self.workloads[w].kind else { return };
        let surge = (u64::from(replicas) * 25).div_ceil(100) as u32;
        let unavailable = (u64::from(replicas) * 25 / 100) as u32;
        let surge = if surge == 0 && unavailable == 0 { 1 } else { surge };
        let min_available = replicas - unavailable;
        let count = |world: &Self| {
            let (mut old, mut old_running, mut new, mut new_running) = (0u32, 0u32, 0u32, 0u32);
            for &pod in &world.workloads[w].pods {
                let p = &world.pods[pod.0 as usize];
                let running = p.state == PodState::Running;
                if p.revision == revision {
                    new += 1;
                    new_running += u32::from(running);
                } else {
                    old += 1;
                    old_running += u32::from(running);
                }
            }
            (old, old_running, new, new_running)
        };
        let (old, _, new, _) = count(self);
        for _ in 0..replicas.saturating_sub(new).min((replicas + surge).saturating_sub(old + new)) {
            let pod = self.new_pod(w, false, revision, None);
            self.place(pod);
        }
        let (_, old_running, _, _) = count(self);
        let not_running_old = old - old_running.min(old);
        if not_running_old > 0 {
            self.remove_replicas(w, not_running_old, move |p| p.revision != revision && p.state != PodState::Running);
        }
        let (old, old_running, new, new_running) = count(self);
        let available = old_running + new_running;
        let removable = available.saturating_sub(min_available).min(old_running);
        if removable > 0 {
            self.remove_replicas(w, removable, move |p| p.revision != revision);
            self.rollouts_due.push(w);
        }
        let (old, new) = if removable > 0 { (old - removable, new) } else { (old, new) };
        if old == 0 && new >= replicas {
            if let WorkloadKind::Deployment { rolling, .. } = &mut self.workloads[w].kind {
                *rolling = false;
            }
            if new > replicas {
                self.remove_replicas(w, new - replicas, |_| true);
            }
        }
    }
}

/// `now + delay`, or `None` past the last millisecond `SimTime` holds: such a
/// time never comes. (Saturating instead would make a recurring event — churn
/// arrivals, autoscaler scans — recur at that last millisecond forever.)
pub(super) fn after(now: SimTime, delay: SimTime) -> Option<SimTime> {
    now.as_millis().checked_add(delay.as_millis()).map(SimTime::from_millis)
}

/// Milliseconds from a non-negative float, rounded half away from zero like
/// `f64::round`, saturating.
#[inline]
fn millis(ms: f64) -> u64 {
    // Below 2^52 the integer part converts exactly and `ms - whole` is exact, so
    // this is `ms.round()` without the libm call (x86-64's baseline has no
    // rounding instruction), on every churn draw. Through i64 because x86-64's
    // baseline converts signed integers in one instruction and unsigned ones in
    // a dozen; below 2^52 both give the same number.
    if ms > 0.0 && ms < 4_503_599_627_370_496.0 {
        let whole = ms as i64;
        (whole + i64::from(ms - whole as f64 >= 0.5)) as u64
    } else if ms.is_finite() && ms > 0.0 {
        ms.round().min(u64::MAX as f64) as u64
    } else if ms > 0.0 {
        u64::MAX
    } else {
        0
    }
}

/// A Poisson process's gap to the next arrival.
#[inline(always)]
fn churn_gap(churn: &mut Churn) -> SimTime {
    let gap = standard_exponential(&mut churn.rng) / churn.rate_per_ms;
    SimTime::from_millis(millis(gap))
}

/// One arrival's draws, in the stream's order: the lifetime, then the gap.
#[inline(always)]
fn churn_draws(churn: &mut Churn) -> ChurnDraws {
    let lifetime_ms = sample_lifetime(&churn.lifetime, &mut churn.rng);
    ChurnDraws { lifetime_ms, gap: churn_gap(churn) }
}

/// Draw a churn pod's lifetime in milliseconds.
fn sample_lifetime(lifetime: &scenario::Lifetime, rng: &mut rand_chacha::ChaCha8Rng) -> u64 {
    use scenario::Lifetime;
    let secs = |s: u64| s as f64 * 1000.0;
    match *lifetime {
        Lifetime::Fixed(d) => millis(secs(d)),
        Lifetime::Exponential(mean) => millis(standard_exponential(rng) * secs(mean)),
        Lifetime::Uniform(lo, hi) => {
            let u: f64 = rng.random();
            millis(secs(lo) + u * (secs(hi) - secs(lo)))
        }
        Lifetime::LogNormal { median, sigma } => {
            // Box–Muller: one standard normal from two uniforms.
            let u1: f64 = rng.random();
            let u2: f64 = rng.random();
            let z = (-2.0 * libm::log(1.0 - u1)).sqrt() * libm::cos(std::f64::consts::TAU * u2);
            millis(secs(median) * libm::exp(sigma * z))
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{millis, sample_lifetime};

    /// The exponential draws (lifetimes here; the gaps are the same draw scaled
    /// by the rate) have the right mean and tail: P(X > k·mean) = e^-k.
    #[test]
    fn exponential_lifetimes_have_their_mean_and_tail() {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mean_ms = 600_000.0;
        let n = 400_000;
        let draws: Vec<u64> =
            (0..n).map(|_| sample_lifetime(&scenario::Lifetime::Exponential(600), &mut rng)).collect();
        let mean = draws.iter().sum::<u64>() as f64 / n as f64;
        assert!((mean / mean_ms - 1.0).abs() < 0.01, "mean {mean} ms");
        for k in [0.1f64, 1.0, 3.0, 7.0] {
            let above = draws.iter().filter(|&&d| d as f64 > k * mean_ms).count() as f64 / n as f64;
            let expected = libm::exp(-k);
            // Four binomial standard deviations.
            let sd = (expected * (1.0 - expected) / n as f64).sqrt();
            assert!((above - expected).abs() < 4.0 * sd, "P(X > {k} mean) = {above}, expected {expected}");
        }
    }

    /// What `millis` must stay equal to: the rounding the outputs were made with.
    fn reference(ms: f64) -> u64 {
        if ms.is_finite() && ms > 0.0 {
            ms.round().min(u64::MAX as f64) as u64
        } else if ms > 0.0 {
            u64::MAX
        } else {
            0
        }
    }

    #[test]
    fn millis_rounds_half_away_from_zero_and_saturates() {
        let halfway_below = 0.49999999999999994;
        for ms in [
            0.0,
            -0.0,
            -1.5,
            0.5,
            halfway_below,
            1.5,
            2.5,
            2.4999999999999996,
            1e15 + 0.5,
            4_503_599_627_370_495.5,
            4_503_599_627_370_496.0,
            9.3e18,
            1.9e19,
            1e300,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            f64::MIN_POSITIVE,
            5e-324,
        ] {
            assert_eq!(millis(ms), reference(ms), "{ms}");
        }
        assert_eq!((millis(0.5), millis(halfway_below), millis(2.5)), (1, 0, 3));
    }

    proptest! {
        #[test]
        fn millis_matches_f64_round(bits in any::<u64>(), small in 0.0f64..1e7) {
            let any = f64::from_bits(bits);
            prop_assert_eq!(millis(any), reference(any));
            prop_assert_eq!(millis(small), reference(small));
        }
    }
}
