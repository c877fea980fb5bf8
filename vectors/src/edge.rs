//! The in-process store: one qdrant-edge 0.7.0 shard in a directory.
//!
//! How the engine behaves, and what this adapter does about it:
//! - Every call is synchronous and may touch the disk, so each runs on tokio's blocking pool,
//!   bounded by a semaphore.
//! - `EdgeShard::flush` panics (`try_lock().expect`) when another thread holds the write-ahead
//!   log or a segment-holder write lock. Upserts, deletes, optimisation and flushes therefore
//!   run one at a time behind `Inner::writer`; searches and reads take only the engine's read
//!   locks and run alongside them.
//! - 0.7.0 writes a write-ahead log but does not replay it on load: only flushed segments
//!   survive a crash. A flush writes every file of every segment (about 10 ms, with outliers
//!   near a second), so upserts are flushed in the background once a second, with a marker
//!   on disk saying from when a crash may have lost them (see `flusher`); deletes and
//!   `optimize()` flush before they return. Nor does the engine ever truncate that log: the
//!   `wal` folder grows by roughly the size of every upsert (about 270 bytes per
//!   32-dimensional point).
//! - Payload indexes live in each segment. Segments built by the optimiser inherit them, but
//!   an appendable segment created on load does not, so the indexes are (re)requested on every
//!   open; for a field that already has one this is a no-op.
//! - The engine builds HNSW only in `optimize()`, and only for segments above
//!   `indexing_threshold_kb`; smaller segments are searched exactly, which at that size is as fast.

use std::fs::{File, TryLockError};
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use qdrant_edge::external::serde_json::{self, json};
use qdrant_edge::{
    Condition, CountRequest, CreateIndex, Distance, EdgeConfig, EdgeOptimizersConfig, EdgeShard,
    EdgeVectorParams, FieldCondition, FieldIndexOperations, HnswIndexConfig, JsonPath, Match,
    NamedQuery, PayloadFieldSchema, PayloadSchemaType, PointId, PointInsertOperations,
    PointOperations, PointStruct, PointStructPersisted, QueryEnum, QueryRequest, ScoredPoint,
    ScoringQuery, SearchParams, UpdateOperation, ValueVariants, VectorInternal,
    VectorStructInternal, WithPayloadInterface, WithVector, DEFAULT_VECTOR_NAME,
};
use tokio::sync::Semaphore;

use crate::flusher::{Flusher, Unflushed};
use crate::{
    fields, point_id, validate, Filter, Hit, Payload, Point, VectorError, VectorStore,
    MAX_BATCH_POINTS,
};

const KIND: &str = "qdrant-edge";

/// Held (flock) for the life of a store so a second store, in this process or another, cannot
/// open the same directory: two shards writing one set of segments corrupt both.
const LOCK_FILE: &str = "sextant-vectors.lock";

/// Engine calls in flight at once. More wait here rather than piling threads onto tokio's
/// blocking pool (512 by default), which other crates share.
const MAX_CONCURRENT_CALLS: usize = 64;

/// Payload fields searches filter on, with the index each gets. Without them a filtered search
/// over 100,000 points scans every payload (measured 43 ms against 0.5 ms with the index).
const INDEXED_FIELDS: [(&str, PayloadSchemaType); 4] = [
    (fields::SEGMENT, PayloadSchemaType::Integer),
    (fields::REGION, PayloadSchemaType::Keyword),
    (fields::PROFILING_CONSENT, PayloadSchemaType::Bool),
    (fields::MARKETING_CHANNELS, PayloadSchemaType::Keyword),
];

/// Engine tuning; the defaults are qdrant's and suit production.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EdgeOptions {
    /// `optimize()` builds an HNSW graph for segments holding more than this many KiB of
    /// vectors (10,000 KiB is about 78,000 32-dimensional vectors); below it exact search is
    /// as fast. 0 disables HNSW altogether.
    pub indexing_threshold_kb: usize,
    /// Searches expected to match fewer than this many KiB of vectors skip the graph and score
    /// the payload index's candidates exactly.
    pub full_scan_threshold_kb: usize,
}

