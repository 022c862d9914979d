//! `podip sweep`: replay a base scenario at every point of a product of axes
//! (`scenario::Sweep`) and write one sweep.csv row per point; `--shard I/N`
//! runs the points p with p mod N = I (interleaved, so every shard gets a like
//! share of every axis) and writes a partial file that `podip sweep merge`
//! combines into exactly the bytes one unsharded run writes (docs/distributed.md).

use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};

use crate::output::{SUMMARY_HEADER, csv_bytes, summary_fields};
use crate::{Failure, bad_input, shard};

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct SweepArgs {
    #[command(subcommand)]
    pub command: Option<SweepCommand>,
    /// The sweep spec (YAML; docs/distributed.md): a base scenario and the axes to vary.
    #[arg(value_name = "SPEC", required = true)]
    pub spec: Option<PathBuf>,
    /// Output folder [default: out/<spec file stem>].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Run only shard I of N (0-based): the points p with p mod N = I.
    #[arg(long, value_name = "I/N", value_parser = crate::shard::parse_shard, conflicts_with = "shards")]
    pub shard: Option<(u32, u32)>,
    /// Run shard $JOB_COMPLETION_INDEX of N, as a Kubernetes Indexed Job's pod does.
    #[arg(long, value_name = "N")]
    pub shards: Option<u32>,
    /// Replays run at once [default: the machine's cores].
    #[arg(long, value_name = "J")]
    pub jobs: Option<usize>,
    /// Replace this run's own file (sweep.csv, or this shard's) if it exists.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, clap::Subcommand)]
pub enum SweepCommand {
    /// Combine the shards' files into the sweep.csv one unsharded run writes.
    Merge {
        /// Folders holding sweep-shard-I-of-N.csv files.
        #[arg(required = true, value_name = "DIR")]
        dirs: Vec<PathBuf>,
        /// Where sweep.csv goes [default: the first DIR].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Replace sweep.csv if it exists.
        #[arg(long)]
        force: bool,
    },
}

pub fn run(args: SweepArgs) -> Result<u8, Failure> {
    if let Some(SweepCommand::Merge { dirs, out, force }) = args.command {
        return merge(&dirs, out.as_deref(), force).map_err(bad_input);
    }
    let spec_path = args.spec.clone().expect("clap requires SPEC without a subcommand");
    let shard = shard::chosen(args.shard, args.shards)?;
    let read = |path: &Path| {
        std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read the file", path.display()))
            .map_err(bad_input)
    };
    let spec_text = read(&spec_path)?;
    let label = spec_path.display().to_string();
    let sweep = scenario::parse_sweep(&spec_text, &label).map_err(|e| bad_input(anyhow!("{e}")))?;
    let base = spec_path.parent().unwrap_or(Path::new(".")).join(&sweep.scenario);
    let base_text = read(&base)?;

    // The base loaded once per allocator the sweep names (or as written).
    let allocators: Vec<Option<&'static scenario::Mode>> = match sweep.axes.iter().find_map(|a| match a {
        scenario::Axis::Allocators(v) => Some(v.clone()),
        _ => None,
    }) {
        Some(v) => v.into_iter().map(Some).collect(),
        None => vec![None],
    };
    let loaded = crate::load_each(&base, &allocators, None)?;

    // Every point of this shard, built and validated before anything runs.
    let (index, of) = shard.unwrap_or((0, 1));
    let selected: Vec<usize> = (0..sweep.points()).filter(|p| p % of as usize == index as usize).collect();
    let mut scenarios = Vec::with_capacity(selected.len());
    for &p in &selected {
        let coords = sweep.coords(p);
        let which = sweep.allocator(&coords).map_or(0, |m| allocators.iter().position(|a| *a == Some(m)).unwrap_or(0));
        let mut s = loaded[which].clone();
        let values: Vec<String> =
            sweep.axes.iter().zip(&coords).map(|(a, &i)| format!("{}={}", a.column(), a.value(i))).collect();
        let at = format!("{label}: point {p} ({})", values.join(", "));
        for (axis, &i) in sweep.axes.iter().zip(&coords) {
            axis.apply(&mut s, i).map_err(|e| bad_input(anyhow!("{at}: {e}")))?;
        }
        let s = scenario::validate(&s, &at).map_err(|e| bad_input(anyhow!("{e}")))?.scenario;
        scenarios.push(s);
    }

    let out_dir = args.out.clone().unwrap_or_else(|| {
        let stem = spec_path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "sweep".into());
        Path::new("out").join(stem)
    });
    let file = match shard {
        None => out_dir.join("sweep.csv"),
        Some((i, n)) => out_dir.join(format!("sweep-shard-{i}-of-{n}.csv")),
    };
    shard::refuse_existing(&file, args.force).map_err(bad_input)?;

    // Replays on `jobs` workers, each result in its point's slot.
    let jobs = args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())).max(1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done = std::sync::atomic::AtomicUsize::new(0);
    let slots: Vec<std::sync::Mutex<Option<PointResult>>> =
        scenarios.iter().map(|_| std::sync::Mutex::new(None)).collect();
    let shard_name = shard.map_or_else(|| "sweep".to_string(), |(i, n)| format!("shard {i}/{n}"));
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(scenarios.len()).max(1) {
            scope.spawn(|| {
                loop {
                    let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(s) = scenarios.get(k) else { break };
                    let options = cluster::Options { summary_only: true, ..cluster::Options::default() };
                    let result = cluster::replay_with(s, options, &mut |_| {})
                        .map(|r| summary_fields(&r))
                        .map_err(|e| format!("point {}: {e}", selected[k]));
                    *slots[k].lock().expect("no worker panics holding a slot") = Some(result);
                    let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                    eprintln!("podip: {shard_name}: point {} done ({n} of {})", selected[k], scenarios.len());
                }
            });
        }
    });
    let has_allocator_axis = sweep.axes.iter().any(|a| matches!(a, scenario::Axis::Allocators(_)));
    let mut header: Vec<String> = vec!["point".into()];
    header.extend(sweep.axes.iter().map(scenario::Axis::column));
    let summary_from = usize::from(has_allocator_axis);
    header.extend(SUMMARY_HEADER[summary_from..].iter().map(|s| s.to_string()));
    let mut rows = Vec::with_capacity(selected.len());
    for (k, slot) in slots.into_iter().enumerate() {
        let fields = slot
            .into_inner()
            .expect("no worker panics")
            .expect("every point ran")
            .map_err(|e| bad_input(anyhow!(e)))?;
        let p = selected[k];
        let mut row = vec![p.to_string()];
        row.extend(sweep.axes.iter().zip(sweep.coords(p)).map(|(a, i)| a.value(i)));
        row.extend(fields.into_iter().skip(summary_from));
        rows.push(row);
    }
    let header_refs: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut bytes = csv_bytes(&header_refs, rows).map_err(bad_input)?;
    if let Some((i, n)) = shard {
        let line = format!(
            "# podip sweep shard {i}/{n} of {} points, fingerprint {}\n",
            sweep.points(),
            shard::fingerprint(&[&spec_text, &base_text])
        );
        bytes.splice(0..0, line.into_bytes());
    }
    shard::write_whole(&file, &bytes).map_err(bad_input)?;
    eprintln!("podip: wrote {}", file.display());
    Ok(0)
}

