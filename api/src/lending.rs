//! Credit as the service runs it: the active credit model over the profiling features, the
//! policy, and the mapping from a customer's profile to an applicant. Decisions are made by
//! `sextant_advisor::credit::decide`; this module gathers its inputs, records them with the
//! decision, and replays a recorded decision from them.
//!
//! The model only sees [`credit_features`]: the profiling catalogue without protected
//! attributes (age) and without signals that are no legitimate reason to refuse credit (app
//! sessions, offer clicks); see `sextant_advisor::credit::NOT_CREDIT_FEATURES`.

use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sextant_advisor::credit::{
    self as policy, Applicant, CreditDecision, CreditPolicy, CreditRequest, ModelScore, Outcome,
    ScoredFactor,
};
use sextant_domain::{Customer, CustomerId, KycStatus};
use sextant_models::credit::{Cell, CreditModel};
use sextant_profiling::{catalogue, Features, FEATURE_VERSION};

use crate::error::AppError;
use crate::pipeline::{compute, HISTORY_DAYS};
use crate::store::{NewCreditDecision, StoredCreditModel};
use crate::AppState;

/// The currency the policy's amounts are in; quotes in another currency are refused.
pub const CREDIT_CURRENCY: &str = "EUR";
/// How long a quote can be accepted: long enough to finish a checkout.
pub const QUOTE_TTL_MINUTES: i64 = 30;

/// Profiling features the credit model may use, in catalogue order.
pub fn credit_features() -> Vec<&'static str> {
    catalogue()
        .iter()
        .map(|spec| spec.name)
        .filter(|name| !policy::NOT_CREDIT_FEATURES.contains(name))
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

/// The lending engine in use and when it was loaded.
pub type Loaded = (DateTime<Utc>, Arc<Lending>);

/// The active model and the policy.
pub struct Lending {
    pub model: CreditModel,
    pub policy: CreditPolicy,
    /// For each model feature, its index in the profiling feature vector.
    feature_index: Vec<usize>,
}

impl Lending {
    /// Checks that the model reads only credit features of the current profiling layout.
    pub fn new(model: CreditModel, policy: CreditPolicy) -> anyhow::Result<Lending> {
        policy
            .validate()
            .map_err(|e| anyhow::anyhow!("credit policy: {e}"))?;
        let allowed = credit_features();
        let names: Vec<&str> = catalogue().iter().map(|s| s.name).collect();
        let feature_index = model
            .features()
            .iter()
            .map(|f| {
                anyhow::ensure!(
                    allowed.contains(&f.name.as_str()),
                    "credit model {} reads `{}`, which is not a credit feature of profiling \
                     layout {FEATURE_VERSION}",
                    model.meta().model_version,
                    f.name
                );
                Ok(names
                    .iter()
                    .position(|n| *n == f.name)
                    .expect("credit features are catalogue features"))
            })
            .collect::<anyhow::Result<Vec<usize>>>()?;
        Ok(Lending {
            model,
            policy,
            feature_index,
        })
    }

    pub fn model_version(&self) -> &str {
        &self.model.meta().model_version
    }

    /// The model's input row from a profile's features; NaN becomes missing.
    pub fn row(&self, features: &[f64]) -> Vec<Cell> {
        self.feature_index
            .iter()
            .map(|&i| match features.get(i) {
                Some(v) if v.is_finite() => Cell::Number(*v),
                _ => Cell::Missing,
            })
            .collect()
    }

    /// Everything a decision on `request` for this customer, on `today`, is made from.
    pub fn inputs(
        &self,
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
                },
                today,
            ),
            model_row: self.row(features),
            policy: self.policy.clone(),
            request,
            as_of: today,
            feature_version: FEATURE_VERSION,
            features_as_of,
        }
    }

    pub fn decide(&self, inputs: &DecisionInputs) -> Result<CreditDecision, AppError> {
        decide_with(&self.model, inputs)
    }
}

/// Scores the row with `model` and decides: the one path both live decisions and replays take.
pub fn decide_with(
    model: &CreditModel,
    inputs: &DecisionInputs,
) -> Result<CreditDecision, AppError> {
    let explanation = model
        .explain(&inputs.model_row)
        .map_err(|e| AppError::Internal(format!("credit model: {e}")))?;
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
    policy::decide(
        &inputs.policy,
        &inputs.applicant,
        &score,
        &inputs.request,
        inputs.as_of,
    )
    .map_err(|e| match e.field() {
        // The caller's request is checked before deciding; anything the engine still refuses
        // (a model decline with no reason it may show, an applicant out of range) is ours.
        Some(field) if field.starts_with("request.") => AppError::Advice(e),
        _ => AppError::Internal(format!("credit decision: {e}")),
    })
}

