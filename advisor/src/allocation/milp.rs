//! Branch and bound for `lp_portfolio`'s integer program (see the parent module):
//! `minimise sum_i |w_i V - p_i x_i| + (V - p.x)  subject to  p.x <= V, x >= 0 whole`.
//!
//! Work is scaled by `1 / V` so that the LP data are O(1): `s_i = p_i / V` is the share of the
//! total value one unit costs, and asset i's term becomes `f_i(x) = |w_i - s_i x| - s_i x`,
//! which falls at slope `-2 s_i` up to the target and is flat beyond it.
//!
//! Over whole units, `f_i` equals its convex envelope `env_i`, the maximum of three lines:
//! `w - 2 s x` (below `k = floor(w / s)`), the bridge from `k` to `k + 1`, and `-w`. Each LP
//! relaxation carries the bridge as a valid inequality, so it minimises `sum_i env_i(x_i)`
//! over the node's box and budget; with one coupling constraint, its solution has at most a
//! few fractional units and the bounds are tight.
//!
//! Bounds are certified independently of the LP solver's accuracy: for the budget multiplier
//! `lambda >= 0` that clarabel reports, the Lagrangian
//! `L(lambda) = sum_i min_{lower_i <= x <= upper_i} (env_i(x) + lambda s_i x) - lambda + 1`
//! is a lower bound on every allocation in the node, whatever `lambda` is, and equals the LP
//! optimum at the optimal multiplier. It is evaluated exactly (each minimum is at a kink or
//! an end of the box), so an inaccurate or failed LP solve can cost nodes but never prunes an
//! allocation that is better.

use super::{greedy_units, objective, spend};
use crate::{AdvisorError, Result};
use clarabel::algebra::CscMatrix;
use clarabel::solver::{
    DefaultSettings, DefaultSettingsBuilder, DefaultSolver, IPSolver, SupportedConeT,
};
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// A node is pruned when its bound is within this fraction of the total value of the
/// incumbent, so "optimal" means optimal to within `1e-9 * total_value`.
const OPTIMALITY_TOLERANCE: f64 = 1e-9;

/// An LP value this close to a whole number is taken as whole.
const INTEGRALITY_TOLERANCE: f64 = 1e-6;

/// The rounding heuristic adds at most this many units per call.
const MAX_HEURISTIC_STEPS: usize = 10_000;

/// The result of a search: the best units found, LP relaxations solved, and whether the
/// search finished (so the units are optimal to within the tolerance).
pub(super) struct Search {
    pub units: Vec<u64>,
    pub nodes: usize,
    pub proven_optimal: bool,
}

/// The integer program for one set of validated inputs.
pub(super) struct Problem<'a> {
    weights: &'a [f64],
    prices: &'a [f64],
    total_value: f64,
    /// `s_i = p_i / V`.
    unit_share: Vec<f64>,
    /// `k_i = floor(w_i V / p_i)`: the most whole units at or below the target.
    floor_target: Vec<f64>,
    /// `r_i = w_i - s_i k_i`, clamped to `[0, s_i]`: the shortfall left after `k_i` units.
    residual: Vec<f64>,
}

/// A branch: units of `asset` at most `value` (down) or at least `value + 1` (up).
#[derive(Debug, Clone, Copy)]
struct Decision {
    asset: usize,
    up: bool,
    value: u64,
}

/// An open node, ordered so that the heap pops the lowest bound first.
#[derive(Debug, Clone)]
struct Node {
    bound: f64,
    decisions: Vec<Decision>,
    branch: Decision,
}

impl PartialEq for Node {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Node {}
impl PartialOrd for Node {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Node {
    fn cmp(&self, other: &Self) -> Ordering {
        other.bound.total_cmp(&self.bound)
    }
}

/// Per-asset unit bounds of a node (whole numbers stored as f64).
struct NodeBox {
    lower: Vec<f64>,
    upper: Vec<f64>,
}

impl NodeBox {
    fn is_fixed(&self, i: usize) -> bool {
        self.lower[i] >= self.upper[i]
    }
}

/// What clarabel made of a node's LP: units (clamped into the box) and the budget multiplier.
struct LpPoint {
    x: Vec<f64>,
    lambda: f64,
}

impl<'a> Problem<'a> {
    pub(super) fn new(weights: &'a [f64], prices: &'a [f64], total_value: f64) -> Problem<'a> {
        let unit_share: Vec<f64> = prices.iter().map(|p| p / total_value).collect();
        let floor_target: Vec<f64> = weights
            .iter()
            .zip(prices)
            .map(|(w, p)| (w * total_value / p).floor())
            .collect();
        let residual = weights
            .iter()
            .zip(&unit_share)
            .zip(&floor_target)
            .map(|((w, s), k)| (w - s * k).clamp(0.0, *s))
            .collect();
        Problem {
            weights,
            prices,
            total_value,
            unit_share,
            floor_target,
            residual,
        }
    }

