//! Population-level checks through the public API: validity against the domain's rules,
//! determinism, consistency of balances, and the statistical shape evaluation relies on.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc};
use proptest::prelude::*;
use sextant_domain::{
    default_catalogue, BehaviourKind, Channel, Currency, Direction, PaymentKind, PaymentStatus,
    ProductKind,
};
use sextant_synth::{generate_customer, Config, CustomerBundle, Persona};

const POPULATION: u64 = 2_000;

fn config() -> Config {
    Config::new(POPULATION, 12, 20_261_031)
}

/// One shared population: generating it is the slow part of these tests.
fn population() -> &'static [CustomerBundle] {
    static POP: OnceLock<Vec<CustomerBundle>> = OnceLock::new();
    POP.get_or_init(|| {
        (0..POPULATION)
            .map(|i| generate_customer(&config(), i))
            .collect()
    })
}

fn by_persona(persona: Persona) -> impl Iterator<Item = &'static CustomerBundle> {
    population()
        .iter()
        .filter(move |b| b.truth.persona == persona)
}

fn window(config: &Config) -> (DateTime<Utc>, DateTime<Utc>) {
    let first = config
        .end_date
        .checked_sub_months(chrono::Months::new(config.months))
        .and_then(|d| d.succ_opt())
        .unwrap();
    let end = config.end_date.succ_opt().unwrap();
    (
        first.and_time(NaiveTime::MIN).and_utc(),
        end.and_time(NaiveTime::MIN).and_utc(),
    )
}

fn signed(amount: i64, direction: Direction) -> i64 {
    match direction {
        Direction::Credit => amount,
        Direction::Debit => -amount,
    }
}

/// Every rule a single bundle must satisfy, whatever the configuration.
fn assert_bundle_valid(config: &Config, b: &CustomerBundle) {
    let (start, end) = window(config);
    let id = &b.customer.id;
    assert_eq!(&b.truth.customer_id, id);
    assert!(i64::from(b.customer.birth_year.get()) <= i64::from(config.end_date.year()) - 18);
    for p in &b.payments {
        assert_eq!(&p.customer_id, id);
        p.check()
            .unwrap_or_else(|e| panic!("{}: {e:?}", p.event_id));
        assert!(
            p.occurred_at >= start && p.occurred_at < end,
            "{}",
            p.occurred_at
        );
        // Planted fraud carries no balance (the ledger did not run it); everything else does.
        let planted = b
            .truth
            .fraud
            .as_ref()
            .is_some_and(|f| f.event_ids.contains(&p.event_id));
        // Charged in the local currency outside the euro area, else in the account's euros;
        // planted fraud always in euros (its schemes' thresholds are euro amounts).
        let charged_in = sextant_synth::fx::currency_of(p.country)
            .filter(|_| !planted)
            .unwrap_or(Currency::EUR);
        assert_eq!(p.currency, charged_in, "{}", p.event_id);
        assert_eq!(p.balance_after_minor.is_none(), planted, "{}", p.event_id);
        // A foreign country and the cross-border channel go together.
        assert_eq!(
            p.country.as_str() != "CZ",
            p.channel == Channel::CrossBorder
        );
        let card_payment = matches!(
            p.kind,
            PaymentKind::Purchase | PaymentKind::Atm | PaymentKind::Refund
        );
        assert_eq!(p.card.is_some(), card_payment, "{} {}", p.event_id, p.kind);
    }
    for e in &b.behaviour {
        assert_eq!(&e.customer_id, id);
        e.check()
            .unwrap_or_else(|err| panic!("{}: {err:?}", e.event_id));
        assert!(
            e.occurred_at >= start && e.occurred_at < end,
            "{}",
            e.occurred_at
        );
        assert!(e.session_id.is_some());
    }
    assert!(b
        .payments
        .windows(2)
        .all(|w| w[0].occurred_at <= w[1].occurred_at));
    assert!(b
        .behaviour
        .windows(2)
        .all(|w| w[0].occurred_at <= w[1].occurred_at));
    assert_balances_follow_flows(b);
    let catalogue = default_catalogue();
    for h in &b.holdings {
        assert_eq!(&h.customer_id, id);
        assert!(h.opened_at < end);
        assert!(catalogue.iter().any(|p| p.id == h.product_id));
    }
    let products: Vec<_> = b.truth.product_affinities.iter().map(|(p, _)| p).collect();
    let expected: Vec<_> = catalogue.iter().map(|p| &p.id).collect();
    assert_eq!(products, expected);
    assert!(b
        .truth
        .product_affinities
        .iter()
        .all(|(_, a)| (0.0..=1.0).contains(a)));
    assert!((0.0..=1.0).contains(&b.truth.default_propensity));
    assert!(b.truth.monthly_income_minor > 0);
}

