//! The decision as the credit model scores it from a customer's profile: the active model
//! with the policy ([`Lender`]), the applicant the profile describes ([`applicant`]), and
//! everything a decision is made from ([`DecisionInputs`]), which replays it exactly.
//!
//! The model only sees [`credit_features`]: the profiling catalogue without protected
//! attributes (age) and without signals that are no legitimate reason to refuse credit (app
//! sessions, offer clicks); see [`NOT_CREDIT_FEATURES`].

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sextant_domain::{Customer, KycStatus};
use sextant_models::credit::{Cell, CreditModel};
use sextant_profiling::{catalogue, Features, FEATURE_VERSION};

use crate::{
    decide, Applicant, CreditDecision, CreditPolicy, CreditRequest, LendingError, ModelScore,
    Result, ScoredFactor, NOT_CREDIT_FEATURES,
};

/// Profiling features the credit model may use, in catalogue order.
pub fn credit_features() -> Vec<&'static str> {
    catalogue()
        .iter()
        .map(|spec| spec.name)
        .filter(|name| !NOT_CREDIT_FEATURES.contains(name))
        .collect()
}

/// Everything a decision was made from: with the model version it replays exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionInputs {
    pub request: CreditRequest,
    pub applicant: Applicant,
    /// The model's input row, in the model's feature order.
    pub model_row: Vec<Cell>,
    pub policy: CreditPolicy,
    /// The day the decision was made: schedules start from it.
    pub as_of: NaiveDate,
    pub feature_version: u32,
    /// The time the features describe.
    pub features_as_of: DateTime<Utc>,
}

impl DecisionInputs {
    /// Scores the row with `model` and decides: the one path both live decisions and
    /// replays take. A model that cannot score the row is refused as `model_row`.
    pub fn decide_with(&self, model: &CreditModel) -> Result<CreditDecision> {
        let explanation = model
            .explain(&self.model_row)
            .map_err(|e| LendingError::invalid("model_row", format!("credit model: {e}")))?;
        let score = ModelScore {
            model_version: model.meta().model_version.clone(),
            pd: explanation.pd,
            factors: explanation
                .contributions
                .iter()
                .map(|c| ScoredFactor {
                    feature: c.feature.clone(),
                    value: display(&c.value),
                    contribution: c.contribution,
                })
                .collect(),
        };
        decide(
            &self.policy,
            &self.applicant,
            &score,
            &self.request,
            self.as_of,
        )
    }
}

/// The active credit model and the policy it decides under.
pub struct Lender {
    pub model: CreditModel,
    pub policy: CreditPolicy,
    /// For each model feature, its index in the profiling feature vector.
    feature_index: Vec<usize>,
    /// For each model feature, whether it is an amount of money (minor units).
    is_money: Vec<bool>,
}

impl Lender {
    /// Checks the policy, and that the model reads only credit features of the current
    /// profiling layout.
    pub fn new(model: CreditModel, policy: CreditPolicy) -> Result<Lender> {
        policy.validate().map_err(|e| match e {
            LendingError::InvalidInput { field, message } => {
                LendingError::invalid(format!("policy.{field}"), message)
            }
        })?;
        let allowed = credit_features();
        let names: Vec<&str> = catalogue().iter().map(|s| s.name).collect();
        let feature_index = model
            .features()
            .iter()
            .map(|f| {
                if !allowed.contains(&f.name.as_str()) {
                    return Err(LendingError::invalid(
                        "model.features",
                        format!(
                            "credit model {} reads `{}`, which is not a credit feature of \
                             profiling layout {FEATURE_VERSION}",
                            model.meta().model_version,
                            f.name
                        ),
                    ));
                }
                Ok(names
                    .iter()
                    .position(|n| *n == f.name)
                    .expect("credit features are catalogue features"))
            })
            .collect::<Result<Vec<usize>>>()?;
        let is_money = feature_index
            .iter()
            .map(|&i| catalogue()[i].unit.starts_with("minor"))
            .collect();
        Ok(Lender {
            model,
            policy,
            feature_index,
            is_money,
        })
    }

    pub fn model_version(&self) -> &str {
        &self.model.meta().model_version
    }

    /// The model's input row from a profile's features in the policy's currency; NaN
    /// becomes missing.
    pub fn row(&self, features: &[f64]) -> Vec<Cell> {
        self.row_scaled(features, 1.0)
    }

