//! The exact route for linearly constrained problems: the minimum-volatility (or quadratic
//! utility) portfolio by the active-set method, then the efficient frontier by continuation in
//! the target return, which also gives efficient return, efficient risk (the point whose
//! volatility is the target) and max Sharpe (the point where the Sharpe ratio peaks: on the
//! frontier it is unimodal in the target return).
//!
//! Each function returns `Ok(None)` when the active-set method stalls or cannot certify its
//! answer; the caller then solves with clarabel.

use super::active_set::{ActiveSet, DenseQp, DenseRow, FullFactor, Segment};
use super::{feasible_point, max_return_point, Input};
use crate::{AdvisorError, DMatrix, DVector, Result};

/// The dense QP `min ½ x'Hx + linear'x` with the budget, the group limits and (as the last
/// row, inactive until the continuation moves it) `mu'w >= t`.
fn dense_qp(input: &Input, h: DMatrix<f64>, linear: Vec<f64>, with_target: bool) -> DenseQp {
    let n = input.n;
    let c = input.c;
    let mut rows = vec![DenseRow {
        a: vec![1.0; n],
        lo: 1.0,
        hi: 1.0,
    }];
    for g in &c.groups {
        if g.lower.is_finite() || g.upper.is_finite() {
            let mut a = vec![0.0; n];
            g.members.iter().for_each(|&i| a[i] = 1.0);
            rows.push(DenseRow {
                a,
                lo: g.lower,
                hi: g.upper,
            });
        }
    }
    if with_target {
        rows.push(DenseRow {
            a: input.mu().iter().copied().collect(),
            lo: f64::NEG_INFINITY,
            hi: f64::INFINITY,
        });
    }
    DenseQp {
        h,
        q: linear,
        rows,
        lower: c.lower.iter().copied().collect(),
        upper: c.upper.iter().copied().collect(),
    }
}

/// Rounds of the primal-dual active-set method before the primal one takes over.
const SETTLE_ROUNDS: usize = 30;

/// Solves `qp` (whose `H` is `curvature * Σ`, plus the L2 term) from a central feasible point
/// by [`ActiveSet::settle`], else [`ActiveSet::solve`]; the covariance's Cholesky factor is
/// reused when there is no L2 term. `None` unless the answer is certified.
fn solved<'q>(input: &Input, qp: &'q DenseQp, curvature: f64) -> Result<Option<ActiveSet<'q>>> {
    let x0 = feasible_point(input.n, input.c)?;
    let factor = match &input.factor {
        Some(f) if input.c.l2_gamma == 0.0 => Some(f.scaled(curvature)),
        _ => None,
    };
    let Ok(mut s) = ActiveSet::start(qp, &x0, factor.as_ref()) else {
        return Ok(None);
    };
    if s.settle(SETTLE_ROUNDS) == Ok(true) && s.certify() {
        return Ok(Some(s));
    }
    Ok(solved_from(qp, &x0, factor.as_ref()))
}

/// The primal active-set method from the feasible `x0`, certified.
fn solved_from<'q>(
    qp: &'q DenseQp,
    x0: &[f64],
    factor: Option<&FullFactor>,
) -> Option<ActiveSet<'q>> {
    let mut s = ActiveSet::start(qp, x0, factor).ok()?;
    (s.solve().is_ok() && s.certify()).then_some(s)
}

pub(super) fn min_volatility(input: &Input) -> Result<Option<Vec<f64>>> {
    let qp = dense_qp(input, input.hessian(2.0), vec![0.0; input.n], false);
    Ok(solved(input, &qp, 2.0)?.map(|s| s.x))
}

pub(super) fn quadratic_utility(input: &Input, risk_aversion: f64) -> Result<Option<Vec<f64>>> {
    let linear = input.mu().iter().map(|v| -v).collect();
    let qp = dense_qp(input, input.hessian(risk_aversion), linear, false);
    Ok(solved(input, &qp, risk_aversion)?.map(|s| s.x))
}

/// The efficient-return portfolio for each target (ascending, at most `r_max`), or, with
/// `targets` = None, for `points` targets spaced evenly from the min-volatility return to
/// `r_max`.
pub(super) fn frontier(
    input: &Input,
    targets: &dyn Fn(f64) -> Vec<f64>,
    r_max: f64,
) -> Result<Option<Vec<Vec<f64>>>> {
    let qp = dense_qp(input, input.hessian(2.0), vec![0.0; input.n], true);
    let row = qp.rows.len() - 1;
    let Some(mut s) = solved(input, &qp, 2.0)? else {
        return Ok(None);
    };
    let w_mv = s.x.clone();
    let r_mv = dot(input.mu().as_slice(), &w_mv);
    let mut top = None;
    let mut out = Vec::new();
    for t in targets(r_mv) {
        if t <= r_mv {
            out.push(w_mv.clone());
            continue;
        }
        let t = t.min(r_max);
        if s.advance(row, t, &mut |_| None).is_err() || !s.certify() {
            // A degenerate vertex: solve at the target afresh and carry on from there.
            let from = s.x.clone();
            let Some(restarted) = restart(input, &qp, row, t, &from, &mut top)? else {
                return Ok(None);
            };
            s = restarted;
        }
        out.push(s.x.clone());
    }
    Ok(Some(out))
}

