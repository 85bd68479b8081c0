//! Live feeds of committed entries, for `/loki/api/v1/tail`.
//!
//! Contracts:
//! - a subscriber sees, per live commit (never WAL replay), the entries the
//!   head took from it (duplicates left out), in commit order;
//! - delivery runs inside the commit: a subscriber must not block (it
//!   queues or drops, and says which by what it does with the feed);
//! - nothing is copied while nobody subscribes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use parking_lot::RwLock;

use crate::model::StreamPush;

/// What one commit added: entries by stream.
pub type Feed = Arc<[StreamPush]>;

/// Takes a feed; `false` once the subscriber is gone (it is then removed).
pub type Deliver = Box<dyn Fn(&Feed) -> bool + Send + Sync>;

/// The subscribers of a store.
#[derive(Default)]
pub struct Taps {
    subs: RwLock<Vec<(u64, Deliver)>>,
    next_id: AtomicU64,
    active: AtomicUsize,
}

impl Taps {
    /// Adds a subscriber (its id unsubscribes it) unless `max` are subscribed already (checked and
    /// added at once, so parallel callers cannot pass `max`).
    pub fn try_subscribe(&self, max: usize, deliver: Deliver) -> Option<u64> {
        let mut subs = self.subs.write();
        if subs.len() >= max {
            return None;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        subs.push((id, deliver));
        self.active.store(subs.len(), Ordering::Release);
        Some(id)
    }

    pub fn unsubscribe(&self, id: u64) {
        let mut subs = self.subs.write();
        subs.retain(|(i, _)| *i != id);
        self.active.store(subs.len(), Ordering::Release);
    }

    /// Subscribers now.
    pub fn active(&self) -> usize {
        self.active.load(Ordering::Acquire)
    }

    /// Hands `feed` to every subscriber, dropping those that are gone.
    pub(crate) fn publish(&self, feed: Vec<StreamPush>) {
        if feed.iter().all(|s| s.entries.is_empty()) {
            return;
        }
        let feed: Feed = feed.into();
        let gone: Vec<u64> = self
            .subs
            .read()
            .iter()
            .filter(|(_, deliver)| !deliver(&feed))
            .map(|(id, _)| *id)
            .collect();
        for id in gone {
            self.unsubscribe(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use tsdb::model::Labels;

    use super::*;
    use crate::model::Entry;

    fn feed(line: &str) -> Vec<StreamPush> {
        vec![StreamPush {
            labels: Labels::from_pairs(&[("app", "a")]),
            entries: vec![Entry::new(1, line)],
        }]
    }

    #[test]
    fn subscribers_get_feeds_until_gone_or_unsubscribed() {
        let taps = Taps::default();
        let got = Arc::new(Mutex::new(Vec::new()));
        let g = got.clone();
        let a = taps.try_subscribe(
            usize::MAX,
            Box::new(move |f: &Feed| {
                g.lock().unwrap().push(f[0].entries[0].line.clone());
                true
            }),
        );
        let _gone = taps.try_subscribe(usize::MAX, Box::new(|_: &Feed| false));
        assert_eq!(taps.active(), 2);
        taps.publish(feed("one"));
        assert_eq!(taps.active(), 1, "a subscriber that is gone is removed");
        taps.publish(vec![]);
        taps.unsubscribe(a.unwrap_or_default());
        taps.publish(feed("two"));
        assert_eq!(taps.active(), 0);
        assert_eq!(*got.lock().unwrap(), vec!["one".to_string()]);
    }

    #[test]
    fn at_most_max_subscribers() {
        let taps = Taps::default();
        let first = taps.try_subscribe(2, Box::new(|_: &Feed| true));
        assert!(first.is_some());
        assert!(taps.try_subscribe(2, Box::new(|_: &Feed| true)).is_some());
        assert_eq!(taps.try_subscribe(2, Box::new(|_: &Feed| true)), None);
        taps.unsubscribe(first.unwrap_or_default());
        assert!(taps.try_subscribe(2, Box::new(|_: &Feed| true)).is_some());
    }
}
