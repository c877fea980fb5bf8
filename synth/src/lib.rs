//! Deterministic synthetic customer populations with ground truth, for demos and evaluation.
//!
//! [`generate_customer`] builds one customer of a population: the customer record, a window of
//! payment and app-behaviour events, end-of-window holdings, and the [`GroundTruth`] that later
//! models (risk profiling, default, recommendation, segmentation) are scored against.
//!
//! Invariants:
//! - Pure computation: no I/O, no clock, no global state beyond constant tables. The `api`
//!   crate owns files and serialisation.
//! - Deterministic per `(seed, index)` and independent of every other customer, so callers may
//!   generate in parallel chunks and still write in order.
//! - Everything produced satisfies the domain's parsers and `check()` rules; no card number
//!   appears anywhere (cards exist only as BIN and last four).
//!
//! How it works: a persona and latent traits are drawn (`persona.rs`, `latent.rs`); planners
//! lay out intended payments (`plan.rs`, `income.rs`, `commitments.rs`, `spending.rs`); the ledger runs the balance and
//! decides failures (`ledger.rs`); the truth is derived from latents and outcomes (`truth.rs`);
//! holdings and app behaviour follow from the truth (`holdings.rs`, `behaviour.rs`); last, a
//! few customers get an episode of fraud or money laundering (`fraud.rs`).

mod behaviour;
mod commitments;
mod fraud;
pub mod fx;
mod holdings;
mod income;
mod latent;
mod ledger;
pub mod loyalty;
mod parties;
mod persona;
mod plan;
mod planner;
mod profile;
mod sample;
pub mod sanctions;
mod spending;
mod tables;
mod truth;
mod window;

use std::fmt;

use chrono::{Datelike, NaiveDate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sextant_domain::{
    BehaviourEvent, Card, Customer, CustomerId, Holding, PaymentEvent, ProductId, RiskTolerance,
};

pub use fraud::{FraudTruth, Scheme};
pub use persona::Persona;

use crate::latent::Latents;
use crate::plan::Ctx;
use crate::sample::{chance, splitmix64};
use crate::window::Window;

/// What population to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Population size; customer indices run `0..customers`.
    pub customers: u64,
    /// Length of the event window in calendar months, ending on `end_date`.
    pub months: u32,
    pub seed: u64,
    /// Last day of the window (inclusive). Fixed rather than today so output is reproducible.
    pub end_date: NaiveDate,
}

impl Config {
    pub const DEFAULT_END_DATE: NaiveDate = match NaiveDate::from_ymd_opt(2026, 10, 31) {
        Some(date) => date,
        None => panic!("2026-10-31 is a valid date"),
    };
    /// Keeps customer numbers at eight digits at most (ids stay short).
    pub const MAX_CUSTOMERS: u64 = 10_000_000;
    /// Ten years of history is more than any model here uses; bounds per-customer work.
    pub const MAX_MONTHS: u32 = 120;
    /// End dates outside this range of years are rejected: birth years and calendars stay sane.
    pub const END_YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

