//! Downsampling: tiers that keep, per bucket of a resolution `R`, a
//! summary of the raw samples from which PromQL's window functions give
//! the raw answer exactly on windows aligned to `R`.
//!
//! - [`summary`]: [`Summary`], a bucket's aggregates; building them from
//!   raw samples ([`summarize`]) and merging consecutive ones
//!   ([`Summary::merge`], [`coarsen`]) for coarser tiers and for query
//!   windows.
//! - [`hchunk`]: the histogram aggregate chunk encoding (byte 8).
//! - [`hsummary`]: [`HistSummary`], the counter columns of a native
//!   histogram series' bucket.
//! - [`policy`]: the configured [`Tiers`] and the rules that keep them
//!   from losing data.
//! - [`blocks`]: tier blocks: writing one from raw or finer-tier blocks,
//!   reading a series' summaries back.
//! - [`chunk`]: the aggregate chunk encoding (byte 7) tier blocks store.
//! - [`stored`]: a series' buckets selected from tier blocks, decoded when
//!   a query evaluates it.
//! - [`profile`]: which series (counters) a tier keeps without a sum, and
//!   the optional columns.

pub mod blocks;
pub mod chunk;
pub mod hchunk;
pub mod hsummary;
pub mod policy;
pub mod profile;
pub mod stored;
pub mod summary;
#[cfg(test)]
mod testdata;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use hsummary::{HistAggregates, HistSummary, summarize_histograms};
pub use policy::{Tier, Tiers};
pub use profile::{Column, Columns, CounterSuffixes};
pub use stored::StoredSummaries;
pub use summary::{
    Aggregates, Bucket, Moments, Point, Summary, Trend, bucket_end, coarsen, coarsen_into,
    mark_histograms, merge_window, points_of, summarize,
};
