//! Proposals for customers: the model portfolios of every level, a customer's proposed
//! portfolio, and a plan for a savings goal. Each one given to a customer is recorded with
//! its inputs and the engine version.

use chrono::Utc;
use sextant_advisor::planning::{self, Goal, Simulation};
use sextant_domain::{Currency, CustomerId};
use sextant_store::NewAdvice;

use super::views::{
    model_view, AssumptionView, GlideStepView, GoalBody, GoalView, ModelPortfolios,
    PortfolioProposal, WealthBandView,
};
use super::{engine_version, risk_level};
use crate::{Context, Result, ServiceError};
use sextant_store::Actor;

/// The model portfolio of each risk level C1..C5, with the assumptions behind them.
pub async fn model_portfolios(ctx: &Context) -> Result<ModelPortfolios> {
    let advice = ctx.advice().await?;
    let cma = &advice.universe.cma;
    Ok(ModelPortfolios {
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
    })
}

/// The customer's proposed portfolio: the model portfolio of their current risk level,
/// never holding a product above it. Recorded as advice given by `actor`.
pub async fn portfolio(ctx: &Context, id: &CustomerId, by: &Actor) -> Result<PortfolioProposal> {
    let level = risk_level(ctx, id).await?;
    let advice = ctx.advice().await?;
    let model = advice.model(level);
    let view = model_view(&advice, model);
    let reasons = vec![
        format!(
            "your risk level is {level}; every product proposed is at most {}",
            sextant_advisor::suitability::highest_level(level)
        ),
        format!(
            "the mix aims at {:.1}% expected return a year with {:.1}% volatility, the most return available at that risk",
            model.expected_return * 100.0,
            model.volatility * 100.0
        ),
    ];
    let output = serde_json::json!({"portfolio": &view, "reasons": &reasons});
    let advice_id = ctx
        .store
        .record_advice(
            &NewAdvice {
                customer_id: id.clone(),
                kind: "model_portfolio".into(),
                actor: by.id.clone(),
                engine_version: engine_version(),
                inputs: serde_json::json!({"level": level.to_string()}),
                output,
                created_at: Utc::now(),
            },
            by,
        )
        .await?;
    Ok(PortfolioProposal {
        advice_id,
        customer_id: id.to_string(),
        level: level.to_string(),
        portfolio: view,
        reasons,
    })
}

fn currency(raw: Option<&str>) -> Result<Currency> {
    Currency::parse(raw.unwrap_or("EUR"))
        .map_err(|e| ServiceError::invalid("currency", e.code, e.message))
}

fn amount_field(value: i64, field: &str, scale: f64) -> Result<f64> {
    if !(0..=sextant_domain::AmountMinor::MAX).contains(&value) {
        return Err(ServiceError::invalid(
            field,
            "out_of_range",
            "an amount in minor units, zero or more, at most twelve digits",
        ));
    }
    Ok(value as f64 / scale)
}

/// A proposal for a savings goal: the portfolio of the customer's level, a glide path that
/// de-risks as the date nears, and a Monte Carlo probability of reaching the target.
/// Recorded as advice given by `actor`.
pub async fn goal(
    ctx: &Context,
    id: &CustomerId,
    request: GoalBody,
    by: &Actor,
) -> Result<GoalView> {
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
    let level = risk_level(ctx, id).await?;
    let advice = ctx.advice().await?;
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
    .map_err(|e| ServiceError::internal(format!("goal simulation: {e}")))??;
    if !proposal.breaches.is_empty() {
        return Err(ServiceError::internal(format!(
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
        wealth_bands: proposal
            .wealth_bands
            .iter()
            .map(|b| WealthBandView {
                month: b.month,
                p10_minor: minor(b.p10),
                p25_minor: minor(b.p25),
                p50_minor: minor(b.p50),
                p75_minor: minor(b.p75),
                p90_minor: minor(b.p90),
            })
            .collect(),
        total_contributions_minor: minor(proposal.total_contributions),
        contribution_for_target_probability_minor: proposal
            .contribution_for_target_probability
            .map(minor),
        target_probability: proposal.target_probability,
        paths: proposal.paths,
        return_model: planning::RETURN_MODEL.to_owned(),
    };
    view.advice_id = ctx
        .store
        .record_advice(
            &NewAdvice {
                customer_id: id.clone(),
                kind: "goal".into(),
                actor: by.id.clone(),
                engine_version: engine_version(),
                inputs: serde_json::to_value(&request).expect("serialisable"),
                output: serde_json::to_value(&view).expect("serialisable"),
                created_at: Utc::now(),
            },
            by,
        )
        .await?;
    Ok(view)
}
