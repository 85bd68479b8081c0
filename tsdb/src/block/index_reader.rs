//! Reads a block's `index` file through mmap.
//!
//! ```text
//! ┌───────────────────────────┬────────────────┐
//! │ magic "ALIX" 0x414C4958 4B│ version = 1 1B │
//! ├───────────────────────────┴────────────────┤
//! │ section: symbols                            │  count u32 | (len uvarint, utf-8 bytes)* sorted
//! │ section: series                             │  per series, in label order (id = position):
//! │                                             │    nlabels uvarint | (name sym, value sym uvarint)*
//! │                                             │    nchunks uvarint | (Δmint varint, maxt-mint uvarint, Δref varint)*
//! │ section: series offsets                     │  count u32 | offset u64 per series
//! │ section: postings                           │  roaring bitmaps (portable format), back to back
//! │ section: postings table                     │  count u32 | (name sym, value sym, offset, len uvarint)*
//! ├────────────────────────────────────────────┤
//! │ TOC: 5 × section offset u64 BE | CRC32 4B   │
//! └────────────────────────────────────────────┘
//! section: ┌────────────┬─────────┬───────────────────┐
//!          │ len u32 BE │ content │ CRC32(content) 4B │
//!          └────────────┴─────────┴───────────────────┘
//! ```
//! Every section's CRC is verified when the block is opened, so lookups
//! afterwards are bounds-checked but not re-checksummed.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::Mmap;
use roaring::RoaringBitmap;

use super::index_writer::{IndexChunk, MAGIC, TOC_LEN, VERSION};
use crate::encoding::{Decbuf, DecodeError};
use crate::error::{Error, Result};
use crate::index::LabelIndex;
use crate::model::{Label, Labels};

/// Values of one label name, ascending, with `(offset, len)` of each
/// value's postings inside the postings section.
type ValueTable = Vec<(Arc<str>, usize, usize)>;

/// A section's content: `(start, len)` in the file.
#[derive(Clone, Copy)]
struct Section {
    start: usize,
    len: usize,
}

/// The opened index of a block.
pub struct IndexReader {
    path: PathBuf,
    map: Mmap,
    symbols: Vec<Arc<str>>,
    series: Section,
    series_offsets: Vec<u64>,
    postings: Section,
    /// name → values in ascending order with (offset, len) in `postings`.
    table: HashMap<Arc<str>, ValueTable>,
}

