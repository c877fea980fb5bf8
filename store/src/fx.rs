//! Reference exchange rates: each day's published rates, units of a currency for one euro.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sextant_domain::{Currency, Rate, RateTable};

use crate::{Actor, StoreError};

/// One day's published reference rates, each for one euro (the euro itself is not listed).
#[derive(Debug, Clone, PartialEq)]
pub struct DailyRates {
    pub date: NaiveDate,
    pub rates: Vec<(Currency, Rate)>,
}

/// What a write of rates changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FxWrite {
    pub days: u64,
    /// Rates for a currency the day did not have.
    pub added: u64,
    /// Rates that replaced a different rate for the same day and currency.
    pub changed: u64,
    /// Rates of a day that its new set leaves out.
    pub removed: u64,
    pub unchanged: u64,
}

#[async_trait]
pub trait FxStore: Send + Sync {
    /// Makes each day's set the rates published on that day: a currency the set leaves out
    /// is removed from that day (a corrected publication replaces the first). All days in
    /// one transaction; one audit entry (`fx_rates.put`) with the date range and the counts.
    async fn put_fx_rates(
        &self,
        days: &[DailyRates],
        source: &str,
        by: &Actor,
        now: DateTime<Utc>,
    ) -> Result<FxWrite, StoreError>;

    /// The rates that convert any date from `from` to `to`: those published in that range
    /// and in the [`RateTable::MAX_AGE_DAYS`] days before it.
    async fn fx_rates(&self, from: NaiveDate, to: NaiveDate) -> Result<RateTable, StoreError>;
}
