//! Admission of remote-write requests by the memory their bodies take.
//!
//! Every request holds a [`Permit`] for its compressed plus decompressed
//! size while it is decoded and stored. A request that would take the
//! total past the limit while others are in flight is refused with 429
//! and `Retry-After` (the sender retries it later); a request alone is
//! always admitted, since its size is already bounded by the body limits.

use std::sync::atomic::{AtomicUsize, Ordering};

/// The limit and what in-flight requests hold.
#[derive(Debug)]
pub struct InflightLimit {
    used: AtomicUsize,
    max: usize,
}

/// Bytes held by one request; released on drop.
#[derive(Debug)]
pub struct Permit<'a> {
    limit: &'a InflightLimit,
    bytes: usize,
}

impl InflightLimit {
    /// At most `max` bytes in flight (beyond one request's); 0 = no limit.
    pub fn new(max: usize) -> Self {
        InflightLimit {
            used: AtomicUsize::new(0),
            max,
        }
    }

    /// Holds `bytes` unless other requests already hold so much that the
    /// total would pass the limit.
    pub fn try_acquire(&self, bytes: usize) -> Option<Permit<'_>> {
        let mut cur = self.used.load(Ordering::Relaxed);
        loop {
            let next = cur.saturating_add(bytes);
            if self.max > 0 && cur > 0 && next > self.max {
                return None;
            }
            match self
                .used
                .compare_exchange_weak(cur, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return Some(Permit { limit: self, bytes }),
                Err(now) => cur = now,
            }
        }
    }

    /// Bytes held now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.limit.used.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admission_table() {
        let limit = InflightLimit::new(100);
        let big = limit.try_acquire(500).expect("a request alone is admitted");
        assert!(
            limit.try_acquire(1).is_none(),
            "over the limit with one in flight"
        );
        drop(big);
        assert_eq!(limit.used(), 0);
        let a = limit.try_acquire(60).expect("fits");
        let b = limit.try_acquire(40).expect("fits exactly");
        assert!(limit.try_acquire(1).is_none());
        drop(a);
        let c = limit.try_acquire(50).expect("room again");
        assert_eq!(limit.used(), 90);
        drop((b, c));
        let unlimited = InflightLimit::new(0);
        let _x = unlimited.try_acquire(usize::MAX / 2).expect("no limit");
        assert!(unlimited.try_acquire(usize::MAX / 2).is_some());
    }
}
