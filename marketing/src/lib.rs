//! Offer ranking, segments, lookalikes, campaigns, holdouts and uplift. Pure computation:
//! no network, no database.
//!
//! - [`rules`]: the segment rule language (comparisons, `and`/`or`/`not`, `in`, `between`)
//!   parsed against a schema of profile fields, with line and column in every error; it
//!   lives in `sextant-rules`, which monitoring shares, and is re-exported here.
//! - [`holdout`]: sticky hash assignment of a campaign's audience to treatment or holdout.
//! - [`uplift`]: conversion in treatment and holdout, absolute uplift with its 95% interval,
//!   and the Qini curve.
//! - [`propensity`]: the per-product offer model (propensity on profile features, what
//!   similar customers hold, segment popularity, the customer's own interactions).
//! - [`offers`]: ranking with the filters that can never be bypassed (suitability, consent,
//!   eligibility, products held, frequency caps, holdouts) and a reason per offer.

pub mod holdout;
pub mod offers;
pub mod propensity;
pub mod uplift;

pub use propensity::MarketingError;
pub use sextant_rules as rules;
