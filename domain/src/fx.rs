//! Reference exchange rates and exact conversion between currencies.
//!
//! Rates are quoted the European Central Bank's way: units of a currency for one euro
//! (`USD 1.0823` means 1 EUR = 1.0823 USD), as exact decimals. A conversion between two
//! currencies goes through the euro (the ECB's own rule for cross rates) in one exact
//! rational step: the amount in minor units times both rates and powers of ten, in 128-bit
//! integers, rounded once, half away from zero, to the target's minor unit (JPY 0 digits,
//! EUR 2, BHD 3).
//!
//! **Which rate applies.** A payment made on a day is converted at the rate published for
//! that day; on a weekend or a holiday, at the last rate published before it, provided that
//! rate is at most [`RateTable::MAX_AGE_DAYS`] days old. An older one (or none) means the
//! rate is missing: the amount is never guessed, summed raw or treated as zero.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::{Currency, EventId, ParseError, ProductId};

/// An exact, strictly positive decimal rate: `mantissa / 10^scale` units for one euro.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rate {
    mantissa: i64,
    scale: u8,
}

impl Rate {
    /// Most digits after the decimal point (the ECB publishes 4; other sources up to 6).
    pub const MAX_SCALE: u8 = 6;
    /// Most significant digits (the ECB's longest, IDR 17012.4500, has 9).
    pub const MAX_DIGITS: usize = 12;

    /// Parses a plain decimal such as `1.0823` or `161.23`: digits with at most one point,
    /// no sign, no exponent, above zero.
    pub fn parse(text: &str) -> Result<Rate, ParseError> {
        let invalid = |message: &str| ParseError::new("invalid_rate", message.to_string());
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        if whole.is_empty()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !fraction.bytes().all(|b| b.is_ascii_digit())
            || (text.contains('.') && fraction.is_empty())
        {
            return Err(invalid(
                "a rate is a plain decimal such as 1.0823 (digits, at most one point)",
            ));
        }
        if fraction.len() > usize::from(Rate::MAX_SCALE) {
            return Err(invalid("a rate has at most 6 digits after the point"));
        }
        let digits = format!("{whole}{fraction}");
        let significant = digits.trim_start_matches('0');
        if significant.len() > Rate::MAX_DIGITS {
            return Err(invalid("a rate has at most 12 significant digits"));
        }
        let mantissa: i64 = significant.parse().unwrap_or(0);
        if mantissa == 0 {
            return Err(ParseError::new(
                "not_positive",
                "a rate must be above zero".to_string(),
            ));
        }
        Ok(Rate {
            mantissa,
            scale: u8::try_from(fraction.len()).expect("bounded above"),
        })
    }

    /// One unit for one euro: the euro's own rate.
    pub const ONE: Rate = Rate {
        mantissa: 1,
        scale: 0,
    };

    /// The rate as an approximate float, for display and models only.
    pub fn to_f64(self) -> f64 {
        self.mantissa as f64 / 10f64.powi(i32::from(self.scale))
    }
}

impl std::fmt::Display for Rate {
    /// The exact decimal, with the digits it was given (`1.0820` stays `1.0820`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let digits = self.mantissa.to_string();
        let scale = usize::from(self.scale);
        if scale == 0 {
            return f.write_str(&digits);
        }
        let padded = format!("{digits:0>width$}", width = scale + 1);
        let (whole, fraction) = padded.split_at(padded.len() - scale);
        write!(f, "{whole}.{fraction}")
    }
}

/// Why an amount could not be converted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConvertError {
    /// No usable rate for one of the two currencies on the date.
    Missing(MissingRate),
    /// The amount is beyond [`MAX_CONVERTIBLE`] minor units.
    TooLarge,
}

impl std::fmt::Display for ConvertError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConvertError::Missing(missing) => missing.fmt(f),
            ConvertError::TooLarge => {
                write!(f, "the amount is beyond {MAX_CONVERTIBLE} minor units")
            }
        }
    }
}

/// The largest amount, in minor units, converted exactly (a thousand times any payment:
/// balances and sums fit too).
pub const MAX_CONVERTIBLE: i64 = 1_000_000_000_000_000;

/// A currency with no usable rate for a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MissingRate {
    pub currency: &'static str,
    pub date: NaiveDate,
}

