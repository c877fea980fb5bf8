//! Campaign response models: who is likely to answer an offer, learned from any table with
//! a binary target (responded or not), for marketing analysts.
//!
//! The problem is the credit model's problem with another target, so a [`ResponseModel`]
//! is a [`CreditModel`] inside a marketing envelope: the same encoding (categories as
//! ordinal codes by training response rate for the trees, weight-of-evidence bins for the
//! logistic model), the same tuning inside the training rows, the same calibration and the
//! same checks on load. What this module adds is the marketing view of quality:
//!
//! - **Kinds.** [`ResponseModelKind::Gbm`] (histogram gradient boosting, tuned per fit by
//!   inner cross-validation, Platt-calibrated) and [`ResponseModelKind::Logistic`] (the
//!   weight-of-evidence logistic model, the baseline).
//! - **Figures.** [`cross_validate`] reports per-fold AUC, top-decile lift and Brier score,
//!   and on the pooled out-of-fold scores the top-decile lift and a lift (gains) table by
//!   decile ([`crate::evaluation::lift_table`]). Every fold fits on its training rows only.
//! - **File.** One JSON file: `{"meta": ..., "model": <the credit model's JSON>}`. The
//!   `model_version` is `response-<kind>-` and 12 hex digits of the SHA-256 of the format
//!   version, the kind and the inner model's content-hash version; [`ResponseModel::from_json`]
//!   checks the inner model (which recomputes its own hash) and then this one, so an edited
//!   file is refused. Saving is atomic, as for credit models.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sextant_hash::sha256_hex;

use crate::credit::{
    cross_fit, read_model_file, write_atomically, Calibration, CreditModel, CreditModelKind,
    FeatureInfo, FitOptions, TrainingInfo,
};
use crate::evaluation::{brier_score, lift_table, mean_sd, roc_auc, top_decile_lift, LiftBin};
use crate::tabular::Table;
use crate::ModelError;

/// Version of the JSON layout; a file of another version is refused, not guessed at.
pub const FORMAT_VERSION: u32 = 1;
/// Groups of the lift table of [`cross_validate`].
pub const LIFT_GROUPS: usize = 10;

/// Which model sits inside a [`ResponseModel`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResponseModelKind {
    /// Histogram gradient-boosted trees (the default).
    Gbm,
    /// Logistic regression on weight-of-evidence bins (the baseline).
    Logistic,
}

impl ResponseModelKind {
    pub fn name(self) -> &'static str {
        match self {
            ResponseModelKind::Gbm => "gbm",
            ResponseModelKind::Logistic => "logistic",
        }
    }

    /// The credit model kind that does the work.
    fn inner(self) -> CreditModelKind {
        match self {
            ResponseModelKind::Gbm => CreditModelKind::Gbm,
            ResponseModelKind::Logistic => CreditModelKind::Scorecard,
        }
    }
}

/// Everything that decides how a response model is fitted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseOptions {
    pub kind: ResponseModelKind,
    /// Seeds the inner folds and the GBM; nothing else is random.
    pub seed: u64,
    /// `Auto`: Platt scaling for the GBM, none for the logistic model.
    pub calibration: Calibration,
}

impl ResponseOptions {
    pub fn new(kind: ResponseModelKind, seed: u64) -> Self {
        ResponseOptions {
            kind,
            seed,
            calibration: Calibration::Auto,
        }
    }

    /// The options of the inner credit model (its defaults for everything else).
    fn fit_options(&self) -> FitOptions {
        FitOptions {
            calibration: self.calibration,
            ..FitOptions::new(self.kind.inner(), self.seed)
        }
    }

    /// `platt`, `isotonic` or `none`: the calibration these options resolve to (what a fit
    /// records, unless a class is too small to calibrate).
    pub fn calibration_method(&self) -> &'static str {
        match (self.calibration, self.kind) {
            (Calibration::Auto, ResponseModelKind::Gbm) | (Calibration::Platt, _) => "platt",
            (Calibration::Auto, ResponseModelKind::Logistic) | (Calibration::None, _) => "none",
            (Calibration::Isotonic, _) => "isotonic",
        }
    }
}

