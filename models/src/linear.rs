//! Linear models: column standardisation and L2-regularised logistic regression.
//!
//! The logistic regression is fitted by Newton's method (iteratively reweighted least
//! squares) with a backtracking line search, to a tight tolerance, in a fixed summation order:
//! the same data always gives the same coefficients, so a credit or response model can be
//! refitted and audited.

use ndarray::{s, Array2, ArrayView1, ArrayView2};
use rayon::prelude::*;

use crate::ModelError;

/// Most columns a logistic regression accepts: the Newton step solves a dense system in
/// (columns + 1)^2 memory per worker, so this keeps a fit within tens of MiB.
pub const MAX_COLUMNS: usize = 512;
/// Newton converges in 5 to 15 iterations on well-posed problems; more means it is chasing an
/// unbounded optimum (separable data without regularisation).
const MAX_NEWTON_ITERATIONS: usize = 100;
const MAX_LINE_SEARCH_HALVINGS: usize = 40;
/// Stop when half the Newton decrement (the predicted loss reduction) is below this: Newton
/// converges quadratically, so this costs one extra iteration and gives coefficients
/// accurate to about 1e-10.
const NEWTON_DECREMENT_TOLERANCE: f64 = 1e-20;
/// When a step no longer lowers the loss, rounding has won; accept the point if the
/// predicted reduction is this small already.
const STALLED_DECREMENT_TOLERANCE: f64 = 1e-12;
/// Rows per parallel partial sum. Partials are added in row order, so the result does not
/// depend on the number of threads.
const ROWS_PER_CHUNK: usize = 2048;

/// Standardisation fitted on training rows: `(x - mean) / std` per column.
///
/// `std` is the population standard deviation; a constant column gets std 1 so it maps to
/// zero instead of dividing by zero.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Standardizer {
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
}

impl Standardizer {
    /// Fits means and standard deviations of the columns. No rows gives an empty
    /// standardiser. Non-finite values propagate into the fitted statistics.
    pub fn fit(x: ArrayView2<f64>) -> Self {
        if x.nrows() == 0 {
            return Standardizer {
                mean: Vec::new(),
                std: Vec::new(),
            };
        }
        let n = x.nrows() as f64;
        let (mean, std) = x
            .columns()
            .into_iter()
            .map(|column| {
                let mean = column.iter().sum::<f64>() / n;
                let first = column[0];
                if column.iter().all(|&v| v == first) {
                    return (mean, 1.0);
                }
                let squares: f64 = column.iter().map(|v| (v - mean).powi(2)).sum();
                (mean, (squares / n).sqrt())
            })
            .unzip();
        Standardizer { mean, std }
    }

    /// Standardises every row of `x`.
    ///
    /// # Panics
    /// If `x`'s width differs from the fitted width.
    pub fn transform_rows(&self, x: ArrayView2<f64>) -> Array2<f64> {
        assert_eq!(
            x.ncols(),
            self.mean.len(),
            "Standardizer::transform_rows: width"
        );
        (&x - &ArrayView1::from(&self.mean)) / ArrayView1::from(&self.std)
    }

    /// Standardises one row.
    ///
    /// # Panics
    /// If the row's width differs from the fitted width.
    pub fn transform(&self, row: &[f64]) -> Vec<f64> {
        assert_eq!(
            row.len(),
            self.mean.len(),
            "Standardizer::transform: row width"
        );
        row.iter()
            .zip(self.mean.iter().zip(&self.std))
            .map(|(value, (mean, std))| (value - mean) / std)
            .collect()
    }
}

/// L2-regularised logistic regression with an unpenalised intercept.
///
/// Fitting minimises `mean(log_loss) + l2 / 2 * |weights|^2`: the penalty is per row, so the
/// same `l2` means the same shrinkage whatever the number of rows.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LogisticRegression {
    pub weights: Vec<f64>,
    pub intercept: f64,
}

