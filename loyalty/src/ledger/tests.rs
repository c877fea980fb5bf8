use chrono::TimeZone;
use proptest::prelude::*;

use super::*;

fn at(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap() + Duration::days(i64::from(day))
}

fn date(day: u32) -> NaiveDate {
    at(day).date_naive()
}

/// Every invariant the ledger promises, checked on its whole state.
fn assert_consistent(ledger: &CustomerLedger, day: NaiveDate) {
    let snapshot = ledger.snapshot(day);
    let lots: i64 = ledger.lots().iter().map(|l| l.remaining).sum();
    assert_eq!(snapshot.balance, lots, "balance is the lots' sum");
    assert_eq!(
        ledger.account_total(Account::Customer),
        snapshot.balance,
        "the customer's account is the balance"
    );
    assert!(snapshot.balance >= 0 && snapshot.spendable <= snapshot.balance);
    for lot in ledger.lots() {
        assert!((0..=lot.points).contains(&lot.remaining), "{lot:?}");
    }
    for p in ledger.journal() {
        assert_eq!(p.lines.iter().map(|l| l.points).sum::<i64>(), 0, "{p:?}");
        if p.kind == PostingKind::Earn && p.items.is_empty() {
            // Partial refunds add up to at most what was earned.
            assert!(
                (0..=p.requested).contains(&ledger.reversible(&p.key)),
                "{p:?}"
            );
        }
        for item in &p.items {
            assert!(
                (0..=item.points).contains(&ledger.reversible(&item.key)),
                "{item:?}"
            );
        }
    }
    let all: i64 = Account::ALL.iter().map(|a| ledger.account_total(*a)).sum();
    assert_eq!(all, 0, "the journal balances");
}

#[test]
fn points_are_spent_soonest_expiring_first_and_expire_once() {
    let mut l = CustomerLedger::new();
    l.earn("e1", at(0), 100, date(400)).unwrap();
    l.earn("e2", at(1), 50, date(30)).unwrap();
    let spent = l.redeem("r1", at(2), 70, None, None).unwrap().posting;
    // The lot expiring on day 30 goes first, then 20 of the other.
    assert_eq!(
        spent.moves,
        [
            LotMove {
                lot: "e2".into(),
                points: -50
            },
            LotMove {
                lot: "e1".into(),
                points: -20
            },
        ]
    );
    l.earn("e3", at(3), 10, date(31)).unwrap();
    let expired = l.expire(at(40));
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].posting.key, "expire:e3");
    assert_eq!(expired[0].posting.total(Account::Expired), 10);
    assert_eq!(expired[0].seq, 4, "the fifth entry of the journal");
    assert!(l.expire(at(41)).is_empty(), "a second run expires nothing");
    assert_eq!(l.snapshot(date(41)).balance, 80);
    assert_consistent(&l, date(41));
}

#[test]
fn a_repeated_key_has_one_effect_and_another_request_under_it_is_refused() {
    let mut l = CustomerLedger::new();
    let first = l.earn("pay-1", at(0), 40, date(100)).unwrap();
    let again = l.earn("pay-1", at(5), 40, date(100)).unwrap();
    assert!(!first.repeated && again.repeated);
    assert_eq!(
        again.posting, first.posting,
        "the first answer, time included"
    );
    assert_eq!(l.snapshot(date(5)).balance, 40);
    assert_eq!(
        l.earn("pay-1", at(5), 41, date(100)).unwrap_err(),
        LedgerError::KeyReused("pay-1".into())
    );
    assert_eq!(
        l.redeem("pay-1", at(5), 40, None, None).unwrap_err(),
        LedgerError::KeyReused("pay-1".into())
    );
}

