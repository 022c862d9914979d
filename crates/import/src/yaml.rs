//! Scalars as YAML text: plain when that reads back as the same string,
//! single-quoted otherwise.

/// `s` as a YAML scalar that reads back as the string `s`.
pub fn quote(s: &str) -> String {
    let plain = s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || "._/-".contains(c))
        && s.parse::<f64>().is_err()
        && !s.starts_with("0x")
        && !s.starts_with("0o")
        && !["true", "false", "null", "yes", "no", "on", "off", "y", "n"].contains(&s.to_ascii_lowercase().as_str());
    if plain { s.to_string() } else { format!("'{}'", s.replace('\'', "''")) }
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn plain_when_safe_quoted_otherwise() {
        assert_eq!(quote("nodepool1"), "nodepool1");
        assert_eq!(quote("my-aks_1.x"), "my-aks_1.x");
        assert_eq!(quote("33%"), "'33%'");
        assert_eq!(quote("1"), "'1'");
        assert_eq!(quote("1e3"), "'1e3'");
        assert_eq!(quote("0x1f"), "'0x1f'");
        assert_eq!(quote("30d"), "30d");
        assert_eq!(quote("no"), "'no'");
        assert_eq!(quote("it's"), "'it''s'");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("a: b"), "'a: b'");
    }
}
