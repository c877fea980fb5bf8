//! Holdings at the end of the window: deposits for most, funds for investors (their risk level
//! near the true tolerance, with some mismatch: customers do not always buy what suits them),
//! credit products consistent with the debt seen in the payments.

use rand::Rng;
use sextant_domain::{AmountMinor, Currency, CustomerId, Holding, KycStatus};

use crate::ledger::LedgerStats;
use crate::persona::Persona;
use crate::plan::{Ctx, PlanFacts};
use crate::sample::{cents, chance, lognormal, pick, AMOUNT_MAX_MINOR};
use crate::tables::Role;
use crate::truth::Truth;
use crate::window::DAY_S;

const YEAR_S: i64 = 365 * DAY_S;

/// Fund risk level relative to the true tolerance: (offset, weight).
const FUND_MISMATCH: [(i8, f64); 4] = [(0, 0.65), (-1, 0.15), (1, 0.15), (2, 0.05)];

/// Everything the holdings depend on.
pub(crate) struct Inputs<'a> {
    pub customer_id: &'a CustomerId,
    pub kyc: KycStatus,
    pub facts: &'a PlanFacts,
    pub stats: &'a LedgerStats,
    pub truth: &'a Truth,
}

pub(crate) fn holdings<R: Rng>(ctx: &Ctx, inputs: &Inputs, rng: &mut R) -> Vec<Holding> {
    let mut book = Book {
        ctx,
        customer_id: inputs.customer_id,
        holdings: Vec::with_capacity(6),
    };
    deposits(ctx, inputs, &mut book, rng);
    if inputs.facts.investor && inputs.kyc != KycStatus::Pending {
        funds(ctx, inputs, &mut book, rng);
    }
    credit(ctx, inputs, &mut book, rng);
    insurance(ctx, inputs, &mut book, rng);
    book.holdings
}

/// Collects holdings, keeping values and dates valid.
struct Book<'a> {
    ctx: &'a Ctx<'a>,
    customer_id: &'a CustomerId,
    holdings: Vec<Holding>,
}

impl Book<'_> {
    fn add(&mut self, product: usize, value_minor: i64, opened_s: i64) {
        let info = &self.ctx.tables.products[product];
        let w = self.ctx.window;
        // Opened strictly before the end of the window, and not before 1990.
        let opened_s = opened_s.clamp(631_152_000, w.end_s() - DAY_S);
        self.holdings.push(Holding {
            customer_id: self.customer_id.clone(),
            product_id: info.id.clone(),
            value: AmountMinor::new(value_minor.clamp(1, AMOUNT_MAX_MINOR))
                .expect("clamped into AmountMinor's range"),
            currency: Currency::EUR,
            opened_at: w.timestamp(opened_s),
        });
    }

    fn holds(&self, product: usize) -> bool {
        let id = &self.ctx.tables.products[product].id;
        self.holdings.iter().any(|h| &h.product_id == id)
    }
}

fn find(ctx: &Ctx, role: Role) -> Option<usize> {
    ctx.tables.products.iter().position(|p| p.role == role)
}

/// A moment between `min_years` and `max_years` before the window starts.
fn years_before_start<R: Rng>(ctx: &Ctx, rng: &mut R, min_years: f64, max_years: f64) -> i64 {
    ctx.window.start_s - (rng.gen_range(min_years..max_years) * YEAR_S as f64) as i64
}

fn deposits<R: Rng>(ctx: &Ctx, inputs: &Inputs, book: &mut Book, rng: &mut R) {
    let facts = inputs.facts;
    if let Some(easy) = find(ctx, Role::EasyAccess) {
        let savings = facts.savings_start_minor + inputs.stats.swept_to_savings_minor;
        let min = ctx.tables.products[easy].min_amount_minor;
        if savings > 0 {
            book.add(
                easy,
                savings.max(min),
                years_before_start(ctx, rng, 0.1, 10.0),
            );
        } else if chance(rng, 0.3) {
            // An empty savings pot opened once and forgotten.
            book.add(
                easy,
                min.max(cents(lognormal(rng, 30.0, 1.0))),
                years_before_start(ctx, rng, 0.1, 6.0),
            );
        }
    }
    if let Some(term) = find(ctx, Role::TermDeposit) {
        let affinity = inputs.truth.affinities[term];
        let liquid = facts.start_balance_minor + facts.savings_start_minor;
        if liquid > 50_000 && chance(rng, 0.35 * affinity) {
            let min = ctx.tables.products[term].min_amount_minor;
            let value =
                cents((ctx.income_eur() * lognormal(rng, 1.5, 0.6) / 100.0).round() * 100.0);
            let opened_s = ctx.window.end_s() - rng.gen_range(1..360) * DAY_S;
            book.add(term, value.max(min), opened_s);
        }
    }
}

