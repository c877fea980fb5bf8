//! The decision: rules, band, limit, plans and reasons from one applicant, one model score
//! and one request. See the module documentation of [`super`] for the semantics.

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};
use sextant_domain::AmountMinor;

use super::policy::{to_bps, CreditPolicy, RiskBand};
use super::reasons::SAME_GROUND;
use super::reasons::{is_credit_feature, reason_for_feature, reason_text, Reason, ReasonSource};
use super::schedule::{first_true, monthly_payment, schedule_after, InstalmentPlan};
use super::{ENGINE_VERSION, MAX_REASONS};
use crate::{LendingError, Result};

/// Most factors one score may carry.
pub const MAX_FACTORS: usize = 512;
/// Longest feature name, factor value, model version or merchant accepted.
pub const MAX_TEXT_CHARS: usize = 128;
/// Observed debt-to-income is reported capped here (also without income), so it stays a
/// finite JSON number.
pub const MAX_REPORTED_DTI: f64 = 100.0;

/// What the decision knows of the applicant, from KYC and the payment profile. Amounts are
/// minor units per month where named so.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Applicant {
    /// Checked against the legal minimum only; never scored.
    pub age_years: u32,
    pub kyc_verified: bool,
    /// Estimated net income (the profile's `income_per_month_minor`).
    pub net_income_per_month_minor: i64,
    /// Rent, utilities, insurance and other commitments that are not debt.
    pub fixed_obligations_per_month_minor: i64,
    /// Repayments of existing credit.
    pub existing_debt_service_per_month_minor: i64,
    /// Credit outstanding now (counted against the exposure cap).
    pub existing_credit_owed_minor: i64,
    pub failed_obligations_90d: u32,
    pub overdraft_day_share_90d: f64,
    /// Digits of the account currency; must match the policy's.
    pub currency_minor_units: u8,
    /// ISO 4217 code of the account currency (the customer's base currency), which every
    /// amount here is in; must be the policy's. Records made before it was kept were in EUR.
    #[serde(default = "crate::policy::euro")]
    pub currency: String,
}

/// The credit model's verdict on the applicant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelScore {
    pub model_version: String,
    /// Probability of default, in 0..=1.
    pub pd: f64,
    /// Per-feature contributions, in any order.
    pub factors: Vec<ScoredFactor>,
}

/// One feature's share of the score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoredFactor {
    pub feature: String,
    /// The applicant's value, in display form.
    pub value: String,
    /// Log-odds towards default; above zero counts against the applicant.
    pub contribution: f64,
}

/// What the applicant asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CreditRequest {
    /// Pay for a purchase in instalments at checkout; every eligible term is offered.
    Instalment { amount_minor: i64, merchant: String },
    /// A consumer loan of the chosen amount and term (one of the policy's loan terms).
    Loan { amount_minor: i64, term_months: u32 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Approved,
    Declined,
}

impl Outcome {
    /// `approved` or `declined`, as recorded and served.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Approved => "approved",
            Outcome::Declined => "declined",
        }
    }
}

/// Which bound set the credit limit (the first in this order among equals).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitBasis {
    /// The band's `limit_cap_minor`.
    BandCap,
    /// The band's multiple of net monthly income.
    IncomeMultiple,
    /// The exposure cap less what is already owed.
    Exposure,
    /// The largest principal whose repayment fits the debt-to-income and buffer rules.
    Affordability,
}

/// One policy rule as evaluated: every rule appears in every decision, in [`RULE_CODES`]
/// order. `observed` and `limit` are in the rule's unit (years, count, share, ratio, minor
/// units, probability).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleResult {
    pub code: String,
    pub passed: bool,
    /// False where the rule cannot apply (`amount_above_limit` without a band, whose decline
    /// is `default_risk_too_high`'s); such a rule passes.
    pub applicable: bool,
    pub observed: f64,
    pub limit: f64,
    /// What the rule requires (fixed per code).
    pub text: String,
}

