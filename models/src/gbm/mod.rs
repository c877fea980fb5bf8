//! Histogram gradient-boosted trees for binary targets (the credit model).
//!
//! Modelled on scikit-learn's `HistGradientBoostingClassifier` and its defaults: log-loss,
//! Newton leaf values, best-first (leaf-wise) growth up to `max_leaf_nodes`, features binned
//! once into at most 255 quantile bins plus one bin for missing values (NaN), which each split
//! sends to the side that gains most. Optional monotonic constraints bound leaf values so the
//! predicted log-odds never decrease (or never increase) along a constrained feature.
//!
//! Speed comes from the bins: a node's gradient histogram is one pass over its rows per
//! feature (features in parallel), and only the smaller child of a split is scanned, the
//! larger child's histogram being the parent's minus the smaller's. Every sum runs in a fixed
//! order within one feature, so a fit is reproducible bit for bit from the data, the
//! configuration and the seed, whatever the number of threads.

mod bins;
mod grow;

use ndarray::{ArrayView2, CowArray, Ix2};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::linear::{sigmoid, softplus};
use crate::ModelError;
use bins::BinnedData;
use grow::Grower;

/// Most training rows: row indices are `u32` and the binned matrix takes one byte per value.
pub const MAX_ROWS: usize = 50_000_000;
/// Most features: each live node holds a histogram of `features x 256 x 24` bytes (3 MiB here).
pub const MAX_FEATURES: usize = 512;
pub const MAX_ITERATIONS: usize = 10_000;
pub const MAX_LEAF_NODES: usize = 4096;
/// Non-missing bins per feature; bin 255 of the `u8` code is reserved for missing values.
pub const MAX_BINS: usize = 255;
/// Above this many training rows, `early_stopping: None` turns early stopping on.
pub const AUTO_EARLY_STOPPING_ROWS: usize = 10_000;

const MISSING_BIN: usize = 255;
const HISTOGRAM_BINS: usize = 256;
/// A child with less curvature than this has a meaningless Newton step (scikit-learn's
/// `min_hessian_to_split`).
const MIN_CHILD_HESSIAN: f64 = 1e-3;
/// Improvement of the validation loss that counts as progress for early stopping.
const EARLY_STOPPING_TOLERANCE: f64 = 1e-7;
/// Below this many rows in a node, building its histogram serially beats waking threads.
const PARALLEL_HISTOGRAM_ROWS: usize = 2048;

/// Training settings. `Default` gives scikit-learn's defaults.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GbmConfig {
    /// Boosting iterations (one tree each), unless early stopping ends training sooner.
    pub max_iter: usize,
    /// Shrinkage applied to every leaf value.
    pub learning_rate: f64,
    /// Leaves per tree; growth is best-first, so this bounds complexity rather than depth.
    pub max_leaf_nodes: usize,
    /// A split is refused if either child would hold fewer training rows.
    pub min_samples_leaf: usize,
    /// L2 penalty on leaf values (added to the hessian sum in the Newton step).
    pub l2_regularization: f64,
    /// Non-missing bins per feature, 2..=255: distinct values when there are few enough,
    /// otherwise quantile bins.
    pub max_bins: usize,
    /// Per-feature monotonic constraint on the log-odds: -1 decreasing, 0 none, +1
    /// increasing. Empty means no constraints; otherwise one entry per feature.
    pub monotonic: Vec<i8>,
    /// `None` (auto) stops early when there are more than [`AUTO_EARLY_STOPPING_ROWS`] rows.
    pub early_stopping: Option<bool>,
    /// Share of rows held out (stratified) to monitor the loss when stopping early.
    pub validation_fraction: f64,
    /// Stop when the validation loss has not improved by 1e-7 over this many iterations.
    pub n_iter_no_change: usize,
    /// Share of the training rows each tree is grown on, drawn afresh per tree (stochastic
    /// gradient boosting), in (0, 1]; 1 uses every row.
    #[serde(default = "all")]
    pub subsample: f64,
    /// Share of the features each tree may split on, drawn afresh per tree, in (0, 1]; 1
    /// uses every feature.
    #[serde(default = "all")]
    pub colsample: f64,
    /// Seeds the validation split and the per-tree samples.
    pub seed: u64,
}

fn all() -> f64 {
    1.0
}

impl Default for GbmConfig {
    fn default() -> Self {
        GbmConfig {
            max_iter: 100,
            learning_rate: 0.1,
            max_leaf_nodes: 31,
            min_samples_leaf: 20,
            l2_regularization: 0.0,
            max_bins: 255,
            monotonic: Vec::new(),
            early_stopping: None,
            validation_fraction: 0.1,
            n_iter_no_change: 10,
            subsample: 1.0,
            colsample: 1.0,
            seed: 42,
        }
    }
}

