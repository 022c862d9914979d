//! Text edits to a scenario file: new prefixes, and optionally one allocator for
//! every cluster, written into the user's own text.
//!
//! `podip plan` writes its proposal as the user's file with only the planned values
//! changed, so that comments, key order, quoting and layout survive and the two
//! files diff cleanly. Serialising the parsed scenario again would lose all that;
//! instead every edit is a splice: a scalar replaced where it stands, or one
//! `key: value` inserted into a mapping (a line of its own in a block mapping, an
//! entry in a flow mapping).
//!
//! Positions come from `yaml.rs` (the only module that knows the YAML backend),
//! one re-read of the text per lookup; the extent of a scalar is scanned here,
//! which needs only the few token rules of scalars. Whatever this module gets
//! wrong, the result cannot be: the rewritten text is parsed again and must read
//! as the original with exactly the asked-for values changed, or [`rewrite`]
//! fails instead of returning it.

use std::collections::BTreeMap;

use ipnet::Ipv4Net;

use crate::diag::FieldPath;
use crate::model::Mode;
use crate::raw::{RawAllocator, RawScenario};
use crate::yaml;

/// Edits to a scenario file's text: new prefixes, and optionally one allocator for every cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Edits {
    /// `network.subnets.<name>`: the new prefix of each named subnet.
    pub subnets: Vec<(String, Ipv4Net)>,
    /// `clusters[i].pod_cidr` by cluster index: replaced if the key is present, inserted into that cluster's mapping if absent.
    pub pod_cidrs: Vec<(usize, Ipv4Net)>,
    /// Some(a): the top-level `allocator` becomes `a` (replaced, or inserted as a top-level key if absent) and every `clusters[i].allocator` key present is replaced by `a`.
    pub allocator: Option<&'static Mode>,
}

/// Why a scenario text could not be rewritten. Each names the field path it
/// concerns; the text itself is never half-edited (nothing is returned).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RewriteError {
    #[error("the file is larger than {} MiB, the limit for a scenario", yaml::MAX_BYTES / (1024 * 1024))]
    TooLarge,
    /// The text does not parse as a scenario (the parser's message, with its field path and position).
    #[error("the file does not read as a scenario: {0}")]
    Unreadable(String),
    #[error("network.subnets.{name}: the file has no subnet of that name; its subnets: {known}")]
    UnknownSubnet { name: String, known: String },
    #[error("clusters[{index}]: the file has {count} cluster(s), so no cluster at index {index}")]
    UnknownCluster { index: usize, count: usize },
    /// Two edits of the same value that disagree.
    #[error("{path}: edited twice, to {first} and to {second}")]
    Conflict { path: String, first: String, second: String },
    #[error("{path}: the value could not be found in the text")]
    NotLocated { path: String },
    /// The value (or a mapping holding it) is written in a way that an in-place
    /// edit could not change alone: `what` says how.
    #[error("{path}: {what}; podip rewrites only values written out in place")]
    Unsupported { path: String, what: &'static str },
    #[error("{path}: found no place in this mapping to insert `{key}`")]
    NoInsertionPoint { path: String, key: String },
    #[error("{first} and {second}: the two edits overlap in the text")]
    Overlap { first: String, second: String },
    /// Locating a value re-reads the whole file; this bounds the work.
    #[error(
        "too many edits for a file of {bytes} bytes: locating each one re-reads the file, and they would re-read \
         more than {} MiB",
        PROBE_BUDGET_BYTES / (1024 * 1024)
    )]
    TooManyEdits { bytes: usize },
    #[error("the rewritten file would be larger than {} MiB, the limit for a scenario", yaml::MAX_BYTES / (1024 * 1024))]
    OutputTooLarge,
    /// The safety net: the rewritten text did not read back as the original with
    /// the edits applied (a layout this module does not handle). Not expected.
    #[error("the rewritten file does not read back as intended ({0}); the file's layout there is not supported")]
    Mismatch(String),
}

/// Bytes re-read in all while locating values (one full read per lookup).
const PROBE_BUDGET_BYTES: usize = 512 * 1024 * 1024;