    /// The model's input row, each amount of money multiplied by `money_scale` (what one
    /// minor unit of the profile's currency is in minor units of the model's).
    fn row_scaled(&self, features: &[f64], money_scale: f64) -> Vec<Cell> {
        self.feature_index
            .iter()
            .zip(&self.is_money)
            .map(|(&i, &money)| match features.get(i) {
                Some(v) if v.is_finite() && money => Cell::Number(v * money_scale),
                Some(v) if v.is_finite() => Cell::Number(*v),
                _ => Cell::Missing,
            })
            .collect()
    }

    /// Everything a decision on `request` for this customer, on `today`, is made from.
    /// For a customer whose base currency is the policy's.
    pub fn inputs(
        &self,
        customer: &Customer,
        features: &[f64],
        features_as_of: DateTime<Utc>,
        request: CreditRequest,
        today: NaiveDate,
    ) -> DecisionInputs {
        self.inputs_in(
            &self.policy,
            1.0,
            customer,
            features,
            features_as_of,
            request,
            today,
        )
    }

    /// [`Lender::inputs`] with the policy in the customer's base currency (see
    /// [`CreditPolicy::in_currency`]) and `money_scale` taking the profile's amounts into
    /// the currency the model was trained in (the policy's own): the applicant, the request
    /// and the limits are all in the customer's currency, and the model reads amounts on the
    /// scale it learned.
    #[allow(clippy::too_many_arguments)]
    pub fn inputs_in(
        &self,
        policy: &CreditPolicy,
        money_scale: f64,
        customer: &Customer,
        features: &[f64],
        features_as_of: DateTime<Utc>,
        request: CreditRequest,
        today: NaiveDate,
    ) -> DecisionInputs {
        DecisionInputs {
            applicant: applicant(
                customer,
                &Features {
                    values: features.to_vec(),
                    unconverted: Vec::new(),
                },
                today,
            ),
            model_row: self.row_scaled(features, money_scale),
            policy: policy.clone(),
            request,
            as_of: today,
            feature_version: FEATURE_VERSION,
            features_as_of,
        }
    }

    pub fn decide(&self, inputs: &DecisionInputs) -> Result<CreditDecision> {
        inputs.decide_with(&self.model)
    }
}

fn display(cell: &Cell) -> String {
    match cell {
        Cell::Number(v) => format!("{v}"),
        Cell::Category(c) => c.clone(),
        Cell::Missing => "missing".to_owned(),
    }
}

/// The applicant as the profile describes them. Amounts are monthly, in minor units of the
/// customer's base currency (the profile's).
///
/// - net income: `income_per_month_minor` (median monthly salary and transfer credits);
/// - fixed obligations: the housing, utilities and insurance share of monthly spending;
/// - existing debt service: `debt_service_ratio` x income (loan repayments and instalments);
/// - credit owed: `credit_owed_months` x income;
/// - current delinquency: payments that failed for lack of funds in the last 90 days, and
///   the share of those days spent overdrawn.
pub fn applicant(customer: &Customer, features: &Features, today: NaiveDate) -> Applicant {
    let get = |name: &str| features.get(name).filter(|v| v.is_finite()).unwrap_or(0.0);
    let income = get("income_per_month_minor").max(0.0);
    let spend = get("spend_per_month_minor").max(0.0);
    let fixed_share = get("spend_share_housing_365d")
        + get("spend_share_utilities_365d")
        + get("spend_share_insurance_finance_365d");
    let age = today.year() - i32::from(customer.birth_year.get());
    Applicant {
        age_years: u32::try_from(age).unwrap_or(0),
        kyc_verified: customer.kyc_status == KycStatus::Verified,
        net_income_per_month_minor: income.round() as i64,
        fixed_obligations_per_month_minor: (fixed_share.clamp(0.0, 1.0) * spend).round() as i64,
        existing_debt_service_per_month_minor: (get("debt_service_ratio") * income).round() as i64,
        existing_credit_owed_minor: (get("credit_owed_months") * income).round() as i64,
        failed_obligations_90d: get("failed_payments_90d").max(0.0).round() as u32,
        overdraft_day_share_90d: get("overdraft_day_share_90d").clamp(0.0, 1.0),
        currency_minor_units: customer.base_currency.minor_digits(),
        currency: customer.base_currency.as_str().to_owned(),
    }
}
