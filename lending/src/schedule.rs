//! Repayment schedules in whole minor units, and the APR of their cash flows.
//!
//! The rules (quoted by the API documentation; change them only with a new
//! [`super::ENGINE_VERSION`]):
//!
//! - Money is integer minor units with `i128` intermediates; the only float is the APR.
//! - Interest for a month is `balance x rate_bps / 120_000`, rounded half up to the minor unit
//!   (a month is 1/12 of a year whatever its length).
//! - Interest-bearing terms (`rate_bps > 0`): one level payment `A` (without the fee). `A` is
//!   the smallest whole amount with which `months - 1` payments of `A` leave a last instalment
//!   (balance plus its interest) of at most `A`: the annuity `P r / (1 - (1 + r)^-n)` rounded
//!   up to the minor unit, found by an exact integer search rather than with powers of a
//!   float, so that it is the same on every machine. Because the interest of each month is
//!   rounded, it can differ from the rounded-up float annuity by a unit either way; it never
//!   leaves a last instalment above `A`.
//! - Interest-free terms (`rate_bps == 0`): the principal split evenly, the remainder one unit
//!   each on the first instalments (`1000 / 3` pays 334, 333, 333).
//! - The last instalment repays the remaining balance exactly, so the principal parts sum to
//!   the principal and the balance ends at zero.
//! - The fee is one amount charged with the first instalment; it bears no interest.
//!   `monthly_payment_minor` is the largest instalment without the fee.
//! - `total_repayable = principal + interest + fee = sum of payments`.
//! - Due dates: instalment `k` falls `k` months after the anchor date ([`schedule_after`]) or
//!   `k - 1` months after the first due date ([`schedule`]), the day clamped to the end of
//!   shorter months, always counted from the anchor (31 Jan -> 28/29 Feb, 31 Mar, 30 Apr).
//! - APR: the annual percentage rate of charge of the EU Consumer Credit Directive: the
//!   monthly rate `i` at which the payments, discounted, equal the principal lent (paid out on
//!   the anchor date), then `(1 + i)^12 - 1`, in percent rounded to 2 decimals. Time is
//!   counted in equal months (Annex I allows "12 equal months"); `i` is found by bisection
//!   with plain arithmetic only, so it too is reproducible.

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::{LendingError, Result};
use sextant_domain::AmountMinor;

/// Longest term any schedule may have: ten years of monthly instalments.
pub const MAX_TERM_MONTHS: u32 = 120;
/// Highest nominal annual rate a schedule accepts (100%); policies are far below.
pub const MAX_RATE_BPS: u32 = 10_000;
/// `rate_bps` per month is over this denominator: 12 months x 10,000 basis points.
const MONTHLY_RATE_DENOMINATOR: i128 = 120_000;

/// A priced credit offer and its schedule. Invariants (tested): the principal parts sum to
/// `principal_minor`, the last balance is zero, `total_repayable_minor` is the sum of the
/// payments and equals principal plus `total_cost_minor`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstalmentPlan {
    pub months: u32,
    pub principal_minor: i64,
    /// One-off fee, charged with the first instalment.
    pub fee_minor: i64,
    /// Nominal annual interest rate in basis points (0: interest-free).
    pub nominal_rate_bps: u32,
    /// Annual percentage rate of charge, fee included, in percent to 2 decimals.
    pub apr_percent: f64,
    /// The largest instalment without the fee (the level payment; later ones may be smaller).
    pub monthly_payment_minor: i64,
    pub total_interest_minor: i64,
    /// Interest plus fee.
    pub total_cost_minor: i64,
    pub total_repayable_minor: i64,
    pub schedule: Vec<Instalment>,
}

/// One instalment: `payment = principal + interest + fee`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instalment {
    /// 1-based.
    pub number: u32,
    pub due_date: NaiveDate,
    pub payment_minor: i64,
    pub principal_minor: i64,
    pub interest_minor: i64,
    pub fee_minor: i64,
    pub balance_after_minor: i64,
}

