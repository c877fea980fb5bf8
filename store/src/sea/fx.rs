//! Reference exchange rates on sea-orm: one row per day and currency, the rate kept as the
//! exact decimal text it was published with.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::sea_query::{Alias, Expr, Query};
use sea_orm::{ConnectionTrait, TransactionTrait};
use sextant_domain::{Currency, Rate, RateTable};

use super::SeaStore;
use crate::fx::{DailyRates, FxStore, FxWrite};
use crate::{Actor, StoreError};

const TABLE: &str = "fx_rates";
/// Days per statement: a day holds a few dozen rates, five values each.
const DAYS_PER_STATEMENT: usize = 100;

fn date_text(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

async fn published(
    db: &impl ConnectionTrait,
    from: &str,
    to: &str,
) -> Result<Vec<(String, String, String)>, StoreError> {
    let query = Query::select()
        .columns([
            Alias::new("rate_date"),
            Alias::new("currency"),
            Alias::new("rate"),
        ])
        .from(Alias::new(TABLE))
        .and_where(Expr::col(Alias::new("rate_date")).gte(from))
        .and_where(Expr::col(Alias::new("rate_date")).lte(to))
        .to_owned();
    let mut rows = Vec::new();
    for row in db
        .query_all(db.get_database_backend().build(&query))
        .await?
    {
        rows.push((
            row.try_get::<String>("", "rate_date")?,
            row.try_get::<String>("", "currency")?,
            row.try_get::<String>("", "rate")?,
        ));
    }
    Ok(rows)
}

/// The rates in effect from `from` to `to`: those published in that span and in the
/// [`RateTable::MAX_AGE_DAYS`] days before it.
pub(super) async fn rate_table(
    db: &impl ConnectionTrait,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<RateTable, StoreError> {
    let since = from - Duration::days(RateTable::MAX_AGE_DAYS);
    let mut table = RateTable::new();
    for (date, currency, rate) in published(db, &date_text(since), &date_text(to)).await? {
        let corrupt = |what: &str| StoreError::Corrupt(format!("fx_rates: {what}"));
        let date = NaiveDate::parse_from_str(&date, "%Y-%m-%d")
            .map_err(|_| corrupt("a date is not YYYY-MM-DD"))?;
        let currency = Currency::parse(&currency).map_err(|e| corrupt(&e.message))?;
        let rate = Rate::parse(&rate).map_err(|e| corrupt(&e.message))?;
        table.insert(date, currency, rate);
    }
    Ok(table)
}

#[async_trait]
impl FxStore for SeaStore {
    async fn put_fx_rates(
        &self,
        days: &[DailyRates],
        source: &str,
        by: &Actor,
        now: DateTime<Utc>,
    ) -> Result<FxWrite, StoreError> {
        let mut write = FxWrite::default();
        let (Some(first), Some(last)) = (
            days.iter().map(|d| d.date).min(),
            days.iter().map(|d| d.date).max(),
        ) else {
            return Ok(write);
        };
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;
        let mut before: HashMap<(String, String), String> = HashMap::new();
        for (date, currency, rate) in published(&txn, &date_text(first), &date_text(last)).await? {
            before.insert((date, currency), rate);
        }
        let at = now.timestamp_millis();
        let all_dates: Vec<String> = days.iter().map(|d| date_text(d.date)).collect();
        for (chunk, dates) in days
            .chunks(DAYS_PER_STATEMENT)
            .zip(all_dates.chunks(DAYS_PER_STATEMENT))
        {
            let delete = Query::delete()
                .from_table(Alias::new(TABLE))
                .and_where(Expr::col(Alias::new("rate_date")).is_in(dates.iter().cloned()))
                .to_owned();
            txn.execute(txn.get_database_backend().build(&delete))
                .await?;
            let mut insert = Query::insert()
                .into_table(Alias::new(TABLE))
                .columns([
                    Alias::new("rate_date"),
                    Alias::new("currency"),
                    Alias::new("rate"),
                    Alias::new("source"),
                    Alias::new("recorded_at_ms"),
                ])
                .to_owned();
            let mut rows = 0;
            for (day, date) in chunk.iter().zip(dates) {
                write.days += 1;
                for (currency, rate) in &day.rates {
                    if *currency == Currency::EUR {
                        continue;
                    }
                    let rate = rate.to_string();
                    match before.remove(&(date.clone(), currency.as_str().to_owned())) {
                        None => write.added += 1,
                        Some(old) if old == rate => write.unchanged += 1,
                        Some(_) => write.changed += 1,
                    }
                    insert.values_panic([
                        date.as_str().into(),
                        currency.as_str().into(),
                        rate.into(),
                        source.into(),
                        at.into(),
                    ]);
                    rows += 1;
                }
            }
            if rows > 0 {
                txn.execute(txn.get_database_backend().build(&insert))
                    .await?;
            }
        }
        // What is left of the days' earlier sets was left out of their new ones.
        let written: std::collections::HashSet<&String> = all_dates.iter().collect();
        write.removed = before.keys().filter(|(d, _)| written.contains(d)).count() as u64;
        let detail = serde_json::json!({
            "first_date": date_text(first),
            "last_date": date_text(last),
            "days": write.days,
            "added": write.added,
            "changed": write.changed,
            "removed": write.removed,
            "unchanged": write.unchanged,
            "source": source,
        });
        self.recorder(by)
            .record(&txn, "fx_rates.put", "fx_rates", detail, now)
            .await?;
        txn.commit().await?;
        Ok(write)
    }

    async fn fx_rates(&self, from: NaiveDate, to: NaiveDate) -> Result<RateTable, StoreError> {
        rate_table(&self.db, from, to).await
    }
}
