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

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::linear::{sigmoid, softplus};
use crate::ModelError;

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
    /// Fits the model. `x`: rows of equal width, NaN for a missing value. Deterministic.
    ///
    /// Errors on no rows, ragged rows, infinite values, a label count that differs from the
    /// row count, labels of a single class, too many rows or features, or a configuration
    /// value out of range.
    pub fn fit(x: &[Vec<f64>], y: &[bool], config: &GbmConfig) -> Result<Gbm, ModelError> {
        validate(x, y, config)?;
        let early_stopping = config
            .early_stopping
            .unwrap_or(x.len() > AUTO_EARLY_STOPPING_ROWS);
        let (train, validation) = if early_stopping {
            stratified_holdout(y, config.validation_fraction, config.seed)
        } else {
            ((0..x.len()).collect(), Vec::new())
        };
        let rows = |indices: &[usize]| -> Vec<&[f64]> {
            indices.iter().map(|&i| x[i].as_slice()).collect()
        };
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
        x: &[Vec<f64>],
        y: &[bool],
        validation_x: &[Vec<f64>],
        validation_y: &[bool],
        config: &GbmConfig,
    ) -> Result<Gbm, ModelError> {
        validate(x, y, config)?;
        if validation_x.is_empty() {
            return Err(ModelError::EmptyData("monitor a gradient-boosted model"));
        }
        if validation_y.len() != validation_x.len() {
            return Err(ModelError::RowCountMismatch {
                what: "validation labels",
                expected: validation_x.len(),
                found: validation_y.len(),
            });
        }
        check_rows(validation_x, x[0].len(), "validation feature")?;
        let rows: Vec<&[f64]> = x.iter().map(Vec::as_slice).collect();
        let validation: Vec<&[f64]> = validation_x.iter().map(Vec::as_slice).collect();
        fit_rows(&rows, y, Some((&validation, validation_y)), config)
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

fn validate(x: &[Vec<f64>], y: &[bool], config: &GbmConfig) -> Result<(), ModelError> {
    if x.is_empty() {
        return Err(ModelError::EmptyData("fit a gradient-boosted model"));
    }
    if y.len() != x.len() {
        return Err(ModelError::RowCountMismatch {
            what: "labels",
            expected: x.len(),
            found: y.len(),
        });
    }
    if x.len() > MAX_ROWS {
        return Err(ModelError::TooLarge {
            what: "row count",
            limit: MAX_ROWS,
            found: x.len(),
        });
    }
    let width = x[0].len();
    if width > MAX_FEATURES {
        return Err(ModelError::TooLarge {
            what: "feature count",
            limit: MAX_FEATURES,
            found: width,
        });
    }
    validate_config(config, width)?;
    check_rows(x, width, "feature")?;
    if y.iter().all(|&v| v) || y.iter().all(|&v| !v) {
        return Err(ModelError::SingleClass);
    }
    Ok(())
}

/// Every row `width` wide and free of infinities (NaN is a missing value).
fn check_rows(x: &[Vec<f64>], width: usize, what: &'static str) -> Result<(), ModelError> {
    for (row_index, row) in x.iter().enumerate() {
        if row.len() != width {
            return Err(ModelError::ShapeMismatch {
                what,
                row: row_index,
                expected: width,
                found: row.len(),
            });
        }
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

/// Features binned once: `codes[feature * rows + row]` is the bin, [`MISSING_BIN`] for NaN.
struct BinnedData {
    rows: usize,
    codes: Vec<u8>,
    /// Per feature, ascending bin edges: bin `b` holds values in `(edges[b - 1], edges[b]]`.
    edges: Vec<Vec<f64>>,
}

impl BinnedData {
    fn new(x: &[&[f64]], n_features: usize, max_bins: usize) -> Self {
        let rows = x.len();
        let columns: Vec<(Vec<f64>, Vec<u8>)> = (0..n_features)
            .into_par_iter()
            .map(|feature| {
                let column: Vec<f64> = x.iter().map(|row| row[feature]).collect();
                let edges = bin_edges(&column, max_bins);
                let codes = column.iter().map(|&v| bin_of(&edges, v)).collect();
                (edges, codes)
            })
            .collect();
        let mut codes = Vec::with_capacity(rows * n_features);
        let mut edges = Vec::with_capacity(n_features);
        for (feature_edges, feature_codes) in columns {
            codes.extend_from_slice(&feature_codes);
            edges.push(feature_edges);
        }
        BinnedData { rows, codes, edges }
    }

    fn feature(&self, feature: usize) -> &[u8] {
        &self.codes[feature * self.rows..(feature + 1) * self.rows]
    }
}

/// Bin edges of one column (NaN ignored): midpoints between distinct values when there are
/// at most `max_bins` of them, otherwise the `max_bins`-quantiles (midpoint interpolation, as
/// numpy's `percentile(method="midpoint")`), deduplicated. At most `max_bins - 1` edges.
fn bin_edges(column: &[f64], max_bins: usize) -> Vec<f64> {
    let mut values: Vec<f64> = column.iter().copied().filter(|v| !v.is_nan()).collect();
    values.sort_unstable_by(f64::total_cmp);
    let mut distinct = values.clone();
    distinct.dedup();
    let mut edges: Vec<f64> = if distinct.len() <= max_bins {
        distinct.windows(2).map(|w| (w[0] + w[1]) / 2.0).collect()
    } else {
        let last = (values.len() - 1) as f64;
        (1..max_bins)
            .map(|q| {
                let position = q as f64 / max_bins as f64 * last;
                (values[position.floor() as usize] + values[position.ceil() as usize]) / 2.0
            })
            .collect()
    };
    edges.dedup();
    debug_assert!(edges.len() < max_bins);
    edges
}

fn bin_of(edges: &[f64], value: f64) -> u8 {
    if value.is_nan() {
        MISSING_BIN as u8
    } else {
        // Number of edges below the value, so `value <= edges[b]` exactly when bin <= b.
        edges.partition_point(|&edge| edge < value) as u8
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct BinStats {
    gradient: f64,
    hessian: f64,
    count: u32,
}

impl BinStats {
    fn add(&mut self, other: &BinStats) {
        self.gradient += other.gradient;
        self.hessian += other.hessian;
        self.count += other.count;
    }

    fn minus(&self, other: &BinStats) -> BinStats {
        BinStats {
            gradient: self.gradient - other.gradient,
            hessian: self.hessian - other.hessian,
            count: self.count - other.count,
        }
    }
}

/// The best split found for a node; gains compare the Newton loss reduction.
#[derive(Debug, Clone)]
struct Candidate {
    gain: f64,
    feature: usize,
    /// Bins `<= bin` go left.
    bin: usize,
    missing_left: bool,
    left: BinStats,
    right: BinStats,
    /// Unshrunk, bound-clipped values of the children.
    left_value: f64,
    right_value: f64,
}

/// A leaf during growth: its rows are `indices[start..end]`.
struct Open {
    node: usize,
    start: usize,
    end: usize,
    /// Unshrunk, bound-clipped Newton value.
    value: f64,
    lower: f64,
    upper: f64,
    histogram: Option<Vec<BinStats>>,
    candidate: Option<Candidate>,
}

/// Grows one tree per call, reusing its buffers across iterations.
struct Grower<'a> {
    data: &'a BinnedData,
    config: &'a GbmConfig,
    indices: Vec<u32>,
    scratch: Vec<u32>,
    /// Features the current tree may split on.
    features: Vec<bool>,
}

impl<'a> Grower<'a> {
    fn new(data: &'a BinnedData, config: &'a GbmConfig) -> Self {
        Grower {
            data,
            config,
            indices: Vec::with_capacity(data.rows),
            scratch: vec![0; data.rows],
            features: Vec::new(),
        }
    }

    /// Grows a tree best-first and adds its leaf values to `raw`.
    fn grow(
        &mut self,
        gradients: &[f64],
        hessians: &[f64],
        raw: &mut [f64],
        rows: Option<&[u32]>,
        features: &[bool],
    ) -> Tree {
        self.indices.clear();
        match rows {
            Some(rows) => self.indices.extend_from_slice(rows),
            None => self.indices.extend(0..self.data.rows as u32),
        }
        self.features.clear();
        self.features.extend_from_slice(features);
        let n = self.indices.len();
        let histogram = self.histogram(0, n, gradients, hessians);
        // Every row falls in one bin of each feature, so any allowed feature's bins sum to
        // the node's totals.
        let first = self
            .features
            .iter()
            .position(|&allowed| allowed)
            .expect("a tree may split on at least one feature");
        let mut stats = BinStats::default();
        histogram[first * HISTOGRAM_BINS..(first + 1) * HISTOGRAM_BINS]
            .iter()
            .for_each(|b| stats.add(b));
        let value = self.node_value(&stats, f64::NEG_INFINITY, f64::INFINITY);
        let mut nodes = vec![Node {
            value: value * self.config.learning_rate,
            n_samples: stats.count,
            split: None,
        }];
        let mut open = vec![self.open(
            0,
            (0, n),
            stats,
            value,
            (f64::NEG_INFINITY, f64::INFINITY),
            histogram,
        )];
        // Max-heap of (gain, Reverse(open index)): ties go to the older leaf.
        let mut heap = BinaryHeap::new();
        push_candidate(&mut heap, &open[0], 0);
        let mut leaves = 1;
        while leaves < self.config.max_leaf_nodes {
            let Some(HeapEntry { open: parent, .. }) = heap.pop() else {
                break;
            };
            let candidate = open[parent]
                .candidate
                .take()
                .expect("queued leaves have one");
            let parent_histogram = open[parent]
                .histogram
                .take()
                .expect("queued leaves have one");
            let (start, end) = (open[parent].start, open[parent].end);
            let middle = self.partition(start, end, &candidate);
            debug_assert_eq!(middle - start, candidate.left.count as usize);

            let (lower, upper) = (open[parent].lower, open[parent].upper);
            let constraint = self.constraint(candidate.feature);
            let mid = (candidate.left_value + candidate.right_value) / 2.0;
            let (left_bounds, right_bounds) = match constraint {
                1 => ((lower, mid), (mid, upper)),
                -1 => ((mid, upper), (lower, mid)),
                _ => ((lower, upper), (lower, upper)),
            };
            // Scan the smaller child; the larger one's histogram is the difference.
            let left_smaller = middle - start <= end - middle;
            let small = if left_smaller {
                self.histogram(start, middle, gradients, hessians)
            } else {
                self.histogram(middle, end, gradients, hessians)
            };
            let large: Vec<BinStats> = parent_histogram
                .iter()
                .zip(&small)
                .map(|(p, s)| p.minus(s))
                .collect();
            let (left_histogram, right_histogram) = if left_smaller {
                (small, large)
            } else {
                (large, small)
            };

            let left_node = nodes.len();
            let right_node = left_node + 1;
            nodes[open[parent].node].split = Some(Split {
                feature: candidate.feature as u32,
                threshold: self.data.edges[candidate.feature]
                    .get(candidate.bin)
                    .copied()
                    .unwrap_or(f64::INFINITY),
                // A feature with no missing values in this node sends them at prediction
                // time to the child that saw more rows, as scikit-learn does.
                missing_left: if parent_histogram[candidate.feature * HISTOGRAM_BINS + MISSING_BIN]
                    .count
                    > 0
                {
                    candidate.missing_left
                } else {
                    candidate.left.count >= candidate.right.count
                },
                left: left_node as u32,
                right: right_node as u32,
            });
            for (stats, value) in [
                (candidate.left, candidate.left_value),
                (candidate.right, candidate.right_value),
            ] {
                nodes.push(Node {
                    value: value * self.config.learning_rate,
                    n_samples: stats.count,
                    split: None,
                });
            }
            let left = self.open(
                left_node,
                (start, middle),
                candidate.left,
                candidate.left_value,
                left_bounds,
                left_histogram,
            );
            let right = self.open(
                right_node,
                (middle, end),
                candidate.right,
                candidate.right_value,
                right_bounds,
                right_histogram,
            );
            for child in [left, right] {
                push_candidate(&mut heap, &child, open.len());
                open.push(child);
            }
            leaves += 1;
        }
        // Leaves take their final value clipped to their own bounds, then update the scores.
        for leaf in &open {
            if nodes[leaf.node].split.is_some() {
                continue;
            }
            let value = leaf.value.clamp(leaf.lower, leaf.upper) * self.config.learning_rate;
            nodes[leaf.node].value = value;
            for &row in &self.indices[leaf.start..leaf.end] {
                raw[row as usize] += value;
            }
        }
        Tree { nodes }
    }

    fn open(
        &self,
        node: usize,
        (start, end): (usize, usize),
        stats: BinStats,
        value: f64,
        (lower, upper): (f64, f64),
        histogram: Vec<BinStats>,
    ) -> Open {
        let candidate = self.best_split(&histogram, &stats, value, lower, upper);
        Open {
            node,
            start,
            end,
            value,
            lower,
            upper,
            histogram: candidate.is_some().then_some(histogram),
            candidate,
        }
    }

    fn constraint(&self, feature: usize) -> i8 {
        self.config.monotonic.get(feature).copied().unwrap_or(0)
    }

    fn node_value(&self, stats: &BinStats, lower: f64, upper: f64) -> f64 {
        let value = -stats.gradient / (stats.hessian + self.config.l2_regularization + 1e-15);
        value.clamp(lower, upper)
    }

    /// Gradient histograms of rows `indices[start..end]`, `HISTOGRAM_BINS` per feature.
    fn histogram(
        &self,
        start: usize,
        end: usize,
        gradients: &[f64],
        hessians: &[f64],
    ) -> Vec<BinStats> {
        let rows = &self.indices[start..end];
        // Gathered once so each feature's pass reads them contiguously.
        let ordered: Vec<(f64, f64)> = rows
            .iter()
            .map(|&r| (gradients[r as usize], hessians[r as usize]))
            .collect();
        let mut histogram = vec![BinStats::default(); self.data.edges.len() * HISTOGRAM_BINS];
        let fill = |(feature, bins): (usize, &mut [BinStats])| {
            if !self.features[feature] {
                return;
            }
            let codes = self.data.feature(feature);
            for (&row, &(gradient, hessian)) in rows.iter().zip(&ordered) {
                let bin = &mut bins[codes[row as usize] as usize];
                bin.gradient += gradient;
                bin.hessian += hessian;
                bin.count += 1;
            }
        };
        if rows.len() >= PARALLEL_HISTOGRAM_ROWS {
            histogram
                .par_chunks_mut(HISTOGRAM_BINS)
                .enumerate()
                .for_each(fill);
        } else {
            histogram
                .chunks_mut(HISTOGRAM_BINS)
                .enumerate()
                .for_each(fill);
        }
        histogram
    }

    /// The split of highest positive gain over all features, bins and both sides for the
    /// missing values, respecting `min_samples_leaf`, the hessian floor and the monotonic
    /// constraints; `None` when no split qualifies.
    fn best_split(
        &self,
        histogram: &[BinStats],
        total: &BinStats,
        value: f64,
        lower: f64,
        upper: f64,
    ) -> Option<Candidate> {
        let min_samples = self.config.min_samples_leaf as u32;
        if total.count < 2 * min_samples {
            return None;
        }
        let parent_loss = total.gradient * value;
        let mut best: Option<Candidate> = None;
        for (feature, bins) in histogram.chunks(HISTOGRAM_BINS).enumerate() {
            if !self.features[feature] {
                continue;
            }
            let n_bins = self.data.edges[feature].len() + 1;
            let missing = bins[MISSING_BIN];
            let sides: &[bool] = if missing.count > 0 {
                &[false, true]
            } else {
                &[false]
            };
            let constraint = self.constraint(feature);
            let mut left = BinStats::default();
            for (bin, stats) in bins[..n_bins].iter().enumerate() {
                left.add(stats);
                for &missing_left in sides {
                    let mut left = left;
                    if missing_left {
                        left.add(&missing);
                    }
                    let right = total.minus(&left);
                    if left.count < min_samples
                        || right.count < min_samples
                        || left.hessian < MIN_CHILD_HESSIAN
                        || right.hessian < MIN_CHILD_HESSIAN
                    {
                        continue;
                    }
                    let left_value = self.node_value(&left, lower, upper);
                    let right_value = self.node_value(&right, lower, upper);
                    if (constraint == 1 && left_value > right_value)
                        || (constraint == -1 && left_value < right_value)
                    {
                        continue;
                    }
                    let gain =
                        parent_loss - left.gradient * left_value - right.gradient * right_value;
                    if gain > best.as_ref().map_or(0.0, |b| b.gain) {
                        best = Some(Candidate {
                            gain,
                            feature,
                            bin,
                            missing_left,
                            left,
                            right,
                            left_value,
                            right_value,
                        });
                    }
                }
            }
        }
        best
    }

    /// Stable partition of `indices[start..end]` by the candidate's split; returns where the
    /// right child's rows begin.
    fn partition(&mut self, start: usize, end: usize, candidate: &Candidate) -> usize {
        let codes = self.data.feature(candidate.feature);
        let mut left = start;
        let mut right = 0;
        for position in start..end {
            let row = self.indices[position];
            let code = codes[row as usize] as usize;
            let go_left = if code == MISSING_BIN {
                candidate.missing_left
            } else {
                code <= candidate.bin
            };
            if go_left {
                self.indices[left] = row;
                left += 1;
            } else {
                self.scratch[right] = row;
                right += 1;
            }
        }
        self.indices[left..end].copy_from_slice(&self.scratch[..right]);
        left
    }
}

struct HeapEntry {
    gain: f64,
    open: usize,
}

impl PartialEq for HeapEntry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for HeapEntry {}
impl PartialOrd for HeapEntry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for HeapEntry {
    fn cmp(&self, other: &Self) -> Ordering {
        self.gain
            .total_cmp(&other.gain)
            .then_with(|| other.open.cmp(&self.open))
    }
}

fn push_candidate(heap: &mut BinaryHeap<HeapEntry>, leaf: &Open, index: usize) {
    if let Some(candidate) = &leaf.candidate {
        heap.push(HeapEntry {
            gain: candidate.gain,
            open: index,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluation::roc_auc;
    use proptest::prelude::*;
    use rand::Rng;
    use std::sync::OnceLock;

    fn small_config() -> GbmConfig {
        GbmConfig {
            max_iter: 30,
            min_samples_leaf: 5,
            ..GbmConfig::default()
        }
    }

    fn uniform_rows(n: usize, width: usize, seed: u64) -> Vec<Vec<f64>> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n)
            .map(|_| (0..width).map(|_| rng.gen_range(-1.0..1.0)).collect())
            .collect()
    }

    fn scores(model: &Gbm, x: &[Vec<f64>]) -> Vec<f64> {
        x.iter().map(|row| model.predict_proba(row)).collect()
    }

    #[test]
    fn learns_xor_which_no_single_feature_explains() {
        let label = |row: &Vec<f64>| (row[0] > 0.0) != (row[1] > 0.0);
        let x = uniform_rows(600, 3, 1);
        let y: Vec<bool> = x.iter().map(label).collect();
        let model = Gbm::fit(&x, &y, &small_config()).unwrap();
        let test = uniform_rows(400, 3, 2);
        let test_y: Vec<bool> = test.iter().map(label).collect();
        let auc = roc_auc(&scores(&model, &test), &test_y);
        assert!(auc > 0.95, "held-out AUC {auc}");
        assert_eq!(model.n_features(), 3);
        assert_eq!(model.trees(), 30);
    }

    /// The positive rate rises with feature 0 overall but dips in the middle; the
    /// constrained model must still never decrease along it.
    fn monotone_model() -> &'static Gbm {
        static MODEL: OnceLock<Gbm> = OnceLock::new();
        MODEL.get_or_init(|| {
            let mut rng = ChaCha8Rng::seed_from_u64(3);
            let x = uniform_rows(800, 2, 4);
            let y: Vec<bool> = x
                .iter()
                .map(|row| {
                    let logit = 2.0 * row[0] - 3.0 * (row[0] * 6.0).sin() + row[1];
                    rng.gen::<f64>() < sigmoid(logit)
                })
                .collect();
            let config = GbmConfig {
                monotonic: vec![1, 0],
                ..small_config()
            };
            Gbm::fit(&x, &y, &config).unwrap()
        })
    }

    proptest! {
        #[test]
        fn monotone_constraint_holds(
            a in -1.5f64..1.5,
            b in -1.5f64..1.5,
            other in prop_oneof![(-1.5f64..1.5), Just(f64::NAN)],
        ) {
            let model = monotone_model();
            let (low, high) = if a <= b { (a, b) } else { (b, a) };
            prop_assert!(model.raw_score(&[low, other]) <= model.raw_score(&[high, other]));
        }
    }

    #[test]
    fn monotone_model_still_learns_the_constrained_feature() {
        let model = monotone_model();
        assert!(model.raw_score(&[0.9, 0.0]) > model.raw_score(&[-0.9, 0.0]) + 0.5);
    }

    #[test]
    fn learns_that_missing_values_signal_the_positive_class() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut x = uniform_rows(600, 2, 6);
        let mut y = Vec::new();
        for row in &mut x {
            let missing = rng.gen::<f64>() < 0.3;
            if missing {
                row[0] = f64::NAN;
            }
            y.push(if missing {
                rng.gen::<f64>() < 0.9
            } else {
                rng.gen::<f64>() < 0.1
            });
        }
        let model = Gbm::fit(&x, &y, &small_config()).unwrap();
        assert!(model.predict_proba(&[f64::NAN, 0.0]) > 0.7);
        assert!(model.predict_proba(&[0.3, 0.0]) < 0.3);
        // A feature never missing in training still accepts NaN at prediction time.
        assert!(model.predict_proba(&[0.3, f64::NAN]).is_finite());
    }

    #[test]
    fn contributions_sum_to_the_raw_score() {
        let mut x = uniform_rows(500, 4, 7);
        x.iter_mut().step_by(7).for_each(|row| row[2] = f64::NAN);
        let y: Vec<bool> = x.iter().map(|r| r[0] + r[1] * r[3] > 0.0).collect();
        let model = Gbm::fit(&x, &y, &small_config()).unwrap();
        for row in x.iter().take(100) {
            let (bias, contributions) = model.contributions(row);
            let total = bias + contributions.iter().sum::<f64>();
            assert!((total - model.raw_score(row)).abs() < 1e-9);
            let p = model.predict_proba(row);
            assert!((sigmoid(total) - p).abs() < 1e-12);
        }
        // Feature 0 drives the label, so it must carry weight on average.
        let weight = |j: usize| -> f64 {
            x.iter()
                .map(|row| model.contributions(row).1[j].abs())
                .sum()
        };
        assert!(weight(0) > weight(2));
    }

    #[test]
    fn trees_respect_leaf_limits_and_fit_is_deterministic() {
        let x = uniform_rows(400, 3, 8);
        let y: Vec<bool> = x.iter().map(|r| r[0] > r[1]).collect();
        let config = GbmConfig {
            max_leaf_nodes: 7,
            min_samples_leaf: 15,
            ..small_config()
        };
        let model = Gbm::fit(&x, &y, &config).unwrap();
        for tree in &model.trees {
            let leaves: Vec<&Node> = tree.nodes.iter().filter(|n| n.split.is_none()).collect();
            assert!(leaves.len() <= 7);
            assert!(leaves.iter().all(|leaf| leaf.n_samples >= 15));
            assert_eq!(
                leaves.iter().map(|l| l.n_samples).sum::<u32>(),
                tree.nodes[0].n_samples
            );
        }
        assert_eq!(model, Gbm::fit(&x, &y, &config).unwrap());
    }

    #[test]
    fn serde_round_trip_predicts_identically() {
        let mut x = uniform_rows(300, 3, 9);
        x.iter_mut().step_by(5).for_each(|row| row[1] = f64::NAN);
        let y: Vec<bool> = x.iter().map(|r| r[0] > 0.2).collect();
        let model = Gbm::fit(&x, &y, &small_config()).unwrap();
        let text = serde_json::to_string(&model).unwrap();
        let back: Gbm = serde_json::from_str(&text).unwrap();
        for row in &x {
            assert_eq!(
                model.predict_proba(row).to_bits(),
                back.predict_proba(row).to_bits()
            );
        }
    }

    #[test]
    fn a_split_on_missing_alone_survives_json() {
        // One value or missing: the only split sends every value left and missing right,
        // at an infinite threshold, which JSON writes as null.
        let x: Vec<Vec<f64>> = (0..200)
            .map(|i| vec![if i % 3 == 0 { f64::NAN } else { 1.0 }])
            .collect();
        let y: Vec<bool> = (0..200).map(|i| i % 3 == 0 || i % 7 == 0).collect();
        let model = Gbm::fit(&x, &y, &small_config()).unwrap();
        let split = model.trees[0].nodes[0].split.as_ref().unwrap();
        assert_eq!(split.threshold, f64::INFINITY);
        let text = serde_json::to_string(&model).unwrap();
        let back: Gbm = serde_json::from_str(&text).unwrap();
        assert_eq!(back, model);
    }

    #[test]
    fn external_validation_records_the_curve_and_truncation_replays_it() {
        let x = uniform_rows(600, 2, 12);
        let y: Vec<bool> = x.iter().map(|r| r[0] + 0.3 * r[1] > 0.1).collect();
        let (validation_x, validation_y) = (x[400..].to_vec(), y[400..].to_vec());
        let config = GbmConfig {
            max_iter: 40,
            ..small_config()
        };
        let model =
            Gbm::fit_with_validation(&x[..400], &y[..400], &validation_x, &validation_y, &config)
                .unwrap();
        assert_eq!(model.validation_loss().len(), model.trees() + 1);
        let mut short = model.clone();
        short.truncate(5);
        assert_eq!(short.trees(), 5);
        let raw: Vec<f64> = validation_x.iter().map(|r| short.raw_score(r)).collect();
        assert!((mean_log_loss(&raw, &validation_y) - model.validation_loss()[5]).abs() < 1e-12);
        assert!(matches!(
            Gbm::fit_with_validation(&x, &y, &[vec![0.0]], &[true], &config),
            Err(ModelError::ShapeMismatch { .. })
        ));
    }

    #[test]
    fn sampled_trees_are_reproducible_and_still_learn() {
        let x = uniform_rows(600, 4, 13);
        let y: Vec<bool> = x.iter().map(|r| r[0] + r[1] > 0.0).collect();
        let config = GbmConfig {
            subsample: 0.7,
            colsample: 0.5,
            ..small_config()
        };
        let model = Gbm::fit(&x, &y, &config).unwrap();
        assert_eq!(model, Gbm::fit(&x, &y, &config).unwrap());
        assert_ne!(
            model,
            Gbm::fit(
                &x,
                &y,
                &GbmConfig {
                    seed: 7,
                    ..config.clone()
                }
            )
            .unwrap()
        );
        // Half the features per tree: no tree splits on more than two of the four.
        for tree in &model.trees {
            let mut used: Vec<u32> = tree
                .nodes
                .iter()
                .filter_map(|n| n.split.as_ref().map(|s| s.feature))
                .collect();
            used.sort_unstable();
            used.dedup();
            assert!(used.len() <= 2, "{used:?}");
        }
        let test = uniform_rows(400, 4, 14);
        let test_y: Vec<bool> = test.iter().map(|r| r[0] + r[1] > 0.0).collect();
        assert!(roc_auc(&scores(&model, &test), &test_y) > 0.9);
    }

    #[test]
    fn early_stopping_ends_training_on_noise() {
        let x = uniform_rows(500, 2, 10);
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let y: Vec<bool> = (0..500).map(|_| rng.gen()).collect();
        let config = GbmConfig {
            max_iter: 100,
            early_stopping: Some(true),
            ..small_config()
        };
        let model = Gbm::fit(&x, &y, &config).unwrap();
        assert!(model.trees() < 100, "ran {} trees", model.trees());
        assert_eq!(model.validation_loss().len(), model.trees() + 1);
        // Auto leaves it off for small data.
        let auto = Gbm::fit(&x, &y, &small_config()).unwrap();
        assert!(auto.validation_loss().is_empty());
    }

    #[test]
    fn holdout_is_stratified_and_disjoint() {
        let y: Vec<bool> = (0..200).map(|i| i % 4 == 0).collect();
        let (train, validation) = stratified_holdout(&y, 0.1, 1);
        assert_eq!(train.len() + validation.len(), 200);
        assert_eq!(validation.iter().filter(|&&i| y[i]).count(), 5);
        assert_eq!(validation.len(), 20);
        assert!(validation.iter().all(|i| train.binary_search(i).is_err()));
    }

    #[test]
    fn bins_follow_distinct_values_or_quantiles() {
        assert_eq!(
            bin_edges(&[3.0, 1.0, f64::NAN, 2.0, 1.0], 255),
            vec![1.5, 2.5]
        );
        assert_eq!(bin_of(&[1.5, 2.5], 1.5), 0);
        assert_eq!(bin_of(&[1.5, 2.5], 2.0), 1);
        assert_eq!(bin_of(&[1.5, 2.5], 9.0), 2);
        assert_eq!(bin_of(&[1.5, 2.5], f64::NAN), MISSING_BIN as u8);
        let many: Vec<f64> = (0..1000).map(f64::from).collect();
        let edges = bin_edges(&many, 4);
        assert_eq!(edges, vec![249.5, 499.5, 749.5]);
        assert!(bin_edges(&[f64::NAN, f64::NAN], 255).is_empty());
    }

    #[test]
    fn errors_name_the_bad_input() {
        let config = GbmConfig::default();
        let ragged = vec![vec![1.0, 2.0], vec![1.0]];
        assert!(matches!(
            Gbm::fit(&ragged, &[true, false], &config),
            Err(ModelError::ShapeMismatch {
                row: 1,
                expected: 2,
                found: 1,
                ..
            })
        ));
        let x = vec![vec![1.0], vec![2.0]];
        assert!(matches!(
            Gbm::fit(&x, &[true, true], &config),
            Err(ModelError::SingleClass)
        ));
        assert!(matches!(
            Gbm::fit(&x, &[true], &config),
            Err(ModelError::RowCountMismatch { found: 1, .. })
        ));
        assert!(matches!(
            Gbm::fit(&[], &[], &config),
            Err(ModelError::EmptyData(_))
        ));
        let infinite = vec![vec![1.0], vec![f64::INFINITY]];
        assert!(matches!(
            Gbm::fit(&infinite, &[true, false], &config),
            Err(ModelError::NonFinite {
                row: 1,
                column: 0,
                ..
            })
        ));
        for bad in [
            GbmConfig {
                monotonic: vec![1, 0],
                ..GbmConfig::default()
            },
            GbmConfig {
                monotonic: vec![2],
                ..GbmConfig::default()
            },
            GbmConfig {
                max_bins: 256,
                ..GbmConfig::default()
            },
            GbmConfig {
                learning_rate: 0.0,
                ..GbmConfig::default()
            },
            GbmConfig {
                validation_fraction: 1.0,
                ..GbmConfig::default()
            },
            GbmConfig {
                subsample: 0.0,
                ..GbmConfig::default()
            },
            GbmConfig {
                colsample: 1.5,
                ..GbmConfig::default()
            },
        ] {
            assert!(matches!(
                Gbm::fit(&x, &[true, false], &bad),
                Err(ModelError::InvalidConfig { .. })
            ));
        }
    }
}
