//! Robo-advice and portfolio review: model portfolios, a customer's proposal and goal plan,
//! wealth managers' reviews and rebalancing proposals with their approval. Every piece of
//! advice given to a customer is recorded with its inputs and the engine version.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use sextant_advisor::planning::{self, Goal, ModelPortfolio, Simulation};
use sextant_advisor::review::{self, Position, RebalanceSettings, ReviewSettings};
use sextant_domain::{Currency, CustomerId, RiskTolerance};
use utoipa::ToSchema;

use super::{body_bytes, customer_id, json_body};
use crate::advice::{engine_version, risk_level, Advice};
use crate::auth::{Caller, Role};
use crate::error::{AppError, ItemProblem, Problem};
use crate::store::{NewAdvice, StoredAdvice, StoredDecision};
use crate::wire::format_timestamp;
use crate::AppState;

/// Who may see a customer's advice; a wealth manager only for their own clients.
const ADVICE_READERS: &[Role] = &[
    Role::Customer,
    Role::Service,
    Role::WealthManager,
    Role::Admin,
];

/// The customer id, once the caller may see this customer's advice. A wealth manager who
/// does not manage the customer gets 404, as a customer asking about another does.
async fn reach(state: &AppState, caller: &Caller, raw: &str) -> Result<CustomerId, AppError> {
    caller.reach_customer(raw, ADVICE_READERS)?;
    let id = customer_id(raw)?;
    super::require_client(state, caller, &id).await?;
    state.store.customer(&id).await?.ok_or(AppError::NotFound)?;
    Ok(id)
}

#[derive(Serialize, Deserialize, ToSchema, Clone)]
pub struct PositionView {
    pub product_id: String,
    pub name: String,
    pub risk_level: String,
    pub weight: f64,
}

#[derive(Serialize, Deserialize, ToSchema, Clone)]
pub struct ModelPortfolioView {
    /// C1..C5.
    pub level: String,
    pub positions: Vec<PositionView>,
    pub expected_return: f64,
    pub volatility: f64,
    pub sharpe: f64,
}

fn model_view(advice: &Advice, m: &ModelPortfolio) -> ModelPortfolioView {
    ModelPortfolioView {
        level: m.tolerance.to_string(),
        positions: m
            .weights
            .iter()
            .map(|(id, w)| {
                let fund = &advice.universe.funds[advice
                    .universe
                    .index(id)
                    .expect("model funds are in the universe")];
                PositionView {
                    product_id: id.to_string(),
                    name: fund.name.clone(),
                    risk_level: fund.risk_level.to_string(),
                    weight: *w,
                }
            })
            .collect(),
        expected_return: m.expected_return,
        volatility: m.volatility,
        sharpe: m.sharpe,
    }
}

#[derive(Serialize, ToSchema)]
pub struct AssumptionView {
    pub asset_class: String,
    pub expected_return: f64,
    pub volatility: f64,
}

#[derive(Serialize, ToSchema)]
pub struct ModelPortfolios {
    pub models: Vec<ModelPortfolioView>,
    /// The capital-market assumptions behind them (annual).
    pub assumptions: Vec<AssumptionView>,
    pub engine_version: String,
}

/// The model portfolio of each risk level C1..C5: the efficient portfolio at the level's
/// target volatility over the products the level allows.
#[utoipa::path(get, path = "/v1/model-portfolios", tag = "advice", security(("bearer" = [])),
    responses((status = 200, body = ModelPortfolios), (status = 401, body = Problem)))]
