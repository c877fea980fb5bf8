//! Robo-advice: the investable universe, a model portfolio per risk level, goal proposals
//! with a Monte Carlo success probability, and a glide path that de-risks as the goal nears.
//!
//! The universe is the catalogue's funds and deposits, each mapped to the asset classes of
//! the capital-market assumptions ([`crate::market::CapitalMarketAssumptions`]). A fund's
//! expected return is its exposure-weighted class return less its ongoing fee; a deposit's
//! is its rate. Risk comes from the class covariance: `E Σ Eᵀ` for exposures `E`.

use crate::market::{AssetClass, CapitalMarketAssumptions};
use crate::optimise::{self, Constraints, Objective};
use crate::suitability::{self, Breach};
use crate::{AdvisorError, DMatrix, DVector, Result};
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use sextant_domain::{Product, ProductId, ProductKind, RiskLevel, RiskTolerance};

/// A position is dropped from a model portfolio below this weight (PyPortfolioOpt's
/// `clean_weights` cutoff), and the rest renormalised.
pub const WEIGHT_CUTOFF: f64 = 1e-4;
/// No single product above this share, for diversification, when the level allows enough
/// products to make it feasible.
pub const MAX_PRODUCT_WEIGHT: f64 = 0.5;
/// Annual volatility each level aims at, C1..C5; the model portfolio is the efficient
/// portfolio at that risk (or the least risky one when the target is below reach).
pub const TARGET_VOLATILITY: [f64; 5] = [0.005, 0.04, 0.07, 0.11, 0.15];
/// Limits of the simulation, so that one request stays bounded.
pub const MAX_PATHS: usize = 100_000;
pub const MAX_HORIZON_MONTHS: u32 = 600;

/// One investable product and what it is exposed to.
#[derive(Debug, Clone, PartialEq)]
pub struct Fund {
    pub product_id: ProductId,
    pub name: String,
    pub risk_level: RiskLevel,
    /// Asset classes and their shares (summing to one).
    pub exposures: Vec<(AssetClass, f64)>,
    /// Expected annual return, net of fees.
    pub expected_return: f64,
}

/// Parses a product's `asset_class`: one class (`global_equity`) or a mix
/// (`global_equity:0.5,government_bonds:0.5`) whose shares sum to one.
pub fn parse_exposures(text: &str) -> Option<Vec<(AssetClass, f64)>> {
    if !text.contains(':') {
        return AssetClass::parse(text.trim()).map(|c| vec![(c, 1.0)]);
    }
    let mut exposures = Vec::new();
    for part in text.split(',') {
        let (class, share) = part.split_once(':')?;
        let share: f64 = share.trim().parse().ok()?;
        if !(share > 0.0 && share <= 1.0) {
            return None;
        }
        exposures.push((AssetClass::parse(class.trim())?, share));
    }
    let total: f64 = exposures.iter().map(|(_, s)| s).sum();
    ((total - 1.0).abs() < 1e-9).then_some(exposures)
}

/// The funds and deposits advice may use, with their expected returns and covariance.
#[derive(Debug, Clone)]
pub struct Universe {
    pub funds: Vec<Fund>,
    pub expected_return: DVector<f64>,
    pub cov: DMatrix<f64>,
    /// Exposure matrix, funds x asset classes (in `cma.classes` order).
    pub exposures: DMatrix<f64>,
    pub cma: CapitalMarketAssumptions,
}

impl Universe {
    /// Funds and deposits of the catalogue that carry an asset class; other products
    /// (credit, insurance) are not investments and are left out.
    pub fn from_catalogue(
        products: &[Product],
        cma: &CapitalMarketAssumptions,
    ) -> Result<Universe> {
        let mut funds = Vec::new();
        for (i, p) in products.iter().enumerate() {
            if !matches!(p.kind, ProductKind::Fund | ProductKind::Deposit) {
                continue;
            }
            let Some(class) = &p.asset_class else {
                continue;
            };
            let exposures = parse_exposures(class).ok_or_else(|| {
                AdvisorError::invalid(
                    format!("products[{i}].asset_class"),
                    format!("`{class}` is neither an asset class nor a mix `class:share,...` summing to one"),
                )
            })?;
            let expected_return = match p.kind {
                ProductKind::Deposit => f64::from(p.rate_bps.unwrap_or(0)) / 10_000.0,
                _ => {
                    exposures
                        .iter()
                        .map(|(c, s)| s * cma.expected_return[cma.index(*c)])
                        .sum::<f64>()
                        - f64::from(p.fee_bps.unwrap_or(0)) / 10_000.0
                }
            };
            funds.push(Fund {
                product_id: p.id.clone(),
                name: p.name.clone(),
                risk_level: p.risk_level,
                exposures,
                expected_return,
            });
        }
        if funds.is_empty() {
            return Err(AdvisorError::invalid(
                "products",
                "no fund or deposit with an asset class",
            ));
        }
        let mut exposures = DMatrix::zeros(funds.len(), cma.classes.len());
        for (i, f) in funds.iter().enumerate() {
            for (c, s) in &f.exposures {
                exposures[(i, cma.index(*c))] += s;
            }
        }
        let cov = &exposures * cma.covariance() * exposures.transpose();
        let expected_return =
            DVector::from_iterator(funds.len(), funds.iter().map(|f| f.expected_return));
        Ok(Universe {
            funds,
            expected_return,
            cov,
            exposures,
            cma: cma.clone(),
        })
    }

