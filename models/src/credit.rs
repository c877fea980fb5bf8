//! Credit models as one artifact: the feature encoding, the model (a weight-of-evidence
//! scorecard or gradient-boosted trees), the probability calibration and the metadata, fitted
//! from a [`Table`] and saved as one JSON file.
//!
//! - **Fit.** [`CreditModel::fit`] learns everything from the rows it is given and nothing
//!   else, so [`cross_validate`] can call it once per fold without leaking the test rows into
//!   encodings, bins, tuning or calibration.
//! - **Tuning inside the training rows.** With `FitOptions::gbm` left `None`, four
//!   regularised GBM configurations ([`gbm_candidates`]: learning rate 0.05, L2 1, 20 rows
//!   per leaf, 4 or 16 leaves, all features or half of them per tree) are scored by 3-fold
//!   cross-validation of the training rows: the held-out log-loss after every tree, averaged
//!   over the folds, picks the configuration and its number of trees, and the final model is
//!   refitted on all training rows with them. The scorecard likewise lets the inner folds
//!   pick its feature selection and smallest bin ([`scorecard_candidates`]) unless
//!   `FitOptions::tune_scorecard` is off. No figure of the caller's test rows is involved.
//! - **Calibration.** Platt scaling (or isotonic regression) is fitted on cross-fitted raw
//!   scores of the training rows (each scored by a model that did not see it, as
//!   scikit-learn's `CalibratedClassifierCV(ensemble=False)`); for the tuned GBM these are the
//!   inner folds' scores of the chosen configuration. `Calibration::Auto` calibrates the GBM
//!   with Platt scaling and leaves the scorecard, a logistic model already, as it is.
//! - **Categories for the GBM** become ordinal codes ranked by their training bad rate;
//!   unseen and missing categories are NaN, which the trees route like any missing value.
//! - **Integrity.** `model_version` is `<kind>-` and 12 hex digits of the SHA-256 of the
//!   canonical JSON of everything that affects predictions; [`CreditModel::from_json`]
//!   recomputes it, so an edited or damaged file is refused.
//!
//! Serialized state holds no hash maps: the same data, options and seed give byte-identical
//! JSON.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use sextant_hash::sha256_hex;

mod calibration;
mod tuning;

use calibration::{fit_isotonic, fit_platt, Calibrator};
use tuning::{fit_gbm_model, fit_scorecard_model, inner_folds};
pub use tuning::{gbm_candidates, scorecard_candidates};

use crate::evaluation::{
    brier_score, calibration_table, ks_statistic, mean_sd, roc_auc, stratified_kfold,
    CalibrationBin,
};
use crate::gbm::{Gbm, GbmConfig};
use crate::scorecard::{Scorecard, ScorecardConfig};
use crate::tabular::{Column, ColumnData, Table};
use crate::ModelError;

/// Version of the JSON layout; a file of another version is refused, not guessed at.
pub const FORMAT_VERSION: u32 = 1;
/// Most features a credit model takes (the GBM's own limit).
pub const MAX_FEATURES: usize = crate::gbm::MAX_FEATURES;
/// Most cross-validation folds.
pub const MAX_FOLDS: usize = 100;
/// Largest model file [`CreditModel::load`] reads.
pub const MAX_MODEL_BYTES: u64 = 256 << 20;
/// Groups of the calibration table of [`cross_validate`].
const CALIBRATION_GROUPS: usize = 10;

/// Which model sits inside a [`CreditModel`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CreditModelKind {
    Scorecard,
    Gbm,
}

impl CreditModelKind {
    pub fn name(self) -> &'static str {
        match self {
            CreditModelKind::Scorecard => "scorecard",
            CreditModelKind::Gbm => "gbm",
        }
    }
}

/// One input value. In JSON: a number, a string or `null`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Cell {
    /// A number; NaN counts as missing.
    Number(f64),
    Category(String),
    Missing,
}

/// How predicted probabilities are calibrated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Calibration {
    /// Platt scaling for the GBM; none for the scorecard (a logistic model already).
    Auto,
    /// A logistic curve on the raw log-odds: keeps the ranking, fixes over- or
    /// under-confidence.
    Platt,
    /// A monotone step-wise map (pool adjacent violators), interpolated linearly; needs more
    /// rows than Platt scaling and can tie scores.
    Isotonic,
    None,
}

