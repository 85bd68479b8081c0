//! Writes a span block from traces sorted by id.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use roaring::RoaringBitmap;
use serde::{Deserialize, Serialize};

use super::raw_terms::raw_span_terms;
use super::terms::{Term, TermKind, origin_terms, span_terms};
use super::{DATA_MAGIC, ENTRY_LEN, FRAME_LEN, INDEX_MAGIC, VERSION};
use crate::error::{Error, Result};
use crate::head::{LiveTrace, Origin, encode_traces_data};
use crate::id::TraceId;
use tsdb::fsutil::{sync_dir, write_durably};

/// A block's `meta.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockMeta {
    pub version: u8,
    pub ulid: String,
    /// Earliest span start and latest span end, Unix nanoseconds.
    pub min_time_ns: u64,
    pub max_time_ns: u64,
    pub traces: u64,
    pub spans: u64,
    /// Bytes of `data` and `index`.
    pub bytes: u64,
}

/// Writes `traces` (sorted by id, each id once) as a new block under
/// `blocks_dir`; returns its directory. Nothing is visible under the
/// block's name until every file is written and synced.
pub fn write(blocks_dir: &Path, traces: &[(TraceId, LiveTrace)]) -> Result<PathBuf> {
    write_framed(blocks_dir, traces, FRAME_BYTES)
}

/// Uncompressed bytes of traces per compressed frame: large enough for
/// zstd to find what traces share (attribute keys, values, names), small
/// enough that reading one trace decompresses little.
const FRAME_BYTES: usize = 256 << 10;

/// The zstd level: the library's default, a good ratio at high speed.
const ZSTD_LEVEL: i32 = 3;

