//! The profiling pipeline as the service runs it: history -> features -> risk assessment ->
//! embedding -> vector store and segment, for one customer (on read or after ingestion) or
//! for everyone (`sextant profile`, `sextant train embeddings`).
//!
//! The computation lives in `profiling` and `models`; this module only loads, orders and
//! stores. Customers without profiling consent are never profiled, and their profile and
//! vector are removed.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Duration, Utc};
use rayon::prelude::*;
use serde_json::json;
use sextant_domain::{default_catalogue, CustomerId, MarketingChannel};
use sextant_models::embedding::{EmbeddingConfig, EmbeddingModel, TrainingData};
use sextant_profiling::risk::{self, Answers, RiskAssessment, WillingnessSource};
use sextant_profiling::{
    category_sequence, compute_features, CustomerHistory, Features, FEATURE_VERSION,
};
use sextant_store::{
    Actor, History, RefreshInputs, Store, StoredAssessment, StoredProfile, StoredSegment,
};
use sextant_vectors::{Payload, Point, VectorStore};

use crate::{Result, ServiceError};

/// Months of category shares the embedding model reads.
pub const SEQUENCE_MONTHS: usize = 12;
/// History loaded per customer: the longest feature window (365 days) and the sequence.
pub const HISTORY_DAYS: i64 = 400;
/// Customers per page of batch profiling: bounds memory (~450 events each).
const BATCH_CUSTOMERS: u64 = 1_000;
/// Segments tried when choosing k by silhouette.
const SEGMENT_KS: std::ops::RangeInclusive<usize> = 4..=10;
/// Fewest consenting customers an embedding model is trained on.
const TRAINING_CUSTOMERS_MIN: usize = 50;

/// Everything computed for one customer.
pub struct Computed {
    pub profile: StoredProfile,
    pub features: Features,
    pub assessment: RiskAssessment,
    pub sequence: Vec<f32>,
}

/// How long before a vector's upsert its profile may have been computed: a refresh computes,
/// then upserts, well within a request's deadline. Recovery redoes profiles computed from
/// this long before the oldest lost upsert.
const RECOVERY_SLACK: Duration = Duration::minutes(1);

/// Where one refresh spent its time, stage by stage, in order.
#[derive(Debug, Clone, Copy, Default)]
pub struct RefreshStages {
    /// Waiting for the customer's lock, then reading the history, answers and last assessment.
    pub read: std::time::Duration,
    /// Features, risk level and category sequence.
    pub compute: std::time::Duration,
    /// Recording the risk assessment when it changed.
    pub assessment: std::time::Duration,
    /// Embedding and the nearest segment (zero without a model).
    pub embed: std::time::Duration,
    /// The vector store's upsert (zero without a model).
    pub vector: std::time::Duration,
    /// Writing the profile.
    pub profile: std::time::Duration,
}

/// Who writes profiles, assessments and segments in the audit trail: the pipeline itself,
/// whichever request or command set it going.
fn pipeline_actor() -> Actor {
    Actor::system("profiling")
}

/// Customers waiting for a background refresh after ingestion. When full, further ids are
/// dropped: a profile read recomputes on the spot anyway, so nothing goes stale.
const REFRESH_QUEUE: usize = 10_000;
/// Refreshes of one customer run one at a time (a stripe of locks keyed by the id), so a
/// background refresh and a request's refresh cannot record assessments out of order.
const REFRESH_STRIPES: usize = 64;

pub struct Pipeline {
    pub store: Arc<dyn Store>,
    pub vectors: Arc<dyn VectorStore>,
    models_dir: PathBuf,
    model: RwLock<Option<(String, Arc<EmbeddingModel>)>>,
    segments: RwLock<Arc<Vec<StoredSegment>>>,
    refresh_tx: tokio::sync::mpsc::Sender<CustomerId>,
    refresh_rx: std::sync::Mutex<Option<tokio::sync::mpsc::Receiver<CustomerId>>>,
    refresh_locks: Vec<tokio::sync::Mutex<()>>,
}

fn age_years(history: &History, as_of: DateTime<Utc>) -> u16 {
    history.customer.birth_year.age_years(as_of)
}