/// `text` with `edits` applied; every byte not holding an edited value stays as
/// it was. A replaced scalar keeps its quoting style; an inserted `pod_cidr` goes
/// right after the cluster's `name` and an inserted `allocator` right before
/// `network` where the layout allows (elsewhere in the same mapping if not).
///
/// A subnet named twice in the file (which validation rejects) is edited where it
/// is first named, the entry loading reads.
pub fn rewrite(text: &str, edits: &Edits) -> Result<String, RewriteError> {
    if text.len() > yaml::MAX_BYTES {
        return Err(RewriteError::TooLarge);
    }
    let raw = yaml::parse(text).map_err(|f| RewriteError::Unreadable(describe(&f)))?;
    let subnets = dedup(edits.subnets.iter().map(|(n, p)| (n.clone(), *p)), |n| format!("network.subnets.{n}"))?;
    let pod_cidrs = dedup(edits.pod_cidrs.iter().copied(), |i| format!("clusters[{i}].pod_cidr"))?;

    // Every edit takes at least one lookup, most take two or three: fail at once
    // when even that would exceed the budget, rather than after the work.
    let budget = PROBE_BUDGET_BYTES / text.len().max(1);
    let allocators = edits.allocator.map_or(0, |_| 2 + raw.clusters.iter().filter(|c| c.allocator.is_some()).count());
    if subnets.len() + 2 * pod_cidrs.len() + allocators > budget {
        return Err(RewriteError::TooManyEdits { bytes: text.len() });
    }
    let mut e = Editor { text, splices: Vec::new(), checked: Vec::new(), probes_left: budget };
    let root = FieldPath::root();

    for (name, net) in &subnets {
        if !raw.network.subnets.0.iter().any(|(n, _)| n == name) {
            let names: Vec<&str> = raw.network.subnets.0.iter().map(|(n, _)| n.as_str()).collect();
            let known = if names.is_empty() { "none".to_owned() } else { names.join(", ") };
            return Err(RewriteError::UnknownSubnet { name: name.clone(), known });
        }
        let path = root.key("network").key("subnets").key(name);
        e.replace(&path, &net.to_string())?;
    }
    for (i, net) in &pod_cidrs {
        let Some(rc) = raw.clusters.get(*i) else {
            return Err(RewriteError::UnknownCluster { index: *i, count: raw.clusters.len() });
        };
        let cluster = root.key("clusters").index(*i);
        e.set(&cluster, "pod_cidr", rc.pod_cidr.is_some(), &net.to_string(), Place::After("name"))?;
    }
    if let Some(a) = edits.allocator {
        e.set(&root, "allocator", raw.allocator.is_some(), a.name, Place::Before("network"))?;
        for (i, rc) in raw.clusters.iter().enumerate() {
            if rc.allocator.is_some() {
                e.replace(&root.key("clusters").index(i).key("allocator"), a.name)?;
            }
        }
    }
    let out = e.apply()?;

    if out.len() > yaml::MAX_BYTES {
        return Err(RewriteError::OutputTooLarge);
    }
    let got = yaml::parse(&out).map_err(|f| RewriteError::Mismatch(format!("it does not parse: {}", describe(&f))))?;
    let want = expected(raw, &subnets, &pod_cidrs, edits.allocator);
    // Debug text equates NaN with NaN, which `==` does not (a rate of .nan is
    // for validation to reject, not for the rewrite to trip over).
    if got != want && format!("{got:?}") != format!("{want:?}") {
        return Err(RewriteError::Mismatch(format!("{} differs", first_difference(&got, &want))));
    }
    Ok(out)
}

/// A parse failure as one line: path, message, position.
fn describe(f: &yaml::ParseFailure) -> String {
    let mut s = String::new();
    if !f.path.is_empty() {
        s.push_str(&f.path);
        s.push_str(": ");
    }
    s.push_str(&f.message);
    if let Some(l) = f.location
        && !f.message.contains(" at line ")
    {
        s.push_str(&format!(" at line {} column {}", l.line, l.column));
    }
    s
}

