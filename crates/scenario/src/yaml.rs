//! The YAML backend (serde_yaml 0.9): the only module that names it, so it can be
//! swapped. It turns text into the raw serde types of `raw.rs`, and finds the
//! line and column of a field path for validation's messages.
//!
//! Limits: the caller refuses texts over [`MAX_BYTES`]; serde_yaml itself bounds
//! nesting (128 levels) and alias expansion (100 replayed aliases per event in the
//! file), so an alias bomb fails fast instead of exhausting memory.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::diag::{FieldPath, Location, Seg};
use crate::raw::RawScenario;

/// Largest scenario file accepted, in bytes.
pub(crate) const MAX_BYTES: usize = 4 * 1024 * 1024;

/// Deepest `[`/`{` nesting accepted. libyaml's work per token grows with the flow
/// depth, so a file of nothing but brackets would take minutes; real scenarios
/// nest a handful deep.
pub(crate) const MAX_FLOW_DEPTH: usize = 64;

/// Where the text first opens more than [`MAX_FLOW_DEPTH`] brackets. Counted over
/// the raw text (quotes and comments included): an overestimate, which only a
/// text with dozens of unbalanced brackets in strings could reach.
fn too_deep(text: &str) -> Option<Location> {
    let mut depth = 0usize;
    let (mut line, mut column) = (1, 1);
    for c in text.chars() {
        match c {
            '[' | '{' => {
                depth += 1;
                if depth > MAX_FLOW_DEPTH {
                    return Some(Location { line, column });
                }
            }
            ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if c == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    None
}

/// A file that is not YAML, or whose shape does not match scenario.md.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseFailure {
    /// Field path as serde_yaml reports it (`clusters[0].node_pools[0]`), or empty.
    pub path: String,
    pub message: String,
    pub location: Option<Location>,
}

pub(crate) fn parse(text: &str) -> Result<RawScenario, ParseFailure> {
    let blank = |l: &str| {
        let l = l.trim();
        l.is_empty() || l.starts_with('#') || l == "---" || l == "..."
    };
    if text.lines().all(blank) {
        return Err(ParseFailure { path: String::new(), message: EMPTY.to_owned(), location: None });
    }
    parse_as::<RawScenario>(text)
}

/// Any other document of podip's (a sweep spec) read as `T`, with the same
/// wording and positions for what is wrong.
pub(crate) fn parse_as<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, ParseFailure> {
    if let Some(location) = too_deep(text) {
        return Err(ParseFailure {
            path: String::new(),
            message: format!("brackets nest more than {MAX_FLOW_DEPTH} deep"),
            location: Some(location),
        });
    }
    serde_yaml::from_str::<T>(text).map_err(|e| failure(&e))
}

fn failure(e: &serde_yaml::Error) -> ParseFailure {
    let location = e.location().map(|l| Location { line: l.line(), column: l.column() });
    let mut text = e.to_string();
    if let Some(l) = location {
        let suffix = format!(" at line {} column {}", l.line, l.column);
        if text.ends_with(&suffix) {
            text.truncate(text.len() - suffix.len());
        }
    }
    // serde_yaml writes "PATH: message" when it knows a path.
    let (path, message) = match text.split_once(": ") {
        Some((head, tail)) if !head.is_empty() && !head.contains(char::is_whitespace) && !head.contains('`') => {
            (head.to_owned(), tail.to_owned())
        }
        _ => (String::new(), text),
    };
    ParseFailure { path, message: reword(&message), location }
}

/// serde's wording → the scenario's: keys and values, and what is allowed.
fn reword(message: &str) -> String {
    if let Some(rest) = message.strip_prefix("unknown field ") {
        return match rest.split_once(", expected one of ") {
            Some((key, valid)) => format!("unknown key {key}; valid keys here: {valid}"),
            None => match rest.split_once(", expected ") {
                Some((key, valid)) => format!("unknown key {key}; the only valid key here is {valid}"),
                None => format!("unknown key {rest}"),
            },
        };
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        return match rest.split_once(", expected one of ") {
            Some((v, valid)) => format!("unknown value {v}; valid values: {valid}"),
            None => match rest.split_once(", expected ") {
                Some((v, valid)) => format!("unknown value {v}; the only valid value is {valid}"),
                None => format!("unknown value {rest}"),
            },
        };
    }
    if let Some(rest) = message.strip_prefix("missing field ") {
        return format!("missing required key {rest}");
    }
    if let Some(rest) = message.strip_prefix("duplicate field ") {
        return format!("duplicate key {rest}");
    }
    if message == "EOF while parsing a value" {
        return EMPTY.to_owned();
    }
    // "expected struct RawPool" → "expected a mapping", and so on.
    let mut out = message
        .replace("expected u64", "expected a whole number of at least 0")
        .replace("expected f64", "expected a number");
    while let Some(i) = out.find("struct Raw") {
        let end = out[i + 7..].find(|c: char| !c.is_alphanumeric()).map_or(out.len(), |j| i + 7 + j);
        out.replace_range(i..end, "a mapping");
    }
    out
}

const EMPTY: &str = "the file holds no YAML document; a scenario needs at least name, duration, network and clusters";

/// Where `path` is in `text` (already parsed once successfully): the start of its
/// value, or of the deepest enclosing node that exists when it does not (a key that
/// was defaulted).
pub(crate) fn locate(text: &str, path: &FieldPath) -> Option<Location> {
    let de = serde_yaml::Deserializer::from_str(text);
    // The walk always fails; serde_yaml stamps the failure with the position of
    // the node being read at that moment.
    match (Walk { rest: &path.0 }).deserialize(de) {
        Ok(()) => None,
        Err(e) => e.location().map(|l| Location { line: l.line(), column: l.column() }),
    }
}

const HERE: &str = "here";

struct Walk<'a> {
    rest: &'a [Seg],
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(HERE)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        if let Some((Seg::Key(want), rest)) = self.rest.split_first() {
            while let Some(key) = map.next_key::<KeyText>()? {
                if key.0.as_deref() == Some(want.as_str()) {
                    return map.next_value_seed(Walk { rest });
                }
                map.next_value::<IgnoredAny>()?;
            }
        }
        Err(de::Error::custom(HERE))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if let Some((Seg::Index(want), rest)) = self.rest.split_first() {
            let mut i = 0;
            while i < *want {
                if seq.next_element::<IgnoredAny>()?.is_none() {
                    return Err(de::Error::custom(HERE));
                }
                i += 1;
            }
            if seq.next_element_seed(Walk { rest })?.is_some() {
                return Ok(());
            }
        }
        Err(de::Error::custom(HERE))
    }
    // Every other `visit_*` keeps serde's default: an error, located at the scalar.
}