impl LogisticRegression {
    /// Fits by Newton's method to convergence. Deterministic.
    ///
    /// Errors on no rows, non-finite values, a label count that differs from the row count,
    /// a negative `l2`, labels of a single class (the intercept would be infinite), or no
    /// convergence (singular or separable data with `l2 = 0`).
    pub fn fit(x: ArrayView2<f64>, y: &[bool], l2: f64) -> Result<Self, ModelError> {
        validate(x, y, l2)?;
        // Row-major, so every row below is one contiguous slice.
        let x = x.as_standard_layout();
        let x = x.view();
        let width = x.ncols();
        // theta = [weights..., intercept]
        let mut theta = vec![0.0; width + 1];
        // Starting from the base rate saves an iteration and keeps early steps small.
        let base_rate = y.iter().filter(|&&v| v).count() as f64 / y.len() as f64;
        theta[width] = (base_rate / (1.0 - base_rate)).ln();
        for _ in 0..MAX_NEWTON_ITERATIONS {
            let (loss, gradient, hessian) = loss_gradient_hessian(x, y, l2, &theta);
            let step =
                cholesky_solve(hessian, &gradient, width + 1).ok_or(ModelError::NotConverged {
                    what: "logistic regression (singular Hessian)",
                    iterations: MAX_NEWTON_ITERATIONS,
                })?;
            let decrement: f64 = gradient.iter().zip(&step).map(|(g, s)| g * s).sum();
            if decrement / 2.0 < NEWTON_DECREMENT_TOLERANCE {
                return Ok(Self::from_theta(theta));
            }
            match line_search(x, y, l2, &theta, &step, loss, decrement) {
                // Below the loss's rounding a step can leave the loss unchanged; when the
                // decrement is that small too, the fit is as good as floating point allows
                // (without this it would spin to the iteration limit).
                Some((next, value))
                    if value >= loss && decrement / 2.0 < STALLED_DECREMENT_TOLERANCE =>
                {
                    return Ok(Self::from_theta(next));
                }
                Some((next, _)) => theta = next,
                None if decrement / 2.0 < STALLED_DECREMENT_TOLERANCE => {
                    return Ok(Self::from_theta(theta));
                }
                None => break,
            }
        }
        Err(ModelError::NotConverged {
            what: "logistic regression",
            iterations: MAX_NEWTON_ITERATIONS,
        })
    }

    /// Probability of the positive class, kept strictly inside (0, 1) so that log-losses and
    /// odds computed from it stay finite.
    ///
    /// # Panics
    /// If the row's width differs from the fitted width.
    pub fn predict_proba(&self, row: &[f64]) -> f64 {
        assert_eq!(row.len(), self.weights.len(), "predict_proba: row width");
        let z = self.intercept + dot(&self.weights, row);
        sigmoid(z).clamp(f64::EPSILON, 1.0 - f64::EPSILON)
    }

    fn from_theta(mut theta: Vec<f64>) -> Self {
        let intercept = theta.pop().expect("theta holds the intercept");
        LogisticRegression {
            weights: theta,
            intercept,
        }
    }
}

fn validate(x: ArrayView2<f64>, y: &[bool], l2: f64) -> Result<(), ModelError> {
    if x.nrows() == 0 {
        return Err(ModelError::EmptyData("fit a logistic regression"));
    }
    if y.len() != x.nrows() {
        return Err(ModelError::RowCountMismatch {
            what: "labels",
            expected: x.nrows(),
            found: y.len(),
        });
    }
    if !(l2 >= 0.0 && l2.is_finite()) {
        return Err(ModelError::InvalidConfig {
            field: "l2",
            reason: "must be a finite number >= 0",
        });
    }
    if x.ncols() > MAX_COLUMNS {
        return Err(ModelError::TooLarge {
            what: "column count",
            limit: MAX_COLUMNS,
            found: x.ncols(),
        });
    }
    for (row_index, row) in x.rows().into_iter().enumerate() {
        if let Some(column) = row.iter().position(|v| !v.is_finite()) {
            return Err(ModelError::NonFinite {
                what: "feature",
                row: row_index,
                column,
            });
        }
    }
    if y.iter().all(|&v| v) || y.iter().all(|&v| !v) {
        return Err(ModelError::SingleClass);
    }
    Ok(())
}

