//! Head series of recent requests, by the raw protobuf bytes of their labels.
//!
//! A remote-write sender encodes a series' labels the same way in every
//! request, so the bytes of its label fields identify it. A hit skips
//! decoding, validating and hashing the labels and the head's lookup by
//! label pairs, which is most of the ingest cost of a request that carries
//! one sample per series (what Prometheus sends).
//!
//! Contract:
//! - Only label sets that were validated and stored are inserted, so a hit
//!   is as good as a validated label set.
//! - An entry matches when two 64-bit hashes of the bytes match: [`hash`],
//!   which picks the slot, and a second one seeded at random per process.
//!   A false match needs both to collide (about N²/2¹²⁹ for N series, and
//!   not craftable without the seed). Keeping and comparing the bytes
//!   instead would cost a cache miss per sample on the hot path.
//! - A handle may outlive its series (the head removes series left empty
//!   by truncation): appending to it then fails with `UnknownSeries`, and
//!   the caller looks the labels up again and replaces the entry.
//! - Memory is bounded: the table holds at most `max_bytes` of entries and
//!   starts over empty when it would exceed them, and when the head has
//!   removed series ([`SeriesCache::forget_removed`]), so that it never
//!   keeps removed series alive for long.
//! - Readers share one lock, taken once per request ([`SeriesCache::get_many`]).

use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::RwLock;
use tsdb::db::SeriesHandle;

/// What an entry costs: its slot, at the table's lowest load.
const ENTRY_BYTES: usize = 2 * std::mem::size_of::<Slot>();

/// One slot of the open-addressing table; empty without a handle.
#[derive(Clone, Default)]
struct Slot {
    /// The slot hash.
    key: u64,
    /// The check hash.
    check: u64,
    handle: Option<SeriesHandle>,
}

/// Linear probing over a power-of-two number of slots, at most half full.
#[derive(Default)]
struct Table {
    slots: Vec<Slot>,
    len: usize,
}

impl Table {
    fn mask(&self) -> usize {
        self.slots.len().wrapping_sub(1)
    }

    /// The slot holding `key`, or the empty slot where it would go.
    fn find(&self, key: u64) -> usize {
        let mask = self.mask();
        let mut i = key as usize & mask;
        loop {
            let s = &self.slots[i];
            if s.handle.is_none() || s.key == key {
                return i;
            }
            i = (i + 1) & mask;
        }
    }

    fn get(&self, key: u64, check: u64) -> Option<&SeriesHandle> {
        if self.slots.is_empty() {
            return None;
        }
        let s = &self.slots[self.find(key)];
        (s.key == key && s.check == check)
            .then_some(s.handle.as_ref())
            .flatten()
    }

    fn insert(&mut self, key: u64, check: u64, handle: SeriesHandle) {
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let i = self.find(key);
        let s = &mut self.slots[i];
        if s.handle.is_none() {
            self.len += 1;
        }
        *s = Slot {
            key,
            check,
            handle: Some(handle),
        };
    }

    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(1024);
        let old = std::mem::replace(&mut self.slots, vec![Slot::default(); size]);
        self.len = 0;
        for s in old {
            if let Some(h) = s.handle {
                self.insert(s.key, s.check, h);
            }
        }
    }
}

/// See the module documentation.
pub struct SeriesCache {
    table: RwLock<Table>,
    max_entries: usize,
    /// Seed of the check hash.
    seed: u64,
    /// The head's count of removed series when the table was started:
    /// once the head removes series, the table starts over, so that it
    /// does not keep removed series alive.
    removed: AtomicU64,
}

impl SeriesCache {
    /// A cache using at most about `max_bytes` (0 disables it).
    pub fn new(max_bytes: usize) -> Self {
        use std::hash::{BuildHasher, Hasher};
        let mut seed = std::collections::hash_map::RandomState::new().build_hasher();
        seed.write_u64(0x5eed);
        SeriesCache {
            table: RwLock::default(),
            max_entries: max_bytes / ENTRY_BYTES,
            seed: seed.finish(),
            removed: AtomicU64::new(0),
        }
    }

