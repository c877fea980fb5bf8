//! Portfolio review for wealth managers: risk measures of what a client holds, drift from
//! the target model portfolio, alerts, and a rebalancing proposal.
//!
//! Historical measures (VaR, CVaR, drawdown, Sortino, beta) need a return history per
//! asset class. The caller passes one: real index returns where the bank has them, or
//! [`simulated_class_history`] drawn from the capital-market assumptions, in which case
//! every historical figure is a model figure and the review says so.

use crate::market::{AssetClass, CapitalMarketAssumptions};
use crate::metrics;
use crate::planning::{ModelPortfolio, Universe};
use crate::suitability::{self, Breach};
use crate::{AdvisorError, DMatrix, DVector, Result, TRADING_DAYS};
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use sextant_domain::{ProductId, RiskLevel, RiskTolerance};

/// Most positions one review takes.
pub const MAX_POSITIONS: usize = 1_000;

/// Daily simple returns of the asset classes (`days` x classes), multivariate normal with
/// the assumptions' annual means and covariance scaled to one day; seeded, so a review is
/// reproducible.
pub fn simulated_class_history(
    cma: &CapitalMarketAssumptions,
    days: usize,
    seed: u64,
) -> DMatrix<f64> {
    let daily_cov = cma.covariance() / TRADING_DAYS as f64;
    // The built-in correlation is positive definite (tested in `market`).
    let factor = daily_cov
        .cholesky()
        .expect("the built-in covariance is positive definite")
        .l();
    let mean = &cma.expected_return / TRADING_DAYS as f64;
    let k = cma.classes.len();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut history = DMatrix::zeros(days, k);
    for day in 0..days {
        let z = DVector::from_fn(k, |_, _| StandardNormal.sample(&mut rng));
        let r = &mean + &factor * z;
        history.set_row(day, &r.transpose());
    }
    history
}

/// One holding, valued in the currency's major unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Position {
    pub product_id: ProductId,
    pub value: f64,
}

/// How a review judges drift and drawdown.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReviewSettings {
    /// Absolute weight difference from target beyond which a position has drifted.
    pub band: f64,
    /// Maximum drawdown beyond which an alert is raised.
    pub drawdown_limit: f64,
    pub risk_free: f64,
    /// Class the beta is measured against.
    pub benchmark: AssetClass,
}

impl Default for ReviewSettings {
    fn default() -> ReviewSettings {
        ReviewSettings {
            band: 0.05,
            drawdown_limit: 0.20,
            risk_free: crate::DEFAULT_RISK_FREE,
            benchmark: AssetClass::GlobalEquity,
        }
    }
}

/// A position's weight against its target.
#[derive(Debug, Clone, PartialEq)]
pub struct Drift {
    pub product_id: ProductId,
    pub weight: f64,
    pub target: f64,
    /// `weight - target`.
    pub difference: f64,
    pub beyond_band: bool,
}

/// What kind of attention a portfolio needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertKind {
    Drift,
    Drawdown,
    Suitability,
}

impl AlertKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Drift => "drift",
            AlertKind::Drawdown => "drawdown",
            AlertKind::Suitability => "suitability",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub kind: AlertKind,
    pub product_id: Option<ProductId>,
    pub message: String,
}

/// Value-at-risk and expected shortfall of one day, as positive fractions of value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TailRisk {
    pub confidence: f64,
    pub historical_var: f64,
    pub historical_cvar: f64,
    pub parametric_var: f64,
    pub parametric_cvar: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Review {
    pub value: f64,
    /// Positions in the universe and their weights.
    pub weights: Vec<(ProductId, f64)>,
    /// Holdings that are not investments (credit, insurance) and so are not reviewed.
    pub excluded: Vec<ProductId>,
    /// Annual, from the assumptions.
    pub expected_return: f64,
    pub volatility: f64,
    pub sharpe: f64,
    /// Annualised from the history.
    pub sortino: f64,
    pub max_drawdown: f64,
    /// Drawdown at the end of every week (5 trading days) of the history, oldest first.
    pub weekly_drawdowns: Vec<f64>,
    pub beta: f64,
    pub tail: Vec<TailRisk>,
    /// Share of the portfolio's variance each position contributes.
    pub risk_contributions: Vec<(ProductId, f64)>,
    pub drift: Vec<Drift>,
    pub breaches: Vec<Breach>,
    pub alerts: Vec<Alert>,
    /// Number of days of history behind the historical figures.
    pub history_days: usize,
}