/// Edits in first-seen order, one per target; repeating an edit is harmless,
/// contradicting one is an error.
fn dedup<K: Ord + Clone>(
    items: impl Iterator<Item = (K, Ipv4Net)>,
    path: impl Fn(&K) -> String,
) -> Result<Vec<(K, Ipv4Net)>, RewriteError> {
    let mut seen: BTreeMap<K, Ipv4Net> = BTreeMap::new();
    let mut out = Vec::new();
    for (k, net) in items {
        match seen.get(&k) {
            Some(first) if *first != net => {
                return Err(RewriteError::Conflict {
                    path: path(&k),
                    first: first.to_string(),
                    second: net.to_string(),
                });
            }
            Some(_) => {}
            None => {
                seen.insert(k.clone(), net);
                out.push((k, net));
            }
        }
    }
    Ok(out)
}

/// The original document as the rewritten one must read.
fn expected(
    mut raw: RawScenario,
    subnets: &[(String, Ipv4Net)],
    pod_cidrs: &[(usize, Ipv4Net)],
    allocator: Option<&'static Mode>,
) -> RawScenario {
    for (name, net) in subnets {
        if let Some(entry) = raw.network.subnets.0.iter_mut().find(|(n, _)| n == name) {
            entry.1 = net.to_string();
        }
    }
    for (i, net) in pod_cidrs {
        if let Some(c) = raw.clusters.get_mut(*i) {
            c.pod_cidr = Some(net.to_string());
        }
    }
    if let Some(a) = allocator {
        let a = raw_allocator(a);
        raw.allocator = Some(a);
        for c in &mut raw.clusters {
            if c.allocator.is_some() {
                c.allocator = Some(a);
            }
        }
    }
    raw
}

fn raw_allocator(a: &'static Mode) -> RawAllocator {
    RawAllocator(a)
}

/// Which part of the document a failed read-back differs in, for the message.
fn first_difference(got: &RawScenario, want: &RawScenario) -> String {
    if got.allocator != want.allocator {
        return "allocator".to_owned();
    }
    if got.network != want.network {
        return "network".to_owned();
    }
    if got.clusters.len() != want.clusters.len() {
        return "clusters".to_owned();
    }
    if let Some(i) = got.clusters.iter().zip(&want.clusters).position(|(g, w)| g != w) {
        return format!("clusters[{i}]");
    }
    "the rest of the file".to_owned()
}

/// Where an inserted key goes, when the mapping's layout allows.
#[derive(Debug, Clone, Copy)]
enum Place {
    /// Right after this key's entry (before the key that follows it).
    After(&'static str),
    /// Right before this key.
    Before(&'static str),
}

/// One edit of the text: bytes `start..end` become `with`.
#[derive(Debug)]
struct Splice {
    start: usize,
    end: usize,
    with: String,
    /// The field path edited, for messages.
    path: String,
}

struct Editor<'t> {
    text: &'t str,
    splices: Vec<Splice>,
    /// Paths of mappings already checked to carry no anchor, alias or tag.
    checked: Vec<FieldPath>,
    /// Lookups left within [`PROBE_BUDGET_BYTES`].
    probes_left: usize,
}

impl Editor<'_> {
    fn probe(&mut self) -> Result<(), RewriteError> {
        self.probes_left =
            self.probes_left.checked_sub(1).ok_or(RewriteError::TooManyEdits { bytes: self.text.len() })?;
        Ok(())
    }

    fn node_start(&mut self, path: &FieldPath) -> Result<Option<usize>, RewriteError> {
        self.probe()?;
        Ok(yaml::node_start(self.text, path))
    }

    fn key_start(&mut self, path: &FieldPath, key: &str) -> Result<Option<usize>, RewriteError> {
        self.probe()?;
        Ok(yaml::key_start(self.text, path, key))
    }

    fn mapping_keys(&mut self, path: &FieldPath) -> Result<Option<Vec<String>>, RewriteError> {
        self.probe()?;
        Ok(yaml::mapping_keys(self.text, path))
    }

