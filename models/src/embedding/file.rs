//! The model file: safetensors holding the network and the input preparation, with the
//! [`Metadata`] as JSON under the header key `"sextant"`.
//!
//! Loading trusts nothing: the header must parse, the format must be ours, and every tensor
//! must be present with the shape the metadata implies and finite values.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

use super::network::{expected_shapes, Dimensions, Network};
use super::prep::Preprocessor;
use super::{EmbeddingModel, Metadata, MODEL_FORMAT};
use crate::ModelError;

/// The header key holding the metadata JSON.
const METADATA_KEY: &str = "sextant";
/// Largest file `load` reads: a default model is well under 1 MiB, the largest allowed
/// configuration tens of MiB; anything bigger is not ours.
const MAX_MODEL_FILE_BYTES: u64 = 256 * 1024 * 1024;

const LOG_SCALE: &str = "prep.log_scale";
const MEAN: &str = "prep.mean";
const STD: &str = "prep.std";
/// One f32 holding the number of months (0 = no per-category summary); a float keeps every
/// tensor in the file the same dtype.
const SEQUENCE_MONTHS: &str = "prep.sequence_months";

pub(super) fn save(model: &EmbeddingModel, path: &Path) -> Result<(), ModelError> {
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    let prep = &model.prep;
    tensors.push((
        LOG_SCALE.into(),
        vec![prep.log_scale.len()],
        le_bytes(&prep.log_scale),
    ));
    tensors.push((MEAN.into(), vec![prep.mean.len()], le_bytes(&prep.mean)));
    tensors.push((STD.into(), vec![prep.std.len()], le_bytes(&prep.std)));
    let months = [prep.sequence_months as f32];
    tensors.push((SEQUENCE_MONTHS.into(), vec![1], le_bytes(&months)));
    for (name, tensor) in model.network.named_tensors() {
        let values = tensor.flatten_all()?.to_vec1::<f32>()?;
        tensors.push((name.clone(), tensor.dims().to_vec(), le_bytes(&values)));
    }
    let views = tensors
        .iter()
        .map(|(name, shape, bytes)| {
            Ok((
                name.as_str(),
                TensorView::new(Dtype::F32, shape.clone(), bytes)?,
            ))
        })
        .collect::<Result<Vec<_>, safetensors::SafeTensorError>>()
        .map_err(|e| corrupt(path, format!("cannot lay out tensors: {e}")))?;
    let metadata_json = serde_json::to_string(&model.metadata)
        .map_err(|e| corrupt(path, format!("cannot encode metadata: {e}")))?;
    let header = Some(HashMap::from([(METADATA_KEY.to_string(), metadata_json)]));
    let bytes = safetensors::serialize(views, &header)
        .map_err(|e| corrupt(path, format!("cannot serialise: {e}")))?;
    write_atomically(path, &bytes)
}

pub(super) fn load(path: &Path) -> Result<EmbeddingModel, ModelError> {
    let io = |source| ModelError::Io {
        path: path.to_path_buf(),
        source,
    };
    let size = std::fs::metadata(path).map_err(io)?.len();
    if size > MAX_MODEL_FILE_BYTES {
        return Err(corrupt(
            path,
            format!("{size} bytes is over the {MAX_MODEL_FILE_BYTES}-byte limit"),
        ));
    }
    let bytes = std::fs::read(path).map_err(io)?;
    let metadata = read_metadata(path, &bytes)?;
    let file = SafeTensors::deserialize(&bytes).map_err(|e| corrupt(path, e.to_string()))?;
    let months = read_f32s(path, &file, SEQUENCE_MONTHS, &[1])?[0];
    let prep = read_prep(path, &file, &metadata, months)?;
    let dims = Dimensions {
        input: prep.width(),
        hidden: metadata.config.hidden,
        dim: metadata.config.dim,
        adoption: metadata.adoption_len,
    };
    let tensors = expected_shapes(dims)
        .into_iter()
        .map(|(name, shape)| {
            let values = read_f32s(path, &file, &name, &shape)?;
            Ok((name, Tensor::from_vec(values, shape, &Device::Cpu)?))
        })
        .collect::<Result<Vec<_>, ModelError>>()?;
    Ok(EmbeddingModel {
        metadata,
        prep,
        network: Network::from_tensors(dims, tensors),
    })
}