/// A point's summary fields, or why its replay failed.
type PointResult = Result<Vec<String>, String>;

/// One shard's file, read back.
struct Shard {
    path: PathBuf,
    index: u32,
    of: u32,
    points: usize,
    fingerprint: String,
    header: String,
    rows: Vec<(usize, String)>,
}

fn read_shard(path: &Path) -> anyhow::Result<Shard> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read the file", path.display()))?;
    let bad = |what: &str| anyhow!("{}: not a podip sweep shard: {what}", path.display());
    let mut lines = text.split_inclusive('\n');
    let first = lines.next().ok_or_else(|| bad("empty"))?;
    // "# podip sweep shard I/N of P points, fingerprint F"
    let rest = first.trim_end().strip_prefix("# podip sweep shard ").ok_or_else(|| bad("no shard line"))?;
    let (shard, rest) = rest.split_once(" of ").ok_or_else(|| bad("no `of`"))?;
    let (points, fp) = rest.split_once(" points, fingerprint ").ok_or_else(|| bad("no fingerprint"))?;
    let (index, of) = shard::parse_shard(shard).map_err(|e| bad(&e))?;
    let header = lines.next().ok_or_else(|| bad("no header"))?.to_string();
    let mut rows = Vec::new();
    for line in lines {
        let point = line.split(',').next().and_then(|p| p.parse().ok()).ok_or_else(|| bad("a row without a point"))?;
        rows.push((point, line.to_string()));
    }
    Ok(Shard {
        path: path.to_path_buf(),
        index,
        of,
        points: points.parse().map_err(|_| bad("a bad point count"))?,
        fingerprint: fp.to_string(),
        header,
        rows,
    })
}

/// Every shard of one sweep, once each, into sweep.csv.
fn merge(dirs: &[PathBuf], out: Option<&Path>, force: bool) -> anyhow::Result<u8> {
    let shards = shard::find(dirs, "sweep-shard-", ".csv", "sweep-shard-I-of-N.csv")?
        .iter()
        .map(|path| read_shard(path))
        .collect::<anyhow::Result<Vec<Shard>>>()?;
    let first = &shards[0];
    let (of, points, fp, header) = (first.of, first.points, first.fingerprint.clone(), first.header.clone());
    for s in &shards {
        if s.of != of || s.fingerprint != fp || s.points != points || s.header != header {
            bail!(
                "{}: shard {}/{} of another sweep (fingerprint {}, {} points) than {} ({}/{}, fingerprint {fp}, {points} points)",
                s.path.display(),
                s.index,
                s.of,
                s.fingerprint,
                s.points,
                first.path.display(),
                first.index,
                of
            );
        }
        let expected = (0..points).filter(|p| p % of as usize == s.index as usize).count();
        if s.rows.len() != expected {
            bail!("{}: {} rows, but shard {}/{of} has {expected} points", s.path.display(), s.rows.len(), s.index);
        }
    }
    shard::check_complete(
        shards.iter().map(|s| (s.path.as_path(), s.index)),
        of,
        &format!("sweep-shard-I-of-{of}.csv"),
    )?;
    let mut rows: Vec<(usize, String)> = shards.into_iter().flat_map(|s| s.rows).collect();
    rows.sort_by_key(|r| r.0);
    let mut text = header;
    for (_, row) in rows {
        text.push_str(&row);
    }
    let file = out.unwrap_or(&dirs[0]).join("sweep.csv");
    shard::refuse_existing(&file, force)?;
    shard::write_whole(&file, text.as_bytes())?;
    eprintln!("podip: wrote {}", file.display());
    Ok(0)
}
