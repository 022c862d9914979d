//! A shard's file: the results of one round's replays with index i mod N = I
//! (docs/distributed.md), as text. No I/O here: the binary finds, reads,
//! checks and writes the files.
//!
//! ```text
//! # podip plan shard I/N round R of J replays, fingerprint F
//! {"path":…,"text":…,"allocators":[…],"seed":…,"seeds":…,"percentile":…,"headroom_hundredths":…}
//! {"job":{"kind":"unconstrained","allocator":0,"seed_index":3},"replay":{…}}
//! …
//! # end of podip plan shard I/N round R: M replays
//! ```
//! Line 2 is what the plan was asked, so a merge needs only the files; each
//! later line is one replay's [`ReplaySummary`] (JSON, integers and strings
//! only: it round-trips exactly); the end line tells a whole file from a
//! truncated one.

use serde::{Deserialize, Serialize};

use crate::{Job, ReplaySummary};

/// What a plan was asked: enough to make the same plan anywhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanSource {
    /// The scenario file as given on the command line (it names the scenario
    /// in messages and the default output folder).
    pub path: String,
    /// The scenario file's text.
    pub text: String,
    /// `--allocators`, in order; empty for the scenario's own.
    pub allocators: Vec<String>,
    /// `--seed`, if given.
    pub seed: Option<u64>,
    pub seeds: u32,
    pub percentile: u32,
    pub headroom_hundredths: u32,
}

impl PlanSource {
    /// The options as one line (what a fingerprint hashes besides the text).
    pub fn options_line(&self) -> String {
        format!(
            "allocators={} seed={} seeds={} percentile={} headroom={}",
            self.allocators.join(","),
            self.seed.map_or_else(|| "-".to_string(), |s| s.to_string()),
            self.seeds,
            self.percentile,
            self.headroom_hundredths
        )
    }
}

/// Which shard of which round a file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardHeader {
    pub index: u32,
    pub of: u32,
    /// The plan's round ([`crate::Planner::round`]), from 1.
    pub round: u32,
    /// Replays in the whole round, over all its shards.
    pub replays_in_round: usize,
    /// Of the scenario text and options (the binary computes it).
    pub fingerprint: String,
}

/// One shard's file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardFile {
    pub header: ShardHeader,
    pub source: PlanSource,
    /// This shard's replays, in round order.
    pub results: Vec<(Job, ReplaySummary)>,
}

/// Why a text is not a whole shard file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    #[error("not a podip plan shard: {0}")]
    NotAShard(String),
    #[error("line {line}: {message}")]
    Line { line: usize, message: String },
    #[error("truncated: no end line after {0} replays")]
    Truncated(usize),
    #[error("truncated: the end line says {said} replays, the file holds {found}")]
    Miscounted { said: usize, found: usize },
}

/// A replay line as read back ([`LineRef`] writes it without copying).
#[derive(Deserialize)]
struct Line {
    job: Job,
    replay: ReplaySummary,
}

const START: &str = "# podip plan shard ";
const END: &str = "# end of podip plan shard ";

impl ShardFile {
    pub fn to_text(&self) -> String {
        let h = &self.header;
        let mut text = format!(
            "{START}{}/{} round {} of {} replays, fingerprint {}\n",
            h.index, h.of, h.round, h.replays_in_round, h.fingerprint
        );
        text.push_str(&serde_json::to_string(&self.source).expect("plain data serialises"));
        text.push('\n');
        for (job, replay) in &self.results {
            text.push_str(&serde_json::to_string(&LineRef { job, replay }).expect("a summary serialises"));
            text.push('\n');
        }
        text.push_str(&format!("{END}{}/{} round {}: {} replays\n", h.index, h.of, h.round, self.results.len()));
        text
    }

    pub fn parse(text: &str) -> Result<Self, ShardError> {
        let not = |what: &str| ShardError::NotAShard(what.to_string());
        let mut lines = text.split('\n').enumerate();
        let (_, first) = lines.next().ok_or_else(|| not("empty"))?;
        // "# podip plan shard I/N round R of J replays, fingerprint F"
        let rest = first.strip_prefix(START).ok_or_else(|| not("no `# podip plan shard` first line"))?;
        let (shard, rest) = rest.split_once(" round ").ok_or_else(|| not("no round"))?;
        let (round, rest) = rest.split_once(" of ").ok_or_else(|| not("no replay count"))?;
        let (replays, fingerprint) = rest.split_once(" replays, fingerprint ").ok_or_else(|| not("no fingerprint"))?;
        let (index, of) = shard.split_once('/').ok_or_else(|| not("no I/N"))?;
        let number = |s: &str, what: &str| s.parse::<u64>().map_err(|_| not(&format!("a bad {what} `{s}`")));
        let header = ShardHeader {
            index: number(index, "shard index")? as u32,
            of: number(of, "shard count")? as u32,
            round: number(round, "round")? as u32,
            replays_in_round: number(replays, "replay count")? as usize,
            fingerprint: fingerprint.to_string(),
        };
        if header.of == 0 || header.index >= header.of || header.round == 0 {
            return Err(not(&format!("shard {shard} round {round}")));
        }
        let bad = |line: usize, e: serde_json::Error| ShardError::Line { line: line + 1, message: e.to_string() };
        let (n, source) = lines.next().ok_or(ShardError::Truncated(0))?;
        let source: PlanSource =
            serde_json::from_str(source).map_err(|e| if e.is_eof() { ShardError::Truncated(0) } else { bad(n, e) })?;
        let mut results = Vec::new();
        let end = format!("{END}{}/{} round {}: ", header.index, header.of, header.round);
        for (n, line) in lines.by_ref() {
            if let Some(count) = line.strip_prefix(&end) {
                let said = count.strip_suffix(" replays").and_then(|c| c.parse().ok());
                if said != Some(results.len()) {
                    return Err(ShardError::Miscounted { said: said.unwrap_or(usize::MAX), found: results.len() });
                }
                // The end line ends with a newline, and nothing follows it.
                return match (lines.next(), lines.next()) {
                    (Some((_, "")), None) => Ok(ShardFile { header, source, results }),
                    (None, _) => Err(ShardError::Truncated(results.len())),
                    (Some((n, _)), _) => {
                        Err(ShardError::Line { line: n + 1, message: "text after the end line".into() })
                    }
                };
            }
            let parsed: Line = serde_json::from_str(line).map_err(|e| {
                if line.is_empty() || e.is_eof() { ShardError::Truncated(results.len()) } else { bad(n, e) }
            })?;
            results.push((parsed.job, parsed.replay));
        }
        Err(ShardError::Truncated(results.len()))
    }
}

