//! Constant tables (merchant categories, countries, regions, screens, queries) and the validated
//! domain values built from them once per process.
//!
//! Building `MerchantId`, `Mcc`, `ShortText` and `ProductId` values means parsing; doing it per
//! event would dominate generation time, so events clone ready-made values from here.

use std::sync::OnceLock;

use sextant_domain::{
    default_catalogue, CountryCode, EventId, Mcc, MerchantId, Product, ProductId, ProductKind,
    Region, ShortText,
};

use crate::sample::Cumulative;

/// When in the day purchases of a category happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hours {
    Day,
    Evening,
    Commute,
    Online,
    Night,
}

impl Hours {
    const ALL: [Hours; 5] = [
        Hours::Day,
        Hours::Evening,
        Hours::Commute,
        Hours::Online,
        Hours::Night,
    ];

    /// Relative weight of each hour. Timestamps are UTC; the home country's clock is one or two
    /// hours ahead, which synthetic data can ignore.
    const fn weights(self) -> [f64; 24] {
        match self {
            Hours::Day => [
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.2, 1.0, 3.0, 5.0, 6.0, 7.0, 8.0, 7.0, 6.0, 6.0,
                7.0, 8.0, 7.0, 5.0, 3.0, 1.0, 0.3, 0.1,
            ],
            Hours::Evening => [
                0.1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.2, 0.3, 0.5, 0.8, 2.0, 5.0, 3.0, 1.0, 0.8,
                1.0, 2.0, 5.0, 8.0, 8.0, 6.0, 3.0, 1.0,
            ],
            Hours::Commute => [
                0.0, 0.0, 0.0, 0.0, 0.1, 1.0, 3.0, 8.0, 7.0, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0,
                5.0, 7.0, 4.0, 1.5, 1.0, 1.0, 1.0, 0.5,
            ],
            Hours::Online => [
                1.0, 0.5, 0.2, 0.2, 0.2, 0.2, 0.5, 1.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0,
                2.0, 2.0, 4.0, 4.0, 4.0, 4.0, 4.0, 2.0,
            ],
            Hours::Night => [
                3.0, 1.0, 0.3, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5, 0.5, 0.3, 0.3,
                0.5, 1.0, 1.0, 3.0, 5.0, 7.0, 8.0, 6.0,
            ],
        }
    }
}

/// A purchase category: one MCC with its price level and habits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Category {
    pub mcc: u16,
    /// Median ticket in euros before the customer's own spending scale.
    pub median_eur: f64,
    pub sigma: f64,
    /// Share of the category bought online (before the persona's own online factor).
    pub online_share: f64,
    pub hours: Hours,
    /// How many merchants of the category a region has: diversity is a segmentation signal.
    pub pool: u16,
    /// Weight multiplier in December (gifts).
    pub december: f64,
    /// Chance a completed purchase is refunded later.
    pub refund_rate: f64,
}

pub(crate) const N_CAT: usize = 20;

/// Indices of the categories generators treat specially, in [`CATEGORIES`] order.
pub(crate) mod cat {
    pub const TRANSIT: usize = 4;
    pub const TAXI: usize = 5;
    pub const AIRLINES: usize = 6;
    pub const HOTELS: usize = 7;
    pub const LUXURY: usize = 16;
    pub const BETTING: usize = 17;
}

// A row constructor: the table reads better as rows than as struct literals.
#[allow(clippy::too_many_arguments)]
const fn category(
    mcc: u16,
    median_eur: f64,
    sigma: f64,
    online_share: f64,
    hours: Hours,
    pool: u16,
    december: f64,
    refund_rate: f64,
) -> Category {
    Category {
        mcc,
        median_eur,
        sigma,
        online_share,
        hours,
        pool,
        december,
        refund_rate,
    }
}