/// Everything that decides how a model is fitted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitOptions {
    pub kind: CreditModelKind,
    /// Seeds the inner folds and the GBM; nothing else is random.
    pub seed: u64,
    pub scorecard: ScorecardConfig,
    /// `None`: Sextant's defaults, chosen per fit by inner cross-validation (see the module
    /// documentation). `Some`: exactly this configuration (its `seed` is replaced by
    /// `FitOptions::seed`).
    pub gbm: Option<GbmConfig>,
    pub calibration: Calibration,
    /// Let inner cross-validation choose the scorecard's `binning.min_iv` and
    /// `binning.min_bin_fraction` (see [`scorecard_candidates`]); `false` fits `scorecard`
    /// exactly as given.
    pub tune_scorecard: bool,
}

impl FitOptions {
    pub fn new(kind: CreditModelKind, seed: u64) -> Self {
        FitOptions {
            kind,
            seed,
            scorecard: ScorecardConfig::default(),
            gbm: None,
            calibration: Calibration::Auto,
            tune_scorecard: true,
        }
    }
}

/// Where the training data came from, as the caller knows it (the crate has no clock and
/// reads no data files).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingInfo {
    pub source: String,
    pub data_sha256: String,
    /// RFC 3339.
    pub trained_at: String,
    pub target: String,
    pub positive_label: String,
}

/// Cross-validated figures stored with a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CvMetrics {
    pub folds: usize,
    pub seed: u64,
    pub auc_mean: f64,
    pub auc_sd: f64,
    pub ks_mean: f64,
    pub brier_mean: f64,
}

/// One input feature of a model, in the order [`CreditModel::explain`] expects values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureInfo {
    pub name: String,
    pub categorical: bool,
    /// Mean absolute contribution to the log-odds over the training rows (0 for a feature
    /// the model does not use).
    pub importance: f64,
}

/// What a model file says about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreditModelMeta {
    pub format_version: u32,
    /// `<kind>-<12 hex digits>` of the SHA-256 of everything that affects predictions.
    pub model_version: String,
    pub kind: CreditModelKind,
    pub features: Vec<FeatureInfo>,
    pub training: TrainingInfo,
    pub rows: usize,
    pub positives: usize,
    pub seed: u64,
    /// `platt`, `isotonic` or `none`.
    pub calibration: String,
    /// The GBM configuration actually fitted (after tuning), for the record.
    pub gbm_config: Option<GbmConfig>,
    pub metrics: Option<CvMetrics>,
    pub sextant_version: String,
}

/// What one feature did to one prediction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureContribution {
    pub feature: String,
    pub value: Cell,
    /// Log-odds of default this feature adds to the baseline (scaled by the calibration's
    /// slope where the calibration is affine); > 0 pushed towards default.
    pub contribution: f64,
}

/// One prediction explained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// Calibrated probability of default.
    pub pd: f64,
    /// `baseline` plus the contributions. With Platt or no calibration this is exactly the
    /// log-odds of `pd`; isotonic calibration is not affine, so there it is the model's
    /// uncalibrated log-odds.
    pub log_odds: f64,
    /// The log-odds of a row that every feature leaves at the model's reference.
    pub baseline: f64,
    /// Scorecard points (higher is safer); `None` for the GBM.
    pub points: Option<f64>,
    /// One per feature, most adverse first, ties by name.
    pub contributions: Vec<FeatureContribution>,
}

/// Out-of-fold quality of a model configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CvReport {
    pub folds: usize,
    pub seed: u64,
    pub fold_auc: Vec<f64>,
    pub auc_mean: f64,
    pub auc_sd: f64,
    pub ks_mean: f64,
    pub brier_mean: f64,
    /// Out-of-fold predictions in deciles of predicted probability.
    pub calibration: Vec<CalibrationBin>,
    /// Every row's prediction by the model that did not see it.
    pub out_of_fold: Vec<f64>,
    pub train_seconds_mean: f64,
}