/// A decision and everything needed to explain and replay it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreditDecision {
    pub outcome: Outcome,
    /// The risk band of the PD; `None` at or above the last cut-off.
    pub band: Option<String>,
    pub pd: f64,
    /// The credit limit assigned (0 without a band), whatever the outcome.
    pub limit_minor: i64,
    pub limit_basis: Option<LimitBasis>,
    pub rules: Vec<RuleResult>,
    /// At most [`MAX_REASONS`], most decisive first; empty when approved.
    pub reasons: Vec<Reason>,
    /// Approved instalment: every eligible term, shortest first; approved loan: the one offer;
    /// declined: none.
    pub plans: Vec<InstalmentPlan>,
    pub policy_version: String,
    pub model_version: String,
    /// The version of these decision rules ([`ENGINE_VERSION`]).
    pub engine_version: String,
}

/// The inputs of one decision, as stored for replay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreditInputs {
    pub policy: CreditPolicy,
    pub applicant: Applicant,
    pub score: ModelScore,
    pub request: CreditRequest,
    pub as_of: NaiveDate,
}

impl CreditInputs {
    pub fn decide(&self) -> Result<CreditDecision> {
        decide(
            &self.policy,
            &self.applicant,
            &self.score,
            &self.request,
            self.as_of,
        )
    }
}

/// Rule codes in the order of [`CreditDecision::rules`], which is also the order of
/// decisiveness for reasons: eligibility, conduct, model risk, then amounts.
pub const RULE_CODES: &[&str] = &[
    "age_below_minimum",
    "kyc_not_verified",
    "current_delinquency",
    "persistent_overdraft",
    "default_risk_too_high",
    "exposure_cap_exceeded",
    "debt_to_income_too_high",
    "unaffordable",
    "amount_out_of_range",
    "amount_above_limit",
];

fn rule_text(code: &str) -> &'static str {
    match code {
        "age_below_minimum" => "Age in years must be at least the legal minimum.",
        "kyc_not_verified" => "Identity must be verified (1 = verified).",
        "current_delinquency" => {
            "Failed payments of obligations in the last 90 days must not exceed the limit."
        }
        "persistent_overdraft" => {
            "The share of the last 90 days spent overdrawn must not exceed the limit."
        }
        "default_risk_too_high" => {
            "The probability of default must be below the last risk band's cut-off."
        }
        "exposure_cap_exceeded" => {
            "Credit already owed plus this amount must not exceed the exposure cap."
        }
        "debt_to_income_too_high" => {
            "All debt repayments, the new one included, over net monthly income must not \
             exceed the limit."
        }
        "unaffordable" => {
            "Net income left after fixed obligations and all debt repayments must be at least \
             the buffer."
        }
        "amount_out_of_range" => {
            "The amount must be within the product's range (limit: the bound that applies)."
        }
        "amount_above_limit" => {
            "The amount must not exceed the band's limit (its cap and its multiple of income; \
             exposure and affordability have their own rules)."
        }
        _ => unreachable!("RULE_CODES only"),
    }
}

/// One priced term of the request.
#[derive(Debug, Clone, Copy)]
struct Term {
    months: u32,
    rate_bps: u32,
    fee_minor: i64,
}

/// The applicant's monthly money, in integers: what a new repayment may take.
struct Budget {
    income: i128,
    debt_service: i128,
    /// The most all repayments may take under the debt-to-income limit, less existing ones.
    dti_room: i128,
    buffer: i128,
    /// Income less fixed obligations, existing repayments and the buffer.
    afford_room: i128,
}

impl Budget {
    fn new(policy: &CreditPolicy, a: &Applicant) -> Budget {
        let income = i128::from(a.net_income_per_month_minor);
        let debt_service = i128::from(a.existing_debt_service_per_month_minor);
        let dti_room =
            (to_bps(policy.max_debt_to_income) * income).div_euclid(10_000) - debt_service;
        let share = (to_bps(policy.buffer_share_of_income) * income + 9_999) / 10_000;
        let buffer = share.max(i128::from(policy.min_buffer_minor));
        let afford_room =
            income - i128::from(a.fixed_obligations_per_month_minor) - debt_service - buffer;
        Budget {
            income,
            debt_service,
            dti_room,
            buffer,
            afford_room,
        }
    }

    /// The largest new monthly repayment both rules allow (negative: none).
    fn payment_room(&self) -> i128 {
        self.dti_room.min(self.afford_room)
    }
}

