//! Fitting inside the training rows: the inner folds, the choice among candidate
//! configurations by their held-out log-loss (and, for the GBM, of the number of trees), and
//! the cross-fitted scores the calibration learns from.

use std::collections::BTreeMap;

use ndarray::Array2;
use rayon::prelude::*;

use super::{encode, line_up, values_at, Encoding, FeatureInfo, FitOptions, Inner};
use crate::evaluation::stratified_kfold;
use crate::gbm::{Gbm, GbmConfig};
use crate::linear::softplus;
use crate::matrix::from_rows;
use crate::scorecard::{Scorecard, ScorecardConfig};
use crate::tabular::{ColumnData, Table};
use crate::ModelError;

/// Folds of the cross-fitting inside the training rows (tuning and calibration).
const INNER_FOLDS: usize = 3;
/// Mixed into the seed for the inner folds, so they differ from outer folds with that seed.
const INNER_SEED_SALT: u64 = 0x5eed_1f01d5;

/// What a fit of one kind produced.
pub(super) struct Fitted {
    pub(super) model: Inner,
    /// The GBM configuration of the final fit.
    pub(super) gbm_config: Option<GbmConfig>,
    /// Raw scores of the training rows by models that did not see them, when inner folds
    /// ran (for tuning or for calibration).
    pub(super) cross_fitted: Option<Vec<f64>>,
}

pub(super) type Folds = [(Vec<usize>, Vec<usize>)];

/// The scorecard: candidates chosen among by the inner folds when tuning, the inner folds
/// run also when the calibration needs cross-fitted scores.
pub(super) fn fit_scorecard_model(
    table: &Table,
    y: &[bool],
    features: &[FeatureInfo],
    options: &FitOptions,
    folds: Option<&Folds>,
    calibrate: bool,
) -> Result<Fitted, ModelError> {
    let candidates = match folds {
        Some(_) if options.tune_scorecard => scorecard_candidates(&options.scorecard),
        _ => vec![options.scorecard.clone()],
    };
    let fit = |config: &ScorecardConfig, t: &Table, labels: &[bool]| {
        fit_scorecard(t, labels, features, config)
    };
    let (chosen, cross_fitted) = match folds {
        Some(folds) if candidates.len() > 1 || calibrate => {
            let (chosen, scores) = select_by_inner_cv(table, y, features, folds, &candidates, fit)?;
            (chosen, Some(scores))
        }
        _ => (0, None),
    };
    Ok(Fitted {
        model: fit(&candidates[chosen], table, y)?,
        gbm_config: None,
        cross_fitted,
    })
}

/// The GBM: Sextant's candidates tuned by the inner folds, or the caller's configuration
/// (cross-fitted only when the calibration needs it).
pub(super) fn fit_gbm_model(
    table: &Table,
    y: &[bool],
    features: &[FeatureInfo],
    options: &FitOptions,
    folds: Option<&Folds>,
    calibrate: bool,
) -> Result<Fitted, ModelError> {
    let (config, cross_fitted) = match (&options.gbm, folds) {
        (None, Some(folds)) => {
            let (config, scores) = tune_gbm(table, y, features, folds, options.seed)?;
            (config, Some(scores))
        }
        (None, None) => (fallback_gbm_config(options.seed), None),
        (Some(given), folds) => {
            let config = GbmConfig {
                seed: options.seed,
                ..given.clone()
            };
            let cross_fitted = match folds {
                Some(folds) if calibrate => {
                    let fit = |config: &GbmConfig, t: &Table, labels: &[bool]| {
                        fit_gbm(t, labels, features, config)
                    };
                    let candidates = std::slice::from_ref(&config);
                    Some(select_by_inner_cv(table, y, features, folds, candidates, fit)?.1)
                }
                _ => None,
            };
            (config, cross_fitted)
        }
    };
    Ok(Fitted {
        model: fit_gbm(table, y, features, &config)?,
        gbm_config: Some(config),
        cross_fitted,
    })
}

/// The inner folds of a training set, or `None` when a class has too few rows for them.
pub(super) fn inner_folds(y: &[bool], seed: u64) -> Option<Vec<(Vec<usize>, Vec<usize>)>> {
    let positives = y.iter().filter(|&&v| v).count();
    // Two of each class per fold, so every inner training set still holds both classes.
    let enough = positives.min(y.len() - positives) >= 2 * INNER_FOLDS;
    enough.then(|| stratified_kfold(y, INNER_FOLDS, seed ^ INNER_SEED_SALT))
}

fn fit_scorecard(
    table: &Table,
    y: &[bool],
    features: &[FeatureInfo],
    config: &ScorecardConfig,
) -> Result<Inner, ModelError> {
    let card = Scorecard::fit(table, y, config)?;
    let card_features = card
        .features()
        .iter()
        .map(|card_feature| {
            features
                .iter()
                .position(|f| f.name == card_feature.feature)
                .expect("the scorecard bins the table's own columns")
        })
        .collect();
    Ok(Inner::Scorecard {
        card,
        card_features,
    })
}

