//! XOR and decimal chunk encode and decode speed.
//!
//! What is measured: encoding and decoding 120-sample chunks (ns/sample is
//! the time divided by 120; criterion also prints samples/s) in both
//! encodings (`xor/…`, `decimal/…`) for four value shapes at regular 15 s
//! timestamps: a counter with noisy increments rounded to 2 decimals, a
//! 2-decimal gauge random walk, an integer counter (requests) and a
//! constant. `decimal/encode` is the block writer's choice work: it encodes
//! XOR and decimal and keeps the smaller ([`BlockChunkEncoder`]). Decoding
//! is `decode_range` over the whole chunk, the query path's call.
//!
//! Run: `cargo bench --bench chunkenc -- --warm-up-time 1 --measurement-time 3`

use almanac::datagen::Rng;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tsdb::chunkenc::{BlockChunkEncoder, Encoding, XorAppender, decode_range};
use tsdb::model::Sample;

fn shapes() -> Vec<(&'static str, Vec<(i64, f64)>)> {
    let mut rng = Rng::new(7);
    let ts = |i: i64| 1_700_000_000_000 + i * 15_000;
    let mut c = 1_000.0;
    let counter = (0..120)
        .map(|i| {
            c += rng.uniform(0.5, 1.5) * 15.0;
            (ts(i), (c * 100.0f64).round() / 100.0)
        })
        .collect();
    let mut g = 50.0;
    let gauge = (0..120)
        .map(|i| {
            g += rng.gauss(0.3);
            (ts(i), (g * 100.0f64).round() / 100.0)
        })
        .collect();
    let mut r = 123_456.0;
    let requests = (0..120)
        .map(|i| {
            r += (rng.uniform(0.5, 1.5) * 300.0).floor();
            (ts(i), r)
        })
        .collect();
    let constant = (0..120).map(|i| (ts(i), 1.0)).collect();
    vec![
        ("counter", counter),
        ("gauge", gauge),
        ("requests", requests),
        ("constant", constant),
    ]
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("xor");
    g.throughput(Throughput::Elements(120));
    for (name, samples) in shapes() {
        g.bench_function(format!("encode/{name}"), |b| {
            b.iter(|| {
                let mut a = XorAppender::new();
                for &(t, v) in &samples {
                    a.append(t, v);
                }
                a.num_samples()
            })
        });
        let mut a = XorAppender::new();
        for &(t, v) in &samples {
            a.append(t, v);
        }
        let bytes = a.to_bytes();
        let mut out: Vec<Sample> = Vec::with_capacity(120);
        g.bench_function(format!("decode/{name}"), |b| {
            b.iter(|| {
                out.clear();
                decode_range(&bytes, i64::MIN, i64::MAX, &mut out);
                out.len()
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("decimal");
    g.throughput(Throughput::Elements(120));
    for (name, samples) in shapes() {
        let samples: Vec<Sample> = samples.iter().map(|&(t, v)| Sample::new(t, v)).collect();
        let mut enc = BlockChunkEncoder::new();
        g.bench_function(format!("encode/{name}"), |b| {
            b.iter(|| enc.encode(&samples).1.len())
        });
        let (encoding, bytes) = enc.encode(&samples);
        assert_eq!(encoding, Encoding::Decimal, "{name} is smaller as decimal");
        let bytes = bytes.to_vec();
        let mut out: Vec<Sample> = Vec::with_capacity(120);
        g.bench_function(format!("decode/{name}"), |b| {
            b.iter(|| {
                out.clear();
                Encoding::Decimal.decode_range(&bytes, i64::MIN, i64::MAX, &mut out);
                out.len()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
