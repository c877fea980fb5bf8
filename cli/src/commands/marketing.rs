//! `sextant marketing eval` and `sextant marketing train`: campaign response models of
//! [`sextant_models::response`] on any delimited file with a binary target (the UCI bank
//! marketing file, an export of past campaigns). The file is read as for the credit
//! commands ([`crate::evals::credit_file::read_data`]); `models` fits, cross-validates (every fold on
//! its training rows only) and writes the model file.

use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;
use sextant_api::config::Config;
use sextant_api::startup::open_context;
use sextant_models::credit::TrainingInfo;
use sextant_models::evaluation::LiftBin;
use sextant_models::response::{
    cross_validate, FoldFigures, ResponseCvReport, ResponseModel, ResponseModelKind,
    ResponseOptions,
};
use sextant_services::marketing::training::{train_offers, OfferTraining};
use sextant_store::Actor;

use crate::evals::credit_file::{
    check_folds, read_data, top_features, CreditData, CvArgs, DataArgs, FeatureWeight, TOP_FEATURES,
};
use crate::evals::offers::{eval_offers, EvalOffersArgs};
use crate::output::Report;
use crate::output::{blocking, emit};

#[derive(Debug, Clone, clap::Subcommand)]
pub enum MarketingCommand {
    /// Cross-validated AUC, top-decile lift, lift by decile and Brier score of a campaign
    /// response model on any delimited file with a binary target (`--json` for one JSON
    /// object).
    Eval(EvalArgs),
    /// Cross-validate, fit on all rows and save one model file; prints the figures the
    /// cross-validation measured.
    Train(TrainArgs),
    /// Train the offer model on the stored population (profiles, neighbours from the vector
    /// store, offer behaviour, holdings) and make it the active one.
    TrainOffers(TrainOffersArgs),
    /// Offer quality on a synthetic population with each customer's latest adoption held
    /// out: recall@k and NDCG@k of the offers, a popularity baseline and implicit's ALS.
    EvalOffers(EvalOffersArgs),
}

