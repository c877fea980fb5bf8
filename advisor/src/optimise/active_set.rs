//! An exact primal active-set solver for the dense, strictly convex, linearly constrained
//! quadratic programs of mean-variance optimisation, with a parametric continuation in one
//! row's lower limit (the target return) that traces the efficient frontier.
//!
//! The problem is `min ½ x'Hx + q'x` subject to `lo_r <= a_r'x <= hi_r` for a few dense
//! general rows (budget, asset-class groups, target return) and `l <= x <= u`. Variables at a
//! bound are eliminated, so each step solves a system in the free variables only, by the
//! range-space method on a Cholesky factor of `H[F, F]` that is updated (not recomputed) as
//! variables enter and leave the free set. Optimal weights are piecewise linear in the target
//! return between active-set changes, so the continuation gives every frontier point exactly.
//!
//! Every answer comes with a KKT certificate ([`ActiveSet::certify`]); callers fall back to
//! clarabel whenever this solver stalls (dependent rows, a singular `H[F, F]`, an iteration
//! limit) or the certificate fails, so a weakness here costs speed, never correctness.

use crate::DMatrix;

/// A dense strictly convex QP: `min ½ x'Hx + q'x` s.t. `lo <= a'x <= hi` per row, `l <= x <= u`.
#[derive(Debug, Clone)]
pub(crate) struct DenseQp {
    /// Symmetric, positive definite on the free variables (full storage).
    pub h: DMatrix<f64>,
    pub q: Vec<f64>,
    pub rows: Vec<DenseRow>,
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
}

/// `lo <= a'x <= hi`; `lo == hi` is an equality. Infinite limits are allowed.
#[derive(Debug, Clone)]
pub(crate) struct DenseRow {
    pub a: Vec<f64>,
    pub lo: f64,
    pub hi: f64,
}

/// Why the active-set solver gave up; the caller then uses clarabel.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Stall(pub &'static str);

/// Where a variable or row sits: strictly inside its limits, or held at one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Free,
    Lower,
    Upper,
}

/// Relative pivot below which `H[F, F]` (or the rows' Schur complement) counts as singular.
const PIVOT_TOLERANCE: f64 = 1e-12;

/// A lower-triangular Cholesky factor stored row-major with a fixed row stride, so that rows
/// can be appended and deleted in place.
#[derive(Debug, Clone)]
struct Chol {
    stride: usize,
    size: usize,
    l: Vec<f64>,
}

impl Chol {
    fn new(capacity: usize) -> Chol {
        Chol {
            stride: capacity.max(1),
            size: 0,
            l: vec![0.0; capacity.max(1) * capacity.max(1)],
        }
    }

    fn row(&self, i: usize) -> &[f64] {
        &self.l[i * self.stride..i * self.stride + i + 1]
    }

    /// Solves `L z = b` in place.
    fn forward(&self, b: &mut [f64]) {
        for i in 0..self.size {
            let row = self.row(i);
            let s = dot(&row[..i], &b[..i]);
            b[i] = (b[i] - s) / row[i];
        }
    }

    /// Solves `L' x = z` in place (column sweep, so rows stay contiguous).
    fn backward(&self, b: &mut [f64]) {
        for i in (0..self.size).rev() {
            let row = self.row(i);
            b[i] /= row[i];
            let xi = b[i];
            for (bk, lk) in b[..i].iter_mut().zip(&row[..i]) {
                *bk -= lk * xi;
            }
        }
    }

    /// Appends a row and column: `col[i] = H[free_i, new]` for the current order, `diag = H[new, new]`.
    fn append(&mut self, col: &[f64], diag: f64) -> Result<(), Stall> {
        let m = self.size;
        let mut l = col.to_vec();
        self.forward(&mut l);
        let d = diag - dot(&l, &l);
        if d.is_nan() || d <= PIVOT_TOLERANCE * diag.abs().max(f64::MIN_POSITIVE) {
            return Err(Stall("singular covariance on the free assets"));
        }
        let start = m * self.stride;
        self.l[start..start + m].copy_from_slice(&l);
        self.l[start + m] = d.sqrt();
        self.size += 1;
        Ok(())
    }

