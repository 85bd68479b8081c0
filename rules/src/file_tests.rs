//! Table tests of rule-file validation.

use super::*;

const GOOD: &str = "groups:
  - name: alerts
    interval: 30s
    labels:
      team: db
    rules:
      - alert: InstanceDown
        expr: up == 0
        for: 5m
        keep_firing_for: 1m
        labels:
          severity: page
        annotations:
          summary: \"Instance {{ $labels.instance }} down\"
      - record: job:up:sum
        expr: sum by (job) (up)
  - name: numbers
    rules:
      - record: one
        expr: 1
";

#[test]
fn good_file_loads() {
    let f = parse("good.yml", GOOD, false).unwrap();
    assert_eq!(f.groups.len(), 2);
    let g = &f.groups[0];
    assert_eq!(
        (g.name.as_str(), g.line, g.interval),
        ("alerts", 2, Some(30_000))
    );
    assert_eq!(g.labels.get("team").map(String::as_str), Some("db"));
    let r = &g.rules[0];
    assert_eq!(
        (r.kind, r.name.as_str(), r.line),
        (RuleKind::Alerting, "InstanceDown", 7)
    );
    assert_eq!((r.for_ms, r.keep_firing_for_ms), (300_000, 60_000));
    assert_eq!(g.rules[1].kind, RuleKind::Recording);
    assert_eq!(f.groups[1].rules[0].expr_text, "1");
    assert!(duplicates(&f).is_empty());
}

#[test]
fn errors_name_file_line_group_and_rule() {
    let rule = |body: &str| format!("groups:\n  - name: g\n    rules:\n      - {body}\n");
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "bad_promql",
            rule("record: x\n        expr: sum(up"),
            "f.yml:5: group \"g\", rule 1, \"x\": could not parse expression: 1:7: parse error",
        ),
        (
            "no_expr",
            rule("record: x"),
            "rule 1, \"x\": field 'expr' must be set",
        ),
        (
            "both_kinds",
            rule("record: x\n        alert: y\n        expr: up"),
            "only one of 'record' and 'alert'",
        ),
        (
            "no_kind",
            rule("expr: up"),
            "one of 'record' or 'alert' must be set",
        ),
        (
            "for_on_record",
            rule("record: x\n        expr: up\n        for: 5m"),
            "f.yml:6: group \"g\", rule 1, \"x\": invalid field 'for' in recording rule",
        ),
        (
            "annotations_on_record",
            rule("record: x\n        expr: up\n        annotations:\n          a: b"),
            "invalid field 'annotations' in recording rule",
        ),
        (
            "bad_template",
            rule(
                "alert: A\n        expr: up\n        annotations:\n          s: \"{{ $label.x }}\"",
            ),
            "annotation \"s\": template: __alert_A:1: undefined variable \"$label\"",
        ),
        (
            "bad_label_template",
            rule("alert: A\n        expr: up\n        labels:\n          s: \"{{ nope }}\""),
            "label \"s\": template",
        ),
        (
            "bad_label_name",
            rule("record: x\n        expr: up\n        labels:\n          __name__: y"),
            "invalid label name: \"__name__\"",
        ),
        (
            "bad_duration",
            rule("alert: A\n        expr: up\n        for: 5 minutes"),
            "for: not a valid duration string",
        ),
        (
            "unknown_field",
            rule("record: x\n        expr: up\n        owner: me"),
            "f.yml:6:9: groups[0].rules[0]: unknown field `owner`",
        ),
        (
            "empty_group_name",
            "groups:\n  - rules: []\n".to_string(),
            "f.yml:2: group \"\": Groupname must not be empty",
        ),
        (
            "repeated_group",
            "groups:\n  - name: a\n  - name: a\n".to_string(),
            "f.yml:3: group \"a\": groupname: \"a\" is repeated",
        ),
        ("not_yaml", "groups: [\n".to_string(), "f.yml:"),
        ("wrong_type", "groups: 3\n".to_string(), "invalid type"),
        (
            "multiline_expr_error",
            rule("record: x\n        expr: |\n          sum(\n          up"),
            "f.yml:8: group \"g\", rule 1, \"x\": could not parse expression: 3:1",
        ),
    ];
    for (name, text, want) in cases {
        let errs = parse("f.yml", &text, false)
            .err()
            .unwrap_or_else(|| panic!("{name}: loaded"));
        let all: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert!(all.iter().any(|e| e.contains(want)), "{name}: {all:?}");
    }
}

#[test]
fn zero_durations_are_durations() {
    // Prometheus reads `0` without a unit as a duration, as in `for: 0`.
    let text = "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        for: 0\n        keep_firing_for: 0ms\n";
    let f = parse("f.yml", text, false).unwrap_or_else(|e| panic!("{e:?}"));
    let r = &f.groups[0].rules[0];
    assert_eq!((r.for_ms, r.keep_firing_for_ms), (0, 0));
}

#[test]
fn unknown_fields_can_be_ignored() {
    let text = "groups:\n  - name: g\n    owner: me\n    rules:\n      - record: x\n        expr: 1\n        team: a\n";
    assert!(parse("f.yml", text, false).is_err());
    let f = parse("f.yml", text, true).unwrap();
    assert_eq!(f.groups[0].rules[0].name, "x");
}

#[test]
fn empty_file_has_no_groups() {
    for text in ["", "# only a comment\n", "groups: []\n"] {
        assert!(
            parse("f.yml", text, false).unwrap().groups.is_empty(),
            "{text:?}"
        );
    }
}

#[test]
fn duplicate_lint_reports_each_once() {
    let text = "groups:
  - name: a
    rules:
      - record: x
        expr: up
      - record: x
        expr: up
      - record: x
        labels: {k: v}
        expr: up
  - name: b
    rules:
      - record: x
        expr: up
";
    let f = parse("f.yml", text, false).unwrap();
    let d = duplicates(&f);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].at.to_string(), "f.yml:6: group \"a\", rule 2, \"x\"");
}
