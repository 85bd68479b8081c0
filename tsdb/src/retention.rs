//! Retention: which whole blocks to delete. Pure functions over block
//! metadata; `Db` deletes the directories.

use crate::block::BlockMeta;

/// Retention limits; zero disables a limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retention {
    /// Keep blocks whose data ends within this many ms of the newest data.
    pub time: i64,
    /// Keep the newest blocks whose sizes (plus `other_bytes`) fit in this.
    pub size: u64,
}

/// Indexes of the blocks (each `(meta, bytes on disk)`) to delete: those
/// entirely older than `newest - time`, then the oldest until the remaining
/// blocks plus `other_bytes` (WAL, head) fit in `size`.
pub fn expired(blocks: &[(BlockMeta, u64)], r: Retention, other_bytes: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..blocks.len()).collect();
    order.sort_by_key(|&i| blocks[i].0.min_time);
    let mut out = Vec::new();
    if r.time > 0
        && let Some(newest) = blocks.iter().map(|b| b.0.max_time).max()
    {
        let cutoff = newest.saturating_sub(r.time);
        out.extend(
            order
                .iter()
                .copied()
                .filter(|&i| blocks[i].0.max_time <= cutoff),
        );
    }
    if r.size > 0 {
        let mut total: u64 = other_bytes
            + order
                .iter()
                .filter(|i| !out.contains(i))
                .map(|&i| blocks[i].1)
                .sum::<u64>();
        for &i in &order {
            if total <= r.size {
                break;
            }
            if !out.contains(&i) {
                total -= blocks[i].1;
                out.push(i);
            }
        }
    }
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::{BLOCK_VERSION, BlockStats, CompactionMeta};

    fn b(min: i64, max: i64, size: u64) -> (BlockMeta, u64) {
        (
            BlockMeta {
                ulid: String::new(),
                min_time: min,
                max_time: max,
                stats: BlockStats::default(),
                compaction: CompactionMeta::default(),
                version: BLOCK_VERSION,
                resolution: 0,
            },
            size,
        )
    }

    #[test]
    fn table() {
        let blocks = vec![b(0, 10, 100), b(10, 20, 100), b(20, 30, 100)];
        let cases: Vec<(&str, Retention, u64, Vec<usize>)> = vec![
            ("no limits", Retention::default(), 0, vec![]),
            (
                "time keeps overlap with window",
                Retention { time: 15, size: 0 },
                0,
                vec![0],
            ),
            (
                "time drops older",
                Retention { time: 5, size: 0 },
                0,
                vec![0, 1],
            ),
            ("size", Retention { time: 0, size: 250 }, 0, vec![0]),
            (
                "size counts other bytes",
                Retention { time: 0, size: 250 },
                60,
                vec![0, 1],
            ),
            (
                "both",
                Retention {
                    time: 15,
                    size: 150,
                },
                0,
                vec![0, 1],
            ),
        ];
        for (name, r, other, want) in cases {
            assert_eq!(expired(&blocks, r, other), want, "case {name}");
        }
    }
}
