//! Mean-variance optimisation with PyPortfolioOpt 1.6.0's `EfficientFrontier` semantics, so
//! that weights agree with PyPortfolioOpt (solver `CLARABEL`) to 1e-6.
//!
//! Conventions: `mu` are annualised expected returns, `cov` the annualised covariance
//! (PSD), weights are fractions of the portfolio summing to one (negative = short); volatility
//! is `sqrt(w' cov w)` and the Sharpe ratio `(w'mu - risk_free) / volatility`.
//!
//! Objectives, as PyPortfolioOpt formulates them:
//! - [`Objective::MinVolatility`]: `min w'Σw`;
//! - [`Objective::MaxSharpe`]: `min y'Σy` s.t. `(mu - rf)'y = 1`, `sum y = k >= 0` and every
//!   linear constraint scaled by `k` (Cornuejols-Tütüncü), then `w = y / k`;
//! - [`Objective::EfficientRisk`]: `max mu'w` s.t. `w'Σw <= target²`;
//! - [`Objective::EfficientReturn`]: `min w'Σw` s.t. `mu'w >= target`;
//! - [`Objective::QuadraticUtility`]: `max mu'w - ½ δ w'Σw`;
//!
//! each with `sum w = 1`, the bounds, the group limits (`add_sector_constraints`) and the
//! additional objectives `l2_gamma ||w||²` (`L2_reg`) and `transaction_cost ||w - current||_1`
//! (`objective_functions.transaction_cost`). As in PyPortfolioOpt, these are added to the
//! transformed problem unchanged for max Sharpe (so they act on `y`, not `w`).
//!
//! Targets are checked before solving as PyPortfolioOpt checks them (a target return above
//! the constrained maximum return; a target volatility below the global minimum volatility
//! `sqrt(1 / 1'Σ⁺1)`) and again after (a target volatility below the constrained minimum).
//!
//! Sextant extensions (not in PyPortfolioOpt): a turnover cap `||w - current||_1 <= cap`; a
//! cardinality limit (at most `max_assets` holdings, each at least `min_weight`), solved
//! exactly by best-first branch and bound over clarabel relaxations with
//! [`CARDINALITY_NODE_LIMIT`] nodes; the [`frontier`] of `points` portfolios.
//!
//! How problems are solved. Problems whose constraints are all linear (no transaction costs,
//! turnover cap or cardinality limit) go to an exact dense active-set method
//! (`active_set`: primal-dual rounds from the unconstrained optimum, then the primal method)
//! and every answer must pass a KKT certificate. The efficient frontier, efficient return,
//! efficient risk and max Sharpe (the last two without L2) follow the frontier from the
//! minimum-volatility portfolio by parametric continuation in the target return: optimal
//! weights are piecewise linear in it, so each point is exact, and the max-Sharpe and
//! efficient-risk points are found in closed form on their segment. Efficient risk with L2
//! solves the Lagrangian QP `min l2_gamma ||w||² + nu w'Σw - mu'w` for the multiplier `nu`
//! at which the variance meets the target. Everything else (costs, turnover, cardinality),
//! and any case the active-set method cannot certify, is solved by clarabel at 1e-10
//! tolerances from matrices built directly in CSC form (`conic`, `model`).
//!
//! Accuracy: the exact route agrees with PyPortfolioOpt + Clarabel (tolerances 1e-10) to
//! 1e-8 or better on well-conditioned problems. Where an objective is flat (efficient risk, a
//! near-singular covariance) an interior-point solver's weights are only good to about
//! `sqrt(gap / curvature)`, a few 1e-6: there PyPortfolioOpt's own answer moves by that much as
//! its tolerances tighten, converging to Sextant's.

mod active_set;
pub(crate) mod cardinality;
pub(crate) mod conic;
mod constraints;
pub(crate) mod model;
mod path;

pub use constraints::{Cardinality, Constraints, GroupLimit};

