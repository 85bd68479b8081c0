//! The order of label values in `sort_by_label` / `sort_by_label_desc`:
//! natural ("human") order, as Prometheus 3 does with
//! `github.com/facette/natsort` (`testdata/promql/functions.test`: `cpu="2"`
//! before `cpu="10"`, `1.2.3` before `1.11.3`).

use std::cmp::Ordering;

/// Natural order of two label values.
///
/// Each value is split into maximal runs of ASCII digits and of
/// non-digits; runs are compared pairwise, two digit runs by numeric value
/// and anything else bytewise; when one value runs out of runs first it
/// sorts first. Values whose runs are all equal (`"01"` and `"1"`) are
/// ordered bytewise.
///
/// This is a total order, as `sort_by` requires. It agrees with
/// Prometheus wherever Prometheus's comparison is consistent; where it is
/// not, Prometheus's result depends on its sort algorithm and this picks a
/// fixed answer: the empty string sorts first, numbers beyond `i64` compare
/// by value (Prometheus compares them as text), and naturally equal values
/// fall back to bytes.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (mut x, mut y) = (Runs(a), Runs(b));
    loop {
        match (x.next(), y.next()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(p), Some(q)) => match cmp_runs(p, q) {
                Ordering::Equal => continue,
                o => return o,
            },
        }
    }
}

fn cmp_runs(p: &str, q: &str) -> Ordering {
    let digits = |s: &str| s.as_bytes().first().is_some_and(u8::is_ascii_digit);
    if digits(p) && digits(q) {
        // Compare by value without parsing: strip leading zeros, then the
        // longer number is larger, and equal lengths compare digit-wise.
        let p = p.trim_start_matches('0');
        let q = q.trim_start_matches('0');
        p.len().cmp(&q.len()).then_with(|| p.cmp(q))
    } else {
        p.cmp(q)
    }
}

/// Maximal runs of ASCII digits or of other characters (never empty).
struct Runs<'a>(&'a str);

impl<'a> Iterator for Runs<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let first = *self.0.as_bytes().first()?;
        let digit = first.is_ascii_digit();
        // Digits are ASCII, so a byte boundary between a digit and a
        // non-digit is always a char boundary.
        let end = self
            .0
            .bytes()
            .position(|c| c.is_ascii_digit() != digit)
            .unwrap_or(self.0.len());
        let (run, rest) = self.0.split_at(end);
        self.0 = rest;
        Some(run)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::*;
    use proptest::prelude::*;

    /// Orders from testdata/promql/functions.test (sort_by_label) and the
    /// natsort rules.
    #[test]
    fn table() {
        let cases: &[(&str, &str, &str, Ordering)] = &[
            ("equal", "a", "a", Equal),
            ("numbers by value", "2", "10", Less),
            ("cpu 21 before 100", "21", "100", Less),
            ("instance 4m5 before 4m600", "4m5", "4m600", Less),
            ("4m600 before 4m1000", "4m600", "4m1000", Less),
            ("release 1.2.3 before 1.11.3", "1.2.3", "1.11.3", Less),
            ("1.11.3 before 1.111.3", "1.11.3", "1.111.3", Less),
            ("text bytewise", "canary", "production", Less),
            ("prefix first", "a", "ab", Less),
            ("shorter runs first", "a1", "a1b", Less),
            ("text then number", "a", "a1", Less),
            ("digits before letters", "1a", "a1", Less),
            ("later number decides", "x2y", "x10y", Less),
            ("leading zeros equal by value, then bytes", "01", "1", Less),
            ("leading zeros in the middle", "a01b", "a1c", Less),
            ("empty first", "", "a", Less),
            (
                "big numbers by value",
                "99999999999999999999",
                "100000000000000000000",
                Less,
            ),
            ("uppercase before lowercase", "B", "a", Less),
            ("non-ascii is text", "é1", "é10", Less),
        ];
        for (name, a, b, want) in cases {
            assert_eq!(natural_cmp(a, b), *want, "{name}: {a:?} vs {b:?}");
            assert_eq!(natural_cmp(b, a), want.reverse(), "{name} reversed");
        }
    }

    #[test]
    fn sorts_cpu_numbers_like_functions_test() {
        let mut v = vec!["100", "21", "20", "12", "11", "10", "3", "2", "1", "0"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, ["0", "1", "2", "3", "10", "11", "12", "20", "21", "100"]);
    }

    fn value() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop::sample::select(vec!["0", "1", "9", "00", "a", "b", ".", "é"]),
            0..5,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        #[test]
        fn is_a_total_order(a in value(), b in value(), c in value()) {
            prop_assert_eq!(natural_cmp(&a, &b), natural_cmp(&b, &a).reverse());
            prop_assert_eq!(natural_cmp(&a, &b) == Equal, a == b);
            if natural_cmp(&a, &b) != Greater && natural_cmp(&b, &c) != Greater {
                prop_assert_ne!(natural_cmp(&a, &c), Greater);
            }
        }
    }
}