#[rustfmt::skip]
pub(crate) const CATEGORIES: [Category; N_CAT] = [
    category(5411, 22.0, 0.75, 0.05, Hours::Day, 40, 1.15, 0.002),      // groceries
    category(5812, 24.0, 0.55, 0.05, Hours::Evening, 200, 1.1, 0.002), // restaurants
    category(5814, 8.5, 0.45, 0.25, Hours::Evening, 60, 1.0, 0.002),   // fast food, delivery
    category(5541, 48.0, 0.35, 0.0, Hours::Day, 30, 1.0, 0.0),         // fuel
    category(4111, 2.2, 0.9, 0.25, Hours::Commute, 3, 1.0, 0.0),       // public transit
    category(4121, 11.0, 0.5, 0.6, Hours::Night, 6, 1.1, 0.01),        // taxi, ride hailing
    category(4511, 140.0, 0.6, 0.9, Hours::Online, 20, 1.0, 0.05),     // airlines
    category(7011, 105.0, 0.6, 0.6, Hours::Online, 150, 1.0, 0.04),    // hotels
    category(5651, 42.0, 0.65, 0.4, Hours::Day, 80, 1.8, 0.06),        // clothing
    category(5732, 75.0, 1.0, 0.5, Hours::Day, 30, 2.0, 0.05),         // electronics
    category(5912, 11.0, 0.6, 0.1, Hours::Day, 30, 1.1, 0.005),        // pharmacy
    category(5999, 28.0, 0.85, 0.85, Hours::Online, 10, 1.7, 0.05),    // online marketplaces
    category(5942, 16.0, 0.5, 0.5, Hours::Day, 15, 1.6, 0.02),         // books
    category(5815, 6.0, 0.8, 1.0, Hours::Online, 25, 1.3, 0.01),       // digital goods
    category(7832, 11.0, 0.4, 0.4, Hours::Evening, 10, 1.2, 0.01),     // cinema, entertainment
    category(8220, 60.0, 0.9, 0.5, Hours::Day, 20, 0.6, 0.01),         // education
    category(5944, 380.0, 0.8, 0.2, Hours::Day, 15, 2.0, 0.03),        // jewellery, luxury
    category(7995, 15.0, 1.0, 0.8, Hours::Night, 6, 1.0, 0.0),         // betting
    category(5200, 35.0, 0.9, 0.3, Hours::Day, 12, 1.0, 0.03),         // home, hardware
    category(5813, 11.0, 0.55, 0.0, Hours::Night, 120, 1.3, 0.0),      // bars
];

/// What purchases look like abroad: meals, hotels paid at checkout, taxis, sights.
#[rustfmt::skip]
pub(crate) const TRIP_MIX: [f64; N_CAT] = [
    12.0, 30.0, 12.0, 3.0, 4.0, 8.0, 0.0, 10.0, 6.0, 1.0,
    2.0, 0.0, 1.0, 0.0, 6.0, 0.0, 1.0, 0.0, 0.0, 10.0,
];

/// Payees of regular payments that are not card purchases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Biller {
    Rent,
    Utilities,
    Telecom,
    Insurance,
    Streaming,
    Gym,
    Bnpl,
    Atm,
}

/// (biller, MCC, merchant id prefix, pool size), in [`Biller`] order.
const BILLERS: [(Biller, Option<u16>, &str, u16); 8] = [
    (Biller::Rent, Some(6513), "m6513", 60),
    (Biller::Utilities, Some(4900), "m4900", 8),
    (Biller::Telecom, Some(4814), "m4814", 6),
    (Biller::Insurance, Some(6300), "m6300", 8),
    (Biller::Streaming, Some(4899), "m4899", 10),
    (Biller::Gym, Some(7997), "m7997", 12),
    (Biller::Bnpl, None, "bnpl", 3),
    (Biller::Atm, Some(6011), "m6011", 6),
];

pub(crate) const HOME_COUNTRY: &str = "CZ";

/// Foreign countries: (code, weight as a trip destination, weight as an online shop's home,
/// airfare relative to a short European flight).
#[rustfmt::skip]
pub(crate) const FOREIGN: [(&str, f64, f64, f64); 15] = [
    ("SK", 12.0, 0.0, 0.6), ("AT", 12.0, 0.5, 0.8), ("DE", 14.0, 4.0, 1.0),
    ("HR", 14.0, 0.0, 1.0), ("IT", 12.0, 0.5, 1.2), ("ES", 8.0, 0.5, 1.4),
    ("GR", 8.0, 0.0, 1.4), ("FR", 5.0, 0.5, 1.3), ("GB", 4.0, 1.0, 1.3),
    ("PL", 6.0, 0.5, 0.7), ("US", 3.0, 2.0, 4.0), ("TH", 2.0, 0.0, 4.5),
    ("NL", 1.0, 2.0, 1.1), ("IE", 0.5, 2.0, 1.3), ("CN", 0.0, 3.0, 5.0),
];

/// Merchants per (foreign country, category): a tourist meets fewer merchants than a local.
const FOREIGN_POOL: u16 = 20;

/// Regions of the home country and their income level relative to the national median.
pub(crate) const REGIONS: [(&str, f64); 8] = [
    ("Praha", 1.22),
    ("Stredocesky", 1.05),
    ("Jihomoravsky", 1.03),
    ("Moravskoslezsky", 0.92),
    ("Plzensky", 0.98),
    ("Ustecky", 0.88),
    ("Olomoucky", 0.93),
    ("Zlinsky", 0.94),
];

/// App screens, with named indices.
pub(crate) const SCREENS: [&str; 10] = [
    "home",
    "spending",
    "invest",
    "loans",
    "offers",
    "cards",
    "savings",
    "insurance",
    "settings",
    "payments",
];

