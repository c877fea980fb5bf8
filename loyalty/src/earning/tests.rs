use chrono::{TimeZone, Utc};
use sextant_domain::{
    AmountMinor, Channel, CountryCode, Currency, CustomerId, Direction, EventId, Mcc, MerchantId,
};

use super::*;

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, hour, 0, 0).unwrap()
}

fn payment(id: &str, when: DateTime<Utc>, amount_minor: i64, kind: PaymentKind) -> PaymentEvent {
    PaymentEvent {
        event_id: EventId::parse(id).unwrap(),
        customer_id: CustomerId::parse("c1").unwrap(),
        occurred_at: when,
        amount: AmountMinor::new(amount_minor).unwrap(),
        currency: Currency::EUR,
        direction: kind.required_direction().unwrap_or(Direction::Debit),
        kind,
        channel: Channel::InStore,
        merchant_id: Some(MerchantId::parse("m-1").unwrap()),
        mcc: (kind == PaymentKind::Purchase).then(|| Mcc::parse("5411").unwrap()),
        country: CountryCode::parse("CZ").unwrap(),
        card: None,
        status: PaymentStatus::Completed,
        balance_after_minor: None,
        counterparty: None,
        device_id: None,
        refund_of: None,
    }
}

fn groceries(id: &str, when: DateTime<Utc>, amount_minor: i64) -> PaymentEvent {
    payment(id, when, amount_minor, PaymentKind::Purchase)
}

fn refund(id: &str, when: DateTime<Utc>, amount_minor: i64, of: &str) -> PaymentEvent {
    let mut p = payment(id, when, amount_minor, PaymentKind::Refund);
    p.refund_of = Some(EventId::parse(of).unwrap());
    p
}

fn history_of(payments: &[&PaymentEvent]) -> SpendHistory {
    SpendHistory::new(
        payments
            .iter()
            .map(|p| Spend {
                event_id: p.event_id.as_str().to_owned(),
                at: p.occurred_at,
                amount: Some(p.amount.get()),
                refund: p.kind == PaymentKind::Refund,
            })
            .collect(),
    )
}

fn run(
    ledger: &mut CustomerLedger,
    history: &SpendHistory,
    payments: &[&PaymentEvent],
) -> Vec<Outcome> {
    earn_on_payments(
        ledger,
        &EarningRules::default(),
        history,
        payments,
        |p: &PaymentEvent| Some(p.amount.get()),
    )
    .unwrap()
    .into_iter()
    .map(|(_, o)| o)
    .collect()
}

#[test]
fn a_purchase_earns_once_however_often_it_comes() {
    let p = groceries("p1", at(2, 10), 4_599);
    let history = history_of(&[&p]);
    let mut ledger = CustomerLedger::new();
    assert_eq!(
        run(&mut ledger, &history, &[&p]),
        vec![Outcome::Earned {
            points: 91,
            uncapped: 91
        }]
    );
    assert_eq!(
        run(&mut ledger, &history, &[&p]),
        vec![Outcome::AlreadyPosted]
    );
    assert_eq!(ledger.snapshot(at(2, 10).date_naive()).balance, 91);
    let item = ledger.item("earn:p1").unwrap();
    assert_eq!((item.points, item.why.as_str()), (91, "blue tier, x2.00"));
    let accrual = ledger.posting("accrual:earn:p1").unwrap();
    assert_eq!(accrual.reason.as_deref(), Some("loyalty-rules-2026.2"));
}