impl Default for EdgeOptions {
    fn default() -> Self {
        Self {
            indexing_threshold_kb: 10_000,
            full_scan_threshold_kb: 10_000,
        }
    }
}

/// What the shard holds, for health checks and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EdgeStats {
    pub segments: usize,
    /// Approximate: a point being moved by the optimiser may be counted twice.
    pub points: usize,
    /// Vectors reachable through an HNSW graph; the rest are searched exactly.
    pub indexed_vectors: usize,
}

/// In-process, persistent store in `dir` (created if missing), cosine distance, `dim`
/// dimensions. Payload indexes on segment, region, profiling_consent, marketing_channels
/// so filtered searches stay fast. Reopening the same dir finds the vectors intact.
pub struct EdgeStore {
    /// Stopped (and waited for) first when the store is dropped.
    _flusher: Flusher,
    inner: Arc<Inner>,
    dim: usize,
    permits: Arc<Semaphore>,
}

struct Inner {
    // Field order is drop order: the shard flushes on drop, then the directory lock goes.
    shard: EdgeShard,
    /// Guards no data, only ordering (see the module comment).
    writer: Mutex<()>,
    /// Upserts applied but not flushed yet, and the marker on disk that says so.
    unflushed: Unflushed,
    _dir_lock: File,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The shard flushes again as it drops, but only this flush empties the marker.
        let _writer = self.write_lock();
        if self.flush("close").is_ok() {
            let _ = self.unflushed.flushed();
        }
    }
}

impl Inner {
    fn write_lock(&self) -> MutexGuard<'_, ()> {
        // A panic while holding the lock leaves nothing of ours half-done (it guards no data),
        // so a poisoned lock is as good as a clean one.
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes everything applied so far durable. The engine panics instead of returning an
    /// error, so the panic is turned back into one.
    fn flush(&self, op: &'static str) -> Result<(), VectorError> {
        std::panic::catch_unwind(AssertUnwindSafe(|| self.shard.flush()))
            .map_err(|_| VectorError::engine(op, "flushing segments to disk failed"))
    }

    /// Flushes everything applied so far and empties the marker. Called with the writer lock.
    fn flush_all(&self, op: &'static str) -> Result<(), VectorError> {
        self.flush(op)?;
        self.unflushed
            .flushed()
            .map_err(|err| VectorError::unavailable(op, err))
    }

    /// The background flusher's turn: a flush when upserts are pending.
    fn flush_pending(&self) {
        let _writer = self.write_lock();
        if self.unflushed.is_pending() {
            if let Err(err) = self.flush_all("background flush") {
                tracing::warn!(error = %err, "vector store: background flush failed; retrying");
            }
        }
    }

    fn apply(&self, op: &'static str, operation: UpdateOperation) -> Result<(), VectorError> {
        self.shard
            .update(operation)
            .map_err(|err| VectorError::engine(op, err))
    }
}

impl EdgeStore {
    /// Opens (or creates) the store in `dir` with the default [`EdgeOptions`]. This blocks on
    /// disk I/O: call it at start-up or inside `spawn_blocking`.
    pub fn open(dir: &Path, dim: usize) -> Result<EdgeStore, VectorError> {
        Self::open_with(dir, dim, EdgeOptions::default())
    }

    /// [`EdgeStore::open`] with explicit engine tuning. Options are saved with the store;
    /// changing them on reopen is allowed and takes effect at the next `optimize()`.
    pub fn open_with(
        dir: &Path,
        dim: usize,
        options: EdgeOptions,
    ) -> Result<EdgeStore, VectorError> {
        validate::dim(dim)?;
        std::fs::create_dir_all(dir)
            .map_err(|err| VectorError::unavailable("open", format!("{}: {err}", dir.display())))?;
        let dir_lock = lock_dir(dir)?;
        check_stored_config(dir, dim)?;
        let shard = EdgeShard::load(dir, Some(config(dim, options)))
            .map_err(|err| VectorError::engine("open", err))?;
        let unflushed =
            Unflushed::open(dir).map_err(|err| VectorError::unavailable("open", err))?;
        let inner = Inner {
            shard,
            writer: Mutex::new(()),
            unflushed,
            _dir_lock: dir_lock,
        };
        ensure_payload_indexes(&inner)?;
        inner.flush("open")?;
        let inner = Arc::new(inner);
        let flusher = Flusher::start(Arc::downgrade(&inner), Inner::flush_pending)
            .map_err(|err| VectorError::unavailable("open", err))?;
        Ok(EdgeStore {
            _flusher: flusher,
            inner,
            dim,
            permits: Arc::new(Semaphore::new(MAX_CONCURRENT_CALLS)),
        })
    }