#[derive(Debug, Clone, clap::Args)]
pub struct TrainOffersArgs {
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResponseModelArg {
    /// Histogram gradient-boosted trees.
    Gbm,
    /// Logistic regression on weight-of-evidence bins (the baseline).
    Logistic,
}

impl From<ResponseModelArg> for ResponseModelKind {
    fn from(model: ResponseModelArg) -> Self {
        match model {
            ResponseModelArg::Gbm => ResponseModelKind::Gbm,
            ResponseModelArg::Logistic => ResponseModelKind::Logistic,
        }
    }
}

#[derive(Debug, Clone, clap::Args)]
pub struct EvalArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[arg(long, value_enum, default_value = "gbm")]
    pub model: ResponseModelArg,
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
    pub model: ResponseModelArg,
    #[command(flatten)]
    pub cv: CvArgs,
    /// Where to write the model.
    #[arg(long)]
    pub out: PathBuf,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// Runs one subcommand and prints its tables or, with `--json`, one JSON object. The
/// service's configuration locates the store for the commands that use it.
pub async fn run(command: MarketingCommand, mut config: Config) -> anyhow::Result<i32> {
    match command {
        MarketingCommand::Eval(args) => {
            let json = args.json;
            emit(&blocking(move || eval(&args)).await?, json)?;
        }
        MarketingCommand::Train(args) => {
            let json = args.json;
            emit(&blocking(move || train(&args)).await?, json)?;
        }
        MarketingCommand::TrainOffers(args) => {
            config.data_dir = args.data_dir.unwrap_or(config.data_dir);
            let ctx = open_context(&config).await?;
            let report = train_offers(
                ctx.store.as_ref(),
                ctx.vectors.as_ref(),
                args.seed,
                &Actor::operator(),
            )
            .await?;
            emit(&report, args.json)?;
        }
        MarketingCommand::EvalOffers(args) => {
            emit(&eval_offers(&args).await?, args.json)?;
        }
    }
    Ok(0)
}

impl Report for OfferTraining {
    fn print_table(&self) {
        let t = self;
        println!(
            "  offer model {}: {} customers, {} products, {} adoptions; gathered in {:.1}s, fitted in {:.1}s",
            t.model_version, t.customers, t.products, t.adoptions, t.gather_seconds, t.fit_seconds
        );
    }
}

/// The data file and its target as `eval` and `train` describe them.
#[derive(Debug, Serialize)]
pub struct DataSummary {
    pub data: String,
    pub data_sha256: String,
    pub target: String,
    /// The target value counted as a response.
    pub positive_label: String,
    pub rows: usize,
    pub positives: usize,
    pub response_rate: f64,
    pub features: usize,
}

/// Cross-validated figures of one model: per fold, and on the pooled out-of-fold scores.
#[derive(Debug, Serialize)]
pub struct CvFigures {
    pub seed: u64,
    /// One entry per test fold.
    pub folds: Vec<FoldFigures>,
    pub auc_mean: f64,
    pub auc_sd: f64,
    /// Response rate in the top 10% of out-of-fold scores over the overall rate.
    pub top_decile_lift: f64,
    /// The folds' own top-decile lifts, averaged.
    pub top_decile_lift_fold_mean: f64,
    pub brier_mean: f64,
    /// Out-of-fold scores in deciles, highest first: rows, responses, rate, lift and
    /// cumulative gains.
    pub deciles: Vec<LiftBin>,
    /// Wall time of the whole cross-validation.
    pub cv_seconds: f64,
}

impl CvFigures {
    fn new(report: ResponseCvReport, cv_seconds: f64) -> Self {
        CvFigures {
            seed: report.seed,
            folds: report.folds,
            auc_mean: report.auc_mean,
            auc_sd: report.auc_sd,
            top_decile_lift: report.top_decile_lift,
            top_decile_lift_fold_mean: report.top_decile_lift_fold_mean,
            brier_mean: report.brier_mean,
            deciles: report.deciles,
            cv_seconds,
        }
    }
}

/// What `marketing eval` measured.
#[derive(Debug, Serialize)]
pub struct ResponseEval {
    #[serde(flatten)]
    pub data: DataSummary,
    pub model: ResponseModelArg,
    /// `platt`, `isotonic` or `none`: how the probabilities were calibrated.
    pub calibration_method: String,
    #[serde(flatten)]
    pub cv: CvFigures,
}

/// What `marketing train` did.
#[derive(Debug, Serialize)]
pub struct ResponseTrainReport {
    pub model_version: String,
    pub path: String,
    pub trained_at: String,
    #[serde(flatten)]
    pub data: DataSummary,
    pub model: ResponseModelArg,
    pub calibration_method: String,
    #[serde(flatten)]
    pub cv: CvFigures,
    /// Seconds to fit the saved model on all rows.
    pub fit_seconds: f64,
    pub top_features: Vec<FeatureWeight>,
}

/// Reads the file and refuses a target without both classes, naming the column and the
/// value taken as a response.
fn read_campaign(args: &DataArgs) -> anyhow::Result<CreditData> {
    let data = read_data(args)?;
    let positives = data.y.iter().filter(|&&v| v).count();
    let (path, target, label) = (args.data.display(), &args.target, &data.positive_label);
    anyhow::ensure!(
        positives > 0,
        "{path}: no row of target column {target:?} equals {label:?}, the value taken as a \
         response; name it with --positive"
    );
    anyhow::ensure!(
        positives < data.y.len(),
        "{path}: every row of target column {target:?} equals {label:?}; a response model \
         needs rows of both classes"
    );
    Ok(data)
}

fn summary(args: &DataArgs, data: &CreditData) -> DataSummary {
    let positives = data.y.iter().filter(|&&v| v).count();
    DataSummary {
        data: args.data.display().to_string(),
        data_sha256: data.sha256.clone(),
        target: args.target.clone(),
        positive_label: data.positive_label.clone(),
        rows: data.y.len(),
        positives,
        response_rate: positives as f64 / data.y.len() as f64,
        features: data.table.columns.len(),
    }
}

fn options(model: ResponseModelArg, cv: &CvArgs) -> ResponseOptions {
    ResponseOptions {
        calibration: cv.calibration.into(),
        ..ResponseOptions::new(model.into(), cv.seed)
    }
}

fn cross_validated(
    data: &CreditData,
    options: &ResponseOptions,
    cv: &CvArgs,
) -> anyhow::Result<(ResponseCvReport, f64)> {
    check_folds(cv.folds, &data.y)?;
    let started = Instant::now();
    let report = cross_validate(&data.table, &data.y, options, cv.folds, cv.seed)?;
    Ok((report, started.elapsed().as_secs_f64()))
}

/// Cross-validates one model on the file.
pub fn eval(args: &EvalArgs) -> anyhow::Result<ResponseEval> {
    let data = read_campaign(&args.data)?;
    let options = options(args.model, &args.cv);
    let (report, seconds) = cross_validated(&data, &options, &args.cv)?;
    Ok(ResponseEval {
        data: summary(&args.data, &data),
        model: args.model,
        calibration_method: options.calibration_method().to_string(),
        cv: CvFigures::new(report, seconds),
    })
}

/// Cross-validates, fits on all rows, stores the figures in the model and saves it.
pub fn train(args: &TrainArgs) -> anyhow::Result<ResponseTrainReport> {
    let data = read_campaign(&args.data)?;
    let options = options(args.model, &args.cv);
    let (report, cv_seconds) = cross_validated(&data, &options, &args.cv)?;
    let trained_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let info = TrainingInfo {
        source: args.data.data.display().to_string(),
        data_sha256: data.sha256.clone(),
        trained_at: trained_at.clone(),
        target: args.data.target.clone(),
        positive_label: data.positive_label.clone(),
    };
    let started = Instant::now();
    let mut model = ResponseModel::fit(&data.table, &data.y, &options, info)?;
    let fit_seconds = started.elapsed().as_secs_f64();
    model.set_metrics(report.metrics());
    model.save(&args.out)?;
    Ok(ResponseTrainReport {
        model_version: model.model_version().to_string(),
        path: args.out.display().to_string(),
        trained_at,
        data: summary(&args.data, &data),
        model: args.model,
        calibration_method: model.scorer().meta().calibration.clone(),
        cv: CvFigures::new(report, cv_seconds),
        fit_seconds,
        top_features: top_features(model.features(), TOP_FEATURES),
    })
}

fn model_name(model: ResponseModelArg) -> &'static str {
    ResponseModelKind::from(model).name()
}

