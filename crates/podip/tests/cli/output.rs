//! The built `podip` binary end to end: exit statuses, the output folder's
//! guarantees (docs/outputs.md) and `validate`'s output.
//!
//! Each test works in its own scratch folder under the system temp folder.
//! The read-only and full-disk tests mount a small tmpfs when they may (root,
//! as in CI); otherwise the read-only test falls back to file permissions and
//! the full-disk test to a unit test of the writer (`output.rs`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A small scenario that exhausts nothing.
const SMALL: &str = "name: small\nseed: 1\nduration: 6h\nsample_every: 1h\nallocator: dynamic\n\
    network:\n  address_space: [10.0.0.0/16]\n  subnets: {nodes: 10.0.0.0/24, pods: 10.0.16.0/20}\n\
    clusters:\n  - name: c\n    service_cidr: 192.168.0.0/16\n    node_pools: [{name: p, count: 3, vnet_subnet: nodes, pod_subnet: pods}]\n\
    workloads:\n  - {name: web, cluster: c, kind: deployment, replicas: 40}\n\
    \x20 - {name: jobs, cluster: c, kind: churn, arrivals_per_hour: 120, lifetime: {exponential: 10m}}\n";

/// A pod subnet of 27 usable addresses for 100 pods: exhausted.
const EXHAUSTING: &str = "name: tight\nduration: 2h\nallocator: dynamic\n\
    network:\n  address_space: [10.0.0.0/16]\n  subnets: {nodes: 10.0.0.0/24, pods: 10.0.16.0/27}\n\
    clusters:\n  - name: c\n    service_cidr: 192.168.0.0/16\n    node_pools: [{name: p, count: 2, vnet_subnet: nodes, pod_subnet: pods}]\n\
    workloads: [{name: web, cluster: c, kind: deployment, replicas: 100}]\n";

const CSVS: [&str; 4] = ["utilization.csv", "cluster.csv", "events.csv", "summary.csv"];

pub(super) fn podip(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_podip")).args(args).output().expect("podip runs")
}

pub(super) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub(super) fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A fresh, empty scratch folder for one test, removed when the test passes and kept for
/// inspection when it fails.
pub(super) struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<std::ffi::OsStr> for Scratch {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.0.as_os_str()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
}

pub(super) fn scratch(test: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("podip-cli-{}-{test}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    Scratch(dir)
}

pub(super) fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, text).unwrap();
    path
}

/// Names in a folder, sorted (hidden ones included).
pub(super) fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = match fs::read_dir(dir) {
        Ok(entries) => entries.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}

fn temporaries(dir: &Path) -> Vec<String> {
    names(dir).into_iter().filter(|n| n.ends_with(".podip-tmp")).collect()
}

/// Every file of a folder with its bytes.
pub(super) fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    names(dir).into_iter().map(|n| (n.clone(), fs::read(dir.join(&n)).unwrap())).collect()
}

/// A tmpfs mounted for a test, unmounted when dropped; `None` where mounting
/// is not allowed.
struct Mount(PathBuf);

impl Mount {
    fn tmpfs(at: &Path, options: &str) -> Option<Mount> {
        fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(at)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Mount(at.to_path_buf()))
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(1) == Some("0")))
        .unwrap_or(false)
}