#[test]
fn the_tier_reads_the_year_before_each_payment() {
    // 7,000 EUR spent over the year before: silver (from 6,000), 1.25x.
    let earlier: Vec<PaymentEvent> = (0..7)
        .map(|i| {
            let mut p = groceries(&format!("old{i}"), at(1, 8), 100_000);
            p.occurred_at = Utc.with_ymd_and_hms(2025, 6, 1 + i, 9, 0, 0).unwrap();
            p
        })
        .collect();
    let now = groceries("now", at(2, 10), 10_000);
    let mut all: Vec<&PaymentEvent> = earlier.iter().collect();
    all.push(&now);
    let history = history_of(&all);
    assert_eq!(history.spend_before(now.occurred_at), 700_000);
    let mut ledger = CustomerLedger::new();
    // 100 EUR of groceries x 2 x 1.25 = 250.
    assert_eq!(
        run(&mut ledger, &history, &[&now]),
        vec![Outcome::Earned {
            points: 250,
            uncapped: 250
        }]
    );
    // A year and a day later the old spending no longer counts: blue again.
    let mut later = groceries("later", at(2, 10), 10_000);
    later.occurred_at = Utc.with_ymd_and_hms(2026, 6, 8, 9, 0, 0).unwrap();
    assert_eq!(history.spend_before(later.occurred_at), 10_000);
}

#[test]
fn the_day_cap_holds_across_a_batch() {
    // Three 150 EUR grocery purchases on one day: 300 + 200 (cap 500) + nothing.
    let ps: Vec<PaymentEvent> = (0..3)
        .map(|i| groceries(&format!("p{i}"), at(4, 9 + i), 15_000))
        .collect();
    let refs: Vec<&PaymentEvent> = ps.iter().collect();
    let history = history_of(&refs);
    let mut ledger = CustomerLedger::new();
    assert_eq!(
        run(&mut ledger, &history, &refs),
        vec![
            Outcome::Earned {
                points: 300,
                uncapped: 300
            },
            Outcome::Earned {
                points: 200,
                uncapped: 300
            },
            Outcome::Nothing("cap_reached"),
        ]
    );
    // The next day earns again.
    let next = groceries("p-next", at(5, 9), 1_000);
    assert_eq!(
        run(&mut ledger, &history, &[&next]),
        vec![Outcome::Earned {
            points: 20,
            uncapped: 20
        }]
    );
}

#[test]
fn refunds_take_back_their_share_and_never_more() {
    let bought = groceries("buy", at(2, 10), 10_000);
    let part = refund("back1", at(3, 10), 2_500, "buy");
    let rest = refund("back2", at(4, 10), 7_500, "buy");
    let again = refund("back3", at(5, 10), 100, "buy");
    let history = history_of(&[&bought, &part, &rest, &again]);
    let mut ledger = CustomerLedger::new();
    let outcomes = run(&mut ledger, &history, &[&bought, &part, &rest, &again]);
    assert_eq!(
        outcomes,
        vec![
            Outcome::Earned {
                points: 200,
                uncapped: 200
            },
            Outcome::Reversed {
                points: 50,
                shortfall: 0
            },
            Outcome::Reversed {
                points: 150,
                shortfall: 0
            },
            Outcome::Nothing("already_reversed"),
        ]
    );
    assert_eq!(ledger.snapshot(at(6, 0).date_naive()).balance, 0);
    assert_eq!(ledger.reversible("earn:buy"), 0);
}

#[test]
fn a_refund_after_spending_records_the_shortfall() {
    let bought = groceries("buy", at(2, 10), 10_000);
    let history = history_of(&[&bought]);
    let mut ledger = CustomerLedger::new();
    run(&mut ledger, &history, &[&bought]);
    ledger
        .redeem("spend", at(2, 12), 150, None, Some("purchase:o1".into()))
        .unwrap();
    let back = refund("back", at(3, 10), 10_000, "buy");
    assert_eq!(
        run(&mut ledger, &history, &[&back]),
        vec![Outcome::Reversed {
            points: 50,
            shortfall: 150
        }]
    );
    assert_eq!(ledger.snapshot(at(3, 10).date_naive()).balance, 0);
}

