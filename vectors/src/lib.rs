//! Storage adapters for customer embeddings.
//!
//! Two implementations of one [`VectorStore`] trait:
//! - [`EdgeStore`]: qdrant-edge running inside the process, persisted in a directory. The
//!   default: nothing to deploy, and the data lives beside the SQLite database.
//! - [`ServerStore`]: a Qdrant server over gRPC, for deployments that share one index.
//!
//! Both use cosine similarity and keep the customer id in the payload; Qdrant point ids are
//! derived from it with [`point_id`], so an upsert of the same customer replaces its point.
//! Only the services (and the tools of the command line) use it: the domain crates never see
//! a vector store.

mod edge;
mod error;
mod flusher;
mod server;
mod validate;

use sextant_hash::{fnv1a64, splitmix64_finalise};

pub use edge::{EdgeOptions, EdgeStats, EdgeStore};
pub use error::VectorError;
pub use server::ServerStore;

/// The collection used when the configuration names none.
pub const DEFAULT_COLLECTION: &str = "customers";

/// Most hits one search may return: a lookalike audience is built from pages of this size,
/// and a larger `k` would turn a nearest-neighbour query into an export.
pub const MAX_K: usize = 1000;

/// Most customers one [`VectorStore::audience`] call returns: a lookalike audience is at most
/// this large.
pub const MAX_AUDIENCE: usize = 100_000;

/// Largest embedding the stores accept; ours are 32-dimensional, this only stops nonsense.
pub const MAX_DIM: usize = 4096;

/// Customer ids are at most 64 bytes everywhere in Sextant (see ARCHITECTURE.md).
pub const MAX_ID_BYTES: usize = 64;

/// Most marketing channels one payload may list; real customers have a handful.
pub const MAX_CHANNELS: usize = 16;

/// Most points (or ids) sent to the engine in one operation. Larger calls are split, so one
/// request never holds the engine's update lock, or a gRPC message, for long.
pub const MAX_BATCH_POINTS: usize = 1000;

/// Payload keys, shared by both stores so a collection can move from one to the other.
pub mod fields {
    pub const CUSTOMER_ID: &str = "customer_id";
    pub const SEGMENT: &str = "segment";
    pub const REGION: &str = "region";
    pub const PROFILING_CONSENT: &str = "profiling_consent";
    pub const MARKETING_CHANNELS: &str = "marketing_channels";
}

/// What is stored beside each vector, and what searches can filter on.
#[derive(Debug, Clone, PartialEq)]
pub struct Payload {
    pub customer_id: String,
    pub segment: Option<u32>,
    pub region: String,
    pub profiling_consent: bool,
    /// Channels the customer accepts marketing on, e.g. `["email", "push"]`.
    pub marketing_channels: Vec<String>,
}

/// One customer's embedding. `customer_id` must equal `payload.customer_id`.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub customer_id: String,
    pub vector: Vec<f32>,
    pub payload: Payload,
}

/// Conditions a hit must meet; every `Some` must hold (they are ANDed).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub segment: Option<u32>,
    pub region: Option<String>,
    pub profiling_consent: Option<bool>,
    /// The customer must list this channel among `marketing_channels`.
    pub marketing_channel: Option<String>,
    /// Leave this customer out, typically the seed of a lookalike search.
    pub exclude_customer: Option<String>,
}

/// One search result: cosine similarity in [-1, 1], higher is closer.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub customer_id: String,
    pub score: f32,
}

/// A store of customer embeddings. Implementations are shared across request handlers as
/// `Arc<dyn VectorStore>`, so every method takes `&self` and never blocks the async runtime.
#[async_trait::async_trait]
pub trait VectorStore: Send + Sync {
    /// `"qdrant-edge"` or `"qdrant-server"`, for logs and the health endpoint.
    fn kind(&self) -> &'static str;
    /// Dimensions every vector must have.
    fn dim(&self) -> usize;
    /// Inserts or replaces points, keyed by customer id. Within one call the last point of a
    /// customer wins. Searches see them when this returns. They are durable then too, except
    /// in a store that flushes in the background ([`EdgeStore`]): there a crash may lose the
    /// last second of upserts, which [`VectorStore::lost_since`] reports to the next process.
    async fn upsert(&self, points: Vec<Point>) -> Result<(), VectorError>;

