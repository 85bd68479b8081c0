//! A block's `tombstones` file: deleted intervals per series id.
//!
//! ```text
//! ┌────────────────────┬──────────────┬──────────────────┬──────────────────────────────────────────┬────────────┐
//! │ magic "ALTS" 4B BE │ version 1 1B │ count <uvarint>  │ (series id uvarint, mint varint,         │ CRC32 4B BE│
//! │                    │              │                  │  maxt varint) × count                    │ of all before│
//! └────────────────────┴──────────────┴──────────────────┴──────────────────────────────────────────┴────────────┘
//! ```
//! A missing file means no tombstones.

use std::collections::HashMap;
use std::path::Path;

use crate::encoding::{Decbuf, put_uvarint, put_varint};
use crate::error::{Error, Result};
use crate::tombstones::Intervals;

const MAGIC: u32 = 0x414C_5453;
const VERSION: u8 = 1;
pub const FILE_NAME: &str = "tombstones";

pub type Tombstones = HashMap<u32, Intervals>;

pub fn write(dir: &Path, ts: &Tombstones) -> Result<()> {
    let mut b = Vec::new();
    b.extend_from_slice(&MAGIC.to_be_bytes());
    b.push(VERSION);
    let mut ids: Vec<&u32> = ts.keys().collect();
    ids.sort();
    let count: usize = ts.values().map(|iv| iv.as_slice().len()).sum();
    put_uvarint(&mut b, count as u64);
    for id in ids {
        for &(a, z) in ts[id].as_slice() {
            put_uvarint(&mut b, u64::from(*id));
            put_varint(&mut b, a);
            put_varint(&mut b, z);
        }
    }
    let crc = crc32fast::hash(&b);
    b.extend_from_slice(&crc.to_be_bytes());
    let tmp = dir.join("tombstones.tmp");
    crate::fsutil::write_durably(&tmp, &b)?;
    let path = dir.join(FILE_NAME);
    std::fs::rename(&tmp, &path).map_err(|e| Error::io("rename", &path, e))?;
    crate::fsutil::sync_dir(dir)
}

pub fn read(dir: &Path) -> Result<Tombstones> {
    let path = dir.join(FILE_NAME);
    let b = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Tombstones::new()),
        Err(e) => return Err(Error::io("read", &path, e)),
    };
    let corrupt = |off: usize, what: &str| Error::corruption(&path, off as u64, what.to_string());
    if b.len() < 9 || b[..4] != MAGIC.to_be_bytes() {
        return Err(corrupt(0, "bad tombstones header"));
    }
    if b[4] != VERSION {
        return Err(corrupt(4, "unsupported tombstones version"));
    }
    let (body, crc) = b.split_at(b.len() - 4);
    if crc32fast::hash(body) != u32::from_be_bytes([crc[0], crc[1], crc[2], crc[3]]) {
        return Err(corrupt(body.len(), "tombstones checksum mismatch"));
    }
    let mut d = Decbuf::new(&body[5..]);
    let e = |e: crate::encoding::DecodeError| corrupt(5 + e.offset, e.what);
    let n = d.uvarint("count").map_err(e)?;
    let mut out = Tombstones::new();
    for _ in 0..n {
        let id = d.uvarint("series id").map_err(e)?;
        let a = d.varint("mint").map_err(e)?;
        let z = d.varint("maxt").map_err(e)?;
        let id = u32::try_from(id).map_err(|_| corrupt(5 + d.position(), "series id too large"))?;
        out.entry(id).or_default().add(a, z);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_missing_and_damaged() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read(dir.path()).unwrap().is_empty());
        let mut ts = Tombstones::new();
        ts.entry(3).or_default().add(10, 20);
        ts.entry(3).or_default().add(30, 40);
        ts.entry(7).or_default().add(i64::MIN, i64::MAX);
        write(dir.path(), &ts).unwrap();
        assert_eq!(read(dir.path()).unwrap(), ts);
        let p = dir.path().join(FILE_NAME);
        let mut b = std::fs::read(&p).unwrap();
        b[6] ^= 1;
        std::fs::write(&p, b).unwrap();
        assert!(
            read(dir.path())
                .unwrap_err()
                .to_string()
                .contains("checksum")
        );
    }
}
