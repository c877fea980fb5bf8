//! A small modelling layer over clarabel: variables, ranged linear rows, one optional
//! second-order cone, a dense quadratic block, translated straight into clarabel's CSC form.

use crate::{AdvisorError, DMatrix};
use clarabel::algebra::CscMatrix;
use clarabel::solver::{
    DefaultSettingsBuilder, DefaultSolver, IPSolver, SolverStatus, SupportedConeT,
};

/// `lo <= sum val[k] x[idx[k]] <= hi`; `lo == hi` is an equality, infinite limits are dropped.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub idx: Vec<usize>,
    pub val: Vec<f64>,
    pub lo: f64,
    pub hi: f64,
}

/// `|| G x[0..n] || <= radius` for a `k x n` matrix `G` (e.g. `L'` for `Sigma = L L'`).
#[derive(Debug, Clone)]
pub(crate) struct Soc {
    pub g: DMatrix<f64>,
    pub radius: f64,
}

/// `min ½ x'Qx + q'x` over `nv` variables subject to the rows and the cone; `quad` covers the
/// first `quad.nrows()` variables (full symmetric storage), the others have no curvature.
#[derive(Debug, Clone)]
pub(crate) struct Problem {
    pub nv: usize,
    pub quad: Option<DMatrix<f64>>,
    pub q: Vec<f64>,
    pub rows: Vec<Row>,
    pub soc: Option<Soc>,
}

/// How a clarabel solve ended.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    Solved { x: Vec<f64> },
    Infeasible,
    Unbounded,
}

impl Problem {
    pub(crate) fn new(nv: usize) -> Problem {
        Problem {
            nv,
            quad: None,
            q: vec![0.0; nv],
            rows: Vec::new(),
            soc: None,
        }
    }

    /// Adds a variable (no curvature, zero cost) and returns its index.
    pub(crate) fn add_var(&mut self) -> usize {
        self.nv += 1;
        self.q.push(0.0);
        self.nv - 1
    }

    pub(crate) fn row(&mut self, idx: Vec<usize>, val: Vec<f64>, lo: f64, hi: f64) {
        debug_assert_eq!(idx.len(), val.len());
        self.rows.push(Row { idx, val, lo, hi });
    }

    /// The objective at `x`.
    pub(crate) fn objective(&self, x: &[f64]) -> f64 {
        let mut v: f64 = self.q.iter().zip(x).map(|(a, b)| a * b).sum();
        if let Some(q) = &self.quad {
            let m = q.nrows();
            let xs = crate::DVector::from_column_slice(&x[..m]);
            v += 0.5 * (q * &xs).dot(&xs);
        }
        v
    }

    /// Solves with clarabel at tight tolerances.
    pub(crate) fn solve(&self) -> Result<Outcome, AdvisorError> {
        let (a, b, cones) = self.constraint_matrix();
        let p = self.quad_matrix();
        let settings = DefaultSettingsBuilder::default()
            .verbose(false)
            .tol_gap_abs(1e-10)
            .tol_gap_rel(1e-10)
            .tol_feas(1e-10)
            .tol_infeas_abs(1e-10)
            .tol_infeas_rel(1e-10)
            .max_iter(400)
            .time_limit(crate::deadline::seconds_left())
            .build()
            .map_err(|e| AdvisorError::Solver(format!("clarabel settings: {e:?}")))?;
        let mut solver = DefaultSolver::new(&p, &self.q, &a, &b, &cones, settings)
            .map_err(|e| AdvisorError::Solver(format!("clarabel setup: {e:?}")))?;
        solver.solve();
        let sol = &solver.solution;
        match sol.status {
            SolverStatus::Solved | SolverStatus::AlmostSolved => {
                Ok(Outcome::Solved { x: sol.x.clone() })
            }
            SolverStatus::PrimalInfeasible | SolverStatus::AlmostPrimalInfeasible => {
                Ok(Outcome::Infeasible)
            }
            SolverStatus::DualInfeasible | SolverStatus::AlmostDualInfeasible => {
                Ok(Outcome::Unbounded)
            }
            SolverStatus::MaxTime => Err(AdvisorError::DeadlineExceeded),
            // Stalls at the tight tolerances still leave a usable point when the residuals are
            // small; anything else is a genuine failure.
            status if sol.r_prim.abs() < 1e-7 && sol.r_dual.abs() < 1e-7 => {
                let _ = status;
                Ok(Outcome::Solved { x: sol.x.clone() })
            }
            status => Err(AdvisorError::Solver(format!(
                "clarabel stopped with status {status:?} after {} iterations",
                sol.iterations
            ))),
        }
    }

