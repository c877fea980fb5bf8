//! Builds the clarabel form of a portfolio problem from [`Constraints`]: the weights (or, for
//! max Sharpe, PyPortfolioOpt's transformed variables `y = k w`), the feasible set, the cost
//! terms and the cardinality indicators.

use super::conic::Problem;
use super::{Cardinality, Constraints};

/// A portfolio problem in clarabel form with the positions of its variable blocks.
#[derive(Debug, Clone)]
pub(crate) struct Model {
    pub problem: Problem,
    /// Number of assets; the weights (or `y`) are variables `0..n`.
    pub n: usize,
    /// The scale variable `k` of the max-Sharpe transform, where used.
    pub k: Option<usize>,
    /// First of the `n` cardinality indicators, where used.
    pub z: Option<usize>,
}

impl Model {
    /// Variables `0..n` are the weights; with `sharpe`, they are `y = k w` and `k` is added.
    pub(crate) fn new(n: usize, sharpe: bool) -> Model {
        let mut problem = Problem::new(n);
        let k = sharpe.then(|| problem.add_var());
        Model {
            problem,
            n,
            k,
            z: None,
        }
    }

    /// A row of the feasible set, `lo <= a'w <= hi`. In the max-Sharpe transform it becomes
    /// `lo k <= a'y <= hi k`, as PyPortfolioOpt rebuilds every constraint for `max_sharpe`.
    pub(crate) fn feasible_row(&mut self, idx: Vec<usize>, val: Vec<f64>, lo: f64, hi: f64) {
        let Some(k) = self.k else {
            self.problem.row(idx, val, lo, hi);
            return;
        };
        let with_k = |c: f64| {
            let (mut i, mut v) = (idx.clone(), val.clone());
            if c != 0.0 {
                i.push(k);
                v.push(-c);
            }
            (i, v)
        };
        if lo == hi {
            let (i, v) = with_k(lo);
            self.problem.row(i, v, 0.0, 0.0);
            return;
        }
        if lo.is_finite() {
            let (i, v) = with_k(lo);
            self.problem.row(i, v, 0.0, f64::INFINITY);
        }
        if hi.is_finite() {
            let (i, v) = with_k(hi);
            self.problem.row(i, v, f64::NEG_INFINITY, 0.0);
        }
    }

    /// Budget, bounds and group limits.
    pub(crate) fn add_weight_constraints(&mut self, c: &Constraints) {
        let n = self.n;
        self.feasible_row((0..n).collect(), vec![1.0; n], 1.0, 1.0);
        for i in 0..n {
            let (lo, hi) = (c.lower[i], c.upper[i]);
            if lo.is_finite() || hi.is_finite() {
                self.feasible_row(vec![i], vec![1.0], lo, hi);
            }
        }
        for group in &c.groups {
            if group.lower.is_finite() || group.upper.is_finite() {
                let m = group.members.len();
                self.feasible_row(
                    group.members.clone(),
                    vec![1.0; m],
                    group.lower,
                    group.upper,
                );
            }
        }
    }

    /// `transaction_cost * ||w - current||_1` in the objective and the turnover cap, through
    /// `t_i >= |w_i - current_i|`. In the max-Sharpe transform the cost applies to `y` itself,
    /// exactly as PyPortfolioOpt adds objectives to `max_sharpe` (it warns that they "may not
    /// work as expected"), while the turnover cap, a Sextant constraint, is homogenised with
    /// its own variables: `||y - k current||_1 <= cap k`.
    pub(crate) fn add_cost_terms(&mut self, c: &Constraints) {
        let Some(current) = c.current.as_ref() else {
            return;
        };
        let n = self.n;
        let cost = c.transaction_cost;
        let shared = self.k.is_none();
        if cost > 0.0 || (shared && c.max_turnover.is_some()) {
            let t0 = self.problem.nv;
            for i in 0..n {
                let t = self.problem.add_var();
                self.problem.q[t] = cost;
                self.problem
                    .row(vec![t, i], vec![1.0, -1.0], -current[i], f64::INFINITY);
                self.problem
                    .row(vec![t, i], vec![1.0, 1.0], current[i], f64::INFINITY);
            }
            if shared {
                if let Some(cap) = c.max_turnover {
                    self.problem
                        .row((t0..t0 + n).collect(), vec![1.0; n], f64::NEG_INFINITY, cap);
                }
                return;
            }
        }
        if let Some(cap) = c.max_turnover {
            let s0 = self.problem.nv;
            for i in 0..n {
                let s = self.problem.add_var();
                self.feasible_row(vec![s, i], vec![1.0, -1.0], -current[i], f64::INFINITY);
                self.feasible_row(vec![s, i], vec![1.0, 1.0], current[i], f64::INFINITY);
            }
            self.feasible_row((s0..s0 + n).collect(), vec![1.0; n], f64::NEG_INFINITY, cap);
        }
    }

    /// Relaxed indicators `z_i` in `[0, 1]` with `min_weight z_i <= w_i <= u_i z_i` and
    /// `sum z <= max_assets`; assets with a positive lower bound are held (`z_i = 1`), assets
    /// whose upper bound is below the minimum position are not (`z_i = 0`). Needs `lower >= 0`.
    pub(crate) fn add_cardinality(&mut self, c: &Constraints, card: &Cardinality) {
        let n = self.n;
        let z0 = self.problem.nv;
        for _ in 0..n {
            self.problem.add_var();
        }
        self.z = Some(z0);
        for i in 0..n {
            let z = z0 + i;
            let u = c.upper[i].min(1.0);
            self.feasible_row(vec![i, z], vec![1.0, -u], f64::NEG_INFINITY, 0.0);
            if card.min_weight > 0.0 {
                self.feasible_row(vec![i, z], vec![1.0, -card.min_weight], 0.0, f64::INFINITY);
            }
            let (lo, hi) = if c.lower[i] > 0.0 {
                (1.0, 1.0)
            } else if u < card.min_weight {
                (0.0, 0.0)
            } else {
                (0.0, 1.0)
            };
            self.feasible_row(vec![z], vec![1.0], lo, hi);
        }
        self.feasible_row(
            (z0..z0 + n).collect(),
            vec![1.0; n],
            f64::NEG_INFINITY,
            card.max_assets as f64,
        );
    }

    /// The weights of a solution: `x[0..n]`, or `y / k` in the max-Sharpe transform.
    pub(crate) fn weights(&self, x: &[f64]) -> Option<Vec<f64>> {
        match self.k {
            None => Some(x[..self.n].to_vec()),
            Some(k) if x[k] > 0.0 => Some(x[..self.n].iter().map(|v| v / x[k]).collect()),
            Some(_) => None,
        }
    }

    /// The indicators of a solution (`z`, or `v / k` in the max-Sharpe transform).
    pub(crate) fn indicators(&self, x: &[f64]) -> Option<Vec<f64>> {
        let z0 = self.z?;
        let scale = self.k.map_or(1.0, |k| x[k]);
        Some(x[z0..z0 + self.n].iter().map(|v| v / scale).collect())
    }
}
