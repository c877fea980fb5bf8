//! Hierarchical risk parity (López de Prado 2016) as PyPortfolioOpt 1.6.0 `HRPOpt` computes
//! it, with scipy's clustering reproduced step by step so that the leaf order, and hence the
//! weights, agree exactly, ties included:
//!
//! 1. correlation `rho` from the covariance (`cov_to_corr(cov).round(6)`, as HRPOpt does when
//!    given a covariance), distance `sqrt(clip((1 - rho) / 2, 0, 1))`;
//! 2. agglomerative clustering as `scipy.cluster.hierarchy.linkage` (minimum spanning tree for
//!    single linkage, nearest-neighbour chain for the others, then a stable sort of merges by
//!    distance and union-find relabelling);
//! 3. quasi-diagonal order = `to_tree(Z).pre_order()` (left child first);
//! 4. recursive bisection of that order into halves, splitting each half's weight by the
//!    inverse of its inverse-variance portfolio's variance.
//!
//! Weights are long-only and sum to one.

use crate::covariance::{cov_to_corr, validate_covariance};
use crate::estimate::{pairwise_corr, pairwise_cov};
use crate::market::ReturnTable;
use crate::{AdvisorError, DMatrix, DVector, Result};

/// How the distance between two clusters is measured (scipy `linkage` methods).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Linkage {
    /// Nearest members (HRPOpt's default).
    #[default]
    Single,
    /// Farthest members.
    Complete,
    /// Average over all member pairs (UPGMA).
    Average,
    /// Ward's minimum-variance update (Lance-Williams form on the given distances).
    Ward,
}

impl Linkage {
    /// scipy's method name.
    pub fn as_str(self) -> &'static str {
        match self {
            Linkage::Single => "single",
            Linkage::Complete => "complete",
            Linkage::Average => "average",
            Linkage::Ward => "ward",
        }
    }

    /// The method named by [`Linkage::as_str`] (case-insensitive).
    pub fn parse(s: &str) -> Option<Linkage> {
        let s = s.trim().to_ascii_lowercase();
        [
            Linkage::Single,
            Linkage::Complete,
            Linkage::Average,
            Linkage::Ward,
        ]
        .into_iter()
        .find(|l| l.as_str() == s)
    }
}

/// One row of scipy's linkage matrix `Z`: clusters `left` and `right` (ids below `n` are
/// assets, id `n + k` is the cluster formed by row `k`; `left < right`) merge at `distance`
/// into a cluster of `size` assets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Merge {
    /// The smaller cluster id of the pair.
    pub left: usize,
    /// The larger cluster id of the pair.
    pub right: usize,
    /// Linkage distance at which they merge (same units as the input distances).
    pub distance: f64,
    /// Number of assets in the merged cluster.
    pub size: usize,
}

/// `cov` in the returns' own period (HRPOpt uses returns.cov()); bounds optional per asset (Sextant extension: clip in the bisection and redistribute; when None, results equal PyPortfolioOpt).
///
/// The covariance's scale does not matter (annualised gives the same weights). This follows
/// `HRPOpt(cov_matrix=cov).optimize(linkage)`, which clusters on the correlation rounded to 6
/// decimals; [`hrp_from_returns`] follows `HRPOpt(returns)`. Bounds `(lower, upper)` are
/// weight fractions with `0 <= lower <= upper`, `sum(lower) <= 1 <= sum(upper)`: at each
/// bisection a half's share is clipped to the sum of its members' bounds and the excess moves
/// to the other half, so every weight ends within its bounds; bounds that do not bind leave
/// the weights unchanged.
///
/// Deviations from PyPortfolioOpt: a single asset gets weight 1 (scipy cannot cluster one
/// item); a covariance that is not PSD or has a zero variance is an error rather than
/// meaningless weights.
pub fn hrp(
    cov: &DMatrix<f64>,
    linkage: Linkage,
    bounds: Option<(&DVector<f64>, &DVector<f64>)>,
) -> Result<DVector<f64>> {
    check_cov(cov)?;
    let corr = cov_to_corr(cov).map(round_6);
    allocate(cov, &corr, linkage, bounds)
}

