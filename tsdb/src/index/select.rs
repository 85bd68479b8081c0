//! Matchers → series ids, over any label index.

use roaring::RoaringBitmap;

use crate::model::Matcher;

/// Read access to an inverted index; implemented by the head's postings and
/// by on-disk block indexes.
pub trait LabelIndex {
    /// Every series id in the index.
    fn all_postings(&self) -> RoaringBitmap;
    /// Ids of the series with `name="value"` (empty when none).
    fn postings(&self, name: &str, value: &str) -> RoaringBitmap;
    /// Calls `f` for each value of `name` with its postings, values in
    /// ascending order.
    fn for_each_value(&self, name: &str, f: &mut dyn FnMut(&str, &RoaringBitmap));
    /// Sorted names of all labels in the index.
    fn label_names(&self) -> Vec<String>;
}

/// Ids of the series that satisfy *all* matchers. An empty matcher list
/// selects nothing (callers that want everything say so with a matcher).
///
/// Matchers that reject `""` narrow by union of the postings of the values
/// they accept; matchers that accept `""` (they also select series without
/// the label) subtract the postings of the values they reject. When every
/// matcher accepts `""`, the start set is every series.
pub fn postings_for_matchers(ix: &dyn LabelIndex, matchers: &[Matcher]) -> RoaringBitmap {
    if matchers.is_empty() {
        return RoaringBitmap::new();
    }
    let (positive, negative): (Vec<&Matcher>, Vec<&Matcher>) =
        matchers.iter().partition(|m| !m.matches_empty());

    // Most selective positive matchers first would be ideal; equality first
    // is a cheap proxy that also lets us stop early on an empty result.
    let mut positive = positive;
    positive.sort_by_key(|m| m.set_matches().is_none());

    let mut acc: Option<RoaringBitmap> = None;
    for m in positive {
        let bm = matching_postings(ix, m);
        acc = Some(match acc {
            None => bm,
            Some(a) => a & bm,
        });
        if acc.as_ref().is_some_and(RoaringBitmap::is_empty) {
            return RoaringBitmap::new();
        }
    }
    let mut acc = acc.unwrap_or_else(|| ix.all_postings());
    for m in negative {
        // Accepts "" → remove the series whose value it rejects.
        ix.for_each_value(&m.name, &mut |v, bm| {
            if !m.matches(v) {
                acc -= bm;
            }
        });
        if acc.is_empty() {
            break;
        }
    }
    acc
}

/// Union of the postings of every value of `m.name` that `m` accepts.
fn matching_postings(ix: &dyn LabelIndex, m: &Matcher) -> RoaringBitmap {
    if let Some(values) = m.set_matches() {
        let mut out = RoaringBitmap::new();
        for v in values {
            out |= ix.postings(&m.name, v);
        }
        return out;
    }
    let mut out = RoaringBitmap::new();
    ix.for_each_value(&m.name, &mut |v, bm| {
        if m.matches(v) {
            out |= bm;
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::MemPostings;
    use crate::model::{Labels, MatchOp};
    use proptest::prelude::*;

    fn mk(series: &[&[(&str, &str)]]) -> (MemPostings, Vec<Labels>) {
        let mut p = MemPostings::new();
        let mut all = vec![];
        for (i, s) in series.iter().enumerate() {
            let l = Labels::from_pairs(s);
            p.add(i as u32, &l);
            all.push(l);
        }
        (p, all)
    }

    /// The slow, obvious reference: test every series against every matcher.
    fn reference(all: &[Labels], ms: &[Matcher]) -> Vec<u32> {
        if ms.is_empty() {
            return vec![];
        }
        (0..all.len() as u32)
            .filter(|&i| ms.iter().all(|m| m.matches(all[i as usize].get(&m.name))))
            .collect()
    }

    #[test]
    fn table() {
        let (p, all) = mk(&[
            &[("__name__", "up"), ("job", "a"), ("i", "1")],
            &[("__name__", "up"), ("job", "b")],
            &[("__name__", "down"), ("job", "a"), ("i", "2")],
        ]);
        let m = |op, n: &str, v: &str| Matcher::new(op, n, v).unwrap();
        use MatchOp::*;
        let cases: Vec<(&str, Vec<Matcher>, Vec<u32>)> = vec![
            ("equal", vec![m(Equal, "job", "a")], vec![0, 2]),
            (
                "intersection",
                vec![m(Equal, "__name__", "up"), m(Equal, "job", "a")],
                vec![0],
            ),
            (
                "missing label equals empty",
                vec![m(Equal, "i", "")],
                vec![1],
            ),
            (
                "not equal includes missing",
                vec![m(NotEqual, "i", "1")],
                vec![1, 2],
            ),
            (
                "regex any selects all",
                vec![m(RegexMatch, "i", ".*")],
                vec![0, 1, 2],
            ),
            ("regex nonempty", vec![m(RegexMatch, "i", ".+")], vec![0, 2]),
            (
                "negative regex",
                vec![m(Equal, "__name__", "up"), m(RegexNoMatch, "job", "a|c")],
                vec![1],
            ),
            ("no match", vec![m(Equal, "job", "zzz")], vec![]),
            ("no matchers selects nothing", vec![], vec![]),
        ];
        for (name, ms, want) in cases {
            let got: Vec<u32> = postings_for_matchers(&p, &ms).iter().collect();
            assert_eq!(got, want, "case {name}");
            assert_eq!(reference(&all, &ms), want, "reference disagrees on {name}");
        }
    }

    proptest! {
        #[test]
        fn matches_reference(
            series in prop::collection::vec(
                prop::collection::vec((0..3usize, 0..4usize), 0..4), 1..30),
            ms in prop::collection::vec((0..3usize, 0..4usize, 0..4usize), 1..4),
        ) {
            let names = ["a", "b", "c"];
            let values = ["", "x", "y", "xy"];
            let mut p = MemPostings::new();
            let mut all = vec![];
            for (i, s) in series.iter().enumerate() {
                let pairs: Vec<(&str, &str)> = s.iter().map(|&(n, v)| (names[n], values[v])).collect();
                let l = Labels::from_pairs(&pairs);
                p.add(i as u32, &l);
                all.push(l);
            }
            let ops = [MatchOp::Equal, MatchOp::NotEqual, MatchOp::RegexMatch, MatchOp::RegexNoMatch];
            let pats = ["", "x", "x.*", "x|y"];
            let matchers: Vec<Matcher> = ms.iter()
                .map(|&(n, o, v)| Matcher::new(ops[o], names[n], pats[v]).unwrap())
                .collect();
            let got: Vec<u32> = postings_for_matchers(&p, &matchers).iter().collect();
            prop_assert_eq!(got, reference(&all, &matchers));
        }
    }
}