#[test]
fn a_run_writes_every_file_and_no_temporary() {
    let dir = scratch("writes");
    let scenario = write(&dir, "small.yaml", SMALL);
    let out = dir.join("out");
    let o = podip(&[&"run", &scenario, &"--out", &out]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let files = names(&out);
    for csv in CSVS {
        assert!(files.contains(&csv.to_string()), "{files:?}");
    }
    assert!(files.contains(&"report.html".to_string()), "{files:?}");
    assert!(files.iter().any(|f| f.ends_with(".svg")), "{files:?}");
    assert!(temporaries(&out).is_empty(), "{files:?}");
    assert!(stderr(&o).contains(&format!("podip: wrote {}", out.display())), "{}", stderr(&o));

    let bare = dir.join("bare");
    let o = podip(&[&"run", &scenario, &"--out", &bare, &"--no-charts"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(names(&bare), [".podip-out", "cluster.csv", "events.csv", "summary.csv", "utilization.csv"]);
}

#[test]
fn exit_statuses_follow_the_contract() {
    let dir = scratch("exit");
    let tight = write(&dir, "tight.yaml", EXHAUSTING);
    // Exhaustion alone is a successful run; with --fail-on-exhaustion, status 1 and files written.
    let o = podip(&[&"run", &tight, &"--out", &dir.join("a"), &"--no-charts"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = podip(&[&"run", &tight, &"--out", &dir.join("b"), &"--no-charts", &"--fail-on-exhaustion"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(fs::read_to_string(dir.join("b/events.csv")).unwrap().contains("pod-ip-exhausted"));
    // A scenario that does not exhaust: 0 even with the flag.
    let small = write(&dir, "small.yaml", SMALL);
    let o = podip(&[&"run", &small, &"--out", &dir.join("c"), &"--no-charts", &"--fail-on-exhaustion"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    // Bad input: 2, the error located, nothing written (not even the folder).
    let bad = write(&dir, "bad.yaml", &SMALL.replace("seed: 1", "seed: 1\nsed: 2"));
    let o = podip(&[&"run", &bad, &"--out", &dir.join("d")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("bad.yaml: unknown key `sed`; valid keys here: `name`"), "{}", stderr(&o));
    assert!(stderr(&o).contains("at line 3 column 1"), "{}", stderr(&o));
    assert!(!dir.join("d").exists());
    // A missing file, an unknown allocator, an unknown flag: 2.
    let o = podip(&[&"run", &dir.join("missing.yaml"), &"--out", &dir.join("e")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("missing.yaml"), "{}", stderr(&o));
    let o = podip(&[&"run", &small, &"--allocator", &"flannel", &"--out", &dir.join("e")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown allocator \"flannel\""), "{}", stderr(&o));
    let o = podip(&[&"run", &small, &"--frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!dir.join("e").exists());
}

#[test]
fn results_are_never_replaced_without_force() {
    let dir = scratch("force");
    let scenario = write(&dir, "small.yaml", SMALL);
    let out = dir.join("out");
    assert_eq!(podip(&[&"run", &scenario, &"--out", &out, &"--no-charts"]).status.code(), Some(0));
    let before = snapshot(&out);
    // Another seed into the same folder: refused, nothing touched.
    let o = podip(&[&"run", &scenario, &"--out", &out, &"--no-charts", &"--seed", &"9"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o)
            .contains("holds the results of an earlier run (cluster.csv, events.csv, summary.csv, …); pass --force"),
        "{}",
        stderr(&o)
    );
    assert_eq!(snapshot(&out), before);
    // With --force: replaced.
    let o = podip(&[&"run", &scenario, &"--out", &out, &"--no-charts", &"--seed", &"9", &"--force"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_ne!(snapshot(&out), before);

    // A folder podip did not create: refused unless --force; the user's file survives.
    let mine = dir.join("mine");
    fs::create_dir(&mine).unwrap();
    write(&mine, "notes.txt", "keep me");
    let o = podip(&[&"run", &scenario, &"--out", &mine, &"--no-charts"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is not empty (notes.txt) and was not created by podip"), "{}", stderr(&o));
    assert_eq!(names(&mine), ["notes.txt"]);
    let o = podip(&[&"run", &scenario, &"--out", &mine, &"--no-charts", &"--force"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(fs::read_to_string(mine.join("notes.txt")).unwrap(), "keep me");
    assert!(mine.join("summary.csv").exists());
    // --out naming a file: refused.
    let o = podip(&[&"run", &scenario, &"--out", &dir.join("small.yaml"), &"--force"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("exists and is not a folder"), "{}", stderr(&o));
}

#[test]
fn temporaries_of_a_killed_run_are_removed_by_the_next_run() {
    let dir = scratch("killed");
    let scenario = write(&dir, "small.yaml", SMALL);
    // What a run killed while writing leaves: its marker and a partial temporary.
    let out = dir.join("out");
    fs::create_dir(&out).unwrap();
    write(&out, ".podip-out", "written by podip\n");
    write(&out, ".utilization.csv.podip-tmp", "time_s,allocator,ra");
    write(&out, ".report.html.podip-tmp", "<html");
    let o = podip(&[&"run", &scenario, &"--out", &out]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(temporaries(&out).is_empty(), "{:?}", names(&out));
    assert!(fs::read_to_string(out.join("utilization.csv")).unwrap().ends_with('\n'));
}

#[test]
fn kill_9_leaves_no_partial_file_under_a_final_name() {
    let dir = scratch("kill9");
    // Long enough (a few seconds in a debug build) to be killed mid-run.
    let text = SMALL.replace("duration: 6h", "duration: 60d").replace("sample_every: 1h", "sample_every: 1m");
    let scenario = write(&dir, "long.yaml", &text);
    let mut killed = 0;
    for delay_ms in [50, 400, 1500] {
        let out = dir.join(format!("out-{delay_ms}"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_podip"))
            .args(["run".as_ref(), scenario.as_os_str(), "--out".as_ref(), out.as_os_str()])
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let status = child.wait().unwrap();
        killed += usize::from(!status.success());
        for name in names(&out) {
            if name.starts_with('.') {
                continue;
            }
            // A final name means the run got to its renames: the file is complete.
            let text = fs::read_to_string(out.join(&name)).unwrap();
            assert!(text.ends_with('\n'), "{name} is partial after kill at {delay_ms} ms ({status})");
        }
        // The next run cleans up and completes; it needs --force only if the
        // killed run got as far as renaming its results into place.
        let finished = names(&out).iter().any(|n| !n.starts_with('.'));
        let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"run", &scenario, &"--out", &out, &"--no-charts"];
        if finished {
            args.push(&"--force");
        }
        let o = podip(&args);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert!(temporaries(&out).is_empty(), "{:?}", names(&out));
    }
    assert!(killed > 0, "every run finished before its kill: make the scenario longer");
}

#[test]
fn reruns_are_byte_identical() {
    let dir = scratch("rerun");
    let scenario = write(&dir, "small.yaml", SMALL);
    for out in ["a", "b"] {
        let o =
            podip(&[&"compare", &scenario, &"--allocators", &"dynamic,overlay,node-subnet", &"--out", &dir.join(out)]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    let (a, b) = (snapshot(&dir.join("a")), snapshot(&dir.join("b")));
    assert!(a.len() > 6, "{:?}", names(&dir.join("a")));
    assert_eq!(a, b);
}

#[test]
fn validate_prints_ok_or_located_errors() {
    let dir = scratch("validate");
    let good = write(&dir, "good.yaml", SMALL);
    let o = podip(&[&"validate", &good]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), format!("ok: {}\n", good.display()));
    let bad = write(&dir, "bad.yaml", &SMALL.replace("count: 3", "count: -1"));
    let o = podip(&[&"validate", &good, &bad]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stdout(&o), format!("ok: {}\n", good.display()));
    let err = stderr(&o);
    assert!(err.contains(&format!("error: {}: clusters[0].node_pools[0].count:", bad.display())), "{err}");
    assert!(err.contains("expected a whole number of at least 0 at line 12 column 35"), "{err}");
    // validate writes nothing.
    assert_eq!(names(&dir), ["bad.yaml", "good.yaml"]);
}

#[test]
fn validate_takes_folders_and_an_allocator() {
    let dir = scratch("validate-dir");
    let nested = dir.join("more");
    fs::create_dir(&nested).unwrap();
    let a = write(&dir, "a.yaml", SMALL);
    let b = write(&nested, "b.yml", SMALL);
    write(&dir, "notes.txt", "not a scenario");
    write(&dir, ".hidden.yaml", "not: [valid");
    // Every *.yaml and *.yml under the folder, in name order; other files skipped.
    let o = podip(&[&"validate", &dir]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), format!("ok: {}\nok: {}\n", a.display(), b.display()));
    // One bad file fails the run; the others are still reported.
    write(&nested, "c.yaml", &SMALL.replace("count: 3", "count: -1"));
    let o = podip(&[&"validate", &dir]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stdout(&o).lines().count(), 2, "{}", stdout(&o));
    assert!(stderr(&o).contains("c.yaml: clusters[0].node_pools[0].count"), "{}", stderr(&o));
    // A folder with no scenario is an error, not a silent success.
    let empty = dir.join("empty");
    fs::create_dir(&empty).unwrap();
    let o = podip(&[&"validate", &empty]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no scenarios (*.yaml, *.yml) in this folder"), "{}", stderr(&o));
    // --allocator validates as a run with it would: kubenet ignores the pod subnet.
    let o = podip(&[&"validate", &a, &"--allocator", &"kubenet"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("pod_subnet is ignored by the kubenet allocator"), "{}", stderr(&o));
}

/// Every subcommand that takes a scenario says what it is in its help.
#[test]
fn every_scenario_argument_has_a_help_line() {
    for command in ["run", "compare", "plan", "validate"] {
        let o = podip(&[&command, &"-h"]);
        let help = stdout(&o);
        let line = help.lines().find(|l| l.trim_start().starts_with("<SCENARIO")).unwrap_or_default();
        assert!(line.to_lowercase().contains("scenario"), "`podip {command} -h` has no help for SCENARIO:\n{help}");
    }
}

/// compare prints a warning that differs only by allocator once, naming them all.
#[test]
fn compare_merges_warnings_that_differ_only_by_allocator() {
    let dir = scratch("merged-warnings");
    let file = write(&dir, "s.yaml", SMALL);
    let o = podip(&[
        &"compare",
        &file,
        &"--allocators",
        &"node-subnet,dynamic,kubenet,overlay",
        &"--out",
        &dir.join("out"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    let warnings: Vec<&str> = err.lines().filter(|l| l.starts_with("warning:")).collect();
    assert_eq!(warnings.len(), 1, "{err}");
    assert!(
        warnings[0].ends_with(
            "pod_subnet: pod_subnet is ignored by the node-subnet, kubenet and overlay allocators at line 12 column 70"
        ),
        "{err}"
    );
}

#[test]
fn pod_unschedulable_is_one_row_per_episode_unless_asked_per_pod() {
    let dir = scratch("episodes");
    let crowded = SMALL.replace("replicas: 40", "replicas: 800");
    let file = write(&dir, "s.yaml", &crowded);
    let rows = |extra: &[&str]| {
        let out = dir.join(format!("out{}", extra.len()));
        let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"run", &file, &"--out", &out, &"--no-charts"];
        for e in extra {
            args.push(e);
        }
        let o = podip(&args);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let events = fs::read_to_string(out.join("events.csv")).unwrap();
        events.lines().filter(|l| l.contains(",pod-unschedulable,")).map(String::from).collect::<Vec<_>>()
    };
    // One row per workload whose pods waited: both wait from the start to the end.
    let episodes = rows(&[]);
    assert_eq!(episodes.len(), 2, "{episodes:?}");
    assert!(
        episodes[0].starts_with("0,dynamic,pod-unschedulable,c,,,,\"workload web: at most 50 pods at once"),
        "{episodes:?}"
    );
    assert!(episodes[1].contains("workload jobs: at most"), "{episodes:?}");
    assert!(episodes.iter().all(|r| r.contains("until the end")), "{episodes:?}");
    // 3 nodes of 250 hold 750 (less the churn's); every pod beyond is one row per pod.
    let per_pod = rows(&["--per-pod-unschedulable"]);
    assert!(per_pod.len() >= 50, "{}", per_pod.len());
    assert!(per_pod.iter().all(|r| r.contains(": no eligible node has room (max_pods)")));
}

#[test]
fn oversized_files_and_alias_bombs_are_refused() {
    let dir = scratch("bombs");
    let big = write(&dir, "big.yaml", &format!("{SMALL}{}", "# padding\n".repeat(500_000)));
    let o = podip(&[&"run", &big, &"--out", &dir.join("o")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("larger than 4 MiB, the limit for a scenario"), "{}", stderr(&o));
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..9 {
        let prev = format!("*a{}", i - 1);
        bomb.push_str(&format!("a{i}: &a{i} [{}]\n", [prev.as_str(); 10].join(", ")));
    }
    // 10^8 x's if expanded. Every field is typed, so deserializing stops at the
    // first alias or key that does not fit, before any expansion; serde_yaml
    // also caps alias replays.
    let started = std::time::Instant::now();
    for (text, message) in [
        (format!("{bomb}{SMALL}events: *a8\n"), "unknown key `a0`"),
        (format!("{SMALL}events: *a8\n{bomb}"), "unknown anchor"),
        (
            format!("{SMALL}events: &e [{}]\n", ["{at: 1h, rollout: {name: web}}"; 10].join(", ")) + "timing: *e\n",
            "timing",
        ),
    ] {
        let path = write(&dir, "bomb.yaml", &text);
        let o = podip(&[&"run", &path, &"--out", &dir.join("o")]);
        assert_eq!(o.status.code(), Some(2));
        assert!(stderr(&o).contains("bomb.yaml") && stderr(&o).contains(message), "{}", stderr(&o));
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(!dir.join("o").exists());
}

#[test]
fn a_scenario_over_the_limits_is_refused_before_it_starts() {
    let dir = scratch("limits");
    let text =
        SMALL.replace("arrivals_per_hour: 120", "arrivals_per_hour: 1e12").replace("duration: 6h", "duration: 365d");
    let huge = write(&dir, "huge.yaml", &text);
    let started = std::time::Instant::now();
    let o = podip(&[&"run", &huge, &"--out", &dir.join("o")]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("huge.yaml: too large to run: about"), "{err}");
    assert!(err.contains("--max-live-pods") && err.contains("--max-events"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert!(!dir.join("o").exists());
    // The limits are flags: a tight one refuses the small scenario, compare counts every allocator.
    let small = write(&dir, "small.yaml", SMALL);
    let o = podip(&[&"run", &small, &"--out", &dir.join("o"), &"--max-output-rows", &"20"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("about 24 output rows, over the limit of 20"), "{}", stderr(&o));
    let o = podip(&[&"run", &small, &"--out", &dir.join("o"), &"--max-output-rows", &"24", &"--no-charts"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = podip(&[
        &"compare",
        &small,
        &"--allocators",
        &"dynamic,overlay",
        &"--out",
        &dir.join("p"),
        &"--max-output-rows",
        &"24",
    ]);
    assert_eq!(o.status.code(), Some(2));
    // overlay adds the cluster's pod CIDR as a third range: 24 + 32 rows.
    assert!(stderr(&o).contains("about 56 output rows"), "{}", stderr(&o));
}

#[test]
fn a_read_only_folder_is_an_error_naming_it() {
    let dir = scratch("readonly");
    let scenario = write(&dir, "small.yaml", SMALL);
    let ro = dir.join("ro");
    let mount = Mount::tmpfs(&ro, "ro,size=64k");
    if mount.is_none() {
        if is_root() {
            eprintln!("skipped: root cannot mount a tmpfs here and ignores file permissions");
            return;
        }
        let mut perms = fs::metadata(&ro).unwrap().permissions();
        perms.set_readonly(true);
        fs::set_permissions(&ro, perms).unwrap();
    }
    // The folder itself, and a folder to create inside it.
    for out in [ro.clone(), ro.join("sub")] {
        let o = podip(&[&"run", &scenario, &"--out", &out]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains(&out.display().to_string()), "{}", stderr(&o));
        assert!(
            stderr(&o).contains("Read-only file system") || stderr(&o).contains("Permission denied"),
            "{}",
            stderr(&o)
        );
    }
    assert!(names(&ro).is_empty());
}

#[test]
fn a_full_disk_is_an_error_naming_the_file_and_leaves_nothing() {
    let dir = scratch("full");
    // One-minute samples for two days: utilization.csv alone is ~300 KB, the tmpfs 64 KB.
    let text = SMALL.replace("duration: 6h", "duration: 2d").replace("sample_every: 1h", "sample_every: 1m");
    let scenario = write(&dir, "big-output.yaml", &text);
    let disk = dir.join("disk");
    let Some(_mount) = Mount::tmpfs(&disk, "size=64k") else {
        eprintln!("skipped: cannot mount a tmpfs (the writer's unit test covers a full disk)");
        return;
    };
    let out = disk.join("out");
    let o = podip(&[&"run", &scenario, &"--out", &out]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains(&format!("cannot write {}", out.join(".utilization.csv.podip-tmp").display())), "{err}");
    assert!(err.contains("No space left on device"), "{err}");
    // The folder it created is gone again, temporaries included.
    assert!(!out.exists(), "{:?}", names(&out));
    assert!(names(&disk).is_empty(), "{:?}", names(&disk));
}

/// Small bundled scenarios whose four CSV files are pinned, as text, in
/// `tests/golden/NAME/`. A change to random streams, event ordering or the model
/// shows here first, as a line diff.
const GOLDEN: &[(&str, &[&str])] = &[
    ("kubenet-24", &["compare", "scenarios/kubenet-24.yaml", "--allocators", "kubenet,overlay"]),
    ("node-subnet-24", &["run", "scenarios/node-subnet-24.yaml"]),
    ("shared-pod-subnet", &["run", "scenarios/shared-pod-subnet.yaml"]),
    ("static-block-16n-1", &["run", "scenarios/static-block-16n-1.yaml"]),
    ("upgrade-blocked", &["run", "scenarios/upgrade-blocked.yaml"]),
    ("kubenet-27-upgrade", &["run", "scenarios/kubenet-27-upgrade.yaml", "--seed", "11"]),
    ("dynamic-scarcity", &["run", "scenarios/dynamic-scarcity.yaml"]),
    ("pod-ranges-compare", &["compare", "scenarios/pod-ranges-compare.yaml", "--allocators", "overlay,gke,calico"]),
    ("aws-compare", &["compare", "scenarios/aws-compare.yaml", "--allocators", "aws-vpc-cni,aws-prefix"]),
    ("aws-prefix-fragmentation", &["run", "scenarios/aws-prefix-fragmentation.yaml"]),
];

/// The first few lines where `actual` differs from `expected`, numbered.
fn line_diff(expected: &str, actual: &str) -> String {
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    let mut out = String::new();
    let mut shown = 0;
    for i in 0..e.len().max(a.len()) {
        let (el, al) = (e.get(i), a.get(i));
        if el != al && shown < 5 {
            shown += 1;
            out.push_str(&format!(
                "  line {}:\n    expected {}\n    actual   {}\n",
                i + 1,
                el.unwrap_or(&"(none)"),
                al.unwrap_or(&"(none)")
            ));
        }
    }
    if e.len() != a.len() {
        out.push_str(&format!("  {} lines expected, {} actual\n", e.len(), a.len()));
    }
    out
}

#[test]
fn line_diff_names_the_lines_that_differ() {
    let d = line_diff("a\nb\nc\n", "a\nB\nc\nd\n");
    assert!(d.contains("line 2:\n    expected b\n    actual   B"), "{d}");
    assert!(d.contains("line 4:\n    expected (none)\n    actual   d"), "{d}");
    assert!(d.contains("3 lines expected, 4 actual"), "{d}");
    assert_eq!(line_diff("x\n", "x\n"), "");
}

#[test]
fn bundled_scenarios_match_their_golden_outputs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let golden_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let bless = std::env::var_os("PODIP_BLESS").is_some();
    let dir = scratch("golden");
    let mut changed = Vec::new();
    for (name, args) in GOLDEN {
        let out = dir.join(name);
        let mut command = Command::new(env!("CARGO_BIN_EXE_podip"));
        command.current_dir(&root).args(*args).arg("--out").arg(&out).arg("--no-charts");
        let o = command.output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
        for csv in report::CSV_FILES {
            let actual = fs::read_to_string(out.join(csv)).unwrap();
            let path = golden_dir.join(name).join(csv);
            if bless {
                fs::create_dir_all(path.parent().unwrap()).unwrap();
                fs::write(&path, &actual).unwrap();
                continue;
            }
            let expected = fs::read_to_string(&path).unwrap_or_default();
            if expected != actual {
                changed.push(format!("{}:\n{}", path.display(), line_diff(&expected, &actual)));
            }
        }
    }
    assert!(
        changed.is_empty(),
        "outputs of bundled scenarios changed:\n{}\nIf the change is deliberate (a model fix, a new random stream), \
         acknowledge it: run `PODIP_BLESS=1 cargo test -p podip --test cli bundled_scenarios` and commit \
         crates/podip/tests/golden/ with a message saying why the numbers moved.",
        changed.join("\n")
    );
}

#[test]
fn compare_prints_every_allocators_warnings_once() {
    let dir = scratch("warnings");
    // max_pods 30 wastes 1 address per node under static-block only; the pod
    // subnet is ignored (with a warning) by kubenet only.
    let scenario = write(&dir, "small.yaml", &SMALL.replace("pod_subnet: pods}", "pod_subnet: pods, max_pods: 30}"));
    for allocators in ["dynamic,static-block,kubenet", "kubenet,static-block,dynamic"] {
        let out = dir.join(allocators.replace(',', "-"));
        let o = podip(&[&"compare", &scenario, &"--allocators", &allocators, &"--out", &out, &"--no-charts"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let err = stderr(&o);
        assert_eq!(err.matches("wasting 1 address per node").count(), 1, "{allocators}: {err}");
        assert_eq!(err.matches("ignored").count(), 1, "{allocators}: {err}");
    }
}

#[test]
fn a_result_that_cannot_be_replaced_leaves_the_earlier_results_whole() {
    let dir = scratch("replace");
    let scenario = write(&dir, "small.yaml", SMALL);
    let out = dir.join("out");
    assert_eq!(podip(&[&"run", &scenario, &"--out", &out, &"--no-charts"]).status.code(), Some(0));
    // summary.csv, renamed last, is now a folder: the run must fail before it
    // replaces any of the other files.
    fs::remove_file(out.join("summary.csv")).unwrap();
    fs::create_dir(out.join("summary.csv")).unwrap();
    let others = ["utilization.csv", "cluster.csv", "events.csv"];
    let before: Vec<Vec<u8>> = others.iter().map(|f| fs::read(out.join(f)).unwrap()).collect();
    let o = podip(&[&"run", &scenario, &"--out", &out, &"--no-charts", &"--seed", &"9", &"--force"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("summary.csv: it is not a file"), "{}", stderr(&o));
    let after: Vec<Vec<u8>> = others.iter().map(|f| fs::read(out.join(f)).unwrap()).collect();
    assert_eq!(after, before);
    assert!(temporaries(&out).is_empty(), "{:?}", temporaries(&out));
}
