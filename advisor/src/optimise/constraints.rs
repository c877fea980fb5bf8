//! What an optimisation may not do: bounds, group limits, costs and turnover, cardinality,
//! each validated against the number of assets with the offending field named.

use crate::{AdvisorError, DVector, Result};

/// A limit on the total weight of a group of assets (an asset class or sector).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupLimit {
    /// Names the group in errors: `groups.<name>`.
    pub name: String,
    /// Asset indices in the group.
    pub members: Vec<usize>,
    /// Least total weight (fraction; `-inf` or a value at or below the members' lower bounds
    /// for none).
    pub lower: f64,
    /// Most total weight (fraction; `inf` for none).
    pub upper: f64,
}

/// At most `max_assets` holdings, each at least `min_weight` (Sextant extension; needs
/// long-only bounds).
#[derive(Debug, Clone, PartialEq)]
pub struct Cardinality {
    pub max_assets: usize,
    /// Smallest nonzero weight (fraction).
    pub min_weight: f64,
}

/// Everything that limits the portfolio besides the objective.
#[derive(Debug, Clone, PartialEq)]
pub struct Constraints {
    /// Per-asset least weight (fraction; negative allows shorting; `-inf` for none).
    pub lower: DVector<f64>,
    /// Per-asset most weight (fraction; `inf` for none).
    pub upper: DVector<f64>,
    /// Asset-class / sector limits.
    pub groups: Vec<GroupLimit>,
    /// PyPortfolioOpt `L2_reg`: `l2_gamma * ||w||²` is added to the objective.
    pub l2_gamma: f64,
    /// Current weights, for transaction costs and turnover.
    pub current: Option<DVector<f64>>,
    /// `k` in `k * ||w - current||_1` added to the objective (`transaction_cost`).
    pub transaction_cost: f64,
    /// `||w - current||_1 <= cap` (Sextant extension).
    pub max_turnover: Option<f64>,
    /// Cardinality limit (Sextant extension).
    pub cardinality: Option<Cardinality>,
}

impl Constraints {
    /// Weights in `[0, 1]`, nothing else (PyPortfolioOpt's default bounds).
    pub fn long_only(n: usize) -> Constraints {
        Constraints::bounded(n, 0.0, 1.0)
    }

    /// Every weight in `[lower, upper]`, nothing else.
    pub fn bounded(n: usize, lower: f64, upper: f64) -> Constraints {
        Constraints {
            lower: DVector::from_element(n, lower),
            upper: DVector::from_element(n, upper),
            groups: Vec::new(),
            l2_gamma: 0.0,
            current: None,
            transaction_cost: 0.0,
            max_turnover: None,
            cardinality: None,
        }
    }

    /// Checks shapes and values, and the infeasibilities visible without solving, naming the
    /// constraint: a lower bound above its upper bound (`bounds[i]`), bounds that cannot sum
    /// to one (`bounds`), a group that its members' bounds cannot meet (`groups.<name>`), a
    /// turnover cap below what reaching the bounds needs (`max_turnover`), a cardinality limit
    /// that cannot hold the budget (`cardinality`).
    pub fn validate(&self, n: usize) -> Result<()> {
        self.validate_bounds(n)?;
        for group in &self.groups {
            self.validate_group(n, group)?;
        }
        self.validate_costs(n)?;
        if let Some(card) = &self.cardinality {
            self.validate_cardinality(n, card)?;
        }
        Ok(())
    }

    fn validate_bounds(&self, n: usize) -> Result<()> {
        if self.lower.len() != n || self.upper.len() != n {
            return Err(AdvisorError::invalid(
                "bounds",
                format!(
                    "{} lower and {} upper bounds for {n} assets",
                    self.lower.len(),
                    self.upper.len()
                ),
            ));
        }
        for i in 0..n {
            let (lo, hi) = (self.lower[i], self.upper[i]);
            if lo.is_nan() || hi.is_nan() || lo == f64::INFINITY || hi == f64::NEG_INFINITY {
                return Err(AdvisorError::invalid(
                    format!("bounds[{i}]"),
                    format!("bounds ({lo}, {hi}) are not usable"),
                ));
            }
            if lo > hi {
                return Err(AdvisorError::infeasible(
                    format!("bounds[{i}]"),
                    format!("lower bound {lo} is above upper bound {hi}"),
                ));
            }
        }
        let (sum_lo, sum_hi) = (self.lower.sum(), self.upper.sum());
        if sum_lo > 1.0 + 1e-12 {
            return Err(AdvisorError::infeasible(
                "bounds",
                format!("the lower bounds sum to {sum_lo}, above 1"),
            ));
        }
        if sum_hi < 1.0 - 1e-12 {
            return Err(AdvisorError::infeasible(
                "bounds",
                format!("the upper bounds sum to {sum_hi}, below 1"),
            ));
        }
        Ok(())
    }

