//! Label sets: the identity of a series.
//!
//! A [`Labels`] is immutable, sorted by name with unique names, and cheap to
//! clone (one reference-count increment). Empty values are dropped on
//! construction: in Prometheus a label with an empty value does not exist.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

/// The label holding the metric name.
pub const METRIC_NAME: &str = "__name__";

/// One name/value pair. Strings are shared (`Arc<str>`) so that the head can
/// intern them and clones stay cheap.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Label {
    pub name: Arc<str>,
    pub value: Arc<str>,
}

impl Label {
    pub fn new(name: impl Into<Arc<str>>, value: impl Into<Arc<str>>) -> Self {
        Label {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// A sorted set of labels with unique names and non-empty values.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Labels(Arc<[Label]>);

impl Default for Labels {
    fn default() -> Self {
        Labels::empty()
    }
}

impl Labels {
    /// The empty label set.
    pub fn empty() -> Self {
        Labels(Arc::from(Vec::new()))
    }

    /// Builds a label set from pairs in any order. Empty values are dropped;
    /// for a repeated name the last pair wins.
    pub fn from_pairs<N: AsRef<str>, V: AsRef<str>>(pairs: &[(N, V)]) -> Self {
        let mut b = LabelsBuilder::new();
        for (n, v) in pairs {
            b.set(n.as_ref(), v.as_ref());
        }
        b.build()
    }

    /// Builds from labels that the caller guarantees are sorted by name,
    /// unique and non-empty (for decoders that validated already).
    /// Debug builds check the guarantee.
    pub fn from_sorted(labels: Vec<Label>) -> Self {
        debug_assert!(labels.windows(2).all(|w| w[0].name < w[1].name));
        debug_assert!(labels.iter().all(|l| !l.value.is_empty()));
        Labels(Arc::from(labels))
    }

    /// Sorts, then checks names are unique and values non-empty; for input
    /// from the network or disk. Returns the reason on failure.
    pub fn try_from_unsorted(mut labels: Vec<Label>) -> Result<Self, &'static str> {
        labels.retain(|l| !l.value.is_empty());
        labels.sort_by(|a, b| a.name.cmp(&b.name));
        if labels.windows(2).any(|w| w[0].name == w[1].name) {
            return Err("duplicate label name");
        }
        Ok(Labels(Arc::from(labels)))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Label> {
        self.0.iter()
    }

    pub fn as_slice(&self) -> &[Label] {
        &self.0
    }

    /// The value of `name`, or `""` when absent (as Prometheus treats it).
    pub fn get(&self, name: &str) -> &str {
        self.0
            .binary_search_by(|l| (*l.name).cmp(name))
            .map(|i| &*self.0[i].value)
            .unwrap_or("")
    }

    pub fn has(&self, name: &str) -> bool {
        self.0.binary_search_by(|l| (*l.name).cmp(name)).is_ok()
    }

    /// The metric name, `""` when there is none.
    pub fn metric_name(&self) -> &str {
        self.get(METRIC_NAME)
    }

    /// A builder that starts from this set.
    pub fn builder(&self) -> LabelsBuilder {
        LabelsBuilder {
            labels: self.0.to_vec(),
        }
    }

    /// Only the labels whose names are in `names`.
    pub fn keep(&self, names: &[impl AsRef<str>]) -> Labels {
        let kept: Vec<Label> = self
            .iter()
            .filter(|l| names.iter().any(|n| n.as_ref() == &*l.name))
            .cloned()
            .collect();
        Labels(Arc::from(kept))
    }

    /// All labels except those whose names are in `names`.
    pub fn drop_names(&self, names: &[impl AsRef<str>]) -> Labels {
        let kept: Vec<Label> = self
            .iter()
            .filter(|l| !names.iter().any(|n| n.as_ref() == &*l.name))
            .cloned()
            .collect();
        Labels(Arc::from(kept))
    }

    /// Stable 64-bit hash of the label set, equal to [`hash_label_pairs`]
    /// over the same pairs. Used to find series without allocating.
    pub fn hash64(&self) -> u64 {
        hash_label_pairs(self.iter().map(|l| (&*l.name, &*l.value)))
    }
}

/// Hashes sorted `(name, value)` pairs; equal label sets hash equal whether
/// they come from a [`Labels`] or straight from a decoded request.
pub fn hash_label_pairs<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> u64 {
    let mut h = Hasher64::default();
    for (n, v) in pairs {
        h.write(n.as_bytes());
        h.write_sep();
        h.write(v.as_bytes());
        h.write_sep();
    }
    h.finish()
}

/// A small, fast, non-cryptographic hash (multiply–rotate over 8-byte words).
/// Collisions are handled by every user, so quality only affects speed.
#[derive(Default)]
struct Hasher64 {
    state: u64,
}

impl Hasher64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;

    #[inline]
    fn mix(&mut self, word: u64) {
        self.state = (self.state.rotate_left(5) ^ word).wrapping_mul(Self::K);
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.mix(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        self.mix(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 59));
    }

    #[inline]
    fn write_sep(&mut self) {
        self.mix(0xff);
    }

    fn finish(&self) -> u64 {
        // Final avalanche (from splitmix64).
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl Ord for Labels {
    /// Prometheus's order: pairwise by name then value; a proper prefix first.
    fn cmp(&self, other: &Self) -> Ordering {
        for (a, b) in self.iter().zip(other.iter()) {
            match a.name.cmp(&b.name).then_with(|| a.value.cmp(&b.value)) {
                Ordering::Equal => continue,
                o => return o,
            }
        }
        self.len().cmp(&other.len())
    }
}

impl PartialOrd for Labels {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Labels {
    /// `{a="1", b="2"}`, with Go-style escaping of values.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, l) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}={:?}", l.name, &*l.value)?;
        }
        f.write_str("}")
    }
}

impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl<'a> IntoIterator for &'a Labels {
    type Item = &'a Label;
    type IntoIter = std::slice::Iter<'a, Label>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// Builds a [`Labels`] by setting and deleting names; `build` sorts.
#[derive(Debug, Default, Clone)]
pub struct LabelsBuilder {
    labels: Vec<Label>,
}

impl LabelsBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `name` to `value`; an empty value deletes the label.
    pub fn set(&mut self, name: &str, value: &str) -> &mut Self {
        self.labels.retain(|l| &*l.name != name);
        if !value.is_empty() {
            self.labels.push(Label::new(name, value));
        }
        self
    }

    /// Sets a label from shared strings without copying them.
    pub fn set_label(&mut self, label: Label) -> &mut Self {
        self.labels.retain(|l| l.name != label.name);
        if !label.value.is_empty() {
            self.labels.push(label);
        }
        self
    }

    pub fn del(&mut self, name: &str) -> &mut Self {
        self.labels.retain(|l| &*l.name != name);
        self
    }

    pub fn get(&self, name: &str) -> &str {
        self.labels
            .iter()
            .find(|l| &*l.name == name)
            .map(|l| &*l.value)
            .unwrap_or("")
    }

    pub fn build(&self) -> Labels {
        let mut v = self.labels.clone();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        Labels(Arc::from(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_pairs_sorts_drops_empty_and_last_wins() {
        let l = Labels::from_pairs(&[("b", "2"), ("a", "1"), ("c", ""), ("a", "3")]);
        assert_eq!(l.to_string(), r#"{a="3", b="2"}"#);
        assert_eq!(l.get("c"), "");
        assert!(!l.has("c"));
    }

    #[test]
    fn order_is_pairwise_with_prefix_first() {
        let a = Labels::from_pairs(&[("a", "1")]);
        let ab = Labels::from_pairs(&[("a", "1"), ("b", "1")]);
        let a2 = Labels::from_pairs(&[("a", "2")]);
        assert!(a < ab);
        assert!(ab < a2);
    }

    #[test]
    fn hash_matches_pairs_hash() {
        let l = Labels::from_pairs(&[("__name__", "up"), ("job", "node")]);
        let h = hash_label_pairs([("__name__", "up"), ("job", "node")].into_iter());
        assert_eq!(l.hash64(), h);
        let other = Labels::from_pairs(&[("__name__", "up"), ("job", "nodf")]);
        assert_ne!(l.hash64(), other.hash64());
        // Separators keep ("ab","c") and ("a","bc") apart.
        let x = hash_label_pairs([("ab", "c")].into_iter());
        let y = hash_label_pairs([("a", "bc")].into_iter());
        assert_ne!(x, y);
    }

    #[test]
    fn try_from_unsorted_rejects_duplicates() {
        let v = vec![Label::new("a", "1"), Label::new("a", "2")];
        assert_eq!(
            Labels::try_from_unsorted(v).unwrap_err(),
            "duplicate label name"
        );
    }
}
