//! `podip`: replay AKS clusters' lives under pluggable pod IP allocators.
//!
//! Exit status (outputs.md): 0 success; 1 the run hit an exhaustion event and
//! `--fail-on-exhaustion` was given; 2 bad input, usage or a write error
//! (nothing written under a final name).

mod importer;
mod output;
mod planner;
mod shard;
mod sweeper;
mod table;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Result, anyhow};
use clap::{Parser, Subcommand};
use cluster::Replay;
use scenario::{Limits, Mode, Overrides};

#[derive(Debug, Parser)]
#[command(name = "podip", version, about = "Replay AKS clusters' lives and compare pod IP allocators")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Args)]
struct RunOptions {
    /// Master seed (overrides the scenario's `seed`).
    #[arg(long)]
    seed: Option<u64>,
    /// Output folder [default: out/<scenario file stem>].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Replace results already in the output folder, or write into a non-empty folder podip did not create.
    #[arg(long)]
    force: bool,
    /// Exit with status 1 if the run logs any exhaustion event.
    #[arg(long)]
    fail_on_exhaustion: bool,
    /// Write only the CSV files: no SVG charts, no report.html.
    #[arg(long)]
    no_charts: bool,
    /// Recheck every address count and pod's bookkeeping after every event (slow; for debugging podip).
    #[arg(long)]
    check_invariants: bool,
    /// Log pod-unschedulable once per pod in events.csv, not once per episode of its workload.
    #[arg(long)]
    per_pod_unschedulable: bool,
    #[command(flatten)]
    limits: LimitOptions,
}

/// The resource limits a scenario is checked against before anything runs.
#[derive(Debug, clap::Args)]
struct LimitOptions {
    /// Refuse a scenario estimated to hold more pods alive at once (all replays running together).
    #[arg(long, value_name = "N", default_value_t = Limits::DEFAULT.max_live_pods as u64)]
    max_live_pods: u64,
    /// Refuse a scenario estimated to queue more simulation events at once.
    #[arg(long, value_name = "N", default_value_t = Limits::DEFAULT.max_pending_events as u64)]
    max_pending_events: u64,
    /// Refuse a scenario estimated to process more simulation events in all.
    #[arg(long, value_name = "N", default_value_t = Limits::DEFAULT.max_events as u64)]
    max_events: u64,
    /// Refuse a scenario estimated to write more rows to utilization.csv and cluster.csv.
    #[arg(long, value_name = "N", default_value_t = Limits::DEFAULT.max_output_rows as u64)]
    max_output_rows: u64,
}

impl LimitOptions {
    fn limits(&self) -> Limits {
        Limits {
            max_live_pods: self.max_live_pods as f64,
            max_pending_events: self.max_pending_events as f64,
            max_events: self.max_events as f64,
            max_output_rows: self.max_output_rows as f64,
        }
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Replay one scenario and write utilization.csv, cluster.csv, events.csv and summary.csv.
    Run {
        /// The scenario file (YAML; docs/scenario-format.md).
        scenario: PathBuf,
        /// Use this allocator for every cluster.
        #[arg(long, value_parser = ModeParser)]
        allocator: Option<&'static Mode>,
        #[command(flatten)]
        options: RunOptions,
    },
    /// Replay one scenario once per allocator and print them side by side.
    Compare {
        /// The scenario file (YAML; docs/scenario-format.md).
        scenario: PathBuf,
        /// Comma-separated allocators, e.g. node-subnet,dynamic,static-block.
        #[arg(long, value_delimiter = ',', required = true, value_parser = ModeParser)]
        allocators: Vec<&'static Mode>,
        #[command(flatten)]
        options: RunOptions,
    },
    /// The smallest subnets and pod CIDRs that survive the scenario, per allocator, over many seeds.
    Plan(planner::PlanArgs),
    /// Replay a scenario at every point of a product of axes (allocators, seeds, counts, prefixes, rates).
    Sweep(sweeper::SweepArgs),
    /// Write a scenario from a real cluster's JSON.
    #[command(subcommand)]
    Import(importer::ImportCommand),
    /// List the networking modes (the registry), as a Markdown table.
    Modes,
    /// Print the JSON Schema (draft 2020-12) of the scenario format, for editors.
    Schema,
    /// Check scenarios without running them.
    Validate {
        /// Scenario files, or folders: every *.yaml and *.yml under them, in name order.
        #[arg(required = true, value_name = "SCENARIO")]
        scenarios: Vec<PathBuf>,
        /// Validate as if every cluster used this allocator.
        #[arg(long, value_parser = ModeParser)]
        allocator: Option<&'static Mode>,
    },
}

/// An allocator name on the command line: one of the registry's, which the
/// help lists with each mode's cloud name.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ModeParser;

impl clap::builder::TypedValueParser for ModeParser {
    type Value = &'static Mode;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<&'static Mode, clap::Error> {
        let name = value.to_string_lossy();
        modes::find(&name).ok_or_else(|| {
            let message = format!("unknown allocator {name:?}; expected one of {}\n", modes::names());
            clap::Error::raw(clap::error::ErrorKind::InvalidValue, message).with_cmd(cmd)
        })
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(modes::ALL.iter().map(|mode| clap::builder::PossibleValue::new(mode.name).help(mode.cloud_name))))
    }
}

