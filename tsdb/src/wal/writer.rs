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
    /// Bytes in the segment file (header included).
    size: u64,
    /// Records logged so far (the position returned by `log`).
    logged: u64,
    buf: Vec<u8>,
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
    pub fsyncs: AtomicU64,
    pub fsync_nanos: AtomicU64,
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
                logged: 0,
                buf: Vec::with_capacity(64 << 10),
            }),
            sync: Mutex::new(SyncState {
                durable: 0,
                leader: false,
            }),
            synced: Condvar::new(),
            fsyncs: AtomicU64::new(0),
            fsync_nanos: AtomicU64::new(0),
        };
        Ok((wal, repair))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn options(&self) -> &WalOptions {
        &self.opts
    }

    /// Segment numbers on disk, ascending.
    pub fn segments(&self) -> Result<Vec<u64>> {
        list_segments(&self.dir)
    }

    /// Appends records, in order, and writes them to the segment file (not
    /// yet fsynced). Returns the position to pass to [`sync_to`](Self::sync_to).
    /// A record never spans two segments: a segment is cut first if needed.
    pub fn log(&self, records: &[&[u8]]) -> Result<u64> {
        let mut w = self.writer.lock();
        for rec in records {
            let framed = framed_len(w.size as usize, rec.len()) as u64;
            if w.size > HEADER_LEN as u64 && w.size + framed > self.opts.segment_size {
                self.cut_locked(&mut w)?;
            }
            let start = w.size;
            let mut buf = std::mem::take(&mut w.buf);
            buf.clear();
            frame(&mut buf, start as usize, rec);
            let path = segment_path(&self.dir, w.segment);
            w.file
                .write_all(&buf)
                .map_err(|e| Error::io("write", &path, e))?;
            w.size += buf.len() as u64;
            w.buf = buf;
            w.logged += 1;
        }
        Ok(w.logged)
    }

    /// `log` then, under [`SyncPolicy::Always`], `sync_to`.
    pub fn log_and_sync(&self, records: &[&[u8]]) -> Result<u64> {
        let pos = self.log(records)?;
        if self.opts.sync == SyncPolicy::Always {
            self.sync_to(pos)?;
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
        file.sync_data().map_err(|e| Error::io("fsync", &path, e))?;
        self.fsyncs.fetch_add(1, Ordering::Relaxed);
        self.fsync_nanos
            .fetch_add(t0.elapsed().as_nanos() as u64, Ordering::Relaxed);
        Ok(pos)
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
            .map_err(|e| Error::io("fsync", &old, e))?;
        let next = w.segment + 1;
        let path = segment_path(&self.dir, next);
        let mut f = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io("create", &path, e))?;
        f.write_all(&header())
            .map_err(|e| Error::io("write", &path, e))?;
        f.sync_all().map_err(|e| Error::io("fsync", &path, e))?;
        crate::fsutil::sync_dir(&self.dir)?;
        w.segment = next;
        w.file = f;
        w.size = HEADER_LEN as u64;
        // Everything before the cut is durable now.
        let mut st = self.sync.lock();
        st.durable = st.durable.max(w.logged);
        Ok(())
    }

    /// Flushes and fsyncs. The WAL stays usable.
    pub fn close(&self) -> Result<()> {
        self.sync()
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
