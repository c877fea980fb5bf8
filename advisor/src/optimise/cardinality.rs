//! Exact cardinality-limited optimisation: best-first branch and bound on the indicators
//! `z_i` of [`Model::add_cardinality`], each node a clarabel relaxation (`z` in `[0, 1]`) with
//! some indicators fixed, pruned by its objective against the best portfolio found. A
//! rounding heuristic (the largest weights of a relaxation, up to the limit) finds good
//! portfolios early. The search stops after [`CARDINALITY_NODE_LIMIT`] relaxations: the best
//! portfolio found so far is returned (optimal unless the limit was hit), and an error when
//! none was found.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::conic::Outcome;
use super::model::Model;
use super::{Cardinality, CARDINALITY_NODE_LIMIT};
use crate::{AdvisorError, Result};

/// A node: indicator fixes and the parent's relaxation value (a lower bound).
struct Node {
    bound: f64,
    fixes: Vec<(usize, f64)>,
}

impl PartialEq for Node {
    fn eq(&self, other: &Self) -> bool {
        self.bound == other.bound
    }
}
impl Eq for Node {}
impl PartialOrd for Node {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Node {
    /// Reversed, so that the max-heap pops the lowest bound first.
    fn cmp(&self, other: &Self) -> Ordering {
        other.bound.total_cmp(&self.bound)
    }
}

/// A relaxation's answer: objective, full solution.
type Relaxed = Option<(f64, Vec<f64>)>;

fn relax(model: &Model, fixes: &[(usize, f64)]) -> Result<Relaxed> {
    let z0 = model.z.expect("cardinality model has indicators");
    let mut m = model.clone();
    for &(i, v) in fixes {
        m.feasible_row(vec![z0 + i], vec![1.0], v, v);
    }
    match m.problem.solve()? {
        Outcome::Solved { x, .. } => Ok(Some((m.problem.objective(&x), x))),
        Outcome::Infeasible => Ok(None),
        Outcome::Unbounded => Err(AdvisorError::Solver("a relaxation is unbounded".into())),
    }
}

/// The best portfolio with at most `card.max_assets` holdings: its weights, or `None` when no
/// portfolio meets the constraints.
pub(crate) fn solve(model: Model, card: &Cardinality) -> Result<Option<Vec<f64>>> {
    let n = model.n;
    let mut best: Option<(f64, Vec<f64>)> = None;
    let mut heap = BinaryHeap::new();
    heap.push(Node {
        bound: f64::NEG_INFINITY,
        fixes: Vec::new(),
    });
    let mut solved = 0usize;
    let mut limit_hit = false;
    while let Some(node) = heap.pop() {
        if pruned(node.bound, &best) {
            continue;
        }
        if solved >= CARDINALITY_NODE_LIMIT {
            limit_hit = true;
            break;
        }
        crate::deadline::check()?;
        solved += 1;
        let Some((objective, x)) = relax(&model, &node.fixes)? else {
            continue;
        };
        if pruned(objective, &best) {
            continue;
        }
        let z = model
            .indicators(&x)
            .expect("cardinality model has indicators");
        let fixed = |i: usize| node.fixes.iter().any(|&(j, _)| j == i);
        let branch = (0..n)
            .filter(|&i| !fixed(i))
            .map(|i| (i, z[i].min(1.0 - z[i])))
            .filter(|&(_, frac)| frac > 1e-6)
            .max_by(|a, b| a.1.total_cmp(&b.1));
        // Every node's answer is worth rounding at the root; later, every tenth node.
        if branch.is_none() || solved == 1 || solved.is_multiple_of(10) {
            try_rounding(&model, card, &x, &mut best)?;
        }
        if let Some((i, _)) = branch {
            for v in [1.0, 0.0] {
                let mut fixes = node.fixes.clone();
                fixes.push((i, v));
                heap.push(Node {
                    bound: objective,
                    fixes,
                });
            }
        }
    }
    match best {
        Some((_, x)) => Ok(model.weights(&x)),
        None if limit_hit => Err(AdvisorError::Solver(format!(
            "the cardinality search stopped at its limit of {CARDINALITY_NODE_LIMIT} relaxations without finding a portfolio"
        ))),
        None => Ok(None),
    }
}

fn pruned(bound: f64, best: &Option<(f64, Vec<f64>)>) -> bool {
    best.as_ref()
        .is_some_and(|(b, _)| bound >= *b - 1e-9 * (1.0 + b.abs()))
}

/// Holds the largest weights (assets with a positive lower bound first) up to the limit, fixes
/// every indicator, and keeps the result if it beats the best so far.
fn try_rounding(
    model: &Model,
    card: &Cardinality,
    x: &[f64],
    best: &mut Option<(f64, Vec<f64>)>,
) -> Result<()> {
    let n = model.n;
    let (Some(w), Some(z)) = (model.weights(x), model.indicators(x)) else {
        return Ok(());
    };
    let held = |i: usize| z[i] >= 1.0 - 1e-9;
    let mut order: Vec<usize> = (0..n).filter(|&i| w[i] > 1e-9 || held(i)).collect();
    order.sort_by(|&a, &b| held(b).cmp(&held(a)).then(w[b].total_cmp(&w[a])));
    order.truncate(card.max_assets);
    let fixes: Vec<(usize, f64)> = (0..n)
        .map(|i| (i, if order.contains(&i) { 1.0 } else { 0.0 }))
        .collect();
    if let Some((objective, x)) = relax(model, &fixes)? {
        if !pruned(objective, best) {
            *best = Some((objective, x));
        }
    }
    Ok(())
}