/// A failure and the exit status it maps to.
struct Failure {
    status: u8,
    error: anyhow::Error,
}

fn bad_input(error: anyhow::Error) -> Failure {
    Failure { status: 2, error }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run_command(cli.command) {
        Ok(status) => ExitCode::from(status),
        Err(Failure { status, error }) => {
            eprintln!("podip: {error:#}");
            ExitCode::from(status)
        }
    }
}

fn run_command(command: Command) -> Result<u8, Failure> {
    match command {
        Command::Validate { scenarios, allocator } => validate(&scenarios, allocator),
        Command::Modes => {
            print!("{}", modes::table());
            Ok(0)
        }
        Command::Schema => {
            print!("{}", scenario::schema_text());
            Ok(0)
        }
        Command::Plan(args) => planner::run(args),
        Command::Import(command) => importer::run(command),
        Command::Sweep(args) => sweeper::run(args),
        Command::Run { scenario, allocator, options } => {
            let (replays, out) = replay_each(&scenario, &[allocator], &options)?;
            finish(out, replays, &options, false)
        }
        Command::Compare { scenario, allocators, options } => {
            let mut unique = Vec::new();
            for a in allocators {
                if !unique.contains(&Some(a)) {
                    unique.push(Some(a));
                }
            }
            let (replays, out) = replay_each(&scenario, &unique, &options)?;
            finish(out, replays, &options, true)
        }
    }
}

fn validate(paths: &[PathBuf], allocator: Option<&'static Mode>) -> Result<u8, Failure> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let found = scenario_files(path).map_err(|e| bad_input(anyhow!("{}: {e}", path.display())))?;
            if found.is_empty() {
                return Err(bad_input(anyhow!("{}: no scenarios (*.yaml, *.yml) in this folder", path.display())));
            }
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    let overrides = Overrides { allocator, seed: None };
    let mut status = 0;
    for path in &files {
        match scenario::load(path, &overrides) {
            Ok(loaded) => {
                for warning in &loaded.warnings {
                    eprintln!("{warning}");
                }
                println!("ok: {}", path.display());
            }
            Err(error) => {
                for warning in &error.warnings {
                    eprintln!("{warning}");
                }
                eprintln!("{error}");
                status = 2;
            }
        }
    }
    Ok(status)
}

/// The *.yaml and *.yml files under `dir`, in path order (hidden entries skipped).
fn scenario_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?.map(|e| e.map(|e| e.path())).collect::<Result<_, _>>()?;
    entries.sort();
    for path in entries {
        if path.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) {
            continue;
        }
        if path.is_dir() {
            found.extend(scenario_files(&path)?);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            found.push(path);
        }
    }
    Ok(found)
}