use crate::{AdvisorError, DMatrix, DVector, Result};
use conic::Outcome;
use model::Model;

/// Branch-and-bound relaxations solved at most for a cardinality-limited problem.
pub const CARDINALITY_NODE_LIMIT: usize = 2_000;

/// What to optimise.
#[derive(Debug, Clone, PartialEq)]
pub enum Objective {
    /// Least volatility (`min_volatility`).
    MinVolatility,
    /// Highest Sharpe ratio (`max_sharpe`); `risk_free` is annual, like `mu`.
    MaxSharpe { risk_free: f64 },
    /// Highest return with volatility at most the target (`efficient_risk`; annual).
    EfficientRisk { target_volatility: f64 },
    /// Least volatility with return at least the target (`efficient_return`; annual).
    EfficientReturn { target_return: f64 },
    /// Highest `w'mu - ½ δ w'Σw` (`max_quadratic_utility`, `δ = risk_aversion > 0`).
    QuadraticUtility { risk_aversion: f64 },
}

/// Expected return, volatility and Sharpe ratio of a portfolio (annual, as `mu` and `cov`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Performance {
    /// `w'mu`; NaN when no `mu` was given.
    pub expected_return: f64,
    /// `sqrt(w'Σw)` (a tiny negative variance from rounding counts as zero).
    pub volatility: f64,
    /// `(expected_return - risk_free) / volatility`; NaN when no `mu` was given.
    pub sharpe: f64,
}

/// PyPortfolioOpt `portfolio_performance` of `weights`.
pub fn performance(
    weights: &DVector<f64>,
    mu: Option<&DVector<f64>>,
    cov: &DMatrix<f64>,
    risk_free: f64,
) -> Performance {
    let variance = (cov * weights).dot(weights);
    let volatility = variance.max(0.0).sqrt();
    let expected_return = mu.map_or(f64::NAN, |m| m.dot(weights));
    Performance {
        expected_return,
        volatility,
        sharpe: (expected_return - risk_free) / volatility,
    }
}

/// Optimal weights for `objective` under `constraints`.
///
/// `mu` is required for every objective but [`Objective::MinVolatility`]. Errors: invalid
/// inputs name the field; infeasible constraints name the constraint; targets out of reach are
/// ImpossibleTarget naming "target_return" / "target_volatility" / "risk_free" with the
/// reachable range in the message (checked before solving, as PyPortfolioOpt does, and after).
pub fn optimise(
    mu: Option<&DVector<f64>>,
    cov: &DMatrix<f64>,
    constraints: &Constraints,
    objective: &Objective,
) -> Result<DVector<f64>> {
    let needs_mu = !matches!(objective, Objective::MinVolatility);
    let input = Input::new(mu, cov, constraints, needs_mu)?;
    validate_objective(objective)?;
    let w = match objective {
        Objective::MinVolatility => input.min_volatility()?,
        Objective::QuadraticUtility { risk_aversion } => input.quadratic_utility(*risk_aversion)?,
        Objective::EfficientReturn { target_return } => input.efficient_return(*target_return)?,
        Objective::EfficientRisk { target_volatility } => {
            input.efficient_risk(*target_volatility)?
        }
        Objective::MaxSharpe { risk_free } => input.max_sharpe(*risk_free)?,
    };
    Ok(DVector::from_vec(w))
}

/// A portfolio on the efficient frontier.
#[derive(Debug, Clone, PartialEq)]
pub struct FrontierPoint {
    pub weights: DVector<f64>,
    pub performance: Performance,
}