/// The optimum at target return `t` solved afresh by the primal active-set method, from the
/// feasible mix of `from` (optimal for a lower target) and a max-return portfolio (`top`,
/// found on first use). The continuation stalls where a vertex of the frontier is degenerate
/// (e.g. more active rows than free assets once the target row joins); this steps past it.
fn restart<'q>(
    input: &Input,
    qp: &'q DenseQp,
    row: usize,
    t: f64,
    from: &[f64],
    top: &mut Option<Option<Vec<f64>>>,
) -> Result<Option<ActiveSet<'q>>> {
    if top.is_none() {
        *top = Some(max_return_point(input.mu(), input.c)?);
    }
    let Some(Some(peak)) = top.as_ref() else {
        return Ok(None);
    };
    let mu = input.mu().as_slice();
    let (r_from, r_peak) = (dot(mu, from), dot(mu, peak));
    if r_peak <= r_from {
        return Ok(None);
    }
    let theta = ((t - r_from) / (r_peak - r_from)).clamp(0.0, 1.0);
    let x0: Vec<f64> = from
        .iter()
        .zip(peak)
        .map(|(a, b)| a + theta * (b - a))
        .collect();
    let Ok(mut s) = ActiveSet::start(qp, &x0, None) else {
        return Ok(None);
    };
    s.set_row_lower(row, t);
    let reached = |s: &ActiveSet| dot(mu, &s.x) >= t - 1e-12 * (1.0 + t.abs());
    Ok((s.solve().is_ok() && s.certify() && reached(&s)).then_some(s))
}

/// Follows the frontier from the minimum-volatility portfolio until `stop` fires (or `r_max`).
/// Past a degenerate vertex it restarts a hair further on (1e-10 relative in the target);
/// `passed(from, to)` says whether the stopping point lay in that hair, and then `from` is the
/// answer (off by at most the hair times the weights' slope in the target).
fn follow(
    input: &Input,
    r_max: f64,
    on_start: &dyn Fn(&[f64]) -> Result<()>,
    stop: &mut dyn FnMut(&Segment) -> Option<f64>,
    passed: &dyn Fn(&[f64], &[f64]) -> bool,
) -> Result<Option<Vec<f64>>> {
    let qp = dense_qp(input, input.hessian(2.0), vec![0.0; input.n], true);
    let row = qp.rows.len() - 1;
    let Some(mut s) = solved(input, &qp, 2.0)? else {
        return Ok(None);
    };
    on_start(&s.x)?;
    let mu = input.mu().as_slice();
    let mut top = None;
    for _ in 0..MAX_RESTARTS {
        if s.advance(row, r_max, stop).is_ok() && s.certify() {
            return Ok(Some(s.x));
        }
        let from = s.x.clone();
        let r = dot(mu, &from);
        let t = r + (1e-10 * (1.0 + r.abs())).min(0.5 * (r_max - r));
        let Some(restarted) = restart(input, &qp, row, t, &from, &mut top)? else {
            return Ok(None);
        };
        if passed(&from, &restarted.x) {
            return Ok(Some(from));
        }
        s = restarted;
    }
    Ok(None)
}

/// Restarts past degenerate vertices before [`follow`] gives up (and clarabel takes over).
const MAX_RESTARTS: usize = 50;

/// `(x'Σx, x'Σdx, dx'Σdx)` for a segment: the variance is `a + 2 b s + c s²` along it. Only
/// the nonzero entries are visited: frontier portfolios hold few of many assets.
fn variance_terms(input: &Input, seg: &Segment) -> (f64, f64, f64) {
    let support: Vec<usize> = (0..input.n)
        .filter(|&i| seg.x[i] != 0.0 || seg.dx[i] != 0.0)
        .collect();
    let (mut a, mut b, mut c) = (0.0, 0.0, 0.0);
    for &j in &support {
        let col = input.cov.column(j);
        let (mut sx, mut sdx) = (0.0, 0.0);
        for &i in &support {
            sx += col[i] * seg.x[i];
            sdx += col[i] * seg.dx[i];
        }
        a += seg.x[j] * sx;
        b += seg.x[j] * sdx;
        c += seg.dx[j] * sdx;
    }
    (a, b, c)
}

/// Efficient risk without L2: the frontier point whose volatility is the target (or the
/// max-return end when even that is less volatile).
pub(super) fn efficient_risk(input: &Input, target: f64, r_max: f64) -> Result<Option<Vec<f64>>> {
    let goal = target * target;
    let on_start = |x: &[f64]| -> Result<()> {
        let x = DVector::from_column_slice(x);
        let least = (input.cov * &x).dot(&x).max(0.0).sqrt();
        if least > target * (1.0 + 1e-12) {
            return Err(AdvisorError::impossible(
                "target_volatility",
                format!("target volatility {target} is below {least}, the minimum volatility reachable under these constraints; reachable targets start at {least}"),
            ));
        }
        Ok(())
    };
    let mut stop = |seg: &Segment| -> Option<f64> {
        let (a, b, c) = variance_terms(input, seg);
        if a >= goal {
            return Some(0.0);
        }
        if c <= 0.0 {
            return None;
        }
        let disc = (b * b - c * (a - goal)).max(0.0);
        let s = (-b + disc.sqrt()) / c;
        (s <= seg.max_step).then_some(s)
    };
    let passed = |_: &[f64], to: &[f64]| variance(input, to) > goal;
    follow(input, r_max, &on_start, &mut stop, &passed)
}

