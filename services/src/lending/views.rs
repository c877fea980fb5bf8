//! What credit answers: quotes with their plans and schedules, plans created from accepted
//! quotes, loan applications, and recorded decisions with every rule and reason.

use serde::{Deserialize, Serialize};
use sextant_lending::{Instalment, InstalmentPlan, Reason, ReasonSource, RuleResult};
use utoipa::ToSchema;

#[derive(Serialize, Deserialize, ToSchema, Clone)]
pub struct InstalmentView {
    pub number: u32,
    /// YYYY-MM-DD.
    pub due_date: String,
    pub payment_minor: i64,
    pub principal_minor: i64,
    pub interest_minor: i64,
    pub fee_minor: i64,
    pub balance_after_minor: i64,
}

#[derive(Serialize, Deserialize, ToSchema, Clone)]
pub struct PlanView {
    pub months: u32,
    pub principal_minor: i64,
    pub fee_minor: i64,
    /// Nominal annual interest rate, in basis points.
    pub nominal_rate_bps: u32,
    /// Annual percentage rate of charge, fee included, in percent.
    pub apr_percent: f64,
    /// The regular monthly payment (the first also carries the fee; the last may be smaller).
    pub monthly_payment_minor: i64,
    pub total_interest_minor: i64,
    /// Interest plus fees.
    pub total_cost_minor: i64,
    pub total_repayable_minor: i64,
    pub schedule: Vec<InstalmentView>,
}

impl From<&InstalmentPlan> for PlanView {
    fn from(p: &InstalmentPlan) -> Self {
        PlanView {
            months: p.months,
            principal_minor: p.principal_minor,
            fee_minor: p.fee_minor,
            nominal_rate_bps: p.nominal_rate_bps,
            apr_percent: p.apr_percent,
            monthly_payment_minor: p.monthly_payment_minor,
            total_interest_minor: p.total_interest_minor,
            total_cost_minor: p.total_cost_minor,
            total_repayable_minor: p.total_repayable_minor,
            schedule: p.schedule.iter().map(instalment_view).collect(),
        }
    }
}

fn instalment_view(i: &Instalment) -> InstalmentView {
    InstalmentView {
        number: i.number,
        due_date: i.due_date.to_string(),
        payment_minor: i.payment_minor,
        principal_minor: i.principal_minor,
        interest_minor: i.interest_minor,
        fee_minor: i.fee_minor,
        balance_after_minor: i.balance_after_minor,
    }
}

#[derive(Serialize, Deserialize, ToSchema, Clone)]
pub struct ReasonView {
    /// Stable code, e.g. `missed_payments` or `debt_to_income_too_high`.
    pub code: String,
    /// Plain text for the customer.
    pub text: String,
    /// `policy` (a rule that failed) or `model` (a factor that drove the score).
    pub source: String,
    /// The model feature behind a model reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feature: Option<String>,
}

pub(crate) fn reason_view(r: &Reason) -> ReasonView {
    ReasonView {
        code: r.code.clone(),
        text: r.text.clone(),
        source: match r.source {
            ReasonSource::Policy => "policy",
            ReasonSource::Model => "model",
        }
        .to_owned(),
        feature: r.feature.clone(),
    }
}

#[derive(Serialize, Deserialize, ToSchema, Clone)]
pub struct RuleView {
    pub code: String,
    pub passed: bool,
    pub observed: f64,
    pub limit: f64,
    pub text: String,
}

pub(crate) fn rule_view(r: &RuleResult) -> RuleView {
    RuleView {
        code: r.code.clone(),
        passed: r.passed,
        observed: r.observed,
        limit: r.limit,
        text: r.text.clone(),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuoteRequest {
    /// An opaque id: 1 to 64 ASCII letters, digits and `- _ . :`, never a card number (not
    /// expressible in the schema).
    #[schema(pattern = "^[A-Za-z0-9._:-]{1,64}$")]
    pub customer_id: String,
    /// An opaque id, as `customer_id`.
    #[schema(pattern = "^[A-Za-z0-9._:-]{1,64}$")]
    pub merchant_id: String,
    /// The purchase amount, in minor units: positive, at most twelve digits.
    #[schema(minimum = 1, maximum = 999_999_999_999_i64)]
    pub amount_minor: i64,
    /// ISO 4217: the customer's base currency (their account's), which credit amounts and
    /// limits are in; another is refused as `currency_mismatch`.
    #[schema(schema_with = crate::schema::currency)]
    pub currency: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct QuoteView {
    pub quote_id: String,
    pub customer_id: String,
    pub merchant_id: String,
    pub amount_minor: i64,
    pub currency: String,
    /// `approved` (at least one plan) or `declined`.
    pub outcome: String,
    /// Risk band of the estimated probability of default, when the model placed one.
    pub band: Option<String>,
    pub credit_limit_minor: i64,
    pub plans: Vec<PlanView>,
    /// At most four, only on a decline: the failed rules and the factors that drove the score.
    pub reasons: Vec<ReasonView>,
    pub created_at: String,
    /// The quote can be accepted until then.
    pub expires_at: String,
    pub model_version: String,
    pub policy_version: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptRequest {
    /// One of the quote's plans. The schema lists every instalment term of the policy; which
    /// of them this quote offers it cannot state.
    #[schema(schema_with = crate::schema::instalment_months)]
    pub months: u32,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct PlanCreated {
    pub plan_id: String,
    pub quote_id: String,
    pub customer_id: String,
    pub merchant_id: String,
    pub currency: String,
    pub accepted_at: String,
    pub plan: PlanView,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicationRequest {
    /// An opaque id: 1 to 64 ASCII letters, digits and `- _ . :`, never a card number (not
    /// expressible in the schema).
    #[schema(pattern = "^[A-Za-z0-9._:-]{1,64}$")]
    pub customer_id: String,
    /// The amount borrowed, in minor units: positive, at most twelve digits.
    #[schema(minimum = 1, maximum = 999_999_999_999_i64)]
    pub amount_minor: i64,
    /// ISO 4217: the customer's base currency (their account's), which credit amounts and
    /// limits are in; another is refused as `currency_mismatch`.
    #[schema(schema_with = crate::schema::currency)]
    pub currency: String,
    /// One of the policy's loan terms.
    #[schema(schema_with = crate::schema::loan_term_months)]
    pub term_months: u32,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct ApplicationView {
    pub application_id: String,
    pub customer_id: String,
    pub amount_minor: i64,
    pub currency: String,
    pub term_months: u32,
    pub outcome: String,
    pub band: Option<String>,
    pub credit_limit_minor: i64,
    /// The loan offered, when approved.
    pub offer: Option<PlanView>,
    pub reasons: Vec<ReasonView>,
    pub decided_at: String,
    pub model_version: String,
    pub policy_version: String,
}

#[derive(Serialize, ToSchema)]
pub struct DecisionRecordView {
    pub decision_id: String,
    /// `instalment_quote` or `loan_application`.
    pub kind: String,
    pub customer_id: String,
    pub outcome: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub model_version: String,
    pub policy_version: String,
    pub band: Option<String>,
    pub probability_of_default: f64,
    pub credit_limit_minor: i64,
    /// Every policy rule, passed or failed, in the engine's order.
    pub rules: Vec<RuleView>,
    pub reasons: Vec<ReasonView>,
    pub plans: Vec<PlanView>,
    /// The plan created from this quote, if it was accepted.
    pub accepted_plan_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DecisionList {
    pub decisions: Vec<DecisionRecordView>,
}
