//! `podip plan`: print and write what `plan::plan_many` found (plan.md).
//! The planning itself is a library call; this module only loads, checks
//! limits, renders and writes.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use plan::shard::{PlanSource, ShardFile, ShardHeader};
use plan::{AllocatorPlan, Job, Plan, PlanOptions, Planner, RangePlan, ReplaySummary};
use report::human_time;
use scenario::{Mode, Overrides, Scenario};

use crate::output::{self, Staged};
use crate::{Failure, LimitOptions, bad_input};

/// `podip plan`'s own options (plan.md, "Command"), its shards' and `merge`
/// (docs/distributed.md).
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct PlanArgs {
    #[command(subcommand)]
    pub command: Option<PlanCommand>,
    /// The scenario file (YAML; docs/scenario-format.md).
    #[arg(value_name = "SCENARIO", required = true)]
    pub scenario: Option<PathBuf>,
    /// Comma-separated allocators, one plan each [default: the scenario's own].
    #[arg(long, value_delimiter = ',', value_parser = crate::ModeParser)]
    pub allocators: Vec<&'static Mode>,
    /// First seed [default: the scenario's `seed`].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Replay seeds N, N+1, …, N+K−1.
    #[arg(long, value_name = "K", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub seeds: u32,
    /// Size for this percentile (nearest rank) of the per-seed peaks; 100 is the worst seed.
    #[arg(long, value_name = "P", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub percentile: u32,
    /// Required = ceil(peak × (1 + PCT/100)); up to two decimals, e.g. 12.5.
    #[arg(long, value_name = "PCT", default_value = "0", value_parser = parse_headroom)]
    pub headroom: u32,
    /// Replays run at once [default: all cores]; results never depend on it.
    #[arg(long, value_name = "J", value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub jobs: Option<u64>,
    /// Output folder [default: out/<scenario file stem>]; a shard's file goes here too.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replace results already in the output folder, or write into a non-empty folder podip did not create.
    #[arg(long)]
    pub force: bool,
    /// Exit with status 1 if any range as written is smaller than required.
    #[arg(long)]
    pub fail_on_too_small: bool,
    /// Run only shard I of N (0-based) of one round: its replays i with i mod N = I.
    #[arg(long, value_name = "I/N", value_parser = crate::shard::parse_shard, conflicts_with = "shards")]
    pub shard: Option<(u32, u32)>,
    /// Run shard $JOB_COMPLETION_INDEX of N, as a Kubernetes Indexed Job's pod does.
    #[arg(long, value_name = "N")]
    pub shards: Option<u32>,
    /// The round a shard runs: 1 the unconstrained replays, 2 the as-written and
    /// verification replays (reads round 1's files), 3+ re-verification.
    #[arg(long, value_name = "R", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=9))]
    pub round: u32,
    /// A folder holding the earlier rounds' shard files (repeatable) [default: --out].
    #[arg(long, value_name = "DIR")]
    pub from: Vec<PathBuf>,
    #[command(flatten)]
    pub limits: LimitOptions,
}

#[derive(Debug, clap::Subcommand)]
pub enum PlanCommand {
    /// Combine the shards' files into the files one unsharded plan writes (running any round they did not).
    Merge {
        /// Folders holding plan-shard-I-of-N-round-R.txt files.
        #[arg(required = true, value_name = "DIR")]
        dirs: Vec<PathBuf>,
        /// Output folder [default: out/<scenario file stem>, as the plan's].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Replace results already in the output folder, or write into a non-empty folder podip did not create.
        #[arg(long)]
        force: bool,
        /// Replays run at once for rounds no shard ran [default: all cores].
        #[arg(long, value_name = "J", value_parser = clap::value_parser!(u64).range(1..=1024))]
        jobs: Option<u64>,
        /// Exit with status 1 if any range as written is smaller than required.
        #[arg(long)]
        fail_on_too_small: bool,
        #[command(flatten)]
        limits: LimitOptions,
    },
}