fn read_metadata(path: &Path, bytes: &[u8]) -> Result<Metadata, ModelError> {
    let (_, header) =
        SafeTensors::read_metadata(bytes).map_err(|e| corrupt(path, e.to_string()))?;
    let json = header
        .metadata()
        .as_ref()
        .and_then(|m| m.get(METADATA_KEY))
        .ok_or_else(|| corrupt(path, format!("no \"{METADATA_KEY}\" metadata")))?;
    let metadata: Metadata =
        serde_json::from_str(json).map_err(|e| corrupt(path, format!("metadata: {e}")))?;
    let ours = metadata
        .version
        .strip_prefix(MODEL_FORMAT)
        .is_some_and(|rest| rest.starts_with('+'));
    if !ours {
        return Err(corrupt(
            path,
            format!("unsupported model version {:?}", metadata.version),
        ));
    }
    Ok(metadata)
}

fn read_prep(
    path: &Path,
    file: &SafeTensors,
    metadata: &Metadata,
    months: f32,
) -> Result<Preprocessor, ModelError> {
    let sequence_len = metadata.sequence_len;
    let months_ok = months >= 0.0 && months.fract() == 0.0 && months as usize <= sequence_len;
    let sequence_months = months as usize;
    if !months_ok || (sequence_months > 0 && !sequence_len.is_multiple_of(sequence_months)) {
        return Err(corrupt(path, format!("bad sequence month count {months}")));
    }
    let mut prep = Preprocessor {
        input_features: metadata.input_features,
        sequence_len,
        sequence_months,
        log_scale: read_f32s(path, file, LOG_SCALE, &[metadata.input_features])?,
        mean: Vec::new(),
        std: Vec::new(),
    };
    let width = prep.width();
    prep.mean = read_f32s(path, file, MEAN, &[width])?;
    prep.std = read_f32s(path, file, STD, &[width])?;
    if prep.std.iter().any(|&s| s.is_nan() || s <= 0.0) || prep.log_scale.iter().any(|&s| s < 0.0) {
        return Err(corrupt(
            path,
            "non-positive standard deviation or negative log scale".into(),
        ));
    }
    Ok(prep)
}

/// One named f32 tensor of exactly `shape`, all values finite.
fn read_f32s(
    path: &Path,
    file: &SafeTensors,
    name: &str,
    shape: &[usize],
) -> Result<Vec<f32>, ModelError> {
    let view = file
        .tensor(name)
        .map_err(|_| corrupt(path, format!("missing tensor {name}")))?;
    if view.dtype() != Dtype::F32 || view.shape() != shape {
        return Err(corrupt(
            path,
            format!(
                "tensor {name} is {:?} {:?}, expected F32 {shape:?}",
                view.dtype(),
                view.shape()
            ),
        ));
    }
    let values: Vec<f32> = view
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    if values.iter().any(|v| !v.is_finite()) {
        return Err(corrupt(
            path,
            format!("tensor {name} holds a non-finite value"),
        ));
    }
    Ok(values)
}

/// Writes to a sibling temporary file, then renames it over `path`: readers see either the
/// old model or the new one, never a torn file.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ModelError> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".partial");
    let temporary = PathBuf::from(temporary);
    let io = |source| ModelError::Io {
        path: path.to_path_buf(),
        source,
    };
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::File::create(&temporary)?;
        std::io::Write::write_all(&mut file, bytes)?;
        // Durable before it becomes visible under the real name.
        file.sync_all()
    };
    let result = write().and_then(|()| std::fs::rename(&temporary, path));
    if result.is_err() {
        // Best effort: the write or rename error is the one worth reporting.
        let _ = std::fs::remove_file(&temporary);
    }
    result.map_err(io)
}

fn le_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn corrupt(path: &Path, reason: String) -> ModelError {
    ModelError::Corrupt {
        path: path.to_path_buf(),
        reason,
    }
}
