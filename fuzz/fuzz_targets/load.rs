//! Arbitrary bytes as a scenario file: loading and validation must answer with a
//! scenario or a non-empty list of located errors, never panic or hang, under
//! the default allocators and with every `--allocator` override. A scenario
//! that loads is also sized against the default limits (the estimate must not
//! panic either).

#![no_main]

use libfuzzer_sys::fuzz_target;
use scenario::{Limits, Overrides, estimate, parse_str};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let overrides = std::iter::once(None).chain(modes::ALL.into_iter().map(Some));
    for allocator in overrides {
        match parse_str(text, "fuzz.yaml", &Overrides { allocator, seed: None }) {
            Ok(loaded) => {
                for exceeded in estimate(&loaded.scenario).exceeded(&Limits::DEFAULT, 5) {
                    let _ = exceeded.to_string();
                }
                for warning in &loaded.warnings {
                    let _ = warning.to_string();
                }
            }
            Err(error) => {
                assert!(!error.errors.is_empty(), "a load error without an error");
                let _ = error.to_string();
            }
        }
        // Only the first pass if the text does not even parse.
        if allocator.is_none() && parse_str(text, "fuzz.yaml", &Overrides::default()).is_err() {
            break;
        }
    }
});
