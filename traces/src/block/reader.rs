//! Reads a span block through memory maps.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;

use memmap2::Mmap;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, TracesData};
use prost::Message;
use roaring::RoaringBitmap;

use super::terms::{Term, TermKind};
use super::writer::BlockMeta;
use super::{DATA_MAGIC, ENTRY_LEN, FOOTER_LEN, FRAME_LEN, HEADER_LEN, INDEX_MAGIC, VERSION};
use crate::error::{Error, Result};
use crate::id::TraceId;

/// An open span block. The index is checked whole when opened; payloads
/// when read.
pub struct Block {
    dir: PathBuf,
    meta: BlockMeta,
    data: Mmap,
    index: Mmap,
    count: usize,
    frames: Vec<Frame>,
    /// The frame read last, decompressed: readers walk traces in order.
    last: Mutex<Option<(u32, Arc<Vec<u8>>)>>,
    /// Each term's bitmap: byte range in `index`.
    terms: HashMap<Term, (usize, usize)>,
}

/// A compressed frame of the data file.
#[derive(Debug, Clone, Copy)]
struct Frame {
    offset: u64,
    len: u32,
    raw_len: u32,
    crc: u32,
}

/// One trace's index entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// Its position in the block (by trace id).
    pub ordinal: usize,
    pub id: TraceId,
    /// The compressed frame holding the trace; traces of one frame are
    /// consecutive in id order.
    pub frame: u32,
    in_frame: u32,
    /// Encoded (uncompressed) bytes of the trace.
    pub len: u32,
    pub start_ns: u64,
    pub end_ns: u64,
    pub spans: u32,
}

impl Block {
    pub fn open(dir: &Path) -> Result<Block> {
        let meta_path = dir.join("meta.json");
        let raw = std::fs::read(&meta_path).map_err(|e| Error::io("read", &meta_path, e))?;
        let meta: BlockMeta = serde_json::from_slice(&raw)
            .map_err(|e| Error::corrupt(&meta_path, 0, e.to_string()))?;
        if meta.version != VERSION {
            return Err(Error::UnsupportedFormat {
                path: meta_path,
                detail: format!(
                    "span block version {} (this build reads {VERSION})",
                    meta.version
                ),
            });
        }
        let data = map(&dir.join("data"))?;
        let index = map(&dir.join("index"))?;
        check_header(&dir.join("data"), &data, DATA_MAGIC)?;
        let index_path = dir.join("index");
        check_header(&index_path, &index, INDEX_MAGIC)?;
        let corrupt =
            |offset: usize, detail: &str| Error::corrupt(&index_path, offset as u64, detail);
        if index.len() < HEADER_LEN + 4 + FOOTER_LEN {
            return Err(corrupt(0, "index too short"));
        }
        let body = index.len() - 4;
        if crc32fast::hash(&index[..body]) != u32_at(&index, body) {
            return Err(corrupt(body, "index checksum mismatch"));
        }
        let count = u32_at(&index, HEADER_LEN) as usize;
        let terms_at = u64_at(&index, index.len() - FOOTER_LEN) as usize;
        let frames_at = entry_at(count);
        if frames_at + 4 > terms_at || terms_at > index.len() - FOOTER_LEN {
            return Err(corrupt(HEADER_LEN, "entry count does not fit the index"));
        }
        let nframes = u32_at(&index, frames_at) as usize;
        if frames_at + 4 + nframes * FRAME_LEN != terms_at {
            return Err(corrupt(
                frames_at,
                "frame count does not match the terms offset",
            ));
        }
        let frames: Vec<Frame> = (0..nframes)
            .map(|f| {
                let b = &index[frames_at + 4 + f * FRAME_LEN..];
                Frame {
                    offset: u64_at(b, 0),
                    len: u32_at(b, 8),
                    raw_len: u32_at(b, 12),
                    crc: u32_at(b, 16),
                }
            })
            .collect();
        for (f, fr) in frames.iter().enumerate() {
            let end = fr.offset.checked_add(u64::from(fr.len));
            if fr.offset < HEADER_LEN as u64 || end.is_none_or(|e| e > data.len() as u64) {
                return Err(corrupt(
                    frames_at + 4 + f * FRAME_LEN,
                    "frame out of the data file",
                ));
            }
        }
        let terms = read_terms(&index[..index.len() - FOOTER_LEN], terms_at)
            .map_err(|(at, d)| corrupt(at, &d))?;
        let block = Block {
            dir: dir.to_path_buf(),
            meta,
            data,
            index,
            count,
            frames,
            last: Mutex::new(None),
            terms,
        };
        for i in 0..count {
            let e = block.entry(i);
            let fits = block
                .frames
                .get(e.frame as usize)
                .is_some_and(|f| u64::from(e.in_frame) + u64::from(e.len) <= u64::from(f.raw_len));
            if !fits {
                return Err(corrupt(entry_at(i), "trace out of its frame"));
            }
        }
        Ok(block)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn meta(&self) -> &BlockMeta {
        &self.meta
    }

    /// Number of traces.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The `i`th entry (by trace id); `i < len()`.
    pub fn entry(&self, i: usize) -> Entry {
        let at = entry_at(i);
        let b = &self.index[at..at + ENTRY_LEN];
        let mut id = [0u8; 16];
        id.copy_from_slice(&b[..16]);
        Entry {
            ordinal: i,
            id: TraceId(id),
            frame: u32_at(b, 16),
            in_frame: u32_at(b, 20),
            len: u32_at(b, 24),
            start_ns: u64_at(b, 28),
            end_ns: u64_at(b, 36),
            spans: u32_at(b, 44),
        }
    }

    /// The ordinal of trace `id`, by binary search.
    pub fn find(&self, id: &TraceId) -> Option<usize> {
        let (mut lo, mut hi) = (0, self.count);
        while lo < hi {
            let mid = (lo + hi) / 2;
            let at = entry_at(mid);
            match self.index[at..at + 16].cmp(&id.0[..]) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(mid),
            }
        }
        None
    }

