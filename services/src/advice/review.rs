//! Reviews for wealth managers: what a client holds measured against the model portfolio of
//! their level, rebalancing proposals (recorded as pending until approved or rejected, once),
//! and the client book with every client's alerts.

use chrono::{DateTime, Utc};
use sextant_advisor::review::{self, Position, RebalanceSettings, ReviewSettings};
use sextant_advisor::AdvisorError;
use sextant_domain::{AmountSource, Currency, CustomerId, RateTable, RiskTolerance, Unconverted};
use sextant_store::{Actor, NewAdvice, StoredDecision};

use super::views::{
    rebalance_view, review_view, ClientSummary, DecisionBody, RebalanceBody, RebalanceOutput,
    RebalanceView, ReviewView, TradeView, WeightView,
};
use super::{engine_version, risk_level, Advice};
use crate::{Context, Result, ServiceError};

/// Longest note on a rebalancing proposal or its decision.
pub const NOTE_MAX_CHARS: usize = 2_000;
/// Proposals listed per customer.
pub const PROPOSALS_LISTED: u64 = 100;

/// The customer's investment positions in major units of their base currency, and that
/// currency. A holding in another currency is valued at today's reference rate (the last
/// published within a week); without one the review is refused, naming the rate, rather
/// than made on part of the portfolio.
async fn positions(ctx: &Context, id: &CustomerId) -> Result<(Vec<Position>, Currency)> {
    let customer = ctx
        .store
        .customer(id)
        .await?
        .ok_or(ServiceError::NotFound)?
        .customer;
    let base = customer.base_currency;
    let holdings = ctx.store.holdings(id).await?;
    let today = Utc::now().date_naive();
    let rates = if holdings.iter().any(|h| h.currency != base) {
        ctx.store.fx_rates(today, today).await?
    } else {
        RateTable::new()
    };
    let scale = 10f64.powi(i32::from(base.minor_digits()));
    let mut positions = Vec::with_capacity(holdings.len());
    let mut unconverted = Vec::new();
    for h in &holdings {
        match rates.convert(h.value.get(), h.currency, base, today) {
            Ok(value_minor) => positions.push(Position {
                product_id: h.product_id.clone(),
                value: value_minor as f64 / scale,
            }),
            Err(error) => unconverted.push(Unconverted {
                source: AmountSource::Holding(h.product_id.clone()),
                amount_minor: h.value.get(),
                currency: h.currency,
                date: today,
                error,
            }),
        }
    }
    crate::fx::refuse_unconverted(&unconverted, "no review is made of part of the portfolio")?;
    Ok((positions, base))
}

/// A review of what the customer holds: risk measures, drift from the target model
/// portfolio of their level, and alerts (drift beyond band, drawdown, suitability).
pub async fn review(ctx: &Context, id: &CustomerId) -> Result<ReviewView> {
    let level = risk_level(ctx, id).await?;
    let (positions, currency) = positions(ctx, id).await?;
    let advice = ctx.advice().await?;
    let r = review::review(
        &positions,
        level,
        advice.model(level),
        &advice.universe,
        &advice.class_history,
        &ReviewSettings::default(),
    )?;
    Ok(review_view(&advice, id, level, &currency, &r))
}

fn check_rebalance_request(request: &RebalanceBody) -> Result<()> {
    if request
        .note
        .as_ref()
        .is_some_and(|n| n.chars().count() > NOTE_MAX_CHARS)
    {
        return Err(ServiceError::invalid(
            "note",
            "too_long",
            "at most 2,000 characters",
        ));
    }
    if request.new_cash_minor.unsigned_abs() > sextant_domain::AmountMinor::MAX.unsigned_abs() {
        return Err(ServiceError::invalid(
            "new_cash_minor",
            "out_of_range",
            "at most twelve digits either way",
        ));
    }
    Ok(())
}

/// The engine names its own inputs; the caller sent them in minor units and basis points.
fn in_request_terms(e: AdvisorError) -> AdvisorError {
    match e {
        AdvisorError::InvalidInput { field, message } => {
            let field = match field.as_str() {
                "cost_rate" => "cost_bps".to_owned(),
                "min_trade" => "min_trade_minor".to_owned(),
                "new_cash" => "new_cash_minor".to_owned(),
                _ => field,
            };
            AdvisorError::InvalidInput { field, message }
        }
        other => other,
    }
}