/// Loss, gradient and Hessian (dense, (width + 1)^2, row-major) at `theta`.
fn loss_gradient_hessian(
    x: ArrayView2<f64>,
    y: &[bool],
    l2: f64,
    theta: &[f64],
) -> (f64, Vec<f64>, Vec<f64>) {
    let size = theta.len();
    let partials: Vec<(f64, Vec<f64>, Vec<f64>)> = chunks(x, y)
        .par_iter()
        .map(|(rows, labels)| chunk_sums(rows.view(), labels, theta))
        .collect();
    let mut loss = 0.0;
    let mut gradient = vec![0.0; size];
    let mut hessian = vec![0.0; size * size];
    for (chunk_loss, chunk_gradient, chunk_hessian) in &partials {
        loss += chunk_loss;
        add_into(&mut gradient, chunk_gradient);
        add_into(&mut hessian, chunk_hessian);
    }
    let n = x.nrows() as f64;
    let width = size - 1;
    loss /= n;
    gradient.iter_mut().for_each(|g| *g /= n);
    hessian.iter_mut().for_each(|h| *h /= n);
    // The accumulation filled the upper triangle only.
    for i in 0..size {
        for j in 0..i {
            hessian[i * size + j] = hessian[j * size + i];
        }
    }
    for j in 0..width {
        loss += 0.5 * l2 * theta[j] * theta[j];
        gradient[j] += l2 * theta[j];
        hessian[j * size + j] += l2;
    }
    (loss, gradient, hessian)
}

/// The rows in runs of [`ROWS_PER_CHUNK`] with their labels: the unit of the parallel sums.
fn chunks<'a, 'b>(x: ArrayView2<'a, f64>, y: &'b [bool]) -> Vec<(ArrayView2<'a, f64>, &'b [bool])> {
    y.chunks(ROWS_PER_CHUNK)
        .enumerate()
        .map(|(i, labels)| {
            let start = i * ROWS_PER_CHUNK;
            (x.slice_move(s![start..start + labels.len(), ..]), labels)
        })
        .collect()
}

fn chunk_sums(rows: ArrayView2<f64>, labels: &[bool], theta: &[f64]) -> (f64, Vec<f64>, Vec<f64>) {
    let size = theta.len();
    let width = size - 1;
    let mut loss = 0.0;
    let mut gradient = vec![0.0; size];
    let mut hessian = vec![0.0; size * size];
    let mut extended = vec![1.0; size];
    for (row, &label) in rows.rows().into_iter().zip(labels) {
        extended[..width].copy_from_slice(contiguous(&row));
        let z = dot(theta, &extended);
        let p = sigmoid(z);
        let target = if label { 1.0 } else { 0.0 };
        loss += softplus(z) - target * z;
        let residual = p - target;
        let curvature = p * (1.0 - p);
        for i in 0..size {
            gradient[i] += residual * extended[i];
            let scaled = curvature * extended[i];
            let hessian_row = &mut hessian[i * size..(i + 1) * size];
            for j in i..size {
                hessian_row[j] += scaled * extended[j];
            }
        }
    }
    (loss, gradient, hessian)
}

/// Backtracking (Armijo) search along the Newton direction: a full step can overshoot when
/// the curvature is far from quadratic, halving until the loss drops enough fixes that.
/// `None` when no step size lowers the loss.
fn line_search(
    x: ArrayView2<f64>,
    y: &[bool],
    l2: f64,
    theta: &[f64],
    step: &[f64],
    loss: f64,
    decrement: f64,
) -> Option<(Vec<f64>, f64)> {
    let mut scale = 1.0;
    let mut candidate = theta.to_vec();
    for _ in 0..MAX_LINE_SEARCH_HALVINGS {
        for (c, (t, s)) in candidate.iter_mut().zip(theta.iter().zip(step)) {
            *c = t - scale * s;
        }
        let value = objective(x, y, l2, &candidate);
        if value <= loss - 1e-4 * scale * decrement {
            return Some((candidate, value));
        }
        scale /= 2.0;
    }
    None
}

fn objective(x: ArrayView2<f64>, y: &[bool], l2: f64, theta: &[f64]) -> f64 {
    let width = theta.len() - 1;
    let partials: Vec<f64> = chunks(x, y)
        .par_iter()
        .map(|(rows, labels)| {
            rows.rows()
                .into_iter()
                .zip(*labels)
                .map(|(row, &label)| {
                    let z = theta[width] + dot(&theta[..width], contiguous(&row));
                    softplus(z) - if label { z } else { 0.0 }
                })
                .sum::<f64>()
        })
        .collect();
    let penalty: f64 = theta[..width].iter().map(|w| w * w).sum::<f64>() * 0.5 * l2;
    partials.iter().sum::<f64>() / x.nrows() as f64 + penalty
}

