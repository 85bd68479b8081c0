//! Recording and alerting rules in Prometheus's format: rule files and
//! groups, their evaluation against any `Queryable`, label and annotation
//! templates, `check rules` and `test rules`, and the Alertmanager client.
//! The server wires a [`RuleManager`] to its database and serves the
//! `/api/v1/rules` and `/api/v1/alerts` shapes.
//!
//! - `alert`: the alert state machine.
//! - `check`: `almanac check rules`.
//! - `config`: the manager's settings and the Alertmanagers.
//! - `error`: the crate's errors.
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
pub mod config;
pub mod error;
pub mod file;
pub mod glob;
pub mod group;
pub mod manager;
pub mod notifier;
pub mod template;
pub mod unittest;
mod yamlpos;

pub use config::{AlertmanagerConfig, ManagerConfig};
pub use error::{NotifyError, RuleError, RuleLocation, TemplateError, join_rule_errors};
pub use file::{GroupSpec, Language, RuleExpr, RuleFile, RuleKind, RuleSpec};
pub use group::LogQueries;
pub use manager::{RuleManager, load_all, load_groups, load_groups_as};
pub use template::Template;
