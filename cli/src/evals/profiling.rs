//! `sextant eval profiling`: the quality of the profiling pipeline, measured on held-out data.
//!
//! - Persona recovery: a synthetic population (ground truth from `sextant-synth`) is split
//!   80/20 by customer; the embedding model trains on the 80% without labels; k-means with
//!   k = number of personas on the held-out 20% is scored against the true personas by the
//!   adjusted Rand index and NMI, next to the baseline of standardised raw features + k-means.
//! - Risk level: quadratic-weighted kappa of the assessed C1..C5 against the true tolerance.
//! - Berka (optional): 5-fold stratified AUC of a logistic model on the profile features of
//!   354 real loans (bad = B or D), reference 0.900 +- 0.046 with hand-made aggregates.

use std::path::PathBuf;

use chrono::{TimeZone, Utc};
use ndarray::{ArrayView1, ArrayView2, Axis};
use rayon::prelude::*;
use serde::Serialize;
use sextant_models::embedding::{EmbeddingConfig, EmbeddingModel, TrainingData};
use sextant_models::evaluation::{mean_sd, roc_auc, stratified_kfold};
use sextant_models::linear::{LogisticRegression, Standardizer};
use sextant_models::matrix::from_rows;
use sextant_profiling::metrics::{
    adjusted_rand_index, normalized_mutual_info, quadratic_weighted_kappa,
};
use sextant_profiling::segments::kmeans;
use sextant_profiling::FEATURE_VERSION;
use sextant_services::pipeline::{compute, Computed};
use sextant_store::History;
use sextant_synth::{generate_customer, Config, Persona};

use crate::output::Report;

