//! Opening a database: options, blocks, WAL replay.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use parking_lot::{Mutex, RwLock};

use super::retention_rules::RetentionRule;
use super::stores::{Stores, WalStore};
use super::{Db, DbCounters, wal_io};
use crate::block::Block;
use crate::downsample::{Columns, CounterSuffixes, Tiers};
use crate::error::{Error, Result};
use crate::head::{Head, HeadOptions};
use crate::limits::Limits;
use crate::retention::Retention;
use crate::wal::WalOptions;

/// Everything configurable about a database.
#[derive(Debug, Clone)]
pub struct DbOptions {
    /// Range of a level-1 block in ms (default 2h).
    pub block_range: i64,
    pub retention: Retention,
    /// Largest compacted block in ms; 0 = a tenth of time retention
    /// (31 days when retention is unlimited).
    pub max_block_range: i64,
    /// Out-of-order window in ms; 0 rejects out-of-order samples.
    pub ooo_window: i64,
    pub limits: Limits,
    pub wal: WalOptions,
    /// Exemplars kept in memory (0 keeps none).
    pub max_exemplars: usize,
    /// Downsampling tiers, finest first (none by default).
    pub downsampling: Tiers,
    /// The counters whose tiers keep no sum.
    pub counter_suffixes: CounterSuffixes,
    /// The optional columns tiers keep (none by default).
    pub tier_columns: Columns,
    /// Raw retention per selector, first match wins (none by default).
    pub retention_rules: Vec<RetentionRule>,
}

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions {
            block_range: 2 * 3_600_000,
            retention: Retention {
                time: 15 * 24 * 3_600_000,
                size: 0,
            },
            max_block_range: 0,
            ooo_window: 0,
            limits: Limits::default(),
            wal: WalOptions::default(),
            max_exemplars: 100_000,
            downsampling: Tiers::default(),
            counter_suffixes: CounterSuffixes::default(),
            tier_columns: Columns::default(),
            retention_rules: Vec::new(),
        }
    }
}

impl DbOptions {
    /// The largest block compaction may produce.
    pub fn effective_max_block_range(&self) -> i64 {
        if self.max_block_range > 0 {
            return self.max_block_range;
        }
        if self.retention.time > 0 {
            (self.retention.time / 10).max(self.block_range)
        } else {
            31 * 24 * 3_600_000
        }
    }

    /// Refuses options that cannot work or could lose data (see [`Tiers::validate`]).
    pub fn validate(&self) -> Result<()> {
        if self.block_range <= 0 {
            return Err(Error::InvalidOption {
                name: "block_range",
                reason: "must be positive".into(),
            });
        }
        if self.ooo_window < 0 {
            return Err(Error::InvalidOption {
                name: "ooo_window",
                reason: "must not be negative".into(),
            });
        }
        self.downsampling
            .validate(self.retention.time, self.block_range)?;
        for (i, r) in self.retention_rules.iter().enumerate() {
            // A rule keeps raw data at least as long as the first tier
            // needs to cover it, like the database's own retention.
            if r.retention < 0 {
                return Err(Error::InvalidOption {
                    name: "retention_rules",
                    reason: format!("rule {}: retention must not be negative", i + 1),
                });
            }
            if r.retention > 0 {
                Tiers(self.downsampling.0.iter().take(1).copied().collect())
                    .validate_source(r.retention, self.block_range)
                    .map_err(|reason| Error::InvalidOption {
                        name: "retention_rules",
                        reason: format!("rule {}: {reason}", i + 1),
                    })?;
            }
        }
        Ok(())
    }
}

impl Db {
    /// Opens (creating if needed) the database in `dir`: loads blocks,
    /// repairs a torn WAL tail, and replays the WAL into the head.
    pub fn open(dir: impl AsRef<Path>, opts: DbOptions) -> Result<Db> {
        Self::open_with_stores(dir, opts, Vec::new())
    }

