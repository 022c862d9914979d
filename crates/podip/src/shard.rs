//! What `podip sweep`'s and `podip plan`'s shards share (docs/distributed.md):
//! `--shard I/N` and `--shards N` with the index an Indexed Job sets, the
//! fingerprint that tells one run's shards from another's, writing a file
//! whole, and finding the shards' files and checking a set is complete.

use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};

use crate::{Failure, bad_input};

/// `I/N` with 0 ≤ I < N.
pub fn parse_shard(s: &str) -> Result<(u32, u32), String> {
    let bad = || format!("`{s}` is not I/N with 0 ≤ I < N, like 0/4");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (i, n): (u32, u32) = (i.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
    if n == 0 || i >= n {
        return Err(bad());
    }
    Ok((i, n))
}

/// The shard a run is: `--shard I/N`, or `--shards N` with the index from
/// `JOB_COMPLETION_INDEX` (set by a Kubernetes Indexed Job); `None` for a whole run.
pub fn chosen(shard: Option<(u32, u32)>, shards: Option<u32>) -> Result<Option<(u32, u32)>, Failure> {
    match (shard, shards) {
        (Some(s), _) => Ok(Some(s)),
        (None, Some(n)) => {
            let index = std::env::var("JOB_COMPLETION_INDEX")
                .map_err(|_| bad_input(anyhow!("--shards {n} needs JOB_COMPLETION_INDEX (set by an Indexed Job)")))?;
            let shard =
                parse_shard(&format!("{index}/{n}")).map_err(|e| bad_input(anyhow!("JOB_COMPLETION_INDEX: {e}")))?;
            Ok(Some(shard))
        }
        (None, None) => Ok(None),
    }
}

/// FNV-1a 64 of `parts` (each followed by a 0 byte): shards of one run carry
/// it, so a merge refuses a shard of another.
pub fn fingerprint(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.bytes().chain([0]) {
            h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

/// Refuse to replace `file` unless `force`.
pub fn refuse_existing(file: &Path, force: bool) -> anyhow::Result<()> {
    if file.exists() && !force {
        bail!("{}: exists; pass --force to replace it", file.display());
    }
    Ok(())
}

/// Write `bytes` to `path` whole or not at all (`PATH.partial`, renamed).
pub fn write_whole(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create the folder", dir.display()))?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".partial");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path)).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        anyhow!("{}: cannot write: {e}", path.display())
    })
}

/// The files in `dirs` (not below) named `PREFIX…SUFFIX`, each folder's in
/// name order; none at all is an error naming `pattern`.
pub fn find(dirs: &[PathBuf], prefix: &str, suffix: &str, pattern: &str) -> anyhow::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for dir in dirs {
        let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("{}: cannot read the folder", dir.display()))?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        names.sort();
        found.extend(names.into_iter().filter(|path| {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            name.starts_with(prefix) && name.ends_with(suffix)
        }));
    }
    if found.is_empty() {
        let list: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        bail!("no {pattern} files in {}", list.join(", "));
    }
    Ok(found)
}

/// Every shard 0…N−1 exactly once among `shards` (file, index); `pattern`
/// names the files (`sweep-shard-I-of-3.csv`).
pub fn check_complete<'a>(
    shards: impl IntoIterator<Item = (&'a Path, u32)>,
    of: u32,
    pattern: &str,
) -> anyhow::Result<()> {
    let mut seen: Vec<Option<&Path>> = vec![None; of as usize];
    for (path, index) in shards {
        if let Some(other) = seen[index as usize] {
            bail!("shard {index}/{of} twice: {} and {}", other.display(), path.display());
        }
        seen[index as usize] = Some(path);
    }
    let missing: Vec<String> =
        seen.iter().enumerate().filter(|(_, s)| s.is_none()).map(|(i, _)| i.to_string()).collect();
    if !missing.is_empty() {
        bail!("shards missing: {} of {of} ({pattern} for I = {})", missing.len(), missing.join(", "));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_sets_are_checked() {
        assert_eq!(parse_shard("2/3"), Ok((2, 3)));
        for bad in ["3/3", "0/0", "1", "a/2", "-1/2"] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
        assert_eq!(fingerprint(&["a", "b"]), fingerprint(&["a", "b"]));
        assert_ne!(fingerprint(&["ab", ""]), fingerprint(&["a", "b"]), "parts are separated");
        let (a, b) = (Path::new("a"), Path::new("b"));
        assert!(check_complete([(a, 0), (b, 1)], 2, "x").is_ok());
        let e = check_complete([(a, 0), (b, 0)], 2, "x").unwrap_err().to_string();
        assert_eq!(e, "shard 0/2 twice: a and b");
        let e = check_complete([(a, 1)], 3, "f-I-of-3").unwrap_err().to_string();
        assert_eq!(e, "shards missing: 2 of 3 (f-I-of-3 for I = 0, 2)");
    }
}