    /// Position of a product in the universe.
    pub fn index(&self, product_id: &ProductId) -> Option<usize> {
        self.funds.iter().position(|f| &f.product_id == product_id)
    }

    /// Indices of the funds a customer of `tolerance` may be recommended.
    pub fn allowed(&self, tolerance: RiskTolerance) -> Vec<usize> {
        (0..self.funds.len())
            .filter(|&i| suitability::allowed(tolerance, self.funds[i].risk_level))
            .collect()
    }
}

/// The portfolio advice starts from for one risk level.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelPortfolio {
    pub tolerance: RiskTolerance,
    /// Products and weights, weights summing to one, none below [`WEIGHT_CUTOFF`].
    pub weights: Vec<(ProductId, f64)>,
    pub expected_return: f64,
    pub volatility: f64,
    pub sharpe: f64,
}

impl ModelPortfolio {
    /// Weights over the whole universe (zero where not held).
    pub fn dense_weights(&self, universe: &Universe) -> DVector<f64> {
        let mut w = DVector::zeros(universe.funds.len());
        for (id, weight) in &self.weights {
            if let Some(i) = universe.index(id) {
                w[i] = *weight;
            }
        }
        w
    }
}

/// One model portfolio per level C1..C5: the efficient portfolio at the level's target
/// volatility ([`TARGET_VOLATILITY`]) over the funds the level allows, long only, at most
/// [`MAX_PRODUCT_WEIGHT`] in one product where that is feasible.
pub fn model_portfolios(universe: &Universe, risk_free: f64) -> Result<Vec<ModelPortfolio>> {
    (1..=5u8)
        .map(|level| {
            let tolerance = RiskTolerance::new(level).expect("1..=5");
            model_portfolio(universe, tolerance, risk_free)
        })
        .collect()
}

fn model_portfolio(
    universe: &Universe,
    tolerance: RiskTolerance,
    risk_free: f64,
) -> Result<ModelPortfolio> {
    let allowed = universe.allowed(tolerance);
    if allowed.is_empty() {
        return Err(AdvisorError::infeasible(
            "suitability",
            format!("no product in the universe is allowed at {tolerance}"),
        ));
    }
    let n = allowed.len();
    let mu = DVector::from_iterator(n, allowed.iter().map(|&i| universe.expected_return[i]));
    let cov = DMatrix::from_fn(n, n, |r, c| universe.cov[(allowed[r], allowed[c])]);
    let cap = if n as f64 * MAX_PRODUCT_WEIGHT >= 1.0 {
        MAX_PRODUCT_WEIGHT
    } else {
        1.0
    };
    let constraints = Constraints::bounded(n, 0.0, cap);
    let target = TARGET_VOLATILITY[usize::from(tolerance.get() - 1)];
    let least_risky = optimise::optimise(Some(&mu), &cov, &constraints, &Objective::MinVolatility)?;
    let least_volatility =
        optimise::performance(&least_risky, Some(&mu), &cov, risk_free).volatility;
    let weights = if target <= least_volatility {
        least_risky
    } else {
        optimise::optimise(
            Some(&mu),
            &cov,
            &constraints,
            &Objective::EfficientRisk {
                target_volatility: target,
            },
        )?
    };
    let weights = clean(&weights);
    let performance = optimise::performance(&weights, Some(&mu), &cov, risk_free);
    Ok(ModelPortfolio {
        tolerance,
        weights: allowed
            .iter()
            .zip(weights.iter())
            .filter(|(_, w)| **w > 0.0)
            .map(|(&i, &w)| (universe.funds[i].product_id.clone(), w))
            .collect(),
        expected_return: performance.expected_return,
        volatility: performance.volatility,
        sharpe: performance.sharpe,
    })
}