/// Each balance is the previous one plus the payment (completed) or unchanged (failed), and a
/// payment failed only when it would have gone below the lowest balance ever reached.
fn assert_balances_follow_flows(b: &CustomerBundle) {
    let lowest = b
        .payments
        .iter()
        .filter_map(|p| p.balance_after_minor)
        .min()
        .unwrap_or(0);
    let ledger: Vec<_> = b
        .payments
        .iter()
        .filter(|p| p.balance_after_minor.is_some())
        .collect();
    for w in ledger.windows(2) {
        let before = w[0].balance_after_minor.unwrap();
        let after = w[1].balance_after_minor.unwrap();
        let p = &w[1];
        match p.status {
            PaymentStatus::Completed if p.currency == Currency::EUR => {
                assert_eq!(
                    after,
                    before + signed(p.amount.get(), p.direction),
                    "{}",
                    p.event_id
                )
            }
            // Charged in another currency, the account moved by its euro equivalent: the
            // amount converted back at the day's rate is within a cent of it.
            PaymentStatus::Completed => {
                let rates = sextant_synth::fx::reference_rate_table(
                    p.occurred_at.date_naive() - chrono::Duration::days(7),
                    p.occurred_at.date_naive(),
                );
                let euros = rates
                    .convert(
                        p.amount.get(),
                        p.currency,
                        Currency::EUR,
                        p.occurred_at.date_naive(),
                    )
                    .unwrap();
                let moved = (after - before).abs();
                assert!(
                    (moved - euros).abs() <= 1,
                    "{}: {moved} vs {euros}",
                    p.event_id
                );
                assert_eq!(
                    (after - before).signum(),
                    signed(1, p.direction),
                    "{}",
                    p.event_id
                );
            }
            PaymentStatus::Failed => {
                assert_eq!(after, before, "{}", p.event_id);
                assert_eq!(p.direction, Direction::Debit);
                assert!(
                    before - p.amount.get() < lowest,
                    "{} failed with money left",
                    p.event_id
                );
            }
        }
    }
}

#[test]
fn every_record_passes_the_domain_rules() {
    for b in population() {
        assert_bundle_valid(&config(), b);
    }
}

#[test]
fn ids_are_unique_and_well_formed() {
    let mut seen = HashSet::new();
    for (i, b) in population().iter().enumerate() {
        assert_eq!(b.customer.id.as_str(), format!("c{:07}", i + 1));
        for id in b
            .payments
            .iter()
            .map(|p| &p.event_id)
            .chain(b.behaviour.iter().map(|e| &e.event_id))
        {
            assert!(seen.insert(id.as_str()), "duplicate event id {id}");
        }
    }
    let first = &population()[0];
    assert_eq!(first.payments[0].event_id.as_str(), "p1_1");
    assert_eq!(first.behaviour[0].event_id.as_str(), "b1_1");
}

#[test]
fn generation_is_deterministic_and_independent() {
    let c = config();
    assert_eq!(generate_customer(&c, 17), population()[17]);
    // The population size does not change a customer.
    let other_size = Config { customers: 5, ..c };
    assert_eq!(generate_customer(&other_size, 3), population()[3]);
    assert_ne!(population()[3].payments, population()[4].payments);
    let other_seed = Config {
        seed: c.seed + 1,
        ..c
    };
    assert_ne!(
        generate_customer(&other_seed, 17).payments,
        population()[17].payments
    );
}

#[test]
fn personas_follow_the_mix() {
    let mut counts: HashMap<Persona, usize> = HashMap::new();
    for b in population() {
        *counts.entry(b.truth.persona).or_default() += 1;
    }
    for persona in Persona::ALL {
        let share = counts.get(persona).copied().unwrap_or(0) as f64 / POPULATION as f64;
        let expected = persona.population_share();
        assert!(
            (share - expected).abs() < 0.04,
            "{persona}: {share} vs {expected}"
        );
    }
}

#[test]
fn volumes_are_in_range() {
    let months = f64::from(config().months);
    let n = POPULATION as f64;
    let payments = population().iter().map(|b| b.payments.len()).sum::<usize>() as f64 / n / months;
    let behaviour = population()
        .iter()
        .map(|b| b.behaviour.len())
        .sum::<usize>() as f64
        / n
        / months;
    assert!(
        (15.0..=30.0).contains(&payments),
        "{payments} payments a month"
    );
    assert!(
        (5.0..=15.0).contains(&behaviour),
        "{behaviour} behaviour events a month"
    );
    let purchases_per = |persona| {
        let (sum, count) = by_persona(persona).fold((0usize, 0usize), |(s, c), b| {
            let p = b
                .payments
                .iter()
                .filter(|p| p.kind == PaymentKind::Purchase)
                .count();
            (s + p, c + 1)
        });
        sum as f64 / count as f64
    };
    assert!(purchases_per(Persona::Student) > purchases_per(Persona::Retiree));
    assert!(purchases_per(Persona::GigWorker) > purchases_per(Persona::Retiree));
}