/// One test fold of [`cross_validate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoldFigures {
    /// 1-based.
    pub fold: usize,
    pub rows: usize,
    pub positives: usize,
    pub auc: f64,
    pub top_decile_lift: f64,
    pub brier: f64,
    pub train_seconds: f64,
}

/// Out-of-fold quality of a response model configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseCvReport {
    pub seed: u64,
    pub folds: Vec<FoldFigures>,
    pub auc_mean: f64,
    pub auc_sd: f64,
    /// On the pooled out-of-fold scores.
    pub top_decile_lift: f64,
    pub top_decile_lift_fold_mean: f64,
    pub brier_mean: f64,
    /// Lift table by decile of the pooled out-of-fold scores, highest first.
    pub deciles: Vec<LiftBin>,
    /// Every row's predicted response probability by the model that did not see it.
    pub out_of_fold: Vec<f64>,
}

impl ResponseCvReport {
    /// The summary stored in a model's metadata.
    pub fn metrics(&self) -> ResponseMetrics {
        ResponseMetrics {
            folds: self.folds.len(),
            seed: self.seed,
            auc_mean: self.auc_mean,
            auc_sd: self.auc_sd,
            top_decile_lift: self.top_decile_lift,
            brier_mean: self.brier_mean,
        }
    }
}

/// Cross-validated figures stored with a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseMetrics {
    pub folds: usize,
    pub seed: u64,
    pub auc_mean: f64,
    pub auc_sd: f64,
    pub top_decile_lift: f64,
    pub brier_mean: f64,
}

/// Stratified `folds`-fold cross-validation of a response model: each fold fits on its
/// training rows only (tuning and calibration included) and scores its test rows.
///
/// Errors when `folds` is outside `2..=`[`crate::credit::MAX_FOLDS`] or exceeds the rows of
/// the smaller class, and as [`ResponseModel::fit`].
pub fn cross_validate(
    table: &Table,
    y: &[bool],
    options: &ResponseOptions,
    folds: usize,
    seed: u64,
) -> Result<ResponseCvReport, ModelError> {
    let fitted = cross_fit(table, y, &options.fit_options(), folds, seed)?;
    let figures: Vec<FoldFigures> = fitted
        .folds
        .iter()
        .enumerate()
        .map(|(fold, predicted)| {
            let labels: Vec<bool> = predicted.test.iter().map(|&i| y[i]).collect();
            FoldFigures {
                fold: fold + 1,
                rows: labels.len(),
                positives: labels.iter().filter(|&&l| l).count(),
                auc: roc_auc(&predicted.predictions, &labels),
                top_decile_lift: top_decile_lift(&predicted.predictions, &labels),
                brier: brier_score(&predicted.predictions, &labels),
                train_seconds: predicted.train_seconds,
            }
        })
        .collect();
    let mean =
        |field: fn(&FoldFigures) -> f64| mean_sd(&figures.iter().map(field).collect::<Vec<_>>());
    let (auc_mean, auc_sd) = mean(|f| f.auc);
    Ok(ResponseCvReport {
        seed,
        auc_mean,
        auc_sd,
        top_decile_lift: top_decile_lift(&fitted.out_of_fold, y),
        top_decile_lift_fold_mean: mean(|f| f.top_decile_lift).0,
        brier_mean: mean(|f| f.brier).0,
        deciles: lift_table(&fitted.out_of_fold, y, LIFT_GROUPS),
        out_of_fold: fitted.out_of_fold,
        folds: figures,
    })
}

/// What a response model file says about itself, beside the inner model's metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseMeta {
    pub format_version: u32,
    /// `response-<kind>-<12 hex digits>`; see the module documentation.
    pub model_version: String,
    pub kind: ResponseModelKind,
    pub metrics: Option<ResponseMetrics>,
}

/// A fitted response model: its metadata and the credit-model machinery that scores.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResponseModel {
    meta: ResponseMeta,
    model: CreditModel,
}

