//! Sliding windows in constant time per event: a window of `span` is a ring of equal
//! buckets; an event adds to its bucket and to the running total, and moving the ring forward
//! clears the buckets that fall out (at most the ring's length, a constant). The price is
//! granularity: a window counts the events of the last `span`, give or take one bucket.

use serde::{Deserialize, Serialize};

/// What one bucket (and a window's total) holds about a customer's payments.
/// Written as an array of its ten numbers in field order: a customer's state holds 134 of
/// them, recorded with every payment assessment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "[i64; 10]", into = "[i64; 10]")]
pub struct Tally {
    /// Completed payments out of the account.
    pub debit_count: u32,
    pub debit_minor: i64,
    /// Completed payments into the account.
    pub credit_count: u32,
    pub credit_minor: i64,
    /// Of the debits, what the customer chose to spend or move: purchases, cash and
    /// transfers out (not bills, repayments, instalments or investments, which recur and
    /// would make every rent day a spike).
    pub discretionary_minor: i64,
    /// Of the credits, transfers in (not salary or refunds): what a mule receives.
    pub transfer_in_minor: i64,
    /// Of the debits, transfers out and cash: how a mule passes money on.
    pub moved_out_minor: i64,
    /// Card purchases at or under the card-testing amount.
    pub small_card_count: u32,
    /// ATM withdrawals and transfers out just under the reporting threshold.
    pub near_threshold_count: u32,
    /// Payments that failed.
    pub failed_count: u32,
}

impl From<Tally> for [i64; 10] {
    fn from(t: Tally) -> Self {
        [
            i64::from(t.debit_count),
            t.debit_minor,
            i64::from(t.credit_count),
            t.credit_minor,
            t.discretionary_minor,
            t.transfer_in_minor,
            t.moved_out_minor,
            i64::from(t.small_card_count),
            i64::from(t.near_threshold_count),
            i64::from(t.failed_count),
        ]
    }
}

impl From<[i64; 10]> for Tally {
    fn from(a: [i64; 10]) -> Self {
        let count = |v: i64| u32::try_from(v).unwrap_or(u32::MAX);
        Tally {
            debit_count: count(a[0]),
            debit_minor: a[1],
            credit_count: count(a[2]),
            credit_minor: a[3],
            discretionary_minor: a[4],
            transfer_in_minor: a[5],
            moved_out_minor: a[6],
            small_card_count: count(a[7]),
            near_threshold_count: count(a[8]),
            failed_count: count(a[9]),
        }
    }
}

impl Tally {
    fn add(&mut self, other: &Tally) {
        self.debit_count += other.debit_count;
        self.debit_minor += other.debit_minor;
        self.credit_count += other.credit_count;
        self.credit_minor += other.credit_minor;
        self.discretionary_minor += other.discretionary_minor;
        self.transfer_in_minor += other.transfer_in_minor;
        self.moved_out_minor += other.moved_out_minor;
        self.small_card_count += other.small_card_count;
        self.near_threshold_count += other.near_threshold_count;
        self.failed_count += other.failed_count;
    }

    fn subtract(&mut self, other: &Tally) {
        self.debit_count -= other.debit_count;
        self.debit_minor -= other.debit_minor;
        self.credit_count -= other.credit_count;
        self.credit_minor -= other.credit_minor;
        self.discretionary_minor -= other.discretionary_minor;
        self.transfer_in_minor -= other.transfer_in_minor;
        self.moved_out_minor -= other.moved_out_minor;
        self.small_card_count -= other.small_card_count;
        self.near_threshold_count -= other.near_threshold_count;
        self.failed_count -= other.failed_count;
    }
}

/// One sliding window: `buckets` buckets of `bucket_ms` each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Window {
    bucket_ms: i64,
    ring: Box<[Tally]>,
    /// The absolute number (time / bucket_ms) of the newest bucket; buckets older than
    /// `head - len + 1` are cleared.
    head: i64,
    total: Tally,
}

impl Window {
    pub fn new(bucket_ms: i64, buckets: usize) -> Window {
        assert!(bucket_ms > 0 && buckets > 0, "a window has time in it");
        Window {
            bucket_ms,
            ring: vec![Tally::default(); buckets].into_boxed_slice(),
            head: i64::MIN,
            total: Tally::default(),
        }
    }