/// HRP from returns, as `HRPOpt(returns).optimize(linkage)`: pairwise-complete pandas
/// correlation (not rounded) and covariance of the returns. Bounds as in [`hrp`].
pub fn hrp_from_returns(
    r: &ReturnTable,
    linkage: Linkage,
    bounds: Option<(&DVector<f64>, &DVector<f64>)>,
) -> Result<DVector<f64>> {
    r.validate("returns")?;
    let cov = pairwise_cov(r)?;
    check_cov(&cov)?;
    let corr = pairwise_corr(r)?;
    allocate(&cov, &corr, linkage, bounds)
}

/// The quasi-diagonal order of the assets for a correlation matrix: scipy `linkage` on the
/// distance `sqrt(clip((1 - corr) / 2, 0, 1))` (upper triangle), then `to_tree().pre_order()`.
pub fn cluster_order(corr: &DMatrix<f64>, linkage: Linkage) -> Vec<usize> {
    let n = corr.nrows();
    pre_order(&linkage_tree(&correlation_distance(corr), n, linkage), n)
}

/// scipy `linkage(y, method)` on a condensed distance vector `y` of `n` items (the upper
/// triangle row by row, `n (n - 1) / 2` entries, finite).
pub fn linkage_tree(condensed: &[f64], n: usize, linkage: Linkage) -> Vec<Merge> {
    assert_eq!(
        condensed.len(),
        n * n.saturating_sub(1) / 2,
        "condensed distances of n items"
    );
    if n < 2 {
        return Vec::new();
    }
    let mut merges = match linkage {
        Linkage::Single => mst_single_linkage(condensed, n),
        _ => nn_chain(condensed, n, linkage),
    };
    // Vec::sort_by is stable, like numpy's mergesort argsort that scipy uses.
    merges.sort_by(|a, b| a.distance.total_cmp(&b.distance));
    relabel(&mut merges, n);
    merges
}

/// scipy `to_tree(Z).pre_order()`: leaf ids, depth first, left child before right.
pub fn pre_order(merges: &[Merge], n: usize) -> Vec<usize> {
    if merges.is_empty() {
        return (0..n).collect();
    }
    let mut order = Vec::with_capacity(n);
    let mut stack = vec![n + merges.len() - 1];
    while let Some(node) = stack.pop() {
        if node < n {
            order.push(node);
        } else {
            let merge = &merges[node - n];
            stack.push(merge.right);
            stack.push(merge.left);
        }
    }
    order
}

fn check_cov(cov: &DMatrix<f64>) -> Result<()> {
    validate_covariance(cov, "cov")?;
    if let Some(i) = (0..cov.nrows()).find(|&i| cov[(i, i)] <= 0.0) {
        return Err(AdvisorError::invalid(
            "cov",
            format!("asset {i} has zero variance; inverse-variance weights need a positive one"),
        ));
    }
    Ok(())
}

/// numpy `round(x, 6)`: `rint(x * 1e6) / 1e6`, ties to even.
fn round_6(x: f64) -> f64 {
    (x * 1e6).round_ties_even() / 1e6
}

fn allocate(
    cov: &DMatrix<f64>,
    corr: &DMatrix<f64>,
    linkage: Linkage,
    bounds: Option<(&DVector<f64>, &DVector<f64>)>,
) -> Result<DVector<f64>> {
    let n = cov.nrows();
    if let Some((lower, upper)) = bounds {
        check_bounds(lower, upper, n)?;
    }
    let order = cluster_order(corr, linkage);
    let mut weights = DVector::zeros(n);
    bisect(cov, &order, 1.0, bounds, &mut weights);
    Ok(weights)
}

/// Condensed `sqrt(clip((1 - corr) / 2, 0, 1))` over the upper triangle (`squareform(checks=False)`).
fn correlation_distance(corr: &DMatrix<f64>) -> Vec<f64> {
    let n = corr.nrows();
    let mut condensed = Vec::with_capacity(n * n.saturating_sub(1) / 2);
    for i in 0..n {
        for j in i + 1..n {
            condensed.push(((1.0 - corr[(i, j)]) / 2.0).clamp(0.0, 1.0).sqrt());
        }
    }
    condensed
}

