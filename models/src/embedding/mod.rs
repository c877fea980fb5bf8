//! Customer embeddings: a self-supervised encoder from profile features and the monthly
//! category-spending sequence to a unit vector.
//!
//! Customers who look alike across many signals land close together and dense groups of
//! customers pull apart, so k-means on embeddings finds personas and nearest neighbours are
//! lookalikes. Training needs no labels: inputs are prepared (`prep.rs`: signed log of
//! heavy-tailed columns, standardisation, clipping, per-category means), nearest neighbours
//! are found in that space (`neighbours.rs`), and the encoder (`network.rs`) learns to tell
//! each customer's neighbour from everyone else (`train.rs`). A saved model is one
//! self-describing safetensors file (`file.rs`).

mod file;
mod hash;
mod neighbours;
mod network;
mod prep;
mod train;

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};
use sextant_hash::Fnv128;

use crate::ModelError;
use network::Network;
use prep::Preprocessor;

/// Names the architecture and file layout; the trained model's `Metadata::version` starts
/// with it. Bump when a saved file of the old layout could not be read correctly.
pub const MODEL_FORMAT: &str = "sextant-embedding/1";
/// Most rows one training run accepts: the prepared matrix is held in memory
/// (rows x width x 4 bytes; about 1 GiB at this limit with 250 input columns).
pub const MAX_TRAINING_ROWS: usize = 1_000_000;
pub const MAX_FEATURES: usize = 1024;
pub const MAX_SEQUENCE_LEN: usize = 4096;
pub const MAX_ADOPTION_LEN: usize = 256;
/// Rows per forward pass in [`EmbeddingModel::embed`]: large enough to keep the matrix
/// kernels busy, small enough to bound memory whatever the number of rows asked for.
pub const EMBED_BATCH_ROWS: usize = 1024;

/// Training settings. `Default` gives the tuned values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingConfig {
    /// Embedding dimension.
    pub dim: usize,
    /// Width of the first hidden layer; the second is half of it.
    pub hidden: usize,
    pub epochs: usize,
    pub batch_size: usize,
    /// AdamW's peak learning rate; it decays along a cosine over training.
    pub learning_rate: f64,
    /// Probability that an input entry is replaced by another customer's value (swap noise).
    pub mask_probability: f32,
    /// Seeds the validation split, initialisation, batch order and noise.
    pub seed: u64,
    /// Weight of the product-adoption loss next to the reconstruction loss (used only when
    /// the training data carries adoption targets).
    pub adoption_weight: f32,
}

impl Default for EmbeddingConfig {
    fn default() -> Self {
        EmbeddingConfig {
            dim: 32,
            hidden: 128,
            epochs: 20,
            batch_size: 256,
            learning_rate: 2e-3,
            mask_probability: 0.1,
            seed: 42,
            adoption_weight: 1.0,
        }
    }
}

/// Training rows, one per customer, in the same order in every field.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrainingData {
    /// Raw numeric profile features on any scale (money in cents is fine: heavy-tailed
    /// columns are detected and log-transformed, every column is standardised).
    pub features: Vec<Vec<f32>>,
    /// Monthly category-spending shares, month-major (month 0's categories, then month 1's,
    /// ...), values in 0..=1 with each month summing to one or zero. Other layouts are
    /// accepted as plain numbers but lose the per-category summary.
    pub sequences: Vec<Vec<f32>>,
    /// Optional multi-hot product holdings or adoptions (values in 0..=1) for the
    /// product-adoption head, which teaches the embedding what predicts product take-up.
    pub adoption: Option<Vec<Vec<f32>>>,
}

/// What a training run did. Losses are per row and column weight: reconstruction is a
/// weighted mean squared error on standardised inputs, adoption a mean binary
/// cross-entropy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingReport {
    pub epochs: usize,
    /// Mean training loss over the last epoch.
    pub final_loss: f64,
    /// Total loss on the held-out 10% of rows (on the training rows when under ten rows).
    pub validation_loss: f64,
    /// The reconstruction part of `validation_loss`.
    pub reconstruction_loss: f64,
    /// The adoption part of `validation_loss`, before weighting; `None` without the head.
    pub adoption_loss: Option<f64>,
    pub seconds: f64,
    pub rows: usize,
}