    fn validate_group(&self, n: usize, group: &GroupLimit) -> Result<()> {
        let field = format!("groups.{}", group.name);
        if group.members.is_empty() {
            return Err(AdvisorError::invalid(field, "the group has no members"));
        }
        let mut seen = vec![false; n];
        for &m in &group.members {
            if m >= n || seen[m] {
                return Err(AdvisorError::invalid(
                    field,
                    format!("member {m} is out of range or repeated ({n} assets)"),
                ));
            }
            seen[m] = true;
        }
        let (lo, hi) = (group.lower, group.upper);
        if lo.is_nan() || hi.is_nan() || lo == f64::INFINITY || hi == f64::NEG_INFINITY {
            return Err(AdvisorError::invalid(
                field,
                format!("limits ({lo}, {hi}) are not usable"),
            ));
        }
        if lo > hi {
            return Err(AdvisorError::infeasible(
                field,
                format!("lower limit {lo} is above upper limit {hi}"),
            ));
        }
        // The group's total lies in [in_lo, in_hi] by the bounds, and 1 minus it must be
        // reachable by the other assets.
        let (mut in_lo, mut in_hi, mut out_lo, mut out_hi) = (0.0, 0.0, 0.0, 0.0);
        for (i, &member) in seen.iter().enumerate() {
            if member {
                in_lo += self.lower[i];
                in_hi += self.upper[i];
            } else {
                out_lo += self.lower[i];
                out_hi += self.upper[i];
            }
        }
        let reach_lo = f64::max(in_lo, 1.0 - out_hi);
        let reach_hi = f64::min(in_hi, 1.0 - out_lo);
        let tol = 1e-12;
        if lo > reach_hi + tol {
            return Err(AdvisorError::infeasible(
                field,
                format!(
                    "lower limit {lo} is above {reach_hi}, the most the members' bounds (sum {in_hi}) and the others' lower bounds allow"
                ),
            ));
        }
        if hi < reach_lo - tol {
            return Err(AdvisorError::infeasible(
                field,
                format!(
                    "upper limit {hi} is below {reach_lo}, the least the members' lower bounds (sum {in_lo}) and the others' upper bounds allow"
                ),
            ));
        }
        Ok(())
    }

    fn validate_costs(&self, n: usize) -> Result<()> {
        if !(self.l2_gamma.is_finite() && self.l2_gamma >= 0.0) {
            return Err(AdvisorError::invalid(
                "l2_gamma",
                "must be finite and non-negative",
            ));
        }
        if !(self.transaction_cost.is_finite() && self.transaction_cost >= 0.0) {
            return Err(AdvisorError::invalid(
                "transaction_cost",
                "must be finite and non-negative",
            ));
        }
        if let Some(c) = &self.current {
            if c.len() != n {
                return Err(AdvisorError::invalid(
                    "current",
                    format!("{} current weights for {n} assets", c.len()),
                ));
            }
            if let Some(i) = c.iter().position(|v| !v.is_finite()) {
                return Err(AdvisorError::invalid(
                    format!("current[{i}]"),
                    "not a finite weight",
                ));
            }
        }
        let needs_current = self.transaction_cost > 0.0 || self.max_turnover.is_some();
        if needs_current && self.current.is_none() {
            return Err(AdvisorError::invalid(
                "current",
                "transaction costs and a turnover cap need the current weights",
            ));
        }
        let (Some(cap), Some(c)) = (self.max_turnover, &self.current) else {
            return Ok(());
        };
        if !(cap.is_finite() && cap >= 0.0) {
            return Err(AdvisorError::invalid(
                "max_turnover",
                "must be finite and non-negative",
            ));
        }
        // Each weight must move into its bounds, and the total must move to one.
        let to_bounds: f64 = (0..n)
            .map(|i| (self.lower[i] - c[i]).max(0.0) + (c[i] - self.upper[i]).max(0.0))
            .sum();
        let needed = to_bounds.max((1.0 - c.sum()).abs());
        if needed > cap + 1e-12 {
            return Err(AdvisorError::infeasible(
                "max_turnover",
                format!("moving the current weights into the bounds and to a sum of one needs turnover {needed}, above the cap {cap}"),
            ));
        }
        Ok(())
    }

    fn validate_cardinality(&self, n: usize, card: &Cardinality) -> Result<()> {
        if card.max_assets == 0 {
            return Err(AdvisorError::invalid(
                "cardinality.max_assets",
                "must be at least 1",
            ));
        }
        if !(card.min_weight.is_finite() && card.min_weight >= 0.0) {
            return Err(AdvisorError::invalid(
                "cardinality.min_weight",
                "must be finite and non-negative",
            ));
        }
        if let Some(i) = (0..n).find(|&i| self.lower[i] < 0.0) {
            return Err(AdvisorError::invalid(
                "cardinality",
                format!("a cardinality limit needs long-only bounds (bounds[{i}] allows shorting)"),
            ));
        }
        let forced = (0..n).filter(|&i| self.lower[i] > 0.0).count();
        if forced > card.max_assets {
            return Err(AdvisorError::infeasible(
                "cardinality",
                format!(
                    "{forced} assets have a positive lower bound, more than max_assets {}",
                    card.max_assets
                ),
            ));
        }
        let mut caps: Vec<f64> = (0..n)
            .filter(|&i| self.upper[i] >= card.min_weight)
            .map(|i| self.upper[i].min(1.0))
            .collect();
        caps.sort_by(|a, b| b.total_cmp(a));
        let best: f64 = caps.iter().take(card.max_assets).sum();
        if best < 1.0 - 1e-12 {
            return Err(AdvisorError::infeasible(
                "cardinality",
                format!(
                    "{} assets can hold at most {best} of the portfolio under their upper bounds",
                    card.max_assets
                ),
            ));
        }
        Ok(())
    }

    /// True when every constraint and objective term is linear or quadratic in the weights,
    /// so the exact active-set method applies.
    pub(crate) fn is_linear(&self) -> bool {
        self.transaction_cost == 0.0 && self.max_turnover.is_none() && self.cardinality.is_none()
    }
}
