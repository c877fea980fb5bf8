//! Month-by-month spending mix: the sequence the embedding model reads.

use chrono::{DateTime, Months, Utc};
use sextant_domain::{Currency, Direction, PaymentEvent, PaymentStatus, RateTable};

use crate::categories::{self, COUNT};

/// Longest sequence served: ten years, far beyond what any model here reads; bounds the
/// output at `120 * COUNT` numbers.
pub const MAX_SEQUENCE_MONTHS: usize = 120;

/// Monthly debit-spending shares per category for the `months` month-long periods ending at
/// `as_of`, oldest first, flattened to `months * COUNT` values. Each month's shares sum to 1,
/// or are all zero for a month without categorised spending.
///
/// A period is a calendar month long and anchored at `as_of` (the latest is
/// `(as_of - 1 month, as_of]`), so with `as_of` at the end of a month the periods are exactly
/// the calendar months and the latest one is never a partial month. Spending here is
/// completed debits carrying an MCC, as for the `spend_share_*` features, in `base`
/// currency: foreign amounts are converted at their day's rate from `rates`, and one without a
/// usable rate is left out (the features list it).
///
/// # Panics
/// When `months` exceeds [`MAX_SEQUENCE_MONTHS`]: a caller bug.
pub fn category_sequence(
    payments: &[PaymentEvent],
    base: Currency,
    rates: &RateTable,
    as_of: DateTime<Utc>,
    months: usize,
) -> Vec<f32> {
    assert!(
        months <= MAX_SEQUENCE_MONTHS,
        "{months} months requested; the limit is {MAX_SEQUENCE_MONTHS}"
    );
    let ends = period_ends_ms(as_of, months);
    let mut sums = vec![[0i128; COUNT]; months];
    for p in payments {
        let Some(mcc) = p.mcc else { continue };
        if p.status != PaymentStatus::Completed || p.direction != Direction::Debit {
            continue;
        }
        let t = p.occurred_at.timestamp_millis();
        if t > ends[0] {
            continue;
        }
        // `ends` decreases; the number of later period ends at or after `t` is its period.
        let k = ends[1..].partition_point(|&end| end >= t);
        let Some(month) = sums.get_mut(k) else {
            continue;
        };
        let amount = if p.currency == base {
            Ok(p.amount.get())
        } else {
            rates.convert(p.amount.get(), p.currency, base, p.occurred_at.date_naive())
        };
        if let Ok(amount) = amount {
            month[categories::of_mcc(mcc).index()] += i128::from(amount);
        }
    }
    let mut out = Vec::with_capacity(months * COUNT);
    for month in sums.iter().rev() {
        let total = month.iter().sum::<i128>();
        for &amount in month {
            let share = if total > 0 {
                amount as f64 / total as f64
            } else {
                0.0
            };
            out.push(share as f32);
        }
    }
    out
}

/// `ends[k]` = `as_of` minus `k` months, for `k` in `0..=months`.
fn period_ends_ms(as_of: DateTime<Utc>, months: usize) -> Vec<i64> {
    const MEAN_MONTH_MS: i64 = 2_629_746_000;
    let as_of_ms = as_of.timestamp_millis();
    (0..=months)
        .map(|k| {
            as_of
                .checked_sub_months(Months::new(k as u32))
                .map_or(as_of_ms - k as i64 * MEAN_MONTH_MS, |t| {
                    t.timestamp_millis()
                })
        })
        .collect()
}