/// A fitted boosted-tree classifier: raw log-odds = `baseline` + the sum of one leaf value
/// per tree.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Gbm {
    n_features: usize,
    /// Log-odds of the training base rate.
    baseline: f64,
    trees: Vec<Tree>,
    /// Mean validation log-loss before the first tree and after each; empty without early
    /// stopping.
    validation_loss: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Tree {
    /// Node 0 is the root; children always come after their parent.
    nodes: Vec<Node>,
}

/// A tree node. `value` is the shrunk Newton value of the node's rows (the prediction for a
/// leaf, the path-attribution reference for an internal node).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Node {
    value: f64,
    n_samples: u32,
    /// `None` for a leaf.
    split: Option<Split>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Split {
    feature: u32,
    /// Values `<= threshold` go left (infinite when only missing values go right; JSON has
    /// no infinity, so it is written as `null`).
    #[serde(with = "threshold_json")]
    threshold: f64,
    missing_left: bool,
    left: u32,
    right: u32,
}

impl Gbm {
    /// Fits the model. `x`: one row per example, NaN for a missing value. Deterministic.
    ///
    /// Errors on no rows, infinite values, a label count that differs from the row count,
    /// labels of a single class, too many rows or features, or a configuration value out of
    /// range.
    pub fn fit(x: ArrayView2<f64>, y: &[bool], config: &GbmConfig) -> Result<Gbm, ModelError> {
        validate(x, y, config)?;
        let early_stopping = config
            .early_stopping
            .unwrap_or(x.nrows() > AUTO_EARLY_STOPPING_ROWS);
        let (train, validation) = if early_stopping {
            stratified_holdout(y, config.validation_fraction, config.seed)
        } else {
            ((0..x.nrows()).collect(), Vec::new())
        };
        let x = x.as_standard_layout();
        let all = row_slices(&x);
        let rows = |indices: &[usize]| -> Vec<&[f64]> { indices.iter().map(|&i| all[i]).collect() };
        let labels = |indices: &[usize]| -> Vec<bool> { indices.iter().map(|&i| y[i]).collect() };
        let validation_rows = rows(&validation);
        let validation_labels = labels(&validation);
        let monitor =
            early_stopping.then_some((validation_rows.as_slice(), &validation_labels[..]));
        fit_rows(&rows(&train), &labels(&train), monitor, config)
    }

    /// Fits on `x` and stops early on the given validation rows instead of a share held out
    /// of `x` (`config.early_stopping` and `validation_fraction` are not used): training
    /// ends when the validation loss has not improved over `config.n_iter_no_change`
    /// iterations, or at `config.max_iter`. [`Gbm::validation_loss`] then holds the whole
    /// curve, so a caller can pick the best number of trees and [`Gbm::truncate`] to it.
    ///
    /// Errors as [`Gbm::fit`], and on validation rows of another width or with infinite
    /// values, or no validation rows.
    pub fn fit_with_validation(
        x: ArrayView2<f64>,
        y: &[bool],
        validation_x: ArrayView2<f64>,
        validation_y: &[bool],
        config: &GbmConfig,
    ) -> Result<Gbm, ModelError> {
        validate(x, y, config)?;
        if validation_x.nrows() == 0 {
            return Err(ModelError::EmptyData("monitor a gradient-boosted model"));
        }
        if validation_y.len() != validation_x.nrows() {
            return Err(ModelError::RowCountMismatch {
                what: "validation labels",
                expected: validation_x.nrows(),
                found: validation_y.len(),
            });
        }
        if validation_x.ncols() != x.ncols() {
            return Err(ModelError::ShapeMismatch {
                what: "validation feature",
                row: 0,
                expected: x.ncols(),
                found: validation_x.ncols(),
            });
        }
        check_finite(validation_x, "validation feature")?;
        let (x, validation_x) = (x.as_standard_layout(), validation_x.as_standard_layout());
        let validation = row_slices(&validation_x);
        fit_rows(
            &row_slices(&x),
            y,
            Some((&validation, validation_y)),
            config,
        )
    }

    /// Probability of the positive class, kept strictly inside (0, 1).
    ///
    /// # Panics
    /// If the row's width differs from the fitted width.
    pub fn predict_proba(&self, row: &[f64]) -> f64 {
        sigmoid(self.raw_score(row)).clamp(f64::EPSILON, 1.0 - f64::EPSILON)
    }

