//! Time arithmetic done once per customer, so the passes compare plain milliseconds.

use chrono::{DateTime, Months, NaiveDate, Utc};

const DAY_MS: i64 = 86_400_000;
/// Fallback month length for dates at the edge of chrono's calendar.
const MEAN_MONTH_MS: i64 = 2_629_746_000;

/// Monthly statistics look back this many month-long periods.
pub(crate) const MONTHS: usize = 12;

/// A month-long period may count toward monthly statistics when the history began no later
/// than this far into it: a customer who joined on the 3rd still has a representative month,
/// one who joined on the 25th does not.
const PARTIAL_MONTH_GRACE_MS: i64 = 10 * DAY_MS;

/// The windows of one `as_of`. A window of `d` days holds the events with
/// `as_of - d days < t <= as_of`.
#[derive(Debug, Clone)]
pub(crate) struct Clock {
    pub as_of_ms: i64,
    pub start_30d_ms: i64,
    pub start_90d_ms: i64,
    pub start_365d_ms: i64,
    /// `month_ends_ms[k]` is `as_of` minus `k` calendar months; period `k` (0 = the latest)
    /// is `(month_ends_ms[k + 1], month_ends_ms[k]]`. Anchoring at `as_of` keeps every period
    /// a whole month long, so a monthly salary lands once in each.
    pub month_ends_ms: [i64; MONTHS + 1],
    as_of_date: NaiveDate,
}

impl Clock {
    pub(crate) fn new(as_of: DateTime<Utc>) -> Clock {
        let as_of_ms = as_of.timestamp_millis();
        let mut month_ends_ms = [as_of_ms; MONTHS + 1];
        for (k, end) in month_ends_ms.iter_mut().enumerate() {
            *end = as_of
                .checked_sub_months(Months::new(k as u32))
                .map_or(as_of_ms - k as i64 * MEAN_MONTH_MS, |t| {
                    t.timestamp_millis()
                });
        }
        Clock {
            as_of_ms,
            start_30d_ms: as_of_ms - 30 * DAY_MS,
            start_90d_ms: as_of_ms - 90 * DAY_MS,
            start_365d_ms: as_of_ms - 365 * DAY_MS,
            month_ends_ms,
            as_of_date: as_of.date_naive(),
        }
    }

    pub(crate) fn as_of(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.as_of_ms).unwrap_or_default()
    }

    /// The UTC day of `as_of`: the date whose rates value holdings.
    pub(crate) fn as_of_date(&self) -> NaiveDate {
        self.as_of_date
    }

    pub(crate) fn in_30d(&self, t_ms: i64) -> bool {
        t_ms > self.start_30d_ms && t_ms <= self.as_of_ms
    }

    pub(crate) fn in_90d(&self, t_ms: i64) -> bool {
        t_ms > self.start_90d_ms && t_ms <= self.as_of_ms
    }

    pub(crate) fn in_365d(&self, t_ms: i64) -> bool {
        t_ms > self.start_365d_ms && t_ms <= self.as_of_ms
    }

    /// Which month-long period holds `t_ms` (0 = the latest), if any.
    pub(crate) fn month_of(&self, t_ms: i64) -> Option<usize> {
        if t_ms > self.as_of_ms || t_ms <= self.month_ends_ms[MONTHS] {
            return None;
        }
        // The periods run backwards from as_of; the first end strictly before t closes it.
        (0..MONTHS).find(|&k| t_ms > self.month_ends_ms[k + 1])
    }

    /// How many of the latest periods the history covers, given its first payment: at least
    /// one once there is any history, so a brand-new customer still has a "month".
    pub(crate) fn observed_months(&self, first_ms: Option<i64>) -> usize {
        let Some(first_ms) = first_ms else { return 0 };
        let covered = (0..MONTHS)
            .take_while(|&k| first_ms <= self.month_ends_ms[k + 1] + PARTIAL_MONTH_GRACE_MS)
            .count();
        covered.max(1)
    }

    /// Days from `t_ms` to `as_of`, never negative.
    pub(crate) fn days_since(&self, t_ms: i64) -> f64 {
        (self.as_of_ms - t_ms).max(0) as f64 / DAY_MS as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn periods_are_calendar_months_at_a_month_end() {
        let as_of = Utc.with_ymd_and_hms(2026, 10, 31, 23, 59, 59).unwrap();
        let clock = Clock::new(as_of);
        let at = |m, d| {
            Utc.with_ymd_and_hms(2026, m, d, 12, 0, 0)
                .unwrap()
                .timestamp_millis()
        };
        assert_eq!(clock.month_of(at(10, 1)), Some(0));
        assert_eq!(clock.month_of(at(9, 30)), Some(1));
        assert_eq!(clock.month_of(at(2, 28)), Some(8));
        let nov_2025 = Utc.with_ymd_and_hms(2025, 11, 1, 0, 0, 0).unwrap();
        assert_eq!(clock.month_of(nov_2025.timestamp_millis()), Some(11));
        assert_eq!(clock.month_of(nov_2025.timestamp_millis() - 1_000), None);
        assert_eq!(clock.month_of(as_of.timestamp_millis() + 1), None);
    }

    #[test]
    fn windows_exclude_their_start_and_include_as_of() {
        let as_of = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
        let clock = Clock::new(as_of);
        assert!(clock.in_30d(clock.as_of_ms));
        assert!(!clock.in_30d(clock.as_of_ms + 1));
        assert!(!clock.in_30d(clock.start_30d_ms));
        assert!(clock.in_30d(clock.start_30d_ms + 1));
    }

    #[test]
    fn observed_months_follow_the_first_payment() {
        let as_of = Utc.with_ymd_and_hms(2026, 10, 31, 23, 59, 59).unwrap();
        let clock = Clock::new(as_of);
        assert_eq!(clock.observed_months(None), 0);
        let since = |y, m, d| {
            Some(
                Utc.with_ymd_and_hms(y, m, d, 9, 0, 0)
                    .unwrap()
                    .timestamp_millis(),
            )
        };
        assert_eq!(clock.observed_months(since(2020, 1, 1)), 12);
        assert_eq!(clock.observed_months(since(2025, 11, 2)), 12);
        assert_eq!(clock.observed_months(since(2026, 8, 5)), 3);
        assert_eq!(clock.observed_months(since(2026, 8, 25)), 2);
        assert_eq!(clock.observed_months(since(2026, 10, 30)), 1);
    }
}
