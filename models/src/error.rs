//! The one error type of the crate.

use std::path::PathBuf;

/// Why a model could not be trained, used, saved or loaded.
///
/// Variants name the offending input (`what`) so a caller can tell a bad feature row from a
/// bad sequence row without parsing the message.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// Training or evaluation was given no rows.
    #[error("no rows to {0}")]
    EmptyData(&'static str),

    /// A row does not have the width the model expects (set by the first training row).
    #[error("{what} row {row} has {found} values, expected {expected}")]
    ShapeMismatch {
        what: &'static str,
        row: usize,
        expected: usize,
        found: usize,
    },

    /// Two inputs that must describe the same customers have different row counts.
    #[error("{what} has {found} rows, expected {expected}")]
    RowCountMismatch {
        what: &'static str,
        expected: usize,
        found: usize,
    },

    /// A NaN or infinite input value: models refuse to guess what it meant.
    #[error("{what} row {row} column {column} is not a finite number")]
    NonFinite {
        what: &'static str,
        row: usize,
        column: usize,
    },

    /// A value outside its documented range (e.g. an adoption target outside 0..=1).
    #[error("{what} row {row} column {column} is outside {range}")]
    OutOfRange {
        what: &'static str,
        row: usize,
        column: usize,
        range: &'static str,
    },

    /// An input is over one of the crate's size limits.
    #[error("{what} is {found}, over the limit of {limit}")]
    TooLarge {
        what: &'static str,
        limit: usize,
        found: usize,
    },

    /// A configuration value is out of its valid range.
    #[error("invalid configuration: {field} {reason}")]
    InvalidConfig {
        field: &'static str,
        reason: &'static str,
    },

    /// Delimited text could not be read as a table. `line` and `column` count from 1;
    /// 0 means the problem is not tied to one line (or column), e.g. an unknown column name.
    #[error("line {line}, column {column}: {message}")]
    Parse {
        line: usize,
        column: usize,
        message: String,
    },

    /// Labels hold a single class, so there is nothing to discriminate.
    #[error("labels hold a single class")]
    SingleClass,

    /// An optimiser did not reach its tolerance (e.g. separable data without regularisation).
    #[error("{what} did not converge within {iterations} iterations")]
    NotConverged {
        what: &'static str,
        iterations: usize,
    },

    /// The training loss became NaN or infinite (learning rate too high, or broken data).
    #[error("training diverged at epoch {epoch}")]
    Diverged { epoch: usize },

    /// A feature the model needs is not a column of the table it was asked to score.
    #[error("no column named {feature:?}, which the model needs")]
    MissingFeature { feature: String },

    /// A value the model cannot read for its feature (text where a number is needed, or an
    /// infinite number).
    #[error("feature {feature:?}: {reason}")]
    BadValue { feature: String, reason: String },

    /// A serialized model that is not one this crate wrote, was written by another format
    /// version, or was altered after it was written (its content no longer matches its
    /// `model_version`).
    #[error("invalid model: {0}")]
    InvalidModel(String),

    /// Reading or writing a model file failed.
    #[error("model file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A model file exists but is not a model this crate wrote (or was damaged).
    #[error("model file {path} is corrupt: {reason}")]
    Corrupt { path: PathBuf, reason: String },

    /// The tensor library failed; a bug or an out-of-memory condition rather than bad input.
    #[error("tensor computation failed: {0}")]
    Candle(#[from] candle_core::Error),
}
