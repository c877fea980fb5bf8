//! The monitoring model in the live score: calibrated gradient boosting
//! ([`sextant_models::fraud::FraudModel`]) over each payment's features
//! ([`sextant_monitoring::features`]: the payment, its customer's windows and every
//! typology's score), trained on labelled payments, stored in the model registry and read
//! by live monitoring and by assessments ([`sextant_monitoring::decide`]).
//!
//! **Labels.** A payment is positive when the labels say it was fraud or laundering: the
//! synthetic population's ground truth (its planted payments), or the payments alerted in
//! cases compliance closed as `fraud` or `laundering_reported`. Every other payment of the
//! customers read is negative.
//!
//! **Training.** A seeded sample of customers (every payment of each, so that each
//! customer's windows are whole) is replayed in time order, the rows are put in time order
//! across customers, the earliest [`1 - TEST_SHARE`](TEST_SHARE) train (the model holds the
//! latest fifth of those out to stop early and to calibrate) and the latest
//! [`TEST_SHARE`] test: the figures stored with the model are the test's, and the model
//! stored is the one measured. The review threshold is the probability at which the
//! requested share of the test payments would be reviewed.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use ndarray::Array2;
use serde::{Deserialize, Serialize};
use sextant_domain::{CustomerId, PaymentEvent};
use sextant_models::evaluation::{average_precision, recall_at_share, roc_auc};
use sextant_models::fraud::FraudModel;
use sextant_monitoring::decision::REVIEW_AT;
use sextant_monitoring::features::{describe, detect_with_features, names, WIDTH};
use sextant_monitoring::{CustomerState, ModelScore, Params};
use sextant_store::{Actor, Store, StoredMonitoringModel};
use utoipa::ToSchema;

use crate::records::format_timestamp;
use crate::{Result, ServiceError};

/// The latest share of the rows, by time, that the figures are measured on.
pub const TEST_SHARE: f64 = 0.3;
/// Customers sampled for training by default.
pub const DEFAULT_CUSTOMERS: u64 = 4_000;
/// The share of payments the review threshold is set to review, by default: 0.1%, about
/// twice the planted share of the synthetic population (0.05%). Measured there
/// (`sextant monitoring eval-population --alert-rate 0.001`, 5,000 customers): 52% of the
/// alerted payments planted, 96% of the planted payments alerted, where 0.5% alerted half
/// the clean customers of several personas in a year.
pub const DEFAULT_ALERT_RATE: f64 = 0.001;
/// Customers whose payments are read at once.
const READ_PAGE: usize = 250;
/// How many features a model's reason names.
const REASON_FEATURES: usize = 3;
/// Dispositions that make an alerted payment a positive label.
const POSITIVE: [&str; 2] = ["fraud", "laundering_reported"];

/// A model as it serves: the calibrated trees and the review threshold, stored as JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServingModel {
    pub model: FraudModel,
    /// The probability from which a payment is reviewed (at most the policy's REVIEW_AT).
    pub review_at: f64,
}

/// A stored model version, read and checked.
#[derive(Debug, Clone)]
pub struct Served {
    pub version: String,
    pub serving: ServingModel,
    /// Where each of the model's features is in this release's row, when the model was
    /// trained on fewer features than it computes (features are only ever added, and a
    /// model finds its own by name); `None` when it reads the row as it is.
    columns: Option<Vec<usize>>,
}

impl Served {
    /// Reads a stored version; a model that does not parse or whose trees are unsound is
    /// an internal error (it was checked when stored).
    pub fn from_stored(stored: &StoredMonitoringModel) -> Result<Served> {
        let serving: ServingModel = serde_json::from_str(&stored.artifact).map_err(|e| {
            ServiceError::internal(format!("monitoring model {}: {e}", stored.version))
        })?;
        serving.model.check().map_err(|e| {
            ServiceError::internal(format!("monitoring model {}: {e}", stored.version))
        })?;
        let current = names();
        let columns = if serving.model.feature_names == current {
            None
        } else {
            let found: Option<Vec<usize>> = serving
                .model
                .feature_names
                .iter()
                .map(|name| current.iter().position(|c| c == name))
                .collect();
            Some(found.ok_or_else(|| {
                ServiceError::internal(format!(
                    "monitoring model {} reads features this release does not compute",
                    stored.version
                ))
            })?)
        };
        Ok(Served {
            version: stored.version.clone(),
            serving,
            columns,
        })
    }

