//! `almanac check rules`: promtool's `check rules` with its output and exit
//! codes (0 valid, 1 invalid or unreadable, 3 lint findings under
//! `--lint-fatal`).

use std::io::Write;

use super::file;

/// Exit code: every file valid.
pub const SUCCESS: u8 = 0;
/// Exit code: a file is invalid or cannot be read.
pub const FAILURE: u8 = 1;
/// Exit code: lint findings with `--lint-fatal`.
pub const LINT: u8 = 3;

/// Options of `check rules`.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// Run the duplicate-rules lint (`--lint=duplicate-rules`, the default).
    pub lint_duplicates: bool,
    /// Lint findings make the exit code 3.
    pub lint_fatal: bool,
    pub ignore_unknown_fields: bool,
}

/// Checks each file (`-` or no files = standard input, given as `stdin`),
/// writing promtool's report to `out` and errors to `err`.
pub fn check_rules(
    files: &[String],
    stdin: Option<&str>,
    opts: &CheckOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let mut failed = false;
    let mut lint = false;
    let inputs: Vec<(String, Option<&str>)> = if files.is_empty() {
        vec![("standard input".to_string(), Some(stdin.unwrap_or("")))]
    } else {
        files.iter().map(|f| (f.clone(), None)).collect()
    };
    for (name, text) in inputs {
        let _ = writeln!(out, "Checking {name}");
        let loaded = match text {
            Some(t) => file::parse(&name, t, opts.ignore_unknown_fields),
            None => file::load(&name, opts.ignore_unknown_fields),
        };
        match loaded {
            Ok(f) => {
                let n: usize = f.groups.iter().map(|g| g.rules.len()).sum();
                let dups = if opts.lint_duplicates {
                    file::duplicates(&f)
                } else {
                    Vec::new()
                };
                if !dups.is_empty() {
                    lint = true;
                    let _ = writeln!(err, "{} duplicate rule(s) found.", dups.len());
                    for d in &dups {
                        let _ = writeln!(
                            err,
                            "{}: rule {:?} has the same name and labels as an earlier rule",
                            d.at, d.name
                        );
                    }
                    let _ = writeln!(
                        err,
                        "Might cause inconsistency while recording expressions."
                    );
                }
                let _ = writeln!(out, "  SUCCESS: {n} rules found");
            }
            Err(errors) => {
                failed = true;
                let _ = writeln!(err, "  FAILED:");
                for e in errors {
                    let _ = writeln!(err, "{e}");
                }
            }
        }
        let _ = writeln!(out);
    }
    if failed {
        FAILURE
    } else if lint && opts.lint_fatal {
        LINT
    } else {
        SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p.display().to_string()
        };
        let good = write(
            "good.yml",
            "groups:\n- name: g\n  rules:\n  - record: x\n    expr: up\n",
        );
        let bad = write(
            "bad.yml",
            "groups:\n- name: g\n  rules:\n  - record: x\n    expr: up +\n",
        );
        let dup = write(
            "dup.yml",
            "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n  - alert: A\n    expr: up\n",
        );
        let missing = dir.path().join("nope.yml").display().to_string();
        let lint = CheckOptions {
            lint_duplicates: true,
            ..Default::default()
        };
        let fatal = CheckOptions {
            lint_duplicates: true,
            lint_fatal: true,
            ..Default::default()
        };
        let off = CheckOptions {
            lint_fatal: true,
            ..Default::default()
        };
        let cases: Vec<(&str, Vec<String>, &CheckOptions, u8)> = vec![
            ("good", vec![good.clone()], &lint, SUCCESS),
            ("bad", vec![bad.clone()], &lint, FAILURE),
            ("good_and_bad", vec![good.clone(), bad], &lint, FAILURE),
            ("missing", vec![missing], &lint, FAILURE),
            ("dup_not_fatal", vec![dup.clone()], &lint, SUCCESS),
            ("dup_fatal", vec![dup.clone()], &fatal, LINT),
            ("dup_lint_off", vec![dup], &off, SUCCESS),
        ];
        for (name, files, opts, want) in cases {
            let (mut o, mut e) = (Vec::new(), Vec::new());
            assert_eq!(
                check_rules(&files, None, opts, &mut o, &mut e),
                want,
                "{name}: {}",
                String::from_utf8_lossy(&e)
            );
        }
        let (mut o, mut e) = (Vec::new(), Vec::new());
        let code = check_rules(&[], Some("groups: []\n"), &lint, &mut o, &mut e);
        assert_eq!(code, SUCCESS);
        assert!(String::from_utf8_lossy(&o).contains("Checking standard input"));
    }
}
