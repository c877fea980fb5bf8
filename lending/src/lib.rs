//! Credit decisions at checkout and for consumer loans: policy rules, affordability, risk
//! bands by probability of default, limits, pricing, exact repayment schedules and
//! adverse-action reasons.
//!
//! Pure and deterministic: no clock (`as_of` is passed in), no I/O, no hash-map order in any
//! output, integer money. [`decide`] called again with the stored [`CreditInputs`] gives a
//! decision that serializes to the same bytes (parse stored JSON with serde_json's
//! `float_roundtrip` feature, which the workspace enables, so that the PD and shares read
//! back bit for bit).
//!
//! # The decision
//!
//! 1. Every rule of [`RULE_CODES`] is evaluated and recorded, pass or fail, in that order:
//!    `age_below_minimum`, `kyc_not_verified`, `current_delinquency` (failed obligations in
//!    90 days), `persistent_overdraft`, `default_risk_too_high` (PD at or above the last
//!    band's cut-off), `exposure_cap_exceeded` (owed + amount above the cap),
//!    `debt_to_income_too_high` ((existing repayments + new payment) / net income above the
//!    limit), `unaffordable` (net income - fixed obligations - existing repayments - new
//!    payment below max(`min_buffer_minor`, `buffer_share_of_income` x income)),
//!    `amount_out_of_range` (the product's min..=max), `amount_above_limit` (above the band's
//!    limit, min(band cap, band income multiple x net income); not applicable, and passed,
//!    without a band). Each rule can decline on its own.
//! 2. The band is the first whose `max_pd` is above the PD. Its nominal rate prices every
//!    interest-bearing term; instalment terms up to `interest_free_max_months` are 0%.
//! 3. The "new payment" of the debt-to-income and affordability rules is the level monthly
//!    payment without the one-off fee ([`monthly_payment`]): of the requested term for a
//!    loan, of the most affordable term for an instalment purchase.
//! 4. The limit is min(band cap, band income multiple x net monthly income, exposure cap -
//!    credit owed, the largest principal whose payment over one of the product's terms fits
//!    both the debt-to-income and the buffer rule); 0 without a band. [`LimitBasis`] says
//!    which bound it was. An amount above it fails `amount_above_limit`,
//!    `exposure_cap_exceeded` or one of the affordability rules, whichever bound it is.
//! 5. Approved when every rule passes. An instalment purchase is offered every term whose
//!    payment passes both affordability rules (shortest first); a loan its one plan.
//! 6. A decline gives at most [`MAX_REASONS`] reasons: the failed rules in the order above
//!    (`amount_above_limit` is stated as `income_insufficient_for_amount` where the band's
//!    income multiple set the limit), then, only where the model drove the decline (the PD
//!    cut-off, or the band's limit), its largest adverse factors (contribution > 0), mapped
//!    through the feature catalogue, one per code, excluding [`NOT_CREDIT_FEATURES`] and
//!    codes on the same ground as a policy reason; one place is kept for them. The PD
//!    cut-off is never a reason by itself. A PD cut-off decline without a single showable
//!    factor is refused as invalid input (`score.factors`): it cannot be explained. A limit
//!    decline without one keeps its own reason alone. Model
//!    factors are not listed for declines they did not cause (a failed identity check is not
//!    "because of your spending"): Regulation B asks for the reasons actually behind the
//!    action.
//!
//! Shares and multiples of the policy are applied at 1/10,000 (`round(x * 10_000)`), so the
//! pass/fail of every money rule is integer arithmetic; `observed` and `limit` in
//! [`RuleResult`] are the figures for display.
//!
//! # The money
//!
//! The rules of [`schedule()`] (rounding, level payment, fee, due dates, APR) are in the
//! documentation of the [`schedule`](mod@schedule) module.

mod decide;
mod error;
mod lender;
mod policy;
mod reasons;
pub mod schedule;
#[cfg(test)]
mod tests;

pub use decide::{
    decide, Applicant, CreditDecision, CreditInputs, CreditRequest, LimitBasis, ModelScore,
    Outcome, RuleResult, ScoredFactor, MAX_FACTORS, MAX_REPORTED_DTI, MAX_TEXT_CHARS, RULE_CODES,
};
pub use error::{LendingError, Result};
pub use lender::{applicant, credit_features, DecisionInputs, Lender};
pub use policy::{
    CreditPolicy, InstalmentTerms, LoanTerms, RiskBand, TermFee, MAX_BANDS, MAX_TERMS,
};
pub use reasons::{
    is_credit_feature, reason_for_feature, reason_text, AdverseWhen, FeatureReason, Reason,
    ReasonSource, FEATURE_REASONS, NOT_CREDIT_FEATURES, REASON_TEXTS,
};
pub use schedule::{
    monthly_payment, schedule, schedule_after, Instalment, InstalmentPlan, MAX_RATE_BPS,
    MAX_TERM_MONTHS,
};

/// The version of the decision rules and schedule arithmetic in this module. A replay
/// compares equal only under the same engine version; bump it with any change of outputs.
pub const ENGINE_VERSION: &str = "sextant-credit-1";

/// Most reasons a decline gives (Regulation B: more than four is rarely helpful).
pub const MAX_REASONS: usize = 4;
