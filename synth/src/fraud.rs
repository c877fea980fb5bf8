//! Fraud and money laundering, planted in a few customers' histories with ground truth, so
//! the demo raises real alerts and transaction monitoring is evaluated against labels.
//!
//! About 2.5% of customers get one episode of one scheme, late enough in the window that
//! their own ordinary history comes first. Each scheme varies the way real ones do: some
//! episodes are blatant, some stay under a detector's threshold (four attempts at two
//! merchants, a mule passing on only 70%, withdrawals spread over twelve days), so recall
//! is a measurement, not a tautology. Planted payments have ids `f{number}_{k}` and no
//! balance: the ledger did not run them, so the balances of the customer's own payments do
//! not show the episode's money (a known simplification; no detector reads balances). Drawn from the customer's own random stream, so
//! every other aspect of every customer is unchanged by this module.

use rand::Rng;
use sextant_domain::{
    AmountMinor, Card, Channel, CountryCode, Currency, CustomerId, Direction, EventId, Mcc,
    MerchantId, PaymentEvent, PaymentKind, PaymentStatus, ShortText,
};

use crate::parties::{person, Parties};
use crate::sample::chance;
use crate::window::{Window, DAY_S};

/// The schemes planted, with ground truth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// A stolen card tried with tiny online purchases at several merchants within minutes,
    /// then used for large ones abroad.
    CardTesting,
    /// Someone else in the account: payments from a country the customer never paid in,
    /// far above their usual day.
    AccountTakeover,
    /// A money mule: transfers in from several people, most of it out again within two days,
    /// in rounds.
    MuleAccount,
    /// Cash withdrawals or transfers just under the 10,000 EUR reporting threshold over a
    /// week or two, after a large transfer in.
    Structuring,
    /// Transfers to a jurisdiction under sanctions or on the FATF's call-for-action list.
    HighRiskTransfer,
    /// Transfers to a party on the sanctions list (the generated one, see
    /// [`crate::sanctions`]), its name written another way, from an ordinary country.
    SanctionedPayee,
}

impl Scheme {
    pub const ALL: [Scheme; 6] = [
        Scheme::CardTesting,
        Scheme::AccountTakeover,
        Scheme::MuleAccount,
        Scheme::Structuring,
        Scheme::HighRiskTransfer,
        Scheme::SanctionedPayee,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::CardTesting => "card_testing",
            Scheme::AccountTakeover => "account_takeover",
            Scheme::MuleAccount => "mule_account",
            Scheme::Structuring => "structuring",
            Scheme::HighRiskTransfer => "high_risk_transfer",
            Scheme::SanctionedPayee => "sanctioned_payee",
        }
    }

    pub fn parse(text: &str) -> Option<Scheme> {
        Scheme::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Share of customers given an episode of this scheme.
    fn share(self) -> f64 {
        match self {
            Scheme::CardTesting => 0.008,
            Scheme::AccountTakeover => 0.006,
            Scheme::MuleAccount => 0.006,
            Scheme::Structuring => 0.003,
            Scheme::HighRiskTransfer => 0.002,
            Scheme::SanctionedPayee => 0.002,
        }
    }
}

/// A customer's planted episode.
#[derive(Debug, Clone, PartialEq)]
pub struct FraudTruth {
    pub scheme: Scheme,
    /// The first planted payment's time.
    pub started_at: chrono::DateTime<chrono::Utc>,
    /// Every planted payment, in time order.
    pub event_ids: Vec<EventId>,
}

/// History needed before an episode, in days.
const HISTORY_DAYS: i32 = 60;

struct Writer<'a> {
    customer_id: &'a CustomerId,
    number: u64,
    window: &'a Window,
    out: Vec<PaymentEvent>,
}

/// One planted payment's shape.
struct Shape<'a> {
    at_s: i64,
    amount_minor: i64,
    kind: PaymentKind,
    channel: Channel,
    merchant: Option<String>,
    mcc: Option<&'a str>,
    country: &'a str,
    card: Option<Card>,
    failed: bool,
}

