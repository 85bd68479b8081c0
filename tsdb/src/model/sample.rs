//! Samples and series references.

/// The bit pattern Prometheus writes to mark a series stale. It is an ordinary
/// NaN to arithmetic, so compare bits with [`is_stale_nan`], never values.
pub const STALE_NAN: f64 = f64::from_bits(0x7ff0_0000_0000_0002);

/// Whether `v` is exactly the staleness marker (not just any NaN).
#[inline]
pub fn is_stale_nan(v: f64) -> bool {
    v.to_bits() == STALE_NAN.to_bits()
}

/// Whether a sample's start timestamp shows that its counter restarted
/// since the previous sample (0 = no start timestamp). A start after the
/// previous sample's time is a restart; one before it is not (a cumulative
/// series that keeps its start). A start exactly at the previous sample's
/// time is a delta sample, a restart, unless the previous start was
/// unknown or equal to its own time (OTel's "unknown start" marker); a
/// start at or after the sample's own time is invalid or unknown and never
/// a restart.
pub fn is_start_timestamp_reset(prev_st: i64, prev_t: i64, cur_st: i64, cur_t: i64) -> bool {
    if cur_st == 0 || cur_st >= cur_t || cur_st < prev_t {
        return false;
    }
    if cur_st > prev_t {
        return true;
    }
    prev_st != 0 && prev_st < prev_t
}

/// One float sample: a millisecond timestamp and a value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub t: i64,
    pub v: f64,
}

impl Sample {
    pub fn new(t: i64, v: f64) -> Self {
        Sample { t, v }
    }

    /// Equality of timestamp and value *bits*, so NaN payloads compare.
    pub fn bit_eq(&self, other: &Sample) -> bool {
        self.t == other.t && self.v.to_bits() == other.v.to_bits()
    }
}

/// One native histogram sample of a read: a millisecond timestamp and the
/// histogram with float counts (the form PromQL computes with; integer
/// histograms are converted when read). Shared, so that copying a sample
/// into a query's ranges does not copy its buckets.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSample {
    pub t: i64,
    /// When the observations it counts started accumulating (0 = none),
    /// as for float samples ([`SampleBuf`](super::SampleBuf)).
    pub st: i64,
    pub h: std::sync::Arc<super::histogram::FloatHistogram>,
}

/// A stable in-process identifier of a head series. Never reused while the
/// process runs; not meaningful across restarts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesRef(pub u64);