    pub fn span_ms(&self) -> i64 {
        self.bucket_ms * self.ring.len() as i64
    }

    fn slot(&self, bucket: i64) -> usize {
        bucket.rem_euclid(self.ring.len() as i64) as usize
    }

    /// Moves the newest bucket forward to the one holding `at_ms`, clearing what falls out.
    pub fn advance(&mut self, at_ms: i64) {
        let bucket = at_ms.div_euclid(self.bucket_ms);
        if self.head == i64::MIN || bucket - self.head >= self.ring.len() as i64 {
            self.ring.fill(Tally::default());
            self.total = Tally::default();
            self.head = bucket;
            return;
        }
        while self.head < bucket {
            self.head += 1;
            let slot = self.slot(self.head);
            let gone = std::mem::take(&mut self.ring[slot]);
            self.total.subtract(&gone);
        }
    }

    /// Adds a payment made at `at_ms`; one older than the window is not counted (it can no
    /// longer be in the window).
    pub fn add(&mut self, at_ms: i64, tally: &Tally) {
        self.advance(at_ms);
        let bucket = at_ms.div_euclid(self.bucket_ms);
        if bucket <= self.head - self.ring.len() as i64 {
            return;
        }
        let slot = self.slot(bucket);
        self.ring[slot].add(tally);
        self.total.add(tally);
    }

    /// The largest of `value` over the window's buckets, leaving out the newest `skip`.
    pub fn max_before(&self, skip: usize, value: impl Fn(&Tally) -> i64) -> i64 {
        if self.head == i64::MIN {
            return 0; // nothing added yet
        }
        let len = self.ring.len() as i64;
        (skip as i64..len)
            .map(|back| value(&self.ring[self.slot(self.head - back)]))
            .max()
            .unwrap_or(0)
    }

    /// The window's total as of the newest event (call [`Window::advance`] first to read it
    /// at a later time).
    pub fn total(&self) -> &Tally {
        &self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn debit(minor: i64) -> Tally {
        Tally {
            debit_count: 1,
            debit_minor: minor,
            ..Tally::default()
        }
    }

    #[test]
    fn events_leave_the_window_when_their_bucket_does() {
        // Ten one-minute buckets: a ten-minute window.
        let mut w = Window::new(60_000, 10);
        w.add(0, &debit(100));
        w.add(30_000, &debit(50));
        w.add(5 * 60_000, &debit(7));
        assert_eq!(w.total().debit_minor, 157);
        w.advance(10 * 60_000);
        assert_eq!(w.total().debit_minor, 7, "the first minute's bucket left");
        w.advance(16 * 60_000);
        assert_eq!(*w.total(), Tally::default());
        // A late event inside the window counts; one older than the window does not.
        w.add(12 * 60_000, &debit(3));
        w.add(2 * 60_000, &debit(1_000));
        assert_eq!(w.total().debit_minor, 3);
    }

    proptest! {
        /// The running total equals a recount of the events whose bucket is within the
        /// window, whatever the order and gaps of the events.
        #[test]
        fn the_total_is_a_recount(times in proptest::collection::vec(0i64..40 * 60_000, 1..80)) {
            let mut w = Window::new(60_000, 10);
            let mut seen: Vec<i64> = Vec::new();
            for (i, &t) in times.iter().enumerate() {
                w.add(t, &debit(i as i64 + 1));
                seen.push(t);
                let head = seen.iter().map(|t| t.div_euclid(60_000)).max().unwrap();
                let expected: i64 = times[..=i]
                    .iter()
                    .enumerate()
                    .filter(|(j, t)| {
                        let b = t.div_euclid(60_000);
                        // Counted if in the window when it arrived and still in it now.
                        let head_then = times[..=*j].iter().map(|t| t.div_euclid(60_000)).max().unwrap();
                        b > head_then - 10 && b > head - 10
                    })
                    .map(|(j, _)| j as i64 + 1)
                    .sum();
                prop_assert_eq!(w.total().debit_minor, expected);
            }
        }
    }
}
