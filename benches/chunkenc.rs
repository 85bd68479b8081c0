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
//!
//! `histogram/…`: a native-histogram chunk of 120 latency histograms
//! (schema 3, about 40 buckets, [`HistogramFleet`]): `encode` appends them
//! (the head's append path), `decode` is the query path's read into a
//! sample buffer (float histograms); criterion's elements/s are histogram
//! samples/s.
//!
//! `aggregate/decode/…`: decoding a downsampling tier's aggregate chunk of
//! 288 buckets (what a tier block holds per series and window), the tier
//! query path's call: an integer counter at 1h (12 days of 15 s samples;
//! no sum) and a 2-decimal gauge at 5m (one day); criterion's elements/s
//! are buckets/s.
//!
//! Run: `cargo bench --bench chunkenc -- --warm-up-time 1 --measurement-time 3`

use almanac::datagen::Rng;
use almanac::hist_gen::HistogramFleet;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tsdb::chunkenc::histogram::{HistogramAppender, ResetHeader};
use tsdb::chunkenc::{BlockChunkEncoder, Encoding, XorAppender, decode_range};
use tsdb::downsample::chunk as aggregate;
use tsdb::downsample::{Columns, Point, Summary, summarize};
use tsdb::model::{Sample, SampleBuf};

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

    let mut g = c.benchmark_group("histogram");
    g.throughput(Throughput::Elements(120));
    let mut fleet = HistogramFleet::new(1, 7);
    let mut hists = Vec::with_capacity(120);
    for i in 0..120i64 {
        fleet.scrape(|_, h| hists.push((1_700_000_000_000 + i * 15_000, h)));
    }
    g.bench_function("encode/latency", |b| {
        b.iter(|| {
            let mut a = HistogramAppender::new(ResetHeader::Unknown);
            for (t, h) in &hists {
                a.append(*t, h);
            }
            a.num_samples()
        })
    });
    let mut a = HistogramAppender::new(ResetHeader::Unknown);
    for (t, h) in &hists {
        a.append(*t, h);
    }
    let bytes = a.bytes();
    let mut buf = SampleBuf::new();
    g.bench_function("decode/latency", |b| {
        b.iter(|| {
            buf.clear();
            Encoding::Histogram.read_into(&bytes, i64::MIN, i64::MAX, &mut buf);
            buf.len()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("aggregate");
    g.throughput(Throughput::Elements(288));
    let mut rng = Rng::new(11);
    let (mut r, mut v) = (123_456.0f64, 50.0f64);
    let (mut counter, mut gauge) = (Vec::new(), Vec::new());
    for i in 1..=12 * 5760i64 {
        r += (rng.uniform(0.5, 1.5) * 300.0).floor();
        counter.push(Point::new(i * 15_000, r, 0));
        if i <= 5760 {
            v += rng.gauss(0.3);
            gauge.push(Point::new(i * 15_000, (v * 100.0).round() / 100.0, 0));
        }
    }
    let mut hourly = summarize(counter, 3_600_000, Columns::default());
    hourly.iter_mut().for_each(Summary::drop_sum);
    let five = summarize(gauge, 300_000, Columns::default());
    for (name, res, buckets) in [
        ("counter_1h", 3_600_000, hourly),
        ("gauge_5m", 300_000, five),
    ] {
        let mut bytes = Vec::new();
        aggregate::encode(res, &buckets, &mut bytes).expect("valid summaries");
        let mut out: Vec<Summary> = Vec::with_capacity(buckets.len());
        g.bench_function(format!("decode/{name}"), |b| {
            b.iter(|| {
                out.clear();
                aggregate::decode_range(&bytes, i64::MIN, i64::MAX, &mut out).expect("decodes");
                out.len()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
