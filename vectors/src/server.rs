//! A Qdrant server over gRPC (qdrant-client). The server indexes and optimises in the
//! background, persists on its own, and serialises concurrent writes itself, so this adapter
//! translates types, maps errors, and retries a call the server asks to have again later
//! (every call is safe to repeat: writes go by point id, the rest read).

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use qdrant_client::qdrant::{
    vector_output, vectors_config, with_payload_selector::SelectorOptions, Condition,
    CountPointsBuilder, CreateCollectionBuilder, CreateFieldIndexCollectionBuilder,
    DeletePointsBuilder, Distance, FieldType, GetPointsBuilder, PayloadIncludeSelector, PointId,
    PointStruct, PointsIdsList, QueryPointsBuilder, SearchParamsBuilder, UpsertPointsBuilder,
    Value, VectorParamsBuilder, VectorsOutput,
};
use qdrant_client::{Qdrant, QdrantError};

use crate::{
    fields, point_id, validate, Filter, Hit, Payload, Point, VectorError, VectorStore,
    MAX_BATCH_POINTS,
};

const KIND: &str = "qdrant-server";

/// Per request. Generous because `upsert` waits for a batch of 1,000 points to be applied.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A server that does not accept a connection within this is treated as down.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// gRPC status codes (fixed by the gRPC specification) that mean "try again later".
const GRPC_DEADLINE_EXCEEDED: i32 = 4;
const GRPC_ALREADY_EXISTS: i32 = 6;
const GRPC_RESOURCE_EXHAUSTED: i32 = 8;
const GRPC_INTERNAL: i32 = 13;
const GRPC_UNAVAILABLE: i32 = 14;

/// Tries of one call while the server is unavailable, overloaded or past its deadline (a
/// restart, a failover, a dropped connection): a blip costs latency, not an error.
const ATTEMPTS: u32 = 4;

/// The wait before the second try, doubled before each next (50, 100, 200 ms), each with up
/// to half as much again at random so that many clients do not come back together.
const FIRST_BACKOFF: Duration = Duration::from_millis(50);

/// How qdrant-client's channel pool begins the message of a connection it could not open.
const CONNECT_FAILED: &str = "Failed to connect to";

const INDEXED_FIELDS: [(&str, FieldType); 4] = [
    (fields::SEGMENT, FieldType::Integer),
    (fields::REGION, FieldType::Keyword),
    (fields::PROFILING_CONSENT, FieldType::Bool),
    (fields::MARKETING_CHANNELS, FieldType::Keyword),
];

/// A Qdrant server via qdrant-client (gRPC url like http://localhost:6334), collection
/// created if missing with payload indexes.
pub struct ServerStore {
    client: Qdrant,
    collection: String,
    dim: usize,
}

impl ServerStore {
    /// Connects, creates `collection` (cosine, `dim` dimensions) if missing, checks an
    /// existing one has `dim` dimensions, and ensures the payload indexes.
    pub async fn connect(
        url: &str,
        collection: &str,
        dim: usize,
    ) -> Result<ServerStore, VectorError> {
        Self::connect_with_api_key(url, None, collection, dim).await
    }

    /// [`ServerStore::connect`] for a server that requires an API key.
    pub async fn connect_with_api_key(
        url: &str,
        api_key: Option<&str>,
        collection: &str,
        dim: usize,
    ) -> Result<ServerStore, VectorError> {
        validate::dim(dim)?;
        validate::text("collection name", collection)?;
        // The compatibility check would block this async task on a private runtime; the
        // health check below does the same job asynchronously.
        let client = Qdrant::from_url(url)
            .api_key(api_key.map(str::to_owned))
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .skip_compatibility_check()
            .build()
            .map_err(|err| map_error("connect", err))?;
        // A server still starting is waited for a moment; a refused key is an error at once.
        with_retries(|| client.health_check())
            .await
            .map_err(|err| map_error("connect", err))?;
        let store = ServerStore {
            client,
            collection: collection.to_owned(),
            dim,
        };
        store.ensure_collection().await?;
        store.ensure_payload_indexes().await?;
        Ok(store)
    }

    async fn ensure_collection(&self) -> Result<(), VectorError> {
        let exists = self
            .client
            .collection_exists(&self.collection)
            .await
            .map_err(|err| map_error("connect", err))?;
        if !exists {
            let create = CreateCollectionBuilder::new(&self.collection)
                .vectors_config(VectorParamsBuilder::new(self.dim as u64, Distance::Cosine));
            match self.client.create_collection(create).await {
                Ok(_) => {}
                // Another instance created it between our check and our create.
                Err(err) if grpc_code(&err) == Some(GRPC_ALREADY_EXISTS) => {}
                Err(err) => return Err(map_error("connect", err)),
            }
        }
        self.check_collection_params().await
    }