    /// Segment and point counts; cheap (takes the engine's read locks briefly).
    pub fn stats(&self) -> EdgeStats {
        let info = self.inner.shard.info();
        EdgeStats {
            segments: info.segments_count,
            points: info.points_count,
            indexed_vectors: info.indexed_vectors_count,
        }
    }

    /// Runs `work` on the blocking pool. The permit moves into the task so that it is released
    /// when the engine is done, not when a cancelled caller stops waiting.
    async fn call<T, F>(&self, op: &'static str, work: F) -> Result<T, VectorError>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> Result<T, VectorError> + Send + 'static,
    {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|err| VectorError::unavailable(op, err))?;
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work(&inner)
        })
        .await
        .map_err(|err| VectorError::engine(op, format!("engine task failed: {err}")))?
    }
}

#[async_trait::async_trait]
impl VectorStore for EdgeStore {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn dim(&self) -> usize {
        self.dim
    }

    /// Not atomic across batches of [`MAX_BATCH_POINTS`]: on error some batches may be stored.
    /// Upserts are idempotent, so the caller retries the whole call. Applied and searchable
    /// when this returns; on disk within [`crate::flusher::FLUSH_EVERY`] (see the module
    /// comment).
    async fn upsert(&self, points: Vec<Point>) -> Result<(), VectorError> {
        let points = validate::points(points, self.dim)?;
        if points.is_empty() {
            return Ok(());
        }
        let points: Vec<PointStructPersisted> = points.into_iter().map(to_edge_point).collect();
        self.call("upsert", move |inner| {
            let _writer = inner.write_lock();
            inner
                .unflushed
                .before_write()
                .map_err(|err| VectorError::unavailable("upsert", err))?;
            for batch in into_batches(points) {
                let operation =
                    PointOperations::UpsertPoints(PointInsertOperations::PointsList(batch));
                inner.apply("upsert", UpdateOperation::PointOperation(operation))?;
            }
            Ok(())
        })
        .await
    }

    fn lost_since(&self) -> Option<SystemTime> {
        self.inner.unflushed.inherited()
    }

    async fn recovered(&self) -> Result<(), VectorError> {
        self.call("recovered", |inner| {
            let _writer = inner.write_lock();
            inner.flush_all("recovered")?;
            inner
                .unflushed
                .recovered()
                .map_err(|err| VectorError::unavailable("recovered", err))
        })
        .await
    }

    async fn search(
        &self,
        vector: &[f32],
        k: usize,
        filter: &Filter,
    ) -> Result<Vec<Hit>, VectorError> {
        validate::vector(vector, self.dim)?;
        validate::k(k)?;
        if let Some(excluded) = &filter.exclude_customer {
            validate::text("excluded customer id", excluded)?;
        }
        if k == 0 {
            return Ok(Vec::new());
        }
        let request = search_request(vector, k, filter);
        let points = self
            .call("search", move |inner| {
                inner
                    .shard
                    .query(request)
                    .map_err(|err| VectorError::engine("search", err))
            })
            .await?;
        points.into_iter().map(to_hit).collect()
    }