impl ResponseModel {
    /// Fits a model on all rows of `table` (every column a feature; `y` true for a
    /// response).
    ///
    /// Errors on no rows or columns, too many columns, labels of another length or of a
    /// single class.
    pub fn fit(
        table: &Table,
        y: &[bool],
        options: &ResponseOptions,
        info: TrainingInfo,
    ) -> Result<ResponseModel, ModelError> {
        let model = CreditModel::fit(table, y, &options.fit_options(), info)?;
        let mut meta = ResponseMeta {
            format_version: FORMAT_VERSION,
            model_version: String::new(),
            kind: options.kind,
            metrics: None,
        };
        meta.model_version = compute_version(&meta, &model);
        Ok(ResponseModel { meta, model })
    }

    pub fn meta(&self) -> &ResponseMeta {
        &self.meta
    }

    pub fn model_version(&self) -> &str {
        &self.meta.model_version
    }

    pub fn kind(&self) -> ResponseModelKind {
        self.meta.kind
    }

    /// The inner model: its metadata (training data, rows, positives, calibration, the
    /// fitted GBM configuration) and per-row explanations.
    pub fn scorer(&self) -> &CreditModel {
        &self.model
    }

    /// The input features with their importance (mean absolute contribution to the
    /// log-odds of response over the training rows).
    pub fn features(&self) -> &[FeatureInfo] {
        self.model.features()
    }

    /// Stores cross-validated figures; the model, and so `model_version`, is unchanged.
    pub fn set_metrics(&mut self, metrics: ResponseMetrics) {
        self.meta.metrics = Some(metrics);
    }

    /// Calibrated probability of response of every row. Columns are found by name (others,
    /// such as the target, are ignored).
    ///
    /// Errors name a feature with no column, or a numeric feature's text that is no number.
    pub fn predict(&self, table: &Table) -> Result<Vec<f64>, ModelError> {
        self.model.predict_table(table)
    }

    /// The model as JSON: deterministic, metadata first.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a response model holds only finite numbers and strings")
    }

    /// Reads a model written by [`ResponseModel::to_json`]; refuses another format version,
    /// an inner model that fails its own checks, and a `model_version` that does not match.
    pub fn from_json(bytes: &[u8]) -> Result<ResponseModel, ModelError> {
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
            .map_err(|e| invalid(format!("not a response model: {e}")))?;
        if header.meta.format_version != FORMAT_VERSION {
            return Err(invalid(format!(
                "format version {} (this build reads {FORMAT_VERSION})",
                header.meta.format_version
            )));
        }
        #[derive(Deserialize)]
        struct Stored<'a> {
            meta: ResponseMeta,
            #[serde(borrow)]
            model: &'a serde_json::value::RawValue,
        }
        let stored: Stored = serde_json::from_slice(bytes).map_err(|e| invalid(e.to_string()))?;
        let model = CreditModel::from_json(stored.model.get().as_bytes())?;
        if model.meta().kind != stored.meta.kind.inner() {
            return Err(invalid("metadata kind and model differ".into()));
        }
        let version = compute_version(&stored.meta, &model);
        if version != stored.meta.model_version {
            return Err(invalid(format!(
                "content does not match model_version {} (it hashes to {version})",
                stored.meta.model_version
            )));
        }
        Ok(ResponseModel {
            meta: stored.meta,
            model,
        })
    }

    /// Writes the model to a temporary file beside `path`, then renames it into place, so
    /// a reader never sees half a file.
    pub fn save(&self, path: &Path) -> Result<(), ModelError> {
        write_atomically(path, &self.to_json())
    }

    /// Reads and checks a model file (see [`ResponseModel::from_json`]).
    pub fn load(path: &Path) -> Result<ResponseModel, ModelError> {
        read_model_file(path, ResponseModel::from_json)
    }
}

