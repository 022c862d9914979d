//! `podip sweep`: one run and N shards (run as an Indexed Job's pods run them,
//! with JOB_COMPLETION_INDEX) merge to the same bytes; bad merges are refused;
//! the Kubernetes Job in deploy/kubernetes has what the shards need.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::output::{podip, scratch, stderr, write};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// 2 allocators × 5 seeds × 2 prefixes = 20 points of a small scenario.
fn spec(dir: &Path) -> PathBuf {
    let base = root().join("scenarios/node-subnet-24.yaml");
    write(
        dir,
        "spec.yaml",
        &format!(
            "scenario: {}\naxes:\n  - allocators: [node-subnet, kubenet]\n  - seeds: {{from: 1, count: 5}}\n  \
             - subnet_prefix: {{subnet: nodes, values: [24, 23]}}\n",
            base.display()
        ),
    )
}

fn shard(spec: &Path, out: &Path, index: u32, of: u32) {
    let o = Command::new(env!("CARGO_BIN_EXE_podip"))
        .args([
            "sweep".as_ref(),
            spec.as_os_str(),
            "--shards".as_ref(),
            of.to_string().as_ref(),
            "--out".as_ref(),
            out.as_os_str(),
        ])
        .env("JOB_COMPLETION_INDEX", index.to_string())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains(&format!("podip: shard {index}/{of}: point")), "progress per shard: {}", stderr(&o));
}

