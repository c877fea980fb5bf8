//! Tail-risk optimisation with PyPortfolioOpt 1.6.0's `EfficientCVaR` and `EfficientCDaR`
//! formulations (Rockafellar-Uryasev), solved by clarabel at 1e-10 tolerances.
//!
//! Conventions: `scenarios` is a `T x n` matrix of periodic (e.g. daily) simple returns, one
//! row per period in time order, complete; `beta` is the confidence level (0.95: the worst 5 %
//! of periods). The returned risk is a positive fraction in the scenarios' own period:
//! - CVaR: `min_a a + 1 / (T (1 - beta)) sum_t max(-r_t'w - a, 0)`, the mean loss in the tail;
//! - CDaR: the same on drawdowns `D_t = max(0, D_{t-1} - r_t'w)` (`D_0 = 0`), drawdowns of the
//!   uncompounded cumulative return as PyPortfolioOpt models them.
//!
//! The risk is recomputed exactly from the optimal weights (sorting the losses), which equals
//! the linear program's optimum. Without a target the risk is minimised (`min_cvar`,
//! `min_cdar`); with `(mu, target)` it is minimised subject to `mu'w >= target`
//! (`efficient_return`); a target above the highest reachable return is ImpossibleTarget
//! ("target_return"). All [`Constraints`] apply as in [`crate::optimise`]: bounds, groups, L2
//! and transaction costs added to the objective, and the Sextant turnover and cardinality
//! limits. Deviation: PyPortfolioOpt's `EfficientCDaR.efficient_return` rejects negative
//! targets (a cvxpy `nonneg` parameter); Sextant accepts them.

use crate::optimise::conic::Outcome;
use crate::optimise::model::Model;
use crate::optimise::{self, Constraints};
use crate::{AdvisorError, DMatrix, DVector, Result};

/// Minimum CVaR weights and their CVaR (`EfficientCVaR.min_cvar` / `efficient_return`).
pub fn min_cvar(
    scenarios: &DMatrix<f64>,
    beta: f64,
    constraints: &Constraints,
    target: Option<(&DVector<f64>, f64)>,
) -> Result<(DVector<f64>, f64)> {
    let model = prepare(scenarios, beta, constraints, target)?;
    let model = add_cvar(model, scenarios, beta);
    let w = solve(model, constraints, target)?;
    let losses = portfolio_returns(scenarios, &w)
        .map(|r| -r)
        .collect::<Vec<_>>();
    let risk = tail_mean(&losses, beta);
    Ok((w, risk))
}

/// Minimum CDaR weights and their CDaR (`EfficientCDaR.min_cdar` / `efficient_return`).
pub fn min_cdar(
    scenarios: &DMatrix<f64>,
    beta: f64,
    constraints: &Constraints,
    target: Option<(&DVector<f64>, f64)>,
) -> Result<(DVector<f64>, f64)> {
    let model = prepare(scenarios, beta, constraints, target)?;
    let model = add_cdar(model, scenarios, beta);
    let w = solve(model, constraints, target)?;
    let mut drawdown = 0.0;
    let drawdowns: Vec<f64> = portfolio_returns(scenarios, &w)
        .map(|r| {
            drawdown = f64::max(0.0, drawdown - r);
            drawdown
        })
        .collect();
    let risk = tail_mean(&drawdowns, beta);
    Ok((w, risk))
}

/// Validates the inputs and builds the weights' constraints, costs and target.
fn prepare(
    scenarios: &DMatrix<f64>,
    beta: f64,
    c: &Constraints,
    target: Option<(&DVector<f64>, f64)>,
) -> Result<Model> {
    let (t, n) = scenarios.shape();
    if t == 0 || n == 0 {
        return Err(AdvisorError::invalid(
            "scenarios",
            "no scenarios or no assets",
        ));
    }
    if let Some(k) = scenarios.iter().position(|v| !v.is_finite()) {
        return Err(AdvisorError::invalid(
            "scenarios",
            format!("return at row {}, column {} is not finite", k % t, k / t),
        ));
    }
    if !(0.0..1.0).contains(&beta) {
        return Err(AdvisorError::invalid(
            "beta",
            "the confidence level must be in [0, 1)",
        ));
    }
    c.validate(n)?;
    let mut m = Model::new(n, false);
    m.add_weight_constraints(c);
    m.add_cost_terms(c);
    if c.l2_gamma > 0.0 {
        m.problem.quad = Some(DMatrix::identity(n, n) * (2.0 * c.l2_gamma));
    }
    if let Some(card) = &c.cardinality {
        m.add_cardinality(c, card);
    }
    if let Some((mu, r)) = target {
        check_target(mu, r, c)?;
        m.feasible_row(
            (0..n).collect(),
            mu.iter().copied().collect(),
            r,
            f64::INFINITY,
        );
    }
    Ok(m)
}