/// Drops weights below the cutoff and renormalises, as a customer cannot hold 0.001%.
fn clean(weights: &DVector<f64>) -> DVector<f64> {
    let kept = weights.map(|w| if w < WEIGHT_CUTOFF { 0.0 } else { w });
    let total = kept.sum();
    kept / total
}

/// The most risk a goal allows with `months_left` to go: a goal due within two years is
/// kept in C1, within four in C2, within seven in C3, within ten in C4.
pub fn horizon_cap(months_left: u32) -> RiskTolerance {
    let level = match months_left {
        0..24 => 1,
        24..48 => 2,
        48..84 => 3,
        84..120 => 4,
        _ => 5,
    };
    RiskTolerance::new(level).expect("1..=5")
}

/// One year of the glide path.
#[derive(Debug, Clone, PartialEq)]
pub struct GlideStep {
    /// Years from now, 0 = the first year.
    pub year: u32,
    pub tolerance: RiskTolerance,
    pub expected_return: f64,
    pub volatility: f64,
}

/// The level for each month: the customer's level, lowered as the goal date nears.
fn level_at(customer: RiskTolerance, horizon_months: u32, month: u32) -> RiskTolerance {
    customer.min(horizon_cap(horizon_months - month))
}

/// Year-by-year levels from now to the goal.
pub fn glide_path(
    customer: RiskTolerance,
    horizon_months: u32,
    models: &[ModelPortfolio],
) -> Vec<GlideStep> {
    (0..horizon_months.div_ceil(12))
        .map(|year| {
            let tolerance = level_at(customer, horizon_months, year * 12);
            let model = &models[usize::from(tolerance.get() - 1)];
            GlideStep {
                year,
                tolerance,
                expected_return: model.expected_return,
                volatility: model.volatility,
            }
        })
        .collect()
}

/// A customer's savings goal, amounts in the currency's major unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Goal {
    pub target_amount: f64,
    pub initial_amount: f64,
    pub monthly_contribution: f64,
    pub horizon_months: u32,
}

impl Goal {
    pub fn validate(&self) -> Result<()> {
        let amount = |field: &str, v: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(AdvisorError::invalid(
                    field,
                    "must be a finite amount, zero or more",
                ))
            }
        };
        amount("target_amount", self.target_amount)?;
        amount("initial_amount", self.initial_amount)?;
        amount("monthly_contribution", self.monthly_contribution)?;
        if self.target_amount <= 0.0 {
            return Err(AdvisorError::invalid("target_amount", "must be above zero"));
        }
        if !(1..=MAX_HORIZON_MONTHS).contains(&self.horizon_months) {
            return Err(AdvisorError::invalid(
                "horizon_months",
                format!("must be within 1..={MAX_HORIZON_MONTHS}"),
            ));
        }
        Ok(())
    }
}

/// How the Monte Carlo runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Simulation {
    pub paths: usize,
    pub seed: u64,
    /// The success probability the suggested contribution aims at.
    pub target_probability: f64,
}

impl Default for Simulation {
    fn default() -> Simulation {
        Simulation {
            paths: 10_000,
            seed: 7,
            target_probability: 0.8,
        }
    }
}

/// The return model, stated with every proposal.
pub const RETURN_MODEL: &str = "monthly log-returns independent and normal with mean (ln(1+mu) - sigma^2/2)/12 and variance sigma^2/12 for the glide path's portfolio of that month (mu, sigma: its expected annual return and volatility), so expected annual growth is 1+mu; contributions at the start of each month; no fees beyond those in mu, no inflation";

/// Percentiles of simulated wealth at the end of a month of the horizon.
#[derive(Debug, Clone, PartialEq)]
pub struct WealthBand {
    /// Months from now (12, 24, ..., and the horizon).
    pub month: u32,
    pub p10: f64,
    pub p25: f64,
    pub p50: f64,
    pub p75: f64,
    pub p90: f64,
}