impl CvReport {
    /// The summary stored in a model's metadata.
    pub fn metrics(&self) -> CvMetrics {
        CvMetrics {
            folds: self.folds,
            seed: self.seed,
            auc_mean: self.auc_mean,
            auc_sd: self.auc_sd,
            ks_mean: self.ks_mean,
            brier_mean: self.brier_mean,
        }
    }
}

/// A fitted credit model: metadata, encoding, model and calibration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreditModel {
    meta: CreditModelMeta,
    model: Inner,
    calibrator: Calibrator,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Inner {
    Scorecard {
        card: Scorecard,
        /// Feature index of each of the card's features, in card order.
        card_features: Vec<usize>,
    },
    Gbm {
        gbm: Gbm,
        /// One per feature.
        encoding: Vec<Encoding>,
    },
}

/// How a feature becomes a number for the GBM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Encoding {
    Numeric,
    /// Category -> rank by training bad rate; others NaN.
    Ordinal(BTreeMap<String, f64>),
}

/// One feature's value, read the way the feature's kind needs it.
#[derive(Debug, Clone)]
enum Value<'a> {
    /// NaN is missing.
    Number(f64),
    Category(Option<Cow<'a, str>>),
}

impl CreditModel {
    /// Fits a model on all rows of `table` (every column a feature; `y` true for default).
    ///
    /// Errors on no rows or columns, too many columns, labels of another length or of a
    /// single class, and configurations the scorecard or the GBM refuse.
    pub fn fit(
        table: &Table,
        y: &[bool],
        options: &FitOptions,
        info: TrainingInfo,
    ) -> Result<CreditModel, ModelError> {
        validate(table, y)?;
        let features: Vec<FeatureInfo> = table
            .columns
            .iter()
            .map(|column| FeatureInfo {
                name: column.name.clone(),
                categorical: matches!(column.data, ColumnData::Categorical(_)),
                importance: 0.0,
            })
            .collect();
        let calibration = match (options.calibration, options.kind) {
            (Calibration::Auto, CreditModelKind::Gbm) => Calibration::Platt,
            (Calibration::Auto, CreditModelKind::Scorecard) => Calibration::None,
            (chosen, _) => chosen,
        };
        let folds = inner_folds(y, options.seed);
        let calibrate = matches!(calibration, Calibration::Platt | Calibration::Isotonic);
        let fitted = match options.kind {
            CreditModelKind::Scorecard => {
                fit_scorecard_model(table, y, &features, options, folds.as_deref(), calibrate)?
            }
            CreditModelKind::Gbm => {
                fit_gbm_model(table, y, &features, options, folds.as_deref(), calibrate)?
            }
        };
        // Too few rows of a class for inner folds: no calibration rather than one fitted on
        // the rows it calibrates.
        let calibrator = match (calibration, fitted.cross_fitted) {
            (Calibration::Platt, Some(scores)) => fit_platt(&scores, y)?,
            (Calibration::Isotonic, Some(scores)) => fit_isotonic(&scores, y),
            _ => Calibrator::None,
        };
        let mut model = CreditModel {
            meta: CreditModelMeta {
                format_version: FORMAT_VERSION,
                model_version: String::new(),
                kind: options.kind,
                features,
                training: info,
                rows: y.len(),
                positives: y.iter().filter(|&&v| v).count(),
                seed: options.seed,
                calibration: calibrator.name().to_string(),
                gbm_config: fitted.gbm_config,
                metrics: None,
                sextant_version: env!("CARGO_PKG_VERSION").to_string(),
            },
            model: fitted.model,
            calibrator,
        };
        model.meta.model_version = model.compute_version();
        model.set_importance(table)?;
        Ok(model)
    }

    pub fn meta(&self) -> &CreditModelMeta {
        &self.meta
    }

    /// Stores cross-validated figures; the model, and so `model_version`, is unchanged.
    pub fn set_metrics(&mut self, metrics: CvMetrics) {
        self.meta.metrics = Some(metrics);
    }

    pub fn features(&self) -> &[FeatureInfo] {
        &self.meta.features
    }

