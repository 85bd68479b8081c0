//! `meta.json`: what a block holds, and block ids (ULIDs).

use std::path::Path;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Version of the block layout (meta.json, index, chunks, tombstones).
pub const BLOCK_VERSION: u32 = 1;

/// The contents of `meta.json`. Times are milliseconds; `max_time` is
/// exclusive, as in Prometheus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockMeta {
    pub ulid: String,
    pub min_time: i64,
    pub max_time: i64,
    pub stats: BlockStats,
    pub compaction: CompactionMeta,
    pub version: u32,
    /// Sample resolution in ms: 0 for raw data, else the downsampling step.
    #[serde(default)]
    pub resolution: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockStats {
    pub num_samples: u64,
    pub num_series: u64,
    pub num_chunks: u64,
    #[serde(default)]
    pub num_tombstones: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompactionMeta {
    /// 1 for blocks cut from the head, +1 per compaction.
    pub level: u32,
    /// ULIDs of the level-1 blocks whose data this block holds.
    pub sources: Vec<String>,
    /// ULIDs of the blocks this one was compacted from.
    #[serde(default)]
    pub parents: Vec<String>,
}

impl BlockMeta {
    pub fn read(dir: &Path) -> Result<BlockMeta> {
        let path = dir.join("meta.json");
        let b = std::fs::read(&path).map_err(|e| Error::io("read", &path, e))?;
        let meta: BlockMeta = serde_json::from_slice(&b)
            .map_err(|e| Error::corruption(&path, e.column() as u64, e.to_string()))?;
        if meta.version != BLOCK_VERSION {
            return Err(Error::UnsupportedFormat {
                path,
                detail: format!("unsupported block version {}", meta.version),
            });
        }
        Ok(meta)
    }

    /// Writes `meta.json` durably (temp file, fsync, rename).
    pub fn write(&self, dir: &Path) -> Result<()> {
        let path = dir.join("meta.json");
        let tmp = dir.join("meta.json.tmp");
        let body = serde_json::to_vec_pretty(self).map_err(|e| Error::InvalidOption {
            name: "meta.json",
            reason: e.to_string(),
        })?;
        crate::fsutil::write_durably(&tmp, &body)?;
        std::fs::rename(&tmp, &path).map_err(|e| Error::io("rename", &path, e))?;
        crate::fsutil::sync_dir(dir)
    }

    /// Whether `[min_time, max_time)` overlaps `[mint, maxt]` (inclusive).
    pub fn overlaps(&self, mint: i64, maxt: i64) -> bool {
        self.min_time <= maxt && self.max_time > mint
    }
}

/// A new block id: a ULID (48 bits of Unix milliseconds, then 80 random
/// bits, as 26 characters of Crockford base32), made by the `ulid` crate's
/// monotonic generator. Ids made in one process strictly increase, also
/// within one millisecond and when the clock steps back: the generator then
/// adds one to the previous id instead of drawing new random bits.
pub fn new_ulid() -> String {
    static GENERATOR: Mutex<ulid::Generator> = Mutex::new(ulid::Generator::new());
    let mut generator = GENERATOR.lock();
    match generator.generate() {
        Ok(id) => id,
        // The random part was all ones: carry into the next millisecond.
        Err(overflow) => overflow.commit_overflow_increment(),
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulids_carry_the_time_and_strictly_increase_within_a_millisecond() {
        let before = std::time::SystemTime::now();
        // Far more ids than milliseconds pass: most share one.
        let ids: Vec<String> = (0..100_000).map(|_| new_ulid()).collect();
        let after = std::time::SystemTime::now();
        for w in ids.windows(2) {
            assert!(w[0] < w[1], "{} < {}", w[0], w[1]);
        }
        let ms = |t: std::time::SystemTime| {
            t.duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0)
        };
        for id in [&ids[0], &ids[ids.len() - 1]] {
            assert_eq!(id.len(), 26);
            let parsed = ulid::Ulid::from_string(id).expect("a valid ULID");
            assert_eq!(&parsed.to_string(), id, "canonical form");
            let t = parsed.timestamp_ms();
            assert!(
                t >= ms(before) && t <= ms(after),
                "{t} in {before:?}..{after:?}"
            );
        }
    }

    #[test]
    fn ulids_from_threads_are_unique() {
        let per_thread = 20_000;
        let ids: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| s.spawn(|| (0..per_thread).map(|_| new_ulid()).collect::<Vec<_>>()))
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("thread"))
                .collect()
        });
        let unique: std::collections::BTreeSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), 4 * per_thread);
    }

    #[test]
    fn meta_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let m = BlockMeta {
            ulid: new_ulid(),
            min_time: 0,
            max_time: 7_200_000,
            stats: BlockStats {
                num_samples: 10,
                num_series: 1,
                num_chunks: 1,
                num_tombstones: 0,
            },
            compaction: CompactionMeta {
                level: 1,
                sources: vec![],
                parents: vec![],
            },
            version: BLOCK_VERSION,
            resolution: 0,
        };
        m.write(dir.path()).unwrap();
        assert_eq!(BlockMeta::read(dir.path()).unwrap(), m);
    }
}