pub(crate) mod screen {
    pub const HOME: u8 = 0;
    pub const SPENDING: u8 = 1;
    pub const INVEST: u8 = 2;
    pub const LOANS: u8 = 3;
    pub const OFFERS: u8 = 4;
    pub const CARDS: u8 = 5;
    pub const SAVINGS: u8 = 6;
    pub const INSURANCE: u8 = 7;
}

/// What a product is to this generator, derived from its kind so a changed catalogue still
/// gets sensible affinities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    EasyAccess,
    TermDeposit,
    Fund,
    TravelInsurance,
    Protection,
    ClassicCard,
    TravelCard,
    PersonalLoan,
    Bnpl,
}

fn role_of(product: &Product) -> Role {
    let travel = product.id.as_str().contains("travel") || product.name.contains("ravel");
    match product.kind {
        ProductKind::Deposit if product.term_months.is_some() => Role::TermDeposit,
        ProductKind::Deposit => Role::EasyAccess,
        ProductKind::Fund => Role::Fund,
        ProductKind::Insurance if travel => Role::TravelInsurance,
        ProductKind::Insurance => Role::Protection,
        ProductKind::CreditCard if travel => Role::TravelCard,
        ProductKind::CreditCard => Role::ClassicCard,
        ProductKind::ConsumerLoan => Role::PersonalLoan,
        ProductKind::InstalmentPlan => Role::Bnpl,
    }
}

/// What people type when they look for a product of this role (and risk level, for funds).
fn queries_for(role: Role, level: u8) -> &'static [&'static str] {
    match role {
        Role::EasyAccess => &["savings account", "interest rate"],
        Role::TermDeposit => &["term deposit", "fixed rate savings"],
        Role::Fund if level <= 2 => &["bonds", "money market", "safe investment"],
        Role::Fund if level == 3 => &["balanced fund", "real estate fund", "invest"],
        Role::Fund => &["etf", "stocks", "gold", "emerging markets"],
        Role::TravelInsurance => &["travel insurance"],
        Role::Protection => &["payment protection", "insurance"],
        Role::ClassicCard => &["credit card", "card limit"],
        Role::TravelCard => &["travel card", "airport lounge"],
        Role::PersonalLoan => &["loan", "personal loan", "refinance"],
        Role::Bnpl => &["pay later", "instalments"],
    }
}

/// Searches unrelated to any product.
const GENERIC_QUERIES: [&str; 5] = ["statement", "pin", "overdraft", "exchange rate", "mortgage"];

/// A catalogue product with what the generators need about it.
#[derive(Debug, Clone)]
pub(crate) struct ProductInfo {
    pub id: ProductId,
    pub offer_id: EventId,
    pub role: Role,
    pub level: u8,
    pub min_amount_minor: i64,
    pub section: u8,
    /// Indices into [`Tables::queries`].
    pub queries: Vec<u8>,
}

#[derive(Debug)]
pub(crate) struct Tables {
    pub products: Vec<ProductInfo>,
    pub category_mcc: [Mcc; N_CAT],
    pub home_merchants: Vec<Vec<MerchantId>>,
    /// `[foreign country][category]`, flattened.
    foreign_merchants: Vec<Vec<MerchantId>>,
    pub biller_merchants: Vec<Vec<MerchantId>>,
    pub biller_mcc: Vec<Option<Mcc>>,
    pub home: CountryCode,
    pub foreign: Vec<CountryCode>,
    pub trip_countries: Cumulative<15>,
    pub online_countries: Cumulative<15>,
    pub regions: Vec<Region>,
    pub screens: Vec<ShortText>,
    pub queries: Vec<ShortText>,
    /// Indices into `queries` of the generic searches.
    pub generic_queries: Vec<u8>,
    pub hours: [Cumulative<24>; 5],
}

pub(crate) fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(Tables::build)
}

fn mcc(code: u16) -> Mcc {
    Mcc::parse(&format!("{code:04}")).expect("table MCCs are four digits")
}

fn merchant(text: &str) -> MerchantId {
    MerchantId::parse(text).expect("table merchant ids are short and plain")
}

fn short_text(text: &str) -> ShortText {
    ShortText::parse(text).expect("table texts are short and plain")
}

