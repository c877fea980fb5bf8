//! The observation window: calendar arithmetic done once per customer, so generators work in
//! plain day indices (day 0 = the window's first day) and seconds.

use std::ops::Range;

use chrono::{DateTime, Datelike, Months, NaiveDate, NaiveTime, Utc};

pub(crate) const DAY_S: i64 = 86_400;

/// One calendar month that overlaps the window. `first_day` may be negative when the window
/// starts mid-month; generators filter by [`Window::contains`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct MonthSpan {
    pub year: i32,
    /// 1..=12.
    pub month: u32,
    pub first_day: i32,
    pub length_days: u32,
}

impl MonthSpan {
    /// Window day of a day of the month, clamped to the month (a "31st" is the last day).
    pub(crate) fn day(&self, day_of_month: u32) -> i32 {
        self.first_day + day_of_month.clamp(1, self.length_days) as i32 - 1
    }

    pub(crate) fn days(&self) -> Range<i32> {
        self.first_day..self.first_day + self.length_days as i32
    }
}

/// `[first_day 00:00, end_date 24:00)` in UTC: `months` calendar months ending on `end_date`.
#[derive(Debug, Clone)]
pub(crate) struct Window {
    pub end_date: NaiveDate,
    pub days: i32,
    pub start_s: i64,
    first_weekday: i32,
    pub months: Vec<MonthSpan>,
}

impl Window {
    pub(crate) fn new(end_date: NaiveDate, months: u32) -> Window {
        let first_day = end_date
            .checked_sub_months(Months::new(months))
            .and_then(|d| d.succ_opt())
            .expect("Config::validate keeps the window inside chrono's calendar");
        let days = (end_date - first_day).num_days() as i32 + 1;
        let start_s = first_day.and_time(NaiveTime::MIN).and_utc().timestamp();
        let mut spans = Vec::with_capacity(months as usize + 1);
        let mut cursor = first_day.with_day(1).expect("every month has a first day");
        while cursor <= end_date {
            let next = cursor
                .checked_add_months(Months::new(1))
                .expect("validated end dates are far from chrono's limits");
            spans.push(MonthSpan {
                year: cursor.year(),
                month: cursor.month(),
                first_day: (cursor - first_day).num_days() as i32,
                length_days: (next - cursor).num_days() as u32,
            });
            cursor = next;
        }
        Window {
            end_date,
            days,
            start_s,
            first_weekday: first_day.weekday().num_days_from_monday() as i32,
            months: spans,
        }
    }

    pub(crate) fn contains(&self, day: i32) -> bool {
        (0..self.days).contains(&day)
    }

    /// Exclusive end of the window in Unix seconds.
    pub(crate) fn end_s(&self) -> i64 {
        self.start_s + i64::from(self.days) * DAY_S
    }

    /// 0 = Monday .. 6 = Sunday.
    pub(crate) fn weekday(&self, day: i32) -> i32 {
        (self.first_weekday + day).rem_euclid(7)
    }

    pub(crate) fn is_weekend(&self, day: i32) -> bool {
        self.weekday(day) >= 5
    }

    /// Banks credit salaries on the last working day before a weekend payday.
    pub(crate) fn workday_on_or_before(&self, mut day: i32) -> i32 {
        while self.is_weekend(day) {
            day -= 1;
        }
        day
    }

    pub(crate) fn at(&self, day: i32, second_of_day: u32) -> i64 {
        self.start_s + i64::from(day) * DAY_S + i64::from(second_of_day.min(86_399))
    }

    pub(crate) fn day_of(&self, at_s: i64) -> i32 {
        (at_s - self.start_s).div_euclid(DAY_S) as i32
    }

    /// Index into `months` of the month holding `day` (days outside clamp to the first or
    /// last month).
    pub(crate) fn month_index(&self, day: i32) -> usize {
        self.months
            .partition_point(|m| m.first_day <= day)
            .saturating_sub(1)
    }

    /// True when the month lies wholly inside the window (used for per-month statistics).
    pub(crate) fn is_full_month(&self, span: &MonthSpan) -> bool {
        span.first_day >= 0 && span.first_day + span.length_days as i32 <= self.days
    }

    pub(crate) fn timestamp(&self, at_s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(at_s, 0).expect("window timestamps lie in chrono's range")
    }

    /// The moment ages and adulthood are judged at: the end of the window.
    pub(crate) fn judged_at(&self) -> DateTime<Utc> {
        self.timestamp(self.end_s() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("test date")
    }

    #[test]
    fn twelve_months_to_october_start_in_november() {
        let w = Window::new(date(2026, 10, 31), 12);
        assert_eq!(w.days, 365);
        assert_eq!(w.months.len(), 12);
        assert_eq!(w.months[0].first_day, 0);
        assert_eq!((w.months[0].year, w.months[0].month), (2025, 11));
        assert_eq!(w.timestamp(w.start_s).date_naive(), date(2025, 11, 1));
        assert_eq!(w.judged_at().date_naive(), date(2026, 10, 31));
        // 2025-11-01 was a Saturday.
        assert_eq!(w.weekday(0), 5);
        assert_eq!(w.workday_on_or_before(1), -1);
    }

    #[test]
    fn mid_month_end_gives_partial_months() {
        let w = Window::new(date(2026, 3, 15), 2);
        assert_eq!(w.timestamp(w.start_s).date_naive(), date(2026, 1, 16));
        assert_eq!(w.months.len(), 3);
        assert!(w.months[0].first_day < 0);
        assert!(!w.is_full_month(&w.months[0]));
        assert!(w.is_full_month(&w.months[1]));
        assert_eq!(w.months[w.month_index(20)].month, 2);
        assert_eq!(w.months[w.month_index(-3)].month, 1);
        assert_eq!(w.months[1].day(31), w.months[1].first_day + 27);
    }
}