#[test]
fn default_rate_and_risk_levels_are_spread() {
    let n = POPULATION as f64;
    let mean: f64 = population()
        .iter()
        .map(|b| b.truth.default_propensity)
        .sum::<f64>()
        / n;
    assert!(
        (0.04..=0.11).contains(&mean),
        "mean default propensity {mean}"
    );
    let realised = population()
        .iter()
        .filter(|b| b.truth.defaulted_next_12m)
        .count() as f64
        / n;
    assert!((mean - realised).abs() < 0.025, "{realised} vs {mean}");
    let mut levels = [0usize; 5];
    for b in population() {
        levels[usize::from(b.truth.risk_tolerance.get()) - 1] += 1;
    }
    for (i, count) in levels.iter().enumerate() {
        let share = *count as f64 / n;
        assert!((0.05..=0.45).contains(&share), "C{}: {share}", i + 1);
    }
}

fn mean_by<F: Fn(&CustomerBundle) -> f64>(persona: Persona, f: F) -> f64 {
    let (sum, count) = by_persona(persona).fold((0.0, 0.0), |(s, c), b| (s + f(b), c + 1.0));
    sum / count
}

#[test]
fn stress_leaves_its_marks() {
    let failed = |b: &CustomerBundle| {
        b.payments
            .iter()
            .filter(|p| p.status == PaymentStatus::Failed)
            .count() as f64
    };
    let negative = |b: &CustomerBundle| {
        let neg = b
            .payments
            .iter()
            .filter(|p| p.balance_after_minor < Some(0))
            .count();
        neg as f64 / b.payments.len().max(1) as f64
    };
    let instalments = |b: &CustomerBundle| {
        b.payments
            .iter()
            .filter(|p| p.kind == PaymentKind::Instalment)
            .count() as f64
    };
    let default = |b: &CustomerBundle| b.truth.default_propensity;
    let stressed = Persona::FinanciallyStressed;
    let salaried = Persona::SalariedProfessional;
    assert!(mean_by(stressed, failed) > 3.0 * mean_by(salaried, failed));
    assert!(mean_by(stressed, negative) > 3.0 * mean_by(salaried, negative));
    assert!(mean_by(stressed, instalments) > 2.0 * mean_by(salaried, instalments));
    assert!(mean_by(stressed, default) > 3.0 * mean_by(salaried, default));
    // Within the population, customers with failed obligations default more often.
    let obligation_failed = |b: &&CustomerBundle| {
        b.payments.iter().any(|p| {
            p.status == PaymentStatus::Failed
                && matches!(
                    p.kind,
                    PaymentKind::Bill | PaymentKind::LoanRepayment | PaymentKind::Instalment
                )
        })
    };
    let (with, without): (Vec<_>, Vec<_>) = population().iter().partition(obligation_failed);
    let rate = |group: &[&CustomerBundle]| {
        group
            .iter()
            .map(|b| b.truth.default_propensity)
            .sum::<f64>()
            / group.len() as f64
    };
    assert!(rate(&with) > 2.0 * rate(&without));
}

#[test]
fn risk_tolerance_leaves_its_marks() {
    let invests =
        |b: &&CustomerBundle| b.payments.iter().any(|p| p.kind == PaymentKind::Investment);
    let (investors, others): (Vec<_>, Vec<_>) = population().iter().partition(invests);
    let mean_level = |group: &[&CustomerBundle]| {
        let total: f64 = group
            .iter()
            .map(|b| f64::from(b.truth.risk_tolerance.get()))
            .sum();
        total / group.len() as f64
    };
    assert!(mean_level(&investors) > mean_level(&others) + 0.5);
    // Held funds sit near the true tolerance, with some mismatch.
    let catalogue = default_catalogue();
    let mut gaps = Vec::new();
    for b in population() {
        for h in &b.holdings {
            let product = catalogue.iter().find(|p| p.id == h.product_id).unwrap();
            if product.kind == ProductKind::Fund {
                gaps.push(
                    (i16::from(product.risk_level.get()) - i16::from(b.truth.risk_tolerance.get()))
                        .abs(),
                );
            }
        }
    }
    let exact = gaps.iter().filter(|g| **g == 0).count() as f64 / gaps.len() as f64;
    let near = gaps.iter().filter(|g| **g <= 1).count() as f64 / gaps.len() as f64;
    assert!(gaps.len() > 100);
    assert!((0.4..0.95).contains(&exact), "{exact}");
    assert!(near > 0.8, "{near}");
}

