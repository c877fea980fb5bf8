//! Income in each persona's rhythm: salaries on a fixed day, pensions, family money, weekly
//! gig payouts, lumpy business receipts, benefits. The rhythm itself is a segmentation signal
//! and its swings feed the default truth.

use rand::Rng;
use sextant_domain::{Channel, PaymentKind};

use crate::persona::Persona;
use crate::plan::{second_between, Ctx, Flow, Plan};
use crate::sample::{cents, chance, lognormal_mean, normal, pick, poisson};

/// Plans income in the persona's rhythm; returns the day of month the money usually lands.
pub(crate) fn income<R: Rng>(ctx: &Ctx, plan: &mut Plan, rng: &mut R) -> u32 {
    let monthly = ctx.income_eur();
    match ctx.persona {
        Persona::SalariedProfessional => salary(ctx, plan, rng, monthly, SalaryStyle::STEADY),
        Persona::Retiree => pension(ctx, plan, rng, monthly),
        Persona::Student => student(ctx, plan, rng, monthly),
        Persona::GigWorker => gig(ctx, plan, rng, monthly),
        Persona::SmallBusinessOwner => business(ctx, plan, rng, monthly),
        Persona::HighNetWorth if ctx.latents.employed => {
            salary(ctx, plan, rng, monthly, SalaryStyle::EXECUTIVE)
        }
        Persona::HighNetWorth => draws(ctx, plan, rng, monthly),
        Persona::FinanciallyStressed if ctx.latents.employed => {
            let p_missed = (0.04 + 0.03 * (ctx.latents.stress_z - 1.0).max(0.0)).min(0.2);
            let style = SalaryStyle {
                p_missed,
                max_late_days: 5,
                ..SalaryStyle::STEADY
            };
            salary(ctx, plan, rng, monthly, style)
        }
        Persona::FinanciallyStressed => benefits(ctx, plan, rng, monthly),
    }
}

#[derive(Debug, Clone, Copy)]
struct SalaryStyle {
    /// Chance a month's salary does not arrive (job gap, employer trouble).
    p_missed: f64,
    max_late_days: i32,
    p_bonus: f64,
    bonus_month: u32,
    /// Bonus size in months of pay.
    bonus_months: f64,
}

impl SalaryStyle {
    const STEADY: SalaryStyle = SalaryStyle {
        p_missed: 0.0,
        max_late_days: 0,
        p_bonus: 0.4,
        bonus_month: 12,
        bonus_months: 0.6,
    };
    const EXECUTIVE: SalaryStyle = SalaryStyle {
        p_bonus: 0.7,
        bonus_month: 3,
        bonus_months: 2.5,
        ..SalaryStyle::STEADY
    };
}

fn salary<R: Rng>(
    ctx: &Ctx,
    plan: &mut Plan,
    rng: &mut R,
    monthly: f64,
    style: SalaryStyle,
) -> u32 {
    let day_of_month = [25, 15, 10, 31][pick(rng, &[0.5, 0.2, 0.15, 0.15])];
    let bonus = chance(rng, style.p_bonus);
    let second = second_between(rng, 4, 7);
    let w = ctx.window;
    for m in &w.months {
        if chance(rng, style.p_missed) {
            continue;
        }
        let mut day = w.workday_on_or_before(m.day(day_of_month));
        if style.max_late_days > 0 {
            day += rng.gen_range(0..=style.max_late_days);
        }
        let amount = cents(monthly * (1.0 + 0.01 * normal(rng)));
        let at_s = w.at(day, second);
        let pay = ctx.payment(
            PaymentKind::Salary,
            Flow::Income,
            at_s,
            amount,
            Channel::Online,
        );
        plan.push(pay);
        if bonus && m.month == style.bonus_month {
            let size = style.bonus_months * rng.gen_range(0.5..1.0);
            let bonus_pay = ctx.payment(
                PaymentKind::Salary,
                Flow::Income,
                at_s + 1_800,
                cents(monthly * size),
                Channel::Online,
            );
            plan.push(bonus_pay);
        }
    }
    day_of_month
}

/// Pensions land on a fixed even day and rise once a year in January.
fn pension<R: Rng>(ctx: &Ctx, plan: &mut Plan, rng: &mut R, monthly: f64) -> u32 {
    let day_of_month = 2 * rng.gen_range(1..=11);
    let kind = if chance(rng, 0.6) {
        PaymentKind::Salary
    } else {
        PaymentKind::TransferIn
    };
    let w = ctx.window;
    let end_year = chrono::Datelike::year(&w.end_date);
    for m in &w.months {
        let years_before_end = (end_year - m.year).clamp(0, 20);
        let amount = cents(monthly / 1.035f64.powi(years_before_end));
        let day = w.workday_on_or_before(m.day(day_of_month));
        let at_s = w.at(day, second_between(rng, 5, 8));
        plan.push(ctx.payment(kind, Flow::Income, at_s, amount, Channel::Online));
    }
    day_of_month
}

