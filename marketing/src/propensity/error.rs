//! Why an offer model could not be trained or loaded.

use sextant_models::ModelError;

/// Why an offer model could not be trained or loaded.
///
/// Scoring and ranking never fail: they are total functions of a valid model, so the only
/// errors are at the two doors where outside data comes in (training inputs, model files).
#[derive(Debug, thiserror::Error)]
pub enum MarketingError {
    /// A training input or option is unusable. `field` names it the way a caller wrote it
    /// (`product_ids[3]`, `examples[17].neighbour_share`, `options.l2`); `reason` says what
    /// is wrong and what was expected.
    #[error("invalid training input {field}: {reason}")]
    InvalidTraining { field: String, reason: String },

    /// The logistic regression of one product did not fit (it should not happen with a
    /// positive `l2`; kept so that a numerical failure is reported, not hidden).
    #[error("fitting the offer model of product {product}: {source}")]
    Fit {
        product: String,
        #[source]
        source: ModelError,
    },

    /// A model file is not a valid offer model: unreadable, malformed, over the size limit,
    /// inconsistent, or its content does not match its version (altered after saving).
    #[error("corrupt offer model: {0}")]
    Corrupt(String),
}

impl MarketingError {
    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        MarketingError::InvalidTraining {
            field: field.into(),
            reason: reason.into(),
        }
    }
}