/// `points` portfolios from min volatility to max return, evenly spaced in target return
/// (`efficient_return` each): targets `linspace(r_minvol, r_max, points)` with `r_max` the
/// highest return the constraints allow. (PyPortfolioOpt's plotting helper stops at
/// `r_max - 1e-4` because a solver struggles exactly there; the continuation reaches `r_max`
/// exactly, so the last point is the least-volatile max-return portfolio.)
pub fn frontier(
    mu: &DVector<f64>,
    cov: &DMatrix<f64>,
    constraints: &Constraints,
    points: usize,
    risk_free: f64,
) -> Result<Vec<FrontierPoint>> {
    if points == 0 {
        return Err(AdvisorError::invalid(
            "points",
            "at least one frontier point",
        ));
    }
    if !risk_free.is_finite() {
        return Err(AdvisorError::invalid("risk_free", "not a finite rate"));
    }
    let input = Input::new(Some(mu), cov, constraints, true)?;
    let weights = input.frontier(points)?;
    Ok(weights
        .into_iter()
        .map(|w| {
            let weights = DVector::from_vec(w);
            let performance = performance(&weights, Some(mu), cov, risk_free);
            FrontierPoint {
                weights,
                performance,
            }
        })
        .collect())
}

fn validate_objective(objective: &Objective) -> Result<()> {
    match *objective {
        Objective::MinVolatility => Ok(()),
        Objective::MaxSharpe { risk_free } if !risk_free.is_finite() => {
            Err(AdvisorError::invalid("risk_free", "not a finite rate"))
        }
        Objective::EfficientRisk {
            target_volatility: t,
        } if !(t.is_finite() && t >= 0.0) => Err(AdvisorError::invalid(
            "target_volatility",
            "must be a finite, non-negative volatility",
        )),
        Objective::EfficientReturn { target_return: t } if !t.is_finite() => Err(
            AdvisorError::invalid("target_return", "not a finite return"),
        ),
        Objective::QuadraticUtility { risk_aversion: d } if !(d.is_finite() && d > 0.0) => Err(
            AdvisorError::invalid("risk_aversion", "must be finite and greater than zero"),
        ),
        _ => Ok(()),
    }
}

/// Validated inputs and what is derived from them once.
struct Input<'a> {
    n: usize,
    mu: Option<&'a DVector<f64>>,
    cov: &'a DMatrix<f64>,
    c: &'a Constraints,
    /// Cholesky factor of `cov`, when it is numerically positive definite.
    factor: Option<active_set::FullFactor>,
}

