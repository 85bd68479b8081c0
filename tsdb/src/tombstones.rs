//! Deleted time ranges of series (tombstones).
//!
//! Deletion never rewrites data in place: a series gets [`Intervals`] that
//! every reader skips; compaction drops the covered samples for good.

/// A sorted set of disjoint, non-adjacent closed intervals `[mint, maxt]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Intervals(Vec<(i64, i64)>);

impl Intervals {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn as_slice(&self) -> &[(i64, i64)] {
        &self.0
    }

    /// Adds `[mint, maxt]`, merging overlapping and adjacent intervals.
    /// An interval with `mint > maxt` is ignored.
    pub fn add(&mut self, mint: i64, maxt: i64) {
        if mint > maxt {
            return;
        }
        let (mut lo, mut hi) = (mint, maxt);
        let mut out = Vec::with_capacity(self.0.len() + 1);
        let mut placed = false;
        for &(a, b) in &self.0 {
            if b.saturating_add(1) < lo {
                out.push((a, b));
            } else if hi.saturating_add(1) < a {
                if !placed {
                    out.push((lo, hi));
                    placed = true;
                }
                out.push((a, b));
            } else {
                lo = lo.min(a);
                hi = hi.max(b);
            }
        }
        if !placed {
            out.push((lo, hi));
        }
        out.sort_unstable();
        self.0 = out;
    }

    /// Adds every interval of `other`.
    pub fn extend(&mut self, other: &Intervals) {
        for &(a, b) in &other.0 {
            self.add(a, b);
        }
    }

    /// Whether `t` lies in a deleted interval.
    #[inline]
    pub fn contains(&self, t: i64) -> bool {
        let i = self.0.partition_point(|&(_, b)| b < t);
        self.0.get(i).is_some_and(|&(a, _)| a <= t)
    }

    /// Whether `[mint, maxt]` lies entirely inside one deleted interval.
    pub fn covers(&self, mint: i64, maxt: i64) -> bool {
        let i = self.0.partition_point(|&(_, b)| b < maxt);
        self.0.get(i).is_some_and(|&(a, b)| a <= mint && b >= maxt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn merges_overlapping_and_adjacent() {
        let mut iv = Intervals::new();
        iv.add(10, 20);
        iv.add(30, 40);
        iv.add(21, 29);
        assert_eq!(iv.as_slice(), &[(10, 40)]);
        iv.add(0, 5);
        iv.add(50, 60);
        assert_eq!(iv.as_slice(), &[(0, 5), (10, 40), (50, 60)]);
        iv.add(i64::MIN, i64::MAX);
        assert_eq!(iv.as_slice(), &[(i64::MIN, i64::MAX)]);
    }

    #[test]
    fn covers_and_contains() {
        let mut iv = Intervals::new();
        iv.add(10, 20);
        assert!(iv.contains(10) && iv.contains(20) && !iv.contains(21) && !iv.contains(9));
        assert!(iv.covers(12, 18) && !iv.covers(5, 15));
    }

    proptest! {
        #[test]
        fn contains_matches_reference(adds in prop::collection::vec((0i64..100, 0i64..20), 0..8), t in 0i64..130) {
            let mut iv = Intervals::new();
            for &(a, len) in &adds { iv.add(a, a + len); }
            let want = adds.iter().any(|&(a, len)| a <= t && t <= a + len);
            prop_assert_eq!(iv.contains(t), want);
            prop_assert!(iv.as_slice().windows(2).all(|w| w[0].1 + 1 < w[1].0));
        }
    }
}