fn check_target(mu: &DVector<f64>, r: f64, c: &Constraints) -> Result<()> {
    let n = c.lower.len();
    if mu.len() != n {
        return Err(AdvisorError::invalid(
            "mu",
            format!("{} expected returns for {n} assets", mu.len()),
        ));
    }
    if let Some(i) = mu.iter().position(|v| !v.is_finite()) {
        return Err(AdvisorError::invalid(
            format!("mu[{i}]"),
            "not a finite return",
        ));
    }
    if !r.is_finite() {
        return Err(AdvisorError::invalid(
            "target_return",
            "not a finite return",
        ));
    }
    let r_max = optimise::max_return(mu, c)?;
    if r > r_max + 1e-12 * (1.0 + r_max.abs()) {
        return Err(AdvisorError::impossible(
            "target_return",
            format!("target return {r} is above {r_max}, the maximum return reachable under these constraints; reachable targets are at most {r_max}"),
        ));
    }
    Ok(())
}

/// Variables `a` and `u_t >= max(-r_t'w - a, 0)`; objective `a + sum u / (T (1 - beta))`.
fn add_cvar(mut m: Model, scenarios: &DMatrix<f64>, beta: f64) -> Model {
    let (t, n) = scenarios.shape();
    let alpha = m.problem.add_var();
    m.problem.q[alpha] += 1.0;
    let weight = 1.0 / (t as f64 * (1.0 - beta));
    for s in 0..t {
        let u = m.problem.add_var();
        m.problem.q[u] += weight;
        m.problem.row(vec![u], vec![1.0], 0.0, f64::INFINITY);
        let (mut idx, mut val): (Vec<usize>, Vec<f64>) =
            (0..n).map(|i| (i, scenarios[(s, i)])).unzip();
        idx.extend([alpha, u]);
        val.extend([1.0, 1.0]);
        m.problem.row(idx, val, 0.0, f64::INFINITY);
    }
    m
}

/// Variables `a`, `u_0..u_T` (running drawdown, `u_0 = 0`, `u_t >= u_{t-1} - r_t'w`,
/// `u_t >= 0`) and `z_t >= max(u_t - a, 0)`; objective `a + sum z / (T (1 - beta))`.
fn add_cdar(mut m: Model, scenarios: &DMatrix<f64>, beta: f64) -> Model {
    let (t, n) = scenarios.shape();
    let alpha = m.problem.add_var();
    m.problem.q[alpha] += 1.0;
    let weight = 1.0 / (t as f64 * (1.0 - beta));
    let mut prev = m.problem.add_var();
    m.problem.row(vec![prev], vec![1.0], 0.0, 0.0);
    for s in 0..t {
        let u = m.problem.add_var();
        let z = m.problem.add_var();
        m.problem.q[z] += weight;
        m.problem.row(vec![u], vec![1.0], 0.0, f64::INFINITY);
        m.problem.row(vec![z], vec![1.0], 0.0, f64::INFINITY);
        m.problem
            .row(vec![z, u, alpha], vec![1.0, -1.0, 1.0], 0.0, f64::INFINITY);
        let (mut idx, mut val): (Vec<usize>, Vec<f64>) =
            (0..n).map(|i| (i, scenarios[(s, i)])).unzip();
        idx.extend([u, prev]);
        val.extend([1.0, -1.0]);
        m.problem.row(idx, val, 0.0, f64::INFINITY);
        prev = u;
    }
    m
}