/// Solves `a * s = b` for symmetric positive definite `a` (row-major, `size`^2); `None` when
/// `a` is not numerically positive definite.
fn cholesky_solve(mut a: Vec<f64>, b: &[f64], size: usize) -> Option<Vec<f64>> {
    // In place: the lower triangle becomes L with a = L * L^T.
    for j in 0..size {
        let diagonal = a[j * size + j] - (0..j).map(|k| a[j * size + k].powi(2)).sum::<f64>();
        if diagonal.is_nan() || diagonal <= 1e-300 {
            return None;
        }
        let pivot = diagonal.sqrt();
        a[j * size + j] = pivot;
        for i in j + 1..size {
            let dot: f64 = (0..j).map(|k| a[i * size + k] * a[j * size + k]).sum();
            a[i * size + j] = (a[i * size + j] - dot) / pivot;
        }
    }
    let mut z = vec![0.0; size];
    for i in 0..size {
        let dot: f64 = (0..i).map(|k| a[i * size + k] * z[k]).sum();
        z[i] = (b[i] - dot) / a[i * size + i];
    }
    let mut s = vec![0.0; size];
    for i in (0..size).rev() {
        let dot: f64 = (i + 1..size).map(|k| a[k * size + i] * s[k]).sum();
        s[i] = (z[i] - dot) / a[i * size + i];
    }
    s.iter().all(|v| v.is_finite()).then_some(s)
}

fn add_into(total: &mut [f64], part: &[f64]) {
    total.iter_mut().zip(part).for_each(|(t, p)| *t += p);
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// A row of a standard-layout matrix as a slice.
fn contiguous<'a>(row: &ArrayView1<'a, f64>) -> &'a [f64] {
    row.to_slice()
        .expect("fit works on a standard-layout matrix")
}

