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
//! - Memory is bounded: each shard holds at most `max_bytes / SHARDS` bytes
//!   of entries and is emptied when it would exceed them.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use parking_lot::RwLock;
use tsdb::head::SeriesHandle;

const SHARDS: usize = 64;
/// What an entry costs: its map slot (key, check hash, handle) with the
/// table's spare capacity.
const ENTRY_BYTES: usize = 48;

/// Keys are already well-mixed hashes.
#[derive(Default, Clone, Copy)]
struct PassThrough(u64);

impl std::hash::Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

struct Entry {
    /// The second hash of the key bytes.
    check: u64,
    handle: SeriesHandle,
}

/// See the module documentation.
pub struct SeriesCache {
    shards: Vec<RwLock<HashMap<u64, Entry, BuildHasherDefault<PassThrough>>>>,
    max_shard_entries: usize,
    /// Seed of the check hash.
    seed: u64,
}

impl SeriesCache {
    /// A cache using at most about `max_bytes` (0 disables it).
    pub fn new(max_bytes: usize) -> Self {
        use std::hash::{BuildHasher, Hasher};
        let mut seed = std::collections::hash_map::RandomState::new().build_hasher();
        seed.write_u64(0x5eed);
        SeriesCache {
            shards: (0..SHARDS).map(|_| RwLock::default()).collect(),
            max_shard_entries: max_bytes / SHARDS / ENTRY_BYTES,
            seed: seed.finish(),
        }
    }

    fn shard(&self, hash: u64) -> &RwLock<HashMap<u64, Entry, BuildHasherDefault<PassThrough>>> {
        &self.shards[(hash >> 58) as usize % SHARDS]
    }

    /// The series whose label bytes are `raw`.
    pub fn get(&self, raw: &[u8]) -> Option<SeriesHandle> {
        let (hash, check) = hashes(self.seed, raw);
        let shard = self.shard(hash).read();
        let e = shard.get(&hash)?;
        (e.check == check).then(|| e.handle.clone())
    }

    /// Remembers that the label bytes `raw` are the series `handle`.
    pub fn insert(&self, raw: &[u8], handle: SeriesHandle) {
        if self.max_shard_entries == 0 {
            return;
        }
        let (hash, check) = hashes(self.seed, raw);
        let mut shard = self.shard(hash).write();
        if shard.len() >= self.max_shard_entries && !shard.contains_key(&hash) {
            *shard = HashMap::default();
        }
        shard.insert(hash, Entry { check, handle });
    }

    /// Number of entries (for tests and self-monitoring).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.read().len()).sum()
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
    use tsdb::head::{Head, HeadOptions};
    use tsdb::model::Labels;

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
        cache.insert(a, handle(&head, "a"));
        assert_eq!(
            cache.get(a).map(|h| h.series_ref()),
            Some(handle(&head, "a").series_ref())
        );
        assert!(cache.get(b).is_none());
        // The slot hash does not depend on the seed; the check hash does.
        let other = SeriesCache::new(1 << 20);
        assert_eq!(hashes(cache.seed, a).0, hashes(other.seed, a).0);
        assert_ne!(hashes(cache.seed, a).1, hashes(other.seed, a).1);
        // Same slot, another check hash (a forced slot collision): a miss.
        let (slot, check) = hashes(cache.seed, a);
        cache.shard(slot).write().insert(
            slot,
            Entry {
                check: check ^ 1,
                handle: handle(&head, "a"),
            },
        );
        assert!(cache.get(a).is_none());
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn a_full_shard_is_emptied() {
        let head = Head::new(HeadOptions::default());
        // One shard's budget fits two entries.
        let cache = SeriesCache::new(SHARDS * 2 * ENTRY_BYTES);
        let h = handle(&head, "x");
        let mut keys: Vec<Vec<u8>> = Vec::new();
        let mut i = 0u32;
        // Three keys of one shard.
        while keys.len() < 3 {
            let k = format!("key-{i:05}").into_bytes();
            if hashes(0, &k).0 >> 58 == 0 {
                keys.push(k);
            }
            i += 1;
        }
        for k in &keys[..2] {
            cache.insert(k, h.clone());
        }
        assert_eq!(cache.len(), 2);
        cache.insert(&keys[2], h.clone());
        assert_eq!(cache.len(), 1, "the shard was emptied first");
        assert!(cache.get(&keys[2]).is_some());
        // Disabled: nothing is kept.
        let off = SeriesCache::new(0);
        off.insert(&keys[0], h);
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
