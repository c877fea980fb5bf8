//! Features, risk profiles and segments on a synthetic population, scored against its ground
//! truth: the checks that the profile means something, not just that it computes.

use std::sync::OnceLock;

use chrono::{DateTime, TimeZone, Utc};
use sextant_domain::{PaymentKind, PaymentStatus};
use sextant_profiling::risk::{self, WillingnessSource};
use sextant_profiling::{
    catalogue, compute_features, metrics, segments, CustomerHistory, Features,
};
use sextant_synth::{generate_customer, Config, CustomerBundle, Persona};

const POPULATION: u64 = 300;

fn as_of() -> DateTime<Utc> {
    // The last second of the synthetic window (it ends on Config::DEFAULT_END_DATE).
    Utc.with_ymd_and_hms(2026, 10, 31, 23, 59, 59).unwrap()
}

struct Profiled {
    bundle: CustomerBundle,
    features: Features,
}

fn population() -> &'static [Profiled] {
    static POP: OnceLock<Vec<Profiled>> = OnceLock::new();
    POP.get_or_init(|| {
        let config = Config::new(POPULATION, 12, 20_261_031);
        // The rates the travellers' foreign payments were charged at, published as the ECB
        // would (weekdays), from a week before the window.
        let end = as_of().date_naive();
        let rates = sextant_synth::fx::reference_rate_table(end - chrono::Duration::days(400), end);
        (0..POPULATION)
            .map(|i| {
                let bundle = generate_customer(&config, i);
                let history = CustomerHistory {
                    customer: &bundle.customer,
                    payments: &bundle.payments,
                    behaviour: &bundle.behaviour,
                    holdings: &bundle.holdings,
                    rates: &rates,
                    loyalty: &sextant_loyalty::Activity::default(),
                };
                let features = compute_features(&history, as_of());
                assert!(
                    features.unconverted.is_empty(),
                    "{:?}",
                    features.unconverted
                );
                Profiled { bundle, features }
            })
            .collect()
    })
}

fn age(p: &Profiled) -> u16 {
    p.bundle.customer.birth_year.age_years(as_of())
}

