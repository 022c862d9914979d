//! Clusters and node pools: max_pods, pod and service CIDRs, DNS, settings,
//! pools and their surge, and the rules across pools about pod subnets (where
//! each mode's own rules, from its descriptor, are applied).

use super::*;

/// A subnet's id; an unknown name was reported as an error, and a scenario
/// with errors is never returned, so its placeholder is never read.
fn subnet_id(subnets: &Subnets, name: &str) -> SubnetId {
    subnets.ids.get(name).copied().unwrap_or(SubnetId(u32::MAX))
}

/// `, like 192.168.0.0/16` when that range is free of subnets and the pod CIDR.
fn suggest_service_cidr(subnets: &Subnets, pod_cidr: Option<Ipv4Net>) -> &'static str {
    let candidate: Ipv4Net = "192.168.0.0/16".parse().expect("constant prefix");
    let free = subnets.overlapping(candidate).is_none() && pod_cidr.is_none_or(|pod| !overlaps(pod, candidate));
    if free { ", like 192.168.0.0/16" } else { "" }
}

impl Validator {
    /// A max_pods within what the mode accepts (itself within [`MAX_PODS_RANGE`]).
    pub(super) fn max_pods(&mut self, p: &FieldPath, v: u64, mode: &Mode) -> u32 {
        let (min, max) = (u64::from(mode.max_pods.min), u64::from(mode.max_pods.max));
        if !(min..=max).contains(&v) {
            self.err(p, format!("max_pods {v} is out of range: it must be between {min} and {max}"));
        }
        v.clamp(min, max) as u32
    }

