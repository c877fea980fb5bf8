//! The model file: JSON of the model body and its version, checked on the way in.
//!
//! The version is a hash of the body, so a file whose content was changed after saving no
//! longer matches its version and is refused; the body is also checked for shape (lengths,
//! finite numbers, shares inside 0..1) so that no file, altered or not, can make scoring
//! panic or answer NaN. serde_json's `float_roundtrip` reads every float back bit for bit,
//! which is what lets the hash be recomputed on load.

use serde::{Deserialize, Serialize};

use super::checks::check_body;
use super::{Body, MarketingError, OfferModel};

/// Largest model file accepted (a full model is well under 2 MiB).
pub const MAX_MODEL_BYTES: usize = 16 << 20;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ModelFile {
    version: String,
    model: Body,
}

impl From<OfferModel> for ModelFile {
    fn from(model: OfferModel) -> ModelFile {
        ModelFile {
            version: model.version,
            model: model.body,
        }
    }
}

impl TryFrom<ModelFile> for OfferModel {
    type Error = MarketingError;

    fn try_from(file: ModelFile) -> Result<OfferModel, MarketingError> {
        check_body(&file.model).map_err(MarketingError::Corrupt)?;
        let model = OfferModel::new(file.model);
        if model.version != file.version {
            return Err(MarketingError::Corrupt(format!(
                "the file says version {} but its content hashes to {}: it was altered after it was saved",
                file.version, model.version
            )));
        }
        Ok(model)
    }
}

impl OfferModel {
    /// The model file (JSON).
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(&ModelFile::from(self.clone()))
            .expect("a model body holds only finite numbers and strings")
    }

    /// Reads a model file, refusing one that is malformed, inconsistent, over
    /// [`MAX_MODEL_BYTES`], or whose content does not match its version.
    pub fn from_json(bytes: &[u8]) -> Result<OfferModel, MarketingError> {
        if bytes.len() > MAX_MODEL_BYTES {
            return Err(MarketingError::Corrupt(format!(
                "the file is {} bytes; the limit is {MAX_MODEL_BYTES}",
                bytes.len()
            )));
        }
        let file: ModelFile = serde_json::from_slice(bytes)
            .map_err(|error| MarketingError::Corrupt(format!("not an offer model: {error}")))?;
        OfferModel::try_from(file)
    }
}

pub(super) fn version_of(body: &Body) -> String {
    let json = serde_json::to_vec(body).expect("a model body serialises");
    let hash = sextant_hash::sha256_hex(&json);
    format!("offers-{}", &hash[..12])
}