    /// The calibrated probability alone, rounded as recorded: what live scoring needs for
    /// every payment (the reasons, a walk of every tree's path, only when it alerts).
    pub fn probability(&self, row: &[f64]) -> f64 {
        let mut gathered = Vec::new();
        let probability = self.serving.model.probability(self.own(row, &mut gathered));
        (probability * 1e6).round() / 1e6
    }

    /// The model's own features out of this release's row (gathered into `buffer` when the
    /// model reads fewer).
    fn own<'a>(&self, row: &'a [f64], buffer: &'a mut Vec<f64>) -> &'a [f64] {
        match &self.columns {
            None => row,
            Some(columns) => {
                buffer.extend(columns.iter().map(|&i| row[i]));
                buffer
            }
        }
    }

    /// The probability from which a payment is reviewed.
    pub fn review_at(&self) -> f64 {
        self.serving.review_at
    }

    /// The model's reading of a payment's feature row (as this release computes it).
    pub fn score(&self, row: &[f64]) -> ModelScore {
        let mut gathered = Vec::new();
        let row = self.own(row, &mut gathered);
        let model = &self.serving.model;
        let probability = model.probability(row);
        let mut raised: Vec<(f64, usize)> = model
            .contributions(row)
            .into_iter()
            .enumerate()
            .filter(|(_, c)| *c > 0.0)
            .map(|(i, c)| (c, i))
            .collect();
        raised.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        ModelScore {
            version: self.version.clone(),
            // Rounded so that the recorded reading is the decided one, whatever prints it.
            probability: (probability * 1e6).round() / 1e6,
            review_at: self.serving.review_at,
            reasons: raised
                .into_iter()
                .take(REASON_FEATURES)
                .map(|(_, i)| describe(&model.feature_names[i]))
                .collect(),
        }
    }
}

/// The model's reading in one sentence, for the reasons an assessment or an alert gives.
pub fn sentence(score: &ModelScore) -> String {
    let mut text = format!(
        "the monitoring model puts the chance of fraud or laundering at {:.1}%",
        100.0 * score.probability
    );
    if !score.reasons.is_empty() {
        text.push_str("; what raised it most: ");
        text.push_str(&score.reasons.join(", "));
    }
    text
}

/// The active model, if one was ever activated.
pub async fn active(store: &dyn Store) -> Result<Option<Arc<Served>>> {
    match store.active_monitoring_model().await? {
        Some(stored) => Ok(Some(Arc::new(Served::from_stored(&stored)?))),
        None => Ok(None),
    }
}

/// Labelled payments: which event ids are fraud or laundering.
pub struct PaymentLabels {
    /// Where they come from, as the report says it.
    pub source: String,
    pub positive: HashSet<String>,
}

/// The labels closed cases give: the payments alerted in cases closed as `fraud` or
/// `laundering_reported`.
pub async fn case_labels(store: &dyn Store) -> Result<PaymentLabels> {
    let positive = store
        .disposed_alert_events()
        .await?
        .into_iter()
        .filter(|(_, disposition)| POSITIVE.contains(&disposition.as_str()))
        .map(|(event, _)| event)
        .collect();
    Ok(PaymentLabels {
        source: "case dispositions".into(),
        positive,
    })
}

/// Feature rows of payments, with their labels, times and customers, as they are added.
#[derive(Default)]
pub struct Rows {
    values: Vec<f64>,
    labels: Vec<bool>,
    at_ms: Vec<i64>,
    customers: Vec<u32>,
    next_customer: u32,
}

