//! Everyday spending: card purchases with a persona's category mix, trips abroad, cash, money
//! sent to and received from friends, and the odd refund.
//!
//! Purchase amounts are scaled so that, on average, spending fills the budget left after bills
//! and debt (`income * spend_ratio - fixed costs`): overspenders drift into overdraft and savers
//! accumulate, which is what makes balances and failures informative.

use rand::Rng;
use sextant_domain::{Channel, MerchantId, PaymentKind};

use crate::plan::{second_between, Ctx, Flow, Plan};
use crate::sample::{cents, chance, lognormal, normal, pick, poisson, splitmix64, Cumulative};
use crate::tables::{cat, Biller, Hours, CATEGORIES, FOREIGN, N_CAT, TRIP_MIX};

/// Purchase-rate multiplier per calendar month: January thrift, the December peak.
const SEASON: [f64; 12] = [
    0.88, 0.9, 0.97, 1.0, 1.02, 1.03, 1.05, 1.05, 0.98, 1.0, 1.1, 1.3,
];
/// Where in the year trips start: summer holidays, Christmas, spring breaks.
const TRIP_SEASON: [f64; 12] = [0.5, 0.7, 0.6, 0.8, 1.0, 1.6, 2.6, 2.6, 1.2, 0.8, 0.5, 1.2];
/// Trips abroad per customer and year, at most, whatever the latents say.
const MAX_TRIPS_PER_YEAR: f64 = 8.0;
/// Share of online purchases made from a foreign web shop.
const FOREIGN_ONLINE_SHARE: f64 = 0.07;

/// Where a purchase happens.
#[derive(Debug, Clone, Copy)]
enum Place {
    Home,
    /// Index into `tables::FOREIGN`.
    Abroad(usize),
}

/// The customer's spending habits, fixed for the window.
struct Habits {
    mix: Cumulative<N_CAT>,
    december_mix: Cumulative<N_CAT>,
    trip_mix: Cumulative<N_CAT>,
    purchases_per_day: f64,
    /// Multiplies every category's median ticket.
    scale: f64,
    online_factor: f64,
}

pub(crate) fn plan<R: Rng>(ctx: &Ctx, plan: &mut Plan, rng: &mut R) {
    let habits = habits(ctx, plan, rng);
    plan.facts.online_factor = habits.online_factor;
    let mut away = vec![false; ctx.window.days.max(0) as usize];
    plan.facts.trips = trips(ctx, plan, rng, &habits, &mut away);
    purchases(ctx, plan, rng, &habits, &away);
    cash_and_friends(ctx, plan, rng, &habits, &away);
}

fn habits<R: Rng>(ctx: &Ctx, plan: &Plan, rng: &mut R) -> Habits {
    let l = ctx.latents;
    let params = ctx.params;
    let mut weights = params.mix;
    for w in &mut weights {
        *w *= (0.45 * normal(rng)).exp();
    }
    // Noisy marks of the latents: betting follows stress and risk appetite, luxury follows
    // wealth, travel categories follow wanderlust.
    weights[cat::BETTING] *= (0.5 * l.stress_z + 0.4 * l.willingness_z).exp();
    weights[cat::LUXURY] *= (0.8 * l.wealth_z).exp();
    weights[cat::AIRLINES] *= (0.5 * l.travel_z).exp();
    weights[cat::HOTELS] *= (0.5 * l.travel_z).exp();
    weights[cat::TAXI] *= (0.3 * l.wealth_z).exp();
    let mut december = weights;
    for (w, c) in december.iter_mut().zip(&CATEGORIES) {
        *w *= c.december;
    }
    let total: f64 = weights.iter().sum();
    let mean_ticket_eur: f64 = weights
        .iter()
        .zip(&CATEGORIES)
        .map(|(w, c)| w / total * c.median_eur * (0.5 * c.sigma * c.sigma).exp())
        .sum();
    let per_month = params.purchases_per_month * (0.25 * normal(rng)).exp();
    let income = ctx.income_eur();
    let ratio = params.spend_ratio * (0.05 * normal(rng)).exp() - 0.03 * l.thrift_z
        + 0.03 * (l.stress_z - params.stress_mean);
    let side_costs_eur = atm_per_month(ctx) * atm_median_eur(income) * 1.2
        + params.p2p_out_per_month * p2p_median_eur(income) * 1.4;
    let budget_eur =
        (income * ratio - plan.facts.fixed_monthly_minor as f64 / 100.0 - side_costs_eur)
            .max(0.1 * income);
    Habits {
        mix: Cumulative::new(&weights),
        december_mix: Cumulative::new(&december),
        trip_mix: Cumulative::new(&TRIP_MIX),
        purchases_per_day: per_month * 12.0 / 365.25,
        scale: (budget_eur / (per_month * mean_ticket_eur)).clamp(0.35, 3.5),
        online_factor: params.online_factor * (0.3 * l.digital_z).exp(),
    }
}

