//! Discrete allocation: turn target weights into whole units to buy with a cash amount, as
//! PyPortfolioOpt 1.6.0's `DiscreteAllocation` does for long-only portfolios.
//!
//! - [`greedy`] is `greedy_portfolio(reinvest=False)`, step for step.
//! - [`integer`] solves `lp_portfolio`'s mixed-integer program exactly, by branch and bound over
//!   LP relaxations solved with clarabel. The program (currency units, `V` the total value,
//!   `w` the weights, `p` the prices, `x` the whole units):
//!   `minimise sum_i |w_i V - p_i x_i| + (V - p.x)  subject to  p.x <= V, x >= 0, x integer`.
//!
//! Units: `total_value`, `latest_prices` and `leftover` in one currency; weights are fractions.
//! "Never spends more than the total value" holds in floating point: the sum of
//! `units[i] * latest_prices[i]` is at most `total_value`.

mod milp;

use crate::{AdvisorError, Result};

/// Weights may sum to one give or take this much (e.g. after rounding to a few decimals).
pub const WEIGHT_SUM_TOLERANCE: f64 = 1e-3;

/// At most this many assets, so that the dense work per LP node stays bounded.
pub const MAX_ASSETS: usize = 1_000;

/// At most this many units of one asset (`total_value / price`): beyond 2^53 whole numbers are
/// no longer exact in f64.
pub const MAX_UNITS_PER_ASSET: f64 = 1e12;

/// LP relaxations [`integer`] solves before it settles for the best solution found so far.
pub const DEFAULT_NODE_LIMIT: usize = 5_000;

/// Whole units per asset and what they leave over.
#[derive(Debug, Clone, PartialEq)]
pub struct Allocation {
    /// Units to buy, aligned with the input weights.
    pub units: Vec<u64>,
    /// Cash left after buying `units`, `total_value - sum(units[i] * latest_prices[i])` (>= 0).
    pub leftover: f64,
    /// RMSE of realised vs target weights
    ///
    /// As PyPortfolioOpt's `_allocation_rmse_error`: realised weights are shares of the amount
    /// invested (not of `total_value`), all zero when nothing is bought; a fraction, not %.
    pub rmse: f64,
}

/// The outcome of [`integer_with_node_limit`].
#[derive(Debug, Clone, PartialEq)]
pub struct IntegerAllocation {
    /// The best allocation found.
    pub allocation: Allocation,
    /// The value of `lp_portfolio`'s objective at `allocation`, in currency; see [`objective`].
    pub objective: f64,
    /// True when branch and bound finished: no allocation is better by more than
    /// `1e-9 * total_value`. False when the node limit stopped it first.
    pub proven_optimal: bool,
    /// LP relaxations solved.
    pub nodes: usize,
}

/// PyPortfolioOpt's `greedy_portfolio(reinvest=False)`: first buy `floor(w_i V / p_i)` units of
/// each asset in descending order of weight, then, one unit at a time, buy the asset whose
/// realised weight falls furthest short of its target among those still affordable (giving
/// up after ten unaffordable candidates in a row, as PyPortfolioOpt does).
///
/// `weights`: finite, non-negative, summing to one within [`WEIGHT_SUM_TOLERANCE`];
/// `latest_prices`: positive, aligned with `weights`; `total_value`: positive.
pub fn greedy(weights: &[f64], latest_prices: &[f64], total_value: f64) -> Result<Allocation> {
    validate(weights, latest_prices, total_value)?;
    let (units, leftover) = greedy_units(weights, latest_prices, total_value);
    Ok(allocation(weights, latest_prices, units, leftover))
}

/// `lp_portfolio`'s mixed-integer program (see the module docs) solved by branch and bound
/// with at most [`DEFAULT_NODE_LIMIT`] LP relaxations. If the limit is reached, the best
/// allocation found so far is returned; it is never worse than [`greedy`]'s. An allocation
/// always exists (buying nothing is feasible). Use [`integer_with_node_limit`] to learn
/// whether optimality was proven.
///
/// Where several allocations reach the optimum (e.g. spare cash can buy more of an asset
/// already at its target, which leaves the objective unchanged), the one returned may differ
/// from the one PyPortfolioOpt's solver picks; the objective is the same.
pub fn integer(weights: &[f64], latest_prices: &[f64], total_value: f64) -> Result<Allocation> {
    integer_with_node_limit(weights, latest_prices, total_value, DEFAULT_NODE_LIMIT)
        .map(|solution| solution.allocation)
}

