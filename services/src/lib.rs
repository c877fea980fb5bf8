//! Sextant's use cases: what the HTTP API and the command line do, over storage and the
//! vector store, without knowing either's transport. Every function takes a [`Context`] (or
//! the store it needs) and returns a [`ServiceError`] that says what went wrong in the
//! caller's terms; `api` maps it to problem+json in one place.
//!
//! - [`records`]: the JSON records the API and the importer accept, parsed into domain values;
//! - [`customers`]: registration, consents, event ingestion and holdings;
//! - [`pipeline`] and [`profiles`]: the profiling pipeline and what it serves;
//! - [`read_model`]: what offers and credit quotes read about a customer, kept in memory;
//! - [`readiness`]: which models are ready and what background work is still running;
//! - [`advice`]: model portfolios, proposals, goal plans, reviews, rebalancing;
//! - [`lending`]: quotes, acceptance, loan applications, decision records, replay;
//! - [`marketing`]: the catalogue, audiences, campaigns, offers;
//! - [`monitoring`]: the typology detectors replayed over the stored payments (begun);
//! - [`portfolio`]: analysts' optimisation, frontier and allocation jobs;
//! - [`fx`]: reference exchange rates, written by day and read as in effect on a date;
//! - [`idempotency`]: keys, request hashes and replayed answers for every route that moves
//!   money or launches something;
//! - [`schema`]: OpenAPI schemas of fields whose allowed values live elsewhere (the
//!   domain's names, the supported currencies, the credit policy's terms).
//!
//! Request and result types derive serde and utoipa's `ToSchema`: that describes their JSON
//! shape for the API's OpenAPI document; nothing here imports a web framework.

pub mod advice;
mod context;
pub mod customers;
mod error;
pub mod fx;
pub mod idempotency;
pub mod lending;
pub mod loyalty;
pub mod marketing;
pub mod monitoring;
pub mod pipeline;
pub mod portfolio;
pub mod privacy;
pub mod profiles;
pub mod read_model;
pub mod readiness;
pub mod records;
pub mod schema;
pub mod screening;
pub mod segments;
pub mod staff;

use rand::Rng;

pub use context::Context;
pub use error::{ItemProblem, Result, ServiceError};

/// A new opaque, unguessable id: `prefix_` and 128 random bits in hex. Drawn again in the
/// rare case (about 1 in 250) where the hex holds a run of digits that passes for a card
/// number: the API refuses any path holding one, so such an id could never be looked up.
pub fn new_id(prefix: &str) -> String {
    loop {
        let id = format!("{prefix}_{:032x}", rand::thread_rng().gen::<u128>());
        let as_identifier = sextant_domain::PanRule::Identifier;
        if sextant_domain::find_pan_in_value(&id, as_identifier).is_none() {
            return id;
        }
    }
}

#[cfg(test)]
mod tests {
    use sextant_domain::{find_pan_in_value, PanRule};

    #[test]
    fn new_ids_never_look_like_card_numbers() {
        // Raw 128-bit hex does, now and then: the reason new_id draws again.
        let raw = (0u128..2_000_000)
            .map(|i| {
                format!(
                    "cq_{:032x}",
                    i.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835)
                )
            })
            .filter(|id| find_pan_in_value(id, PanRule::Identifier).is_some())
            .count();
        assert!(raw > 0, "the hazard exists");
        for _ in 0..20_000 {
            let id = super::new_id("cq");
            assert!(
                find_pan_in_value(&id, PanRule::Identifier).is_none(),
                "{id}"
            );
        }
    }
}