    /// Calibrated probability of default of every row. Columns are found by name (others
    /// are ignored); a column read as the other kind is converted (text parsed as a number,
    /// a number taken as its text).
    ///
    /// Errors name a feature with no column, or a numeric feature's text that is no number.
    pub fn predict_table(&self, table: &Table) -> Result<Vec<f64>, ModelError> {
        let raw = self.model.raw_table(&self.meta.features, table)?;
        Ok(raw.into_iter().map(|z| self.calibrator.apply(z)).collect())
    }

    /// Row `row` of `table` as cells in [`CreditModel::features`] order, ready for
    /// [`CreditModel::explain`]; columns are found by name.
    ///
    /// # Panics
    /// If `row` is out of range.
    pub fn cells(&self, table: &Table, row: usize) -> Result<Vec<Cell>, ModelError> {
        let columns = line_up(&self.meta.features, table)?;
        Ok(columns
            .iter()
            .map(|column| match &column.data {
                ColumnData::Numeric(values) if values[row].is_nan() => Cell::Missing,
                ColumnData::Numeric(values) => Cell::Number(values[row]),
                ColumnData::Categorical(values) => {
                    values[row].clone().map_or(Cell::Missing, Cell::Category)
                }
            })
            .collect())
    }

    /// Explains one row, given in [`CreditModel::features`] order.
    ///
    /// Errors on a row of another length, text in a numeric feature, or an infinite number.
    pub fn explain(&self, row: &[Cell]) -> Result<Explanation, ModelError> {
        let features = &self.meta.features;
        if row.len() != features.len() {
            return Err(ModelError::ShapeMismatch {
                what: "explained",
                row: 0,
                expected: features.len(),
                found: row.len(),
            });
        }
        let values = features
            .iter()
            .zip(row)
            .map(|(feature, cell)| value_of_cell(feature, cell))
            .collect::<Result<Vec<_>, _>>()?;
        let (bias, raw_contributions) = self.model.contributions(&values);
        let raw: f64 = bias + raw_contributions.iter().sum::<f64>();
        let pd = self.calibrator.apply(raw);
        let (slope, intercept) = self.calibrator.affine().unwrap_or((1.0, 0.0));
        let mut contributions: Vec<FeatureContribution> = features
            .iter()
            .zip(row)
            .zip(&raw_contributions)
            .map(|((feature, cell), &c)| FeatureContribution {
                feature: feature.name.clone(),
                value: cell.clone(),
                contribution: slope * c,
            })
            .collect();
        contributions.sort_by(|a, b| {
            b.contribution
                .total_cmp(&a.contribution)
                .then_with(|| a.feature.cmp(&b.feature))
        });
        let baseline = slope * bias + intercept;
        Ok(Explanation {
            pd,
            log_odds: baseline + contributions.iter().map(|c| c.contribution).sum::<f64>(),
            baseline,
            points: self.model.points(&values),
            contributions,
        })
    }

