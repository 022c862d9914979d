//! The output folder and the four CSV files of outputs.md.
//!
//! Guarantees (docs/outputs.md, "Output folder"):
//! - Files are written under temporary names (`.NAME.podip-tmp`), flushed to
//!   disk, and renamed into place only once all of them are complete, so a
//!   failed or killed run never leaves a partial file under a final name.
//! - The next run in the folder removes temporaries a killed run left.
//! - Results already in a folder are never replaced without `--force`; nor is a
//!   non-empty folder podip did not create written into.
//! - A run that fails leaves a folder it created as it was: gone.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use cluster::Replay;

/// The marker podip leaves in folders it created.
const MARKER: &str = ".podip-out";
/// Suffix of temporaries: distinctive, so cleaning up never touches a user's file.
const TEMP_SUFFIX: &str = ".podip-tmp";

fn is_temporary(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(TEMP_SUFFIX)
}

/// An output folder checked by [`prepare_dir`].
#[derive(Debug)]
pub struct OutDir {
    pub path: PathBuf,
    /// podip created it for this run (so a failed run removes it again).
    created: bool,
}

impl OutDir {
    /// The run failed before committing: remove the folder if this run created
    /// it and nothing else was put there meanwhile.
    pub fn abandon(self) {
        if self.created {
            let _ = fs::remove_file(self.path.join(MARKER));
            let _ = fs::remove_dir(&self.path);
        }
    }
}

/// Make sure `dir` may be written: missing (created), empty, holding only what
/// a killed podip run left (its marker and temporaries), or `force` given.
pub fn prepare_dir(dir: &Path, force: bool) -> Result<OutDir> {
    let created = match fs::metadata(dir) {
        Ok(meta) if !meta.is_dir() => bail!("{} exists and is not a folder; choose another --out", dir.display()),
        Ok(_) => {
            let entries = fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
            let mut results = Vec::new();
            for entry in entries {
                let entry = entry.with_context(|| format!("cannot read {}", dir.display()))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if name != MARKER && !is_temporary(&name) {
                    results.push(name);
                }
            }
            results.sort();
            if !results.is_empty() && !force {
                let listed = results.iter().take(3).cloned().collect::<Vec<_>>().join(", ");
                let more = if results.len() > 3 { ", …" } else { "" };
                if dir.join(MARKER).exists() {
                    bail!(
                        "{} holds the results of an earlier run ({listed}{more}); pass --force to replace them, or \
                         choose another --out",
                        dir.display()
                    );
                }
                bail!(
                    "{} is not empty ({listed}{more}) and was not created by podip; choose another --out or pass \
                     --force to write into it",
                    dir.display()
                );
            }
            false
        }
        Err(_) => {
            fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
            true
        }
    };
    let out = OutDir { path: dir.to_path_buf(), created };
    if let Err(e) = fs::write(dir.join(MARKER), b"written by podip\n") {
        out.abandon();
        return Err(e).with_context(|| format!("cannot write in {}", dir.display()));
    }
    remove_stale_temporaries(dir);
    Ok(out)
}

