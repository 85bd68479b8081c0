//! Compaction planning: which blocks to merge next. Pure functions over
//! [`BlockMeta`]s; `Db` does the I/O.
//!
//! Levels follow Prometheus: ranges grow by 3× from the block range (2h →
//! 6h → 18h → 54h …) up to a maximum (a tenth of retention by default).
//! Blocks that overlap in time (out-of-order data) are merged first.

use crate::block::BlockMeta;

/// The compaction ranges: `base × 3^i` while not above `max`.
pub fn exponential_ranges(base: i64, max: i64) -> Vec<i64> {
    let mut out = vec![base];
    while let Some(&last) = out.last() {
        let next = last.saturating_mul(3);
        if next > max || next == last {
            break;
        }
        out.push(next);
    }
    out
}

/// Indexes (into `metas`, which is sorted by `min_time`) of blocks to merge
/// into one, or `None` when nothing is due.
///
/// 1. Any set of blocks that overlap each other.
/// 2. For each range above the first, smallest first: two or more blocks
///    that fall within one aligned window of that range, when the window
///    lies entirely before the newest block's end (so no more data can come
///    for it from the head) — or the window is already full.
pub fn plan(metas: &[BlockMeta], ranges: &[i64]) -> Option<Vec<usize>> {
    if let Some(group) = overlapping(metas) {
        return Some(group);
    }
    let newest_end = metas.iter().map(|m| m.max_time).max()?;
    for &r in ranges.iter().skip(1) {
        let mut i = 0;
        while i < metas.len() {
            let window = metas[i].min_time.div_euclid(r) * r;
            let end = window.saturating_add(r);
            let mut j = i;
            while j < metas.len() && metas[j].min_time >= window && metas[j].max_time <= end {
                j += 1;
            }
            if j == i {
                // A block larger than this window: skip it.
                i += 1;
                continue;
            }
            let group: Vec<usize> = (i..j).collect();
            let covered: i64 = group
                .iter()
                .map(|&k| metas[k].max_time - metas[k].min_time)
                .sum();
            if group.len() >= 2 && (end <= newest_end || covered >= r) {
                return Some(group);
            }
            i = j;
        }
    }
    None
}

/// The first run of blocks overlapping each other.
fn overlapping(metas: &[BlockMeta]) -> Option<Vec<usize>> {
    let mut i = 0;
    while i < metas.len() {
        let mut end = metas[i].max_time;
        let mut j = i + 1;
        while j < metas.len() && metas[j].min_time < end {
            end = end.max(metas[j].max_time);
            j += 1;
        }
        if j - i >= 2 {
            return Some((i..j).collect());
        }
        i = j;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::{BLOCK_VERSION, BlockStats, CompactionMeta};

    const H: i64 = 3_600_000;

    fn m(min: i64, max: i64) -> BlockMeta {
        BlockMeta {
            ulid: format!("{min}-{max}"),
            min_time: min * H,
            max_time: max * H,
            stats: BlockStats::default(),
            compaction: CompactionMeta::default(),
            version: BLOCK_VERSION,
            resolution: 0,
        }
    }

    #[test]
    fn ranges() {
        assert_eq!(
            exponential_ranges(2 * H, 60 * H),
            vec![2 * H, 6 * H, 18 * H, 54 * H]
        );
    }

    #[test]
    fn table() {
        let r = exponential_ranges(2 * H, 1000 * H);
        type Case = (&'static str, Vec<BlockMeta>, Option<Vec<usize>>);
        let cases: Vec<Case> = vec![
            ("empty", vec![], None),
            ("one block", vec![m(0, 2)], None),
            ("window not finished", vec![m(0, 2), m(2, 4)], None),
            (
                "three 2h blocks fill 6h",
                vec![m(0, 2), m(2, 4), m(4, 6)],
                Some(vec![0, 1, 2]),
            ),
            (
                "newer data closes the window",
                vec![m(0, 2), m(2, 4), m(6, 8)],
                Some(vec![0, 1]),
            ),
            (
                "overlap first",
                vec![m(0, 2), m(1, 3), m(6, 8)],
                Some(vec![0, 1]),
            ),
            (
                "6h blocks into 18h",
                vec![m(0, 6), m(6, 12), m(12, 18), m(18, 20)],
                Some(vec![0, 1, 2]),
            ),
            ("lone block per window", vec![m(0, 2), m(6, 8)], None),
        ];
        for (name, metas, want) in cases {
            assert_eq!(plan(&metas, &r), want, "case {name}");
        }
    }
}
