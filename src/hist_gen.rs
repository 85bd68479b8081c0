//! A deterministic generator of native-histogram scrape data: request
//! latency histograms as client libraries expose them (schema 3, the
//! default zero bucket, cumulative integer counts), for the histogram
//! benchmarks.
//!
//! Series `i` observes a log-normal latency (median 5 ms · 1.5^(i mod 12),
//! σ = 0.6 in log space) at 20–200 requests per scrape. Each scrape adds
//! to every bucket its expected share of the scrape's requests, rounded up
//! or down at random (so counts stay integers and their total is close to
//! the request count), and the sum grows by the requests times the mean.
//! A series' buckets are those the distribution reaches (about 40), in one
//! span, fixed for the series' lifetime.

use tsdb::model::histogram::{CounterResetHint, Histogram, Span, deltas};

use crate::datagen::Rng;

/// Buckets of schema 3: `(2^((j−1)/8), 2^(j/8)]` for index `j`.
const SCHEMA: i32 = 3;
/// Prometheus client libraries' default zero bucket width.
const ZERO_THRESHOLD: f64 = 2.938_735_877_055_719e-39;
const SIGMA: f64 = 0.6;

/// One series' distribution and counters.
struct Series {
    /// First bucket index.
    first: i32,
    /// Each bucket's share of the requests.
    shares: Vec<f64>,
    /// `(requests per scrape lo, hi)`.
    rate: (f64, f64),
    mean: f64,
    counts: Vec<u64>,
    count: u64,
    sum: f64,
}

/// `n` latency-histogram series, scraped one interval at a time.
pub struct HistogramFleet {
    rng: Rng,
    series: Vec<Series>,
}

/// The log-normal CDF at `x` for median `m`.
fn cdf(x: f64, m: f64) -> f64 {
    0.5 * (1.0 + erf((x / m).ln() / (SIGMA * std::f64::consts::SQRT_2)))
}

/// The error function (Abramowitz–Stegun 7.1.26, |error| < 1.5e-7, enough
/// for bucket shares).
fn erf(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
    let y = 1.0
        - (((((1.061_405_429 * t - 1.453_152_027) * t) + 1.421_413_741) * t - 0.284_496_736) * t
            + 0.254_829_592)
            * t
            * (-x * x).exp();
    if x < 0.0 { -y } else { y }
}

impl HistogramFleet {
    pub fn new(n: usize, seed: u64) -> HistogramFleet {
        let mut rng = Rng::new(seed);
        let series = (0..n)
            .map(|i| {
                let m = 0.005 * 1.5f64.powi((i % 12) as i32);
                let bound = |j: i32| 2f64.powf(f64::from(j) / 8.0);
                // Buckets holding at least 1e-4 of the mass.
                let lo = ((m * (-4.0 * SIGMA).exp()).log2() * 8.0).floor() as i32;
                let hi = ((m * (4.0 * SIGMA).exp()).log2() * 8.0).ceil() as i32;
                let shares = (lo..=hi)
                    .map(|j| cdf(bound(j), m) - cdf(bound(j - 1), m))
                    .collect::<Vec<f64>>();
                let base = rng.uniform(20.0, 150.0);
                Series {
                    first: lo,
                    counts: vec![0; shares.len()],
                    shares,
                    rate: (base, base + 50.0),
                    mean: m * (SIGMA * SIGMA / 2.0).exp(),
                    count: 0,
                    sum: 0.0,
                }
            })
            .collect();
        HistogramFleet { rng, series }
    }

    pub fn len(&self) -> usize {
        self.series.len()
    }

    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Advances every series by one scrape and calls `f(i, histogram)`.
    pub fn scrape(&mut self, mut f: impl FnMut(usize, Histogram)) {
        for (i, s) in self.series.iter_mut().enumerate() {
            let requests = self.rng.uniform(s.rate.0, s.rate.1);
            let mut added = 0;
            for (c, share) in s.counts.iter_mut().zip(&s.shares) {
                let inc = (requests * share + self.rng.f64()).floor() as u64;
                *c += inc;
                added += inc;
            }
            s.count += added;
            s.sum += added as f64 * s.mean;
            let deltas = deltas(&s.counts);
            f(
                i,
                Histogram {
                    hint: CounterResetHint::Unknown,
                    schema: SCHEMA,
                    zero_threshold: ZERO_THRESHOLD,
                    zero_count: 0,
                    count: s.count,
                    sum: s.sum,
                    positive_spans: vec![Span::new(s.first, s.counts.len() as u32)],
                    negative_spans: vec![],
                    positive_deltas: deltas,
                    negative_deltas: vec![],
                    custom_values: vec![],
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrapes_are_valid_cumulative_histograms() {
        let mut fleet = HistogramFleet::new(24, 1);
        let mut last = vec![0u64; fleet.len()];
        for _ in 0..5 {
            fleet.scrape(|i, h| {
                assert_eq!(h.validate(), Ok(()), "series {i}");
                assert!(h.count >= last[i] && h.count > 0, "series {i} grows");
                assert!(h.positive_deltas.len() > 20, "series {i} has its buckets");
                last[i] = h.count;
            });
        }
    }

    #[test]
    fn erf_matches_known_values() {
        for (x, want) in [
            (0.0, 0.0),
            (0.5, 0.520_499_877_8),
            (1.0, 0.842_700_792_9),
            (-2.0, -0.995_322_265),
        ] {
            assert!((erf(x) - want).abs() < 2e-7, "erf({x}) = {}", erf(x));
        }
    }
}