pub struct ProfilingOptions {
    pub customers: u64,
    pub months: u32,
    pub seed: u64,
    pub berka: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
pub struct Clustering {
    pub adjusted_rand_index: f64,
    pub normalized_mutual_info: f64,
}

#[derive(Debug, Serialize)]
pub struct PersonaRecovery {
    pub k: usize,
    pub train_customers: usize,
    pub held_out_customers: usize,
    pub embedding: Clustering,
    pub baseline_raw_features: Clustering,
    pub embedding_beats_baseline: bool,
    pub embedding_training_seconds: f64,
    pub embedding_validation_loss: f64,
}

#[derive(Debug, Serialize)]
pub struct RiskAgreement {
    pub customers: usize,
    pub quadratic_weighted_kappa: f64,
    pub exact_agreement: f64,
    pub within_one_level: f64,
    /// Rows: true C1..C5; columns: assessed C1..C5.
    pub confusion: Vec<Vec<u64>>,
}

#[derive(Debug, Serialize)]
pub struct BerkaAuc {
    pub loans: usize,
    pub bad_loans: usize,
    pub features: usize,
    pub fold_auc: Vec<f64>,
    /// The L2 penalty (per row) chosen by inner cross-validation in each outer fold.
    pub chosen_l2: Vec<f64>,
    pub auc_mean: f64,
    pub auc_sd: f64,
    pub reference_auc_mean: f64,
    pub reference_auc_sd: f64,
}

#[derive(Debug, Serialize)]
pub struct ProfilingEval {
    pub customers: u64,
    pub months: u32,
    pub seed: u64,
    pub feature_version: u32,
    pub persona_recovery: PersonaRecovery,
    pub risk_level: RiskAgreement,
    pub berka: Option<BerkaAuc>,
}

/// Best of a few k-means restarts (lowest inertia), so neither method loses to a bad seed.
fn cluster(data: &[Vec<f32>], k: usize, seed: u64) -> Vec<usize> {
    (0..4)
        .map(|r| kmeans(data, k, seed.wrapping_add(r), 200))
        .min_by(|a, b| a.inertia.total_cmp(&b.inertia))
        .expect("four restarts")
        .assignments
}

fn scores(found: &[usize], truth: &[usize]) -> Clustering {
    Clustering {
        adjusted_rand_index: adjusted_rand_index(found, truth),
        normalized_mutual_info: normalized_mutual_info(found, truth),
    }
}

fn as_f32(values: &[f64]) -> Vec<f32> {
    values.iter().map(|&v| v as f32).collect()
}

/// How the assessed risk levels agree with the generator's true ones.
fn risk_agreement(true_levels: &[u8], assessed: &[u8]) -> RiskAgreement {
    let mut confusion = vec![vec![0u64; 5]; 5];
    for (t, a) in true_levels.iter().zip(assessed) {
        confusion[usize::from(*t - 1)][usize::from(*a - 1)] += 1;
    }
    let n = true_levels.len() as f64;
    RiskAgreement {
        customers: true_levels.len(),
        quadratic_weighted_kappa: quadratic_weighted_kappa(true_levels, assessed, 5),
        exact_agreement: true_levels
            .iter()
            .zip(assessed)
            .filter(|(t, a)| t == a)
            .count() as f64
            / n,
        within_one_level: true_levels
            .iter()
            .zip(assessed)
            .filter(|(t, a)| t.abs_diff(**a) <= 1)
            .count() as f64
            / n,
        confusion,
    }
}

pub async fn profiling(options: &ProfilingOptions) -> anyhow::Result<ProfilingEval> {
    let config = Config {
        customers: options.customers,
        months: options.months,
        seed: options.seed,
        end_date: Config::DEFAULT_END_DATE,
    };
    config.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
    let as_of =
        Utc.from_utc_datetime(&config.end_date.and_hms_opt(23, 59, 59).expect("valid time"));
    eprintln!(
        "generating and profiling {} customers x {} months",
        options.customers, options.months
    );
    let rates = std::sync::Arc::new(sextant_synth::fx::rate_table_for(&config));
    let rows: Vec<(Computed, usize, u8, Vec<f32>)> = (0..options.customers)
        .into_par_iter()
        .map(|index| {
            let bundle = generate_customer(&config, index);
            let history = History {
                customer: bundle.customer,
                payments: bundle.payments,
                behaviour: bundle.behaviour,
                holdings: bundle.holdings,
                rates: rates.clone(),
                loyalty: Default::default(),
            };
            let persona = Persona::ALL
                .iter()
                .position(|p| *p == bundle.truth.persona)
                .expect("a known persona");
            let adoption = sextant_domain::default_catalogue()
                .iter()
                .map(|p| {
                    f32::from(u8::from(
                        history.holdings.iter().any(|h| h.product_id == p.id),
                    ))
                })
                .collect();
            (
                compute(&history, as_of, None),
                persona,
                bundle.truth.risk_tolerance.get(),
                adoption,
            )
        })
        .collect();

    // Customers are generated independently, so a split by index is a random split.
    let split = rows.len() * 4 / 5;
    let (train, test) = rows.split_at(split);
    let data = TrainingData {
        features: train
            .iter()
            .map(|r| as_f32(&r.0.profile.features))
            .collect(),
        sequences: train.iter().map(|r| r.0.sequence.clone()).collect(),
        adoption: Some(train.iter().map(|r| r.3.clone()).collect()),
    };
    eprintln!(
        "training the embedding model on {} customers",
        data.features.len()
    );
    let model_config = EmbeddingConfig {
        seed: options.seed,
        ..EmbeddingConfig::default()
    };
    let (model, report) = EmbeddingModel::train(&data, &model_config, FEATURE_VERSION)?;
    let test_features: Vec<Vec<f32>> = test.iter().map(|r| as_f32(&r.0.profile.features)).collect();
    let test_sequences: Vec<Vec<f32>> = test.iter().map(|r| r.0.sequence.clone()).collect();
    let embeddings = model.embed(&test_features, &test_sequences)?;
    let truth: Vec<usize> = test.iter().map(|r| r.1).collect();
    let k = Persona::ALL.len();
    let embedding = scores(&cluster(&embeddings, k, options.seed), &truth);

    let train_features: Vec<Vec<f64>> =
        train.iter().map(|r| r.0.profile.features.clone()).collect();
    let standardizer = Standardizer::fit(from_rows(&train_features)?.view());
    let raw: Vec<Vec<f32>> = test
        .iter()
        .map(|r| as_f32(&standardizer.transform(&r.0.profile.features)))
        .collect();
    let baseline = scores(&cluster(&raw, k, options.seed), &truth);

    let assessed: Vec<u8> = rows.iter().map(|r| r.0.assessment.level.get()).collect();
    let true_levels: Vec<u8> = rows.iter().map(|r| r.2).collect();
    let risk_level = risk_agreement(&true_levels, &assessed);

    let berka = match &options.berka {
        Some(dir) => Some(berka_auc(dir)?),
        None => None,
    };
    Ok(ProfilingEval {
        customers: options.customers,
        months: options.months,
        seed: options.seed,
        feature_version: FEATURE_VERSION,
        persona_recovery: PersonaRecovery {
            k,
            train_customers: train.len(),
            held_out_customers: test.len(),
            embedding_beats_baseline: embedding.adjusted_rand_index > baseline.adjusted_rand_index
                && embedding.normalized_mutual_info > baseline.normalized_mutual_info,
            embedding,
            baseline_raw_features: baseline,
            embedding_training_seconds: report.seconds,
            embedding_validation_loss: report.validation_loss,
        },
        risk_level,
        berka,
    })
}

/// Profile features of the Berka loans (as of each loan date), logistic regression,
/// stratified 5-fold cross-validation with seed 42, standardised within each fold, the L2
/// penalty chosen by nested cross-validation.
fn berka_auc(dir: &std::path::Path) -> anyhow::Result<BerkaAuc> {
    let (rows, y) = crate::evals::berka::profiled(dir)?;
    let x = from_rows(&rows)?;
    let mut fold_auc = Vec::new();
    let mut chosen_l2 = Vec::new();
    for (train, test) in stratified_kfold(&y, 5, 42) {
        // The penalty is chosen inside the training folds only (nested CV), so the outer
        // test fold never influences the model it scores.
        let l2 = choose_l2(x.view(), &y, &train)?;
        // Near-separable folds may not converge at a weak penalty: take the next stronger.
        let (l2, model) = L2_GRID
            .iter()
            .filter(|&&candidate| candidate >= l2)
            .find_map(|&candidate| {
                FittedLogistic::fit(x.view(), &y, &train, candidate)
                    .ok()
                    .map(|m| (candidate, m))
            })
            .ok_or_else(|| anyhow::anyhow!("no penalty of the grid converged on an outer fold"))?;
        chosen_l2.push(l2);
        let scores: Vec<f64> = test.iter().map(|&i| model.score(x.row(i))).collect();
        let labels: Vec<bool> = test.iter().map(|&i| y[i]).collect();
        fold_auc.push(roc_auc(&scores, &labels));
    }
    let (auc_mean, auc_sd) = mean_sd(&fold_auc);
    Ok(BerkaAuc {
        loans: y.len(),
        bad_loans: y.iter().filter(|&&b| b).count(),
        features: x.ncols(),
        fold_auc,
        chosen_l2,
        auc_mean,
        auc_sd,
        reference_auc_mean: 0.900,
        reference_auc_sd: 0.046,
    })
}

/// Penalties tried: from about sklearn's C = 1 at this size (1/n) to strong shrinkage.
const L2_GRID: [f64; 6] = [0.003, 0.01, 0.03, 0.1, 0.3, 1.0];

/// A logistic model with the standardiser fitted on its training rows.
struct FittedLogistic {
    scaler: Standardizer,
    model: LogisticRegression,
}

impl FittedLogistic {
    fn fit(x: ArrayView2<f64>, y: &[bool], rows: &[usize], l2: f64) -> anyhow::Result<Self> {
        let train = x.select(Axis(0), rows);
        let scaler = Standardizer::fit(train.view());
        let train_x = scaler.transform_rows(train.view());
        let train_y: Vec<bool> = rows.iter().map(|&i| y[i]).collect();
        Ok(FittedLogistic {
            model: LogisticRegression::fit(train_x.view(), &train_y, l2)?,
            scaler,
        })
    }