    pub(super) fn cluster(
        &mut self,
        rc: &RawCluster,
        p: &FieldPath,
        default_allocator: &'static Mode,
        vnet: &Ranges,
        subnets: &Subnets,
        pool_uses: &mut Vec<PoolUse>,
    ) -> Cluster {
        let allocator = self.overrides.allocator.or(rc.allocator.map(|a| a.0)).unwrap_or(default_allocator);
        let max_pods = match rc.max_pods {
            Some(v) => self.max_pods(&p.key("max_pods"), v, allocator),
            None => allocator.max_pods.default,
        };
        let ctx = ClusterCtx { name: rc.name.clone(), allocator, max_pods, max_pods_written: rc.max_pods.is_some() };

        // Pod CIDR: always well-formed; checked further only where it is used.
        let default_pod_cidr: Ipv4Net = DEFAULT_POD_CIDR.parse().expect("constant prefix");
        let pp = p.key("pod_cidr");
        let pod_cidr = match &rc.pod_cidr {
            Some(t) => self.prefix(&pp, t),
            None => Some(default_pod_cidr),
        };
        if let Some(unit) = allocator.pod_cidr
            && let Some(net) = pod_cidr
        {
            self.forbidden(&pp, "pod_cidr", net);
            let unit = unit.prefix_len();
            if net.prefix_len() > unit {
                self.err(&pp, format!("pod_cidr {net} is smaller than /{unit}; it is carved into a /{unit} per node"));
            }
            // AKS refuses a pod CIDR that shares addresses with the VNet:
            // `NetworkProfileCIDROverlapVNET`, "NetworkProfile CIDR … overlaps with
            // reserved VNET CIDR …" (docs/model.md, "Pod and service CIDRs").
            if let Some(s) = vnet.overlapping(net) {
                // The same words whether pod_cidr was written or defaulted, so a
                // planned file that writes it out fails as its source did.
                let like = if net != default_pod_cidr && vnet.overlapping(default_pod_cidr).is_none() {
                    format!(", like the default {DEFAULT_POD_CIDR}")
                } else {
                    String::new()
                };
                self.err(
                    &pp,
                    format!(
                        "pod_cidr {net} overlaps the VNet's address space ({s}): AKS refuses this \
                         (NetworkProfileCIDROverlapVNET); set pod_cidr to a range outside the VNet{like}"
                    ),
                );
            }
        }

        let psvc = p.key("service_cidr");
        let service_cidr = match &rc.service_cidr {
            Some(t) => self.prefix(&psvc, t),
            None => Some(DEFAULT_SERVICE_CIDR.parse().expect("constant prefix")),
        };
        if let Some(svc) = service_cidr {
            self.forbidden(&psvc, "service_cidr", svc);
            // AKS refuses a service CIDR sharing an address with any subnet of the VNet,
            // the default 10.0.0.0/16 as an explicit one, and accepts one that lies in
            // the address space outside every subnet (model.md).
            let which = if rc.service_cidr.is_some() { "service_cidr" } else { "the default service_cidr" };
            if let Some((name, subnet)) = subnets.overlapping(svc) {
                self.err(
                    &psvc,
                    format!(
                        "{which} {svc} overlaps subnet `{name}` ({subnet}): AKS refuses this \
                         (ServiceCidrOverlapExistingSubnetsCidr); set service_cidr to a range no subnet uses{}",
                        suggest_service_cidr(subnets, allocator.pod_cidr.and(pod_cidr))
                    ),
                );
            } else if let Some(s) = vnet.overlapping(svc) {
                self.warn(
                    &psvc,
                    format!(
                        "{which} {svc} lies in the VNet's address space ({s}) outside every subnet: AKS accepts \
                         this, but a subnet created there later would conflict with the cluster's services"
                    ),
                );
            }
            if allocator.pod_cidr.is_some()
                && let Some(pod) = pod_cidr
                && overlaps(svc, pod)
            {
                self.err(&psvc, format!("service_cidr {svc} overlaps the pod_cidr {pod}"));
            }
        }

        let pdns = p.key("dns_service_ip");
        let dns = match (&rc.dns_service_ip, service_cidr) {
            (Some(t), svc) => match t.parse::<Ipv4Addr>() {
                Ok(ip) => {
                    if let Some(svc) = svc {
                        self.check_dns(&pdns, ip, svc, false);
                    }
                    ip
                }
                Err(_) => {
                    self.err(&pdns, format!("`{t}` is not an IPv4 address, like 10.0.0.10"));
                    Ipv4Addr::UNSPECIFIED
                }
            },
            (None, Some(svc)) => {
                let ip = Ipv4Addr::from(u32::from(svc.network()).saturating_add(10));
                self.check_dns(&pdns, ip, svc, true);
                ip
            }
            (None, None) => Ipv4Addr::UNSPECIFIED,
        };

        let scheduler = match rc.scheduler {
            None | Some(RawScheduler::Spread) => Scheduler::Spread,
            Some(RawScheduler::Pack) => Scheduler::Pack,
            Some(RawScheduler::Random) => Scheduler::Random,
        };

        let ppools = p.key("node_pools");
        if rc.node_pools.is_empty() {
            self.err(&ppools, "a cluster needs at least one node pool");
        }
        let mut seen = HashMap::new();
        let mut pools = Vec::new();
        let mut nodes: u64 = 0;
        for (j, rp) in rc.node_pools.iter().enumerate() {
            let pj = ppools.index(j);
            self.unique_name(&mut seen, ("node_pools", j), &pj, "pool", &rp.name);
            let pool = self.pool(rp, &pj, &ctx, subnets, pool_uses);
            nodes = nodes.saturating_add(rp.autoscale.map_or(rp.count, |a| a.max.max(rp.count)));
            pools.push(pool);
        }
        if nodes > MAX_NODES_PER_CLUSTER {
            self.err(
                &ppools,
                format!(
                    "the pools of cluster `{}` can reach {nodes} nodes (counts, or autoscale maxes); \
                     the limit is {MAX_NODES_PER_CLUSTER} per cluster",
                    rc.name
                ),
            );
        }

        let settings = self.mode_settings(rc, p, allocator);
        Cluster {
            name: rc.name.clone(),
            allocator,
            settings,
            pod_cidr: pod_cidr.unwrap_or(default_pod_cidr),
            service_cidr: service_cidr.unwrap_or(DEFAULT_SERVICE_CIDR.parse().expect("constant prefix")),
            dns_service_ip: dns,
            scheduler,
            max_pods,
            max_pods_written: rc.max_pods.is_some(),
            node_pools: pools,
        }
    }