/// [`integer`] with an explicit limit on the LP relaxations solved, reporting whether the
/// result was proven optimal.
///
/// Method (details in `allocation/milp.rs`): best-first branch and bound on the units, the
/// greedy allocation as the first incumbent. Each node's LP relaxation, solved by clarabel,
/// carries one valid inequality per asset (the convex envelope of its objective term over
/// whole units, which no integer allocation violates), so bounds are tight and nodes few.
/// Bounds are certified by a Lagrangian evaluated exactly from the LP's budget multiplier, so
/// an inexact LP solve never prunes a better allocation. Every LP point is rounded down and
/// topped up greedily to give a candidate. Nodes are pruned within `1e-9 * total_value`.
pub fn integer_with_node_limit(
    weights: &[f64],
    latest_prices: &[f64],
    total_value: f64,
    node_limit: usize,
) -> Result<IntegerAllocation> {
    validate(weights, latest_prices, total_value)?;
    let search =
        milp::Problem::new(weights, latest_prices, total_value).branch_and_bound(node_limit)?;
    let objective = objective(weights, latest_prices, total_value, &search.units);
    let leftover = total_value - spend(latest_prices, &search.units);
    Ok(IntegerAllocation {
        allocation: allocation(weights, latest_prices, search.units, leftover),
        objective,
        proven_optimal: search.proven_optimal,
        nodes: search.nodes,
    })
}

/// The objective `lp_portfolio` minimises, in currency: `sum_i |w_i V - p_i x_i| + (V - p.x)`
/// for `units` x. Lower is better; use it to compare allocations.
pub fn objective(weights: &[f64], latest_prices: &[f64], total_value: f64, units: &[u64]) -> f64 {
    let deviation: f64 = weights
        .iter()
        .zip(latest_prices)
        .zip(units)
        .map(|((w, p), &x)| (w * total_value - p * x as f64).abs())
        .sum();
    deviation + (total_value - spend(latest_prices, units))
}

fn validate(weights: &[f64], latest_prices: &[f64], total_value: f64) -> Result<()> {
    let n = weights.len();
    if n == 0 || n > MAX_ASSETS {
        return Err(AdvisorError::invalid(
            "weights",
            format!("need between 1 and {MAX_ASSETS} assets, got {n}"),
        ));
    }
    if latest_prices.len() != n {
        return Err(AdvisorError::invalid(
            "latest_prices",
            format!(
                "expected {n} prices (one per weight), got {}",
                latest_prices.len()
            ),
        ));
    }
    if !total_value.is_finite() || total_value <= 0.0 {
        return Err(AdvisorError::invalid(
            "total_value",
            format!("must be finite and positive, got {total_value}"),
        ));
    }
    for (i, &w) in weights.iter().enumerate() {
        if !w.is_finite() || w < 0.0 {
            return Err(AdvisorError::invalid(
                format!("weights[{i}]"),
                format!("must be finite and non-negative (long only), got {w}"),
            ));
        }
    }
    let sum: f64 = weights.iter().sum();
    if (sum - 1.0).abs() > WEIGHT_SUM_TOLERANCE {
        return Err(AdvisorError::invalid(
            "weights",
            format!("must sum to 1 (within {WEIGHT_SUM_TOLERANCE}), got {sum}"),
        ));
    }
    for (i, &p) in latest_prices.iter().enumerate() {
        if !p.is_finite() || p <= 0.0 {
            return Err(AdvisorError::invalid(
                format!("latest_prices[{i}]"),
                format!("must be finite and positive, got {p}"),
            ));
        }
        if total_value / p > MAX_UNITS_PER_ASSET {
            return Err(AdvisorError::invalid(
                format!("latest_prices[{i}]"),
                format!("price {p} is too small for total_value {total_value}: more than {MAX_UNITS_PER_ASSET:e} units"),
            ));
        }
    }
    Ok(())
}

fn allocation(
    weights: &[f64],
    latest_prices: &[f64],
    units: Vec<u64>,
    leftover: f64,
) -> Allocation {
    let rmse = rmse(weights, latest_prices, &units);
    Allocation {
        units,
        leftover,
        rmse,
    }
}

