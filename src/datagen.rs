//! A deterministic generator of realistic scrape data, for benchmarks,
//! storage-footprint measurements and end-to-end tests.
//!
//! It alternates two kinds of scrape target, as a fleet of node exporters
//! and HTTP services would produce: "node" targets (31 series: CPU-seconds
//! counters, load gauges, memory, network and disk counters, filesystem
//! gauges, `up`) and "api" targets (88 series: `http_requests_total` by
//! method/handler/code, a 12-bucket classic histogram per handler, process
//! gauges, `up`). Counters grow by noisy increments and reset together with
//! probability `reset_prob` per scrape; gauges are bounded random walks
//! rounded like real exporters round them. Each target scrapes at a fixed
//! random offset inside the interval, so timestamps are off the grid.
//! Everything derives from the seed: equal arguments give equal data.

use tsdb::model::Labels;

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenOptions {
    pub series: usize,
    pub seed: u64,
    pub interval_ms: i64,
    /// Timestamp of scrape 0 (before the per-target offset).
    pub start_ms: i64,
    pub reset_prob: f64,
}

impl Default for GenOptions {
    fn default() -> Self {
        GenOptions {
            series: 1000,
            seed: 42,
            interval_ms: 15_000,
            start_ms: 1_700_000_000_000,
            reset_prob: 0.002,
        }
    }
}

/// A small, fast, seedable PRNG (xoshiro256** seeded by splitmix64).
#[derive(Debug, Clone)]
pub struct Rng([u64; 4]);