    /// `P` as the upper triangle in CSC, built column by column.
    fn quad_matrix(&self) -> CscMatrix<f64> {
        let n = self.nv;
        let mut colptr = Vec::with_capacity(n + 1);
        let mut rowval = Vec::new();
        let mut nzval = Vec::new();
        colptr.push(0);
        let m = self.quad.as_ref().map_or(0, |q| q.nrows());
        if let Some(q) = &self.quad {
            rowval.reserve(m * (m + 1) / 2);
            nzval.reserve(m * (m + 1) / 2);
            for j in 0..m {
                let col = q.column(j);
                for i in 0..=j {
                    if col[i] != 0.0 {
                        rowval.push(i);
                        nzval.push(col[i]);
                    }
                }
                colptr.push(rowval.len());
            }
        }
        for _ in m..n {
            colptr.push(rowval.len());
        }
        CscMatrix::new(n, n, colptr, rowval, nzval)
    }

    /// `A`, `b` and the cones for `s = b - A x`: equalities (zero cone), then each finite
    /// side of each inequality (nonnegative cone), then the second-order cone.
    fn constraint_matrix(&self) -> (CscMatrix<f64>, Vec<f64>, Vec<SupportedConeT<f64>>) {
        let mut ii = Vec::new();
        let mut jj = Vec::new();
        let mut vv = Vec::new();
        let mut b = Vec::new();
        let mut push = |row: &Row, sign: f64, rhs: f64, b: &mut Vec<f64>| {
            let r = b.len();
            for (&j, &v) in row.idx.iter().zip(&row.val) {
                ii.push(r);
                jj.push(j);
                vv.push(sign * v);
            }
            b.push(sign * rhs);
        };
        for row in self.rows.iter().filter(|r| r.lo == r.hi) {
            push(row, 1.0, row.lo, &mut b);
        }
        let n_eq = b.len();
        for row in self.rows.iter().filter(|r| r.lo != r.hi) {
            if row.hi.is_finite() {
                push(row, 1.0, row.hi, &mut b);
            }
            if row.lo.is_finite() {
                push(row, -1.0, row.lo, &mut b);
            }
        }
        let n_ineq = b.len() - n_eq;
        let mut cones = Vec::with_capacity(3);
        if n_eq > 0 {
            cones.push(SupportedConeT::ZeroConeT(n_eq));
        }
        if n_ineq > 0 {
            cones.push(SupportedConeT::NonnegativeConeT(n_ineq));
        }
        if let Some(soc) = &self.soc {
            // s = (radius, G x): row 0 holds the radius, row 1 + j holds -(G x)_j.
            let base = b.len();
            b.push(soc.radius);
            let k = soc.g.nrows();
            for i in 0..soc.g.ncols() {
                let col = soc.g.column(i);
                for j in 0..k {
                    if col[j] != 0.0 {
                        ii.push(base + 1 + j);
                        jj.push(i);
                        vv.push(-col[j]);
                    }
                }
            }
            b.extend(std::iter::repeat_n(0.0, k));
            cones.push(SupportedConeT::SecondOrderConeT(k + 1));
        }
        let a = CscMatrix::new_from_triplets(b.len(), self.nv, ii, jj, vv);
        (a, b, cones)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_a_small_qp_and_reports_infeasibility() {
        // min x0^2 + x1^2 s.t. x0 + x1 = 1 -> (0.5, 0.5).
        let mut p = Problem::new(2);
        p.quad = Some(DMatrix::identity(2, 2) * 2.0);
        p.row(vec![0, 1], vec![1.0, 1.0], 1.0, 1.0);
        match p.solve().expect("solves") {
            Outcome::Solved { x, .. } => {
                assert!((x[0] - 0.5).abs() < 1e-8 && (x[1] - 0.5).abs() < 1e-8)
            }
            other => panic!("unexpected {other:?}"),
        }
        p.row(vec![0], vec![1.0], 2.0, f64::INFINITY);
        p.row(vec![1], vec![1.0], 0.0, f64::INFINITY);
        assert!(matches!(p.solve().expect("runs"), Outcome::Infeasible));
    }

    #[test]
    fn second_order_cone_limits_the_norm() {
        // max x0 + x1 s.t. ||x|| <= 1 -> x = (1, 1)/sqrt 2.
        let mut p = Problem::new(2);
        p.q = vec![-1.0, -1.0];
        p.soc = Some(Soc {
            g: DMatrix::identity(2, 2),
            radius: 1.0,
        });
        match p.solve().expect("solves") {
            Outcome::Solved { x, .. } => {
                let r = 0.5f64.sqrt();
                assert!((x[0] - r).abs() < 1e-7 && (x[1] - r).abs() < 1e-7)
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