pub fn outcome_name(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Approved => "approved",
        Outcome::Declined => "declined",
    }
}

fn display(cell: &Cell) -> String {
    match cell {
        Cell::Number(v) => format!("{v}"),
        Cell::Category(c) => c.clone(),
        Cell::Missing => "missing".to_owned(),
    }
}

/// The applicant as the profile describes them. Amounts are monthly, in minor units.
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
        currency_minor_units: 2,
    }
}

/// A stored model, parsed and checked against its version.
pub fn load_model(stored: &StoredCreditModel) -> anyhow::Result<CreditModel> {
    let model = CreditModel::from_json(stored.artifact.as_bytes())
        .map_err(|e| anyhow::anyhow!("credit model {}: {e}", stored.version))?;
    anyhow::ensure!(
        model.meta().model_version == stored.version,
        "credit model stored as {} is {}",
        stored.version,
        model.meta().model_version
    );
    Ok(model)
}

impl AppState {
    /// The active model and the policy; 503 until a model has been trained and activated.
    /// A newly activated model is picked up within [`LENDING_REFRESH_SECONDS`].
    pub async fn lending(&self) -> Result<Arc<Lending>, AppError> {
        let now = Utc::now();
        if let Some((loaded_at, lending)) = self.lending.read().await.as_ref() {
            if (now - *loaded_at).num_seconds() < LENDING_REFRESH_SECONDS {
                return Ok(lending.clone());
            }
        }
        let mut slot = self.lending.write().await;
        if let Some((loaded_at, lending)) = slot.as_ref() {
            if (now - *loaded_at).num_seconds() < LENDING_REFRESH_SECONDS {
                return Ok(lending.clone());
            }
        }
        let Some(stored) = self.store.active_credit_model().await? else {
            return Err(AppError::NotReady(
                "credit_model_unavailable",
                "no credit model is active: run `sextant credit train --population`".into(),
            ));
        };
        let keep = slot
            .as_ref()
            .filter(|(_, l)| l.model_version() == stored.version)
            .map(|(_, l)| l.clone());
        let lending = match keep {
            Some(lending) => lending,
            None => Arc::new(
                load_model(&stored)
                    .and_then(|model| Lending::new(model, CreditPolicy::default()))
                    .map_err(|e| AppError::Internal(format!("{e:#}")))?,
            ),
        };
        *slot = Some((now, lending.clone()));
        Ok(lending)
    }
}

/// The customer's features for a credit decision: the stored profile when fresh, else
/// recomputed now. Assessing creditworthiness is the lender's legal duty (Consumer Credit
/// Directive), so a customer without profiling consent is still assessed, from features
/// computed for this decision only and kept in its record, never stored as a profile.
pub async fn features_for_credit(
    state: &AppState,
    id: &CustomerId,
) -> Result<(Vec<f64>, chrono::DateTime<Utc>), AppError> {
    if let Some(profile) = state.pipeline.fresh_profile(id).await? {
        return Ok((profile.features, profile.as_of));
    }
    if let Some(computed) = state.pipeline.refresh(id).await? {
        return Ok((computed.profile.features, computed.profile.as_of));
    }
    let now = Utc::now();
    let history = state
        .store
        .history(id, now - Duration::days(HISTORY_DAYS))
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((compute(&history, now, None).profile.features, now))
}

/// Decides, and returns the record the caller must store before it answers.
pub async fn decide_for(
    state: &AppState,
    actor: &str,
    id: &CustomerId,
    request: CreditRequest,
    kind: &str,
    decision_id: &str,
    ttl: Option<Duration>,
) -> Result<(CreditDecision, NewCreditDecision), AppError> {
    let lending = state.lending().await?;
    let customer = state.store.customer(id).await?.ok_or(AppError::NotFound)?;
    let (features, features_as_of) = features_for_credit(state, id).await?;
    let now = Utc::now();
    let inputs = lending.inputs(
        &customer.customer,
        &features,
        features_as_of,
        request,
        now.date_naive(),
    );
    let decision = lending.decide(&inputs)?;
    let record = NewCreditDecision {
        id: decision_id.to_owned(),
        customer_id: id.clone(),
        kind: kind.to_owned(),
        created_at: now,
        expires_at: ttl.map(|ttl| now + ttl),
        actor: actor.to_owned(),
        model_version: decision.model_version.clone(),
        policy_version: decision.policy_version.clone(),
        outcome: outcome_name(&decision.outcome).to_owned(),
        inputs: serde_json::to_value(&inputs).map_err(|e| AppError::Internal(e.to_string()))?,
        output: serde_json::to_value(&decision).map_err(|e| AppError::Internal(e.to_string()))?,
    };
    Ok((decision, record))
}

/// How often the service looks for a newly activated credit model.
pub const LENDING_REFRESH_SECONDS: i64 = 60;
