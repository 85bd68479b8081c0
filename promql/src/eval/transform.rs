//! Functions of instant vectors (Prometheus 3.14 semantics).
//!
//! - [`Elementwise`] (`math`): functions of each element's value alone —
//!   `abs`, `round`, `clamp*`, `ln`, trigonometry, … and the calendar
//!   functions (`calendar`: `year`, `day_of_week`, …).
//! - [`histogram_quantile`], [`histogram_fraction`] (`histogram`): classic
//!   `le`-bucket histograms of one step, on the bucket math of `buckets`
//!   ([`bucket_quantile`], [`bucket_fraction`]).
//! - [`label_replace`] / [`LabelReplace`], [`label_join`] (`labels`).
//! - [`natural_cmp`] (`natsort`): the order of `sort_by_label`.
//! - `go_float`: the Go float semantics the above depend on (`ParseFloat`
//!   for `le`, `math.Min`/`Max`, `Log2`, `int64(f)`).
//!
//! The evaluator owns everything around these: argument evaluation per
//! step, no-argument forms (`year()` is `year(vector(time()))`),
//! `drop_name` bookkeeping and duplicate-label-set errors.

// The evaluator (`call.rs`) is being written in parallel; until it calls
// these, the non-test build sees them as unused (and the re-exports below
// as unused imports).
#![cfg_attr(not(test), allow(dead_code))]

mod buckets;
mod calendar;
mod go_float;
mod histogram;
mod labels;
mod math;
mod natsort;

#[allow(unused_imports)]
pub use buckets::{Bucket, QuantileResult, bucket_fraction, bucket_quantile};
#[allow(unused_imports)]
pub use calendar::Field;
#[allow(unused_imports)]
pub use histogram::{histogram_fraction, histogram_quantile};
#[allow(unused_imports)]
pub use labels::{LabelReplace, label_join, label_replace};
#[allow(unused_imports)]
pub use math::Elementwise;
#[allow(unused_imports)]
pub use natsort::natural_cmp;