#[test]
fn a_refund_takes_back_what_is_left_and_records_the_shortfall() {
    let mut l = CustomerLedger::new();
    l.earn("e1", at(0), 100, date(400)).unwrap();
    l.earn("e2", at(1), 30, date(400)).unwrap();
    l.redeem("r1", at(2), 110, None, None).unwrap();
    // 20 points are left, all in e2 (e1 expired... no: e1 and e2 share a last day, e1 is
    // older and went first): the refund of e1 takes those 20 and falls 80 short.
    let back = l.reverse_earning("x1", "e1", at(3)).unwrap().posting;
    assert_eq!(back.customer_change(), -20);
    assert_eq!(back.shortfall, 80);
    assert_eq!(l.snapshot(date(3)).balance, 0, "zero, never below");
    assert_eq!(
        l.reverse_earning("x2", "e1", at(4)).unwrap_err(),
        LedgerError::AlreadyReversed {
            key: "e1".into(),
            by: "x1".into()
        }
    );
    assert!(l.reverse_earning("x1", "e1", at(9)).unwrap().repeated);
    assert_consistent(&l, date(4));
}

#[test]
fn a_redemption_reversed_in_its_window_returns_its_points_and_lapsed_ones_expire() {
    let mut l = CustomerLedger::new();
    l.earn("short", at(0), 10, date(5)).unwrap();
    l.earn("long", at(0), 10, date(100)).unwrap();
    l.redeem("r", at(1), 15, None, None).unwrap();
    assert_eq!(
        l.reverse_redemption("back", "r", at(20), 14).unwrap_err(),
        LedgerError::WindowClosed(date(15))
    );
    let back = l
        .reverse_redemption("back", "r", at(10), 14)
        .unwrap()
        .posting;
    // The 10 from `short` lapsed on day 5: they go to expired, the 5 from `long` come back.
    assert_eq!(back.total(Account::Customer), 5);
    assert_eq!(back.total(Account::Expired), 10);
    assert_eq!(back.total(Account::Redeemed), -15);
    assert_eq!(l.snapshot(date(10)).balance, 10);
    assert_consistent(&l, date(10));
}

#[test]
fn redemptions_and_adjustments_cannot_overspend() {
    let mut l = CustomerLedger::new();
    l.earn("e", at(0), 50, date(10)).unwrap();
    assert_eq!(
        l.redeem("r", at(11), 1, None, None).unwrap_err(),
        LedgerError::Insufficient {
            available: 0,
            requested: 1
        },
        "past its last day a lot cannot be spent"
    );
    assert_eq!(
        l.adjust("a", at(1), -60, "goodwill reversal", "ops-1", date(10))
            .unwrap_err(),
        LedgerError::Insufficient {
            available: 50,
            requested: 60
        }
    );
    assert_eq!(
        l.adjust("a", at(1), 5, "  ", "ops-1", date(10))
            .unwrap_err(),
        LedgerError::ReasonRequired
    );
    let bonus = l
        .adjust("a", at(1), 25, "complaint 4411", "ops-1", date(90))
        .unwrap()
        .posting;
    assert_eq!(bonus.actor.as_deref(), Some("ops-1"));
    assert_eq!(bonus.total(Account::Adjusted), -25);
    assert_eq!(
        l.redeem("r", at(1), 0, None, None).unwrap_err(),
        LedgerError::NotPositive
    );
    assert_consistent(&l, date(1));
}

#[test]
fn a_journal_replays_into_the_same_ledger_and_a_tampered_one_is_refused() {
    let mut l = CustomerLedger::new();
    l.earn("e1", at(0), 100, date(50)).unwrap();
    l.redeem("r1", at(1), 30, Some("app".into()), None).unwrap();
    l.reverse_earning("x1", "e1", at(2)).unwrap();
    l.expire(at(60));
    let replayed = CustomerLedger::replay(l.journal().to_vec()).unwrap();
    assert_eq!(replayed.lots(), l.lots());
    assert_eq!(replayed.snapshot(date(60)), l.snapshot(date(60)));
    let mut tampered = l.journal().to_vec();
    tampered[1].lines[0].points -= 1;
    assert!(matches!(
        CustomerLedger::replay(tampered),
        Err(LedgerError::Corrupt(_))
    ));
}

