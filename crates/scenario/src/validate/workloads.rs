//! Workloads: deployments, daemonsets, churn and its lifetimes.

use super::*;

impl Validator {
    pub(super) fn workloads<'a>(&mut self, raw: &'a [RawWorkload], known: &mut Known<'a>) -> Vec<Workload> {
        let root = FieldPath::root().key("workloads");
        let mut out = Vec::new();
        for (i, w) in raw.iter().enumerate() {
            let p = root.index(i);
            self.unique_name(&mut known.workloads, ("workloads", i), &p, "workload", &w.name);
            match known.clusters.get(w.cluster.as_str()) {
                None => self.err(
                    &p.key("cluster"),
                    format!("unknown cluster `{}`; known clusters: {}", w.cluster, known.cluster_list),
                ),
                Some(&ci) => {
                    let pools = &known.pools[ci];
                    if let Some(pool) = &w.pool
                        && !pools.contains(pool.as_str())
                    {
                        self.err(
                            &p.key("pool"),
                            format!(
                                "unknown pool `{pool}` in cluster `{}`; known pools: {}",
                                w.cluster,
                                list(pools.iter().copied())
                            ),
                        );
                    }
                }
            }
            let kind = self.workload_kind(w, &p);
            let cluster_id = ClusterId(known.clusters.get(w.cluster.as_str()).map_or(u32::MAX, |&i| i as u32));
            out.push(Workload {
                name: w.name.clone(),
                cluster: w.cluster.clone(),
                cluster_id,
                pool: w.pool.clone(),
                kind,
            });
        }
        out
    }

    pub(super) fn workload_kind(&mut self, w: &RawWorkload, p: &FieldPath) -> WorkloadKind {
        let (kind_name, allowed): (&str, &[&str]) = match w.kind {
            RawKind::Deployment => ("deployment", &["replicas"]),
            RawKind::DaemonSet => ("daemonset", &["host_network"]),
            RawKind::Churn => ("churn", &["arrivals_per_hour", "lifetime", "start", "end"]),
        };
        let present = [
            ("replicas", w.replicas.is_some()),
            ("host_network", w.host_network.is_some()),
            ("arrivals_per_hour", w.arrivals_per_hour.is_some()),
            ("lifetime", w.lifetime.is_some()),
            ("start", w.start.is_some()),
            ("end", w.end.is_some()),
        ];
        for (key, is) in present {
            if is && !allowed.contains(&key) {
                self.err(
                    &p.key(key),
                    format!("`{key}` does not apply to a {kind_name} workload (its own keys: {})", allowed.join(", ")),
                );
            }
        }
        match w.kind {
            RawKind::Deployment => {
                let replicas = match w.replicas {
                    Some(r) => self.replicas(&p.key("replicas"), r),
                    None => {
                        self.err(p, "a deployment needs `replicas`");
                        0
                    }
                };
                WorkloadKind::Deployment { replicas }
            }
            RawKind::DaemonSet => WorkloadKind::DaemonSet { host_network: w.host_network.unwrap_or(false) },
            RawKind::Churn => {
                let rate = match w.arrivals_per_hour {
                    Some(r) if r.is_finite() && r > 0.0 => r,
                    Some(r) => {
                        self.err(
                            &p.key("arrivals_per_hour"),
                            format!("arrivals_per_hour must be a finite number greater than 0, not {r}"),
                        );
                        1.0
                    }
                    None => {
                        self.err(p, "a churn workload needs `arrivals_per_hour` (pods per hour)");
                        1.0
                    }
                };
                let lifetime = match &w.lifetime {
                    Some(l) => self.lifetime(&p.key("lifetime"), l),
                    None => {
                        self.err(
                            p,
                            "a churn workload needs `lifetime`: {fixed: D}, {exponential: D}, {uniform: [D1, D2]} \
                             or {lognormal: {median: D, sigma: F}}",
                        );
                        Lifetime::Fixed(1)
                    }
                };
                let start = w.start.as_ref().and_then(|s| self.duration(&p.key("start"), s)).unwrap_or(0);
                let end = w.end.as_ref().and_then(|s| self.duration(&p.key("end"), s));
                if let Some(end) = end
                    && end <= start
                {
                    self.err(
                        &p.key("end"),
                        format!("end {} must be after start {}", format_duration(end), format_duration(start)),
                    );
                }
                WorkloadKind::Churn { arrivals_per_hour: rate, lifetime, start, end }
            }
        }
    }

    pub(super) fn replicas(&mut self, p: &FieldPath, r: u64) -> u32 {
        if r > MAX_REPLICAS {
            self.err(
                p,
                format!(
                    "replicas {r} is more than any cluster can run ({MAX_NODES_PER_CLUSTER} nodes × 250 pods = \
                     {MAX_REPLICAS})"
                ),
            );
        }
        r.min(MAX_REPLICAS) as u32
    }

    pub(super) fn lifetime(&mut self, p: &FieldPath, l: &RawLifetime) -> Lifetime {
        let positive = |v: &mut Self, p: &FieldPath, s: &Scalar, what: &str| -> Seconds {
            match v.duration(p, s) {
                Some(0) => {
                    v.err(p, format!("{what} must be greater than 0"));
                    1
                }
                Some(d) => d,
                None => 1,
            }
        };
        let given = present([
            ("fixed", l.fixed.is_some()),
            ("exponential", l.exponential.is_some()),
            ("uniform", l.uniform.is_some()),
            ("lognormal", l.lognormal.is_some()),
        ]);
        if given.len() != 1 {
            let found = if given.is_empty() { "none".to_owned() } else { given.join(" and ") };
            self.err(
                p,
                format!(
                    "a lifetime is exactly one of {{fixed: D}}, {{exponential: D}}, {{uniform: [D1, D2]}} or \
                     {{lognormal: {{median: D, sigma: F}}}}; found {found}"
                ),
            );
            return Lifetime::Fixed(1);
        }
        if let Some(s) = &l.fixed {
            Lifetime::Fixed(positive(self, &p.key("fixed"), s, "a fixed lifetime"))
        } else if let Some(s) = &l.exponential {
            Lifetime::Exponential(positive(self, &p.key("exponential"), s, "an exponential lifetime's mean"))
        } else if let Some(v) = &l.uniform {
            let pu = p.key("uniform");
            if v.len() != 2 {
                self.err(&pu, format!("uniform takes two durations [low, high], not {}", v.len()));
                return Lifetime::Fixed(1);
            }
            let lo = self.duration(&pu.index(0), &v[0]);
            let hi = self.duration(&pu.index(1), &v[1]);
            match (lo, hi) {
                (Some(lo), Some(hi)) if lo > hi => {
                    self.err(
                        &pu,
                        format!("uniform low {} is greater than high {}", format_duration(lo), format_duration(hi)),
                    );
                    Lifetime::Fixed(1)
                }
                (Some(_), Some(0)) => {
                    self.err(&pu, "a uniform lifetime's high bound must be greater than 0");
                    Lifetime::Fixed(1)
                }
                (Some(lo), Some(hi)) => Lifetime::Uniform(lo, hi),
                _ => Lifetime::Fixed(1),
            }
        } else if let Some(ln) = &l.lognormal {
            let pl = p.key("lognormal");
            let median = positive(self, &pl.key("median"), &ln.median, "a lognormal lifetime's median");
            if !(ln.sigma.is_finite() && ln.sigma >= 0.0) {
                self.err(&pl.key("sigma"), format!("sigma must be a finite number of at least 0, not {}", ln.sigma));
            }
            Lifetime::LogNormal { median, sigma: if ln.sigma.is_finite() { ln.sigma.max(0.0) } else { 0.0 } }
        } else {
            unreachable!("exactly one lifetime key was found above")
        }
    }
}