/// Decides `request` for `applicant` under `policy`, with the model's `score`, on `as_of`
/// (the purchase or payout date; instalments fall due monthly after it). Pure and
/// deterministic: the same inputs give the same decision, serialized byte for byte.
///
/// Errors only for invalid input: an incoherent policy, out-of-range applicant or score
/// values, a non-positive amount, a loan term the policy does not offer, a currency whose
/// digits differ from the policy's, or a model-driven decline the score cannot explain (no
/// adverse factor that may be shown to a customer).
pub fn decide(
    policy: &CreditPolicy,
    applicant: &Applicant,
    score: &ModelScore,
    request: &CreditRequest,
    as_of: NaiveDate,
) -> Result<CreditDecision> {
    policy.validate()?;
    check_applicant(policy, applicant)?;
    check_score(score)?;
    let band = policy.band_for(score.pd);
    // Without a band (a PD decline) plans are priced at the riskiest band's rate, so that the
    // affordability rules still describe a real plan.
    let band_rate_bps = band
        .unwrap_or_else(|| policy.bands.last().expect("validated: at least one band"))
        .apr_bps;
    let (amount, terms, range) = priced_terms(policy, request, band_rate_bps)?;
    // Every due date must exist whatever the outcome, so a decline is not a refusal later.
    let longest = terms
        .iter()
        .map(|t| t.months)
        .max()
        .expect("at least one term");
    if as_of.checked_add_months(Months::new(longest)).is_none() {
        return Err(LendingError::invalid(
            "as_of",
            "due dates beyond the calendar",
        ));
    }
    let budget = Budget::new(policy, applicant);
    let payments: Vec<i64> = terms
        .iter()
        .map(|t| monthly_payment(amount, t.months, t.rate_bps))
        .collect();
    // The rules judge the most affordable term (the first of equals).
    let assessed = *payments.iter().min().expect("validated: at least one term");
    let limit = band.map(|band| assign_limit(policy, band, applicant, &terms, &budget));

    let rules = evaluate_rules(
        policy,
        applicant,
        score,
        amount,
        range,
        assessed,
        &budget,
        limit.map(|l| l.band_limit_minor),
    );
    let approved = rules.iter().all(|r| r.passed);
    let mut plans = Vec::new();
    if approved {
        for (term, payment) in terms.iter().zip(&payments) {
            if i128::from(*payment) <= budget.payment_room() {
                plans.push(schedule_after(
                    amount,
                    term.months,
                    term.rate_bps,
                    term.fee_minor,
                    as_of,
                )?);
            }
        }
        assert!(!plans.is_empty(), "the assessed term passed every rule");
    }
    let reasons = if approved {
        Vec::new()
    } else {
        decline_reasons(&rules, limit.map(|l| l.band_basis), score)?
    };
    assert!(approved || !reasons.is_empty(), "a decline always says why");
    assert!(reasons.len() <= MAX_REASONS);

    Ok(CreditDecision {
        outcome: if approved {
            Outcome::Approved
        } else {
            Outcome::Declined
        },
        band: band.map(|b| b.name.clone()),
        pd: score.pd,
        limit_minor: limit.map_or(0, |l| l.limit_minor),
        limit_basis: limit.map(|l| l.basis),
        rules,
        reasons,
        plans,
        policy_version: policy.version.clone(),
        model_version: score.model_version.clone(),
        engine_version: ENGINE_VERSION.to_string(),
    })
}

/// The amount, its priced terms and the product's amount range.
fn priced_terms(
    policy: &CreditPolicy,
    request: &CreditRequest,
    band_rate_bps: u32,
) -> Result<(i64, Vec<Term>, (i64, i64))> {
    match request {
        CreditRequest::Instalment {
            amount_minor,
            merchant,
        } => {
            check_request_amount(*amount_minor)?;
            check_text("request.merchant", merchant)?;
            let terms = &policy.instalment;
            let priced = terms
                .terms_months
                .iter()
                .map(|&months| Term {
                    months,
                    rate_bps: if months <= terms.interest_free_max_months {
                        0
                    } else {
                        band_rate_bps
                    },
                    fee_minor: policy.instalment_fee_minor(months),
                })
                .collect();
            let range = (terms.min_amount_minor, terms.max_amount_minor);
            Ok((*amount_minor, priced, range))
        }
        CreditRequest::Loan {
            amount_minor,
            term_months,
        } => {
            check_request_amount(*amount_minor)?;
            let loan = &policy.loan;
            if !loan.terms_months.contains(term_months) {
                return Err(LendingError::invalid(
                    "request.term_months",
                    format!(
                        "{term_months} months is not offered; the terms are {:?}",
                        loan.terms_months
                    ),
                ));
            }
            let term = Term {
                months: *term_months,
                rate_bps: band_rate_bps,
                fee_minor: loan.fee_minor,
            };
            let range = (loan.min_amount_minor, loan.max_amount_minor);
            Ok((*amount_minor, vec![term], range))
        }
    }
}

