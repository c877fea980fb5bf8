use chrono::{DateTime, Utc};

use crate::{string_enum, AmountMinor, Currency, CustomerId, ParseError, ProductId};

string_enum!(
    /// The families of product the bank sells through the app.
    ProductKind {
        Deposit = "deposit",
        Fund = "fund",
        Insurance = "insurance",
        CreditCard = "credit_card",
        ConsumerLoan = "consumer_loan",
        InstalmentPlan = "instalment_plan",
    }
);

impl ProductKind {
    /// Credit products need a credit decision before they may be offered.
    pub fn is_credit(self) -> bool {
        matches!(
            self,
            ProductKind::CreditCard | ProductKind::ConsumerLoan | ProductKind::InstalmentPlan
        )
    }
}

macro_rules! level {
    ($(#[$meta:meta])* $name:ident, $prefix:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(u8);

        impl $name {
            pub const LOWEST: $name = $name(1);
            pub const HIGHEST: $name = $name(5);

            /// From 1..=5.
            pub fn new(level: u8) -> Result<Self, ParseError> {
                if (1..=5).contains(&level) {
                    Ok($name(level))
                } else {
                    Err(ParseError::new("out_of_range", format!("level {level} is outside 1..=5")))
                }
            }

            /// From `R1`..`R5` / `C1`..`C5`.
            pub fn parse(text: &str) -> Result<Self, ParseError> {
                let digit = text.strip_prefix($prefix).and_then(|d| d.parse::<u8>().ok());
                match digit {
                    Some(level) if (1..=5).contains(&level) && text.len() == 2 => Ok($name(level)),
                    _ => Err(ParseError::new(
                        "invalid_level",
                        format!("must be one of {p}1..{p}5", p = $prefix),
                    )),
                }
            }

            pub fn get(self) -> u8 {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}{}", $prefix, self.0)
            }
        }
    };
}

level!(
    /// A product's risk level, R1 (lowest) to R5.
    RiskLevel,
    "R"
);
level!(
    /// A customer's risk tolerance, C1 (lowest) to C5.
    RiskTolerance,
    "C"
);

/// A product in the catalogue.
#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    pub id: ProductId,
    pub kind: ProductKind,
    pub name: String,
    pub risk_level: RiskLevel,
    pub currency: Currency,
    /// Smallest amount a customer may put in or borrow.
    pub min_amount_minor: i64,
    /// Contract length; `None` for open-ended products.
    pub term_months: Option<u16>,
    /// Interest paid (deposits) or charged (credit), annual, in basis points.
    pub rate_bps: Option<u32>,
    /// Ongoing annual charge of a fund, in basis points.
    pub fee_bps: Option<u32>,
    /// Capital-market asset class of a fund or deposit: one class (`global_equity`,
    /// `government_bonds`, ...) or a mix with shares summing to one
    /// (`global_equity:0.5,government_bonds:0.5`).
    pub asset_class: Option<String>,
}

/// A customer's position in one product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holding {
    pub customer_id: CustomerId,
    pub product_id: ProductId,
    pub value: AmountMinor,
    pub currency: Currency,
    pub opened_at: DateTime<Utc>,
}