pub async fn model_portfolios(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<ModelPortfolios>, AppError> {
    caller.require(Role::ALL)?;
    let advice = state.advice().await?;
    let cma = &advice.universe.cma;
    Ok(Json(ModelPortfolios {
        models: advice
            .models
            .iter()
            .map(|m| model_view(&advice, m))
            .collect(),
        assumptions: cma
            .classes
            .iter()
            .enumerate()
            .map(|(i, c)| AssumptionView {
                asset_class: c.as_str().to_owned(),
                expected_return: cma.expected_return[i],
                volatility: cma.volatility[i],
            })
            .collect(),
        engine_version: engine_version(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct PortfolioProposal {
    pub advice_id: i64,
    pub customer_id: String,
    /// The customer's risk level the proposal respects.
    pub level: String,
    pub portfolio: ModelPortfolioView,
    /// Plain-language reasons.
    pub reasons: Vec<String>,
}

/// The customer's proposed portfolio: the model portfolio of their current risk level,
/// never holding a product above it. Recorded as advice.
#[utoipa::path(get, path = "/v1/customers/{id}/advice/portfolio", tag = "advice", security(("bearer" = [])),
    params(("id" = String, Path, description = "customer id")),
    responses((status = 200, body = PortfolioProposal), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 503, body = Problem)))]
pub async fn portfolio(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<PortfolioProposal>, AppError> {
    let id = reach(&state, &caller, &id).await?;
    let level = risk_level(&state, &id).await?;
    let advice = state.advice().await?;
    let model = advice.model(level);
    let view = model_view(&advice, model);
    let reasons = vec![
        format!("your risk level is {level}; every product proposed is at most {}", sextant_advisor::suitability::highest_level(level)),
        format!(
            "the mix aims at {:.1}% expected return a year with {:.1}% volatility, the most return available at that risk",
            model.expected_return * 100.0,
            model.volatility * 100.0
        ),
    ];
    let output = serde_json::json!({"portfolio": &view, "reasons": &reasons});
    let advice_id = state
        .store
        .record_advice(&NewAdvice {
            customer_id: id.clone(),
            kind: "model_portfolio".into(),
            actor: caller.sub.clone(),
            engine_version: engine_version(),
            inputs: serde_json::json!({"level": level.to_string()}),
            output,
            created_at: Utc::now(),
        })
        .await?;
    Ok(Json(PortfolioProposal {
        advice_id,
        customer_id: id.to_string(),
        level: level.to_string(),
        portfolio: view,
        reasons,
    }))
}

/// A savings goal. Amounts in minor units of `currency` (default EUR).
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GoalBody {
    pub target_amount_minor: i64,
    #[serde(default)]
    pub initial_amount_minor: i64,
    #[serde(default)]
    pub monthly_contribution_minor: i64,
    pub horizon_months: u32,
    pub currency: Option<String>,
    /// Simulated paths, default 10,000, at most 100,000.
    pub paths: Option<usize>,
    /// The success probability the suggested contribution aims at; default 0.8.
    pub target_probability: Option<f64>,
}

#[derive(Serialize, ToSchema)]
pub struct GlideStepView {
    pub year: u32,
    pub level: String,
    pub expected_return: f64,
    pub volatility: f64,
}

#[derive(Serialize, ToSchema)]
pub struct GoalView {
    pub advice_id: i64,
    pub level: String,
    pub currency: String,
    pub portfolio: ModelPortfolioView,
    pub glide_path: Vec<GlideStepView>,
    pub success_probability: f64,
    pub final_wealth_p10_minor: i64,
    pub final_wealth_p50_minor: i64,
    pub final_wealth_p90_minor: i64,
    pub total_contributions_minor: i64,
    /// Smallest monthly contribution that reaches `target_probability`; absent when no
    /// reasonable contribution does.
    pub contribution_for_target_probability_minor: Option<i64>,
    pub target_probability: f64,
    pub paths: usize,
    /// The return model behind the simulation.
    pub return_model: String,
}

fn currency(raw: Option<&str>) -> Result<Currency, AppError> {
    Currency::parse(raw.unwrap_or("EUR"))
        .map_err(|e| AppError::Validation(vec![ItemProblem::field("currency", e.code, e.message)]))
}

fn amount_field(value: i64, field: &str, scale: f64) -> Result<f64, AppError> {
    if !(0..=sextant_domain::AmountMinor::MAX).contains(&value) {
        return Err(AppError::Validation(vec![ItemProblem::field(
            field,
            "out_of_range",
            "an amount in minor units, zero or more, at most twelve digits",
        )]));
    }
    Ok(value as f64 / scale)
}

/// A proposal for a savings goal: the portfolio of the customer's level, a glide path that
/// de-risks as the date nears, and a Monte Carlo probability of reaching the target.
#[utoipa::path(post, path = "/v1/customers/{id}/advice/goal", tag = "advice", security(("bearer" = [])),
    params(("id" = String, Path, description = "customer id")), request_body = GoalBody,
    responses((status = 200, body = GoalView), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn goal(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<GoalView>, AppError> {
    let id = reach(&state, &caller, &id).await?;
    let body = body_bytes(body)?;
    let request: GoalBody = json_body(&body)?;
    let currency = currency(request.currency.as_deref())?;
    let scale = 10f64.powi(i32::from(currency.minor_digits()));
    let goal = Goal {
        target_amount: amount_field(request.target_amount_minor, "target_amount_minor", scale)?,
        initial_amount: amount_field(request.initial_amount_minor, "initial_amount_minor", scale)?,
        monthly_contribution: amount_field(
            request.monthly_contribution_minor,
            "monthly_contribution_minor",
            scale,
        )?,
        horizon_months: request.horizon_months,
    };
    let simulation = Simulation {
        paths: request.paths.unwrap_or(10_000),
        target_probability: request.target_probability.unwrap_or(0.8),
        ..Simulation::default()
    };
    let level = risk_level(&state, &id).await?;
    let advice = state.advice().await?;
    let advice_for_task = advice.clone();
    let proposal = tokio::task::spawn_blocking(move || {
        planning::propose(
            &goal,
            level,
            &advice_for_task.models,
            &advice_for_task.universe,
            &simulation,
        )
    })
    .await
    .map_err(|e| AppError::Internal(format!("goal simulation: {e}")))??;
    if !proposal.breaches.is_empty() {
        return Err(AppError::Internal(format!(
            "a goal proposal broke suitability: {:?}",
            proposal.breaches
        )));
    }
    let minor = |v: f64| (v * scale).round() as i64;
    let mut view = GoalView {
        advice_id: 0,
        level: level.to_string(),
        currency: currency.to_string(),
        portfolio: model_view(&advice, &proposal.portfolio),
        glide_path: proposal
            .glide_path
            .iter()
            .map(|g| GlideStepView {
                year: g.year,
                level: g.tolerance.to_string(),
                expected_return: g.expected_return,
                volatility: g.volatility,
            })
            .collect(),
        success_probability: proposal.success_probability,
        final_wealth_p10_minor: minor(proposal.final_wealth_p10),
        final_wealth_p50_minor: minor(proposal.final_wealth_p50),
        final_wealth_p90_minor: minor(proposal.final_wealth_p90),
        total_contributions_minor: minor(proposal.total_contributions),
        contribution_for_target_probability_minor: proposal
            .contribution_for_target_probability
            .map(minor),
        target_probability: proposal.target_probability,
        paths: proposal.paths,
        return_model: planning::RETURN_MODEL.to_owned(),
    };
    view.advice_id = state
        .store
        .record_advice(&NewAdvice {
            customer_id: id,
            kind: "goal".into(),
            actor: caller.sub.clone(),
            engine_version: engine_version(),
            inputs: serde_json::to_value(&request).expect("serialisable"),
            output: serde_json::to_value(&view).expect("serialisable"),
            created_at: Utc::now(),
        })
        .await?;
    Ok(Json(view))
}

/// The customer's investment positions in major units, and their currency.
async fn positions(
    state: &AppState,
    id: &CustomerId,
) -> Result<(Vec<Position>, Currency), AppError> {
    let holdings = state.store.holdings(id).await?;
    let currency = holdings.first().map_or_else(
        || Currency::parse("EUR").expect("EUR is ISO 4217"),
        |h| h.currency,
    );
    if let Some(other) = holdings.iter().find(|h| h.currency != currency) {
        return Err(AppError::Validation(vec![ItemProblem::field(
            "holdings.currency",
            "mixed_currencies",
            format!(
                "holdings are in {currency} and {}; a review needs one currency",
                other.currency
            ),
        )]));
    }
    let scale = 10f64.powi(i32::from(currency.minor_digits()));
    Ok((
        holdings
            .iter()
            .map(|h| Position {
                product_id: h.product_id.clone(),
                value: h.value.get() as f64 / scale,
            })
            .collect(),
        currency,
    ))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct WeightView {
    pub product_id: String,
    pub weight: f64,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct DriftView {
    pub product_id: String,
    pub weight: f64,
    pub target: f64,
    pub difference: f64,
    pub beyond_band: bool,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct AlertView {
    /// `drift`, `drawdown` or `suitability`.
    pub kind: String,
    pub product_id: Option<String>,
    pub message: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct TailView {
    pub confidence: f64,
    /// One-day losses as fractions of value.
    pub historical_var: f64,
    pub historical_cvar: f64,
    pub parametric_var: f64,
    pub parametric_cvar: f64,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct ReviewView {
    pub customer_id: String,
    pub level: String,
    pub currency: String,
    pub value_minor: i64,
    pub weights: Vec<WeightView>,
    /// Holdings that are not investments (credit, insurance).
    pub excluded: Vec<String>,
    pub expected_return: f64,
    pub volatility: f64,
    pub sharpe: f64,
    pub sortino: f64,
    pub max_drawdown: f64,
    /// Against global equity.
    pub beta: f64,
    pub tail: Vec<TailView>,
    pub risk_contributions: Vec<WeightView>,
    pub target: ModelPortfolioView,
    pub drift: Vec<DriftView>,
    pub alerts: Vec<AlertView>,
    /// Where the historical figures come from.
    pub history: String,
}

fn review_view(
    advice: &Advice,
    id: &CustomerId,
    level: RiskTolerance,
    currency: &Currency,
    r: &review::Review,
) -> ReviewView {
    let scale = 10f64.powi(i32::from(currency.minor_digits()));
    let weights = |v: &[(sextant_domain::ProductId, f64)]| {
        v.iter()
            .map(|(p, w)| WeightView {
                product_id: p.to_string(),
                weight: *w,
            })
            .collect()
    };
    ReviewView {
        customer_id: id.to_string(),
        level: level.to_string(),
        currency: currency.to_string(),
        value_minor: (r.value * scale).round() as i64,
        weights: weights(&r.weights),
        excluded: r.excluded.iter().map(ToString::to_string).collect(),
        expected_return: r.expected_return,
        volatility: r.volatility,
        sharpe: r.sharpe,
        sortino: r.sortino,
        max_drawdown: r.max_drawdown,
        beta: r.beta,
        tail: r
            .tail
            .iter()
            .map(|t| TailView {
                confidence: t.confidence,
                historical_var: t.historical_var,
                historical_cvar: t.historical_cvar,
                parametric_var: t.parametric_var,
                parametric_cvar: t.parametric_cvar,
            })
            .collect(),
        risk_contributions: weights(&r.risk_contributions),
        target: model_view(advice, advice.model(level)),
        drift: r
            .drift
            .iter()
            .map(|d| DriftView {
                product_id: d.product_id.to_string(),
                weight: d.weight,
                target: d.target,
                difference: d.difference,
                beyond_band: d.beyond_band,
            })
            .collect(),
        alerts: r
            .alerts
            .iter()
            .map(|a| AlertView {
                kind: a.kind.as_str().to_owned(),
                product_id: a.product_id.as_ref().map(ToString::to_string),
                message: a.message.clone(),
            })
            .collect(),
        history: format!(
            "{} trading days simulated from the capital-market assumptions (seed {}); historical figures are model figures",
            r.history_days,
            crate::advice::HISTORY_SEED
        ),
    }
}

async fn review_of(state: &AppState, id: &CustomerId) -> Result<ReviewView, AppError> {
    let level = risk_level(state, id).await?;
    let (positions, currency) = positions(state, id).await?;
    let advice = state.advice().await?;
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

/// A review of what the customer holds: risk measures, drift from the target model
/// portfolio of their level, and alerts (drift beyond band, drawdown, suitability).
#[utoipa::path(get, path = "/v1/customers/{id}/review", tag = "advice", security(("bearer" = [])),
    params(("id" = String, Path, description = "customer id")),
    responses((status = 200, body = ReviewView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn review(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ReviewView>, AppError> {
    let id = reach(&state, &caller, &id).await?;
    review_of(&state, &id).await.map(Json)
}

/// How to rebalance. Amounts in minor units of the holdings' currency.
#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct RebalanceBody {
    /// Drift band in weight points; default 0.05.
    pub band: Option<f64>,
    /// Skip trades below this; default 5,000 (50.00).
    pub min_trade_minor: Option<i64>,
    /// Cost per trade in basis points of the amount; default 10.
    pub cost_bps: Option<f64>,
    /// Cash added (positive) or withdrawn (negative).
    #[serde(default)]
    pub new_cash_minor: i64,
    pub note: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct TradeView {
    pub product_id: String,
    /// Buy (positive) or sell (negative), minor units.
    pub amount_minor: i64,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct DecisionView {
    /// `approved` or `rejected`.
    pub decision: String,
    pub by: String,
    pub at: String,
    pub note: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct RebalanceView {
    pub advice_id: i64,
    pub customer_id: String,
    pub level: String,
    pub currency: String,
    pub trades: Vec<TradeView>,
    pub cost_minor: i64,
    pub turnover: f64,
    pub weights_after: Vec<WeightView>,
    pub reason: String,
    /// `pending`, `approved` or `rejected`.
    pub status: String,
    pub decision: Option<DecisionView>,
    pub proposed_by: String,
    pub proposed_at: String,
}

/// Proposes a rebalance back to the target model portfolio (threshold bands, minimum trade
/// size, costs, new cash). Recorded as pending until a wealth manager approves or rejects it.
#[utoipa::path(post, path = "/v1/customers/{id}/rebalance-proposals", tag = "advice", security(("bearer" = [])),
    params(("id" = String, Path, description = "customer id")), request_body = RebalanceBody,
    responses((status = 201, body = RebalanceView), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn propose_rebalance(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<RebalanceView>), AppError> {
    caller.reach_customer(&id, &[Role::WealthManager, Role::Admin])?;
    let id = reach(&state, &caller, &id).await?;
    let body = body_bytes(body)?;
    let request: RebalanceBody = if body.is_empty() {
        RebalanceBody::default()
    } else {
        json_body(&body)?
    };
    if request
        .note
        .as_ref()
        .is_some_and(|n| n.chars().count() > 2_000)
    {
        return Err(AppError::Validation(vec![ItemProblem::field(
            "note",
            "too_long",
            "at most 2,000 characters",
        )]));
    }
    if request.new_cash_minor.abs() > sextant_domain::AmountMinor::MAX {
        return Err(AppError::Validation(vec![ItemProblem::field(
            "new_cash_minor",
            "out_of_range",
            "at most twelve digits either way",
        )]));
    }
    let level = risk_level(&state, &id).await?;
    let (positions, currency) = positions(&state, &id).await?;
    let scale = 10f64.powi(i32::from(currency.minor_digits()));
    let settings = RebalanceSettings {
        band: request.band.unwrap_or(0.05),
        min_trade: request.min_trade_minor.unwrap_or(5_000) as f64 / scale,
        cost_rate: request.cost_bps.unwrap_or(10.0) / 10_000.0,
        new_cash: request.new_cash_minor as f64 / scale,
    };
    let advice = state.advice().await?;
    let plan = review::rebalance(&positions, advice.model(level), &advice.universe, &settings)
        .map_err(|e| match e {
            sextant_advisor::AdvisorError::InvalidInput { field, message }
                if field == "cost_rate" =>
            {
                sextant_advisor::AdvisorError::InvalidInput {
                    field: "cost_bps".into(),
                    message,
                }
            }
            sextant_advisor::AdvisorError::InvalidInput { field, message }
                if field == "min_trade" =>
            {
                sextant_advisor::AdvisorError::InvalidInput {
                    field: "min_trade_minor".into(),
                    message,
                }
            }
            sextant_advisor::AdvisorError::InvalidInput { field, message }
                if field == "new_cash" =>
            {
                sextant_advisor::AdvisorError::InvalidInput {
                    field: "new_cash_minor".into(),
                    message,
                }
            }
            other => other,
        })?;
    // Suitability holds by construction (the target holds only allowed products and every
    // other position is sold); checked again before the proposal is recorded.
    for (product, weight) in &plan.weights_after {
        let fund = &advice.universe.funds[advice.universe.index(product).expect("in the universe")];
        if *weight > 0.0 && !sextant_advisor::suitability::allowed(level, fund.risk_level) {
            return Err(AppError::Internal(format!(
                "a rebalance left {product} ({}) for a {level} customer",
                fund.risk_level
            )));
        }
    }
    let output = RebalanceOutput {
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
    };
    let now = Utc::now();
    let advice_id = state
        .store
        .record_advice(&NewAdvice {
            customer_id: id,
            kind: "rebalance".into(),
            actor: caller.sub.clone(),
            engine_version: engine_version(),
            inputs: serde_json::json!({
                "request": &request,
                "positions": positions.iter().map(|p| serde_json::json!({"product_id": p.product_id.to_string(), "value": p.value})).collect::<Vec<_>>(),
            }),
            output: serde_json::to_value(&output).expect("serialisable"),
            created_at: now,
        })
        .await?;
    let stored = state
        .store
        .advice(advice_id)
        .await?
        .ok_or_else(|| AppError::Internal("a recorded proposal vanished".into()))?;
    Ok((StatusCode::CREATED, Json(rebalance_view(&stored)?)))
}

/// A rebalancing proposal as recorded in `advice.output`.
#[derive(Serialize, Deserialize)]
struct RebalanceOutput {
    level: String,
    currency: String,
    trades: Vec<TradeView>,
    cost_minor: i64,
    turnover: f64,
    weights_after: Vec<WeightView>,
    reason: String,
}

fn rebalance_view(stored: &StoredAdvice) -> Result<RebalanceView, AppError> {
    let o: RebalanceOutput = serde_json::from_value(stored.advice.output.clone())
        .map_err(|e| AppError::Internal(format!("stored proposal {}: {e}", stored.id)))?;
    Ok(RebalanceView {
        advice_id: stored.id,
        customer_id: stored.advice.customer_id.to_string(),
        level: o.level,
        currency: o.currency,
        trades: o.trades,
        cost_minor: o.cost_minor,
        turnover: o.turnover,
        weights_after: o.weights_after,
        reason: o.reason,
        status: stored
            .decision
            .as_ref()
            .map_or_else(|| "pending".to_owned(), |d| d.decision.clone()),
        decision: stored.decision.as_ref().map(|d| DecisionView {
            decision: d.decision.clone(),
            by: d.actor.clone(),
            at: format_timestamp(d.decided_at),
            note: d.note.clone(),
        }),
        proposed_by: stored.advice.actor.clone(),
        proposed_at: format_timestamp(stored.advice.created_at),
    })
}

#[derive(Serialize, ToSchema)]
pub struct RebalanceList {
    /// Newest first.
    pub proposals: Vec<RebalanceView>,
}

/// The customer's rebalancing proposals and the decisions on them.
#[utoipa::path(get, path = "/v1/customers/{id}/rebalance-proposals", tag = "advice", security(("bearer" = [])),
    params(("id" = String, Path, description = "customer id")),
    responses((status = 200, body = RebalanceList), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 503, body = Problem)))]
pub async fn rebalance_proposals(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<RebalanceList>, AppError> {
    let id = reach(&state, &caller, &id).await?;
    let stored = state.store.advice_for(&id, Some("rebalance"), 100).await?;
    Ok(Json(RebalanceList {
        proposals: stored
            .iter()
            .map(rebalance_view)
            .collect::<Result<_, _>>()?,
    }))
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    /// `approve` or `reject`.
    pub decision: String,
    #[serde(default)]
    pub note: String,
}

/// A wealth manager approves or rejects a rebalancing proposal of one of their clients.
/// A proposal is decided once: a second decision gets 409 and the first stands.
#[utoipa::path(post, path = "/v1/rebalance-proposals/{advice_id}/decision", tag = "advice", security(("bearer" = [])),
    params(("advice_id" = i64, Path, description = "the proposal's advice id")), request_body = DecisionBody,
    responses((status = 200, body = RebalanceView), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn decide(
    State(state): State<AppState>,
    caller: Caller,
    Path(advice_id): Path<i64>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<RebalanceView>, AppError> {
    caller.require(&[Role::WealthManager, Role::Admin])?;
    let body = body_bytes(body)?;
    let request: DecisionBody = json_body(&body)?;
    let decision = match request.decision.as_str() {
        "approve" => "approved",
        "reject" => "rejected",
        _ => {
            return Err(AppError::Validation(vec![ItemProblem::field(
                "decision",
                "invalid_decision",
                "`approve` or `reject`",
            )]))
        }
    };
    if request.note.chars().count() > 2_000 {
        return Err(AppError::Validation(vec![ItemProblem::field(
            "note",
            "too_long",
            "at most 2,000 characters",
        )]));
    }
    let stored = state
        .store
        .advice(advice_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if stored.advice.kind != "rebalance" {
        return Err(AppError::NotFound);
    }
    reach(&state, &caller, stored.advice.customer_id.as_str()).await?;
    let recorded = state
        .store
        .decide_advice(
            advice_id,
            &StoredDecision {
                decision: decision.to_owned(),
                actor: caller.sub.clone(),
                decided_at: Utc::now(),
                note: request.note,
            },
        )
        .await?;
    if !recorded {
        return Err(AppError::Conflict(
            "already_decided",
            vec![ItemProblem::field(
                "decision",
                "already_decided",
                "this proposal was already approved or rejected; the first decision stands",
            )],
        ));
    }
    let stored = state
        .store
        .advice(advice_id)
        .await?
        .ok_or(AppError::NotFound)?;
    rebalance_view(&stored).map(Json)
}

#[derive(Serialize, ToSchema)]
pub struct ClientSummary {
    pub customer_id: String,
    pub level: Option<String>,
    pub value_minor: Option<i64>,
    pub alerts: Vec<AlertView>,
    /// Why there is no review, when there is none (no risk profile, no investments).
    pub unavailable: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ClientList {
    pub clients: Vec<ClientSummary>,
}

/// The calling wealth manager's clients, each with the alerts of their review.
#[utoipa::path(get, path = "/v1/wealth-managers/me/clients", tag = "advice", security(("bearer" = [])),
    responses((status = 200, body = ClientList), (status = 401, body = Problem), (status = 403, body = Problem), (status = 503, body = Problem)))]
pub async fn my_clients(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<ClientList>, AppError> {
    caller.require(&[Role::WealthManager])?;
    let mut clients = Vec::new();
    for id in state.store.clients_of(&caller.sub).await? {
        clients.push(match review_of(&state, &id).await {
            Ok(r) => ClientSummary {
                customer_id: id.to_string(),
                level: Some(r.level),
                value_minor: Some(r.value_minor),
                alerts: r.alerts,
                unavailable: None,
            },
            Err(AppError::Conflict(_, items) | AppError::Validation(items)) => ClientSummary {
                customer_id: id.to_string(),
                level: None,
                value_minor: None,
                alerts: Vec::new(),
                unavailable: items.first().map(|i| i.message.clone()),
            },
            Err(AppError::Advice(e)) => ClientSummary {
                customer_id: id.to_string(),
                level: None,
                value_minor: None,
                alerts: Vec::new(),
                unavailable: Some(e.to_string()),
            },
            Err(e) => return Err(e),
        });
    }
    Ok(Json(ClientList { clients }))
}

/// Assigns a customer to a wealth manager (admin). Idempotent.
#[utoipa::path(put, path = "/v1/wealth-managers/{manager}/clients/{id}", tag = "advice", security(("bearer" = [])),
    params(("manager" = String, Path, description = "the wealth manager's subject"), ("id" = String, Path, description = "customer id")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 503, body = Problem)))]
pub async fn assign(
    State(state): State<AppState>,
    caller: Caller,
    Path((manager, id)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    caller.reach_customer(&id, &[Role::Admin])?;
    let id = customer_id(&id)?;
    validate_subject(&manager)?;
    state.store.customer(&id).await?.ok_or(AppError::NotFound)?;
    state
        .store
        .assign_client(&manager, &id, &caller.sub, Utc::now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ends a customer's assignment to a wealth manager (admin).
#[utoipa::path(delete, path = "/v1/wealth-managers/{manager}/clients/{id}", tag = "advice", security(("bearer" = [])),
    params(("manager" = String, Path, description = "the wealth manager's subject"), ("id" = String, Path, description = "customer id")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 503, body = Problem)))]
pub async fn unassign(
    State(state): State<AppState>,
    caller: Caller,
    Path((manager, id)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    caller.reach_customer(&id, &[Role::Admin])?;
    let id = customer_id(&id)?;
    validate_subject(&manager)?;
    state.store.unassign_client(&manager, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn validate_subject(manager: &str) -> Result<(), AppError> {
    if manager.is_empty() || manager.len() > 128 || manager.chars().any(char::is_control) {
        return Err(AppError::Validation(vec![ItemProblem::field(
            "manager",
            "invalid_subject",
            "1 to 128 printable characters",
        )]));
    }
    Ok(())
}