fn print_data(data: &DataSummary) {
    println!(
        "{}: {} rows, {} responded ({} = {:?}, {:.1}%), {} features",
        data.data,
        data.rows,
        data.positives,
        data.target,
        data.positive_label,
        100.0 * data.response_rate,
        data.features
    );
}

fn print_cv(model: ResponseModelArg, calibration: &str, cv: &CvFigures) {
    println!(
        "model {} (calibration {calibration}), {}-fold stratified CV, seed {}, {:.1} s",
        model_name(model),
        cv.folds.len(),
        cv.seed,
        cv.cv_seconds
    );
    println!();
    println!(
        "{:>6} {:>8} {:>10} {:>8} {:>16} {:>8} {:>8}",
        "fold", "rows", "responses", "AUC", "top-decile lift", "Brier", "fit s"
    );
    for f in &cv.folds {
        println!(
            "{:>6} {:>8} {:>10} {:>8.4} {:>16.2} {:>8.4} {:>8.2}",
            f.fold, f.rows, f.positives, f.auc, f.top_decile_lift, f.brier, f.train_seconds
        );
    }
    println!(
        "{:>6} {:>8} {:>10} {:>8.4} {:>16.2} {:>8.4}   AUC sd {:.4}",
        "mean", "", "", cv.auc_mean, cv.top_decile_lift_fold_mean, cv.brier_mean, cv.auc_sd
    );
    println!();
    println!(
        "top-decile lift of the out-of-fold scores: {:.2}",
        cv.top_decile_lift
    );
    println!();
    println!("lift by decile of out-of-fold scores (1 = highest)");
    println!(
        "{:>6} {:>8} {:>10} {:>8} {:>7} {:>10} {:>10}  {:>15}",
        "decile", "rows", "responses", "rate", "lift", "cum. gain", "cum. lift", "scores"
    );
    for d in &cv.deciles {
        println!(
            "{:>6} {:>8} {:>10.1} {:>8.3} {:>7.2} {:>10.3} {:>10.2}  {:.3}..{:.3}",
            d.group,
            d.rows,
            d.positives,
            d.response_rate,
            d.lift,
            d.cumulative_gain,
            d.cumulative_lift,
            d.min_score,
            d.max_score
        );
    }
}

impl Report for ResponseEval {
    fn print_table(&self) {
        let result = self;
        print_data(&result.data);
        print_cv(result.model, &result.calibration_method, &result.cv);
    }
}