/// A credit limit and how it was set.
#[derive(Debug, Clone, Copy)]
struct Limit {
    /// min(band cap, band multiple x income, exposure cap - owed, largest affordable
    /// principal over the terms).
    limit_minor: i64,
    basis: LimitBasis,
    /// min(band cap, band multiple x income): what `amount_above_limit` judges.
    band_limit_minor: i64,
    /// `BandCap` or `IncomeMultiple`.
    band_basis: LimitBasis,
}

/// The smallest of the bounds, the first in order among equals.
fn smallest(bounds: &[(i128, LimitBasis)]) -> (i128, LimitBasis) {
    let mut best = bounds[0];
    for &(value, basis) in &bounds[1..] {
        if value < best.0 {
            best = (value, basis);
        }
    }
    best
}

fn assign_limit(
    policy: &CreditPolicy,
    band: &RiskBand,
    applicant: &Applicant,
    terms: &[Term],
    budget: &Budget,
) -> Limit {
    let income_limit = (to_bps(band.limit_income_multiple) * budget.income).div_euclid(10_000);
    let exposure_room = (i128::from(policy.exposure_cap_minor)
        - i128::from(applicant.existing_credit_owed_minor))
    .max(0);
    let (band_limit, band_basis) = smallest(&[
        (i128::from(band.limit_cap_minor), LimitBasis::BandCap),
        (income_limit, LimitBasis::IncomeMultiple),
    ]);
    let ceiling = band_limit.min(exposure_room);
    let affordable = terms
        .iter()
        .map(|t| largest_affordable(budget.payment_room(), t, ceiling))
        .max()
        .expect("validated: at least one term");
    let (limit, basis) = smallest(&[
        (band_limit, band_basis),
        (exposure_room, LimitBasis::Exposure),
        (affordable, LimitBasis::Affordability),
    ]);
    let to_i64 = |v: i128| i64::try_from(v).expect("at most the band cap, an i64");
    Limit {
        limit_minor: to_i64(limit),
        basis,
        band_limit_minor: to_i64(band_limit),
        band_basis,
    }
}

/// The largest principal in `0..=ceiling` whose monthly payment over `term` is at most
/// `room` (the payment grows with the principal, so bisection finds it exactly).
fn largest_affordable(room: i128, term: &Term, ceiling: i128) -> i128 {
    let fits = |p: i128| {
        let p = i64::try_from(p).expect("below the ceiling");
        i128::from(monthly_payment(p, term.months, term.rate_bps)) <= room
    };
    if room < 0 {
        return 0;
    }
    if fits(ceiling) {
        return ceiling;
    }
    // Start from the present value of `room` a month (an estimate only).
    let r = f64::from(term.rate_bps) / 120_000.0;
    let n = f64::from(term.months);
    let guess = if r == 0.0 {
        room as f64 * n
    } else {
        room as f64 * (1.0 - (1.0 + r).powf(-n)) / r
    };
    // `fits(0)` with a room of zero or more; the first principal that does not fit, less one.
    first_true(0, ceiling, guess as i128, |p| !fits(p)) - 1
}