/// The logistic function, without overflow for large `|z|`; shared with [`crate::gbm`].
pub(crate) fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// `ln(1 + e^z)` without overflow for large `z`.
pub(crate) fn softplus(z: f64) -> f64 {
    z.max(0.0) + (-z.abs()).exp().ln_1p()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use crate::matrix::from_rows;

    /// One column of values.
    fn column(values: &[f64]) -> ndarray::Array2<f64> {
        ndarray::Array2::from_shape_vec((values.len(), 1), values.to_vec()).unwrap()
    }

    #[test]
    fn standardizer_centres_scales_and_spares_constant_columns() {
        let x = from_rows(&[vec![1.0, 5.0], vec![3.0, 5.0]]).unwrap();
        let s = Standardizer::fit(x.view());
        assert_eq!(s.mean, vec![2.0, 5.0]);
        assert_eq!(s.std, vec![1.0, 1.0]);
        assert_eq!(s.transform(&[3.0, 5.0]), vec![1.0, 0.0]);
        assert_eq!(s.transform(&[0.0, 7.0]), vec![-2.0, 2.0]);
    }

    /// Hand check: x = -1 for four rows (labels 0, 1, 0, 1) and x = 1 for four rows (labels
    /// 1, 1, 1, 0): positive rates 1/2 and 3/4. One slope and an intercept fit two groups
    /// exactly, so the unpenalised optimum reproduces the rates:
    /// b - w = logit(1/2) = 0 and b + w = logit(3/4) = ln 3, hence w = b = ln(3) / 2.
    #[test]
    fn logistic_matches_hand_computed_saturated_model() {
        let x = column(&[-1.0, -1.0, -1.0, -1.0, 1.0, 1.0, 1.0, 1.0]);
        let y = [false, true, false, true, true, true, true, false];
        let model = LogisticRegression::fit(x.view(), &y, 0.0).unwrap();
        let half_ln3 = 3f64.ln() / 2.0;
        assert!((model.weights[0] - half_ln3).abs() < 1e-9, "{model:?}");
        assert!((model.intercept - half_ln3).abs() < 1e-9, "{model:?}");
        assert!((model.predict_proba(&[-1.0]) - 0.5).abs() < 1e-9);
        assert!((model.predict_proba(&[1.0]) - 0.75).abs() < 1e-9);
    }

    /// With the penalty, the optimum satisfies the stationarity conditions: the mean residual
    /// is zero (unpenalised intercept) and mean(residual * x) = -l2 * w.
    #[test]
    fn logistic_penalty_satisfies_optimality_conditions() {
        let x = column(&[-2.0, -1.0, 0.0, 1.0, 2.0, 0.5]);
        let y = [false, false, true, false, true, true];
        let l2 = 0.3;
        let model = LogisticRegression::fit(x.view(), &y, l2).unwrap();
        let residuals: Vec<f64> = x
            .rows()
            .into_iter()
            .zip(&y)
            .map(|(row, &label)| model.predict_proba(&row.to_vec()) - f64::from(u8::from(label)))
            .collect();
        let n = x.nrows() as f64;
        let mean_residual = residuals.iter().sum::<f64>() / n;
        let weighted: f64 = residuals
            .iter()
            .zip(x.column(0))
            .map(|(r, v)| r * v)
            .sum::<f64>()
            / n;
        assert!(mean_residual.abs() < 1e-9);
        assert!((weighted + l2 * model.weights[0]).abs() < 1e-9);
        // Shrinkage: the penalised slope is smaller than the unpenalised one.
        let free = LogisticRegression::fit(x.view(), &y, 0.0).unwrap();
        assert!(model.weights[0].abs() < free.weights[0].abs());
    }

    #[test]
    fn logistic_recovers_known_coefficients() {
        let truth = [1.5, -2.0, 0.0, 0.7];
        let truth_intercept = -0.5;
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let n = 40_000;
        let rows: Vec<Vec<f64>> = (0..n)
            .map(|_| (0..truth.len()).map(|_| rng.gen_range(-2.0..2.0)).collect())
            .collect();
        let y: Vec<bool> = rows
            .iter()
            .map(|row| rng.gen::<f64>() < sigmoid(truth_intercept + dot(&truth, row)))
            .collect();
        let x = from_rows(&rows).unwrap();
        let model = LogisticRegression::fit(x.view(), &y, 0.0).unwrap();
        for (fitted, expected) in model.weights.iter().zip(truth) {
            assert!((fitted - expected).abs() < 0.06, "{model:?}");
        }
        assert!(
            (model.intercept - truth_intercept).abs() < 0.06,
            "{model:?}"
        );
        assert_eq!(model, LogisticRegression::fit(x.view(), &y, 0.0).unwrap());
    }

    #[test]
    fn logistic_reports_bad_input() {
        let x = column(&[1.0, 2.0]);
        assert!(matches!(
            LogisticRegression::fit(from_rows(&[]).unwrap().view(), &[], 1.0),
            Err(ModelError::EmptyData(_))
        ));
        assert!(matches!(
            LogisticRegression::fit(x.view(), &[true], 1.0),
            Err(ModelError::RowCountMismatch { .. })
        ));
        assert!(matches!(
            LogisticRegression::fit(x.view(), &[true, true], 1.0),
            Err(ModelError::SingleClass)
        ));
        assert!(matches!(
            LogisticRegression::fit(x.view(), &[true, false], -1.0),
            Err(ModelError::InvalidConfig { .. })
        ));
        // Ragged rows never reach a fit: they fail where rows become a matrix.
        assert!(matches!(
            from_rows(&[vec![1.0], vec![1.0, 2.0]]),
            Err(ModelError::ShapeMismatch { row: 1, .. })
        ));
        assert!(matches!(
            LogisticRegression::fit(column(&[1.0, f64::NAN]).view(), &[true, false], 1.0),
            Err(ModelError::NonFinite {
                row: 1,
                column: 0,
                ..
            })
        ));
    }

    proptest! {
        #[test]
        fn probabilities_stay_inside_the_open_interval(
            weights in proptest::collection::vec(-1e3f64..1e3, 1..5),
            intercept in -1e3f64..1e3,
            scale in -1e3f64..1e3,
        ) {
            let model = LogisticRegression { weights: weights.clone(), intercept };
            let row = vec![scale; weights.len()];
            let p = model.predict_proba(&row);
            prop_assert!(p > 0.0 && p < 1.0);
        }

        #[test]
        fn standardized_columns_have_zero_mean_unit_sd(
            rows in proptest::collection::vec(proptest::collection::vec(-1e3f64..1e3, 3), 2..50),
        ) {
            let s = Standardizer::fit(from_rows(&rows).unwrap().view());
            let transformed: Vec<Vec<f64>> = rows.iter().map(|r| s.transform(r)).collect();
            for j in 0..3 {
                let column: Vec<f64> = transformed.iter().map(|r| r[j]).collect();
                let mean = column.iter().sum::<f64>() / column.len() as f64;
                let var = column.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / column.len() as f64;
                prop_assert!(mean.abs() < 1e-9);
                prop_assert!((var - 1.0).abs() < 1e-9 || var == 0.0);
            }
        }
    }
}
