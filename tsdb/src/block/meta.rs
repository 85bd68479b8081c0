//! `meta.json`: what a block holds, and block ids (ULIDs).

use std::hash::{BuildHasher, Hasher};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

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
            return Err(Error::corruption(
                &path,
                0,
                format!("unsupported block version {}", meta.version),
            ));
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

/// A new ULID: 48 bits of milliseconds then 80 random bits, in Crockford
/// base32. Ids made later in the same process sort later.
pub fn new_ulid() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let seq = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(now);
    h.write_u64(seq);
    let rand = h.finish();
    // 48-bit time, 16 bits of sequence (monotonic in-process), 64 random.
    let value: u128 = (u128::from(now & 0xFFFF_FFFF_FFFF) << 80)
        | (u128::from(seq & 0xFFFF) << 64)
        | u128::from(rand);
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut out = [0u8; 26];
    for (i, c) in out.iter_mut().enumerate() {
        let shift = 125 - 5 * i as u32;
        *c = ALPHABET[((value >> shift) & 0x1f) as usize];
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulids_are_26_chars_and_increase() {
        let a = new_ulid();
        let b = new_ulid();
        assert_eq!(a.len(), 26);
        assert!(a < b, "{a} < {b}");
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