/// One step of a random history.
#[derive(Debug, Clone)]
enum Op {
    Earn {
        points: i64,
        valid_days: u32,
    },
    /// Several payments' points in one posting.
    Accrue {
        points: Vec<i64>,
        valid_days: u32,
    },
    Refund {
        earning: usize,
        part: i64,
    },
    Bonus {
        points: i64,
    },
    Redeem {
        points: i64,
    },
    ReverseRedemption {
        redemption: usize,
    },
    Expire,
    Adjust {
        points: i64,
    },
    /// Send the nth earlier request again under its key.
    Repeat {
        nth: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1i64..500, 0u32..60).prop_map(|(points, valid_days)| Op::Earn { points, valid_days }),
        2 => (proptest::collection::vec(1i64..300, 1..4), 0u32..60)
            .prop_map(|(points, valid_days)| Op::Accrue { points, valid_days }),
        1 => (0usize..20, 0i64..300).prop_map(|(earning, part)| Op::Refund { earning, part }),
        1 => (1i64..300).prop_map(|points| Op::Bonus { points }),
        3 => (1i64..400).prop_map(|points| Op::Redeem { points }),
        1 => (0usize..20).prop_map(|redemption| Op::ReverseRedemption { redemption }),
        1 => Just(Op::Expire),
        1 => (-200i64..200).prop_map(|points| Op::Adjust { points }),
        2 => (0usize..40).prop_map(|nth| Op::Repeat { nth }),
    ]
}

fn item_key(key: &str, j: usize) -> String {
    format!("{key}#{j}")
}

/// A request as sent: the step's day, key and operation, so it can be sent again.
#[derive(Debug, Clone)]
struct Sent {
    day: u32,
    key: String,
    op: Op,
}

fn send(l: &mut CustomerLedger, s: &Sent, earnings: &[String], redemptions: &[String]) {
    let t = at(s.day);
    // Refusals (overspending, closed windows, reversals twice) are part of the history.
    let _ = match &s.op {
        Op::Earn { points, valid_days } => l
            .earn(&s.key, t, *points, date(s.day + valid_days))
            .map(|_| ()),
        Op::Accrue { points, valid_days } => l
            .accrue(
                date(s.day + valid_days),
                points
                    .iter()
                    .enumerate()
                    .map(|(j, p)| Item {
                        key: item_key(&s.key, j),
                        at: t,
                        points: *p,
                        why: "test".into(),
                    })
                    .collect(),
                None,
            )
            .map(|_| ()),
        // A part of 0 is a full refund; others take back up to that many points.
        Op::Refund { earning, part } => match (earnings.get(*earning), *part) {
            (Some(e), 0) => l.reverse_earning(&s.key, e, t).map(|_| ()),
            (Some(e), part) => l.reverse_earning_part(&s.key, e, t, part).map(|_| ()),
            (None, _) => Ok(()),
        },
        Op::Bonus { points } => l
            .bonus(&s.key, t, *points, date(s.day + 40), "campaign".into())
            .map(|_| ()),
        Op::Redeem { points } => l.redeem(&s.key, t, *points, None, None).map(|_| ()),
        Op::ReverseRedemption { redemption } => match redemptions.get(*redemption) {
            Some(r) => l.reverse_redemption(&s.key, r, t, 10).map(|_| ()),
            None => Ok(()),
        },
        Op::Expire => {
            l.expire(t);
            Ok(())
        }
        Op::Adjust { points } if *points != 0 => l
            .adjust(&s.key, t, *points, "test", "staff", date(s.day + 30))
            .map(|_| ()),
        Op::Adjust { .. } | Op::Repeat { .. } => Ok(()),
    };
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// After any history the balance is the sum of the live lots, nothing is negative, the
    /// journal balances, and sending the whole history again changes nothing.
    #[test]
    fn any_history_keeps_the_books_and_replays_to_nothing(ops in proptest::collection::vec(op(), 1..80)) {
        let mut l = CustomerLedger::new();
        let (mut sent, mut earnings, mut redemptions) = (Vec::<Sent>::new(), Vec::new(), Vec::new());
        for (i, op) in ops.into_iter().enumerate() {
            let day = i as u32;
            let s = match op {
                Op::Repeat { nth } if !sent.is_empty() => {
                    let mut again = sent[nth % sent.len()].clone();
                    again.day = day;
                    again
                }
                Op::Repeat { .. } => continue,
                op => Sent { day, key: format!("k{i}"), op },
            };
            let before = l.journal().len();
            send(&mut l, &s, &earnings, &redemptions);
            if l.journal().len() > before {
                let last = l.journal().last().expect("it grew");
                match last.kind {
                    // An accrual's items are earnings a refund can name.
                    PostingKind::Earn if !last.items.is_empty() => {
                        earnings.extend(last.items.iter().map(|i| i.key.clone()))
                    }
                    PostingKind::Earn => earnings.push(s.key.clone()),
                    PostingKind::Redeem => redemptions.push(s.key.clone()),
                    _ => {}
                }
            }
            sent.push(s);
            assert_consistent(&l, date(day));
        }
        let last_day = sent.last().map_or(0, |s| s.day);
        let settled = l.journal().to_vec();
        let lots = l.lots().to_vec();
        for s in &sent {
            // Every request that was posted, sent again under its key: nothing may move.
            // (One that was refused may succeed later; that is a new request, not a repeat.)
            let posted = l.is_posted(&s.key) || l.is_posted(&item_key(&s.key, 0));
            if !matches!(s.op, Op::Expire) && posted {
                send(&mut l, s, &earnings, &redemptions);
            }
        }
        prop_assert_eq!(l.journal(), &settled[..]);
        prop_assert_eq!(l.lots(), &lots[..]);
        let replayed = CustomerLedger::replay(settled).unwrap();
        prop_assert_eq!(replayed.snapshot(date(last_day)), l.snapshot(date(last_day)));
    }
}