    async fn audience(
        &self,
        vector: &[f32],
        k: usize,
        min_score: Option<f32>,
        filter: &Filter,
    ) -> Result<Vec<Hit>, VectorError> {
        validate::vector(vector, self.dim)?;
        validate::audience_k(k)?;
        validate::min_score(min_score)?;
        if k == 0 {
            return Ok(Vec::new());
        }
        let mut request = search_request(vector, k, filter);
        // The threshold is applied here: the engine takes it as an `OrderedFloat`, a type
        // qdrant-edge does not re-export.
        request.params = Some(SearchParams {
            exact: true,
            ..SearchParams::default()
        });
        let points = self
            .call("audience", move |inner| {
                inner
                    .shard
                    .query(request)
                    .map_err(|err| VectorError::engine("audience", err))
            })
            .await?;
        let mut hits = points
            .into_iter()
            .map(to_hit)
            .collect::<Result<Vec<Hit>, VectorError>>()?;
        if let Some(min_score) = min_score {
            hits.retain(|h| h.score >= min_score);
        }
        Ok(hits)
    }

    async fn vector(&self, customer_id: &str) -> Result<Option<Vec<f32>>, VectorError> {
        validate::text("customer id", customer_id)?;
        let id = PointId::NumId(point_id(customer_id));
        let records = self
            .call("vector", move |inner| {
                inner
                    .shard
                    .retrieve(
                        &[id],
                        Some(customer_id_only()),
                        Some(WithVector::Bool(true)),
                    )
                    .map_err(|err| VectorError::engine("vector", err))
            })
            .await?;
        let Some(record) = records.into_iter().next() else {
            return Ok(None);
        };
        // A different customer here means a point-id collision: the asked-for one is not stored.
        if payload_customer_id(record.payload.as_ref()) != Some(customer_id) {
            return Ok(None);
        }
        dense_vector(record.vector).map(Some)
    }

    async fn count(&self) -> Result<u64, VectorError> {
        let count = self
            .call("count", |inner| {
                let request = CountRequest {
                    filter: None,
                    exact: true,
                };
                inner
                    .shard
                    .count(request)
                    .map_err(|err| VectorError::engine("count", err))
            })
            .await?;
        Ok(count as u64)
    }

    async fn delete(&self, customer_ids: &[String]) -> Result<(), VectorError> {
        validate::customer_ids(customer_ids)?;
        if customer_ids.is_empty() {
            return Ok(());
        }
        let ids: Vec<PointId> = customer_ids
            .iter()
            .map(|id| PointId::NumId(point_id(id)))
            .collect();
        self.call("delete", move |inner| {
            let _writer = inner.write_lock();
            for batch in into_batches(ids) {
                let operation = PointOperations::DeletePoints { ids: batch };
                inner.apply("delete", UpdateOperation::PointOperation(operation))?;
            }
            inner.flush_all("delete")
        })
        .await
    }

    /// Merges small segments, builds HNSW for large ones and vacuums deleted points, blocking
    /// until the engine has nothing left to do. Writes wait meanwhile; searches do not.
    async fn optimize(&self) -> Result<(), VectorError> {
        self.call("optimize", |inner| {
            let _writer = inner.write_lock();
            inner
                .shard
                .optimize()
                .map_err(|err| VectorError::engine("optimize", err))?;
            inner.flush_all("optimize")
        })
        .await
    }
}

fn lock_dir(dir: &Path) -> Result<File, VectorError> {
    let path = dir.join(LOCK_FILE);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|err| VectorError::unavailable("open", format!("{}: {err}", path.display())))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(VectorError::unavailable(
            "open",
            format!("{} is in use by another store", dir.display()),
        )),
        Err(TryLockError::Error(err)) => Err(VectorError::unavailable("open", err)),
    }
}

/// Refuses to open a store saved with another dimension or distance. The engine would refuse
/// too, but with a message that does not say which dimension is stored.
fn check_stored_config(dir: &Path, dim: usize) -> Result<(), VectorError> {
    let Some(stored) = EdgeConfig::load(dir) else {
        return Ok(());
    };
    let stored = stored.map_err(|err| VectorError::engine("open", err))?;
    let Some(params) = stored.vectors.get(DEFAULT_VECTOR_NAME) else {
        return Err(VectorError::engine(
            "open",
            "stored store has no default vector",
        ));
    };
    if params.distance != Distance::Cosine {
        return Err(VectorError::engine(
            "open",
            format!(
                "stored store uses {:?} distance, not cosine",
                params.distance
            ),
        ));
    }
    if params.size != dim {
        return Err(VectorError::DimensionMismatch {
            expected: params.size,
            actual: dim,
        });
    }
    Ok(())
}

