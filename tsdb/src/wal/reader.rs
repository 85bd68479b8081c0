//! Reading WAL segments: record reassembly, damage detection, replay order.

use std::path::{Path, PathBuf};

use super::segment::{
    FRAG_FIRST, FRAG_FULL, FRAG_HEADER, FRAG_LAST, FRAG_MIDDLE, FRAG_PAD, HEADER_LEN, PAGE_SIZE,
    check_contiguous, header, last_checkpoint, list_segments, segment_path,
};
use crate::error::{Error, Result};

/// Walks the records of one segment held in memory.
pub(super) struct SegmentRecords<'a> {
    data: &'a [u8],
    pos: usize,
    buf: Vec<u8>,
}

/// Where and why a segment stops making sense.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Damage {
    pub offset: usize,
    pub what: &'static str,
}

impl<'a> SegmentRecords<'a> {
    /// `data` is the whole segment file, header included.
    pub fn new(data: &'a [u8]) -> Result<Self, Damage> {
        if data.len() < HEADER_LEN {
            return Err(Damage {
                offset: 0,
                what: "truncated segment header",
            });
        }
        if data[..HEADER_LEN] != header() {
            return Err(Damage {
                offset: 0,
                what: "bad segment header",
            });
        }
        Ok(SegmentRecords {
            data,
            pos: HEADER_LEN,
            buf: Vec::new(),
        })
    }

    /// The next complete record and its start offset; `Ok(None)` at a clean
    /// end of the data.
    pub fn next(&mut self) -> Result<Option<(usize, &[u8])>, Damage> {
        self.buf.clear();
        let mut start = None;
        loop {
            let mut room = PAGE_SIZE - (self.pos - HEADER_LEN) % PAGE_SIZE;
            if room < FRAG_HEADER + 1 {
                let end = (self.pos + room).min(self.data.len());
                if self.data[self.pos..end].iter().any(|&b| b != 0) {
                    return Err(Damage {
                        offset: self.pos,
                        what: "non-zero page padding",
                    });
                }
                self.pos = end;
                // The next fragment starts a page.
                room = PAGE_SIZE;
            }
            if self.pos == self.data.len() {
                return match start {
                    None => Ok(None),
                    Some(s) => Err(Damage {
                        offset: s,
                        what: "torn record: last fragment missing",
                    }),
                };
            }
            let at = self.pos;
            let kind = self.data[at];
            if kind == FRAG_PAD {
                return Err(Damage {
                    offset: at,
                    what: "zeroed data where a fragment was expected",
                });
            }
            if self.data.len() - at < FRAG_HEADER {
                return Err(Damage {
                    offset: at,
                    what: "truncated fragment header",
                });
            }
            let len = usize::from(u16::from_be_bytes([self.data[at + 1], self.data[at + 2]]));
            let crc = u32::from_be_bytes([
                self.data[at + 3],
                self.data[at + 4],
                self.data[at + 5],
                self.data[at + 6],
            ]);
            let body_at = at + FRAG_HEADER;
            if len > room - FRAG_HEADER {
                return Err(Damage {
                    offset: at,
                    what: "fragment crosses a page boundary",
                });
            }
            if self.data.len() - body_at < len {
                return Err(Damage {
                    offset: at,
                    what: "truncated fragment",
                });
            }
            let body = &self.data[body_at..body_at + len];
            if crc32fast::hash(body) != crc {
                return Err(Damage {
                    offset: at,
                    what: "fragment checksum mismatch",
                });
            }
            let ok = match kind {
                FRAG_FULL | FRAG_FIRST => start.is_none(),
                FRAG_MIDDLE | FRAG_LAST => start.is_some(),
                _ => false,
            };
            if !ok {
                return Err(Damage {
                    offset: at,
                    what: "fragment out of sequence",
                });
            }
            start.get_or_insert(at);
            self.buf.extend_from_slice(body);
            self.pos = body_at + len;
            if kind == FRAG_FULL || kind == FRAG_LAST {
                return Ok(Some((start.unwrap_or(at), &self.buf)));
            }
        }
    }

    pub fn position(&self) -> usize {
        self.pos
    }
}