/// The plan for `principal_minor` over `months` instalments, the first due on `first_due` and
/// each later one a calendar month after the previous (counted from `first_due`, day clamped
/// to month end). Errors name the offending argument; a principal too small to give every
/// instalment a positive principal part is refused.
pub fn schedule(
    principal_minor: i64,
    months: u32,
    nominal_rate_bps: u32,
    fee_minor: i64,
    first_due: NaiveDate,
) -> Result<InstalmentPlan> {
    build(
        principal_minor,
        months,
        nominal_rate_bps,
        fee_minor,
        first_due,
        0,
    )
}

/// As [`schedule`], with instalment `k` due `k` months after `as_of` (the purchase or payout
/// date). This is what [`super::decide`] uses: a purchase on 31 January is due on the last
/// day of every month, not on the 28th from March on.
pub fn schedule_after(
    principal_minor: i64,
    months: u32,
    nominal_rate_bps: u32,
    fee_minor: i64,
    as_of: NaiveDate,
) -> Result<InstalmentPlan> {
    build(
        principal_minor,
        months,
        nominal_rate_bps,
        fee_minor,
        as_of,
        1,
    )
}

/// The largest instalment without fee for `principal_minor` over `months` at
/// `nominal_rate_bps`, by the rules of the module. Defined (and monotone non-decreasing in
/// the principal) for every principal >= 0, including those too small for a full schedule;
/// the decision uses it for affordability.
///
/// # Panics
///
/// Outside the ranges [`schedule`] checks and returns as errors: `months` in
/// `1..=MAX_TERM_MONTHS`, `nominal_rate_bps` at most `MAX_RATE_BPS`, `principal_minor` in
/// `0..=AmountMinor::MAX`.
pub fn monthly_payment(principal_minor: i64, months: u32, nominal_rate_bps: u32) -> i64 {
    assert!(
        (1..=MAX_TERM_MONTHS).contains(&months)
            && nominal_rate_bps <= MAX_RATE_BPS
            && (0..=AmountMinor::MAX).contains(&principal_minor),
        "arguments out of range"
    );
    let principal = i128::from(principal_minor);
    let n = i128::from(months);
    let payment = if nominal_rate_bps == 0 {
        (principal + n - 1) / n
    } else {
        level_payment(principal, months, i128::from(nominal_rate_bps))
    };
    i64::try_from(payment).expect("at most principal plus one month's interest")
}

fn build(
    principal_minor: i64,
    months: u32,
    nominal_rate_bps: u32,
    fee_minor: i64,
    anchor: NaiveDate,
    offset_months: u32,
) -> Result<InstalmentPlan> {
    let (level, rows) = rows(
        principal_minor,
        months,
        nominal_rate_bps,
        fee_minor,
        anchor,
        offset_months,
    )?;
    let total_interest: i64 = rows.iter().map(|r| r.interest_minor).sum();
    let total_repayable: i64 = rows.iter().map(|r| r.payment_minor).sum();
    let payments: Vec<i64> = rows.iter().map(|r| r.payment_minor).collect();
    Ok(InstalmentPlan {
        months,
        principal_minor,
        fee_minor,
        nominal_rate_bps,
        apr_percent: apr_percent(principal_minor, &payments),
        monthly_payment_minor: level,
        total_interest_minor: total_interest,
        total_cost_minor: total_interest + fee_minor,
        total_repayable_minor: total_repayable,
        schedule: rows,
    })
}

/// Whether a schedule can be built (the arguments are in range and every instalment repays
/// some principal), without its dates and APR.
pub(crate) fn check_feasible(
    principal_minor: i64,
    months: u32,
    nominal_rate_bps: u32,
) -> Result<()> {
    let anchor = NaiveDate::from_ymd_opt(2000, 1, 1).expect("a valid date");
    rows(principal_minor, months, nominal_rate_bps, 0, anchor, 0).map(|_| ())
}