/// What [`seek`] looks for where its path ends.
#[derive(Debug, Clone, Copy)]
enum Goal<'a> {
    /// The node at the path itself.
    Node,
    /// The key `.0` of the mapping at the path (the key, not its value).
    Key(&'a str),
    /// The keys of the mapping at the path, in file order.
    Keys,
}

/// What a [`seek`] found on its way: the walk ends in an error either way, so
/// whether it arrived is noted here, not read from the error's text.
#[derive(Debug, Default)]
struct Sought {
    found: bool,
    keys: Vec<String>,
}

const FOUND: &str = "found";

/// Byte offset where the node at `path` starts in `text` (its first character:
/// an opening quote or bracket, or the anchor or tag written before it), or None
/// when the path reaches no node. Unlike [`locate`], there is no falling back to a
/// parent: rewriting must know that it edits the very node it was asked for. A
/// node reached through an alias is reported where its anchor defines it.
///
/// Like [`locate`], for a text that has parsed once: in one that does not, the
/// walk may find nodes before the fault.
pub(crate) fn node_start(text: &str, path: &FieldPath) -> Option<usize> {
    seek(text, path, Goal::Node).1
}

/// Byte offset where the key `key` of the mapping at `path` starts (the first key
/// so spelled), or None when there is no such mapping or key.
pub(crate) fn key_start(text: &str, path: &FieldPath, key: &str) -> Option<usize> {
    seek(text, path, Goal::Key(key)).1
}

