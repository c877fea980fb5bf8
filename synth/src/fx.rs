//! Foreign currencies of the synthetic population: which countries charge in which currency,
//! and the reference rates the generator pays at and the demo publishes.
//!
//! A card payment abroad is charged in the country's currency at the last reference rate
//! published on or before its day (ECB style: weekdays only), and the account, in euros, is
//! debited that rate's equivalent. The rates are a deterministic function of the date (a
//! yearly swing and a monthly wobble around a central rate, to four decimals), so any
//! window of any population has them without a seed, and the same day always has the same
//! rate.

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use sextant_domain::{convert_exact, CountryCode, Currency, Rate, RateTable};

/// (country, its currency, central units per euro, phase): the non-euro countries the
/// generator's customers pay in. Euro-area countries charge in euros.
const FOREIGN_CURRENCIES: [(&str, &str, f64, f64); 5] = [
    ("GB", "GBP", 0.8550, 0.4),
    ("PL", "PLN", 4.3200, 1.7),
    ("US", "USD", 1.0800, 2.9),
    ("TH", "THB", 38.600, 4.1),
    ("CN", "CNY", 7.8200, 5.3),
];

/// The currency a payment in `country` is charged in, when it is not the euro.
pub fn currency_of(country: CountryCode) -> Option<Currency> {
    FOREIGN_CURRENCIES
        .iter()
        .find(|(c, ..)| *c == country.as_str())
        .map(|(_, code, ..)| Currency::parse(code).expect("the table's codes are supported"))
}

/// The currencies the generator charges in, besides the euro.
pub fn currencies() -> impl Iterator<Item = Currency> {
    FOREIGN_CURRENCIES
        .iter()
        .map(|(_, code, ..)| Currency::parse(code).expect("the table's codes are supported"))
}

/// The rate published for `currency` on `date`: `None` on a weekend (nothing is published)
/// or for a currency the generator does not use.
pub fn published_rate(currency: Currency, date: NaiveDate) -> Option<Rate> {
    if matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
        return None;
    }
    let &(_, _, central, phase) = FOREIGN_CURRENCIES
        .iter()
        .find(|(_, code, ..)| *code == currency.as_str())?;
    let n = f64::from(date.num_days_from_ce());
    let tau = std::f64::consts::TAU;
    let swing =
        0.04 * (tau * n / 365.25 + phase).sin() + 0.012 * (tau * n / 23.0 + 2.0 * phase).sin();
    let units = central * (1.0 + swing);
    Rate::parse(&format!("{units:.4}")).ok()
}

/// The rate in effect on `date`: its own, or the last weekday's before it.
fn rate_in_effect(currency: Currency, date: NaiveDate) -> Option<Rate> {
    (0..=3).find_map(|back| published_rate(currency, date - Duration::days(back)))
}

/// Every rate published from `from` to `to`, for the generator's currencies.
pub fn reference_rates(from: NaiveDate, to: NaiveDate) -> Vec<(NaiveDate, Currency, Rate)> {
    let mut out = Vec::new();
    let mut day = from;
    while day <= to {
        for currency in currencies() {
            if let Some(rate) = published_rate(currency, day) {
                out.push((day, currency, rate));
            }
        }
        day += Duration::days(1);
    }
    out
}

/// [`reference_rates`] as a table.
pub fn reference_rate_table(from: NaiveDate, to: NaiveDate) -> RateTable {
    let mut table = RateTable::new();
    for (date, currency, rate) in reference_rates(from, to) {
        table.insert(date, currency, rate);
    }
    table
}

/// The days whose rates a population of `config` needs: from a week before its window (a
/// payment on its first day, a weekend, takes the Friday before) to its last day.
pub fn days_for(config: &crate::Config) -> (NaiveDate, NaiveDate) {
    let first = config
        .end_date
        .checked_sub_months(chrono::Months::new(config.months))
        .unwrap_or(config.end_date);
    (first - Duration::days(7), config.end_date)
}

/// The reference rates a population of `config` was charged at.
pub fn rate_table_for(config: &crate::Config) -> RateTable {
    let (from, to) = days_for(config);
    reference_rate_table(from, to)
}

/// The rates of `config`'s population, day by day (weekdays), oldest first.
pub fn daily_rates_for(config: &crate::Config) -> Vec<(NaiveDate, Vec<(Currency, Rate)>)> {
    let (from, to) = days_for(config);
    let mut days: Vec<(NaiveDate, Vec<(Currency, Rate)>)> = Vec::new();
    for (date, currency, rate) in reference_rates(from, to) {
        match days.last_mut() {
            Some((day, rates)) if *day == date => rates.push((currency, rate)),
            _ => days.push((date, vec![(currency, rate)])),
        }
    }
    days
}

/// The rates of `config`'s population in the ECB's historical CSV layout (`Date,CNY,...`,
/// newest day first, weekdays only), as `sextant import-fx` reads it.
pub fn ecb_csv(config: &crate::Config) -> String {
    let (from, to) = days_for(config);
    let codes: Vec<Currency> = {
        let mut codes: Vec<Currency> = currencies().collect();
        codes.sort_by_key(|c| c.static_str());
        codes
    };
    let mut out = String::from("Date");
    for c in &codes {
        out.push(',');
        out.push_str(c.as_str());
    }
    out.push_str(",\n");
    let mut day = to;
    while day >= from {
        let rates: Vec<Option<Rate>> = codes.iter().map(|c| published_rate(*c, day)).collect();
        if rates.iter().all(Option::is_some) {
            out.push_str(&day.to_string());
            for rate in rates.into_iter().flatten() {
                out.push(',');
                out.push_str(&rate.to_string());
            }
            out.push_str(",\n");
        }
        day -= Duration::days(1);
    }
    out
}

/// `eur_minor` euro cents charged in `currency` on `date`, in its minor units.
pub(crate) fn charge(eur_minor: i64, currency: Currency, date: NaiveDate) -> Option<i64> {
    let rate = rate_in_effect(currency, date)?;
    convert_exact(eur_minor, Currency::EUR, Rate::ONE, currency, rate).filter(|v| *v > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, d).unwrap()
    }

    #[test]
    fn rates_are_published_on_weekdays_near_their_centre() {
        let usd = Currency::parse("USD").unwrap();
        // 2026-03-07 is a Saturday.
        assert!(published_rate(usd, day(3, 7)).is_none());
        let friday = published_rate(usd, day(3, 6)).unwrap();
        assert!((1.0..1.17).contains(&friday.to_f64()), "{friday}");
        assert_eq!(
            published_rate(usd, day(3, 6)),
            Some(friday),
            "a day has one rate"
        );
        // Saturday's charge uses Friday's rate, as the table's weekend rule does.
        let table = reference_rate_table(day(3, 1), day(3, 31));
        assert_eq!(table.rate_on(usd, day(3, 7)).unwrap(), (day(3, 6), friday));
        assert_eq!(
            charge(10_000, usd, day(3, 7)),
            convert_exact(10_000, Currency::EUR, Rate::ONE, usd, friday)
        );
        assert!(currency_of(CountryCode::parse("DE").unwrap()).is_none());
        assert_eq!(
            currency_of(CountryCode::parse("TH").unwrap()).map(|c| c.to_string()),
            Some("THB".to_owned())
        );
    }
}