impl<'a> Input<'a> {
    fn new(
        mu: Option<&'a DVector<f64>>,
        cov: &'a DMatrix<f64>,
        c: &'a Constraints,
        needs_mu: bool,
    ) -> Result<Input<'a>> {
        let n = cov.nrows();
        validate_cov(cov)?;
        match mu {
            Some(m) if m.len() != n => {
                return Err(AdvisorError::invalid(
                    "mu",
                    format!("{} expected returns for a {n} x {n} covariance", m.len()),
                ))
            }
            Some(m) => {
                if let Some(i) = m.iter().position(|v| !v.is_finite()) {
                    return Err(AdvisorError::invalid(
                        format!("mu[{i}]"),
                        "not a finite return",
                    ));
                }
            }
            None if needs_mu => {
                return Err(AdvisorError::invalid(
                    "mu",
                    "this objective needs expected returns",
                ))
            }
            None => {}
        }
        c.validate(n)?;
        let factor = active_set::FullFactor::new(cov);
        if factor.is_none() {
            check_psd(cov)?;
        }
        Ok(Input {
            n,
            mu,
            cov,
            c,
            factor,
        })
    }

    fn mu(&self) -> &'a DVector<f64> {
        self.mu.expect("mu checked by Input::new")
    }

    /// `curvature * Σ + 2 l2_gamma I`, the Hessian of the variance-type objectives.
    fn hessian(&self, curvature: f64) -> DMatrix<f64> {
        let mut h = self.cov * curvature;
        if self.c.l2_gamma > 0.0 {
            for i in 0..self.n {
                h[(i, i)] += 2.0 * self.c.l2_gamma;
            }
        }
        h
    }

    fn min_volatility(&self) -> Result<Vec<f64>> {
        if self.c.is_linear() {
            if let Some(w) = path::min_volatility(self)? {
                return Ok(w);
            }
        }
        self.solve_conic(&Objective::MinVolatility)
    }

    fn quadratic_utility(&self, risk_aversion: f64) -> Result<Vec<f64>> {
        if self.c.is_linear() {
            if let Some(w) = path::quadratic_utility(self, risk_aversion)? {
                return Ok(w);
            }
        }
        self.solve_conic(&Objective::QuadraticUtility { risk_aversion })
    }

    fn efficient_return(&self, target: f64) -> Result<Vec<f64>> {
        let r_max = self.max_return()?;
        let tol = 1e-12 * (1.0 + r_max.abs());
        if target > r_max + tol {
            return Err(AdvisorError::impossible(
                "target_return",
                format!("target return {target} is above {r_max}, the maximum return reachable under these constraints; reachable targets are at most {r_max}"),
            ));
        }
        let target = target.min(r_max);
        if self.c.is_linear() {
            if let Some(mut ws) = path::frontier(self, &|_| vec![target], r_max)? {
                return Ok(ws.remove(0));
            }
        }
        self.solve_conic(&Objective::EfficientReturn {
            target_return: target,
        })
        .map_err(|e| self.name_unreachable_return(e, target, r_max))
    }

    fn name_unreachable_return(&self, e: AdvisorError, target: f64, r_max: f64) -> AdvisorError {
        match e {
            AdvisorError::Infeasible { constraint, .. } if constraint == "target_return" => {
                AdvisorError::impossible(
                    "target_return",
                    format!("target return {target} is not reachable under these constraints (at most {r_max} without the cardinality limit)"),
                )
            }
            other => other,
        }
    }

    fn efficient_risk(&self, target: f64) -> Result<Vec<f64>> {
        let gmv = self.global_min_volatility();
        if target < gmv {
            return Err(AdvisorError::impossible(
                "target_volatility",
                format!("target volatility {target} is below the minimum volatility {gmv} (global minimum-variance portfolio); reachable targets start at {gmv}"),
            ));
        }
        let r_max = self.max_return()?;
        if self.c.is_linear() && self.c.l2_gamma == 0.0 && r_max.is_finite() {
            if let Some(w) = path::efficient_risk(self, target, r_max)? {
                return Ok(w);
            }
        }
        if self.c.is_linear() && self.c.l2_gamma > 0.0 {
            let least = self.least_volatility(target)?;
            if let Some(w) = path::efficient_risk_regularised(self, target, least * least)? {
                return Ok(w);
            }
        }
        match self.solve_conic(&Objective::EfficientRisk {
            target_volatility: target,
        }) {
            Err(AdvisorError::Infeasible { constraint, .. })
                if constraint == "target_volatility" =>
            {
                self.least_volatility(target)?;
                Err(AdvisorError::Solver(format!(
                    "no portfolio was found within the target volatility {target}"
                )))
            }
            other => other,
        }
    }

    /// The least volatility the constraints allow (without L2 or cost terms, which do not
    /// change what is feasible); ImpossibleTarget when `target` is below it.
    fn least_volatility(&self, target: f64) -> Result<f64> {
        let mut plain = self.c.clone();
        plain.l2_gamma = 0.0;
        plain.transaction_cost = 0.0;
        let input = Input {
            n: self.n,
            mu: self.mu,
            cov: self.cov,
            c: &plain,
            factor: None,
        };
        let w = DVector::from_vec(input.min_volatility()?);
        let least = performance(&w, None, self.cov, 0.0).volatility;
        if target < least * (1.0 - 1e-12) {
            return Err(AdvisorError::impossible(
                "target_volatility",
                format!("target volatility {target} is below {least}, the minimum volatility reachable under these constraints; reachable targets start at {least}"),
            ));
        }
        Ok(least)
    }

    fn max_sharpe(&self, risk_free: f64) -> Result<Vec<f64>> {
        let mu = self.mu();
        if mu.max() <= risk_free {
            return Err(AdvisorError::impossible(
                "risk_free",
                format!("at least one asset's expected return must exceed the risk-free rate {risk_free} (the highest is {})", mu.max()),
            ));
        }
        let r_max = self.max_return()?;
        if r_max <= risk_free {
            return Err(AdvisorError::impossible(
                "risk_free",
                format!("the maximum return reachable under these constraints, {r_max}, does not exceed the risk-free rate {risk_free}"),
            ));
        }
        if self.c.is_linear() && self.c.l2_gamma == 0.0 && r_max.is_finite() {
            if let Some(w) = path::max_sharpe(self, risk_free, r_max)? {
                return Ok(w);
            }
        }
        self.solve_conic(&Objective::MaxSharpe { risk_free })
    }

    fn frontier(&self, points: usize) -> Result<Vec<Vec<f64>>> {
        let r_max = self.max_return()?;
        if !r_max.is_finite() {
            return Err(AdvisorError::invalid(
                "bounds",
                "the maximum return is unbounded; the frontier needs bounds that limit it",
            ));
        }
        let spaced = |r_mv: f64| -> Vec<f64> {
            (0..points)
                .map(|i| match points {
                    1 => r_mv,
                    _ => r_mv + (r_max - r_mv) * i as f64 / (points - 1) as f64,
                })
                .collect()
        };
        if self.c.is_linear() {
            if let Some(ws) = path::frontier(self, &spaced, r_max)? {
                return Ok(ws);
            }
        }
        let w_mv = self.solve_conic(&Objective::MinVolatility)?;
        let r_mv = self.mu().dot(&DVector::from_column_slice(&w_mv));
        spaced(r_mv)
            .into_iter()
            .map(|t| {
                if t <= r_mv {
                    return Ok(w_mv.clone());
                }
                let solve = |t| self.solve_conic(&Objective::EfficientReturn { target_return: t });
                // The very end of the frontier leaves a solver no interior; step back a hair.
                solve(t).or_else(|e| {
                    if t >= r_max {
                        solve(r_max - 1e-9 * (1.0 + r_max.abs()))
                    } else {
                        Err(e)
                    }
                })
            })
            .collect()
    }

    /// PyPortfolioOpt's pre-check for `efficient_risk`: `sqrt(1 / sum(pinv(Σ)))`.
    fn global_min_volatility(&self) -> f64 {
        if let Some(f) = &self.factor {
            return (1.0 / f.ones_inverse_ones()).sqrt();
        }
        let eig = self.cov.clone().symmetric_eigen();
        let top = eig.eigenvalues.amax();
        // numpy's pinv drops singular values below 1e-15 times the largest.
        let cutoff = 1e-15 * top;
        let ones = DVector::from_element(self.n, 1.0);
        let mut s = 0.0;
        for k in 0..self.n {
            let l = eig.eigenvalues[k];
            if l.abs() > cutoff {
                let p = eig.eigenvectors.column(k).dot(&ones);
                s += p * p / l;
            }
        }
        (1.0 / s).sqrt()
    }

    fn max_return(&self) -> Result<f64> {
        max_return(self.mu(), self.c)
    }

    /// Solves `objective` with clarabel (and branch and bound for a cardinality limit).
    fn solve_conic(&self, objective: &Objective) -> Result<Vec<f64>> {
        let model = self.conic_model(objective);
        let w = match &self.c.cardinality {
            Some(card) => cardinality::solve(model, card)?,
            None => match model.problem.solve()? {
                Outcome::Solved { x, .. } => model.weights(&x),
                Outcome::Infeasible => None,
                Outcome::Unbounded => {
                    return Err(AdvisorError::Solver("the problem is unbounded".into()))
                }
            },
        };
        match w {
            Some(w) => Ok(clean_weights(w, self.c)),
            None => Err(self.name_infeasible(objective)),
        }
    }

    /// The clarabel model of `objective` (PyPortfolioOpt's formulation).
    fn conic_model(&self, objective: &Objective) -> Model {
        let n = self.n;
        let sharpe = matches!(objective, Objective::MaxSharpe { .. });
        let mut m = Model::new(n, sharpe);
        m.add_weight_constraints(self.c);
        m.add_cost_terms(self.c);
        if let Some(card) = &self.c.cardinality {
            m.add_cardinality(self.c, card);
        }
        match *objective {
            Objective::MinVolatility => m.problem.quad = Some(self.hessian(2.0)),
            Objective::EfficientReturn { target_return } => {
                m.problem.quad = Some(self.hessian(2.0));
                let mu = self.mu();
                m.feasible_row(
                    (0..n).collect(),
                    mu.iter().copied().collect(),
                    target_return,
                    f64::INFINITY,
                );
            }
            Objective::QuadraticUtility { risk_aversion } => {
                m.problem.quad = Some(self.hessian(risk_aversion));
                for i in 0..n {
                    m.problem.q[i] -= self.mu()[i];
                }
            }
            Objective::MaxSharpe { risk_free } => {
                m.problem.quad = Some(self.hessian(2.0));
                let k = m.k.expect("sharpe model has k");
                let excess: Vec<f64> = self.mu().iter().map(|v| v - risk_free).collect();
                m.problem.row((0..n).collect(), excess, 1.0, 1.0);
                m.problem.row(vec![k], vec![1.0], 0.0, f64::INFINITY);
            }
            Objective::EfficientRisk { target_volatility } => {
                if self.c.l2_gamma > 0.0 {
                    m.problem.quad = Some(self.hessian(0.0));
                }
                for i in 0..n {
                    m.problem.q[i] -= self.mu()[i];
                }
                m.problem.soc = Some(conic::Soc {
                    g: self.risk_factor(),
                    radius: target_volatility,
                });
            }
        }
        m
    }

    /// `G` with `G'G = Σ`: `L'` from the Cholesky factor, else `diag(sqrt λ) V'` from the
    /// eigen decomposition (negative rounding noise dropped).
    fn risk_factor(&self) -> DMatrix<f64> {
        let n = self.n;
        if let Some(f) = &self.factor {
            return DMatrix::from_fn(n, n, |j, i| if i >= j { f.row(i)[j] } else { 0.0 });
        }
        let eig = self.cov.clone().symmetric_eigen();
        DMatrix::from_fn(n, n, |k, i| {
            eig.eigenvalues[k].max(0.0).sqrt() * eig.eigenvectors[(i, k)]
        })
    }

    /// Names the constraint behind an infeasible solve: whichever constraint
    /// [`diagnose_infeasible`] finds, else the objective's target, else the cardinality limit.
    fn name_infeasible(&self, objective: &Objective) -> AdvisorError {
        let base = diagnose_infeasible(self.n, self.c);
        let set_ok = matches!(&base, AdvisorError::Infeasible { constraint, .. } if constraint == "constraints");
        if !set_ok {
            return base;
        }
        match objective {
            Objective::EfficientRisk { .. } => {
                AdvisorError::infeasible("target_volatility", "below the least volatility reachable")
            }
            Objective::EfficientReturn { .. } => {
                AdvisorError::infeasible("target_return", "above the highest return reachable")
            }
            Objective::MaxSharpe { .. } => AdvisorError::impossible(
                "risk_free",
                "no portfolio under these constraints has an expected return above the risk-free rate",
            ),
            _ if self.c.cardinality.is_some() => AdvisorError::infeasible(
                "cardinality",
                "no portfolio meets the cardinality limit together with the other constraints",
            ),
            _ => base,
        }
    }
}

