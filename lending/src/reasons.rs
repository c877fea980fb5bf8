//! Adverse-action reasons: stable codes and one plain sentence each, for the policy rules and
//! for the profiling features a credit model may score.
//!
//! Every reason names something specific the customer can recognise (Regulation B asks for
//! "the specific reasons", and a generic "score too low" is not one). The texts are written
//! for the direction of a feature given by [`FeatureReason::adverse_when`]; train models
//! monotone in that direction (the scorecard's monotone binning and the GBM's monotone
//! constraints both can), or a text could state the opposite of what the model saw.
//!
//! Features in [`NOT_CREDIT_FEATURES`] are never shown as reasons: they do not measure the
//! ability or willingness to repay, or they are protected attributes or proxies for them.
//! They should not be inputs of a credit model at all; the decision skips them if a model
//! reports them anyway and takes the next factor.

use serde::{Deserialize, Serialize};

/// Where a reason comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonSource {
    /// A policy rule that failed.
    Policy,
    /// One of the largest adverse contributions to the model's score.
    Model,
}

/// One reason for a decline: a stable code for the app to translate, and the English text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    pub code: String,
    pub text: String,
    pub source: ReasonSource,
    /// The scored feature behind a model reason (the largest contributor with this code).
    pub feature: Option<String>,
}

/// Which values of a feature count against an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdverseWhen {
    High,
    Low,
}

/// A credit feature and the reason shown when it counts against an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeatureReason {
    pub feature: &'static str,
    pub code: &'static str,
    pub adverse_when: AdverseWhen,
}

/// Features that must never be shown as a reason, and that the API should keep out of the
/// credit model's inputs:
///
/// - protected attributes and close proxies (Regulation B; EU non-discrimination law): age,
///   sex, marital status, nationality and national origin, ethnicity, religion, region of
///   residence; the share of spending abroad (by count and by amount), the share paid in
///   foreign currencies, the number of currencies and of foreign countries paid in (proxies
///   for national origin);
/// - medical information (health spending);
/// - engagement with the app and with marketing (sessions, product and fund views, offer
///   impressions and clicks), channel and lifestyle habits (online and transit shares,
///   variety of merchants, unclassified spending) and investment style: none of them says
///   whether someone can repay, and a customer could not act on them.
///
/// Age is checked only against the legal minimum, as a policy rule, never scored.
pub const NOT_CREDIT_FEATURES: &[&str] = &[
    // Protected attributes and proxies.
    "age_years",
    "birth_year",
    "sex",
    "gender",
    "marital_status",
    "nationality",
    "national_origin",
    "ethnicity",
    "race",
    "religion",
    "region",
    "cross_border_share_365d",
    "foreign_countries_365d",
    "cross_border_spend_share_365d",
    "foreign_currency_spend_share_365d",
    "currencies_365d",
    // Medical information.
    "spend_share_health_365d",
    // Engagement and marketing.
    "sessions_30d",
    "sessions_90d",
    "days_since_last_session",
    "product_views_30d",
    "product_views_90d",
    "fund_views_90d",
    "offer_impressions_90d",
    "offer_clicks_30d",
    "offer_clicks_90d",
    "offer_ctr_90d",
    // Habits and investment style.
    "online_share_365d",
    "transit_share_365d",
    "merchant_entropy_365d_bits",
    "spend_share_other_365d",
    "fund_share_of_assets",
    "fund_risk_level_max",
    // The bank's own reward programme: a marketing construct, not a borrower's conduct.
    "loyalty_points_balance",
    "loyalty_points_earned_365d",
    "loyalty_points_redeemed_365d",
    "loyalty_tier",
];

/// Whether a feature may be shown as a reason (and belongs in a credit model).
pub fn is_credit_feature(feature: &str) -> bool {
    !NOT_CREDIT_FEATURES.contains(&feature)
}