impl Writer<'_> {
    fn push(&mut self, s: Shape<'_>) {
        let direction = s.kind.required_direction().unwrap_or(Direction::Debit);
        let payment = PaymentEvent {
            event_id: EventId::parse(&format!("f{}_{}", self.number, self.out.len() + 1))
                .expect("f, digits, _ and digits form an id"),
            customer_id: self.customer_id.clone(),
            occurred_at: self.window.timestamp(s.at_s),
            amount: AmountMinor::new(s.amount_minor.clamp(1, 99_999_999))
                .expect("clamped into range"),
            // In euros even abroad: the schemes' thresholds (card testing, structuring) are
            // euro amounts, and web shops that fraudsters test cards on often price in euros.
            currency: Currency::EUR,
            direction,
            kind: s.kind,
            channel: s.channel,
            merchant_id: s
                .merchant
                .map(|m| MerchantId::parse(&m).expect("planted merchant ids are valid")),
            mcc: s
                .mcc
                .map(|m| Mcc::parse(m).expect("planted MCCs are valid")),
            country: CountryCode::parse(s.country).expect("planted countries are valid"),
            card: s.card,
            status: if s.failed {
                PaymentStatus::Failed
            } else {
                PaymentStatus::Completed
            },
            balance_after_minor: None,
            counterparty: None,
            device_id: None,
            refund_of: None,
        };
        debug_assert!(payment.check().is_ok(), "{:?}", payment.check());
        self.out.push(payment);
    }
}

/// The customer's mean day of discretionary spending (purchases, cash, transfers out) over
/// the window, in cents.
fn usual_day_minor(payments: &[PaymentEvent], window: &Window) -> i64 {
    let spent: i64 = payments
        .iter()
        .filter(|p| {
            p.status == PaymentStatus::Completed
                && matches!(
                    p.kind,
                    PaymentKind::Purchase | PaymentKind::Atm | PaymentKind::TransferOut
                )
        })
        .map(|p| p.amount.get())
        .sum();
    spent / i64::from(window.days.max(1))
}

fn one_of<'a, R: Rng>(rng: &mut R, items: &[&'a str]) -> &'a str {
    items[rng.gen_range(0..items.len())]
}

/// Draws whether the customer gets an episode and, if so, adds its payments to `payments`
/// (kept in time order) and returns its truth.
pub(crate) fn plant<R: Rng>(
    customer_id: &CustomerId,
    number: u64,
    cards: &[Card],
    window: &Window,
    payments: &mut Vec<PaymentEvent>,
    parties: &mut Parties,
    rng: &mut R,
) -> Option<FraudTruth> {
    let draw: f64 = rng.gen();
    let mut cumulative = 0.0;
    let scheme = Scheme::ALL.into_iter().find(|s| {
        cumulative += s.share();
        draw < cumulative
    })?;
    if window.days < HISTORY_DAYS + 20 || payments.is_empty() {
        return None;
    }
    let day = rng.gen_range(HISTORY_DAYS.max(window.days / 2)..window.days - 14);
    let start_s = window.at(day, rng.gen_range(0..86_400));
    let usual = usual_day_minor(payments, window).max(1_000);
    let mut w = Writer {
        customer_id,
        number,
        window,
        out: Vec::new(),
    };
    match scheme {
        Scheme::CardTesting => card_testing(&mut w, cards, start_s, rng),
        Scheme::AccountTakeover => account_takeover(&mut w, cards, start_s, usual, rng),
        Scheme::MuleAccount => mule(&mut w, cards, start_s, rng),
        Scheme::Structuring => structuring(&mut w, cards, start_s, rng),
        Scheme::HighRiskTransfer => high_risk(&mut w, start_s, rng),
        Scheme::SanctionedPayee => sanctioned(&mut w, start_s, rng),
    }
    name_parties(scheme, &mut w.out, parties);
    let end_s = window.end_s() - 1;
    w.out.retain(|p| p.occurred_at.timestamp() <= end_s);
    w.out.sort_by_key(|p| p.occurred_at);
    let first = w.out.first()?.occurred_at;
    let event_ids = w.out.iter().map(|p| p.event_id.clone()).collect();
    payments.extend(w.out);
    payments.sort_by_key(|p| p.occurred_at);
    Some(FraudTruth {
        scheme,
        started_at: first,
        event_ids,
    })
}

fn card_testing<R: Rng>(w: &mut Writer<'_>, cards: &[Card], start_s: i64, rng: &mut R) {
    let card = cards.first().copied();
    let country = one_of(rng, &["US", "GB", "NL", "LT", "SG"]);
    // Most testers try many merchants quickly; some are slower or more careful.
    let careful = chance(rng, 0.2);
    let attempts = if careful {
        rng.gen_range(3..=5)
    } else {
        rng.gen_range(6..=14)
    };
    let merchants = if careful { 2 } else { rng.gen_range(3..=6) };
    let spread_s = if careful { 1_800 } else { 480 };
    for k in 0..attempts {
        w.push(Shape {
            at_s: start_s + rng.gen_range(0..spread_s),
            amount_minor: rng.gen_range(50..=200),
            kind: PaymentKind::Purchase,
            channel: Channel::CrossBorder,
            merchant: Some(format!("m5999-t{:02}", k % merchants)),
            mcc: Some("5999"),
            country,
            card,
            failed: chance(rng, 0.3),
        });
    }
    for _ in 0..rng.gen_range(1..=3) {
        w.push(Shape {
            at_s: start_s + spread_s + rng.gen_range(600..7_200),
            amount_minor: rng.gen_range(40_000..=250_000),
            kind: PaymentKind::Purchase,
            channel: Channel::CrossBorder,
            merchant: Some(format!("m5732-x{:02}", rng.gen_range(0..20))),
            mcc: Some("5732"),
            country,
            card,
            failed: false,
        });
    }
}