    async fn check_collection_params(&self) -> Result<(), VectorError> {
        let info = self
            .client
            .collection_info(&self.collection)
            .await
            .map_err(|err| map_error("connect", err))?;
        let params = info
            .result
            .and_then(|info| info.config)
            .and_then(|config| config.params)
            .and_then(|params| params.vectors_config)
            .and_then(|vectors| vectors.config);
        let Some(vectors_config::Config::Params(params)) = params else {
            return Err(VectorError::engine(
                "connect",
                format!(
                    "collection {} has no single unnamed vector",
                    self.collection
                ),
            ));
        };
        if params.distance != Distance::Cosine as i32 {
            return Err(VectorError::engine(
                "connect",
                format!(
                    "collection {} does not use cosine distance",
                    self.collection
                ),
            ));
        }
        if params.size != self.dim as u64 {
            return Err(VectorError::DimensionMismatch {
                expected: params.size as usize,
                actual: self.dim,
            });
        }
        Ok(())
    }

    /// Creating an index that exists is a no-op on the server, so this runs on every connect.
    async fn ensure_payload_indexes(&self) -> Result<(), VectorError> {
        for (field, field_type) in INDEXED_FIELDS {
            let create =
                CreateFieldIndexCollectionBuilder::new(&self.collection, field, field_type)
                    .wait(true);
            self.client
                .create_field_index(create)
                .await
                .map_err(|err| map_error("connect", err))?;
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl VectorStore for ServerStore {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn dim(&self) -> usize {
        self.dim
    }

    /// Not atomic across batches of [`MAX_BATCH_POINTS`]; upserts are idempotent, so the
    /// caller retries the whole call.
    async fn upsert(&self, points: Vec<Point>) -> Result<(), VectorError> {
        let points = validate::points(points, self.dim)?;
        let points: Vec<PointStruct> = points.into_iter().map(to_server_point).collect();
        let client = &self.client;
        for batch in points.chunks(MAX_BATCH_POINTS) {
            // wait(true): acknowledged means applied and persisted on the server.
            let upsert = UpsertPointsBuilder::new(&self.collection, batch.to_vec()).wait(true);
            with_retries(|| {
                let upsert = upsert.clone();
                async move { client.upsert_points(upsert).await }
            })
            .await
            .map_err(|err| map_error("upsert", err))?;
        }
        Ok(())
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
        let mut query = QueryPointsBuilder::new(&self.collection)
            .query(vector.to_vec())
            .limit(k as u64)
            .with_payload(customer_id_only());
        if let Some(filter) = server_filter(filter) {
            query = query.filter(filter);
        }
        self.query_hits("search", query).await
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
        let mut query = QueryPointsBuilder::new(&self.collection)
            .query(vector.to_vec())
            .limit(k as u64)
            .params(SearchParamsBuilder::default().exact(true))
            .with_payload(customer_id_only());
        if let Some(min_score) = min_score {
            query = query.score_threshold(min_score);
        }
        if let Some(filter) = server_filter(filter) {
            query = query.filter(filter);
        }
        self.query_hits("audience", query).await
    }

    async fn vector(&self, customer_id: &str) -> Result<Option<Vec<f32>>, VectorError> {
        validate::text("customer id", customer_id)?;
        let get =
            GetPointsBuilder::new(&self.collection, vec![PointId::from(point_id(customer_id))])
                .with_vectors(true)
                .with_payload(customer_id_only());
        let client = &self.client;
        let response = with_retries(|| {
            let get = get.clone();
            async move { client.get_points(get).await }
        })
        .await
        .map_err(|err| map_error("vector", err))?;
        let Some(point) = response.result.into_iter().next() else {
            return Ok(None);
        };
        // A different customer here means a point-id collision: the asked-for one is not stored.
        if payload_customer_id(&point.payload) != Some(customer_id) {
            return Ok(None);
        }
        dense_vector(point.vectors).map(Some)
    }

    async fn count(&self) -> Result<u64, VectorError> {
        let client = &self.client;
        let count = CountPointsBuilder::new(&self.collection).exact(true);
        let response = with_retries(|| {
            let count = count.clone();
            async move { client.count(count).await }
        })
        .await
        .map_err(|err| map_error("count", err))?;
        Ok(response.result.map_or(0, |result| result.count))
    }

    async fn delete(&self, customer_ids: &[String]) -> Result<(), VectorError> {
        validate::customer_ids(customer_ids)?;
        let client = &self.client;
        for batch in customer_ids.chunks(MAX_BATCH_POINTS) {
            let ids: Vec<PointId> = batch.iter().map(|id| PointId::from(point_id(id))).collect();
            with_retries(|| {
                let delete = DeletePointsBuilder::new(&self.collection)
                    .points(PointsIdsList { ids: ids.clone() })
                    .wait(true);
                async move { client.delete_points(delete).await }
            })
            .await
            .map_err(|err| map_error("delete", err))?;
        }
        Ok(())
    }

    /// The server's optimisers run in the background after every write.
    async fn optimize(&self) -> Result<(), VectorError> {
        Ok(())
    }
}

fn to_server_point(point: Point) -> PointStruct {
    PointStruct::new(
        point_id(&point.customer_id),
        point.vector,
        server_payload(point.payload),
    )
}

/// Same keys and shapes as the edge store's payload, so data can move between them.
fn server_payload(payload: Payload) -> qdrant_client::Payload {
    let mut map: HashMap<&str, Value> = HashMap::from([
        (fields::CUSTOMER_ID, Value::from(payload.customer_id)),
        (fields::REGION, Value::from(payload.region)),
        (
            fields::PROFILING_CONSENT,
            Value::from(payload.profiling_consent),
        ),
        (
            fields::MARKETING_CHANNELS,
            Value::from(payload.marketing_channels),
        ),
    ]);
    if let Some(segment) = payload.segment {
        map.insert(fields::SEGMENT, Value::from(i64::from(segment)));
    }
    qdrant_client::Payload::from(map)
}

impl ServerStore {
    /// Runs a points query and reads each hit's customer id; `op` names it in errors.
    async fn query_hits(
        &self,
        op: &'static str,
        query: QueryPointsBuilder,
    ) -> Result<Vec<Hit>, VectorError> {
        let client = &self.client;
        let response = with_retries(|| {
            let query = query.clone();
            async move { client.query(query).await }
        })
        .await
        .map_err(|err| map_error(op, err))?;
        response
            .result
            .into_iter()
            .map(|point| {
                let customer_id = payload_customer_id(&point.payload)
                    .ok_or_else(|| VectorError::engine(op, "hit has no customer id"))?;
                Ok(Hit {
                    customer_id: customer_id.to_owned(),
                    score: point.score,
                })
            })
            .collect()
    }
}

fn server_filter(filter: &Filter) -> Option<qdrant_client::qdrant::Filter> {
    let mut must = Vec::new();
    if let Some(segment) = filter.segment {
        must.push(Condition::matches(fields::SEGMENT, i64::from(segment)));
    }
    if let Some(region) = &filter.region {
        must.push(Condition::matches(fields::REGION, region.clone()));
    }
    if let Some(consent) = filter.profiling_consent {
        must.push(Condition::matches(fields::PROFILING_CONSENT, consent));
    }
    if let Some(channel) = &filter.marketing_channel {
        must.push(Condition::matches(
            fields::MARKETING_CHANNELS,
            channel.clone(),
        ));
    }
    let must_not: Vec<Condition> = filter
        .exclude_customer
        .iter()
        .map(|id| Condition::has_id([PointId::from(point_id(id))]))
        .collect();
    if must.is_empty() && must_not.is_empty() {
        return None;
    }
    Some(qdrant_client::qdrant::Filter {
        must,
        must_not,
        ..Default::default()
    })
}

fn customer_id_only() -> SelectorOptions {
    SelectorOptions::Include(PayloadIncludeSelector {
        fields: vec![fields::CUSTOMER_ID.to_owned()],
    })
}

fn payload_customer_id(payload: &HashMap<String, Value>) -> Option<&str> {
    payload
        .get(fields::CUSTOMER_ID)?
        .as_str()
        .map(String::as_str)
}

fn dense_vector(vectors: Option<VectorsOutput>) -> Result<Vec<f32>, VectorError> {
    match vectors.and_then(|v| v.get_vector()) {
        Some(vector_output::Vector::Dense(dense)) => Ok(dense.data),
        _ => Err(VectorError::engine(
            "vector",
            "stored point has no dense vector",
        )),
    }
}

fn grpc_code(err: &QdrantError) -> Option<i32> {
    match err {
        QdrantError::ResponseError { status } => Some(i32::from(status.code())),
        QdrantError::ResourceExhaustedError { .. } => Some(GRPC_RESOURCE_EXHAUSTED),
        _ => None,
    }
}

/// Whether the server asked for the call again later, or could not be reached (qdrant-client
/// reports a refused or dropped connection as an internal error that says so).
fn transient(err: &QdrantError) -> bool {
    let unreachable = matches!(
        err,
        QdrantError::ResponseError { status }
            if i32::from(status.code()) == GRPC_INTERNAL
                && status.message().starts_with(CONNECT_FAILED)
    );
    unreachable
        || matches!(
            grpc_code(err),
            Some(GRPC_UNAVAILABLE | GRPC_DEADLINE_EXCEEDED | GRPC_RESOURCE_EXHAUSTED)
        )
        || matches!(err, QdrantError::Io(_))
}

/// Runs `call` until it succeeds, fails for good, or has been tried [`ATTEMPTS`] times,
/// waiting between tries as [`FIRST_BACKOFF`] says.
async fn with_retries<T, F, Fut>(call: F) -> Result<T, QdrantError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, QdrantError>>,
{
    retry_transient(call, transient, |wait| tokio::time::sleep(wait)).await
}

/// The retry loop itself, its test for "again later" and its sleep given (tests count the
/// tries without waiting).
async fn retry_transient<T, E, F, Fut, S>(
    mut call: F,
    again: impl Fn(&E) -> bool,
    mut sleep: impl FnMut(Duration) -> S,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    S: Future<Output = ()>,
{
    let mut wait = FIRST_BACKOFF;
    let mut tries = 1;
    loop {
        match call().await {
            Err(err) if tries < ATTEMPTS && again(&err) => {
                sleep(wait + jitter(wait)).await;
                wait *= 2;
                tries += 1;
            }
            done => return done,
        }
    }
}

/// Up to half of `wait`, from the clock's nanoseconds: spread, not secret.
fn jitter(wait: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let half = (wait.as_nanos() / 2).max(1) as u64;
    Duration::from_nanos(u64::from(nanos) % half)
}

/// Transient conditions become `Unavailable` (the api answers 503 and callers retry);
/// everything else is an engine error.
fn map_error(op: &'static str, err: QdrantError) -> VectorError {
    if let QdrantError::InvalidUri(uri_err) = &err {
        return VectorError::InvalidInput(format!("qdrant url: {uri_err}"));
    }
    if transient(&err) {
        VectorError::unavailable(op, err)
    } else {
        VectorError::engine(op, err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A call failing `failures` times with `error` before it succeeds; the tries and the
    /// waits asked for.
    async fn flaky(failures: u32, again: bool) -> (Result<u32, bool>, u32, Vec<Duration>) {
        let tries = std::cell::Cell::new(0);
        let mut waits = Vec::new();
        let result = retry_transient(
            || {
                tries.set(tries.get() + 1);
                let n = tries.get();
                async move {
                    if n <= failures {
                        Err(again)
                    } else {
                        Ok(n)
                    }
                }
            },
            |again: &bool| *again,
            |wait| {
                waits.push(wait);
                async {}
            },
        )
        .await;
        (result, tries.get(), waits)
    }

    #[tokio::test]
    async fn transient_failures_are_tried_again_with_growing_waits_then_given_up() {
        // Two blips: the third try answers.
        let (result, tries, waits) = flaky(2, true).await;
        assert_eq!((result, tries), (Ok(3), 3));
        assert!(waits[0] >= FIRST_BACKOFF && waits[0] < FIRST_BACKOFF * 3 / 2);
        assert!(waits[1] >= FIRST_BACKOFF * 2 && waits[1] < FIRST_BACKOFF * 3);
        // Down for longer: tried ATTEMPTS times, then the error.
        let (result, tries, waits) = flaky(10, true).await;
        assert_eq!((result, tries, waits.len()), (Err(true), ATTEMPTS, 3));
        // A refusal (a bad request, a wrong key) is not tried again.
        let (result, tries, _) = flaky(10, false).await;
        assert_eq!((result, tries), (Err(false), 1));
    }

    #[test]
    fn payload_and_filter_use_the_shared_keys() {
        let payload = server_payload(Payload {
            customer_id: "c-1".into(),
            segment: Some(2),
            region: "north".into(),
            profiling_consent: true,
            marketing_channels: vec!["email".into(), "push".into()],
        });
        let map: HashMap<String, Value> = payload.into();
        assert_eq!(map.len(), 5);
        assert_eq!(payload_customer_id(&map), Some("c-1"));

        assert!(server_filter(&Filter::default()).is_none());
        let filter = server_filter(&Filter {
            segment: Some(2),
            marketing_channel: Some("push".into()),
            exclude_customer: Some("c-1".into()),
            ..Filter::default()
        })
        .unwrap();
        assert_eq!(filter.must.len(), 2);
        assert_eq!(filter.must_not.len(), 1);
    }
}