/// Positions in the universe as (index, value), and the products left out.
type Placed = (Vec<(usize, f64)>, Vec<ProductId>);

/// Splits positions into those in the universe and the excluded ones.
fn place(positions: &[Position], universe: &Universe) -> Result<Placed> {
    if positions.len() > MAX_POSITIONS {
        return Err(AdvisorError::invalid(
            "positions",
            format!("at most {MAX_POSITIONS}"),
        ));
    }
    let mut placed: Vec<(usize, f64)> = Vec::new();
    let mut excluded = Vec::new();
    for (i, p) in positions.iter().enumerate() {
        if !(p.value.is_finite() && p.value >= 0.0) {
            return Err(AdvisorError::invalid(
                format!("positions[{i}].value"),
                "must be a finite amount, zero or more",
            ));
        }
        match universe.index(&p.product_id) {
            Some(j) => match placed.iter_mut().find(|(k, _)| *k == j) {
                Some(existing) => existing.1 += p.value,
                None => placed.push((j, p.value)),
            },
            None => excluded.push(p.product_id.clone()),
        }
    }
    Ok((placed, excluded))
}

/// Reviews what a client holds against `target`, the model portfolio of their level.
pub fn review(
    positions: &[Position],
    tolerance: RiskTolerance,
    target: &ModelPortfolio,
    universe: &Universe,
    class_history: &DMatrix<f64>,
    settings: &ReviewSettings,
) -> Result<Review> {
    if class_history.ncols() != universe.cma.classes.len() || class_history.nrows() < 20 {
        return Err(AdvisorError::invalid(
            "class_history",
            format!(
                "needs at least 20 days x {} asset classes",
                universe.cma.classes.len()
            ),
        ));
    }
    let (placed, excluded) = place(positions, universe)?;
    let value: f64 = placed.iter().map(|(_, v)| v).sum();
    if value <= 0.0 {
        return Err(AdvisorError::invalid(
            "positions",
            "no investment position with a value above zero",
        ));
    }
    let n = universe.funds.len();
    let mut weights = DVector::zeros(n);
    for (j, v) in &placed {
        weights[*j] = v / value;
    }
    let performance = crate::optimise::performance(
        &weights,
        Some(&universe.expected_return),
        &universe.cov,
        settings.risk_free,
    );
    let daily = fund_history(universe, class_history);
    let series = metrics::portfolio_returns(&daily, &weights);
    let benchmark: Vec<f64> = class_history
        .column(universe.cma.index(settings.benchmark))
        .iter()
        .copied()
        .collect();
    let daily_mean = series.iter().sum::<f64>() / series.len() as f64;
    let daily_sd = performance.volatility / (TRADING_DAYS as f64).sqrt();
    let tail = [0.95, 0.99]
        .into_iter()
        .map(|confidence| TailRisk {
            confidence,
            historical_var: metrics::historical_var(&series, confidence),
            historical_cvar: metrics::historical_cvar(&series, confidence),
            parametric_var: metrics::parametric_var(daily_mean, daily_sd, confidence),
            parametric_cvar: metrics::parametric_cvar(daily_mean, daily_sd, confidence),
        })
        .collect();
    let contributions = metrics::risk_contributions(&weights, &universe.cov);
    let held: Vec<usize> = (0..n).filter(|&j| weights[j] > 0.0).collect();
    let target_weights = target.dense_weights(universe);
    let mut drift: Vec<Drift> = (0..n)
        .filter(|&j| weights[j] > 0.0 || target_weights[j] > 0.0)
        .map(|j| {
            let difference = weights[j] - target_weights[j];
            Drift {
                product_id: universe.funds[j].product_id.clone(),
                weight: weights[j],
                target: target_weights[j],
                difference,
                beyond_band: difference.abs() > settings.band,
            }
        })
        .collect();
    drift.sort_by(|a, b| b.difference.abs().total_cmp(&a.difference.abs()));
    let positions_levels: Vec<(ProductId, RiskLevel, f64)> = held
        .iter()
        .map(|&j| {
            let f = &universe.funds[j];
            (f.product_id.clone(), f.risk_level, weights[j])
        })
        .collect();
    let breaches = suitability::breaches(tolerance, &positions_levels);
    let max_drawdown = metrics::max_drawdown(&series);
    let alerts = alerts(&drift, &breaches, max_drawdown, settings);
    Ok(Review {
        value,
        weights: held
            .iter()
            .map(|&j| (universe.funds[j].product_id.clone(), weights[j]))
            .collect(),
        excluded,
        expected_return: performance.expected_return,
        volatility: performance.volatility,
        sharpe: performance.sharpe,
        sortino: metrics::sortino_ratio(&series, settings.risk_free, TRADING_DAYS),
        max_drawdown,
        weekly_drawdowns: metrics::drawdowns(&series)
            .into_iter()
            .skip(4)
            .step_by(5)
            .collect(),
        beta: metrics::beta(&series, &benchmark),
        tail,
        risk_contributions: held
            .iter()
            .map(|&j| (universe.funds[j].product_id.clone(), contributions[j]))
            .collect(),
        drift,
        breaches,
        alerts,
        history_days: class_history.nrows(),
    })
}