/// Encodes the table for the GBM with encodings fitted on these rows.
fn gbm_rows(
    table: &Table,
    y: &[bool],
    features: &[FeatureInfo],
) -> Result<(Vec<Encoding>, Array2<f64>), ModelError> {
    let encoding: Vec<Encoding> = table
        .columns
        .iter()
        .map(|column| match &column.data {
            ColumnData::Numeric(_) => Encoding::Numeric,
            ColumnData::Categorical(values) => Encoding::Ordinal(ordinal_codes(values, y)),
        })
        .collect();
    let x = encode_table(&encoding, features, table)?;
    Ok((encoding, x))
}

fn encode_table(
    encoding: &[Encoding],
    features: &[FeatureInfo],
    table: &Table,
) -> Result<Array2<f64>, ModelError> {
    let columns = line_up(features, table)?;
    let rows = (0..table.n_rows())
        .map(|row| Ok(encode(encoding, &values_at(features, &columns, row)?)))
        .collect::<Result<Vec<_>, ModelError>>()?;
    from_rows(&rows)
}

/// Categories ranked by smoothed training bad rate (ties by name), coded 0, 1, 2, ...
fn ordinal_codes(values: &[Option<String>], y: &[bool]) -> BTreeMap<String, f64> {
    let mut tallies: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for (value, &bad) in values.iter().zip(y) {
        if let Some(value) = value {
            let tally = tallies.entry(value.as_str()).or_default();
            tally.0 += f64::from(u8::from(bad));
            tally.1 += 1.0;
        }
    }
    let mut ranked: Vec<(&str, f64)> = tallies
        .iter()
        .map(|(&name, &(bads, rows))| (name, (bads + 0.5) / (rows + 1.0)))
        .collect();
    ranked.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(b.0)));
    ranked
        .into_iter()
        .enumerate()
        .map(|(rank, (name, _))| (name.to_string(), rank as f64))
        .collect()
}

fn fit_gbm(
    table: &Table,
    y: &[bool],
    features: &[FeatureInfo],
    config: &GbmConfig,
) -> Result<Inner, ModelError> {
    let (encoding, x) = gbm_rows(table, y, features)?;
    let gbm = Gbm::fit(x.view(), y, config)?;
    Ok(Inner::Gbm { gbm, encoding })
}

/// Fits every candidate on each inner fold's training rows and scores its held-out rows;
/// returns the candidate of lowest mean held-out log-loss (the first on ties) and its
/// cross-fitted raw scores. A candidate that fails to fit is passed over; when all fail, the
/// first failure is the error.
fn select_by_inner_cv<C: Sync>(
    table: &Table,
    y: &[bool],
    features: &[FeatureInfo],
    folds: &Folds,
    candidates: &[C],
    fit: impl Fn(&C, &Table, &[bool]) -> Result<Inner, ModelError> + Sync,
) -> Result<(usize, Vec<f64>), ModelError> {
    let inner: Vec<(Table, Vec<bool>, Table)> = folds
        .iter()
        .map(|(train, test)| {
            let labels = train.iter().map(|&i| y[i]).collect();
            (table.select_rows(train), labels, table.select_rows(test))
        })
        .collect();
    let jobs: Vec<(usize, usize)> = (0..candidates.len())
        .flat_map(|c| (0..folds.len()).map(move |f| (c, f)))
        .collect();
    let scored: Vec<Result<Vec<f64>, ModelError>> = jobs
        .par_iter()
        .map(|&(c, f)| {
            let (train, labels, test) = &inner[f];
            fit(&candidates[c], train, labels)?.raw_table(features, test)
        })
        .collect();
    let mut scored = scored.into_iter();
    let mut best: Option<(f64, usize, Vec<f64>)> = None;
    let mut first_error = None;
    for c in 0..candidates.len() {
        let mut raw = vec![0.0; y.len()];
        let mut failed = None;
        for (_, test) in folds {
            match scored.next().expect("one result per job") {
                Ok(scores) => test.iter().zip(scores).for_each(|(&i, z)| raw[i] = z),
                Err(error) => failed = failed.or(Some(error)),
            }
        }
        if let Some(error) = failed {
            first_error = first_error.or(Some(error));
            continue;
        }
        let loss = mean_log_loss(&raw, y);
        if best.as_ref().is_none_or(|(lowest, _, _)| loss < *lowest) {
            best = Some((loss, c, raw));
        }
    }
    match (best, first_error) {
        (Some((_, chosen, raw)), _) => Ok((chosen, raw)),
        (None, Some(error)) => Err(error),
        (None, None) => Err(ModelError::EmptyData("select a candidate")),
    }
}

fn mean_log_loss(raw: &[f64], y: &[bool]) -> f64 {
    raw.iter()
        .zip(y)
        .map(|(&z, &label)| softplus(z) - if label { z } else { 0.0 })
        .sum::<f64>()
        / raw.len().max(1) as f64
}

