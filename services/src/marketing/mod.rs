//! Marketing as the service runs it. The rule language, holdouts, uplift and the offer model
//! are `sextant_marketing`'s; here they meet the stored data.
//!
//! - [`catalogue`]: the catalogue's product versions as marketing edits them;
//! - [`audiences`]: the fields a rule may use, rule segments and lookalikes, previews;
//! - [`audience_index`]: every customer's marketing row in memory, kept current, for previews;
//! - [`campaigns`]: specification, launch (once, under an Idempotency-Key), status moves,
//!   contacts, delivery events, the uplift report; [`status`] owns the statuses' moves;
//! - [`offers`]: the offer engine and a customer's offers, every filter applied;
//! - [`training`]: the offer model trained on the stored population.

pub mod audience_index;
pub mod audiences;
pub mod campaigns;
pub mod catalogue;
pub mod offers;
pub mod status;
pub mod training;

use crate::ItemProblem;

/// Longest rule, name or terms text.
pub const TEXT_MAX: usize = 4_096;

/// A problem for `field` unless `text` is 1 to [`TEXT_MAX`] bytes and not blank.
fn text_field(field: &str, text: &str, problems: &mut Vec<ItemProblem>) {
    if text.trim().is_empty() || text.len() > TEXT_MAX {
        problems.push(ItemProblem::field(
            field,
            "out_of_range",
            format!("1 to {TEXT_MAX} bytes"),
        ));
    }
}