/// A proposal for a goal.
#[derive(Debug, Clone, PartialEq)]
pub struct GoalProposal {
    pub tolerance: RiskTolerance,
    /// The portfolio to hold now.
    pub portfolio: ModelPortfolio,
    pub glide_path: Vec<GlideStep>,
    /// Share of simulated paths that end at or above the target.
    pub success_probability: f64,
    pub final_wealth_p10: f64,
    pub final_wealth_p50: f64,
    pub final_wealth_p90: f64,
    /// Percentiles of wealth at the end of every year and of the horizon: the fan chart.
    pub wealth_bands: Vec<WealthBand>,
    /// Total paid in over the horizon.
    pub total_contributions: f64,
    /// Smallest monthly contribution reaching `target_probability` (None when even ten
    /// times the target spread over the horizon does not).
    pub contribution_for_target_probability: Option<f64>,
    pub target_probability: f64,
    pub paths: usize,
    /// Positions above the customer's level: always empty; kept so that callers check.
    pub breaches: Vec<Breach>,
}

/// A goal proposal for a customer at `tolerance`, from the five model portfolios.
pub fn propose(
    goal: &Goal,
    tolerance: RiskTolerance,
    models: &[ModelPortfolio],
    universe: &Universe,
    simulation: &Simulation,
) -> Result<GoalProposal> {
    goal.validate()?;
    if models.len() != 5 {
        return Err(AdvisorError::invalid(
            "models",
            "one model portfolio per level C1..C5",
        ));
    }
    if !(1..=MAX_PATHS).contains(&simulation.paths) {
        return Err(AdvisorError::invalid(
            "paths",
            format!("must be within 1..={MAX_PATHS}"),
        ));
    }
    if !(simulation.target_probability > 0.0 && simulation.target_probability < 1.0) {
        return Err(AdvisorError::invalid(
            "target_probability",
            "must be within (0, 1)",
        ));
    }
    let glide = glide_path(tolerance, goal.horizon_months, models);
    let monthly: Vec<(f64, f64)> = (0..goal.horizon_months)
        .map(|m| {
            let model = &models[usize::from(level_at(tolerance, goal.horizon_months, m).get() - 1)];
            monthly_moments(model.expected_return, model.volatility)
        })
        .collect();
    let mut finals = simulate(
        goal,
        goal.monthly_contribution,
        &monthly,
        simulation.paths,
        simulation.seed,
    );
    let success =
        finals.iter().filter(|&&w| w >= goal.target_amount).count() as f64 / finals.len() as f64;
    finals.sort_by(f64::total_cmp);
    let quantile = |q: f64| finals[((finals.len() - 1) as f64 * q).round() as usize];
    let contribution = contribution_for(goal, &monthly, simulation);
    let portfolio =
        models[usize::from(level_at(tolerance, goal.horizon_months, 0).get() - 1)].clone();
    let positions: Vec<(ProductId, RiskLevel, f64)> = portfolio
        .weights
        .iter()
        .map(|(id, w)| {
            let level = universe
                .index(id)
                .map_or(RiskLevel::HIGHEST, |i| universe.funds[i].risk_level);
            (id.clone(), level, *w)
        })
        .collect();
    Ok(GoalProposal {
        tolerance,
        breaches: suitability::breaches(tolerance, &positions),
        portfolio,
        glide_path: glide,
        success_probability: success,
        final_wealth_p10: quantile(0.1),
        final_wealth_p50: quantile(0.5),
        final_wealth_p90: quantile(0.9),
        wealth_bands: wealth_bands(
            goal,
            goal.monthly_contribution,
            &monthly,
            simulation.paths,
            simulation.seed,
        ),
        total_contributions: goal.initial_amount
            + goal.monthly_contribution * f64::from(goal.horizon_months),
        contribution_for_target_probability: contribution,
        target_probability: simulation.target_probability,
        paths: simulation.paths,
    })
}

/// Mean and standard deviation of the monthly log-return (see [`RETURN_MODEL`]).
fn monthly_moments(expected_return: f64, volatility: f64) -> (f64, f64) {
    let variance = volatility * volatility;
    (
        ((1.0 + expected_return).ln() - variance / 2.0) / 12.0,
        (variance / 12.0).sqrt(),
    )
}

/// Final wealth of each path. The same seed gives the same shocks, so results for two
/// contributions differ only by the contribution (common random numbers).
fn simulate(
    goal: &Goal,
    contribution: f64,
    monthly: &[(f64, f64)],
    paths: usize,
    seed: u64,
) -> Vec<f64> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..paths)
        .map(|_| {
            monthly
                .iter()
                .fold(goal.initial_amount, |wealth, (mean, sd)| {
                    let z: f64 = StandardNormal.sample(&mut rng);
                    (wealth + contribution) * (mean + sd * z).exp()
                })
        })
        .collect()
}