/// `12.5` → 1250 hundredths of a percent.
fn parse_headroom(s: &str) -> Result<u32, String> {
    let bad = || format!("{s:?} is not a percentage with at most two decimals between 0 and 1000, e.g. 10 or 12.5");
    let (whole, frac) = s.trim().split_once('.').unwrap_or((s.trim(), "0"));
    if whole.is_empty()
        || frac.is_empty()
        || frac.len() > 2
        || !whole.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let whole: u32 = whole.parse().map_err(|_| bad())?;
    let frac: u32 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
    if whole > 1000 || (whole == 1000 && frac > 0) {
        return Err(bad());
    }
    Ok(whole * 100 + frac)
}

fn workers(jobs: Option<u64>) -> usize {
    jobs.map_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()), |j| j as usize)
}

/// Refuse replays estimated beyond the limits: `runs` of each scenario (summary only).
fn check_limits(
    path: &Path,
    scenarios: &[Scenario],
    runs: impl Fn(usize) -> usize,
    jobs: usize,
    limits: &LimitOptions,
) -> Result<(), Failure> {
    let estimates: Vec<scenario::Estimate> = scenarios
        .iter()
        .enumerate()
        .flat_map(|(a, s)| {
            let e = scenario::Estimate { output_rows: 0.0, ..scenario::estimate(s) };
            std::iter::repeat_n(e, runs(a))
        })
        .collect();
    let exceeded = scenario::Estimate::of_replays(&estimates, jobs).exceeded(&limits.limits(), 1);
    if !exceeded.is_empty() {
        let lines: Vec<String> = exceeded.iter().map(|e| format!("{}: {e}", path.display())).collect();
        return Err(bad_input(anyhow!("{}", lines.join("\npodip: "))));
    }
    Ok(())
}

pub fn run(args: PlanArgs) -> Result<u8, Failure> {
    if let Some(PlanCommand::Merge { dirs, out, force, jobs, fail_on_too_small, limits }) = &args.command {
        return merge(dirs, out.as_deref(), *force, workers(*jobs), *fail_on_too_small, limits);
    }
    let path = args.scenario.as_deref().expect("clap requires SCENARIO without a subcommand");
    let allocators: Vec<Option<&'static Mode>> = if args.allocators.is_empty() {
        vec![None]
    } else {
        let mut unique = Vec::new();
        for &a in &args.allocators {
            if !unique.contains(&Some(a)) {
                unique.push(Some(a));
            }
        }
        unique
    };
    let shard = crate::shard::chosen(args.shard, args.shards)?;
    if shard.is_none() && (args.round != 1 || !args.from.is_empty()) {
        return Err(bad_input(anyhow!("--round and --from are a shard's: give --shard I/N or --shards N")));
    }
    let scenarios = crate::load_each(path, &allocators, args.seed)?;
    // The text, for the planned files: the user's file with only prefixes changed.
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read the file", path.display()))
        .map_err(bad_input)?;
    let jobs = workers(args.jobs);
    let options =
        PlanOptions { seeds: args.seeds, percentile: args.percentile, headroom_hundredths: args.headroom, jobs };
    let out_dir = crate::out_dir(path, args.out.as_ref());
    if let Some(shard) = shard {
        let source = PlanSource {
            path: path.display().to_string(),
            text,
            allocators: allocators.iter().flatten().map(|m| m.name.to_string()).collect(),
            seed: args.seed,
            seeds: args.seeds,
            percentile: args.percentile,
            headroom_hundredths: args.headroom,
        };
        let from = if args.from.is_empty() { vec![out_dir.clone()] } else { args.from.clone() };
        return run_shard(&scenarios, &options, &source, shard, args.round, &from, &out_dir, args.force, &args.limits);
    }

    // Each allocator and seed replays three times (unconstrained, as written,
    // verified), summary only: no output rows.
    check_limits(path, &scenarios, |_| 3 * args.seeds as usize, jobs, &args.limits)?;
    let out = output::prepare_dir(&out_dir, args.force).map_err(bad_input)?;

    let started = Instant::now();
    let plan = match plan::plan_many(&scenarios, &options) {
        Ok(plan) => plan,
        Err(e) => {
            out.abandon();
            return Err(bad_input(e.into()));
        }
    };
    let wall = started.elapsed().as_secs_f64();
    eprintln!(
        "podip: {} replays, {} events in {wall:.3} s ({:.1} replays/s)",
        plan.replays,
        plan.events,
        plan.replays as f64 / wall.max(1e-9)
    );
    conclude(out, &plan, &scenarios, &text, path, &allocators, args.fail_on_too_small)
}

