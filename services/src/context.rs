//! What every use case runs against: the store, the vector store, the profiling pipeline,
//! and the engines built from stored data on first use (the advisory engine, the active
//! credit model, the offer engine). Cheap to clone: every part is shared.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sextant_lending::Lender;
use sextant_store::Store;
use sextant_vectors::VectorStore;
use tokio::sync::{OnceCell, RwLock};

use crate::advice::Advice;
use crate::marketing::offers::OfferEngine;
use crate::pipeline::Pipeline;
use crate::Result;

#[derive(Clone)]
pub struct Context {
    pub store: Arc<dyn Store>,
    pub vectors: Arc<dyn VectorStore>,
    pub pipeline: Arc<Pipeline>,
    pub(crate) engines: Arc<Engines>,
}

/// Engines built from stored data, kept between requests.
#[derive(Default)]
pub(crate) struct Engines {
    /// The advisory engine over the stored catalogue, built on first use.
    pub(crate) advice: OnceCell<Arc<Advice>>,
    /// The active credit model and policy, with when they were loaded.
    pub(crate) lender: RwLock<Option<(DateTime<Utc>, Arc<Lender>)>>,
    /// Set while a background check for a newly activated credit model runs.
    pub(crate) lender_checking: AtomicBool,
    /// The offer model, catalogue and neighbours' holdings, built on first use.
    pub(crate) offers: RwLock<Option<Arc<OfferEngine>>>,
    /// Set while a background reload of `offers` runs.
    pub(crate) offers_reloading: AtomicBool,
    /// The segments explorer's map, with when it was computed (see
    /// [`crate::segments::MAP_MAX_AGE`]).
    pub(crate) segment_map: RwLock<Option<(DateTime<Utc>, Arc<crate::segments::EmbeddingMap>)>>,
    /// Every customer's marketing row, for audience previews.
    pub(crate) audience_index: crate::marketing::audience_index::AudienceIndex,
    /// Transaction monitoring, with the sanctions list in force.
    pub(crate) monitor: Arc<crate::monitoring::Monitor>,
    /// What offers and quotes read about each customer.
    pub(crate) read_model: crate::read_model::ReadModel,
    /// Background work in progress, for `GET /v1/status`.
    pub(crate) readiness: Arc<crate::readiness::Readiness>,
}

impl Context {
    /// The context over these stores, with the embedding model found in `models_dir`.
    pub async fn open(
        store: Arc<dyn Store>,
        vectors: Arc<dyn VectorStore>,
        models_dir: &Path,
    ) -> Result<Context> {
        let pipeline = Pipeline::open(store.clone(), vectors.clone(), models_dir).await?;
        Ok(Context::new(Arc::new(pipeline)))
    }

    /// The context of a pipeline already open.
    pub fn new(pipeline: Arc<Pipeline>) -> Context {
        Context {
            store: pipeline.store.clone(),
            vectors: pipeline.vectors.clone(),
            pipeline,
            engines: Arc::new(Engines::default()),
        }
    }

    /// Transaction monitoring's live state: what ingestion and payment assessments share.
    pub fn monitor(&self) -> Arc<crate::monitoring::Monitor> {
        self.engines.monitor.clone()
    }

    /// The sanctions list in force (see [`crate::screening`]).
    pub fn screening(&self) -> Arc<crate::screening::Screening> {
        self.engines.monitor.screening().clone()
    }

    /// What offers and credit quotes read about each customer (see [`crate::read_model`]).
    pub fn read_model(&self) -> &crate::read_model::ReadModel {
        &self.engines.read_model
    }

    /// Background work in progress (see [`crate::readiness`]).
    pub fn readiness(&self) -> &Arc<crate::readiness::Readiness> {
        &self.engines.readiness
    }

    /// Starts the background work a serving process needs (the pipeline's refresh worker,
    /// building the read model, the audience index and the monitoring states); needs a
    /// tokio runtime, and is done once per process.
    pub fn start_background_work(&self) {
        self.pipeline.start_worker();
        let ctx = self.clone();
        tokio::spawn(async move { ctx.engines.read_model.keep_filled(ctx.store.clone()).await });
        let ctx = self.clone();
        let step = self.readiness().start("read model", "customers");
        tokio::spawn(async move {
            ctx.engines
                .read_model
                .keep_built(ctx.store.clone(), step)
                .await
        });
        // The first audience preview would otherwise pay for reading every customer.
        let ctx = self.clone();
        let audience_step = self.readiness().start("audience index", "customers");
        let monitoring_step = self.readiness().start("monitoring states", "customers");
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let loaded = ctx
                .engines
                .audience_index
                .for_each(ctx.store.as_ref(), |_| {})
                .await;
            match loaded {
                Ok((rows, _)) => {
                    audience_step.progress(rows, None);
                    audience_step.finish();
                    tracing::info!(
                        rows,
                        ms = started.elapsed().as_millis() as u64,
                        "audience index loaded"
                    )
                }
                Err(e) => {
                    tracing::warn!(error = %e, "audience index not loaded; the first preview loads it");
                    audience_step.fail(e);
                }
            }
            let started = std::time::Instant::now();
            let warmed = ctx
                .engines
                .monitor
                .warm(ctx.store.as_ref(), |n| monitoring_step.progress(n, None))
                .await;
            match warmed {
                Ok(customers) => {
                    monitoring_step.finish();
                    tracing::info!(
                        customers,
                        ms = started.elapsed().as_millis() as u64,
                        "monitoring states built"
                    )
                }
                Err(e) => {
                    tracing::warn!(
                        error = %e,
                        "monitoring states not built; each customer's is built when first needed"
                    );
                    monitoring_step.fail(e);
                }
            }
        });
    }
}