    /// The spans of the `i`th trace; its frame is checked against its CRC.
    pub fn read(&self, i: usize) -> Result<Vec<ResourceSpans>> {
        self.read_if(i, |_| true).map(Option::unwrap_or_default)
    }

    /// The spans of the `i`th trace when `keep` accepts its encoding (a
    /// `TracesData` protobuf); `None` when it does not.
    pub fn read_if(
        &self,
        i: usize,
        keep: impl FnOnce(&[u8]) -> bool,
    ) -> Result<Option<Vec<ResourceSpans>>> {
        let e = self.entry(i);
        let frame = self.frame(e.frame)?;
        let at = e.in_frame as usize;
        let raw = &frame[at..at + e.len as usize];
        if !keep(raw) {
            return Ok(None);
        }
        TracesData::decode(raw)
            .map(|d| Some(d.resource_spans))
            .map_err(|err| {
                let f = self.frames[e.frame as usize];
                let detail = format!("trace {} in frame {}: {err}", e.id, e.frame);
                Error::corrupt(self.dir.join("data"), f.offset, detail)
            })
    }

    /// Frame `n` decompressed, from the one-frame cache when it was read
    /// last.
    fn frame(&self, n: u32) -> Result<Arc<Vec<u8>>> {
        if let Some((m, bytes)) = &*self.last.lock()
            && *m == n
        {
            return Ok(bytes.clone());
        }
        let f = self.frames[n as usize];
        let path = || self.dir.join("data");
        let z = &self.data[f.offset as usize..f.offset as usize + f.len as usize];
        if crc32fast::hash(z) != f.crc {
            return Err(Error::corrupt(
                path(),
                f.offset,
                format!("checksum mismatch in frame {n}"),
            ));
        }
        let raw = zstd::bulk::decompress(z, f.raw_len as usize)
            .map_err(|err| Error::corrupt(path(), f.offset, err.to_string()))?;
        if raw.len() != f.raw_len as usize {
            return Err(Error::corrupt(
                path(),
                f.offset,
                format!("frame {n} is {} bytes, not {}", raw.len(), f.raw_len),
            ));
        }
        let raw = Arc::new(raw);
        *self.last.lock() = Some((n, raw.clone()));
        Ok(raw)
    }

    /// The ordinals of traces with `term`; empty when no trace has it.
    pub fn postings(&self, term: &Term) -> Result<RoaringBitmap> {
        let Some(&(at, len)) = self.terms.get(term) else {
            return Ok(RoaringBitmap::new());
        };
        RoaringBitmap::deserialize_from(&self.index[at..at + len])
            .map_err(|e| Error::corrupt(self.dir.join("index"), at as u64, e.to_string()))
    }

    /// Every term in the block.
    pub fn terms(&self) -> impl Iterator<Item = &Term> {
        self.terms.keys()
    }
}

fn entry_at(i: usize) -> usize {
    HEADER_LEN + 4 + i * ENTRY_LEN
}

fn map(path: &Path) -> Result<Mmap> {
    let f = File::open(path).map_err(|e| Error::io("open", path, e))?;
    // SAFETY: block files are immutable once their directory is renamed
    // into place; nothing writes or truncates them while they are mapped.
    unsafe { Mmap::map(&f) }.map_err(|e| Error::io("mmap", path, e))
}

fn check_header(path: &Path, b: &[u8], magic: &[u8; 4]) -> Result<()> {
    if b.len() < HEADER_LEN || &b[..4] != magic {
        return Err(Error::corrupt(path, 0, "bad magic"));
    }
    if b[4] != VERSION {
        return Err(Error::UnsupportedFormat {
            path: path.to_path_buf(),
            detail: format!("version {} (this build reads {VERSION})", b[4]),
        });
    }
    Ok(())
}

type TermsResult = std::result::Result<HashMap<Term, (usize, usize)>, (usize, String)>;

fn read_terms(b: &[u8], mut at: usize) -> TermsResult {
    let need = |at: usize, n: usize| {
        if at + n <= b.len() {
            Ok(())
        } else {
            Err((at, "terms run past the index".to_string()))
        }
    };
    need(at, 4)?;
    let n = u32_at(b, at) as usize;
    at += 4;
    let mut out = HashMap::with_capacity(n.min(1 << 20));
    for _ in 0..n {
        need(at, 1)?;
        let kind = TermKind::from_u8(b[at]).ok_or((at, format!("unknown term kind {}", b[at])))?;
        at += 1;
        let mut strings = [String::new(), String::new()];
        for s in &mut strings {
            need(at, 2)?;
            let len = usize::from(u16::from_le_bytes([b[at], b[at + 1]]));
            at += 2;
            need(at, len)?;
            *s = std::str::from_utf8(&b[at..at + len])
                .map_err(|_| (at, "term is not UTF-8".to_string()))?
                .to_owned();
            at += len;
        }
        need(at, 4)?;
        let len = u32_at(b, at) as usize;
        at += 4;
        need(at, len)?;
        let [key, value] = strings;
        out.insert(Term { kind, key, value }, (at, len));
        at += len;
    }
    Ok(out)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut x = [0u8; 4];
    x.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(x)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(x)
}

#[cfg(test)]
#[path = "block_tests.rs"]
mod tests;