/// Checks `cov` is square, finite and symmetric (1e-8 relative).
fn validate_cov(cov: &DMatrix<f64>) -> Result<()> {
    let n = cov.nrows();
    if n == 0 || cov.ncols() != n {
        return Err(AdvisorError::invalid(
            "cov",
            format!(
                "covariance must be square and non-empty, got {} x {}",
                cov.nrows(),
                cov.ncols()
            ),
        ));
    }
    if let Some(k) = cov.iter().position(|v| !v.is_finite()) {
        return Err(AdvisorError::invalid(
            "cov",
            format!("entry ({}, {}) is not finite", k % n, k / n),
        ));
    }
    let scale = cov.amax().max(f64::MIN_POSITIVE);
    for j in 0..n {
        for i in 0..j {
            if (cov[(i, j)] - cov[(j, i)]).abs() > 1e-8 * scale {
                return Err(AdvisorError::invalid(
                    "cov",
                    format!("not symmetric at ({i}, {j})"),
                ));
            }
        }
    }
    Ok(())
}

/// Rejects a covariance whose smallest eigenvalue is below `-1e-10` times its largest diagonal
/// entry (called only when the Cholesky factorisation fails).
fn check_psd(cov: &DMatrix<f64>) -> Result<()> {
    let scale = cov.diagonal().amax();
    let min = cov.clone().symmetric_eigenvalues().min();
    if min < -1e-10 * scale {
        return Err(AdvisorError::NotPositiveSemidefinite {
            field: "cov".into(),
            min_eigenvalue: min,
        });
    }
    Ok(())
}

