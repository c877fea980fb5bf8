//! Learned models of Sextant: the customer embedding encoder, credit and response models
//! (candle, ndarray), with training, evaluation, saving and loading.
//!
//! This crate sits at the bottom of the dependency arrows and does no I/O beyond reading
//! and writing model files. Its models arrive with the profiling (embeddings), credit and
//! marketing issues; until then it holds nothing, on purpose, so the workspace already has
//! the shape every later change fits into.
