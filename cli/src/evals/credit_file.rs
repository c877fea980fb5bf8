//! `sextant credit eval` and `sextant credit train`: the credit models of
//! [`sextant_models::credit`] on any delimited file (the raw UCI German file, the Taiwan CSV,
//! an export of the bank's own data). The file is read here; `models` parses, fits and
//! cross-validates (every fold fits on its training rows only) and writes the model file.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use serde::Serialize;
use sextant_models::credit::{
    cross_validate, Calibration, CreditModel, CreditModelKind, CvReport, FeatureInfo, FitOptions,
    TrainingInfo,
};
use sextant_models::evaluation::CalibrationBin;
use sextant_models::tabular::{Table, TableOptions};

use crate::output::Report;

/// Largest data file read, as [`sextant_models::tabular::MAX_INPUT_BYTES`].
const MAX_DATA_BYTES: u64 = sextant_models::tabular::MAX_INPUT_BYTES as u64;
/// Features listed by `credit train` and `marketing train`.
pub(crate) const TOP_FEATURES: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelArg {
    Scorecard,
    Gbm,
}

impl From<ModelArg> for CreditModelKind {
    fn from(model: ModelArg) -> Self {
        match model {
            ModelArg::Scorecard => CreditModelKind::Scorecard,
            ModelArg::Gbm => CreditModelKind::Gbm,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CalibrationArg {
    /// Platt scaling for the GBM, none for the scorecard (logistic) model.
    Auto,
    Platt,
    Isotonic,
    None,
}

impl From<CalibrationArg> for Calibration {
    fn from(calibration: CalibrationArg) -> Self {
        match calibration {
            CalibrationArg::Auto => Calibration::Auto,
            CalibrationArg::Platt => Calibration::Platt,
            CalibrationArg::Isotonic => Calibration::Isotonic,
            CalibrationArg::None => Calibration::None,
        }
    }
}

/// The data file and how to read it, shared by the credit and marketing subcommands.
#[derive(Debug, Clone, clap::Args)]
pub struct DataArgs {
    #[arg(long)]
    pub data: PathBuf,
    /// The target column (`c21` for the last of 21 columns of a file without header).
    #[arg(long)]
    pub target: String,
    /// The target value of the positive class: default / bad for credit, responded for
    /// marketing (default: 1, yes, true, bad, default).
    #[arg(long)]
    pub positive: Option<String>,
    /// One character, `tab`, or `space` for runs of whitespace (default: detected).
    #[arg(long)]
    pub delimiter: Option<String>,
    /// The first line is data; columns are named c1..cN.
    #[arg(long)]
    pub no_header: bool,
    /// Columns to leave out (identifiers), comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub drop: Vec<String>,
    /// Columns to read as categorical whatever their content, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub categorical: Vec<String>,
    /// Columns to read as numeric (a cell that is no number is an error), comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub numeric: Vec<String>,
}

/// Cross-validation and calibration settings, shared by the credit and marketing
/// subcommands.
#[derive(Debug, Clone, clap::Args)]
pub struct CvArgs {
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    #[arg(long, value_enum, default_value = "auto")]
    pub calibration: CalibrationArg,
}

#[derive(Debug, Clone, clap::Args)]
pub struct EvalArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[arg(long, value_enum, value_delimiter = ',', default_values = ["scorecard", "gbm"])]
    pub model: Vec<ModelArg>,
    #[command(flatten)]
    pub cv: CvArgs,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, clap::Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[arg(long, value_enum, default_value = "gbm")]
    pub model: ModelArg,
    #[command(flatten)]
    pub cv: CvArgs,
    /// Where to write the model.
    #[arg(long, default_value = "credit-model.json")]
    pub out: PathBuf,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// A data file read and split into features and labels.
pub struct CreditData {
    pub table: Table,
    pub y: Vec<bool>,
    pub positive_label: String,
    pub sha256: String,
}

/// `--delimiter`: one character, `tab` (or `\t`), or `space` for runs of whitespace.
pub fn parse_delimiter(delimiter: Option<&str>) -> anyhow::Result<Option<u8>> {
    Ok(match delimiter {
        None => None,
        Some("space") => Some(b' '),
        Some("\\t" | "tab") => Some(b'\t'),
        Some(d) if d.len() == 1 => Some(d.as_bytes()[0]),
        Some(other) => {
            anyhow::bail!("--delimiter: `{other}` is not one character, `tab` or `space`")
        }
    })
}

/// Reads the file once: its SHA-256 and its table. Parse errors name the file, line and
/// column.
pub fn read_data(args: &DataArgs) -> anyhow::Result<CreditData> {
    let path = &args.data;
    let length = std::fs::metadata(path)
        .with_context(|| format!("cannot open {}", path.display()))?
        .len();
    anyhow::ensure!(
        length <= MAX_DATA_BYTES,
        "{}: {length} bytes, over the limit of {MAX_DATA_BYTES}",
        path.display()
    );
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let table_options = TableOptions {
        delimiter: parse_delimiter(args.delimiter.as_deref())?,
        header: args.no_header.then_some(false),
        drop: args.drop.clone(),
        categorical: args.categorical.clone(),
        numeric: args.numeric.clone(),
    };
    let located = |e: sextant_models::ModelError| anyhow::anyhow!("{}: {e}", path.display());
    let mut table = Table::parse(bytes.as_slice(), &table_options).map_err(located)?;
    let (y, positive_label) = table
        .take_target_labelled(&args.target, args.positive.as_deref())
        .map_err(located)?;
    Ok(CreditData {
        table,
        y,
        positive_label,
        sha256: sextant_hash::sha256_hex(&bytes),
    })
}

/// `--folds` within 2 and the rows of the smaller class (at most the models' limit).
pub(crate) fn check_folds(folds: usize, y: &[bool]) -> anyhow::Result<()> {
    let positives = y.iter().filter(|&&v| v).count();
    let smaller = positives.min(y.len() - positives);
    anyhow::ensure!(
        folds >= 2 && folds <= smaller.min(sextant_models::credit::MAX_FOLDS),
        "--folds must be within 2..={} (the rows of the smaller class, at most {})",
        smaller.min(sextant_models::credit::MAX_FOLDS),
        sextant_models::credit::MAX_FOLDS
    );
    Ok(())
}

fn fit_options(model: ModelArg, cv: &CvArgs) -> FitOptions {
    FitOptions {
        calibration: cv.calibration.into(),
        ..FitOptions::new(model.into(), cv.seed)
    }
}

/// Cross-validated figures of one model in `credit eval`.
#[derive(Debug, Serialize)]
pub struct ModelEval {
    pub model: ModelArg,
    /// `platt`, `isotonic` or `none`: how the probabilities were calibrated.
    pub calibration_method: String,
    pub fold_auc: Vec<f64>,
    pub auc_mean: f64,
    pub auc_sd: f64,
    pub ks_mean: f64,
    pub brier_mean: f64,
    /// Out-of-fold predictions of every row, in deciles of predicted probability.
    pub calibration: Vec<CalibrationBin>,
    pub train_seconds_mean: f64,
}

#[derive(Debug, Serialize)]
pub struct CreditEval {
    pub data: String,
    pub data_sha256: String,
    pub rows: usize,
    pub positives: usize,
    pub features: usize,
    pub folds: usize,
    pub seed: u64,
    pub models: Vec<ModelEval>,
}

pub fn eval(args: &EvalArgs) -> anyhow::Result<CreditEval> {
    let data = read_data(&args.data)?;
    check_folds(args.cv.folds, &data.y)?;
    let mut models = Vec::new();
    for &model in &args.model {
        let options = fit_options(model, &args.cv);
        let report = cross_validate(&data.table, &data.y, &options, args.cv.folds, args.cv.seed)?;
        models.push(ModelEval {
            model,
            calibration_method: calibration_method(&options),
            fold_auc: report.fold_auc,
            auc_mean: report.auc_mean,
            auc_sd: report.auc_sd,
            ks_mean: report.ks_mean,
            brier_mean: report.brier_mean,
            calibration: report.calibration,
            train_seconds_mean: report.train_seconds_mean,
        });
    }
    Ok(CreditEval {
        data: args.data.data.display().to_string(),
        data_sha256: data.sha256,
        rows: data.y.len(),
        positives: data.y.iter().filter(|&&v| v).count(),
        features: data.table.columns.len(),
        folds: args.cv.folds,
        seed: args.cv.seed,
        models,
    })
}

/// The calibration `FitOptions` resolves to (what `CreditModel::fit` records, unless a
/// class is too small to calibrate).
fn calibration_method(options: &FitOptions) -> String {
    match (options.calibration, options.kind) {
        (Calibration::Auto, CreditModelKind::Gbm) | (Calibration::Platt, _) => "platt",
        (Calibration::Auto, CreditModelKind::Scorecard) | (Calibration::None, _) => "none",
        (Calibration::Isotonic, _) => "isotonic",
    }
    .to_string()
}

fn model_name(model: ModelArg) -> &'static str {
    CreditModelKind::from(model).name()
}

impl Report for CreditEval {
    fn print_table(&self) {
        let result = self;
        println!(
            "{}: {} rows ({} positive, {:.1}%), {} features, {}-fold stratified CV, seed {}",
            result.data,
            result.rows,
            result.positives,
            100.0 * result.positives as f64 / result.rows as f64,
            result.features,
            result.folds,
            result.seed
        );
        println!();
        println!(
            "{:<10} {:<9} {:>16} {:>7} {:>7} {:>9}  fold AUC",
            "model", "calibr.", "AUC mean +- sd", "KS", "Brier", "fit s"
        );
        for m in &result.models {
            let folds: Vec<String> = m.fold_auc.iter().map(|a| format!("{a:.3}")).collect();
            println!(
                "{:<10} {:<9} {:>8.4} +- {:.4} {:>7.3} {:>7.4} {:>9.2}  {}",
                model_name(m.model),
                m.calibration_method,
                m.auc_mean,
                m.auc_sd,
                m.ks_mean,
                m.brier_mean,
                m.train_seconds_mean,
                folds.join(" ")
            );
        }
        for m in &result.models {
            println!();
            println!(
                "calibration of {} (out-of-fold, deciles of predicted probability)",
                model_name(m.model)
            );
            println!("{:>8} {:>10} {:>10}", "rows", "predicted", "observed");
            for b in &m.calibration {
                println!(
                    "{:>8} {:>10.3} {:>10.3}",
                    b.count, b.mean_predicted, b.observed_rate
                );
            }
        }
    }
}

/// One feature's weight in a trained model.
#[derive(Debug, Serialize)]
pub struct FeatureWeight {
    pub feature: String,
    pub categorical: bool,
    /// Mean absolute contribution to the log-odds of the positive class (default, or a
    /// response) over the training rows.
    pub mean_abs_contribution: f64,
}

/// The `n` features of largest mean absolute contribution, largest first, ties by name.
pub(crate) fn top_features(features: &[FeatureInfo], n: usize) -> Vec<FeatureWeight> {
    let mut top: Vec<FeatureWeight> = features
        .iter()
        .map(|f| FeatureWeight {
            feature: f.name.clone(),
            categorical: f.categorical,
            mean_abs_contribution: f.importance,
        })
        .collect();
    top.sort_by(|a, b| {
        b.mean_abs_contribution
            .total_cmp(&a.mean_abs_contribution)
            .then_with(|| a.feature.cmp(&b.feature))
    });
    top.truncate(n);
    top
}

/// What `credit train` did.
#[derive(Debug, Serialize)]
pub struct TrainReport {
    pub model_version: String,
    pub path: String,
    pub model: ModelArg,
    pub calibration_method: String,
    pub data: String,
    pub data_sha256: String,
    pub trained_at: String,
    pub rows: usize,
    pub positives: usize,
    pub features: usize,
    pub cv_folds: usize,
    pub cv_seed: u64,
    pub cv_fold_auc: Vec<f64>,
    pub cv_auc_mean: f64,
    pub cv_auc_sd: f64,
    pub cv_ks_mean: f64,
    pub cv_brier_mean: f64,
    /// Seconds to fit the saved model on all rows.
    pub fit_seconds: f64,
    /// Mean time to explain one row (probability and every feature's contribution), over
    /// up to 1,000 training rows.
    pub explain_microseconds_mean: f64,
    pub top_features: Vec<FeatureWeight>,
}

/// Cross-validates, fits on all rows, stores the figures in the model and saves it.
pub fn train(args: &TrainArgs) -> anyhow::Result<TrainReport> {
    let data = read_data(&args.data)?;
    check_folds(args.cv.folds, &data.y)?;
    let options = fit_options(args.model, &args.cv);
    let report: CvReport =
        cross_validate(&data.table, &data.y, &options, args.cv.folds, args.cv.seed)?;
    let trained_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let info = TrainingInfo {
        source: args.data.data.display().to_string(),
        data_sha256: data.sha256.clone(),
        trained_at: trained_at.clone(),
        target: args.data.target.clone(),
        positive_label: data.positive_label.clone(),
    };
    let started = Instant::now();
    let mut model = CreditModel::fit(&data.table, &data.y, &options, info)?;
    let fit_seconds = started.elapsed().as_secs_f64();
    model.set_metrics(report.metrics());
    let explain_microseconds_mean = time_explain(&model, &data.table)?;
    model.save(&args.out)?;
    let meta = model.meta();
    Ok(TrainReport {
        model_version: meta.model_version.clone(),
        path: args.out.display().to_string(),
        model: args.model,
        calibration_method: meta.calibration.clone(),
        data: args.data.data.display().to_string(),
        data_sha256: data.sha256,
        trained_at,
        rows: meta.rows,
        positives: meta.positives,
        features: meta.features.len(),
        cv_folds: report.folds,
        cv_seed: report.seed,
        cv_fold_auc: report.fold_auc,
        cv_auc_mean: report.auc_mean,
        cv_auc_sd: report.auc_sd,
        cv_ks_mean: report.ks_mean,
        cv_brier_mean: report.brier_mean,
        fit_seconds,
        explain_microseconds_mean,
        top_features: top_features(&meta.features, TOP_FEATURES),
    })
}

/// Rows timed by [`time_explain`].
const TIMED_ROWS: usize = 1000;

/// Mean microseconds of [`CreditModel::explain`] over the first rows of `table`.
fn time_explain(model: &CreditModel, table: &Table) -> anyhow::Result<f64> {
    let rows = (0..table.n_rows().min(TIMED_ROWS))
        .map(|row| model.cells(table, row))
        .collect::<Result<Vec<_>, _>>()?;
    let started = Instant::now();
    for cells in &rows {
        std::hint::black_box(model.explain(cells)?);
    }
    Ok(started.elapsed().as_secs_f64() * 1e6 / rows.len().max(1) as f64)
}

impl Report for TrainReport {
    fn print_table(&self) {
        let report = self;
        println!("{} saved to {}", report.model_version, report.path);
        println!(
            "data: {} (sha256 {}), {} rows ({} positive, {:.1}%), {} features",
            report.data,
            &report.data_sha256[..16],
            report.rows,
            report.positives,
            100.0 * report.positives as f64 / report.rows as f64,
            report.features
        );
        println!("calibration: {}", report.calibration_method);
        println!();
        println!(
            "{:<22} {:>16} {:>7} {:>7} {:>9}",
            format!("{}-fold CV, seed {}", report.cv_folds, report.cv_seed),
            "AUC mean +- sd",
            "KS",
            "Brier",
            "fit s"
        );
        println!(
            "{:<22} {:>8.4} +- {:.4} {:>7.3} {:>7.4} {:>9.2}",
            model_name(report.model),
            report.cv_auc_mean,
            report.cv_auc_sd,
            report.cv_ks_mean,
            report.cv_brier_mean,
            report.fit_seconds
        );
        println!(
            "explaining one row takes {:.1} us on average",
            report.explain_microseconds_mean
        );
        println!();
        println!("top features (mean |contribution| to the log-odds of default)");
        for f in &report.top_features {
            println!(
                "  {:<24} {:>8.4}{}",
                f.feature,
                f.mean_abs_contribution,
                if f.categorical { "  (categorical)" } else { "" }
            );
        }
    }
}