impl IndexReader {
    pub fn open(path: &Path) -> Result<Self> {
        let f = File::open(path).map_err(|e| Error::io("open", path, e))?;
        // SAFETY: block files are immutable once written; nothing in this
        // process writes to a file it has mapped.
        let map = unsafe { Mmap::map(&f) }.map_err(|e| Error::io("mmap", path, e))?;
        let corrupt =
            |off: usize, what: &str| Error::corruption(path, off as u64, what.to_string());
        if map.len() < 5 + TOC_LEN || map[..4] != MAGIC.to_be_bytes() {
            return Err(corrupt(0, "bad index header"));
        }
        if map[4] != VERSION {
            return Err(Error::UnsupportedFormat {
                path: path.to_path_buf(),
                detail: format!("unsupported index version {}", map[4]),
            });
        }
        let toc_start = map.len() - TOC_LEN;
        let toc = &map[toc_start..];
        let crc = u32::from_be_bytes([toc[40], toc[41], toc[42], toc[43]]);
        if crc32fast::hash(&toc[..40]) != crc {
            return Err(corrupt(toc_start, "index TOC checksum mismatch"));
        }
        let mut offs = [0usize; 5];
        for (i, o) in offs.iter_mut().enumerate() {
            let mut b = [0u8; 8];
            b.copy_from_slice(&toc[i * 8..i * 8 + 8]);
            *o = usize::try_from(u64::from_be_bytes(b))
                .map_err(|_| corrupt(toc_start, "bad TOC"))?;
        }
        let section = |off: usize| -> Result<Section> {
            let hdr = map
                .get(off..off + 4)
                .ok_or_else(|| corrupt(off, "section past end"))?;
            let len = u32::from_be_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]) as usize;
            let start = off + 4;
            let body = map
                .get(start..start + len + 4)
                .filter(|_| start + len + 4 <= toc_start)
                .ok_or_else(|| corrupt(off, "section length past end"))?;
            let want = u32::from_be_bytes([body[len], body[len + 1], body[len + 2], body[len + 3]]);
            if crc32fast::hash(&body[..len]) != want {
                return Err(corrupt(off, "index section checksum mismatch"));
            }
            Ok(Section { start, len })
        };
        let [sym_off, series_off, table_off, postings_off, ptable_off] = offs;
        let sym = section(sym_off)?;
        let series = section(series_off)?;
        let stable = section(table_off)?;
        let postings = section(postings_off)?;
        let ptable = section(ptable_off)?;

        let dec_err = |s: Section, e: DecodeError| corrupt(s.start + e.offset, e.what);
        let body = |s: Section| &map[s.start..s.start + s.len];

        let mut d = Decbuf::new(body(sym));
        let n = d.u32_be("symbol count").map_err(|e| dec_err(sym, e))?;
        let mut symbols = Vec::with_capacity((n as usize).min(sym.len));
        for _ in 0..n {
            symbols.push(Arc::from(d.str("symbol").map_err(|e| dec_err(sym, e))?));
        }

        let mut d = Decbuf::new(body(stable));
        let n = d.u32_be("series count").map_err(|e| dec_err(stable, e))?;
        let mut series_offsets = Vec::with_capacity((n as usize).min(stable.len / 8));
        for _ in 0..n {
            series_offsets.push(d.u64_be("series offset").map_err(|e| dec_err(stable, e))?);
        }

        let mut d = Decbuf::new(body(ptable));
        let n = d.u32_be("postings count").map_err(|e| dec_err(ptable, e))?;
        let mut table: HashMap<Arc<str>, ValueTable> = HashMap::new();
        let sym_at = |d: &mut Decbuf, what| -> Result<Arc<str>> {
            let i = d.uvarint(what).map_err(|e| dec_err(ptable, e))?;
            symbols
                .get(i as usize)
                .cloned()
                .ok_or_else(|| corrupt(ptable.start + d.position(), "symbol out of range"))
        };
        for _ in 0..n {
            let name = sym_at(&mut d, "postings name")?;
            let value = sym_at(&mut d, "postings value")?;
            let off = d
                .uvarint("postings offset")
                .map_err(|e| dec_err(ptable, e))? as usize;
            let len = d
                .uvarint("postings length")
                .map_err(|e| dec_err(ptable, e))? as usize;
            if off.checked_add(len).is_none_or(|end| end > postings.len) {
                return Err(corrupt(
                    ptable.start + d.position(),
                    "postings out of range",
                ));
            }
            table.entry(name).or_default().push((value, off, len));
        }
        Ok(IndexReader {
            path: path.to_path_buf(),
            map,
            symbols,
            series,
            series_offsets,
            postings,
            table,
        })
    }

    pub fn num_series(&self) -> usize {
        self.series_offsets.len()
    }

    pub fn size(&self) -> u64 {
        self.map.len() as u64
    }

    /// Labels and chunk references of series `id`.
    pub fn series(&self, id: u32) -> Result<Option<(Labels, Vec<IndexChunk>)>> {
        let Some(&off) = self.series_offsets.get(id as usize) else {
            return Ok(None);
        };
        let body = &self.map[self.series.start..self.series.start + self.series.len];
        let off = off as usize;
        let corrupt = |e: DecodeError| {
            Error::corruption(
                &self.path,
                (self.series.start + off + e.offset) as u64,
                e.what,
            )
        };
        let mut d = Decbuf::new(body.get(off..).unwrap_or_default());
        let nl = d.len("label count").map_err(corrupt)?;
        let mut labels = Vec::with_capacity(nl);
        for _ in 0..nl {
            let n = d.uvarint("label name").map_err(corrupt)?;
            let v = d.uvarint("label value").map_err(corrupt)?;
            match (self.symbols.get(n as usize), self.symbols.get(v as usize)) {
                (Some(n), Some(v)) => labels.push(Label {
                    name: n.clone(),
                    value: v.clone(),
                }),
                _ => {
                    return Err(corrupt(DecodeError {
                        offset: d.position(),
                        what: "symbol out of range",
                    }));
                }
            }
        }
        let labels = Labels::try_from_unsorted(labels)
            .map_err(|what| corrupt(DecodeError { offset: 0, what }))?;
        let nc = d.len("chunk count").map_err(corrupt)?;
        let mut chunks = Vec::with_capacity(nc);
        let (mut prev_maxt, mut prev_ref) = (0i64, 0u64);
        for _ in 0..nc {
            let min_t = prev_maxt.wrapping_add(d.varint("chunk mint").map_err(corrupt)?);
            let max_t = min_t.wrapping_add(d.uvarint("chunk maxt").map_err(corrupt)? as i64);
            let chunk_ref = prev_ref.wrapping_add(d.varint("chunk ref").map_err(corrupt)? as u64);
            chunks.push(IndexChunk {
                min_t,
                max_t,
                chunk_ref,
            });
            prev_maxt = max_t;
            prev_ref = chunk_ref;
        }
        Ok(Some((labels, chunks)))
    }

    fn bitmap(&self, off: usize, len: usize) -> RoaringBitmap {
        let start = self.postings.start + off;
        // Checksummed at open; a decode failure here means a writer bug, and
        // an empty list is the safe answer.
        RoaringBitmap::deserialize_from(&self.map[start..start + len]).unwrap_or_default()
    }
}

impl LabelIndex for IndexReader {
    fn all_postings(&self) -> RoaringBitmap {
        let mut bm = RoaringBitmap::new();
        bm.insert_range(0..self.series_offsets.len() as u32);
        bm
    }

    fn postings(&self, name: &str, value: &str) -> RoaringBitmap {
        let Some(values) = self.table.get(name) else {
            return RoaringBitmap::new();
        };
        match values.binary_search_by(|(v, _, _)| (**v).cmp(value)) {
            Ok(i) => self.bitmap(values[i].1, values[i].2),
            Err(_) => RoaringBitmap::new(),
        }
    }

    fn for_each_value(&self, name: &str, f: &mut dyn FnMut(&str, &RoaringBitmap)) {
        if let Some(values) = self.table.get(name) {
            for (v, off, len) in values {
                f(v, &self.bitmap(*off, *len));
            }
        }
    }

    fn label_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.table.keys().map(|n| n.to_string()).collect();
        names.sort();
        names
    }
}

impl IndexReader {
    /// Values of `name` in ascending order, without reading postings.
    pub fn label_values(&self, name: &str) -> Vec<String> {
        self.table
            .get(name)
            .map(|vs| vs.iter().map(|(v, _, _)| v.to_string()).collect())
            .unwrap_or_default()
    }
}
