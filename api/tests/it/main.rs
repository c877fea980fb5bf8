//! Integration tests of the `api` crate: the HTTP application through `oneshot` (no socket).

mod advice;
mod common;
mod console;
mod credit;
mod fx;
mod http;
mod loyalty;
mod marketing;
mod monitoring;
mod monitoring_model;
mod monitoring_rules;
mod profiles;
mod trust;