impl Rows {
    /// Adds one customer's payments (in time order), each labelled by `positive`.
    pub fn add_customer<'a>(
        &mut self,
        payments: impl IntoIterator<Item = &'a PaymentEvent>,
        params: &Params,
        positive: impl Fn(&PaymentEvent) -> bool,
    ) {
        let mut state = CustomerState::default();
        for p in payments {
            let (_, row) = detect_with_features(&mut state, p, params);
            self.values.extend_from_slice(&row);
            self.labels.push(positive(p));
            self.at_ms.push(p.occurred_at.timestamp_millis());
            self.customers.push(self.next_customer);
        }
        self.next_customer += 1;
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    pub fn positives(&self) -> usize {
        self.labels.iter().filter(|l| **l).count()
    }
}

/// A model fitted and measured on the latest rows.
pub struct Fitted {
    pub serving: ServingModel,
    pub figures: ModelFigures,
}

/// What a model scored on the test rows (the latest [`TEST_SHARE`] by time).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ModelFigures {
    pub customers: u64,
    pub payments: u64,
    pub positive_payments: u64,
    pub train_payments: u64,
    pub test_payments: u64,
    pub test_positive_payments: u64,
    /// Trees kept after early stopping.
    pub trees: u64,
    pub features: u64,
    pub roc_auc: f64,
    pub pr_auc: f64,
    /// The share of payments the review threshold is set to review.
    pub alert_rate: f64,
    /// The probability from which a payment is reviewed.
    pub review_at: f64,
    /// Positive test payments among the highest-scored `alert_rate` of the test payments.
    pub recall_at_alert_rate: f64,
    /// Test payments at or above the review threshold that are positive.
    pub precision_at_review: f64,
    /// Test payments at or above the review threshold, per 1,000 customers a day.
    pub reviews_per_1000_customers_per_day: f64,
    pub fit_seconds: f64,
}

/// Fits a model on the earliest rows by time and measures it on the latest
/// [`TEST_SHARE`]; the review threshold reviews `alert_rate` of the test payments.
pub fn fit(rows: Rows, alert_rate: f64, seed: u64) -> Result<Fitted> {
    check_alert_rate(alert_rate)?;
    let started = std::time::Instant::now();
    let n = rows.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| (rows.at_ms[i], rows.customers[i], i));
    let mut values = Vec::with_capacity(rows.values.len());
    let mut labels = Vec::with_capacity(n);
    let mut at_ms = Vec::with_capacity(n);
    for &i in &order {
        values.extend_from_slice(&rows.values[i * WIDTH..(i + 1) * WIDTH]);
        labels.push(rows.labels[i]);
        at_ms.push(rows.at_ms[i]);
    }
    drop(rows.values);
    let cut = ((1.0 - TEST_SHARE) * n as f64).round() as usize;
    let train_positives = labels[..cut].iter().filter(|l| **l).count();
    let test_positives = labels[cut..].iter().filter(|l| **l).count();
    if train_positives == 0 || test_positives == 0 {
        return Err(ServiceError::invalid(
            "labels",
            "too_few_labels",
            format!(
                "the labels mark {train_positives} of the {cut} earliest payments and \
                 {test_positives} of the {} latest as fraud or laundering: both need some",
                n - cut
            ),
        ));
    }
    let x = Array2::from_shape_vec((n, WIDTH), values).map_err(ServiceError::internal)?;
    let model = FraudModel::fit(
        x.slice(ndarray::s![..cut, ..]),
        &labels[..cut],
        names(),
        seed,
    )
    .map_err(|e| ServiceError::invalid("labels", "model_not_trained", e.to_string()))?;
    let test = x.slice(ndarray::s![cut.., ..]);
    let scores: Vec<f64> = test
        .rows()
        .into_iter()
        .map(|r| model.probability(r.as_slice().expect("standard layout")))
        .collect();
    let test_labels = &labels[cut..];
    let mut ranked = scores.clone();
    ranked.sort_by(|a, b| b.total_cmp(a));
    let rank = ((alert_rate * ranked.len() as f64).floor() as usize).min(ranked.len() - 1);
    let review_at = ranked[rank].clamp(1e-6, REVIEW_AT);
    let reviewed: Vec<bool> = scores.iter().map(|s| *s >= review_at).collect();
    let reviewed_count = reviewed.iter().filter(|r| **r).count();
    let reviewed_positive = reviewed
        .iter()
        .zip(test_labels)
        .filter(|(r, l)| **r && **l)
        .count();
    let days = (at_ms[n - 1] - at_ms[cut]).max(1) as f64 / 86_400_000.0;
    let customers = u64::from(rows.next_customer);
    let figures = ModelFigures {
        customers,
        payments: n as u64,
        positive_payments: (train_positives + test_positives) as u64,
        train_payments: cut as u64,
        test_payments: (n - cut) as u64,
        test_positive_payments: test_positives as u64,
        trees: model.trees as u64,
        features: WIDTH as u64,
        roc_auc: roc_auc(&scores, test_labels),
        pr_auc: average_precision(&scores, test_labels),
        alert_rate,
        review_at,
        recall_at_alert_rate: recall_at_share(&scores, test_labels, alert_rate),
        precision_at_review: if reviewed_count == 0 {
            0.0
        } else {
            reviewed_positive as f64 / reviewed_count as f64
        },
        reviews_per_1000_customers_per_day: if customers == 0 {
            0.0
        } else {
            1_000.0 * reviewed_count as f64 / customers as f64 / days
        },
        fit_seconds: started.elapsed().as_secs_f64(),
    };
    Ok(Fitted {
        serving: ServingModel { model, review_at },
        figures,
    })
}

