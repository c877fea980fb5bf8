use proptest::prelude::*;

use super::*;
use crate::catalogue::{COUNT, F};

fn features(set: &[(F, f64)]) -> Features {
    let mut values = vec![0.0; COUNT];
    for (f, v) in set {
        values[*f as usize] = *v;
    }
    Features {
        values,
        unconverted: Vec::new(),
    }
}

/// Healthy finances: steady income, a year of savings, saving a quarter, no debt.
fn comfortable() -> Vec<(F, f64)> {
    vec![
        (F::IncomePerMonthMinor, 300_000.0),
        (F::IncomeCv, 0.02),
        (F::IncomeMonthShare, 1.0),
        (F::LiquidAssetsMonths, 14.0),
        (F::SavingsRate, 0.25),
    ]
}

fn score(level: u8) -> Score {
    Score {
        points: u32::from(level) * 6,
        max_points: 30,
        level: tolerance(level),
    }
}

#[test]
fn comfortable_finances_allow_the_top_level() {
    let (capacity, components) = capacity(&features(&comfortable()), 35);
    assert_eq!(capacity.get(), 5, "{components:#?}");
    assert_eq!(components.len(), 7);
    assert!(components.iter().all(|c| !c.explanation.is_empty()));
}

#[test]
fn thin_buffer_binds_and_the_explanation_says_so() {
    let mut set = comfortable();
    set.push((F::LiquidAssetsMonths, 0.8));
    let f = features(&set);
    let a = assess(score(4), WillingnessSource::Questionnaire, &f, 35);
    assert_eq!(a.willingness.get(), 4);
    assert_eq!(a.capacity.get(), 2);
    assert_eq!(a.level.get(), 2);
    assert_eq!(
        a.explanation,
        "Your answers put you at C4 (growth), but your savings buffer of 0.8 months limits \
         what you can afford to lose, so your level is C2 (cautious)."
    );
}

#[test]
fn failed_payments_and_age_bind_when_weakest() {
    let mut set = comfortable();
    set.push((F::FailedPayments365d, 9.0));
    let a = assess(
        score(5),
        WillingnessSource::Questionnaire,
        &features(&set),
        35,
    );
    assert!(a.level.get() <= 2, "{a:#?}");
    assert!(
        a.explanation.contains("9 failed payments"),
        "{}",
        a.explanation
    );

    let a = assess(
        score(5),
        WillingnessSource::Questionnaire,
        &features(&comfortable()),
        82,
    );
    assert!(a.level.get() <= 2, "{a:#?}");
    assert!(a.explanation.contains("horizon"), "{}", a.explanation);
}

#[test]
fn willingness_binds_when_lower() {
    let a = assess(
        score(2),
        WillingnessSource::Questionnaire,
        &features(&comfortable()),
        35,
    );
    assert_eq!(a.level.get(), 2);
    assert!(
        a.explanation.contains("your own preference"),
        "{}",
        a.explanation
    );
    let a = assess(
        score(3),
        WillingnessSource::Behaviour,
        &features(&comfortable()),
        35,
    );
    assert!(a.explanation.contains("provisional"), "{}", a.explanation);
    assert_eq!(a.willingness_source.as_str(), "behaviour");
}

#[test]
fn no_income_means_low_capacity() {
    let (capacity, components) = capacity(&features(&[]), 30);
    assert!(capacity.get() <= 2);
    assert_eq!(components[0].level.get(), 1);
}

#[test]
fn material_change_is_a_change_of_level() {
    let f = features(&comfortable());
    let a = assess(score(3), WillingnessSource::Questionnaire, &f, 35);
    let mut drifted = a.clone();
    drifted.components[1].value += 0.5;
    drifted.explanation.push('!');
    assert!(!materially_changed(&a, &drifted));
    let b = assess(score(4), WillingnessSource::Questionnaire, &f, 35);
    assert!(materially_changed(&a, &b));
    let c = assess(score(3), WillingnessSource::Behaviour, &f, 35);
    assert!(materially_changed(&a, &c));
}

#[test]
fn fraction_to_level() {
    let levels: Vec<u8> = [0.0, 0.19, 0.2, 0.5, 0.79, 0.8, 1.0, 7.0]
        .iter()
        .map(|f| level_from_fraction(*f).get())
        .collect();
    assert_eq!(levels, [1, 1, 2, 3, 4, 5, 5, 5]);
}

const CAPACITY_INPUTS: [F; 8] = [
    F::IncomePerMonthMinor,
    F::IncomeCv,
    F::IncomeMonthShare,
    F::LiquidAssetsMonths,
    F::SavingsRate,
    F::DebtServiceRatio,
    F::FailedPayments365d,
    F::OverdraftDayShare90d,
];

proptest! {
    #[test]
    fn level_never_exceeds_willingness_or_capacity(
        values in proptest::collection::vec(-3.0f64..200.0, CAPACITY_INPUTS.len()),
        level in 1u8..=5,
        age in 18u16..110,
        behaviour in any::<bool>(),
    ) {
        let set: Vec<(F, f64)> = CAPACITY_INPUTS.iter().copied().zip(values).collect();
        let f = features(&set);
        let source = if behaviour { WillingnessSource::Behaviour } else { WillingnessSource::Questionnaire };
        let a = assess(score(level), source, &f, age);
        prop_assert!(a.level <= a.capacity);
        prop_assert!(a.level <= a.willingness);
        prop_assert!(a.level == a.capacity || a.level == a.willingness);
        let weakest = a.components.iter().map(|c| c.level).min().unwrap();
        let headroom = if weakest.get() == 1 { 1 } else { 2 };
        prop_assert!(a.capacity.get() <= weakest.get() + headroom);
        prop_assert!(a.explanation.contains(&a.level.to_string()));
    }
}