/// Write a finished plan's files, print its table: the same for a whole plan and a merged one.
fn conclude(
    out: output::OutDir,
    plan: &Plan,
    scenarios: &[Scenario],
    text: &str,
    path: &Path,
    allocators: &[Option<&'static Mode>],
    fail_on_too_small: bool,
) -> Result<u8, Failure> {
    let table = render(plan);
    let title = scenarios.first().map(|s| s.name.clone()).unwrap_or_default();
    let written = write(&out.path, &title, plan, &table, text, path, allocators);
    if let Err(e) = written {
        out.abandon();
        return Err(bad_input(e));
    }
    print!("{table}");
    eprintln!("podip: wrote {}", out.path.display());
    let too_small = plan.allocators.iter().any(AllocatorPlan::too_small);
    Ok(if too_small && fail_on_too_small { 1 } else { 0 })
}

/// A shard's file name.
fn shard_file(index: u32, of: u32, round: u32) -> String {
    format!("plan-shard-{index}-of-{of}-round-{round}.txt")
}

fn fingerprint(source: &PlanSource) -> String {
    crate::shard::fingerprint(&[&source.text, &source.options_line()])
}

/// What a progress line says a job is: `verify replay of dynamic seed 43`.
fn describe(scenarios: &[Scenario], job: Job) -> String {
    let s = &scenarios[job.allocator];
    let seed = s.seed.wrapping_add(job.seed_index as u64);
    format!("{} replay of {} seed {seed}", job.kind.as_str(), plan::allocator_label(s))
}

/// Run `jobs` with a progress line per replay on stderr (`who`: `shard 1/4 round 2`).
fn run_with_progress(
    planner: &Planner,
    scenarios: &[Scenario],
    jobs: &[Job],
    workers: usize,
    who: &str,
) -> Result<Vec<ReplaySummary>, Failure> {
    let done = std::sync::atomic::AtomicUsize::new(0);
    let progress = |i: usize| {
        let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        eprintln!("podip: {who}: {} done ({n} of {})", describe(scenarios, jobs[i]), jobs.len());
    };
    planner.run_all(jobs, workers, &progress).into_iter().collect::<Result<_, _>>().map_err(|e| bad_input(e.into()))
}

/// One shard of one round: the round's replays i with i mod N = I, into
/// `plan-shard-I-of-N-round-R.txt`; rounds after the first read the earlier
/// rounds' files from `from`.
#[allow(clippy::too_many_arguments)]
fn run_shard(
    scenarios: &[Scenario],
    options: &PlanOptions,
    source: &PlanSource,
    (index, of): (u32, u32),
    round: u32,
    from: &[PathBuf],
    out_dir: &Path,
    force: bool,
    limits: &LimitOptions,
) -> Result<u8, Failure> {
    let fingerprint = fingerprint(source);
    let mut planner = Planner::new(scenarios, options).map_err(|e| bad_input(e.into()))?;
    if round > 1 {
        let files = read_shards(from).map_err(bad_input)?;
        let earlier: Vec<(PathBuf, ShardFile)> = files.into_iter().filter(|(_, f)| f.header.round < round).collect();
        let done = absorb_rounds(&mut planner, &earlier, &fingerprint).map_err(bad_input)?;
        if done + 1 != round {
            let list: Vec<String> = from.iter().map(|d| d.display().to_string()).collect();
            return Err(bad_input(anyhow!(
                "round {round} needs every shard file of rounds 1 to {} in {}; found round {} (plan-shard-I-of-N-round-{}.txt) missing",
                round - 1,
                list.join(", "),
                done + 1,
                done + 1
            )));
        }
    }
    let jobs = planner.jobs();
    let mine: Vec<Job> =
        jobs.iter().enumerate().filter(|(i, _)| i % of as usize == index as usize).map(|(_, j)| *j).collect();
    let path = Path::new(&source.path);
    check_limits(path, scenarios, |a| mine.iter().filter(|j| j.allocator == a).count(), options.jobs, limits)?;
    let file = out_dir.join(shard_file(index, of, round));
    crate::shard::refuse_existing(&file, force).map_err(bad_input)?;
    let who = format!("shard {index}/{of} round {round}");
    eprintln!("podip: {who}: {} of the round's {} replays", mine.len(), jobs.len());
    let results = run_with_progress(&planner, scenarios, &mine, options.jobs, &who)?;
    let shard = ShardFile {
        header: ShardHeader { index, of, round, replays_in_round: jobs.len(), fingerprint },
        source: source.clone(),
        results: mine.into_iter().zip(results).collect(),
    };
    crate::shard::write_whole(&file, shard.to_text().as_bytes()).map_err(bad_input)?;
    eprintln!("podip: wrote {}", file.display());
    Ok(0)
}

/// Every `plan-shard-*.txt` in `dirs`, read whole, by round then shard.
fn read_shards(dirs: &[PathBuf]) -> Result<Vec<(PathBuf, ShardFile)>> {
    let mut files = Vec::new();
    for path in crate::shard::find(dirs, "plan-shard-", ".txt", "plan-shard-I-of-N-round-R.txt")? {
        let text =
            std::fs::read_to_string(&path).with_context(|| format!("{}: cannot read the file", path.display()))?;
        let file = ShardFile::parse(&text).map_err(|e| anyhow!("{}: {e}", path.display()))?;
        if fingerprint(&file.source) != file.header.fingerprint {
            anyhow::bail!("{}: its fingerprint does not match the plan it holds (an edited file?)", path.display());
        }
        files.push((path, file));
    }
    files.sort_by_key(|(_, f)| (f.header.round, f.header.index));
    Ok(files)
}

/// Feed `planner` the rounds `files` hold, from round 1 on, each checked
/// whole: every shard of the round once, all of one plan (`fingerprint`), each
/// holding exactly its share of the round's replays. Returns the rounds taken.
fn absorb_rounds(planner: &mut Planner, files: &[(PathBuf, ShardFile)], fingerprint: &str) -> Result<u32> {
    let Some((first_path, first)) = files.first() else { return Ok(0) };
    for (path, f) in files {
        if f.header.fingerprint != fingerprint {
            anyhow::bail!(
                "{}: shard {}/{} round {} of another plan (fingerprint {}, {} seeds) than {} (fingerprint {fingerprint}, {} seeds)",
                path.display(),
                f.header.index,
                f.header.of,
                f.header.round,
                f.header.fingerprint,
                f.source.seeds,
                first_path.display(),
                first.source.seeds
            );
        }
    }
    let mut taken = 0;
    let rounds: std::collections::BTreeSet<u32> = files.iter().map(|(_, f)| f.header.round).collect();
    for round in rounds {
        let shards: Vec<&(PathBuf, ShardFile)> = files.iter().filter(|(_, f)| f.header.round == round).collect();
        let (path0, f0) = shards[0];
        if round != taken + 1 {
            anyhow::bail!(
                "{}: a shard of round {round}, but no shard files of round {} (plan-shard-I-of-N-round-{}.txt)",
                path0.display(),
                taken + 1,
                taken + 1
            );
        }
        let of = f0.header.of;
        if let Some((path, f)) = shards.iter().find(|(_, f)| f.header.of != of) {
            anyhow::bail!(
                "{}: shard {}/{} of round {round}, but {} is shard {}/{of} of it: one round's shards share N",
                path.display(),
                f.header.index,
                f.header.of,
                path0.display(),
                f0.header.index
            );
        }
        crate::shard::check_complete(
            shards.iter().map(|(p, f)| (p.as_path(), f.header.index)),
            of,
            &shard_file(0, of, round).replace("-0-of-", "-I-of-"),
        )?;
        let jobs = planner.jobs();
        let mut results: Vec<Option<ReplaySummary>> = vec![None; jobs.len()];
        for (path, f) in &shards {
            let mine: Vec<usize> = (0..jobs.len()).filter(|i| i % of as usize == f.header.index as usize).collect();
            let same = f.header.replays_in_round == jobs.len()
                && f.results.len() == mine.len()
                && mine.iter().zip(&f.results).all(|(&i, (job, _))| jobs[i] == *job);
            if !same {
                anyhow::bail!(
                    "{}: shard {}/{of} of round {round} holds {} replays of a round of {}, not this plan's {} of {} (a shard of another plan?)",
                    path.display(),
                    f.header.index,
                    f.results.len(),
                    f.header.replays_in_round,
                    mine.len(),
                    jobs.len()
                );
            }
            for (&i, (_, replay)) in mine.iter().zip(&f.results) {
                results[i] = Some(replay.clone());
            }
        }
        let results: Vec<ReplaySummary> = results.into_iter().map(|r| r.expect("every shard checked")).collect();
        planner.absorb(results)?;
        taken = round;
    }
    Ok(taken)
}

/// `podip plan merge DIR…`: the plan the shards' files make, its last rounds
/// run here if no shard ran them, written as one unsharded plan writes it.
fn merge(
    dirs: &[PathBuf],
    out: Option<&Path>,
    force: bool,
    jobs: usize,
    fail_on_too_small: bool,
    limits: &LimitOptions,
) -> Result<u8, Failure> {
    let files = read_shards(dirs).map_err(bad_input)?;
    let (first_path, first) = &files[0];
    let source = first.source.clone();
    let fingerprint = first.header.fingerprint.clone();
    let path = PathBuf::from(&source.path);
    let mut allocators: Vec<Option<&'static Mode>> = Vec::new();
    for name in &source.allocators {
        let mode = modes::find(name)
            .ok_or_else(|| bad_input(anyhow!("{}: unknown allocator {name:?}", first_path.display())))?;
        allocators.push(Some(mode));
    }
    if allocators.is_empty() {
        allocators.push(None);
    }
    let scenarios = crate::parse_each(&source.text, &source.path, &allocators, source.seed)?;
    let options = PlanOptions {
        seeds: source.seeds,
        percentile: source.percentile,
        headroom_hundredths: source.headroom_hundredths,
        jobs,
    };
    let mut planner = Planner::new(&scenarios, &options).map_err(|e| bad_input(e.into()))?;
    let rounds = absorb_rounds(&mut planner, &files, &fingerprint).map_err(bad_input)?;
    let next = planner.jobs();
    check_limits(&path, &scenarios, |a| next.iter().filter(|j| j.allocator == a).count(), jobs, limits)?;
    let out =
        output::prepare_dir(&crate::out_dir(&path, out.map(Path::to_path_buf).as_ref()), force).map_err(bad_input)?;
    let shards = files.len();
    let mut here = 0;
    loop {
        let jobs_left = planner.jobs();
        if jobs_left.is_empty() {
            break;
        }
        let who = format!("merge round {}", planner.round());
        eprintln!("podip: {who}: no shard ran it; {} replays here", jobs_left.len());
        let results = match run_with_progress(&planner, &scenarios, &jobs_left, jobs, &who) {
            Ok(results) => results,
            Err(e) => {
                out.abandon();
                return Err(e);
            }
        };
        here += results.len();
        if let Err(e) = planner.absorb(results) {
            out.abandon();
            return Err(bad_input(e.into()));
        }
    }
    let plan = planner.finish();
    eprintln!(
        "podip: merged {shards} shard files of {rounds} round(s), {here} replays run here: {} replays, {} events",
        plan.replays, plan.events
    );
    conclude(out, &plan, &scenarios, &source.text, &path, &allocators, fail_on_too_small)
}

fn write(
    dir: &Path,
    title: &str,
    plan: &Plan,
    table: &str,
    text: &str,
    path: &Path,
    allocators: &[Option<&'static Mode>],
) -> Result<()> {
    let mut staged = Staged::default();
    staged.write(dir, "plan.csv", &plan_csv(plan)?)?;
    staged.write(dir, "plan-breakdown.csv", &breakdown_csv(plan)?)?;
    for (allocator_plan, allocator) in plan.allocators.iter().zip(allocators) {
        if let Some(planned) = &allocator_plan.planned {
            let yaml = planned_yaml(text, path, planned, *allocator)?;
            staged.write(dir, &format!("planned-{}.yaml", allocator_plan.allocator), yaml.as_bytes())?;
        }
    }
    staged.write(dir, "report.html", report::plan_html(title, plan, table).as_bytes())?;
    staged.commit(dir)
}

/// The user's file with the planned prefixes (and, for `--allocators`, the
/// allocator) written in, checked by loading it back: it must validate and
/// mean exactly the planned scenario.
fn planned_yaml(text: &str, path: &Path, planned: &Scenario, allocator: Option<&'static Mode>) -> Result<String> {
    let label = path.display().to_string();
    let original = scenario::parse_str(text, &label, &Overrides { allocator, seed: Some(planned.seed) })
        .map_err(|e| anyhow!("{e}"))?
        .scenario;
    let mut edits = scenario::Edits::default();
    for (before, after) in original.network.subnets.iter().zip(&planned.network.subnets) {
        if before.prefix != after.prefix {
            edits.subnets.push((after.name.clone(), after.prefix));
        }
    }
    for (i, (before, after)) in original.clusters.iter().zip(&planned.clusters).enumerate() {
        if before.pod_cidr != after.pod_cidr {
            edits.pod_cidrs.push((i, after.pod_cidr));
        }
    }
    // The file replays under the planned allocator without `--allocator`.
    if let Some(kind) = allocator {
        let as_written = scenario::parse_str(text, &label, &Overrides::default()).ok();
        if as_written.is_none_or(|l| l.scenario.clusters.iter().any(|c| c.allocator != kind)) {
            edits.allocator = Some(kind);
        }
    }
    let yaml =
        scenario::rewrite(text, &edits).map_err(|e| anyhow!("{label}: cannot write the planned scenario: {e}"))?;
    let reloaded = scenario::parse_str(&yaml, &label, &Overrides { allocator: None, seed: Some(planned.seed) })
        .map_err(|e| anyhow!("the planned scenario does not load (a bug in podip): {e}"))?;
    if &reloaded.scenario != planned {
        anyhow::bail!("the planned scenario written for {label} does not load as planned (a bug in podip)");
    }
    Ok(yaml)
}

fn prefix_len(p: Option<u8>) -> String {
    p.map(|p| format!("/{p}")).unwrap_or_default()
}

fn opt(v: Option<u64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// Allocator × range rows, sorted by allocator then range.
fn rows(plan: &Plan) -> Vec<(&AllocatorPlan, &RangePlan)> {
    let mut rows: Vec<(&AllocatorPlan, &RangePlan)> =
        plan.allocators.iter().flat_map(|a| a.ranges.iter().map(move |r| (a, r))).collect();
    rows.sort_by(|(a, r), (b, s)| (&a.allocator, &r.name).cmp(&(&b.allocator, &s.name)));
    rows
}

fn plan_csv(plan: &Plan) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "allocator",
        "range",
        "kind",
        "current_prefix",
        "current_capacity",
        "seeds",
        "peak_p50",
        "peak_p90",
        "peak_max",
        "required",
        "smallest_prefix",
        "proposed_prefix",
        "verdict",
        "peak_time_s",
        "exhausted_seeds",
        "first_exhaustion_p50_s",
        // Appended (outputs.md allows extra columns after those listed).
        "peak_seed",
        "smallest_capacity",
        "breakdown",
        "doing",
    ])?;
    for (a, r) in rows(plan) {
        let smallest_capacity = r.smallest_prefix.and_then(|p| plan::layout::capacity(r.unit, p));
        let (breakdown, doing) = match &r.explanation {
            Some(e) => (e.sum(), e.doing.join("; ")),
            None => (String::new(), String::new()),
        };
        w.write_record([
            a.allocator.clone(),
            r.name.clone(),
            r.kind().to_string(),
            r.current.to_string(),
            r.current_capacity.to_string(),
            a.seeds.len().to_string(),
            r.peak_p50.to_string(),
            r.peak_p90.to_string(),
            r.peak_max.to_string(),
            r.required.to_string(),
            prefix_len(r.smallest_prefix),
            r.proposed.map(|p| p.to_string()).unwrap_or_default(),
            r.verdict.as_str().to_string(),
            opt(r.peak_time_s),
            r.exhausted_seeds.to_string(),
            opt(r.first_exhaustion_p50_s),
            r.peak_seed.to_string(),
            opt(smallest_capacity),
            breakdown,
            doing,
        ])?;
    }
    w.into_inner().map_err(|e| anyhow!("csv: {e}"))
}

