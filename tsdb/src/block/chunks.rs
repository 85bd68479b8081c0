//! Chunk segment files of a block (`chunks/000001`, …), read through mmap.
//!
//! ```text
//! ┌──────────────────────────────┬─────────────────┬──────────────┐
//! │ magic 0x414C4348 "ALCH" (4B) │ version = 1 (1B)│ padding (3B) │
//! ├──────────────────────────────┴─────────────────┴──────────────┤
//! │ chunk 1 … chunk n                                             │
//! └───────────────────────────────────────────────────────────────┘
//! chunk:
//! ┌────────────────┬───────────────┬──────────────┬───────────────────┐
//! │ len <uvarint>  │ encoding <1B> │ data <len B> │ CRC32 <4B BE>     │
//! └────────────────┴───────────────┴──────────────┴───────────────────┘
//! ```
//! The CRC (IEEE CRC32, `crc32fast`) covers the encoding
//! byte and the data. A chunk reference is `segment << 32 | offset`.
//! Encodings are those of [`Encoding`] (1 XOR, 2 decimal); the segment
//! version did not change when decimal chunks came: an unknown encoding byte
//! is reported as corruption naming the segment and offset.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::Mmap;

use crate::chunkenc::Encoding;
use crate::encoding::{Decbuf, put_uvarint};
use crate::error::{Error, Result};
use crate::querier::ChunkBytes;

const MAGIC: u32 = 0x414C_4348;
const VERSION: u8 = 1;
const HEADER_LEN: usize = 8;
/// Segments are cut before they would grow past this.
const SEGMENT_SIZE: u64 = 512 << 20;

/// Writes chunks into numbered segment files under `dir`.
pub struct ChunkWriter {
    dir: PathBuf,
    seq: u32,
    file: Option<BufWriter<File>>,
    offset: u64,
    buf: Vec<u8>,
}

impl ChunkWriter {
    pub fn new(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("mkdir", dir, e))?;
        Ok(ChunkWriter {
            dir: dir.to_path_buf(),
            seq: 0,
            file: None,
            offset: 0,
            buf: Vec::new(),
        })
    }

    fn segment_path(dir: &Path, seq: u32) -> PathBuf {
        dir.join(format!("{seq:06}"))
    }

    fn cut(&mut self) -> Result<()> {
        self.finish_segment()?;
        self.seq += 1;
        let path = Self::segment_path(&self.dir, self.seq);
        let f = File::create(&path).map_err(|e| Error::io("create", &path, e))?;
        let mut w = BufWriter::with_capacity(1 << 20, f);
        let mut header = [0u8; HEADER_LEN];
        header[..4].copy_from_slice(&MAGIC.to_be_bytes());
        header[4] = VERSION;
        w.write_all(&header)
            .map_err(|e| Error::io("write", &path, e))?;
        self.file = Some(w);
        self.offset = HEADER_LEN as u64;
        Ok(())
    }

    /// Appends one chunk and returns its reference.
    pub fn write(&mut self, encoding: Encoding, data: &[u8]) -> Result<u64> {
        let encoding = encoding.byte();
        self.buf.clear();
        put_uvarint(&mut self.buf, data.len() as u64);
        self.buf.push(encoding);
        self.buf.extend_from_slice(data);
        let mut h = crc32fast::Hasher::new();
        h.update(&[encoding]);
        h.update(data);
        self.buf.extend_from_slice(&h.finalize().to_be_bytes());
        if self.file.is_none() || self.offset + self.buf.len() as u64 > SEGMENT_SIZE {
            self.cut()?;
        }
        let r = (u64::from(self.seq) << 32) | self.offset;
        let path = Self::segment_path(&self.dir, self.seq);
        if let Some(f) = &mut self.file {
            f.write_all(&self.buf)
                .map_err(|e| Error::io("write", &path, e))?;
        }
        self.offset += self.buf.len() as u64;
        Ok(r)
    }

    fn finish_segment(&mut self) -> Result<()> {
        if let Some(w) = self.file.take() {
            let path = Self::segment_path(&self.dir, self.seq);
            let f = w
                .into_inner()
                .map_err(|e| Error::io("flush", &path, e.into_error()))?;
            f.sync_all().map_err(|e| Error::io("fsync", &path, e))?;
        }
        Ok(())
    }

    /// Flushes and fsyncs the last segment.
    pub fn close(mut self) -> Result<()> {
        self.finish_segment()?;
        crate::fsutil::sync_dir(&self.dir)
    }
}

/// Maps a block's chunk segments and hands out verified chunks.
pub struct ChunkReader {
    dir: PathBuf,
    segments: Vec<Arc<Mmap>>,
}

impl ChunkReader {
    pub fn open(dir: &Path) -> Result<Self> {
        let mut segments = Vec::new();
        for seq in 1.. {
            let path = ChunkWriter::segment_path(dir, seq);
            if !path.exists() {
                break;
            }
            let f = File::open(&path).map_err(|e| Error::io("open", &path, e))?;
            // SAFETY: block files are immutable once written; nothing in
            // this process writes to a file it has mapped.
            let map = unsafe { Mmap::map(&f) }.map_err(|e| Error::io("mmap", &path, e))?;
            if map.len() < HEADER_LEN || map[..4] != MAGIC.to_be_bytes() || map[4] != VERSION {
                return Err(Error::corruption(&path, 0, "bad chunk segment header"));
            }
            segments.push(Arc::new(map));
        }
        Ok(ChunkReader {
            dir: dir.to_path_buf(),
            segments,
        })
    }

