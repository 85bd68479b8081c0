//! Numeric helpers shared by rollups and aggregations.
//! (Interface only; the implementations land next.)

/// Kahan–Babuška–Neumaier compensated sum, as Prometheus sums.
#[derive(Debug, Clone, Copy, Default)]
pub struct KahanSum {
    sum: f64,
    c: f64,
}

impl KahanSum {
    pub fn add(&mut self, v: f64) {
        self.sum += v;
        let _ = self.c;
    }

    pub fn value(&self) -> f64 {
        self.sum + self.c
    }
}

/// The `q`-quantile of `values` as Prometheus computes it (linear
/// interpolation between closest ranks; `NaN` when empty, `-Inf` for
/// `q < 0`, `+Inf` for `q > 1`). Reorders `values`.
pub fn quantile(q: f64, values: &mut [f64]) -> f64 {
    let _ = q;
    values.first().copied().unwrap_or(f64::NAN)
}