impl Rng {
    pub fn new(seed: u64) -> Self {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Rng([next(), next(), next(), next()])
    }

    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.0;
        let out = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        out
    }

    /// Uniform in `[0, 1)`.
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.f64()
    }

    /// Normal with mean 0 and standard deviation `sd` (Box–Muller).
    pub fn gauss(&mut self, sd: f64) -> f64 {
        let u1 = self.f64().max(f64::MIN_POSITIVE);
        let u2 = self.f64();
        sd * (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

fn round_to(v: f64, decimals: i32) -> f64 {
    let p = 10f64.powi(decimals);
    (v * p).round() / p
}

/// How one series evolves.
#[derive(Debug, Clone)]
enum Kind {
    /// Increment `rate × interval × U(lo, hi)`, rounded to `decimals`
    /// (negative = whole units).
    Counter {
        rate: f64,
        lo: f64,
        hi: f64,
        decimals: i32,
    },
    /// Random walk with step `sd`, clamped, rounded to `decimals`.
    Gauge {
        sd: f64,
        min: f64,
        max: f64,
        decimals: i32,
    },
    Constant,
}

#[derive(Debug, Clone)]
struct SeriesState {
    labels: Labels,
    kind: Kind,
    value: f64,
}

/// One scrape target and its series.
#[derive(Debug, Clone)]
struct Target {
    rng: Rng,
    offset_ms: i64,
    series: Vec<SeriesState>,
    /// Histogram groups: indexes of cumulative bucket series (ascending `le`,
    /// `+Inf` last), then `_sum` and `_count`.
    histograms: Vec<Histogram>,
}

#[derive(Debug, Clone)]
struct Histogram {
    buckets: Vec<usize>,
    cdf: Vec<f64>,
    sum: usize,
    count: usize,
    rps: f64,
    mean: f64,
}

const CPU_MODES: &[(&str, f64)] = &[
    ("idle", 0.70),
    ("user", 0.15),
    ("system", 0.05),
    ("iowait", 0.02),
    ("irq", 0.001),
    ("softirq", 0.005),
    ("steal", 0.0),
    ("nice", 0.001),
];
const ROUTES: &[(&str, &str, f64)] = &[
    ("GET", "/api/v1/users", 20.0),
    ("POST", "/api/v1/users", 2.0),
    ("GET", "/api/v1/orders", 12.0),
    ("POST", "/api/v1/orders", 1.5),
    ("GET", "/healthz", 1.0),
];
const CODES: &[(&str, f64)] = &[("200", 0.97), ("404", 0.02), ("500", 0.01)];
const LE: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
const ZONES: &[&str] = &["eu-west-1a", "eu-west-1b", "eu-west-1c"];

/// Formats an `le` bound as exporters do (`0.005`, `1`, `2.5`).
fn fmt_le(b: f64) -> String {
    let s = format!("{b}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

impl Target {
    fn new(seed: u64, idx: usize, interval_ms: i64) -> Target {
        let mut rng = Rng::new(seed.wrapping_mul(1_000_003).wrapping_add(idx as u64));
        let offset_ms = rng.below(interval_ms as u64) as i64;
        Target {
            rng,
            offset_ms,
            series: Vec::new(),
            histograms: Vec::new(),
        }
    }

    fn add(
        &mut self,
        base: &[(&str, String)],
        name: &str,
        extra: &[(&str, &str)],
        kind: Kind,
        value: f64,
    ) -> usize {
        let mut pairs: Vec<(&str, &str)> = base.iter().map(|(n, v)| (*n, v.as_str())).collect();
        pairs.push(("__name__", name));
        pairs.extend_from_slice(extra);
        self.series.push(SeriesState {
            labels: Labels::from_pairs(&pairs),
            kind,
            value,
        });
        self.series.len() - 1
    }

    fn node(seed: u64, idx: usize, interval_ms: i64) -> Target {
        let mut t = Target::new(seed, idx, interval_ms);
        let base = vec![
            ("job", "node".to_string()),
            ("instance", format!("node-{idx:04}:9100")),
            (
                "env",
                if idx.is_multiple_of(5) {
                    "staging"
                } else {
                    "prod"
                }
                .to_string(),
            ),
            ("zone", ZONES[idx % ZONES.len()].to_string()),
        ];
        for cpu in ["0", "1"] {
            for &(mode, frac) in CPU_MODES {
                let rate = frac * t.rng.uniform(0.5, 1.5);
                let v = round_to(t.rng.uniform(1e4, 1e6) * frac, 2);
                let k = Kind::Counter {
                    rate,
                    lo: 0.8,
                    hi: 1.2,
                    decimals: 2,
                };
                t.add(
                    &base,
                    "node_cpu_seconds_total",
                    &[("cpu", cpu), ("mode", mode)],
                    k,
                    v,
                );
            }
        }
        let load = t.rng.uniform(0.1, 3.0);
        for (i, name) in ["node_load1", "node_load5", "node_load15"]
            .iter()
            .enumerate()
        {
            let k = Kind::Gauge {
                sd: 0.05 / (1.0 + 2.0 * i as f64),
                min: 0.0,
                max: 64.0,
                decimals: 2,
            };
            t.add(&base, name, &[], k, round_to(load, 2));
        }
        let total = [8.0, 16.0, 32.0, 64.0][t.rng.below(4) as usize] * 1024f64.powi(3);
        t.add(
            &base,
            "node_memory_MemTotal_bytes",
            &[],
            Kind::Constant,
            total,
        );
        let avail = (total * t.rng.uniform(0.2, 0.8)).floor();
        let k = Kind::Gauge {
            sd: total * 0.002,
            min: total * 0.05,
            max: total * 0.95,
            decimals: 0,
        };
        t.add(&base, "node_memory_MemAvailable_bytes", &[], k, avail);
        for (dev, scale) in [("eth0", 1e6), ("lo", 1e4)] {
            for name in [
                "node_network_receive_bytes_total",
                "node_network_transmit_bytes_total",
            ] {
                let rate = scale * t.rng.uniform(0.2, 5.0);
                let v = t.rng.uniform(1e9, 1e12).floor();
                let k = Kind::Counter {
                    rate,
                    lo: 0.5,
                    hi: 1.5,
                    decimals: 0,
                };
                t.add(&base, name, &[("device", dev)], k, v);
            }
        }
        for (dev, mp) in [("/dev/sda1", "/"), ("/dev/sdb1", "/data")] {
            let size = [50.0, 100.0, 500.0, 2000.0][t.rng.below(4) as usize] * 1024f64.powi(3);
            let fs = [("device", dev), ("fstype", "ext4"), ("mountpoint", mp)];
            let avail = ((size * t.rng.uniform(0.1, 0.9)) / 4096.0).floor() * 4096.0;
            let k = Kind::Gauge {
                sd: 1e6,
                min: 0.0,
                max: size,
                decimals: -12,
            };
            t.add(&base, "node_filesystem_avail_bytes", &fs, k, avail);
            t.add(
                &base,
                "node_filesystem_size_bytes",
                &fs,
                Kind::Constant,
                size,
            );
        }
        let rate = t.rng.uniform(0.01, 0.3);
        let v = round_to(t.rng.uniform(1e3, 1e5), 3);
        let k = Kind::Counter {
            rate,
            lo: 0.5,
            hi: 1.5,
            decimals: 3,
        };
        t.add(
            &base,
            "node_disk_io_time_seconds_total",
            &[("device", "sda")],
            k,
            v,
        );
        t.add(&base, "up", &[], Kind::Constant, 1.0);
        t
    }

    fn api(seed: u64, idx: usize, interval_ms: i64) -> Target {
        let mut t = Target::new(seed, idx + (1 << 20), interval_ms);
        let base = vec![
            ("job", "api".to_string()),
            ("instance", format!("api-{idx:04}:8080")),
            (
                "env",
                if idx.is_multiple_of(5) {
                    "staging"
                } else {
                    "prod"
                }
                .to_string(),
            ),
            ("zone", ZONES[idx % ZONES.len()].to_string()),
        ];
        for &(method, handler, rps) in ROUTES {
            let rps = rps * t.rng.uniform(0.3, 3.0);
            let uptime = t.rng.uniform(0.0, 86_400.0);
            for &(code, frac) in CODES {
                let v = (rps * frac * uptime).floor();
                let k = Kind::Counter {
                    rate: rps * frac,
                    lo: 0.5,
                    hi: 1.5,
                    decimals: 0,
                };
                t.add(
                    &base,
                    "http_requests_total",
                    &[("method", method), ("handler", handler), ("code", code)],
                    k,
                    v,
                );
            }
            let mu = t.rng.uniform(0.01, 0.2).ln();
            let sigma = t.rng.uniform(0.5, 1.2);
            let cdf: Vec<f64> = LE
                .iter()
                .map(|b| 0.5 * (1.0 + erf((b.ln() - mu) / (sigma * std::f64::consts::SQRT_2))))
                .collect();
            let n0 = (rps * uptime).floor();
            let mut buckets = Vec::new();
            for (i, b) in LE.iter().enumerate() {
                let le = fmt_le(*b);
                let v = (n0 * cdf[i]).floor();
                buckets.push(t.add(
                    &base,
                    "http_request_duration_seconds_bucket",
                    &[("method", method), ("handler", handler), ("le", &le)],
                    Kind::Constant,
                    v,
                ));
            }
            buckets.push(t.add(
                &base,
                "http_request_duration_seconds_bucket",
                &[("method", method), ("handler", handler), ("le", "+Inf")],
                Kind::Constant,
                n0,
            ));
            let mean = (mu + sigma * sigma / 2.0).exp();
            let sum = t.add(
                &base,
                "http_request_duration_seconds_sum",
                &[("method", method), ("handler", handler)],
                Kind::Constant,
                round_to(n0 * mean, 6),
            );
            let count = t.add(
                &base,
                "http_request_duration_seconds_count",
                &[("method", method), ("handler", handler)],
                Kind::Constant,
                n0,
            );
            t.histograms.push(Histogram {
                buckets,
                cdf,
                sum,
                count,
                rps,
                mean,
            });
        }
        let rss = (t.rng.uniform(50e6, 500e6) / 4096.0).floor() * 4096.0;
        let k = Kind::Gauge {
            sd: 2e6,
            min: 20e6,
            max: 2e9,
            decimals: -12,
        };
        t.add(&base, "process_resident_memory_bytes", &[], k, rss);
        let g = (20 + t.rng.below(380)) as f64;
        t.add(
            &base,
            "go_goroutines",
            &[],
            Kind::Gauge {
                sd: 5.0,
                min: 5.0,
                max: 1e6,
                decimals: 0,
            },
            g,
        );
        t.add(&base, "up", &[], Kind::Constant, 1.0);
        t
    }

    /// Advances every series by one scrape; `reset` zeroes the counters.
    fn step(&mut self, interval_s: f64, reset_prob: f64) {
        let reset = self.rng.f64() < reset_prob;
        let rng = &mut self.rng;
        for s in &mut self.series {
            match s.kind {
                Kind::Counter {
                    rate,
                    lo,
                    hi,
                    decimals,
                } => {
                    let inc = (rate * interval_s * rng.uniform(lo, hi)).max(0.0);
                    let v = if reset { inc } else { s.value + inc };
                    s.value = if decimals > 0 {
                        round_to(v, decimals)
                    } else {
                        v.floor()
                    };
                }
                Kind::Gauge {
                    sd,
                    min,
                    max,
                    decimals,
                } => {
                    let v = (s.value + rng.gauss(sd)).clamp(min, max);
                    s.value = match decimals {
                        -12 => (v / 4096.0).floor() * 4096.0,
                        d if d > 0 => round_to(v, d),
                        _ => v.round(),
                    };
                }
                Kind::Constant => {}
            }
        }
        for h in &self.histograms {
            let load = rng.uniform(0.7, 1.3);
            let n = (h.rps * interval_s * load * rng.uniform(0.9, 1.1)).floor();
            let jit = rng.uniform(0.8, 1.25);
            let f = 2.0 - jit;
            for (i, &b) in h.buckets.iter().enumerate() {
                let add = match h.cdf.get(i) {
                    Some(c) => (n * (c * f).min(1.0)).floor(),
                    None => n,
                };
                let s = &mut self.series[b];
                s.value = if reset { add } else { s.value + add };
            }
            let total = self.series[*h.buckets.last().unwrap_or(&h.count)].value;
            self.series[h.count].value = total;
            let sum = &mut self.series[h.sum];
            sum.value = round_to(if reset { 0.0 } else { sum.value } + n * h.mean * jit, 6);
        }
    }
}

/// Abramowitz–Stegun approximation of erf (max error 1.5e-7).
fn erf(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
    let y = 1.0
        - (((((1.061_405_429 * t - 1.453_152_027) * t) + 1.421_413_741) * t - 0.284_496_736) * t
            + 0.254_829_592)
            * t
            * (-x * x).exp();
    if x >= 0.0 { y } else { -y }
}

/// The generated fleet: call [`Fleet::scrape`] once per interval.
pub struct Fleet {
    opts: GenOptions,
    targets: Vec<Target>,
    /// Per target, how many of its series are used (the last is cut).
    used: Vec<usize>,
    scrapes: i64,
}

impl Fleet {
    pub fn new(opts: GenOptions) -> Fleet {
        let mut targets = Vec::new();
        let mut used = Vec::new();
        let mut total = 0;
        let mut i: usize = 0;
        while total < opts.series {
            let t = if i.is_multiple_of(2) {
                Target::node(opts.seed, i / 2, opts.interval_ms)
            } else {
                Target::api(opts.seed, i / 2, opts.interval_ms)
            };
            let n = t.series.len().min(opts.series - total);
            total += n;
            used.push(n);
            targets.push(t);
            i += 1;
        }
        Fleet {
            opts,
            targets,
            used,
            scrapes: 0,
        }
    }

    /// Every series' labels, in generation order.
    pub fn labels(&self) -> Vec<Labels> {
        self.targets
            .iter()
            .zip(&self.used)
            .flat_map(|(t, &n)| t.series[..n].iter().map(|s| s.labels.clone()))
            .collect()
    }

    /// Advances one scrape and calls `f(series index, timestamp, value)` for
    /// every series, in generation order.
    pub fn scrape(&mut self, mut f: impl FnMut(usize, i64, f64)) {
        let k = self.scrapes;
        self.scrapes += 1;
        let interval_s = self.opts.interval_ms as f64 / 1000.0;
        let mut idx = 0;
        for (t, &n) in self.targets.iter_mut().zip(&self.used) {
            if k > 0 {
                t.step(interval_s, self.opts.reset_prob);
            }
            let ts = self.opts.start_ms + k * self.opts.interval_ms + t.offset_ms;
            for s in &t.series[..n] {
                f(idx, ts, s.value);
                idx += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_exact_count() {
        let opts = GenOptions {
            series: 500,
            ..GenOptions::default()
        };
        let mut a = Fleet::new(opts.clone());
        let mut b = Fleet::new(opts);
        assert_eq!(a.labels().len(), 500);
        let mut va = vec![];
        let mut vb = vec![];
        for _ in 0..3 {
            a.scrape(|i, t, v| va.push((i, t, v.to_bits())));
            b.scrape(|i, t, v| vb.push((i, t, v.to_bits())));
        }
        assert_eq!(va, vb);
        let mut labels = a.labels();
        labels.sort();
        labels.dedup();
        assert_eq!(labels.len(), 500, "label sets must be unique");
    }

    #[test]
    fn counters_never_decrease_without_reset_and_histograms_stay_cumulative() {
        let mut f = Fleet::new(GenOptions {
            series: 240,
            reset_prob: 0.0,
            ..GenOptions::default()
        });
        let labels = f.labels();
        let mut prev: Vec<f64> = vec![f64::NAN; labels.len()];
        for _ in 0..20 {
            let mut cur = vec![0.0; labels.len()];
            f.scrape(|i, _, v| cur[i] = v);
            for (i, l) in labels.iter().enumerate() {
                let name = l.metric_name();
                if (name.ends_with("_total") || name.ends_with("_bucket")) && !prev[i].is_nan() {
                    assert!(cur[i] >= prev[i], "{l} went from {} to {}", prev[i], cur[i]);
                }
            }
            prev = cur;
        }
    }
}