fn solve(
    model: Model,
    c: &Constraints,
    target: Option<(&DVector<f64>, f64)>,
) -> Result<DVector<f64>> {
    let n = model.n;
    let w = match &c.cardinality {
        Some(card) => optimise::cardinality::solve(model, card)?,
        None => match model.problem.solve()? {
            Outcome::Solved { x, .. } => model.weights(&x),
            Outcome::Infeasible => None,
            Outcome::Unbounded => {
                return Err(AdvisorError::Solver("the problem is unbounded".into()))
            }
        },
    };
    let Some(w) = w else {
        let base = optimise::diagnose_infeasible(n, c);
        let set_ok = matches!(&base, AdvisorError::Infeasible { constraint, .. } if constraint == "constraints");
        return Err(match (set_ok, target) {
            (true, Some((_, r))) => AdvisorError::impossible(
                "target_return",
                format!("target return {r} is not reachable under these constraints"),
            ),
            (true, None) if c.cardinality.is_some() => AdvisorError::infeasible(
                "cardinality",
                "no portfolio meets the cardinality limit together with the other constraints",
            ),
            _ => base,
        });
    };
    Ok(DVector::from_vec(optimise::clean_weights(w, c)))
}

fn portfolio_returns<'s>(
    scenarios: &'s DMatrix<f64>,
    w: &'s DVector<f64>,
) -> impl Iterator<Item = f64> + 's {
    (0..scenarios.nrows()).map(move |s| scenarios.row(s).transpose().dot(w))
}

/// `min_a a + sum max(x_t - a, 0) / (T (1 - beta))`: the function is convex and piecewise
/// linear in `a` with kinks at the observations, so its minimum is at one of them.
fn tail_mean(x: &[f64], beta: f64) -> f64 {
    let t = x.len() as f64;
    let weight = 1.0 / (t * (1.0 - beta));
    let mut sorted = x.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    // With the values sorted descending, a = sorted[k] gives a + weight * sum_{i<k} (sorted[i] - a).
    let mut best = f64::INFINITY;
    let mut prefix = 0.0;
    for (k, &a) in sorted.iter().enumerate() {
        let v = a + weight * (prefix - k as f64 * a);
        best = best.min(v);
        prefix += a;
    }
    best
}

#[cfg(test)]
mod tests {
    //! Reference weights and risks from PyPortfolioOpt 1.6.0 `EfficientCVaR` /
    //! `EfficientCDaR(mu, pd.DataFrame(R), beta, weight_bounds)` with `solver="CLARABEL"` and
    //! tolerances 1e-10, on the deterministic returns `R = scenarios(150, 8)` (the same formula
    //! in Python), `mu = R.mean(0) * 252`.
    use super::*;
    use crate::optimise::{Cardinality, GroupLimit};
    use proptest::prelude::*;

    const N: usize = 8;

    fn scenarios(t: usize, n: usize) -> DMatrix<f64> {
        DMatrix::from_fn(t, n, |s, i| {
            let (tt, fi) = ((s + 1) as f64, i as f64);
            let f = 0.01 * (0.71 * tt).sin() + 0.004 * (2.3 * tt + 0.4).sin();
            0.0002 * (fi + 1.0)
                + (0.3 + 0.25 * fi) * f
                + 0.008 * (1.0 + 0.1 * fi) * (0.37 * tt * (fi + 2.0) + 1.3 * fi).sin()
        })
    }

    fn mu(r: &DMatrix<f64>) -> DVector<f64> {
        r.row_mean().transpose() * 252.0
    }

    fn close(w: &DVector<f64>, want: &[f64], tol: f64) -> bool {
        w.iter().zip(want).all(|(a, b)| (a - b).abs() < tol)
    }

    type Solver = fn(
        &DMatrix<f64>,
        f64,
        &Constraints,
        Option<(&DVector<f64>, f64)>,
    ) -> Result<(DVector<f64>, f64)>;

    /// Name, solver, beta, constraints, target return, weights, risk.
    type Reference = (
        &'static str,
        Solver,
        f64,
        Constraints,
        Option<f64>,
        [f64; N],
        f64,
    );

