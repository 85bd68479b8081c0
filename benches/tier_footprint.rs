//! Downsampling tiers' footprint on realistic data (not a criterion bench:
//! it measures bytes and memory, not time).
//!
//! `SERIES` series (default 1000) of `almanac::datagen` (the built-in
//! imitation of the lab generator: node-exporter and HTTP-service series at
//! 15 s) for `DAYS` days (default 12, the span of one hourly tier block):
//! - raw: one block per UTC day, as compaction keeps them;
//! - 5m tier: one tier block per day (its block span), built from the raw
//!   blocks;
//! - 1h tier: one tier block over all days, built from the 5m blocks;
//!
//! and prints each tier's bytes (index + chunks + meta) against the raw
//! bytes of the same range, and the process's RSS growth while
//! downsampling (sampled every 5 ms).
//!
//! Run: `cargo bench --bench tier_footprint` (env `SERIES`, `DAYS`,
//! `COLUMNS` for the optional columns, and
//! `BLOCK_HOURS` to shorten the "days": `SERIES=1000000 DAYS=1
//! BLOCK_HOURS=1` measures the memory of downsampling a million series).
//! `HISTOGRAMS=1` writes `almanac::hist_gen`'s native histogram counters
//! (latency histograms of about 57 buckets, integer counts) instead: the
//! tiers then hold histogram aggregate chunks.

use almanac::bench_env::{env_usize, rss_bytes};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use almanac::datagen::{Fleet, GenOptions};
use almanac::hist_gen::HistogramFleet;
use tsdb::block::{Block, BlockPlan, write_block};
use tsdb::downsample::blocks::{TierPlan, write_tier_block};
use tsdb::downsample::{Columns, CounterSuffixes};
use tsdb::model::histogram::HistogramValue;
use tsdb::model::{Labels, SeriesRef};
use tsdb::querier::BlockReader;
use tsdb::{Head, HeadOptions, RangeHead};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// Runs `f` while a thread samples the RSS; returns `f`'s result and the
/// largest RSS growth seen.
fn peak_growth<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let base = rss_bytes();
    let peak = Arc::new(AtomicU64::new(base));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(rss_bytes(), Ordering::Relaxed);
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        })
    };
    let out = f();
    done.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    (out, peak.load(Ordering::Relaxed).saturating_sub(base))
}

/// The optional columns: env `COLUMNS` (comma-separated `stddev`,
/// `deriv`), none by default.
fn columns() -> Columns {
    let names = std::env::var("COLUMNS").unwrap_or_default();
    let names: Vec<&str> = names.split(',').filter(|n| !n.is_empty()).collect();
    Columns::from_names(&names).expect("COLUMNS: stddev, deriv")
}

fn readers(blocks: &[Arc<Block>]) -> Vec<Arc<dyn BlockReader>> {
    blocks
        .iter()
        .map(|b| b.clone() as Arc<dyn BlockReader>)
        .collect()
}