/// Result of scanning a segment for its last good record.
pub(super) struct Scan {
    /// End offset of the last complete, valid record (header length when
    /// none; 0 when the header itself is bad).
    pub valid_end: usize,
}

pub(super) fn scan_segment(data: &[u8]) -> Scan {
    let Ok(mut recs) = SegmentRecords::new(data) else {
        return Scan { valid_end: 0 };
    };
    let mut valid_end = HEADER_LEN;
    while let Ok(Some(_)) = recs.next() {
        valid_end = recs.position();
    }
    Scan { valid_end }
}

/// Reads every record of a WAL directory in order: the newest checkpoint's
/// segments, then the segments after it.
///
/// Damage in any segment but the last is `Error::Corruption` with the file
/// and offset; the last segment's tail is repaired by `Wal::open`, so the
/// reader ends quietly there.
pub struct WalReader {
    /// Each file with the segment number its records count as (a
    /// checkpoint's files: the checkpoint's number).
    files: Vec<(PathBuf, u64)>,
    next_file: usize,
    data: Vec<u8>,
    pos: usize,
    current: Option<PathBuf>,
    record: Vec<u8>,
}

impl WalReader {
    pub fn open(dir: &Path) -> Result<WalReader> {
        Self::open_range(dir, u64::MAX)
    }

    /// Like [`open`](Self::open), but only segments numbered `<= up_to`.
    pub fn open_range(dir: &Path, up_to: u64) -> Result<WalReader> {
        let mut files = Vec::new();
        let mut after = 0;
        if let Some((n, cp)) = last_checkpoint(dir)? {
            let segs = list_segments(&cp)?;
            check_contiguous(&cp, &segs)?;
            files.extend(segs.iter().map(|&s| (segment_path(&cp, s), n)));
            after = n;
        }
        let segs: Vec<u64> = list_segments(dir)?
            .into_iter()
            .filter(|&s| s > after && s <= up_to)
            .collect();
        check_contiguous(dir, &segs)?;
        files.extend(segs.iter().map(|&s| (segment_path(dir, s), s)));
        Ok(WalReader {
            files,
            next_file: 0,
            data: Vec::new(),
            pos: 0,
            current: None,
            record: Vec::new(),
        })
    }

    /// Like [`next_record`](Self::next_record), with the segment that holds
    /// the record (for a record from a checkpoint, the checkpoint's number,
    /// which is never newer than the segment it came from).
    pub fn next_with_segment(&mut self) -> Result<Option<(u64, &[u8])>> {
        self.next_record()?;
        let segment = self
            .next_file
            .checked_sub(1)
            .and_then(|i| self.files.get(i))
            .map_or(0, |f| f.1);
        Ok(self
            .current
            .as_ref()
            .map(|_| (segment, self.record.as_slice())))
    }

    /// The next record's payload, or `None` after the last one.
    pub fn next_record(&mut self) -> Result<Option<&[u8]>> {
        loop {
            if let Some(path) = &self.current {
                let mut recs = SegmentRecords {
                    data: &self.data,
                    pos: self.pos,
                    buf: std::mem::take(&mut self.record),
                };
                let res = recs.next().map(|r| r.is_some());
                let pos = recs.pos;
                self.record = recs.buf;
                match res {
                    Ok(true) => {
                        self.pos = pos;
                        return Ok(Some(&self.record));
                    }
                    Ok(false) => {}
                    Err(d) => {
                        let is_last = self.next_file == self.files.len();
                        if !is_last {
                            return Err(Error::corruption(path, d.offset as u64, d.what));
                        }
                        tracing::warn!(segment = %path.display(), offset = d.offset, what = d.what, "WAL: damaged tail while reading");
                    }
                }
                self.current = None;
            }
            let Some((path, _)) = self.files.get(self.next_file).cloned() else {
                return Ok(None);
            };
            self.next_file += 1;
            self.data = std::fs::read(&path).map_err(|e| Error::io("read", &path, e))?;
            if let Err(d) = SegmentRecords::new(&self.data) {
                let is_last = self.next_file == self.files.len();
                if !is_last || d.what != "truncated segment header" {
                    return Err(Error::corruption(&path, d.offset as u64, d.what));
                }
                continue;
            }
            self.pos = HEADER_LEN;
            self.current = Some(path);
        }
    }
}