    fn sectors() -> Constraints {
        let g = |name: &str, members: [usize; 2], lower: f64, upper: f64| GroupLimit {
            name: name.into(),
            members: members.to_vec(),
            lower,
            upper,
        };
        let inf = f64::INFINITY;
        Constraints {
            groups: vec![
                g("a", [0, 1], -inf, 0.5),
                g("b", [2, 3], 0.2, inf),
                g("c", [4, 5], -inf, 0.3),
                g("d", [6, 7], 0.1, inf),
            ],
            ..Constraints::long_only(N)
        }
    }

    #[test]
    #[rustfmt::skip]
    fn weights_and_risk_match_pypfopt() {
        let r = scenarios(150, N);
        let mu = mu(&r);
        let long = Constraints::long_only(N);
        let l2 = Constraints { l2_gamma: 0.05, ..Constraints::long_only(N) };
        let cases: Vec<Reference> = vec![
            // EfficientCVaR(...).min_cvar()
            ("min_cvar", min_cvar, 0.95, long.clone(), None,
             [0.4560177743590026, 0.347663841318175, 0.1942156181090619, 2.52947e-11, 0.0021027661093342, 2.95954e-11, 2.23854e-11, 2.71512e-11],
             0.008923053957737391),
            // EfficientCVaR(..., beta=0.9).min_cvar()
            ("min_cvar beta 0.9", min_cvar, 0.9, long.clone(), None,
             [0.5942083418842595, 0.269705419812622, 0.1360862382958145, 2.2414e-12, 2.807e-12, 8.425e-13, 7.552e-13, 6.58e-13],
             0.007609427538509874),
            // EfficientCVaR(...).efficient_return(0.25)
            ("cvar efficient_return", min_cvar, 0.95, long.clone(), Some(0.25),
             [0.1500784242151617, 0.0702280397528725, 0.0933554727134886, 3.28805e-11, 0.1075153815637318, 0.2222668036212787, 0.1434005242552558, 0.2131553538453305],
             0.015553411626130026),
            // EfficientCVaR(..., weight_bounds=(-0.5, 1)).min_cvar()
            ("shorts min_cvar", min_cvar, 0.95, Constraints::bounded(N, -0.5, 1.0), None,
             [0.9999999997910036, 0.1080868422609902, -0.2252473935095043, -0.0758178490174846, 0.4276011552528362, 0.176836903046982, -0.1913388659391111, -0.2201207918857118],
             0.0076874623527615074),
            // add_objective(objective_functions.L2_reg, gamma=0.05); min_cvar()
            ("L2 min_cvar", min_cvar, 0.95, l2, None,
             [0.2185601054103343, 0.178518185671392, 0.1839460518140103, 0.0982805167854374, 0.1169802294374756, 0.1014136596595359, 0.0474055565796298, 0.0548956946421848],
             0.01097109550570966),
            // EfficientCDaR(...).min_cdar()
            ("min_cdar", min_cdar, 0.95, long.clone(), None,
             [0.2663170101935212, 0.2855913787013421, 0.4480916109562632, 1.390877e-10, 6.6587e-12, 1.572e-12, 8.694e-13, 6.859e-13],
             0.021065877758977565),
            // EfficientCDaR(...).efficient_return(0.25)
            ("cdar efficient_return", min_cdar, 0.95, long.clone(), Some(0.25),
             [0.1238918025896148, 0.1458305392150512, 8.893e-13, 0.1034097577191742, 0.1338990776440306, 0.1617046034855533, 0.0101874163714233, 0.3210768029742634],
             0.0377834187891655),
            // add_sector_constraints({0: "a", 1: "a", 2: "b", 3: "b", 4: "c", 5: "c", 6: "d", 7: "d"},
            //     {"b": 0.2, "d": 0.1}, {"a": 0.5, "c": 0.3}); min_cdar()
            ("sectors min_cdar", min_cdar, 0.95, sectors(), None,
             [0.1907864688934624, 0.30921353110574, 0.3999999999985588, 1.4178e-12, 5.487e-13, 1.541e-13, 0.0999999999997016, 4.164e-13],
             0.023097335680476727),
        ];
        for (name, solver, beta, c, target, want, risk) in cases {
            let (w, got) = solver(&r, beta, &c, target.map(|t| (&mu, t))).expect(name);
            assert!(close(&w, &want, 1e-6), "{name}: {w}");
            assert!((got - risk).abs() < 1e-8, "{name}: risk {got} vs {risk}");
        }
    }