#[test]
fn salaries_arrive_monthly_on_a_fixed_day() {
    let mut checked = 0;
    for b in by_persona(Persona::SalariedProfessional) {
        // The first salary credit of each month (a bonus may follow on the same day).
        let mut dates: Vec<NaiveDate> = Vec::new();
        for p in b.payments.iter().filter(|p| p.kind == PaymentKind::Salary) {
            let date = p.occurred_at.date_naive();
            if dates
                .last()
                .is_none_or(|d| (d.year(), d.month()) != (date.year(), date.month()))
            {
                dates.push(date);
            }
        }
        assert!(
            dates.len() >= 11,
            "{}: {} salaries",
            b.customer.id,
            dates.len()
        );
        for w in dates.windows(2) {
            let gap = (w[1] - w[0]).num_days();
            assert!((25..=35).contains(&gap), "{}: gap {gap}", b.customer.id);
        }
        checked += 1;
    }
    assert!(checked > 400);
}

#[test]
fn offers_are_clicked_more_when_liked() {
    let mut shown = [0usize; 2];
    let mut clicked = [0usize; 2];
    for b in population() {
        for e in &b.behaviour {
            let Some(offer) = &e.offer_id else { continue };
            let product = offer.as_str().trim_start_matches("o-");
            let (_, affinity) = b
                .truth
                .product_affinities
                .iter()
                .find(|(p, _)| p.as_str() == product)
                .expect("offers name catalogue products");
            let liked = usize::from(*affinity >= 0.5);
            match e.kind {
                BehaviourKind::OfferImpression => shown[liked] += 1,
                BehaviourKind::OfferClick => clicked[liked] += 1,
                _ => {}
            }
        }
    }
    let rate = |i: usize| clicked[i] as f64 / shown[i] as f64;
    assert!(shown[0] > 100 && shown[1] > 100);
    assert!(rate(1) > 2.0 * rate(0), "{} vs {}", rate(1), rate(0));
}

#[test]
fn travel_shows_as_cross_border_spending() {
    let abroad = population()
        .iter()
        .filter(|b| b.payments.iter().any(|p| p.channel == Channel::CrossBorder))
        .count() as f64;
    assert!(abroad / POPULATION as f64 > 0.3);
    let summer_or_december = population()
        .iter()
        .flat_map(|b| &b.payments)
        .filter(|p| p.channel == Channel::CrossBorder)
        .map(|p| p.occurred_at.month())
        .fold([0usize; 13], |mut months, m| {
            months[m as usize] += 1;
            months
        });
    assert!(
        summer_or_december[7] + summer_or_december[8]
            > 2 * (summer_or_december[2] + summer_or_december[3])
    );
    // Outside the euro area, payments are in the local currency, and every one converts back
    // at the published reference rates (weekends at Friday's).
    let (start, end) = window(&config());
    // From a week before the window: a payment on its first day, a Saturday, is charged at
    // the Friday before.
    let rates = sextant_synth::fx::reference_rate_table(
        start.date_naive() - chrono::Duration::days(7),
        end.date_naive(),
    );
    let foreign: Vec<_> = population()
        .iter()
        .flat_map(|b| &b.payments)
        .filter(|p| p.currency != Currency::EUR)
        .collect();
    assert!(
        foreign.len() > 100,
        "{} foreign-currency payments",
        foreign.len()
    );
    let currencies: std::collections::BTreeSet<_> = foreign.iter().map(|p| p.currency).collect();
    assert!(currencies.len() >= 4, "{currencies:?}");
    for p in foreign {
        let euros = rates.convert(
            p.amount.get(),
            p.currency,
            Currency::EUR,
            p.occurred_at.date_naive(),
        );
        assert!(euros.is_ok_and(|e| e > 0), "{}: {euros:?}", p.event_id);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn any_valid_config_gives_valid_customers(
        seed in any::<u64>(),
        index in 0u64..Config::MAX_CUSTOMERS,
        months in 1u32..=24,
        end_day in 0u32..36_000,
    ) {
        let end_date = NaiveDate::from_ymd_opt(2001, 1, 1).unwrap() + chrono::Days::new(u64::from(end_day));
        let config = Config { customers: Config::MAX_CUSTOMERS, months, seed, end_date };
        let bundle = generate_customer(&config, index);
        assert_bundle_valid(&config, &bundle);
        prop_assert_eq!(bundle, generate_customer(&config, index));
    }
}
