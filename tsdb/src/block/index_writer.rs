//! Writes a block's `index` file. The layout is drawn in the module doc of
//! [`super::index_reader`] and in `docs/format/index.md`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

use roaring::RoaringBitmap;

use crate::encoding::{put_uvarint, put_varint};
use crate::error::{Error, Result};
use crate::model::Labels;

pub(super) const MAGIC: u32 = 0x414C_4958;
pub(super) const VERSION: u8 = 1;
/// Five section offsets (u64) and the TOC's own CRC32.
pub(super) const TOC_LEN: usize = 5 * 8 + 4;

/// A chunk as the index records it: its time span and where it lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexChunk {
    pub min_t: i64,
    pub max_t: i64,
    /// Reference into the chunk segments (see [`super::chunks`]).
    pub chunk_ref: u64,
}

/// Builds the index in memory from series given in label order, then
/// writes it in one go. Series ids are positions in that order.
#[derive(Default)]
pub struct IndexWriter {
    series: Vec<(Labels, Vec<IndexChunk>)>,
}

impl IndexWriter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the next series; labels must sort strictly after the previous
    /// series' labels, and chunks must be sorted by time.
    pub fn add_series(&mut self, labels: Labels, chunks: Vec<IndexChunk>) -> Result<()> {
        if let Some((prev, _)) = self.series.last()
            && *prev >= labels
        {
            return Err(Error::InvalidLabels {
                labels: labels.to_string(),
                reason: "series added to the index out of order",
            });
        }
        self.series.push((labels, chunks));
        Ok(())
    }

    pub fn num_series(&self) -> usize {
        self.series.len()
    }

    /// Encodes and writes the file durably.
    pub fn write(self, path: &Path) -> Result<()> {
        let bytes = self.encode();
        crate::fsutil::write_durably(path, &bytes)
    }

    fn encode(self) -> Vec<u8> {
        let mut symbols: BTreeSet<Arc<str>> = BTreeSet::new();
        for (labels, _) in &self.series {
            for l in labels {
                symbols.insert(l.name.clone());
                symbols.insert(l.value.clone());
            }
        }
        let symbol_ids: HashMap<Arc<str>, u64> = symbols
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), i as u64))
            .collect();

        let mut out = Vec::with_capacity(1 << 16);
        out.extend_from_slice(&MAGIC.to_be_bytes());
        out.push(VERSION);

        // Symbols.
        let symbols_off = out.len() as u64;
        let mut sec = Vec::new();
        sec.extend_from_slice(&(symbols.len() as u32).to_be_bytes());
        for s in &symbols {
            put_uvarint(&mut sec, s.len() as u64);
            sec.extend_from_slice(s.as_bytes());
        }
        write_section(&mut out, &sec);

        // Series entries and postings.
        let series_off = out.len() as u64;
        let mut sec = Vec::new();
        let mut offsets = Vec::with_capacity(self.series.len());
        let mut postings: BTreeMap<(Arc<str>, Arc<str>), RoaringBitmap> = BTreeMap::new();
        for (id, (labels, chunks)) in self.series.iter().enumerate() {
            offsets.push(sec.len() as u64);
            put_uvarint(&mut sec, labels.len() as u64);
            for l in labels {
                put_uvarint(&mut sec, symbol_ids[&l.name]);
                put_uvarint(&mut sec, symbol_ids[&l.value]);
                postings
                    .entry((l.name.clone(), l.value.clone()))
                    .or_default()
                    .insert(id as u32);
            }
            put_uvarint(&mut sec, chunks.len() as u64);
            let (mut prev_maxt, mut prev_ref) = (0i64, 0u64);
            for c in chunks {
                put_varint(&mut sec, c.min_t.wrapping_sub(prev_maxt));
                put_uvarint(&mut sec, c.max_t.wrapping_sub(c.min_t) as u64);
                put_varint(&mut sec, c.chunk_ref.wrapping_sub(prev_ref) as i64);
                prev_maxt = c.max_t;
                prev_ref = c.chunk_ref;
            }
        }
        write_section(&mut out, &sec);

        let series_table_off = out.len() as u64;
        let mut sec = Vec::with_capacity(4 + offsets.len() * 8);
        sec.extend_from_slice(&(offsets.len() as u32).to_be_bytes());
        for o in offsets {
            sec.extend_from_slice(&o.to_be_bytes());
        }
        write_section(&mut out, &sec);

        // Postings lists, then the table that finds them.
        let postings_off = out.len() as u64;
        let mut sec = Vec::new();
        let mut table = Vec::new();
        table.extend_from_slice(&(postings.len() as u32).to_be_bytes());
        for ((name, value), bm) in &postings {
            let start = sec.len() as u64;
            // Serialising into a Vec cannot fail.
            let _ = bm.serialize_into(&mut sec);
            put_uvarint(&mut table, symbol_ids[name]);
            put_uvarint(&mut table, symbol_ids[value]);
            put_uvarint(&mut table, start);
            put_uvarint(&mut table, sec.len() as u64 - start);
        }
        write_section(&mut out, &sec);
        let postings_table_off = out.len() as u64;
        write_section(&mut out, &table);

        let toc_start = out.len();
        for off in [
            symbols_off,
            series_off,
            series_table_off,
            postings_off,
            postings_table_off,
        ] {
            out.extend_from_slice(&off.to_be_bytes());
        }
        let crc = crc32fast::hash(&out[toc_start..]);
        out.extend_from_slice(&crc.to_be_bytes());
        out
    }
}

/// `len <u32 BE> | content | CRC32(content) <u32 BE>`.
fn write_section(out: &mut Vec<u8>, content: &[u8]) {
    out.extend_from_slice(&(content.len() as u32).to_be_bytes());
    out.extend_from_slice(content);
    out.extend_from_slice(&crc32fast::hash(content).to_be_bytes());
}