    fn n(&self) -> usize {
        self.weights.len()
    }

    fn objective(&self, units: &[u64]) -> f64 {
        objective(self.weights, self.prices, self.total_value, units)
    }

    fn feasible(&self, units: &[u64]) -> bool {
        spend(self.prices, units) <= self.total_value
    }

    /// Best-first branch and bound, seeded with the greedy allocation, stopping after
    /// `node_limit` LP relaxations.
    pub(super) fn branch_and_bound(&self, node_limit: usize) -> Result<Search> {
        let (greedy, _) = greedy_units(self.weights, self.prices, self.total_value);
        let mut best_objective = self.objective(&greedy);
        let mut best = greedy;
        let tolerance = OPTIMALITY_TOLERANCE * self.total_value;

        let settings = lp_settings()?;
        let mut heap = BinaryHeap::new();
        let mut nodes = 0;
        let mut pending = vec![Vec::new()];
        let mut limit_hit = false;
        'search: loop {
            for decisions in pending.drain(..) {
                if nodes >= node_limit {
                    limit_hit = true;
                    break 'search;
                }
                let Some(node_box) = self.node_box(&decisions) else {
                    continue;
                };
                crate::deadline::check()?;
                nodes += 1;
                let lp = self.relaxation(&node_box, &settings)?;
                if let Some(candidate) = self.round(&lp.x) {
                    let value = self.objective(&candidate);
                    if value < best_objective - tolerance {
                        best_objective = value;
                        best = candidate;
                    }
                }
                let bound = self.lagrangian_bound(lp.lambda, &node_box);
                if bound >= best_objective - tolerance {
                    continue;
                }
                if let Some(branch) = self.branching(&lp.x, &node_box) {
                    heap.push(Node {
                        bound,
                        decisions,
                        branch,
                    });
                }
            }
            let Some(node) = heap.pop() else {
                break;
            };
            if node.bound >= best_objective - tolerance {
                break; // best-first: every other open node is at least as bad.
            }
            for up in [false, true] {
                let mut decisions = node.decisions.clone();
                decisions.push(Decision { up, ..node.branch });
                pending.push(decisions);
            }
        }
        Ok(Search {
            units: best,
            nodes,
            proven_optimal: !limit_hit,
        })
    }

    /// The box after `decisions`, or None if it holds no affordable allocation.
    fn node_box(&self, decisions: &[Decision]) -> Option<NodeBox> {
        let mut lower = vec![0.0_f64; self.n()];
        // Whole units cannot exceed V / p; one more keeps the bound safe from rounding.
        let mut upper: Vec<f64> = self
            .prices
            .iter()
            .map(|p| (self.total_value / p).floor() + 1.0)
            .collect();
        for d in decisions {
            if d.up {
                lower[d.asset] = lower[d.asset].max(d.value as f64 + 1.0);
            } else {
                upper[d.asset] = upper[d.asset].min(d.value as f64);
            }
        }
        let empty = lower.iter().zip(&upper).any(|(l, u)| l > u);
        let cost: f64 = lower.iter().zip(self.prices).map(|(l, p)| l * p).sum();
        (!empty && cost <= self.total_value).then_some(NodeBox { lower, upper })
    }

    /// `env_i(x)`: the convex envelope of asset i's scaled term over whole units; equal to
    /// `f_i` at whole numbers.
    fn envelope(&self, i: usize, x: f64) -> f64 {
        let (w, s, k, r) = (
            self.weights[i],
            self.unit_share[i],
            self.floor_target[i],
            self.residual[i],
        );
        let below = w - 2.0 * s * x;
        let bridge = w - 2.0 * s * k - 2.0 * r * (x - k);
        below.max(bridge).max(-w)
    }

