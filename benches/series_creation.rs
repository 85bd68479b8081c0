//! Series creation latency in a head holding 1k series and in one holding
//! 1M, with every cardinality limit on and with none: the p50 and p99 of
//! creating one new series (its own batch: append, commit), and their
//! ratio. Admission counts what it needs from the label index without
//! walking it; what grows with the head is the rest of creation (hash
//! map, label index, interning), which the limits-off run shows.
//!
//! Run: `cargo bench --bench series_creation` (about 1.5 GiB of memory
//! for the 1M-series head).

use std::time::Instant;

use almanac::bench_series::{all_limits, http_labels};
use tsdb::limits::Limits;
use tsdb::model::Labels;
use tsdb::{Head, HeadOptions};

/// New series timed per head size.
const SAMPLES: usize = 20_000;

/// (p50, p99) in microseconds of creating [`SAMPLES`] series one at a
/// time into a head already holding `existing`, under `limits`.
fn creation_latency(existing: usize, limits: &Limits) -> (f64, f64) {
    let head = Head::new(HeadOptions {
        limits: limits.clone(),
        ..HeadOptions::default()
    });
    for chunk in (0..existing).collect::<Vec<_>>().chunks(10_000) {
        let mut app = head.appender();
        for &i in chunk {
            app.append(&http_labels(i, true), 0, 0.0).expect("fill");
        }
        app.commit();
    }
    let new: Vec<Labels> = (existing..existing + SAMPLES)
        .map(|i| http_labels(i, true))
        .collect();
    let mut lat: Vec<f64> = Vec::with_capacity(SAMPLES);
    for l in &new {
        let start = Instant::now();
        let mut app = head.appender();
        app.append(l, 0, 0.0).expect("create");
        app.commit();
        lat.push(start.elapsed().as_secs_f64() * 1e6);
    }
    lat.sort_by(f64::total_cmp);
    let at = |q: f64| lat[((lat.len() - 1) as f64 * q) as usize];
    (at(0.5), at(0.99))
}

fn main() {
    // The first 1M-series head takes its memory from the OS (page
    // faults in the timed creations); build one and drop it first so
    // that every measured head reuses the allocator's memory alike.
    creation_latency(1_000_000, &Limits::default());
    for (name, limits) in [("off", Limits::default()), ("on", all_limits())] {
        let (small50, small99) = creation_latency(1_000, &limits);
        println!("limits {name}, head with 1k series: p50 {small50:.2} µs, p99 {small99:.2} µs");
        let (big50, big99) = creation_latency(1_000_000, &limits);
        println!("limits {name}, head with 1M series: p50 {big50:.2} µs, p99 {big99:.2} µs");
        println!(
            "limits {name}, ratio 1M/1k: p50 {:.2}, p99 {:.2}",
            big50 / small50,
            big99 / small99
        );
    }
}