fn config(dim: usize, options: EdgeOptions) -> EdgeConfig {
    let vector = EdgeVectorParams::builder(dim, Distance::Cosine).build();
    let hnsw = HnswIndexConfig {
        full_scan_threshold: options.full_scan_threshold_kb,
        ..HnswIndexConfig::default()
    };
    let optimizers = EdgeOptimizersConfig {
        indexing_threshold: Some(options.indexing_threshold_kb),
        ..EdgeOptimizersConfig::default()
    };
    EdgeConfig::builder()
        .vector(DEFAULT_VECTOR_NAME, vector)
        .hnsw_config(hnsw)
        .optimizers(optimizers)
        .build()
}

fn ensure_payload_indexes(inner: &Inner) -> Result<(), VectorError> {
    let _writer = inner.write_lock();
    for (field, schema) in INDEXED_FIELDS {
        let create = CreateIndex {
            field_name: path(field),
            field_schema: Some(PayloadFieldSchema::FieldType(schema)),
        };
        let operation = FieldIndexOperations::CreateIndex(create);
        inner.apply("open", UpdateOperation::FieldIndexOperation(operation))?;
    }
    Ok(())
}

/// Splits `items` into owned batches of at most [`MAX_BATCH_POINTS`] without copying.
fn into_batches<T>(mut items: Vec<T>) -> Vec<Vec<T>> {
    let mut batches = Vec::with_capacity(items.len().div_ceil(MAX_BATCH_POINTS));
    while items.len() > MAX_BATCH_POINTS {
        let rest = items.split_off(MAX_BATCH_POINTS);
        batches.push(std::mem::replace(&mut items, rest));
    }
    if !items.is_empty() {
        batches.push(items);
    }
    batches
}

fn to_edge_point(point: Point) -> PointStructPersisted {
    let payload = payload_json(&point.payload);
    PointStruct::new(point_id(&point.customer_id), point.vector, payload).into()
}

/// A customer without a segment has no `segment` key at all, so a segment filter cannot
/// match it (a JSON null would not either, but absent is what the server store writes too).
fn payload_json(payload: &Payload) -> serde_json::Value {
    let mut value = json!({
        fields::CUSTOMER_ID: payload.customer_id,
        fields::REGION: payload.region,
        fields::PROFILING_CONSENT: payload.profiling_consent,
        fields::MARKETING_CHANNELS: payload.marketing_channels,
    });
    if let (Some(segment), Some(map)) = (payload.segment, value.as_object_mut()) {
        map.insert(fields::SEGMENT.into(), json!(segment));
    }
    value
}

fn search_request(vector: &[f32], k: usize, filter: &Filter) -> QueryRequest {
    let nearest = QueryEnum::Nearest(NamedQuery {
        query: VectorInternal::Dense(vector.to_vec()),
        using: None,
    });
    QueryRequest {
        prefetches: Vec::new(),
        query: Some(ScoringQuery::Vector(nearest)),
        filter: edge_filter(filter),
        score_threshold: None,
        limit: k,
        offset: 0,
        params: None,
        with_vector: WithVector::Bool(false),
        with_payload: customer_id_only(),
    }
}

fn edge_filter(filter: &Filter) -> Option<qdrant_edge::Filter> {
    let mut must = Vec::new();
    if let Some(segment) = filter.segment {
        must.push(matches(
            fields::SEGMENT,
            ValueVariants::Integer(i64::from(segment)),
        ));
    }
    if let Some(region) = &filter.region {
        must.push(matches(
            fields::REGION,
            ValueVariants::String(region.clone()),
        ));
    }
    if let Some(consent) = filter.profiling_consent {
        must.push(matches(
            fields::PROFILING_CONSENT,
            ValueVariants::Bool(consent),
        ));
    }
    if let Some(channel) = &filter.marketing_channel {
        // Matching one value against an array field matches when any element equals it.
        must.push(matches(
            fields::MARKETING_CHANNELS,
            ValueVariants::String(channel.clone()),
        ));
    }
    let must_not = filter.exclude_customer.as_ref().map(|id| {
        let ids = [PointId::NumId(point_id(id))];
        vec![Condition::HasId(ids.into_iter().collect())]
    });
    if must.is_empty() && must_not.is_none() {
        return None;
    }
    Some(qdrant_edge::Filter {
        should: None,
        min_should: None,
        must: (!must.is_empty()).then_some(must),
        must_not,
    })
}

