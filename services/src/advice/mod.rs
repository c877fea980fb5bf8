//! Advice as the service gives it. The engine (the universe of the stored catalogue, the
//! five model portfolios and the class history for reviews) is built once on first use;
//! the customer's current risk level comes from the profiling pipeline.
//!
//! - [`proposals`]: the model portfolios, a customer's proposed portfolio and goal plan;
//! - [`review`]: a wealth manager's review of a client's holdings, rebalancing proposals and
//!   the decision on them, the client book;
//! - [`views`]: what these answer, and what is recorded as each piece of advice's output.
//!
//! Every piece of advice is recorded with its inputs and the engine version.

pub mod proposals;
pub mod review;
pub mod views;

use std::sync::Arc;

use sextant_advisor::market::CapitalMarketAssumptions;
use sextant_advisor::planning::{self, ModelPortfolio, Universe};
use sextant_advisor::review::simulated_class_history;
use sextant_advisor::{DMatrix, DEFAULT_RISK_FREE, TRADING_DAYS};
use sextant_domain::{CustomerId, RiskTolerance};
use sextant_store::{Actor, NewAdvice, PAGE_MAX};

use crate::{Context, Result, ServiceError};

/// Years of simulated daily class returns behind a review's historical figures.
pub const HISTORY_YEARS: usize = 5;
/// Seed of that history: fixed, so the same holdings always get the same review.
pub const HISTORY_SEED: u64 = 2026;

/// The edition of the built-in capital-market assumptions (`CapitalMarketAssumptions::builtin`).
pub const ASSUMPTIONS_VERSION: &str = "builtin-2026-11";

/// Names the engine and its assumptions in every recorded piece of advice, so compliance
/// can reproduce it.
pub fn engine_version() -> String {
    format!(
        "sextant-advisor {} (capital-market assumptions {}, history seed {HISTORY_SEED})",
        env!("CARGO_PKG_VERSION"),
        ASSUMPTIONS_VERSION
    )
}

pub struct Advice {
    pub universe: Universe,
    pub models: Vec<ModelPortfolio>,
    /// Daily returns of the asset classes, simulated from the assumptions.
    pub class_history: DMatrix<f64>,
}

impl Advice {
    pub fn build(products: &[sextant_domain::Product]) -> Result<Advice> {
        let cma = CapitalMarketAssumptions::builtin();
        let universe = Universe::from_catalogue(products, &cma)?;
        let models = planning::model_portfolios(&universe, DEFAULT_RISK_FREE)?;
        let class_history =
            simulated_class_history(&cma, HISTORY_YEARS * TRADING_DAYS, HISTORY_SEED);
        Ok(Advice {
            universe,
            models,
            class_history,
        })
    }

    pub fn model(&self, tolerance: RiskTolerance) -> &ModelPortfolio {
        &self.models[usize::from(tolerance.get() - 1)]
    }
}

impl Context {
    /// The engine over the stored catalogue, built on first use.
    pub async fn advice(&self) -> Result<Arc<Advice>> {
        self.engines
            .advice
            .get_or_try_init(|| async {
                let products = self.store.products().await?;
                // A catalogue the engine cannot use is the operator's fault, not the caller's.
                Advice::build(&products)
                    .map(Arc::new)
                    .map_err(|e| ServiceError::internal(format!("advice engine: {e}")))
            })
            .await
            .cloned()
    }
}

