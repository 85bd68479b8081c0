//! Encoding, compressing and filtering a block's chunks, spread over the
//! machine's cores: each chunk is independent, so a flush takes about
//! 1/cores of the time on an idle machine.

use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;

use super::{ZSTD_LEVEL, bloom, chunk};
use crate::model::Entry;

/// One chunk ready to write.
pub struct Packed {
    pub compressed: Vec<u8>,
    pub raw_len: usize,
    pub filter: Vec<u8>,
}

/// Packs every part, in order, on up to `threads` threads.
pub fn pack_all(parts: &[&[Entry]], threads: usize) -> std::io::Result<Vec<Packed>> {
    let next = AtomicUsize::new(0);
    let out: Vec<Mutex<Option<std::io::Result<Packed>>>> =
        parts.iter().map(|_| Mutex::new(None)).collect();
    let work = || -> std::io::Result<()> {
        let mut z = zstd::bulk::Compressor::new(ZSTD_LEVEL)?;
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(part) = parts.get(i) else {
                return Ok(());
            };
            *out[i].lock() = Some(pack(&mut z, part));
        }
    };
    let threads = threads.clamp(1, parts.len().max(1));
    std::thread::scope(|s| {
        let helpers: Vec<_> = (1..threads).map(|_| s.spawn(work)).collect();
        let mine = work();
        helpers
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(std::io::Error::other("chunk packer panicked")))
            })
            .chain([mine])
            .collect::<std::io::Result<Vec<()>>>()
    })?;
    out.into_iter()
        .map(|m| {
            m.into_inner()
                .unwrap_or_else(|| Err(std::io::Error::other("chunk not packed")))
        })
        .collect()
}

fn pack(z: &mut zstd::bulk::Compressor<'_>, part: &[Entry]) -> std::io::Result<Packed> {
    let raw = chunk::encode(part);
    let compressed = z.compress(&raw)?;
    let mut filter = bloom::Builder::new(part.iter().map(|e| e.line.len()).sum());
    for e in part {
        filter.add(e.line.as_bytes());
    }
    Ok(Packed {
        compressed,
        raw_len: raw.len(),
        filter: filter.finish(),
    })
}