    /// The cluster's mode blocks: the running mode's is checked (only its own
    /// keys, then its checks) and applies; another mode's is ignored with a
    /// warning, as a `pod_subnet` is, so one file serves `podip compare`.
    pub(super) fn mode_settings(&mut self, rc: &RawCluster, p: &FieldPath, mode: &Mode) -> Settings {
        let mut settings = Settings::default();
        for (key, raw) in &rc.mode_settings {
            let pk = p.key(key);
            if mode.settings_key != Some(*key) {
                self.warn(&pk, format!("`{key}` settings are ignored by the {mode} allocator"));
                continue;
            }
            for (name, value) in raw {
                if mode.settings.iter().any(|spec| spec.key == name) {
                    settings.0.insert(name.clone(), value.to_setting());
                } else {
                    let known = list(mode.settings.iter().map(|spec| spec.key));
                    self.err(
                        &pk.key(name),
                        format!("unknown setting `{name}` for the {mode} allocator; its settings: {known}"),
                    );
                }
            }
            self.findings(&pk, (mode.check_settings)(&settings));
        }
        settings
    }

    pub(super) fn check_dns(&mut self, p: &FieldPath, ip: Ipv4Addr, svc: Ipv4Net, defaulted: bool) {
        let what = if defaulted {
            format!("the default dns_service_ip {ip} (.10 of service_cidr)")
        } else {
            format!("dns_service_ip {ip}")
        };
        let net = u32::from(svc.network());
        if !svc.contains(&ip) {
            let hint = if defaulted { "; set dns_service_ip" } else { "" };
            self.err(p, format!("{what} is outside the service_cidr {svc}{hint}"));
        } else if u32::from(ip) == net || Some(u32::from(ip)) == net.checked_add(1) {
            self.err(
                p,
                format!(
                    "{what} is the network or first address of service_cidr {svc}; use another address in it, \
                     like .10"
                ),
            );
        }
    }

