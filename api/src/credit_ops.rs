//! Credit operations on the service's own data: training the decision model on the stored
//! profiles of the population (`sextant credit train --population`), and replaying a
//! recorded decision (`sextant credit replay`).

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use sextant_domain::CustomerId;
use sextant_models::credit::{
    cross_validate, CreditModel, CreditModelKind, CvMetrics, FitOptions, TrainingInfo,
};
use sextant_models::tabular::{Column, ColumnData, Table};
use sextant_profiling::{catalogue, FEATURE_VERSION};

use sextant_lending::{credit_features, DecisionInputs};

use crate::lending::{decide_with, load_model};
use crate::store::{Store, StoredCreditModel};

/// Folds of the cross-validation whose figures are stored with a trained model (fewer when a
/// class has fewer rows).
pub const TRAIN_FOLDS: usize = 5;

#[derive(Deserialize)]
struct TruthLine {
    customer_id: String,
    default_propensity: f64,
    defaulted_next_12m: bool,
}

/// The synthetic population's default outcomes and propensities, by customer id.
pub fn read_truth(path: &Path) -> anyhow::Result<HashMap<String, (bool, f64)>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut truth = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let t: TruthLine =
            serde_json::from_str(line).with_context(|| format!("{}:{}", path.display(), i + 1))?;
        truth.insert(t.customer_id, (t.defaulted_next_12m, t.default_propensity));
    }
    Ok(truth)
}

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

/// Trains the decision model on every stored profile of the current layout that the truth
/// file labels, records the cross-validated figures with it, stores it and activates it.
pub async fn train_population(
    store: &dyn Store,
    truth_file: &Path,
    kind: CreditModelKind,
    seed: u64,
    actor: &str,
) -> anyhow::Result<PopulationTraining> {
    let truth = read_truth(truth_file)?;
    let (mut rows, mut y, mut propensity) = (Vec::new(), Vec::new(), Vec::new());
    let mut after: Option<CustomerId> = None;
    loop {
        let page = store.profiles(after.as_ref(), 500).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.customer_id.clone());
        for p in page {
            if p.feature_version != FEATURE_VERSION {
                continue;
            }
            if let Some(&(defaulted, prop)) = truth.get(p.customer_id.as_str()) {
                rows.push(p.features);
                y.push(defaulted);
                propensity.push(prop);
            }
        }
    }
    let defaults = y.iter().filter(|&&b| b).count();
    // Small populations (a quick demo) get fewer folds; fewer than 2 of a class cannot be
    // cross-validated at all.
    let folds = TRAIN_FOLDS.min(defaults).min(y.len() - defaults);
    anyhow::ensure!(
        folds >= 2,
        "{} profiled customers with {defaults} defaults in {}: too few of each outcome to train a credit model",
        y.len(),
        truth_file.display()
    );
    let table = credit_table(&rows);
    let options = FitOptions::new(kind, seed);
    let y2 = y.clone();
    let table2 = table.clone();
    let options2 = options.clone();
    let cv =
        tokio::task::spawn_blocking(move || cross_validate(&table2, &y2, &options2, folds, seed))
            .await??;
    let info = TrainingInfo {
        source: format!("population profiles labelled by {}", truth_file.display()),
        data_sha256: sextant_hash::sha256_hex(&table_bytes(&rows, &y)),
        trained_at: Utc::now().to_rfc3339(),
        target: "defaulted_next_12m".into(),
        positive_label: "true".into(),
    };
    let started = Instant::now();
    let (table3, y3) = (table.clone(), y.clone());
    let mut model =
        tokio::task::spawn_blocking(move || CreditModel::fit(&table3, &y3, &options, info))
            .await??;
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
                actor: actor.to_owned(),
                metrics: serde_json::to_value(&model.meta().metrics)?,
                artifact: String::from_utf8(model.to_json())?,
            },
            true,
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