    /// Raw log-odds of the positive class.
    ///
    /// # Panics
    /// If the row's width differs from the fitted width.
    pub fn raw_score(&self, row: &[f64]) -> f64 {
        assert_eq!(row.len(), self.n_features, "Gbm: row width");
        self.baseline + self.trees.iter().map(|t| t.predict(row)).sum::<f64>()
    }

    /// Per-feature contributions to the log-odds (Saabas path attribution): along each
    /// tree's decision path, the change in node value at a split is credited to the split
    /// feature. Returns `(bias, contributions)`; `bias + sum(contributions)` equals
    /// [`Gbm::raw_score`] up to rounding (the sums telescope).
    ///
    /// # Panics
    /// If the row's width differs from the fitted width.
    pub fn contributions(&self, row: &[f64]) -> (f64, Vec<f64>) {
        assert_eq!(row.len(), self.n_features, "Gbm: row width");
        let mut bias = self.baseline;
        let mut contributions = vec![0.0; self.n_features];
        for tree in &self.trees {
            let mut node = &tree.nodes[0];
            bias += node.value;
            while let Some(split) = &node.split {
                let child = &tree.nodes[split.child(row) as usize];
                contributions[split.feature as usize] += child.value - node.value;
                node = child;
            }
        }
        (bias, contributions)
    }

    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Number of trees (boosting iterations actually run).
    pub fn trees(&self) -> usize {
        self.trees.len()
    }

    /// Mean validation log-loss before the first tree and after each one; empty when early
    /// stopping was off.
    pub fn validation_loss(&self) -> &[f64] {
        &self.validation_loss
    }

    /// Why this model (read from a file) cannot predict safely, if it cannot: a child index
    /// that does not point forward into its tree, a feature out of range, a value that is not
    /// finite.
    pub fn check(&self) -> Result<(), String> {
        if !self.baseline.is_finite() {
            return Err("GBM baseline is not finite".into());
        }
        for (t, tree) in self.trees.iter().enumerate() {
            if tree.nodes.is_empty() {
                return Err(format!("GBM tree {t} has no nodes"));
            }
            for (n, node) in tree.nodes.iter().enumerate() {
                let bad = !node.value.is_finite()
                    || node.split.as_ref().is_some_and(|split| {
                        split.feature as usize >= self.n_features
                            || split.threshold.is_nan()
                            || [split.left, split.right]
                                .iter()
                                .any(|&c| c as usize <= n || c as usize >= tree.nodes.len())
                    });
                if bad {
                    return Err(format!("GBM tree {t} node {n} is malformed"));
                }
            }
        }
        Ok(())
    }

    /// Keeps the first `trees` trees (all of them when there are fewer): the model as it was
    /// after that many boosting iterations. The validation curve is cut to match.
    pub fn truncate(&mut self, trees: usize) {
        self.trees.truncate(trees);
        self.validation_loss.truncate(self.trees.len() + 1);
    }
}

/// The boosting loop over validated rows; `monitor` holds the early-stopping rows.
fn fit_rows(
    train_x: &[&[f64]],
    train_y: &[bool],
    monitor: Option<(&[&[f64]], &[bool])>,
    config: &GbmConfig,
) -> Result<Gbm, ModelError> {
    let n_features = train_x[0].len();
    if train_y.iter().all(|&v| v) || train_y.iter().all(|&v| !v) {
        return Err(ModelError::SingleClass);
    }
    let binned = BinnedData::new(train_x, n_features, config.max_bins);
    let positives = train_y.iter().filter(|&&v| v).count() as f64;
    let base_rate = positives / train_y.len() as f64;
    let baseline = (base_rate / (1.0 - base_rate)).ln();
    let mut model = Gbm {
        n_features,
        baseline,
        trees: Vec::new(),
        validation_loss: Vec::new(),
    };
    let mut raw = vec![baseline; train_y.len()];
    let (validation_x, validation_y) = monitor.unwrap_or((&[], &[]));
    let mut validation_raw = vec![baseline; validation_x.len()];
    if monitor.is_some() {
        model
            .validation_loss
            .push(mean_log_loss(&validation_raw, validation_y));
    }
    let mut grower = Grower::new(&binned, config);
    let mut gradients = vec![0.0; raw.len()];
    let mut hessians = vec![0.0; raw.len()];
    let mut sampler = Sampler::new(train_y.len(), n_features, config);
    for _ in 0..config.max_iter {
        for (i, &label) in train_y.iter().enumerate() {
            let p = sigmoid(raw[i]);
            gradients[i] = p - if label { 1.0 } else { 0.0 };
            hessians[i] = p * (1.0 - p);
        }
        let (rows, features) = sampler.draw();
        let tree = grower.grow(&gradients, &hessians, &mut raw, rows, features);
        if let Some(rows) = rows {
            // Rows left out of this tree's sample still move by its prediction.
            let mut sampled = rows.iter().peekable();
            for (row, score) in raw.iter_mut().enumerate() {
                if sampled.next_if(|&&r| r as usize == row).is_none() {
                    *score += tree.predict(train_x[row]);
                }
            }
        }
        for (score, row) in validation_raw.iter_mut().zip(validation_x) {
            *score += tree.predict(row);
        }
        model.trees.push(tree);
        if monitor.is_some() {
            let loss = mean_log_loss(&validation_raw, validation_y);
            if !loss.is_finite() {
                return Err(ModelError::Diverged {
                    epoch: model.trees.len(),
                });
            }
            model.validation_loss.push(loss);
            if should_stop(&model.validation_loss, config.n_iter_no_change) {
                break;
            }
        }
    }
    Ok(model)
}

