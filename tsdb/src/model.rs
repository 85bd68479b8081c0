//! The data model every Almanac crate shares.
//!
//! - [`Labels`]: a sorted, hashable label set (one series' identity).
//! - [`Matcher`]: `=`, `!=`, `=~`, `!~` with Prometheus semantics.
//! - [`Sample`] and the staleness marker.
//! - [`histogram`]: native histograms (integer and float), their rules,
//!   bucket bounds and arithmetic.
//! - The read side: [`Queryable`] → [`Querier`] → [`Series`], read in bulk
//!   ([`SeriesData::read`]) into a [`SampleBuf`].

pub mod histogram;
mod labels;
mod matcher;
mod read;
mod sample;
mod sample_buf;

pub use labels::{Label, Labels, LabelsBuilder, METRIC_NAME, hash_label_pairs};
pub use matcher::{MatchOp, Matcher};
pub use read::{
    LABELS_ONLY, Querier, Queryable, RawCutoff, SelectHints, Series, SeriesData, TIER_TAIL,
    TierSpan, Tiering,
};
pub use sample::{
    HistogramSample, STALE_NAN, Sample, SeriesRef, is_stale_nan, is_start_timestamp_reset,
};
pub use sample_buf::SampleBuf;