/// Load the scenario once per allocator (the allocator changes validation and
/// defaults; `None` keeps the file's own).
fn load_each(
    path: &Path,
    allocators: &[Option<&'static Mode>],
    seed: Option<u64>,
) -> Result<Vec<scenario::Scenario>, Failure> {
    load_each_with(allocators, seed, |overrides| scenario::load(path, overrides))
}

/// [`load_each`] of a scenario's text (`label` names it), as `podip plan merge`
/// has it from the shards' files.
fn parse_each(
    text: &str,
    label: &str,
    allocators: &[Option<&'static Mode>],
    seed: Option<u64>,
) -> Result<Vec<scenario::Scenario>, Failure> {
    load_each_with(allocators, seed, |overrides| scenario::parse_str(text, label, overrides))
}

fn load_each_with(
    allocators: &[Option<&'static Mode>],
    seed: Option<u64>,
    load: impl Fn(&Overrides) -> Result<scenario::Loaded, scenario::LoadError>,
) -> Result<Vec<scenario::Scenario>, Failure> {
    let mut scenarios = Vec::new();
    let mut warnings = Vec::new();
    for &allocator in allocators {
        let overrides = Overrides { allocator, seed };
        let loaded = load(&overrides).map_err(|e| bad_input(anyhow!("{e}")))?;
        warnings.extend(loaded.warnings.into_iter().map(|w| (allocator, w)));
        scenarios.push(loaded.scenario);
    }
    for line in merged_warnings(&warnings) {
        eprintln!("{line}");
    }
    Ok(scenarios)
}

/// Warnings of one scenario loaded under several allocators, each printed once:
/// those that differ only by the allocator's name become one line naming them
/// all ("ignored by the node-subnet, kubenet and overlay allocators"), in the
/// order first seen.
fn merged_warnings(warnings: &[(Option<&'static Mode>, scenario::Diagnostic)]) -> Vec<String> {
    const NAME: &str = "\u{0}";
    // (the warning with the allocator's name replaced, the names it came with)
    let mut groups: Vec<(scenario::Diagnostic, Vec<&'static str>)> = Vec::new();
    for (allocator, warning) in warnings {
        let mut template = warning.clone();
        if let Some(mode) = allocator {
            template.message = template.message.replace(mode.name, NAME);
        }
        let name = allocator.map(|m| m.name);
        match groups.iter_mut().find(|(t, _)| *t == template) {
            Some((_, names)) => names.extend(name.filter(|n| !names.contains(n))),
            None => groups.push((template, name.into_iter().collect())),
        }
    }
    groups
        .into_iter()
        .map(|(mut warning, names)| {
            let joined = match names.as_slice() {
                [] => String::new(),
                [one] => (*one).to_string(),
                [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
            };
            let plural = if names.len() > 1 { format!("{joined} allocators") } else { format!("{joined} allocator") };
            warning.message = warning.message.replace(&format!("{NAME} allocator"), &plural).replace(NAME, &joined);
            warning.to_string()
        })
        .collect()
}

/// Load the scenario once per allocator, then replay them all, in parallel
/// where cores allow.
fn replay_each(
    path: &Path,
    allocators: &[Option<&'static Mode>],
    options: &RunOptions,
) -> Result<(Vec<Replay>, output::OutDir), Failure> {
    let scenarios = load_each(path, allocators, options.seed)?;
    // One worker per core at most, each taking the next replay: results do not
    // depend on which worker ran what, and at most `workers` worlds are in memory.
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(scenarios.len()).max(1);
    // Refuse a run too large for the limits before anything is written.
    let estimates: Vec<scenario::Estimate> = scenarios.iter().map(scenario::estimate).collect();
    let exceeded = scenario::Estimate::of_replays(&estimates, workers).exceeded(&options.limits.limits(), 1);
    if !exceeded.is_empty() {
        let lines: Vec<String> = exceeded.iter().map(|e| format!("{}: {e}", path.display())).collect();
        return Err(bad_input(anyhow!("{}", lines.join("\npodip: "))));
    }
    // Checked before the replay, so an unwritable folder fails fast.
    let out = output::prepare_dir(&out_dir(path, options.out.as_ref()), options.force).map_err(bad_input)?;

    let started = Instant::now();
    let progress = Progress::new(&scenarios.iter().map(|s| s.duration).collect::<Vec<_>>());
    let replay_options = cluster::Options {
        check_invariants: options.check_invariants,
        per_pod_unschedulable: options.per_pod_unschedulable,
        ..cluster::Options::default()
    };
    let next = std::sync::atomic::AtomicUsize::new(0);
    let slots: Vec<std::sync::Mutex<Option<Result<Replay, cluster::ReplayError>>>> =
        scenarios.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(s) = scenarios.get(i) else { break };
                    let result = cluster::replay_with(s, replay_options.clone(), &mut |p| progress.advance(i, p));
                    *slots[i].lock().expect("no worker panics holding a slot") = Some(result);
                }
            });
        }
    });
    progress.finish();
    let results: Vec<Result<Replay, cluster::ReplayError>> = slots
        .into_iter()
        .map(|slot| slot.into_inner().expect("no worker panics holding a slot").expect("every replay ran"))
        .collect();
    let replays = match results.into_iter().collect::<Result<Vec<_>, _>>() {
        Ok(replays) => replays,
        Err(e) => {
            out.abandon();
            return Err(bad_input(e.into()));
        }
    };
    let events: u64 = replays.iter().map(|r| r.events_processed).sum();
    let wall = started.elapsed().as_secs_f64();
    eprintln!(
        "podip: {events} events in {wall:.3} s ({:.0} events/s), peak memory {}",
        events as f64 / wall.max(1e-9),
        peak_memory().unwrap_or_else(|| "unknown".into())
    );
    Ok((replays, out))
}

fn out_dir(path: &Path, out: Option<&PathBuf>) -> PathBuf {
    out.cloned().unwrap_or_else(|| {
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "scenario".into());
        Path::new("out").join(stem)
    })
}

fn finish(out: output::OutDir, replays: Vec<Replay>, options: &RunOptions, print_table: bool) -> Result<u8, Failure> {
    let table = table::render(&output::sorted(&replays));
    let title = replays.first().map(|r| r.scenario_name.clone()).unwrap_or_default();
    if let Err(e) = output::write_all(&out.path, &title, &replays, &table, !options.no_charts) {
        out.abandon();
        return Err(bad_input(e));
    }
    if print_table {
        print!("{table}");
    }
    eprintln!("podip: wrote {}", out.path.display());
    let exhausted = replays.iter().any(|r| r.summary.exhaustion_events > 0);
    Ok(if exhausted && options.fail_on_exhaustion { 1 } else { 0 })
}

/// The process's peak resident memory, from /proc (Linux only).
fn peak_memory() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(format!("{:.1} MiB", kib as f64 / 1024.0))
}

/// A progress bar on stderr when it is a terminal; silent otherwise: simulated
/// time done of the total over all replays, and events per second.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    total: u64,
    started: Instant,
    /// Per replay: (simulated seconds done, events processed).
    done: std::sync::Mutex<Vec<(u64, u64)>>,
}

impl Progress {
    fn new(durations: &[u64]) -> Self {
        let total: u64 = durations.iter().sum();
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(total.max(1));
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {percent:>3}% simulated  {msg}  {elapsed_precise} elapsed",
                )
                .expect("valid template"),
            );
            bar
        });
        Self { bar, total, started: Instant::now(), done: std::sync::Mutex::new(vec![(0, 0); durations.len()]) }
    }

    fn advance(&self, replay: usize, progress: cluster::Progress) {
        let Some(bar) = &self.bar else { return };
        let mut done = self.done.lock().expect("progress lock");
        done[replay] = (progress.simulated_s, progress.events);
        let (simulated, events) = done.iter().fold((0, 0), |(s, e), &(ds, de)| (s + ds, e + de));
        bar.set_position(simulated.min(self.total));
        let rate = events as f64 / self.started.elapsed().as_secs_f64().max(1e-3);
        bar.set_message(format!("{:.2} M events/s", rate / 1e6));
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