/// The same paths as [`simulate`] (same seed, same draws), with wealth taken at the end of
/// every year and of the horizon.
fn wealth_bands(
    goal: &Goal,
    contribution: f64,
    monthly: &[(f64, f64)],
    paths: usize,
    seed: u64,
) -> Vec<WealthBand> {
    let last = monthly.len();
    let marks: Vec<usize> = (1..=last).filter(|m| m % 12 == 0 || *m == last).collect();
    let mut at: Vec<Vec<f64>> = vec![Vec::with_capacity(paths); marks.len()];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    for _ in 0..paths {
        let mut wealth = goal.initial_amount;
        let mut next = 0;
        for (m, (mean, sd)) in monthly.iter().enumerate() {
            let z: f64 = StandardNormal.sample(&mut rng);
            wealth = (wealth + contribution) * (mean + sd * z).exp();
            if marks.get(next) == Some(&(m + 1)) {
                at[next].push(wealth);
                next += 1;
            }
        }
    }
    marks
        .iter()
        .zip(at)
        .map(|(month, mut values)| {
            values.sort_by(f64::total_cmp);
            let q = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
            WealthBand {
                month: u32::try_from(*month).expect("horizons are bounded"),
                p10: q(0.1),
                p25: q(0.25),
                p50: q(0.5),
                p75: q(0.75),
                p90: q(0.9),
            }
        })
        .collect()
}

/// Paths used when searching for the contribution; fewer than the main run, as the search
/// evaluates the simulation about thirty times.
const SEARCH_PATHS: usize = 2_000;

