//! Table tests of the template engine against outputs Prometheus produces.

use super::*;

fn data() -> AlertData<'static> {
    AlertData {
        labels: [
            ("instance", "host1.example.com:9100"),
            ("job", "node"),
            ("severity", "page"),
        ]
        .into_iter()
        .collect(),
        external_labels: [("cluster", "eu1")].into_iter().collect(),
        external_url: "http://almanac:9009",
        value: 0.8123,
    }
}

fn fake_query(q: &str) -> QueryResult {
    match q {
        "up" => Ok(vec![
            (
                vec![
                    ("__name__".into(), "up".into()),
                    ("instance".into(), "b".into()),
                ],
                0.0,
            ),
            (
                vec![
                    ("__name__".into(), "up".into()),
                    ("instance".into(), "a".into()),
                ],
                1.0,
            ),
        ]),
        "scalar(1)" => Ok(vec![(vec![], 1.0)]),
        "nothing" => Ok(vec![]),
        other => Err(format!("bad query {other:?}")),
    }
}

fn render(text: &str) -> Result<String, TemplateError> {
    Template::parse("t", text)?.expand(&data(), Some(&fake_query))
}

#[test]
fn renders_as_prometheus() {
    let cases: &[(&str, &str, &str)] = &[
        ("plain", "disk full", "disk full"),
        (
            "label",
            "{{ $labels.instance }} down",
            "host1.example.com:9100 down",
        ),
        ("dot_labels", "{{ .Labels.job }}", "node"),
        ("missing_label", "[{{ $labels.nope }}]", "[]"),
        ("value", "{{ $value }}", "0.8123"),
        ("dot_value", "{{ .Value }}", "0.8123"),
        ("external_labels", "{{ $externalLabels.cluster }}", "eu1"),
        ("external_url", "{{ $externalURL }}", "http://almanac:9009"),
        ("humanize", "{{ humanize 1234567 }}", "1.235M"),
        (
            "humanize_pipe",
            "{{ $value | humanizePercentage }}",
            "81.23%",
        ),
        ("humanize1024", "{{ 1048576.0 | humanize1024 }}", "1Mi"),
        (
            "humanize_duration",
            "{{ humanizeDuration 899.99 }}",
            "14m 59s",
        ),
        (
            "humanize_timestamp",
            "{{ 1435065584.128 | humanizeTimestamp }}",
            "2015-06-23 13:19:44.128 +0000 UTC",
        ),
        ("humanize_string", "{{ humanize \"2048\" }}", "2.048k"),
        ("printf", "{{ printf \"%.2f\" $value }}", "0.81"),
        ("printf_pct", "{{ printf \"%.1f%%\" 12.345 }}", "12.3%"),
        (
            "printf_labels",
            "{{ printf \"%s/%s\" $labels.job $labels.severity }}",
            "node/page",
        ),
        ("if", "{{ if gt $value 0.5 }}high{{ end }}", "high"),
        (
            "if_else",
            "{{ if lt $value 0.5 }}low{{ else }}high{{ end }}",
            "high",
        ),
        (
            "else_if",
            "{{ if eq $labels.job \"x\" }}x{{ else if eq $labels.job \"node\" }}n{{ else }}o{{ end }}",
            "n",
        ),
        (
            "eq_many",
            "{{ if eq $labels.severity \"warn\" \"page\" }}y{{ end }}",
            "y",
        ),
        (
            "and_or_not",
            "{{ and 1 0 }} {{ or 0 \"\" \"x\" }} {{ not false }}",
            "0 x true",
        ),
        (
            "range_query",
            "{{ range query \"up\" }}{{ .Labels.instance }}={{ .Value }};{{ end }}",
            "b=0;a=1;",
        ),
        (
            "range_vars",
            "{{ range $i, $s := query \"up\" }}{{ $i }}:{{ $s.Labels.instance }} {{ end }}",
            "0:b 1:a ",
        ),
        (
            "range_else",
            "{{ range query \"nothing\" }}x{{ else }}none{{ end }}",
            "none",
        ),
        (
            "sort_by_label",
            "{{ range sortByLabel \"instance\" (query \"up\") }}{{ label \"instance\" . }}{{ end }}",
            "ab",
        ),
        (
            "query_first_value",
            "{{ query \"up\" | first | value }}",
            "0",
        ),
        (
            "query_scalar",
            "{{ with query \"scalar(1)\" }}{{ . | first | value | humanize }}{{ end }}",
            "1",
        ),
        (
            "with_else",
            "{{ with query \"nothing\" }}x{{ else }}empty{{ end }}",
            "empty",
        ),
        ("strvalue", "[{{ query \"up\" | first | strvalue }}]", "[]"),
        (
            "to_upper",
            "{{ toUpper \"abc\" }} {{ \"ABC\" | toLower }}",
            "ABC abc",
        ),
        (
            "title",
            "{{ title \"hello wide world\" }}",
            "Hello Wide World",
        ),
        (
            "re_replace_all",
            "{{ reReplaceAll \"(.*):(.*)\" \"$1 port $2\" $labels.instance }}",
            "host1.example.com port 9100",
        ),
        ("match", "{{ match \"^host\" $labels.instance }}", "true"),
        (
            "strip_port",
            "{{ $labels.instance | stripPort }}",
            "host1.example.com",
        ),
        (
            "strip_domain",
            "{{ $labels.instance | stripDomain }}",
            "host1:9100",
        ),
        (
            "variables",
            "{{ $x := 2 }}{{ $x }}{{ $x = 3 }}{{ $x }}",
            "23",
        ),
        ("trim", "a  {{- \"b\" -}}  c", "abc"),
        ("comment", "a{{/* ignored */}}b", "ab"),
        ("raw_string", "{{ `a\\n` }}", "a\\n"),
        ("escaped_string", "{{ \"a\\tb\" }}", "a\tb"),
        ("index", "{{ index $labels \"job\" }}", "node"),
        ("len", "{{ len $labels }} {{ len \"abc\" }}", "3 3"),
        ("parens", "{{ (printf \"%d\" 5) }}", "5"),
        ("print", "{{ print 1 2 \"a\" \"b\" }}", "1 2ab"),
        ("args", "{{ with args 1 \"x\" }}{{ .arg1 }}{{ end }}", "x"),
        ("float_big", "{{ 1e6 }}", "1e+06"),
        ("int_literal", "{{ 42 }}", "42"),
        (
            "graph_link",
            "{{ graphLink \"up\" }}",
            "/graph?g0.expr=up&g0.tab=0",
        ),
        ("path_prefix", "[{{ pathPrefix }}]", "[]"),
        (
            "nested_ranges_break",
            "{{ range query \"up\" }}{{ .Value }}{{ break }}{{ end }}",
            "0",
        ),
        (
            "multiline",
            "line1\n{{ if true }}\nline2{{ end }}",
            "line1\n\nline2",
        ),
    ];
    for (name, text, want) in cases {
        match render(text) {
            Ok(got) => assert_eq!(&got, want, "{name}: {text}"),
            Err(e) => panic!("{name}: {text}: {e}"),
        }
    }
}

