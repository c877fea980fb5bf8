//! Credit operations on the service's own data: training the decision model on the stored
//! profiles of a population whose outcomes are known, and replaying a recorded decision.

use std::collections::HashMap;
use std::time::Instant;

use chrono::Utc;
use serde::Serialize;
use sextant_domain::CustomerId;
use sextant_lending::{credit_features, DecisionInputs};
use sextant_models::credit::{
    cross_validate, CreditModel, CreditModelKind, CvMetrics, FitOptions, TrainingInfo,
};
use sextant_models::tabular::{Column, ColumnData, Table};
use sextant_profiling::{catalogue, FEATURE_VERSION};
use sextant_store::{Actor, Store, StoredCreditModel, PAGE_MAX};

use super::{decide_with, load_model};
use crate::{Result, ServiceError};

/// Folds of the cross-validation whose figures are stored with a trained model (fewer when a
/// class has fewer rows).
pub const TRAIN_FOLDS: usize = 5;

/// A table of the credit features (numeric columns) from full profiling feature rows.
pub fn credit_table(rows: &[Vec<f64>]) -> Table {
    let names: Vec<&str> = catalogue().iter().map(|s| s.name).collect();
    let columns = credit_features()
        .into_iter()
        .map(|name| {
            let at = names
                .iter()
                .position(|n| *n == name)
                .expect("credit features are catalogue features");
            Column {
                name: name.to_owned(),
                data: ColumnData::Numeric(
                    rows.iter()
                        .map(|r| r.get(at).copied().unwrap_or(f64::NAN))
                        .collect(),
                ),
            }
        })
        .collect();
    Table { columns }
}

/// The bytes a table's hash is taken over: every value and label, in order.
fn table_bytes(rows: &[Vec<f64>], y: &[bool]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(rows.len() * 8 * rows.first().map_or(0, Vec::len));
    for (row, &label) in rows.iter().zip(y) {
        for v in row {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        bytes.push(u8::from(label));
    }
    bytes
}

#[derive(Debug, Serialize)]
pub struct PopulationTraining {
    pub model_version: String,
    pub kind: CreditModelKind,
    pub customers: usize,
    pub defaults: usize,
    pub features: usize,
    pub cv_folds: usize,
    pub cv_auc_mean: f64,
    pub cv_auc_sd: f64,
    pub cv_ks_mean: f64,
    pub cv_brier_mean: f64,
    /// AUC of the true propensity on the same outcomes: the best any model could reach.
    pub true_propensity_auc: f64,
    pub fit_seconds: f64,
    pub activated: bool,
}

/// Observed outcomes of a population's customers: by customer id, whether they defaulted
/// and (for comparison only, never an input) their true default propensity.
pub struct Labels<'a> {
    pub outcomes: &'a HashMap<String, (bool, f64)>,
    /// Where the labels come from, as recorded with the model.
    pub source: &'a str,
}

/// The feature rows of every stored profile of the current layout that `outcomes` label,
/// with their outcomes and true propensities.
async fn labelled_profiles(
    store: &dyn Store,
    outcomes: &HashMap<String, (bool, f64)>,
) -> Result<(Vec<Vec<f64>>, Vec<bool>, Vec<f64>)> {
    let (mut rows, mut y, mut propensity) = (Vec::new(), Vec::new(), Vec::new());
    let mut after: Option<CustomerId> = None;
    loop {
        let page = store.profiles(after.as_ref(), PAGE_MAX).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.customer_id.clone());
        for p in page {
            if p.feature_version != FEATURE_VERSION {
                continue;
            }
            if let Some(&(defaulted, prop)) = outcomes.get(p.customer_id.as_str()) {
                rows.push(p.features);
                y.push(defaulted);
                propensity.push(prop);
            }
        }
    }
    Ok((rows, y, propensity))
}