/// The keys of the mapping at `path` in file order, duplicates included, or None
/// when the path reaches no mapping (or a key is not a scalar).
pub(crate) fn mapping_keys(text: &str, path: &FieldPath) -> Option<Vec<String>> {
    let (sought, at) = seek(text, path, Goal::Keys);
    at.map(|_| sought.keys)
}

/// One walk along `path`: it always ends in an error, which serde_yaml stamps with
/// the position of the node (or key) being read; the position counts only when the
/// walk noted that it arrived.
fn seek(text: &str, path: &FieldPath, goal: Goal<'_>) -> (Sought, Option<usize>) {
    let mut sought = Sought::default();
    let de = serde_yaml::Deserializer::from_str(text);
    let result = Seek { rest: &path.0, goal, out: &mut sought }.deserialize(de);
    let at = match result {
        Err(e) if sought.found => e.location().and_then(|l| byte_offset(text, l.index())),
        _ => None,
    };
    (sought, at)
}

/// libyaml's index is a byte offset into the UTF-8 text (a text with a byte order
/// mark does not parse, so no offset has to skip one); checked all the same.
fn byte_offset(text: &str, index: usize) -> Option<usize> {
    (index <= text.len() && text.is_char_boundary(index)).then_some(index)
}

struct Seek<'p, 'o> {
    rest: &'p [Seg],
    goal: Goal<'p>,
    out: &'o mut Sought,
}

impl<'de> DeserializeSeed<'de> for Seek<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        match (self.rest.is_empty(), self.goal) {
            (true, Goal::Node) => d.deserialize_any(Here { out: self.out }),
            _ => d.deserialize_any(self),
        }
    }
}

impl<'de> Visitor<'de> for Seek<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(HERE)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        match (self.rest.split_first(), self.goal) {
            (Some((Seg::Key(want), rest)), goal) => {
                while let Some(key) = map.next_key_seed(KeyName)? {
                    if key == *want {
                        return map.next_value_seed(Seek { rest, goal, out: self.out });
                    }
                    map.next_value::<IgnoredAny>()?;
                }
            }
            (None, Goal::Key(want)) => {
                while map.next_key_seed(KeyMatch { want, out: &mut *self.out })?.is_some() {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            (None, Goal::Keys) => {
                while let Some(key) = map.next_key_seed(KeyName)? {
                    self.out.keys.push(key);
                    map.next_value::<IgnoredAny>()?;
                }
                self.out.found = true;
                return Err(de::Error::custom(FOUND));
            }
            _ => {}
        }
        Err(de::Error::custom(HERE))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if let Some((Seg::Index(want), rest)) = self.rest.split_first() {
            for _ in 0..*want {
                if seq.next_element::<IgnoredAny>()?.is_none() {
                    return Err(de::Error::custom(HERE));
                }
            }
            if seq.next_element_seed(Seek { rest, goal: self.goal, out: self.out })?.is_some() {
                return Ok(());
            }
        }
        Err(de::Error::custom(HERE))
    }
}

/// A key read as serde's derived structs read field names (its text, whatever
/// its style), so that a seek finds exactly the key the raw types took.
struct KeyName;

impl<'de> DeserializeSeed<'de> for KeyName {
    type Value = String;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for KeyName {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }
}

/// A key that stops the walk, at its own position, when it is the one wanted.
struct KeyMatch<'w, 'o> {
    want: &'w str,
    out: &'o mut Sought,
}

impl<'de> DeserializeSeed<'de> for KeyMatch<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for KeyMatch<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        if v == self.want {
            self.out.found = true;
            return Err(E::custom(FOUND));
        }
        Ok(())
    }
}

/// The end of a [`Goal::Node`] walk: whatever the node is, note the arrival and
/// stop, so the error carries the node's position.
struct Here<'o> {
    out: &'o mut Sought,
}

impl Here<'_> {
    fn arrive<E: de::Error>(self) -> Result<(), E> {
        self.out.found = true;
        Err(E::custom(FOUND))
    }
}

impl<'de> Visitor<'de> for Here<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(HERE)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.arrive()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.arrive()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.arrive()
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<(), E> {
        self.arrive()
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<(), E> {
        self.arrive()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.arrive()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.arrive()
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.arrive()
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.arrive()
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        self.arrive()
    }
    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        self.arrive()
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        self.arrive()
    }
}