fn check_alert_rate(alert_rate: f64) -> Result<()> {
    if alert_rate > 0.0 && alert_rate < 1.0 {
        Ok(())
    } else {
        Err(ServiceError::invalid(
            "alert_rate",
            "out_of_range",
            "the alert rate must lie strictly between 0 and 1",
        ))
    }
}

/// How to train.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Customers sampled (all of them when there are fewer).
    pub customers: u64,
    pub alert_rate: f64,
    pub seed: u64,
    /// Whether the model starts scoring once stored.
    pub activate: bool,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            customers: DEFAULT_CUSTOMERS,
            alert_rate: DEFAULT_ALERT_RATE,
            seed: 42,
            activate: true,
        }
    }
}

/// A model trained and stored.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct TrainedModelView {
    pub version: String,
    /// Where the labels came from.
    pub labels: String,
    /// Whether it scores payments now.
    pub active: bool,
    /// RFC 3339.
    pub created_at: String,
    #[serde(flatten)]
    pub figures: ModelFigures,
    pub seconds: f64,
}

/// Trains a model on a seeded sample of the stored customers with `labels`, stores it in
/// the registry (and activates it when asked); `progress(customers read, customers to
/// read)` follows the reading. The caller puts an activated model in force
/// ([`crate::monitoring::Monitor::reload_model`]).
pub async fn train(
    store: &dyn Store,
    labels: &PaymentLabels,
    options: &TrainOptions,
    by: &Actor,
    mut progress: impl FnMut(u64, u64),
) -> Result<TrainedModelView> {
    if options.customers == 0 {
        return Err(ServiceError::invalid(
            "customers",
            "out_of_range",
            "train on at least one customer",
        ));
    }
    check_alert_rate(options.alert_rate)?;
    if labels.positive.is_empty() {
        return Err(ServiceError::invalid(
            "labels",
            "too_few_labels",
            format!(
                "the {} mark no payment as fraud or laundering: close cases as fraud or \
                 laundering_reported, or train on a ground truth",
                labels.source
            ),
        ));
    }
    let started = std::time::Instant::now();
    let mut ids: Vec<CustomerId> = Vec::new();
    let mut after: Option<CustomerId> = None;
    loop {
        let page = store.customer_ids_after(after.as_ref(), 1_000).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.clone());
        let full = page.len() == 1_000;
        ids.extend(page);
        if !full {
            break;
        }
    }
    // A seeded uniform sample: the customers whose salted hash is smallest.
    let salt = options.seed.to_le_bytes();
    let key = |id: &CustomerId| {
        let mut bytes = salt.to_vec();
        bytes.extend_from_slice(id.as_str().as_bytes());
        sextant_hash::fnv1a64(&bytes)
    };
    ids.sort_by_cached_key(key);
    ids.truncate(usize::try_from(options.customers).unwrap_or(usize::MAX));
    ids.sort();
    let params = Params::default();
    let mut rows = Rows::default();
    let total = ids.len() as u64;
    let mut read = 0u64;
    for chunk in ids.chunks(READ_PAGE) {
        let payments = store
            .payments_since(chunk, DateTime::<Utc>::UNIX_EPOCH)
            .await?;
        let mut start = 0;
        while start < payments.len() {
            let customer = &payments[start].customer_id;
            let end = payments[start..]
                .iter()
                .position(|p| p.customer_id != *customer)
                .map_or(payments.len(), |k| start + k);
            rows.add_customer(&payments[start..end], &params, |p| {
                labels.positive.contains(p.event_id.as_str())
            });
            start = end;
        }
        read += chunk.len() as u64;
        progress(read, total);
    }
    let (alert_rate, seed) = (options.alert_rate, options.seed);
    let fitted = tokio::task::spawn_blocking(move || fit(rows, alert_rate, seed))
        .await
        .map_err(ServiceError::internal)??;
    let artifact = serde_json::to_string(&fitted.serving).map_err(ServiceError::internal)?;
    let version = format!(
        "mm-{}",
        &sextant_hash::sha256_hex(artifact.as_bytes())[..12]
    );
    let now =
        DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).expect("now is in range");
    let mut metrics = serde_json::to_value(&fitted.figures).map_err(ServiceError::internal)?;
    metrics["labels"] = serde_json::Value::from(labels.source.clone());
    store
        .put_monitoring_model(
            &StoredMonitoringModel {
                version: version.clone(),
                created_at: now,
                actor: by.id.clone(),
                metrics,
                artifact,
            },
            options.activate,
            by,
        )
        .await?;
    Ok(TrainedModelView {
        version,
        labels: labels.source.clone(),
        active: options.activate,
        created_at: format_timestamp(now),
        figures: fitted.figures,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// A model version made the one that scores payments.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ModelActivationView {
    pub version: String,
    /// RFC 3339.
    pub activated_at: String,
    /// The probability from which it has a payment reviewed.
    pub review_at: f64,
    /// Its held-out figures, as measured when it was trained.
    #[schema(value_type = Object)]
    pub metrics: serde_json::Value,
}

/// Makes a stored version the one that scores payments, here at once and in every other
/// process within [`crate::monitoring::live::IN_FORCE_CHECK`]; audited. A version this
/// release cannot serve (it reads features no longer computed) is refused.
pub async fn activate(
    ctx: &crate::Context,
    version: &str,
    by: &Actor,
) -> Result<ModelActivationView> {
    let stored = ctx
        .store
        .monitoring_model(version)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let served = Served::from_stored(&stored)
        .map_err(|e| ServiceError::conflict("model_unservable", "version", e.to_string()))?;
    let now = Utc::now();
    if !ctx
        .store
        .activate_monitoring_model(version, by, now)
        .await?
    {
        return Err(ServiceError::NotFound);
    }
    ctx.monitor().reload_model(ctx.store.as_ref()).await?;
    Ok(ModelActivationView {
        version: stored.version,
        activated_at: format_timestamp(now),
        review_at: served.serving.review_at,
        metrics: stored.metrics,
    })
}