/// Family money (regular or ad hoc), a part-time job for some, small gigs for others.
fn student<R: Rng>(ctx: &Ctx, plan: &mut Plan, rng: &mut R, monthly: f64) -> u32 {
    let employed = ctx.latents.employed;
    let family = monthly * if employed { 0.4 } else { 0.7 };
    let gigs = monthly * if employed { 0.15 } else { 0.3 };
    let regular = chance(rng, 0.65);
    let family_day = rng.gen_range(1..=5);
    let w = ctx.window;
    for m in &w.months {
        let transfers = if regular { 1 } else { 1 + poisson(rng, 1.0) };
        for _ in 0..transfers {
            let (day, amount) = if regular {
                (m.day(family_day), family * (1.0 + 0.05 * normal(rng)))
            } else {
                let day = m.first_day + rng.gen_range(0..m.length_days as i32);
                (day, lognormal_mean(rng, family / 2.0, 0.5))
            };
            let at_s = w.at(day, second_between(rng, 8, 22));
            let pay = ctx.payment(
                PaymentKind::TransferIn,
                Flow::Income,
                at_s,
                cents(amount),
                Channel::P2p,
            );
            plan.push(pay);
        }
        random_payouts(ctx, plan, rng, m.days(), 1.2, gigs, 0.6);
    }
    if employed {
        let style = SalaryStyle {
            p_bonus: 0.0,
            ..SalaryStyle::STEADY
        };
        return salary(ctx, plan, rng, monthly * 0.45, style);
    }
    28
}

/// `count_mean` payouts a month on random days of `days`, adding up to `monthly` on average.
fn random_payouts<R: Rng>(
    ctx: &Ctx,
    plan: &mut Plan,
    rng: &mut R,
    days: std::ops::Range<i32>,
    count_mean: f64,
    monthly: f64,
    sigma: f64,
) {
    for _ in 0..poisson(rng, count_mean) {
        let day = rng.gen_range(days.clone());
        let at_s = ctx.window.at(day, second_between(rng, 7, 21));
        let amount = cents(lognormal_mean(rng, monthly / count_mean, sigma));
        plan.push(ctx.payment(
            PaymentKind::TransferIn,
            Flow::Income,
            at_s,
            amount,
            Channel::Online,
        ));
    }
}

/// A main platform paying weekly on a fixed weekday, a second one paying irregularly; busy and
/// quiet months.
fn gig<R: Rng>(ctx: &Ctx, plan: &mut Plan, rng: &mut R, monthly: f64) -> u32 {
    let w = ctx.window;
    let payout_weekday = rng.gen_range(0..5);
    let p_week = 0.88;
    let weekly_mean = monthly * 0.75 / (4.345 * p_week);
    for m in &w.months {
        let busy = (0.15 * normal(rng)).exp();
        for day in m
            .days()
            .filter(|&d| w.contains(d) && w.weekday(d) == payout_weekday)
        {
            if chance(rng, p_week) {
                let amount = cents(lognormal_mean(rng, weekly_mean * busy, 0.45));
                let at_s = w.at(day, second_between(rng, 6, 10));
                plan.push(ctx.payment(
                    PaymentKind::TransferIn,
                    Flow::Income,
                    at_s,
                    amount,
                    Channel::Online,
                ));
            }
        }
        random_payouts(ctx, plan, rng, m.days(), 2.0, monthly * 0.25 * busy, 0.7);
    }
    28
}

/// Lumpy client receipts; suppliers and quarterly taxes paid out of the same account.
fn business<R: Rng>(ctx: &Ctx, plan: &mut Plan, rng: &mut R, monthly: f64) -> u32 {
    let margin = rng.gen_range(0.3..0.5);
    let revenue = monthly / margin;
    let costs = revenue - monthly;
    let w = ctx.window;
    for m in &w.months {
        let month_factor = (0.25 * normal(rng)).exp();
        random_payouts(ctx, plan, rng, m.days(), 3.5, revenue * month_factor, 0.8);
        for _ in 0..poisson(rng, 2.5) {
            let day = w.workday_on_or_before(rng.gen_range(m.days()));
            let at_s = w.at(day, second_between(rng, 8, 17));
            let amount = cents(lognormal_mean(rng, costs * 0.8 / 2.5, 0.6));
            plan.push(ctx.payment(
                PaymentKind::TransferOut,
                Flow::Business,
                at_s,
                amount,
                Channel::Online,
            ));
        }
        if m.month % 3 == 1 {
            let at_s = w.at(
                w.workday_on_or_before(m.day(25)),
                second_between(rng, 8, 12),
            );
            let tax = cents(costs * 0.2 * 3.0 * (1.0 + 0.1 * normal(rng)));
            plan.push(ctx.payment(
                PaymentKind::TransferOut,
                Flow::Fixed,
                at_s,
                tax,
                Channel::Online,
            ));
        }
    }
    28
}

/// A wealthy business owner pays themselves in irregular draws.
fn draws<R: Rng>(ctx: &Ctx, plan: &mut Plan, rng: &mut R, monthly: f64) -> u32 {
    for m in &ctx.window.months {
        random_payouts(ctx, plan, rng, m.days(), 2.0, monthly, 0.3);
    }
    28
}

/// State benefits on a fixed day plus odd jobs paid now and then.
fn benefits<R: Rng>(ctx: &Ctx, plan: &mut Plan, rng: &mut R, monthly: f64) -> u32 {
    let w = ctx.window;
    let day_of_month = rng.gen_range(6..=12);
    let benefit = cents(monthly * 0.6);
    for m in &w.months {
        let at_s = w.at(
            w.workday_on_or_before(m.day(day_of_month)),
            second_between(rng, 5, 9),
        );
        plan.push(ctx.payment(
            PaymentKind::TransferIn,
            Flow::Income,
            at_s,
            benefit,
            Channel::Online,
        ));
        random_payouts(ctx, plan, rng, m.days(), 1.5, monthly * 0.4, 0.7);
    }
    day_of_month
}