#[test]
fn what_earns_nothing_says_why() {
    let mut ledger = CustomerLedger::new();
    let atm = payment("atm", at(2, 10), 10_000, PaymentKind::Atm);
    let transfer = payment("tr", at(2, 11), 10_000, PaymentKind::TransferOut);
    let loose = payment("loose", at(2, 12), 500, PaymentKind::Refund);
    let unknown = refund("r-unknown", at(2, 13), 500, "never-earned");
    let mut failed = groceries("failed", at(2, 14), 10_000);
    failed.status = PaymentStatus::Failed;
    let history = SpendHistory::default();
    assert_eq!(
        run(
            &mut ledger,
            &history,
            &[&atm, &transfer, &loose, &unknown, &failed]
        ),
        vec![
            Outcome::Nothing("not_a_purchase"),
            Outcome::Nothing("not_a_purchase"),
            Outcome::Nothing("refund_without_purchase"),
            Outcome::Nothing("no_points_to_reverse"),
            Outcome::Nothing("not_completed"),
        ]
    );
    let abroad = groceries("usd", at(2, 15), 10_000);
    let out = earn_on_payments(
        &mut ledger,
        &EarningRules::default(),
        &history,
        &[&abroad],
        |_: &PaymentEvent| None,
    )
    .unwrap();
    assert_eq!(out[0].1, Outcome::Nothing("exchange_rate_missing"));
    assert!(ledger.journal().is_empty());
}

#[test]
fn a_batch_earns_in_one_accrual_per_expiry_month_and_its_refunds_find_their_items() {
    let march = groceries("mar", at(30, 10), 10_000);
    let march_2 = groceries("mar2", at(31, 10), 5_000);
    let april = groceries(
        "apr",
        Utc.with_ymd_and_hms(2026, 4, 2, 9, 0, 0).unwrap(),
        2_000,
    );
    // A refund inside the batch, of a purchase inside the batch.
    let back = refund(
        "back",
        Utc.with_ymd_and_hms(2026, 4, 3, 9, 0, 0).unwrap(),
        5_000,
        "mar2",
    );
    let late = groceries(
        "late",
        Utc.with_ymd_and_hms(2026, 4, 4, 9, 0, 0).unwrap(),
        3_000,
    );
    let history = history_of(&[&march, &march_2, &april, &back, &late]);
    let mut ledger = CustomerLedger::new();
    let outcomes = run(
        &mut ledger,
        &history,
        &[&late, &back, &april, &march_2, &march],
    );
    assert_eq!(
        outcomes,
        [
            Outcome::Earned {
                points: 200,
                uncapped: 200
            },
            Outcome::Earned {
                points: 100,
                uncapped: 100
            },
            Outcome::Earned {
                points: 40,
                uncapped: 40
            },
            Outcome::Reversed {
                points: 100,
                shortfall: 0
            },
            Outcome::Earned {
                points: 60,
                uncapped: 60
            },
        ]
    );
    // March's two purchases and April's first share nothing but the call: two accruals
    // (one per month of expiry) before the refund, one after it.
    let kinds: Vec<(&str, usize, i64)> = ledger
        .journal()
        .iter()
        .map(|p| (p.key.as_str(), p.items.len(), p.customer_change()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("accrual:earn:mar", 2, 300),
            ("accrual:earn:apr", 1, 40),
            ("refund:back", 0, -100),
            ("accrual:earn:late", 1, 60),
        ]
    );
    let march_lot = &ledger.lots()[0];
    assert_eq!(
        (march_lot.expires_on, march_lot.remaining),
        (NaiveDate::from_ymd_opt(2028, 3, 31).unwrap(), 200)
    );
    assert_eq!(ledger.earned("earn:mar2"), Some(100));
    assert_eq!(ledger.reversible("earn:mar2"), 0);
    assert_eq!(ledger.snapshot(at(31, 0).date_naive()).balance, 300);
    // The whole batch again: nothing new.
    let again = run(
        &mut ledger,
        &history,
        &[&march, &march_2, &april, &back, &late],
    );
    assert!(
        again.iter().all(|o| *o == Outcome::AlreadyPosted),
        "{again:?}"
    );
    assert_eq!(ledger.journal().len(), 4);
}