/// Daily returns of each fund: its class exposures applied to the class history, shifted
/// so that the mean matches the fund's own expected return (fees, deposit rates).
fn fund_history(universe: &Universe, class_history: &DMatrix<f64>) -> DMatrix<f64> {
    let mut daily = class_history * universe.exposures.transpose();
    let class_mean = &universe.exposures * &universe.cma.expected_return;
    for j in 0..universe.funds.len() {
        let shift = (universe.expected_return[j] - class_mean[j]) / TRADING_DAYS as f64;
        daily.column_mut(j).add_scalar_mut(shift);
    }
    daily
}

fn alerts(
    drift: &[Drift],
    breaches: &[Breach],
    max_drawdown: f64,
    settings: &ReviewSettings,
) -> Vec<Alert> {
    let mut alerts: Vec<Alert> = breaches
        .iter()
        .map(|b| Alert {
            kind: AlertKind::Suitability,
            product_id: Some(b.product_id.clone()),
            message: b.explanation(),
        })
        .collect();
    alerts.extend(drift.iter().filter(|d| d.beyond_band).map(|d| Alert {
        kind: AlertKind::Drift,
        product_id: Some(d.product_id.clone()),
        message: format!(
            "{} is {:.1}% of the portfolio against a target of {:.1}%, beyond the {:.1}-point band",
            d.product_id,
            d.weight * 100.0,
            d.target * 100.0,
            settings.band * 100.0
        ),
    }));
    if max_drawdown > settings.drawdown_limit {
        alerts.push(Alert {
            kind: AlertKind::Drawdown,
            product_id: None,
            message: format!(
                "the largest drawdown over the history is {:.1}%, beyond the {:.1}% limit",
                max_drawdown * 100.0,
                settings.drawdown_limit * 100.0
            ),
        });
    }
    alerts
}

/// How a rebalancing proposal is made.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RebalanceSettings {
    /// Rebalance only when some position drifts beyond this band (or new cash comes in).
    pub band: f64,
    /// Trades smaller than this amount are not worth their cost and are skipped.
    pub min_trade: f64,
    /// Cost per unit traded (0.001 = 10 basis points), paid out of the portfolio.
    pub cost_rate: f64,
    /// Cash added (positive) or withdrawn (negative) with this rebalance.
    pub new_cash: f64,
}

impl Default for RebalanceSettings {
    fn default() -> RebalanceSettings {
        RebalanceSettings {
            band: 0.05,
            min_trade: 50.0,
            cost_rate: 0.001,
            new_cash: 0.0,
        }
    }
}

