//! Subnet scarcity (azure-container-networking, docs/feature/subnet-scarcity and
//! `cns/ipampool/v2`): when a pod subnet's utilisation rises above an upper
//! threshold, Azure marks it exhausted and every node's CNS scales with batch 1
//! and buffer 1, so its target is demand + 1 and the surplus goes back; the mark
//! clears only below a lower threshold (hysteresis). The service's thresholds are
//! not published: the option is off unless a scenario sets both.

use allocator::{Finding, Setting, Settings};

/// The settings key of the block.
pub const KEY: &str = "scarcity";

/// How often the mark may change when the scenario does not say: once a
/// minute. **Assumption:** DNC-RC's poll interval is not published; CNS itself
/// reconciles at least every 60 s (`maxReconcileDelay`). Without a floor, a
/// subnet released below `lower` would be unmarked, regrow above `upper` and
/// be marked again within one instant, for ever.
pub const DEFAULT_INTERVAL_MS: u64 = 60_000;

/// Utilisation thresholds in hundredths of a percent (9500 = 95 %), and the
/// shortest time between two changes of a subnet's mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scarcity {
    pub upper: u32,
    pub lower: u32,
    pub interval_ms: u64,
}

impl Scarcity {
    /// Whether the subnet is exhausted after utilisation `allocated / usable`
    /// is seen, given whether it was: set strictly above `upper` (DNC-RC's
    /// R > T × Q), cleared strictly below `lower` (R < t × Q), else unchanged.
    pub fn exhausted(self, was: bool, allocated: u64, usable: u64) -> bool {
        let used = u128::from(allocated) * 10_000;
        if was {
            used >= u128::from(self.lower) * u128::from(usable)
        } else {
            used > u128::from(self.upper) * u128::from(usable)
        }
    }

    /// The block `scarcity: {upper: "95%", lower: "90%"}`, if the settings hold one.
    pub fn from_settings(settings: &Settings) -> Result<Option<Scarcity>, Finding> {
        let Some(value) = settings.get(KEY) else { return Ok(None) };
        let Setting::Map(block) = value else {
            return Err(invalid(format!(
                "scarcity must be a mapping like {{upper: \"95%\", lower: \"90%\"}}, not {value:?}"
            )));
        };
        if let Some(other) = block.0.keys().find(|k| !["upper", "lower", "interval_s"].contains(&k.as_str())) {
            return Err(invalid(format!("unknown scarcity key `{other}`; its keys: upper, lower, interval_s")));
        }
        let interval_ms = match block.get("interval_s") {
            None => DEFAULT_INTERVAL_MS,
            Some(Setting::Int(s)) if (1..=86_400).contains(s) => *s as u64 * 1000,
            Some(v) => {
                return Err(invalid(format!("scarcity.interval_s must be whole seconds from 1 to 86400, not {v:?}")));
            }
        };
        let threshold = |key: &str| match block.get(key) {
            None => Err(invalid(format!("scarcity needs `{key}`, a percent like \"90%\""))),
            Some(v) => percent(v).ok_or_else(|| {
                invalid(format!("scarcity.{key} must be a percent above 0 and at most 100, like \"90%\", not {v:?}"))
            }),
        };
        let (upper, lower) = (threshold("upper")?, threshold("lower")?);
        if lower >= upper {
            return Err(invalid(format!(
                "scarcity.lower ({}) must be below scarcity.upper ({}): the two thresholds give the hysteresis",
                show(lower),
                show(upper)
            )));
        }
        Ok(Some(Scarcity { upper, lower, interval_ms }))
    }
}

fn invalid(message: String) -> Finding {
    Finding::error(KEY, message)
}