#[allow(clippy::too_many_arguments)]
fn evaluate_rules(
    policy: &CreditPolicy,
    a: &Applicant,
    score: &ModelScore,
    amount: i64,
    (min_amount, max_amount): (i64, i64),
    payment: i64,
    budget: &Budget,
    band_limit_minor: Option<i64>,
) -> Vec<RuleResult> {
    let payment = i128::from(payment);
    let owed_after = i128::from(a.existing_credit_owed_minor) + i128::from(amount);
    let all_debt = budget.debt_service + payment;
    let dti = if budget.income > 0 {
        (all_debt as f64 / budget.income as f64).min(MAX_REPORTED_DTI)
    } else if all_debt > 0 {
        MAX_REPORTED_DTI
    } else {
        0.0
    };
    let residual = budget.afford_room + budget.buffer - payment;
    let last_cut_off = policy.bands.last().expect("validated").max_pd;
    let range_limit = if amount < min_amount {
        min_amount
    } else {
        max_amount
    };
    let results = [
        (
            a.age_years >= policy.min_age_years,
            f64::from(a.age_years),
            f64::from(policy.min_age_years),
        ),
        (a.kyc_verified, f64::from(u8::from(a.kyc_verified)), 1.0),
        (
            a.failed_obligations_90d <= policy.max_failed_obligations_90d,
            f64::from(a.failed_obligations_90d),
            f64::from(policy.max_failed_obligations_90d),
        ),
        (
            a.overdraft_day_share_90d <= policy.max_overdraft_day_share_90d,
            a.overdraft_day_share_90d,
            policy.max_overdraft_day_share_90d,
        ),
        (score.pd < last_cut_off, score.pd, last_cut_off),
        (
            owed_after <= i128::from(policy.exposure_cap_minor),
            owed_after as f64,
            policy.exposure_cap_minor as f64,
        ),
        (payment <= budget.dti_room, dti, policy.max_debt_to_income),
        (
            payment <= budget.afford_room,
            residual as f64,
            budget.buffer as f64,
        ),
        (
            (min_amount..=max_amount).contains(&amount),
            amount as f64,
            range_limit as f64,
        ),
        (
            band_limit_minor.is_none_or(|limit| amount <= limit),
            amount as f64,
            band_limit_minor.unwrap_or(0) as f64,
        ),
    ];
    RULE_CODES
        .iter()
        .zip(results)
        .map(|(code, (passed, observed, limit))| RuleResult {
            code: code.to_string(),
            passed,
            applicable: *code != "amount_above_limit" || band_limit_minor.is_some(),
            observed,
            limit,
            text: rule_text(code).to_string(),
        })
        .collect()
}

/// Failed rules first, in rule order; then, where the model drove the decline (PD cut-off,
/// or a limit set by the band), its largest adverse credit factors; de-duplicated, at most
/// [`MAX_REASONS`], one place kept for the model where it drove the decline. A limit decline
/// of a low-risk applicant may have no adverse factor: its own reason (the amount is above
/// the limit their income allows) stands alone.
fn decline_reasons(
    rules: &[RuleResult],
    band_basis: Option<LimitBasis>,
    score: &ModelScore,
) -> Result<Vec<Reason>> {
    let mut policy_codes: Vec<&str> = Vec::new();
    let mut model_driven = false;
    // Only a PD cut-off has no reason of its own: its reasons must come from the model.
    let mut model_required = false;
    for rule in rules.iter().filter(|r| !r.passed) {
        let code = match rule.code.as_str() {
            // Never a generic "risk too high": the model's factors are the reasons.
            "default_risk_too_high" => {
                model_driven = true;
                model_required = true;
                continue;
            }
            // The band's limit follows from the model's PD.
            "amount_above_limit" => {
                model_driven = true;
                match band_basis {
                    Some(LimitBasis::IncomeMultiple) => "income_insufficient_for_amount",
                    _ => "amount_above_limit",
                }
            }
            code => code,
        };
        if !policy_codes.contains(&code) {
            policy_codes.push(code);
        }
    }

    let model = if model_driven {
        model_reasons(score, &policy_codes)
    } else {
        Vec::new()
    };
    if model_required && model.is_empty() {
        return Err(LendingError::invalid(
            "score.factors",
            format!(
                "the model drove a decline (pd {}) but reports no adverse factor that may be \
                 shown as a reason; a decline must be explained",
                score.pd
            ),
        ));
    }
    let policy_places = if model.is_empty() {
        MAX_REASONS
    } else {
        MAX_REASONS - 1
    };
    let mut reasons: Vec<Reason> = policy_codes
        .iter()
        .take(policy_places)
        .map(|code| Reason {
            code: code.to_string(),
            text: reason_text(code)
                .expect("every policy reason has a text (tested)")
                .to_string(),
            source: ReasonSource::Policy,
            feature: None,
        })
        .collect();
    let room = MAX_REASONS - reasons.len();
    reasons.extend(model.into_iter().take(room));
    Ok(reasons)
}