/// Buy (positive) or sell (negative) an amount of one product.
#[derive(Debug, Clone, PartialEq)]
pub struct Trade {
    pub product_id: ProductId,
    pub amount: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rebalance {
    pub trades: Vec<Trade>,
    pub cost: f64,
    /// Amount traded over the value before trading.
    pub turnover: f64,
    pub weights_after: Vec<(ProductId, f64)>,
    pub value_after: f64,
    /// Why it trades (or does not).
    pub reason: String,
}

/// A proposal that brings the portfolio back to `target`: nothing when every position is
/// within its band and no cash moves; otherwise a full move to target, net of costs, with
/// trades below `min_trade` skipped and the cash they would have used carried by the
/// largest trade.
pub fn rebalance(
    positions: &[Position],
    target: &ModelPortfolio,
    universe: &Universe,
    settings: &RebalanceSettings,
) -> Result<Rebalance> {
    validate_rebalance(settings)?;
    let (placed, _) = place(positions, universe)?;
    let n = universe.funds.len();
    let mut current = DVector::zeros(n);
    for (j, v) in &placed {
        current[*j] = *v;
    }
    let value = current.sum();
    let available = value + settings.new_cash;
    if available <= 0.0 {
        return Err(AdvisorError::invalid(
            "new_cash",
            format!(
                "withdrawing {:.2} leaves nothing to invest",
                -settings.new_cash
            ),
        ));
    }
    let target_weights = target.dense_weights(universe);
    let drifted = value > 0.0
        && (0..n).any(|j| (current[j] / value - target_weights[j]).abs() > settings.band);
    if !drifted && settings.new_cash == 0.0 {
        return Ok(Rebalance {
            trades: Vec::new(),
            cost: 0.0,
            turnover: 0.0,
            weights_after: weights_of(&current, universe),
            value_after: value,
            reason: format!(
                "every position is within {:.1} points of its target",
                settings.band * 100.0
            ),
        });
    }
    let amounts = trades_to_target(&current, &target_weights, available, settings);
    let traded = amounts.abs().sum();
    let after = &current + &amounts;
    let trades: Vec<Trade> = (0..n)
        .filter(|&j| amounts[j] != 0.0)
        .map(|j| Trade {
            product_id: universe.funds[j].product_id.clone(),
            amount: amounts[j],
        })
        .collect();
    let cost = settings.cost_rate * traded;
    Ok(Rebalance {
        reason: if drifted {
            format!(
                "positions drifted beyond {:.1} points of target",
                settings.band * 100.0
            )
        } else {
            "new cash to invest".to_owned()
        },
        trades,
        cost,
        turnover: if value > 0.0 { traded / value } else { 0.0 },
        weights_after: weights_of(&after, universe),
        value_after: after.sum(),
    })
}

/// The trades (buy positive, sell negative) that move `current` to `target` weights of
/// what is available after costs.
///
/// Positions the target does not hold (unsuitable ones included) are sold in full whatever
/// their size. Other trades below the minimum are skipped; the cash that leaves over (or
/// short) is spread over the target's products in proportion to their weights, never
/// selling more than is held. Costs (`cost_rate` x traded) come out of the cash, so at the
/// end: current + new cash = after + costs.
fn trades_to_target(
    current: &DVector<f64>,
    target: &DVector<f64>,
    available: f64,
    settings: &RebalanceSettings,
) -> DVector<f64> {
    let n = current.len();
    // Costs come out of what is invested: invest = available - rate * traded(invest), a
    // contraction as rate < 1.
    let mut invest = available;
    for _ in 0..50 {
        let traded = (target * invest - current).abs().sum();
        invest = available - settings.cost_rate * traded;
    }
    let mut amounts = target * invest - current;
    for j in 0..n {
        if target[j] > 0.0 && amounts[j].abs() < settings.min_trade {
            amounts[j] = 0.0;
        }
    }
    for _ in 0..100 {
        let cost = settings.cost_rate * amounts.abs().sum();
        let imbalance = settings.new_cash - cost - amounts.sum();
        if imbalance.abs() <= 1e-9 * available.max(1.0) {
            break;
        }
        // Products that can take the imbalance: any target product for cash to invest;
        // only those still held for cash to raise.
        let takers: Vec<usize> = (0..n)
            .filter(|&j| target[j] > 0.0 && (imbalance > 0.0 || current[j] + amounts[j] > 0.0))
            .collect();
        let weight: f64 = takers.iter().map(|&j| target[j]).sum();
        if weight <= 0.0 {
            break;
        }
        for &j in &takers {
            amounts[j] += imbalance * target[j] / weight;
            if current[j] + amounts[j] < 0.0 {
                amounts[j] = -current[j];
            }
        }
    }
    amounts
}

fn validate_rebalance(settings: &RebalanceSettings) -> Result<()> {
    if !(settings.band.is_finite() && (0.0..1.0).contains(&settings.band)) {
        return Err(AdvisorError::invalid("band", "must be within [0, 1)"));
    }
    if !(settings.min_trade.is_finite() && settings.min_trade >= 0.0) {
        return Err(AdvisorError::invalid("min_trade", "must be zero or more"));
    }
    if !(settings.cost_rate.is_finite() && (0.0..0.1).contains(&settings.cost_rate)) {
        return Err(AdvisorError::invalid(
            "cost_rate",
            "must be within [0, 0.1)",
        ));
    }
    if !settings.new_cash.is_finite() {
        return Err(AdvisorError::invalid("new_cash", "must be finite"));
    }
    Ok(())
}

fn weights_of(amounts: &DVector<f64>, universe: &Universe) -> Vec<(ProductId, f64)> {
    let total = amounts.sum();
    (0..amounts.len())
        .filter(|&j| amounts[j] > 0.0)
        .map(|j| (universe.funds[j].product_id.clone(), amounts[j] / total))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::planning::model_portfolios;
    use sextant_domain::default_catalogue;

    fn setup() -> (Universe, Vec<ModelPortfolio>, DMatrix<f64>) {
        let cma = CapitalMarketAssumptions::builtin();
        let u = Universe::from_catalogue(&default_catalogue(), &cma).unwrap();
        let models = model_portfolios(&u, 0.02).unwrap();
        let history = simulated_class_history(&cma, 3 * TRADING_DAYS, 11);
        (u, models, history)
    }

    fn position(id: &str, value: f64) -> Position {
        Position {
            product_id: id.try_into().unwrap(),
            value,
        }
    }

    #[test]
    fn the_simulated_history_has_the_assumed_moments() {
        let cma = CapitalMarketAssumptions::builtin();
        let h = simulated_class_history(&cma, 20 * TRADING_DAYS, 3);
        let j = cma.index(AssetClass::GlobalEquity);
        let col: Vec<f64> = h.column(j).iter().copied().collect();
        let mean = col.iter().sum::<f64>() / col.len() as f64 * TRADING_DAYS as f64;
        let var = col
            .iter()
            .map(|r| (r - mean / TRADING_DAYS as f64).powi(2))
            .sum::<f64>()
            / (col.len() - 1) as f64
            * TRADING_DAYS as f64;
        assert!(
            (var.sqrt() - cma.volatility[j]).abs() < 0.01,
            "{}",
            var.sqrt()
        );
        assert!((mean - cma.expected_return[j]).abs() < 0.05, "{mean}");
    }

    #[test]
    fn a_portfolio_on_target_has_no_alerts_and_no_trades() {
        let (u, models, history) = setup();
        let c3 = &models[2];
        let positions: Vec<Position> = c3
            .weights
            .iter()
            .map(|(id, w)| position(id.as_str(), w * 10_000.0))
            .collect();
        let r = review(
            &positions,
            c3.tolerance,
            c3,
            &u,
            &history,
            &ReviewSettings::default(),
        )
        .unwrap();
        assert!((r.value - 10_000.0).abs() < 1e-6);
        assert!(
            r.alerts.iter().all(|a| a.kind == AlertKind::Drawdown),
            "{:?}",
            r.alerts
        );
        assert!((r.volatility - c3.volatility).abs() < 1e-9);
        let total: f64 = r.risk_contributions.iter().map(|(_, c)| c).sum();
        assert!((total - 1.0).abs() < 1e-9);
        let t95 = r.tail[0];
        let t99 = r.tail[1];
        assert!(
            t99.historical_var >= t95.historical_var && t95.historical_cvar >= t95.historical_var
        );
        let plan = rebalance(&positions, c3, &u, &RebalanceSettings::default()).unwrap();
        assert!(plan.trades.is_empty(), "{:?}", plan.trades);
    }

    #[test]
    fn an_unsuitable_drifted_portfolio_is_flagged_and_sold_down() {
        let (u, models, history) = setup();
        let c2 = &models[1];
        let positions = vec![
            position("fund-emerging-equity", 6_000.0),
            position("fund-gov-bonds", 4_000.0),
            position("ins-travel", 20.0),
        ];
        let r = review(
            &positions,
            c2.tolerance,
            c2,
            &u,
            &history,
            &ReviewSettings::default(),
        )
        .unwrap();
        assert_eq!(r.excluded.len(), 1);
        assert!(r.alerts.iter().any(|a| a.kind == AlertKind::Suitability));
        assert!(r.alerts.iter().any(|a| a.kind == AlertKind::Drift));
        let settings = RebalanceSettings {
            new_cash: 1_000.0,
            ..RebalanceSettings::default()
        };
        let plan = rebalance(&positions, c2, &u, &settings).unwrap();
        let sold = plan
            .trades
            .iter()
            .find(|t| t.product_id.as_str() == "fund-emerging-equity")
            .unwrap();
        assert!((sold.amount + 6_000.0).abs() < 0.01, "{plan:?}");
        // Value is conserved: before + new cash = after + costs.
        assert!((10_000.0 + 1_000.0 - plan.value_after - plan.cost).abs() < 1e-6);
        for (id, w) in &plan.weights_after {
            let target = c2
                .weights
                .iter()
                .find(|(t, _)| t == id)
                .map_or(0.0, |(_, t)| *t);
            assert!((w - target).abs() < 0.01, "{id}: {w} vs {target}");
        }
    }

    fn check_plan(
        positions: &[Position],
        plan: &Rebalance,
        target: &ModelPortfolio,
        new_cash: f64,
    ) -> Result<(), String> {
        let before: f64 = positions
            .iter()
            .filter(|p| !p.product_id.as_str().starts_with("ins-"))
            .map(|p| p.value)
            .sum();
        let gap = before + new_cash - plan.value_after - plan.cost;
        if gap.abs() > 1e-6 * before.max(1.0) {
            return Err(format!("value not conserved by {gap}: {plan:?}"));
        }
        for (id, w) in &plan.weights_after {
            if *w > 0.0 && !target.weights.iter().any(|(t, _)| t == id) {
                return Err(format!(
                    "{id} held after rebalancing but not in the target: {plan:?}"
                ));
            }
        }
        for t in &plan.trades {
            let held = positions
                .iter()
                .find(|p| p.product_id == t.product_id)
                .map_or(0.0, |p| p.value);
            if held + t.amount < -1e-9 {
                return Err(format!("sells more {} than held: {plan:?}", t.product_id));
            }
        }
        Ok(())
    }

    #[test]
    fn skipped_trades_never_buy_an_unsuitable_product_or_lose_cash() {
        let (u, models, _) = setup();
        let c2 = &models[1];
        let positions = vec![position("fund-emerging-equity", 10_000.0)];
        for (new_cash, min_trade) in [
            (5_000.0, 9_000.0),
            (100.0, 1e9),
            (0.0, 1e9),
            (-2_000.0, 3_000.0),
        ] {
            let settings = RebalanceSettings {
                new_cash,
                min_trade,
                ..RebalanceSettings::default()
            };
            let plan = rebalance(&positions, c2, &u, &settings).unwrap();
            check_plan(&positions, &plan, c2, new_cash).unwrap();
        }
    }

    proptest::proptest! {
        #[test]
        fn rebalancing_conserves_value_and_respects_the_target(
            level in 0usize..5,
            values in proptest::collection::vec(0.0f64..50_000.0, 17),
            new_cash in -1_000.0f64..20_000.0,
            min_trade in 0.0f64..5_000.0,
            cost_bps in 0.0f64..100.0,
        ) {
            let (u, models, _) = setup();
            let positions: Vec<Position> = u.funds.iter().zip(&values).map(|(f, v)| Position { product_id: f.product_id.clone(), value: *v }).collect();
            let settings = RebalanceSettings { band: 0.0, new_cash, min_trade, cost_rate: cost_bps / 10_000.0 };
            let plan = rebalance(&positions, &models[level], &u, &settings).unwrap();
            proptest::prop_assert!(check_plan(&positions, &plan, &models[level], new_cash).is_ok(), "{}", check_plan(&positions, &plan, &models[level], new_cash).unwrap_err());
        }
    }

    #[test]
    fn bad_settings_name_the_field() {
        let (u, models, _) = setup();
        let err = rebalance(
            &[position("fund-gov-bonds", 100.0)],
            &models[0],
            &u,
            &RebalanceSettings {
                cost_rate: 0.5,
                ..RebalanceSettings::default()
            },
        )
        .unwrap_err();
        assert_eq!(err.field(), Some("cost_rate"));
    }
}