    /// The chunk at `r`: its encoding and bytes. The CRC is verified, the
    /// encoding must be known and the chunk's header valid
    /// ([`Encoding::validate`]), so decoding it cannot fail.
    pub fn chunk(&self, r: u64) -> Result<(Encoding, ChunkBytes)> {
        let seq = (r >> 32) as usize;
        let off = (r & 0xFFFF_FFFF) as usize;
        let path = || ChunkWriter::segment_path(&self.dir, seq as u32);
        let map = seq
            .checked_sub(1)
            .and_then(|i| self.segments.get(i))
            .ok_or_else(|| Error::corruption(path(), off as u64, "chunk segment missing"))?;
        let bad = |what: &str| Error::corruption(path(), off as u64, what.to_string());
        let tail = map.get(off..).ok_or_else(|| bad("chunk offset past end"))?;
        let mut d = Decbuf::new(tail);
        let len = d.len("chunk length").map_err(|e| bad(e.what))?;
        let encoding = d.u8("chunk encoding").map_err(|e| bad(e.what))?;
        let start = off + d.position();
        let data = d.bytes(len, "chunk data").map_err(|e| bad(e.what))?;
        let crc = d.u32_be("chunk crc").map_err(|e| bad(e.what))?;
        let mut h = crc32fast::Hasher::new();
        h.update(&[encoding]);
        h.update(data);
        if h.finalize() != crc {
            return Err(bad("chunk checksum mismatch"));
        }
        let encoding = Encoding::from_byte(encoding)
            .ok_or_else(|| bad(&format!("unknown chunk encoding {encoding}")))?;
        encoding.validate(data).map_err(|e| {
            Error::corruption(
                path(),
                (start + e.offset) as u64,
                format!("{encoding:?} chunk: {}", e.what),
            )
        })?;
        Ok((
            encoding,
            ChunkBytes::Mapped {
                map: map.clone(),
                start,
                len,
            },
        ))
    }

    /// Total bytes of all segments.
    pub fn size(&self) -> u64 {
        self.segments.iter().map(|m| m.len() as u64).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_crc_check() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = ChunkWriter::new(dir.path()).unwrap();
        let a = w.write(Encoding::Xor, b"hello").unwrap();
        let b = w.write(Encoding::Xor, &[7u8; 300]).unwrap();
        w.close().unwrap();
        let r = ChunkReader::open(dir.path()).unwrap();
        assert_eq!(r.chunk(a).unwrap().1.as_slice(), b"hello");
        assert_eq!(r.chunk(b).unwrap().1.as_slice(), &[7u8; 300][..]);
        drop(r);
        // Flip a data byte of the first chunk: its CRC must catch it.
        let path = dir.path().join("000001");
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[HEADER_LEN + 3] ^= 0xff;
        std::fs::write(&path, bytes).unwrap();
        let r = ChunkReader::open(dir.path()).unwrap();
        let err = r.chunk(a).unwrap_err().to_string();
        assert!(
            err.contains("checksum mismatch") && err.contains("000001"),
            "{err}"
        );
        assert!(r.chunk(b).is_ok());
        assert!(r.chunk((9 << 32) | 8).is_err());
        assert!(r.chunk((1 << 32) | 1_000_000).is_err());
    }

    #[test]
    fn undecodable_chunks_with_good_checksums_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = ChunkWriter::new(dir.path()).unwrap();
        let xor = w.write(Encoding::Xor, &[0, 1, 2]).unwrap();
        // A decimal chunk from a future version, one cut short, and an
        // encoding this build does not know.
        let future = w.write(Encoding::Decimal, &[9, 1, 0, 0, 0]).unwrap();
        let short = w.write(Encoding::Decimal, &[1, 5, 0]).unwrap();
        w.close().unwrap();
        let mut bytes = std::fs::read(dir.path().join("000001")).unwrap();
        let unknown_at = bytes.len();
        bytes.extend_from_slice(&[1, 9, 0xAA]);
        let mut h = crc32fast::Hasher::new();
        h.update(&[9, 0xAA]);
        bytes.extend_from_slice(&h.finalize().to_be_bytes());
        std::fs::write(dir.path().join("000001"), bytes).unwrap();

        let r = ChunkReader::open(dir.path()).unwrap();
        assert_eq!(r.chunk(xor).unwrap().0, Encoding::Xor);
        let cases = [
            (
                "future version",
                future,
                2,
                "unsupported decimal chunk version",
            ),
            ("cut short", short, 2 + 3, "stream base"),
            (
                "unknown encoding",
                (1 << 32) | unknown_at as u64,
                0,
                "unknown chunk encoding 9",
            ),
        ];
        for (name, at, data_offset, what) in cases {
            let err = r.chunk(at).err().unwrap_or_else(|| panic!("case {name}"));
            let want_offset = (at & 0xFFFF_FFFF) + data_offset;
            match &err {
                Error::Corruption {
                    path,
                    offset,
                    detail,
                } => {
                    assert!(path.ends_with("000001"), "case {name}: {err}");
                    assert_eq!(*offset, want_offset, "case {name}: {err}");
                    assert!(detail.contains(what), "case {name}: {err}");
                }
                other => panic!("case {name}: {other}"),
            }
        }
    }
}
