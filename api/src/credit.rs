//! `sextant credit eval`: cross-validated quality of the credit models on any delimited file
//! (the raw UCI German file, the Taiwan CSV, an export of the bank's own data).
//!
//! Every fold fits on its training rows only: the scorecard's binning, the GBM's bins and
//! the ordinal codes of categorical columns (categories ranked by their training bad rate,
//! unseen ones missing) never see the test rows.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use serde::Serialize;
use sextant_models::evaluation::{
    brier_score, calibration_table, ks_statistic, mean_sd, roc_auc, stratified_kfold,
    CalibrationBin,
};
use sextant_models::gbm::{Gbm, GbmConfig};
use sextant_models::scorecard::{Scorecard, ScorecardConfig};
use sextant_models::tabular::{ColumnData, Table, TableOptions};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CreditModel {
    Scorecard,
    Gbm,
}

pub struct CreditEvalOptions {
    pub data: PathBuf,
    pub target: String,
    pub positive: Option<String>,
    pub models: Vec<CreditModel>,
    pub folds: usize,
    pub seed: u64,
    pub delimiter: Option<u8>,
    pub no_header: bool,
    pub drop: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct ModelEval {
    pub model: CreditModel,
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
    pub rows: usize,
    pub positives: usize,
    pub features: usize,
    pub folds: usize,
    pub seed: u64,
    pub models: Vec<ModelEval>,
}

/// Numeric rows for the GBM: numbers as they are, categories as their rank by training bad
/// rate (unseen or missing: NaN, which the GBM routes by itself).
fn encode(train: &Table, train_y: &[bool], table: &Table) -> Vec<Vec<f64>> {
    let columns: Vec<Vec<f64>> = train
        .columns
        .iter()
        .zip(&table.columns)
        .map(|(fit, apply)| match (&fit.data, &apply.data) {
            (_, ColumnData::Numeric(values)) => values.clone(),
            (ColumnData::Categorical(seen), ColumnData::Categorical(values)) => {
                let mut stats: std::collections::BTreeMap<&str, (f64, f64)> = Default::default();
                for (v, &bad) in seen.iter().zip(train_y) {
                    if let Some(v) = v {
                        let e = stats.entry(v.as_str()).or_default();
                        e.0 += f64::from(u8::from(bad));
                        e.1 += 1.0;
                    }
                }
                let mut ranked: Vec<(&str, f64)> = stats
                    .iter()
                    .map(|(k, (bad, n))| (*k, (bad + 0.5) / (n + 1.0)))
                    .collect();
                ranked.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(b.0)));
                let code: std::collections::HashMap<&str, f64> = ranked
                    .iter()
                    .enumerate()
                    .map(|(i, (k, _))| (*k, i as f64))
                    .collect();
                values
                    .iter()
                    .map(|v| {
                        v.as_deref()
                            .and_then(|v| code.get(v).copied())
                            .unwrap_or(f64::NAN)
                    })
                    .collect()
            }
            (ColumnData::Numeric(_), ColumnData::Categorical(values)) => {
                values.iter().map(|_| f64::NAN).collect()
            }
        })
        .collect();
    (0..table.n_rows())
        .map(|r| columns.iter().map(|c| c[r]).collect())
        .collect()
}

fn read_table(options: &CreditEvalOptions) -> anyhow::Result<(Table, Vec<bool>)> {
    let file = std::fs::File::open(&options.data)
        .with_context(|| format!("cannot open {}", options.data.display()))?;
    let table_options = TableOptions {
        delimiter: options.delimiter,
        header: options.no_header.then_some(false),
        drop: options.drop.clone(),
        ..TableOptions::default()
    };
    let mut table = Table::parse(std::io::BufReader::new(file), &table_options)
        .map_err(|e| anyhow::anyhow!("{}: {e}", options.data.display()))?;
    let y = table
        .take_target(&options.target, options.positive.as_deref())
        .map_err(|e| anyhow::anyhow!("{}: {e}", options.data.display()))?;
    Ok((table, y))
}

pub fn eval(options: &CreditEvalOptions) -> anyhow::Result<CreditEval> {
    let (table, y) = read_table(options)?;
    anyhow::ensure!(
        options.folds >= 2 && options.folds <= y.len(),
        "--folds must be within 2..={}",
        y.len()
    );
    let folds = stratified_kfold(&y, options.folds, options.seed);
    let mut models = Vec::new();
    for &model in &options.models {
        let mut out_of_fold = vec![f64::NAN; y.len()];
        let (mut aucs, mut kss, mut briers, mut seconds) = (vec![], vec![], vec![], vec![]);
        for (train, test) in &folds {
            let train_table = table.select_rows(train);
            let train_y: Vec<bool> = train.iter().map(|&i| y[i]).collect();
            let test_table = table.select_rows(test);
            let test_y: Vec<bool> = test.iter().map(|&i| y[i]).collect();
            let started = Instant::now();
            let predictions: Vec<f64> = match model {
                CreditModel::Scorecard => {
                    let card = Scorecard::fit(&train_table, &train_y, &ScorecardConfig::default())?;
                    seconds.push(started.elapsed().as_secs_f64());
                    (0..test.len())
                        .map(|r| card.predict_proba(&test_table, r))
                        .collect()
                }
                CreditModel::Gbm => {
                    let x = encode(&train_table, &train_y, &train_table);
                    let config = GbmConfig {
                        seed: options.seed,
                        ..GbmConfig::default()
                    };
                    let gbm = Gbm::fit(&x, &train_y, &config)?;
                    seconds.push(started.elapsed().as_secs_f64());
                    encode(&train_table, &train_y, &test_table)
                        .iter()
                        .map(|row| gbm.predict_proba(row))
                        .collect()
                }
            };
            aucs.push(roc_auc(&predictions, &test_y));
            kss.push(ks_statistic(&predictions, &test_y));
            briers.push(brier_score(&predictions, &test_y));
            for (&i, p) in test.iter().zip(predictions) {
                out_of_fold[i] = p;
            }
        }
        let (auc_mean, auc_sd) = mean_sd(&aucs);
        models.push(ModelEval {
            model,
            auc_mean,
            auc_sd,
            fold_auc: aucs,
            ks_mean: mean_sd(&kss).0,
            brier_mean: mean_sd(&briers).0,
            calibration: calibration_table(&out_of_fold, &y, 10),
            train_seconds_mean: mean_sd(&seconds).0,
        });
    }
    Ok(CreditEval {
        data: options.data.display().to_string(),
        rows: y.len(),
        positives: y.iter().filter(|&&v| v).count(),
        features: table.columns.len(),
        folds: options.folds,
        seed: options.seed,
        models,
    })
}

pub fn print_eval(result: &CreditEval) {
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
        "{:<10} {:>16} {:>7} {:>7} {:>9}  fold AUC",
        "model", "AUC mean +- sd", "KS", "Brier", "fit s"
    );
    for m in &result.models {
        let name = match m.model {
            CreditModel::Scorecard => "scorecard",
            CreditModel::Gbm => "gbm",
        };
        let folds: Vec<String> = m.fold_auc.iter().map(|a| format!("{a:.3}")).collect();
        println!(
            "{:<10} {:>8.4} +- {:.4} {:>7.3} {:>7.4} {:>9.2}  {}",
            name,
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
            "calibration of {:?} (out-of-fold, deciles of predicted probability)",
            m.model
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