/// Splits `weight` between the two halves of `items` by inverse cluster variance (PyPortfolioOpt
/// `_raw_hrp_allocation`, depth first: each split depends only on its own cluster, so the
/// order of visits does not change the result), clipping to the bounds when they bind.
fn bisect(
    cov: &DMatrix<f64>,
    items: &[usize],
    weight: f64,
    bounds: Option<(&DVector<f64>, &DVector<f64>)>,
    out: &mut DVector<f64>,
) {
    if let [only] = items {
        out[*only] = weight;
        return;
    }
    let (first, second) = items.split_at(items.len() / 2);
    let first_variance = cluster_variance(cov, first);
    let second_variance = cluster_variance(cov, second);
    let alpha = 1.0 - first_variance / (first_variance + second_variance);
    // Same operations as PyPortfolioOpt (w *= alpha, w *= 1 - alpha) so rounding agrees.
    let mut shares = (weight * alpha, weight * (1.0 - alpha));
    if let Some((lower, upper)) = bounds {
        shares = clip_shares(
            shares,
            weight,
            span(first, lower, upper),
            span(second, lower, upper),
        );
    }
    bisect(cov, first, shares.0, bounds, out);
    bisect(cov, second, shares.1, bounds, out);
}

/// Sums of the lower and upper bounds of `items`.
fn span(items: &[usize], lower: &DVector<f64>, upper: &DVector<f64>) -> (f64, f64) {
    (
        items.iter().map(|&i| lower[i]).sum(),
        items.iter().map(|&i| upper[i]).sum(),
    )
}

/// Moves weight between two halves so that each lies within its bounds' sums; untouched when
/// they already do. Feasible whenever `total` lies within the sum of both spans, which holds
/// at the root by [`check_bounds`] and below by induction.
fn clip_shares(
    shares: (f64, f64),
    total: f64,
    first: (f64, f64),
    second: (f64, f64),
) -> (f64, f64) {
    let inside = |x: f64, (lo, hi): (f64, f64)| lo <= x && x <= hi;
    if inside(shares.0, first) && inside(shares.1, second) {
        return shares;
    }
    let a = shares.0.clamp(first.0, first.1);
    let b = (total - a).clamp(second.0, second.1);
    (total - b, b)
}

/// Variance of the inverse-variance portfolio of `items` (PyPortfolioOpt `_get_cluster_var`).
fn cluster_variance(cov: &DMatrix<f64>, items: &[usize]) -> f64 {
    let inverse: Vec<f64> = items.iter().map(|&i| 1.0 / cov[(i, i)]).collect();
    let total: f64 = inverse.iter().sum();
    let w: Vec<f64> = inverse.iter().map(|x| x / total).collect();
    let mut variance = 0.0;
    for (a, &i) in items.iter().enumerate() {
        let row: f64 = items
            .iter()
            .enumerate()
            .map(|(b, &j)| cov[(i, j)] * w[b])
            .sum();
        variance += w[a] * row;
    }
    variance
}

fn check_bounds(lower: &DVector<f64>, upper: &DVector<f64>, n: usize) -> Result<()> {
    if lower.len() != n || upper.len() != n {
        return Err(AdvisorError::invalid(
            "bounds",
            format!(
                "{} lower and {} upper bounds for {n} assets",
                lower.len(),
                upper.len()
            ),
        ));
    }
    for i in 0..n {
        if !lower[i].is_finite() || lower[i] < 0.0 {
            return Err(AdvisorError::invalid(
                format!("bounds.lower[{i}]"),
                "must be finite and at least 0 (HRP is long-only)",
            ));
        }
        if !upper[i].is_finite() || upper[i] < lower[i] {
            return Err(AdvisorError::invalid(
                format!("bounds.upper[{i}]"),
                "must be finite and at least the lower bound",
            ));
        }
    }
    let (sum_lower, sum_upper) = (lower.sum(), upper.sum());
    if sum_lower > 1.0 + 1e-12 || sum_upper < 1.0 - 1e-12 {
        return Err(AdvisorError::infeasible(
            "bounds",
            format!("weights must sum to 1 but the lower bounds sum to {sum_lower} and the upper bounds to {sum_upper}"),
        ));
    }
    Ok(())
}

/// scipy's `condensed_index(n, i, j)` for `i != j`.
fn condensed_index(n: usize, i: usize, j: usize) -> usize {
    let (i, j) = if i < j { (i, j) } else { (j, i) };
    n * i - i * (i + 1) / 2 + (j - i - 1)
}