impl std::fmt::Display for MissingRate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "no {} reference rate published on {} or in the {} days before",
            self.currency,
            self.date,
            RateTable::MAX_AGE_DAYS
        )
    }
}

/// Reference rates by currency and publication date, each for one euro.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RateTable {
    by_currency: BTreeMap<&'static str, BTreeMap<NaiveDate, Rate>>,
}

impl RateTable {
    /// How old the last published rate may be when a date has none of its own: long enough
    /// for a weekend next to holidays (Good Friday to Easter Monday is four days), short
    /// enough that a rate source that stopped is noticed as missing.
    pub const MAX_AGE_DAYS: i64 = 7;

    pub fn new() -> RateTable {
        RateTable::default()
    }

    /// Records the rate `currency` was published at on `date` (replacing an earlier one).
    /// The euro's rate is always one and is not stored.
    pub fn insert(&mut self, date: NaiveDate, currency: Currency, rate: Rate) {
        if currency == Currency::EUR {
            return;
        }
        self.by_currency
            .entry(static_code(currency))
            .or_default()
            .insert(date, rate);
    }

    /// Published rates held, all currencies together.
    pub fn len(&self) -> usize {
        self.by_currency.values().map(BTreeMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.by_currency.is_empty()
    }

    /// The rate in effect for `currency` on `date`, with the date it was published:
    /// that day's, else the last one before it within [`RateTable::MAX_AGE_DAYS`].
    pub fn rate_on(
        &self,
        currency: Currency,
        date: NaiveDate,
    ) -> Result<(NaiveDate, Rate), MissingRate> {
        if currency == Currency::EUR {
            return Ok((date, Rate::ONE));
        }
        let missing = MissingRate {
            currency: static_code(currency),
            date,
        };
        let published = self.by_currency.get(missing.currency).ok_or(missing)?;
        let (&on, &rate) = published.range(..=date).next_back().ok_or(missing)?;
        if (date - on).num_days() > RateTable::MAX_AGE_DAYS {
            return Err(missing);
        }
        Ok((on, rate))
    }

    /// `amount_minor` of `from`, paid on `date`, in minor units of `to`: exact, rounded once
    /// (half away from zero).
    pub fn convert(
        &self,
        amount_minor: i64,
        from: Currency,
        to: Currency,
        date: NaiveDate,
    ) -> Result<i64, ConvertError> {
        if from == to {
            return Ok(amount_minor);
        }
        let (_, rate_from) = self.rate_on(from, date).map_err(ConvertError::Missing)?;
        let (_, rate_to) = self.rate_on(to, date).map_err(ConvertError::Missing)?;
        convert_exact(amount_minor, from, rate_from, to, rate_to).ok_or(ConvertError::TooLarge)
    }
}

/// `amount` minor units of `from` (at `rate_from` per euro) in minor units of `to` (at
/// `rate_to` per euro):
/// `amount / 10^d_from / rate_from * rate_to * 10^d_to`, as one fraction of integers;
/// `None` beyond [`MAX_CONVERTIBLE`].
pub fn convert_exact(
    amount_minor: i64,
    from: Currency,
    rate_from: Rate,
    to: Currency,
    rate_to: Rate,
) -> Option<i64> {
    if amount_minor.unsigned_abs() > MAX_CONVERTIBLE.unsigned_abs() {
        return None;
    }
    // amount * m_to * 10^(d_to + s_from) / (m_from * 10^(d_from + s_to)). With |amount| at
    // most 10^15, mantissas below 10^12 and exponents at most 3 + 6, the numerator stays
    // below 10^36 and twice it inside i128 (about 1.7 * 10^38).
    let up = u32::from(to.minor_digits()) + u32::from(rate_from.scale);
    let down = u32::from(from.minor_digits()) + u32::from(rate_to.scale);
    let mut numerator = i128::from(amount_minor) * i128::from(rate_to.mantissa);
    let mut denominator = i128::from(rate_from.mantissa);
    if up >= down {
        numerator *= 10i128.pow(up - down);
    } else {
        denominator *= 10i128.pow(down - up);
    }
    let half_away = (2 * numerator.abs() + denominator) / (2 * denominator);
    let rounded = if numerator < 0 { -half_away } else { half_away };
    i64::try_from(rounded).ok()
}

/// The table's code for a currency: the same `&'static str` the currency list holds.
/// What an unconverted amount belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AmountSource {
    /// A payment event, by its id.
    Payment(EventId),
    /// A product the customer holds, valued on the profile's date.
    Holding(ProductId),
}