/// Answers stored as `{question id: option id}`.
pub fn answers_from_json(value: &serde_json::Value) -> Option<Answers> {
    let object = value.as_object()?;
    Some(Answers(
        object
            .iter()
            .filter_map(|(q, o)| Some((q.clone(), o.as_str()?.to_owned())))
            .collect(),
    ))
}

/// Pure part: features, risk and sequence of one customer.
pub fn compute(history: &History, as_of: DateTime<Utc>, answers: Option<&Answers>) -> Computed {
    let view = CustomerHistory {
        customer: &history.customer,
        payments: &history.payments,
        behaviour: &history.behaviour,
        holdings: &history.holdings,
        rates: &history.rates,
        loyalty: &history.loyalty,
    };
    let features = compute_features(&view, as_of);
    let (willingness, source) = match answers.map(risk::willingness_from_answers) {
        Some(Ok(score)) => (score, WillingnessSource::Questionnaire),
        // Answers stored under an older questionnaire no longer score: fall back, visibly.
        _ => (
            risk::willingness_from_history(&features),
            WillingnessSource::Behaviour,
        ),
    };
    let assessment = risk::assess(willingness, source, &features, age_years(history, as_of));
    let sequence = category_sequence(
        &history.payments,
        history.customer.base_currency,
        &history.rates,
        as_of,
        SEQUENCE_MONTHS,
    );
    let profile = StoredProfile {
        customer_id: history.customer.id.clone(),
        feature_version: FEATURE_VERSION,
        features: features.values.clone(),
        segment: None,
        embedding_model: None,
        as_of,
        // The snapshot's time, not the end of the computation: an event received while the
        // history was being read or the features computed is newer than the profile, so the
        // profile is stale (see `is_fresh`), never wrongly fresh.
        computed_at: as_of.min(Utc::now()),
        unconverted: features.unconverted.clone(),
    };
    Computed {
        profile,
        features,
        assessment,
        sequence,
    }
}

/// The assessment as recorded and served.
pub fn assessment_record(a: &RiskAssessment, reason: &str, at: DateTime<Utc>) -> StoredAssessment {
    let components: Vec<_> = a
        .components
        .iter()
        .map(|c| json!({"name": c.name, "value": c.value, "unit": c.unit, "level": c.level.to_string(), "explanation": c.explanation}))
        .collect();
    StoredAssessment {
        assessed_at: at,
        level: a.level.get(),
        willingness: a.willingness.get(),
        willingness_source: source_name(a.willingness_source).into(),
        capacity: a.capacity.get(),
        reason: reason.into(),
        detail: json!({"explanation": a.explanation, "components": components}),
    }
}

pub fn source_name(source: WillingnessSource) -> &'static str {
    match source {
        WillingnessSource::Questionnaire => "questionnaire",
        WillingnessSource::Behaviour => "behaviour",
    }
}

/// Whether a stored profile reflects every event received (`newest_event`) and the current
/// feature layout. A profile that left amounts out for want of a rate is never fresh: it is
/// recomputed on every read until they convert, so a rate published since counts at once.
pub fn is_fresh(profile: &StoredProfile, newest_event: Option<DateTime<Utc>>) -> bool {
    profile.feature_version == FEATURE_VERSION
        && profile.unconverted.is_empty()
        && newest_event.is_none_or(|t| t <= profile.computed_at)
}

/// Whether `next` differs from the last recorded assessment enough to be recorded.
fn changed(last: Option<&StoredAssessment>, next: &StoredAssessment) -> bool {
    match last {
        None => true,
        Some(l) => {
            (l.level, l.willingness, l.capacity, &l.willingness_source)
                != (
                    next.level,
                    next.willingness,
                    next.capacity,
                    &next.willingness_source,
                )
        }
    }
}

/// Multi-hot product holdings in catalogue order: the adoption target of the embedding model.
fn adoption(history: &History) -> Vec<f32> {
    default_catalogue()
        .iter()
        .map(|p| {
            f32::from(u8::from(
                history.holdings.iter().any(|h| h.product_id == p.id),
            ))
        })
        .collect()
}