#[test]
fn truncating_drops_what_a_refused_step_added() {
    let mut l = CustomerLedger::new();
    l.earn("e1", at(0), 100, date(400)).unwrap();
    l.redeem("r1", at(1), 30, None, None).unwrap();
    let before = l.clone();
    l.earn("e2", at(2), 50, date(400)).unwrap();
    l.redeem("r2", at(3), 120, None, None).unwrap();
    l.truncate(2);
    assert_eq!(l.journal(), before.journal());
    assert_eq!(l.lots(), before.lots());
    assert!(l.posting("e2").is_none());
    assert_eq!(l.reversible("e1"), 100);
}

#[test]
fn an_accrual_holds_its_payments_as_earnings_of_their_own() {
    let item = |key: &str, day: u32, points: i64| Item {
        key: key.into(),
        at: at(day),
        points,
        why: "blue tier, x1.00".into(),
    };
    let mut l = CustomerLedger::new();
    l.earn("older", at(0), 30, date(400)).unwrap();
    let accrual = l
        .accrue(date(200), vec![item("p1", 1, 40), item("p2", 2, 60)], None)
        .unwrap()
        .clone();
    assert_eq!(
        (accrual.key.as_str(), accrual.at, accrual.customer_change()),
        ("accrual:p1", at(2), 100)
    );
    assert_eq!(l.lots()[1].earned_on, date(1));
    // Each payment is a key of its own: taken for another posting, and for another accrual.
    assert!(l.is_posted("p2") && l.posting("p2").is_none());
    assert_eq!(
        l.accrue(date(200), vec![item("p3", 3, 5), item("p2", 3, 5)], None)
            .unwrap_err(),
        LedgerError::KeyReused("p2".into())
    );
    assert_eq!(
        l.redeem("p1", at(3), 1, None, None).unwrap_err(),
        LedgerError::KeyReused("p1".into())
    );
    // Its refund takes from the accrual's lot, though the older lot expires later.
    let back = l
        .reverse_earning_part("x1", "p2", at(4), 60)
        .unwrap()
        .posting;
    assert_eq!(
        back.moves,
        [LotMove {
            lot: "accrual:p1".into(),
            points: -60
        }]
    );
    assert_eq!((l.reversible("p2"), l.reversible("p1")), (0, 40));
    // The journal replays to the same books; an accrual whose items do not add up does not.
    let replayed = CustomerLedger::replay(l.journal().to_vec()).unwrap();
    assert_eq!(replayed.lots(), l.lots());
    let mut broken = l.journal().to_vec();
    broken[1].items[0].points = 41;
    assert!(matches!(
        CustomerLedger::replay(broken),
        Err(LedgerError::Corrupt(_))
    ));
    assert_consistent(&l, date(5));
}
