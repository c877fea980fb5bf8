//! Ground truth: what evaluation treats as the right answer about each customer.
//!
//! The truth is computed from the latent traits *and* from what actually happened in the
//! ledger (failed payments, time in overdraft, debt burden, income swings), plus noise, so a
//! model trained on the events can recover it only approximately, as with real customers.

use rand::Rng;
use sextant_domain::RiskTolerance;

use crate::ledger::LedgerStats;
use crate::persona::Persona;
use crate::plan::{Ctx, PlanFacts};
use crate::sample::{chance, normal, sigmoid};
use crate::tables::Role;

/// Willingness latent cut points between C1|C2|C3|C4|C5.
const WILLINGNESS_CUTS: [f64; 4] = [-1.1, -0.35, 0.3, 0.95];
/// Capacity score cut points between capacity levels 1..5.
const CAPACITY_CUTS: [f64; 4] = [-1.5, -0.8, -0.2, 0.4];
/// Baseline log-odds of default, tuned for a population default rate of about 7%.
const DEFAULT_INTERCEPT: f64 = -4.15;

#[derive(Debug, Clone)]
pub(crate) struct Truth {
    pub risk_tolerance: RiskTolerance,
    pub default_propensity: f64,
    pub defaulted_next_12m: bool,
    /// Per catalogue product, in catalogue order.
    pub affinities: Vec<f64>,
}

pub(crate) fn derive<R: Rng>(
    ctx: &Ctx,
    facts: &PlanFacts,
    stats: &LedgerStats,
    rng: &mut R,
) -> Truth {
    let risk_tolerance = risk_tolerance(ctx, facts, rng);
    let default_propensity = default_propensity(ctx, facts, stats, rng);
    let affinities = affinities(ctx, facts, risk_tolerance, rng);
    Truth {
        risk_tolerance,
        default_propensity,
        defaulted_next_12m: chance(rng, default_propensity),
        affinities,
    }
}

fn level(score: f64, cuts: &[f64; 4]) -> u8 {
    1 + cuts.iter().filter(|&&c| score >= c).count() as u8
}

/// Liquid wealth (account, savings, portfolio) in months of income.
fn liquid_months(ctx: &Ctx, facts: &PlanFacts) -> f64 {
    let liquid =
        facts.start_balance_minor + facts.savings_start_minor + facts.portfolio_start_minor;
    (liquid as f64 / ctx.latents.income_minor as f64).max(0.0)
}

/// Willingness capped by capacity: a customer may not take more risk than income, buffers,
/// stress and horizon allow, however keen they are.
fn risk_tolerance<R: Rng>(ctx: &Ctx, facts: &PlanFacts, rng: &mut R) -> RiskTolerance {
    let l = ctx.latents;
    let willingness = level(l.willingness_z, &WILLINGNESS_CUTS);
    let horizon = match l.age_years {
        70.. => -1.0,
        60..=69 => -0.5,
        ..=29 => 0.2,
        _ => 0.0,
    };
    let capacity_score = 0.9 * (ctx.income_eur() / 1_500.0).ln()
        + 0.6 * (1.0 + liquid_months(ctx, facts)).ln()
        - 0.5 * l.stress_z
        + horizon
        + 0.3 * normal(rng);
    let capacity = level(capacity_score, &CAPACITY_CUTS);
    RiskTolerance::new(willingness.min(capacity)).expect("levels are built in 1..=5")
}