/// Trains the decision model on every stored profile of the current layout that `labels`
/// cover, records the cross-validated figures with it, stores it and activates it.
pub async fn train_population(
    store: &dyn Store,
    labels: Labels<'_>,
    kind: CreditModelKind,
    seed: u64,
    by: &Actor,
) -> Result<PopulationTraining> {
    let (rows, y, propensity) = labelled_profiles(store, labels.outcomes).await?;
    let defaults = y.iter().filter(|&&b| b).count();
    // Small populations (a quick demo) get fewer folds; fewer than 2 of a class cannot be
    // cross-validated at all.
    let folds = TRAIN_FOLDS.min(defaults).min(y.len() - defaults);
    if folds < 2 {
        return Err(ServiceError::NotReady {
            code: "too_few_outcomes",
            message: format!(
                "{} profiled customers with {defaults} defaults in {}: too few of each outcome to train a credit model",
                y.len(),
                labels.source
            ),
        });
    }
    let table = credit_table(&rows);
    let options = FitOptions::new(kind, seed);
    let y2 = y.clone();
    let table2 = table.clone();
    let options2 = options.clone();
    let cv =
        tokio::task::spawn_blocking(move || cross_validate(&table2, &y2, &options2, folds, seed))
            .await
            .map_err(ServiceError::internal)?
            .map_err(|e| ServiceError::internal(format!("credit model: {e}")))?;
    let info = TrainingInfo {
        source: format!("population profiles labelled by {}", labels.source),
        data_sha256: sextant_hash::sha256_hex(&table_bytes(&rows, &y)),
        trained_at: Utc::now().to_rfc3339(),
        target: "defaulted_next_12m".into(),
        positive_label: "true".into(),
    };
    let started = Instant::now();
    let (table3, y3) = (table.clone(), y.clone());
    let mut model =
        tokio::task::spawn_blocking(move || CreditModel::fit(&table3, &y3, &options, info))
            .await
            .map_err(ServiceError::internal)?
            .map_err(|e| ServiceError::internal(format!("credit model: {e}")))?;
    let fit_seconds = started.elapsed().as_secs_f64();
    model.set_metrics(CvMetrics {
        folds,
        seed,
        auc_mean: cv.auc_mean,
        auc_sd: cv.auc_sd,
        ks_mean: cv.ks_mean,
        brier_mean: cv.brier_mean,
    });
    let version = model.meta().model_version.clone();
    store
        .put_credit_model(
            &StoredCreditModel {
                version: version.clone(),
                kind: kind.name().into(),
                created_at: Utc::now(),
                actor: by.id.clone(),
                metrics: serde_json::to_value(&model.meta().metrics)
                    .map_err(ServiceError::internal)?,
                artifact: String::from_utf8(model.to_json()).map_err(ServiceError::internal)?,
            },
            true,
            by,
        )
        .await?;
    Ok(PopulationTraining {
        model_version: version,
        kind,
        customers: y.len(),
        defaults: y.iter().filter(|&&b| b).count(),
        features: table.columns.len(),
        cv_folds: folds,
        cv_auc_mean: cv.auc_mean,
        cv_auc_sd: cv.auc_sd,
        cv_ks_mean: cv.ks_mean,
        cv_brier_mean: cv.brier_mean,
        true_propensity_auc: sextant_models::evaluation::roc_auc(&propensity, &y),
        fit_seconds,
        activated: true,
    })
}

#[derive(Debug, Serialize)]
pub struct Replay {
    pub decision_id: String,
    pub kind: String,
    pub customer_id: String,
    pub decided_at: String,
    pub model_version: String,
    pub policy_version: String,
    pub recorded_outcome: String,
    pub replayed_outcome: String,
    /// The replayed decision serialises to exactly the recorded one.
    pub identical: bool,
    /// JSON paths where they differ (empty when identical).
    pub differences: Vec<String>,
}

/// Decides again from the recorded inputs with the recorded model version and compares.
pub async fn replay(store: &dyn Store, decision_id: &str) -> Result<Replay> {
    let record = store
        .credit_decision(decision_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let stored = store
        .credit_model(&record.model_version)
        .await?
        .ok_or_else(|| {
            ServiceError::internal(format!(
                "credit model {} is not stored",
                record.model_version
            ))
        })?;
    let model = load_model(&stored)?;
    let inputs: DecisionInputs = serde_json::from_value(record.inputs.clone()).map_err(|e| {
        ServiceError::internal(format!("the inputs of {decision_id} do not parse: {e}"))
    })?;
    let decision = decide_with(&model, &inputs)?;
    let replayed = serde_json::to_value(&decision).map_err(ServiceError::internal)?;
    let mut differences = Vec::new();
    diff("", &record.output, &replayed, &mut differences);
    Ok(Replay {
        decision_id: record.id.clone(),
        kind: record.kind.clone(),
        customer_id: record.customer_id.to_string(),
        decided_at: record.created_at.to_rfc3339(),
        model_version: record.model_version.clone(),
        policy_version: record.policy_version.clone(),
        recorded_outcome: record.outcome.clone(),
        replayed_outcome: replayed["outcome"]
            .as_str()
            .unwrap_or_default()
            .to_lowercase(),
        identical: differences.is_empty(),
        differences,
    })
}

/// Paths where two JSON values differ, at most 20.
fn diff(path: &str, a: &serde_json::Value, b: &serde_json::Value, out: &mut Vec<String>) {
    use serde_json::Value;
    if out.len() >= 20 || a == b {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                diff(
                    &format!("{path}.{k}"),
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                diff(&format!("{path}[{i}]"), p, q, out);
            }
        }
        _ => out.push(format!("{path}: recorded {a}, replayed {b}")),
    }
}
