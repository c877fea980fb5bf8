//! Credit as the service runs it: the active credit model over the profiling features, the
//! policy, and the mapping from a customer's profile to an applicant. Decisions are made by
//! `sextant_lending`; this module gathers their inputs, records them with the decision, and
//! replays a recorded decision from them.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use sextant_domain::CustomerId;
use sextant_lending::{CreditDecision, CreditPolicy, CreditRequest, DecisionInputs, Lender};
use sextant_models::credit::CreditModel;

use crate::error::AppError;
use crate::pipeline::{compute, HISTORY_DAYS};
use crate::store::{NewCreditDecision, StoredCreditModel};
use crate::AppState;

/// The currency the policy's amounts are in; quotes in another currency are refused.
pub const CREDIT_CURRENCY: &str = "EUR";
/// How long a quote can be accepted: long enough to finish a checkout.
pub const QUOTE_TTL_MINUTES: i64 = 30;

/// The lending engine in use and when it was loaded.
pub type Loaded = (DateTime<Utc>, Arc<Lender>);

/// Scores and decides; a refusal of the caller's request is theirs (422), anything else the
/// engine still refuses (a model decline with no reason it may show, an applicant out of
/// range) is ours.
pub fn decide_with(
    model: &CreditModel,
    inputs: &DecisionInputs,
) -> Result<CreditDecision, AppError> {
    inputs.decide_with(model).map_err(|e| match e.field() {
        Some(field) if field.starts_with("request.") => AppError::Lending(e),
        _ => AppError::Internal(format!("credit decision: {e}")),
    })
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
    pub async fn lending(&self) -> Result<Arc<Lender>, AppError> {
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
                    .and_then(|model| {
                        Lender::new(model, CreditPolicy::default()).map_err(anyhow::Error::from)
                    })
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
    let decision = decide_with(&lending.model, &inputs)?;
    let record = NewCreditDecision {
        id: decision_id.to_owned(),
        customer_id: id.clone(),
        kind: kind.to_owned(),
        created_at: now,
        expires_at: ttl.map(|ttl| now + ttl),
        actor: actor.to_owned(),
        model_version: decision.model_version.clone(),
        policy_version: decision.policy_version.clone(),
        outcome: decision.outcome.name().to_owned(),
        inputs: serde_json::to_value(&inputs).map_err(|e| AppError::Internal(e.to_string()))?,
        output: serde_json::to_value(&decision).map_err(|e| AppError::Internal(e.to_string()))?,
    };
    Ok((decision, record))
}

/// How often the service looks for a newly activated credit model.
pub const LENDING_REFRESH_SECONDS: i64 = 60;