#[test]
fn shards_merge_to_the_bytes_of_one_run() {
    let dir = scratch("sweep");
    let spec = spec(&dir);
    let whole = dir.join("whole");
    let o = podip(&[&"sweep", &spec, &"--out", &whole]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let expected = std::fs::read(whole.join("sweep.csv")).unwrap();
    let text = String::from_utf8(expected.clone()).unwrap();
    assert_eq!(text.lines().count(), 21, "{text}");
    assert!(text.starts_with("point,allocator,seed,nodes.prefix,peak_allocated,"), "{text}");
    assert!(text.contains("\n19,kubenet,5,/23,"), "row-major, the last axis fastest:\n{text}");
    for n in [1, 3, 7] {
        let out = dir.join(format!("shards-{n}"));
        for i in (0..n).rev() {
            shard(&spec, &out, i, n);
        }
        let o = podip(&[&"sweep", &"merge", &out]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert_eq!(std::fs::read(out.join("sweep.csv")).unwrap(), expected, "{n} shards");
    }
    // A shard run again (a Job retry) gives the same file.
    let one = dir.join("shards-7/sweep-shard-3-of-7.csv");
    let before = std::fs::read(&one).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_podip"))
        .args([
            "sweep".as_ref(),
            spec.as_os_str(),
            "--shard".as_ref(),
            "3/7".as_ref(),
            "--out".as_ref(),
            dir.join("shards-7").as_os_str(),
            "--force".as_ref(),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(std::fs::read(&one).unwrap(), before);
}

#[test]
fn merges_refuse_missing_doubled_and_foreign_shards() {
    let dir = scratch("sweep-bad");
    let spec = spec(&dir);
    let out = dir.join("out");
    for i in 0..3 {
        shard(&spec, &out, i, 3);
    }
    // Missing: shard 1 gone.
    let missing = dir.join("missing");
    std::fs::create_dir(&missing).unwrap();
    for i in [0, 2] {
        let name = format!("sweep-shard-{i}-of-3.csv");
        std::fs::copy(out.join(&name), missing.join(&name)).unwrap();
    }
    let o = podip(&[&"sweep", &"merge", &missing]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("shards missing: 1 of 3 (sweep-shard-I-of-3.csv for I = 1)"), "{}", stderr(&o));
    assert!(!missing.join("sweep.csv").exists());
    // Doubled: the same shard in two folders.
    let o = podip(&[&"sweep", &"merge", &out, &missing]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("shard 0/3 twice"), "{}", stderr(&o));
    // Foreign: a shard of another sweep.
    let other = write(&dir, "other.yaml", &std::fs::read_to_string(&spec).unwrap().replace("count: 5", "count: 4"));
    let foreign = dir.join("foreign");
    shard(&other, &foreign, 1, 3);
    std::fs::copy(out.join("sweep-shard-0-of-3.csv"), foreign.join("sweep-shard-0-of-3.csv")).unwrap();
    std::fs::copy(out.join("sweep-shard-2-of-3.csv"), foreign.join("sweep-shard-2-of-3.csv")).unwrap();
    let o = podip(&[&"sweep", &"merge", &foreign]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("of another sweep"), "{}", stderr(&o));
    // Without JOB_COMPLETION_INDEX, --shards says what it needs.
    let o = Command::new(env!("CARGO_BIN_EXE_podip"))
        .args(["sweep".as_ref(), spec.as_os_str(), "--shards".as_ref(), "3".as_ref()])
        .env_remove("JOB_COMPLETION_INDEX")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("needs JOB_COMPLETION_INDEX"), "{}", stderr(&o));
    let o = podip(&[&"sweep", &spec, &"--shard", &"3/3"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is not I/N with 0 ≤ I < N"), "{}", stderr(&o));
}

/// A manifest in deploy/kubernetes.
pub(super) fn manifest(name: &str) -> serde_yaml::Value {
    serde_yaml::from_str(&std::fs::read_to_string(root().join("deploy/kubernetes").join(name)).unwrap()).unwrap()
}

/// A Job's pod template spec and its first container's args.
pub(super) fn pod_and_args(job: &serde_yaml::Value) -> (&serde_yaml::Value, Vec<String>) {
    assert_eq!((job["apiVersion"].as_str(), job["kind"].as_str()), (Some("batch/v1"), Some("Job")));
    let pod = &job["spec"]["template"]["spec"];
    assert_eq!(pod["restartPolicy"].as_str(), Some("Never"));
    let args =
        pod["containers"][0]["args"].as_sequence().unwrap().iter().map(|a| a.as_str().unwrap().to_string()).collect();
    (pod, args)
}

/// An Indexed Job whose pods each run one shard: `--shards` is its
/// completions, a failed index is retried alone and replaces its own file.
/// Its pod and args.
pub(super) fn indexed_job(job: &serde_yaml::Value) -> (&serde_yaml::Value, Vec<String>) {
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"].as_str(), Some("Indexed"));
    let completions = spec["completions"].as_u64().unwrap();
    assert!(spec["parallelism"].as_u64().unwrap() <= completions);
    assert!(spec["backoffLimitPerIndex"].as_u64().is_some(), "a failed index is retried alone");
    let (pod, args) = pod_and_args(job);
    assert_eq!(after(&args, "--shards").parse::<u64>().unwrap(), completions, "one shard per completion");
    assert!(args.iter().any(|a| a == "--force"), "a retried index replaces its own file");
    (pod, args)
}

/// The value after `flag` in `args`.
pub(super) fn after(args: &[String], flag: &str) -> String {
    args[args.iter().position(|a| a == flag).unwrap_or_else(|| panic!("no {flag}")) + 1].clone()
}

/// The claim mounted at `path` in a pod's first container.
pub(super) fn claim_at(pod: &serde_yaml::Value, path: &str) -> String {
    let mounts = pod["containers"][0]["volumeMounts"].as_sequence().unwrap();
    let mount = mounts.iter().find(|m| m["mountPath"].as_str() == Some(path)).expect("a mounted volume");
    let volume = pod["volumes"].as_sequence().unwrap().iter().find(|v| v["name"] == mount["name"]).unwrap();
    volume["persistentVolumeClaim"]["claimName"].as_str().unwrap().to_string()
}

/// The Indexed Job's pods run the shards the sweep expects: the completions
/// are the shards, the index comes from the Job, and they share the merge's folder.
#[test]
fn the_indexed_job_runs_every_shard_into_the_merges_folder() {
    let job = manifest("sweep-job.yaml");
    let (pod, args) = indexed_job(&job);
    assert_eq!(args[0], "sweep");
    let out = after(&args, "--out");
    let merge = manifest("sweep-merge-job.yaml");
    let (merge_pod, merge_args) = pod_and_args(&merge);
    assert_eq!(merge_args[..3], ["sweep", "merge", out.as_str()]);
    assert_eq!(claim_at(pod, &out), claim_at(merge_pod, &out), "one shared claim");
    assert_eq!(manifest("sweep-volume.yaml")["metadata"]["name"].as_str(), Some(claim_at(pod, &out).as_str()));
}