/// One row per term of each range's peak: pools' nodes × what each holds, the
/// reserved addresses and any transient ones; `addresses` adds up to the sum
/// the prefix must hold.
fn breakdown_csv(plan: &Plan) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["allocator", "range", "seed", "time_s", "item", "nodes", "each", "addresses", "what"])?;
    for (a, r) in rows(plan) {
        let Some(e) = &r.explanation else { continue };
        let row = |item: &str, nodes: String, each: String, addresses: u64, what: &str| {
            vec![
                a.allocator.clone(),
                r.name.clone(),
                r.peak_seed.to_string(),
                e.time_s.to_string(),
                item.to_string(),
                nodes,
                each,
                addresses.to_string(),
                what.to_string(),
            ]
        };
        for t in &e.terms {
            w.write_record(row(
                &t.pool,
                t.nodes.to_string(),
                t.each.to_string(),
                u64::from(t.nodes) * t.each,
                &t.what,
            ))?;
        }
        if e.transient > 0 {
            w.write_record(row(
                "transient",
                String::new(),
                String::new(),
                e.transient,
                "taken within the peak's event by an operation that then failed",
            ))?;
        }
        if e.reserved > 0 {
            let what = if e.reserved == 5 {
                "reserved by Azure"
            } else {
                "the subnet's first and last /28 (hold Azure's 5 reserved)"
            };
            w.write_record(row("reserved", String::new(), String::new(), e.reserved, what))?;
        }
    }
    w.into_inner().map_err(|e| anyhow!("csv: {e}"))
}