fn account_takeover<R: Rng>(
    w: &mut Writer<'_>,
    cards: &[Card],
    start_s: i64,
    usual_minor: i64,
    rng: &mut R,
) {
    let country = one_of(rng, &["NG", "RO", "UA", "BR", "VN", "ID"]);
    // Some takers move little at first: under three usual days the amount alone is not odd.
    let factor = if chance(rng, 0.2) {
        rng.gen_range(1.5..3.0)
    } else {
        rng.gen_range(6.0..20.0)
    };
    for k in 0..rng.gen_range(1..=3) {
        let amount_minor = ((usual_minor as f64 * factor) as i64).max(30_000);
        let at_s = start_s + k * rng.gen_range(600..3_600);
        if k == 0 && chance(rng, 0.5) {
            w.push(Shape {
                at_s,
                amount_minor,
                kind: PaymentKind::Purchase,
                channel: Channel::CrossBorder,
                merchant: Some(format!("m5944-a{:02}", rng.gen_range(0..20))),
                mcc: Some("5944"),
                country,
                card: cards.first().copied(),
                failed: false,
            });
        } else {
            w.push(Shape {
                at_s,
                amount_minor,
                kind: PaymentKind::TransferOut,
                channel: Channel::CrossBorder,
                merchant: None,
                mcc: None,
                country,
                card: None,
                failed: false,
            });
        }
    }
}

fn mule<R: Rng>(w: &mut Writer<'_>, cards: &[Card], start_s: i64, rng: &mut R) {
    let rounds = rng.gen_range(1..=3);
    // A cautious mule keeps more, and waits longer.
    let share = if chance(rng, 0.2) {
        rng.gen_range(0.6..0.78)
    } else {
        rng.gen_range(0.85..0.98)
    };
    for round in 0..rounds {
        let round_s = start_s + i64::from(round) * 7 * DAY_S + rng.gen_range(0..DAY_S);
        let total: i64 = rng.gen_range(300_000..=1_500_000);
        let parts = rng.gen_range(2..=5);
        for _ in 0..parts {
            let country = one_of(rng, &["CZ", "DE", "AT", "SK", "PL"]);
            w.push(Shape {
                at_s: round_s + rng.gen_range(0..20 * 3_600),
                amount_minor: total / parts,
                kind: PaymentKind::TransferIn,
                channel: if country == "CZ" {
                    Channel::P2p
                } else {
                    Channel::CrossBorder
                },
                merchant: None,
                mcc: None,
                country,
                card: None,
                failed: false,
            });
        }
        let out = (total as f64 * share) as i64;
        let outs = rng.gen_range(1..=3);
        for _ in 0..outs {
            let cash = chance(rng, 0.3);
            w.push(Shape {
                at_s: round_s + 21 * 3_600 + rng.gen_range(0..20 * 3_600),
                amount_minor: out / outs,
                kind: if cash {
                    PaymentKind::Atm
                } else {
                    PaymentKind::TransferOut
                },
                channel: if cash {
                    Channel::InStore
                } else {
                    Channel::CrossBorder
                },
                merchant: None,
                mcc: None,
                country: if cash {
                    "CZ"
                } else {
                    one_of(rng, &["GB", "AE", "HK", "CY", "LT"])
                },
                card: if cash { cards.first().copied() } else { None },
                failed: false,
            });
        }
    }
}

fn structuring<R: Rng>(w: &mut Writer<'_>, cards: &[Card], start_s: i64, rng: &mut R) {
    let withdrawals = rng.gen_range(3..=5);
    w.push(Shape {
        at_s: start_s,
        amount_minor: withdrawals * 1_000_000,
        kind: PaymentKind::TransferIn,
        channel: Channel::P2p,
        merchant: None,
        mcc: None,
        country: "CZ",
        card: None,
        failed: false,
    });
    // Over one to two weeks: spread thin, three may not fall within seven days.
    let span_s = rng.gen_range(4..=13) * DAY_S;
    for k in 0..withdrawals {
        let cash = chance(rng, 0.6);
        w.push(Shape {
            at_s: start_s + DAY_S + k * span_s / withdrawals + rng.gen_range(0..3_600),
            amount_minor: rng.gen_range(900_000..=999_000),
            kind: if cash {
                PaymentKind::Atm
            } else {
                PaymentKind::TransferOut
            },
            channel: if cash { Channel::InStore } else { Channel::P2p },
            merchant: None,
            mcc: None,
            country: "CZ",
            card: if cash { cards.first().copied() } else { None },
            failed: false,
        });
    }
}