/// Temporaries left by a run that was killed.
fn remove_stale_temporaries(dir: &Path) {
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            if is_temporary(&entry.file_name().to_string_lossy()) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

/// Files written as temporaries, renamed into place by [`Staged::commit`];
/// dropped uncommitted, it removes them.
#[derive(Debug, Default)]
pub struct Staged {
    /// (temporary, final name), not yet renamed.
    files: Vec<(PathBuf, PathBuf)>,
}

impl Staged {
    pub fn write(&mut self, dir: &Path, name: &str, contents: &[u8]) -> Result<()> {
        let tmp = dir.join(format!(".{name}{TEMP_SUFFIX}"));
        let target = dir.join(name);
        // Listed before creating, so a failure midway still removes it.
        self.files.push((tmp.clone(), target));
        let mut file = fs::File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
        file.write_all(contents)
            .and_then(|()| file.sync_all())
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        Ok(())
    }

    pub fn commit(mut self, dir: &Path) -> Result<()> {
        // What can be known to fail fails before the first rename, so that an
        // earlier run's results are replaced whole or not at all (a rename can
        // still fail midway, e.g. on a disk error; docs/outputs.md says so).
        for (_, target) in &self.files {
            if fs::symlink_metadata(target).is_ok_and(|m| !m.is_file()) {
                bail!("cannot replace {}: it is not a file", target.display());
            }
        }
        let mut renamed = 0;
        for (tmp, target) in &self.files {
            fs::rename(tmp, target)
                .with_context(|| format!("cannot rename {} to {}", tmp.display(), target.display()))?;
            renamed += 1;
        }
        self.files.drain(..renamed);
        // Make the renames durable (best effort: not every platform can sync a folder).
        if let Ok(folder) = fs::File::open(dir) {
            let _ = folder.sync_all();
        }
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        for (tmp, _) in &self.files {
            let _ = fs::remove_file(tmp);
        }
    }
}

pub(crate) fn csv_bytes(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> Result<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(header)?;
    for row in rows {
        writer.write_record(&row)?;
    }
    writer.into_inner().map_err(|e| anyhow::anyhow!("csv: {e}"))
}

fn pct(part: u64, whole: u64) -> String {
    if whole == 0 { "0.00".to_string() } else { format!("{:.2}", 100.0 * part as f64 / whole as f64) }
}

/// Replays sorted by allocator name: every file lists allocators in this order.
pub fn sorted(replays: &[Replay]) -> Vec<&Replay> {
    let mut sorted: Vec<&Replay> = replays.iter().collect();
    sorted.sort_by(|a, b| a.allocator.cmp(&b.allocator));
    sorted
}

pub fn utilization_csv(replays: &[&Replay]) -> Result<Vec<u8>> {
    let mut rows = Vec::new();
    for replay in replays {
        for s in &replay.utilization {
            let range = &replay.ranges[s.range as usize];
            rows.push((
                s.time_s,
                &replay.allocator,
                &range.name,
                range.prefix,
                s.usable,
                s.allocated,
                s.in_use,
                s.free_blocks_28,
            ));
        }
    }
    rows.sort_by(|a, b| (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2)));
    csv_bytes(
        &[
            "time_s",
            "allocator",
            "range",
            "prefix",
            "usable",
            "allocated",
            "in_use",
            "free",
            "allocated_pct",
            "free_blocks_28",
        ],
        rows.into_iter().map(|(t, a, r, p, usable, allocated, in_use, blocks)| {
            vec![
                t.to_string(),
                a.clone(),
                r.clone(),
                p.to_string(),
                usable.to_string(),
                allocated.to_string(),
                in_use.to_string(),
                (usable - allocated).to_string(),
                pct(allocated, usable),
                blocks.to_string(),
            ]
        }),
    )
}

pub fn cluster_csv(replays: &[&Replay]) -> Result<Vec<u8>> {
    let mut rows = Vec::new();
    for replay in replays {
        for s in &replay.cluster {
            let pool = &replay.pools[s.pool as usize];
            rows.push((s.time_s, &replay.allocator, &pool.cluster, &pool.pool, *s));
        }
    }
    rows.sort_by(|a, b| (a.0, a.1, a.2, a.3).cmp(&(b.0, b.1, b.2, b.3)));
    csv_bytes(
        &["time_s", "allocator", "cluster", "pool", "nodes", "pods_running", "pods_waiting_ip", "pods_unschedulable"],
        rows.into_iter().map(|(t, a, c, p, s)| {
            vec![
                t.to_string(),
                a.clone(),
                c.clone(),
                p.clone(),
                s.nodes.to_string(),
                s.pods_running.to_string(),
                s.pods_waiting_ip.to_string(),
                s.pods_unschedulable.to_string(),
            ]
        }),
    )
}