/// Max Sharpe without L2 or costs: along a segment the Sharpe ratio's slope has the sign of
/// `D(s) = (a - e b) + s (b - e c)` with `e = t - risk_free`, linear in the step `s`, so the
/// peak is where `D` changes sign.
pub(super) fn max_sharpe(input: &Input, risk_free: f64, r_max: f64) -> Result<Option<Vec<f64>>> {
    let mut stop = |seg: &Segment| -> Option<f64> {
        let (a, b, c) = variance_terms(input, seg);
        let e = seg.t - risk_free;
        let d0 = a - e * b;
        let slope = b - e * c;
        if d0 + slope * seg.max_step >= 0.0 {
            return None;
        }
        if d0 <= 0.0 {
            return Some(0.0);
        }
        Some(-d0 / slope)
    };
    let sharpe =
        |w: &[f64]| (dot(input.mu().as_slice(), w) - risk_free) / variance(input, w).sqrt();
    let passed = |from: &[f64], to: &[f64]| sharpe(to) < sharpe(from);
    follow(input, r_max, &|_| Ok(()), &mut stop, &passed)
}

/// Efficient risk with L2 (`max mu'w - gamma ||w||²` s.t. `w'Σw <= target²`), exactly: for
/// a multiplier `nu >= 0` the Lagrangian problem `min gamma ||w||² + nu w'Σw - mu'w` over the
/// linear constraints is a QP whose optimum's variance falls as `nu` grows; the answer is the
/// QP at `nu = 0` if that is within the target, else at the `nu` where the variance meets it
/// (Illinois regula falsi on `nu`, each QP warm-started from the last). `least` is the least
/// variance the constraints allow, already checked to be within the target.
pub(super) fn efficient_risk_regularised(
    input: &Input,
    target: f64,
    least: f64,
) -> Result<Option<Vec<f64>>> {
    let goal = target * target;
    let variance = |w: &[f64]| variance(input, w);
    let linear: Vec<f64> = input.mu().iter().map(|v| -v).collect();
    let ridge = DMatrix::identity(input.n, input.n) * (2.0 * input.c.l2_gamma);
    let solve_at = |nu: f64, start: &[f64]| -> Option<Vec<f64>> {
        let qp = dense_qp(
            input,
            input.cov * (2.0 * nu) + &ridge,
            linear.clone(),
            false,
        );
        solved_from(&qp, start, None).map(|s| s.x)
    };
    let x0 = feasible_point(input.n, input.c)?;
    let Some(w0) = solve_at(0.0, &x0) else {
        return Ok(None);
    };
    if variance(&w0) <= goal {
        return Ok(Some(w0));
    }
    if goal <= least * (1.0 + 1e-12) {
        // Only the least-variance portfolios reach the target: leave it to clarabel.
        return Ok(None);
    }
    // Bracket the root: variance above the goal at `lo`, at or below it at `hi`.
    let (mut lo, mut f_lo) = (0.0, variance(&w0) - goal);
    let mut hi = 1.0 / input.cov.diagonal().amax().max(f64::MIN_POSITIVE);
    let mut w_hi = w0;
    let mut f_hi;
    let mut grown = 0;
    loop {
        let Some(w) = solve_at(hi, &w_hi) else {
            return Ok(None);
        };
        f_hi = variance(&w) - goal;
        w_hi = w;
        if f_hi <= 0.0 {
            break;
        }
        (lo, f_lo) = (hi, f_hi);
        hi *= 4.0;
        grown += 1;
        if grown > 100 {
            return Ok(None);
        }
    }
    // Illinois regula falsi: superlinear, and never leaves the bracket.
    let mut side = 0i8;
    for _ in 0..200 {
        if f_hi.abs() <= 1e-15 * goal || hi - lo <= 1e-15 * hi {
            break;
        }
        let nu = (lo * f_hi - hi * f_lo) / (f_hi - f_lo);
        let nu = if nu > lo && nu < hi {
            nu
        } else {
            0.5 * (lo + hi)
        };
        let Some(w) = solve_at(nu, &w_hi) else {
            return Ok(None);
        };
        let f = variance(&w) - goal;
        if f > 0.0 {
            (lo, f_lo) = (nu, f);
            if side == -1 {
                f_hi *= 0.5;
            }
            side = -1;
        } else {
            (hi, f_hi, w_hi) = (nu, f, w);
            if side == 1 {
                f_lo *= 0.5;
            }
            side = 1;
        }
    }
    Ok(Some(w_hi))
}

/// `w'Σw`.
fn variance(input: &Input, w: &[f64]) -> f64 {
    let w = DVector::from_column_slice(w);
    (input.cov * &w).dot(&w)
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
