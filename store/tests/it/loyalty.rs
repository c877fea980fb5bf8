//! Loyalty points in storage: the journal and lots written together and read back as the
//! ledger left them, refusals store nothing, the liability report and the expiry work list,
//! and fifty simultaneous redemptions (through two connection pools on PostgreSQL, as two
//! servers would) never spending a point twice.

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use sextant_domain::CustomerId;
use sextant_loyalty::{CustomerLedger, Item, LedgerError, PostingKind};
use sextant_store::{AuditFilter, LedgerStep, SeaStore, Store};

use crate::common::*;

fn at(day: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap() + Duration::days(day)
}

fn last_day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn step(
    f: impl FnOnce(&mut CustomerLedger) -> Result<sextant_loyalty::Applied, LedgerError>
        + Send
        + 'static,
) -> LedgerStep {
    Box::new(move |ledger| f(ledger).map(|applied| vec![applied]))
}

async fn post(
    store: &dyn Store,
    id: &CustomerId,
    f: impl FnOnce(&mut CustomerLedger) -> Result<sextant_loyalty::Applied, LedgerError>
        + Send
        + 'static,
) -> Result<sextant_loyalty::Applied, LedgerError> {
    store
        .post_points(id, step(f), &by(), at(0))
        .await
        .unwrap()
        .map(|mut applied| applied.remove(0))
}

