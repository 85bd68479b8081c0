//! `almanac check rules` and `almanac test rules` on promtool's own test
//! files (testdata/rules/, from Prometheus v3.14.0): the same pass/fail
//! decisions and exit codes as promtool's tests expect.

use rules::check::{CheckOptions, check_rules};
use rules::unittest::{TestOptions, test_rules};

fn path(f: &str) -> String {
    format!("{}/testdata/rules/{f}", env!("CARGO_MANIFEST_DIR"))
}

fn test(file: &str, run: &[&str], ignore_unknown_fields: bool) -> (u8, String) {
    let opts = TestOptions {
        run: run.iter().map(|s| s.to_string()).collect(),
        ignore_unknown_fields,
    };
    let mut out = Vec::new();
    let code = test_rules(&[path(file)], &opts, &mut out);
    (code, String::from_utf8_lossy(&out).into_owned())
}

#[test]
fn unit_test_files_give_promtools_outcomes() {
    // (file, --run filters, --ignore-unknown-fields, promtool's exit code)
    let cases: &[(&str, &[&str], bool, u8)] = &[
        ("unittest.yml", &[], false, 0),
        ("unittest-floats.yml", &[], false, 0),
        ("long-period.yml", &[], false, 0),
        ("bad-input-series.yml", &[], false, 1),
        ("bad-promql.yml", &[], false, 1),
        ("bad-rules-syntax-test.yml", &[], false, 1),
        ("bad-rules-error-test.yml", &[], false, 1),
        ("failing.yml", &[], false, 1),
        // Prometheus 3 enables @ and negative offsets; so does Almanac.
        ("at-modifier-test.yml", &[], false, 0),
        ("negative-offset-test.yml", &[], false, 0),
        ("no-test-group-interval.yml", &[], false, 0),
        ("start-time-test.yml", &[], false, 0),
        ("rules_run.yml", &[], false, 1),
        ("rules_run.yml", &["correct", "wrong"], false, 1),
        ("rules_run.yml", &["correct"], false, 0),
        ("rules_run.yml", &["wrong"], false, 1),
        ("rules_run_extrafields.yml", &[], true, 0),
        ("rules_run_extrafields.yml", &[], false, 1),
        ("rules_run_no_fuzzy.yml", &[], false, 1),
        ("rules_run_fuzzy.yml", &["correct"], false, 0),
        ("rules_run_fuzzy.yml", &["wrong"], false, 1),
    ];
    for (file, run, ignore, want) in cases {
        let (code, out) = test(file, run, *ignore);
        assert_eq!(code, *want, "{file} {run:?}:\n{out}");
    }
}

#[test]
fn failures_are_readable_diffs() {
    let (_, out) = test("failing.yml", &[], false);
    for want in [
        "name: Failing test,",
        "expr: \"test\", time: 0s,",
        "exp: {__name__=\"test\"} 1",
        "got: {__name__=\"test\"} 0",
        "alertname: InstanceDown, time: 5m,",
        "Labels:{alertname=\"InstanceDown\", job=\"test\", severity=\"page\"}",
    ] {
        assert!(out.contains(want), "missing {want:?} in\n{out}");
    }
}

#[test]
fn check_rules_gives_promtools_exit_codes() {
    let lint = CheckOptions {
        lint_duplicates: true,
        ..Default::default()
    };
    let fatal = CheckOptions {
        lint_fatal: true,
        ..lint.clone()
    };
    let ignore = CheckOptions {
        ignore_unknown_fields: true,
        ..lint.clone()
    };
    let cases: &[(&str, &CheckOptions, u8)] = &[
        ("rules.yml", &lint, 0),
        ("rules-bad.yml", &lint, 1),
        ("prometheus-rules.lint.yml", &fatal, 3),
        ("prometheus-rules.lint.yml", &lint, 0),
        ("rules_duplicates.yml", &lint, 0),
        ("rules_duplicates.yml", &fatal, 3),
        ("features.yml", &lint, 0),
        ("rules_extrafields.yml", &lint, 1),
        ("rules_extrafields.yml", &ignore, 0),
        ("bad-rules-syntax.yml", &lint, 1),
        ("at-modifier.yml", &lint, 0),
    ];
    for (file, opts, want) in cases {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = check_rules(&[path(file)], None, opts, &mut out, &mut err);
        assert_eq!(code, *want, "{file}: {}", String::from_utf8_lossy(&err));
    }
    let (mut out, mut err) = (Vec::new(), Vec::new());
    check_rules(&[path("rules-bad.yml")], None, &lint, &mut out, &mut err);
    let err = String::from_utf8_lossy(&err);
    assert!(
        err.contains("rules-bad.yml:12: group \"alerts\", rule 1, \"InstanceDown\": annotation \"summary\": template: __alert_InstanceDown:1: undefined variable \"$label\""),
        "{err}"
    );
}

/// The alerting rules shipped for the cardinality limits pass `check
/// rules` (lints fatal) and their own unit tests.
#[test]
fn shipped_limit_alerts_check_and_pass_their_tests() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/alerts");
    let fatal = CheckOptions {
        lint_duplicates: true,
        lint_fatal: true,
        ..Default::default()
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = check_rules(
        &[format!("{dir}/almanac-limits.yml")],
        None,
        &fatal,
        &mut out,
        &mut err,
    );
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&err));
    let mut out = Vec::new();
    let code = test_rules(
        &[format!("{dir}/almanac-limits-test.yml")],
        &TestOptions::default(),
        &mut out,
    );
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&out));
}