/// The catalogue a fresh installation starts with, so the demo needs no data files.
pub fn default_catalogue() -> Vec<Product> {
    #[allow(clippy::type_complexity)]
    let rows: &[(
        &str,
        ProductKind,
        &str,
        u8,
        i64,
        Option<u16>,
        Option<u32>,
        Option<u32>,
        Option<&str>,
    )] = &[
        (
            "dep-easy-access",
            ProductKind::Deposit,
            "Easy-access savings",
            1,
            100,
            None,
            Some(150),
            None,
            Some("cash"),
        ),
        (
            "dep-term-12m",
            ProductKind::Deposit,
            "12-month term deposit",
            1,
            50_000,
            Some(12),
            Some(275),
            None,
            Some("cash"),
        ),
        (
            "fund-money-market",
            ProductKind::Fund,
            "Money-market fund",
            1,
            2_500,
            None,
            None,
            Some(15),
            Some("cash"),
        ),
        (
            "fund-gov-bonds",
            ProductKind::Fund,
            "Government bond fund",
            2,
            2_500,
            None,
            None,
            Some(20),
            Some("government_bonds"),
        ),
        (
            "fund-corp-bonds",
            ProductKind::Fund,
            "Corporate bond fund",
            2,
            2_500,
            None,
            None,
            Some(35),
            Some("corporate_bonds"),
        ),
        (
            "fund-balanced",
            ProductKind::Fund,
            "Balanced 50/50 fund",
            3,
            2_500,
            None,
            None,
            Some(45),
            Some("global_equity:0.5,government_bonds:0.5"),
        ),
        (
            "fund-real-estate",
            ProductKind::Fund,
            "Listed real-estate fund",
            3,
            2_500,
            None,
            None,
            Some(50),
            Some("real_estate"),
        ),
        (
            "fund-gold",
            ProductKind::Fund,
            "Gold tracker",
            4,
            2_500,
            None,
            None,
            Some(25),
            Some("gold"),
        ),
        (
            "fund-domestic-equity",
            ProductKind::Fund,
            "Domestic equity index",
            4,
            2_500,
            None,
            None,
            Some(20),
            Some("domestic_equity"),
        ),
        (
            "fund-global-equity",
            ProductKind::Fund,
            "Global equity index",
            4,
            2_500,
            None,
            None,
            Some(20),
            Some("global_equity"),
        ),
        (
            "fund-emerging-equity",
            ProductKind::Fund,
            "Emerging-markets equity",
            5,
            2_500,
            None,
            None,
            Some(60),
            Some("emerging_equity"),
        ),
        (
            "ins-travel",
            ProductKind::Insurance,
            "Travel insurance",
            1,
            1_500,
            Some(12),
            None,
            None,
            None,
        ),
        (
            "ins-payment-protection",
            ProductKind::Insurance,
            "Payment protection",
            1,
            500,
            Some(12),
            None,
            None,
            None,
        ),
        (
            "cc-classic",
            ProductKind::CreditCard,
            "Classic credit card",
            2,
            50_000,
            None,
            Some(1_990),
            None,
            None,
        ),
        (
            "cc-travel",
            ProductKind::CreditCard,
            "Travel rewards card",
            2,
            100_000,
            None,
            Some(2_190),
            None,
            None,
        ),
        (
            "loan-personal",
            ProductKind::ConsumerLoan,
            "Personal loan",
            2,
            100_000,
            Some(36),
            Some(890),
            None,
            None,
        ),
        (
            "bnpl-checkout",
            ProductKind::InstalmentPlan,
            "Pay in instalments",
            2,
            5_000,
            Some(12),
            Some(0),
            None,
            None,
        ),
    ];
    rows.iter()
        .map(
            |&(id, kind, name, risk, min, term, rate, fee, class)| Product {
                id: ProductId::parse(id).expect("built-in ids are valid"),
                kind,
                name: name.to_owned(),
                risk_level: RiskLevel::new(risk).expect("built-in levels are valid"),
                currency: Currency::EUR,
                min_amount_minor: min,
                term_months: term,
                rate_bps: rate,
                fee_bps: fee,
                asset_class: class.map(str::to_owned),
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_and_order() {
        assert_eq!(RiskLevel::parse("R3").unwrap().get(), 3);
        assert_eq!(RiskTolerance::parse("C5").unwrap().to_string(), "C5");
        assert_eq!(RiskLevel::parse("R6").unwrap_err().code, "invalid_level");
        assert_eq!(RiskLevel::parse("C3").unwrap_err().code, "invalid_level");
        assert!(RiskLevel::LOWEST < RiskLevel::HIGHEST);
    }

    #[test]
    fn default_catalogue_covers_every_kind_and_level() {
        let catalogue = default_catalogue();
        for kind in ProductKind::ALL {
            assert!(catalogue.iter().any(|p| p.kind == *kind), "{kind} missing");
        }
        for level in 1..=5 {
            assert!(
                catalogue.iter().any(|p| p.risk_level.get() == level),
                "R{level} missing"
            );
        }
    }
}