/// scipy `_hierarchy.mst_single_linkage` (Prim's algorithm), before sorting and relabelling.
fn mst_single_linkage(dists: &[f64], n: usize) -> Vec<Merge> {
    let mut merged = vec![false; n];
    let mut nearest = vec![f64::INFINITY; n];
    let mut merges = Vec::with_capacity(n - 1);
    let (mut x, mut y) = (0, 0);
    for _ in 0..n - 1 {
        let mut current_min = f64::INFINITY;
        merged[x] = true;
        for i in 0..n {
            if merged[i] {
                continue;
            }
            let dist = dists[condensed_index(n, x, i)];
            if nearest[i] > dist {
                nearest[i] = dist;
            }
            if nearest[i] < current_min {
                y = i;
                current_min = nearest[i];
            }
        }
        merges.push(Merge {
            left: x,
            right: y,
            distance: current_min,
            size: 0,
        });
        x = y;
    }
    merges
}

/// scipy `_hierarchy.nn_chain` with the Lance-Williams update of `linkage`, before sorting and
/// relabelling. Cluster slots are asset indices; a merge keeps the larger slot.
fn nn_chain(dists: &[f64], n: usize, linkage: Linkage) -> Vec<Merge> {
    let mut d = dists.to_vec();
    let mut size = vec![1_usize; n];
    let mut chain: Vec<usize> = Vec::with_capacity(n);
    let mut merges = Vec::with_capacity(n - 1);
    for _ in 0..n - 1 {
        if chain.is_empty() {
            chain.push((0..n).find(|&i| size[i] > 0).unwrap_or(0));
        }
        let (mut x, mut y, current_min);
        loop {
            x = chain[chain.len() - 1];
            // Prefer the previous element of the chain on ties, to avoid cycles.
            let (mut best, mut best_dist) = match chain.len() {
                1 => (0, f64::INFINITY),
                len => (chain[len - 2], d[condensed_index(n, x, chain[len - 2])]),
            };
            for i in 0..n {
                if size[i] == 0 || i == x {
                    continue;
                }
                let dist = d[condensed_index(n, x, i)];
                if dist < best_dist {
                    best_dist = dist;
                    best = i;
                }
            }
            y = best;
            if chain.len() > 1 && y == chain[chain.len() - 2] {
                current_min = best_dist;
                break;
            }
            chain.push(y);
        }
        chain.truncate(chain.len() - 2);
        if x > y {
            std::mem::swap(&mut x, &mut y);
        }
        let (nx, ny) = (size[x], size[y]);
        merges.push(Merge {
            left: x,
            right: y,
            distance: current_min,
            size: nx + ny,
        });
        size[x] = 0;
        size[y] = nx + ny;
        for i in 0..n {
            let ni = size[i];
            if ni == 0 || i == y {
                continue;
            }
            let (d_xi, d_yi) = (d[condensed_index(n, i, x)], d[condensed_index(n, i, y)]);
            d[condensed_index(n, i, y)] =
                lance_williams(linkage, d_xi, d_yi, current_min, nx, ny, ni);
        }
    }
    merges
}

/// Distance from cluster `i` to the merge of `x` and `y`, as scipy's `_single` .. `_ward`.
fn lance_williams(
    linkage: Linkage,
    d_xi: f64,
    d_yi: f64,
    d_xy: f64,
    nx: usize,
    ny: usize,
    ni: usize,
) -> f64 {
    let (nx, ny, ni) = (nx as f64, ny as f64, ni as f64);
    match linkage {
        Linkage::Single => d_xi.min(d_yi),
        Linkage::Complete => d_xi.max(d_yi),
        Linkage::Average => (nx * d_xi + ny * d_yi) / (nx + ny),
        Linkage::Ward => {
            let t = 1.0 / (nx + ny + ni);
            ((ni + nx) * t * d_xi * d_xi + (ni + ny) * t * d_yi * d_yi - ni * t * d_xy * d_xy)
                .sqrt()
        }
    }
}

/// scipy `label`: rewrites the slot indices of sorted merges as cluster ids (`n + row`) with a
/// union-find, smaller id on the left, and fills in the sizes.
fn relabel(merges: &mut [Merge], n: usize) {
    let mut parent: Vec<usize> = (0..2 * n - 1).collect();
    let mut size = vec![1_usize; 2 * n - 1];
    for (row, merge) in merges.iter_mut().enumerate() {
        let label = n + row;
        let x_root = find(&mut parent, merge.left);
        let y_root = find(&mut parent, merge.right);
        (merge.left, merge.right) = if x_root < y_root {
            (x_root, y_root)
        } else {
            (y_root, x_root)
        };
        parent[x_root] = label;
        parent[y_root] = label;
        size[label] = size[x_root] + size[y_root];
        merge.size = size[label];
    }
}

