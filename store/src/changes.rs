//! Which customers' marketing rows (the customer, consents, profile, risk level, holdings)
//! changed, in the order their writes committed in this process. A reader that keeps a copy
//! of every row (the audience index) stays current by re-reading only those customers
//! instead of everyone.
//!
//! A write is noted after its transaction commits, so a reader that takes the head and then
//! reads the rows either sees the write in the rows or finds it in the feed next time: never
//! neither. The feed is in memory and sees this process's writes only; another process
//! writing the same PostgreSQL database is not seen (a change feed shared between servers
//! belongs to the scale path).

use std::collections::{BTreeSet, VecDeque};
use std::sync::Mutex;

use sextant_domain::CustomerId;

/// Changes kept before the oldest are dropped; a reader further behind reloads everything.
pub const CHANGE_FEED_CAPACITY: usize = 200_000;

/// What changed since a reader's position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MarketingChanges {
    /// These customers' rows changed (or were erased): re-read them. `head` is the position
    /// to ask from next time.
    Customers { ids: Vec<CustomerId>, head: u64 },
    /// Too much changed to list (the feed overflowed, or a write touched everyone, such as
    /// new segments): re-read every row.
    Everything { head: u64 },
}

#[derive(Default)]
pub(crate) struct ChangeFeed {
    inner: Mutex<Feed>,
}

#[derive(Default)]
struct Feed {
    /// The position of `log[0]`; positions before it are gone.
    oldest: u64,
    log: VecDeque<CustomerId>,
}

impl Feed {
    fn head(&self) -> u64 {
        self.oldest + self.log.len() as u64
    }
}

impl ChangeFeed {
    fn lock(&self) -> std::sync::MutexGuard<'_, Feed> {
        // A panic while holding the lock cannot leave the log half-written: every change
        // is one push or one clear.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The position after the newest change.
    pub(crate) fn head(&self) -> u64 {
        self.lock().head()
    }

    /// Notes committed changes to these customers' rows.
    pub(crate) fn note<'a>(&self, ids: impl IntoIterator<Item = &'a CustomerId>) {
        let mut feed = self.lock();
        for id in ids {
            feed.log.push_back(id.clone());
        }
        while feed.log.len() > CHANGE_FEED_CAPACITY {
            feed.log.pop_front();
            feed.oldest += 1;
        }
    }

    /// Notes a committed change to every row.
    pub(crate) fn note_everything(&self) {
        let mut feed = self.lock();
        feed.oldest = feed.head() + 1;
        feed.log.clear();
    }

    /// What changed since position `since` (the `head` of an earlier answer).
    pub(crate) fn since(&self, since: u64) -> MarketingChanges {
        let feed = self.lock();
        let head = feed.head();
        if since < feed.oldest || since > head {
            return MarketingChanges::Everything { head };
        }
        let skip = usize::try_from(since - feed.oldest).unwrap_or(usize::MAX);
        let ids: BTreeSet<&CustomerId> = feed.log.iter().skip(skip).collect();
        MarketingChanges::Customers {
            ids: ids.into_iter().cloned().collect(),
            head,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> CustomerId {
        CustomerId::parse(s).unwrap()
    }

    #[test]
    fn a_reader_gets_each_changed_customer_once_from_its_position() {
        let feed = ChangeFeed::default();
        let start = feed.head();
        feed.note([&id("c2"), &id("c1")]);
        feed.note([&id("c2")]);
        assert_eq!(
            feed.since(start),
            MarketingChanges::Customers {
                ids: vec![id("c1"), id("c2")],
                head: start + 3
            }
        );
        assert_eq!(
            feed.since(start + 3),
            MarketingChanges::Customers {
                ids: vec![],
                head: start + 3
            }
        );
        assert_eq!(
            feed.since(start + 2),
            MarketingChanges::Customers {
                ids: vec![id("c2")],
                head: start + 3
            }
        );
    }

    #[test]
    fn a_change_to_everyone_or_a_reader_left_behind_reloads_everything() {
        let feed = ChangeFeed::default();
        feed.note([&id("c1")]);
        let before = feed.head();
        feed.note_everything();
        let head = feed.head();
        assert_eq!(feed.since(before), MarketingChanges::Everything { head });
        feed.note([&id("c3")]);
        assert_eq!(
            feed.since(head),
            MarketingChanges::Customers {
                ids: vec![id("c3")],
                head: head + 1
            }
        );

        let ids: Vec<CustomerId> = (0..CHANGE_FEED_CAPACITY + 1)
            .map(|i| id(&format!("c{i}")))
            .collect();
        let position = feed.head();
        feed.note(&ids);
        assert!(matches!(
            feed.since(position),
            MarketingChanges::Everything { .. }
        ));
        assert!(
            matches!(feed.since(feed.head() - 1), MarketingChanges::Customers { ids, .. } if ids.len() == 1)
        );
        assert!(matches!(
            feed.since(feed.head() + 5),
            MarketingChanges::Everything { .. }
        ));
    }
}