/// The level payment and the instalments.
fn rows(
    principal_minor: i64,
    months: u32,
    nominal_rate_bps: u32,
    fee_minor: i64,
    anchor: NaiveDate,
    offset_months: u32,
) -> Result<(i64, Vec<Instalment>)> {
    check_arguments(principal_minor, months, nominal_rate_bps, fee_minor)?;
    let principal = i128::from(principal_minor);
    let bps = i128::from(nominal_rate_bps);
    let n = i128::from(months);
    let level = i128::from(monthly_payment(principal_minor, months, nominal_rate_bps));

    let mut balance = principal;
    let mut rows = Vec::with_capacity(months as usize);
    for k in 1..=months {
        let interest = monthly_interest(balance, bps);
        let principal_part = if k == months {
            balance
        } else if bps == 0 {
            // Even split, the remainder one unit each on the first instalments.
            principal / n + i128::from(i128::from(k) <= principal % n)
        } else {
            level - interest
        };
        if principal_part < 1 {
            return Err(LendingError::invalid(
                "principal_minor",
                format!(
                    "{principal_minor} is too small to spread over {months} instalments at \
                     {nominal_rate_bps} bps: instalment {k} would repay no principal"
                ),
            ));
        }
        balance -= principal_part;
        let fee = if k == 1 { i128::from(fee_minor) } else { 0 };
        let due_date = anchor
            .checked_add_months(Months::new(k - 1 + offset_months))
            .ok_or_else(|| LendingError::invalid("as_of", "due dates beyond the calendar"))?;
        rows.push(Instalment {
            number: k,
            due_date,
            payment_minor: to_i64(principal_part + interest + fee),
            principal_minor: to_i64(principal_part),
            interest_minor: to_i64(interest),
            fee_minor: to_i64(fee),
            balance_after_minor: to_i64(balance),
        });
    }
    debug_assert_eq!(balance, 0);
    // The last instalment is never the largest (without fee): a property of the level
    // payment's definition, asserted because the plan's `monthly_payment_minor` relies on it.
    let last = rows.last().expect("months >= 1");
    assert!(last.payment_minor - last.fee_minor <= to_i64(level));
    Ok((to_i64(level), rows))
}

fn check_arguments(principal_minor: i64, months: u32, rate_bps: u32, fee_minor: i64) -> Result<()> {
    if !(1..=AmountMinor::MAX).contains(&principal_minor) {
        return Err(LendingError::invalid(
            "principal_minor",
            format!("{principal_minor} is not in 1..={}", AmountMinor::MAX),
        ));
    }
    if !(1..=MAX_TERM_MONTHS).contains(&months) {
        return Err(LendingError::invalid(
            "months",
            format!("{months} is not in 1..={MAX_TERM_MONTHS}"),
        ));
    }
    if rate_bps > MAX_RATE_BPS {
        return Err(LendingError::invalid(
            "nominal_rate_bps",
            format!("{rate_bps} is above {MAX_RATE_BPS}"),
        ));
    }
    if !(0..=AmountMinor::MAX).contains(&fee_minor) {
        return Err(LendingError::invalid(
            "fee_minor",
            format!("{fee_minor} is not in 0..={}", AmountMinor::MAX),
        ));
    }
    Ok(())
}

fn to_i64(value: i128) -> i64 {
    i64::try_from(value).expect("bounded by principal plus fee plus interest")
}

/// `balance x bps / 120_000`, rounded half up (towards +infinity on ties, also for the
/// negative balances the payment search visits).
fn monthly_interest(balance: i128, bps: i128) -> i128 {
    (2 * balance * bps + MONTHLY_RATE_DENOMINATOR).div_euclid(2 * MONTHLY_RATE_DENOMINATOR)
}

/// What the last of `months` instalments must be when the others pay `payment`.
fn last_instalment(principal: i128, months: u32, bps: i128, payment: i128) -> i128 {
    let mut balance = principal;
    for _ in 1..months {
        balance += monthly_interest(balance, bps) - payment;
    }
    balance + monthly_interest(balance, bps)
}

/// The smallest `A` with `last_instalment(A) <= A`. The last instalment does not increase
/// with `A` (interest rounding is monotone in the balance), so the condition is monotone and
/// a search finds the boundary exactly; the float annuity only tells it where to start.
fn level_payment(principal: i128, months: u32, bps: i128) -> i128 {
    if principal == 0 {
        return 0;
    }
    let r = bps as f64 / MONTHLY_RATE_DENOMINATOR as f64;
    let guess = principal as f64 * r / (1.0 - (1.0 + r).powi(-(months as i32)));
    // Paying everything with the first instalment always satisfies the condition.
    let ceiling = principal + monthly_interest(principal, bps);
    first_true(0, ceiling, guess.ceil() as i128, |payment| {
        last_instalment(principal, months, bps, payment) <= payment
    })
}