/// Logistic in observed financial stress plus the hidden stress trait and noise.
fn default_propensity<R: Rng>(
    ctx: &Ctx,
    facts: &PlanFacts,
    stats: &LedgerStats,
    rng: &mut R,
) -> f64 {
    let per_year = 365.25 / f64::from(ctx.window.days.max(1));
    let failed_obligations = f64::from(stats.failed_obligations) * per_year;
    let other_failures = f64::from(stats.failed - stats.failed_obligations) * per_year;
    let months = f64::from(ctx.window.days.max(1)) / 30.44;
    let debt_ratio = stats.debt_due_minor as f64 / months / ctx.latents.income_minor as f64;
    let negative_share = f64::from(stats.negative_events) / f64::from(stats.events.max(1));
    let x = DEFAULT_INTERCEPT
        + 0.6 * (1.0 + failed_obligations).ln()
        + 0.25 * (1.0 + other_failures).ln()
        + 1.2 * negative_share
        + 2.0 * debt_ratio.min(1.5)
        + 0.8 * stats.income_cv.min(2.0)
        + 0.45 * ctx.latents.stress_z
        - 0.3 * (1.0 + liquid_months(ctx, facts)).ln()
        + 0.4 * normal(rng);
    sigmoid(x)
}

/// How likely the customer would adopt each product if offered: persona and latents, with the
/// customer's true risk tolerance steering which funds fit.
fn affinities<R: Rng>(
    ctx: &Ctx,
    facts: &PlanFacts,
    tolerance: RiskTolerance,
    rng: &mut R,
) -> Vec<f64> {
    let l = ctx.latents;
    let income_log = (ctx.income_eur() / 1_500.0).ln();
    let liquid_log = (1.0 + liquid_months(ctx, facts)).ln();
    let trips_per_year = f64::from(facts.trips) * 365.25 / f64::from(ctx.window.days.max(1));
    let has_loan = facts.loan.is_some();
    let invest = 0.8 * l.willingness_z + 0.4 * income_log - 0.5 * l.stress_z
        + if facts.investor { 0.8 } else { 0.0 };
    let flag = |b: bool, w: f64| if b { w } else { 0.0 };
    ctx.tables
        .products
        .iter()
        .map(|p| {
            let x = match p.role {
                Role::EasyAccess => {
                    0.8 + 0.5 * l.thrift_z - 0.3 * l.willingness_z
                        + flag(facts.savings_start_minor > 0, 0.5)
                }
                Role::TermDeposit => {
                    -0.8 + 0.5 * liquid_log + 0.4 * l.thrift_z - 0.5 * l.willingness_z
                        + flag(l.age_years >= 60, 0.7)
                }
                Role::Fund => {
                    let gap = f64::from(p.level) - f64::from(tolerance.get());
                    invest - 0.3 - 0.9 * gap.abs() - flag(gap > 0.0, 0.4)
                }
                Role::TravelInsurance => -1.0 + 0.8 * l.travel_z + 0.4 * trips_per_year,
                Role::Protection => {
                    -1.6 + flag(has_loan, 1.0) + 0.4 * l.stress_z + flag(facts.mortgage, 0.4)
                }
                Role::ClassicCard => {
                    -0.9 + 0.3 * l.stress_z + 0.4 * l.digital_z - 0.2 * l.thrift_z
                        + flag((25..=50).contains(&l.age_years), 0.3)
                }
                Role::TravelCard => {
                    -1.6 + 0.6 * l.travel_z + 0.5 * (income_log - 0.29) + 0.3 * trips_per_year
                }
                Role::PersonalLoan => {
                    -1.8 + 0.7 * l.stress_z
                        + flag(ctx.persona == Persona::SmallBusinessOwner, 0.5)
                        + flag(has_loan, 0.6)
                }
                Role::Bnpl => {
                    -1.3 + 0.5 * l.stress_z
                        + 0.5 * l.digital_z
                        + 0.4 * (1.0 + f64::from(facts.bnpl_plans)).ln()
                }
            };
            sigmoid(x + 0.35 * normal(rng))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_the_cuts() {
        assert_eq!(level(-5.0, &WILLINGNESS_CUTS), 1);
        assert_eq!(level(0.0, &WILLINGNESS_CUTS), 3);
        assert_eq!(level(5.0, &WILLINGNESS_CUTS), 5);
        assert_eq!(level(WILLINGNESS_CUTS[1], &WILLINGNESS_CUTS), 3);
    }
}