impl Tree {
    fn predict(&self, row: &[f64]) -> f64 {
        let mut node = &self.nodes[0];
        while let Some(split) = &node.split {
            node = &self.nodes[split.child(row) as usize];
        }
        node.value
    }
}

impl Split {
    fn child(&self, row: &[f64]) -> u32 {
        let value = row[self.feature as usize];
        let go_left = if value.is_nan() {
            self.missing_left
        } else {
            value <= self.threshold
        };
        if go_left {
            self.left
        } else {
            self.right
        }
    }
}

/// A split threshold in JSON: a number, or `null` for +infinity.
mod threshold_json {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(threshold: &f64, serializer: S) -> Result<S::Ok, S::Error> {
        if threshold.is_finite() {
            serializer.serialize_f64(*threshold)
        } else {
            serializer.serialize_none()
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(deserializer)?.unwrap_or(f64::INFINITY))
    }
}

fn validate(x: ArrayView2<f64>, y: &[bool], config: &GbmConfig) -> Result<(), ModelError> {
    if x.nrows() == 0 {
        return Err(ModelError::EmptyData("fit a gradient-boosted model"));
    }
    if y.len() != x.nrows() {
        return Err(ModelError::RowCountMismatch {
            what: "labels",
            expected: x.nrows(),
            found: y.len(),
        });
    }
    if x.nrows() > MAX_ROWS {
        return Err(ModelError::TooLarge {
            what: "row count",
            limit: MAX_ROWS,
            found: x.nrows(),
        });
    }
    if x.ncols() > MAX_FEATURES {
        return Err(ModelError::TooLarge {
            what: "feature count",
            limit: MAX_FEATURES,
            found: x.ncols(),
        });
    }
    validate_config(config, x.ncols())?;
    check_finite(x, "feature")?;
    if y.iter().all(|&v| v) || y.iter().all(|&v| !v) {
        return Err(ModelError::SingleClass);
    }
    Ok(())
}

/// No infinities (NaN is a missing value).
fn check_finite(x: ArrayView2<f64>, what: &'static str) -> Result<(), ModelError> {
    for (row_index, row) in x.rows().into_iter().enumerate() {
        if let Some(column) = row.iter().position(|v| v.is_infinite()) {
            return Err(ModelError::NonFinite {
                what,
                row: row_index,
                column,
            });
        }
    }
    Ok(())
}

/// The rows of a matrix in standard (row-major) layout, as slices.
fn row_slices<'a>(x: &'a CowArray<'_, f64, Ix2>) -> Vec<&'a [f64]> {
    let width = x.ncols();
    let values = x.as_slice().expect("a standard-layout matrix is one slice");
    if width == 0 {
        return vec![&[]; x.nrows()];
    }
    values.chunks_exact(width).collect()
}

