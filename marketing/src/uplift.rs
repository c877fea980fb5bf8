//! Arrives with the marketing issue.