/// Digital customers use less cash.
fn atm_per_month(ctx: &Ctx) -> f64 {
    ctx.params.atm_per_month * (-0.2 * ctx.latents.digital_z).exp()
}

fn atm_median_eur(income_eur: f64) -> f64 {
    70.0 * (income_eur / 1_500.0).powf(0.4)
}

fn p2p_median_eur(income_eur: f64) -> f64 {
    16.0 * (income_eur / 1_500.0).powf(0.3)
}

fn purchases<R: Rng>(ctx: &Ctx, plan: &mut Plan, rng: &mut R, habits: &Habits, away: &[bool]) {
    let w = ctx.window;
    for m in &w.months {
        let mix = if m.month == 12 {
            &habits.december_mix
        } else {
            &habits.mix
        };
        let seasonal = habits.purchases_per_day * SEASON[m.month as usize - 1];
        for day in m.days().filter(|&d| w.contains(d) && !away[d as usize]) {
            let rate = seasonal * if w.is_weekend(day) { 1.15 } else { 0.94 };
            for _ in 0..poisson(rng, rate) {
                let category = mix.sample(rng);
                purchase(ctx, plan, rng, habits, category, day, Place::Home);
            }
        }
    }
}

/// One card purchase, and maybe its later refund.
fn purchase<R: Rng>(
    ctx: &Ctx,
    plan: &mut Plan,
    rng: &mut R,
    habits: &Habits,
    category: usize,
    day: i32,
    place: Place,
) {
    let t = ctx.tables;
    let c = &CATEGORIES[category];
    let amount = cents(lognormal(rng, c.median_eur * habits.scale, c.sigma));
    let (channel, hours, country) = match place {
        Place::Abroad(country) => (Channel::CrossBorder, c.hours, Some(country)),
        Place::Home if category == cat::TRANSIT && !chance(rng, c.online_share) => {
            (Channel::Transit, Hours::Commute, None)
        }
        Place::Home if chance(rng, c.online_share * habits.online_factor) => {
            if chance(rng, FOREIGN_ONLINE_SHARE) {
                let country = t.online_countries.sample(rng);
                (Channel::CrossBorder, Hours::Online, Some(country))
            } else {
                (Channel::Online, Hours::Online, None)
            }
        }
        Place::Home => (Channel::InStore, c.hours, None),
    };
    let hour = t.hour_profile(hours).sample(rng) as u32;
    let at_s = ctx.window.at(day, hour * 3_600 + rng.gen_range(0..3_600));
    let merchant = match country {
        Some(country) => foreign_merchant(ctx, rng, country, category),
        None => home_merchant(ctx, rng, category),
    };
    let mut p = ctx
        .payment(
            PaymentKind::Purchase,
            Flow::Discretionary,
            at_s,
            amount,
            channel,
        )
        .with_merchant(merchant, Some(t.category_mcc[category]))
        .with_card(card(ctx, rng));
    if let Some(country) = country {
        p.country = t.foreign[country];
    }
    let Some(id) = plan.push(p) else { return };
    if chance(rng, c.refund_rate) {
        let delay_s = rng.gen_range(3..=21) * 86_400 + i64::from(rng.gen_range(0..36_000));
        let share = if chance(rng, 0.75) {
            1.0
        } else {
            rng.gen_range(0.2..0.8)
        };
        let mut refund = p;
        refund.kind = PaymentKind::Refund;
        refund.direction = sextant_domain::Direction::Credit;
        refund.flow = Flow::Refund;
        refund.link = id;
        refund.at_s += delay_s;
        refund.amount_minor = ((amount as f64 * share).round() as i64).max(1);
        plan.push(refund);
    }
}