    pub(super) fn pool(
        &mut self,
        rp: &RawPool,
        p: &FieldPath,
        ctx: &ClusterCtx,
        subnets: &Subnets,
        pool_uses: &mut Vec<PoolUse>,
    ) -> NodePool {
        let alloc = ctx.allocator;
        if rp.count > MAX_NODES_PER_POOL {
            self.err(
                &p.key("count"),
                format!("count {} exceeds the limit of {MAX_NODES_PER_POOL} nodes per pool", rp.count),
            );
        }
        if !subnets.by_name.contains_key(&rp.vnet_subnet) {
            self.err(
                &p.key("vnet_subnet"),
                format!("unknown subnet `{}`; known subnets: {}", rp.vnet_subnet, subnets.known()),
            );
        }
        let pod_subnet = if alloc.pod_subnet.is_some() {
            match &rp.pod_subnet {
                None if alloc.pod_subnet_optional => None,
                None => {
                    self.err(
                        p,
                        format!(
                            "pool `{}` needs a pod_subnet under the {alloc} allocator (the subnet its pods take \
                             IPs from; known subnets: {})",
                            rp.name,
                            subnets.known()
                        ),
                    );
                    None
                }
                Some(s) => {
                    if !subnets.by_name.contains_key(s) {
                        self.err(
                            &p.key("pod_subnet"),
                            format!("unknown subnet `{s}`; known subnets: {}", subnets.known()),
                        );
                    }
                    Some(s.clone())
                }
            }
        } else {
            if rp.pod_subnet.is_some() {
                self.warn(&p.key("pod_subnet"), format!("pod_subnet is ignored by the {alloc} allocator"));
            }
            None
        };
        let (instance_type, machine) = self.machine(rp, p, alloc);
        let max_pods = match (rp.max_pods, machine.zip(alloc.machines)) {
            (Some(v), None) => self.max_pods(&p.key("max_pods"), v, alloc),
            (None, None) => ctx.max_pods,
            (written, Some((m, machines))) => {
                let limits = (machines.max_pods)(m);
                let (v, at) = match written {
                    Some(v) => (v, p.key("max_pods")),
                    None if ctx.max_pods_written => (u64::from(ctx.max_pods), p.key("max_pods")),
                    None => (u64::from(limits.default), p.key("max_pods")),
                };
                if v > u64::from(limits.max) {
                    let of = instance_type.as_deref().map_or_else(|| "its eni limits".to_owned(), |t| t.to_owned());
                    self.err(
                        &at,
                        format!(
                            "max_pods {v} exceeds what {of} allows under the {alloc} allocator: {} ({})",
                            limits.max,
                            (machines.limit_words)(m)
                        ),
                    );
                }
                if v < u64::from(limits.min) {
                    self.err(&at, format!("max_pods {v} is out of range: it must be at least {}", limits.min));
                }
                v.clamp(u64::from(limits.min), u64::from(limits.max)) as u32
            }
        };
        let max_surge = match &rp.max_surge {
            None => DEFAULT_MAX_SURGE,
            Some(s) => self.surge(&p.key("max_surge"), s),
        };
        let autoscale = rp.autoscale.map(|a| {
            let pa = p.key("autoscale");
            if a.min > a.max {
                self.err(&pa, format!("autoscale min {} is greater than max {}", a.min, a.max));
            } else if rp.count < a.min || rp.count > a.max {
                self.err(
                    &p.key("count"),
                    format!("count {} is outside the autoscale range [{}, {}]", rp.count, a.min, a.max),
                );
            }
            if a.max > MAX_NODES_PER_POOL {
                self.err(
                    &pa.key("max"),
                    format!("autoscale max {} exceeds the limit of {MAX_NODES_PER_POOL} nodes per pool", a.max),
                );
            }
            Autoscale { min: a.min.min(MAX_NODES_PER_POOL) as u32, max: a.max.min(MAX_NODES_PER_POOL) as u32 }
        });
        let os = match rp.os {
            None | Some(RawOs::Linux) => Os::Linux,
            Some(RawOs::Windows) => {
                if !alloc.windows {
                    self.err(&p.key("os"), format!("the {alloc} allocator does not support Windows pools"));
                }
                Os::Windows
            }
        };
        let facts = allocator::PoolFacts { max_pods, max_pods_written: rp.max_pods.is_some() };
        self.findings(p, (alloc.check_pool)(&facts));
        pool_uses.push(PoolUse {
            owner: format!("{}/{}", ctx.name, rp.name),
            path: p.clone(),
            allocator: alloc,
            vnet_subnet: rp.vnet_subnet.clone(),
            pod_subnet: pod_subnet.clone(),
        });
        NodePool {
            name: rp.name.clone(),
            count: rp.count.min(MAX_NODES_PER_POOL) as u32,
            vnet_subnet: rp.vnet_subnet.clone(),
            vnet_subnet_id: subnet_id(subnets, &rp.vnet_subnet),
            pod_subnet_id: pod_subnet.as_deref().map(|name| subnet_id(subnets, name)),
            pod_subnet,
            max_pods,
            max_surge,
            autoscale,
            os,
            instance_type,
            machine,
        }
    }

    /// The pool's machine, from `instance_type` or `eni`, under a mode whose
    /// nodes it bounds; ignored (with a warning) under any other mode.
    fn machine(&mut self, rp: &RawPool, p: &FieldPath, alloc: &Mode) -> (Option<String>, Option<allocator::Machine>) {
        let Some(machines) = alloc.machines else {
            for (written, key) in [(rp.instance_type.is_some(), "instance_type"), (rp.eni.is_some(), "eni")] {
                if written {
                    self.warn(&p.key(key), format!("{key} is ignored by the {alloc} allocator"));
                }
            }
            return (None, None);
        };
        match (&rp.instance_type, rp.eni) {
            (Some(_), Some(_)) => {
                self.err(&p.key("eni"), "write instance_type or eni, not both".to_owned());
                (None, None)
            }
            (None, None) => {
                let (name, machine) = machines.types[machines.default];
                self.warn(
                    p,
                    format!(
                        "pool `{}` names no instance_type: {name} assumed ({}); its nodes' limits follow the machine, \
                         so name it (one of {}) or write eni: {{count: N, ips: M}}",
                        rp.name,
                        machines.default_why,
                        machines.names()
                    ),
                );
                (Some(name.to_owned()), Some(machine))
            }
            (Some(name), None) => match machines.find(name) {
                Some(m) => (Some(name.clone()), Some(m)),
                None => {
                    self.err(
                        &p.key("instance_type"),
                        format!(
                            "unknown instance_type `{name}`; podip knows {} ({}); for another, write eni: {{count: N, ips: M}}",
                            machines.names(),
                            machines.source
                        ),
                    );
                    (None, None)
                }
            },
            (None, Some(eni)) => {
                let pe = p.key("eni");
                let mut ok = true;
                if !(1..=15).contains(&eni.count) {
                    self.err(
                        &pe.key("count"),
                        format!(
                            "eni count {} must be from 1 to 15 (ENIs on network card 0; p3dn.24xlarge, the largest \
                             type podip knows, has 15)",
                            eni.count
                        ),
                    );
                    ok = false;
                }
                if !(2..=64).contains(&eni.ips) {
                    self.err(
                        &pe.key("ips"),
                        format!(
                            "eni ips {} must be from 2 to 64 (IPv4 addresses per ENI, its primary included)",
                            eni.ips
                        ),
                    );
                    ok = false;
                }
                if eni.vcpus.is_some_and(|v| !(1..=1024).contains(&v)) {
                    self.err(&pe.key("vcpus"), "eni vcpus must be from 1 to 1024".to_owned());
                    ok = false;
                }
                let machine = allocator::Machine {
                    interfaces: eni.count as u32,
                    addresses_per_interface: eni.ips as u32,
                    vcpus: eni.vcpus.map(|v| v as u32),
                };
                (None, ok.then_some(machine))
            }
        }
    }