/// Reason codes and their text, in a fixed order. Model codes first, then policy codes.
pub const REASON_TEXTS: &[(&str, &str)] = &[
    (
        "income_low",
        "Your regular income is low compared with your spending and obligations.",
    ),
    (
        "income_irregular",
        "Your income varies a lot from month to month or does not come from a regular salary.",
    ),
    (
        "spending_high",
        "Your spending is high compared with your income.",
    ),
    (
        "spending_rising",
        "Your spending has risen sharply in recent months.",
    ),
    (
        "savings_low",
        "You spend most or all of what you earn, so little is left to save.",
    ),
    (
        "essential_costs_high",
        "A large part of your money goes on essential costs such as housing, bills and food.",
    ),
    (
        "savings_buffer_low",
        "Your account balance and savings are low compared with your monthly spending.",
    ),
    (
        "overdraft_use",
        "Your account has often been overdrawn recently.",
    ),
    (
        "missed_payments",
        "Some of your payments or bills have failed or been returned.",
    ),
    (
        "debt_burden_high",
        "Your existing debt repayments take a large share of your income.",
    ),
    (
        "recent_bnpl_use",
        "You have used buy-now-pay-later a lot recently.",
    ),
    (
        "many_credit_products",
        "You already have several credit products.",
    ),
    (
        "short_history",
        "We can see only a short history of your account.",
    ),
    (
        "little_recent_activity",
        "You have used your account little in recent months.",
    ),
    (
        "gambling_spend",
        "A noticeable part of your spending goes on gambling.",
    ),
    (
        "cash_reliance",
        "You take out much of your spending as cash, so we can see less of how you manage money.",
    ),
    (
        "transfers_out_high",
        "A large part of your money goes out as transfers to other people.",
    ),
    // Policy reasons.
    (
        "age_below_minimum",
        "You are below the minimum age for this credit.",
    ),
    (
        "kyc_not_verified",
        "We have not been able to verify your identity.",
    ),
    (
        "current_delinquency",
        "You have missed a payment on an existing obligation in the last 90 days.",
    ),
    (
        "persistent_overdraft",
        "Your account has been overdrawn for much of the last 90 days.",
    ),
    (
        "exposure_cap_exceeded",
        "This amount and the credit you already owe come to more than we lend to one customer.",
    ),
    (
        "debt_to_income_too_high",
        "Your debt repayments, including this one, would take too large a share of your income.",
    ),
    (
        "unaffordable",
        "After your regular costs and this repayment, too little of your income would be left.",
    ),
    (
        "amount_out_of_range",
        "The amount is outside the range we offer for this kind of credit.",
    ),
    (
        "amount_above_limit",
        "The amount is more than the most we can lend you at present.",
    ),
    (
        "income_insufficient_for_amount",
        "Your income is not high enough for the amount you asked for.",
    ),
];

use AdverseWhen::{High, Low};

macro_rules! feature_reasons {
    ($($feature:literal => $code:literal, $when:ident;)+) => {
        /// Every credit feature of the profiling catalogue and its reason, grouped by code.
        pub const FEATURE_REASONS: &[FeatureReason] = &[
            $(FeatureReason { feature: $feature, code: $code, adverse_when: $when }),+
        ];
    };
}