/// Everything needed to know where a model came from; saved inside the model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// [`MODEL_FORMAT`], `+`, and a hash of the weights: two models share a version exactly
    /// when they compute the same embeddings.
    pub version: String,
    /// The caller's feature-layout version the model was trained on.
    pub feature_version: u32,
    pub data_hash: String,
    pub config: EmbeddingConfig,
    pub report: TrainingReport,
    pub created_at_unix_s: u64,
    pub input_features: usize,
    pub sequence_len: usize,
    /// 0 when trained without adoption targets.
    pub adoption_len: usize,
}

/// A trained encoder with its input preparation.
pub struct EmbeddingModel {
    metadata: Metadata,
    prep: Preprocessor,
    network: Network,
}

impl std::fmt::Debug for EmbeddingModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddingModel")
            .field("metadata", &self.metadata)
            .finish_non_exhaustive()
    }
}

impl EmbeddingModel {
    /// Self-supervised training, reproducible from `config.seed`: the same data and
    /// configuration give identical weights.
    pub fn train(
        data: &TrainingData,
        config: &EmbeddingConfig,
        feature_version: u32,
    ) -> Result<(EmbeddingModel, TrainingReport), ModelError> {
        validate_config(config)?;
        let adoption_len = validate_training_data(data)?;
        let trained = train::train(data, config)?;
        let metadata = Metadata {
            version: version_of(&trained.network)?,
            feature_version,
            data_hash: data_hash(data),
            config: config.clone(),
            report: trained.report.clone(),
            created_at_unix_s: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            input_features: trained.prep.input_features,
            sequence_len: trained.prep.sequence_len,
            adoption_len,
        };
        let model = EmbeddingModel {
            metadata,
            prep: trained.prep,
            network: trained.network,
        };
        Ok((model, trained.report))
    }

    /// L2-normalised embeddings of dimension `config.dim`, one per row, computed in batches
    /// of [`EMBED_BATCH_ROWS`] so any number of rows fits in bounded memory.
    pub fn embed(
        &self,
        features: &[Vec<f32>],
        sequences: &[Vec<f32>],
    ) -> Result<Vec<Vec<f32>>, ModelError> {
        check_row_count("sequences", features.len(), sequences.len())?;
        check_rows("feature", features, self.prep.input_features, false)?;
        check_rows("sequence", sequences, self.prep.sequence_len, false)?;
        let mut out = Vec::with_capacity(features.len());
        for (f, s) in features
            .chunks(EMBED_BATCH_ROWS)
            .zip(sequences.chunks(EMBED_BATCH_ROWS))
        {
            let x = self.prep.transform_rows(f, s);
            let x = Tensor::from_vec(x, (f.len(), self.prep.width()), &Device::Cpu)?;
            out.extend(self.network.embed(&x)?.to_vec2::<f32>()?);
        }
        Ok(out)
    }

    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// Writes the weights as safetensors with the metadata JSON in the header (key
    /// `"sextant"`), so one file is self-describing. The file is written beside `path` and
    /// renamed into place, so a crash never leaves a half-written model under `path`.
    pub fn save(&self, path: &std::path::Path) -> Result<(), ModelError> {
        file::save(self, path)
    }

    /// Reads a model written by [`EmbeddingModel::save`], checking every tensor's shape and
    /// values; a damaged or foreign file is [`ModelError::Corrupt`].
    pub fn load(path: &std::path::Path) -> Result<EmbeddingModel, ModelError> {
        file::load(path)
    }
}

/// A stable hex hash of the training inputs (values and shapes), for the metadata.
pub fn data_hash(data: &TrainingData) -> String {
    let mut hasher = Fnv128::new();
    hasher.write(b"features");
    hash::write_rows(&mut hasher, &data.features);
    hasher.write(b"sequences");
    hash::write_rows(&mut hasher, &data.sequences);
    if let Some(adoption) = &data.adoption {
        hasher.write(b"adoption");
        hash::write_rows(&mut hasher, adoption);
    }
    hasher.hex()
}