/// Cost of `units`, summed in asset order.
fn spend(latest_prices: &[f64], units: &[u64]) -> f64 {
    latest_prices
        .iter()
        .zip(units)
        .map(|(p, &x)| p * x as f64)
        .sum()
}

/// PyPortfolioOpt's `_allocation_rmse_error`: realised weights are shares of the amount
/// invested (not of the total value); when nothing is bought they are all zero.
fn rmse(weights: &[f64], latest_prices: &[f64], units: &[u64]) -> f64 {
    let invested = spend(latest_prices, units);
    let sse: f64 = weights
        .iter()
        .zip(latest_prices)
        .zip(units)
        .map(|((w, p), &x)| {
            let realised = if invested > 0.0 {
                x as f64 * p / invested
            } else {
                0.0
            };
            (w - realised).powi(2)
        })
        .sum();
    (sse / weights.len() as f64).sqrt()
}

/// `greedy_portfolio`'s long-only branch with its floating-point operations in the same order,
/// so that ties and near-ties break the same way. Returns units (input order) and leftover.
fn greedy_units(weights: &[f64], latest_prices: &[f64], total_value: f64) -> (Vec<u64>, f64) {
    // Python's `sort(reverse=True)` is stable, and so is `sort_by`.
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| weights[b].total_cmp(&weights[a]));
    let ideal: Vec<f64> = order.iter().map(|&i| weights[i]).collect();
    let prices: Vec<f64> = order.iter().map(|&i| latest_prices[i]).collect();

    // First round: round each target down; this never runs out of funds.
    let mut available = total_value;
    let mut shares: Vec<u64> = Vec::with_capacity(order.len());
    for (&w, &p) in ideal.iter().zip(&prices) {
        let n_shares = (w * total_value / p).trunc() as u64;
        available -= n_shares as f64 * p;
        shares.push(n_shares);
    }

    // Second round: one unit at a time towards the largest weight deficit.
    while available > 0.0 {
        let mut deficit = weight_deficit(&ideal, &prices, &shares);
        let mut idx = numpy_argmax(&deficit);
        let mut price = prices[idx];
        let mut counter = 0;
        while price > available {
            deficit[idx] = 0.0;
            idx = numpy_argmax(&deficit);
            if deficit[idx] < 0.0 || counter == 10 {
                break;
            }
            price = prices[idx];
            counter += 1;
        }
        // A NaN deficit (nothing bought yet) fails this test and buys, as in Python.
        if deficit[idx] <= 0.0 || counter == 10 {
            break;
        }
        shares[idx] += 1;
        available -= price;
    }

    let mut units = vec![0; weights.len()];
    for (k, &i) in order.iter().enumerate() {
        units[i] = shares[k];
    }
    (units, available)
}

/// `ideal - current` where current = realised weights of the units bought so far; NaN when
/// nothing is bought (0 / 0), exactly as numpy gives.
fn weight_deficit(ideal: &[f64], prices: &[f64], shares: &[u64]) -> Vec<f64> {
    let value: Vec<f64> = prices
        .iter()
        .zip(shares)
        .map(|(p, &s)| p * s as f64)
        .collect();
    let total = numpy_sum(&value);
    ideal
        .iter()
        .zip(&value)
        .map(|(w, v)| w - v / total)
        .collect()
}

/// `np.argmax`: the first maximum, or the first NaN if there is one.
fn numpy_argmax(values: &[f64]) -> usize {
    let mut best = 0;
    let mut max = values[0];
    if max.is_nan() {
        return 0;
    }
    for (i, &v) in values.iter().enumerate().skip(1) {
        // `max` is never NaN here, so this is numpy's `!(v <= max)`.
        if v > max || v.is_nan() {
            best = i;
            max = v;
            if v.is_nan() {
                break;
            }
        }
    }
    best
}

