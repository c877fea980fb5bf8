//! App behaviour: sessions of screen views, product views, offers and searches.
//!
//! What a customer looks at follows their true product affinities (with noise), they open the
//! app more on payday and after a failed payment, and offer clicks become likelier as affinity
//! rises: the marks recommendation and propensity models learn from.

use std::fmt::Write as _;

use rand::Rng;
use sextant_domain::{BehaviourEvent, BehaviourKind, CustomerId, EventId};

use crate::ledger::LedgerStats;
use crate::plan::Ctx;
use crate::sample::{chance, pick, poisson, Cumulative};
use crate::tables::{screen, Hours, Role, SCREENS};
use crate::truth::Truth;

/// Sessions a customer opens on one day, at most.
const MAX_SESSIONS_PER_DAY: u32 = 6;
/// Screens viewed in one session, at most.
const MAX_SCREENS_PER_SESSION: u32 = 6;
/// Share of offers the bank shows without regard to the customer (exploration): without it the
/// data would show only offers customers like.
const UNTARGETED_OFFER_SHARE: f64 = 0.5;
const SEARCH_CHANCE: f64 = 0.08;

/// A planned behaviour event; ids are assigned after sorting.
#[derive(Debug, Clone, Copy)]
struct Step {
    at_s: i64,
    session: u32,
    kind: BehaviourKind,
    screen: Option<u8>,
    /// Product index; for offer events the offered product.
    product: Option<u8>,
    query: Option<u8>,
}

/// The customer's tastes in the app.
struct Tastes<'a> {
    screens: Cumulative<{ SCREENS.len() }>,
    /// Affinity squared: sharper than the affinity itself, so views concentrate on liked
    /// products.
    appeal: Vec<f64>,
    affinities: &'a [f64],
}

pub(crate) fn generate<R: Rng>(
    ctx: &Ctx,
    customer_id: &CustomerId,
    number: u64,
    truth: &Truth,
    stats: &LedgerStats,
    rng: &mut R,
) -> Vec<BehaviourEvent> {
    let tastes = tastes(ctx, truth);
    let w = ctx.window;
    let days = w.days.max(0) as usize;
    let mut payday = vec![false; days];
    for &d in &stats.income_days {
        if let Some(slot) = usize::try_from(d).ok().and_then(|d| payday.get_mut(d)) {
            *slot = true;
        }
    }
    let rate = ctx.params.sessions_per_month * (0.45 * ctx.latents.digital_z).exp() * 12.0 / 365.25;
    let mut steps = Vec::with_capacity(w.months.len() * 16);
    let mut sessions = 0u32;
    let mut failed = stats.failed_days.iter().peekable();
    for day in 0..w.days {
        let boost = if payday[day as usize] { 2.2 } else { 1.0 };
        let count = poisson(rng, rate * boost).min(MAX_SESSIONS_PER_DAY);
        for _ in 0..count {
            session(ctx, &tastes, &mut steps, sessions, day, None, rng);
            sessions += 1;
        }
        // A failed payment sends many customers to check what happened.
        if failed.next_if_eq(&&day).is_some() && chance(rng, 0.6) {
            let first = if chance(rng, 0.5) {
                screen::SPENDING
            } else {
                screen::LOANS
            };
            session(ctx, &tastes, &mut steps, sessions, day, Some(first), rng);
            sessions += 1;
        }
    }
    steps.sort_by_key(|s| s.at_s);
    emit(ctx, customer_id, number, sessions, &steps)
}

fn tastes<'a>(ctx: &Ctx, truth: &'a Truth) -> Tastes<'a> {
    let products = &ctx.tables.products;
    let mean_of = |roles: &[Role]| {
        let (sum, n) = products
            .iter()
            .zip(&truth.affinities)
            .filter(|(p, _)| roles.contains(&p.role))
            .fold((0.0, 0.0), |(s, n), (_, a)| (s + a, n + 1.0));
        if n > 0.0 {
            sum / n
        } else {
            0.0
        }
    };
    let stress = ctx.latents.stress_z.max(0.0);
    let mut weights = [0.0; SCREENS.len()];
    weights[usize::from(screen::HOME)] = 1.0;
    weights[usize::from(screen::SPENDING)] = 2.0 + 0.5 * stress;
    weights[usize::from(screen::INVEST)] = 0.2 + 2.5 * mean_of(&[Role::Fund]);
    weights[usize::from(screen::LOANS)] =
        0.2 + 2.5 * mean_of(&[Role::PersonalLoan, Role::Bnpl]) + 0.3 * stress;
    weights[usize::from(screen::OFFERS)] = 0.5;
    weights[usize::from(screen::CARDS)] =
        0.3 + 1.5 * mean_of(&[Role::ClassicCard, Role::TravelCard]);
    weights[usize::from(screen::SAVINGS)] =
        0.3 + 1.5 * mean_of(&[Role::EasyAccess, Role::TermDeposit]);
    weights[usize::from(screen::INSURANCE)] =
        0.1 + 1.5 * mean_of(&[Role::TravelInsurance, Role::Protection]);
    weights[8] = 0.2; // settings
    weights[9] = 1.2; // payments
    Tastes {
        screens: Cumulative::new(&weights),
        appeal: truth.affinities.iter().map(|a| a * a + 0.01).collect(),
        affinities: &truth.affinities,
    }
}

/// Appends one session's steps, a few seconds apart.
struct Session<'a> {
    steps: &'a mut Vec<Step>,
    session: u32,
    at_s: i64,
}

impl Session<'_> {
    fn push<R: Rng>(
        &mut self,
        rng: &mut R,
        kind: BehaviourKind,
        screen: Option<u8>,
        product: Option<u8>,
    ) {
        self.at_s += rng.gen_range(4..60);
        self.steps.push(Step {
            at_s: self.at_s,
            session: self.session,
            kind,
            screen,
            product,
            query: None,
        });
    }
}

