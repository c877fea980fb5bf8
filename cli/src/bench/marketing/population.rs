//! The population `sextant bench marketing` measures, built in process in minutes instead of
//! generating and importing some 45 million events.
//!
//! Customers come from `sextant_synth::generate_customer` (in parallel) and each profile is
//! computed in memory by `pipeline::compute` over the generated history, so features, risk
//! assessments, embeddings and segments are the real ones. Only a subset of customers (the
//! first [`EVENTS_SUBSET_MAX`]) has its behaviour events stored: the embedding model trains
//! on them, and they are the only customers whose offer interactions a request can find.
//! Everyone's registration, holdings, profile, risk assessment and vector is stored, then
//! the credit model (on [`CREDIT_TRAINING_MAX`] customers) and the offer model are trained
//! as the service trains them.
//!
//! A built population lives in one folder (`db/`, `vectors/`, `models/`) with a marker file
//! that says what is there; `--data-dir` keeps it between runs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sextant_domain::{
    default_catalogue, Customer, CustomerId, Event, Holding, MarketingChannel, RateTable,
};
use sextant_models::credit::CreditModelKind;
use sextant_models::embedding::{EmbeddingConfig, EmbeddingModel, TrainingData};
use sextant_profiling::segments::{assign, choose_k, describe, kmeans};
use sextant_profiling::{Features, FEATURE_VERSION};
use sextant_services::lending::operations::train_population;
use sextant_services::marketing::training::train_offers;
use sextant_services::pipeline::{assessment_record, compute, Computed};
use sextant_store::{
    Actor, History, SeaStore, Store, StoredAssessment, StoredSegment, INGEST_CALL_MAX_EVENTS,
};
use sextant_synth::CustomerBundle;
use sextant_vectors::{EdgeStore, Payload, Point, VectorStore};

use crate::commands::generate::Truth;

/// Months of history per customer.
pub const MONTHS: u32 = 12;
/// Customers whose behaviour events are stored and on whom the embedding model trains.
pub const EVENTS_SUBSET_MAX: u64 = 5_000;
/// Customers the credit model is trained on (the first ones), so that offers decide credit
/// eligibility as in production without minutes of model fitting.
pub const CREDIT_TRAINING_MAX: u64 = 10_000;
/// Customers generated, profiled and written per step: bounds memory (a generated customer
/// holds some 450 events).
const CHUNK_CUSTOMERS: u64 = 5_000;
/// Progress is reported every this many customers.
const PROGRESS_CUSTOMERS: u64 = 25_000;
/// Segments tried when choosing k, as the pipeline does.
const SEGMENT_KS: std::ops::RangeInclusive<usize> = 4..=10;
/// Vector dimensions of the service's default store.
pub const VECTOR_DIM: usize = 32;

/// Bumped whenever what a built folder holds changes, so an old one is not reused.
const FORMAT: u32 = 1;
const MARKER_FILE: &str = "marketing-bench.json";
pub const DB_DIR: &str = "db";
/// The master key of the kept population's database (a benchmark fixture, kept beside it).
pub const MASTER_KEY_FILE: &str = "master-key";
pub const VECTORS_DIR: &str = "vectors";
pub const MODELS_DIR: &str = "models";

/// What a built folder holds; written last, so a folder without it is incomplete.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Marker {
    pub format: u32,
    pub customers: u64,
    pub months: u32,
    pub seed: u64,
    /// The last day of the generated history.
    pub end_date: NaiveDate,
    /// Customers whose behaviour events are stored (the first ones by id).
    pub events_stored_for_customers: u64,
    pub behaviour_events_stored: u64,
    /// Customers with profiling consent: profiled, assessed and embedded.
    pub profiled_customers: u64,
    pub holdings: u64,
    pub segments: usize,
    pub embedding_model: String,
    pub embedding_training_customers: usize,
    pub credit_model: String,
    pub offer_model: String,
    pub offer_training_customers: usize,
    pub built_at: String,
    pub setup_seconds: f64,
    pub setup_steps: Vec<Step>,
}

/// One timed step of the build.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Step {
    pub step: String,
    pub seconds: f64,
}