    /// A configuration ending on [`Config::DEFAULT_END_DATE`].
    pub fn new(customers: u64, months: u32, seed: u64) -> Config {
        Config {
            customers,
            months,
            seed,
            end_date: Config::DEFAULT_END_DATE,
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.customers > Config::MAX_CUSTOMERS {
            return Err(ConfigError::TooManyCustomers(self.customers));
        }
        if !(1..=Config::MAX_MONTHS).contains(&self.months) {
            return Err(ConfigError::Months(self.months));
        }
        if !Config::END_YEARS.contains(&self.end_date.year()) {
            return Err(ConfigError::EndDate(self.end_date));
        }
        Ok(())
    }
}

impl Default for Config {
    fn default() -> Config {
        Config::new(1_000, 12, 42)
    }
}

/// Why a [`Config`] cannot be generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// More than [`Config::MAX_CUSTOMERS`].
    TooManyCustomers(u64),
    /// Not in `1..=Config::MAX_MONTHS`.
    Months(u32),
    /// Year outside [`Config::END_YEARS`].
    EndDate(NaiveDate),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::TooManyCustomers(n) => write!(
                f,
                "{n} customers requested; the limit is {}",
                Config::MAX_CUSTOMERS
            ),
            ConfigError::Months(n) => write!(
                f,
                "{n} months requested; it must lie in 1..={}",
                Config::MAX_MONTHS
            ),
            ConfigError::EndDate(d) => write!(
                f,
                "end date {d} must fall in the years {}..={}",
                Config::END_YEARS.start(),
                Config::END_YEARS.end()
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

/// The answers evaluation scores models against.
#[derive(Debug, Clone, PartialEq)]
pub struct GroundTruth {
    pub customer_id: CustomerId,
    pub persona: Persona,
    /// The customer's true tolerance: risk willingness capped by risk capacity.
    pub risk_tolerance: RiskTolerance,
    /// True probability of default within the 12 months after the window, 0..1.
    pub default_propensity: f64,
    /// An outcome drawn from `default_propensity`.
    pub defaulted_next_12m: bool,
    /// True expected net monthly income, EUR cents (bonuses excluded).
    pub monthly_income_minor: i64,
    /// Every product of `default_catalogue()`, in catalogue order, with how likely the customer
    /// would adopt it (0..1).
    pub product_affinities: Vec<(ProductId, f64)>,
    /// The fraud or laundering planted in the customer's payments, if any (about 2.5% of
    /// customers, in windows of three months or more).
    pub fraud: Option<FraudTruth>,
}

/// One generated customer and everything about them.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerBundle {
    pub customer: Customer,
    /// In time order.
    pub payments: Vec<PaymentEvent>,
    /// In time order.
    pub behaviour: Vec<BehaviourEvent>,
    pub holdings: Vec<Holding>,
    pub truth: GroundTruth,
}

/// Card BINs of the bank: a Visa and a Mastercard debit range and an 8-digit virtual range.
const CARD_BINS: [&str; 3] = ["416598", "535110", "41659812"];

/// Independent random streams per aspect, so tuning one generator leaves the others' output
/// unchanged.
#[derive(Debug, Clone, Copy)]
enum Stream {
    Profile = 1,
    Payments = 2,
    Truth = 3,
    Behaviour = 4,
    Fraud = 5,
    Parties = 6,
}

fn stream(seed: u64, index: u64, which: Stream) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(splitmix64(seed ^ splitmix64(index)));
    rng.set_stream(which as u64);
    rng
}

/// Generates customer number `index` (0-based) of the population described by `config`.
///
/// Deterministic in `(config.seed, config.months, config.end_date, index)`; does not depend on
/// `config.customers` or on any other customer.
///
/// # Panics
/// When `config` fails [`Config::validate`] or `index >= Config::MAX_CUSTOMERS`: both are
/// caller bugs, and the caller can check them up front.
pub fn generate_customer(config: &Config, index: u64) -> CustomerBundle {
    if let Err(e) = config.validate() {
        panic!("invalid synth config: {e}");
    }
    assert!(
        index < Config::MAX_CUSTOMERS,
        "customer index {index} is at or above the limit {}",
        Config::MAX_CUSTOMERS
    );
    let number = index + 1;
    let window = Window::new(config.end_date, config.months);
    let customer_id = CustomerId::parse(&format!("c{number:07}"))
        .expect("c followed by up to eight digits is a valid id");

    let mut rng = stream(config.seed, index, Stream::Profile);
    let persona = Persona::sample(&mut rng);
    let latents = Latents::sample(persona, &mut rng);
    let customer = profile::customer(customer_id.clone(), persona, &latents, &window, &mut rng);
    let cards = cards(&mut rng);
    let ctx = Ctx {
        persona,
        params: persona.params(),
        latents: &latents,
        window: &window,
        tables: tables::tables(),
        taste_key: rng.gen(),
        card_count: cards.len() as u8,
    };

    let mut rng = stream(config.seed, index, Stream::Payments);
    let mut plan = planner::plan(&ctx, &mut rng);
    let (payments, stats) =
        ledger::post(&customer_id, number, &cards, &window, &mut plan, &mut rng);

    let mut rng = stream(config.seed, index, Stream::Truth);
    let truth = truth::derive(&ctx, &plan.facts, &stats, &mut rng);
    let inputs = holdings::Inputs {
        customer_id: &customer_id,
        kyc: customer.kyc_status,
        facts: &plan.facts,
        stats: &stats,
        truth: &truth,
    };
    let holdings = holdings::holdings(&ctx, &inputs, &mut rng);

    let mut rng = stream(config.seed, index, Stream::Behaviour);
    let behaviour = behaviour::generate(&ctx, &customer_id, number, &truth, &stats, &mut rng);

    // Last, from their own streams: everything above is the same with or without an
    // episode, and with or without parties named.
    let mut payments = payments;
    let mut parties = parties::Parties::new(
        number,
        window.start_s,
        window.end_s(),
        stream(config.seed, index, Stream::Parties),
    );
    parties.assign(&mut payments, window.start_s);
    let mut rng = stream(config.seed, index, Stream::Fraud);
    let fraud = fraud::plant(
        &customer_id,
        number,
        &cards,
        &window,
        &mut payments,
        &mut parties,
        &mut rng,
    );

    let product_affinities = ctx
        .tables
        .products
        .iter()
        .zip(&truth.affinities)
        .map(|(p, a)| (p.id.clone(), *a))
        .collect();
    CustomerBundle {
        customer,
        payments,
        behaviour,
        holdings,
        truth: GroundTruth {
            customer_id,
            persona,
            risk_tolerance: truth.risk_tolerance,
            default_propensity: truth.default_propensity,
            defaulted_next_12m: truth.defaulted_next_12m,
            monthly_income_minor: latents.income_minor,
            product_affinities,
            fraud,
        },
    }
}

