//! Appending to the WAL, with group commit.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::reader::scan_segment;
use super::segment::{
    FRAG_FIRST, FRAG_FULL, FRAG_HEADER, FRAG_LAST, FRAG_MIDDLE, HEADER_LEN, PAGE_SIZE,
    check_contiguous, header, last_checkpoint, list_segments, segment_path,
};
use crate::error::{Error, Result};

/// When appended records become durable.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SyncPolicy {
    /// fsync before a commit is acknowledged (loses nothing acknowledged).
    #[default]
    Always,
    /// Written at commit, fsynced every interval by the WAL's owner calling
    /// `sync` (the server runs a task for it): an OS crash may lose up to
    /// one interval, a process crash nothing.
    Interval(Duration),
    /// Written at commit, never fsynced by the WAL itself.
    Never,
}

#[derive(Debug, Clone)]
pub struct WalOptions {
    /// Segments are cut before they would exceed this many bytes.
    pub segment_size: u64,
    pub sync: SyncPolicy,
}

impl Default for WalOptions {
    fn default() -> Self {
        WalOptions {
            segment_size: 128 << 20,
            sync: SyncPolicy::Always,
        }
    }
}

/// What `open` cut off a damaged last segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepairReport {
    pub segment: PathBuf,
    /// The segment now ends here.
    pub offset: u64,
    pub dropped_bytes: u64,
}

struct Writer {
    segment: u64,
    file: File,
    /// Bytes of whole records in the segment file (header included): the
    /// next batch starts here.
    size: u64,
    /// A failed write may have left bytes past `size`: they are cut off
    /// before anything else is appended.
    damaged: bool,
    /// Records logged so far (the position returned by `log`).
    logged: u64,
    buf: Vec<u8>,
}

/// Where a logged batch went: its sequence position (for
/// [`Wal::sync_to`]) and the segment that holds all of it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WalPos {
    pub seq: u64,
    pub segment: u64,
}

/// Group-commit state.
struct SyncState {
    /// Every record up to this position is durable.
    durable: u64,
    /// A thread is fsyncing right now.
    leader: bool,
}

/// The write-ahead log. All methods take `&self`; share it freely.
pub struct Wal {
    dir: PathBuf,
    opts: WalOptions,
    writer: Mutex<Writer>,
    sync: Mutex<SyncState>,
    synced: Condvar,
    /// Why the WAL takes no more batches: closed, or a failed fsync (the
    /// kernel may have dropped written pages, so nothing logged since the
    /// last good fsync is known to be on disk).
    closed: Mutex<Option<String>>,
    pub fsyncs: AtomicU64,
    pub fsync_nanos: AtomicU64,
    #[cfg(test)]
    pub(crate) faults: faults::Faults,
}

