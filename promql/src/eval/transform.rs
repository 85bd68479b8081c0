//! Functions of instant vectors (Prometheus 3.14 semantics).
//!
//! - [`Elementwise`] (`math`): functions of each element's value alone —
//!   `abs`, `round`, `clamp*`, `ln`, trigonometry, … and the calendar
//!   functions (`calendar`: `year`, `day_of_week`, …).
//! - [`histogram_quantile`], [`histogram_fraction`] (`histogram`): classic
//!   `le`-bucket histograms of one step, on the bucket math of `buckets`
//!   ([`bucket_quantile`], [`bucket_fraction`]).
//! - [`native`]: the same functions and `histogram_count`/`_sum`/`_avg`/
//!   `_stddev`/`_stdvar` of one native histogram.
//! - [`label_replace`] / [`LabelReplace`], [`label_join`] (`labels`).
//! - [`natural_cmp`] (`natsort`): the order of `sort_by_label`.
//! - `go_float`: the Go float semantics the above depend on (`ParseFloat`
//!   for `le`, `math.Min`/`Max`, `Log2`, `int64(f)`).
//!
//! The evaluator owns everything around these: argument evaluation per
//! step, no-argument forms (`year()` is `year(vector(time()))`),
//! `drop_name` bookkeeping and duplicate-label-set errors.

mod buckets;
mod calendar;
mod go_float;
mod histogram;
mod labels;
mod math;
pub mod native;
mod natsort;

pub use calendar::Field;
pub use histogram::{histogram_fraction, histogram_quantile};
pub use labels::{LabelReplace, label_join};
pub use math::Elementwise;
pub use natsort::natural_cmp;