/// `np.sum` of a contiguous float64 array: numpy's pairwise summation (8-way unrolled blocks
/// of at most 128), reproduced so that realised weights match to the last bit.
fn numpy_sum(values: &[f64]) -> f64 {
    let n = values.len();
    if n < 8 {
        values.iter().fold(-0.0, |acc, v| acc + v)
    } else if n <= 128 {
        let mut r = [0.0; 8];
        r.copy_from_slice(&values[..8]);
        let whole = n - n % 8;
        for block in values[8..whole].chunks_exact(8) {
            for (acc, v) in r.iter_mut().zip(block) {
                *acc += v;
            }
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for v in &values[whole..] {
            res += v;
        }
        res
    } else {
        let mut half = n / 2;
        half -= half % 8;
        numpy_sum(&values[..half]) + numpy_sum(&values[half..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A fixture run through PyPortfolioOpt 1.6.0: `DiscreteAllocation(weights, prices, value)`
    /// then `.greedy_portfolio()` / `.lp_portfolio()` (HiGHS 1.16, the default MILP solver there)
    /// on fresh objects, with `_allocation_rmse_error()`.
    struct Fixture {
        weights: &'static [f64],
        prices: &'static [f64],
        value: f64,
        greedy: (&'static [u64], f64, f64),
        lp: (&'static [u64], f64, f64),
    }

    const FIVE: Fixture = Fixture {
        weights: &[0.3, 0.25, 0.2, 0.15, 0.1],
        prices: &[101.3, 47.9, 250.0, 12.35, 980.0],
        value: 10000.0,
        greedy: (
            &[29, 52, 8, 121, 1],
            97.15000000000009,
            0.0019631937259900114,
        ),
        lp: (
            &[30, 52, 8, 120, 1],
            8.200000000000728,
            0.002202646464170156,
        ),
    };

    /// Nothing is affordable in the first round, so PyPortfolioOpt's realised weights are 0/0.
    const NOTHING_FIRST_ROUND: Fixture = Fixture {
        weights: &[0.5, 0.3, 0.2],
        prices: &[600.0, 450.0, 300.0],
        value: 1000.0,
        greedy: (&[1, 0, 1], 100.0, 0.21256807188565544),
        lp: (&[1, 0, 1], 100.0, 0.21256807188565544),
    };

    const TIES_AND_ZERO: Fixture = Fixture {
        weights: &[0.25, 0.25, 0.0, 0.2, 0.2, 0.1],
        prices: &[33.3, 66.6, 10.0, 19.99, 250.5, 7.77],
        value: 5000.0,
        greedy: (
            &[37, 19, 0, 50, 4, 64],
            3.7200000000003968,
            0.0019469595693283734,
        ),
        lp: (
            &[37, 19, 0, 50, 4, 64],
            3.7200000000002547,
            0.0019469595693283734,
        ),
    };

    /// `np.random.default_rng(7)`: Dirichlet(1) weights, prices uniform in [5, 400] rounded to cents.
    const TEN: Fixture = Fixture {
        weights: &[
            0.06750333276383123,
            0.0978117048928044,
            0.054243593318009764,
            0.0853998594232289,
            0.019704696458667424,
            0.3228231146858789,
            0.0009305654853633706,
            0.2680192019062408,
            0.054890844702029803,
            0.028673086363945378,
        ],
        prices: &[
            124.7, 114.98, 105.67, 180.81, 204.3, 223.63, 398.22, 318.1, 250.76, 395.64,
        ],
        value: 25000.0,
        greedy: (
            &[13, 21, 12, 12, 2, 36, 0, 21, 6, 2],
            91.33999999999918,
            0.002693822911885906,
        ),
        lp: (
            &[13, 21, 13, 12, 3, 36, 0, 21, 5, 2],
            32.13000000000102,
            0.0025759900242714818,
        ),
    };

    /// `np.random.default_rng(11)`: Dirichlet(0.7) weights, prices uniform in [2, 900].
    const TWENTY: Fixture = Fixture {
        weights: &[
            0.004651425179607108,
            0.05175275052048484,
            0.005683192581183492,
            0.0019683360510402595,
            0.25568196777633145,
            0.021271099894498487,
            0.06464829243945726,
            0.005144640065909822,
            0.06645244493101816,
            0.1182374733988468,
            0.04352578300662736,
            0.01988062895163649,
            0.011029682194023609,
            0.03153466686528248,
            0.002494264439383983,
            0.027299302650433954,
            0.06718859383489781,
            0.1816502123346569,
            0.0006687081837738294,
            0.019236534700905868,
        ],
        prices: &[
            815.71, 628.23, 306.71, 17.16, 145.52, 896.8, 414.82, 622.55, 51.09, 32.58, 761.61,
            529.92, 279.22, 287.0, 82.14, 157.06, 24.08, 755.53, 420.74, 116.23,
        ],
        value: 50000.0,
        greedy: (
            &[
                0, 4, 1, 6, 87, 1, 8, 1, 65, 181, 3, 2, 2, 6, 1, 8, 140, 12, 0, 8,
            ],
            30.299999999995592,
            0.0024352582459146307,
        ),
        lp: (
            &[
                0, 4, 1, 6, 88, 1, 8, 1, 65, 182, 3, 2, 2, 5, 1, 9, 139, 12, 0, 8,
            ],
            6.219999999993888,
            0.002335731061016716,
        ),
    };

    const EXPENSIVE: Fixture = Fixture {
        weights: &[0.4, 0.35, 0.25],
        prices: &[3100.0, 45.5, 880.0],
        value: 7000.0,
        greedy: (&[1, 53, 1], 608.5, 0.08284237624409833),
        lp: (&[1, 47, 2], 1.5, 0.03569082031361716),
    };

    const FIXTURES: [&Fixture; 6] = [
        &FIVE,
        &NOTHING_FIRST_ROUND,
        &TIES_AND_ZERO,
        &TEN,
        &TWENTY,
        &EXPENSIVE,
    ];

    fn assert_matches(name: &str, got: &Allocation, expected: (&[u64], f64, f64)) {
        assert_eq!(got.units, expected.0, "{name}: units");
        assert!(
            (got.leftover - expected.1).abs() <= 1e-9,
            "{name}: leftover {} vs {}",
            got.leftover,
            expected.1
        );
        assert!(
            (got.rmse - expected.2).abs() <= 1e-12,
            "{name}: rmse {} vs {}",
            got.rmse,
            expected.2
        );
    }

    #[test]
    fn greedy_matches_pypfopt() {
        for (k, f) in FIXTURES.iter().enumerate() {
            let got = greedy(f.weights, f.prices, f.value).unwrap();
            assert_matches(&format!("fixture {k}"), &got, f.greedy);
        }
    }

    #[test]
    fn integer_matches_pypfopt() {
        for (k, f) in FIXTURES.iter().enumerate() {
            let got =
                integer_with_node_limit(f.weights, f.prices, f.value, DEFAULT_NODE_LIMIT).unwrap();
            assert!(
                got.proven_optimal,
                "fixture {k}: not proven after {} nodes",
                got.nodes
            );
            let expected = objective(f.weights, f.prices, f.value, f.lp.0);
            assert!(
                got.objective <= expected + 1e-9 * f.value,
                "fixture {k}: {} vs {expected}",
                got.objective
            );
            assert_matches(&format!("fixture {k}"), &got.allocation, f.lp);
        }
    }

    #[test]
    fn node_limit_still_returns_an_allocation() {
        let f = &TWENTY;
        let got = integer_with_node_limit(f.weights, f.prices, f.value, 1).unwrap();
        assert_eq!(got.nodes, 1);
        let greedy = greedy(f.weights, f.prices, f.value).unwrap();
        assert!(got.objective <= objective(f.weights, f.prices, f.value, &greedy.units));
        assert!(got.allocation.leftover >= 0.0);
        let got = integer_with_node_limit(f.weights, f.prices, f.value, 0).unwrap();
        assert!(!got.proven_optimal);
        assert_eq!(got.allocation.units, greedy.units);
    }

    #[test]
    fn numpy_sum_is_pairwise() {
        // np.sum of [((i * k) % 97) / 7 for i in 1..=n], where a left fold differs in the last bit.
        let values =
            |n: u64, k: u64| -> Vec<f64> { (1..=n).map(|i| ((i * k) % 97) as f64 / 7.0).collect() };
        let fold = |v: &[f64]| v.iter().fold(0.0, |a, b| a + b);
        assert_eq!(numpy_sum(&values(10, 1)), 7.857142857142858);
        assert_eq!(fold(&values(10, 1)), 7.857142857142857);
        assert_eq!(numpy_sum(&values(20, 1)), 30.000000000000004);
        assert_eq!(numpy_sum(&values(200, 4)), 1342.2857142857142);
        assert_eq!(fold(&values(200, 4)), 1342.285714285714);
        assert_eq!(numpy_sum(&[0.1, 0.2, 0.3]), 0.1 + 0.2 + 0.3);
        assert_eq!(numpy_argmax(&[1.0, f64::NAN, 3.0, f64::NAN]), 1);
        assert_eq!(numpy_argmax(&[1.0, 3.0, 3.0]), 1);
    }

    #[test]
    fn errors_name_the_field() {
        let field = |r: Result<Allocation>| r.unwrap_err().field().unwrap_or_default().to_string();
        let prices = [10.0, 20.0, 30.0];
        assert_eq!(
            field(greedy(&[0.5, -0.1, 0.6], &prices, 100.0)),
            "weights[1]"
        );
        assert_eq!(
            field(greedy(&[0.5, f64::NAN, 0.5], &prices, 100.0)),
            "weights[1]"
        );
        assert_eq!(field(greedy(&[0.5, 0.2, 0.2], &prices, 100.0)), "weights");
        assert_eq!(
            field(integer(&[0.5, 0.3, 0.2], &[10.0, 0.0, 30.0], 100.0)),
            "latest_prices[1]"
        );
        assert_eq!(
            field(integer(&[0.5, 0.3, 0.2], &[10.0, 20.0], 100.0)),
            "latest_prices"
        );
        assert_eq!(
            field(integer(&[0.5, 0.3, 0.2], &prices, 0.0)),
            "total_value"
        );
        assert_eq!(field(integer(&[], &[], 100.0)), "weights");
        assert_eq!(field(greedy(&[1.0], &[1e-9], 1e6)), "latest_prices[0]");
    }

    /// Smallest objective over every affordable allocation, by exhaustive search.
    fn brute_force(weights: &[f64], prices: &[f64], value: f64) -> f64 {
        fn go(i: usize, units: &mut Vec<u64>, w: &[f64], p: &[f64], v: f64, best: &mut f64) {
            if i == w.len() {
                *best = best.min(objective(w, p, v, units));
                return;
            }
            units.push(0);
            while spend(p, units) <= v {
                go(i + 1, units, w, p, v, best);
                *units.last_mut().unwrap() += 1;
            }
            units.pop();
        }
        let mut best = f64::INFINITY;
        go(0, &mut Vec::new(), weights, prices, value, &mut best);
        best
    }

    fn normalised(raw: Vec<f64>) -> Vec<f64> {
        let total: f64 = raw.iter().sum();
        raw.iter().map(|w| w / total).collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Both methods spend at most the total value, report the leftover consistently, and
        /// the integer allocation is never worse than the greedy one on the MILP objective.
        #[test]
        fn allocations_are_affordable(
            raw in proptest::collection::vec(0.0f64..1.0, 1..12),
            price_seed in proptest::collection::vec(1.0f64..500.0, 12),
            value in 50.0f64..20_000.0,
        ) {
            prop_assume!(raw.iter().sum::<f64>() > 0.0);
            let weights = normalised(raw);
            let prices = &price_seed[..weights.len()];
            let g = greedy(&weights, prices, value).unwrap();
            let i = integer_with_node_limit(&weights, prices, value, 500).unwrap();
            for a in [&g, &i.allocation] {
                let spent = spend(prices, &a.units);
                prop_assert!(spent <= value, "spent {} of {}", spent, value);
                prop_assert!(a.leftover >= 0.0);
                prop_assert!((a.leftover - (value - spent)).abs() <= 1e-9 * value);
                prop_assert!(a.rmse.is_finite());
            }
            let greedy_objective = objective(&weights, prices, value, &g.units);
            prop_assert!(i.objective <= greedy_objective + 1e-9 * value);
        }

        /// On problems small enough to enumerate, branch and bound finds the optimum.
        #[test]
        fn integer_is_optimal(
            raw in proptest::collection::vec(0.0f64..1.0, 1..4),
            price_seed in proptest::collection::vec(15.0f64..300.0, 3),
            value in 50.0f64..600.0,
        ) {
            prop_assume!(raw.iter().sum::<f64>() > 0.0);
            let weights = normalised(raw);
            let prices = &price_seed[..weights.len()];
            let got = integer_with_node_limit(&weights, prices, value, DEFAULT_NODE_LIMIT).unwrap();
            prop_assert!(got.proven_optimal);
            let best = brute_force(&weights, prices, value);
            prop_assert!(got.objective <= best + 1e-9 * value, "{} vs {}", got.objective, best);
        }
    }
}