/// One to three debit cards (a main card, maybe a second and a virtual one).
fn cards<R: Rng>(rng: &mut R) -> Vec<Card> {
    let count = 1 + usize::from(chance(rng, 0.5)) + usize::from(chance(rng, 0.15));
    (0..count)
        .map(|_| {
            let bin = CARD_BINS[rng.gen_range(0..CARD_BINS.len())];
            let last4 = format!("{:04}", rng.gen_range(0..10_000));
            Card::parse(bin, &last4).expect("table BINs and four digits form a valid card")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_limits_are_enforced() {
        assert_eq!(Config::default().validate(), Ok(()));
        assert_eq!(Config::DEFAULT_END_DATE.to_string(), "2026-10-31");
        let too_many = Config::new(Config::MAX_CUSTOMERS + 1, 12, 1);
        assert!(matches!(
            too_many.validate(),
            Err(ConfigError::TooManyCustomers(_))
        ));
        assert!(matches!(
            Config::new(10, 0, 1).validate(),
            Err(ConfigError::Months(0))
        ));
        assert!(matches!(
            Config::new(10, 121, 1).validate(),
            Err(ConfigError::Months(121))
        ));
        let old = Config {
            end_date: NaiveDate::from_ymd_opt(1999, 12, 31).expect("valid date"),
            ..Config::default()
        };
        assert!(matches!(old.validate(), Err(ConfigError::EndDate(_))));
        assert!(old
            .validate()
            .unwrap_err()
            .to_string()
            .contains("1999-12-31"));
    }

    #[test]
    #[should_panic(expected = "invalid synth config")]
    fn invalid_config_panics() {
        generate_customer(&Config::new(10, 0, 1), 0);
    }

    #[test]
    fn streams_differ_per_aspect_and_customer() {
        let draw = |index, which| stream(9, index, which).gen::<u64>();
        assert_ne!(draw(0, Stream::Profile), draw(0, Stream::Payments));
        assert_ne!(draw(0, Stream::Profile), draw(1, Stream::Profile));
        assert_eq!(draw(5, Stream::Truth), draw(5, Stream::Truth));
    }

    #[test]
    fn longest_window_stays_valid() {
        let config = Config::new(1, Config::MAX_MONTHS, 3);
        let bundle = generate_customer(&config, Config::MAX_CUSTOMERS - 1);
        assert_eq!(bundle.customer.id.as_str(), "c10000000");
        assert!(bundle.payments.iter().all(|p| p.check().is_ok()));
        assert!(bundle.payments.len() > 1_000);
    }
}