feature_reasons! {
    "income_per_month_minor" => "income_low", Low;
    "income_cv" => "income_irregular", High;
    "income_month_share" => "income_irregular", Low;
    "income_credits_per_month" => "income_irregular", High;
    "salary_income_share" => "income_irregular", Low;
    "investment_income_share" => "income_irregular", High;
    "spend_30d_minor" => "spending_high", High;
    "spend_90d_minor" => "spending_high", High;
    "spend_365d_minor" => "spending_high", High;
    "spend_per_month_minor" => "spending_high", High;
    "ticket_mean_minor" => "spending_high", High;
    "discretionary_share_365d" => "spending_high", High;
    "spend_share_dining_365d" => "spending_high", High;
    "spend_share_travel_365d" => "spending_high", High;
    "spend_share_subscriptions_365d" => "spending_high", High;
    "spend_share_shopping_365d" => "spending_high", High;
    "spend_share_leisure_365d" => "spending_high", High;
    "spend_trend_ratio" => "spending_rising", High;
    "savings_rate" => "savings_low", Low;
    "essential_share_365d" => "essential_costs_high", High;
    "spend_share_groceries_365d" => "essential_costs_high", High;
    "spend_share_transport_365d" => "essential_costs_high", High;
    "spend_share_housing_365d" => "essential_costs_high", High;
    "spend_share_utilities_365d" => "essential_costs_high", High;
    "spend_share_education_365d" => "essential_costs_high", High;
    "spend_share_insurance_finance_365d" => "essential_costs_high", High;
    "balance_latest_minor" => "savings_buffer_low", Low;
    "buffer_months" => "savings_buffer_low", Low;
    "balance_min_90d_minor" => "savings_buffer_low", Low;
    "liquid_assets_months" => "savings_buffer_low", Low;
    "assets_value_minor" => "savings_buffer_low", Low;
    "holdings_count" => "savings_buffer_low", Low;
    "investment_out_per_month_minor" => "savings_buffer_low", Low;
    "investment_in_per_month_minor" => "savings_buffer_low", High;
    "overdraft_day_share_90d" => "overdraft_use", High;
    "failed_payments_90d" => "missed_payments", High;
    "failed_payments_365d" => "missed_payments", High;
    "failed_obligations_365d" => "missed_payments", High;
    "debt_service_ratio" => "debt_burden_high", High;
    "credit_owed_months" => "debt_burden_high", High;
    "bnpl_payments_90d" => "recent_bnpl_use", High;
    "bnpl_payments_365d" => "recent_bnpl_use", High;
    "bnpl_amount_365d_minor" => "recent_bnpl_use", High;
    "credit_products_count" => "many_credit_products", High;
    "history_days" => "short_history", Low;
    "days_since_last_purchase" => "little_recent_activity", High;
    "purchases_per_month" => "little_recent_activity", Low;
    "spend_share_gambling_365d" => "gambling_spend", High;
    "cash_share_365d" => "cash_reliance", High;
    "spend_share_cash_365d" => "cash_reliance", High;
    "p2p_share_365d" => "transfers_out_high", High;
}

/// The text of a catalogued reason code.
pub fn reason_text(code: &str) -> Option<&'static str> {
    REASON_TEXTS
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, text)| *text)
}

/// The reason (code, text) shown when `feature` counts against an application. A feature
/// outside the catalogue (a model trained on another data set) gets `factor.<feature>` and a
/// sentence naming it. This does not filter: check [`is_credit_feature`] first, as the
/// decision does.
pub fn reason_for_feature(feature: &str) -> (String, String) {
    match FEATURE_REASONS.iter().find(|r| r.feature == feature) {
        Some(r) => (
            r.code.to_string(),
            reason_text(r.code)
                .expect("every catalogued code has a text (tested)")
                .to_string(),
        ),
        None => (
            format!("factor.{feature}"),
            format!(
                "Your {} counted against this application.",
                feature.replace('_', " ")
            ),
        ),
    }
}

