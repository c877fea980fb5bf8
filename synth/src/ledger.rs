//! The ledger: runs the account balance through the planned payments in time order and decides
//! each payment's fate.
//!
//! A debit that would take the balance below the overdraft limit fails (a declined card, a
//! returned direct debit) and leaves the balance unchanged; a customer whose balance is
//! negative holds back some discretionary spending; a standing order sweeps any surplus above
//! the customer's buffer to savings. Every `balance_after_minor` therefore follows from the
//! flows, and failures appear where money actually ran short.

use std::fmt::Write as _;

use rand::Rng;
use sextant_domain::{
    AmountMinor, Card, Channel, Currency, CustomerId, Direction, EventId, PaymentEvent,
    PaymentKind, PaymentStatus,
};

use crate::plan::{Flow, Plan, PlanFacts, Planned, NO_LINK};
use crate::sample::chance;
use crate::window::Window;

/// Below this headroom (money left before the overdraft limit), as a share of monthly
/// income, customers start holding back discretionary spending.
const COMFORT_SHARE: f64 = 0.4;
/// Surpluses smaller than this stay on the account (cents).
const SWEEP_MIN_MINOR: i64 = 5_000;

/// What the ledger observed, for the ground truth and the behaviour generator.
#[derive(Debug, Clone, Default)]
pub(crate) struct LedgerStats {
    pub debits: u32,
    pub failed: u32,
    /// Failed bills, loan repayments and instalments: the strongest default signal.
    pub failed_obligations: u32,
    /// Payments posted while the balance was negative.
    pub negative_events: u32,
    pub events: u32,
    pub min_balance_minor: i64,
    pub end_balance_minor: i64,
    pub swept_to_savings_minor: i64,
    /// Completed investment debits minus credits.
    pub net_invested_minor: i64,
    /// Loan and instalment amounts due in the window (paid or not).
    pub debt_due_minor: i64,
    /// Coefficient of variation of income over the window's full months.
    pub income_cv: f64,
    /// Window days on which income arrived / a payment failed (for app-use patterns).
    pub income_days: Vec<i32>,
    pub failed_days: Vec<i32>,
}

/// Posts the plan; returns the payment events in time order and what happened.
pub(crate) fn post<R: Rng>(
    customer_id: &CustomerId,
    number: u64,
    cards: &[Card],
    window: &Window,
    plan: &mut Plan,
    rng: &mut R,
) -> (Vec<PaymentEvent>, LedgerStats) {
    plan.planned.sort_unstable_by_key(|p| (p.at_s, p.id));
    let facts = &plan.facts;
    let mut completed = vec![false; plan.id_bound() as usize];
    // Where each planned payment landed among the events, so a refund names its purchase.
    let mut written_as = vec![usize::MAX; plan.id_bound() as usize];
    let mut stats = LedgerStats {
        min_balance_minor: facts.start_balance_minor,
        ..LedgerStats::default()
    };
    let mut income_by_month = vec![0i64; window.months.len()];
    let mut balance = facts.start_balance_minor;
    let floor = -facts.overdraft_limit_minor;
    let mut writer = EventWriter::new(customer_id, number, cards, window, plan.planned.len());
    for p in &plan.planned {
        let p = match p.flow {
            Flow::SweepCheck => match sweep(p, balance, facts) {
                Some(sweep) => sweep,
                None => continue,
            },
            Flow::Refund if p.link == NO_LINK || !completed[p.link as usize] => continue,
            Flow::Discretionary | Flow::Business
                if holds_back(balance - floor - p.amount_minor, facts, rng) =>
            {
                continue
            }
            _ => *p,
        };
        let signed = match p.direction {
            Direction::Credit => p.amount_minor,
            Direction::Debit => -p.amount_minor,
        };
        let fails = signed < 0 && balance + signed < floor;
        if fails {
            record_failure(&mut stats, &p, window);
        } else {
            balance += signed;
            completed[p.id as usize] = true;
            record_success(&mut stats, &p, window, &mut income_by_month);
        }
        if p.kind == PaymentKind::LoanRepayment || p.kind == PaymentKind::Instalment {
            stats.debt_due_minor += p.amount_minor;
        }
        stats.debits += u32::from(signed < 0);
        stats.events += 1;
        stats.negative_events += u32::from(balance < 0);
        stats.min_balance_minor = stats.min_balance_minor.min(balance);
        let status = if fails {
            PaymentStatus::Failed
        } else {
            PaymentStatus::Completed
        };
        let refund_of = (p.flow == Flow::Refund)
            .then(|| written_as[p.link as usize])
            .and_then(|i| writer.events.get(i))
            .map(|purchase| purchase.event_id.clone());
        written_as[p.id as usize] = writer.events.len();
        writer.write(&p, status, balance, refund_of);
    }
    stats.end_balance_minor = balance;
    stats.income_cv = income_cv(window, &income_by_month);
    (writer.events, stats)
}