/// The model's adverse credit factors, largest contribution first (then by feature name),
/// one per code, leaving out codes on the same ground as a policy reason.
fn model_reasons(score: &ModelScore, policy_codes: &[&str]) -> Vec<Reason> {
    let mut adverse: Vec<&ScoredFactor> = score
        .factors
        .iter()
        .filter(|f| f.contribution > 0.0 && is_credit_feature(&f.feature))
        .collect();
    adverse.sort_by(|a, b| {
        b.contribution
            .total_cmp(&a.contribution)
            .then_with(|| a.feature.cmp(&b.feature))
    });
    let covered = |code: &str| {
        policy_codes.contains(&code)
            || SAME_GROUND
                .iter()
                .any(|(p, m)| *m == code && policy_codes.contains(p))
    };
    let mut reasons: Vec<Reason> = Vec::new();
    for factor in adverse {
        let (code, text) = reason_for_feature(&factor.feature);
        if covered(&code) || reasons.iter().any(|r| r.code == code) {
            continue;
        }
        reasons.push(Reason {
            code,
            text,
            source: ReasonSource::Model,
            feature: Some(factor.feature.clone()),
        });
        if reasons.len() == MAX_REASONS {
            break;
        }
    }
    reasons
}

fn check_applicant(policy: &CreditPolicy, a: &Applicant) -> Result<()> {
    if a.age_years > 150 {
        return Err(LendingError::invalid("applicant.age_years", "above 150"));
    }
    for (field, value) in [
        ("net_income_per_month_minor", a.net_income_per_month_minor),
        (
            "fixed_obligations_per_month_minor",
            a.fixed_obligations_per_month_minor,
        ),
        (
            "existing_debt_service_per_month_minor",
            a.existing_debt_service_per_month_minor,
        ),
        ("existing_credit_owed_minor", a.existing_credit_owed_minor),
    ] {
        if !(0..=AmountMinor::MAX).contains(&value) {
            return Err(LendingError::invalid(
                format!("applicant.{field}"),
                format!("{value} is not in 0..={}", AmountMinor::MAX),
            ));
        }
    }
    let share = a.overdraft_day_share_90d;
    if !(share.is_finite() && (0.0..=1.0).contains(&share)) {
        return Err(LendingError::invalid(
            "applicant.overdraft_day_share_90d",
            "a share in 0..=1",
        ));
    }
    if a.currency != policy.currency {
        return Err(LendingError::invalid(
            "applicant.currency",
            format!(
                "the policy's amounts are in {}, the applicant's in {}",
                clip(&policy.currency),
                clip(&a.currency)
            ),
        ));
    }
    if a.currency_minor_units != policy.currency_minor_units {
        return Err(LendingError::invalid(
            "applicant.currency_minor_units",
            format!(
                "the policy's amounts have {} minor digits, the applicant's currency {}",
                policy.currency_minor_units, a.currency_minor_units
            ),
        ));
    }
    Ok(())
}

/// A short, safe excerpt of a code for a message.
fn clip(text: &str) -> String {
    text.chars().take(8).collect()
}

fn check_score(score: &ModelScore) -> Result<()> {
    check_text("score.model_version", &score.model_version)?;
    if !(score.pd.is_finite() && (0.0..=1.0).contains(&score.pd)) {
        return Err(LendingError::invalid("score.pd", "a probability in 0..=1"));
    }
    if score.factors.len() > MAX_FACTORS {
        return Err(LendingError::invalid(
            "score.factors",
            format!("at most {MAX_FACTORS}"),
        ));
    }
    for (i, f) in score.factors.iter().enumerate() {
        check_text(&format!("score.factors[{i}].feature"), &f.feature)?;
        if f.value.chars().count() > MAX_TEXT_CHARS {
            return Err(LendingError::invalid(
                format!("score.factors[{i}].value"),
                format!("at most {MAX_TEXT_CHARS} characters"),
            ));
        }
        if !f.contribution.is_finite() {
            return Err(LendingError::invalid(
                format!("score.factors[{i}].contribution"),
                "not finite",
            ));
        }
    }
    Ok(())
}

fn check_text(field: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() || value.chars().count() > MAX_TEXT_CHARS {
        return Err(LendingError::invalid(
            field,
            format!("1..={MAX_TEXT_CHARS} characters, not blank"),
        ));
    }
    Ok(())
}

fn check_request_amount(amount_minor: i64) -> Result<()> {
    if !(1..=AmountMinor::MAX).contains(&amount_minor) {
        return Err(LendingError::invalid(
            "request.amount_minor",
            format!("{amount_minor} is not in 1..={}", AmountMinor::MAX),
        ));
    }
    Ok(())
}