/// [`write`] with frames cut at `frame_bytes` (tests use tiny frames).
pub(super) fn write_framed(
    blocks_dir: &Path,
    traces: &[(TraceId, LiveTrace)],
    frame_bytes: usize,
) -> Result<PathBuf> {
    let ulid = tsdb::block::new_ulid();
    let tmp = blocks_dir.join(format!(".{ulid}.tmp"));
    std::fs::create_dir_all(&tmp).map_err(|e| Error::io("mkdir", &tmp, e))?;
    let written = write_files(&tmp, &ulid, traces, frame_bytes);
    if let Err(e) = written {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    let dir = blocks_dir.join(&ulid);
    std::fs::rename(&tmp, &dir).map_err(|e| Error::io("rename", &tmp, e))?;
    sync_dir(blocks_dir)?;
    Ok(dir)
}

/// Compressed frames appended to the data file, with their table.
struct Frames {
    data: Vec<u8>,
    table: Vec<u8>,
    count: u32,
    pending: Vec<u8>,
    compressor: zstd::bulk::Compressor<'static>,
}

impl Frames {
    fn new(capacity: usize) -> Result<Frames> {
        let mut data = Vec::with_capacity(capacity);
        data.extend_from_slice(DATA_MAGIC);
        data.push(VERSION);
        let compressor =
            zstd::bulk::Compressor::new(ZSTD_LEVEL).map_err(|e| Error::io("zstd", "data", e))?;
        Ok(Frames {
            data,
            table: Vec::new(),
            count: 0,
            pending: Vec::new(),
            compressor,
        })
    }

    /// Compresses the pending bytes as the next frame.
    fn cut(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let z = self
            .compressor
            .compress(&self.pending)
            .map_err(|e| Error::io("zstd", "data", e))?;
        let too_big = |what: &str| Error::InvalidOption {
            name: "span block frame",
            reason: format!("{what} over 4 GiB"),
        };
        self.table
            .extend_from_slice(&(self.data.len() as u64).to_le_bytes());
        let len = u32::try_from(z.len()).map_err(|_| too_big("compressed"))?;
        let raw = u32::try_from(self.pending.len()).map_err(|_| too_big("raw"))?;
        self.table.extend_from_slice(&len.to_le_bytes());
        self.table.extend_from_slice(&raw.to_le_bytes());
        self.table
            .extend_from_slice(&crc32fast::hash(&z).to_le_bytes());
        self.data.extend_from_slice(&z);
        self.pending.clear();
        self.count += 1;
        Ok(())
    }
}

fn write_files(
    dir: &Path,
    ulid: &str,
    traces: &[(TraceId, LiveTrace)],
    frame_bytes: usize,
) -> Result<()> {
    let mut frames = Frames::new(traces.iter().map(|(_, t)| t.bytes / 6).sum())?;
    let mut entries = Vec::with_capacity(traces.len() * ENTRY_LEN);
    let mut postings = Postings::default();
    let mut meta = BlockMeta {
        version: VERSION,
        ulid: ulid.to_owned(),
        min_time_ns: u64::MAX,
        max_time_ns: 0,
        traces: traces.len() as u64,
        spans: 0,
        bytes: 0,
    };
    for (ordinal, (id, trace)) in traces.iter().enumerate() {
        let ordinal = u32::try_from(ordinal).map_err(|_| Error::InvalidOption {
            name: "traces per block",
            reason: "over 2^32".into(),
        })?;
        let proto = encode_traces_data(&trace.spans);
        let over = |_| Error::InvalidOption {
            name: "span block frame",
            reason: "over 4 GiB".into(),
        };
        let in_frame = u32::try_from(frames.pending.len()).map_err(over)?;
        let len = u32::try_from(proto.len()).map_err(over)?;
        let start = trace.spans.iter().map(|s| s.start_ns).min();
        let end = trace.spans.iter().map(|s| s.end_ns).max();
        let (start, end) = (start.unwrap_or(0), end.unwrap_or(0));
        meta.min_time_ns = meta.min_time_ns.min(start);
        meta.max_time_ns = meta.max_time_ns.max(end);
        meta.spans += trace.spans.len() as u64;
        entries.extend_from_slice(&id.0);
        entries.extend_from_slice(&frames.count.to_le_bytes());
        entries.extend_from_slice(&in_frame.to_le_bytes());
        entries.extend_from_slice(&len.to_le_bytes());
        entries.extend_from_slice(&start.to_le_bytes());
        entries.extend_from_slice(&end.to_le_bytes());
        entries.extend_from_slice(&(trace.spans.len() as u32).to_le_bytes());
        frames.pending.extend_from_slice(&proto);
        if frames.pending.len() >= frame_bytes {
            frames.cut()?;
        }
        // A trace's spans share most terms: each is added once per trace,
        // known by a 64-bit hash (two terms of one trace colliding is a
        // 1-in-10^16 chance; it would cost one posting of that trace).
        let mut seen: HashSet<u64> = HashSet::new();
        let mut add = |kind: TermKind, key: &str, value: &str| {
            let mut h = std::hash::DefaultHasher::new();
            (kind, key, value).hash(&mut h);
            if seen.insert(h.finish()) {
                postings.add(kind, key, value, ordinal);
            }
        };
        let mut origins: Vec<*const Origin> = Vec::new();
        for s in &trace.spans {
            let origin = Arc::as_ptr(&s.origin);
            if !origins.contains(&origin) {
                origins.push(origin);
                origin_terms(&s.origin, &mut add);
            }
            let service = s.origin.service_name();
            if raw_span_terms(s.raw(), service, &mut add).is_none() {
                // Not expected (the head encoded these bytes): decode.
                span_terms(&s.decode(), &mut add);
            }
        }
    }
    frames.cut()?;
    let index = encode_index(traces.len(), &entries, &frames, &postings.sorted())?;
    let data = frames.data;
    meta.bytes = (data.len() + index.len()) as u64;
    if meta.min_time_ns == u64::MAX {
        meta.min_time_ns = 0;
    }
    write_durably(&dir.join("data"), &data)?;
    write_durably(&dir.join("index"), &index)?;
    let json = serde_json::to_vec_pretty(&meta).map_err(|e| Error::InvalidOption {
        name: "meta.json",
        reason: e.to_string(),
    })?;
    write_durably(&dir.join("meta.json"), &json)?;
    Ok(sync_dir(dir)?)
}

/// Postings being built: kind → key → value → traces. Looked up by
/// borrowed strings, so a term costs an allocation only when first met.
#[derive(Default)]
struct Postings(HashMap<TermKind, HashMap<String, HashMap<String, RoaringBitmap>>>);

impl Postings {
    fn add(&mut self, kind: TermKind, key: &str, value: &str, ordinal: u32) {
        let keys = self.0.entry(kind).or_default();
        if !keys.contains_key(key) {
            keys.insert(key.to_owned(), HashMap::new());
        }
        let Some(values) = keys.get_mut(key) else {
            return;
        };
        match values.get_mut(value) {
            Some(b) => {
                b.insert(ordinal);
            }
            None => {
                values.insert(value.to_owned(), RoaringBitmap::from_iter([ordinal]));
            }
        }
    }

    /// Every term with its traces, in term order (so a block's bytes do
    /// not depend on hashing).
    fn sorted(self) -> Vec<(Term, RoaringBitmap)> {
        let mut out: Vec<(Term, RoaringBitmap)> = Vec::new();
        for (kind, keys) in self.0 {
            for (key, values) in keys {
                for (value, bitmap) in values {
                    out.push((
                        Term {
                            kind,
                            key: key.clone(),
                            value,
                        },
                        bitmap,
                    ));
                }
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

fn encode_index(
    count: usize,
    entries: &[u8],
    frames: &Frames,
    postings: &[(Term, RoaringBitmap)],
) -> Result<Vec<u8>> {
    let too_long = |what: &str| Error::InvalidOption {
        name: "span block term",
        reason: format!("{what} over 64 KiB"),
    };
    let mut out = Vec::with_capacity(entries.len() + 64 + postings.len() * 32);
    out.extend_from_slice(INDEX_MAGIC);
    out.push(VERSION);
    out.extend_from_slice(&(count as u32).to_le_bytes());
    out.extend_from_slice(entries);
    out.extend_from_slice(&frames.count.to_le_bytes());
    debug_assert_eq!(frames.table.len(), frames.count as usize * FRAME_LEN);
    out.extend_from_slice(&frames.table);
    let terms_at = out.len() as u64;
    out.extend_from_slice(&(postings.len() as u32).to_le_bytes());
    for (term, bitmap) in postings {
        out.push(term.kind as u8);
        for s in [&term.key, &term.value] {
            let len = u16::try_from(s.len()).map_err(|_| too_long("key or value"))?;
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        }
        let len = bitmap.serialized_size();
        out.extend_from_slice(&(len as u32).to_le_bytes());
        bitmap
            .serialize_into(&mut out)
            .map_err(|e| Error::io("serialize postings", "index", e))?;
    }
    out.extend_from_slice(&terms_at.to_le_bytes());
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    Ok(out)
}