/// `response-<kind>-` and 12 hex digits of the SHA-256 of the format version, the kind and
/// the inner model's version (itself a hash of everything that predicts, checked on load).
fn compute_version(meta: &ResponseMeta, model: &CreditModel) -> String {
    #[derive(Serialize)]
    struct Predictive<'a> {
        format_version: u32,
        kind: ResponseModelKind,
        inner_version: &'a str,
    }
    let canonical = serde_json::to_vec(&Predictive {
        format_version: meta.format_version,
        kind: meta.kind,
        inner_version: &model.meta().model_version,
    })
    .expect("numbers and strings");
    format!(
        "response-{}-{}",
        meta.kind.name(),
        &sha256_hex(&canonical)[..12]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linear::sigmoid;
    use crate::tabular::{Column, ColumnData};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use std::sync::OnceLock;

    /// A campaign of known signal: customers with a high `balance`, channel `mobile` and a
    /// previous success respond more; `noise` does nothing. About 12% respond.
    fn campaign(n: usize, seed: u64) -> (Table, Vec<bool>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (mut balance, mut channel, mut previous, mut noise, mut y) =
            (vec![], vec![], vec![], vec![], vec![]);
        for _ in 0..n {
            let b: f64 = rng.gen_range(0.0..10.0);
            let c = ["mobile", "email", "letter"][rng.gen_range(0..3)];
            let p = ["success", "failure", "none"][rng.gen_range(0..3)];
            let z = -3.2
                + 0.3 * b
                + if c == "mobile" { 0.8 } else { 0.0 }
                + if p == "success" { 1.2 } else { 0.0 };
            y.push(rng.gen::<f64>() < sigmoid(z));
            balance.push(b);
            channel.push(Some(c.to_string()));
            previous.push(Some(p.to_string()));
            noise.push(rng.gen());
        }
        let column = |name: &str, data| Column {
            name: name.into(),
            data,
        };
        let table = Table {
            columns: vec![
                column("balance", ColumnData::Numeric(balance)),
                column("channel", ColumnData::Categorical(channel)),
                column("previous", ColumnData::Categorical(previous)),
                column("noise", ColumnData::Numeric(noise)),
            ],
        };
        (table, y)
    }

    fn info() -> TrainingInfo {
        TrainingInfo {
            source: "campaign".into(),
            data_sha256: sextant_hash::sha256_hex(b"campaign"),
            trained_at: "2025-01-01T00:00:00Z".into(),
            target: "y".into(),
            positive_label: "yes".into(),
        }
    }

    const KINDS: [ResponseModelKind; 2] = [ResponseModelKind::Gbm, ResponseModelKind::Logistic];

    fn fitted(kind: ResponseModelKind) -> &'static (ResponseModel, Table, Vec<bool>) {
        static GBM: OnceLock<(ResponseModel, Table, Vec<bool>)> = OnceLock::new();
        static LOGISTIC: OnceLock<(ResponseModel, Table, Vec<bool>)> = OnceLock::new();
        let cell = match kind {
            ResponseModelKind::Gbm => &GBM,
            ResponseModelKind::Logistic => &LOGISTIC,
        };
        cell.get_or_init(|| {
            let (table, y) = campaign(2000, 1);
            let options = ResponseOptions::new(kind, 5);
            let model = ResponseModel::fit(&table, &y, &options, info()).unwrap();
            (model, table, y)
        })
    }

    #[test]
    fn predictions_follow_the_known_signal() {
        for kind in KINDS {
            let (model, table, y) = fitted(kind);
            let p = model.predict(table).unwrap();
            assert!(p.iter().all(|p| (0.0..=1.0).contains(p)));
            assert!(roc_auc(&p, y) > 0.7, "{kind:?}");
            assert!(top_decile_lift(&p, y) > 2.0, "{kind:?}");
            // The noise matters least.
            let features = model.features();
            let least = features
                .iter()
                .min_by(|a, b| a.importance.total_cmp(&b.importance))
                .unwrap();
            assert_eq!(least.name, "noise", "{kind:?}: {features:?}");
            assert!(model
                .model_version()
                .starts_with(&format!("response-{}-", kind.name())));
            assert_eq!(
                model.scorer().meta().positives,
                y.iter().filter(|&&v| v).count()
            );
        }
    }

    #[test]
    fn save_and_load_give_identical_predictions_and_version() {
        let dir = tempfile::tempdir().unwrap();
        for kind in KINDS {
            let (model, table, _) = fitted(kind);
            let mut model = model.clone();
            model.set_metrics(ResponseMetrics {
                folds: 5,
                seed: 1,
                auc_mean: 0.8,
                auc_sd: 0.01,
                top_decile_lift: 4.0,
                brier_mean: 0.08,
            });
            let path = dir.path().join(format!("{}.json", kind.name()));
            model.save(&path).unwrap();
            let back = ResponseModel::load(&path).unwrap();
            assert_eq!(back, model);
            assert_eq!(back.to_json(), model.to_json());
            let before = model.predict(table).unwrap();
            let after = back.predict(table).unwrap();
            assert!(before
                .iter()
                .zip(&after)
                .all(|(a, b)| a.to_bits() == b.to_bits()));
        }
        // The two model files and nothing else.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn edited_or_foreign_files_are_refused() {
        let (model, _, _) = fitted(ResponseModelKind::Logistic);
        let json = String::from_utf8(model.to_json()).unwrap();
        // The kind in the envelope no longer matches the model inside.
        let relabelled = json.replacen("\"kind\":\"logistic\"", "\"kind\":\"gbm\"", 1);
        assert!(ResponseModel::from_json(relabelled.as_bytes()).is_err());
        // A changed version string.
        let version = model.model_version();
        let renamed = json.replacen(version, "response-logistic-000000000000", 1);
        let error = ResponseModel::from_json(renamed.as_bytes()).unwrap_err();
        assert!(error.to_string().contains("does not match"), "{error}");
        // A changed coefficient inside: the inner model's own hash refuses it.
        let marker = "\"coefficient\":";
        let at = json.find(marker).unwrap() + marker.len();
        let end = at + json[at..].find([',', '}']).unwrap();
        let tampered = format!("{}1.5{}", &json[..at], &json[end..]);
        let error = ResponseModel::from_json(tampered.as_bytes()).unwrap_err();
        assert!(error.to_string().contains("does not match"), "{error}");
        let future = json.replacen("\"format_version\":1", "\"format_version\":99", 1);
        let error = ResponseModel::from_json(future.as_bytes()).unwrap_err();
        assert!(error.to_string().contains("format version 99"), "{error}");
        // A credit model file is not a response model.
        assert!(ResponseModel::from_json(&model.scorer().to_json()).is_err());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("broken.json");
        std::fs::write(&path, tampered).unwrap();
        assert!(matches!(
            ResponseModel::load(&path),
            Err(ModelError::Corrupt { .. })
        ));
    }

    #[test]
    fn cross_validation_reports_auc_lift_and_deciles() {
        let (table, y) = campaign(1500, 2);
        let options = ResponseOptions::new(ResponseModelKind::Logistic, 1);
        let report = cross_validate(&table, &y, &options, 4, 3).unwrap();
        assert_eq!(report.folds.len(), 4);
        assert!(report.auc_mean > 0.7, "{report:?}");
        assert!(report.top_decile_lift > 2.0, "{report:?}");
        assert_eq!(report.deciles.len(), LIFT_GROUPS);
        assert_eq!(report.deciles[0].lift, report.top_decile_lift);
        assert_eq!(report.folds.iter().map(|f| f.rows).sum::<usize>(), y.len());
        let last = report.deciles.last().unwrap();
        assert!((last.cumulative_gain - 1.0).abs() < 1e-9);
        assert!(report.out_of_fold.iter().all(|p| (0.0..=1.0).contains(p)));
        assert_eq!(report.metrics().folds, 4);
        // The same seed gives the same figures.
        let again = cross_validate(&table, &y, &options, 4, 3).unwrap();
        assert_eq!(again.out_of_fold, report.out_of_fold);
        assert!(matches!(
            cross_validate(&table, &y, &options, 1, 3),
            Err(ModelError::InvalidConfig { field: "folds", .. })
        ));
    }

    #[test]
    fn calibration_resolves_per_kind() {
        let gbm = ResponseOptions::new(ResponseModelKind::Gbm, 1);
        let logistic = ResponseOptions::new(ResponseModelKind::Logistic, 1);
        assert_eq!(gbm.calibration_method(), "platt");
        assert_eq!(logistic.calibration_method(), "none");
        let (model, _, _) = fitted(ResponseModelKind::Gbm);
        assert_eq!(model.scorer().meta().calibration, "platt");
    }
}
