//! Reference exchange rates: a day's published set written by the service role or the
//! importer, and the rates in effect on a date (the day's own, else the last published in
//! the seven days before: weekends and holidays).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sextant_domain::{ConvertError, Currency, Rate, RateTable, Unconverted};
use sextant_store::{Actor, DailyRates, FxWrite, Store};
use utoipa::ToSchema;

use crate::error::ItemProblem;
use crate::{Result, ServiceError};

/// A day's published reference rates, units of each currency for one euro.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DailyRatesRecord {
    /// Always `EUR`: rates are quoted for one euro, as the ECB publishes them.
    #[serde(default = "eur")]
    #[schema(example = "EUR")]
    pub base: String,
    /// Currency code to the exact decimal rate as text (`"USD": "1.0823"`): at most 6
    /// digits after the point and 12 significant digits.
    #[schema(example = json!({"USD": "1.0823", "JPY": "161.23"}))]
    pub rates: BTreeMap<String, String>,
}

fn eur() -> String {
    "EUR".to_owned()
}

/// A rate in effect on a date, with the day it was published.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EffectiveRate {
    pub currency: String,
    /// Units for one euro, the exact decimal as published.
    pub rate: String,
    /// The day it was published: the date asked for, or the last day before it with a rate.
    pub published_on: String,
}

/// The rates in effect on a date, and the supported currencies that have none.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RatesOn {
    pub date: String,
    pub base: String,
    pub rates: Vec<EffectiveRate>,
    /// Supported currencies with no rate published on the date or in the 7 days before:
    /// amounts in them on this date cannot be converted.
    pub missing: Vec<String>,
}

/// The path's date, `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .filter(|_| text.len() == 10)
        .ok_or_else(|| ServiceError::invalid("date", "invalid_date", "a date is YYYY-MM-DD"))
}

/// Checks a day's set: the base is the euro, every code a supported currency other than the
/// euro, every rate an exact positive decimal. Every problem names its field.
pub fn parse_daily(date: NaiveDate, record: &DailyRatesRecord) -> Result<DailyRates> {
    let mut problems = Vec::new();
    if record.base != "EUR" {
        problems.push(ItemProblem::field(
            "base",
            "unsupported_base",
            "rates are quoted for one euro: the base is EUR",
        ));
    }
    if record.rates.is_empty() {
        problems.push(ItemProblem::field(
            "rates",
            "empty",
            "a day's set holds at least one rate",
        ));
    }
    let mut rates = Vec::with_capacity(record.rates.len());
    for (code, text) in &record.rates {
        let field = format!("rates.{code}");
        match Currency::parse(code) {
            Ok(currency) if currency == Currency::EUR => problems.push(ItemProblem::field(
                &field,
                "base_currency_rate",
                "the euro is the base; its rate is always 1",
            )),
            Ok(currency) => match Rate::parse(text) {
                Ok(rate) => rates.push((currency, rate)),
                Err(e) => problems.push(ItemProblem::field(&field, e.code, e.message)),
            },
            Err(e) => problems.push(ItemProblem::field(&field, e.code, e.message)),
        }
    }
    if !problems.is_empty() {
        return Err(ServiceError::Invalid(problems));
    }
    Ok(DailyRates { date, rates })
}

/// Makes each day's set the one published on its date, replacing earlier sets: one day from
/// the API, a rate history from an import; all or nothing, audited once.
pub async fn put_days(
    store: &dyn Store,
    days: &[DailyRates],
    source: &str,
    by: &Actor,
    now: DateTime<Utc>,
) -> Result<FxWrite> {
    Ok(store.put_fx_rates(days, source, by, now).await?)
}

/// The rates in effect on `date`, and the supported currencies without one.
pub async fn rates_on(store: &dyn Store, date: NaiveDate) -> Result<RatesOn> {
    let table = store.fx_rates(date, date).await?;
    let mut rates = Vec::new();
    let mut missing = Vec::new();
    for code in Currency::supported().filter(|c| *c != "EUR") {
        let currency = Currency::parse(code).expect("the supported list parses");
        match table.rate_on(currency, date) {
            Ok((on, rate)) => rates.push(EffectiveRate {
                currency: code.to_owned(),
                rate: rate.to_string(),
                published_on: on.format("%Y-%m-%d").to_string(),
            }),
            Err(_) => missing.push(code.to_owned()),
        }
    }
    Ok(RatesOn {
        date: date.format("%Y-%m-%d").to_string(),
        base: "EUR".into(),
        rates,
        missing,
    })
}

/// Refuses to go on from figures that left amounts out for want of a rate (income or
/// holdings would be understated): a 409 `exchange_rate_missing` with one problem per
/// currency and day, so the bank knows which rates to publish. `consequence` says what was
/// not done.
pub fn refuse_unconverted(unconverted: &[Unconverted], consequence: &str) -> Result<()> {
    if unconverted.is_empty() {
        return Ok(());
    }
    let mut gaps: BTreeMap<(&str, String), usize> = BTreeMap::new();
    for u in unconverted {
        let what = match u.error {
            ConvertError::Missing(m) => (m.currency, m.date.to_string()),
            ConvertError::TooLarge => (u.currency.static_str(), "too_large".to_owned()),
        };
        *gaps.entry(what).or_default() += 1;
    }
    Err(ServiceError::Conflict {
        code: "exchange_rate_missing",
        problems: gaps
            .into_iter()
            .map(|((currency, date), count)| {
                ItemProblem::field(
                    "customer_id",
                    "exchange_rate_missing",
                    format!(
                        "{count} amount(s) in {currency} on {date} could not be converted to \
                         the customer's base currency (no reference rate published on that \
                         day or in the {} days before): {consequence}; publish the rate \
                         (PUT /v1/fx-rates/{{date}}) and ask again",
                        RateTable::MAX_AGE_DAYS
                    ),
                )
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(rates: &[(&str, &str)]) -> DailyRatesRecord {
        DailyRatesRecord {
            base: "EUR".into(),
            rates: rates
                .iter()
                .map(|(c, r)| (c.to_string(), r.to_string()))
                .collect(),
        }
    }

    #[test]
    fn every_bad_rate_names_its_field() {
        let date = parse_date("2026-03-06").unwrap();
        let Err(ServiceError::Invalid(problems)) = parse_daily(
            date,
            &record(&[
                ("USD", "1,08"),
                ("XYZ", "1"),
                ("EUR", "1"),
                ("JPY", "161.23"),
            ]),
        ) else {
            panic!("invalid rates were accepted");
        };
        let fields: Vec<(&str, &str)> = problems
            .iter()
            .map(|p| (p.field.as_deref().unwrap(), p.code.as_str()))
            .collect();
        assert_eq!(
            fields,
            [
                ("rates.EUR", "base_currency_rate"),
                ("rates.USD", "invalid_rate"),
                ("rates.XYZ", "unknown_currency"),
            ]
        );
        let day = parse_daily(date, &record(&[("JPY", "161.23")])).unwrap();
        assert_eq!(day.rates.len(), 1);
        assert!(parse_date("2026-3-6").is_err());
        assert!(parse_date("2026-02-30").is_err());
    }
}
