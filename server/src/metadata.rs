//! Metric metadata (type, help, unit) received by remote write, served by
//! `/api/v1/metadata`. Kept in memory; senders resend it periodically.

use std::collections::BTreeMap;

use parking_lot::RwLock;

use crate::prompb::{self, MetricType};

/// One metadata entry as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Metadata {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub help: String,
    pub unit: String,
}

/// Metric family name → distinct metadata entries.
#[derive(Default)]
pub struct MetadataStore {
    by_metric: RwLock<BTreeMap<String, Vec<Metadata>>>,
}

/// At most this many distinct entries per metric are kept.
const MAX_PER_METRIC: usize = 10;

impl MetadataStore {
    fn insert(&self, name: &str, md: Metadata) {
        if name.is_empty() {
            return;
        }
        {
            let map = self.by_metric.read();
            if map.get(name).is_some_and(|v| v.contains(&md)) {
                return;
            }
        }
        let mut map = self.by_metric.write();
        let entries = map.entry(name.to_string()).or_default();
        if !entries.contains(&md) {
            if entries.len() >= MAX_PER_METRIC {
                entries.remove(0);
            }
            entries.push(md);
        }
    }

    /// Records one metric family's metadata (OTLP).
    pub fn record(&self, name: &str, kind: MetricType, help: String, unit: String) {
        let kind = kind.api_name();
        self.insert(name, Metadata { kind, help, unit });
    }

    pub fn record_v1(&self, mds: &[prompb::MetricMetadata]) {
        for m in mds {
            let kind = MetricType::try_from(m.r#type).unwrap_or(MetricType::Unknown);
            self.insert(
                &m.metric_family_name,
                Metadata {
                    kind: kind.api_name(),
                    help: m.help.clone(),
                    unit: m.unit.clone(),
                },
            );
        }
    }

    pub fn record_v2<'a>(
        &self,
        name: &str,
        md: &prompb::v2::Metadata,
        sym: &dyn Fn(u32) -> Option<&'a str>,
    ) {
        let kind = MetricType::try_from(md.r#type).unwrap_or(MetricType::Unknown);
        self.insert(
            name,
            Metadata {
                kind: kind.api_name(),
                help: sym(md.help_ref).unwrap_or("").to_string(),
                unit: sym(md.unit_ref).unwrap_or("").to_string(),
            },
        );
    }

    /// Entries for `metric` (all when `None`), at most `limit` metrics and
    /// `limit_per_metric` entries each (0 = unlimited).
    pub fn query(
        &self,
        metric: Option<&str>,
        limit: usize,
        limit_per_metric: usize,
    ) -> BTreeMap<String, Vec<Metadata>> {
        let map = self.by_metric.read();
        let take = |v: &Vec<Metadata>| -> Vec<Metadata> {
            let n = if limit_per_metric == 0 {
                v.len()
            } else {
                limit_per_metric.min(v.len())
            };
            v[..n].to_vec()
        };
        match metric {
            Some(m) => map
                .get(m)
                .map(|v| (m.to_string(), take(v)))
                .into_iter()
                .collect(),
            None => map
                .iter()
                .take(if limit == 0 { usize::MAX } else { limit })
                .map(|(k, v)| (k.clone(), take(v)))
                .collect(),
        }
    }
}