fn mean_of(persona: Option<Persona>, invert: bool, name: &str) -> f64 {
    let values: Vec<f64> = population()
        .iter()
        .filter(|p| persona.is_none_or(|persona| (p.bundle.truth.persona == persona) != invert))
        .map(|p| p.features.get(name).expect("feature exists"))
        .collect();
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

#[test]
fn every_feature_is_finite() {
    for p in population() {
        assert_eq!(p.features.values.len(), catalogue().len());
        for (spec, value) in p.features.named() {
            assert!(
                value.is_finite(),
                "{} {} = {value}",
                p.bundle.customer.id,
                spec.name
            );
        }
    }
}

#[test]
fn income_estimate_tracks_true_income() {
    let estimated: Vec<f64> = population()
        .iter()
        .map(|p| p.features.get("income_per_month_minor").unwrap())
        .collect();
    let truth: Vec<f64> = population()
        .iter()
        .map(|p| p.bundle.truth.monthly_income_minor as f64)
        .collect();
    let rho = metrics::spearman(&estimated, &truth);
    assert!(rho > 0.8, "income spearman {rho}");
}

#[test]
fn risk_levels_correlate_with_true_tolerance() {
    let truth: Vec<u8> = population()
        .iter()
        .map(|p| p.bundle.truth.risk_tolerance.get())
        .collect();
    let mut capacity = Vec::new();
    let mut level = Vec::new();
    for p in population() {
        let willingness = risk::willingness_from_history(&p.features);
        let a = risk::assess(
            willingness,
            WillingnessSource::Behaviour,
            &p.features,
            age(p),
        );
        assert!(a.level <= a.capacity && a.level <= a.willingness);
        capacity.push(a.capacity.get());
        level.push(a.level.get());
    }
    let as_f64 = |v: &[u8]| v.iter().map(|x| f64::from(*x)).collect::<Vec<_>>();
    let rho_capacity = metrics::spearman(&as_f64(&capacity), &as_f64(&truth));
    let rho_level = metrics::spearman(&as_f64(&level), &as_f64(&truth));
    let qwk_level = metrics::quadratic_weighted_kappa(&level, &truth, 5);
    // Capacity is one side of the true tolerance (the other, willingness, dominates it in the
    // synthetic truth), so it need only point the same way; its own test is default risk.
    let propensity: Vec<f64> = population()
        .iter()
        .map(|p| p.bundle.truth.default_propensity)
        .collect();
    let rho_default = metrics::spearman(&as_f64(&capacity), &propensity);
    println!(
        "capacity rho {rho_capacity:.3} (vs default propensity {rho_default:.3}), \
         level rho {rho_level:.3}, level qwk {qwk_level:.3}"
    );
    assert!(rho_capacity > 0.1, "capacity spearman {rho_capacity}");
    assert!(
        rho_default < -0.3,
        "capacity vs default propensity {rho_default}"
    );
    assert!(
        rho_level > 0.3 || qwk_level > 0.3,
        "level spearman {rho_level}, qwk {qwk_level}"
    );
}

#[test]
fn persona_means_differ_sensibly() {
    let retiree = Some(Persona::Retiree);
    assert!(mean_of(retiree, false, "age_years") > mean_of(retiree, true, "age_years") + 20.0);
    let stressed = Some(Persona::FinanciallyStressed);
    let stressed_buffer = mean_of(stressed, false, "liquid_assets_months");
    let other_buffer = mean_of(stressed, true, "liquid_assets_months");
    assert!(
        stressed_buffer < other_buffer,
        "{stressed_buffer} vs {other_buffer}"
    );
    let stressed_failed = mean_of(stressed, false, "failed_payments_365d");
    let other_failed = mean_of(stressed, true, "failed_payments_365d");
    assert!(
        stressed_failed > 2.0 * other_failed,
        "{stressed_failed} vs {other_failed}"
    );
    let stressed_overdraft = mean_of(stressed, false, "overdraft_day_share_90d");
    assert!(stressed_overdraft > mean_of(stressed, true, "overdraft_day_share_90d"));
    let rich = Some(Persona::HighNetWorth);
    let rich_income = mean_of(rich, false, "income_per_month_minor");
    assert!(rich_income > 2.0 * mean_of(rich, true, "income_per_month_minor"));
    let gig = Some(Persona::GigWorker);
    assert!(
        mean_of(gig, false, "income_credits_per_month")
            > mean_of(gig, true, "income_credits_per_month")
    );
}

/// Standardised features (z-scores per column), as segmentation would use them.
fn standardised() -> Vec<Vec<f32>> {
    let rows: Vec<&Features> = population().iter().map(|p| &p.features).collect();
    let dims = catalogue().len();
    let n = rows.len() as f64;
    let stats: Vec<(f64, f64)> = (0..dims)
        .map(|d| {
            let mean = rows.iter().map(|f| f.values[d]).sum::<f64>() / n;
            let var = rows
                .iter()
                .map(|f| (f.values[d] - mean).powi(2))
                .sum::<f64>()
                / n;
            (mean, var.sqrt().max(1e-9))
        })
        .collect();
    rows.iter()
        .map(|f| {
            f.values
                .iter()
                .zip(&stats)
                .map(|(v, (m, s))| ((v - m) / s).clamp(-5.0, 5.0) as f32)
                .collect()
        })
        .collect()
}

#[test]
fn segments_carry_persona_signal_and_get_described() {
    let data = standardised();
    let fit = segments::kmeans(&data, 7, 1, 100);
    let personas: Vec<usize> = population()
        .iter()
        .map(|p| p.bundle.truth.persona as usize)
        .collect();
    let nmi = metrics::normalized_mutual_info(&fit.assignments, &personas);
    println!("persona NMI of 7 segments: {nmi:.3}");
    assert!(nmi > 0.2, "nmi {nmi}");
    let features: Vec<Features> = population().iter().map(|p| p.features.clone()).collect();
    let described = segments::describe(&features, &fit.assignments, 7);
    for (name, text) in &described {
        println!("{name}: {text}");
        assert!((1..=4).contains(&name.split_whitespace().count()), "{name}");
    }
}

#[test]
fn foreign_currency_spending_follows_the_payments() {
    let mut travellers = 0;
    for p in population() {
        let everyday_foreign = p.bundle.payments.iter().any(|e| {
            e.currency != p.bundle.customer.base_currency
                && e.status == PaymentStatus::Completed
                && e.occurred_at > as_of() - chrono::Duration::days(365)
                && matches!(e.kind, PaymentKind::Purchase | PaymentKind::Atm)
        });
        let share = p.features.get("foreign_currency_spend_share_365d").unwrap();
        let currencies = p.features.get("currencies_365d").unwrap();
        if everyday_foreign {
            travellers += 1;
            assert!(
                share > 0.0 && share < 1.0,
                "{}: {share}",
                p.bundle.customer.id
            );
            assert!(currencies >= 2.0, "{}: {currencies}", p.bundle.customer.id);
        } else {
            assert_eq!(share, 0.0, "{}", p.bundle.customer.id);
            assert!(currencies <= 1.0, "{}", p.bundle.customer.id);
        }
        // Spending abroad by amount is at least the part paid in foreign currencies (those
        // are all abroad; euro-area trips add to it).
        let abroad = p.features.get("cross_border_spend_share_365d").unwrap();
        assert!(
            abroad + 1e-9 >= share,
            "{}: {abroad} < {share}",
            p.bundle.customer.id
        );
    }
    assert!(travellers > POPULATION / 10, "{travellers} travellers");
}