pub fn print_population_training(t: &PopulationTraining) {
    println!(
        "credit model {} ({}) trained on {} profiled customers ({} defaults, {} features)",
        t.model_version,
        t.kind.name(),
        t.customers,
        t.defaults,
        t.features
    );
    println!(
        "  {}-fold CV: AUC {:.4} +- {:.4}, KS {:.3}, Brier {:.4} (true propensity's AUC {:.4}); fit {:.2} s; active",
        t.cv_folds,
        t.cv_auc_mean,
        t.cv_auc_sd,
        t.cv_ks_mean,
        t.cv_brier_mean,
        t.true_propensity_auc,
        t.fit_seconds
    );
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
pub async fn replay(store: &dyn Store, decision_id: &str) -> anyhow::Result<Replay> {
    let record = store
        .credit_decision(decision_id)
        .await?
        .with_context(|| format!("no credit decision {decision_id}"))?;
    let stored = store
        .credit_model(&record.model_version)
        .await?
        .with_context(|| format!("credit model {} is not stored", record.model_version))?;
    let model = load_model(&stored)?;
    let inputs: DecisionInputs = serde_json::from_value(record.inputs.clone())
        .with_context(|| format!("the inputs of {decision_id} do not parse"))?;
    let decision = decide_with(&model, &inputs).map_err(|e| anyhow::anyhow!("{e}"))?;
    let replayed = serde_json::to_value(&decision)?;
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

pub fn print_replay(r: &Replay) {
    println!("decision      {} ({})", r.decision_id, r.kind);
    println!("customer      {}", r.customer_id);
    println!("decided at    {}", r.decided_at);
    println!("model         {}", r.model_version);
    println!("policy        {}", r.policy_version);
    println!(
        "outcome       recorded {}, replayed {}",
        r.recorded_outcome, r.replayed_outcome
    );
    if r.identical {
        println!("replay        identical (every rule, reason, figure and schedule line)");
    } else {
        println!("replay        DIFFERS at {} place(s):", r.differences.len());
        for d in &r.differences {
            println!("  {d}");
        }
    }
}

/// What the demo's credit check found over the whole population.
#[derive(Debug, Default, Serialize)]
pub struct DemoCredit {
    pub model_version: String,
    pub customers: usize,
    pub quote_amount_minor: i64,
    pub quotes_approved: usize,
    pub quotes_declined: usize,
    /// Customers per band (`none` above the last cut-off).
    pub bands: Vec<(String, usize)>,
    /// How often each reason code was given, most frequent first.
    pub decline_reasons: Vec<(String, usize)>,
    /// Declines without a reason or with more than four: must be zero.
    pub declines_without_valid_reasons: usize,
    /// One quote recorded and replayed, to show the record reproduces the decision.
    pub recorded_quote_id: Option<String>,
    pub recorded_quote_replays_identically: bool,
}

/// Asks for an instalment quote of `amount_minor` for every profiled customer (decided, not
/// recorded), tallies outcomes and reasons, then records one real quote and replays it.
pub async fn demo_credit(state: &crate::AppState, amount_minor: i64) -> anyhow::Result<DemoCredit> {
    use sextant_lending::{CreditRequest, Outcome};
    let lending = state.lending().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let today = Utc::now().date_naive();
    let mut report = DemoCredit {
        model_version: lending.model_version().to_owned(),
        quote_amount_minor: amount_minor,
        ..DemoCredit::default()
    };
    let mut bands = std::collections::BTreeMap::<String, usize>::new();
    let mut reasons = std::collections::BTreeMap::<String, usize>::new();
    let mut first: Option<CustomerId> = None;
    let mut after: Option<CustomerId> = None;
    loop {
        let page = state.store.profiles(after.as_ref(), 500).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.customer_id.clone());
        for profile in page {
            let Some(customer) = state.store.customer(&profile.customer_id).await? else {
                continue;
            };
            let inputs = lending.inputs(
                &customer.customer,
                &profile.features,
                profile.as_of,
                CreditRequest::Instalment {
                    amount_minor,
                    merchant: "m-demo".into(),
                },
                today,
            );
            let decision =
                decide_with(&lending.model, &inputs).map_err(|e| anyhow::anyhow!("{e}"))?;
            report.customers += 1;
            *bands
                .entry(decision.band.clone().unwrap_or_else(|| "none".into()))
                .or_default() += 1;
            match decision.outcome {
                Outcome::Approved => {
                    report.quotes_approved += 1;
                    first.get_or_insert(profile.customer_id.clone());
                }
                Outcome::Declined => {
                    report.quotes_declined += 1;
                    if decision.reasons.is_empty() || decision.reasons.len() > 4 {
                        report.declines_without_valid_reasons += 1;
                    }
                    for r in &decision.reasons {
                        *reasons.entry(r.code.clone()).or_default() += 1;
                    }
                }
            }
        }
    }
    report.bands = bands.into_iter().collect();
    let mut reasons: Vec<(String, usize)> = reasons.into_iter().collect();
    reasons.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    report.decline_reasons = reasons;
    if let Some(id) = first {
        let quote_id = format!("cq_demo_{}", Utc::now().timestamp_millis());
        let (_, record) = crate::lending::decide_for(
            state,
            "demo",
            &id,
            CreditRequest::Instalment {
                amount_minor,
                merchant: "m-demo".into(),
            },
            "instalment_quote",
            &quote_id,
            Some(chrono::Duration::minutes(crate::lending::QUOTE_TTL_MINUTES)),
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        state.store.record_credit_decision(&record, None).await?;
        report.recorded_quote_replays_identically =
            replay(state.store.as_ref(), &quote_id).await?.identical;
        report.recorded_quote_id = Some(quote_id);
    }
    Ok(report)
}

pub fn print_demo_credit(d: &DemoCredit) {
    println!(
        "  instalment quote of {:.2} EUR for each of {} customers (model {}): {} approved, {} declined",
        d.quote_amount_minor as f64 / 100.0,
        d.customers,
        d.model_version,
        d.quotes_approved,
        d.quotes_declined
    );
    let bands: Vec<String> = d.bands.iter().map(|(b, n)| format!("{b} {n}")).collect();
    println!("  risk bands: {}", bands.join(", "));
    let reasons: Vec<String> = d
        .decline_reasons
        .iter()
        .take(8)
        .map(|(c, n)| format!("{c} {n}"))
        .collect();
    println!("  most frequent decline reasons: {}", reasons.join(", "));
    if let Some(id) = &d.recorded_quote_id {
        println!(
            "  quote {id} recorded; `sextant credit replay {id}`: {}",
            if d.recorded_quote_replays_identically {
                "identical"
            } else {
                "DIFFERS"
            }
        );
    }
}
