//! Lines of Prometheus's text exposition format, for the `/metrics` of
//! every part of the server.

use std::fmt::Write;

/// The `# HELP` and `# TYPE` lines of a metric family.
pub fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// A family of one unlabelled counter.
pub fn counter(out: &mut String, name: &str, help: &str, v: u64) {
    header(out, name, help, "counter");
    let _ = writeln!(out, "{name} {v}");
}

/// A family of one unlabelled gauge.
pub fn gauge(out: &mut String, name: &str, help: &str, v: f64) {
    header(out, name, help, "gauge");
    let _ = writeln!(out, "{name} {v}");
}

/// Escapes a label value for the text format.
pub fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_and_escapes() {
        let mut out = String::new();
        counter(&mut out, "a_total", "As.", 3);
        gauge(&mut out, "b", "Bs.", 1.5);
        assert_eq!(
            out,
            "# HELP a_total As.\n# TYPE a_total counter\na_total 3\n\
             # HELP b Bs.\n# TYPE b gauge\nb 1.5\n"
        );
        let cases = [
            ("plain", "x", "x"),
            ("quote", "a\"b", "a\\\"b"),
            ("backslash", "a\\b", "a\\\\b"),
            ("newline", "a\nb", "a\\nb"),
        ];
        for (name, v, want) in cases {
            assert_eq!(escape(v), want, "{name}");
        }
    }
}
