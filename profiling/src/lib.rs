//! Customers' events -> features -> risk profile and segments.
//!
//! Pure computation over domain values: no network, no database, no files. The `api` crate
//! loads histories and stores results; this crate only turns one into the other.
//!
//! - [`compute_features`] summarises a [`CustomerHistory`] as of a moment into [`Features`],
//!   described by the [`catalogue`] (name, unit, window, meaning of each value).
//! - [`category_sequence`] gives the month-by-month spending mix for the embedding model.
//! - [`risk`] scores the questionnaire (willingness), the payment history (capacity) and
//!   combines them: the risk level is willingness capped by capacity.
//! - [`segments`] clusters customers (k-means) and describes each segment in words.
//! - [`metrics`] scores clusterings and ratings against ground truth.

mod catalogue;
pub mod categories;
mod features;
pub mod metrics;
mod products;
pub mod risk;
pub mod segments;
mod sequence;

pub use catalogue::{catalogue, FeatureSpec};
pub use features::{compute_features, CustomerHistory, Features};
pub use sequence::{category_sequence, MAX_SEQUENCE_MONTHS};

/// Version of the feature layout. Bump it whenever a feature is added, removed, reordered or
/// redefined, so stored features and models trained on them are not mixed with new ones.
pub const FEATURE_VERSION: u32 = 3;
