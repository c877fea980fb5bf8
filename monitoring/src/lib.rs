//! Transaction monitoring, without I/O: each customer's payments summed over sliding windows
//! (10 minutes to 30 days) in constant time per payment ([`state`]), and the typologies of
//! fraud and money laundering that read those sums ([`typology`]): velocity against the
//! customer's own baseline, card testing, account takeover, pass-through, structuring,
//! dormant accounts reactivated, high-risk jurisdictions and round-amount transfers; and the
//! rules compliance writes over windowed aggregates ([`rules`]).
//!
//! Payments that name their counterparty and device feed three more memories: the devices
//! the customer paid from, the people they paid and the people who paid them (for the device
//! half of account takeover and fan-in/fan-out); counterparties' names are screened against
//! the bank's sanctions list ([`screening`]).
//!
//! Amounts are minor units of the payment's currency, summed as they come: a customer
//! paying in several currencies is summed without conversion until currencies are converted
//! at ingestion.

pub mod decision;
pub mod features;
pub mod rules;
pub mod screening;
pub mod state;
pub mod typology;
pub mod window;

#[cfg(test)]
mod rules_tests;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

pub use decision::{decide, Decision, ModelScore, Verdict, POLICY_VERSION, REPLAYABLE_POLICIES};
pub use state::{CustomerState, Span};
pub use typology::{cool_down, detect, evaluate, Hit, Typology};

/// Every detector's parameters, with the defaults a bank would start from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// History needed before the customer's own baseline is trusted.
    pub baseline_min_days: u32,
    /// Velocity spike: 24 hours' spending at least this many times the usual day ...
    pub velocity_factor: f64,
    /// ... and at least this many times the largest day of the month before (a customer
    /// whose spending is lumpy is not spiking when one day is large) ...
    pub velocity_largest_day_factor: f64,
    /// ... and at least this much (small spenders' spikes are noise).
    pub velocity_min_minor: i64,
    /// Card testing: purchases at or under this amount count ...
    pub card_testing_max_minor: i64,
    /// ... this many within 10 minutes ...
    pub card_testing_min_payments: u32,
    /// ... at this many merchants at least.
    pub card_testing_min_merchants: usize,
    /// Account takeover: a payment from a new country or a new device at least this many
    /// times the usual day ...
    pub takeover_factor: f64,
    /// ... and at least this much; ...
    pub takeover_min_minor: i64,
    /// ... or, from a new device, a transfer of at least this much to a payee the customer
    /// never paid.
    #[serde(default = "defaults::takeover_new_payee_min_minor")]
    pub takeover_new_payee_min_minor: i64,
    /// Pass-through: at least this much in within 48 hours ...
    pub pass_through_min_minor: i64,
    /// ... and at least this share of it out again; ...
    pub pass_through_share: f64,
    /// ... or fan-in then fan-out: money in from at least this many people within 48 hours
    /// ...
    #[serde(default = "defaults::fan_in_min_counterparties")]
    pub fan_in_min_counterparties: usize,
    /// ... out to at least this many ...
    #[serde(default = "defaults::fan_out_min_counterparties")]
    pub fan_out_min_counterparties: usize,
    /// ... carrying at least this share of it.
    #[serde(default = "defaults::fan_out_share")]
    pub fan_out_share: f64,
    /// Structuring: the amount above which a transaction is reported (EU cash controls and
    /// most member states' reporting: 10,000 EUR) ...
    pub reporting_threshold_minor: i64,
    /// ... amounts from this share of it up to it count as "just under" ...
    pub near_threshold_share: f64,
    /// ... and this many within 7 days fire.
    pub structuring_min_payments: u32,
    /// Dormant: this many days without a payment ...
    pub dormant_days: u32,
    /// ... then a payment of at least this much.
    pub dormant_min_minor: i64,
    /// High-risk jurisdictions (ISO 3166-1 alpha-2); the default is the FATF's "call for
    /// action" list of 2025 (DPRK, Iran, Myanmar). A bank loads its own.
    pub high_risk_countries: Vec<String>,
    /// Round amounts: a multiple of this ...
    pub round_unit_minor: i64,
    /// ... of at least this much.
    pub round_min_minor: i64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            baseline_min_days: 14,
            velocity_factor: 5.0,
            velocity_largest_day_factor: 2.0,
            velocity_min_minor: 100_000,
            card_testing_max_minor: 200,
            card_testing_min_payments: 5,
            card_testing_min_merchants: 3,
            takeover_factor: 3.0,
            takeover_min_minor: 50_000,
            takeover_new_payee_min_minor: defaults::takeover_new_payee_min_minor(),
            pass_through_min_minor: 200_000,
            pass_through_share: 0.8,
            fan_in_min_counterparties: defaults::fan_in_min_counterparties(),
            fan_out_min_counterparties: defaults::fan_out_min_counterparties(),
            fan_out_share: defaults::fan_out_share(),
            reporting_threshold_minor: 1_000_000,
            near_threshold_share: 0.9,
            structuring_min_payments: 3,
            dormant_days: 180,
            dormant_min_minor: 100_000,
            high_risk_countries: vec!["KP".into(), "IR".into(), "MM".into()],
            round_unit_minor: 100_000,
            round_min_minor: 500_000,
        }
    }
}

/// The defaults of the parameters added after assessments were first recorded: an older
/// assessment's recorded parameters read with these, which its payments (naming neither a
/// device nor a counterparty) never reach.
mod defaults {
    pub fn takeover_new_payee_min_minor() -> i64 {
        20_000
    }
    pub fn fan_in_min_counterparties() -> usize {
        4
    }
    pub fn fan_out_min_counterparties() -> usize {
        2
    }
    pub fn fan_out_share() -> f64 {
        0.5
    }
}

impl Params {
    /// Whether an amount is just under the reporting threshold.
    pub fn is_near_threshold(&self, amount_minor: i64) -> bool {
        let floor =
            (self.near_threshold_share * self.reporting_threshold_minor as f64).ceil() as i64;
        (floor..self.reporting_threshold_minor).contains(&amount_minor)
    }
}