#[test]
fn parse_errors_name_template_and_line() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "undefined_variable",
            "Instance {{ $label.foo }} down",
            "template: t:1: undefined variable \"$label\"",
        ),
        (
            "undefined_function",
            "{{ nope 1 }}",
            "function \"nope\" not defined",
        ),
        ("unclosed_action", "{{ $value ", "unclosed action"),
        ("missing_end", "{{ if true }}x", "without {{end}}"),
        ("stray_end", "x{{ end }}", "unexpected {{end}}"),
        ("line_number", "a\nb\n{{ $nope }}", "template: t:3:"),
        (
            "scope_ends",
            "{{ if true }}{{ $x := 1 }}{{ end }}{{ $x }}",
            "undefined variable \"$x\"",
        ),
        ("unterminated_string", "{{ \"abc }}", "unclosed action"),
        ("break_outside_range", "{{ break }}", "outside {{range}}"),
        (
            "assign_undeclared",
            "{{ $y = 1 }}",
            "undefined variable \"$y\"",
        ),
        (
            "define_unsupported",
            "{{ define \"x\" }}{{ end }}",
            "not supported",
        ),
    ];
    for (name, text, want) in cases {
        match Template::parse("t", text) {
            Ok(_) => panic!("{name}: {text}: parsed"),
            Err(e) => assert!(e.to_string().contains(want), "{name}: {e}"),
        }
    }
}

#[test]
fn execution_errors() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "first_of_empty",
            "{{ query \"nothing\" | first }}",
            "no elements",
        ),
        ("query_fails", "{{ query \"bad\" }}", "bad query"),
        (
            "bad_regex",
            "{{ reReplaceAll \"(\" \"\" \"x\" }}",
            "error calling reReplaceAll",
        ),
        (
            "humanize_not_number",
            "{{ humanize \"abc\" }}",
            "invalid syntax",
        ),
        (
            "field_of_string",
            "{{ $labels.job.x }}",
            "can't evaluate field x",
        ),
        ("wrong_arity", "{{ toUpper }}", "wrong number of args"),
        ("compare_mixed", "{{ gt \"a\" 1 }}", "incompatible types"),
    ];
    for (name, text, want) in cases {
        match render(text) {
            Ok(got) => panic!("{name}: {text}: rendered {got:?}"),
            Err(e) => assert!(e.to_string().contains(want), "{name}: {e}"),
        }
    }
}

#[test]
fn plain_templates_are_detected() {
    assert!(Template::parse("t", "page").unwrap().is_plain());
    assert!(!Template::parse("t", "{{ 1 }}").unwrap().is_plain());
}
