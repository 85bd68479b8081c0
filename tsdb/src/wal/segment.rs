//! Segment naming, headers and the fragment framing shared by the writer
//! and the reader.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

pub const MAGIC: u32 = 0x414C_574C;
pub const VERSION: u8 = 1;
pub const HEADER_LEN: usize = 8;
pub const PAGE_SIZE: usize = 32 * 1024;
pub const FRAG_HEADER: usize = 7;

pub const FRAG_PAD: u8 = 0;
pub const FRAG_FULL: u8 = 1;
pub const FRAG_FIRST: u8 = 2;
pub const FRAG_MIDDLE: u8 = 3;
pub const FRAG_LAST: u8 = 4;

pub fn header() -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..4].copy_from_slice(&MAGIC.to_be_bytes());
    h[4] = VERSION;
    h
}

pub fn segment_name(n: u64) -> String {
    format!("{n:08}")
}

pub fn segment_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(segment_name(n))
}

/// Segment numbers in `dir`, ascending. Other files are ignored.
pub fn list_segments(dir: &Path) -> Result<Vec<u64>> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(Error::io("read dir", dir, e)),
    };
    for e in entries {
        let e = e.map_err(|e| Error::io("read dir", dir, e))?;
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.len() == 8
            && name.bytes().all(|b| b.is_ascii_digit())
            && let Ok(n) = name.parse()
        {
            out.push(n);
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// The newest `checkpoint.NNNNNNNN` directory in `dir`, with its number.
pub fn last_checkpoint(dir: &Path) -> Result<Option<(u64, PathBuf)>> {
    let mut best: Option<(u64, PathBuf)> = None;
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("read dir", dir, e)),
    };
    for e in entries {
        let e = e.map_err(|e| Error::io("read dir", dir, e))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(n) = name.strip_prefix("checkpoint.")
            && n.len() == 8
            && let Ok(n) = n.parse::<u64>()
            && best.as_ref().is_none_or(|b| n > b.0)
        {
            best = Some((n, e.path()));
        }
    }
    Ok(best)
}

/// Checks that `numbers` has no gaps; a gap means a lost segment.
pub fn check_contiguous(dir: &Path, numbers: &[u64]) -> Result<()> {
    for w in numbers.windows(2) {
        if w[1] != w[0] + 1 {
            return Err(Error::corruption(
                segment_path(dir, w[0] + 1),
                0,
                format!(
                    "segment {} is missing (found {} then {})",
                    w[0] + 1,
                    w[0],
                    w[1]
                ),
            ));
        }
    }
    Ok(())
}
