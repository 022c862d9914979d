use scenario::*;
#[test]
fn show() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/acceptance/cases");
    let mut names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    names.sort();
    for d in names {
        match load(&d.join("scenario.yaml"), &Overrides::default()) {
            Ok(l) => { println!("OK {}", d.display()); for w in l.warnings { println!("  {w}"); } }
            Err(e) => println!("{e}"),
        }
    }
    for t in ["", "# only a comment\n", "a: [", "name: x\nduration: 1h\nnetwork: {address_space: [10.0.0.0/8], subnets: {a: 10.1.0.0/16}}\nclusters: []\nfoo: 1\n",
      "name: x\nduration: 1h\nnetwork: {address_space: [10.0.0.0/8], subnets: {a: 10.1.0.0/16}}\nclusters: [{name: c, allocator: foo, node_pools: []}]\n",
      "name: x\nduration: 1h\nnetwork: {address_space: [10.0.0.0/8], subnets: {a: 10.1.0.0/16}}\nclusters: [{name: c, node_pools: []}]\nworkloads: [{name: w, cluster: c, kind: churn, lifetime: {fixed: 1, exponential: 2}}]\n",
      "name: x\nduration: 1h\nnetwork: {address_space: [10.0.0.0/8], subnets: {a: 10.1.0.0/16}}\nclusters: [{name: c, node_pools: []}]\nworkloads: [{name: w, cluster: c, kind: churn, lifetime: {weird: 1}}]\n",
      "name: x\nname: y\n", "- a\n- b\n", "name: x\n---\nname: y\n"] {
        match parse_str(t, "t.yaml", &Overrides::default()) {
            Ok(_) => println!("OK?"),
            Err(e) => println!("{e}"),
        }
    }
}