    /// Starts over when the head has removed series since the table was
    /// started (`removed`: the head's count of removed series).
    pub fn forget_removed(&self, removed: u64) {
        if self.removed.load(Ordering::Relaxed) == removed {
            return;
        }
        let mut table = self.table.write();
        if self.removed.swap(removed, Ordering::Relaxed) != removed {
            *table = Table::default();
        }
    }

    /// The series whose label bytes are each of `raws`, in order.
    ///
    /// The table's slots for all keys are touched before any is probed,
    /// and the found series before they are returned, so that the cache
    /// misses of a request's series overlap instead of following one
    /// another.
    pub fn get_many(&self, raws: &[&[u8]]) -> Vec<Option<SeriesHandle>> {
        let keys: Vec<(u64, u64)> = raws.iter().map(|r| hashes(self.seed, r)).collect();
        let table = self.table.read();
        if table.slots.is_empty() {
            return vec![None; raws.len()];
        }
        let mask = table.mask();
        let mut touched = 0u64;
        for &(key, _) in &keys {
            touched ^= table.slots[key as usize & mask].key;
        }
        std::hint::black_box(touched);
        let found: Vec<Option<SeriesHandle>> = keys
            .iter()
            .map(|&(key, check)| table.get(key, check).cloned())
            .collect();
        drop(table);
        for h in found.iter().flatten() {
            h.touch();
        }
        found
    }

    /// The series whose label bytes are `raw`.
    #[cfg(test)]
    fn get(&self, raw: &[u8]) -> Option<SeriesHandle> {
        let (key, check) = hashes(self.seed, raw);
        self.table.read().get(key, check).cloned()
    }

    /// Remembers that the label bytes `raw` are the series `handle`.
    #[cfg(test)]
    fn insert(&self, raw: &[u8], handle: SeriesHandle) {
        self.insert_many(std::iter::once((raw, handle)));
    }

