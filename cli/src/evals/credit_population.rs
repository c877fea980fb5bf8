//! Credit model quality on data that goes through the profiling pipeline:
//!
//! - `sextant credit eval --population N`: a synthetic population generated in memory,
//!   profiled, labelled by its drawn default outcomes, and scored against its *true* default
//!   propensity (how close the model's PD comes to the probability the generator used);
//! - `sextant credit eval --berka DIR`: the 354 real PKDD'99 loans, each applicant's pre-loan
//!   transactions turned into Sextant payment events and profiled like any customer.
//!
//! Both use the credit features only (no age, no app behaviour), as the decision model does.

use std::path::Path;

use chrono::{Datelike, TimeZone, Utc};
use rayon::prelude::*;
use serde::Serialize;
use sextant_models::credit::{cross_validate, CreditModelKind, CvReport, FitOptions};
use sextant_models::evaluation::roc_auc;
use sextant_profiling::{compute_features, CustomerHistory};
use sextant_services::lending::operations::credit_table;

use crate::output::Report;

/// One generated customer as the credit model sees them, with the generator's truth.
pub struct PopulationRow {
    pub customer: sextant_domain::Customer,
    pub features: Vec<f64>,
    pub defaulted: bool,
    pub propensity: f64,
    pub age_years: u32,
}

/// Generates and profiles `customers` in memory, as of the generator's end date.
pub fn population_rows(
    customers: u64,
    months: u32,
    seed: u64,
) -> anyhow::Result<Vec<PopulationRow>> {
    let config = sextant_synth::Config {
        customers,
        months,
        seed,
        end_date: sextant_synth::Config::DEFAULT_END_DATE,
    };
    config.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
    let as_of =
        Utc.from_utc_datetime(&config.end_date.and_hms_opt(23, 59, 59).expect("valid time"));
    let rates = sextant_synth::fx::rate_table_for(&config);
    Ok((0..customers)
        .into_par_iter()
        .map(|index| {
            let bundle = sextant_synth::generate_customer(&config, index);
            let history = CustomerHistory {
                customer: &bundle.customer,
                payments: &bundle.payments,
                behaviour: &bundle.behaviour,
                holdings: &bundle.holdings,
                rates: &rates,
                loyalty: &sextant_loyalty::Activity::default(),
            };
            let features = compute_features(&history, as_of).values;
            let age = config.end_date.year() - i32::from(bundle.customer.birth_year.get());
            PopulationRow {
                customer: bundle.customer,
                features,
                defaulted: bundle.truth.defaulted_next_12m,
                propensity: bundle.truth.default_propensity,
                age_years: u32::try_from(age).unwrap_or(0),
            }
        })
        .collect())
}

#[derive(Debug, Serialize)]
pub struct ModelQuality {
    pub model: String,
    pub fold_auc: Vec<f64>,
    pub auc_mean: f64,
    pub auc_sd: f64,
    pub ks_mean: f64,
    pub brier_mean: f64,
    /// Out-of-fold PD against the generator's true propensity (population only).
    pub propensity_pearson: Option<f64>,
    pub propensity_mean_abs_error: Option<f64>,
    pub mean_predicted_pd: f64,
    pub train_seconds_mean: f64,
}

#[derive(Debug, Serialize)]
pub struct ProfiledCreditEval {
    /// `synthetic population` or `Berka PKDD'99 loans`.
    pub data: String,
    pub rows: usize,
    pub positives: usize,
    pub features: usize,
    pub folds: usize,
    pub seed: u64,
    /// AUC of the true propensity on the drawn outcomes: the ceiling any model has.
    pub true_propensity_auc: Option<f64>,
    pub mean_true_propensity: Option<f64>,
    /// The published reference on the same task, where there is one.
    pub reference_auc: Option<f64>,
    pub reference: Option<String>,
    pub models: Vec<ModelQuality>,
}

fn quality(kind: CreditModelKind, report: &CvReport, propensity: Option<&[f64]>) -> ModelQuality {
    let oof = &report.out_of_fold;
    let n = oof.len() as f64;
    ModelQuality {
        model: kind.name().to_owned(),
        fold_auc: report.fold_auc.clone(),
        auc_mean: report.auc_mean,
        auc_sd: report.auc_sd,
        ks_mean: report.ks_mean,
        brier_mean: report.brier_mean,
        propensity_pearson: propensity.map(|p| pearson(oof, p)),
        propensity_mean_abs_error: propensity
            .map(|p| oof.iter().zip(p).map(|(a, b)| (a - b).abs()).sum::<f64>() / n),
        mean_predicted_pd: oof.iter().sum::<f64>() / n,
        train_seconds_mean: report.train_seconds_mean,
    }
}

fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma).powi(2);
        sbb += (y - mb).powi(2);
    }
    sab / (saa * sbb).sqrt().max(f64::MIN_POSITIVE)
}

pub struct ProfiledEvalOptions {
    pub models: Vec<CreditModelKind>,
    pub folds: usize,
    pub seed: u64,
}

pub fn eval_population(
    customers: u64,
    months: u32,
    options: &ProfiledEvalOptions,
) -> anyhow::Result<ProfiledCreditEval> {
    eprintln!("generating and profiling {customers} customers x {months} months");
    let rows = population_rows(customers, months, options.seed)?;
    let features: Vec<Vec<f64>> = rows.iter().map(|r| r.features.clone()).collect();
    let y: Vec<bool> = rows.iter().map(|r| r.defaulted).collect();
    let propensity: Vec<f64> = rows.iter().map(|r| r.propensity).collect();
    let mut eval = evaluate(
        "synthetic population",
        &features,
        &y,
        Some(&propensity),
        options,
    )?;
    eval.true_propensity_auc = Some(roc_auc(&propensity, &y));
    eval.mean_true_propensity = Some(propensity.iter().sum::<f64>() / propensity.len() as f64);
    Ok(eval)
}

pub fn eval_berka(dir: &Path, options: &ProfiledEvalOptions) -> anyhow::Result<ProfiledCreditEval> {
    let (features, y) = crate::evals::berka::profiled(dir)?;
    let mut eval = evaluate(
        "Berka PKDD'99 loans (status B or D bad)",
        &features,
        &y,
        None,
        options,
    )?;
    eval.reference_auc = Some(0.900);
    eval.reference = Some(
        "logistic regression on pre-loan transaction aggregates, 0.900 +- 0.046 (SOURCES.md)"
            .into(),
    );
    Ok(eval)
}

fn evaluate(
    name: &str,
    features: &[Vec<f64>],
    y: &[bool],
    propensity: Option<&[f64]>,
    options: &ProfiledEvalOptions,
) -> anyhow::Result<ProfiledCreditEval> {
    let table = credit_table(features);
    let mut models = Vec::new();
    for &kind in &options.models {
        eprintln!("cross-validating the {} on {} rows", kind.name(), y.len());
        let report = cross_validate(
            &table,
            y,
            &FitOptions::new(kind, options.seed),
            options.folds,
            options.seed,
        )?;
        models.push(quality(kind, &report, propensity));
    }
    Ok(ProfiledCreditEval {
        data: name.to_owned(),
        rows: y.len(),
        positives: y.iter().filter(|&&b| b).count(),
        features: table.columns.len(),
        folds: options.folds,
        seed: options.seed,
        true_propensity_auc: None,
        mean_true_propensity: None,
        reference_auc: None,
        reference: None,
        models,
    })
}

impl Report for ProfiledCreditEval {
    fn print_table(&self) {
        let e = self;
        println!(
            "{}: {} rows ({} positive, {:.1}%), {} credit features from profiling, {}-fold stratified CV, seed {}",
            e.data,
            e.rows,
            e.positives,
            100.0 * e.positives as f64 / e.rows.max(1) as f64,
            e.features,
            e.folds,
            e.seed
        );
        if let (Some(auc), Some(mean)) = (e.true_propensity_auc, e.mean_true_propensity) {
            println!("true default propensity: AUC {auc:.4} on the drawn outcomes (the ceiling), mean {mean:.4}");
        }
        if let Some(reference) = &e.reference {
            println!("reference: {reference}");
        }
        println!();
        println!(
            "{:<10} {:>16} {:>7} {:>7} {:>9} {:>12} {:>12} {:>7}  fold AUC",
            "model", "AUC mean +- sd", "KS", "Brier", "mean PD", "r(PD,true)", "|PD-true|", "fit s"
        );
        for m in &e.models {
            let folds: Vec<String> = m.fold_auc.iter().map(|a| format!("{a:.3}")).collect();
            let opt = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.4}"));
            println!(
                "{:<10} {:>8.4} +- {:.4} {:>7.3} {:>7.4} {:>9.4} {:>12} {:>12} {:>7.2}  {}",
                m.model,
                m.auc_mean,
                m.auc_sd,
                m.ks_mean,
                m.brier_mean,
                m.mean_predicted_pd,
                opt(m.propensity_pearson),
                opt(m.propensity_mean_abs_error),
                m.train_seconds_mean,
                folds.join(" ")
            );
        }
    }
}