#[derive(Serialize)]
struct LineRef<'a> {
    job: &'a Job,
    replay: &'a ReplaySummary,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FirstEvent, JobKind, RangePeak, Snapshot};

    fn file() -> ShardFile {
        let replay = ReplaySummary {
            events_processed: u64::MAX,
            first_exhaustion_s: Some(86_400),
            ranges: vec![RangePeak {
                name: "nodes".into(),
                peak_allocated: 279,
                peak_transient: 280,
                peak_at_s: Some(172_800),
                peak_event: 12_345_678_901,
            }],
            pools: vec![("prod".into(), "user \"quoted\", with a\nnewline".into())],
            events: vec![FirstEvent {
                time_s: 0,
                kind: "node-ip-exhausted".into(),
                size_dependent: true,
                cluster: "prod".into(),
                pool: "user".into(),
                range: "nodes".into(),
                detail: "— unicode, commas, \"quotes\"".into(),
            }],
            snapshots: vec![Snapshot {
                event: 7,
                range: 0,
                time_s: 3,
                allocated: 279,
                holders: vec![(0, 9, 31)],
                doing: vec!["upgrade of prod/user".into()],
            }],
        };
        ShardFile {
            header: ShardHeader {
                index: 1,
                of: 3,
                round: 2,
                replays_in_round: 5,
                fingerprint: "0123456789abcdef".into(),
            },
            source: PlanSource {
                path: "scenarios/x.yaml".into(),
                text: "name: x\n# a comment\n".into(),
                allocators: vec!["dynamic".into()],
                seed: Some(u64::MAX),
                seeds: 20,
                percentile: 90,
                headroom_hundredths: 1_250,
            },
            results: vec![
                (Job { kind: JobKind::Verify, allocator: 0, seed_index: 1 }, replay.clone()),
                (Job { kind: JobKind::AsWritten, allocator: 0, seed_index: 4 }, replay),
            ],
        }
    }

    #[test]
    fn a_shard_file_round_trips_exactly() {
        let file = file();
        let text = file.to_text();
        assert!(text.starts_with("# podip plan shard 1/3 round 2 of 5 replays, fingerprint 0123456789abcdef\n"));
        assert!(text.ends_with("# end of podip plan shard 1/3 round 2: 2 replays\n"));
        assert_eq!(text.lines().count(), 5, "header, source, 2 replays, end:\n{text}");
        assert_eq!(ShardFile::parse(&text).unwrap(), file);
    }

    #[test]
    fn a_truncated_or_foreign_file_is_refused() {
        let text = file().to_text();
        for cut in [text.len() - 1, text.rfind("# end").unwrap(), text.len() / 2, 80] {
            let e = ShardFile::parse(&text[..cut]).unwrap_err();
            assert!(matches!(e, ShardError::Truncated(_) | ShardError::Miscounted { .. }), "cut at {cut}: {e}");
            assert!(e.to_string().starts_with("truncated"), "{e}");
        }
        let fewer = text.replace(": 2 replays\n", ": 3 replays\n");
        assert_eq!(ShardFile::parse(&fewer).unwrap_err(), ShardError::Miscounted { said: 3, found: 2 });
        let e = ShardFile::parse("point,allocator\n0,dynamic\n").unwrap_err();
        assert!(e.to_string().starts_with("not a podip plan shard"), "{e}");
        let e = ShardFile::parse(&text.replace("shard 1/3 round 2 of", "shard 3/3 round 2 of")).unwrap_err();
        assert!(matches!(e, ShardError::NotAShard(_)), "{e}");
        let broken = text.replacen("\"kind\":\"verify\"", "\"kind\":\"guess\"", 1);
        assert!(matches!(ShardFile::parse(&broken).unwrap_err(), ShardError::Line { line: 3, .. }));
    }
}
