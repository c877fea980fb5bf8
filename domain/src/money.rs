use crate::ParseError;

/// An ISO 4217 currency that Sextant knows the minor unit of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency {
    code: [u8; 3],
    minor_digits: u8,
}

/// (code, digits after the decimal point). Limited to currencies the bank settles in; an
/// unknown code is rejected rather than guessed, since the minor unit changes every amount.
const CURRENCIES: &[(&str, u8)] = &[
    ("EUR", 2),
    ("USD", 2),
    ("GBP", 2),
    ("CHF", 2),
    ("CZK", 2),
    ("PLN", 2),
    ("HUF", 2),
    ("SEK", 2),
    ("NOK", 2),
    ("DKK", 2),
    ("CNY", 2),
    ("HKD", 2),
    ("SGD", 2),
    ("AUD", 2),
    ("CAD", 2),
    ("JPY", 0),
    ("KRW", 0),
    ("TWD", 2),
    ("INR", 2),
    ("BRL", 2),
    ("MXN", 2),
    ("ZAR", 2),
    ("TRY", 2),
    ("AED", 2),
    ("SAR", 2),
    ("THB", 2),
    ("BHD", 3),
    ("KWD", 3),
];

impl Currency {
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        if text.len() != 3 || !text.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(ParseError::new(
                "invalid_currency",
                format!(
                    "`{}` is not an ISO 4217 code (three upper-case letters)",
                    clip(text)
                ),
            ));
        }
        let (_, digits) = CURRENCIES
            .iter()
            .find(|(code, _)| *code == text)
            .ok_or_else(|| {
                ParseError::new(
                    "unknown_currency",
                    "the currency is not supported (ISO 4217 codes of the supported list)"
                        .to_string(),
                )
            })?;
        let b = text.as_bytes();
        Ok(Currency {
            code: [b[0], b[1], b[2]],
            minor_digits: *digits,
        })
    }

    /// The codes [`Currency::parse`] accepts, in the table's order.
    pub fn supported() -> impl Iterator<Item = &'static str> {
        CURRENCIES.iter().map(|(code, _)| *code)
    }

    pub fn as_str(&self) -> &str {
        // Constructed only from the ASCII table above.
        std::str::from_utf8(&self.code).expect("currency codes are ASCII")
    }

    /// The code as a `'static` string (from the table of supported currencies).
    pub fn static_str(&self) -> &'static str {
        CURRENCIES
            .iter()
            .map(|(code, _)| *code)
            .find(|code| *code == self.as_str())
            .expect("a Currency is built only from the supported list")
    }

    /// Digits after the decimal point: 2 for EUR, 0 for JPY.
    pub fn minor_digits(&self) -> u8 {
        self.minor_digits
    }

    pub const EUR: Currency = Currency {
        code: *b"EUR",
        minor_digits: 2,
    };
}

impl std::fmt::Display for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A strictly positive amount in the currency's minor unit (cents). The direction of money is
/// carried separately, so a negative amount is always a mistake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AmountMinor(i64);

impl AmountMinor {
    /// Twelve digits (just under ten billion in a two-digit currency), far above any
    /// payment. Keeping amounts below 13 digits means no number field can hold a card number.
    pub const MAX: i64 = 999_999_999_999;

    pub fn new(value: i64) -> Result<Self, ParseError> {
        if value <= 0 {
            return Err(ParseError::new(
                "not_positive",
                "the amount must be above zero".to_string(),
            ));
        }
        if value > Self::MAX {
            return Err(ParseError::new(
                "too_large",
                format!("the amount exceeds the limit of {}", Self::MAX),
            ));
        }
        Ok(AmountMinor(value))
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

fn clip(text: &str) -> String {
    text.chars().take(16).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currencies_carry_their_minor_unit() {
        assert_eq!(Currency::parse("EUR").unwrap().minor_digits(), 2);
        assert_eq!(Currency::parse("JPY").unwrap().minor_digits(), 0);
        assert_eq!(Currency::parse("eur").unwrap_err().code, "invalid_currency");
        assert_eq!(Currency::parse("XYZ").unwrap_err().code, "unknown_currency");
        assert_eq!(Currency::parse("EUR").unwrap(), Currency::EUR);
    }

    #[test]
    fn amounts_are_positive_and_bounded() {
        assert!(AmountMinor::new(1).is_ok());
        assert_eq!(AmountMinor::new(0).unwrap_err().code, "not_positive");
        assert_eq!(AmountMinor::new(-5).unwrap_err().code, "not_positive");
        assert_eq!(
            AmountMinor::new(AmountMinor::MAX + 1).unwrap_err().code,
            "too_large"
        );
    }
}