/// Most purchases go to a few favourite merchants per category; the rest spread over the
/// pool with popular merchants (low indices) more likely.
fn home_merchant<R: Rng>(ctx: &Ctx, rng: &mut R, category: usize) -> &'static MerchantId {
    let pool = &ctx.tables.home_merchants[category];
    let n = pool.len() as u64;
    let k = if chance(rng, 0.6) {
        let favourite = rng.gen_range(0..3u64);
        splitmix64(ctx.taste_key ^ ((category as u64) << 8) ^ favourite) % n
    } else {
        let u: f64 = rng.gen();
        (u * u * n as f64) as u64
    };
    &pool[(k.min(n - 1)) as usize]
}

fn foreign_merchant<R: Rng>(
    ctx: &Ctx,
    rng: &mut R,
    country: usize,
    category: usize,
) -> &'static MerchantId {
    let pool = ctx.tables.foreign_merchants(country, category);
    &pool[rng.gen_range(0..pool.len())]
}

/// The main card most of the time; a second or virtual card otherwise.
fn card<R: Rng>(ctx: &Ctx, rng: &mut R) -> u8 {
    if ctx.card_count <= 1 || chance(rng, 0.75) {
        0
    } else {
        rng.gen_range(1..ctx.card_count)
    }
}

/// A trip abroad: where, when, for how long, with whom.
#[derive(Debug, Clone, Copy)]
struct Trip {
    /// Index into `tables::FOREIGN`.
    country: usize,
    start: i32,
    nights: i32,
    party: f64,
}

/// Trips abroad: flights and hotels booked ahead, then a few days of cross-border spending
/// during which home purchases pause. Returns the number of trips.
fn trips<R: Rng>(
    ctx: &Ctx,
    plan: &mut Plan,
    rng: &mut R,
    habits: &Habits,
    away: &mut [bool],
) -> u32 {
    let w = ctx.window;
    let years = f64::from(w.days) / 365.25;
    let per_year =
        (ctx.params.trips_per_year * (0.5 * ctx.latents.travel_z).exp()).min(MAX_TRIPS_PER_YEAR);
    let count = poisson(rng, per_year * years);
    let month_weights: Vec<f64> = w
        .months
        .iter()
        .map(|m| TRIP_SEASON[m.month as usize - 1])
        .collect();
    for _ in 0..count {
        let m = &w.months[pick(rng, &month_weights)];
        let trip = Trip {
            start: rng.gen_range(m.days()),
            nights: (1 + poisson(rng, 3.0)).min(13) as i32,
            country: ctx.tables.trip_countries.sample(rng),
            party: if chance(rng, 0.5) { 2.0 } else { 1.0 },
        };
        book(ctx, plan, rng, habits, &trip);
        let Trip {
            country,
            start,
            nights,
            party,
        } = trip;
        for day in start..=start + nights {
            if let Some(slot) = usize::try_from(day).ok().and_then(|d| away.get_mut(d)) {
                *slot = true;
            }
            for _ in 0..poisson(rng, 3.0 * party.sqrt()) {
                let category = habits.trip_mix.sample(rng);
                purchase(
                    ctx,
                    plan,
                    rng,
                    habits,
                    category,
                    day,
                    Place::Abroad(country),
                );
            }
        }
        if chance(rng, 0.35) {
            let day = start + rng.gen_range(0..=nights);
            atm(ctx, plan, rng, day, Place::Abroad(country), 150.0);
        }
    }
    count
}

