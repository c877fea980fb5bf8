//! From a configuration to a running context: the database (SQLite in the data directory
//! unless a URL is configured), the vector store (qdrant-edge in the data directory unless a
//! Qdrant server is configured), the pipeline and its embedding model.

use std::sync::Arc;

use sextant_services::Context;
use sextant_store::{SeaStore, Store};

use crate::config::Config;

/// The store the configuration names, its schema brought up to date.
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    let url = config.database_url.as_ref().map(|s| s.expose().to_owned());
    let store = SeaStore::open(url.as_deref(), &config.data_dir)
        .await
        .map_err(|e| match &url {
            Some(_) => anyhow::anyhow!("cannot open the database at SEXTANT_DATABASE_URL: {e}"),
            None => anyhow::anyhow!(
                "cannot open the SQLite database in {}: {e}",
                config.data_dir.display()
            ),
        })?;
    Ok(Arc::new(store))
}

/// Store, vector store and pipeline from the configuration.
pub async fn open_context(config: &Config) -> anyhow::Result<Context> {
    let store = open_store(config).await?;
    let vectors = sextant_vectors::open(
        config.qdrant_url.as_deref(),
        &config.data_dir.join("vectors"),
        config.embedding_dim,
    )
    .await?;
    Ok(Context::open(store, vectors, &config.data_dir.join("models")).await?)
}