fn find(parent: &mut [usize], x: usize) -> usize {
    let mut root = x;
    while parent[root] != root {
        root = parent[root];
    }
    let mut p = x;
    while parent[p] != root {
        let next = parent[p];
        parent[p] = root;
        p = next;
    }
    root
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimate::pairwise_cov;
    use crate::estimate::tests::{assert_close, fixture_prices, synthetic_returns};
    use proptest::prelude::*;

    /// PyPortfolioOpt 1.6.0 (scipy 1.17.1) `HRPOpt` weights on the estimate fixtures: `prices`
    /// is [`crate::estimate::tests::FIXTURE_CSV`], `r` the synthetic returns. The tickers are
    /// already sorted, so the order of HRPOpt's (sorted) weight dict is the column order.
    #[rustfmt::skip]
    mod reference {
    /// `HRPOpt(cov_matrix=returns_from_prices(prices).cov()).optimize("single")`
    pub const FIXTURE_COV_SINGLE: [f64; 5] = [0.4458634569766396, 0.2597828742141632, 0.16073295053289782, 0.09650210889215821, 0.03711860938414121];
    /// `HRPOpt(cov_matrix=returns_from_prices(prices).cov()).optimize("complete")`
    pub const FIXTURE_COV_COMPLETE: [f64; 5] = [0.33924532031322613, 0.27708338640775965, 0.22208913926102944, 0.13333961847696543, 0.028242535541019374];
    /// `HRPOpt(cov_matrix=returns_from_prices(prices).cov()).optimize("average")`
    pub const FIXTURE_COV_AVERAGE: [f64; 5] = [0.4458634569766396, 0.2597828742141632, 0.16073295053289782, 0.09650210889215821, 0.03711860938414121];
    /// `HRPOpt(cov_matrix=returns_from_prices(prices).cov()).optimize("ward")`
    pub const FIXTURE_COV_WARD: [f64; 5] = [0.4458634569766396, 0.2597828742141632, 0.16073295053289782, 0.09650210889215821, 0.03711860938414121];
    /// `HRPOpt(cov_matrix=r.cov()).optimize("single")`
    pub const SYNTHETIC_COV_SINGLE: [f64; 6] = [0.3346740816686738, 0.14422522421024636, 0.17848379196254277, 0.13462937200882352, 0.10135583037826869, 0.10663169977144478];
    /// `HRPOpt(returns=r).optimize("single")`
    pub const SYNTHETIC_RETURNS_SINGLE: [f64; 6] = [0.2497434463461067, 0.2594568196382447, 0.13312551283326118, 0.13522010692970987, 0.1475039880229253, 0.07495012622975224];
    /// `HRPOpt(cov_matrix=r.cov()).optimize("complete")`
    pub const SYNTHETIC_COV_COMPLETE: [f64; 6] = [0.41776909967563086, 0.11116577559174347, 0.07767679615799782, 0.15994272732054596, 0.17037344900350646, 0.0630721522505755];
    /// `HRPOpt(returns=r).optimize("complete")`
    pub const SYNTHETIC_RETURNS_COMPLETE: [f64; 6] = [0.41776909967563086, 0.11116577559174347, 0.07767679615799782, 0.15994272732054596, 0.17037344900350646, 0.0630721522505755];
    /// `HRPOpt(cov_matrix=r.cov()).optimize("average")`
    pub const SYNTHETIC_COV_AVERAGE: [f64; 6] = [0.41776909967563086, 0.11116577559174347, 0.07767679615799782, 0.15994272732054596, 0.17037344900350646, 0.0630721522505755];
    /// `HRPOpt(returns=r).optimize("average")`
    pub const SYNTHETIC_RETURNS_AVERAGE: [f64; 6] = [0.41776909967563086, 0.11116577559174347, 0.07767679615799782, 0.15994272732054596, 0.17037344900350646, 0.0630721522505755];
    /// `HRPOpt(cov_matrix=r.cov()).optimize("ward")`
    pub const SYNTHETIC_COV_WARD: [f64; 6] = [0.41776909967563086, 0.11116577559174347, 0.07767679615799782, 0.15994272732054596, 0.17037344900350646, 0.0630721522505755];
    /// `HRPOpt(returns=r).optimize("ward")`
    pub const SYNTHETIC_RETURNS_WARD: [f64; 6] = [0.41776909967563086, 0.11116577559174347, 0.07767679615799782, 0.15994272732054596, 0.17037344900350646, 0.0630721522505755];
    }
    use reference as py;

    const ALL: [Linkage; 4] = [
        Linkage::Single,
        Linkage::Complete,
        Linkage::Average,
        Linkage::Ward,
    ];

    #[test]
    fn hrp_on_a_covariance_matches_pypfopt() {
        let fixture = pairwise_cov(&fixture_prices().returns()).unwrap();
        let synthetic = pairwise_cov(&synthetic_returns()).unwrap();
        let expected = [
            (&py::FIXTURE_COV_SINGLE[..], &py::SYNTHETIC_COV_SINGLE[..]),
            (&py::FIXTURE_COV_COMPLETE, &py::SYNTHETIC_COV_COMPLETE),
            (&py::FIXTURE_COV_AVERAGE, &py::SYNTHETIC_COV_AVERAGE),
            (&py::FIXTURE_COV_WARD, &py::SYNTHETIC_COV_WARD),
        ];
        for (linkage, (on_fixture, on_synthetic)) in ALL.into_iter().zip(expected) {
            assert_close(
                hrp(&fixture, linkage, None).unwrap().as_slice(),
                on_fixture,
                1e-12,
            );
            assert_close(
                hrp(&synthetic, linkage, None).unwrap().as_slice(),
                on_synthetic,
                1e-12,
            );
            // Annualising the covariance changes nothing.
            let annual = hrp(&(&fixture * 252.0), linkage, None).unwrap();
            assert_close(annual.as_slice(), on_fixture, 1e-12);
        }
    }

    #[test]
    fn hrp_on_returns_matches_pypfopt() {
        let r = synthetic_returns();
        let expected = [
            &py::SYNTHETIC_RETURNS_SINGLE,
            &py::SYNTHETIC_RETURNS_COMPLETE,
            &py::SYNTHETIC_RETURNS_AVERAGE,
            &py::SYNTHETIC_RETURNS_WARD,
        ];
        for (linkage, expected) in ALL.into_iter().zip(expected) {
            let w = hrp_from_returns(&r, linkage, None).unwrap();
            assert_close(w.as_slice(), expected, 1e-12);
        }
    }

    /// One linkage row: left, right, distance, size.
    type Row = (usize, usize, f64, usize);

    #[test]
    fn linkage_matches_scipy_with_ties() {
        // Condensed distances of 6 items drawn from {0.1, 0.2, 0.3}, many ties.
        #[rustfmt::skip]
        let y = [0.2, 0.1, 0.3, 0.1, 0.2, 0.1, 0.2, 0.3, 0.1, 0.2, 0.1, 0.3, 0.1, 0.2, 0.3];
        // scipy.cluster.hierarchy.linkage(y, method) rows and to_tree(Z).pre_order()
        #[rustfmt::skip]
        let expected: [(Linkage, [Row; 5], [usize; 6]); 4] = [
            (Linkage::Single, [(0, 2, 0.1, 2), (1, 6, 0.1, 3), (4, 7, 0.1, 4), (3, 8, 0.1, 5), (5, 9, 0.1, 6)], [5, 3, 4, 1, 0, 2]),
            (Linkage::Complete, [(0, 2, 0.1, 2), (1, 5, 0.1, 2), (4, 6, 0.1, 3), (3, 7, 0.2, 3), (8, 9, 0.3, 6)], [4, 0, 2, 3, 1, 5]),
            (Linkage::Average, [(0, 2, 0.1, 2), (1, 5, 0.1, 2), (4, 6, 0.1, 3), (3, 8, 0.19999999999999998, 4), (7, 9, 0.22499999999999998, 6)], [1, 5, 3, 4, 0, 2]),
            (Linkage::Ward, [(0, 2, 0.1, 2), (1, 5, 0.1, 2), (4, 6, 0.1, 3), (3, 7, 0.22360679774997896, 3), (8, 9, 0.3559026084010437, 6)], [4, 0, 2, 3, 1, 5]),
        ];
        for (linkage, rows, order) in expected {
            let merges = linkage_tree(&y, 6, linkage);
            let got: Vec<Row> = merges
                .iter()
                .map(|m| (m.left, m.right, m.distance, m.size))
                .collect();
            assert_eq!(got.len(), 5);
            for (g, e) in got.iter().zip(rows) {
                assert_eq!((g.0, g.1, g.3), (e.0, e.1, e.3), "{linkage:?}");
                assert!((g.2 - e.2).abs() < 1e-15, "{linkage:?}");
            }
            assert_eq!(pre_order(&merges, 6), order, "{linkage:?}");
        }
    }

    #[test]
    fn loose_bounds_change_nothing_and_tight_ones_bind() {
        let cov = pairwise_cov(&fixture_prices().returns()).unwrap();
        let free = hrp(&cov, Linkage::Single, None).unwrap();
        let (zero, one) = (DVector::zeros(5), DVector::from_element(5, 1.0));
        assert_eq!(
            hrp(&cov, Linkage::Single, Some((&zero, &one))).unwrap(),
            free
        );
        // Unbounded, A takes 44.6 % and E 3.7 %.
        let lower = DVector::from_row_slice(&[0.0, 0.0, 0.0, 0.0, 0.1]);
        let upper = DVector::from_element(5, 0.3);
        let w = hrp(&cov, Linkage::Single, Some((&lower, &upper))).unwrap();
        assert!((w.sum() - 1.0).abs() < 1e-12);
        for i in 0..5 {
            assert!(w[i] >= lower[i] - 1e-12 && w[i] <= upper[i] + 1e-12, "{w}");
        }
        // A is capped at 30 %; the excess goes to its sibling E, within E's bounds.
        assert!((w[0] - 0.3).abs() < 1e-12, "{w}");
        assert!((w[0] + w[4] - free[0] - free[4]).abs() < 1e-12, "{w}");
    }

    #[test]
    fn bad_inputs_are_named() {
        let cov = pairwise_cov(&fixture_prices().returns()).unwrap();
        let upper = DVector::from_element(5, 0.15);
        let e = hrp(&cov, Linkage::Single, Some((&DVector::zeros(5), &upper))).unwrap_err();
        assert_eq!(
            (e.code(), e.field()),
            ("infeasible_constraints", Some("bounds"))
        );
        let lower = DVector::from_row_slice(&[0.0, 0.0, 0.5, 0.0, 0.0]);
        let upper = DVector::from_element(5, 0.4);
        let e = hrp(&cov, Linkage::Single, Some((&lower, &upper))).unwrap_err();
        assert_eq!(e.field(), Some("bounds.upper[2]"));
        let mut flat = cov.clone();
        flat[(3, 3)] = 0.0;
        let e = hrp(&flat, Linkage::Single, None).unwrap_err();
        assert_eq!(e.field(), Some("cov"));
        let e = hrp(&DMatrix::zeros(0, 0), Linkage::Single, None).unwrap_err();
        assert_eq!(e.field(), Some("cov"));
        let one = DMatrix::from_element(1, 1, 0.04);
        assert_eq!(
            hrp(&one, Linkage::Ward, None).unwrap(),
            DVector::from_element(1, 1.0)
        );
    }

    #[test]
    fn linkage_names_round_trip() {
        for l in ALL {
            assert_eq!(Linkage::parse(l.as_str()), Some(l));
        }
        assert_eq!(Linkage::parse("Centroid"), None);
    }

    proptest! {
        #[test]
        fn weights_sum_to_one_within_bounds(
            values in prop::collection::vec(-0.05..0.05_f64, 60),
            caps in prop::collection::vec(0.2..0.6_f64, 6),
            linkage in prop::sample::select(ALL.to_vec()),
        ) {
            let x = DMatrix::from_row_slice(10, 6, &values);
            let r = ReturnTable::from_matrix((0..6).map(|j| j.to_string()).collect(), &x);
            let cov = pairwise_cov(&r).unwrap();
            let upper = DVector::from_vec(caps);
            let lower = DVector::from_element(6, 0.02);
            for bounds in [None, Some((&lower, &upper))] {
                let w = hrp(&cov, linkage, bounds).unwrap();
                prop_assert!((w.sum() - 1.0).abs() < 1e-12);
                prop_assert!(w.iter().all(|&x| x > 0.0));
                if bounds.is_some() {
                    for i in 0..6 {
                        prop_assert!(w[i] >= lower[i] - 1e-12 && w[i] <= upper[i] + 1e-12);
                    }
                }
            }
        }
    }
}
