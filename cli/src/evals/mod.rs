//! Model quality on held-out data, each against the baseline its issue names: the profiling
//! (personas, risk levels, Berka), the credit models (any file, a synthetic population, the
//! Berka loans, fairness by group) and the offers (held-out adoptions against popularity and
//! implicit's ALS).

pub mod berka;
pub mod credit_file;
pub mod credit_population;
pub mod fairness;
pub mod monitoring_file;
pub mod monitoring_population;
pub mod offers;
pub mod profiling;
pub mod screening;
