//! What advice answers, and what is recorded as each piece of advice's output (so a
//! recorded proposal reads back exactly as it was given).

use serde::{Deserialize, Serialize};
use sextant_advisor::planning::ModelPortfolio;
use sextant_advisor::review;
use sextant_domain::{Currency, CustomerId, RiskTolerance};
use sextant_store::StoredAdvice;
use utoipa::ToSchema;

use super::Advice;
use crate::records::format_timestamp;
use crate::{Result, ServiceError};

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

/// A savings goal. Amounts in minor units of `currency` (default EUR).
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GoalBody {
    /// Above zero, at most twelve digits.
    #[schema(minimum = 1, maximum = 999_999_999_999_i64)]
    pub target_amount_minor: i64,
    /// Zero or more, at most twelve digits.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 999_999_999_999_i64)]
    pub initial_amount_minor: i64,
    /// Zero or more, at most twelve digits.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 999_999_999_999_i64)]
    pub monthly_contribution_minor: i64,
    /// 1 to 600 months.
    #[schema(minimum = 1, maximum = 600)]
    pub horizon_months: u32,
    /// A supported ISO 4217 currency; EUR when absent.
    #[schema(schema_with = crate::schema::currency_or_eur)]
    pub currency: Option<String>,
    /// Simulated paths, default 10,000, at most 100,000.
    #[schema(minimum = 1, maximum = 100_000)]
    pub paths: Option<usize>,
    /// The success probability the suggested contribution aims at, strictly between 0 and 1;
    /// default 0.8.
    #[schema(exclusive_minimum = 0.0, exclusive_maximum = 1.0)]
    pub target_probability: Option<f64>,
}

#[derive(Serialize, ToSchema)]
pub struct GlideStepView {
    pub year: u32,
    pub level: String,
    pub expected_return: f64,
    pub volatility: f64,
}

/// Percentiles of simulated wealth `month` months from now, in minor units.
#[derive(Serialize, ToSchema)]
pub struct WealthBandView {
    pub month: u32,
    pub p10_minor: i64,
    pub p25_minor: i64,
    pub p50_minor: i64,
    pub p75_minor: i64,
    pub p90_minor: i64,
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
    /// Percentiles of simulated wealth at the end of every year and of the horizon.
    pub wealth_bands: Vec<WealthBandView>,
    pub total_contributions_minor: i64,
    /// Smallest monthly contribution that reaches `target_probability`; absent when no
    /// reasonable contribution does.
    pub contribution_for_target_probability_minor: Option<i64>,
    pub target_probability: f64,
    pub paths: usize,
    /// The return model behind the simulation.
    pub return_model: String,
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
    /// Drawdown (share below the running peak) at the end of every week of the history.
    pub weekly_drawdowns: Vec<f64>,
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

/// How to rebalance. Amounts in minor units of the holdings' currency.
#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct RebalanceBody {
    /// Drift band in weight points, 0 or more and below 1; default 0.05.
    #[schema(minimum = 0.0, exclusive_maximum = 1.0)]
    pub band: Option<f64>,
    /// Skip trades below this, zero or more; default 5,000 (50.00).
    #[schema(minimum = 0)]
    pub min_trade_minor: Option<i64>,
    /// Cost per trade in basis points of the amount, 0 or more and below 1,000; default 10.
    #[schema(minimum = 0.0, exclusive_maximum = 1_000.0)]
    pub cost_bps: Option<f64>,
    /// Cash added (positive) or withdrawn (negative), at most twelve digits either way. A
    /// withdrawal must leave something to invest (a rule the schema cannot state).
    #[serde(default)]
    #[schema(minimum = -999_999_999_999_i64, maximum = 999_999_999_999_i64)]
    pub new_cash_minor: i64,
    /// At most 2,000 characters.
    #[schema(max_length = 2000)]
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

/// A rebalancing proposal as recorded in `advice.output`.
#[derive(Serialize, Deserialize)]
pub(crate) struct RebalanceOutput {
    pub(crate) level: String,
    pub(crate) currency: String,
    pub(crate) trades: Vec<TradeView>,
    pub(crate) cost_minor: i64,
    pub(crate) turnover: f64,
    pub(crate) weights_after: Vec<WeightView>,
    pub(crate) reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct RebalanceList {
    /// Newest first.
    pub proposals: Vec<RebalanceView>,
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    /// `approve` or `reject`.
    #[schema(schema_with = crate::schema::rebalance_decision)]
    pub decision: String,
    /// At most 2,000 characters.
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub note: String,
}

#[derive(Serialize, ToSchema)]
pub struct ClientSummary {
    pub customer_id: String,
    pub level: Option<String>,
    pub value_minor: Option<i64>,
    /// The client's base currency, which `value_minor` is in (ISO 4217), with a review.
    pub currency: Option<String>,
    pub alerts: Vec<AlertView>,
    /// Why there is no review, when there is none (no risk profile, no investments).
    pub unavailable: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ClientList {
    pub clients: Vec<ClientSummary>,
}

pub(crate) fn model_view(advice: &Advice, m: &ModelPortfolio) -> ModelPortfolioView {
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

pub(crate) fn review_view(
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
        weekly_drawdowns: r.weekly_drawdowns.clone(),
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
            super::HISTORY_SEED
        ),
    }
}

pub(crate) fn rebalance_view(stored: &StoredAdvice) -> Result<RebalanceView> {
    let o: RebalanceOutput = serde_json::from_value(stored.advice.output.clone())
        .map_err(|e| ServiceError::internal(format!("stored proposal {}: {e}", stored.id)))?;
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
