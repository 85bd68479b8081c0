//! `changes` and `resets`: counts over consecutive sample pairs. With
//! `anchored`, the last sample at or before the window start is the first
//! of the sequence, so a transition into the window counts too.

use tsdb::model::Sample;

use super::{RangeMode, RollupWindow, is_start_timestamp_reset};

/// `changes`: how often the value differs from the previous one (NaN to
/// NaN is no change). None for an empty window.
pub(super) fn changes(w: &RollupWindow<'_>) -> Option<f64> {
    count_pairs(w, |(prev, _), (cur, _)| {
        cur.v != prev.v && !(cur.v.is_nan() && prev.v.is_nan())
    })
}

/// `resets`: how often the value drops below the previous one or the
/// start timestamps show a restart. None for an empty window.
pub(super) fn resets(w: &RollupWindow<'_>) -> Option<f64> {
    count_pairs(w, |(prev, prev_st), (cur, cur_st)| {
        cur.v < prev.v || is_start_timestamp_reset(prev_st, prev.t, cur_st, cur.t)
    })
}

/// How many consecutive pairs of the window's sequence (each sample with
/// its start timestamp) satisfy `counts`.
fn count_pairs(
    w: &RollupWindow<'_>,
    counts: impl Fn((Sample, i64), (Sample, i64)) -> bool,
) -> Option<f64> {
    if w.samples.is_empty() {
        return None;
    }
    let anchor = match w.mode {
        RangeMode::Anchored => w.before.filter(|b| b.t <= w.start),
        _ => None,
    };
    let st = |i: usize| w.sts.get(i).copied().unwrap_or(0);
    let mut seq = anchor
        .map(|b| (b, w.before_st))
        .into_iter()
        .chain(w.samples.iter().enumerate().map(|(i, s)| (*s, st(i))));
    let mut prev = seq.next()?;
    let mut n = 0usize;
    for cur in seq {
        if counts(prev, cur) {
            n += 1;
        }
        prev = cur;
    }
    Some(n as f64)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{Case, check_cases, load};
    use super::super::{RangeMode, RangeMode::*, Rollup::*};

    #[test]
    fn plain_changes_and_resets() {
        // functions.test "Tests for resets()" / "changes()" (load 5m, at 50m).
        let foo = load("5m", "1 2 3 0 1 0 0 1 2 0");
        let bar = load("5m", "1 2 3 4 5 1 2 3 4 5");
        let biz = load("5m", "0 0 0 0 0 1 1 1 1 1");
        let mut cases = Vec::new();
        let resets = [
            ("5m", [None, None, None]),
            ("10m", [Some(0.0), Some(0.0), Some(0.0)]),
            ("20m", [Some(1.0), Some(0.0), Some(0.0)]),
            ("30m", [Some(1.0), Some(0.0), Some(0.0)]),
            ("32m", [Some(2.0), Some(1.0), Some(0.0)]),
            ("50m", [Some(3.0), Some(1.0), Some(0.0)]),
        ];
        let changes = [
            ("5m", [None, None, None]),
            ("6m", [Some(0.0), Some(0.0), Some(0.0)]),
            ("20m", [Some(2.0), Some(2.0), Some(0.0)]),
            ("30m", [Some(3.0), Some(4.0), Some(0.0)]),
            ("50m", [Some(7.0), Some(8.0), Some(1.0)]),
        ];
        for (range, wants) in resets {
            for (s, want) in [&foo, &bar, &biz].into_iter().zip(wants) {
                cases.push(Case::new("resets", Resets, s, "50m", range).want_opt(want));
            }
        }
        for (range, wants) in changes {
            for (s, want) in [&foo, &bar, &biz].into_iter().zip(wants) {
                cases.push(Case::new("changes", Changes, s, "50m", range).want_opt(want));
            }
        }
        // "changes(x[20m])" at 15m: NaN to NaN is no change.
        let all_nan = load("5m", "NaN NaN NaN");
        let some_nan = load("5m", "0 NaN 0");
        cases.push(Case::new("nan_nan", Changes, &all_nan, "15m", "20m").want(0.0));
        cases.push(Case::new("nan_between", Changes, &some_nan, "15m", "20m").want(2.0));
        check_cases(&cases);
    }

    #[test]
    fn anchored_changes_and_resets() {
        // extended_vectors.test, load 1m.
        let id1 = load("1m", "1+1x10");
        let id2 = load("1m", "1 1+1x10");
        let id3 = load("1m", "99-1x10");
        let id4 = load("1m", "99 99-1x10");
        let sparse = load("1m", "2 _ 1 _ _ _ _ _ 0");
        let down = load("1m", "99-1x10");
        let mut cases = Vec::new();
        let ids = [&id1, &id2, &id3, &id4];
        let table: [(&str, &str, RangeMode, [f64; 4]); 5] = [
            ("changes", "5m", Plain, [4.0, 4.0, 4.0, 4.0]),
            ("changes", "5m30s", Plain, [4.0, 4.0, 4.0, 4.0]),
            ("changes", "5m", Anchored, [5.0, 4.0, 5.0, 4.0]),
            ("changes", "6m", Anchored, [5.0, 5.0, 5.0, 5.0]),
            ("changes", "5m30s", Anchored, [5.0, 4.0, 5.0, 4.0]),
        ];
        for (name, at, mode, wants) in table {
            for (s, want) in ids.into_iter().zip(wants) {
                cases.push(Case::new(name, Changes, s, at, "5m").mode(mode).want(want));
            }
        }
        for (mode, wants) in [
            (Plain, [0.0, 0.0, 4.0, 4.0]),
            (Anchored, [0.0, 0.0, 5.0, 4.0]),
        ] {
            for (s, want) in ids.into_iter().zip(wants) {
                cases.push(
                    Case::new("resets", Resets, s, "5m30s", "5m")
                        .mode(mode)
                        .want(want),
                );
            }
        }
        for f in [Changes, Resets] {
            cases.extend([
                Case::new("sparse_2m", f, &sparse, "2m", "1m").want(0.0),
                Case::new("down_2m", f, &down, "2m", "1m").want(0.0),
                Case::new("sparse_3m", f, &sparse, "3m", "1m").none(),
                Case::new("down_3m", f, &down, "3m", "1m").want(0.0),
                Case::new("an_sparse_2m", f, &sparse, "2m", "1m")
                    .mode(Anchored)
                    .want(1.0),
                Case::new("an_down_2m", f, &down, "2m", "1m")
                    .mode(Anchored)
                    .want(1.0),
                Case::new("an_sparse_3m", f, &sparse, "3m", "1m")
                    .mode(Anchored)
                    .none(),
                Case::new("an_down_3m", f, &down, "3m", "1m")
                    .mode(Anchored)
                    .want(1.0),
                // The anchor at 2m is exactly a lookback (5m) before 7m: out.
                Case::new("an_sparse_8m", f, &sparse, "8m", "1m")
                    .mode(Anchored)
                    .want(0.0),
                Case::new("an_down_8m", f, &down, "8m", "1m")
                    .mode(Anchored)
                    .want(1.0),
                Case::new("an_sparse_8m_1ms", f, &sparse, "8m", "1m1ms")
                    .mode(Anchored)
                    .want(1.0),
                Case::new("an_down_8m_1ms", f, &down, "8m", "1m1ms")
                    .mode(Anchored)
                    .want(2.0),
            ]);
        }
        // "eval instant at 3m resets(floats[1m] anchored)" → 1.
        let floats = load("1m", "2 1 2 1 2 1");
        cases.push(
            Case::new("floats", Resets, &floats, "3m", "1m")
                .mode(Anchored)
                .want(1.0),
        );
        cases.push(
            Case::new("floats", Changes, &floats, "3m", "1m")
                .mode(Anchored)
                .want(1.0),
        );
        check_cases(&cases);
    }
}