/// The scorecard candidates: the given configuration with its feature selection
/// (`binning.min_iv` 0, 0.01 or 0.02) and its smallest bin (`binning.min_bin_fraction` 3%
/// or 5%) left to the inner folds. Weak features and fine bins can help or hurt depending
/// on the rows; the held-out loss says which.
pub fn scorecard_candidates(base: &ScorecardConfig) -> Vec<ScorecardConfig> {
    let mut candidates = Vec::new();
    for min_iv in [0.0, 0.01, 0.02] {
        for min_bin_fraction in [0.03, 0.05] {
            let mut config = base.clone();
            config.binning.min_iv = min_iv;
            config.binning.min_bin_fraction = min_bin_fraction;
            candidates.push(config);
        }
    }
    candidates
}

/// Sextant's GBM candidates for credit data: slow learning (0.05), an L2 penalty of 1 and
/// 20 rows per leaf against the noise of small credit files; trees of 4 leaves (nearly
/// additive) or 16 (modest interactions); each tree splitting on all features or on a
/// random half of them (as XGBoost's `colsample_bytree`, which decorrelates the trees when
/// a few features dominate). The number of trees is chosen by the held-out loss, up to
/// `max_iter`.
pub fn gbm_candidates(seed: u64) -> Vec<GbmConfig> {
    let mut candidates = Vec::new();
    for max_leaf_nodes in [4, 16] {
        for colsample in [0.5, 1.0] {
            candidates.push(GbmConfig {
                max_iter: 1000,
                learning_rate: 0.05,
                max_leaf_nodes,
                min_samples_leaf: 20,
                l2_regularization: 1.0,
                n_iter_no_change: 30,
                colsample,
                seed,
                ..GbmConfig::default()
            });
        }
    }
    candidates
}

/// The configuration used when a class is too small for inner folds: 4-leaf trees on all
/// features, a fixed, short run.
fn fallback_gbm_config(seed: u64) -> GbmConfig {
    GbmConfig {
        max_iter: 100,
        early_stopping: Some(false),
        colsample: 1.0,
        ..gbm_candidates(seed)[0].clone()
    }
}

/// Picks a candidate and its number of trees by the inner folds' held-out log-loss; returns
/// the chosen configuration (early stopping off, `max_iter` the chosen count) and the
/// cross-fitted raw scores of that choice.
fn tune_gbm(
    table: &Table,
    y: &[bool],
    features: &[FeatureInfo],
    folds: &Folds,
    seed: u64,
) -> Result<(GbmConfig, Vec<f64>), ModelError> {
    struct Prepared {
        x: Array2<f64>,
        y: Vec<bool>,
        test_x: Array2<f64>,
        test_y: Vec<bool>,
    }
    let prepared = folds
        .par_iter()
        .map(|(train, test)| {
            let train_y: Vec<bool> = train.iter().map(|&i| y[i]).collect();
            let (encoding, x) = gbm_rows(&table.select_rows(train), &train_y, features)?;
            let test_x = encode_table(&encoding, features, &table.select_rows(test))?;
            Ok(Prepared {
                x,
                y: train_y,
                test_x,
                test_y: test.iter().map(|&i| y[i]).collect(),
            })
        })
        .collect::<Result<Vec<_>, ModelError>>()?;
    let candidates = gbm_candidates(seed);
    let jobs: Vec<(usize, usize)> = (0..candidates.len())
        .flat_map(|c| (0..folds.len()).map(move |f| (c, f)))
        .collect();
    let fitted = jobs
        .par_iter()
        .map(|&(c, f)| {
            let p = &prepared[f];
            Gbm::fit_with_validation(p.x.view(), &p.y, p.test_x.view(), &p.test_y, &candidates[c])
        })
        .collect::<Result<Vec<_>, ModelError>>()?;
    // For each candidate, the fold-mean held-out loss after each number of trees (a fold
    // that stopped early keeps its last loss) and its minimum.
    let mut best: Option<(f64, usize, usize)> = None;
    for (c, models) in fitted.chunks(folds.len()).enumerate() {
        let longest = models.iter().map(|m| m.validation_loss().len()).max();
        for trees in 1..longest.unwrap_or(0) {
            let loss = models
                .iter()
                .map(|m| {
                    let curve = m.validation_loss();
                    curve[trees.min(curve.len() - 1)]
                })
                .sum::<f64>()
                / models.len() as f64;
            if best.is_none_or(|(lowest, _, _)| loss < lowest) {
                best = Some((loss, c, trees));
            }
        }
    }
    let (_, chosen, trees) = best.expect("every candidate fits at least one tree");
    let mut raw = vec![0.0; y.len()];
    for (f, (_, test)) in folds.iter().enumerate() {
        let mut model = fitted[chosen * folds.len() + f].clone();
        model.truncate(trees);
        for (&i, row) in test.iter().zip(prepared[f].test_x.rows()) {
            raw[i] = model.raw_score(
                row.as_slice()
                    .expect("rows of an owned matrix are contiguous"),
            );
        }
    }
    let config = GbmConfig {
        max_iter: trees,
        early_stopping: Some(false),
        ..candidates[chosen].clone()
    };
    Ok((config, raw))
}
