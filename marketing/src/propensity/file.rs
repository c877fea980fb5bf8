//! The model file: JSON of the model body and its version, checked on the way in.
//!
//! The version is a hash of the body, so a file whose content was changed after saving no
//! longer matches its version and is refused; the body is also checked for shape (lengths,
//! finite numbers, shares inside 0..1) so that no file, altered or not, can make scoring
//! panic or answer NaN. serde_json's `float_roundtrip` reads every float back bit for bit,
//! which is what lets the hash be recomputed on load.

use serde::{Deserialize, Serialize};
use sextant_models::linear::Standardizer;

use super::{column, fit, Body, MarketingError, OfferModel, ProductModel, MAX_SEGMENTS};

/// The format tag inside every model file; a new layout gets a new tag.
pub(super) const FORMAT: &str = "sextant-offer-model/1";
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

/// Every shape the scorer relies on.
pub(super) fn check_body(body: &Body) -> Result<(), String> {
    if body.format != FORMAT {
        return Err(format!(
            "format `{}` is not `{FORMAT}`",
            body.format.chars().take(40).collect::<String>()
        ));
    }
    fit::check_names(&body.product_ids, &body.feature_names).map_err(|e| e.to_string())?;
    let products = body.product_ids.len();
    let features = body.feature_names.len();
    check_standardizer("profile", &body.profile, features)?;
    check_shares("overall_popularity", &body.overall_popularity, products)?;
    if body.segments.len() > MAX_SEGMENTS {
        return Err(format!(
            "{} segments; the limit is {MAX_SEGMENTS}",
            body.segments.len()
        ));
    }
    for pair in body.segments.windows(2) {
        if pair[0].segment >= pair[1].segment {
            return Err("segments are not in increasing order".to_owned());
        }
    }
    for segment in &body.segments {
        check_shares(
            &format!("segment {} shares", segment.segment),
            &segment.shares,
            products,
        )?;
    }
    if body.products.len() != products {
        return Err(format!(
            "{} product models for {products} products",
            body.products.len()
        ));
    }
    for (id, model) in body.product_ids.iter().zip(&body.products) {
        if let ProductModel::Logistic {
            extras, regression, ..
        } = model
        {
            check_standardizer(&format!("{id} extras"), extras, column::EXTRA)?;
            if regression.weights.len() != features + column::EXTRA {
                return Err(format!(
                    "{id} has {} weights; expected {}",
                    regression.weights.len(),
                    features + column::EXTRA
                ));
            }
            let finite = regression.weights.iter().all(|w| w.is_finite())
                && regression.intercept.is_finite();
            if !finite {
                return Err(format!("{id} has a non-finite weight"));
            }
        }
    }
    Ok(())
}

fn check_standardizer(what: &str, standardizer: &Standardizer, width: usize) -> Result<(), String> {
    if standardizer.mean.len() != width || standardizer.std.len() != width {
        return Err(format!(
            "{what} standardisation is not {width} columns wide"
        ));
    }
    let usable = standardizer.mean.iter().all(|m| m.is_finite())
        && standardizer.std.iter().all(|s| s.is_finite() && *s > 0.0);
    if !usable {
        return Err(format!(
            "{what} standardisation has a non-finite mean or a standard deviation that is not positive"
        ));
    }
    Ok(())
}

fn check_shares(what: &str, shares: &[f64], products: usize) -> Result<(), String> {
    if shares.len() != products {
        return Err(format!(
            "{what} has {} values for {products} products",
            shares.len()
        ));
    }
    if !shares.iter().all(|s| *s > 0.0 && *s < 1.0) {
        return Err(format!("{what} has a share outside (0, 1)"));
    }
    Ok(())
}
