use super::*;

fn label(n: &str) -> String {
    match n {
        "status" => "500",
        "path" => " /API/v1/users ",
        "took" => "12.5",
        "n" => "7",
        "level" => "error",
        _ => "",
    }
    .to_string()
}

fn render(src: &str) -> Result<String, String> {
    Template::parse(src)?.render(&label, "get x", 1_500_000_000)
}

#[test]
fn renders() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "labels and text",
            "{{.status}} {{ .path }}",
            "500  /API/v1/users ",
        ),
        (
            "pipes",
            "{{ .path | lower | TrimSpace }}!",
            "/api/v1/users!",
        ),
        ("call", "{{ ToUpper __line__ }}", "GET X"),
        ("trim markers", "a  {{- .missing -}}  x", "ax"),
        ("plain", "plain", "plain"),
        (
            "timestamp",
            "{{ __timestamp__ }}",
            "1970-01-01T00:00:01.500Z",
        ),
        ("epoch", "{{ __timestamp__ | unixEpochMillis }}", "1500"),
        (
            "printf",
            r#"{{ printf "%s=%05.1f|%-4d|%q" .level .took .n .status }}"#,
            r#"error=012.5|7   |"500""#,
        ),
        (
            "default",
            r#"{{ .missing | default "none" }}/{{ .n | default "none" }}"#,
            "none/7",
        ),
        (
            "replace and trunc",
            r#"{{ .path | trim | replace "/" "." | trunc 4 }}"#,
            ".API",
        ),
        ("negative trunc", "{{ trim .path | trunc -5 }}", "users"),
        ("substr", "{{ substr 1 4 .level }}", "rro"),
        (
            "regex",
            r#"{{ regexReplaceAll "/v(\\d)/" .path "/version-${1}/" }}"#,
            " /API/version-1/users ",
        ),
        (
            "regex literal",
            r#"{{ regexReplaceAllLiteral "\\d" .n "$1" }}"#,
            "$1",
        ),
        (
            "math",
            "{{ add .n 3 }} {{ mul .n 2 | sub 1 }} {{ divf .took 2 }} {{ mod 7 3 }}",
            "10 -13 6.25 1",
        ),
        (
            "round",
            "{{ round .took 0 }} {{ ceil .took }} {{ floor .took }}",
            "13 13 12",
        ),
        (
            "align",
            r#"[{{ alignLeft 7 .level }}][{{ alignRight 4 .n }}]"#,
            "[error  ][   7]",
        ),
        (
            "title",
            r#"{{ title "hello big world" }}"#,
            "Hello Big World",
        ),
        (
            "len and count",
            r#"{{ len .level }} {{ count "r" .level }}"#,
            "5 3",
        ),
        ("if", r#"{{ if eq .level "error" }}E{{ end }}"#, "E"),
        (
            "if else",
            r#"{{ if gt .n 10 }}big{{ else }}small{{ end }}"#,
            "small",
        ),
        (
            "else if",
            r#"{{ if eq .status "200" }}ok{{ else if hasPrefix "5" .status }}server{{ else }}other{{ end }}"#,
            "server",
        ),
        (
            "and or not",
            r#"{{ if and .level (not .missing) }}y{{ end }}{{ or .missing "z" }}"#,
            "yz",
        ),
        (
            "nested if",
            "{{ if .level }}{{ if .missing }}a{{ else }}b{{ end }}{{ end }}",
            "b",
        ),
        ("comment", "a{{/* a comment */}}b", "ab"),
        ("braces in strings", r#"{{ printf "}}%s" .n }}"#, "}}7"),
        ("raw string", "{{ printf `%s-%s` .n .n }}", "7-7"),
        (
            "parentheses",
            r#"{{ printf "%d" (add .n (mul 2 3)) }}"#,
            "13",
        ),
        (
            "date",
            r#"{{ __timestamp__ | date "2006-01-02 15:04:05.000 MST" }}"#,
            "1970-01-01 00:00:01.500 UTC",
        ),
        (
            "toDate and date",
            r#"{{ toDate "02/01/2006" "29/02/2024" | date "Mon Jan _2 2006" }}"#,
            "Thu Feb 29 2024",
        ),
        (
            "toDate with a zone",
            r#"{{ toDate "2006-01-02T15:04:05Z07:00" "2024-02-29T01:00:00+01:00" | unixEpoch }}"#,
            "1709164800",
        ),
        (
            "unixToTime by digits",
            r#"{{ unixToTime "1709164800" | unixEpoch }} {{ unixToTime "1709164800123" | unixEpochMillis }} {{ unixToTime "19782" | date "2006-01-02" }}"#,
            "1709164800 1709164800123 2024-02-29",
        ),
        (
            "now is a time",
            r#"{{ if gt (now | unixEpoch) 1700000000 }}y{{ end }}"#,
            "y",
        ),
        (
            "base64",
            r#"{{ .level | b64enc }} {{ b64dec "Z3LDvMOfZQ==" }}"#,
            "ZXJyb3I= grüße",
        ),
        (
            "url",
            r#"{{ urlencode "a b&c=d/é" }} {{ urldecode "a+b%26c%3Dd%2F%C3%A9" }}"#,
            "a+b%26c%3Dd%2F%C3%A9 a b&c=d/é",
        ),
    ];
    for (name, src, want) in cases {
        assert_eq!(render(src).as_deref(), Ok(*want), "{name}: {src}");
    }
}

#[test]
fn refuses_and_fails() {
    let parse_errors: &[(&str, &str)] = &[
        ("{{ range .a }}x{{ end }}", "not supported"),
        ("{{ fromJson .a }}", "\"fromJson\" is not supported"),
        ("{{ .a", "unclosed"),
        ("{{ if .a }}x", "without {{ end }}"),
        ("x{{ end }}", "unexpected"),
        ("{{ .a .b }}", "cannot take arguments"),
        ("{{ \"open }}", "unclosed"),
        ("{{ .1x }}", "not a label"),
    ];
    for (src, want) in parse_errors {
        match Template::parse(src) {
            Err(e) => assert!(e.contains(want), "{src}: {e}"),
            Ok(t) => panic!("{src}: parsed as {t:?}"),
        }
    }
    let render_errors: &[(&str, &str)] = &[
        ("{{ div .n 0 }}", "division by zero"),
        ("{{ add .level 1 }}", "not a number"),
        ("{{ trunc 2 }}", "takes 2 arguments"),
        ("{{ unixEpoch .n }}", "takes a time"),
        (r#"{{ lt .level 3 }}"#, "not a number"),
        (r#"{{ toDate "2006-01-02" "2024-13-01" }}"#, "out of range"),
        (r#"{{ date "2006" .level }}"#, "takes a layout and a time"),
        (r#"{{ unixToTime "123" }}"#, "Unix epoch"),
        (r#"{{ b64dec "Zg=" }}"#, "not base64"),
        (r#"{{ urldecode "%G1" }}"#, "invalid URL escape"),
        (r#"{{ now 1 }}"#, "takes 0 arguments"),
    ];
    for (src, want) in render_errors {
        match render(src) {
            Err(e) => assert!(e.contains(want), "{src}: {e}"),
            Ok(out) => panic!("{src}: rendered {out:?}"),
        }
    }
}