/// A mapping key as text, when it is a scalar.
struct KeyText(Option<String>);

impl<'de> de::Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = KeyText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyText, E> {
                Ok(KeyText(Some(v.to_owned())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<KeyText, E> {
                Ok(KeyText(Some(v.to_string())))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<KeyText, E> {
                Ok(KeyText(Some(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<KeyText, E> {
                Ok(KeyText(Some(v.to_string())))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<KeyText, E> {
                Ok(KeyText(Some(v.to_string())))
            }
            fn visit_unit<E: de::Error>(self) -> Result<KeyText, E> {
                Ok(KeyText(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<KeyText, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(KeyText(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<KeyText, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(KeyText(None))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_values_and_falls_back_to_parents() {
        let text = "a: 1\nb:\n  - x: 1\n  - x: 2\n    y: [5, 6]\nc: {d: 3}\n";
        let at = |p: FieldPath| locate(text, &p).map(|l| (l.line, l.column));
        let root = FieldPath::root();
        assert_eq!(at(root.key("a")), Some((1, 4)));
        assert_eq!(at(root.key("b").index(1).key("x")), Some((4, 8)));
        assert_eq!(at(root.key("b").index(1).key("y").index(1)), Some((5, 12)));
        assert_eq!(at(root.key("c").key("d")), Some((6, 8)));
        // Missing: the deepest existing node.
        assert_eq!(at(root.key("b").index(0).key("zz")), Some((3, 5)));
        assert_eq!(at(root.key("b").index(7)), Some((3, 3)));
    }

    #[test]
    fn seeks_nodes_and_keys_without_falling_back() {
        let text = "a: &x 1\nb:\n  - k: \"v\"\n    m: 2\n  - {k: w, 'q': 3}\nc: *x\nd:\n";
        let root = FieldPath::root();
        let node = |p: FieldPath| node_start(text, &p).map(|i| &text[i..]);
        assert!(node(root.clone()).unwrap().starts_with("a: &x"));
        assert!(node(root.key("a")).unwrap().starts_with("&x 1"));
        // An alias reads as its anchor's node.
        assert!(node(root.key("c")).unwrap().starts_with("&x 1"));
        assert!(node(root.key("b").index(0)).unwrap().starts_with("k: \"v\""));
        assert!(node(root.key("b").index(0).key("k")).unwrap().starts_with("\"v\"\n"));
        assert!(node(root.key("b").index(1)).unwrap().starts_with("{k: w"));
        assert!(node(root.key("b").index(1).key("q")).unwrap().starts_with("3}"));
        // Missing: nothing, not the parent.
        assert_eq!(node(root.key("zz")), None);
        assert_eq!(node(root.key("b").index(2)), None);
        assert_eq!(node(root.key("b").index(0).key("zz")), None);
        assert_eq!(node(root.key("a").key("zz")), None);

        let key = |p: FieldPath, k: &str| key_start(text, &p, k).map(|i| &text[i..]);
        assert!(key(root.clone(), "b").unwrap().starts_with("b:\n"));
        assert!(key(root.key("b").index(0), "m").unwrap().starts_with("m: 2"));
        assert!(key(root.key("b").index(1), "q").unwrap().starts_with("'q': 3"));
        assert_eq!(key(root.clone(), "zz"), None);
        assert_eq!(key(root.key("a"), "zz"), None);

        let keys = |p: FieldPath| mapping_keys(text, &p);
        assert_eq!(keys(root.clone()), Some(vec!["a".into(), "b".into(), "c".into(), "d".into()]));
        assert_eq!(keys(root.key("b").index(1)), Some(vec!["k".into(), "q".into()]));
        assert_eq!(keys(root.key("a")), None);
        assert_eq!(keys(root.key("zz")), None);
        // Not YAML: no panic (what is found is undefined: callers seek only in
        // texts that parsed).
        let _ = node_start("a: [", &root);
        let _ = mapping_keys("a: [", &root);
        let _ = key_start("{a: 1, b", &root, "b");
    }
}