/// People cut back as money runs out: the closer a payment would take them to the limit, the
/// likelier they drop it, up to their discipline. Big purchases are dropped first, since they
/// eat the most headroom. Stressed customers are less disciplined, so they hit the limit and
/// see payments fail.
fn holds_back<R: Rng>(headroom_after_minor: i64, facts: &PlanFacts, rng: &mut R) -> bool {
    let comfort = facts.income_minor as f64 * COMFORT_SHARE;
    let headroom = headroom_after_minor as f64;
    if headroom >= comfort {
        return false;
    }
    let shortage = (1.0 - headroom / comfort).clamp(0.0, 1.0);
    chance(rng, facts.discipline * shortage)
}

/// The standing order: moves the surplus above the buffer, in whole tens of euros.
fn sweep(marker: &Planned, balance: i64, facts: &PlanFacts) -> Option<Planned> {
    let surplus = balance - facts.buffer_target_minor;
    if facts.buffer_target_minor <= 0 || surplus < SWEEP_MIN_MINOR {
        return None;
    }
    let mut p = *marker;
    p.amount_minor = surplus / 1_000 * 1_000;
    p.flow = Flow::Transfer;
    if facts.sweep_invests {
        p.kind = PaymentKind::Investment;
        p.flow = Flow::Investment;
    }
    p.direction = Direction::Debit;
    p.channel = Channel::Online;
    Some(p)
}

fn record_failure(stats: &mut LedgerStats, p: &Planned, window: &Window) {
    stats.failed += 1;
    if matches!(
        p.kind,
        PaymentKind::Bill | PaymentKind::LoanRepayment | PaymentKind::Instalment
    ) {
        stats.failed_obligations += 1;
    }
    let day = window.day_of(p.at_s);
    if stats.failed_days.last() != Some(&day) {
        stats.failed_days.push(day);
    }
}

fn record_success(
    stats: &mut LedgerStats,
    p: &Planned,
    window: &Window,
    income_by_month: &mut [i64],
) {
    match (p.flow, p.direction) {
        (Flow::Income, _) => {
            income_by_month[window.month_index(window.day_of(p.at_s))] += p.amount_minor;
            let day = window.day_of(p.at_s);
            if stats.income_days.last() != Some(&day) {
                stats.income_days.push(day);
            }
        }
        // The only transfer-flow debits are standing-order sweeps to savings.
        (Flow::Transfer, Direction::Debit) if p.kind == PaymentKind::TransferOut => {
            stats.swept_to_savings_minor += p.amount_minor;
        }
        (Flow::Investment, Direction::Debit) => stats.net_invested_minor += p.amount_minor,
        (Flow::Investment, Direction::Credit) => stats.net_invested_minor -= p.amount_minor,
        _ => {}
    }
}

/// Spread of monthly income over the full months of the window; 0 with fewer than two.
fn income_cv(window: &Window, income_by_month: &[i64]) -> f64 {
    let full: Vec<f64> = window
        .months
        .iter()
        .zip(income_by_month)
        .filter(|(m, _)| window.is_full_month(m))
        .map(|(_, &v)| v as f64)
        .collect();
    if full.len() < 2 {
        return 0.0;
    }
    let n = full.len() as f64;
    let mean = full.iter().sum::<f64>() / n;
    if mean <= 0.0 {
        return 0.0;
    }
    let variance = full.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    variance.sqrt() / mean
}

/// Builds domain events with ids `p<customer number>_<sequence>`. The underscore keeps the
/// digits of the two numbers from joining into a run that could look like a card number.
struct EventWriter<'a> {
    customer_id: &'a CustomerId,
    number: u64,
    cards: &'a [Card],
    window: &'a Window,
    buf: String,
    events: Vec<PaymentEvent>,
}

