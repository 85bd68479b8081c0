//! Recording and alerting rules in Prometheus's format.
//!
//! - `alert`: the alert state machine.
//! - `check`: `almanac check rules`.
//! - `file`: rule files: parsing, validation, the duplicate lint.
//! - `glob`: `rule_files` patterns.
//! - `group`: a group's evaluation at one timestamp.
//! - `manager`: the server's running groups.
//! - `notifier`: the Alertmanager client.
//! - `template`: the Go text/template subset of labels and annotations.
//! - `unittest`: `almanac test rules`.
//! - `yamlpos`: line numbers of YAML nodes for error messages.

pub mod alert;
pub mod check;
pub mod file;
pub mod glob;
pub mod group;
pub mod manager;
pub mod notifier;
pub mod template;
pub mod unittest;
mod yamlpos;

pub use file::{GroupSpec, RuleFile, RuleKind, RuleSpec};
pub use manager::RuleManager;
pub use template::Template;