/// The smallest `x` in `floor..=ceiling` with `holds(x)`, where `holds` is false below some
/// point and true from it on, and `holds(ceiling)`. The search starts at `guess` and widens
/// geometrically before it bisects, so a close guess costs a few evaluations; the answer
/// does not depend on the guess (any `guess` gives the same `x`).
pub(crate) fn first_true(
    floor: i128,
    ceiling: i128,
    guess: i128,
    holds: impl Fn(i128) -> bool,
) -> i128 {
    let guess = guess.clamp(floor, ceiling);
    // Invariant: `holds(high)`, and `!holds(low)` or `low == floor - 1`.
    let (mut low, mut high);
    let mut step = 1;
    if holds(guess) {
        high = guess;
        loop {
            let probe = high - step;
            if probe < floor {
                low = floor - 1;
                break;
            }
            if !holds(probe) {
                low = probe;
                break;
            }
            high = probe;
            step *= 4;
        }
    } else {
        low = guess;
        loop {
            let probe = (low + step).min(ceiling);
            if holds(probe) {
                high = probe;
                break;
            }
            assert!(probe < ceiling, "`holds(ceiling)` is required");
            low = probe;
            step *= 4;
        }
    }
    while high - low > 1 {
        let mid = low + (high - low) / 2;
        if holds(mid) {
            high = mid;
        } else {
            low = mid;
        }
    }
    high
}

/// Present value at monthly rate `i` of payments at months 1, 2, ... minus the principal.
fn net_present_value(principal: f64, payments: &[i64], i: f64) -> f64 {
    let factor = 1.0 / (1.0 + i);
    let mut discount = 1.0;
    let mut value = -principal;
    for &payment in payments {
        discount *= factor;
        value += payment as f64 * discount;
    }
    value
}