    /// The model as JSON: deterministic, metadata first.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a credit model holds only finite numbers and strings")
    }

    /// Reads a model written by [`CreditModel::to_json`]; refuses another format version,
    /// a structure that does not hold together, and content that no longer matches its
    /// `model_version`.
    pub fn from_json(bytes: &[u8]) -> Result<CreditModel, ModelError> {
        let invalid = |reason: String| ModelError::InvalidModel(reason);
        #[derive(Deserialize)]
        struct Header {
            meta: HeaderMeta,
        }
        #[derive(Deserialize)]
        struct HeaderMeta {
            format_version: u32,
        }
        let header: Header = serde_json::from_slice(bytes)
            .map_err(|e| invalid(format!("not a credit model: {e}")))?;
        if header.meta.format_version != FORMAT_VERSION {
            return Err(invalid(format!(
                "format version {} (this build reads {FORMAT_VERSION})",
                header.meta.format_version
            )));
        }
        let model: CreditModel =
            serde_json::from_slice(bytes).map_err(|e| invalid(e.to_string()))?;
        model.check_structure().map_err(invalid)?;
        let version = model.compute_version();
        if version != model.meta.model_version {
            return Err(invalid(format!(
                "content does not match model_version {} (it hashes to {version})",
                model.meta.model_version
            )));
        }
        Ok(model)
    }

    /// Writes the model to a temporary file beside `path`, then renames it into place, so
    /// a reader never sees half a file.
    pub fn save(&self, path: &Path) -> Result<(), ModelError> {
        write_atomically(path, &self.to_json())
    }

    /// Reads and checks a model file (see [`CreditModel::from_json`]).
    pub fn load(path: &Path) -> Result<CreditModel, ModelError> {
        read_model_file(path, CreditModel::from_json)
    }

    /// `<kind>-` and 12 hex digits of the SHA-256 of the canonical JSON of what predicts.
    fn compute_version(&self) -> String {
        #[derive(Serialize)]
        struct Predictive<'a> {
            format_version: u32,
            kind: CreditModelKind,
            features: Vec<(&'a str, bool)>,
            model: &'a Inner,
            calibrator: &'a Calibrator,
        }
        let predictive = Predictive {
            format_version: self.meta.format_version,
            kind: self.meta.kind,
            features: self
                .meta
                .features
                .iter()
                .map(|f| (f.name.as_str(), f.categorical))
                .collect(),
            model: &self.model,
            calibrator: &self.calibrator,
        };
        let canonical = serde_json::to_vec(&predictive).expect("finite numbers and strings");
        format!(
            "{}-{}",
            self.meta.kind.name(),
            &sha256_hex(&canonical)[..12]
        )
    }

    /// The checks a deserialized model must pass before it may predict (indices in range,
    /// widths that agree); the reason when it fails.
    fn check_structure(&self) -> Result<(), String> {
        let width = self.meta.features.len();
        let kind = match &self.model {
            Inner::Scorecard {
                card,
                card_features,
            } => {
                card.check()?;
                if card_features.len() != card.features().len() {
                    return Err("scorecard features and their indices differ in count".into());
                }
                for (card_feature, &index) in card.features().iter().zip(card_features) {
                    if self.meta.features.get(index).map(|f| &f.name) != Some(&card_feature.feature)
                    {
                        return Err(format!(
                            "scorecard feature {:?} is not feature {index}",
                            card_feature.feature
                        ));
                    }
                }
                CreditModelKind::Scorecard
            }
            Inner::Gbm { gbm, encoding } => {
                gbm.check()?;
                if gbm.n_features() != width || encoding.len() != width {
                    return Err(format!(
                        "the GBM takes {} features and encodes {}, the metadata lists {width}",
                        gbm.n_features(),
                        encoding.len()
                    ));
                }
                let kinds_agree = encoding
                    .iter()
                    .zip(&self.meta.features)
                    .all(|(e, f)| matches!(e, Encoding::Ordinal(_)) == f.categorical);
                if !kinds_agree {
                    return Err("feature kinds and encodings disagree".into());
                }
                CreditModelKind::Gbm
            }
        };
        if kind != self.meta.kind {
            return Err("metadata kind and model differ".into());
        }
        if let Calibrator::Platt { slope, intercept } = &self.calibrator {
            if !(slope.is_finite() && intercept.is_finite()) {
                return Err("Platt calibration is not finite".into());
            }
        }
        if let Calibrator::Isotonic { raw, probability } = &self.calibrator {
            let ordered =
                raw.windows(2).all(|w| w[0] < w[1]) && probability.windows(2).all(|w| w[0] <= w[1]);
            if raw.is_empty() || raw.len() != probability.len() || !ordered {
                return Err("isotonic knots are not increasing pairs".into());
            }
        }
        Ok(())
    }

    /// Mean absolute (calibration-scaled) contribution of each feature over `table`.
    fn set_importance(&mut self, table: &Table) -> Result<(), ModelError> {
        let columns = line_up(&self.meta.features, table)?;
        let (slope, _) = self.calibrator.affine().unwrap_or((1.0, 0.0));
        let mut totals = vec![0.0; self.meta.features.len()];
        for row in 0..table.n_rows() {
            let values = values_at(&self.meta.features, &columns, row)?;
            let (_, contributions) = self.model.contributions(&values);
            for (total, c) in totals.iter_mut().zip(contributions) {
                *total += (slope * c).abs();
            }
        }
        let rows = table.n_rows().max(1) as f64;
        for (feature, total) in self.meta.features.iter_mut().zip(totals) {
            feature.importance = total / rows;
        }
        Ok(())
    }
}