/// One to three funds, levels drawn around the true tolerance, preferring liked funds.
fn funds<R: Rng>(ctx: &Ctx, inputs: &Inputs, book: &mut Book, rng: &mut R) {
    let products = &ctx.tables.products;
    let affinities = &inputs.truth.affinities;
    let mut count = 1 + usize::from(chance(rng, 0.45));
    if ctx.persona == Persona::HighNetWorth && chance(rng, 0.6) {
        count += 1;
    }
    let invested = inputs.facts.portfolio_start_minor + inputs.stats.net_invested_minor;
    let tolerance = i16::from(inputs.truth.risk_tolerance.get());
    for _ in 0..count {
        let offset = FUND_MISMATCH[pick(rng, &FUND_MISMATCH.map(|(_, w)| w))].0;
        let target = (tolerance + i16::from(offset)).clamp(1, 5);
        // The funds nearest the target level that the customer does not hold yet.
        let nearest = products
            .iter()
            .enumerate()
            .filter(|(i, p)| p.role == Role::Fund && !book.holds(*i))
            .map(|(_, p)| (i16::from(p.level) - target).abs())
            .min();
        let Some(gap) = nearest else { return };
        let candidates: Vec<usize> = (0..products.len())
            .filter(|&i| {
                let p = &products[i];
                p.role == Role::Fund && (i16::from(p.level) - target).abs() == gap && !book.holds(i)
            })
            .collect();
        let weights: Vec<f64> = candidates.iter().map(|&i| affinities[i] + 0.05).collect();
        let fund = candidates[pick(rng, &weights)];
        let share = invested as f64 / count as f64 * lognormal(rng, 1.0, 0.3);
        let value = (share as i64).max(products[fund].min_amount_minor);
        book.add(fund, value, years_before_start(ctx, rng, 0.0, 6.0));
    }
}

/// The personal loan and buy-now-pay-later balances seen in the payments; credit cards for
/// some verified customers who like them.
fn credit<R: Rng>(ctx: &Ctx, inputs: &Inputs, book: &mut Book, rng: &mut R) {
    let facts = inputs.facts;
    if let (Some(loan), Some(product)) = (facts.loan, find(ctx, Role::PersonalLoan)) {
        if loan.outstanding_minor > 0 {
            book.add(product, loan.outstanding_minor, loan.opened_s);
        }
    }
    if let Some(product) = find(ctx, Role::Bnpl) {
        if facts.bnpl_outstanding_minor > 0 {
            book.add(
                product,
                facts.bnpl_outstanding_minor,
                facts.bnpl_last_start_s,
            );
        }
    }
    if inputs.kyc != KycStatus::Verified {
        return;
    }
    let cards: Vec<usize> = [find(ctx, Role::ClassicCard), find(ctx, Role::TravelCard)]
        .into_iter()
        .flatten()
        .collect();
    let affinities = &inputs.truth.affinities;
    let Some(&best) = cards
        .iter()
        .max_by(|a, b| affinities[**a].total_cmp(&affinities[**b]))
    else {
        return;
    };
    if chance(rng, 0.4 * affinities[best]) {
        let owed = cents(ctx.income_eur() * lognormal(rng, 0.2, 0.8));
        book.add(best, owed, years_before_start(ctx, rng, 0.0, 8.0));
    }
}

/// Travel insurance for some travellers, payment protection for some borrowers; the value is
/// the annual premium.
fn insurance<R: Rng>(ctx: &Ctx, inputs: &Inputs, book: &mut Book, rng: &mut R) {
    let affinities = &inputs.truth.affinities;
    let recent_s = ctx.window.end_s() - rng.gen_range(1..360) * DAY_S;
    if let Some(travel) = find(ctx, Role::TravelInsurance) {
        if inputs.facts.trips > 0 && chance(rng, 0.1 + 0.3 * affinities[travel]) {
            let min = ctx.tables.products[travel].min_amount_minor;
            book.add(travel, cents(lognormal(rng, 40.0, 0.4)).max(min), recent_s);
        }
    }
    if let Some(protection) = find(ctx, Role::Protection) {
        if inputs.facts.loan.is_some() && chance(rng, 0.3) {
            let min = ctx.tables.products[protection].min_amount_minor;
            book.add(
                protection,
                cents(lognormal(rng, 12.0, 0.4)).max(min),
                recent_s,
            );
        }
    }
}
