//! `podip plan --shard` and `podip plan merge` (docs/distributed.md): a plan
//! made whole and one made by N shards per round (run as an Indexed Job's
//! pods run them, with JOB_COMPLETION_INDEX), merged, give the same bytes;
//! bad merges are refused and write nothing; the Kubernetes Jobs in
//! deploy/kubernetes run the rounds the merge expects.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::output::{names, podip, scratch, snapshot, stderr, stdout, write};
use super::sweep::{after, claim_at, indexed_job, manifest, pod_and_args};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// scenarios/static-block-16n-1.yaml with its address space cut to exactly
/// its two subnets: static-block and node-subnet must grow a range and do not
/// fit (their peaks are explained by a second unconstrained replay), dynamic
/// fits and is verified; all three exhaust as written. Every kind of replay.
fn tight(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(root().join("scenarios/static-block-16n-1.yaml")).unwrap();
    let tight = text.replace("address_space: [10.40.0.0/16]", "address_space: [10.40.0.0/24, 10.40.16.0/22]");
    assert_ne!(tight, text);
    write(dir, "tight.yaml", &tight)
}

const PLAN: [&str; 4] = ["--seeds", "3", "--allocators", "static-block,dynamic,node-subnet"];

/// `podip plan SCENARIO PLAN… --shards N [--round R] --out OUT` as pod I of an Indexed Job.
fn shard(scenario: &Path, out: &Path, index: u32, of: u32, round: u32, seeds: &str) -> Output {
    let mut args: Vec<String> = vec!["plan".into(), scenario.display().to_string()];
    args.extend(PLAN.iter().map(|s| s.to_string()));
    args[3] = seeds.to_string();
    args.extend(["--shards".into(), of.to_string(), "--round".into(), round.to_string()]);
    args.extend(["--out".into(), out.display().to_string()]);
    Command::new(env!("CARGO_BIN_EXE_podip"))
        .args(&args)
        .env("JOB_COMPLETION_INDEX", index.to_string())
        .output()
        .unwrap()
}

fn round(scenario: &Path, out: &Path, of: u32, round: u32) {
    for i in (0..of).rev() {
        let o = shard(scenario, out, i, of, round, "3");
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert!(stderr(&o).contains(&format!("podip: shard {i}/{of} round {round}: ")), "progress: {}", stderr(&o));
        assert!(out.join(format!("plan-shard-{i}-of-{of}-round-{round}.txt")).exists());
    }
}

