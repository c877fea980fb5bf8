//! Customers' events -> features -> embeddings, risk profile and segments.
//!
//! Pure computation over domain values: no network, no database. The feature catalogue and
//! the risk profile arrive with the profiling issue.
