//! The feature catalogue: every feature's name, unit, window and meaning, in the order of
//! [`crate::Features::values`].
//!
//! One macro declares the index enum, the public catalogue and the phrases segment
//! descriptions use, so the three cannot drift apart. Money is in minor units of the
//! customer's base currency (cents for EUR), each foreign amount converted at the reference
//! rate of its own date; windows end at `as_of` and include it.

/// What one feature is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeatureSpec {
    /// Stable snake_case name, unit last.
    pub name: &'static str,
    pub unit: &'static str,
    /// Length of the look-back window in days; `None` for point-in-time values.
    pub window_days: Option<u32>,
    pub meaning: &'static str,
}

/// The documented catalogue, in the order of `Features::values`.
pub fn catalogue() -> &'static [FeatureSpec] {
    CATALOGUE
}

macro_rules! features {
    ($($variant:ident = $name:literal, $unit:literal, $window:expr, $meaning:literal,
       ($high:literal, $low:literal);)+) => {
        /// Index of each feature in `Features::values`.
        // The category shares after the first are written by offset from `ShareGroceries`
        // (see `Values::set_offset`), so some variants are never named in code.
        #[allow(dead_code)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(usize)]
        pub(crate) enum F { $($variant),+ }

        static CATALOGUE: &[FeatureSpec] = &[$(FeatureSpec {
            name: $name,
            unit: $unit,
            window_days: $window,
            meaning: $meaning,
        }),+];

        /// (phrase for a segment well above the population, phrase for one well below),
        /// each at most four words so segment names stay short.
        pub(crate) static PHRASES: &[(&str, &str)] = &[$(($high, $low)),+];
    };
}

const D30: Option<u32> = Some(30);
const D90: Option<u32> = Some(90);
const D365: Option<u32> = Some(365);

