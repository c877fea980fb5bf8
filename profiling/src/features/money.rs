//! Amounts in the customer's base currency: each foreign amount converted exactly at the
//! reference rate of its own date (see `sextant_domain::fx`). An amount without a usable rate
//! is left out of every sum and recorded, never added raw or as zero.

use chrono::NaiveDate;
use sextant_domain::{AmountSource, Currency, Holding, PaymentEvent, RateTable, Unconverted};

pub(crate) struct ToBase<'a> {
    base: Currency,
    rates: &'a RateTable,
    unconverted: Vec<Unconverted>,
}

impl<'a> ToBase<'a> {
    pub fn new(base: Currency, rates: &'a RateTable) -> ToBase<'a> {
        ToBase {
            base,
            rates,
            unconverted: Vec::new(),
        }
    }

    pub fn base(&self) -> Currency {
        self.base
    }

    /// The payment's amount in base minor units, converted at the rate of the day it
    /// happened (UTC); `None`, recorded, when no rate converts it.
    pub fn payment(&mut self, p: &PaymentEvent) -> Option<i128> {
        let source = || AmountSource::Payment(p.event_id.clone());
        self.amount(
            p.amount.get(),
            p.currency,
            p.occurred_at.date_naive(),
            source,
        )
    }

    /// The holding's value in base minor units on `on` (the profile's date).
    pub fn holding(&mut self, h: &Holding, on: NaiveDate) -> Option<i128> {
        let source = || AmountSource::Holding(h.product_id.clone());
        self.amount(h.value.get(), h.currency, on, source)
    }

    fn amount(
        &mut self,
        amount_minor: i64,
        currency: Currency,
        date: NaiveDate,
        source: impl FnOnce() -> AmountSource,
    ) -> Option<i128> {
        if currency == self.base {
            return Some(i128::from(amount_minor));
        }
        match self.rates.convert(amount_minor, currency, self.base, date) {
            Ok(converted) => Some(i128::from(converted)),
            Err(error) => {
                self.unconverted.push(Unconverted {
                    source: source(),
                    amount_minor,
                    currency,
                    date,
                    error,
                });
                None
            }
        }
    }

    /// What could not be converted, in a stable order.
    pub fn into_unconverted(mut self) -> Vec<Unconverted> {
        self.unconverted.sort_unstable();
        self.unconverted.dedup();
        self.unconverted
    }
}