    /// Deletes row and column `k`, restoring the factor of the remaining matrix by a rank-one
    /// update of the trailing block with the deleted column.
    fn delete(&mut self, k: usize) {
        let m = self.size;
        let s = self.stride;
        let mut v: Vec<f64> = (k + 1..m).map(|i| self.l[i * s + k]).collect();
        for i in k + 1..m {
            // Row i moves up to i - 1, dropping its entry in column k.
            let src = i * s;
            let dst = (i - 1) * s;
            self.l.copy_within(src..src + k, dst);
            self.l.copy_within(src + k + 1..src + i + 1, dst + k);
        }
        self.size -= 1;
        // Rank-one update of rows/columns k.. with v (the standard "cholupdate").
        for j in 0..v.len() {
            let jj = (k + j) * s + (k + j);
            let ljj = self.l[jj];
            let r = ljj.hypot(v[j]);
            let c = r / ljj;
            let sn = v[j] / ljj;
            self.l[jj] = r;
            for (i, vi) in v[j + 1..].iter_mut().enumerate() {
                let ij = (k + j + 1 + i) * s + (k + j);
                self.l[ij] = (self.l[ij] + sn * *vi) / c;
                *vi = c * *vi - sn * self.l[ij];
            }
        }
    }
}

/// A Cholesky factor of `h` scaled by `sqrt(factor)`, for reuse by the solver.
pub(crate) struct FullFactor {
    chol: Chol,
}

impl FullFactor {
    /// Factors the whole of `h` (dot-product form over contiguous rows); `None` when `h` is
    /// not numerically positive definite.
    pub(crate) fn new(h: &DMatrix<f64>) -> Option<FullFactor> {
        let n = h.nrows();
        let mut chol = Chol::new(n);
        let s = chol.stride;
        for i in 0..n {
            for j in 0..=i {
                let v = h[(i, j)] - dot(&chol.l[i * s..i * s + j], &chol.l[j * s..j * s + j]);
                if i == j {
                    if v.is_nan() || v <= PIVOT_TOLERANCE * h[(i, i)].abs().max(f64::MIN_POSITIVE) {
                        return None;
                    }
                    chol.l[i * s + i] = v.sqrt();
                } else {
                    chol.l[i * s + j] = v / chol.l[j * s + j];
                }
            }
        }
        chol.size = n;
        Some(FullFactor { chol })
    }

    /// The factor of `factor * h`.
    pub(crate) fn scaled(&self, factor: f64) -> FullFactor {
        let r = factor.sqrt();
        let mut chol = self.chol.clone();
        chol.l.iter_mut().for_each(|v| *v *= r);
        FullFactor { chol }
    }

    /// Row `i` of the lower factor `L` (entries 0..=i), for the SOC and GMV computations.
    pub(crate) fn row(&self, i: usize) -> &[f64] {
        self.chol.row(i)
    }

    /// `1' h^{-1} 1`, the curvature behind the global minimum variance `1 / (1' h^{-1} 1)`.
    pub(crate) fn ones_inverse_ones(&self) -> f64 {
        let mut z = vec![1.0; self.chol.size];
        self.chol.forward(&mut z);
        z.iter().map(|v| v * v).sum()
    }
}

/// The solution of the equality-constrained subproblem on the current working set.
struct Eqp {
    /// Free variables' values, in factor order.
    xf: Vec<f64>,
    /// Multipliers of the active rows, in `active` order.
    lambda: Vec<f64>,
}

/// The factorised working set: `Y = L^{-1} A_F'` and the Cholesky factor of `S = Y'Y`, over
/// the active rows that are independent on the free variables.
struct WorkingSet {
    active: Vec<usize>,
    /// Active rows dependent on `active` over the free variables.
    redundant: Vec<usize>,
    y: Vec<Vec<f64>>,
    s: Chol,
}

/// One segment of the continuation: the solution at the current parameter and its derivative.
pub(crate) struct Segment<'s> {
    /// The parameter (target) at the start of the segment.
    pub t: f64,
    /// Solution at `t` and its derivative with respect to the parameter.
    pub x: &'s [f64],
    pub dx: &'s [f64],
    /// Largest parameter step before the active set changes (or the end is reached).
    pub max_step: f64,
}

/// Primal active-set state for one [`DenseQp`].
pub(crate) struct ActiveSet<'a> {
    qp: &'a DenseQp,
    row_lo: Vec<f64>,
    row_hi: Vec<f64>,
    /// Current (feasible) point.
    pub x: Vec<f64>,
    var: Vec<Side>,
    row: Vec<Side>,
    /// Free variables in factor order, and each variable's position there.
    free: Vec<usize>,
    pos: Vec<Option<usize>>,
    chol: Chol,
    /// Multipliers per row from the last solve (zero when inactive).
    lambda: Vec<f64>,
    scale: f64,
    iterations: usize,
    max_iterations: usize,
}

