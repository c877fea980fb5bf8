//! Commitments: housing, bills, subscriptions, a personal loan, buy-now-pay-later plans and
//! investing. They come before discretionary spending, whose budget is what they leave.

use rand::Rng;
use sextant_domain::{Channel, Direction, PaymentKind};

use crate::persona::Persona;
use crate::plan::{second_between, Ctx, Flow, LoanFacts, Plan, Planned};
use crate::sample::{cents, chance, lognormal, normal, pick, poisson, sigmoid};
use crate::tables::Biller;
use crate::window::DAY_S;

/// Adds one monthly payment on a fixed day; `amount_of` sees the calendar month.
fn monthly<R: Rng>(
    ctx: &Ctx,
    plan: &mut Plan,
    rng: &mut R,
    template: Planned,
    day_of_month: u32,
    mut amount_of: impl FnMut(&mut R, u32) -> i64,
) {
    let w = ctx.window;
    for m in &w.months {
        let day = m.day(day_of_month);
        let mut p = template;
        p.at_s = w.at(day, second_between(rng, 6, 10));
        p.amount_minor = amount_of(rng, m.month);
        plan.push(p);
    }
}

/// Housing, utilities, telecom, insurance, subscriptions; returns expected monthly cost.
pub(crate) fn bills<R: Rng>(ctx: &Ctx, plan: &mut Plan, rng: &mut R) -> i64 {
    let params = ctx.params;
    let income = ctx.income_eur();
    let t = ctx.tables;
    let mut total_eur = 0.0;
    let renter = chance(rng, params.p_renter);
    let mortgage = !renter && chance(rng, params.p_mortgage);
    let at_home = ctx.persona == Persona::Student && !renter;
    plan.facts.renter = renter;
    plan.facts.mortgage = mortgage;
    let bill = |biller: Biller, rng: &mut R| {
        let pool = t.billers(biller);
        ctx.payment(PaymentKind::Bill, Flow::Fixed, 0, 1, Channel::Online)
            .with_merchant(&pool[rng.gen_range(0..pool.len())], t.biller_mcc(biller))
    };
    if renter {
        let ratio = match ctx.persona {
            Persona::Student => 0.4,
            Persona::FinanciallyStressed => 0.38,
            Persona::HighNetWorth => 0.15,
            _ => 0.3,
        };
        let rent_eur = (income * lognormal(rng, ratio, 0.2)).max(150.0).round();
        total_eur += rent_eur;
        let template = bill(Biller::Rent, rng);
        let day = rng.gen_range(1..=5);
        monthly(ctx, plan, rng, template, day, |_, _| cents(rent_eur));
    } else if mortgage {
        let instalment_eur = (income * lognormal(rng, 0.25, 0.2)).round();
        total_eur += instalment_eur;
        let template = ctx.payment(
            PaymentKind::LoanRepayment,
            Flow::Fixed,
            0,
            1,
            Channel::Online,
        );
        monthly(ctx, plan, rng, template, 15, |_, _| cents(instalment_eur));
    }
    if !at_home {
        let base_eur = lognormal(rng, 65.0, 0.3) * (1.0 + 0.15 * ctx.latents.wealth_z).max(0.5);
        total_eur += base_eur * 1.15;
        let template = bill(Biller::Utilities, rng);
        let day = rng.gen_range(10..=20);
        monthly(ctx, plan, rng, template, day, |rng, month| {
            let winter = if matches!(month, 11 | 12 | 1 | 2 | 3) {
                1.35
            } else {
                1.0
            };
            cents(base_eur * winter * (1.0 + 0.06 * normal(rng)))
        });
    }
    let telecom_eur = lognormal(rng, 22.0, 0.35);
    total_eur += telecom_eur;
    let template = bill(Biller::Telecom, rng);
    let day = rng.gen_range(1..=28);
    monthly(ctx, plan, rng, template, day, |_, _| cents(telecom_eur));
    if chance(rng, params.p_insurance_bill) {
        let premium_eur = lognormal(rng, 30.0, 0.5) * (1.0 + 0.2 * ctx.latents.wealth_z).max(0.5);
        total_eur += premium_eur;
        let template = bill(Biller::Insurance, rng);
        let day = rng.gen_range(1..=28);
        monthly(ctx, plan, rng, template, day, |_, _| cents(premium_eur));
    }
    total_eur += subscriptions(ctx, plan, rng);
    cents(total_eur)
}