/// The plan back to the target model portfolio, checked for suitability once more, as it is
/// recorded.
fn rebalance_plan(
    advice: &Advice,
    level: RiskTolerance,
    positions: &[Position],
    currency: &Currency,
    request: &RebalanceBody,
) -> Result<RebalanceOutput> {
    let scale = 10f64.powi(i32::from(currency.minor_digits()));
    let settings = RebalanceSettings {
        band: request.band.unwrap_or(0.05),
        min_trade: request.min_trade_minor.unwrap_or(5_000) as f64 / scale,
        cost_rate: request.cost_bps.unwrap_or(10.0) / 10_000.0,
        new_cash: request.new_cash_minor as f64 / scale,
    };
    let plan = review::rebalance(positions, advice.model(level), &advice.universe, &settings)
        .map_err(in_request_terms)?;
    // Suitability holds by construction (the target holds only allowed products and every
    // other position is sold); checked again before the proposal is recorded.
    for (product, weight) in &plan.weights_after {
        let fund = &advice.universe.funds[advice.universe.index(product).expect("in the universe")];
        if *weight > 0.0 && !sextant_advisor::suitability::allowed(level, fund.risk_level) {
            return Err(ServiceError::internal(format!(
                "a rebalance left {product} ({}) for a {level} customer",
                fund.risk_level
            )));
        }
    }
    Ok(RebalanceOutput {
        level: level.to_string(),
        currency: currency.to_string(),
        trades: plan
            .trades
            .iter()
            .map(|t| TradeView {
                product_id: t.product_id.to_string(),
                amount_minor: (t.amount * scale).round() as i64,
            })
            .collect(),
        cost_minor: (plan.cost * scale).round() as i64,
        turnover: plan.turnover,
        weights_after: plan
            .weights_after
            .iter()
            .map(|(p, w)| WeightView {
                product_id: p.to_string(),
                weight: *w,
            })
            .collect(),
        reason: plan.reason,
    })
}

/// Proposes a rebalance back to the target model portfolio (threshold bands, minimum trade
/// size, costs, new cash), recorded as pending until a wealth manager approves or rejects it.
pub async fn propose_rebalance(
    ctx: &Context,
    id: &CustomerId,
    request: RebalanceBody,
    by: &Actor,
) -> Result<RebalanceView> {
    check_rebalance_request(&request)?;
    let level = risk_level(ctx, id).await?;
    let (positions, currency) = positions(ctx, id).await?;
    let advice = ctx.advice().await?;
    let output = rebalance_plan(&advice, level, &positions, &currency, &request)?;
    let advice_id = ctx
        .store
        .record_advice(&NewAdvice {
            customer_id: id.clone(),
            kind: "rebalance".into(),
            actor: by.id.clone(),
            engine_version: engine_version(),
            inputs: serde_json::json!({
                "request": &request,
                "positions": positions.iter().map(|p| serde_json::json!({"product_id": p.product_id.to_string(), "value": p.value})).collect::<Vec<_>>(),
            }),
            output: serde_json::to_value(&output).expect("serialisable"),
            created_at: Utc::now(),
        }, by)
        .await?;
    let stored = ctx
        .store
        .advice(advice_id)
        .await?
        .ok_or_else(|| ServiceError::internal("a recorded proposal vanished"))?;
    rebalance_view(&stored)
}

/// The customer's rebalancing proposals and the decisions on them, newest first.
pub async fn rebalance_proposals(ctx: &Context, id: &CustomerId) -> Result<Vec<RebalanceView>> {
    let stored = ctx
        .store
        .advice_for(id, Some("rebalance"), PROPOSALS_LISTED)
        .await?;
    stored.iter().map(rebalance_view).collect()
}

