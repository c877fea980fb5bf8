/// Why a vector store call failed.
///
/// Engine errors are kept as text: the two engines' error types differ and should not leak
/// into the services' error mapping. The API logs the text and never shows it to callers.
#[derive(Debug, thiserror::Error)]
pub enum VectorError {
    /// A vector, or a store reopened with another dimension, does not match the store.
    /// `expected` is the store's dimension, `actual` the one offered.
    #[error("vector dimension mismatch: store has {expected}, got {actual}")]
    DimensionMismatch { expected: usize, actual: usize },

    /// The caller sent something the store refuses: a non-finite or zero vector, an empty
    /// or over-long id, a `k` above the limit, a payload breaking a limit.
    #[error("invalid input: {0}")]
    InvalidInput(String),

    /// The engine failed while doing `op`; retrying is unlikely to help.
    #[error("vector engine failed during {op}: {message}")]
    Engine { op: &'static str, message: String },

    /// The store cannot be reached or is held by someone else; retrying later may help.
    #[error("vector store unavailable during {op}: {message}")]
    Unavailable { op: &'static str, message: String },
}

impl VectorError {
    pub(crate) fn engine(op: &'static str, err: impl std::fmt::Display) -> Self {
        Self::Engine {
            op,
            message: err.to_string(),
        }
    }

    pub(crate) fn unavailable(op: &'static str, err: impl std::fmt::Display) -> Self {
        Self::Unavailable {
            op,
            message: err.to_string(),
        }
    }
}