impl Inner {
    /// Raw log-odds of default of every row of `table`.
    fn raw_table(&self, features: &[FeatureInfo], table: &Table) -> Result<Vec<f64>, ModelError> {
        let columns = line_up(features, table)?;
        (0..table.n_rows())
            .map(|row| Ok(self.raw(&values_at(features, &columns, row)?)))
            .collect()
    }

    fn raw(&self, values: &[Value]) -> f64 {
        match self {
            Inner::Scorecard {
                card,
                card_features,
            } => {
                card.intercept()
                    + card
                        .features()
                        .iter()
                        .zip(card_features)
                        .map(|(feature, &j)| {
                            feature.coefficient * feature.bins[bin_of(feature, &values[j])].woe
                        })
                        .sum::<f64>()
            }
            Inner::Gbm { gbm, encoding } => gbm.raw_score(&encode(encoding, values)),
        }
    }

    /// `(bias, one contribution per feature)`, adding up to [`Inner::raw`].
    fn contributions(&self, values: &[Value]) -> (f64, Vec<f64>) {
        match self {
            Inner::Scorecard {
                card,
                card_features,
            } => {
                let mut contributions = vec![0.0; values.len()];
                for (feature, &j) in card.features().iter().zip(card_features) {
                    contributions[j] =
                        feature.coefficient * feature.bins[bin_of(feature, &values[j])].woe;
                }
                (card.intercept(), contributions)
            }
            Inner::Gbm { gbm, encoding } => gbm.contributions(&encode(encoding, values)),
        }
    }

    /// Scorecard points of the row (the sum of its bins' points).
    fn points(&self, values: &[Value]) -> Option<f64> {
        match self {
            Inner::Scorecard {
                card,
                card_features,
            } => Some(
                card.features()
                    .iter()
                    .zip(card_features)
                    .map(|(feature, &j)| feature.bins[bin_of(feature, &values[j])].points)
                    .sum(),
            ),
            Inner::Gbm { .. } => None,
        }
    }
}

fn bin_of(feature: &crate::scorecard::FeatureCard, value: &Value) -> usize {
    match value {
        Value::Number(v) => feature.rule.bin_of_number(*v),
        Value::Category(text) => feature.rule.bin_of_category(text.as_deref()),
    }
}

fn encode(encoding: &[Encoding], values: &[Value]) -> Vec<f64> {
    encoding
        .iter()
        .zip(values)
        .map(|(encoding, value)| match (encoding, value) {
            (_, Value::Number(v)) => *v,
            (Encoding::Ordinal(codes), Value::Category(Some(text))) => {
                codes.get(text.as_ref()).copied().unwrap_or(f64::NAN)
            }
            (_, Value::Category(_)) => f64::NAN,
        })
        .collect()
}

fn validate(table: &Table, y: &[bool]) -> Result<(), ModelError> {
    if table.columns.is_empty() || table.n_rows() == 0 {
        return Err(ModelError::EmptyData("fit a credit model"));
    }
    if table.columns.len() > MAX_FEATURES {
        return Err(ModelError::TooLarge {
            what: "feature count",
            limit: MAX_FEATURES,
            found: table.columns.len(),
        });
    }
    if y.len() != table.n_rows() {
        return Err(ModelError::RowCountMismatch {
            what: "labels",
            expected: table.n_rows(),
            found: y.len(),
        });
    }
    if y.iter().all(|&v| v) || y.iter().all(|&v| !v) {
        return Err(ModelError::SingleClass);
    }
    Ok(())
}

/// The table's column for each feature, by name.
fn line_up<'t>(features: &[FeatureInfo], table: &'t Table) -> Result<Vec<&'t Column>, ModelError> {
    features
        .iter()
        .map(|feature| {
            table
                .column(&feature.name)
                .ok_or_else(|| ModelError::MissingFeature {
                    feature: feature.name.clone(),
                })
        })
        .collect()
}