/// Our payload keys are plain identifiers, which always parse; a unit test checks each one.
fn path(key: &'static str) -> JsonPath {
    key.parse().expect("payload keys are valid JSON paths")
}

fn matches(key: &'static str, value: ValueVariants) -> Condition {
    Condition::Field(FieldCondition::new_match(
        path(key),
        Match::new_value(value),
    ))
}

/// Hits need only the customer id; the rest of the payload would be read for nothing.
fn customer_id_only() -> WithPayloadInterface {
    WithPayloadInterface::Fields(vec![path(fields::CUSTOMER_ID)])
}

fn payload_customer_id(payload: Option<&qdrant_edge::Payload>) -> Option<&str> {
    payload?.0.get(fields::CUSTOMER_ID)?.as_str()
}

fn to_hit(point: ScoredPoint) -> Result<Hit, VectorError> {
    let customer_id = payload_customer_id(point.payload.as_ref()).ok_or_else(|| {
        VectorError::engine("search", format!("point {} has no customer id", point.id))
    })?;
    Ok(Hit {
        customer_id: customer_id.to_owned(),
        score: point.score,
    })
}

fn dense_vector(vector: Option<VectorStructInternal>) -> Result<Vec<f32>, VectorError> {
    match vector {
        Some(VectorStructInternal::Single(values)) => Ok(values),
        Some(VectorStructInternal::Named(mut named)) => match named.remove(DEFAULT_VECTOR_NAME) {
            Some(VectorInternal::Dense(values)) => Ok(values),
            _ => Err(VectorError::engine(
                "vector",
                "stored point has no dense vector",
            )),
        },
        _ => Err(VectorError::engine(
            "vector",
            "stored point has no dense vector",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_keys_parse_as_paths() {
        for key in [fields::CUSTOMER_ID, fields::SEGMENT, fields::REGION]
            .into_iter()
            .chain(INDEXED_FIELDS.map(|(key, _)| key))
        {
            assert!(key.parse::<JsonPath>().is_ok(), "{key}");
        }
    }

    #[test]
    fn batches_keep_every_item_in_order() {
        let items: Vec<usize> = (0..2 * MAX_BATCH_POINTS + 1).collect();
        let batches = into_batches(items.clone());
        assert_eq!(batches.len(), 3);
        assert!(batches.iter().all(|b| b.len() <= MAX_BATCH_POINTS));
        assert_eq!(batches.concat(), items);
        assert!(into_batches(Vec::<u8>::new()).is_empty());
    }

    #[test]
    fn empty_filter_is_no_filter() {
        assert!(edge_filter(&Filter::default()).is_none());
        let filter = Filter {
            region: Some("north".into()),
            exclude_customer: Some("c-1".into()),
            ..Filter::default()
        };
        let built = edge_filter(&filter).unwrap();
        assert_eq!(built.must.map(|m| m.len()), Some(1));
        assert_eq!(built.must_not.map(|m| m.len()), Some(1));
    }

    #[test]
    fn payload_omits_missing_segment() {
        let payload = Payload {
            customer_id: "c-1".into(),
            segment: None,
            region: "north".into(),
            profiling_consent: false,
            marketing_channels: vec!["email".into()],
        };
        assert!(payload_json(&payload).get(fields::SEGMENT).is_none());
        let with_segment = Payload {
            segment: Some(3),
            ..payload
        };
        assert_eq!(payload_json(&with_segment)[fields::SEGMENT], json!(3));
    }
}