fn payload(history: &History, segment: Option<u32>) -> Payload {
    let consents = history.customer.consents;
    Payload {
        customer_id: history.customer.id.to_string(),
        segment,
        region: history.customer.region.as_str().to_owned(),
        profiling_consent: consents.profiling,
        marketing_channels: MarketingChannel::ALL
            .iter()
            .filter(|c| consents.marketing.allows(**c))
            .map(|c| c.as_str().to_owned())
            .collect(),
    }
}

fn nearest(segments: &[StoredSegment], embedding: &[f32]) -> Option<u32> {
    if segments.is_empty() {
        return None;
    }
    let centroids: Vec<Vec<f32>> = segments.iter().map(|s| s.centroid.clone()).collect();
    Some(segments[sextant_profiling::segments::assign(&centroids, embedding)].id)
}

/// What a batch run did.
#[derive(Debug, Default, serde::Serialize)]
pub struct BatchReport {
    pub customers: u64,
    pub profiled: u64,
    pub skipped_no_consent: u64,
    pub assessments_recorded: u64,
    pub embedded: u64,
    pub seconds: f64,
}

impl Pipeline {
    pub async fn open(
        store: Arc<dyn Store>,
        vectors: Arc<dyn VectorStore>,
        models_dir: &Path,
    ) -> Result<Pipeline> {
        let (refresh_tx, refresh_rx) = tokio::sync::mpsc::channel(REFRESH_QUEUE);
        let pipeline = Pipeline {
            store,
            vectors,
            models_dir: models_dir.to_owned(),
            model: RwLock::new(None),
            segments: RwLock::new(Arc::new(Vec::new())),
            refresh_tx,
            refresh_rx: std::sync::Mutex::new(Some(refresh_rx)),
            refresh_locks: (0..REFRESH_STRIPES)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
        };
        pipeline.load_current_model()?;
        *pipeline.segments.write().expect("not poisoned") =
            Arc::new(pipeline.store.segments().await?);
        pipeline.recover_lost_vectors().await;
        Ok(pipeline)
    }

    /// When the vector store says the previous process stopped before flushing some upserts,
    /// refreshes every customer whose profile was computed from a little before then on
    /// (their vectors are derived from the database, which lost nothing), then tells the store.
    /// A failure is logged and the store keeps saying so, so the next start tries again.
    async fn recover_lost_vectors(&self) {
        let Some(lost) = self.vectors.lost_since() else {
            return;
        };
        if self.model().is_none() {
            tracing::warn!(
                "vector store lost recent upserts, but no embedding model is loaded to redo them"
            );
            return;
        }
        let since = DateTime::<Utc>::from(lost) - RECOVERY_SLACK;
        let recovered = async {
            let redone = self.refresh_profiled_since(since).await?;
            self.vectors.recovered().await?;
            Ok::<_, ServiceError>(redone)
        };
        match recovered.await {
            Ok(redone) => tracing::info!(
                customers = redone,
                since = %since,
                "vector store: upserts a stop left unflushed were made again"
            ),
            Err(e) => tracing::warn!(error = %e, "vector store: recovering lost upserts failed"),
        }
    }