impl Report for ResponseTrainReport {
    fn print_table(&self) {
        let report = self;
        println!("{} saved to {}", report.model_version, report.path);
        print_data(&report.data);
        print_cv(report.model, &report.calibration_method, &report.cv);
        println!();
        println!("fitted on all rows in {:.1} s", report.fit_seconds);
        println!("top features (mean |contribution| to the log-odds of a response)");
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use std::fmt::Write as _;
    use std::path::Path;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(subcommand)]
        command: MarketingCommand,
    }

    fn command(args: &[&str]) -> MarketingCommand {
        let mut argv = vec!["sextant"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv).unwrap().command
    }

    fn eval_of(args: &[&str]) -> anyhow::Result<ResponseEval> {
        let MarketingCommand::Eval(args) = command(args) else {
            panic!("eval expected");
        };
        eval(&args)
    }

    /// A campaign file as the UCI one is written: semicolons, quoted text. `tenure` and a
    /// `mobile` channel raise the response rate; `id` is unique per row.
    fn campaign_file(dir: &Path, rows: usize) -> PathBuf {
        let mut text = String::from("\"id\";\"tenure\";\"channel\";\"y\"\n");
        let mut state = 12345u64;
        for i in 0..rows {
            // A small LCG keeps the test free of a random-number dependency.
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let u = (state >> 11) as f64 / (1u64 << 53) as f64;
            let tenure = i % 20;
            let channel = ["mobile", "email", "letter"][i % 3];
            let p = 0.02 + 0.02 * tenure as f64 + if channel == "mobile" { 0.2 } else { 0.0 };
            let y = if u < p { "yes" } else { "no" };
            writeln!(text, "\"c{i}\";{tenure};\"{channel}\";\"{y}\"").unwrap();
        }
        let path = dir.join("campaign.csv");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn eval_reports_auc_lift_and_deciles() {
        let dir = tempfile::tempdir().unwrap();
        let file = campaign_file(dir.path(), 600);
        let data = file.to_str().unwrap();
        let result = eval_of(&[
            "eval",
            "--data",
            data,
            "--target",
            "y",
            "--positive",
            "yes",
            "--drop",
            "id",
            "--model",
            "logistic",
            "--folds",
            "4",
            "--seed",
            "3",
        ])
        .unwrap();
        assert_eq!(result.data.rows, 600);
        assert_eq!(result.data.features, 2, "id is dropped");
        assert_eq!(result.cv.folds.len(), 4);
        assert!(result.cv.auc_mean > 0.7, "{result:?}");
        assert!(result.cv.top_decile_lift > 1.5, "{result:?}");
        assert_eq!(result.cv.deciles.len(), 10);
        let json = serde_json::to_value(&result).unwrap();
        for key in [
            "auc_mean",
            "top_decile_lift",
            "folds",
            "deciles",
            "rows",
            "positives",
            "model",
        ] {
            assert!(json.get(key).is_some(), "{key} missing from {json}");
        }
        assert_eq!(json["model"], "logistic");
        assert_eq!(json["folds"].as_array().unwrap().len(), 4);
    }

    #[test]
    fn train_saves_a_model_that_loads() {
        let dir = tempfile::tempdir().unwrap();
        let file = campaign_file(dir.path(), 400);
        let out = dir.path().join("response.json");
        let MarketingCommand::Train(args) = command(&[
            "train",
            "--data",
            file.to_str().unwrap(),
            "--target",
            "y",
            "--drop",
            "id",
            "--folds",
            "3",
            "--out",
            out.to_str().unwrap(),
        ]) else {
            panic!("train expected");
        };
        assert_eq!(args.model, ResponseModelArg::Gbm);
        let report = train(&args).unwrap();
        let model = ResponseModel::load(&out).unwrap();
        assert_eq!(model.model_version(), report.model_version);
        assert_eq!(model.meta().metrics.as_ref().unwrap().folds, 3);
        assert_eq!(report.data.positive_label, "yes");
        assert_eq!(report.cv.folds.len(), 3);
    }

    #[test]
    fn bad_input_names_the_column() {
        let dir = tempfile::tempdir().unwrap();
        let file = campaign_file(dir.path(), 100);
        let data = file.to_str().unwrap();
        let error = |args: &[&str]| {
            let mut all = vec!["eval", "--data", data, "--model", "logistic"];
            all.extend_from_slice(args);
            format!("{:#}", eval_of(&all).unwrap_err())
        };
        let missing = error(&["--target", "responded"]);
        assert!(missing.contains("\"responded\""), "{missing}");
        let unknown = error(&["--target", "y", "--drop", "id,nope"]);
        assert!(unknown.contains("\"nope\""), "{unknown}");
        let no_positives = error(&["--target", "y", "--positive", "maybe"]);
        assert!(
            no_positives.contains("\"y\"") && no_positives.contains("\"maybe\""),
            "{no_positives}"
        );
        let nowhere = format!(
            "{:#}",
            eval_of(&["eval", "--data", "/nonexistent/x.csv", "--target", "y"]).unwrap_err()
        );
        assert!(nowhere.contains("/nonexistent/x.csv"), "{nowhere}");
    }
}