/// Model reason codes that say the same as a policy reason, so a decline does not state
/// one ground twice: (policy code, model code).
pub(crate) const SAME_GROUND: &[(&str, &str)] = &[
    ("current_delinquency", "missed_payments"),
    ("persistent_overdraft", "overdraft_use"),
    ("debt_to_income_too_high", "debt_burden_high"),
    ("income_insufficient_for_amount", "income_low"),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// The features the brief lists as the production model's inputs.
    const PRODUCTION_FEATURES: &str = "income_per_month_minor income_cv income_month_share \
        income_credits_per_month salary_income_share spend_30d_minor spend_90d_minor \
        spend_365d_minor spend_per_month_minor spend_trend_ratio savings_rate \
        essential_share_365d discretionary_share_365d cash_share_365d \
        spend_share_groceries_365d spend_share_dining_365d spend_share_transport_365d \
        spend_share_travel_365d spend_share_housing_365d spend_share_utilities_365d \
        spend_share_subscriptions_365d spend_share_shopping_365d spend_share_health_365d \
        spend_share_leisure_365d spend_share_education_365d spend_share_gambling_365d \
        spend_share_insurance_finance_365d spend_share_cash_365d spend_share_other_365d \
        balance_latest_minor buffer_months balance_min_90d_minor overdraft_day_share_90d \
        liquid_assets_months debt_service_ratio bnpl_payments_90d bnpl_payments_365d \
        bnpl_amount_365d_minor credit_products_count credit_owed_months failed_payments_90d \
        failed_payments_365d failed_obligations_365d online_share_365d \
        cross_border_share_365d transit_share_365d p2p_share_365d foreign_countries_365d \
        merchant_entropy_365d_bits days_since_last_purchase purchases_per_month \
        ticket_mean_minor investment_out_per_month_minor investment_in_per_month_minor \
        investment_income_share sessions_30d sessions_90d days_since_last_session \
        product_views_30d product_views_90d fund_views_90d offer_impressions_90d \
        offer_clicks_30d offer_clicks_90d offer_ctr_90d holdings_count assets_value_minor \
        fund_share_of_assets fund_risk_level_max history_days";

    fn classified(feature: &str) -> bool {
        let reasoned = FEATURE_REASONS.iter().any(|r| r.feature == feature);
        // Exactly one of the two lists.
        reasoned != NOT_CREDIT_FEATURES.contains(&feature)
    }

    #[test]
    fn every_production_feature_is_either_a_reason_or_excluded() {
        for feature in PRODUCTION_FEATURES.split_whitespace() {
            assert!(classified(feature), "{feature}");
        }
    }

    #[test]
    fn every_profiling_feature_is_either_a_reason_or_excluded() {
        for spec in sextant_profiling::catalogue() {
            assert!(classified(spec.name), "{}", spec.name);
        }
    }

    #[test]
    fn codes_are_unique_and_every_used_code_has_a_plain_sentence() {
        let mut codes: Vec<&str> = REASON_TEXTS.iter().map(|(c, _)| *c).collect();
        codes.sort_unstable();
        let before = codes.len();
        codes.dedup();
        assert_eq!(codes.len(), before);
        let model_codes: std::collections::BTreeSet<&str> =
            FEATURE_REASONS.iter().map(|r| r.code).collect();
        assert!((12..=20).contains(&model_codes.len()));
        for code in model_codes
            .iter()
            .copied()
            .chain(SAME_GROUND.iter().flat_map(|(a, b)| [*a, *b]))
        {
            let text = reason_text(code).unwrap_or_else(|| panic!("{code}"));
            assert!(text.ends_with('.') && text.matches(". ").count() == 0);
            assert!(!text.to_lowercase().contains("score"), "{code}");
        }
        let mut features: Vec<&str> = FEATURE_REASONS.iter().map(|r| r.feature).collect();
        features.sort_unstable();
        features.dedup();
        assert_eq!(features.len(), FEATURE_REASONS.len());
    }

    #[test]
    fn unknown_features_are_named() {
        let (code, text) = reason_for_feature("checking_status");
        assert_eq!(code, "factor.checking_status");
        assert!(text.contains("checking status"));
        let (code, text) = reason_for_feature("failed_payments_90d");
        assert_eq!(code, "missed_payments");
        assert_eq!(text, reason_text("missed_payments").unwrap());
        assert!(!is_credit_feature("sessions_30d") && !is_credit_feature("age_years"));
        assert!(is_credit_feature("buffer_months"));
    }
}