/// One session: an app open, a few screens, maybe product views, an offer, a search.
fn session<R: Rng>(
    ctx: &Ctx,
    tastes: &Tastes,
    steps: &mut Vec<Step>,
    session: u32,
    day: i32,
    first_screen: Option<u8>,
    rng: &mut R,
) {
    // Starting by 22:30 keeps even the longest session (under 35 minutes) inside the day,
    // and so inside the window.
    let hour = (ctx.tables.hour_profile(Hours::Online).sample(rng) as u32).min(22);
    let at_s = ctx.window.at(day, hour * 3_600 + rng.gen_range(0..1_800));
    let mut s = Session {
        steps,
        session,
        at_s,
    };
    s.push(rng, BehaviourKind::AppOpen, None, None);
    let screens = (1 + poisson(rng, 1.0)).min(MAX_SCREENS_PER_SESSION);
    for i in 0..screens {
        let shown = match first_screen {
            Some(first) if i == 0 => first,
            _ => tastes.screens.sample(rng) as u8,
        };
        s.push(rng, BehaviourKind::ScreenView, Some(shown), None);
        if let Some(product) = product_in_section(ctx, tastes, shown, rng) {
            s.push(rng, BehaviourKind::ProductView, Some(shown), Some(product));
        }
        offer(tastes, &mut s, shown, rng);
    }
    if chance(rng, SEARCH_CHANCE) {
        s.push(rng, BehaviourKind::Search, None, None);
        if let Some(last) = s.steps.last_mut() {
            last.query = Some(search_query(ctx, tastes, rng));
        }
    }
}

/// On the home and offers screens the bank may show an offer; liked offers get clicked (and
/// the product opened), disliked ones dismissed or ignored.
fn offer<R: Rng>(tastes: &Tastes, s: &mut Session, shown: u8, rng: &mut R) {
    let offer_chance = match shown {
        screen::HOME => 0.3,
        screen::OFFERS => 0.85,
        _ => 0.0,
    };
    if !chance(rng, offer_chance) {
        return;
    }
    let offered = if chance(rng, UNTARGETED_OFFER_SHARE) {
        rng.gen_range(0..tastes.affinities.len())
    } else {
        pick(rng, tastes.affinities)
    };
    let affinity = tastes.affinities[offered];
    let offered = Some(offered as u8);
    s.push(rng, BehaviourKind::OfferImpression, Some(shown), offered);
    if chance(rng, 0.02 + 0.5 * affinity * affinity) {
        s.push(rng, BehaviourKind::OfferClick, Some(shown), offered);
        if chance(rng, 0.8) {
            s.push(rng, BehaviourKind::ProductView, Some(shown), offered);
        }
    } else if chance(rng, 0.15 + 0.35 * (1.0 - affinity)) {
        s.push(rng, BehaviourKind::OfferDismiss, Some(shown), offered);
    }
}

/// On a product section screen, sometimes open one of its products, liked ones first.
fn product_in_section<R: Rng>(ctx: &Ctx, tastes: &Tastes, shown: u8, rng: &mut R) -> Option<u8> {
    let products = &ctx.tables.products;
    if !products.iter().any(|p| p.section == shown) || !chance(rng, 0.45) {
        return None;
    }
    let weights: Vec<f64> = products
        .iter()
        .zip(&tastes.appeal)
        .map(|(p, a)| if p.section == shown { *a } else { 0.0 })
        .collect();
    Some(pick(rng, &weights) as u8)
}

fn search_query<R: Rng>(ctx: &Ctx, tastes: &Tastes, rng: &mut R) -> u8 {
    let t = ctx.tables;
    if chance(rng, 0.2) {
        return t.generic_queries[rng.gen_range(0..t.generic_queries.len())];
    }
    let queries = &t.products[pick(rng, &tastes.appeal)].queries;
    queries[rng.gen_range(0..queries.len())]
}

/// Turns steps into domain events with ids `b<customer number>_<sequence>` and session ids
/// `s<customer number>_<session>`.
fn emit(
    ctx: &Ctx,
    customer_id: &CustomerId,
    number: u64,
    sessions: u32,
    steps: &[Step],
) -> Vec<BehaviourEvent> {
    let t = ctx.tables;
    let mut buf = String::with_capacity(24);
    let mut id = |prefix: char, n: usize| {
        buf.clear();
        write!(buf, "{prefix}{number}_{n}").expect("writing to a String cannot fail");
        EventId::parse(&buf).expect("generated ids are short and plain")
    };
    let session_ids: Vec<EventId> = (1..=sessions as usize).map(|n| id('s', n)).collect();
    steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let product = s.product.map(usize::from);
            let offer_kind = matches!(
                s.kind,
                BehaviourKind::OfferImpression
                    | BehaviourKind::OfferClick
                    | BehaviourKind::OfferDismiss
            );
            BehaviourEvent {
                event_id: id('b', i + 1),
                customer_id: customer_id.clone(),
                occurred_at: ctx.window.timestamp(s.at_s),
                kind: s.kind,
                session_id: Some(session_ids[s.session as usize].clone()),
                screen: s.screen.map(|k| t.screens[usize::from(k)].clone()),
                product_id: product
                    .filter(|_| !offer_kind)
                    .map(|p| t.products[p].id.clone()),
                offer_id: product
                    .filter(|_| offer_kind)
                    .map(|p| t.products[p].offer_id.clone()),
                query: s.query.map(|q| t.queries[usize::from(q)].clone()),
            }
        })
        .collect()
}