    /// Every mapping and sequence on the way to `path` is written out in place:
    /// an anchored one might be aliased elsewhere (and an alias reads as its
    /// anchor's text), so an edit inside it would change more than asked.
    fn check_parents(&mut self, path: &FieldPath) -> Result<(), RewriteError> {
        for n in 0..path.0.len() {
            let parent = FieldPath(path.0[..n].to_vec());
            if self.checked.contains(&parent) {
                continue;
            }
            let at = self.node_start(&parent)?.ok_or_else(|| not_located(&parent))?;
            if let Some(what) = properties(self.text, at) {
                return Err(RewriteError::Unsupported { path: shown(&parent), what });
            }
            self.checked.push(parent);
        }
        Ok(())
    }

    /// The scalar at `path` becomes `value`, in the same quoting style.
    fn replace(&mut self, path: &FieldPath, value: &str) -> Result<(), RewriteError> {
        self.check_parents(path)?;
        let start = self.node_start(path)?.ok_or_else(|| not_located(path))?;
        let (end, style) = scalar_extent(self.text, start).map_err(|what| match what {
            Some(what) => RewriteError::Unsupported { path: shown(path), what },
            None => not_located(path),
        })?;
        let with = match style {
            Style::Plain => value.to_owned(),
            Style::Double => format!("\"{value}\""),
            Style::Single => format!("'{value}'"),
        };
        self.splices.push(Splice { start, end, with, path: path.to_string() });
        Ok(())
    }

    /// `key` of the mapping at `mapping` becomes `value`: replaced when it has a
    /// value (`present`), filled in when written with an empty or null value,
    /// inserted when absent.
    fn set(
        &mut self,
        mapping: &FieldPath,
        key: &str,
        present: bool,
        value: &str,
        place: Place,
    ) -> Result<(), RewriteError> {
        let path = mapping.key(key);
        if present {
            return self.replace(&path, value);
        }
        self.check_parents(&path)?;
        let keys = self.mapping_keys(mapping)?.ok_or_else(|| not_located(mapping))?;
        if keys.iter().any(|k| k == key) {
            return self.fill_null(mapping, key, value);
        }
        self.insert(mapping, &keys, key, value, place)
    }

    /// A key written with no value (`key:`) or a null one (`key: ~`, `null`).
    fn fill_null(&mut self, mapping: &FieldPath, key: &str, value: &str) -> Result<(), RewriteError> {
        let path = mapping.key(key);
        let text = self.text;
        let at = self.key_start(mapping, key)?.ok_or_else(|| not_located(&path))?;
        let (key_end, _) = scalar_extent(text, at).map_err(|_| not_located(&path))?;
        let colon = skip_blanks(text, key_end);
        if text.as_bytes().get(colon) != Some(&b':') {
            return Err(not_located(&path));
        }
        let after = colon + 1;
        let start = skip_blanks(text, after);
        let rest = &text[start..];
        let null = ["~", "null", "Null", "NULL"]
            .into_iter()
            .find(|n| rest.starts_with(n) && ends_token(&rest.as_bytes()[n.len()..]));
        let splice = match null {
            Some(n) => Splice { start, end: start + n.len(), with: value.to_owned(), path: path.to_string() },
            // Nothing written: the value goes after the colon and one blank (so
            // `key:  # c` keeps its comment apart, `key: ,` its comma in place).
            None if ends_token(rest.as_bytes()) || rest.starts_with('#') => {
                let (at, with) =
                    if start > after { (after + 1, value.to_owned()) } else { (after, format!(" {value}")) };
                Splice { start: at, end: at, with, path: path.to_string() }
            }
            None => return Err(not_located(&path)),
        };
        self.splices.push(splice);
        Ok(())
    }