    /// Remembers that each entry's label bytes are its series, under one
    /// lock.
    pub fn insert_many<'a>(&self, entries: impl IntoIterator<Item = (&'a [u8], SeriesHandle)>) {
        if self.max_entries == 0 {
            return;
        }
        let mut entries = entries.into_iter().peekable();
        if entries.peek().is_none() {
            return;
        }
        let mut table = self.table.write();
        for (raw, handle) in entries {
            if table.len >= self.max_entries {
                *table = Table::default();
            }
            let (key, check) = hashes(self.seed, raw);
            table.insert(key, check, handle);
        }
    }

    /// Number of entries (for tests and self-monitoring).
    pub fn len(&self) -> usize {
        self.table.read().len
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Two 64-bit hashes of label bytes in one pass: the slot hash, mixed in
/// its high bits (shard) and low bits (map slot) alike, and the check hash,
/// started from `seed`.
fn hashes(seed: u64, raw: &[u8]) -> (u64, u64) {
    const K1: u64 = 0x9E37_79B9_7F4A_7C15;
    const K2: u64 = 0xC2B2_AE3D_27D4_EB4F;
    let len = raw.len() as u64;
    let (mut h1, mut h2) = (len.wrapping_mul(K1), (len ^ seed).wrapping_mul(K2));
    let mut mix = |w: u64| {
        h1 = (h1.rotate_left(23) ^ w).wrapping_mul(K1);
        h2 = (h2.rotate_left(29) ^ w).wrapping_mul(K2);
    };
    let mut words = raw.chunks_exact(8);
    for w in &mut words {
        let mut a = [0u8; 8];
        a.copy_from_slice(w);
        mix(u64::from_le_bytes(a));
    }
    let rest = words.remainder();
    if !rest.is_empty() {
        let mut a = [0u8; 8];
        a[..rest.len()].copy_from_slice(rest);
        mix(u64::from_le_bytes(a));
    }
    let fin = |mut h: u64, k: u64| {
        h ^= h >> 32;
        h = h.wrapping_mul(k);
        h ^ (h >> 29)
    };
    (fin(h1, K1), fin(h2, K2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tsdb::model::Labels;
    use tsdb::{Head, HeadOptions};

    fn handle(head: &std::sync::Arc<Head>, v: &str) -> SeriesHandle {
        let mut app = head.appender();
        let h = app
            .append_new(&Labels::from_pairs(&[("__name__", "m"), ("v", v)]), 1, 1.0)
            .unwrap();
        app.commit();
        h
    }

    #[test]
    fn hits_only_on_equal_bytes() {
        let head = Head::new(HeadOptions::default());
        let cache = SeriesCache::new(1 << 20);
        let (a, b) = (b"labels of a".as_slice(), b"labels of b".as_slice());
        assert!(cache.get(a).is_none(), "empty");
        cache.insert(a, handle(&head, "a"));
        let want = Some(handle(&head, "a").series_ref());
        assert_eq!(cache.get(a).map(|h| h.series_ref()), want);
        assert!(cache.get(b).is_none());
        let many: Vec<_> = cache
            .get_many(&[b, a, b])
            .iter()
            .map(|h| h.as_ref().map(|h| h.series_ref()))
            .collect();
        assert_eq!(many, vec![None, want, None]);
        // The slot hash does not depend on the seed; the check hash does.
        let other = SeriesCache::new(1 << 20);
        assert_eq!(hashes(cache.seed, a).0, hashes(other.seed, a).0);
        assert_ne!(hashes(cache.seed, a).1, hashes(other.seed, a).1);
        // Same slot hash, another check hash (a forced collision): a miss.
        let (key, check) = hashes(cache.seed, a);
        cache
            .table
            .write()
            .insert(key, check ^ 1, handle(&head, "a"));
        assert!(cache.get(a).is_none());
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn many_entries_against_a_map() {
        let head = Head::new(HeadOptions::default());
        let cache = SeriesCache::new(1 << 30);
        let handles: Vec<SeriesHandle> = (0..50).map(|i| handle(&head, &i.to_string())).collect();
        let keys: Vec<Vec<u8>> = (0..5000).map(|i| format!("k{i}").into_bytes()).collect();
        let mut want = std::collections::HashMap::new();
        for (i, k) in keys.iter().enumerate().filter(|(i, _)| i % 3 != 0) {
            let h = &handles[i % 50];
            cache.insert(k, h.clone());
            want.insert(k.clone(), h.series_ref());
        }
        // Re-inserting replaces.
        cache.insert(&keys[1], handles[7].clone());
        want.insert(keys[1].clone(), handles[7].series_ref());
        assert_eq!(cache.len(), want.len());
        let raws: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
        let got = cache.get_many(&raws);
        for (k, h) in keys.iter().zip(got) {
            assert_eq!(h.map(|h| h.series_ref()), want.get(k).copied());
        }
    }

    #[test]
    fn removals_in_the_head_empty_the_cache() {
        let head = Head::new(HeadOptions::default());
        let cache = SeriesCache::new(1 << 20);
        cache.insert(b"a", handle(&head, "a"));
        cache.forget_removed(0);
        assert_eq!(cache.len(), 1, "nothing removed yet");
        cache.forget_removed(3);
        assert!(cache.is_empty());
        cache.insert(b"a", handle(&head, "a"));
        cache.forget_removed(3);
        assert_eq!(cache.len(), 1, "no new removals");
    }

    #[test]
    fn a_full_cache_starts_over() {
        let head = Head::new(HeadOptions::default());
        let cache = SeriesCache::new(2 * ENTRY_BYTES);
        let h = handle(&head, "x");
        cache.insert(b"one", h.clone());
        cache.insert(b"two", h.clone());
        assert_eq!(cache.len(), 2);
        cache.insert(b"three", h.clone());
        assert_eq!(cache.len(), 1, "emptied first");
        assert!(cache.get(b"three").is_some());
        // Disabled: nothing is kept.
        let off = SeriesCache::new(0);
        off.insert(b"one", h);
        assert!(off.is_empty());
    }

    #[test]
    fn hash_spreads_similar_keys() {
        let mut shards = std::collections::HashSet::new();
        let mut slots = std::collections::HashSet::new();
        for i in 0..4096 {
            let h = hashes(
                7,
                format!("{{__name__=\"m\",instance=\"host-{i}\"}}").as_bytes(),
            )
            .0;
            shards.insert(h >> 58);
            slots.insert(h & 0xfff);
        }
        assert_eq!(shards.len(), 64);
        assert!(slots.len() > 2400, "{}", slots.len());
    }
}