    /// `L(lambda) * V`: a lower bound, in currency, on the objective of every allocation in
    /// the box (see the module docs). Any `lambda >= 0` gives a valid bound.
    fn lagrangian_bound(&self, lambda: f64, node_box: &NodeBox) -> f64 {
        let lambda = if lambda.is_finite() {
            lambda.max(0.0)
        } else {
            0.0
        };
        let mut total = 1.0 - lambda;
        for i in 0..self.n() {
            let (lo, hi) = (node_box.lower[i], node_box.upper[i]);
            let k = self.floor_target[i];
            // A convex piecewise-linear function is smallest at a kink or an end of the box.
            total += [lo, hi, k, k + 1.0]
                .into_iter()
                .filter(|x| (lo..=hi).contains(x))
                .map(|x| self.envelope(i, x) + lambda * self.unit_share[i] * x)
                .fold(f64::INFINITY, f64::min);
        }
        total * self.total_value
    }

    /// An allocation near the LP point `x`: round down, then buy single units while one
    /// lowers the objective, best first. None if even the rounded-down units are unaffordable.
    fn round(&self, x: &[f64]) -> Option<Vec<u64>> {
        let mut units: Vec<u64> = x
            .iter()
            .map(|&v| (v + INTEGRALITY_TOLERANCE).floor() as u64)
            .collect();
        if !self.feasible(&units) {
            units = x.iter().map(|&v| v.floor() as u64).collect();
        }
        if !self.feasible(&units) {
            return None;
        }
        let mut spent = spend(self.prices, &units);
        for _ in 0..MAX_HEURISTIC_STEPS {
            let Some(i) = self.best_single_unit(&units, spent) else {
                break;
            };
            units[i] += 1;
            spent += self.prices[i];
        }
        self.feasible(&units).then_some(units)
    }

    /// The affordable asset whose next unit lowers the objective most, if any does.
    fn best_single_unit(&self, units: &[u64], spent: f64) -> Option<usize> {
        let v = self.total_value;
        let mut best: Option<(usize, f64)> = None;
        for (i, (&w, &p)) in self.weights.iter().zip(self.prices).enumerate() {
            if spent + p > v {
                continue;
            }
            let term = |x: f64| (w * v - p * x).abs() - p * x;
            let x = units[i] as f64;
            let gain = term(x) - term(x + 1.0);
            if gain > OPTIMALITY_TOLERANCE * v && best.is_none_or(|(_, g)| gain > g) {
                best = Some((i, gain));
            }
        }
        best.map(|(i, _)| i)
    }

    /// Where to split a node whose bound leaves room for a better allocation; None only when
    /// every asset is fixed (then the bound is that allocation's exact objective).
    fn branching(&self, x: &[f64], node_box: &NodeBox) -> Option<Decision> {
        if let Some(asset) = self.most_costly_fraction(x, node_box) {
            return Some(Decision {
                asset,
                up: false,
                value: x[asset].floor() as u64,
            });
        }
        // The LP point is whole, yet the bound did not close the node: its rounding was a
        // hair over budget, or the LP solve was inexact. Any split that shrinks the box keeps
        // the search exact; split the free asset with the most money at stake.
        let asset = (0..self.n())
            .filter(|&i| !node_box.is_fixed(i))
            .max_by(|&a, &b| {
                let stake = |i: usize| self.prices[i] * (node_box.upper[i] - node_box.lower[i]);
                stake(a).total_cmp(&stake(b))
            })?;
        // Split just below the rounded value so that the rounding is excluded from the down
        // branch; kept inside the box so that both children are smaller.
        let split =
            (x[asset].round() - 1.0).clamp(node_box.lower[asset], node_box.upper[asset] - 1.0);
        Some(Decision {
            asset,
            up: false,
            value: split as u64,
        })
    }

    /// The fractional asset whose rounding down loses the most objective (ties: the most
    /// fractional), if any asset is fractional.
    fn most_costly_fraction(&self, x: &[f64], node_box: &NodeBox) -> Option<usize> {
        let mut best: Option<(usize, f64, f64)> = None;
        for (i, &v) in x.iter().enumerate() {
            let down = v.floor();
            let fraction = v - down;
            let whole =
                fraction <= INTEGRALITY_TOLERANCE || fraction >= 1.0 - INTEGRALITY_TOLERANCE;
            if whole || down < node_box.lower[i] || down + 1.0 > node_box.upper[i] {
                continue;
            }
            let loss = self.envelope(i, down) - self.envelope(i, v);
            let closeness = fraction.min(1.0 - fraction);
            let better = match best {
                None => true,
                Some((_, l, c)) => loss > l + 1e-15 || (loss >= l - 1e-15 && closeness > c),
            };
            if better {
                best = Some((i, loss, closeness));
            }
        }
        best.map(|(i, _, _)| i)
    }