impl Wal {
    /// Opens the WAL in `dir` (creating it), repairing a torn tail of the
    /// last segment. Writing continues in the last segment.
    pub fn open(dir: &Path, opts: WalOptions) -> Result<(Wal, Option<RepairReport>)> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("mkdir", dir, e))?;
        let mut segments = list_segments(dir)?;
        // Segments already folded into a checkpoint may linger after a crash.
        if let Some((cp, _)) = last_checkpoint(dir)? {
            for n in segments.iter().filter(|&&n| n <= cp) {
                let p = segment_path(dir, *n);
                std::fs::remove_file(&p).map_err(|e| Error::io("remove", &p, e))?;
            }
            segments.retain(|&n| n > cp);
            if segments.is_empty() {
                segments.push(cp + 1);
            }
        }
        check_contiguous(dir, &segments)?;
        let last = segments.last().copied().unwrap_or(1);
        let path = segment_path(dir, last);
        let (file, size, repair) = open_for_append(&path)?;
        let wal = Wal {
            dir: dir.to_path_buf(),
            opts,
            writer: Mutex::new(Writer {
                segment: last,
                file,
                size,
                damaged: false,
                logged: 0,
                buf: Vec::with_capacity(64 << 10),
            }),
            sync: Mutex::new(SyncState {
                durable: 0,
                leader: false,
            }),
            synced: Condvar::new(),
            closed: Mutex::new(None),
            fsyncs: AtomicU64::new(0),
            fsync_nanos: AtomicU64::new(0),
            #[cfg(test)]
            faults: Default::default(),
        };
        Ok((wal, repair))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn options(&self) -> &WalOptions {
        &self.opts
    }

    /// The segment being written: every batch logged from now on goes to
    /// it or a newer one.
    pub fn segment(&self) -> u64 {
        self.writer.lock().segment
    }

    /// Segment numbers on disk, ascending.
    pub fn segments(&self) -> Result<Vec<u64>> {
        list_segments(&self.dir)
    }

    /// Appends a batch of records, in order, with one write to the segment
    /// file (not yet fsynced). A batch never spans segments: a segment is
    /// cut first when the batch would not fit (a batch larger than a whole
    /// segment gets a segment of its own).
    ///
    /// Contract: on error no record of the batch is in the WAL, and the
    /// next batch is never written behind a partial one (a failed write is
    /// cut off first; while that fails, `log` fails). After a failed fsync
    /// the WAL refuses every batch with [`Error::Closed`].
    pub fn log(&self, records: &[&[u8]]) -> Result<WalPos> {
        self.check_open()?;
        let mut w = self.writer.lock();
        if w.damaged {
            self.cut_back_locked(&mut w)?;
        }
        let mut framed = 0;
        for rec in records {
            framed += framed_len(w.size as usize + framed, rec.len());
        }
        if w.size > HEADER_LEN as u64 && w.size + framed as u64 > self.opts.segment_size {
            self.cut_locked(&mut w)?;
        }
        let mut buf = std::mem::take(&mut w.buf);
        buf.clear();
        let start = w.size as usize;
        for rec in records {
            let at = start + buf.len();
            frame(&mut buf, at, rec);
        }
        let written = self.write_locked(&mut w, &buf);
        w.buf = buf;
        if let Err(e) = written {
            w.damaged = true;
            // Cut the partial batch off now when possible; else before the
            // next batch.
            let _ = self.cut_back_locked(&mut w);
            return Err(e);
        }
        w.size += w.buf.len() as u64;
        w.logged += records.len() as u64;
        Ok(WalPos {
            seq: w.logged,
            segment: w.segment,
        })
    }

    fn write_locked(&self, w: &mut Writer, buf: &[u8]) -> Result<()> {
        let path = || segment_path(&self.dir, w.segment);
        #[cfg(test)]
        if let Some(e) = self.faults.take_write_fault(&mut w.file, buf) {
            return Err(Error::io("write", path(), e));
        }
        w.file
            .write_all(buf)
            .map_err(|e| Error::io("write", path(), e))
    }

    /// Removes whatever a failed write left past the last whole batch.
    fn cut_back_locked(&self, w: &mut Writer) -> Result<()> {
        use std::io::{Seek, SeekFrom};
        let path = segment_path(&self.dir, w.segment);
        w.file
            .set_len(w.size)
            .map_err(|e| Error::io("truncate", &path, e))?;
        w.file
            .seek(SeekFrom::Start(w.size))
            .map_err(|e| Error::io("seek", &path, e))?;
        w.damaged = false;
        Ok(())
    }

    /// [`Error::Closed`] once the WAL takes no more batches.
    pub fn check_open(&self) -> Result<()> {
        match &*self.closed.lock() {
            Some(reason) => Err(Error::Closed {
                reason: reason.clone(),
            }),
            None => Ok(()),
        }
    }

    /// `log` then, under [`SyncPolicy::Always`], `sync_to`.
    pub fn log_and_sync(&self, records: &[&[u8]]) -> Result<WalPos> {
        let pos = self.log(records)?;
        if self.opts.sync == SyncPolicy::Always {
            self.sync_to(pos.seq)?;
        }
        Ok(pos)
    }

    /// Returns once every record up to `pos` is durable. Concurrent callers
    /// share fsyncs: one thread syncs for all positions logged so far while
    /// the others wait.
    pub fn sync_to(&self, pos: u64) -> Result<()> {
        let mut st = self.sync.lock();
        loop {
            if st.durable >= pos {
                return Ok(());
            }
            if !st.leader {
                break;
            }
            self.synced.wait(&mut st);
        }
        st.leader = true;
        drop(st);
        let result = self.fsync_current();
        let mut st = self.sync.lock();
        st.leader = false;
        if let Ok(p) = result {
            st.durable = st.durable.max(p);
        }
        self.synced.notify_all();
        result.map(|_| ())
    }

    /// Fsyncs the current segment; returns the position it covers.
    fn fsync_current(&self) -> Result<u64> {
        let (file, pos, path) = {
            let w = self.writer.lock();
            let path = segment_path(&self.dir, w.segment);
            let f = w.file.try_clone().map_err(|e| Error::io("dup", &path, e))?;
            (f, w.logged, path)
        };
        let t0 = Instant::now();
        #[cfg(test)]
        self.faults
            .take_fsync_fault()
            .map_or(Ok(()), Err)
            .map_err(|e| self.fail(Error::io("fsync", &path, e)))?;
        file.sync_data()
            .map_err(|e| self.fail(Error::io("fsync", &path, e)))?;
        self.fsyncs.fetch_add(1, Ordering::Relaxed);
        self.fsync_nanos
            .fetch_add(t0.elapsed().as_nanos() as u64, Ordering::Relaxed);
        Ok(pos)
    }

    /// Records a failed fsync: from now on the WAL takes no batch.
    fn fail(&self, e: Error) -> Error {
        tracing::error!(error = %e, "WAL fsync failed: refusing further writes");
        self.closed.lock().get_or_insert_with(|| {
            format!("the WAL could not be synced ({e}); restart to recover")
        });
        e
    }

    /// Makes everything logged so far durable.
    pub fn sync(&self) -> Result<()> {
        let pos = self.writer.lock().logged;
        self.sync_to(pos)
    }

    /// Closes the current segment (fsynced) and starts the next one.
    /// Returns the new segment's number.
    pub fn cut_segment(&self) -> Result<u64> {
        let mut w = self.writer.lock();
        self.cut_locked(&mut w)?;
        Ok(w.segment)
    }

    fn cut_locked(&self, w: &mut Writer) -> Result<()> {
        let old = segment_path(&self.dir, w.segment);
        w.file
            .sync_data()
            .map_err(|e| self.fail(Error::io("fsync", &old, e)))?;
        let next = w.segment + 1;
        let path = segment_path(&self.dir, next);
        let mut f = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io("create", &path, e))?;
        let started = f
            .write_all(&header())
            .map_err(|e| Error::io("write", &path, e))
            .and_then(|()| f.sync_all().map_err(|e| Error::io("fsync", &path, e)))
            .and_then(|()| crate::fsutil::sync_dir(&self.dir));
        if let Err(e) = started {
            // Keep writing to the old segment; a half-made next one must
            // not be mistaken for the WAL's end on restart.
            let _ = std::fs::remove_file(&path);
            return Err(e);
        }
        w.segment = next;
        w.file = f;
        w.size = HEADER_LEN as u64;
        // Everything before the cut is durable now.
        let mut st = self.sync.lock();
        st.durable = st.durable.max(w.logged);
        Ok(())
    }

    /// Flushes and fsyncs; afterwards `log` refuses every batch with
    /// [`Error::Closed`]. Closing twice is harmless.
    pub fn close(&self) -> Result<()> {
        self.sync()?;
        self.closed
            .lock()
            .get_or_insert_with(|| "the database was closed".into());
        Ok(())
    }
}

