//! Storage footprint on realistic data (not a criterion bench: it measures
//! bytes, not time).
//!
//! What is measured, for `SERIES` series × `SAMPLES` samples at 15 s from
//! `almanac::datagen` (node-exporter and HTTP-service shaped data):
//! - head memory per series: growth of the process RSS while the head is
//!   filled, divided by the series count, minus the chunk bytes (so it is
//!   the cost of a series beyond its samples), and chunk bytes per sample;
//! - bytes per sample on disk: the head written out as one block
//!   (index + chunks) divided by the number of samples.
//!
//! Run: `cargo bench --bench storage_footprint` (env `SERIES`, `SAMPLES`
//! override the defaults of 20000 × 240).

use std::sync::Arc;

use almanac::datagen::{Fleet, GenOptions};
use tsdb::block::{BlockPlan, write_block};
use tsdb::head::{Head, HeadOptions, RangeHead};
use tsdb::model::SeriesRef;
use tsdb::querier::BlockReader;

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let series = env_usize("SERIES", 20_000);
    let samples = env_usize("SAMPLES", 240);
    let mut fleet = Fleet::new(GenOptions {
        series,
        ..GenOptions::default()
    });
    let labels = fleet.labels();

    // The bench's own series references are allocated before measuring.
    // (pushed one by one, so its pages are touched before measuring).
    let mut refs: Vec<Option<SeriesRef>> = Vec::with_capacity(series);
    (0..series).for_each(|_| refs.push(None));
    let rss0 = rss_bytes();
    let head = Head::new(HeadOptions {
        chunk_range: i64::MAX / 4,
        ..HeadOptions::default()
    });
    let (mut mint, mut maxt) = (i64::MAX, i64::MIN);
    for _ in 0..samples {
        let mut app = head.appender();
        fleet.scrape(|i, t, v| {
            mint = mint.min(t);
            maxt = maxt.max(t);
            match refs[i] {
                Some(r) => app.append_ref(r, t, v).expect("append"),
                None => refs[i] = Some(app.append(&labels[i], t, v).expect("append")),
            }
        });
        app.commit();
    }
    drop(labels);
    let rss1 = rss_bytes();
    let stats = head.stats();
    let total_samples = (series * samples) as f64;

    let dir = tempfile::tempdir().expect("tempdir");
    let rh: Arc<dyn BlockReader> = Arc::new(RangeHead::new(head.clone(), mint, maxt));
    let plan = BlockPlan {
        min_time: mint,
        max_time: maxt + 1,
        level: 1,
        sources: vec![],
        parents: vec![],
    };
    let meta = write_block(dir.path(), vec![rh], plan)
        .expect("write")
        .expect("block");
    let bdir = dir.path().join(&meta.ulid);
    let index = std::fs::metadata(bdir.join("index"))
        .map(|m| m.len())
        .unwrap_or(0);
    let chunks: u64 = std::fs::read_dir(bdir.join("chunks"))
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0);

    let grown = rss1.saturating_sub(rss0) as f64;
    println!("storage_footprint: {series} series x {samples} samples = {total_samples} samples");
    println!(
        "  head: {} chunks, chunk bytes {:.3} B/sample",
        stats.num_chunks,
        stats.chunk_bytes as f64 / total_samples
    );
    println!(
        "  head RSS growth {:.1} MiB = {:.0} B/series, {:.0} B/series beyond chunk bytes",
        grown / 1048576.0,
        grown / series as f64,
        (grown - stats.chunk_bytes as f64) / series as f64
    );
    println!(
        "  block: index {} B + chunks {} B = {:.3} B/sample (index {:.3}, chunks {:.3})",
        index,
        chunks,
        (index + chunks) as f64 / total_samples,
        index as f64 / total_samples,
        chunks as f64 / total_samples
    );
}
