//! Durations as scenarios write them: `90`, `90s`, `15m`, `1h30m`, `30d`, `2w`.

use crate::model::Seconds;

/// Why a duration string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error(
        "`{0}` is not a duration: write integer seconds, or one or more <integer><unit> parts with units \
         s, m, h, d, w (e.g. 90s, 15m, 1h30m, 30d)"
    )]
    Malformed(String),
    #[error("duration `{0}` is too large")]
    Overflow(String),
}

/// Parses integer seconds (`"90"`, `"0"`) or one or more `<int><unit>` parts with
/// units `s`, `m`, `h`, `d`, `w` (`"1h30m"` = 5400). No signs, spaces or fractions;
/// the parts may come in any order and add up. Overflow of `u64` is an error.
pub fn parse_duration(s: &str) -> Result<Seconds, DurationError> {
    let malformed = || DurationError::Malformed(s.to_owned());
    let overflow = || DurationError::Overflow(s.to_owned());
    if s.is_empty() {
        return Err(malformed());
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<u64>().map_err(|_| overflow());
    }
    let bytes = s.as_bytes();
    let mut total: u64 = 0;
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i == start || i == bytes.len() {
            return Err(malformed());
        }
        let n: u64 = s[start..i].parse().map_err(|_| overflow())?;
        let unit: u64 = match bytes[i] {
            b's' => 1,
            b'm' => 60,
            b'h' => 3_600,
            b'd' => 86_400,
            b'w' => 604_800,
            _ => return Err(malformed()),
        };
        i += 1;
        total = n.checked_mul(unit).and_then(|p| total.checked_add(p)).ok_or_else(overflow)?;
    }
    Ok(total)
}

/// The shortest unit form of `secs` (`5400` → `1h30m`, `0` → `0s`), for messages.
pub fn format_duration(secs: Seconds) -> String {
    if secs == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    let mut rest = secs;
    for (unit, name) in [(604_800, 'w'), (86_400, 'd'), (3_600, 'h'), (60, 'm'), (1, 's')] {
        if rest >= unit {
            out.push_str(&format!("{}{name}", rest / unit));
            rest %= unit;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        for (s, v) in [
            ("0", 0),
            ("90", 90),
            ("90s", 90),
            ("15m", 900),
            ("1h30m", 5400),
            ("30d", 2_592_000),
            ("2w", 1_209_600),
            ("1w1d1h1m1s", 694_861),
            ("0s", 0),
        ] {
            assert_eq!(parse_duration(s), Ok(v), "{s}");
        }
    }

    #[test]
    fn refuses() {
        for s in ["", "h", "1x", "1h30", "-5s", "+5s", "1.5h", " 5s", "5s ", "5 s", "1H", "ms", "1hm"] {
            assert!(matches!(parse_duration(s), Err(DurationError::Malformed(_))), "{s:?}");
        }
        for s in ["18446744073709551616", "18446744073709551615w", "99999999999999999999s", "40000000000000w"] {
            assert!(matches!(parse_duration(s), Err(DurationError::Overflow(_))), "{s:?}");
        }
        assert_eq!(parse_duration("18446744073709551615"), Ok(u64::MAX));
        assert!(parse_duration("18446744073709551615s1s").is_err());
    }

    #[test]
    fn formats() {
        for s in ["0s", "90s", "15m", "1h30m", "30d", "2w", "1w1d1h1m1s"] {
            let v = parse_duration(s).unwrap();
            assert_eq!(parse_duration(&format_duration(v)), Ok(v));
        }
        assert_eq!(format_duration(5400), "1h30m");
        assert_eq!(format_duration(90), "1m30s");
    }
}
