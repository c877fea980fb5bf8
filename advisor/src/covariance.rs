//! Covariance matrices as callers give them and as estimators produce them: validation
//! (square, finite, symmetric, positive semidefinite), PyPortfolioOpt's positive-semidefinite
//! test and spectral repair, and the correlation matrix. Used by the estimators, the
//! capital-market assumptions and HRP alike.

use nalgebra::SymmetricEigen;

use crate::{AdvisorError, DMatrix, Result};

/// Smallest eigenvalue of the symmetric part of `m`; NaN if `m` is not square, +inf if empty.
pub fn min_eigenvalue(m: &DMatrix<f64>) -> f64 {
    if !m.is_square() {
        return f64::NAN;
    }
    if m.is_empty() {
        return f64::INFINITY;
    }
    let symmetric = (m + m.transpose()) * 0.5;
    SymmetricEigen::new(symmetric).eigenvalues.min()
}

/// PyPortfolioOpt's `_is_positive_semidefinite`: whether a Cholesky factorisation of
/// `m + 1e-16 I` (lower triangle, as LAPACK `potrf`) succeeds. Exactly singular PSD matrices
/// usually fail this test, as in PyPortfolioOpt, and are then "repaired" to themselves up to
/// rounding. `false` for non-square or non-finite input.
pub fn is_positive_semidefinite(m: &DMatrix<f64>) -> bool {
    if !m.is_square() {
        return false;
    }
    let n = m.nrows();
    let mut l = DMatrix::<f64>::zeros(n, n);
    for j in 0..n {
        let pivot = m[(j, j)] + 1e-16 - (0..j).map(|k| l[(j, k)] * l[(j, k)]).sum::<f64>();
        // NaN fails too, as in LAPACK.
        if pivot.is_nan() || pivot <= 0.0 {
            return false;
        }
        let ljj = pivot.sqrt();
        l[(j, j)] = ljj;
        for i in j + 1..n {
            let dot: f64 = (0..j).map(|k| l[(i, k)] * l[(j, k)]).sum();
            l[(i, j)] = (m[(i, j)] - dot) / ljj;
        }
    }
    true
}

/// PyPortfolioOpt `fix_nonpositive_semidefinite(matrix, "spectral")`: a matrix that passes
/// [`is_positive_semidefinite`] is returned unchanged; otherwise negative eigenvalues are set
/// to zero and the matrix rebuilt as `V diag(max(q, 0)) V^T`. The flag says whether it was
/// repaired. Non-finite input is returned unchanged and unrepaired (validate it first).
pub fn fix_nonpositive_semidefinite(m: &DMatrix<f64>) -> (DMatrix<f64>, bool) {
    if is_positive_semidefinite(m) || !m.is_square() || m.iter().any(|x| !x.is_finite()) {
        return (m.clone(), false);
    }
    let eigen = SymmetricEigen::new(m.clone());
    let clipped = eigen.eigenvalues.map(|q| if q > 0.0 { q } else { 0.0 });
    let v = &eigen.eigenvectors;
    let fixed = v * DMatrix::from_diagonal(&clipped) * v.transpose();
    (fixed, true)
}

/// Correlation matrix `D^-1 m D^-1`, `D = sqrt(diag(m))` (PyPortfolioOpt `cov_to_corr`),
/// computed entry by entry as numpy does (`d_i * (m_ij * d_j)`) so that rounding agrees. A zero
/// variance gives non-finite entries; validate first.
pub fn cov_to_corr(m: &DMatrix<f64>) -> DMatrix<f64> {
    let d = m.diagonal().map(|v| 1.0 / v.sqrt());
    DMatrix::from_fn(m.nrows(), m.ncols(), |i, j| d[i] * (m[(i, j)] * d[j]))
}

/// Checks a covariance given by a caller: non-empty, square, finite, symmetric (entries
/// differ by at most 1e-8 times the largest absolute entry) and PSD (smallest eigenvalue at
/// least `-1e-10` times the largest absolute entry), else `InvalidInput` or
/// `NotPositiveSemidefinite` naming `field`.
pub fn validate_covariance(m: &DMatrix<f64>, field: &str) -> Result<()> {
    if m.is_empty() || !m.is_square() {
        return Err(AdvisorError::invalid(
            field,
            format!(
                "must be a non-empty square matrix, got {} x {}",
                m.nrows(),
                m.ncols()
            ),
        ));
    }
    if let Some(index) = m.iter().position(|x| !x.is_finite()) {
        let (i, j) = (index % m.nrows(), index / m.nrows());
        return Err(AdvisorError::invalid(
            field,
            format!("entry ({i}, {j}) is not finite"),
        ));
    }
    let scale = m.amax();
    for i in 0..m.nrows() {
        for j in 0..i {
            if (m[(i, j)] - m[(j, i)]).abs() > 1e-8 * scale {
                return Err(AdvisorError::invalid(
                    field,
                    format!(
                        "not symmetric: entry ({i}, {j}) = {} but ({j}, {i}) = {}",
                        m[(i, j)],
                        m[(j, i)]
                    ),
                ));
            }
        }
    }
    let min_eigenvalue = min_eigenvalue(m);
    if min_eigenvalue < -1e-10 * scale {
        return Err(AdvisorError::NotPositiveSemidefinite {
            field: field.to_string(),
            min_eigenvalue,
        });
    }
    Ok(())
}
