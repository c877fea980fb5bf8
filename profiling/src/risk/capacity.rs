//! Risk capacity: how much loss the customer's finances can carry, read from the payment
//! history and age. Each component is scored C1..C5 on published thresholds; the capacity
//! is their weighted mean, rounded, with the savings buffer and the horizon counting double
//! (what could be lost, and how long there is to recover, are the core of capacity). A weak
//! component caps the result: a C1 anywhere (no income, no buffer, many failed payments)
//! allows at most C2, any other weakness at most two levels above itself.

use sextant_domain::RiskTolerance;

use super::{tolerance, Component};
use crate::catalogue::F;
use crate::Features;

/// Thresholds where a larger value is worse, highest level first: a value below `limits[0]`
/// scores C5, below `limits[1]` C4, ..., anything else C1.
fn level_below(value: f64, limits: [f64; 4]) -> RiskTolerance {
    let passed = limits.iter().take_while(|&&limit| value >= limit).count();
    tolerance(5 - passed as u8)
}

/// Thresholds where a larger value is better: at least `limits[3]` scores C5, at least
/// `limits[2]` C4, ..., anything below `limits[0]` C1.
fn level_above(value: f64, limits: [f64; 4]) -> RiskTolerance {
    let passed = limits.iter().take_while(|&&limit| value >= limit).count();
    tolerance(1 + passed as u8)
}

fn percent(share: f64) -> String {
    format!("{:.0}%", share * 100.0)
}

fn income_stability(features: &Features) -> Component {
    let cv = features.at(F::IncomeCv);
    let month_share = features.at(F::IncomeMonthShare);
    let no_income = features.at(F::IncomePerMonthMinor) <= 0.0;
    // Generous bands: a yearly bonus alone gives about 0.17, weekly gig payouts 0.3-0.4.
    let mut level = level_below(cv, [0.15, 0.30, 0.50, 0.80]);
    // Months with no income at all say more about stability than the spread of the rest.
    if no_income || month_share < 0.5 {
        level = tolerance(1);
    } else if month_share < 0.85 {
        level = level.min(tolerance(2));
    }
    let explanation = if no_income {
        "We see no regular income (salary or transfers in) on your account.".to_owned()
    } else {
        format!(
            "Your monthly income varies by {} from month to month and arrived in {} of \
             months (C5 below 15% variation, C1 from 80% or with half the months missing).",
            percent(cv),
            percent(month_share)
        )
    };
    Component {
        name: "income_stability",
        value: cv,
        unit: "ratio",
        level,
        explanation,
    }
}

fn savings_buffer(features: &Features) -> Component {
    let months = features.at(F::LiquidAssetsMonths);
    Component {
        name: "savings_buffer",
        value: months,
        unit: "months",
        level: level_above(months, [1.0, 3.0, 6.0, 12.0]),
        explanation: format!(
            "Your account, savings and funds would cover {months:.1} months of your usual \
             spending (C1 below 1 month, C5 from 12 months)."
        ),
    }
}

fn savings_rate(features: &Features) -> Component {
    let rate = features.at(F::SavingsRate);
    let explanation = if rate < 0.0 {
        format!(
            "You spent {} more than your income over the last year (C1 when spending \
             exceeds income, C5 from saving 20%).",
            percent(-rate)
        )
    } else {
        format!(
            "You kept {} of your income after spending over the last year (C1 when \
             spending exceeds income, C5 from saving 20%).",
            percent(rate)
        )
    };
    Component {
        name: "savings_rate",
        value: rate,
        unit: "ratio",
        level: level_above(rate, [0.0, 0.05, 0.10, 0.20]),
        explanation,
    }
}

fn debt_service(features: &Features) -> Component {
    let ratio = features.at(F::DebtServiceRatio);
    Component {
        name: "debt_service",
        value: ratio,
        unit: "ratio",
        level: level_below(ratio, [0.10, 0.20, 0.35, 0.50]),
        explanation: format!(
            "Loan repayments and instalments take {} of your monthly income (C5 below 10%, \
             C1 from 50%).",
            percent(ratio)
        ),
    }
}

fn payment_history(features: &Features) -> Component {
    let failed = features.at(F::FailedPayments365d);
    let explanation = if failed == 0.0 {
        "None of your payments failed in the last 12 months.".to_owned()
    } else {
        format!(
            "{failed:.0} of your payments failed for lack of funds in the last 12 months \
             (C5 with none, C1 from 8)."
        )
    };
    Component {
        name: "payment_history",
        value: failed,
        unit: "count",
        level: level_below(failed, [1.0, 2.0, 4.0, 8.0]),
        explanation,
    }
}