    #[test]
    fn tail_mean_matches_the_worst_fraction() {
        // Losses 1..=20, beta 0.9: the worst two (19, 20) average 19.5.
        let x: Vec<f64> = (1..=20).map(f64::from).collect();
        assert!((tail_mean(&x, 0.9) - 19.5).abs() < 1e-12);
        // A fractional tail: the worst 2.5 of 10 values.
        let x: Vec<f64> = (1..=10).map(f64::from).collect();
        assert!((tail_mean(&x, 0.75) - (10.0 + 9.0 + 0.5 * 8.0) / 2.5).abs() < 1e-12);
    }

    #[test]
    fn bad_inputs_and_targets_are_named() {
        let r = scenarios(60, N);
        let mu = mu(&r);
        let c = Constraints::long_only(N);
        let e = min_cvar(&r, 1.0, &c, None).unwrap_err();
        assert_eq!(e.field(), Some("beta"));
        let e = min_cdar(&r, 0.95, &c, Some((&mu, 5.0))).unwrap_err();
        assert_eq!(
            (e.code(), e.field()),
            ("impossible_target", Some("target_return"))
        );
        let e = min_cvar(&r, 0.95, &Constraints::bounded(N, 0.2, 1.0), None).unwrap_err();
        assert_eq!(e.field(), Some("bounds"));
        let e = min_cvar(&DMatrix::zeros(0, N), 0.95, &c, None).unwrap_err();
        assert_eq!(e.field(), Some("scenarios"));
    }

    #[test]
    fn cardinality_limits_the_holdings() {
        let r = scenarios(60, N);
        let c = Constraints {
            cardinality: Some(Cardinality {
                max_assets: 2,
                min_weight: 0.2,
            }),
            ..Constraints::long_only(N)
        };
        let (w, risk) = min_cvar(&r, 0.9, &c, None).expect("solves");
        let held: Vec<usize> = (0..N).filter(|&i| w[i] > 1e-9).collect();
        assert!(
            held.len() <= 2 && held.iter().all(|&i| w[i] >= 0.2 - 1e-9),
            "{w}"
        );
        // No pair does better.
        for a in 0..N {
            for b in a + 1..N {
                let mut pair = Constraints::long_only(N);
                pair.upper = DVector::from_fn(N, |i, _| f64::from(i == a || i == b));
                pair.lower = DVector::from_fn(N, |i, _| if i == a || i == b { 0.2 } else { 0.0 });
                let (_, other) = min_cvar(&r, 0.9, &pair, None).expect("solves");
                assert!(risk <= other + 1e-8, "pair ({a}, {b}): {other} < {risk}");
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn weights_are_feasible_and_no_worse_than_equal_weights(
            t in 20usize..80, lo in 0.0f64..0.1, hi in 0.3f64..1.0, beta in 0.5f64..0.99,
        ) {
            let r = scenarios(t, N);
            let c = Constraints::bounded(N, lo, hi);
            let equal = DVector::from_element(N, 1.0 / N as f64);
            for solver in [min_cvar as Solver, min_cdar] {
                let (w, risk) = solver(&r, beta, &c, None).expect("solves");
                prop_assert!((w.sum() - 1.0).abs() < 1e-8);
                prop_assert!(w.iter().all(|&v| v >= lo - 1e-9 && v <= hi + 1e-9));
                // The equal-weight portfolio is feasible; its risk, by the same measure.
                let (_, fixed) = solver(&r, beta, &Constraints { lower: equal.clone(), upper: equal.clone(), ..c.clone() }, None)
                    .expect("solves");
                prop_assert!(risk <= fixed + 1e-9, "{} > {}", risk, fixed);
            }
        }
    }
}