/// The highest `mu'w` the constraints allow (PyPortfolioOpt `_max_return`, with the turnover
/// cap where set), by a greedy fill when only bounds and the budget apply, else by clarabel;
/// `inf` when unbounded.
pub(crate) fn max_return(mu: &DVector<f64>, c: &Constraints) -> Result<f64> {
    Ok(match max_return_point(mu, c)? {
        Some(w) => mu.dot(&DVector::from_vec(w)),
        None => f64::INFINITY,
    })
}

/// A portfolio with the highest `mu'w` (see [`max_return`]); `None` when unbounded.
pub(crate) fn max_return_point(mu: &DVector<f64>, c: &Constraints) -> Result<Option<Vec<f64>>> {
    let n = mu.len();
    let finite = c.lower.iter().chain(c.upper.iter()).all(|v| v.is_finite());
    if finite && c.groups.is_empty() && c.max_turnover.is_none() {
        return Ok(Some(greedy_max_return(mu, c)));
    }
    let mut m = Model::new(n, false);
    m.add_weight_constraints(c);
    let mut only_turnover = c.clone();
    only_turnover.transaction_cost = 0.0;
    m.add_cost_terms(&only_turnover);
    for i in 0..n {
        m.problem.q[i] = -mu[i];
    }
    match m.problem.solve()? {
        Outcome::Solved { x, .. } => Ok(Some(clean_weights(x[..n].to_vec(), c))),
        Outcome::Unbounded => Ok(None),
        Outcome::Infeasible => Err(diagnose_infeasible(n, c)),
    }
}

