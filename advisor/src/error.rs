//! What can go wrong in the advisory computations. Every variant names the offending input
//! or constraint so that the API can answer 422 with a machine-readable code and field.

/// An advisory computation that cannot give an answer, and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AdvisorError {
    /// The input itself is malformed: wrong shape, not finite, out of its domain.
    #[error("{field}: {message}")]
    InvalidInput { field: String, message: String },
    /// A covariance matrix that is not positive semidefinite (and was not repaired).
    #[error(
        "{field}: the matrix is not positive semidefinite (smallest eigenvalue {min_eigenvalue:e})"
    )]
    NotPositiveSemidefinite { field: String, min_eigenvalue: f64 },
    /// The constraints leave no portfolio at all; `constraint` names the one to relax.
    #[error("infeasible: {constraint}: {message}")]
    Infeasible { constraint: String, message: String },
    /// A target (return, volatility, ...) outside what the constraints can reach.
    #[error("{field}: {message}")]
    ImpossibleTarget { field: String, message: String },
    /// The solver stopped without a solution for numerical reasons.
    #[error("solver: {0}")]
    Solver(String),
    /// The computation ran past its time budget ([`crate::deadline`]) and was stopped.
    #[error("the computation ran past its time budget and was stopped; make the problem smaller (fewer assets, no cardinality limit) or retry")]
    DeadlineExceeded,
}

impl AdvisorError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> AdvisorError {
        AdvisorError::InvalidInput {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn infeasible(constraint: impl Into<String>, message: impl Into<String>) -> AdvisorError {
        AdvisorError::Infeasible {
            constraint: constraint.into(),
            message: message.into(),
        }
    }

    pub fn impossible(field: impl Into<String>, message: impl Into<String>) -> AdvisorError {
        AdvisorError::ImpossibleTarget {
            field: field.into(),
            message: message.into(),
        }
    }

    /// Machine-readable code, stable across releases.
    pub fn code(&self) -> &'static str {
        match self {
            AdvisorError::InvalidInput { .. } => "invalid_input",
            AdvisorError::NotPositiveSemidefinite { .. } => "not_positive_semidefinite",
            AdvisorError::Infeasible { .. } => "infeasible_constraints",
            AdvisorError::ImpossibleTarget { .. } => "impossible_target",
            AdvisorError::Solver(_) => "solver_failed",
            AdvisorError::DeadlineExceeded => "deadline_exceeded",
        }
    }

    /// The input field or constraint at fault, when there is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            AdvisorError::InvalidInput { field, .. }
            | AdvisorError::NotPositiveSemidefinite { field, .. }
            | AdvisorError::ImpossibleTarget { field, .. } => Some(field),
            AdvisorError::Infeasible { constraint, .. } => Some(constraint),
            AdvisorError::Solver(_) | AdvisorError::DeadlineExceeded => None,
        }
    }
}

pub type Result<T, E = AdvisorError> = std::result::Result<T, E>;
