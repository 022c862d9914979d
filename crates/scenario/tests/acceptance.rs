//! The shared acceptance scenarios: the good ones validate cleanly, each bad-* one
//! fails with the substrings its case.json expects on stderr. Skipped when the
//! shared folder is absent.

use std::path::{Path, PathBuf};

use scenario::*;

fn cases() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/acceptance/cases");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("skipped: no acceptance cases at {}", dir.display());
        return Vec::new();
    };
    let mut out: Vec<PathBuf> =
        entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.join("scenario.yaml").is_file()).collect();
    out.sort();
    out
}

/// The strings of the JSON array under `key` (enough JSON for case.json).
fn string_array(json: &str, key: &str) -> Vec<String> {
    let Some(start) = json.find(&format!("\"{key}\"")) else { return Vec::new() };
    let rest = &json[start..];
    let open = rest.find('[').expect("an array");
    let close = rest[open..].find(']').expect("a closed array") + open;
    let mut out = Vec::new();
    let mut chars = rest[open + 1..close].chars();
    while let Some(c) = chars.next() {
        if c == '"' {
            let mut s = String::new();
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => s.push(chars.next().expect("an escaped character")),
                    c => s.push(c),
                }
            }
            out.push(s);
        }
    }
    out
}

#[test]
fn good_cases_validate_cleanly() {
    for case in cases().iter().filter(|c| !c.file_name().unwrap().to_string_lossy().starts_with("bad-")) {
        let file = case.join("scenario.yaml");
        let loaded = load(&file, &Overrides::default()).unwrap_or_else(|e| panic!("{}:\n{e}", case.display()));
        assert!(loaded.warnings.is_empty(), "{}: {:?}", case.display(), loaded.warnings);
        // Under each allocator its command line names.
        let json = std::fs::read_to_string(case.join("case.json")).unwrap_or_default();
        let args = string_array(&json, "args");
        for (i, a) in args.iter().enumerate() {
            if a == "--allocators" || a == "--allocator" {
                for name in args[i + 1].split(',') {
                    let k = find_allocator(name).unwrap();
                    load(&file, &Overrides { allocator: Some(k), seed: None })
                        .unwrap_or_else(|e| panic!("{} under {k}:\n{e}", case.display()));
                }
            }
        }
    }
}

#[test]
fn bad_cases_fail_with_the_expected_message() {
    for case in cases().iter().filter(|c| c.file_name().unwrap().to_string_lossy().starts_with("bad-")) {
        let json = std::fs::read_to_string(case.join("case.json")).unwrap();
        let expect = string_array(&json, "stderr_contains");
        assert!(!expect.is_empty(), "{}: no stderr_contains", case.display());
        let err = match load(&case.join("scenario.yaml"), &Overrides::default()) {
            Ok(_) => panic!("{} validated", case.display()),
            Err(e) => e.to_string(),
        };
        for x in &expect {
            assert!(err.contains(x.as_str()), "{}: `{x}` missing from:\n{err}", case.display());
        }
    }
}

#[test]
fn unreadable_files() {
    let e = load(Path::new("/nonexistent/podip.yaml"), &Overrides::default()).unwrap_err();
    let text = e.to_string();
    assert!(text.starts_with("error: /nonexistent/podip.yaml: cannot read the file"), "{text}");
    let dir = std::env::temp_dir().join(format!("scenario-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let big = dir.join("big.yaml");
    std::fs::write(&big, "# padding\n".repeat(MAX_FILE_BYTES / 10 + 1)).unwrap();
    let e = load(&big, &Overrides::default()).unwrap_err();
    assert!(e.to_string().contains("larger than 4 MiB"), "{e}");
    let bin = dir.join("bin.yaml");
    std::fs::write(&bin, b"name: \xff\xfe\n").unwrap();
    let e = load(&bin, &Overrides::default()).unwrap_err();
    assert!(e.to_string().contains("not UTF-8"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn project_scenarios_validate() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let Ok(entries) = std::fs::read_dir(&dir) else { return };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    for file in files {
        match load(&file, &Overrides::default()) {
            Ok(l) => {
                for w in &l.warnings {
                    eprintln!("{w}");
                }
            }
            Err(e) => panic!("{e}"),
        }
    }
}