/// The max-return portfolio under finite bounds and the budget: everything at its lower bound,
/// then the remaining budget to the highest returns first.
fn greedy_max_return(mu: &DVector<f64>, c: &Constraints) -> Vec<f64> {
    let n = mu.len();
    let mut w: Vec<f64> = c.lower.iter().copied().collect();
    let mut budget = 1.0 - c.lower.sum();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| mu[b].total_cmp(&mu[a]));
    for i in order {
        if budget <= 0.0 {
            break;
        }
        let add = (c.upper[i] - c.lower[i]).min(budget);
        w[i] += add;
        budget -= add;
    }
    w
}

/// Clips clarabel's weights into their bounds where they stray by no more than `1e-7` (its
/// tolerance), e.g. `-1e-11` for a long-only asset.
pub(crate) fn clean_weights(mut w: Vec<f64>, c: &Constraints) -> Vec<f64> {
    for (i, v) in w.iter_mut().enumerate() {
        if *v < c.lower[i] && *v >= c.lower[i] - 1e-7 {
            *v = c.lower[i];
        } else if *v > c.upper[i] && *v <= c.upper[i] + 1e-7 {
            *v = c.upper[i];
        }
    }
    w
}

/// Finds which constraint makes the feasible set empty: a single group (analytically, in
/// [`Constraints::validate`]), the groups together ("groups"), the turnover cap
/// ("max_turnover"); "constraints" when the set is not empty (the cardinality limit and any
/// target are not considered).
pub(crate) fn diagnose_infeasible(n: usize, c: &Constraints) -> AdvisorError {
    if let Err(e) = c.validate(n) {
        return e;
    }
    let feasible = |with_groups: bool, with_turnover: bool| -> Option<bool> {
        let mut c2 = c.clone();
        c2.transaction_cost = 0.0;
        c2.cardinality = None;
        if !with_groups {
            c2.groups.clear();
        }
        if !with_turnover {
            c2.max_turnover = None;
        }
        let mut m = Model::new(n, false);
        m.add_weight_constraints(&c2);
        m.add_cost_terms(&c2);
        match m.problem.solve() {
            Ok(Outcome::Infeasible) => Some(false),
            Ok(_) => Some(true),
            Err(_) => None,
        }
    };
    if !c.groups.is_empty() && feasible(true, false) == Some(false) {
        return AdvisorError::infeasible(
            "groups",
            "the group limits cannot all hold together with the bounds",
        );
    }
    if c.max_turnover.is_some() && feasible(true, true) == Some(false) {
        return AdvisorError::infeasible(
            "max_turnover",
            "no portfolio within the bounds and group limits is reachable within the turnover cap",
        );
    }
    AdvisorError::infeasible("constraints", "the constraints admit no portfolio")
}

