//! Features: one customer's history summarised as a fixed vector of documented numbers.
//!
//! `compute_features` makes one pass over payments, one over app events and one over
//! holdings, accumulating into fixed-size arrays; only the merchant-diversity hashes and the
//! balance points of the overdraft window are collected and sorted. Money is summed in `i128`
//! minor units, so the result does not depend on the order of the input, and every ratio is
//! guarded and clamped, so every value is finite. Every amount is first put in the customer's
//! base currency (`money`); what cannot be is listed in [`Features::unconverted`].

mod behaviour;
mod clock;
mod holdings;
mod loyalty;
mod money;
mod payments;
mod stats;

use chrono::{DateTime, Utc};
use sextant_domain::{BehaviourEvent, Customer, Holding, PaymentEvent, RateTable, Unconverted};

use crate::catalogue::{catalogue, FeatureSpec, COUNT, F};

pub(crate) use clock::Clock;
use money::ToBase;

/// Everything known about one customer, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct CustomerHistory<'a> {
    pub customer: &'a Customer,
    /// In any order.
    pub payments: &'a [PaymentEvent],
    /// In any order.
    pub behaviour: &'a [BehaviourEvent],
    pub holdings: &'a [Holding],
    /// Reference rates for the amounts not in the customer's base currency (an empty table
    /// when every amount is in it), and for a customer whose base currency is not the euro,
    /// those their payments' days need (loyalty tiers are in euros).
    pub rates: &'a RateTable,
    /// Their loyalty points over the window.
    pub loyalty: &'a sextant_loyalty::Activity,
}

/// One customer's features, aligned with [`catalogue`]. Every value is finite.
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    pub values: Vec<f64>,
    /// Amounts left out of every sum because no rate put them in the base currency, in a
    /// stable order (empty when all were converted).
    pub unconverted: Vec<Unconverted>,
}

impl Features {
    /// The value of the feature called `name`, if the catalogue has one.
    pub fn get(&self, name: &str) -> Option<f64> {
        let index = catalogue().iter().position(|spec| spec.name == name)?;
        self.values.get(index).copied()
    }

    /// Each feature's spec with its value, in catalogue order.
    pub fn named(&self) -> impl Iterator<Item = (&'static FeatureSpec, f64)> + '_ {
        catalogue().iter().zip(self.values.iter().copied())
    }

    /// The value at a known index; features built here always have every index.
    pub(crate) fn at(&self, feature: F) -> f64 {
        self.values.get(feature as usize).copied().unwrap_or(0.0)
    }
}

/// The values being filled in, indexed by [`F`].
pub(crate) struct Values([f64; COUNT]);

impl Values {
    pub(crate) fn set(&mut self, feature: F, value: f64) {
        self.0[feature as usize] = value;
    }

    /// Sets the feature `offset` places after `first`: for runs such as the category shares.
    pub(crate) fn set_offset(&mut self, first: F, offset: usize, value: f64) {
        self.0[first as usize + offset] = value;
    }
}

/// Features as of `as_of`: only events at or before it count, and every window ends at it.
pub fn compute_features(history: &CustomerHistory, as_of: DateTime<Utc>) -> Features {
    let clock = Clock::new(as_of);
    let mut values = Values([0.0; COUNT]);
    let age_years = history.customer.birth_year.age_years(as_of);
    values.set(F::AgeYears, f64::from(age_years));

    let mut to_base = ToBase::new(history.customer.base_currency, history.rates);
    let holdings = holdings::summarise(history.holdings, &clock, &mut to_base);
    holdings.write(&mut values);
    let payments = payments::summarise(history.payments, &clock, &mut to_base);
    let first_payment_ms = payments.first_ms;
    payments.write(&mut values, &holdings);
    let app = behaviour::summarise(history.behaviour, &clock);
    app.write(&mut values);

    loyalty::write(history, &clock, as_of, &mut values);

    let first_ms = [first_payment_ms, app.first_ms].into_iter().flatten().min();
    let history_days = first_ms.map_or(0.0, |first| clock.days_since(first).min(3_650.0));
    values.set(F::HistoryDays, history_days);

    Features {
        values: values.0.iter().map(|v| finite_or_zero(*v)).collect(),
        unconverted: to_base.into_unconverted(),
    }
}

/// Every computation above is guarded; this is the last line of the "finite only" promise,
/// checked loudly in debug builds so a missed guard shows up in tests.
fn finite_or_zero(value: f64) -> f64 {
    debug_assert!(value.is_finite(), "a feature came out as {value}");
    if value.is_finite() {
        value
    } else {
        0.0
    }
}

/// `numerator / denominator`, or `fallback` when the denominator is not positive.
pub(crate) fn ratio_or(numerator: f64, denominator: f64, fallback: f64) -> f64 {
    if denominator > 0.0 && denominator.is_finite() {
        numerator / denominator
    } else {
        fallback
    }
}

#[cfg(test)]
mod tests;