    /// Set when the previous process stopped with upserts acknowledged but not on disk:
    /// those made from this time on may be missing, and the owner of the vectors recomputes
    /// them, then calls [`VectorStore::recovered`]. `None` when nothing can have been lost.
    fn lost_since(&self) -> Option<std::time::SystemTime> {
        None
    }

    /// The losses [`VectorStore::lost_since`] reported were made again: once they are on
    /// disk, it is `None` here and at the next open.
    async fn recovered(&self) -> Result<(), VectorError> {
        Ok(())
    }
    /// The `k` (at most [`MAX_K`]) stored customers most similar to `vector` by cosine
    /// similarity among those passing `filter`, best first.
    async fn search(
        &self,
        vector: &[f32],
        k: usize,
        filter: &Filter,
    ) -> Result<Vec<Hit>, VectorError>;
    /// Up to `k` (at most [`MAX_AUDIENCE`]) customers most similar to `vector`, best first,
    /// scored exactly (no approximate index: an audience must not depend on the index's
    /// recall), keeping only scores of at least `min_score` when given.
    async fn audience(
        &self,
        vector: &[f32],
        k: usize,
        min_score: Option<f32>,
        filter: &Filter,
    ) -> Result<Vec<Hit>, VectorError>;
    /// The stored vector of a customer. Cosine stores keep vectors normalised to unit length,
    /// so this is the upserted vector scaled to norm 1.
    async fn vector(&self, customer_id: &str) -> Result<Option<Vec<f32>>, VectorError>;
    /// Number of stored points.
    async fn count(&self) -> Result<u64, VectorError>;
    /// Removes these customers; unknown ids are ignored.
    async fn delete(&self, customer_ids: &[String]) -> Result<(), VectorError>;
    /// Builds/optimises the HNSW index after a bulk load (no-op where the engine does it itself).
    async fn optimize(&self) -> Result<(), VectorError>;
}

/// Where a deployment keeps its vectors.
#[derive(Debug, Clone, Copy, Default)]
pub struct Location<'a> {
    /// gRPC URL of a Qdrant server (`http://` or `https://` for TLS); `None` for the
    /// in-process qdrant-edge store.
    pub server_url: Option<&'a str>,
    /// The server's API key, when it requires one.
    pub api_key: Option<&'a str>,
}

/// The store a deployment names: a Qdrant server (its collection [`DEFAULT_COLLECTION`]),
/// or else the in-process qdrant-edge store in `dir`.
pub async fn open(
    location: Location<'_>,
    dir: &std::path::Path,
    dim: usize,
) -> Result<std::sync::Arc<dyn VectorStore>, VectorError> {
    Ok(match location.server_url {
        Some(url) => std::sync::Arc::new(
            ServerStore::connect_with_api_key(url, location.api_key, DEFAULT_COLLECTION, dim)
                .await?,
        ),
        None => {
            let dir = dir.to_owned();
            std::sync::Arc::new(
                tokio::task::spawn_blocking(move || EdgeStore::open(&dir, dim))
                    .await
                    .map_err(|e| VectorError::engine("open", e))??,
            )
        }
    })
}

/// Stable u64 point id for a customer id (qdrant ids are integers/uuids; the customer id is
/// kept in the payload).
///
/// FNV-1a because it is fixed by its definition: std's `DefaultHasher` may change between Rust
/// releases, and a changed id would orphan every stored point. The splitmix64 finaliser spreads
/// the bits (FNV's high bits mix poorly for short keys) and, being a bijection, adds no
/// collisions. Two of a million customers collide with probability about 3e-8; readers check the
/// customer id kept in the payload, so a collision can replace a point but never return the
/// wrong customer's vector.
pub fn point_id(customer_id: &str) -> u64 {
    splitmix64_finalise(fnv1a64(customer_id.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn point_id_is_pinned() {
        // Stored data depends on these values: changing them orphans every existing point.
        assert_eq!(point_id(""), splitmix64_finalise(0xcbf2_9ce4_8422_2325));
        assert_eq!(point_id("c-000001"), point_id("c-000001"));
        // Computed independently (Python) from the FNV-1a and splitmix64 definitions.
        assert_eq!(point_id("c-000001"), 0x2d64_2509_fcc7_bc72);
    }

    #[test]
    fn point_ids_of_sequential_customers_are_distinct() {
        let ids: HashSet<u64> = (0..200_000)
            .map(|i| point_id(&format!("c-{i:06}")))
            .collect();
        assert_eq!(ids.len(), 200_000);
    }
}
