//! The order of planning: income first (it sets payday), then commitments, then the
//! account (balances and the standing order that sweeps surplus to savings on payday), then
//! everyday spending.

use rand::Rng;
use sextant_domain::{Channel, PaymentKind};

use crate::persona::Persona;
use crate::plan::{Ctx, Flow, Plan};
use crate::sample::{cents, chance, lognormal, sigmoid};
use crate::{commitments, income, spending};

/// Plans every payment of the customer over the window.
pub(crate) fn plan<R: Rng>(ctx: &Ctx, rng: &mut R) -> Plan {
    let mut plan = Plan::new(ctx.window);
    let payday = income::income(ctx, &mut plan, rng);
    let mut fixed_minor = commitments::bills(ctx, &mut plan, rng);
    fixed_minor += commitments::consumer_loan(ctx, &mut plan, rng);
    fixed_minor += commitments::bnpl(ctx, &mut plan, rng);
    fixed_minor += commitments::investing(ctx, &mut plan, rng);
    plan.facts.fixed_monthly_minor = fixed_minor;
    account(ctx, &mut plan, payday, rng);
    spending::plan(ctx, &mut plan, rng);
    plan
}

/// Starting balance, overdraft, savings and the standing order that sweeps surplus to
/// savings (or funds) on payday.
fn account<R: Rng>(ctx: &Ctx, plan: &mut Plan, payday: u32, rng: &mut R) {
    let l = ctx.latents;
    let params = ctx.params;
    let income = ctx.income_eur();
    let stressed = ctx.persona == Persona::FinanciallyStressed;
    let facts = &mut plan.facts;
    facts.income_minor = l.income_minor;
    facts.discipline = (0.95 - 0.2 * l.stress_z.max(0.0)).clamp(0.3, 0.95);
    let overdraft = chance(
        rng,
        params.p_overdraft * (0.3 * (l.stress_z - params.stress_mean)).exp(),
    );
    if overdraft {
        let limit_eur = income * params.overdraft_months * lognormal(rng, 1.0, 0.3);
        facts.overdraft_limit_minor = cents((limit_eur / 100.0).round().max(1.0) * 100.0);
    }
    // The window opens mid pay cycle: besides their buffer, most customers still hold what
    // the rest of the month costs; stressed ones may already be in the red.
    let cycle_eur = if stressed {
        -income * rng.gen_range(0.0..0.4)
    } else {
        income * 0.5 * params.spend_ratio
    };
    let start_eur = income * l.buffer_months + cycle_eur;
    facts.start_balance_minor = (start_eur * 100.0).round() as i64;
    facts.start_balance_minor = facts.start_balance_minor.max(-facts.overdraft_limit_minor);
    let saving_logit = 0.9 * l.thrift_z - 0.6 * l.stress_z + 0.3 * l.wealth_z + 0.4;
    if chance(rng, sigmoid(saving_logit)) {
        let rich = if ctx.persona == Persona::HighNetWorth {
            3.0
        } else {
            1.0
        };
        facts.savings_start_minor = cents(income * lognormal(rng, 2.0, 0.9) * rich);
    }
    let sweeps = !stressed && chance(rng, sigmoid(saving_logit + 0.3));
    if !sweeps {
        return;
    }
    // What stays on the account after payday: a month of outgoings plus a cushion.
    facts.buffer_target_minor = cents(income * (params.spend_ratio + lognormal(rng, 0.5, 0.5)));
    facts.sweep_invests = facts.investor && chance(rng, 0.5);
    let w = ctx.window;
    for m in &w.months {
        let day = w.workday_on_or_before(m.day(payday));
        let marker = ctx.payment(
            PaymentKind::TransferOut,
            Flow::SweepCheck,
            w.at(day, 10 * 3_600),
            0,
            Channel::Online,
        );
        plan.push(marker);
    }
}
