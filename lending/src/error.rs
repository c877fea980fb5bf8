//! What a credit decision can refuse. Every refusal names the offending input so that the
//! API can answer 422 with a machine-readable code and field.

/// A decision that cannot be made from these inputs, and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LendingError {
    /// The input is malformed or outside its domain (a policy that does not validate, a
    /// request or applicant out of range, a model score that cannot be explained).
    #[error("{field}: {message}")]
    InvalidInput { field: String, message: String },
}

impl LendingError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> LendingError {
        LendingError::InvalidInput {
            field: field.into(),
            message: message.into(),
        }
    }

    /// Machine-readable code, stable across releases (the same as the advisory engine's for
    /// the same kind of refusal).
    pub fn code(&self) -> &'static str {
        match self {
            LendingError::InvalidInput { .. } => "invalid_input",
        }
    }

    /// The input field at fault.
    pub fn field(&self) -> Option<&str> {
        match self {
            LendingError::InvalidInput { field, .. } => Some(field),
        }
    }
}

pub type Result<T, E = LendingError> = std::result::Result<T, E>;