/// The table printed on stdout: one column per allocator, rows per range;
/// then why each number is what it is, the risk as written and the failures
/// no size fixes.
pub fn render(plan: &Plan) -> String {
    use plan::thousands as n;
    let allocators = &plan.allocators;
    let mut names: Vec<&str> = Vec::new();
    for a in allocators {
        for r in &a.ranges {
            if !names.contains(&r.name.as_str()) {
                names.push(&r.name);
            }
        }
    }
    let mut rows: Vec<(String, Vec<String>)> =
        vec![("allocator".into(), allocators.iter().map(|a| a.allocator.clone()).collect())];
    for name in &names {
        let cell = |f: &dyn Fn(&RangePlan) -> String| -> Vec<String> {
            allocators
                .iter()
                .map(|a| a.ranges.iter().find(|r| r.name == *name).map_or_else(|| "n/a".to_string(), f))
                .collect()
        };
        rows.push((
            name.to_string(),
            cell(&|r| {
                format!("{} → {}", r.current, r.smallest_prefix.map_or_else(|| "none".to_string(), |p| format!("/{p}")))
            }),
        ));
        rows.push(("  required".into(), cell(&|r| n(r.required))));
        rows.push((
            "  peak at".into(),
            cell(&|r| match r.peak_time_s {
                Some(t) => format!("{} at {} (seed {})", n(r.peak), human_time(t), r.peak_seed),
                None => "0".into(),
            }),
        ));
        rows.push((
            "  proposed".into(),
            cell(&|r| {
                format!("{} ({})", r.proposed.map_or_else(|| "-".to_string(), |p| p.to_string()), r.verdict.as_str())
            }),
        ));
        rows.push(("  current usable".into(), cell(&|r| n(r.current_capacity))));
    }
    rows.push((
        "exhausted as written".into(),
        allocators.iter().map(|a| format!("{} of {} seeds", a.risk.exhausted_seeds, a.seeds.len())).collect(),
    ));
    let t = |v: Option<u64>| v.map_or_else(|| "-".to_string(), human_time);
    rows.push((
        "  first P10/P50/P90".into(),
        allocators
            .iter()
            .map(|a| {
                format!(
                    "{} / {} / {}",
                    t(a.risk.first_exhaustion_p10_s),
                    t(a.risk.first_exhaustion_p50_s),
                    t(a.risk.first_exhaustion_p90_s)
                )
            })
            .collect(),
    ));
    rows.push((
        "verified".into(),
        allocators
            .iter()
            .map(|a| match (&a.verification, &a.planned) {
                (Some(v), Some(_)) => format!("{} of {} seeds clean", v.seeds_clean, v.seeds_held),
                _ => "does-not-fit".into(),
            })
            .collect(),
    ));
    let mut out = grid(&rows);

    out.push_str("\nwhy:\n");
    for a in allocators {
        for r in &a.ranges {
            let Some(e) = &r.explanation else {
                if r.peak == 0 {
                    out.push_str(&format!("  {} {}: nothing allocated\n", a.allocator, r.name));
                }
                continue;
            };
            let target = match r.smallest_prefix.and_then(|p| plan::layout::capacity(r.unit, p).map(|c| (p, c))) {
                Some((p, c)) => format!("/{p} ({} usable)", n(c)),
                None => "no allowed prefix".into(),
            };
            let headroom =
                if r.required > r.peak { format!(", required {} with headroom", n(r.required)) } else { String::new() };
            out.push_str(&format!("  {} {}: {}{headroom} → {target}\n", a.allocator, r.name, e.sum()));
            out.push_str(&format!("    at {}: {}\n", human_time(e.time_s), e.doing.join("; ")));
            if r.grown_by_verification > 0 {
                out.push_str(&format!(
                    "    grown {} bit(s) beyond the peak by verification (fragmentation)\n",
                    r.grown_by_verification
                ));
            }
        }
        if let (Some(space), true) = (a.needs_address_space, a.planned.is_none()) {
            out.push_str(&format!("  {}: does-not-fit: the subnets need a /{space} of address space\n", a.allocator));
        }
        if let (Some(space), true) = (a.needs_pod_space, a.planned.is_none()) {
            out.push_str(&format!("  {}: does-not-fit: the pod CIDRs need a /{space}\n", a.allocator));
        }
        for u in &a.unfixable {
            out.push_str(&format!(
                "  {}: {} in {}/{} (no size fixes it): {} of {} seeds, first at {}: {}\n",
                a.allocator,
                u.kind,
                u.cluster,
                u.pool,
                u.seeds,
                a.seeds.len(),
                human_time(u.first_s),
                u.detail
            ));
        }
    }
    out.push_str("times: days and hh:mm[:ss] of simulated time (plan.csv has them in seconds)\n");
    out
}

fn grid(rows: &[(String, Vec<String>)]) -> String {
    let label_width = rows.iter().map(|(label, _)| label.chars().count()).max().unwrap_or(0);
    let columns = rows.first().map_or(0, |(_, c)| c.len());
    let widths: Vec<usize> =
        (0..columns).map(|c| rows.iter().map(|(_, cells)| cells[c].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for (label, cells) in rows {
        let mut line = format!("{label:<label_width$}");
        for (cell, w) in cells.iter().zip(&widths) {
            let pad = w - cell.chars().count();
            line.push_str(&format!("  {cell}{}", " ".repeat(pad)));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headroom_takes_up_to_two_decimals() {
        assert_eq!(parse_headroom("0"), Ok(0));
        assert_eq!(parse_headroom("10"), Ok(1_000));
        assert_eq!(parse_headroom("12.5"), Ok(1_250));
        assert_eq!(parse_headroom("0.01"), Ok(1));
        assert_eq!(parse_headroom("1000"), Ok(100_000));
        for bad in ["", "-1", "1.234", "abc", "1e3", "1000.5", ".5", "5."] {
            assert!(parse_headroom(bad).is_err(), "{bad:?}");
        }
    }
}
