//! Series creation latency in a head holding 1k series and in one holding
//! 1M, with every cardinality limit on and with none: the p50 and p99 of
//! creating one new series (its own batch: append, commit), and their
//! ratio. Admission counts what it needs from the label index without
//! walking it; what grows with the head is the rest of creation (hash
//! map, label index, interning), which the limits-off run shows.
//!
//! Method: the process keeps the memory it frees (glibc's trimming off)
//! and warms up on 1M-series heads until one is built and timed without
//! a page fault, so that every measured head runs on memory the process
//! already holds. The kernel's cost of handing out fresh pages is the
//! same per page at any head size, and it swamped the tail (a fault in
//! one creation in four on fresh memory); the warm-up runs print it.
//! Each configuration is then timed in [`ROUNDS`] interleaved rounds and
//! the median of each percentile is reported.
//!
//! Run: `cargo bench --bench series_creation` (about 1.5 GiB of memory
//! for the 1M-series head, three minutes).

use std::time::Instant;

use almanac::bench_series::{all_limits, http_labels};
use tsdb::limits::Limits;
use tsdb::model::Labels;
use tsdb::{Head, HeadOptions};

/// New series timed per head.
const SAMPLES: usize = 20_000;
/// Interleaved 1k/1M rounds per limits configuration.
const ROUNDS: usize = 3;
/// Warm-up heads at most, should the page faults never stop.
const MAX_WARMUPS: usize = 4;

/// One timed run: percentiles in microseconds and the minor page faults
/// taken during the timed creations.
struct Run {
    p50: f64,
    p99: f64,
    faults: i64,
}

/// Minor page faults of this process so far.
fn minor_faults() -> i64 {
    // SAFETY: getrusage writes into the zeroed struct it is given.
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage.ru_minflt
    }
}

/// Keep freed memory in the process: no trimming of the heap's top and
/// no separate mappings below 32 MiB, so a later head reuses the pages an
/// earlier one faulted in.
fn keep_freed_memory() {
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt only sets allocator tunables; called before any
    // benchmark thread exists.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
    }
}

/// Times creating [`SAMPLES`] series one at a time into a head already
/// holding `existing`, under `limits`.
fn creation_latency(existing: usize, limits: &Limits) -> Run {
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
    let faults_before = minor_faults();
    for l in &new {
        let start = Instant::now();
        let mut app = head.appender();
        app.append(l, 0, 0.0).expect("create");
        app.commit();
        lat.push(start.elapsed().as_secs_f64() * 1e6);
    }
    let faults = minor_faults() - faults_before;
    lat.sort_by(f64::total_cmp);
    let at = |q: f64| lat[((lat.len() - 1) as f64 * q) as usize];
    Run {
        p50: at(0.5),
        p99: at(0.99),
        faults,
    }
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() {
    keep_freed_memory();
    for warmup in 1..=MAX_WARMUPS {
        let run = creation_latency(1_000_000, &Limits::default());
        println!(
            "warm-up {warmup}, head with 1M series: p50 {:.2} µs, p99 {:.2} µs, {} page faults",
            run.p50, run.p99, run.faults
        );
        if run.faults == 0 {
            break;
        }
    }
    for (name, limits) in [("off", Limits::default()), ("on", all_limits())] {
        let (mut small, mut big) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            small.push(creation_latency(1_000, &limits));
            big.push(creation_latency(1_000_000, &limits));
        }
        for (size, runs) in [("1k", &small), ("1M", &big)] {
            let p99s: Vec<String> = runs.iter().map(|r| format!("{:.2}", r.p99)).collect();
            let faults: i64 = runs.iter().map(|r| r.faults).sum();
            println!(
                "limits {name}, head with {size} series: p99 per round {} µs, {faults} page faults",
                p99s.join(", ")
            );
        }
        let p = |runs: &[Run], f: fn(&Run) -> f64| median(runs.iter().map(f).collect());
        let (s50, s99, b50, b99) = (
            p(&small, |r| r.p50),
            p(&small, |r| r.p99),
            p(&big, |r| r.p50),
            p(&big, |r| r.p99),
        );
        println!(
            "limits {name}, medians: 1k p50 {s50:.2} µs p99 {s99:.2} µs; 1M p50 {b50:.2} µs p99 {b99:.2} µs; ratio 1M/1k p50 {:.2}, p99 {:.2}",
            b50 / s50,
            b99 / s99
        );
    }
}