pub fn events_csv(replays: &[&Replay]) -> Result<Vec<u8>> {
    let mut rows = Vec::new();
    for replay in replays {
        for e in &replay.events {
            rows.push((e.time_s, &replay.allocator, e));
        }
    }
    // Stable: within a second and an allocator, rows stay in the order they happened.
    rows.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    csv_bytes(
        &["time_s", "allocator", "kind", "cluster", "pool", "node", "range", "detail"],
        rows.into_iter().map(|(t, a, e)| {
            vec![
                t.to_string(),
                a.clone(),
                e.kind.as_str().to_string(),
                e.cluster.clone(),
                e.pool.clone(),
                e.node.clone(),
                e.range.clone(),
                e.detail.clone(),
            ]
        }),
    )
}

/// summary.csv's columns.
pub const SUMMARY_HEADER: [&str; 13] = [
    "allocator",
    "peak_allocated",
    "peak_allocated_pct",
    "peak_in_use",
    "first_exhaustion_s",
    "exhaustion_events",
    "nodes_failed",
    "pod_ip_waits",
    "max_pods_waiting_ip",
    "ip_efficiency_pct",
    "busiest_range",
    "first_80_pct_s",
    "first_100_pct_s",
];

/// One replay's summary.csv row (and `podip sweep`'s figures).
pub fn summary_fields(r: &Replay) -> Vec<String> {
    let s = &r.summary;
    vec![
        r.allocator.clone(),
        s.peak_allocated.to_string(),
        format!("{:.2}", s.peak_allocated_pct),
        s.peak_in_use.to_string(),
        s.first_exhaustion_s.map(|t| t.to_string()).unwrap_or_default(),
        s.exhaustion_events.to_string(),
        s.nodes_failed.to_string(),
        s.pod_ip_waits.to_string(),
        s.max_pods_waiting_ip.to_string(),
        s.ip_efficiency_pct.map(|p| format!("{p:.2}")).unwrap_or_default(),
        s.busiest_range.clone().unwrap_or_default(),
        s.first_80_pct_s.map(|t| t.to_string()).unwrap_or_default(),
        s.first_100_pct_s.map(|t| t.to_string()).unwrap_or_default(),
    ]
}

pub fn summary_csv(replays: &[&Replay]) -> Result<Vec<u8>> {
    csv_bytes(&SUMMARY_HEADER, replays.iter().map(|r| summary_fields(r)))
}

/// Write the four files of outputs.md for these replays into `dir`, and
/// unless `charts` is false an SVG per range and per pool plus `report.html`.
pub fn write_all(dir: &Path, title: &str, replays: &[Replay], table: &str, charts: bool) -> Result<()> {
    let sorted = sorted(replays);
    let mut staged = Staged::default();
    staged.write(dir, "utilization.csv", &utilization_csv(&sorted)?)?;
    staged.write(dir, "cluster.csv", &cluster_csv(&sorted)?)?;
    staged.write(dir, "events.csv", &events_csv(&sorted)?)?;
    staged.write(dir, "summary.csv", &summary_csv(&sorted)?)?;
    if charts {
        let charts = report::charts(&sorted);
        for chart in &charts {
            staged.write(dir, &chart.file_name, chart.svg.as_bytes())?;
        }
        staged.write(dir, "report.html", report::report_html(title, &sorted, &charts, table).as_bytes())?;
    }
    staged.commit(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A full disk: the temporary is a link to /dev/full, where every write
    /// fails with "No space left on device" (Linux only).
    #[cfg(target_os = "linux")]
    #[test]
    fn a_failed_write_names_the_file_and_leaves_nothing() {
        let dir = std::env::temp_dir().join(format!("podip-output-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        std::os::unix::fs::symlink("/dev/full", dir.join(".b.csv.podip-tmp")).unwrap();
        let mut staged = Staged::default();
        staged.write(&dir, "a.csv", b"x\n").unwrap();
        let e = staged.write(&dir, "b.csv", b"y\n").unwrap_err();
        let message = format!("{e:#}");
        assert!(message.contains(&format!("cannot write {}", dir.join(".b.csv.podip-tmp").display())), "{message}");
        assert!(message.contains("No space left on device"), "{message}");
        drop(staged);
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0, "temporaries removed, nothing renamed");
        fs::remove_dir_all(&dir).unwrap();
    }
}