/// A feasible point of the bounds, the budget and the group limits, as central as cheaply
/// possible: every weight the same fraction of the way from its lower to its upper bound, or,
/// when that breaks a group limit, clarabel's answer to the feasibility problem.
fn feasible_point(n: usize, c: &Constraints) -> Result<Vec<f64>> {
    let w = central_point(c);
    let groups_ok = c.groups.iter().all(|g| {
        let s: f64 = g.members.iter().map(|&i| w[i]).sum();
        s >= g.lower && s <= g.upper
    });
    if groups_ok {
        return Ok(w);
    }
    let mut m = Model::new(n, false);
    m.add_weight_constraints(c);
    match m.problem.solve()? {
        Outcome::Solved { x, .. } => Ok(clean_weights(x[..n].to_vec(), c)),
        _ => Err(diagnose_infeasible(n, c)),
    }
}

/// `w_i = l_i + θ (u_i - l_i)` with `θ` making the weights sum to one; infinite bounds are
/// replaced by finite ones one unit beyond zero for this purpose.
fn central_point(c: &Constraints) -> Vec<f64> {
    let lo: Vec<f64> = c
        .lower
        .iter()
        .zip(c.upper.iter())
        .map(|(&l, &u)| if l.is_finite() { l } else { u.min(0.0) - 1.0 })
        .collect();
    let hi: Vec<f64> = c
        .upper
        .iter()
        .zip(&lo)
        .map(|(&u, &l)| if u.is_finite() { u } else { l.max(0.0) + 1.0 })
        .collect();
    let span: f64 = lo.iter().zip(&hi).map(|(l, h)| h - l).sum();
    let theta = if span > 0.0 {
        ((1.0 - lo.iter().sum::<f64>()) / span).clamp(0.0, 1.0)
    } else {
        0.0
    };
    lo.iter()
        .zip(&hi)
        .map(|(l, h)| l + theta * (h - l))
        .collect()
}

#[cfg(test)]
mod tests;
