//! Credit as the service runs it: the active credit model (stored by version, the newest
//! activation decides, picked up within [`LENDER_REFRESH_SECONDS`]), the default policy,
//! and for one customer the inputs of a decision from their profile. Decisions themselves
//! are `sextant_lending`'s; every one is recorded with its inputs before it is answered, so
//! [`operations::replay`] reproduces it.
//!
//! - [`decisions`]: instalment quotes, their acceptance, loan applications, the records;
//! - [`operations`]: training the decision model on the stored population, and replay;
//! - [`views`]: what these answer.

pub mod decisions;
pub mod fairness;
pub mod operations;
pub mod views;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use sextant_domain::{convert_exact, Currency, Customer, CustomerId, Unconverted};
use sextant_lending::{CreditDecision, CreditPolicy, CreditRequest, DecisionInputs, Lender};
use sextant_models::credit::CreditModel;
use sextant_store::{Actor, NewCreditDecision, StoredCreditModel};

use crate::pipeline::{compute, is_fresh, HISTORY_DAYS};
use crate::{Context, Result, ServiceError};

/// How long a quote can be accepted: long enough to finish a checkout.
pub const QUOTE_TTL_MINUTES: i64 = 30;
/// How often the service looks for a newly activated credit model.
pub const LENDER_REFRESH_SECONDS: i64 = 60;

/// Scores and decides. A refusal of the caller's request is theirs; anything else the engine
/// still refuses (a model decline with no reason it may show, an applicant out of range) is
/// ours.
pub fn decide_with(model: &CreditModel, inputs: &DecisionInputs) -> Result<CreditDecision> {
    inputs.decide_with(model).map_err(|e| match e.field() {
        Some(field) if field.starts_with("request.") => ServiceError::Lending(e),
        _ => ServiceError::internal(format!("credit decision: {e}")),
    })
}

/// A stored model, parsed and checked against its version.
pub fn load_model(stored: &StoredCreditModel) -> Result<CreditModel> {
    let model = CreditModel::from_json(stored.artifact.as_bytes())
        .map_err(|e| ServiceError::internal(format!("credit model {}: {e}", stored.version)))?;
    if model.meta().model_version != stored.version {
        return Err(ServiceError::internal(format!(
            "credit model stored as {} is {}",
            stored.version,
            model.meta().model_version
        )));
    }
    Ok(model)
}

impl Context {
    /// The active model and the policy; not ready until a model has been trained and
    /// activated. A newly activated model is picked up within [`LENDER_REFRESH_SECONDS`]:
    /// the check runs in the background while requests keep the model in use, so no
    /// request waits for it (only the very first load does).
    pub async fn lender(&self) -> Result<Arc<Lender>> {
        let now = Utc::now();
        let slot = &self.engines.lender;
        if let Some((loaded_at, lender)) = slot.read().await.as_ref() {
            if (now - *loaded_at).num_seconds() >= LENDER_REFRESH_SECONDS {
                self.check_lender_in_background();
            }
            return Ok(lender.clone());
        }
        let mut slot = slot.write().await;
        if let Some((_, lender)) = slot.as_ref() {
            return Ok(lender.clone());
        }
        let lender = load_lender(self, None).await?;
        *slot = Some((now, lender.clone()));
        Ok(lender)
    }

    /// Reads the active credit model again and swaps it in if another was activated; at
    /// most one check runs at a time.
    fn check_lender_in_background(&self) {
        use std::sync::atomic::Ordering;
        if self.engines.lender_checking.swap(true, Ordering::AcqRel) {
            return;
        }
        let ctx = self.clone();
        tokio::spawn(async move {
            let current = ctx
                .engines
                .lender
                .read()
                .await
                .as_ref()
                .map(|(_, l)| l.clone());
            match load_lender(&ctx, current).await {
                Ok(lender) => *ctx.engines.lender.write().await = Some((Utc::now(), lender)),
                Err(e) => tracing::warn!(error = %e, "credit model check failed"),
            }
            ctx.engines.lender_checking.store(false, Ordering::Release);
        });
    }
}

/// The active model with the default policy; `current` is kept when it is still the
/// active one.
async fn load_lender(ctx: &Context, current: Option<Arc<Lender>>) -> Result<Arc<Lender>> {
    let Some(stored) = ctx.store.active_credit_model().await? else {
        return Err(ServiceError::NotReady {
            code: "credit_model_unavailable",
            message: "no credit model is active: run `sextant credit train-population`".into(),
        });
    };
    if let Some(lender) = current.filter(|l| l.model_version() == stored.version) {
        return Ok(lender);
    }
    Ok(Arc::new(
        Lender::new(load_model(&stored)?, CreditPolicy::default())
            .map_err(|e| ServiceError::internal(format!("credit model: {e}")))?,
    ))
}