#[test]
fn shards_of_every_round_merge_to_the_bytes_of_one_plan() {
    let dir = scratch("plan-shards");
    let scenario = tight(&dir);
    let whole = dir.join("whole");
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"plan", &scenario];
    args.extend(PLAN.iter().map(|s| s as &dyn AsRef<std::ffi::OsStr>));
    args.extend([&"--out" as &dyn AsRef<std::ffi::OsStr>, &whole]);
    let o = podip(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let table = stdout(&o);
    assert!(table.contains("does-not-fit") && table.contains("3 of 3 seeds clean"), "{table}");
    let expected = snapshot(&whole);
    assert_eq!(names(&whole), [".podip-out", "plan-breakdown.csv", "plan.csv", "planned-dynamic.yaml", "report.html"]);
    // (shards in round 1, in round 2: 0 leaves round 2 to the merge)
    for (first, second) in [(1, 1), (3, 0), (7, 7), (3, 2)] {
        let shards = dir.join(format!("shards-{first}-{second}"));
        round(&scenario, &shards, first, 1);
        if second > 0 {
            round(&scenario, &shards, second, 2);
        }
        let merged = dir.join(format!("merged-{first}-{second}"));
        let o = podip(&[&"plan", &"merge", &shards, &"--out", &merged]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let here = if second == 0 { "11 replays run here" } else { "0 replays run here" };
        assert!(stderr(&o).contains(here), "{}", stderr(&o));
        assert_eq!(stdout(&o), table, "{first}+{second} shards: the table");
        let got = snapshot(&merged);
        assert_eq!(got.len(), expected.len());
        for ((name, bytes), (want_name, want)) in got.iter().zip(&expected) {
            assert_eq!(name, want_name);
            assert!(bytes == want, "{first}+{second} shards: {name} differs");
        }
    }
    // A shard run again (a Job retry, --force) writes the same file.
    let file = dir.join("shards-7-7/plan-shard-4-of-7-round-2.txt");
    let before = std::fs::read(&file).unwrap();
    let o = shard(&scenario, &dir.join("shards-7-7"), 4, 7, 2, "3");
    assert_eq!(o.status.code(), Some(2), "refused without --force");
    assert!(stderr(&o).contains("exists; pass --force"), "{}", stderr(&o));
    let o = podip(&[
        &"plan",
        &scenario,
        &PLAN[0],
        &PLAN[1],
        &PLAN[2],
        &PLAN[3],
        &"--shard",
        &"4/7",
        &"--round",
        &"2",
        &"--out",
        &dir.join("shards-7-7"),
        &"--force",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(std::fs::read(&file).unwrap(), before);
}

#[test]
fn plan_merges_refuse_missing_doubled_foreign_and_truncated_shards() {
    let dir = scratch("plan-shards-bad");
    let scenario = tight(&dir);
    let out = dir.join("out");
    round(&scenario, &out, 3, 1);
    let name = |i: u32, of: u32| format!("plan-shard-{i}-of-{of}-round-1.txt");
    let folder = |label: &str, files: &[(&Path, String)]| -> PathBuf {
        let d = dir.join(label);
        std::fs::create_dir(&d).unwrap();
        for (from, name) in files {
            std::fs::copy(from.join(name), d.join(name)).unwrap();
        }
        d
    };
    let refused = |dirs: &[&Path], message: &str| {
        let merged = dir.join("merged");
        let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"plan", &"merge"];
        args.extend(dirs.iter().map(|d| d as &dyn AsRef<std::ffi::OsStr>));
        args.extend([&"--out" as &dyn AsRef<std::ffi::OsStr>, &merged]);
        let o = podip(&args);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains(message), "expected {message:?} in {}", stderr(&o));
        assert!(!merged.exists(), "nothing written");
        stderr(&o)
    };
    // Missing: shard 1 gone.
    let missing = folder("missing", &[(&out, name(0, 3)), (&out, name(2, 3))]);
    refused(&[&missing], "shards missing: 1 of 3 (plan-shard-I-of-3-round-1.txt for I = 1)");
    // Doubled: the same shard in two folders.
    let e = refused(&[&out, &missing], "shard 0/3 twice: ");
    assert!(e.contains(&name(0, 3)), "names the files: {e}");
    // Foreign: shard 1 of a plan over 2 seeds, and shard 1 of 2 of this plan.
    let other = dir.join("other");
    let o = shard(&scenario, &other, 1, 3, 1, "2");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = shard(&scenario, &other, 1, 2, 1, "3");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let foreign = folder("foreign", &[(&out, name(0, 3)), (&other, name(1, 3)), (&out, name(2, 3))]);
    let e = refused(&[&foreign], "round 1 of another plan (fingerprint ");
    assert!(e.contains("2 seeds") && e.contains("3 seeds") && e.contains(&name(1, 3)), "{e}");
    let other_n = folder("other-n", &[(&out, name(0, 3)), (&other, name(1, 2)), (&out, name(2, 3))]);
    refused(&[&other_n], "one round's shards share N");
    // Truncated: shard 2 cut short, as a full disk or a killed copy leaves it.
    let truncated = folder("truncated", &[(&out, name(0, 3)), (&out, name(1, 3))]);
    let text = std::fs::read_to_string(out.join(name(2, 3))).unwrap();
    std::fs::write(truncated.join(name(2, 3)), &text[..text.len() - 20]).unwrap();
    let e = refused(&[&truncated], "truncated");
    assert!(e.contains(&name(2, 3)), "{e}");
    // Not a shard at all, and an edited one.
    let edited = folder("edited", &[(&out, name(0, 3)), (&out, name(1, 3))]);
    std::fs::write(edited.join(name(2, 3)), text.replacen("\"seeds\":3", "\"seeds\":4", 1)).unwrap();
    refused(&[&edited], "its fingerprint does not match");
    refused(&[&dir], "no plan-shard-I-of-N-round-R.txt files in");

    // Round 2 needs the whole of round 1.
    let o = shard(&scenario, &missing, 0, 2, 2, "3");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("shards missing: 1 of 3"), "{}", stderr(&o));
    assert!(!missing.join("plan-shard-0-of-2-round-2.txt").exists());
    let o = shard(&scenario, &dir.join("empty"), 0, 2, 2, "3");
    assert_eq!(o.status.code(), Some(2));
    // A round of another plan's round 1: refused.
    let o = shard(&scenario, &out, 0, 2, 2, "2");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("of another plan"), "{}", stderr(&o));
    // --round without a shard; --shards without the Job's index.
    let o = podip(&[&"plan", &scenario, &"--round", &"2"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--round and --from are a shard's"), "{}", stderr(&o));
    let o = Command::new(env!("CARGO_BIN_EXE_podip"))
        .args(["plan".as_ref(), scenario.as_os_str(), "--shards".as_ref(), "3".as_ref()])
        .env_remove("JOB_COMPLETION_INDEX")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("needs JOB_COMPLETION_INDEX"), "{}", stderr(&o));
}

/// The plan's Indexed Jobs run rounds 1 and 2 of one plan (the same
/// arguments but `--round`), one shard per completion, into the folder the
/// merge Job reads; all share one claim.
#[test]
fn the_plan_jobs_run_both_rounds_into_the_merges_folder() {
    let (first, second) = (manifest("plan-job.yaml"), manifest("plan-round-2-job.yaml"));
    let (pod, args) = indexed_job(&first);
    let (pod_2, args_2) = indexed_job(&second);
    assert_eq!(args[0], "plan");
    assert_eq!((after(&args, "--round"), after(&args_2, "--round")), ("1".into(), "2".into()));
    let without_round = |a: &[String]| -> Vec<String> {
        let r = a.iter().position(|x| x == "--round").unwrap();
        [&a[..r], &a[r + 2..]].concat()
    };
    assert_eq!(without_round(&args), without_round(&args_2), "one plan: the rounds differ only by --round");
    let out = after(&args, "--out");
    assert_eq!(after(&args_2, "--out"), out, "round 2 reads round 1's files from its --out");
    let merge = manifest("plan-merge-job.yaml");
    let (merge_pod, merge_args) = pod_and_args(&merge);
    assert_eq!(merge_args[..3], ["plan", "merge", out.as_str()]);
    let claim = claim_at(pod, &out);
    assert_eq!((claim_at(pod_2, &out), claim_at(merge_pod, &out)), (claim.clone(), claim.clone()), "one shared claim");
    assert_eq!(manifest("plan-volume.yaml")["metadata"]["name"].as_str(), Some(claim.as_str()));
}