/// Streaming and gym memberships: card-on-file purchases, same merchant and price monthly.
fn subscriptions<R: Rng>(ctx: &Ctx, plan: &mut Plan, rng: &mut R) -> f64 {
    const PRICES_EUR: [f64; 6] = [5.99, 8.99, 9.99, 11.99, 13.99, 15.99];
    let t = ctx.tables;
    let streaming = t.billers(Biller::Streaming);
    let count = poisson(rng, 2.0 * sigmoid(ctx.latents.digital_z)).min(4) as usize;
    let first = rng.gen_range(0..streaming.len());
    let mut total_eur = 0.0;
    for k in 0..count {
        let price_eur = PRICES_EUR[rng.gen_range(0..PRICES_EUR.len())];
        total_eur += price_eur;
        let merchant = &streaming[(first + k) % streaming.len()];
        let template = ctx
            .payment(PaymentKind::Purchase, Flow::Fixed, 0, 1, Channel::Online)
            .with_merchant(merchant, t.biller_mcc(Biller::Streaming))
            .with_card(0);
        let day = rng.gen_range(1..=28);
        monthly(ctx, plan, rng, template, day, |_, _| cents(price_eur));
    }
    if chance(rng, 0.1 + 0.1 * sigmoid(ctx.latents.wealth_z)) {
        let price_eur = lognormal(rng, 32.0, 0.25).round();
        total_eur += price_eur;
        let gyms = t.billers(Biller::Gym);
        let template = ctx
            .payment(PaymentKind::Purchase, Flow::Fixed, 0, 1, Channel::InStore)
            .with_merchant(
                &gyms[rng.gen_range(0..gyms.len())],
                t.biller_mcc(Biller::Gym),
            )
            .with_card(0);
        let day = rng.gen_range(1..=28);
        monthly(ctx, plan, rng, template, day, |_, _| cents(price_eur));
    }
    total_eur
}

/// A personal loan, taken before or during the window; returns its monthly instalment.
pub(crate) fn consumer_loan<R: Rng>(ctx: &Ctx, plan: &mut Plan, rng: &mut R) -> i64 {
    let l = ctx.latents;
    let p = ctx.params.p_consumer_loan * (0.4 * (l.stress_z - ctx.params.stress_mean)).exp();
    if !chance(rng, p.min(0.95)) {
        return 0;
    }
    let share = lognormal(rng, 0.09, 0.4) * if l.stress_z > 1.0 { 1.4 } else { 1.0 };
    let monthly_minor = cents((ctx.income_eur() * share.min(0.3)).round());
    let term = [24, 36, 48, 60][rng.gen_range(0..4)];
    let w = ctx.window;
    let months = w.months.len() as i32;
    // Payments made before the window starts; negative when the loan starts inside it.
    let elapsed = rng.gen_range(-(months / 2)..term);
    let day_of_month = rng.gen_range(1..=28);
    for (i, m) in w.months.iter().enumerate() {
        let number = elapsed + i as i32;
        let at_s = w.at(m.day(day_of_month), second_between(rng, 6, 9));
        if number == -1 {
            let principal = monthly_minor * i64::from(term) * 82 / 100;
            plan.push(ctx.payment(
                PaymentKind::TransferIn,
                Flow::Transfer,
                at_s,
                principal,
                Channel::Online,
            ));
        } else if (0..term).contains(&number) {
            plan.push(ctx.payment(
                PaymentKind::LoanRepayment,
                Flow::Fixed,
                at_s,
                monthly_minor,
                Channel::Online,
            ));
        }
    }
    let remaining = i64::from((term - elapsed - months).clamp(0, term));
    plan.facts.loan = Some(LoanFacts {
        outstanding_minor: monthly_minor * remaining * 9 / 10,
        opened_s: w.start_s - i64::from(elapsed + 1) * 30 * DAY_S,
    });
    monthly_minor
}