impl<'a> EventWriter<'a> {
    fn new(
        customer_id: &'a CustomerId,
        number: u64,
        cards: &'a [Card],
        window: &'a Window,
        capacity: usize,
    ) -> Self {
        EventWriter {
            customer_id,
            number,
            cards,
            window,
            buf: String::with_capacity(24),
            events: Vec::with_capacity(capacity),
        }
    }

    fn write(
        &mut self,
        p: &Planned,
        status: PaymentStatus,
        balance_after_minor: i64,
        refund_of: Option<EventId>,
    ) {
        self.buf.clear();
        write!(self.buf, "p{}_{}", self.number, self.events.len() + 1)
            .expect("writing to a String cannot fail");
        let occurred_at = self.window.timestamp(p.at_s);
        // Abroad outside the euro area, the payment is charged in the local currency; the
        // account is debited the euro amount planned.
        let (amount_minor, currency) = crate::fx::currency_of(p.country)
            .and_then(|c| {
                Some((
                    crate::fx::charge(p.amount_minor, c, occurred_at.date_naive())?,
                    c,
                ))
            })
            .unwrap_or((p.amount_minor, Currency::EUR));
        self.events.push(PaymentEvent {
            event_id: EventId::parse(&self.buf).expect("generated event ids are short and plain"),
            customer_id: self.customer_id.clone(),
            occurred_at,
            amount: AmountMinor::new(amount_minor)
                .expect("planned amounts are positive and bounded"),
            currency,
            direction: p.direction,
            kind: p.kind,
            channel: p.channel,
            merchant_id: p.merchant.cloned(),
            mcc: p.mcc,
            country: p.country,
            card: p.card.map(|i| self.cards[usize::from(i)]),
            status,
            balance_after_minor: Some(balance_after_minor),
            counterparty: None,
            device_id: None,
            refund_of,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use sextant_domain::CountryCode;

    fn facts() -> PlanFacts {
        PlanFacts {
            income_minor: 200_000,
            discipline: 0.9,
            buffer_target_minor: 300_000,
            ..PlanFacts::default()
        }
    }

    fn marker() -> Planned {
        Planned {
            id: 0,
            link: NO_LINK,
            at_s: 0,
            amount_minor: 0,
            kind: PaymentKind::TransferOut,
            direction: Direction::Debit,
            channel: Channel::Online,
            mcc: None,
            merchant: None,
            country: CountryCode::parse("CZ").expect("valid"),
            card: None,
            flow: Flow::SweepCheck,
        }
    }

    #[test]
    fn sweep_moves_whole_tens_above_the_buffer() {
        let f = facts();
        assert!(sweep(&marker(), 300_000 + SWEEP_MIN_MINOR - 1, &f).is_none());
        let p = sweep(&marker(), 412_345, &f).expect("surplus above the minimum");
        assert_eq!(p.amount_minor, 112_000);
        assert_eq!((p.kind, p.flow), (PaymentKind::TransferOut, Flow::Transfer));
        let invests = PlanFacts {
            sweep_invests: true,
            ..facts()
        };
        let p = sweep(&marker(), 412_345, &invests).expect("surplus");
        assert_eq!(
            (p.kind, p.direction),
            (PaymentKind::Investment, Direction::Debit)
        );
        let none = PlanFacts {
            buffer_target_minor: 0,
            ..facts()
        };
        assert!(sweep(&marker(), 10_000_000, &none).is_none());
    }

    #[test]
    fn holding_back_grows_as_headroom_shrinks() {
        let f = facts();
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let share = |headroom: i64, rng: &mut ChaCha8Rng| {
            (0..4_000).filter(|_| holds_back(headroom, &f, rng)).count() as f64 / 4_000.0
        };
        assert_eq!(share(80_000, &mut rng), 0.0);
        let half = share(40_000, &mut rng);
        assert!((0.4..0.5).contains(&half), "{half}");
        let broke = share(-10_000, &mut rng);
        assert!((0.87..0.93).contains(&broke), "{broke}");
    }

    #[test]
    fn income_cv_uses_full_months() {
        let w = Window::new(
            chrono::NaiveDate::from_ymd_opt(2026, 10, 31).expect("date"),
            3,
        );
        assert_eq!(income_cv(&w, &[100, 100, 100]), 0.0);
        let cv = income_cv(&w, &[100, 0, 200]);
        assert!((cv - 1.0).abs() < 1e-9, "{cv}");
    }
}