/// `MODEL_FORMAT+<first 16 hex digits of the weights' hash>`.
fn version_of(network: &Network) -> Result<String, ModelError> {
    let mut hasher = Fnv128::new();
    for (name, tensor) in network.named_tensors() {
        hasher.write(name.as_bytes());
        hash::write_f32s(&mut hasher, &tensor.flatten_all()?.to_vec1::<f32>()?);
    }
    Ok(format!("{MODEL_FORMAT}+{}", &hasher.hex()[..16]))
}

fn validate_config(config: &EmbeddingConfig) -> Result<(), ModelError> {
    let checks: [(bool, &'static str, &'static str); 7] = [
        (
            (2..=1024).contains(&config.dim),
            "dim",
            "must be in 2..=1024",
        ),
        (
            (4..=4096).contains(&config.hidden),
            "hidden",
            "must be in 4..=4096",
        ),
        (
            (1..=10_000).contains(&config.epochs),
            "epochs",
            "must be in 1..=10000",
        ),
        (
            (1..=65_536).contains(&config.batch_size),
            "batch_size",
            "must be in 1..=65536",
        ),
        (
            config.learning_rate > 0.0 && config.learning_rate <= 1.0,
            "learning_rate",
            "must be in (0, 1]",
        ),
        (
            (0.0..1.0).contains(&config.mask_probability),
            "mask_probability",
            "must be in [0, 1)",
        ),
        (
            config.adoption_weight >= 0.0 && config.adoption_weight.is_finite(),
            "adoption_weight",
            "must be a finite number >= 0",
        ),
    ];
    match checks.iter().find(|(ok, _, _)| !ok) {
        Some(&(_, field, reason)) => Err(ModelError::InvalidConfig { field, reason }),
        None => Ok(()),
    }
}

/// Checks shapes, limits and values; returns the adoption width (0 without adoption).
fn validate_training_data(data: &TrainingData) -> Result<usize, ModelError> {
    let rows = data.features.len();
    if rows == 0 {
        return Err(ModelError::EmptyData("train an embedding model"));
    }
    check_limit("training rows", MAX_TRAINING_ROWS, rows)?;
    check_row_count("sequences", rows, data.sequences.len())?;
    let features = data.features[0].len();
    let sequence_len = data.sequences[0].len();
    check_limit("feature count", MAX_FEATURES, features)?;
    check_limit("sequence length", MAX_SEQUENCE_LEN, sequence_len)?;
    if features + sequence_len == 0 {
        return Err(ModelError::ShapeMismatch {
            what: "feature",
            row: 0,
            expected: 1,
            found: 0,
        });
    }
    check_rows("feature", &data.features, features, false)?;
    check_rows("sequence", &data.sequences, sequence_len, false)?;
    let Some(adoption) = &data.adoption else {
        return Ok(0);
    };
    check_row_count("adoption", rows, adoption.len())?;
    let adoption_len = adoption[0].len();
    check_limit("adoption length", MAX_ADOPTION_LEN, adoption_len)?;
    check_rows("adoption", adoption, adoption_len, true)?;
    Ok(adoption_len)
}

fn check_limit(what: &'static str, limit: usize, found: usize) -> Result<(), ModelError> {
    if found > limit {
        return Err(ModelError::TooLarge { what, limit, found });
    }
    Ok(())
}

fn check_row_count(what: &'static str, expected: usize, found: usize) -> Result<(), ModelError> {
    if expected != found {
        return Err(ModelError::RowCountMismatch {
            what,
            expected,
            found,
        });
    }
    Ok(())
}

/// Every row has `width` finite values (within 0..=1 when `unit_interval`).
fn check_rows(
    what: &'static str,
    rows: &[Vec<f32>],
    width: usize,
    unit_interval: bool,
) -> Result<(), ModelError> {
    for (row, values) in rows.iter().enumerate() {
        if values.len() != width {
            return Err(ModelError::ShapeMismatch {
                what,
                row,
                expected: width,
                found: values.len(),
            });
        }
        if let Some(column) = values.iter().position(|v| !v.is_finite()) {
            return Err(ModelError::NonFinite { what, row, column });
        }
        if unit_interval {
            if let Some(column) = values.iter().position(|v| !(0.0..=1.0).contains(v)) {
                return Err(ModelError::OutOfRange {
                    what,
                    row,
                    column,
                    range: "0..=1",
                });
            }
        }
    }
    Ok(())
}