impl<'a> ActiveSet<'a> {
    /// Starts from a feasible `x0`; variables within rounding of a bound are held there.
    /// `factor`, when given, must be the Cholesky factor of the whole of `H` and is used when
    /// every variable starts free.
    pub(crate) fn start(
        qp: &'a DenseQp,
        x0: &[f64],
        factor: Option<&FullFactor>,
    ) -> Result<ActiveSet<'a>, Stall> {
        let n = qp.q.len();
        let mut var = vec![Side::Free; n];
        let mut x = x0.to_vec();
        for j in 0..n {
            let (l, u) = (qp.lower[j], qp.upper[j]);
            // Only rounding is snapped: a point a hair inside is a free variable.
            let tol = 4.0 * f64::EPSILON * (1.0 + x[j].abs());
            if x[j] <= l + tol {
                var[j] = Side::Lower;
                x[j] = l;
            } else if x[j] >= u - tol {
                var[j] = Side::Upper;
                x[j] = u;
            }
        }
        let row = qp
            .rows
            .iter()
            .map(|r| {
                if r.lo == r.hi {
                    Side::Lower
                } else {
                    Side::Free
                }
            })
            .collect();
        let scale = (0..n)
            .map(|j| qp.h[(j, j)].abs())
            .chain(qp.q.iter().map(|v| v.abs()))
            .fold(f64::MIN_POSITIVE, f64::max);
        let mut solver = ActiveSet {
            qp,
            row_lo: qp.rows.iter().map(|r| r.lo).collect(),
            row_hi: qp.rows.iter().map(|r| r.hi).collect(),
            x,
            var,
            row,
            free: Vec::with_capacity(n),
            pos: vec![None; n],
            chol: Chol::new(n),
            lambda: vec![0.0; qp.rows.len()],
            scale,
            iterations: 0,
            max_iterations: 20 * (n + qp.rows.len()) + 100,
        };
        let all_free = solver.var.iter().all(|s| *s == Side::Free);
        match factor {
            Some(f) if all_free && f.chol.size == n => {
                solver.chol = f.chol.clone();
                solver.free = (0..n).collect();
                solver.pos = (0..n).map(Some).collect();
            }
            _ => {
                for j in 0..n {
                    if solver.var[j] == Side::Free {
                        solver.add_free(j)?;
                    }
                }
            }
        }
        Ok(solver)
    }

    fn add_free(&mut self, j: usize) -> Result<(), Stall> {
        let col: Vec<f64> = self.free.iter().map(|&i| self.qp.h[(i, j)]).collect();
        self.chol.append(&col, self.qp.h[(j, j)])?;
        self.pos[j] = Some(self.free.len());
        self.free.push(j);
        self.var[j] = Side::Free;
        Ok(())
    }

    fn hold_at_bound(&mut self, j: usize, side: Side) {
        if let Some(k) = self.pos[j] {
            self.chol.delete(k);
            self.free.remove(k);
            self.pos[j] = None;
            for (p, &v) in self.free.iter().enumerate().skip(k) {
                self.pos[v] = Some(p);
            }
        }
        self.var[j] = side;
        self.x[j] = if side == Side::Lower {
            self.qp.lower[j]
        } else {
            self.qp.upper[j]
        };
    }

    fn row_value(&self, r: usize, x: &[f64]) -> f64 {
        self.qp.rows[r].a.iter().zip(x).map(|(a, v)| a * v).sum()
    }

    fn row_target(&self, r: usize) -> f64 {
        match self.row[r] {
            Side::Upper => self.row_hi[r],
            _ => self.row_lo[r],
        }
    }

    /// Factorises the working set's row block; fails when the active rows are dependent on
    /// the free variables.
    fn working_set(&self) -> Result<WorkingSet, Stall> {
        let mut active = Vec::new();
        let mut redundant = Vec::new();
        let mut y: Vec<Vec<f64>> = Vec::new();
        let mut s = Chol::new(self.row.len());
        for r in (0..self.row.len()).filter(|&r| self.row[r] != Side::Free) {
            let a = &self.qp.rows[r].a;
            let mut v: Vec<f64> = self.free.iter().map(|&j| a[j]).collect();
            self.chol.forward(&mut v);
            let col: Vec<f64> = y.iter().map(|yk| dot(yk, &v)).collect();
            let diag = dot(&v, &v);
            if diag > 0.0 && s.append(&col, diag).is_ok() {
                active.push(r);
                y.push(v);
            } else {
                // Dependent on the rows before it over the free variables (a degenerate
                // vertex): it holds wherever they do, so it is left out with a zero multiplier.
                redundant.push(r);
            }
        }
        Ok(WorkingSet {
            active,
            redundant,
            y,
            s,
        })
    }

    /// Whether the rows left out of the working set still hold at the current point.
    fn redundant_rows_hold(&self, ws: &WorkingSet) -> bool {
        ws.redundant.iter().all(|&r| {
            let target = self.row_target(r);
            (self.row_value(r, &self.x) - target).abs() <= 1e-12 * (1.0 + target.abs())
        })
    }

    /// Solves the subproblem with right-hand sides `g` (free variables) and `c` (active rows).
    fn eqp(&self, ws: &WorkingSet, g: &[f64], c: &[f64]) -> Eqp {
        let mut z = g.to_vec();
        self.chol.forward(&mut z);
        let mut lambda: Vec<f64> = ws.y.iter().zip(c).map(|(y, ci)| dot(y, &z) - ci).collect();
        ws.s.forward(&mut lambda);
        ws.s.backward(&mut lambda);
        for (y, l) in ws.y.iter().zip(&lambda) {
            for (zi, yi) in z.iter_mut().zip(y) {
                *zi -= yi * l;
            }
        }
        self.chol.backward(&mut z);
        Eqp { xf: z, lambda }
    }

    /// Right-hand sides for the current fixed variables and row limits.
    fn current_rhs(&self, ws: &WorkingSet) -> (Vec<f64>, Vec<f64>) {
        let mut g: Vec<f64> = self.free.iter().map(|&j| -self.qp.q[j]).collect();
        let mut c: Vec<f64> = ws.active.iter().map(|&r| self.row_target(r)).collect();
        for j in 0..self.x.len() {
            if self.var[j] == Side::Free || self.x[j] == 0.0 {
                continue;
            }
            let xj = self.x[j];
            let col = self.qp.h.column(j);
            for (gi, &i) in g.iter_mut().zip(&self.free) {
                *gi -= col[i] * xj;
            }
            for (ci, &r) in c.iter_mut().zip(&ws.active) {
                *ci -= self.qp.rows[r].a[j] * xj;
            }
        }
        (g, c)
    }

    /// Bound multipliers `zeta_B = -(H x + q + A' lambda)_B` for the held variables, given the
    /// full-length `x` (held values included) and per-row multipliers; `with_q` is false for
    /// derivatives.
    fn bound_multipliers(&self, x: &[f64], lambda: &[f64], with_q: bool) -> Vec<(usize, f64)> {
        let n = x.len();
        let nonzero: Vec<usize> = (0..n).filter(|&i| x[i] != 0.0).collect();
        let rows: Vec<usize> = (0..lambda.len()).filter(|&r| lambda[r] != 0.0).collect();
        (0..n)
            .filter(|&j| self.var[j] != Side::Free)
            .map(|j| {
                let col = self.qp.h.column(j);
                let mut v: f64 = nonzero.iter().map(|&i| col[i] * x[i]).sum();
                if with_q {
                    v += self.qp.q[j];
                }
                v += rows
                    .iter()
                    .map(|&r| self.qp.rows[r].a[j] * lambda[r])
                    .sum::<f64>();
                (j, -v)
            })
            .collect()
    }

    fn scatter_lambda(&mut self, ws: &WorkingSet, lambda: &[f64]) {
        self.lambda.iter_mut().for_each(|v| *v = 0.0);
        for (&r, &l) in ws.active.iter().zip(lambda) {
            self.lambda[r] = l;
        }
    }

    fn tick(&mut self) -> Result<(), Stall> {
        self.iterations += 1;
        if self.iterations > self.max_iterations {
            Err(Stall("iteration limit"))
        } else {
            Ok(())
        }
    }

    /// Runs the primal active-set method to optimality from the current feasible point.
    pub(crate) fn solve(&mut self) -> Result<(), Stall> {
        loop {
            self.tick()?;
            let ws = self.working_set()?;
            let (g, c) = self.current_rhs(&ws);
            let eqp = self.eqp(&ws, &g, &c);
            let p: Vec<f64> = self
                .free
                .iter()
                .zip(&eqp.xf)
                .map(|(&j, &v)| v - self.x[j])
                .collect();
            match self.ratio_test(&p) {
                Some((alpha, blocking)) if alpha < 1.0 => {
                    for (&j, pj) in self.free.iter().zip(&p) {
                        self.x[j] += alpha * pj;
                    }
                    self.block(blocking);
                }
                _ => {
                    for (&j, &v) in self.free.iter().zip(&eqp.xf) {
                        self.x[j] = v;
                    }
                    if !self.redundant_rows_hold(&ws) {
                        return Err(Stall("dependent rows disagree"));
                    }
                    self.scatter_lambda(&ws, &eqp.lambda);
                    if !self.release_worst()? {
                        return Ok(());
                    }
                }
            }
        }
    }

    /// The primal-dual active-set method (Hintermüller, Ito, Kunisch 2002): solve on the
    /// guessed working set, then hold every free variable or row outside its limits and
    /// release every held one whose multiplier has the wrong sign, all at once. It usually
    /// settles in a few rounds from the unconstrained solution, far faster than one change per
    /// round, but it can cycle; true when it settled within `rounds` (the point is then
    /// feasible and optimal), false to fall back to [`ActiveSet::solve`] from a fresh start.
    pub(crate) fn settle(&mut self, rounds: usize) -> Result<bool, Stall> {
        let ptol = 1e-12;
        let dtol = 1e-11 * self.scale;
        for _ in 0..rounds {
            self.tick()?;
            let ws = self.working_set()?;
            let (g, c) = self.current_rhs(&ws);
            let eqp = self.eqp(&ws, &g, &c);
            for (&j, &v) in self.free.iter().zip(&eqp.xf) {
                self.x[j] = v;
            }
            if !self.redundant_rows_hold(&ws) {
                return Ok(false);
            }
            self.scatter_lambda(&ws, &eqp.lambda);
            let mut changes = Vec::new();
            for &j in &self.free {
                if self.x[j] < self.qp.lower[j] - ptol {
                    changes.push(Blocking::Var(j, Side::Lower));
                } else if self.x[j] > self.qp.upper[j] + ptol {
                    changes.push(Blocking::Var(j, Side::Upper));
                }
            }
            for (j, zeta) in self.bound_multipliers(&self.x, &self.lambda, true) {
                let wrong = match self.var[j] {
                    Side::Lower => zeta > dtol,
                    _ => zeta < -dtol,
                };
                if wrong && self.qp.lower[j] < self.qp.upper[j] {
                    changes.push(Blocking::Var(j, Side::Free));
                }
            }
            for r in 0..self.row.len() {
                if self.row_lo[r] == self.row_hi[r] {
                    continue;
                }
                let v = self.row_value(r, &self.x);
                let change = match self.row[r] {
                    Side::Free if v < self.row_lo[r] - ptol => Some(Side::Lower),
                    Side::Free if v > self.row_hi[r] + ptol => Some(Side::Upper),
                    Side::Lower if self.lambda[r] > dtol => Some(Side::Free),
                    Side::Upper if self.lambda[r] < -dtol => Some(Side::Free),
                    _ => None,
                };
                if let Some(side) = change {
                    changes.push(Blocking::Row(r, side));
                }
            }
            if changes.is_empty() {
                self.clip_free();
                return Ok(true);
            }
            if changes.len() > 8 {
                self.apply_all(&changes)?;
            } else {
                for change in changes {
                    self.apply_event(change)?;
                }
            }
        }
        Ok(false)
    }

    /// Applies many changes at once and refactors `H[F, F]` from scratch, cheaper than one
    /// update per change when many variables move.
    fn apply_all(&mut self, changes: &[Blocking]) -> Result<(), Stall> {
        for &change in changes {
            match change {
                Blocking::Var(j, side) => {
                    self.var[j] = side;
                    match side {
                        Side::Lower => self.x[j] = self.qp.lower[j],
                        Side::Upper => self.x[j] = self.qp.upper[j],
                        Side::Free => {}
                    }
                }
                Blocking::Row(r, side) => self.row[r] = side,
            }
        }
        let n = self.x.len();
        self.free.clear();
        self.pos = vec![None; n];
        self.chol.size = 0;
        for j in 0..n {
            if self.var[j] == Side::Free {
                self.add_free(j)?;
            }
        }
        Ok(())
    }

    /// Largest step along `p` (free variables, factor order) that keeps every limit, with the
    /// constraint that blocks it.
    fn ratio_test(&self, p: &[f64]) -> Option<(f64, Blocking)> {
        let mut best: Option<(f64, Blocking)> = None;
        let tiny = 1e-15;
        let mut consider = |alpha: f64, b: Blocking| {
            let alpha = alpha.max(0.0);
            if best.as_ref().is_none_or(|(a, _)| alpha < *a) {
                best = Some((alpha, b));
            }
        };
        for (&j, &pj) in self.free.iter().zip(p) {
            if pj < -tiny && self.qp.lower[j].is_finite() {
                consider(
                    (self.qp.lower[j] - self.x[j]) / pj,
                    Blocking::Var(j, Side::Lower),
                );
            } else if pj > tiny && self.qp.upper[j].is_finite() {
                consider(
                    (self.qp.upper[j] - self.x[j]) / pj,
                    Blocking::Var(j, Side::Upper),
                );
            }
        }
        for r in 0..self.row.len() {
            if self.row[r] != Side::Free {
                continue;
            }
            let a = &self.qp.rows[r].a;
            let d: f64 = self.free.iter().zip(p).map(|(&j, pj)| a[j] * pj).sum();
            let v = self.row_value(r, &self.x);
            if d > tiny && self.row_hi[r].is_finite() {
                consider((self.row_hi[r] - v) / d, Blocking::Row(r, Side::Upper));
            } else if d < -tiny && self.row_lo[r].is_finite() {
                consider((self.row_lo[r] - v) / d, Blocking::Row(r, Side::Lower));
            }
        }
        best
    }

    fn block(&mut self, b: Blocking) {
        match b {
            Blocking::Var(j, side) => self.hold_at_bound(j, side),
            Blocking::Row(r, side) => self.row[r] = side,
        }
    }

    /// Releases the held variable or inequality row whose multiplier has the wrong sign by
    /// the most; false when none has (the point is optimal).
    fn release_worst(&mut self) -> Result<bool, Stall> {
        let tol = 1e-11 * self.scale;
        let mut worst: Option<(f64, Blocking)> = None;
        let mut consider = |violation: f64, b: Blocking| {
            if violation > tol && worst.as_ref().is_none_or(|(v, _)| violation > *v) {
                worst = Some((violation, b));
            }
        };
        for (j, zeta) in self.bound_multipliers(&self.x, &self.lambda, true) {
            match self.var[j] {
                Side::Lower if self.qp.lower[j] < self.qp.upper[j] => {
                    consider(zeta, Blocking::Var(j, Side::Free))
                }
                Side::Upper if self.qp.lower[j] < self.qp.upper[j] => {
                    consider(-zeta, Blocking::Var(j, Side::Free))
                }
                _ => {}
            }
        }
        for r in 0..self.row.len() {
            if self.row_lo[r] == self.row_hi[r] {
                continue;
            }
            match self.row[r] {
                Side::Lower => consider(self.lambda[r], Blocking::Row(r, Side::Free)),
                Side::Upper => consider(-self.lambda[r], Blocking::Row(r, Side::Free)),
                Side::Free => {}
            }
        }
        match worst {
            None => Ok(false),
            Some((_, Blocking::Var(j, _))) => {
                self.add_free(j)?;
                Ok(true)
            }
            Some((_, Blocking::Row(r, _))) => {
                self.row[r] = Side::Free;
                Ok(true)
            }
        }
    }

    /// Checks the KKT conditions of the current point from scratch: primal feasibility,
    /// stationarity on the free variables and the multipliers' signs, all to `1e-9` relative.
    pub(crate) fn certify(&mut self) -> bool {
        let Ok(ws) = self.working_set() else {
            return false;
        };
        let (g, c) = self.current_rhs(&ws);
        let eqp = self.eqp(&ws, &g, &c);
        self.scatter_lambda(&ws, &eqp.lambda);
        let ptol = 1e-9;
        let dtol = 1e-9 * self.scale;
        let n = self.x.len();
        for j in 0..n {
            if self.x[j] < self.qp.lower[j] - ptol || self.x[j] > self.qp.upper[j] + ptol {
                return false;
            }
        }
        for r in 0..self.row.len() {
            let v = self.row_value(r, &self.x);
            if v < self.row_lo[r] - ptol || v > self.row_hi[r] + ptol {
                return false;
            }
        }
        // Stationarity on the free variables: (H x + q + A' lambda)_F = 0.
        for &j in &self.free {
            let col = self.qp.h.column(j);
            let mut v: f64 = (0..n).map(|i| col[i] * self.x[i]).sum::<f64>() + self.qp.q[j];
            v += (0..self.row.len())
                .map(|r| self.qp.rows[r].a[j] * self.lambda[r])
                .sum::<f64>();
            if v.abs() > dtol {
                return false;
            }
        }
        let bounds_ok = self
            .bound_multipliers(&self.x, &self.lambda, true)
            .into_iter()
            .all(|(j, zeta)| {
                self.qp.lower[j] == self.qp.upper[j]
                    || match self.var[j] {
                        Side::Lower => zeta <= dtol,
                        _ => zeta >= -dtol,
                    }
            });
        let rows_ok = (0..self.row.len()).all(|r| {
            self.row_lo[r] == self.row_hi[r]
                || match self.row[r] {
                    Side::Lower => self.lambda[r] <= dtol,
                    Side::Upper => self.lambda[r] >= -dtol,
                    Side::Free => true,
                }
        });
        bounds_ok && rows_ok
    }

    /// Sets row `r`'s lower limit (e.g. the target return) before [`ActiveSet::solve`].
    pub(crate) fn set_row_lower(&mut self, r: usize, lo: f64) {
        self.row_lo[r] = lo;
    }

    /// Moves row `r`'s lower limit up from its current value `a_r'x` to at most `t_end`,
    /// keeping the point optimal. `stop` sees each segment and returns the parameter step at
    /// which to stop inside it, if any. Returns the parameter reached.
    pub(crate) fn advance(
        &mut self,
        r: usize,
        t_end: f64,
        stop: &mut dyn FnMut(&Segment) -> Option<f64>,
    ) -> Result<f64, Stall> {
        let mut t = self.row_value(r, &self.x);
        // Within rounding of the end already (e.g. the least-volatile portfolio is also the
        // max-return one).
        if t_end - t <= 1e-13 * (1.0 + t.abs()) {
            return Ok(t);
        }
        if self.row[r] == Side::Free {
            self.row[r] = Side::Lower;
        }
        loop {
            self.tick()?;
            self.row_lo[r] = t;
            let ws = self.working_set()?;
            if ws.redundant.contains(&r) {
                // The target cannot move without releasing a constraint first.
                return Err(Stall("the target row is dependent on the working set"));
            }
            let (g, c) = self.current_rhs(&ws);
            let cur = self.eqp(&ws, &g, &c);
            let unit: Vec<f64> = ws.active.iter().map(|&a| f64::from(a == r)).collect();
            let zero = vec![0.0; self.free.len()];
            let dir = self.eqp(&ws, &zero, &unit);
            for (&j, &v) in self.free.iter().zip(&cur.xf) {
                self.x[j] = v;
            }
            self.scatter_lambda(&ws, &cur.lambda);
            let n = self.x.len();
            let mut dx = vec![0.0; n];
            for (&j, &v) in self.free.iter().zip(&dir.xf) {
                dx[j] = v;
            }
            let mut dlambda = vec![0.0; self.row.len()];
            for (&a, &l) in ws.active.iter().zip(&dir.lambda) {
                dlambda[a] = l;
            }
            let (step, event) = self.next_event(r, &dx, &dlambda);
            let room = (t_end - t).max(0.0);
            // An event at (or within rounding of) the end is left for a later call: applying
            // it at the last vertex (e.g. the max-return corner) could leave more active rows
            // than free assets. Rounding along a long path reaches ~1e-12; a variable that the
            // shortcut pushes past its bound by that much is clipped back.
            let at_end = room - step <= 1e-10 * (1.0 + t_end.abs());
            let max_step = if at_end { room } else { step };
            let segment = Segment {
                t,
                x: &self.x,
                dx: &dx,
                max_step,
            };
            if let Some(s) = stop(&segment) {
                let s = s.clamp(0.0, max_step);
                self.move_along(&dx, s);
                self.clip_free();
                self.row_lo[r] = t + s;
                return Ok(t + s);
            }
            self.move_along(&dx, max_step);
            t += max_step;
            self.row_lo[r] = t;
            match event {
                Some(e) if !at_end => self.apply_event(e)?,
                _ => {
                    self.clip_free();
                    return Ok(t);
                }
            }
        }
    }

    /// Puts free variables that rounding left a hair outside their bounds back inside.
    fn clip_free(&mut self) {
        for &j in &self.free {
            self.x[j] = self.x[j].clamp(self.qp.lower[j], self.qp.upper[j]);
        }
    }

    fn move_along(&mut self, dx: &[f64], s: f64) {
        for &j in &self.free {
            self.x[j] += s * dx[j];
        }
    }

    /// The first change of active set along the direction: a free variable or inactive row
    /// reaching a limit, or a held one's multiplier reaching zero.
    fn next_event(&self, r: usize, dx: &[f64], dlambda: &[f64]) -> (f64, Option<Blocking>) {
        let mut best = (f64::INFINITY, None);
        let tiny = 1e-14;
        let mut consider = |s: f64, b: Blocking| {
            let s = s.max(0.0);
            if s < best.0 {
                best = (s, Some(b));
            }
        };
        for &j in &self.free {
            let d = dx[j];
            if d < -tiny && self.qp.lower[j].is_finite() {
                consider(
                    (self.qp.lower[j] - self.x[j]) / d,
                    Blocking::Var(j, Side::Lower),
                );
            } else if d > tiny && self.qp.upper[j].is_finite() {
                consider(
                    (self.qp.upper[j] - self.x[j]) / d,
                    Blocking::Var(j, Side::Upper),
                );
            }
        }
        for (i, &dl) in dlambda.iter().enumerate() {
            if i == r {
                continue;
            }
            if self.row[i] == Side::Free {
                let d = self.row_value(i, dx);
                let v = self.row_value(i, &self.x);
                if d > tiny && self.row_hi[i].is_finite() {
                    consider((self.row_hi[i] - v) / d, Blocking::Row(i, Side::Upper));
                } else if d < -tiny && self.row_lo[i].is_finite() {
                    consider((self.row_lo[i] - v) / d, Blocking::Row(i, Side::Lower));
                }
            } else if self.row_lo[i] != self.row_hi[i] {
                let (l, d) = (self.lambda[i], dl);
                let wrong = match self.row[i] {
                    Side::Lower => d > tiny * self.scale,
                    _ => d < -tiny * self.scale,
                };
                if wrong {
                    consider(-l / d, Blocking::Row(i, Side::Free));
                }
            }
        }
        let dzeta = self.bound_multipliers(dx, dlambda, false);
        let zeta = self.bound_multipliers(&self.x, &self.lambda, true);
        for ((j, z), (_, d)) in zeta.into_iter().zip(dzeta) {
            if self.qp.lower[j] == self.qp.upper[j] {
                continue;
            }
            let wrong = match self.var[j] {
                Side::Lower => d > tiny * self.scale,
                _ => d < -tiny * self.scale,
            };
            if wrong {
                consider(-z / d, Blocking::Var(j, Side::Free));
            }
        }
        best
    }

    fn apply_event(&mut self, e: Blocking) -> Result<(), Stall> {
        match e {
            Blocking::Var(j, Side::Free) => self.add_free(j),
            Blocking::Var(j, side) => {
                self.hold_at_bound(j, side);
                Ok(())
            }
            Blocking::Row(i, side) => {
                self.row[i] = side;
                Ok(())
            }
        }
    }
}

/// A constraint entering (or, with `Side::Free`, leaving) the working set.
#[derive(Debug, Clone, Copy)]
enum Blocking {
    Var(usize, Side),
    Row(usize, Side),
}

/// Dot product with eight independent partial sums, which lets the compiler use SIMD (a
/// single running sum forces strict sequential order); the kernel of every factorisation.
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f64; 8];
    let chunks = n / 8;
    for k in 0..chunks {
        let (x, y) = (&a[8 * k..8 * k + 8], &b[8 * k..8 * k + 8]);
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    let mut tail = 0.0;
    for k in 8 * chunks..n {
        tail += a[k] * b[k];
    }
    (acc[0] + acc[4]) + (acc[1] + acc[5]) + (acc[2] + acc[6]) + (acc[3] + acc[7]) + tail
}

#[cfg(test)]
mod tests;
