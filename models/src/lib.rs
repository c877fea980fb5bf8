//! Learned models of Sextant: the customer embedding encoder, credit and response models,
//! with training, evaluation, saving and loading.
//!
//! This crate sits at the bottom of the dependency arrows and does no I/O beyond reading
//! and writing model files. Everything runs on the CPU and is reproducible from a seed:
//! the same data and configuration give the same weights, bit for bit.
//!
//! - [`embedding`]: a self-supervised customer encoder (neighbour-contrastive, with
//!   denoising, a small reconstruction term and an optional product-adoption head) whose
//!   L2-normalised outputs feed segmentation and lookalike search.
//! - [`gbm`]: histogram gradient-boosted trees for binary targets (the credit model), with
//!   missing values, monotonic constraints and per-feature contributions.
//! - [`linear`]: standardisation and L2-regularised logistic regression.
//! - [`matrix`]: the tabular data models take, an `ndarray` matrix of rows by features.
//! - [`evaluation`]: stratified folds, ROC AUC, KS, Brier score, calibration and lift
//!   tables, top-decile lift, mean and standard deviation.
//! - [`tabular`]: a table of numeric and categorical columns parsed from delimited text.
//! - [`scorecard`]: a monotone weight-of-evidence logistic credit scorecard with points.
//! - [`credit`]: the credit model artifact (encoding, scorecard or GBM, calibration,
//!   metadata), its cross-validation, explanations and model file.
//! - [`response`]: the campaign response model (GBM or logistic on any table with a binary
//!   target), built on the credit machinery, with cross-validated AUC, top-decile lift and a
//!   decile lift table, and its model file.

pub mod credit;
pub mod embedding;
mod error;
pub mod evaluation;
pub mod fraud;
pub mod gbm;
pub mod linear;
pub mod matrix;
pub mod response;
pub mod scorecard;
pub mod tabular;

pub use error::ModelError;