/// The flight, booked online at home weeks ahead (always for far destinations), and the
/// hotel, booked ahead online or paid at checkout.
fn book<R: Rng>(ctx: &Ctx, plan: &mut Plan, rng: &mut R, habits: &Habits, trip: &Trip) {
    let (t, w) = (ctx.tables, ctx.window);
    let airfare = FOREIGN[trip.country].3;
    if airfare >= 1.2 || chance(rng, 0.5) {
        let at_s = w.at(
            trip.start - rng.gen_range(10..60),
            second_between(rng, 8, 23),
        );
        let amount = cents(lognormal(rng, 120.0 * airfare * trip.party, 0.3));
        let airline = home_merchant(ctx, rng, cat::AIRLINES);
        let p = ctx
            .payment(
                PaymentKind::Purchase,
                Flow::Discretionary,
                at_s,
                amount,
                Channel::Online,
            )
            .with_merchant(airline, Some(t.category_mcc[cat::AIRLINES]))
            .with_card(card(ctx, rng));
        plan.push(p);
    }
    let nights = f64::from(trip.nights);
    let hotel_eur = lognormal(rng, 80.0, 0.4) * trip.party * nights * habits.scale.sqrt();
    let (day, hour) = if chance(rng, 0.5) {
        (trip.start - rng.gen_range(7..45), 21)
    } else {
        (trip.start + trip.nights, 10)
    };
    let at_s = w.at(day, hour * 3_600 + rng.gen_range(0..3_600));
    let hotel = foreign_merchant(ctx, rng, trip.country, cat::HOTELS);
    let mut p = ctx
        .payment(
            PaymentKind::Purchase,
            Flow::Discretionary,
            at_s,
            cents(hotel_eur),
            Channel::CrossBorder,
        )
        .with_merchant(hotel, Some(t.category_mcc[cat::HOTELS]))
        .with_card(card(ctx, rng));
    p.country = t.foreign[trip.country];
    plan.push(p);
}

fn atm<R: Rng>(ctx: &Ctx, plan: &mut Plan, rng: &mut R, day: i32, place: Place, median_eur: f64) {
    let t = ctx.tables;
    let amount_eur = (lognormal(rng, median_eur, 0.6) / 10.0).round().max(1.0) * 10.0;
    let hour = t.hour_profile(Hours::Day).sample(rng) as u32;
    let at_s = ctx.window.at(day, hour * 3_600 + rng.gen_range(0..3_600));
    let operators = t.billers(Biller::Atm);
    let channel = match place {
        Place::Home => Channel::InStore,
        Place::Abroad(_) => Channel::CrossBorder,
    };
    let mut p = ctx
        .payment(
            PaymentKind::Atm,
            Flow::Discretionary,
            at_s,
            cents(amount_eur),
            channel,
        )
        .with_merchant(
            &operators[rng.gen_range(0..operators.len())],
            t.biller_mcc(Biller::Atm),
        )
        .with_card(card(ctx, rng));
    if let Place::Abroad(country) = place {
        // The home operators' ids would be wrong abroad; a foreign ATM stays anonymous.
        p.country = t.foreign[country];
        p.merchant = None;
    }
    plan.push(p);
}

/// Cash withdrawals (fewer for digital customers) and person-to-person transfers.
fn cash_and_friends<R: Rng>(
    ctx: &Ctx,
    plan: &mut Plan,
    rng: &mut R,
    habits: &Habits,
    away: &[bool],
) {
    let w = ctx.window;
    let params = ctx.params;
    let income = ctx.income_eur();
    let atm_rate = atm_per_month(ctx);
    let p2p_eur = p2p_median_eur(income);
    for m in &w.months {
        let home_day = |rng: &mut R| {
            let day = rng.gen_range(m.days());
            (w.contains(day) && !away[day as usize]).then_some(day)
        };
        for _ in 0..poisson(rng, atm_rate) {
            if let Some(day) = home_day(rng) {
                atm(
                    ctx,
                    plan,
                    rng,
                    day,
                    Place::Home,
                    atm_median_eur(income) * habits.scale.sqrt(),
                );
            }
        }
        let transfers = [
            (
                PaymentKind::TransferOut,
                Flow::Discretionary,
                params.p2p_out_per_month,
            ),
            (
                PaymentKind::TransferIn,
                Flow::Transfer,
                params.p2p_in_per_month,
            ),
        ];
        for (kind, flow, rate) in transfers {
            for _ in 0..poisson(rng, rate) {
                let Some(day) = home_day(rng) else { continue };
                let hour = ctx.tables.hour_profile(Hours::Evening).sample(rng) as u32;
                let at_s = w.at(day, hour * 3_600 + rng.gen_range(0..3_600));
                let amount = cents(lognormal(rng, p2p_eur, 0.8).max(1.0).round());
                plan.push(ctx.payment(kind, flow, at_s, amount, Channel::P2p));
            }
        }
    }
}