/// Names the planted payments' parties, from the customer's parties' own stream (so the
/// episodes' other draws are what they were before payments named parties): strangers for
/// the money mules move and the payees of a takeover, which comes from a new device.
fn name_parties(scheme: Scheme, out: &mut [PaymentEvent], parties: &mut Parties) {
    let payee = person(&mut parties.rng);
    // Most takers come from a device of their own; some from the customer's own session.
    let taker_device = scheme == Scheme::AccountTakeover && chance(&mut parties.rng, 0.9);
    let new_device = taker_device.then(|| parties.new_device());
    let rng = &mut parties.rng;
    let listed = (scheme == Scheme::SanctionedPayee).then(|| {
        let mut named = person(rng);
        named.name = Some(
            ShortText::parse(&crate::sanctions::payee_name(rng)).expect("listed names are plain"),
        );
        named
    });
    for p in out.iter_mut() {
        p.counterparty = match (scheme, p.kind) {
            (Scheme::MuleAccount, PaymentKind::TransferIn | PaymentKind::TransferOut) => {
                Some(person(rng))
            }
            (Scheme::SanctionedPayee, PaymentKind::TransferOut) => listed.clone(),
            (_, PaymentKind::TransferIn | PaymentKind::TransferOut) => Some(payee.clone()),
            _ => None,
        };
    }
    for p in out.iter_mut() {
        let in_app = matches!(p.channel, Channel::Online | Channel::P2p)
            || (scheme == Scheme::AccountTakeover && p.kind == PaymentKind::TransferOut);
        if in_app {
            p.device_id = Some(match &new_device {
                Some(device) => device.clone(),
                None => parties.device_at(p.occurred_at.timestamp()),
            });
        }
    }
}

fn sanctioned<R: Rng>(w: &mut Writer<'_>, start_s: i64, rng: &mut R) {
    for k in 0..rng.gen_range(1..=2) {
        w.push(Shape {
            at_s: start_s + k * rng.gen_range(DAY_S..10 * DAY_S),
            amount_minor: rng.gen_range(30_000..=900_000),
            kind: PaymentKind::TransferOut,
            channel: Channel::P2p,
            merchant: None,
            mcc: None,
            country: "CZ",
            card: None,
            failed: false,
        });
    }
}

fn high_risk<R: Rng>(w: &mut Writer<'_>, start_s: i64, rng: &mut R) {
    let country = one_of(rng, &["IR", "KP", "MM"]);
    for k in 0..rng.gen_range(1..=2) {
        w.push(Shape {
            at_s: start_s + k * rng.gen_range(DAY_S..5 * DAY_S),
            amount_minor: rng.gen_range(200_000..=2_000_000),
            kind: PaymentKind::TransferOut,
            channel: Channel::CrossBorder,
            merchant: None,
            mcc: None,
            country,
            card: None,
            failed: false,
        });
    }
}

#[cfg(test)]
mod tests {
    use crate::{generate_customer, Config};

    #[test]
    fn a_few_percent_get_an_episode_of_valid_payments_in_time_order() {
        let config = Config::new(2_000, 6, 11);
        let mut by_scheme = std::collections::HashMap::new();
        for i in 0..config.customers {
            let bundle = generate_customer(&config, i);
            assert!(bundle
                .payments
                .windows(2)
                .all(|w| w[0].occurred_at <= w[1].occurred_at));
            if let Some(fraud) = &bundle.truth.fraud {
                *by_scheme.entry(fraud.scheme).or_insert(0) += 1;
                assert!(!fraud.event_ids.is_empty());
                for id in &fraud.event_ids {
                    let p = bundle
                        .payments
                        .iter()
                        .find(|p| &p.event_id == id)
                        .expect("planted payments are in the history");
                    assert!(p.check().is_ok(), "{p:?}");
                    assert!(p.occurred_at >= fraud.started_at);
                }
            }
        }
        let total: u32 = by_scheme.values().sum();
        assert!(
            (20..=90).contains(&total),
            "{total} of 2,000: {by_scheme:?}"
        );
        assert!(by_scheme.len() >= 4, "{by_scheme:?}");
    }

    #[test]
    fn a_short_window_plants_nothing() {
        let config = Config::new(500, 1, 11);
        assert!((0..500).all(|i| generate_customer(&config, i).truth.fraud.is_none()));
    }
}
