//! Codecs for log chunks, measured on the log-store bench's lines: each
//! stream's lines (20 apps × 10 pods, as `benches/log_store.rs` sends
//! them) encoded as the store encodes a chunk (about 1 MiB of lines), then
//! compressed with each candidate; prints the ratio to the raw lines and
//! the speed of one core, compressing and decompressing.
//!
//! Run: `cargo bench --bench log_codec`, with env `LOG_MB` (64 MB of
//! lines).

use std::time::Instant;

use almanac::bench_env::env_usize;
use almanac::log_gen::line;
use logs::block::chunk;
use logs::model::Entry;

const STREAMS: u64 = 200;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let mb = env_usize("LOG_MB", 64) as u64;
    // The bench's numbering: stream s gets lines s*200.. of every request.
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    let mut raw_lines = 0u64;
    let per_stream = (mb << 20) / STREAMS;
    for s in 0..STREAMS.min(8) {
        let mut entries = Vec::new();
        let mut bytes = 0u64;
        let mut r = 0u64;
        while bytes < per_stream * STREAMS / 8 {
            for k in 0..200u64 {
                let l = line((r * STREAMS + s) * 200 + k);
                bytes += l.len() as u64;
                entries.push(Entry::new((r * 200 + k) as i64 * 1000, l));
                if entries.iter().map(|e: &Entry| e.line.len()).sum::<usize>() >= 1 << 20 {
                    chunks.push(chunk::encode(&entries));
                    entries.clear();
                }
            }
            r += 1;
        }
        raw_lines += bytes;
        if !entries.is_empty() {
            chunks.push(chunk::encode(&entries));
        }
    }
    let payload: u64 = chunks.iter().map(|c| c.len() as u64).sum();
    println!(
        "{} chunks, {:.1} MB of lines, {:.1} MB of chunk payload (times, lengths, lines)",
        chunks.len(),
        raw_lines as f64 / 1e6,
        payload as f64 / 1e6
    );
    println!(
        "{:<10} {:>8} {:>10} {:>14} {:>16}",
        "codec", "ratio", "% of raw", "compress MB/s", "decompress MB/s"
    );
    let report =
        |name: &str, pack: &dyn Fn(&[u8]) -> Vec<u8>, unpack: &dyn Fn(&[u8], usize) -> Vec<u8>| {
            let t = Instant::now();
            let packed: Vec<Vec<u8>> = chunks.iter().map(|c| pack(c)).collect();
            let ct = t.elapsed().as_secs_f64();
            let t = Instant::now();
            for (p, c) in packed.iter().zip(&chunks) {
                assert_eq!(unpack(p, c.len()).len(), c.len());
            }
            let dt = t.elapsed().as_secs_f64();
            let size: u64 = packed.iter().map(|p| p.len() as u64).sum();
            println!(
                "{name:<10} {:>8.2} {:>9.2}% {:>14.0} {:>16.0}",
                raw_lines as f64 / size as f64,
                100.0 * size as f64 / raw_lines as f64,
                raw_lines as f64 / 1e6 / ct,
                raw_lines as f64 / 1e6 / dt
            );
        };
    report(
        "snappy",
        &|c| {
            snap::raw::Encoder::new()
                .compress_vec(c)
                .unwrap_or_default()
        },
        &|p, _| {
            snap::raw::Decoder::new()
                .decompress_vec(p)
                .unwrap_or_default()
        },
    );
    for level in [1, 3, 6, 9, 12] {
        report(
            &format!("zstd -{level}"),
            &|c| zstd::bulk::compress(c, level).unwrap_or_default(),
            &|p, n| zstd::bulk::decompress(p, n).unwrap_or_default(),
        );
    }
}