    /// Refreshes every customer whose stored profile was computed at or after `since`;
    /// returns how many.
    pub async fn refresh_profiled_since(&self, since: DateTime<Utc>) -> Result<u64> {
        const PAGE: u64 = 5_000;
        let mut due = Vec::new();
        let mut after: Option<CustomerId> = None;
        loop {
            let page = self.store.profiles(after.as_ref(), PAGE).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.customer_id.clone());
            due.extend(
                page.into_iter()
                    .filter(|p| p.computed_at >= since)
                    .map(|p| p.customer_id),
            );
        }
        for id in &due {
            self.refresh(id).await?;
        }
        Ok(due.len() as u64)
    }

    fn current_pointer(&self) -> PathBuf {
        self.models_dir.join("current")
    }

    /// Loads the model named in `models/current`, if any. A model trained on another feature
    /// layout is not loaded (its inputs would be misread): the installation is left without
    /// one, as a new one is, until `sextant train embeddings` (or the demo) trains another.
    fn load_current_model(&self) -> Result<()> {
        let Ok(name) = std::fs::read_to_string(self.current_pointer()) else {
            return Ok(());
        };
        let name = name.trim().to_owned();
        let path = self.models_dir.join(format!("{name}.safetensors"));
        let model = EmbeddingModel::load(&path)
            .map_err(|e| ServiceError::internal(format!("cannot load {}: {e}", path.display())))?;
        if model.metadata().feature_version != FEATURE_VERSION {
            tracing::warn!(
                model = %name,
                trained_on = model.metadata().feature_version,
                current = FEATURE_VERSION,
                "the embedding model was trained on another feature layout; it is not loaded \
                 and must be retrained"
            );
            return Ok(());
        }
        if model.metadata().config.dim != self.vectors.dim() {
            return Err(ServiceError::internal(format!(
                "model {name} has {} dimensions; the vector store has {}",
                model.metadata().config.dim,
                self.vectors.dim()
            )));
        }
        *self.model.write().expect("not poisoned") = Some((name, Arc::new(model)));
        Ok(())
    }

    /// Asks the background worker to refresh these customers (after their events landed).
    pub fn enqueue(&self, ids: impl IntoIterator<Item = CustomerId>) {
        for id in ids {
            if self.refresh_tx.try_send(id).is_err() {
                break;
            }
        }
    }

    /// Starts the worker that refreshes enqueued customers; call once per process.
    pub fn start_worker(self: &Arc<Self>) {
        let Some(mut rx) = self.refresh_rx.lock().expect("not poisoned").take() else {
            return;
        };
        let pipeline = Arc::downgrade(self);
        tokio::spawn(async move {
            while let Some(id) = rx.recv().await {
                let Some(pipeline) = pipeline.upgrade() else {
                    return;
                };
                if let Err(e) = pipeline.refresh(&id).await {
                    tracing::warn!(customer = %id, error = %e, "background profile refresh failed");
                }
            }
        });
    }

    pub fn model(&self) -> Option<(String, Arc<EmbeddingModel>)> {
        self.model.read().expect("not poisoned").clone()
    }

    pub fn segments(&self) -> Arc<Vec<StoredSegment>> {
        self.segments.read().expect("not poisoned").clone()
    }

    /// The stored profile when it reflects every acknowledged event and the current feature
    /// version; `None` when it must be recomputed (or there is none).
    pub async fn fresh_profile(&self, id: &CustomerId) -> Result<Option<StoredProfile>> {
        let stored = self.store.profile(id).await?;
        let newest_event = self.store.last_received_at(id).await?;
        Ok(stored.filter(|p| is_fresh(p, newest_event)))
    }

    /// Recomputes one customer now: profile, recorded risk assessment (when it changed),
    /// vector. Returns `None` for an unknown customer or one without profiling consent.
    pub async fn refresh(&self, id: &CustomerId) -> Result<Option<Computed>> {
        Ok(self.refresh_timed(id).await?.0)
    }

    /// [`Pipeline::refresh`], with the time each stage took (what the profile benchmark
    /// prints, to show where a slow refresh spent its time).
    pub async fn refresh_timed(
        &self,
        id: &CustomerId,
    ) -> Result<(Option<Computed>, RefreshStages)> {
        let mut stages = RefreshStages::default();
        let mut clock = std::time::Instant::now();
        let mut lap = |into: &mut std::time::Duration| {
            let now = std::time::Instant::now();
            *into = now - clock;
            clock = now;
        };
        let _serialised = self.lock_customer(id).await;
        let as_of = Utc::now();
        let Some(RefreshInputs {
            history,
            answers,
            last_assessment,
        }) = self
            .store
            .refresh_inputs(id, as_of - Duration::days(HISTORY_DAYS))
            .await?
        else {
            return Ok((None, stages));
        };
        lap(&mut stages.read);
        if !history.customer.consents.profiling {
            self.forget_locked(id).await?;
            return Ok((None, stages));
        }
        let answers = answers.as_ref().and_then(answers_from_json);
        let mut computed = compute(&history, as_of, answers.as_ref());
        let reason = if answers.is_some() {
            "answers"
        } else {
            "history"
        };
        lap(&mut stages.compute);
        self.record_if_changed(id, &computed.assessment, reason, last_assessment.as_ref())
            .await?;
        lap(&mut stages.assessment);
        if let Some((name, model)) = self.model() {
            let embedding = model
                .embed(
                    &[computed
                        .profile
                        .features
                        .iter()
                        .map(|&v| v as f32)
                        .collect()],
                    &[computed.sequence.clone()],
                )
                .map_err(|e| ServiceError::internal(format!("embedding: {e}")))?
                .pop()
                .expect("one row in, one row out");
            let segment = nearest(&self.segments(), &embedding);
            computed.profile.segment = segment;
            computed.profile.embedding_model = Some(name);
            lap(&mut stages.embed);
            self.vectors
                .upsert(vec![Point {
                    customer_id: id.to_string(),
                    vector: embedding,
                    payload: payload(&history, segment),
                }])
                .await?;
            lap(&mut stages.vector);
        }
        self.store
            .put_profiles(std::slice::from_ref(&computed.profile), &pipeline_actor())
            .await?;
        lap(&mut stages.profile);
        Ok((Some(computed), stages))
    }

    /// Serialises work on one customer: a refresh that read the history before a consent
    /// withdrawal finishes before the withdrawal's `forget`, never after it.
    async fn lock_customer(&self, id: &CustomerId) -> tokio::sync::MutexGuard<'_, ()> {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        id.hash(&mut hasher);
        let stripe = hasher.finish() as usize % REFRESH_STRIPES;
        self.refresh_locks[stripe].lock().await
    }

    /// Removes what profiling kept about a customer (consent withdrawn).
    pub async fn forget(&self, id: &CustomerId) -> Result<()> {
        let _serialised = self.lock_customer(id).await;
        self.forget_locked(id).await
    }

    async fn forget_locked(&self, id: &CustomerId) -> Result<()> {
        self.store.delete_profile(id, &pipeline_actor()).await?;
        self.vectors.delete(&[id.to_string()]).await?;
        Ok(())
    }

    /// Records the assessment when it differs from `last` (the newest on record).
    async fn record_if_changed(
        &self,
        id: &CustomerId,
        assessment: &RiskAssessment,
        reason: &str,
        last: Option<&StoredAssessment>,
    ) -> Result<bool> {
        let reason = if last.is_none() { "first" } else { reason };
        let record = assessment_record(assessment, reason, Utc::now());
        if changed(last, &record) {
            self.store
                .record_assessment(id, &record, &pipeline_actor())
                .await?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Profiles every customer, page by page, in parallel within a page.
    /// `on_progress(done)` follows along.
    pub async fn profile_all(
        &self,
        as_of: DateTime<Utc>,
        mut on_progress: impl FnMut(u64),
    ) -> Result<(BatchReport, Vec<(CustomerId, Vec<f32>, Features)>)> {
        let started = std::time::Instant::now();
        let mut report = BatchReport::default();
        let mut embedded = Vec::new();
        let mut after: Option<CustomerId> = None;
        let model = self.model();
        let segments = self.segments();
        loop {
            let page = self
                .store
                .histories(
                    after.as_ref(),
                    BATCH_CUSTOMERS,
                    as_of - Duration::days(HISTORY_DAYS),
                )
                .await?;
            let Some(last) = page.last() else { break };
            after = Some(last.customer.id.clone());
            report.customers += page.len() as u64;
            let (consented, refused): (Vec<History>, Vec<History>) = page
                .into_iter()
                .partition(|h| h.customer.consents.profiling);
            for h in &refused {
                self.forget(&h.customer.id).await?;
            }
            report.skipped_no_consent += refused.len() as u64;
            let mut answers = Vec::with_capacity(consented.len());
            for h in &consented {
                answers.push(
                    self.store
                        .latest_risk_answers(&h.customer.id)
                        .await?
                        .as_ref()
                        .and_then(answers_from_json),
                );
            }
            let mut computed: Vec<Computed> = consented
                .par_iter()
                .zip(answers.par_iter())
                .map(|(h, a)| compute(h, as_of, a.as_ref()))
                .collect();
            for (c, a) in computed.iter().zip(&answers) {
                let reason = if a.is_some() { "answers" } else { "history" };
                let id = &c.profile.customer_id;
                let last = self.store.assessments(id, 1).await?.pop();
                if self
                    .record_if_changed(id, &c.assessment, reason, last.as_ref())
                    .await?
                {
                    report.assessments_recorded += 1;
                }
            }
            if let Some((name, model)) = &model {
                let features: Vec<Vec<f32>> = computed
                    .iter()
                    .map(|c| c.profile.features.iter().map(|&v| v as f32).collect())
                    .collect();
                let sequences: Vec<Vec<f32>> =
                    computed.iter().map(|c| c.sequence.clone()).collect();
                let embeddings = model
                    .embed(&features, &sequences)
                    .map_err(|e| ServiceError::internal(format!("embedding: {e}")))?;
                let mut points = Vec::with_capacity(embeddings.len());
                for ((c, h), e) in computed.iter_mut().zip(&consented).zip(embeddings) {
                    let segment = nearest(&segments, &e);
                    c.profile.segment = segment;
                    c.profile.embedding_model = Some(name.clone());
                    points.push(Point {
                        customer_id: h.customer.id.to_string(),
                        vector: e.clone(),
                        payload: payload(h, segment),
                    });
                    embedded.push((h.customer.id.clone(), e, c.features.clone()));
                }
                report.embedded += points.len() as u64;
                self.vectors.upsert(points).await?;
            }
            let profiles: Vec<StoredProfile> = computed.into_iter().map(|c| c.profile).collect();
            report.profiled += profiles.len() as u64;
            self.store
                .put_profiles(&profiles, &pipeline_actor())
                .await?;
            on_progress(report.customers);
        }
        if model.is_some() {
            self.vectors.optimize().await?;
        }
        report.seconds = started.elapsed().as_secs_f64();
        Ok((report, embedded))
    }

    /// Collects training rows from every consenting customer.
    pub async fn training_data(&self, as_of: DateTime<Utc>) -> Result<TrainingData> {
        let mut data = TrainingData {
            features: Vec::new(),
            sequences: Vec::new(),
            adoption: Some(Vec::new()),
        };
        let mut after: Option<CustomerId> = None;
        loop {
            let page = self
                .store
                .histories(
                    after.as_ref(),
                    BATCH_CUSTOMERS,
                    as_of - Duration::days(HISTORY_DAYS),
                )
                .await?;
            let Some(last) = page.last() else { break };
            after = Some(last.customer.id.clone());
            let consented: Vec<&History> = page
                .iter()
                .filter(|h| h.customer.consents.profiling)
                .collect();
            let rows: Vec<(Vec<f32>, Vec<f32>, Vec<f32>)> = consented
                .par_iter()
                .map(|h| {
                    let c = compute(h, as_of, None);
                    (
                        c.profile.features.iter().map(|&v| v as f32).collect(),
                        c.sequence,
                        adoption(h),
                    )
                })
                .collect();
            for (f, s, a) in rows {
                data.features.push(f);
                data.sequences.push(s);
                data.adoption.as_mut().expect("set above").push(a);
            }
        }
        Ok(data)
    }

    /// Trains a new embedding model, makes it current, embeds everyone, and derives segments.
    pub async fn train(
        &self,
        config: &EmbeddingConfig,
        as_of: DateTime<Utc>,
        mut on_progress: impl FnMut(&str, u64),
    ) -> Result<TrainOutcome> {
        if config.dim != self.vectors.dim() {
            return Err(ServiceError::invalid(
                "dim",
                "dimension_mismatch",
                format!(
                    "the vector store holds {}-dimensional vectors; train with --dim {}",
                    self.vectors.dim(),
                    self.vectors.dim()
                ),
            ));
        }
        on_progress("collecting", 0);
        let data = self.training_data(as_of).await?;
        if data.features.len() < TRAINING_CUSTOMERS_MIN {
            return Err(ServiceError::NotReady {
                code: "too_few_customers",
                message: format!(
                    "only {} consenting customers: too few to train on",
                    data.features.len()
                ),
            });
        }
        on_progress("training", data.features.len() as u64);
        let (model, report) =
            tokio::task::block_in_place(|| EmbeddingModel::train(&data, config, FEATURE_VERSION))
                .map_err(|e| ServiceError::internal(format!("training: {e}")))?;
        let name = format!("embedding-{}", Utc::now().format("%Y%m%dT%H%M%S"));
        let saved = std::fs::create_dir_all(&self.models_dir)
            .map_err(|e| e.to_string())
            .and_then(|()| {
                model
                    .save(&self.models_dir.join(format!("{name}.safetensors")))
                    .map_err(|e| e.to_string())
            })
            .and_then(|()| {
                std::fs::write(self.current_pointer(), &name).map_err(|e| e.to_string())
            });
        saved.map_err(|e| {
            ServiceError::internal(format!(
                "cannot save the model in {}: {e}",
                self.models_dir.display()
            ))
        })?;
        *self.model.write().expect("not poisoned") = Some((name.clone(), Arc::new(model)));
        *self.segments.write().expect("not poisoned") = Arc::new(Vec::new());

        on_progress("embedding", 0);
        // This pass also stores every profile and records changed risk assessments, so a
        // separate profiling pass before training is not needed.
        let (profiling, embedded) = self
            .profile_all(as_of, |n| on_progress("embedding", n))
            .await?;
        on_progress("segmenting", embedded.len() as u64);
        let segments = self.segment(&name, &embedded).await?;
        Ok(TrainOutcome {
            model: name,
            report,
            profiling,
            customers: embedded.len(),
            segments,
        })
    }

    /// k-means on the embeddings with k chosen by silhouette, described from the features.
    async fn segment(
        &self,
        model: &str,
        embedded: &[(CustomerId, Vec<f32>, Features)],
    ) -> Result<Vec<StoredSegment>> {
        use sextant_profiling::segments::{choose_k, describe, kmeans};
        let vectors: Vec<Vec<f32>> = embedded.iter().map(|(_, e, _)| e.clone()).collect();
        let (k, _) = choose_k(&vectors, SEGMENT_KS, 7);
        let clusters = kmeans(&vectors, k, 7, 100);
        let features: Vec<Features> = embedded.iter().map(|(_, _, f)| f.clone()).collect();
        let words = describe(&features, &clusters.assignments, k);
        let segments: Vec<StoredSegment> = (0..k)
            .map(|s| StoredSegment {
                id: s as u32,
                name: words[s].0.clone(),
                description: words[s].1.clone(),
                size: clusters.assignments.iter().filter(|&&a| a == s).count() as u64,
                centroid: clusters.centroids[s].clone(),
                embedding_model: model.to_owned(),
            })
            .collect();
        let assignments: Vec<(CustomerId, u32)> = embedded
            .iter()
            .zip(&clusters.assignments)
            .map(|((id, _, _), &s)| (id.clone(), s as u32))
            .collect();
        self.store
            .replace_segments(&segments, &assignments, &pipeline_actor())
            .await?;
        *self.segments.write().expect("not poisoned") = Arc::new(segments.clone());
        // The vectors' payloads carry the segment for filtered search.
        let mut after: Option<CustomerId> = None;
        let by_id: std::collections::HashMap<&str, u32> = assignments
            .iter()
            .map(|(id, s)| (id.as_str(), *s))
            .collect();
        let vectors_by_id: std::collections::HashMap<&str, &Vec<f32>> =
            embedded.iter().map(|(id, e, _)| (id.as_str(), e)).collect();
        loop {
            let page = self
                .store
                .histories(after.as_ref(), BATCH_CUSTOMERS, Utc::now())
                .await?;
            let Some(last) = page.last() else { break };
            after = Some(last.customer.id.clone());
            let points: Vec<Point> = page
                .iter()
                .filter_map(|h| {
                    let id = h.customer.id.as_str();
                    let vector = vectors_by_id.get(id)?;
                    Some(Point {
                        customer_id: id.to_owned(),
                        vector: (*vector).clone(),
                        payload: payload(h, by_id.get(id).copied()),
                    })
                })
                .collect();
            self.vectors.upsert(points).await?;
        }
        self.vectors.optimize().await?;
        Ok(segments)
    }
}

/// What `train` produced.
pub struct TrainOutcome {
    pub model: String,
    pub report: sextant_models::embedding::TrainingReport,
    /// The profiling pass that embedded everyone with the new model.
    pub profiling: BatchReport,
    pub customers: usize,
    pub segments: Vec<StoredSegment>,
}