impl Tables {
    fn build() -> Tables {
        let home_merchants = CATEGORIES
            .iter()
            .map(|c| {
                (1..=c.pool)
                    .map(|k| merchant(&format!("m{:04}-{k:03}", c.mcc)))
                    .collect()
            })
            .collect();
        let mut foreign_merchants = Vec::with_capacity(FOREIGN.len() * N_CAT);
        for (code, ..) in FOREIGN {
            for c in &CATEGORIES {
                let pool = c.pool.min(FOREIGN_POOL);
                let ids = (1..=pool)
                    .map(|k| merchant(&format!("m{:04}-{code}{k:02}", c.mcc)))
                    .collect();
                foreign_merchants.push(ids);
            }
        }
        let (queries, generic_queries, products) = Self::products_and_queries();
        Tables {
            products,
            category_mcc: CATEGORIES.map(|c| mcc(c.mcc)),
            home_merchants,
            foreign_merchants,
            biller_merchants: BILLERS
                .iter()
                .map(|(_, _, prefix, pool)| {
                    (1..=*pool)
                        .map(|k| merchant(&format!("{prefix}-{k:03}")))
                        .collect()
                })
                .collect(),
            biller_mcc: BILLERS.iter().map(|(_, code, ..)| code.map(mcc)).collect(),
            home: CountryCode::parse(HOME_COUNTRY).expect("home country code is valid"),
            foreign: FOREIGN
                .iter()
                .map(|(code, ..)| CountryCode::parse(code).expect("table country codes"))
                .collect(),
            trip_countries: Cumulative::new(&FOREIGN.map(|f| f.1)),
            online_countries: Cumulative::new(&FOREIGN.map(|f| f.2)),
            regions: REGIONS
                .iter()
                .map(|(name, _)| Region::parse(name).expect("table regions are valid"))
                .collect(),
            screens: SCREENS.iter().map(|s| short_text(s)).collect(),
            queries,
            generic_queries,
            hours: Hours::ALL.map(|h| Cumulative::new(&h.weights())),
        }
    }

    fn products_and_queries() -> (Vec<ShortText>, Vec<u8>, Vec<ProductInfo>) {
        let mut texts: Vec<&'static str> = Vec::new();
        let mut index_of = |text: &'static str| -> u8 {
            let i = texts.iter().position(|t| *t == text).unwrap_or_else(|| {
                texts.push(text);
                texts.len() - 1
            });
            u8::try_from(i).expect("fewer than 256 distinct queries")
        };
        let generic = GENERIC_QUERIES.iter().map(|q| index_of(q)).collect();
        let products = default_catalogue()
            .iter()
            .map(|p| {
                let role = role_of(p);
                let level = p.risk_level.get();
                ProductInfo {
                    id: p.id.clone(),
                    offer_id: EventId::parse(&format!("o-{}", p.id))
                        .expect("offer ids built from product ids are valid"),
                    role,
                    level,
                    min_amount_minor: p.min_amount_minor.max(1),
                    section: section_of(role),
                    queries: queries_for(role, level)
                        .iter()
                        .map(|q| index_of(q))
                        .collect(),
                }
            })
            .collect();
        (
            texts.iter().map(|t| short_text(t)).collect(),
            generic,
            products,
        )
    }

    pub(crate) fn foreign_merchants(&self, country: usize, category: usize) -> &[MerchantId] {
        &self.foreign_merchants[country * N_CAT + category]
    }

    pub(crate) fn billers(&self, biller: Biller) -> &[MerchantId] {
        &self.biller_merchants[biller as usize]
    }

    pub(crate) fn biller_mcc(&self, biller: Biller) -> Option<Mcc> {
        self.biller_mcc[biller as usize]
    }

    pub(crate) fn hour_profile(&self, hours: Hours) -> &Cumulative<24> {
        &self.hours[hours as usize]
    }
}

fn section_of(role: Role) -> u8 {
    match role {
        Role::EasyAccess | Role::TermDeposit => screen::SAVINGS,
        Role::Fund => screen::INVEST,
        Role::TravelInsurance | Role::Protection => screen::INSURANCE,
        Role::ClassicCard | Role::TravelCard => screen::CARDS,
        Role::PersonalLoan | Role::Bnpl => screen::LOANS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_build_and_cover_the_catalogue() {
        let t = tables();
        assert_eq!(t.products.len(), default_catalogue().len());
        assert!(t.products.iter().all(|p| !p.queries.is_empty()));
        assert!(t
            .products
            .iter()
            .any(|p| p.role == Role::Fund && p.level == 5));
        assert_eq!(t.products[0].offer_id.as_str(), "o-dep-easy-access");
        assert_eq!(t.home_merchants[0][0].as_str(), "m5411-001");
        assert_eq!(
            t.foreign_merchants(3, cat::HOTELS)[1].as_str(),
            "m7011-HR02"
        );
        assert_eq!(t.billers(Biller::Rent).len(), 60);
        assert_eq!(t.biller_mcc(Biller::Telecom).map(|m| m.get()), Some(4814));
        assert!(t.biller_mcc(Biller::Bnpl).is_none());
        assert_eq!(t.screens[usize::from(screen::INVEST)].as_str(), "invest");
    }

    #[test]
    fn foreign_countries_are_foreign() {
        assert!(FOREIGN.iter().all(|(code, ..)| *code != HOME_COUNTRY));
    }
}
