//! The store's blocks on disk: loading them at open, flushing the head
//! into them, rewriting them after a deletion, and dropping them when
//! retention has hidden all they hold.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tsdb::db::Db;
use tsdb::model::{Labels, Matcher};

use super::LogStore;
use crate::block::{self, Block};
use crate::error::{Error, Result};
use crate::model::Entry;

impl LogStore {
    /// Flushes the head into a block when due (or always with `force`):
    /// the WAL segment is cut first, so every entry committed before
    /// this call can go. Entries of commits still under way stay in the
    /// head until the next flush. Returns whether a block was written.
    pub fn flush(&self, db: &Db, force: bool) -> Result<bool> {
        let Some(dir) = &self.blocks_dir else {
            return Ok(false);
        };
        let _one = self.maintenance.lock();
        if self.head.bytes() == 0
            || !(force
                || self
                    .head
                    .flush_due(self.opts.flush_bytes, self.opts.flush_age))
        {
            return Ok(false);
        }
        let current = db.cut_wal_segment()?;
        let through = (current - 1).min(self.inflight.persisted_through(|| None));
        let f = self.head.flushable(through);
        let streams: Vec<(Labels, &[Entry])> = f
            .streams
            .iter()
            .map(|(l, fl)| (l.clone(), fl.entries.as_slice()))
            .collect();
        let written = block::write(dir, &streams, through, Vec::new()).and_then(|m| {
            m.map(|m| Block::open(&dir.join(&m.ulid)).map(|b| (m, b)))
                .transpose()
        });
        drop(streams);
        let (meta, b) = match written {
            Ok(Some(done)) => done,
            Ok(None) => {
                self.head.abort(f);
                return Ok(false);
            }
            Err(e) => {
                self.head.abort(f);
                return Err(e);
            }
        };
        self.head.install(Arc::new(b), &f);
        let c = &self.counters;
        c.blocks_written.fetch_add(1, Ordering::Relaxed);
        c.entries_flushed.fetch_add(meta.entries, Ordering::Relaxed);
        Ok(true)
    }

    /// Deletes the blocks retention has hidden entirely; returns how many.
    pub(super) fn drop_expired_blocks(&self) -> Result<usize> {
        let _one = self.maintenance.lock();
        let expired = self.head.expired_blocks();
        for b in &expired {
            self.head.swap_blocks(std::slice::from_ref(b), None);
            remove_dir(b.dir())?;
        }
        self.counters
            .blocks_deleted
            .fetch_add(expired.len() as u64, Ordering::Relaxed);
        Ok(expired.len())
    }

    /// Removes from the blocks written before WAL segment `segment` the
    /// entries of streams `matchers` select in `[start, end]` that
    /// `matches`, rewriting each block that holds one; returns how many
    /// entries went.
    pub(super) fn delete_in_blocks(
        &self,
        matchers: &[Matcher],
        start: i64,
        end: i64,
        segment: u64,
        matches: &dyn Fn(&Entry) -> bool,
    ) -> Result<usize> {
        let Some(dir) = &self.blocks_dir else {
            return Ok(0);
        };
        let _one = self.maintenance.lock();
        let mut deleted = 0;
        for old in self.head.blocks_touching(matchers, start, end) {
            if old.meta().wal_through >= segment {
                continue;
            }
            let selected = |l: &Labels| matchers.iter().all(|m| m.matches(l.get(&m.name)));
            let mut streams: Vec<(Labels, Vec<Entry>)> = Vec::new();
            let mut gone = 0;
            for bs in old.streams() {
                let mut entries = old.stream_entries(bs)?;
                if selected(&bs.labels) {
                    let before = entries.len();
                    entries.retain(|e| !(e.ts >= start && e.ts <= end && matches(e)));
                    gone += before - entries.len();
                }
                streams.push((bs.labels.clone(), entries));
            }
            if gone == 0 {
                continue;
            }
            let replaces = vec![old.meta().ulid.clone()];
            let streams: Vec<(Labels, &[Entry])> = streams
                .iter()
                .map(|(l, es)| (l.clone(), es.as_slice()))
                .collect();
            let new = block::write(dir, &streams, old.meta().wal_through, replaces)?;
            let new = match new {
                Some(m) => Some(Arc::new(Block::open(&dir.join(&m.ulid))?)),
                None => None,
            };
            self.head.swap_blocks(std::slice::from_ref(&old), new);
            remove_dir(old.dir())?;
            deleted += gone;
        }
        Ok(deleted)
    }
}

/// Opens the blocks in `dir` (oldest first). A damaged block is moved into
/// `quarantine` with an error logged, so the others and the WAL stay
/// served; returns how many were. A block of an unknown format version
/// stops the open. Leftover temporary directories, and blocks a finished
/// rewrite replaced, are removed.
pub(super) fn load_blocks(dir: &Path, quarantine: &Path) -> Result<(Vec<Arc<Block>>, u64)> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io("mkdir", dir, e))?;
    let mut names: Vec<String> = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| Error::io("read dir", dir, e))? {
        let e = e.map_err(|e| Error::io("read dir", dir, e))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && name.ends_with(".tmp") {
            remove_dir(&e.path())?;
        } else if e.path().is_dir() {
            names.push(name);
        }
    }
    names.sort();
    let mut blocks = Vec::new();
    let mut quarantined = 0;
    for name in names {
        let path = dir.join(&name);
        match Block::open(&path) {
            Ok(b) => blocks.push(Arc::new(b)),
            Err(e @ Error::UnsupportedFormat { .. }) => return Err(e),
            Err(e) => {
                tracing::error!(block = %path.display(), error = %e, "log block quarantined");
                std::fs::create_dir_all(quarantine)
                    .map_err(|e| Error::io("mkdir", quarantine, e))?;
                let to = quarantine.join(&name);
                std::fs::rename(&path, &to).map_err(|e| Error::io("rename", &path, e))?;
                quarantined += 1;
            }
        }
    }
    let replaced: HashSet<String> = blocks
        .iter()
        .flat_map(|b| b.meta().replaces.clone())
        .collect();
    let mut kept = Vec::new();
    for b in blocks {
        if replaced.contains(&b.meta().ulid) {
            remove_dir(b.dir())?;
        } else {
            kept.push(b);
        }
    }
    Ok((kept, quarantined))
}

pub(super) fn remove_dir(path: &Path) -> Result<()> {
    std::fs::remove_dir_all(path).map_err(|e| Error::io("remove", path, e))
}

#[cfg(test)]
#[path = "disk_tests.rs"]
pub(crate) mod tests;