    /// Like [`open`](Self::open), with companion stores that keep their
    /// records in this database's WAL: replay hands each its records (see
    /// [`WalStore`]), and the WAL is truncated only behind the slowest.
    pub fn open_with_stores(
        dir: impl AsRef<Path>,
        opts: DbOptions,
        stores: Vec<Arc<dyn WalStore>>,
    ) -> Result<Db> {
        opts.validate()?;
        let stores = Stores::new(stores)?;
        let dir = dir.as_ref().to_path_buf();
        let blocks_dir = dir.join("blocks");
        std::fs::create_dir_all(&blocks_dir).map_err(|e| Error::io("mkdir", &blocks_dir, e))?;
        let quarantine = dir.join(QUARANTINE_DIR);
        let (blocks, tiers): (Vec<_>, Vec<_>) = load_blocks(&blocks_dir, &quarantine)?
            .into_iter()
            .partition(|b| b.meta().resolution == 0);

        let head = Head::new(HeadOptions {
            chunk_range: opts.block_range,
            ooo_window: opts.ooo_window,
            limits: opts.limits.clone(),
            max_exemplars: opts.max_exemplars,
        });
        // Data up to the newest block's end is persisted: the WAL may still
        // hold it, and replay must not resurrect it into the head.
        if let Some(end) = blocks.iter().map(|b| b.meta().max_time).max() {
            head.truncate(end);
        }
        let wal = wal_io::open(&dir.join("wal"), &opts.wal)?;
        let counters = DbCounters::default();
        counters
            .quarantined_blocks
            .store(count_entries(&quarantine), Ordering::Relaxed);
        let replayed = wal_io::replay(&dir.join("wal"), &head, &stores)?;
        counters
            .wal_replayed_records
            .store(replayed, Ordering::Relaxed);
        Ok(Db {
            dir,
            opts,
            head,
            wal,
            stores,
            blocks: RwLock::new(blocks),
            tiers: RwLock::new(tiers),
            maintenance: Mutex::new(()),
            counters,
        })
    }
}

/// Where blocks that fail to read are moved, beside `blocks/`.
pub(super) const QUARANTINE_DIR: &str = "quarantine";

/// Opens every complete block under `dir`, removing leftovers of
/// interrupted writes (`*.tmp`). A block whose files are corrupt is moved
/// to `quarantine` (kept for inspection, logged, counted in
/// [`DbCounters::quarantined_blocks`]) and the database opens with the
/// rest; any other failure (an I/O error, which may pass) is an error, so
/// that a good block is never moved aside.
fn load_blocks(dir: &Path, quarantine: &Path) -> Result<Vec<Arc<Block>>> {
    let mut blocks = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io("read dir", dir, e))? {
        let entry = entry.map_err(|e| Error::io("read dir", dir, e))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".tmp") {
            tracing::warn!(path = %path.display(), "removing incomplete block");
            std::fs::remove_dir_all(&path).map_err(|e| Error::io("remove", &path, e))?;
            continue;
        }
        if path.join("meta.json").exists() {
            match Block::open(&path) {
                Ok(b) => blocks.push(Arc::new(b)),
                Err(e @ Error::Corruption { .. }) => quarantine_block(&path, quarantine, &e)?,
                Err(e) => return Err(e),
            }
        }
    }
    blocks.sort_by_key(|b| (b.meta().min_time, b.meta().max_time));
    Ok(blocks)
}

/// Moves the corrupt block at `path` into `quarantine`.
pub(super) fn quarantine_block(path: &Path, quarantine: &Path, why: &Error) -> Result<()> {
    std::fs::create_dir_all(quarantine).map_err(|e| Error::io("mkdir", quarantine, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // A block quarantined before under the same name keeps its place.
    let mut to = quarantine.join(&name);
    let mut n = 1;
    while to.exists() {
        to = quarantine.join(format!("{name}.{n}"));
        n += 1;
    }
    tracing::error!(block = %path.display(), to = %to.display(), error = %why, "quarantining a block that fails to read");
    std::fs::rename(path, &to).map_err(|e| Error::io("rename", path, e))?;
    crate::fsutil::sync_dir(quarantine)?;
    crate::fsutil::sync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// Entries in `dir` (0 when it does not exist).
fn count_entries(dir: &Path) -> u64 {
    std::fs::read_dir(dir).map_or(0, |d| d.count() as u64)
}
