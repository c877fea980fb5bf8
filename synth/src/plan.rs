//! What planning produces: the payments a customer means to make, before the account has
//! its say.
//!
//! Planners (`income.rs`, `commitments.rs`, `spending.rs`, run in order by `planner.rs`) push
//! lightweight [`Planned`] records (no heap data) into a [`Plan`]; `ledger.rs` then sorts
//! them, runs the balance and decides which ones fail or are skipped. Splitting intent from
//! outcome keeps each planner simple and makes failures a consequence of the flows rather
//! than a coin toss.

use rand::Rng;
use sextant_domain::{Channel, CountryCode, Direction, Mcc, MerchantId, PaymentKind};

use crate::latent::Latents;
use crate::persona::{Persona, PersonaParams};
use crate::tables::Tables;
use crate::window::Window;

/// How the ledger treats a planned payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    /// Salary, pension, benefits, payouts, business receipts: counted in income statistics.
    Income,
    /// Bills, rent, loan and instalment debits, subscriptions: never skipped, may fail.
    Fixed,
    /// Card spending, cash, transfers to friends: the customer holds back when money is short.
    Discretionary,
    /// Supplier payments of a business owner: postponed, like spending, when money is short.
    Business,
    /// Other credits and debits (gifts, loan disbursements).
    Transfer,
    /// Refund of the purchase named by `link`; dropped when that purchase did not go through.
    Refund,
    /// Investment debits and credits.
    Investment,
    /// Not a payment: the moment a standing order sweeps any surplus to savings.
    SweepCheck,
}

pub(crate) const NO_LINK: u32 = u32::MAX;

/// A payment as planned. `Copy` and heap-free, because a customer plans hundreds of them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Planned {
    /// Order of creation: the tie-break that keeps sorting deterministic.
    pub id: u32,
    pub link: u32,
    pub at_s: i64,
    pub amount_minor: i64,
    pub kind: PaymentKind,
    pub direction: Direction,
    pub channel: Channel,
    pub mcc: Option<Mcc>,
    pub merchant: Option<&'static MerchantId>,
    pub country: CountryCode,
    /// Index into the customer's cards.
    pub card: Option<u8>,
    pub flow: Flow,
}

impl Planned {
    pub(crate) fn with_merchant(mut self, merchant: &'static MerchantId, mcc: Option<Mcc>) -> Self {
        self.merchant = Some(merchant);
        self.mcc = mcc;
        self
    }

    pub(crate) fn with_card(mut self, card: u8) -> Self {
        self.card = Some(card);
        self
    }
}

/// Everything a planner reads about the customer.
pub(crate) struct Ctx<'a> {
    pub persona: Persona,
    pub params: &'static PersonaParams,
    pub latents: &'a Latents,
    pub window: &'a Window,
    pub tables: &'static Tables,
    /// Fixed per customer; picks their favourite merchants without storing them.
    pub taste_key: u64,
    pub card_count: u8,
}

impl Ctx<'_> {
    /// A payment with the direction its kind requires (debit for `Investment`; see
    /// [`Ctx::investment`]), in the home country, without merchant or card.
    pub(crate) fn payment(
        &self,
        kind: PaymentKind,
        flow: Flow,
        at_s: i64,
        amount_minor: i64,
        channel: Channel,
    ) -> Planned {
        Planned {
            id: 0,
            link: NO_LINK,
            at_s,
            amount_minor,
            kind,
            direction: kind.required_direction().unwrap_or(Direction::Debit),
            channel,
            mcc: None,
            merchant: None,
            country: self.tables.home,
            card: None,
            flow,
        }
    }

    pub(crate) fn investment(&self, direction: Direction, at_s: i64, amount_minor: i64) -> Planned {
        let mut p = self.payment(
            PaymentKind::Investment,
            Flow::Investment,
            at_s,
            amount_minor,
            Channel::Online,
        );
        p.direction = direction;
        p
    }

    pub(crate) fn income_eur(&self) -> f64 {
        self.latents.income_eur()
    }
}

/// A random second between two hours of the day.
pub(crate) fn second_between<R: Rng>(rng: &mut R, from_hour: u32, to_hour: u32) -> u32 {
    rng.gen_range(from_hour * 3_600..to_hour * 3_600)
}

/// A consumer loan running during (part of) the window.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LoanFacts {
    /// Principal still owed at the end of the window (0 when repaid).
    pub outstanding_minor: i64,
    pub opened_s: i64,
}

/// What planning decided, for the ledger, the truth and the holdings.
#[derive(Debug, Clone, Default)]
pub(crate) struct PlanFacts {
    pub income_minor: i64,
    /// How firmly the customer holds back spending as money runs short, 0..1.
    pub discipline: f64,
    pub start_balance_minor: i64,
    pub overdraft_limit_minor: i64,
    /// Balance on the savings account at the window start.
    pub savings_start_minor: i64,
    pub portfolio_start_minor: i64,
    /// Balance the standing order keeps on the current account; 0 when there is none.
    pub buffer_target_minor: i64,
    /// The standing order buys funds instead of moving money to savings.
    pub sweep_invests: bool,
    pub investor: bool,
    pub renter: bool,
    pub mortgage: bool,
    pub loan: Option<LoanFacts>,
    pub bnpl_plans: u32,
    pub bnpl_outstanding_minor: i64,
    pub bnpl_last_start_s: i64,
    pub trips: u32,
    /// Expected monthly bills, rent, debt and investment-plan payments.
    pub fixed_monthly_minor: i64,
    pub online_factor: f64,
}

pub(crate) struct Plan {
    pub planned: Vec<Planned>,
    next_id: u32,
    start_s: i64,
    end_s: i64,
    pub facts: PlanFacts,
}

impl Plan {
    pub(crate) fn new(window: &Window) -> Plan {
        Plan {
            planned: Vec::with_capacity(window.months.len() * 32),
            next_id: 0,
            start_s: window.start_s,
            end_s: window.end_s(),
            facts: PlanFacts::default(),
        }
    }

    /// Keeps the payment when it falls inside the window; returns its id.
    pub(crate) fn push(&mut self, mut p: Planned) -> Option<u32> {
        if !(self.start_s..self.end_s).contains(&p.at_s) {
            return None;
        }
        debug_assert!(p.flow == Flow::SweepCheck || p.amount_minor > 0);
        p.id = self.next_id;
        self.next_id += 1;
        self.planned.push(p);
        Some(p.id)
    }

    /// One past the largest id handed out.
    pub(crate) fn id_bound(&self) -> u32 {
        self.next_id
    }
}