/// The marker of a finished build in `root`, if there is one.
pub fn read_marker(root: &Path) -> anyhow::Result<Option<Marker>> {
    let path = root.join(MARKER_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => Ok(Some(serde_json::from_slice(&bytes).with_context(|| {
            format!("{} does not parse: remove the folder", path.display())
        })?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Whether a finished build in a folder is the population these options ask for.
pub fn matches(marker: &Marker, customers: u64, seed: u64) -> bool {
    marker.format == FORMAT
        && marker.customers == customers
        && marker.months == MONTHS
        && marker.seed == seed
}

struct Timer {
    started: Instant,
    step: Instant,
    steps: Vec<Step>,
}

impl Timer {
    fn new() -> Timer {
        Timer {
            started: Instant::now(),
            step: Instant::now(),
            steps: Vec::new(),
        }
    }

    fn done(&mut self, step: &str) {
        let seconds = self.step.elapsed().as_secs_f64();
        eprintln!("  {step}: {seconds:.1} s");
        self.steps.push(Step {
            step: step.into(),
            seconds,
        });
        self.step = Instant::now();
    }
}

/// Builds the population into `root` (which must be empty or missing) and writes the marker.
pub async fn build(root: &Path, customers: u64, seed: u64) -> anyhow::Result<Marker> {
    anyhow::ensure!(customers >= 100, "--customers must be at least 100");
    let as_of = Utc::now();
    let config = sextant_synth::Config {
        customers,
        months: MONTHS,
        seed,
        end_date: as_of.date_naive() - chrono::Duration::days(1),
    };
    config
        .validate()
        .map_err(|e| anyhow::anyhow!("cannot generate: {e}"))?;
    let mut timer = Timer::new();
    let keyring = sextant_api::startup::file_keyring(&root.join(MASTER_KEY_FILE))?;
    let store: Arc<dyn Store> =
        Arc::new(SeaStore::open(None, &root.join(DB_DIR), Arc::new(keyring)).await?);
    let vectors: Arc<dyn VectorStore> = {
        let dir = root.join(VECTORS_DIR);
        Arc::new(tokio::task::spawn_blocking(move || EdgeStore::open(&dir, VECTOR_DIM)).await??)
    };

    let subset = customers.min(EVENTS_SUBSET_MAX);
    eprintln!(
        "building {customers} customers x {MONTHS} months; events stored for the first {subset}"
    );
    let trained = train_embedding(
        store.as_ref(),
        &config,
        subset,
        as_of,
        &root.join(MODELS_DIR),
        &mut timer,
    )
    .await?;

    let mut written = Written::default();
    let mut truth = String::new();
    for start in (0..customers).step_by(CHUNK_CUSTOMERS as usize) {
        let end = (start + CHUNK_CUSTOMERS).min(customers);
        let chunk =
            tokio::task::block_in_place(|| profile_chunk(&config, start..end, as_of, &trained))?;
        truth.push_str(&chunk.credit_truth);
        write_chunk(store.as_ref(), vectors.as_ref(), chunk, &mut written).await?;
        if end.is_multiple_of(PROGRESS_CUSTOMERS) || end == customers {
            eprintln!("  {end} of {customers} customers written");
        }
    }
    timer.done("everyone: generate, profile, embed in memory; store customers, holdings, profiles, assessments, vectors");

    let segments: Vec<StoredSegment> = trained
        .segments
        .iter()
        .map(|s| StoredSegment {
            size: written.segment_sizes.get(&s.id).copied().unwrap_or(0),
            ..s.clone()
        })
        .collect();
    // Profiles were written with their segment already: no assignments to update.
    store
        .replace_segments(&segments, &[], &Actor::system("bench"))
        .await?;
    vectors.optimize().await.context("vector index")?;
    timer.done("vector index (HNSW)");

    let truth_file = root.join("credit-truth.jsonl");
    std::fs::write(&truth_file, truth)?;
    let outcomes = Truth::read(&truth_file)?;
    let credit = train_population(
        store.as_ref(),
        outcomes.labels(),
        CreditModelKind::Gbm,
        seed,
        &Actor::system("bench"),
    )
    .await?;
    timer.done("credit model (gradient boosting)");
    let offers = train_offers(
        store.as_ref(),
        vectors.as_ref(),
        seed,
        &Actor::system("bench"),
    )
    .await?;
    timer.done("offer model");

    // Fold the write-ahead log into the database file so a copy of `db/` is complete.
    store.checkpoint().await?;
    drop(store);
    drop(vectors);
    let marker = Marker {
        format: FORMAT,
        customers,
        months: MONTHS,
        seed,
        end_date: config.end_date,
        events_stored_for_customers: subset,
        behaviour_events_stored: trained.behaviour_events,
        profiled_customers: written.profiled,
        holdings: written.holdings,
        segments: segments.len(),
        embedding_model: trained.name.clone(),
        embedding_training_customers: trained.training_customers,
        credit_model: credit.model_version,
        offer_model: offers.model_version,
        offer_training_customers: offers.customers,
        built_at: Utc::now().to_rfc3339(),
        setup_seconds: timer.started.elapsed().as_secs_f64(),
        setup_steps: timer.steps,
    };
    std::fs::write(root.join(MARKER_FILE), serde_json::to_vec_pretty(&marker)?)?;
    Ok(marker)
}

/// The embedding model and the segments, from the subset.
struct Trained {
    name: String,
    model: EmbeddingModel,
    /// Sizes are filled in once everyone is assigned.
    segments: Vec<StoredSegment>,
    training_customers: usize,
    behaviour_events: u64,
}

/// Generates the subset, stores its registrations and behaviour events, trains the
/// embedding model on it (as `Pipeline::train` would on a store holding only them) and
/// derives the segments from its embeddings.
async fn train_embedding(
    store: &dyn Store,
    config: &sextant_synth::Config,
    subset: u64,
    as_of: DateTime<Utc>,
    models_dir: &Path,
    timer: &mut Timer,
) -> anyhow::Result<Trained> {
    let bundles: Vec<CustomerBundle> = tokio::task::block_in_place(|| {
        (0..subset)
            .into_par_iter()
            .map(|i| sextant_synth::generate_customer(config, i))
            .collect()
    });
    let customers: Vec<Customer> = bundles.iter().map(|b| b.customer.clone()).collect();
    store
        .put_customers(&customers, &Actor::system("bench"), as_of)
        .await?;
    let events: Vec<Event> = bundles
        .iter()
        .flat_map(|b| b.behaviour.iter().cloned().map(Event::Behaviour))
        .collect();
    for batch in events.chunks(INGEST_CALL_MAX_EVENTS) {
        store
            .ingest(batch, &Actor::system("bench"), Utc::now())
            .await?;
    }
    timer.done("subset: generate, store registrations and behaviour events");
    let consenting: Vec<&CustomerBundle> = bundles
        .iter()
        .filter(|b| b.customer.consents.profiling)
        .collect();
    let rates = Arc::new(sextant_synth::fx::rate_table_for(config));
    let rows: Vec<SubsetRow> = tokio::task::block_in_place(|| {
        consenting
            .par_iter()
            .map(|b| {
                let c = compute(&history(b, &rates), as_of, None);
                SubsetRow {
                    model_features: to_f32(&c.profile.features),
                    features: c.features,
                    sequence: c.sequence,
                    adoption: adoption(&b.holdings),
                }
            })
            .collect()
    });
    let mut data = TrainingData {
        features: Vec::with_capacity(rows.len()),
        sequences: Vec::with_capacity(rows.len()),
        adoption: Some(Vec::with_capacity(rows.len())),
    };
    let mut features = Vec::with_capacity(rows.len());
    for row in rows {
        features.push(row.features);
        data.features.push(row.model_features);
        data.sequences.push(row.sequence);
        data.adoption
            .as_mut()
            .expect("set above")
            .push(row.adoption);
    }
    anyhow::ensure!(
        data.features.len() >= 50,
        "only {} consenting customers in the subset: too few to train on",
        data.features.len()
    );
    let config = EmbeddingConfig {
        dim: VECTOR_DIM,
        seed: config.seed,
        ..EmbeddingConfig::default()
    };
    let (model, _) =
        tokio::task::block_in_place(|| EmbeddingModel::train(&data, &config, FEATURE_VERSION))
            .context("training the embedding model")?;
    std::fs::create_dir_all(models_dir)?;
    // Named and pointed to as `Pipeline::train` does, so `Pipeline::open` loads it.
    let name = format!("embedding-{}", Utc::now().format("%Y%m%dT%H%M%S"));
    model.save(&models_dir.join(format!("{name}.safetensors")))?;
    std::fs::write(models_dir.join("current"), &name)?;
    timer.done("subset: profile in memory, train the embedding model");

    let embeddings = model.embed(&data.features, &data.sequences)?;
    let (k, _) = choose_k(&embeddings, SEGMENT_KS, 7);
    let clusters = kmeans(&embeddings, k, 7, 100);
    let words = describe(&features, &clusters.assignments, k);
    let segments = (0..k)
        .map(|s| StoredSegment {
            id: s as u32,
            name: words[s].0.clone(),
            description: words[s].1.clone(),
            size: 0,
            centroid: clusters.centroids[s].clone(),
            embedding_model: name.clone(),
        })
        .collect();
    timer.done("subset: segments (k by silhouette)");
    Ok(Trained {
        name,
        model,
        segments,
        training_customers: data.features.len(),
        behaviour_events: events.len() as u64,
    })
}

/// One subset customer as the embedding model and the segment descriptions read them.
struct SubsetRow {
    features: Features,
    model_features: Vec<f32>,
    sequence: Vec<f32>,
    adoption: Vec<f32>,
}

fn history(b: &CustomerBundle, rates: &Arc<RateTable>) -> History {
    History {
        customer: b.customer.clone(),
        payments: b.payments.clone(),
        behaviour: b.behaviour.clone(),
        holdings: b.holdings.clone(),
        rates: rates.clone(),
        loyalty: Default::default(),
    }
}

fn to_f32(values: &[f64]) -> Vec<f32> {
    values.iter().map(|&v| v as f32).collect()
}

/// Multi-hot holdings in catalogue order: the embedding model's adoption target, as the
/// pipeline builds it.
fn adoption(holdings: &[Holding]) -> Vec<f32> {
    default_catalogue()
        .iter()
        .map(|p| f32::from(u8::from(holdings.iter().any(|h| h.product_id == p.id))))
        .collect()
}

/// The vector payload, as the pipeline writes it.
fn payload(customer: &Customer, segment: Option<u32>) -> Payload {
    let consents = customer.consents;
    Payload {
        customer_id: customer.id.to_string(),
        segment,
        region: customer.region.as_str().to_owned(),
        profiling_consent: consents.profiling,
        marketing_channels: MarketingChannel::ALL
            .iter()
            .filter(|c| consents.marketing.allows(**c))
            .map(|c| c.as_str().to_owned())
            .collect(),
    }
}

/// One chunk of customers, profiled and embedded, ready to write.
struct Chunk {
    customers: Vec<Customer>,
    holdings: Vec<Holding>,
    /// Customers with profiling consent only.
    profiled: Vec<(Computed, Point)>,
    /// Ground-truth lines the credit model trains on, as `sextant generate` writes them.
    credit_truth: String,
}

/// One generated customer, profiled when they consent to it.
struct Generated {
    customer: Customer,
    holdings: Vec<Holding>,
    computed: Option<Computed>,
    /// Only for the first [`CREDIT_TRAINING_MAX`] customers.
    credit_truth: Option<String>,
}

fn profile_chunk(
    config: &sextant_synth::Config,
    indices: std::ops::Range<u64>,
    as_of: DateTime<Utc>,
    trained: &Trained,
) -> anyhow::Result<Chunk> {
    let rates = Arc::new(sextant_synth::fx::rate_table_for(config));
    let generated: Vec<Generated> = indices
        .into_par_iter()
        .map(|i| {
            let b = sextant_synth::generate_customer(config, i);
            let computed = b
                .customer
                .consents
                .profiling
                .then(|| compute(&history(&b, &rates), as_of, None));
            let credit_truth = (i < CREDIT_TRAINING_MAX).then(|| {
                serde_json::json!({
                    "customer_id": b.customer.id.as_str(),
                    "defaulted_next_12m": b.truth.defaulted_next_12m,
                    "default_propensity": b.truth.default_propensity,
                })
                .to_string()
            });
            Generated {
                customer: b.customer,
                holdings: b.holdings,
                computed,
                credit_truth,
            }
        })
        .collect();
    let mut chunk = Chunk {
        customers: Vec::with_capacity(generated.len()),
        holdings: Vec::new(),
        profiled: Vec::new(),
        credit_truth: String::new(),
    };
    let mut computed = Vec::new();
    let mut owners = Vec::new();
    for g in generated {
        if let Some(c) = g.computed {
            computed.push(c);
            owners.push(g.customer.clone());
        }
        if let Some(line) = g.credit_truth {
            chunk.credit_truth.push_str(&line);
            chunk.credit_truth.push('\n');
        }
        chunk.customers.push(g.customer);
        chunk.holdings.extend(g.holdings);
    }
    let features: Vec<Vec<f32>> = computed
        .iter()
        .map(|c| to_f32(&c.profile.features))
        .collect();
    let sequences: Vec<Vec<f32>> = computed.iter().map(|c| c.sequence.clone()).collect();
    let embeddings = trained.model.embed(&features, &sequences)?;
    let centroids: Vec<Vec<f32>> = trained
        .segments
        .iter()
        .map(|s| s.centroid.clone())
        .collect();
    for ((mut c, customer), vector) in computed.into_iter().zip(owners).zip(embeddings) {
        let segment = trained.segments[assign(&centroids, &vector)].id;
        c.profile.segment = Some(segment);
        c.profile.embedding_model = Some(trained.name.clone());
        let point = Point {
            customer_id: customer.id.to_string(),
            vector,
            payload: payload(&customer, Some(segment)),
        };
        chunk.profiled.push((c, point));
    }
    Ok(chunk)
}

#[derive(Default)]
struct Written {
    profiled: u64,
    holdings: u64,
    segment_sizes: HashMap<u32, u64>,
}

async fn write_chunk(
    store: &dyn Store,
    vectors: &dyn VectorStore,
    chunk: Chunk,
    written: &mut Written,
) -> anyhow::Result<()> {
    let now = Utc::now();
    store
        .put_customers(&chunk.customers, &Actor::system("bench"), now)
        .await?;
    store
        .upsert_holdings(&chunk.holdings, &Actor::system("bench"), now)
        .await?;
    written.holdings += chunk.holdings.len() as u64;
    let (computed, points): (Vec<Computed>, Vec<Point>) = chunk.profiled.into_iter().unzip();
    for c in &computed {
        *written
            .segment_sizes
            .entry(c.profile.segment.expect("assigned above"))
            .or_default() += 1;
    }
    // One transaction for the chunk's first assessments: at about 3 ms per durable commit,
    // 100,000 single records would take five minutes.
    let assessments: Vec<(CustomerId, StoredAssessment)> = computed
        .iter()
        .map(|c| {
            (
                c.profile.customer_id.clone(),
                assessment_record(&c.assessment, "first", now),
            )
        })
        .collect();
    store
        .record_assessments(&assessments, &Actor::system("bench"))
        .await?;
    let profiles: Vec<_> = computed.into_iter().map(|c| c.profile).collect();
    store
        .put_profiles(&profiles, &Actor::system("bench"))
        .await?;
    written.profiled += profiles.len() as u64;
    vectors.upsert(points).await.context("vector store")?;
    Ok(())
}

/// Copies a built population (without its marker) into `to`, so a run's campaigns and
/// events never reach the kept copy.
pub fn copy_population(from: &Path, to: &Path) -> anyhow::Result<u64> {
    let mut bytes = 0;
    for dir in [DB_DIR, VECTORS_DIR, MODELS_DIR] {
        bytes += copy_dir(&from.join(dir), &to.join(dir))?;
    }
    bytes += std::fs::copy(from.join(MASTER_KEY_FILE), to.join(MASTER_KEY_FILE))?;
    Ok(bytes)
}

fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<u64> {
    std::fs::create_dir_all(to)?;
    let mut bytes = 0;
    for entry in
        std::fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))?
    {
        let entry = entry?;
        let target: PathBuf = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            bytes += copy_dir(&entry.path(), &target)?;
        } else {
            bytes += std::fs::copy(entry.path(), &target)
                .with_context(|| format!("cannot copy {}", entry.path().display()))?;
        }
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marker(customers: u64, seed: u64) -> Marker {
        Marker {
            format: FORMAT,
            customers,
            months: MONTHS,
            seed,
            end_date: NaiveDate::from_ymd_opt(2026, 12, 3).expect("a date"),
            events_stored_for_customers: 5_000,
            behaviour_events_stored: 0,
            profiled_customers: 0,
            holdings: 0,
            segments: 0,
            embedding_model: String::new(),
            embedding_training_customers: 0,
            credit_model: String::new(),
            offer_model: String::new(),
            offer_training_customers: 0,
            built_at: String::new(),
            setup_seconds: 0.0,
            setup_steps: Vec::new(),
        }
    }

    #[test]
    fn a_kept_population_is_reused_only_when_it_is_the_one_asked_for() {
        assert!(matches(&marker(100_000, 42), 100_000, 42));
        assert!(!matches(&marker(100_000, 42), 100_000, 7));
        assert!(!matches(&marker(50_000, 42), 100_000, 42));
        let old = Marker {
            format: FORMAT + 1,
            ..marker(100_000, 42)
        };
        assert!(!matches(&old, 100_000, 42));
    }

    #[test]
    fn markers_round_trip() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        assert!(read_marker(dir.path()).expect("reads").is_none());
        let written = marker(1_000, 3);
        std::fs::write(
            dir.path().join(MARKER_FILE),
            serde_json::to_vec(&written).expect("serialises"),
        )
        .expect("writes");
        let read = read_marker(dir.path()).expect("reads").expect("is there");
        assert!(matches(&read, 1_000, 3));
    }
}