/// The customer's current risk level, reassessed first when events arrived after the stored
/// profile, so advice follows every change of level. A conflict without profiling consent.
pub async fn risk_level(ctx: &Context, id: &CustomerId) -> Result<RiskTolerance> {
    let customer = ctx
        .store
        .customer(id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if !customer.customer.consents.profiling {
        return Err(ServiceError::conflict(
            "no_profiling_consent",
            "consents.profiling",
            "the customer has not consented to profiling; advice needs a risk profile",
        ));
    }
    let fresh = ctx.pipeline.fresh_profile(id).await?.is_some();
    let mut latest = ctx.store.assessments(id, 1).await?;
    if !fresh || latest.is_empty() {
        ctx.pipeline.refresh(id).await?;
        latest = ctx.store.assessments(id, 1).await?;
    }
    let level = latest.first().map(|a| a.level).ok_or_else(|| {
        ServiceError::conflict(
            "no_risk_profile",
            "consents.profiling",
            "the customer has no risk profile (profiling consent is needed); advice needs one",
        )
    })?;
    RiskTolerance::new(level).map_err(|e| ServiceError::internal(format!("stored level: {e}")))
}

/// What the demo's advice pass did.
#[derive(Debug, Default, serde::Serialize)]
pub struct AdviceReport {
    /// Customers with a risk level (profiling consent).
    pub customers: u64,
    /// Customers per level C1..C5.
    pub per_level: [u64; 5],
    /// Proposed positions above the customer's level: must be zero.
    pub proposal_breaches: u64,
    /// Customers whose current holdings hold a product above their level.
    pub holdings_breaching: u64,
    /// Customers whose holdings drift beyond the band from their model portfolio.
    pub holdings_drifting: u64,
    pub clients_assigned: usize,
}

/// Proposes each profiled customer the model portfolio of their level, checks it against
/// suitability, reviews their holdings, and makes the first `clients` customers clients of
/// `wealth_manager` with their proposal recorded.
pub async fn advise_everyone(
    ctx: &Context,
    wealth_manager: &str,
    clients: usize,
    by: &Actor,
) -> Result<AdviceReport> {
    let advice = ctx.advice().await?;
    let mut report = AdviceReport::default();
    let mut after: Option<CustomerId> = None;
    loop {
        let page = ctx.store.profiles(after.as_ref(), PAGE_MAX).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.customer_id.clone());
        for profile in &page {
            let id = &profile.customer_id;
            let Some(level) = ctx.store.assessments(id, 1).await?.first().map(|a| a.level) else {
                continue;
            };
            let level = RiskTolerance::new(level).map_err(ServiceError::internal)?;
            report.customers += 1;
            report.per_level[usize::from(level.get() - 1)] += 1;
            let model = advice.model(level);
            let proposed: Vec<_> = model
                .weights
                .iter()
                .map(|(p, w)| {
                    let fund =
                        &advice.universe.funds[advice.universe.index(p).expect("in the universe")];
                    (p.clone(), fund.risk_level, *w)
                })
                .collect();
            report.proposal_breaches +=
                sextant_advisor::suitability::breaches(level, &proposed).len() as u64;
            let holdings = ctx.store.holdings(id).await?;
            let positions: Vec<sextant_advisor::review::Position> = holdings
                .iter()
                .map(|h| sextant_advisor::review::Position {
                    product_id: h.product_id.clone(),
                    value: h.value.get() as f64 / 10f64.powi(i32::from(h.currency.minor_digits())),
                })
                .collect();
            if let Ok(r) = sextant_advisor::review::review(
                &positions,
                level,
                model,
                &advice.universe,
                &advice.class_history,
                &sextant_advisor::review::ReviewSettings::default(),
            ) {
                report.holdings_breaching += u64::from(!r.breaches.is_empty());
                report.holdings_drifting += u64::from(r.drift.iter().any(|d| d.beyond_band));
            }
            if report.clients_assigned < clients && !holdings.is_empty() {
                let now = chrono::Utc::now();
                ctx.store.assign_client(wealth_manager, id, by, now).await?;
                ctx.store
                    .record_advice(&NewAdvice {
                        customer_id: id.clone(),
                        kind: "model_portfolio".into(),
                        actor: by.id.clone(),
                        engine_version: engine_version(),
                        inputs: serde_json::json!({"level": level.to_string()}),
                        output: serde_json::json!({"weights": model.weights.iter().map(|(p, w)| serde_json::json!({"product_id": p.to_string(), "weight": w})).collect::<Vec<_>>()}),
                        created_at: now,
                    }, by)
                    .await?;
                report.clients_assigned += 1;
            }
        }
    }
    Ok(report)
}