/// The customer and their features for a credit decision, from the read model: the stored
/// profile when fresh, else recomputed now. Assessing creditworthiness is the lender's legal duty (Consumer
/// Credit Directive), so a customer without profiling consent is still assessed, from
/// features computed for this decision only and kept in its record, never stored as a
/// profile.
async fn applicant_features(ctx: &Context, id: &CustomerId) -> Result<Applicant> {
    let entry = ctx
        .read_model()
        .entry(ctx.store.as_ref(), id, true)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let customer = entry.row.customer.clone();
    let newest_event_at = entry.newest_event_at.flatten();
    if let Some(profile) = entry
        .row
        .profile
        .as_ref()
        .filter(|p| is_fresh(p, newest_event_at))
    {
        return Ok(Applicant {
            customer,
            features: profile.features.clone(),
            as_of: profile.as_of,
            unconverted: profile.unconverted.clone(),
        });
    }
    let profile = match ctx.pipeline.refresh(id).await? {
        Some(computed) => computed.profile,
        None => {
            let now = Utc::now();
            let history = ctx
                .store
                .history(id, now - Duration::days(HISTORY_DAYS))
                .await?
                .ok_or(ServiceError::NotFound)?;
            compute(&history, now, None).profile
        }
    };
    Ok(Applicant {
        customer,
        features: profile.features,
        as_of: profile.as_of,
        unconverted: profile.unconverted,
    })
}

/// The customer and their profile's features, in their base currency.
struct Applicant {
    customer: Customer,
    features: Vec<f64>,
    as_of: DateTime<Utc>,
    unconverted: Vec<Unconverted>,
}

/// The policy in the customer's base currency and the factor that takes their profile's
/// amounts to the model's (the policy's own) currency, at the reference rates in effect
/// today. A customer in the policy's currency needs no rate and no read.
async fn policy_for(ctx: &Context, lender: &Lender, base: Currency) -> Result<(CreditPolicy, f64)> {
    let policy = &lender.policy;
    if policy.currency == base.as_str() {
        return Ok((policy.clone(), 1.0));
    }
    let from = Currency::parse(&policy.currency)
        .map_err(|e| ServiceError::internal(format!("credit policy currency: {}", e.message)))?;
    let today = Utc::now().date_naive();
    let rates = ctx.store.fx_rates(today, today).await?;
    let rate = |currency: Currency| {
        rates
            .rate_on(currency, today)
            .map(|(_, rate)| rate)
            .map_err(|m| {
                ServiceError::conflict(
                    "exchange_rate_missing",
                    "customer_id",
                    format!(
                        "{m}: the credit policy's amounts ({}) cannot be put in the customer's \
                     base currency ({base}); publish the rate and ask again",
                        policy.currency
                    ),
                )
            })
    };
    let (rate_from, rate_to) = (rate(from)?, rate(base)?);
    let converted = policy
        .in_currency(base.as_str(), base.minor_digits(), |amount| {
            convert_exact(amount, from, rate_from, base, rate_to)
        })
        .ok_or_else(|| ServiceError::internal("credit policy amounts beyond conversion"))?;
    // One minor unit of the base currency in minor units of the policy's.
    let digits = i32::from(from.minor_digits()) - i32::from(base.minor_digits());
    let scale = 10f64.powi(digits) * rate_from.to_f64() / rate_to.to_f64();
    Ok((converted, scale))
}

/// Decides, and returns the record the caller must store before it answers.
#[allow(clippy::too_many_arguments)]
pub async fn decide_for(
    ctx: &Context,
    by: &Actor,
    id: &CustomerId,
    request: CreditRequest,
    currency: Currency,
    kind: &str,
    decision_id: &str,
    ttl: Option<Duration>,
) -> Result<(CreditDecision, NewCreditDecision)> {
    let applicant = applicant_features(ctx, id).await?;
    let base = applicant.customer.base_currency;
    if currency != base {
        return Err(ServiceError::invalid(
            "currency",
            "currency_mismatch",
            format!("this customer's credit is in {base}, their account's currency"),
        ));
    }
    crate::fx::refuse_unconverted(
        &applicant.unconverted,
        "no credit decision is made on part of the history",
    )?;
    let lender = ctx.lender().await?;
    let (policy, money_scale) = policy_for(ctx, &lender, base).await?;
    let now = Utc::now();
    let inputs = lender.inputs_in(
        &policy,
        money_scale,
        &applicant.customer,
        &applicant.features,
        applicant.as_of,
        request,
        now.date_naive(),
    );
    let decision = decide_with(&lender.model, &inputs)?;
    let record = NewCreditDecision {
        id: decision_id.to_owned(),
        customer_id: id.clone(),
        kind: kind.to_owned(),
        created_at: now,
        expires_at: ttl.map(|ttl| now + ttl),
        actor: by.id.clone(),
        model_version: decision.model_version.clone(),
        policy_version: decision.policy_version.clone(),
        outcome: decision.outcome.name().to_owned(),
        inputs: serde_json::to_value(&inputs).map_err(ServiceError::internal)?,
        output: serde_json::to_value(&decision).map_err(ServiceError::internal)?,
        applicant_age_years: Some(inputs.applicant.age_years),
    };
    Ok((decision, record))
}