    pub(super) fn surge(&mut self, p: &FieldPath, s: &Scalar) -> Surge {
        let bad = |what: &str| {
            format!(
                "`{what}` is not a valid max_surge: write a node count of at least 1, like 3, or a percent from 1% to 100%, like \"33%\""
            )
        };
        let r = match s {
            Scalar::Int(n) => {
                u32::try_from(*n).ok().filter(|n| *n >= 1).map(Surge::Count).ok_or_else(|| bad(&s.to_string()))
            }
            Scalar::Float(_) => Err(bad(&s.to_string())),
            Scalar::Str(t) => {
                let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
                match t.strip_suffix('%') {
                    Some(d) if digits(d) => d
                        .parse::<u32>()
                        .ok()
                        .filter(|v| (1..=100).contains(v))
                        .map(Surge::Percent)
                        .ok_or_else(|| bad(t)),
                    None if digits(t) => {
                        t.parse::<u32>().ok().filter(|n| *n >= 1).map(Surge::Count).ok_or_else(|| bad(t))
                    }
                    _ => Err(bad(t)),
                }
            }
        };
        r.unwrap_or_else(|m| {
            self.err(p, m);
            DEFAULT_MAX_SURGE
        })
    }

    /// Rules across pools and clusters about pod subnets.
    pub(super) fn pool_subnets(&mut self, uses: &[PoolUse], subnets: &Subnets) {
        let mut node_subnet_of: HashMap<&str, &str> = HashMap::new();
        for u in uses {
            node_subnet_of.entry(u.vnet_subnet.as_str()).or_insert(u.owner.as_str());
        }
        let mut mode_of: HashMap<&str, (&Mode, &str)> = HashMap::new();
        // Each subnet's prefix is checked once, for the first pool that uses it.
        let mut checked: HashSet<(&str, &str)> = HashSet::new();
        for u in uses {
            let Some(ps) = u.pod_subnet.as_deref() else { continue };
            let p = u.path.key("pod_subnet");
            if let Some(owner) = node_subnet_of.get(ps) {
                self.err(
                    &p,
                    format!(
                        "subnet `{ps}` is the node subnet (vnet_subnet) of pool {owner}; a pod subnet cannot also \
                         be a node subnet"
                    ),
                );
            }
            match mode_of.get(ps) {
                Some((mode, owner)) if *mode != u.allocator => self.err(
                    &p,
                    format!(
                        "pod subnet `{ps}` is used in {mode} mode by pool {owner}; a subnet serves one mode only, \
                         so pool {} cannot use it in {} mode",
                        u.owner, u.allocator
                    ),
                ),
                Some(_) => {}
                None => {
                    mode_of.insert(ps, (u.allocator, u.owner.as_str()));
                }
            }
            if let Some(Some(net)) = subnets.by_name.get(ps)
                && checked.insert((ps, u.allocator.name))
            {
                let findings = (u.allocator.check_pod_subnet)(ps, *net);
                self.findings(&u.path, findings);
            }
        }
    }
}
