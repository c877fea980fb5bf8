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
//! - [`linear`]: standardisation and L2-regularised logistic regression.
//! - [`evaluation`]: stratified folds, ROC AUC, mean and standard deviation.

pub mod embedding;
mod error;
pub mod evaluation;
pub mod linear;

pub use error::ModelError;