fn validate_config(config: &GbmConfig, width: usize) -> Result<(), ModelError> {
    let invalid = |field, reason| Err(ModelError::InvalidConfig { field, reason });
    if !(1..=MAX_ITERATIONS).contains(&config.max_iter) {
        return invalid("max_iter", "must be in 1..=10000");
    }
    if !(config.learning_rate > 0.0 && config.learning_rate.is_finite()) {
        return invalid("learning_rate", "must be a finite number > 0");
    }
    if !(2..=MAX_LEAF_NODES).contains(&config.max_leaf_nodes) {
        return invalid("max_leaf_nodes", "must be in 2..=4096");
    }
    if config.min_samples_leaf == 0 {
        return invalid("min_samples_leaf", "must be >= 1");
    }
    if !(config.l2_regularization >= 0.0 && config.l2_regularization.is_finite()) {
        return invalid("l2_regularization", "must be a finite number >= 0");
    }
    if !(2..=MAX_BINS).contains(&config.max_bins) {
        return invalid("max_bins", "must be in 2..=255");
    }
    if !(config.monotonic.is_empty() || config.monotonic.len() == width) {
        return invalid("monotonic", "must be empty or hold one entry per feature");
    }
    if config.monotonic.iter().any(|c| !(-1..=1).contains(c)) {
        return invalid("monotonic", "entries must be -1, 0 or 1");
    }
    if !(config.validation_fraction > 0.0 && config.validation_fraction < 1.0) {
        return invalid("validation_fraction", "must be in (0, 1)");
    }
    if config.n_iter_no_change == 0 {
        return invalid("n_iter_no_change", "must be >= 1");
    }
    if !(config.subsample > 0.0 && config.subsample <= 1.0) {
        return invalid("subsample", "must be in (0, 1]");
    }
    if !(config.colsample > 0.0 && config.colsample <= 1.0) {
        return invalid("colsample", "must be in (0, 1]");
    }
    Ok(())
}

/// Draws each tree's rows and features; draws nothing when both shares are 1.
struct Sampler {
    rng: ChaCha8Rng,
    rows: usize,
    sample_rows: Option<usize>,
    sample_features: Option<usize>,
    row_sample: Vec<u32>,
    feature_mask: Vec<bool>,
}

impl Sampler {
    /// Salt so the samples do not repeat the validation split drawn from the same seed.
    const SALT: u64 = 0x05a3_b1e5;

    fn new(rows: usize, features: usize, config: &GbmConfig) -> Self {
        let share = |fraction: f64, total: usize| {
            (fraction < 1.0).then(|| ((fraction * total as f64).ceil() as usize).clamp(1, total))
        };
        Sampler {
            rng: ChaCha8Rng::seed_from_u64(config.seed ^ Self::SALT),
            rows,
            sample_rows: share(config.subsample, rows),
            sample_features: share(config.colsample, features),
            row_sample: Vec::new(),
            feature_mask: vec![true; features],
        }
    }

    /// This tree's rows (sorted; `None` for all) and features (`true` where allowed).
    fn draw(&mut self) -> (Option<&[u32]>, &[bool]) {
        if let Some(count) = self.sample_rows {
            self.row_sample.clear();
            self.row_sample.extend(
                rand::seq::index::sample(&mut self.rng, self.rows, count)
                    .into_iter()
                    .map(|i| i as u32),
            );
            self.row_sample.sort_unstable();
        }
        if let Some(count) = self.sample_features {
            self.feature_mask.fill(false);
            for feature in rand::seq::index::sample(&mut self.rng, self.feature_mask.len(), count) {
                self.feature_mask[feature] = true;
            }
        }
        (
            self.sample_rows.map(|_| self.row_sample.as_slice()),
            &self.feature_mask,
        )
    }
}

/// Splits row indices into (train, validation), holding out `fraction` of each class (at
/// least one row of each class stays in training). Both lists are sorted.
fn stratified_holdout(y: &[bool], fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut train = Vec::with_capacity(y.len());
    let mut validation = Vec::new();
    for class in [true, false] {
        let mut members: Vec<usize> = (0..y.len()).filter(|&i| y[i] == class).collect();
        members.shuffle(&mut rng);
        let held = ((members.len() as f64 * fraction).round() as usize).min(members.len() - 1);
        validation.extend_from_slice(&members[..held]);
        train.extend_from_slice(&members[held..]);
    }
    train.sort_unstable();
    validation.sort_unstable();
    (train, validation)
}

/// scikit-learn's rule: stop when none of the last `patience` losses beats the loss just
/// before them by more than the tolerance.
fn should_stop(losses: &[f64], patience: usize) -> bool {
    if losses.len() <= patience {
        return false;
    }
    let reference = losses[losses.len() - patience - 1];
    losses[losses.len() - patience..]
        .iter()
        .all(|&loss| loss >= reference - EARLY_STOPPING_TOLERANCE)
}

fn mean_log_loss(raw: &[f64], y: &[bool]) -> f64 {
    let total: f64 = raw
        .iter()
        .zip(y)
        .map(|(&z, &label)| softplus(z) - if label { z } else { 0.0 })
        .sum();
    total / raw.len().max(1) as f64
}

#[cfg(test)]
mod tests;