#[tokio::test]
async fn points_are_journalled_with_their_lots_and_reported_on_every_backend() {
    for (backend, test) in all_stores().await {
        let store = test.store.as_ref();
        let c1 = cid("c1");
        post(store, &c1, |l| {
            l.earn("pay-1", at(0), 120, last_day(2026, 4, 30))
        })
        .await
        .unwrap();
        // Two payments in one accrual: one posting, one lot, each payment an item.
        let item = |key: &str, points| Item {
            key: key.into(),
            at: at(1),
            points,
            why: "blue tier, x1.00".into(),
        };
        let accrued: LedgerStep = Box::new(move |l| {
            l.accrue(
                last_day(2026, 9, 30),
                vec![item("pay-2", 50), item("pay-3", 30)],
                Some("loyalty-rules-2026.2".into()),
            )?;
            Ok(Vec::new())
        });
        store
            .post_points(&c1, accrued, &by(), at(1))
            .await
            .unwrap()
            .unwrap();
        let spent = post(store, &c1, |l| {
            l.redeem("r-1", at(2), 150, Some("app".into()), None)
        })
        .await
        .unwrap();
        assert_eq!(spent.posting.customer_change(), -150, "{backend}");
        // A refusal stores nothing.
        let refused = post(store, &c1, |l| l.redeem("r-2", at(3), 51, None, None)).await;
        assert_eq!(
            refused,
            Err(LedgerError::Insufficient {
                available: 50,
                requested: 51
            }),
            "{backend}"
        );
        // The same key again: the first answer, nothing new.
        let again = post(store, &c1, |l| {
            l.redeem("r-1", at(4), 150, Some("app".into()), None)
        })
        .await
        .unwrap();
        assert!(again.repeated, "{backend}");
        assert_eq!(again.posting.at, spent.posting.at, "{backend}");

        let ledger = store.loyalty_ledger(&c1).await.unwrap();
        let kinds: Vec<PostingKind> = ledger.journal().iter().map(|p| p.kind).collect();
        assert_eq!(
            kinds,
            [PostingKind::Earn, PostingKind::Earn, PostingKind::Redeem],
            "{backend}"
        );
        assert_eq!(ledger.snapshot(at(4).date_naive()).balance, 50, "{backend}");
        assert_eq!(
            ledger.journal()[2],
            spent.posting,
            "{backend}: read back whole"
        );
        let accrual = &ledger.journal()[1];
        assert_eq!(
            (accrual.key.as_str(), accrual.customer_change()),
            ("accrual:pay-2", 80),
            "{backend}"
        );
        assert_eq!(
            accrual.items,
            [item("pay-2", 50), item("pay-3", 30)],
            "{backend}: with its items"
        );
        assert_eq!(ledger.earned("pay-3"), Some(30), "{backend}");

        post(store, &cid("c2"), |l| {
            l.earn("pay-9", at(0), 40, last_day(2026, 9, 15))
        })
        .await
        .unwrap();
        // April's lot is spent; September holds c1's 50 and c2's 40.
        let liability = store.loyalty_liability(at(4).date_naive()).await.unwrap();
        let months: Vec<(String, i64, u64)> = liability
            .iter()
            .map(|m| (m.month.clone(), m.points, m.customers))
            .collect();
        assert_eq!(months, [("2026-09".to_owned(), 90, 2)], "{backend}");
        let due = store
            .loyalty_due_for_expiry(last_day(2026, 10, 1), None, 10)
            .await
            .unwrap();
        assert_eq!(due, [cid("c1"), cid("c2")], "{backend}");
        let after_c1 = store
            .loyalty_due_for_expiry(last_day(2026, 10, 1), Some(&cid("c1")), 10)
            .await
            .unwrap();
        assert_eq!(after_c1, [cid("c2")], "{backend}");

        let entries = store
            .audit_entries(
                &AuditFilter {
                    action: Some("loyalty.post".into()),
                    ..AuditFilter::default()
                },
                0,
                50,
            )
            .await
            .unwrap();
        assert_eq!(entries.len(), 4, "{backend}: one per write that posted");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_simultaneous_redemptions_never_overspend_on_every_backend() {
    for (backend, test) in all_stores().await {
        // On PostgreSQL a second pool stands for a second server.
        let second: Arc<dyn Store> = match &test.url {
            Some(url) => Arc::new(
                SeaStore::open_signed(
                    Some(url),
                    std::path::Path::new("."),
                    Arc::new(sextant_store::crypto::Keyring::ephemeral()),
                    Some(audit_signer()),
                )
                .await
                .unwrap(),
            ),
            None => test.store.clone(),
        };
        let c1 = cid("c1");
        post(test.store.as_ref(), &c1, |l| {
            l.earn("pay-1", at(0), 1_000, last_day(2027, 3, 1))
        })
        .await
        .unwrap();
        let mut tasks = Vec::new();
        for i in 0..50 {
            let store = if i % 2 == 0 {
                test.store.clone()
            } else {
                second.clone()
            };
            let id = c1.clone();
            // Two of them share a key: one effect between them.
            let key = if i == 49 {
                "r-48".to_owned()
            } else {
                format!("r-{i}")
            };
            tasks.push(tokio::spawn(async move {
                store
                    .post_points(
                        &id,
                        step(move |l| l.redeem(&key, at(1), 30, None, None)),
                        &by(),
                        at(1),
                    )
                    .await
                    .unwrap()
            }));
        }
        let (mut spent, mut refused) = (0, 0);
        for task in tasks {
            match task.await.unwrap() {
                Ok(applied) if !applied[0].repeated => spent += 1,
                Ok(_) => {}
                Err(LedgerError::Insufficient { .. }) => refused += 1,
                Err(e) => panic!("{backend}: {e}"),
            }
        }
        // 1,000 points buy 33 redemptions of 30; the rest are refused, none overspends.
        assert_eq!(spent, 33, "{backend}");
        let ledger = test.store.loyalty_ledger(&c1).await.unwrap();
        let snapshot = ledger.snapshot(at(1).date_naive());
        assert_eq!(snapshot.balance, 10, "{backend}");
        // Every request was answered: a spend, a refusal, or (for r-48's twin, when r-48 was
        // posted) the first answer again.
        let twin_repeated = usize::from(ledger.posting("r-48").is_some());
        assert_eq!(refused + spent, 50 - twin_repeated, "{backend}");
        assert!(snapshot.balance >= 0);
    }
}

/// A refund naming its purchase, `amount_minor` back on 2026-05-03.
fn refund_of(event_id: &str, customer: &str, amount_minor: i64, of: &str) -> sextant_domain::Event {
    let sextant_domain::Event::Payment(mut p) = payment(event_id, customer, amount_minor) else {
        unreachable!("payment builds a payment")
    };
    p.kind = sextant_domain::PaymentKind::Refund;
    p.direction = sextant_domain::Direction::Credit;
    p.occurred_at = Utc.with_ymd_and_hms(2026, 5, 3, 10, 0, 0).unwrap();
    p.refund_of = Some(sextant_domain::EventId::parse(of).unwrap());
    p.check().unwrap();
    sextant_domain::Event::Payment(p)
}

#[tokio::test]
async fn a_batch_of_customers_posts_in_one_transaction_and_refunds_name_their_purchase() {
    for (backend, test) in all_stores().await {
        let store = test.store.as_ref();
        let now = Utc.with_ymd_and_hms(2026, 5, 4, 0, 0, 0).unwrap();
        store
            .put_customers(&[customer("c1"), customer("c2")], &by(), now)
            .await
            .unwrap();
        let events = vec![
            payment("buy-1", "c1", 4_000),
            payment("buy-2", "c2", 9_000),
            refund_of("back-1", "c1", 1_000, "buy-1"),
        ];
        store.ingest(&events, &by(), now).await.unwrap();
        // The refund keeps the purchase it names; sending it again is a duplicate.
        let again = store.ingest(&events[2..], &by(), now).await.unwrap();
        assert_eq!(again.duplicates, vec![0], "{backend}");
        let c1 = store.payments(&cid("c1"), None, 10).await.unwrap();
        assert_eq!(
            c1[0].refund_of.as_ref().map(|r| r.as_str()),
            Some("buy-1"),
            "{backend}"
        );
        let rows = store
            .purchases_and_refunds(
                &[cid("c1"), cid("c2")],
                Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
                now,
            )
            .await
            .unwrap();
        let summary: Vec<(&str, &str, i64, bool)> = rows
            .iter()
            .map(|r| {
                (
                    r.customer_id.as_str(),
                    r.event_id.as_str(),
                    r.amount_minor,
                    r.refund,
                )
            })
            .collect();
        let mut sorted = summary.clone();
        sorted.sort();
        assert_eq!(
            sorted,
            vec![
                ("c1", "back-1", 1_000, true),
                ("c1", "buy-1", 4_000, false),
                ("c2", "buy-2", 9_000, false)
            ],
            "{backend}"
        );
        // Every payment of the period counted without reading the rows back; c3 has none.
        let counts = store
            .payment_counts(
                &[cid("c1"), cid("c2"), cid("c3")],
                Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
                now,
            )
            .await
            .unwrap();
        assert_eq!(
            counts,
            std::collections::HashMap::from([(cid("c1"), 2), (cid("c2"), 1)]),
            "{backend}"
        );

        // Two customers' postings in one call: c2's step is refused, c1's is stored.
        let results = store
            .post_points_many(
                vec![
                    (
                        cid("c1"),
                        step(|l| l.earn("earn:buy-1", at(0), 80, last_day(2028, 4, 30))),
                    ),
                    (cid("c2"), step(|l| l.redeem("r-1", at(0), 10, None, None))),
                ],
                &by(),
                now,
            )
            .await
            .unwrap();
        assert!(results[0].is_ok(), "{backend}");
        assert!(
            matches!(results[1], Err(LedgerError::Insufficient { .. })),
            "{backend}"
        );
        let c1_ledger = store.loyalty_ledger(&cid("c1")).await.unwrap();
        assert_eq!(
            c1_ledger.snapshot(now.date_naive()).balance,
            80,
            "{backend}"
        );
        assert!(store
            .loyalty_ledger(&cid("c2"))
            .await
            .unwrap()
            .journal()
            .is_empty());
        // One audit entry for the customer whose points changed.
        let trail = store
            .audit_entries(
                &AuditFilter {
                    action: Some("loyalty.post".into()),
                    ..AuditFilter::default()
                },
                0,
                50,
            )
            .await
            .unwrap();
        assert_eq!(
            trail
                .iter()
                .map(|e| e.entry.object.as_str())
                .collect::<Vec<_>>(),
            vec!["c1"],
            "{backend}"
        );
    }
}
