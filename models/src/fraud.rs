//! The transaction-monitoring model: gradient-boosted trees over a payment's features,
//! validated in time order and calibrated.
//!
//! Fraud changes over time and a model is used on payments made after the ones it learned
//! from, so it is validated the same way: the rows come in time order, the latest
//! [`VALIDATION_SHARE`] of them are held out, the trees are grown on the rest until the
//! held-out loss stops improving (and cut back to where it was lowest), and a Platt curve
//! fitted on the held-out raw scores turns them into probabilities. No row is shuffled
//! across time.

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use crate::gbm::{Gbm, GbmConfig};
use crate::linear::{sigmoid, LogisticRegression};
use crate::ModelError;

/// The latest share of the training rows held out for early stopping and calibration.
pub const VALIDATION_SHARE: f64 = 0.2;

/// A fitted model with its calibration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FraudModel {
    pub feature_names: Vec<String>,
    gbm: Gbm,
    /// `p = sigmoid(slope * raw + intercept)`; `(1, 0)` when the held-out rows had a single
    /// class and no curve could be fitted.
    platt: (f64, f64),
    /// Trees kept (where the held-out loss was lowest).
    pub trees: usize,
    /// Training and held-out rows, and the held-out positives.
    pub train_rows: usize,
    pub validation_rows: usize,
    pub validation_positives: usize,
}

/// The boosting settings: scikit-learn's defaults with more rounds, a slower rate and some
/// L2, for rare positives.
pub fn config(seed: u64) -> GbmConfig {
    GbmConfig {
        max_iter: 300,
        learning_rate: 0.08,
        max_leaf_nodes: 31,
        min_samples_leaf: 40,
        l2_regularization: 1.0,
        n_iter_no_change: 25,
        seed,
        ..GbmConfig::default()
    }
}

impl FraudModel {
    /// Fits on `x` (one row per payment, in time order, NaN for missing) and `y`.
    ///
    /// Errors when there are too few rows to hold any out, when the training part holds a
    /// single class, or as [`Gbm::fit_with_validation`].
    pub fn fit(
        x: ArrayView2<f64>,
        y: &[bool],
        feature_names: Vec<String>,
        seed: u64,
    ) -> Result<FraudModel, ModelError> {
        if feature_names.len() != x.ncols() {
            return Err(ModelError::ShapeMismatch {
                what: "feature name",
                row: 0,
                expected: x.ncols(),
                found: feature_names.len(),
            });
        }
        let n = x.nrows();
        let cut = ((1.0 - VALIDATION_SHARE) * n as f64).round() as usize;
        if cut == 0 || cut >= n {
            return Err(ModelError::EmptyData("hold out the latest payments"));
        }
        let (train_x, validation_x) = (
            x.slice(ndarray::s![..cut, ..]),
            x.slice(ndarray::s![cut.., ..]),
        );
        let (train_y, validation_y) = (&y[..cut], &y[cut..]);
        let mut gbm =
            Gbm::fit_with_validation(train_x, train_y, validation_x, validation_y, &config(seed))?;
        let losses = gbm.validation_loss();
        let best = losses
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(b.1))
            .map_or(gbm.trees(), |(i, _)| i);
        gbm.truncate(best.max(1));
        let validation = validation_x.as_standard_layout();
        let raw: Vec<f64> = validation
            .rows()
            .into_iter()
            .map(|row| gbm.raw_score(row.as_slice().expect("standard layout")))
            .collect();
        let positives = validation_y.iter().filter(|v| **v).count();
        let platt = if positives == 0 || positives == validation_y.len() {
            (1.0, 0.0)
        } else {
            let column = ArrayView2::from_shape((raw.len(), 1), &raw).expect("one column");
            let fit = LogisticRegression::fit(column, validation_y, 1e-4)?;
            (fit.weights[0], fit.intercept)
        };
        Ok(FraudModel {
            feature_names,
            trees: gbm.trees(),
            gbm,
            platt,
            train_rows: cut,
            validation_rows: n - cut,
            validation_positives: positives,
        })
    }

    /// The calibrated probability that the payment is fraud or laundering.
    ///
    /// # Panics
    /// If the row's width differs from the fitted width.
    pub fn probability(&self, row: &[f64]) -> f64 {
        let (slope, intercept) = self.platt;
        sigmoid(slope * self.gbm.raw_score(row) + intercept).clamp(1e-9, 1.0 - 1e-9)
    }

    /// How much each feature moved the payment's score, on the log-odds scale after
    /// calibration (the trees' path attributions times the Platt slope): positive raised it.
    ///
    /// # Panics
    /// If the row's width differs from the fitted width.
    pub fn contributions(&self, row: &[f64]) -> Vec<f64> {
        let (slope, _) = self.platt;
        let (_, raw) = self.gbm.contributions(row);
        raw.into_iter().map(|c| c * slope).collect()
    }

    /// Whether the trees are sound and as wide as the feature names (a model read from a
    /// file or a database is checked before it serves).
    pub fn check(&self) -> Result<(), String> {
        self.gbm.check()?;
        if self.gbm.n_features() != self.feature_names.len() {
            return Err(format!(
                "{} features named, the trees read {}",
                self.feature_names.len(),
                self.gbm.n_features()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn learns_a_rule_that_holds_later_and_is_calibrated_on_the_latest_rows() {
        // Positive when feature 0 is large; feature 1 is noise. Rows in "time" order.
        let n = 6_000;
        let mut x = Array2::<f64>::zeros((n, 2));
        let mut y = vec![false; n];
        for i in 0..n {
            let a = ((i * 7_919) % 1_000) as f64 / 1_000.0;
            let b = ((i * 104_729) % 997) as f64 / 997.0;
            x[[i, 0]] = a;
            x[[i, 1]] = b;
            y[i] = a > 0.9 && b > 0.2;
        }
        let model = FraudModel::fit(x.view(), &y, vec!["a".into(), "b".into()], 7).unwrap();
        assert_eq!((model.train_rows, model.validation_rows), (4_800, 1_200));
        assert!(model.validation_positives > 50);
        assert!(model.probability(&[0.97, 0.5]) > 0.8);
        assert!(model.probability(&[0.3, 0.5]) < 0.05);
        let text = serde_json::to_string(&model).unwrap();
        let back: FraudModel = serde_json::from_str(&text).unwrap();
        assert_eq!(
            back.probability(&[0.95, 0.4]),
            model.probability(&[0.95, 0.4])
        );
        back.check().unwrap();
        // Both features raise a positive row's score, the one that separates most classes
        // (a) by far the most; a row far under a's cut is pushed down by it.
        let c = model.contributions(&[0.97, 0.5]);
        assert!(c[0] > 2.0 * c[1] && c[1] > 0.0, "{c:?}");
        let low = model.contributions(&[0.3, 0.5]);
        assert!(low[0] < 0.0, "{low:?}");
    }

    #[test]
    fn too_few_rows_or_mismatched_names_are_refused() {
        let x = Array2::<f64>::zeros((1, 2));
        assert!(FraudModel::fit(x.view(), &[true], vec!["a".into(), "b".into()], 1).is_err());
        let x = Array2::<f64>::zeros((10, 2));
        assert!(FraudModel::fit(x.view(), &[false; 10], vec!["a".into()], 1).is_err());
    }
}