/// Opens the last segment for appending, repairing its tail.
fn open_for_append(path: &Path) -> Result<(File, u64, Option<RepairReport>)> {
    let existing = std::fs::read(path);
    let (valid_end, len) = match &existing {
        Ok(bytes) if bytes.len() >= HEADER_LEN && bytes[..HEADER_LEN] == header() => {
            (scan_segment(bytes).valid_end as u64, bytes.len() as u64)
        }
        Ok(bytes) => (0, bytes.len() as u64),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (0, 0),
        Err(e) => {
            return Err(Error::io(
                "read",
                path,
                std::io::Error::new(e.kind(), e.to_string()),
            ));
        }
    };
    let mut f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| Error::io("open", path, e))?;
    let mut report = None;
    if valid_end < len {
        tracing::warn!(
            segment = %path.display(),
            offset = valid_end,
            dropped_bytes = len - valid_end,
            "WAL: cut a torn or damaged tail off the last segment"
        );
        report = Some(RepairReport {
            segment: path.to_path_buf(),
            offset: valid_end,
            dropped_bytes: len - valid_end,
        });
    }
    let size = if valid_end == 0 {
        // No valid header: start the segment afresh.
        f.set_len(0).map_err(|e| Error::io("truncate", path, e))?;
        f.write_all(&header())
            .map_err(|e| Error::io("write", path, e))?;
        HEADER_LEN as u64
    } else {
        f.set_len(valid_end)
            .map_err(|e| Error::io("truncate", path, e))?;
        valid_end
    };
    f.sync_all().map_err(|e| Error::io("fsync", path, e))?;
    use std::io::Seek;
    f.seek(std::io::SeekFrom::Start(size))
        .map_err(|e| Error::io("seek", path, e))?;
    Ok((f, size, report))
}

