//! Offer ranking, segments, lookalikes, campaigns, holdouts and uplift. Pure computation:
//! no network, no database.
//!
//! Arrives with the marketing issue.