/// APR in percent to 2 decimals of lending `principal` now against `payments` monthly.
fn apr_percent(principal_minor: i64, payments: &[i64]) -> f64 {
    let principal = principal_minor as f64;
    let total: i64 = payments.iter().sum();
    if total <= principal_minor {
        return 0.0;
    }
    // NPV falls as the rate rises; find a rate where it is negative, then bisect.
    let (mut low, mut high) = (0.0_f64, 1.0_f64);
    while net_present_value(principal, payments, high) > 0.0 && high < 1e6 {
        low = high;
        high *= 2.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (low + high);
        if mid <= low || mid >= high {
            break;
        }
        if net_present_value(principal, payments, mid) > 0.0 {
            low = mid;
        } else {
            high = mid;
        }
    }
    let monthly = 0.5 * (low + high);
    let mut growth = 1.0;
    for _ in 0..12 {
        growth *= 1.0 + monthly;
    }
    ((growth - 1.0) * 10_000.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn check_invariants(plan: &InstalmentPlan) {
        let rows = &plan.schedule;
        assert_eq!(rows.len(), plan.months as usize);
        assert_eq!(
            rows.iter().map(|r| r.principal_minor).sum::<i64>(),
            plan.principal_minor
        );
        assert_eq!(rows.last().unwrap().balance_after_minor, 0);
        let paid: i64 = rows.iter().map(|r| r.payment_minor).sum();
        assert_eq!(paid, plan.total_repayable_minor);
        assert_eq!(
            plan.total_repayable_minor,
            plan.principal_minor + plan.total_cost_minor
        );
        assert_eq!(
            plan.total_cost_minor,
            plan.total_interest_minor + plan.fee_minor
        );
        assert_eq!(rows[0].fee_minor, plan.fee_minor);
        assert!(rows[1..].iter().all(|r| r.fee_minor == 0));
        let mut balance = plan.principal_minor;
        for (k, r) in rows.iter().enumerate() {
            assert_eq!(r.number as usize, k + 1);
            assert!(r.principal_minor >= 1);
            assert_eq!(
                r.payment_minor,
                r.principal_minor + r.interest_minor + r.fee_minor
            );
            balance -= r.principal_minor;
            assert_eq!(r.balance_after_minor, balance);
            assert!(r.payment_minor - r.fee_minor <= plan.monthly_payment_minor);
        }
        assert!(rows.windows(2).all(|w| w[0].due_date < w[1].due_date));
        assert!(plan.apr_percent.is_finite() && plan.apr_percent >= 0.0);
    }

    /// Worked example, checked by hand: 1,000.00 over 12 months at 9.90% nominal with a
    /// 10.00 fee, bought on 15 January 2025.
    ///
    /// - Monthly rate r = 990 / 120,000 = 0.825%. Annuity 100,000 x r / (1 - (1 + r)^-12)
    ///   = 8,786.94 cents, so the level payment is 87.87.
    /// - Month 1: interest 100,000 x 0.00825 = 825 (8.25); principal 8,787 - 825 = 7,962;
    ///   balance 92,038; payment with the 10.00 fee 97.87, due 15 February 2025.
    /// - Month 2: interest 92,038 x 0.00825 = 759.31 -> 759; principal 8,028; balance 84,010.
    /// - Months 3..11 pay 87.87 each; month 12 repays the 87.14 left with its 0.72 interest:
    ///   87.86, due 15 January 2026 (below the level payment, as the rules require).
    /// - Total interest 54.43; total cost 64.43 with the fee; total repayable 1,064.43.
    /// - APR: the monthly IRR of -1,000.00 now, 97.87, 87.87 x 10, 87.86 is 0.98205%, so
    ///   1.0098205^12 - 1 = 12.44% (the nominal 9.90% alone compounds to 10.36%).
    #[test]
    fn worked_example() {
        let plan = schedule_after(100_000, 12, 990, 1_000, date(2025, 1, 15)).unwrap();
        check_invariants(&plan);
        assert_eq!(plan.monthly_payment_minor, 8_787);
        let first = &plan.schedule[0];
        assert_eq!(
            (
                first.interest_minor,
                first.principal_minor,
                first.payment_minor
            ),
            (825, 7_962, 9_787)
        );
        assert_eq!(first.balance_after_minor, 92_038);
        assert_eq!(first.due_date, date(2025, 2, 15));
        let second = &plan.schedule[1];
        assert_eq!(
            (
                second.interest_minor,
                second.principal_minor,
                second.balance_after_minor
            ),
            (759, 8_028, 84_010)
        );
        let last = plan.schedule.last().unwrap();
        assert_eq!(
            (last.interest_minor, last.payment_minor, last.due_date),
            (72, 8_786, date(2026, 1, 15))
        );
        assert_eq!(plan.total_interest_minor, 5_443);
        assert_eq!(plan.total_cost_minor, 6_443);
        assert_eq!(plan.total_repayable_minor, 106_443);
        assert_eq!(plan.apr_percent, 12.44);

        let no_fee = schedule_after(100_000, 12, 990, 0, date(2025, 1, 15)).unwrap();
        assert_eq!(no_fee.apr_percent, 10.36);
    }

    #[test]
    fn interest_free_splits_evenly_with_the_remainder_first() {
        let plan = schedule_after(100_000, 3, 0, 0, date(2025, 3, 1)).unwrap();
        let payments: Vec<i64> = plan.schedule.iter().map(|r| r.payment_minor).collect();
        assert_eq!(payments, [33_334, 33_333, 33_333]);
        assert_eq!(plan.monthly_payment_minor, 33_334);
        assert_eq!((plan.total_interest_minor, plan.apr_percent), (0, 0.0));

        let with_fee = schedule_after(1_001, 4, 0, 300, date(2025, 3, 1)).unwrap();
        let payments: Vec<i64> = with_fee.schedule.iter().map(|r| r.payment_minor).collect();
        assert_eq!(payments, [551, 250, 250, 250]);
        assert!(with_fee.apr_percent > 0.0);
        check_invariants(&with_fee);
    }

    #[test]
    fn due_dates_clamp_to_month_end_from_the_anchor() {
        let plan = schedule_after(60_000, 4, 0, 0, date(2024, 1, 31)).unwrap();
        let dates: Vec<NaiveDate> = plan.schedule.iter().map(|r| r.due_date).collect();
        assert_eq!(
            dates,
            [
                date(2024, 2, 29),
                date(2024, 3, 31),
                date(2024, 4, 30),
                date(2024, 5, 31)
            ]
        );
        let plan = schedule_after(60_000, 1, 0, 0, date(2025, 1, 31)).unwrap();
        assert_eq!(plan.schedule[0].due_date, date(2025, 2, 28));
        // `schedule` counts from the first due date itself.
        let plan = schedule(60_000, 3, 0, 0, date(2025, 1, 31)).unwrap();
        let dates: Vec<NaiveDate> = plan.schedule.iter().map(|r| r.due_date).collect();
        assert_eq!(
            dates,
            [date(2025, 1, 31), date(2025, 2, 28), date(2025, 3, 31)]
        );
    }

    #[test]
    fn bad_arguments_name_the_field() {
        let d = date(2025, 1, 1);
        let field = |r: Result<InstalmentPlan>| r.unwrap_err().field().unwrap().to_string();
        assert_eq!(field(schedule(-5, 3, 0, 0, d)), "principal_minor");
        assert_eq!(field(schedule(0, 3, 0, 0, d)), "principal_minor");
        assert_eq!(field(schedule(100, 0, 0, 0, d)), "months");
        assert_eq!(field(schedule(100, 121, 0, 0, d)), "months");
        assert_eq!(field(schedule(100, 3, 10_001, 0, d)), "nominal_rate_bps");
        assert_eq!(field(schedule(100, 3, 0, -1, d)), "fee_minor");
        // Two cents cannot be spread over three months.
        assert_eq!(field(schedule(2, 3, 0, 0, d)), "principal_minor");
        assert_eq!(
            schedule(100, 3, 0, 0, date(262_142, 12, 1))
                .unwrap_err()
                .field(),
            Some("as_of")
        );
    }

    #[test]
    fn one_month_repays_principal_and_interest_at_once() {
        let plan = schedule_after(100_000, 1, 1_200, 0, date(2025, 1, 1)).unwrap();
        assert_eq!(plan.schedule[0].payment_minor, 101_000);
        assert_eq!(plan.monthly_payment_minor, 101_000);
        // One month at 1% is 12.68% a year compounded.
        assert_eq!(plan.apr_percent, 12.68);
    }

    proptest! {
        #[test]
        fn the_search_does_not_depend_on_its_guess(
            boundary in -50i128..1_000,
            guess in -2_000i128..3_000,
        ) {
            let found = first_true(-50, 1_000, guess, |x| x >= boundary);
            prop_assert_eq!(found, boundary);
        }

        #[test]
        fn schedules_keep_their_invariants(
            months in 1u32..=MAX_TERM_MONTHS,
            units_per_month in 100i64..1_000_000,
            rate_bps in prop_oneof![Just(0u32), 1u32..=3_000],
            fee in prop_oneof![Just(0i64), 0i64..50_000],
            day in 0u64..3_000,
        ) {
            let principal = units_per_month * i64::from(months);
            let as_of = date(2024, 1, 1) + chrono::Days::new(day);
            let plan = schedule_after(principal, months, rate_bps, fee, as_of).unwrap();
            check_invariants(&plan);
            if rate_bps == 0 && fee == 0 {
                prop_assert_eq!(plan.apr_percent, 0.0);
            }
            if rate_bps > 0 {
                // Within one unit of the float annuity rounded up.
                let r = f64::from(rate_bps) / 120_000.0;
                let annuity = principal as f64 * r / (1.0 - (1.0 + r).powi(-(months as i32)));
                let diff = plan.monthly_payment_minor as f64 - annuity.ceil();
                let level = plan.monthly_payment_minor;
                prop_assert!(diff.abs() <= 1.0, "level {} annuity {}", level, annuity);
                // The fee-free APR is the nominal rate compounded, up to the rounding of the
                // interest (at most half a unit a month: about 1,200 / principal points a
                // year) and of the APR itself.
                if fee == 0 {
                    let effective = ((1.0 + r).powi(12) - 1.0) * 100.0;
                    let tolerance = 0.006 + 1_500.0 / principal as f64;
                    prop_assert!((plan.apr_percent - effective).abs() < tolerance);
                }
            }
        }

        #[test]
        fn monthly_payment_grows_with_the_principal(
            months in 1u32..=60,
            principal in 0i64..10_000_000,
            rate_bps in prop_oneof![Just(0u32), 1u32..=3_000],
        ) {
            let payment = |p| monthly_payment(p, months, rate_bps);
            prop_assert!(payment(principal) <= payment(principal + 1));
        }
    }
}