    /// Solves the node's LP relaxation with clarabel over the assets its box leaves free
    /// (fixed assets are folded into the budget: interior-point methods stall on zero-width
    /// boxes).
    ///
    /// Variables `[x_F, u_F]` for the free assets F, rows all `<=`, per free asset:
    /// `-s x - u <= -w`, `s x - u <= w` (so `u >= |w - s x|`), `-x <= -lower`, `x <= upper`,
    /// the bridge `-(2r - s) x - u <= -(w - 2 s k + 2 r k)`; then the budget
    /// `s_F.x_F <= 1 - s.lower_fixed`. Objective `sum u - s.x`.
    fn relaxation(&self, node_box: &NodeBox, settings: &DefaultSettings<f64>) -> Result<LpPoint> {
        let free: Vec<usize> = (0..self.n()).filter(|&i| !node_box.is_fixed(i)).collect();
        let mut x = node_box.lower.clone();
        if free.is_empty() {
            return Ok(LpPoint { x, lambda: 0.0 });
        }
        let fixed_share: f64 = (0..self.n())
            .filter(|&i| node_box.is_fixed(i))
            .map(|i| self.unit_share[i] * node_box.lower[i])
            .sum();
        let (a, b, q) = self.lp_data(&free, node_box, 1.0 - fixed_share);
        let m = b.len();
        let f = free.len();
        let p = CscMatrix::zeros((2 * f, 2 * f));
        let cones = [SupportedConeT::NonnegativeConeT(m)];
        let mut solver = DefaultSolver::new(&p, &q, &a, &b, &cones, settings.clone())
            .map_err(|e| AdvisorError::Solver(format!("allocation LP setup: {e}")))?;
        solver.solve();
        let solution = &solver.solution;
        // Whatever the status (clarabel can stall on degenerate nodes), the iterate is
        // usable: the point only guides rounding and branching, and any multiplier gives a
        // valid bound; a poor one merely costs nodes.
        for (j, &i) in free.iter().enumerate() {
            let v = solution.x[j];
            x[i] = if v.is_finite() {
                v.clamp(node_box.lower[i], node_box.upper[i])
            } else {
                node_box.lower[i]
            };
        }
        Ok(LpPoint {
            x,
            lambda: solution.z[m - 1],
        })
    }

    /// Constraint matrix (CSC), right-hand side and objective of a node's LP.
    fn lp_data(
        &self,
        free: &[usize],
        node_box: &NodeBox,
        budget: f64,
    ) -> (CscMatrix<f64>, Vec<f64>, Vec<f64>) {
        let f = free.len();
        let m = 5 * f + 1;
        let mut colptr = Vec::with_capacity(2 * f + 1);
        let mut rowval = Vec::with_capacity(9 * f);
        let mut nzval = Vec::with_capacity(9 * f);
        let mut b = vec![0.0; m];
        let mut q = Vec::with_capacity(2 * f);
        colptr.push(0);
        for (j, &i) in free.iter().enumerate() {
            let (w, s, k, r) = (
                self.weights[i],
                self.unit_share[i],
                self.floor_target[i],
                self.residual[i],
            );
            rowval.extend_from_slice(&[j, f + j, 2 * f + j, 3 * f + j, 4 * f + j, 5 * f]);
            nzval.extend_from_slice(&[-s, s, -1.0, 1.0, -(2.0 * r - s), s]);
            colptr.push(rowval.len());
            b[j] = -w;
            b[f + j] = w;
            b[2 * f + j] = -node_box.lower[i];
            b[3 * f + j] = node_box.upper[i];
            b[4 * f + j] = -(w - 2.0 * s * k + 2.0 * r * k);
            q.push(-s);
        }
        for j in 0..f {
            rowval.extend_from_slice(&[j, f + j, 4 * f + j]);
            nzval.extend_from_slice(&[-1.0, -1.0, -1.0]);
            colptr.push(rowval.len());
            q.push(1.0);
        }
        b[5 * f] = budget;
        (CscMatrix::new(m, 2 * f, colptr, rowval, nzval), b, q)
    }
}

fn lp_settings() -> Result<DefaultSettings<f64>> {
    DefaultSettingsBuilder::default()
        .verbose(false)
        // Tight tolerances give a near-optimal multiplier, hence bounds that prune ties.
        .tol_gap_abs(1e-10)
        .tol_gap_rel(1e-10)
        .tol_feas(1e-10)
        .max_iter(200)
        .build()
        .map_err(|e| AdvisorError::Solver(format!("allocation LP settings: {e}")))
}