fn values_at<'t>(
    features: &[FeatureInfo],
    columns: &[&'t Column],
    row: usize,
) -> Result<Vec<Value<'t>>, ModelError> {
    features
        .iter()
        .zip(columns)
        .map(|(feature, column)| value_at(feature, column, row))
        .collect()
}

/// One cell of a table column, read as its feature needs.
fn value_at<'t>(
    feature: &FeatureInfo,
    column: &'t Column,
    row: usize,
) -> Result<Value<'t>, ModelError> {
    Ok(match (&column.data, feature.categorical) {
        (ColumnData::Numeric(values), false) => Value::Number(values[row]),
        (ColumnData::Numeric(values), true) => Value::Category(
            Some(values[row])
                .filter(|v| !v.is_nan())
                .map(|v| Cow::Owned(v.to_string())),
        ),
        (ColumnData::Categorical(values), true) => {
            Value::Category(values[row].as_deref().map(Cow::Borrowed))
        }
        (ColumnData::Categorical(values), false) => match values[row].as_deref() {
            None => Value::Number(f64::NAN),
            Some(text) => Value::Number(
                text.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| ModelError::BadValue {
                        feature: feature.name.clone(),
                        reason: format!("row {}: {text:?} is not a finite number", row + 1),
                    })?,
            ),
        },
    })
}

fn value_of_cell<'c>(feature: &FeatureInfo, cell: &'c Cell) -> Result<Value<'c>, ModelError> {
    let bad = |reason: String| ModelError::BadValue {
        feature: feature.name.clone(),
        reason,
    };
    match (cell, feature.categorical) {
        (Cell::Number(v), _) if v.is_infinite() => Err(bad(format!("{v} is not finite"))),
        (Cell::Number(v), false) => Ok(Value::Number(*v)),
        (Cell::Number(v), true) if v.is_nan() => Ok(Value::Category(None)),
        (Cell::Number(v), true) => Ok(Value::Category(Some(Cow::Owned(v.to_string())))),
        (Cell::Category(text), false) => Err(bad(format!(
            "{text:?} is text, and this feature is numeric"
        ))),
        (Cell::Category(text), true) => Ok(Value::Category(Some(Cow::Borrowed(text)))),
        (Cell::Missing, false) => Ok(Value::Number(f64::NAN)),
        (Cell::Missing, true) => Ok(Value::Category(None)),
    }
}

/// Stratified `folds`-fold cross-validation: each fold fits [`CreditModel::fit`] on its
/// training rows only and predicts its test rows.
///
/// Errors when `folds` is outside `2..=MAX_FOLDS` or exceeds the rows of the smaller class
/// (a test fold would miss a class and its AUC be undefined), and as [`CreditModel::fit`].
pub fn cross_validate(
    table: &Table,
    y: &[bool],
    options: &FitOptions,
    folds: usize,
    seed: u64,
) -> Result<CvReport, ModelError> {
    let fitted = cross_fit(table, y, options, folds, seed)?;
    let (mut aucs, mut kss, mut briers, mut seconds) = (vec![], vec![], vec![], vec![]);
    for fold in &fitted.folds {
        let test_y: Vec<bool> = fold.test.iter().map(|&i| y[i]).collect();
        aucs.push(roc_auc(&fold.predictions, &test_y));
        kss.push(ks_statistic(&fold.predictions, &test_y));
        briers.push(brier_score(&fold.predictions, &test_y));
        seconds.push(fold.train_seconds);
    }
    let (auc_mean, auc_sd) = mean_sd(&aucs);
    Ok(CvReport {
        folds,
        seed,
        auc_mean,
        auc_sd,
        fold_auc: aucs,
        ks_mean: mean_sd(&kss).0,
        brier_mean: mean_sd(&briers).0,
        calibration: calibration_table(&fitted.out_of_fold, y, CALIBRATION_GROUPS),
        out_of_fold: fitted.out_of_fold,
        train_seconds_mean: mean_sd(&seconds).0,
    })
}

