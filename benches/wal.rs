//! WAL throughput.
//!
//! What is measured: appending `Samples` records of 1000 samples (samples/s)
//! with no fsync and with an fsync per record, and reading plus decoding
//! such records back (replay, samples/s).
//!
//! Run: `cargo bench --bench wal -- --warm-up-time 1 --measurement-time 3`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tsdb::wal::{Record, SampleRecord, SyncPolicy, Wal, WalOptions, WalReader};

const PER_RECORD: usize = 1000;

fn samples_record(batch: usize) -> Vec<u8> {
    let samples = (0..PER_RECORD)
        .map(|i| SampleRecord {
            series_ref: i as u64 + 1,
            t: batch as i64 * 15_000,
            v: (batch * 7 + i) as f64,
        })
        .collect();
    let mut b = Vec::new();
    Record::Samples(samples).encode(&mut b);
    b
}

fn append(c: &mut Criterion) {
    let mut g = c.benchmark_group("wal_append");
    g.throughput(Throughput::Elements(PER_RECORD as u64));
    for (name, sync) in [
        ("no_fsync", SyncPolicy::Never),
        ("fsync_each", SyncPolicy::Always),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let (wal, _) = Wal::open(
            dir.path(),
            WalOptions {
                sync,
                ..WalOptions::default()
            },
        )
        .expect("open");
        let rec = samples_record(1);
        g.bench_function(name, |b| b.iter(|| wal.log_and_sync(&[&rec]).expect("log")));
    }
    g.finish();
}

fn replay(c: &mut Criterion) {
    const RECORDS: usize = 500;
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let (wal, _) = Wal::open(
            dir.path(),
            WalOptions {
                sync: SyncPolicy::Never,
                ..WalOptions::default()
            },
        )
        .expect("open");
        for i in 0..RECORDS {
            wal.log(&[&samples_record(i)]).expect("log");
        }
        wal.close().expect("close");
    }
    let mut g = c.benchmark_group("wal_replay");
    g.throughput(Throughput::Elements((RECORDS * PER_RECORD) as u64));
    g.sample_size(20);
    g.bench_function("decode_samples", |b| {
        b.iter(|| {
            let mut r = WalReader::open(dir.path()).expect("reader");
            let mut n = 0;
            while let Some(rec) = r.next_record().expect("read") {
                if let Record::Samples(s) = Record::decode(rec).expect("decode") {
                    n += s.len();
                }
            }
            n
        })
    });
    g.finish();
}

criterion_group!(benches, append, replay);
criterion_main!(benches);