/// An amount that could not be put into a customer's base currency, so it was left out of
/// every sum about them (and said so), never added raw or as zero.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Unconverted {
    pub source: AmountSource,
    pub amount_minor: i64,
    pub currency: Currency,
    /// The date whose rate was needed.
    pub date: NaiveDate,
    pub error: ConvertError,
}

fn static_code(currency: Currency) -> &'static str {
    currency.static_str()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn c(code: &str) -> Currency {
        Currency::parse(code).unwrap()
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
    }

    #[test]
    fn rates_are_plain_positive_decimals_kept_exactly() {
        assert_eq!(Rate::parse("1.0823").unwrap().to_string(), "1.0823");
        assert_eq!(Rate::parse("161.20").unwrap().to_string(), "161.20");
        assert_eq!(Rate::parse("0.3771").unwrap().to_string(), "0.3771");
        assert_eq!(Rate::parse("25").unwrap().to_string(), "25");
        assert_eq!(Rate::parse("007.5").unwrap().to_string(), "7.5");
        for bad in [
            "", "1.", ".5", "-1.2", "1e3", "1,08", "N/A", "1.2.3", " 1.1",
        ] {
            assert_eq!(
                Rate::parse(bad).unwrap_err().code,
                "invalid_rate",
                "{bad:?}"
            );
        }
        assert_eq!(Rate::parse("0.0000").unwrap_err().code, "not_positive");
        assert_eq!(Rate::parse("1.123456789").unwrap_err().code, "invalid_rate");
        assert_eq!(
            Rate::parse("1234567890123456").unwrap_err().code,
            "invalid_rate"
        );
    }

    #[test]
    fn ten_thousand_yen_is_not_a_hundred_euros() {
        let mut table = RateTable::new();
        table.insert(day(2), c("JPY"), Rate::parse("161.23").unwrap());
        table.insert(day(2), c("USD"), Rate::parse("1.0823").unwrap());
        table.insert(day(2), c("BHD"), Rate::parse("0.4081").unwrap());
        // 10,000 JPY / 161.23 = 62.0232... EUR
        assert_eq!(
            table.convert(10_000, c("JPY"), Currency::EUR, day(2)),
            Ok(6_202)
        );
        assert_eq!(
            table.convert(100, c("KRW"), Currency::EUR, day(2)),
            Err(ConvertError::Missing(MissingRate {
                currency: "KRW",
                date: day(2)
            }))
        );
        // 100.00 EUR = 16,123 JPY (no minor unit)
        assert_eq!(
            table.convert(10_000, Currency::EUR, c("JPY"), day(2)),
            Ok(16_123)
        );
        // 50.00 USD = 50 / 1.0823 * 0.4081 = 18.853... BHD = 18.853 (three digits)
        assert_eq!(table.convert(5_000, c("USD"), c("BHD"), day(2)), Ok(18_853));
        assert_eq!(
            table.convert(1_234, Currency::EUR, Currency::EUR, day(2)),
            Ok(1_234)
        );
    }

    #[test]
    fn rounding_is_half_away_from_zero_at_the_targets_unit() {
        let one_and_a_half = Rate::parse("1.5").unwrap();
        // 1 cent * 1.5 = 1.5 cents -> 2
        let usd = c("USD");
        assert_eq!(
            convert_exact(1, Currency::EUR, Rate::ONE, usd, one_and_a_half),
            Some(2)
        );
        assert_eq!(
            convert_exact(-1, Currency::EUR, Rate::ONE, usd, one_and_a_half),
            Some(-2)
        );
        // 1 cent / 1.5 = 0.67 cents -> 1; 1 / 3 -> 0
        assert_eq!(
            convert_exact(1, usd, one_and_a_half, Currency::EUR, Rate::ONE),
            Some(1)
        );
        let three = Rate::parse("3").unwrap();
        assert_eq!(
            convert_exact(1, usd, three, Currency::EUR, Rate::ONE),
            Some(0)
        );
        assert_eq!(
            convert_exact(MAX_CONVERTIBLE + 1, usd, three, usd, three),
            None
        );
        // A result beyond i64 is refused, not wrapped (a case proptest found).
        let (jpy, huge) = (c("JPY"), Rate::parse("146131").unwrap());
        assert_eq!(
            convert_exact(631_175_265_797, jpy, Rate::ONE, Currency::EUR, huge),
            None
        );
        assert_eq!(
            convert_exact(631_175_265_797, jpy, Rate::ONE, c("KRW"), huge),
            Some(92_234_272_766_181_407)
        );
    }

    #[test]
    fn a_weekend_uses_the_last_rate_published_and_a_stale_one_is_missing() {
        let mut table = RateTable::new();
        table.insert(day(6), c("USD"), Rate::parse("1.08").unwrap()); // a Friday
        table.insert(day(9), c("USD"), Rate::parse("1.09").unwrap()); // the Monday
        let usd = c("USD");
        assert_eq!(table.rate_on(usd, day(7)).unwrap().0, day(6));
        assert_eq!(table.rate_on(usd, day(8)).unwrap().0, day(6));
        assert_eq!(table.rate_on(usd, day(9)).unwrap().0, day(9));
        assert_eq!(table.rate_on(usd, day(16)).unwrap().0, day(9));
        let missing = table.rate_on(usd, day(17)).unwrap_err();
        assert_eq!(missing.currency, "USD");
        assert_eq!(missing.date, day(17));
        assert!(missing.to_string().contains("USD"));
        assert!(
            table.rate_on(usd, day(5)).is_err(),
            "nothing before the first"
        );
        assert!(table.rate_on(c("JPY"), day(9)).is_err(), "never published");
        assert_eq!(
            table.rate_on(Currency::EUR, day(1)),
            Ok((day(1), Rate::ONE))
        );
        assert_eq!(table.len(), 2);
    }

    fn rate() -> impl Strategy<Value = Rate> {
        (1i64..1_000_000_000_000, 0u8..=Rate::MAX_SCALE)
            .prop_map(|(mantissa, scale)| Rate { mantissa, scale })
    }

    fn currency() -> impl Strategy<Value = Currency> {
        prop::sample::select(Currency::supported().collect::<Vec<_>>()).prop_map(c)
    }

    /// The same conversion in exact decimal arithmetic done another way: scale everything
    /// to a common integer unit first.
    fn by_hand(amount: i64, from: Currency, rf: Rate, to: Currency, rt: Rate) -> i128 {
        // The amount in euros is amount / 10^d_from / rate_from; in `to` it is that times
        // rate_to, in minor units times 10^d_to: quotient and remainder, rounded up at half.
        let p = |e: u8| 10i128.pow(u32::from(e));
        let numerator =
            i128::from(amount) * i128::from(rt.mantissa) * p(to.minor_digits()) * p(rf.scale);
        let denominator = i128::from(rf.mantissa) * p(from.minor_digits()) * p(rt.scale);
        let (q, r) = (numerator / denominator, numerator % denominator);
        if 2 * r >= denominator {
            q + 1
        } else {
            q
        }
    }

    proptest! {
        #[test]
        fn conversion_is_exact_and_rounded_once(
            amount in 1i64..=MAX_CONVERTIBLE,
            from in currency(), rf in rate(),
            to in currency(), rt in rate(),
        ) {
            let expected = by_hand(amount, from, rf, to, rt);
            prop_assert_eq!(convert_exact(amount, from, rf, to, rt), i64::try_from(expected).ok());
        }

        #[test]
        fn conversion_keeps_order_and_a_currency_converts_to_itself(
            a in 1i64..=999_999_999_999, b in 1i64..=999_999_999_999,
            from in currency(), rf in rate(), to in currency(), rt in rate(),
        ) {
            let (small, large) = (a.min(b), a.max(b));
            // A result beyond i64 is None: where the larger converts, the smaller does too.
            if let Some(converted_large) = convert_exact(large, from, rf, to, rt) {
                let converted_small = convert_exact(small, from, rf, to, rt);
                prop_assert!(converted_small.is_some_and(|s| s <= converted_large));
            }
            prop_assert_eq!(convert_exact(a, from, rf, from, rf), Some(a));
        }
    }
}