/// Bytes needed to frame a record of `len` starting at file offset `at`.
fn framed_len(at: usize, len: usize) -> usize {
    let mut pos = at;
    let mut rest = len;
    loop {
        let mut room = PAGE_SIZE - (pos - HEADER_LEN) % PAGE_SIZE;
        if room < FRAG_HEADER + 1 {
            pos += room;
            room = PAGE_SIZE;
        }
        let take = rest.min(room - FRAG_HEADER);
        pos += FRAG_HEADER + take;
        rest -= take;
        if rest == 0 {
            return pos - at;
        }
    }
}

/// Frames `rec` as page-bounded fragments starting at file offset `at`
/// (header included), appending the bytes to `out`.
fn frame(out: &mut Vec<u8>, at: usize, rec: &[u8]) {
    let mut pos = at;
    let mut rest = rec;
    let mut first = true;
    loop {
        let in_page = (pos - HEADER_LEN) % PAGE_SIZE;
        let mut room = PAGE_SIZE - in_page;
        if room < FRAG_HEADER + 1 {
            out.extend(std::iter::repeat_n(0u8, room));
            pos += room;
            room = PAGE_SIZE;
        }
        let take = rest.len().min(room - FRAG_HEADER);
        let last = take == rest.len();
        let kind = match (first, last) {
            (true, true) => FRAG_FULL,
            (true, false) => FRAG_FIRST,
            (false, false) => FRAG_MIDDLE,
            (false, true) => FRAG_LAST,
        };
        out.push(kind);
        out.extend_from_slice(&(take as u16).to_be_bytes());
        out.extend_from_slice(&crc32fast::hash(&rest[..take]).to_be_bytes());
        out.extend_from_slice(&rest[..take]);
        pos += FRAG_HEADER + take;
        rest = &rest[take..];
        first = false;
        if last {
            return;
        }
    }
}

#[cfg(test)]
pub(crate) mod faults {
    //! Fault injection for tests: the next writes or fsyncs fail as a full
    //! disk or a failing device would.

    use std::fs::File;
    use std::io::{Error, ErrorKind, Write};
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

    #[derive(Default)]
    pub(crate) struct Faults {
        /// Writes still to fail; each writes half its bytes, then fails.
        pub(crate) writes: AtomicU32,
        pub(crate) fsync: AtomicBool,
    }

    impl Faults {
        pub(crate) fn take_write_fault(&self, file: &mut File, buf: &[u8]) -> Option<Error> {
            let left = self.writes.load(Ordering::Acquire);
            if left == 0 {
                return None;
            }
            self.writes.store(left - 1, Ordering::Release);
            let _ = file.write_all(&buf[..buf.len() / 2]);
            Some(Error::from(ErrorKind::StorageFull))
        }

        pub(crate) fn take_fsync_fault(&self) -> Option<Error> {
            self.fsync
                .swap(false, Ordering::AcqRel)
                .then(|| Error::other("injected fsync failure"))
        }
    }
}