features! {
    AgeYears = "age_years", "years", None,
        "Age at as_of, from the birth year.",
        ("older", "younger");
    HistoryDays = "history_days", "days", None,
        "Days since the first payment or app event on record (at most 3650).",
        ("long-standing customers", "new customers");

    IncomePerMonthMinor = "income_per_month_minor", "minor/month", D365,
        "Estimated net monthly income: median over observed months of completed salary and \
         transfer_in credits.",
        ("high income", "low income");
    IncomeCv = "income_cv", "ratio", D365,
        "Coefficient of variation of monthly income over observed months (0 with fewer than \
         two months).",
        ("irregular income", "steady income");
    IncomeMonthShare = "income_month_share", "share", D365,
        "Share of observed months in which any income arrived.",
        ("income every month", "months without income");
    IncomeCreditsPerMonth = "income_credits_per_month", "count/month", D365,
        "Income credits per observed month (one for a monthly salary, many for gig payouts).",
        ("many small payouts", "single monthly payday");
    SalaryIncomeShare = "salary_income_share", "share", D365,
        "Share of income that arrived as salary (kind salary) rather than transfers.",
        ("salaried", "non-salary income");

    Spend30dMinor = "spend_30d_minor", "minor", D30,
        "Spending: completed purchases, bills, cash, loan repayments, instalments and P2P \
         transfers out, less refunds.",
        ("high recent spending", "low recent spending");
    Spend90dMinor = "spend_90d_minor", "minor", D90,
        "Spending (as spend_30d_minor) over 90 days.",
        ("high quarterly spending", "low quarterly spending");
    Spend365dMinor = "spend_365d_minor", "minor", D365,
        "Spending (as spend_30d_minor) over 365 days.",
        ("high annual spending", "low annual spending");
    SpendPerMonthMinor = "spend_per_month_minor", "minor/month", D365,
        "Mean monthly spending over observed months.",
        ("big spenders", "small spenders");
    SpendTrendRatio = "spend_trend_ratio", "ratio", D365,
        "Mean monthly spending of the last 3 months over that of the last 12 (1 = flat).",
        ("rising spending", "falling spending");
    SavingsRate = "savings_rate", "ratio", D365,
        "(income - spending) / income over observed months, clamped to -2..1; 0 without \
         income or spending, -2 with spending but no income.",
        ("high savings rate", "spending beyond income");
    EssentialShare365d = "essential_share_365d", "share", D365,
        "Share of categorised spending on needs (groceries, transport, housing, utilities, \
         health, education, insurance).",
        ("needs-focused spending", "little spent on needs");
    DiscretionaryShare365d = "discretionary_share_365d", "share", D365,
        "Share of categorised spending on wants (dining, travel, subscriptions, shopping, \
         leisure, gambling).",
        ("discretionary spenders", "little discretionary spending");
    CashShare365d = "cash_share_365d", "share", D365,
        "Share of spending taken out as cash at ATMs.",
        ("heavy cash users", "little cash use");
    ShareGroceries = "spend_share_groceries_365d", "share", D365,
        "Share of categorised spending (completed debits with an MCC) on groceries.",
        ("grocery-heavy spending", "little grocery spending");
    ShareDining = "spend_share_dining_365d", "share", D365,
        "Share of categorised spending on restaurants, bars and fast food.",
        ("frequent dining out", "rarely dine out");
    ShareTransport = "spend_share_transport_365d", "share", D365,
        "Share of categorised spending on transit, taxis, fuel and car costs.",
        ("high transport spending", "low transport spending");
    ShareTravel = "spend_share_travel_365d", "share", D365,
        "Share of categorised spending on flights, hotels and travel agencies.",
        ("big travel budget", "little travel spending");
    ShareHousing = "spend_share_housing_365d", "share", D365,
        "Share of categorised spending on rent and home services.",
        ("rent-heavy budget", "low housing costs");
    ShareUtilities = "spend_share_utilities_365d", "share", D365,
        "Share of categorised spending on energy, water and telecoms.",
        ("high utility bills", "low utility bills");
    ShareSubscriptions = "spend_share_subscriptions_365d", "share", D365,
        "Share of categorised spending on streaming and digital goods.",
        ("digital subscribers", "few subscriptions");
    ShareShopping = "spend_share_shopping_365d", "share", D365,
        "Share of categorised spending on retail: clothing, electronics, marketplaces, home.",
        ("keen shoppers", "little shopping");
    ShareHealth = "spend_share_health_365d", "share", D365,
        "Share of categorised spending on pharmacies and medical care.",
        ("high health spending", "low health spending");
    ShareLeisure = "spend_share_leisure_365d", "share", D365,
        "Share of categorised spending on entertainment, sport and gyms.",
        ("leisure lovers", "little leisure spending");
    ShareEducation = "spend_share_education_365d", "share", D365,
        "Share of categorised spending on schools and courses.",
        ("education spenders", "no education spending");
    ShareGambling = "spend_share_gambling_365d", "share", D365,
        "Share of categorised spending on betting and lotteries.",
        ("frequent gambling", "no gambling");
    ShareInsuranceFinance = "spend_share_insurance_finance_365d", "share", D365,
        "Share of categorised spending on insurance premiums and financial services.",
        ("insurance payers", "few insurance payments");
    ShareCash = "spend_share_cash_365d", "share", D365,
        "Share of categorised spending withdrawn at ATMs.",
        ("cash-heavy spending", "cash-light spending");
    ShareOther = "spend_share_other_365d", "share", D365,
        "Share of categorised spending with other merchant codes.",
        ("unusual merchants", "mainstream merchants");

    BalanceLatestMinor = "balance_latest_minor", "minor", None,
        "Latest known account balance (balance_after of the latest payment; 0 when unknown).",
        ("high account balance", "low account balance");
    BufferMonths = "buffer_months", "months", None,
        "Latest balance over mean monthly spending, clamped to -24..120 (0 when no balance \
         is known).",
        ("large cash buffer", "thin cash buffer");
    BalanceMin90dMinor = "balance_min_90d_minor", "minor", D90,
        "Lowest balance after any payment in the window (0 when none is known).",
        ("balance stays high", "balance runs low");
    OverdraftDayShare90d = "overdraft_day_share_90d", "share", D90,
        "Share of the window's observed time the balance stood below zero.",
        ("often overdrawn", "never overdrawn");
    LiquidAssetsMonths = "liquid_assets_months", "months", None,
        "Savings buffer: positive balance plus deposit and fund holdings, over mean monthly \
         spending, clamped to 0..120.",
        ("large savings buffer", "low savings buffer");

    DebtServiceRatio = "debt_service_ratio", "ratio", D365,
        "Loan repayments and instalments due per month over monthly income, clamped to \
         0..10.",
        ("heavy debt burden", "little debt");
    BnplPayments90d = "bnpl_payments_90d", "count", D90,
        "Buy-now-pay-later instalments due (completed or failed).",
        ("recent BNPL users", "no recent BNPL");
    BnplPayments365d = "bnpl_payments_365d", "count", D365,
        "Buy-now-pay-later instalments due (completed or failed).",
        ("frequent BNPL users", "no BNPL use");
    BnplAmount365dMinor = "bnpl_amount_365d_minor", "minor", D365,
        "Amount of buy-now-pay-later instalments due.",
        ("large BNPL amounts", "small BNPL amounts");
    CreditProductsCount = "credit_products_count", "count", None,
        "Credit products held: credit cards, consumer loans, instalment plans.",
        ("many credit products", "no credit products");
    CreditOwedMonths = "credit_owed_months", "months", None,
        "Balance owed on credit products over monthly income, clamped to 0..120.",
        ("high credit balances", "low credit balances");
    FailedPayments90d = "failed_payments_90d", "count", D90,
        "Payments with status failed.",
        ("recent failed payments", "no recent failures");
    FailedPayments365d = "failed_payments_365d", "count", D365,
        "Payments with status failed.",
        ("frequent failed payments", "no failed payments");
    FailedObligations365d = "failed_obligations_365d", "count", D365,
        "Failed bills, loan repayments and instalments: missed obligations.",
        ("missed obligations", "obligations always met");

    OnlineShare365d = "online_share_365d", "share", D365,
        "Share of everyday debits (purchases, cash, P2P out) made online, by count.",
        ("online shoppers", "in-store shoppers");
    CrossBorderShare365d = "cross_border_share_365d", "share", D365,
        "Share of everyday debits made cross-border, by count.",
        ("frequent travel abroad", "rarely abroad");
    TransitShare365d = "transit_share_365d", "share", D365,
        "Share of everyday debits made on public transit, by count.",
        ("transit commuters", "rarely on transit");
    P2pShare365d = "p2p_share_365d", "share", D365,
        "Share of everyday debits sent person-to-person, by count.",
        ("frequent P2P payers", "few P2P payments");
    ForeignCountries365d = "foreign_countries_365d", "count", D365,
        "Distinct countries of cross-border debits (at most 32 counted).",
        ("many countries visited", "no foreign countries");
    CrossBorderSpendShare365d = "cross_border_spend_share_365d", "share", D365,
        "Share of everyday debits made cross-border, by amount in the base currency.",
        ("spend much abroad", "spend at home");
    ForeignCurrencySpendShare365d = "foreign_currency_spend_share_365d", "share", D365,
        "Share of everyday debits paid in a currency other than the base currency, by \
         amount converted to it.",
        ("spend in foreign currencies", "spend in home currency");
    Currencies365d = "currencies_365d", "count", D365,
        "Distinct currencies of everyday debits, the base currency included (0 without any).",
        ("many currencies used", "one currency used");
    MerchantEntropy365dBits = "merchant_entropy_365d_bits", "bits", D365,
        "Shannon entropy of merchant ids over completed debits: diversity of merchants.",
        ("many different merchants", "few regular merchants");
    DaysSinceLastPurchase = "days_since_last_purchase", "days", D365,
        "Days since the latest completed purchase (365 when none in the window).",
        ("lapsed card users", "recent card users");
    PurchasesPerMonth = "purchases_per_month", "count/month", D365,
        "Completed purchases per observed month.",
        ("frequent card use", "infrequent card use");
    TicketMeanMinor = "ticket_mean_minor", "minor", D365,
        "Mean amount of a completed purchase.",
        ("large tickets", "small tickets");

    InvestmentOutPerMonthMinor = "investment_out_per_month_minor", "minor/month", D365,
        "Completed investment debits (money put into investments) per observed month.",
        ("regular investors", "no investing");
    InvestmentInPerMonthMinor = "investment_in_per_month_minor", "minor/month", D365,
        "Completed investment credits (sales, dividends) per observed month.",
        ("investment income", "no investment income");
    InvestmentIncomeShare = "investment_income_share", "share", D365,
        "Investment debits per month over monthly income, clamped to 0..1.",
        ("invest much of income", "invest none of income");

    Sessions30d = "sessions_30d", "count", D30,
        "App sessions (app_open events).",
        ("highly engaged", "rarely in the app");
    Sessions90d = "sessions_90d", "count", D90,
        "App sessions (app_open events).",
        ("frequent app users", "infrequent app users");
    DaysSinceLastSession = "days_since_last_session", "days", D365,
        "Days since the latest app_open (365 when none in the window).",
        ("lapsed app users", "recently active");
    ProductViews30d = "product_views_30d", "count", D30,
        "Product pages viewed.",
        ("browsing products now", "not browsing products");
    ProductViews90d = "product_views_90d", "count", D90,
        "Product pages viewed.",
        ("product browsers", "few product views");
    FundViews90d = "fund_views_90d", "count", D90,
        "Views of fund product pages.",
        ("interested in funds", "no fund interest");
    OfferImpressions90d = "offer_impressions_90d", "count", D90,
        "Offers shown in the app.",
        ("many offers seen", "few offers seen");
    OfferClicks30d = "offer_clicks_30d", "count", D30,
        "Offers clicked.",
        ("recent offer clickers", "no recent clicks");
    OfferClicks90d = "offer_clicks_90d", "count", D90,
        "Offers clicked.",
        ("offer clickers", "ignore offers");
    OfferCtr90d = "offer_ctr_90d", "share", D90,
        "Offer clicks over offer impressions, at most 1 (0 without impressions).",
        ("responsive to offers", "unresponsive to offers");

    HoldingsCount = "holdings_count", "count", None,
        "Products held (opened at or before as_of).",
        ("many products held", "few products held");
    AssetsValueMinor = "assets_value_minor", "minor", None,
        "Value of deposit and fund holdings.",
        ("wealthy savers", "few savings");
    FundShareOfAssets = "fund_share_of_assets", "share", None,
        "Fund holdings over deposit and fund holdings (0 without assets).",
        ("fund investors", "cash savers");
    FundRiskLevelMax = "fund_risk_level_max", "level", None,
        "Highest risk level (1..5) among funds held; 0 without funds.",
        ("risky funds held", "no risky funds");

    LoyaltyPointsBalance = "loyalty_points_balance", "points", None,
        "Loyalty points held (every lot's remaining points).",
        ("many points held", "no points held");
    LoyaltyPointsEarned365d = "loyalty_points_earned_365d", "points", D365,
        "Loyalty points earned on purchases, less what refunds took back.",
        ("earn many points", "earn few points");
    LoyaltyPointsRedeemed365d = "loyalty_points_redeemed_365d", "points", D365,
        "Loyalty points spent on purchases and instalment fees, less reversed redemptions.",
        ("spend their points", "never spend points");
    LoyaltyTier = "loyalty_tier", "rank", D365,
        "Loyalty tier the year's completed purchases less refunds reach under the earning \
         rules in force (0 blue, 1 silver, 2 gold), each amount in the rules' currency at \
         its own day's rate (one without a rate left out).",
        ("top loyalty tiers", "entry loyalty tier");
}

/// Number of features.
pub(crate) const COUNT: usize = F::LoyaltyTier as usize + 1;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::categories::{self, Category};

    #[test]
    fn catalogue_is_consistent() {
        assert_eq!(CATALOGUE.len(), COUNT);
        assert_eq!(PHRASES.len(), COUNT);
        let mut names: Vec<&str> = CATALOGUE.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), COUNT, "names are unique");
        for spec in CATALOGUE {
            assert!(
                spec.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{}",
                spec.name
            );
            assert!(!spec.unit.is_empty() && !spec.meaning.is_empty());
        }
        for (high, low) in PHRASES {
            assert!(high.split_whitespace().count() <= 4, "{high}");
            assert!(low.split_whitespace().count() <= 4, "{low}");
        }
    }

    #[test]
    fn category_shares_follow_category_order() {
        for c in Category::ALL {
            let spec = &CATALOGUE[F::ShareGroceries as usize + c.index()];
            assert_eq!(
                spec.name,
                format!("spend_share_{}_365d", categories::name(c))
            );
        }
    }
}