    fn score(&self, row: ArrayView1<f64>) -> f64 {
        self.model
            .predict_proba(&self.scaler.transform(&row.to_vec()))
    }
}

/// The penalty with the best mean AUC over 4 inner stratified folds of `rows`.
fn choose_l2(x: ArrayView2<f64>, y: &[bool], rows: &[usize]) -> anyhow::Result<f64> {
    let inner_y: Vec<bool> = rows.iter().map(|&i| y[i]).collect();
    let folds = stratified_kfold(&inner_y, 4, 7);
    let mut best = (f64::NEG_INFINITY, L2_GRID[L2_GRID.len() - 1]);
    for l2 in L2_GRID {
        let mut aucs = Vec::new();
        for (train, test) in &folds {
            let train: Vec<usize> = train.iter().map(|&j| rows[j]).collect();
            // A penalty too weak to converge on this data is not a candidate.
            let Ok(model) = FittedLogistic::fit(x, y, &train, l2) else {
                aucs.clear();
                break;
            };
            let scores: Vec<f64> = test.iter().map(|&j| model.score(x.row(rows[j]))).collect();
            let labels: Vec<bool> = test.iter().map(|&j| y[rows[j]]).collect();
            aucs.push(roc_auc(&scores, &labels));
        }
        if aucs.is_empty() {
            continue;
        }
        let mean = aucs.iter().sum::<f64>() / aucs.len() as f64;
        if mean > best.0 {
            best = (mean, l2);
        }
    }
    Ok(best.1)
}

impl Report for ProfilingEval {
    fn print_table(&self) {
        let e = self;
        let p = &e.persona_recovery;
        println!(
            "Profiling quality: {} synthetic customers x {} months, seed {}, feature version {}",
            e.customers, e.months, e.seed, e.feature_version
        );
        println!();
        println!("Persona recovery on {} held-out customers (k-means, k = {} personas; model trained on {}):", p.held_out_customers, p.k, p.train_customers);
        println!("{:<36} {:>8} {:>8}", "representation", "ARI", "NMI");
        println!(
            "{:<36} {:>8.3} {:>8.3}",
            "learned embeddings",
            p.embedding.adjusted_rand_index,
            p.embedding.normalized_mutual_info
        );
        println!(
            "{:<36} {:>8.3} {:>8.3}",
            "standardised raw features (baseline)",
            p.baseline_raw_features.adjusted_rand_index,
            p.baseline_raw_features.normalized_mutual_info
        );
        println!(
            "embeddings beat the baseline: {}",
            if p.embedding_beats_baseline {
                "yes"
            } else {
                "NO"
            }
        );
        println!(
            "(embedding training {:.1}s, validation loss {:.4})",
            p.embedding_training_seconds, p.embedding_validation_loss
        );
        println!();
        let r = &e.risk_level;
        println!(
            "Risk level C1..C5 vs true tolerance ({} customers, willingness from behaviour):",
            r.customers
        );
        println!(
            "  quadratic-weighted kappa {:.3}   exact {:.1}%   within one level {:.1}%",
            r.quadratic_weighted_kappa,
            r.exact_agreement * 100.0,
            r.within_one_level * 100.0
        );
        println!("  true \\ assessed   C1     C2     C3     C4     C5");
        for (i, row) in r.confusion.iter().enumerate() {
            println!(
                "  C{}            {}",
                i + 1,
                row.iter()
                    .map(|c| format!("{c:>6}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
        }
        if let Some(b) = &e.berka {
            println!();
            println!("Berka loans ({} loans, {} bad; {} profile features; logistic regression, stratified 5-fold, seed 42):", b.loans, b.bad_loans, b.features);
            println!(
                "  AUC {:.3} +- {:.3}   (reference with hand-made aggregates {:.3} +- {:.3})",
                b.auc_mean, b.auc_sd, b.reference_auc_mean, b.reference_auc_sd
            );
            println!(
                "  folds: {}",
                b.fold_auc
                    .iter()
                    .map(|a| format!("{a:.3}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            println!(
                "  L2 penalty chosen by inner 4-fold CV per outer fold: {}",
                b.chosen_l2
                    .iter()
                    .map(|l| format!("{l}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
        }
    }
}