/// The customer a rebalancing proposal is about (`NotFound` for any other advice).
pub async fn proposal_customer(ctx: &Context, advice_id: i64) -> Result<CustomerId> {
    let stored = ctx
        .store
        .advice(advice_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if stored.advice.kind != "rebalance" {
        return Err(ServiceError::NotFound);
    }
    Ok(stored.advice.customer_id)
}

/// A decision as checked: `approved` or `rejected`, with its note.
pub struct CheckedDecision {
    decision: &'static str,
    note: String,
}

impl DecisionBody {
    /// `approve` or `reject`, and a note of at most [`NOTE_MAX_CHARS`].
    pub fn check(self) -> Result<CheckedDecision> {
        let decision = match self.decision.as_str() {
            "approve" => "approved",
            "reject" => "rejected",
            _ => {
                return Err(ServiceError::invalid(
                    "decision",
                    "invalid_decision",
                    "`approve` or `reject`",
                ))
            }
        };
        if self.note.chars().count() > NOTE_MAX_CHARS {
            return Err(ServiceError::invalid(
                "note",
                "too_long",
                "at most 2,000 characters",
            ));
        }
        Ok(CheckedDecision {
            decision,
            note: self.note,
        })
    }
}

/// Approves or rejects a rebalancing proposal, once: a second decision is a conflict and
/// the first stands.
pub async fn decide(
    ctx: &Context,
    advice_id: i64,
    decision: CheckedDecision,
    by: &Actor,
    at: DateTime<Utc>,
) -> Result<RebalanceView> {
    let recorded = ctx
        .store
        .decide_advice(
            advice_id,
            &StoredDecision {
                decision: decision.decision.to_owned(),
                actor: by.id.clone(),
                decided_at: at,
                note: decision.note,
            },
            by,
        )
        .await?;
    if !recorded {
        return Err(ServiceError::conflict(
            "already_decided",
            "decision",
            "this proposal was already approved or rejected; the first decision stands",
        ));
    }
    let stored = ctx
        .store
        .advice(advice_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    rebalance_view(&stored)
}

/// A wealth manager's clients, each with the alerts of their review (or why there is none).
pub async fn clients(ctx: &Context, wealth_manager: &str) -> Result<Vec<ClientSummary>> {
    let mut clients = Vec::new();
    for id in ctx.store.clients_of(wealth_manager).await? {
        let unavailable = |why: Option<String>| ClientSummary {
            customer_id: id.to_string(),
            level: None,
            value_minor: None,
            currency: None,
            alerts: Vec::new(),
            unavailable: why,
        };
        clients.push(match review(ctx, &id).await {
            Ok(r) => ClientSummary {
                customer_id: id.to_string(),
                level: Some(r.level),
                value_minor: Some(r.value_minor),
                currency: Some(r.currency),
                alerts: r.alerts,
                unavailable: None,
            },
            Err(ServiceError::Conflict { problems, .. } | ServiceError::Invalid(problems)) => {
                unavailable(problems.first().map(|p| p.message.clone()))
            }
            Err(ServiceError::Advice(e)) => unavailable(Some(e.to_string())),
            Err(e) => return Err(e),
        });
    }
    Ok(clients)
}

/// A wealth manager's subject: 1 to 128 printable characters.
pub fn check_subject(manager: &str) -> Result<()> {
    if manager.is_empty() || manager.len() > 128 || manager.chars().any(char::is_control) {
        return Err(ServiceError::invalid(
            "manager",
            "invalid_subject",
            "1 to 128 printable characters",
        ));
    }
    Ok(())
}

/// Makes a customer a client of a wealth manager (idempotent).
pub async fn assign(
    ctx: &Context,
    manager: &str,
    id: &CustomerId,
    by: &Actor,
    at: DateTime<Utc>,
) -> Result<()> {
    check_subject(manager)?;
    ctx.store
        .customer(id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    ctx.store.assign_client(manager, id, by, at).await?;
    Ok(())
}

/// Ends a customer's assignment to a wealth manager.
pub async fn unassign(
    ctx: &Context,
    manager: &str,
    id: &CustomerId,
    by: &Actor,
    at: DateTime<Utc>,
) -> Result<()> {
    check_subject(manager)?;
    ctx.store.unassign_client(manager, id, by, at).await?;
    Ok(())
}