/// One test fold of [`cross_fit`].
pub(crate) struct FoldPredictions {
    /// Row indices, ascending.
    pub(crate) test: Vec<usize>,
    /// Calibrated probabilities of the `test` rows, in that order.
    pub(crate) predictions: Vec<f64>,
    pub(crate) train_seconds: f64,
}

/// What [`cross_fit`] returns: every fold's predictions, and all of them by row.
pub(crate) struct CrossFitted {
    pub(crate) folds: Vec<FoldPredictions>,
    /// Every row's prediction by the model that did not see it.
    pub(crate) out_of_fold: Vec<f64>,
}

/// The fitting half of [`cross_validate`], for any model built on [`CreditModel`]: the
/// folds of [`stratified_kfold`]`(y, folds, seed)`, each fitted on its training rows only;
/// callers compute their own figures from the predictions. Errors as [`cross_validate`].
pub(crate) fn cross_fit(
    table: &Table,
    y: &[bool],
    options: &FitOptions,
    folds: usize,
    seed: u64,
) -> Result<CrossFitted, ModelError> {
    validate(table, y)?;
    let positives = y.iter().filter(|&&v| v).count();
    if !(2..=MAX_FOLDS).contains(&folds) || folds > positives.min(y.len() - positives) {
        return Err(ModelError::InvalidConfig {
            field: "folds",
            reason: "must be in 2..=100 and at most the rows of the smaller class",
        });
    }
    let mut out_of_fold = vec![f64::NAN; y.len()];
    let mut results = Vec::with_capacity(folds);
    for (fold, (train, test)) in stratified_kfold(y, folds, seed).into_iter().enumerate() {
        let train_y: Vec<bool> = train.iter().map(|&i| y[i]).collect();
        let info = TrainingInfo {
            source: format!("cross-validation fold {} of {folds}", fold + 1),
            data_sha256: String::new(),
            trained_at: String::new(),
            target: String::new(),
            positive_label: String::new(),
        };
        let started = Instant::now();
        let model = CreditModel::fit(&table.select_rows(&train), &train_y, options, info)?;
        let train_seconds = started.elapsed().as_secs_f64();
        let predictions = model.predict_table(&table.select_rows(&test))?;
        for (&i, &p) in test.iter().zip(&predictions) {
            out_of_fold[i] = p;
        }
        results.push(FoldPredictions {
            test,
            predictions,
            train_seconds,
        });
    }
    Ok(CrossFitted {
        folds: results,
        out_of_fold,
    })
}

/// Writes `bytes` to a temporary file beside `path`, syncs it, then renames it into place,
/// so a reader never sees half a file; the temporary file is removed on failure. Shared by
/// every JSON model file of the crate.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ModelError> {
    let io = |source| ModelError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file_name = path.file_name().ok_or_else(|| {
        io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a file path",
        ))
    })?;
    let mut temporary_name = std::ffi::OsString::from(".");
    temporary_name.push(file_name);
    temporary_name.push(format!(".{}.tmp", std::process::id()));
    let temporary: PathBuf = path.with_file_name(temporary_name);
    let written = (|| {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written.map_err(io)
}

/// Reads a model file of at most [`MAX_MODEL_BYTES`] and parses it with `parse`; a file that
/// does not parse or check is [`ModelError::Corrupt`], naming the path and the reason.
pub(crate) fn read_model_file<T>(
    path: &Path,
    parse: impl FnOnce(&[u8]) -> Result<T, ModelError>,
) -> Result<T, ModelError> {
    let io = |source| ModelError::Io {
        path: path.to_path_buf(),
        source,
    };
    let length = std::fs::metadata(path).map_err(io)?.len();
    if length > MAX_MODEL_BYTES {
        return Err(ModelError::TooLarge {
            what: "model file in bytes",
            limit: MAX_MODEL_BYTES as usize,
            found: length as usize,
        });
    }
    let bytes = std::fs::read(path).map_err(io)?;
    parse(&bytes).map_err(|error| ModelError::Corrupt {
        path: path.to_path_buf(),
        reason: match error {
            ModelError::InvalidModel(reason) => reason,
            other => other.to_string(),
        },
    })
}

#[cfg(test)]
mod tests;