/// Bisection on the monthly contribution; success is monotone in it under common random
/// numbers.
fn contribution_for(goal: &Goal, monthly: &[(f64, f64)], simulation: &Simulation) -> Option<f64> {
    let paths = simulation.paths.min(SEARCH_PATHS);
    let probability = |c: f64| {
        let finals = simulate(goal, c, monthly, paths, simulation.seed);
        finals.iter().filter(|&&w| w >= goal.target_amount).count() as f64 / paths as f64
    };
    if probability(0.0) >= simulation.target_probability {
        return Some(0.0);
    }
    let mut high = 10.0 * goal.target_amount / f64::from(goal.horizon_months);
    if probability(high) < simulation.target_probability {
        return None;
    }
    let mut low = 0.0;
    // A cent of precision on amounts up to 10^12 needs about 47 halvings; stop at a cent.
    for _ in 0..60 {
        if high - low < 0.01 {
            break;
        }
        let mid = (low + high) / 2.0;
        if probability(mid) >= simulation.target_probability {
            high = mid;
        } else {
            low = mid;
        }
    }
    Some((high * 100.0).ceil() / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use sextant_domain::default_catalogue;

    fn universe() -> Universe {
        Universe::from_catalogue(&default_catalogue(), &CapitalMarketAssumptions::builtin())
            .unwrap()
    }

    #[test]
    fn exposures_parse_one_class_or_a_mix() {
        assert_eq!(parse_exposures("gold"), Some(vec![(AssetClass::Gold, 1.0)]));
        assert_eq!(
            parse_exposures("global_equity:0.5,government_bonds:0.5").map(|e| e.len()),
            Some(2)
        );
        assert_eq!(parse_exposures("global_equity:0.5,gold:0.4"), None);
        assert_eq!(parse_exposures("tulips"), None);
    }

    #[test]
    fn model_portfolios_respect_suitability_and_rise_in_risk() {
        let u = universe();
        let models = model_portfolios(&u, crate::DEFAULT_RISK_FREE).unwrap();
        assert_eq!(models.len(), 5);
        for m in &models {
            let total: f64 = m.weights.iter().map(|(_, w)| w).sum();
            assert!((total - 1.0).abs() < 1e-9, "{m:?}");
            for (id, w) in &m.weights {
                let fund = &u.funds[u.index(id).unwrap()];
                assert!(
                    suitability::allowed(m.tolerance, fund.risk_level),
                    "{id} ({}) in the {} model",
                    fund.risk_level,
                    m.tolerance
                );
                assert!(*w >= WEIGHT_CUTOFF);
            }
        }
        for pair in models.windows(2) {
            assert!(
                pair[1].volatility >= pair[0].volatility - 1e-9,
                "{} is less risky than {}",
                pair[1].tolerance,
                pair[0].tolerance
            );
            assert!(pair[1].expected_return >= pair[0].expected_return - 1e-9);
        }
    }

    #[test]
    fn the_glide_path_de_risks_and_never_exceeds_the_customer() {
        let u = universe();
        let models = model_portfolios(&u, 0.02).unwrap();
        let c4 = RiskTolerance::new(4).unwrap();
        let path = glide_path(c4, 180, &models);
        assert_eq!(path.len(), 15);
        assert_eq!(path[0].tolerance, c4);
        assert_eq!(path.last().unwrap().tolerance, RiskTolerance::LOWEST);
        for pair in path.windows(2) {
            assert!(pair[1].tolerance <= pair[0].tolerance);
        }
    }

    #[test]
    fn a_certain_goal_succeeds_and_an_impossible_one_fails() {
        let u = universe();
        let models = model_portfolios(&u, 0.02).unwrap();
        let c3 = RiskTolerance::new(3).unwrap();
        let simulation = Simulation {
            paths: 2_000,
            ..Simulation::default()
        };
        let easy = Goal {
            target_amount: 1_000.0,
            initial_amount: 5_000.0,
            monthly_contribution: 100.0,
            horizon_months: 60,
        };
        let p = propose(&easy, c3, &models, &u, &simulation).unwrap();
        assert!(p.success_probability > 0.99, "{}", p.success_probability);
        assert_eq!(p.contribution_for_target_probability, Some(0.0));
        assert!(p.breaches.is_empty());
        let hard = Goal {
            target_amount: 1_000_000.0,
            initial_amount: 0.0,
            monthly_contribution: 10.0,
            horizon_months: 24,
        };
        let p = propose(&hard, c3, &models, &u, &simulation).unwrap();
        assert!(p.success_probability < 0.01);
        let needed = p.contribution_for_target_probability.unwrap();
        let check = propose(
            &Goal {
                monthly_contribution: needed,
                ..hard.clone()
            },
            c3,
            &models,
            &u,
            &Simulation {
                paths: SEARCH_PATHS,
                ..simulation
            },
        )
        .unwrap();
        assert!(check.success_probability >= simulation.target_probability);
        assert!(
            p.final_wealth_p10 <= p.final_wealth_p50 && p.final_wealth_p50 <= p.final_wealth_p90
        );
        let end = p.wealth_bands.last().expect("a band at the horizon");
        assert_eq!(end.month, 24);
        assert_eq!(p.wealth_bands.len(), 2, "years 1 and 2");
        assert!(
            end.p10 == p.final_wealth_p10
                && end.p50 == p.final_wealth_p50
                && end.p90 == p.final_wealth_p90,
            "the fan chart ends at the final percentiles"
        );
        assert!(p
            .wealth_bands
            .iter()
            .all(|b| b.p10 <= b.p25 && b.p25 <= b.p50 && b.p50 <= b.p75 && b.p75 <= b.p90));
    }

    #[test]
    fn the_simulation_matches_its_stated_expected_growth() {
        // Expected annual growth of 1 + mu: with no volatility the path is exact.
        let (mean, sd) = monthly_moments(0.06, 0.0);
        let goal = Goal {
            target_amount: 1.0,
            initial_amount: 100.0,
            monthly_contribution: 0.0,
            horizon_months: 12,
        };
        let finals = simulate(&goal, 0.0, &[(mean, sd); 12], 3, 1);
        assert!((finals[0] - 106.0).abs() < 1e-9, "{}", finals[0]);
        // With volatility, the sample mean of growth is close to 1 + mu.
        let (mean, sd) = monthly_moments(0.06, 0.2);
        let finals = simulate(&goal, 0.0, &[(mean, sd); 12], 100_000, 1);
        let average = finals.iter().sum::<f64>() / finals.len() as f64;
        assert!((average / 100.0 - 1.06).abs() < 0.005, "{average}");
    }

    proptest! {
        #[test]
        fn bad_goals_are_refused_with_the_field(target in -10.0f64..0.0, months in 601u32..1000) {
            let g = Goal { target_amount: target, initial_amount: 0.0, monthly_contribution: 0.0, horizon_months: 12 };
            let e = g.validate().unwrap_err();
            prop_assert_eq!(e.field(), Some("target_amount"));
            let g = Goal { target_amount: 1.0, initial_amount: 0.0, monthly_contribution: 0.0, horizon_months: months };
            let e = g.validate().unwrap_err();
            prop_assert_eq!(e.field(), Some("horizon_months"));
        }
    }
}