fn overdraft_use(features: &Features) -> Component {
    let share = features.at(F::OverdraftDayShare90d);
    Component {
        name: "overdraft_use",
        value: share,
        unit: "share",
        level: level_below(share, [f64::MIN_POSITIVE, 0.10, 0.25, 0.50]),
        explanation: format!(
            "Your account was overdrawn {} of the time in the last 90 days (C5 never, C1 \
             half the time or more).",
            percent(share)
        ),
    }
}

fn horizon(age_years: u16) -> Component {
    let age = f64::from(age_years);
    Component {
        name: "horizon",
        value: age,
        unit: "years",
        level: level_below(age, [46.0, 56.0, 66.0, 76.0]),
        explanation: format!(
            "At {age_years}, your investment horizon allows {} (C5 up to 45, C1 from 76): \
             the older we are, the less time there is to recover from a loss.",
            match age_years {
                ..=45 => "a long recovery from losses",
                46..=55 => "a fairly long recovery from losses",
                56..=65 => "a medium recovery from losses",
                66..=75 => "only a short recovery from losses",
                _ => "little time to recover from losses",
            }
        ),
    }
}

/// Capacity from the payment history and age: income stability, savings buffer, savings
/// rate, debt service, failed payments, overdraft use and horizon.
pub fn capacity(features: &Features, age_years: u16) -> (RiskTolerance, Vec<Component>) {
    let components = vec![
        income_stability(features),
        savings_buffer(features),
        savings_rate(features),
        debt_service(features),
        payment_history(features),
        overdraft_use(features),
        horizon(age_years),
    ];
    (combine(&components), components)
}

/// Weight of a component in the mean.
fn weight(component: &Component) -> f64 {
    match component.name {
        "savings_buffer" | "horizon" => 2.0,
        _ => 1.0,
    }
}

/// Rounded weighted mean of the component levels, capped by the weakest component.
fn combine(components: &[Component]) -> RiskTolerance {
    let Some(weakest) = components.iter().map(|c| c.level.get()).min() else {
        return tolerance(1);
    };
    let total_weight: f64 = components.iter().map(weight).sum();
    let weighted: f64 = components
        .iter()
        .map(|c| weight(c) * f64::from(c.level.get()))
        .sum();
    let rounded = (weighted / total_weight).round() as u8;
    let headroom = if weakest == 1 { 1 } else { 2 };
    tolerance(rounded.min(weakest + headroom))
}

/// How the weakest component reads inside a sentence: "your savings buffer of 0.8 months".
pub(super) fn limiting_phrase(component: &Component) -> String {
    let v = component.value;
    match component.name {
        "income_stability" => "how irregular your income is".to_owned(),
        "savings_buffer" => format!("your savings buffer of {v:.1} months"),
        "savings_rate" if v < 0.0 => "spending above your income".to_owned(),
        "savings_rate" => format!("your savings rate of {}", percent(v)),
        "debt_service" => format!("debt payments taking {} of your income", percent(v)),
        "payment_history" => format!("{v:.0} failed payments in the last year"),
        "overdraft_use" => format!("being overdrawn {} of the time", percent(v)),
        "horizon" => format!("your investment horizon at {v:.0}"),
        other => other.replace('_', " "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_map_to_levels() {
        let limits = [1.0, 3.0, 6.0, 12.0];
        let levels: Vec<u8> = [0.5, 1.0, 2.9, 3.0, 7.0, 12.0, 100.0]
            .iter()
            .map(|v| level_above(*v, limits).get())
            .collect();
        assert_eq!(levels, [1, 2, 2, 3, 4, 5, 5]);
        let worse = [0.10, 0.20, 0.35, 0.50];
        let levels: Vec<u8> = [0.0, 0.1, 0.3, 0.4, 0.5, 3.0]
            .iter()
            .map(|v| level_below(*v, worse).get())
            .collect();
        assert_eq!(levels, [5, 4, 3, 2, 1, 1]);
        assert_eq!(horizon(30).level.get(), 5);
        assert_eq!(horizon(70).level.get(), 2);
        assert_eq!(horizon(80).level.get(), 1);
    }

    #[test]
    fn combine_is_capped_by_the_weakest() {
        let component = |level: u8| Component {
            name: "x",
            value: 0.0,
            unit: "",
            level: tolerance(level),
            explanation: String::new(),
        };
        let all_five: Vec<Component> = (0..6).map(|_| component(5)).collect();
        assert_eq!(combine(&all_five).get(), 5);
        let mut one_weak = all_five.clone();
        one_weak.push(component(1));
        assert_eq!(combine(&one_weak).get(), 2);
        let mut one_c2 = all_five.clone();
        one_c2.push(component(2));
        assert_eq!(combine(&one_c2).get(), 4);
        let mixed = vec![component(3), component(4), component(4)];
        assert_eq!(combine(&mixed).get(), 4);
    }
}