/// `"92.5%"` (or a bare number of percent) in hundredths of a percent, within (0, 100].
fn percent(v: &Setting) -> Option<u32> {
    let value = match v {
        Setting::Text(t) => t.trim().strip_suffix('%')?.trim().parse::<f64>().ok()?,
        Setting::Int(i) => *i as f64,
        Setting::Float(f) => *f,
        _ => return None,
    };
    let hundredths = (value * 100.0).round();
    ((value * 100.0 - hundredths).abs() < 1e-6 && hundredths > 0.0 && hundredths <= 10_000.0)
        .then_some(hundredths as u32)
}

/// Hundredths of a percent as written: `90%`, `92.5%`.
pub fn show(hundredths: u32) -> String {
    let (whole, frac) = (hundredths / 100, hundredths % 100);
    match frac {
        0 => format!("{whole}%"),
        f if f % 10 == 0 => format!("{whole}.{}%", f / 10),
        f => format!("{whole}.{f:02}%"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use allocator::Setting::{Int, Map, Text};

    fn block(pairs: &[(&str, Setting)]) -> Settings {
        let inner = Settings(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect());
        Settings([(KEY.to_string(), Map(inner))].into_iter().collect())
    }

    fn text(s: &str) -> Setting {
        Text(s.to_string())
    }

    #[test]
    fn the_mark_is_set_above_upper_and_cleared_below_lower() {
        let s = Scarcity { upper: 9000, lower: 8000, interval_ms: DEFAULT_INTERVAL_MS };
        // Not marked: set only strictly above 90 %.
        assert!(!s.exhausted(false, 90, 100));
        assert!(s.exhausted(false, 91, 100));
        // Marked: kept down to 80 % exactly, cleared below it.
        assert!(s.exhausted(true, 85, 100));
        assert!(s.exhausted(true, 80, 100));
        assert!(!s.exhausted(true, 79, 100));
        // Between the thresholds the state is whatever it was: the hysteresis.
        assert!(!s.exhausted(false, 85, 100));
        // A /24's 251: 226 is 90.04 %, 225 is 89.64 %.
        assert!(s.exhausted(false, 226, 251) && !s.exhausted(false, 225, 251));
        // No overflow at the largest counts.
        assert!(s.exhausted(false, u64::MAX, u64::MAX));
    }

    #[test]
    fn settings_read_percents_and_name_what_is_wrong() {
        assert_eq!(Scarcity::from_settings(&Settings::default()), Ok(None));
        let got = Scarcity::from_settings(&block(&[("upper", text("95%")), ("lower", text("92.5%"))]));
        assert_eq!(got, Ok(Some(Scarcity { upper: 9500, lower: 9250, interval_ms: 60_000 })));
        let got = Scarcity::from_settings(&block(&[("upper", Int(90)), ("lower", Int(80)), ("interval_s", Int(30))]));
        assert_eq!(got, Ok(Some(Scarcity { upper: 9000, lower: 8000, interval_ms: 30_000 })));
        let err = |s: Settings| Scarcity::from_settings(&s).unwrap_err().message;
        assert!(
            err(block(&[("upper", text("80%")), ("lower", text("90%"))]))
                .contains("must be below scarcity.upper (80%)")
        );
        assert!(err(block(&[("upper", text("80%"))])).contains("scarcity needs `lower`"));
        assert!(
            err(block(&[("upper", text("101%")), ("lower", text("1%"))])).contains("scarcity.upper must be a percent")
        );
        assert!(err(block(&[("upper", text("0%")), ("lower", text("0%"))])).contains("above 0"));
        assert!(err(block(&[("upper", text("9x%")), ("lower", text("1%"))])).contains("scarcity.upper"));
        assert!(
            err(block(&[("upper", text("90%")), ("lower", text("1%")), ("uper", Int(1))]))
                .contains("unknown scarcity key `uper`")
        );
        let scalar = Settings([(KEY.to_string(), Int(1))].into_iter().collect());
        assert!(err(scalar).contains("must be a mapping"));
        assert_eq!((show(9000), show(9250), show(9255)), ("90%".into(), "92.5%".into(), "92.55%".into()));
    }
}
