//! Portfolio estimation, optimisation, planning and review; suitability. Pure computation:
//! no network, no database. (Credit decisions are `sextant-lending`: credit is not portfolio
//! advice.)
//!
//! Conventions follow PyPortfolioOpt so that results are comparable: daily data,
//! `frequency = 252` periods a year, weights as fractions summing to one, returns and
//! volatilities annualised. The risk-free rate is 0.02 unless given (PyPortfolioOpt 1.6's
//! default is 0: pass it explicitly to both when comparing).
//!
//! - [`market`]: price tables from CSV, returns, built-in capital-market assumptions.
//! - [`estimate`]: expected returns and risk models.
//! - [`covariance`]: validation and repair of covariance matrices, correlation.
//! - [`optimise`]: mean-variance optimisers on clarabel, with constraints, and the frontier.
//! - [`tail`]: CVaR and CDaR minimisation.
//! - [`hrp`], [`black_litterman`], [`allocation`]: the other portfolio methods.
//! - [`metrics`]: risk and performance measures of a portfolio.
//! - [`planning`]: model portfolios per risk level, goal proposals, glide paths.
//! - [`review`]: risk review of holdings, drift, alerts and rebalancing proposals.
//! - [`suitability`]: what a customer's risk level allows.

pub mod allocation;
pub mod black_litterman;
pub mod covariance;
pub mod deadline;
pub mod error;
pub mod estimate;
pub mod hrp;
pub mod market;
pub mod metrics;
pub mod optimise;
pub mod planning;
pub mod review;
pub mod suitability;
pub mod tail;

pub use error::{AdvisorError, Result};
pub use nalgebra::{DMatrix, DVector};

/// Periods a year in daily data, as PyPortfolioOpt assumes.
pub const TRADING_DAYS: usize = 252;
/// The annual risk-free rate Sextant uses unless told otherwise (PyPortfolioOpt 1.6 defaults
/// to 0; pass the rate explicitly to both when comparing).
pub const DEFAULT_RISK_FREE: f64 = 0.02;