fn main() {
    let (series, days) = (env_usize("SERIES", 1000), env_usize("DAYS", 12) as i64);
    // The span of a raw block and of a 5m tier block (a day by default).
    let day = env_usize("BLOCK_HOURS", 24) as i64 * HOUR;
    let start = 1_700_000_000_000i64.div_euclid(DAY) * DAY;
    let histograms = env_usize("HISTOGRAMS", 0) == 1;
    let mut fleet = Fleet::new(GenOptions {
        series,
        start_ms: start,
        ..GenOptions::default()
    });
    let mut hists = HistogramFleet::new(series, 7);
    let labels = if histograms {
        (0..series)
            .map(|i| Labels::from_pairs(&[("__name__", "latency"), ("i", &i.to_string())]))
            .collect()
    } else {
        fleet.labels()
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let (raw_dir, tier_dir) = (dir.path().join("raw"), dir.path().join("tiers"));
    std::fs::create_dir_all(&raw_dir).expect("mkdir");
    std::fs::create_dir_all(&tier_dir).expect("mkdir");

    // Raw: one block per day.
    let mut raw = Vec::new();
    let scrapes_per_day = day / 15_000;
    for d in 0..days {
        let head = Head::new(HeadOptions {
            chunk_range: i64::MAX / 4,
            ..HeadOptions::default()
        });
        let mut refs: Vec<Option<SeriesRef>> = vec![None; series];
        for k in 0..scrapes_per_day {
            let mut app = head.appender();
            if histograms {
                let t = start + d * day + k * 15_000;
                hists.scrape(|i, h| {
                    app.append_histogram(&labels[i], t, HistogramValue::Int(h))
                        .expect("append histogram");
                });
            } else {
                fleet.scrape(|i, t, v| match refs[i] {
                    Some(r) => {
                        app.append_ref(r, t, v).expect("append");
                    }
                    None => refs[i] = Some(app.append(&labels[i], t, v).expect("append")),
                });
            }
            app.commit();
        }
        let (lo, hi) = (start + d * day, start + (d + 1) * day);
        let rh: Arc<dyn BlockReader> = Arc::new(RangeHead::new(head.clone(), lo, hi - 1));
        let plan = BlockPlan {
            min_time: lo,
            max_time: hi,
            level: 1,
            sources: vec![],
            parents: vec![],
        };
        let meta = write_block(&raw_dir, vec![rh], plan)
            .expect("write")
            .expect("block");
        raw.push(Arc::new(
            Block::open(&raw_dir.join(&meta.ulid)).expect("open"),
        ));
    }
    let raw_bytes: u64 = raw.iter().map(|b| b.size()).sum();
    let samples = series as u64 * (days * scrapes_per_day) as u64;

    // 5m: a block per day from the raw blocks (the day's last bucket
    // takes its sample at the next day's first millisecond, as the
    // downsampler's windows do).
    let (five, five_peak) = peak_growth(|| {
        let mut out = Vec::new();
        for d in 0..days {
            let (lo, hi) = (start + d * day, start + (d + 1) * day);
            let plan = TierPlan {
                resolution: 5 * MINUTE,
                lo,
                hi,
                source_resolution: 0,
                sources: vec![],
                parents: vec![],
                counters: CounterSuffixes::default(),
                columns: columns(),
            };
            let meta = write_tier_block(&tier_dir, readers(&raw), &plan)
                .expect("write")
                .expect("tier block");
            out.push(Arc::new(
                Block::open(&tier_dir.join(&meta.ulid)).expect("open"),
            ));
        }
        out
    });
    let five_bytes: u64 = five.iter().map(|b| b.size()).sum();
    // 1h: one block over every day, from the 5m blocks.
    let plan = TierPlan {
        resolution: HOUR,
        lo: start,
        hi: start + days * day,
        source_resolution: 5 * MINUTE,
        sources: vec![],
        parents: vec![],
        counters: CounterSuffixes::default(),
        columns: columns(),
    };
    let (hourly, hour_peak) = peak_growth(|| {
        write_tier_block(&tier_dir, readers(&five), &plan)
            .expect("write")
            .expect("tier block")
    });
    let hour_bytes = Block::open(&tier_dir.join(&hourly.ulid))
        .expect("open")
        .size();

    println!("tier_footprint: {series} series x {days} days at 15 s = {samples} samples");
    println!(
        "  raw: {days} daily blocks, {raw_bytes} bytes ({:.3} B/sample)",
        raw_bytes as f64 / samples as f64
    );
    println!(
        "  5m tier: {days} daily blocks, {five_bytes} bytes = {:.1}% of raw (aim <= 25%); RSS growth while building {:.1} MiB",
        100.0 * five_bytes as f64 / raw_bytes as f64,
        five_peak as f64 / 1048576.0
    );
    println!(
        "  1h tier: one block, {hour_bytes} bytes = {:.2}% of raw (aim <= 3%); RSS growth while building {:.1} MiB",
        100.0 * hour_bytes as f64 / raw_bytes as f64,
        hour_peak as f64 / 1048576.0
    );
}