    /// A new `key: value` entry in the mapping at `mapping` (whose keys are `keys`).
    fn insert(
        &mut self,
        mapping: &FieldPath,
        keys: &[String],
        key: &str,
        value: &str,
        place: Place,
    ) -> Result<(), RewriteError> {
        let text = self.text;
        let path = mapping.key(key).to_string();
        let start = self.node_start(mapping)?.ok_or_else(|| not_located(mapping))?;
        // The keys to insert before, best first: the one `place` asks for (for
        // After, the key that follows; if none does, the key itself, which stays
        // close), then any other.
        let (next, named) = match place {
            Place::After(k) => (keys.iter().position(|x| x == k).and_then(|i| keys.get(i + 1)), k),
            Place::Before(k) => (None, k),
        };
        let mut candidates: Vec<&str> = next.map(String::as_str).into_iter().collect();
        for k in std::iter::once(named).chain(keys.iter().map(String::as_str)) {
            if keys.iter().any(|x| x == k) && !candidates.contains(&k) {
                candidates.push(k);
            }
        }
        if text[start..].starts_with('{') {
            // A flow mapping: a new entry before a key is `key: value, key…`.
            let anchor = candidates.first().ok_or_else(|| no_place(mapping, key))?;
            let at = self.key_start(mapping, anchor)?.ok_or_else(|| no_place(mapping, key))?;
            self.splices.push(Splice { start: at, end: at, with: format!("{key}: {value}, "), path });
            return Ok(());
        }
        // A block mapping: a line of its own, before a key that starts its line,
        // indented as that key is.
        for anchor in candidates {
            let Some(at) = self.key_start(mapping, anchor)? else { continue };
            let line = text[..at].rfind(['\n', '\r']).map_or(0, |i| i + 1);
            let indent = &text[line..at];
            if !indent.bytes().all(|b| b == b' ') {
                continue;
            }
            let eol = line_ending(text, line);
            self.splices.push(Splice { start: line, end: line, with: format!("{indent}{key}: {value}{eol}"), path });
            return Ok(());
        }
        Err(no_place(mapping, key))
    }

    /// The text with every splice made; splices must not overlap.
    fn apply(mut self) -> Result<String, RewriteError> {
        self.splices.sort_by_key(|s| (s.start, s.end));
        for pair in self.splices.windows(2) {
            if pair[1].start < pair[0].end {
                return Err(RewriteError::Overlap { first: pair[0].path.clone(), second: pair[1].path.clone() });
            }
        }
        let mut out = String::with_capacity(self.text.len() + 64 * self.splices.len());
        let mut done = 0;
        for s in &self.splices {
            out.push_str(&self.text[done..s.start]);
            out.push_str(&s.with);
            done = s.end;
        }
        out.push_str(&self.text[done..]);
        Ok(out)
    }
}

fn not_located(path: &FieldPath) -> RewriteError {
    RewriteError::NotLocated { path: shown(path) }
}

fn no_place(mapping: &FieldPath, key: &str) -> RewriteError {
    RewriteError::NoInsertionPoint { path: shown(mapping), key: key.to_owned() }
}

/// A field path for a message; the root (an empty path) as "the top level".
fn shown(path: &FieldPath) -> String {
    if path.0.is_empty() { "the top level".to_owned() } else { path.to_string() }
}

/// The line break that ends the line before the one starting at `line`, or the
/// file's first one when `line` is the first line.
fn line_ending(text: &str, line: usize) -> &'static str {
    let before = &text[..line];
    if before.ends_with("\r\n") || (line == 0 && text.contains("\r\n")) {
        "\r\n"
    } else if before.ends_with('\r') {
        "\r"
    } else {
        "\n"
    }
}

fn skip_blanks(text: &str, from: usize) -> usize {
    from + text[from..].bytes().take_while(|b| matches!(b, b' ' | b'\t')).count()
}

/// Whether `rest` (after a token) starts where a plain token may end: the end of
/// the text or line, a blank, or a flow indicator that closes an entry.
fn ends_token(rest: &[u8]) -> bool {
    matches!(rest.first(), None | Some(b' ' | b'\t' | b'\n' | b'\r' | b',' | b'}' | b']'))
}

/// The node properties (anchor, tag) or alias a node starts with, as a reason.
fn properties(text: &str, at: usize) -> Option<&'static str> {
    match text.as_bytes().get(at) {
        Some(b'&') => Some("has an anchor (`&name`), so aliases elsewhere would change with it"),
        Some(b'*') => Some("is an alias (`*name`)"),
        Some(b'!') => Some("has a tag (`!`)"),
        _ => None,
    }
}

/// How a scalar is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    Double,
    Single,
}