/// Buy-now-pay-later plans, some started before the window; returns the expected monthly
/// instalments.
pub(crate) fn bnpl<R: Rng>(ctx: &Ctx, plan: &mut Plan, rng: &mut R) -> i64 {
    const LOOKBACK_DAYS: i32 = 150;
    const SPLITS: [i32; 4] = [3, 4, 6, 12];
    let l = ctx.latents;
    let params = ctx.params;
    let rate = params.bnpl_plans_per_month
        * (0.5 * (l.stress_z - params.stress_mean) + 0.3 * l.digital_z).exp();
    let w = ctx.window;
    let span_days = w.days + LOOKBACK_DAYS;
    let plans = poisson(rng, rate * f64::from(span_days) / 30.4).min(60);
    let providers = ctx.tables.billers(Biller::Bnpl);
    let size = (ctx.income_eur() / 1_500.0).powf(0.4);
    let mut due_in_window_minor = 0;
    for _ in 0..plans {
        let start = rng.gen_range(-LOOKBACK_DAYS..w.days);
        let splits = SPLITS[pick(rng, &[0.3, 0.45, 0.15, 0.1])];
        let instalment = cents(lognormal(rng, 160.0 * size, 0.6) / f64::from(splits));
        let provider = &providers[rng.gen_range(0..providers.len())];
        let second = second_between(rng, 8, 11);
        for k in 0..splits {
            let day = start + 30 * k;
            if day >= w.days {
                plan.facts.bnpl_outstanding_minor += instalment;
            } else if day >= 0 {
                due_in_window_minor += instalment;
                let p = ctx
                    .payment(
                        PaymentKind::Instalment,
                        Flow::Fixed,
                        w.at(day, second),
                        instalment,
                        Channel::Online,
                    )
                    .with_merchant(provider, None);
                plan.push(p);
            }
        }
        plan.facts.bnpl_last_start_s = plan.facts.bnpl_last_start_s.max(w.at(start, second));
    }
    plan.facts.bnpl_plans = plans;
    due_in_window_minor * 30 / i64::from(w.days.max(1))
}

/// Investors hold a portfolio, some with a monthly plan; occasional sales; the wealthy get
/// dividends. Returns the monthly plan amount.
pub(crate) fn investing<R: Rng>(ctx: &Ctx, plan: &mut Plan, rng: &mut R) -> i64 {
    let l = ctx.latents;
    let income = ctx.income_eur();
    let rich = ctx.persona == Persona::HighNetWorth;
    let logit = 1.3 * l.willingness_z + 0.9 * (income / 1_500.0).ln() - 0.7 * l.stress_z - 0.6
        + if rich { 1.5 } else { 0.0 };
    let investor = chance(rng, sigmoid(logit));
    plan.facts.investor = investor;
    if !investor {
        return 0;
    }
    let portfolio_eur = income * lognormal(rng, 6.0, 1.0) * if rich { 4.0 } else { 1.0 };
    plan.facts.portfolio_start_minor = cents(portfolio_eur);
    let w = ctx.window;
    let mut plan_minor = 0;
    if chance(rng, 0.6) {
        let share = lognormal(rng, 0.05, 0.5) * (1.0 + 0.3 * l.willingness_z).max(0.3);
        let amount_eur = (income * share).max(25.0).round();
        plan_minor = cents(amount_eur);
        let day_of_month = rng.gen_range(3..=10);
        for m in &w.months {
            let at_s = w.at(m.day(day_of_month), second_between(rng, 9, 12));
            plan.push(ctx.investment(Direction::Debit, at_s, plan_minor));
        }
    }
    let sales = poisson(rng, 0.6 * f64::from(w.days) / 365.25);
    for _ in 0..sales {
        let at_s = w.at(rng.gen_range(0..w.days), second_between(rng, 9, 18));
        let amount = cents(portfolio_eur * rng.gen_range(0.05..0.2));
        plan.push(ctx.investment(Direction::Credit, at_s, amount));
    }
    if rich {
        for m in w.months.iter().filter(|m| m.month % 3 == 0) {
            let at_s = w.at(m.day(15), second_between(rng, 6, 9));
            plan.push(ctx.investment(Direction::Credit, at_s, cents(portfolio_eur * 0.005)));
        }
    }
    plan_minor
}