/// Where the scalar starting at `start` ends, and its style. Err(Some(why)) for
/// a node this module does not edit, Err(None) for one it cannot delimit.
fn scalar_extent(text: &str, start: usize) -> Result<(usize, Style), Option<&'static str>> {
    let bytes = text.as_bytes();
    if let Some(why) = properties(text, start) {
        return Err(Some(why));
    }
    match bytes.get(start) {
        None => Err(None),
        Some(b'|' | b'>') => Err(Some("is a block scalar (`|` or `>`)")),
        Some(b'{' | b'[') => Err(Some("is not a single value")),
        Some(b'"') => {
            // Bytes are enough: `"` and `\` never occur inside a UTF-8 sequence.
            let mut i = start + 1;
            while let Some(&b) = bytes.get(i) {
                match b {
                    b'\\' => i += 2,
                    b'"' => return Ok((i + 1, Style::Double)),
                    _ => i += 1,
                }
            }
            Err(None)
        }
        Some(b'\'') => {
            let mut i = start + 1;
            while let Some(&b) = bytes.get(i) {
                match (b, bytes.get(i + 1)) {
                    (b'\'', Some(b'\'')) => i += 2,
                    (b'\'', _) => return Ok((i + 1, Style::Single)),
                    _ => i += 1,
                }
            }
            Err(None)
        }
        Some(_) => {
            // A plain scalar ends at a line break, a comment, a `: ` or a flow
            // indicator. (A plain scalar continued on the next line is not
            // seen; the read-back check catches it.)
            let mut end = start;
            while let Some(&b) = bytes.get(end) {
                let ends = match b {
                    b'\n' | b'\r' | b',' | b'[' | b']' | b'{' | b'}' => true,
                    b'#' => end > start && matches!(bytes[end - 1], b' ' | b'\t'),
                    b':' => ends_token(&bytes[end + 1..]),
                    _ => false,
                };
                if ends {
                    break;
                }
                end += 1;
            }
            while end > start && matches!(bytes[end - 1], b' ' | b'\t') {
                end -= 1;
            }
            if end == start { Err(None) } else { Ok((end, Style::Plain)) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_extents() {
        fn end(t: &str) -> Result<(&str, Style), Option<&'static str>> {
            scalar_extent(t, 0).map(|(e, s)| (&t[..e], s))
        }
        assert_eq!(end("10.0.0.0/24  # c\n"), Ok(("10.0.0.0/24", Style::Plain)));
        assert_eq!(end("10.0.0.0/24, b: 1}"), Ok(("10.0.0.0/24", Style::Plain)));
        assert_eq!(end("10.0.0.0/24}"), Ok(("10.0.0.0/24", Style::Plain)));
        assert_eq!(end("a#b c\r\n"), Ok(("a#b c", Style::Plain)));
        assert_eq!(end("name: x"), Ok(("name", Style::Plain)));
        assert_eq!(end("a:b x"), Ok(("a:b x", Style::Plain)));
        assert_eq!(end("\"a\\\"b\" # c"), Ok(("\"a\\\"b\"", Style::Double)));
        assert_eq!(end("'it''s' x"), Ok(("'it''s'", Style::Single)));
        assert_eq!(end("\"open"), Err(None));
        assert_eq!(end("'open"), Err(None));
        assert_eq!(end(""), Err(None));
        assert_eq!(end(" "), Err(None));
        assert!(matches!(end("&a x"), Err(Some(_))));
        assert!(matches!(end("*a"), Err(Some(_))));
        assert!(matches!(end("!!str x"), Err(Some(_))));
        assert!(matches!(end("|\n  x"), Err(Some(_))));
        assert!(matches!(end("[x]"), Err(Some(_))));
    }

    #[test]
    fn line_endings() {
        assert_eq!(line_ending("a\r\nb", 3), "\r\n");
        assert_eq!(line_ending("a\nb", 2), "\n");
        assert_eq!(line_ending("a\rb", 2), "\r");
        assert_eq!(line_ending("a: 1\r\nb: 2", 0), "\r\n");
        assert_eq!(line_ending("a: 1\nb: 2", 0), "\n");
    }
}
