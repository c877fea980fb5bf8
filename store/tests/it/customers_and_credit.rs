//! Customers, events, holdings, profiles, advice and credit, on every backend.

use std::path::Path;

use chrono::{TimeZone, Utc};
use sextant_domain::{CustomerId, Event, MarketingChannel};
use sextant_store::prelude::*;
use sextant_store::{ConsentScope, SeaStore, StoreError};

use crate::common::{actor, by};
use crate::common::{all_stores, behaviour, customer, holding, payment, postgres_admin_url};

#[tokio::test]
async fn ingest_is_idempotent_and_all_or_nothing_on_every_backend() {
    for (backend, s) in all_stores().await {
        let store = &s.store;
        let now = Utc::now();
        store
            .put_customers(&[customer("c1"), customer("c2")], &by(), now)
            .await
            .unwrap();
        let batch = vec![
            payment("p1", "c1", 100),
            behaviour("b1", "c1"),
            payment("p1", "c1", 100),
        ];
        let first = store.ingest(&batch, &by(), now).await.unwrap();
        assert_eq!(
            (first.stored, first.duplicates.clone()),
            (2, vec![2]),
            "{backend}: an in-batch repeat is a duplicate"
        );
        let again = store.ingest(&batch, &by(), now).await.unwrap();
        assert_eq!((again.stored, again.duplicates.len()), (0, 3), "{backend}");

        // One bad item (unknown customer) rejects the whole batch.
        let mixed = vec![payment("p2", "c2", 5), payment("p3", "ghost", 5)];
        match store.ingest(&mixed, &by(), now).await {
            Err(StoreError::UnknownCustomers(ix)) => assert_eq!(ix, vec![1], "{backend}"),
            other => panic!("{backend}: {other:?}"),
        }
        let reused = vec![payment("p4", "c2", 5), payment("p1", "c1", 101)];
        match store.ingest(&reused, &by(), now).await {
            Err(StoreError::EventIdReused(ix)) => assert_eq!(ix, vec![1], "{backend}"),
            other => panic!("{backend}: {other:?}"),
        }
        let c2 = CustomerId::parse("c2").unwrap();
        assert!(
            store.payments(&c2, None, 10).await.unwrap().is_empty(),
            "{backend}: nothing of the refused batches landed"
        );
        let c1 = CustomerId::parse("c1").unwrap();
        let stored = store.payments(&c1, None, 10).await.unwrap();
        assert_eq!(stored.len(), 1, "{backend}");
        assert_eq!(
            stored[0],
            match &batch[0] {
                Event::Payment(p) => p.clone(),
                _ => unreachable!(),
            },
            "{backend}: round trip"
        );
    }
}

/// Batches larger than one insert statement: repeats and stored events in later chunks are
/// found, and a refusal in the last chunk undoes the first ones.
#[tokio::test]
async fn large_batches_find_stored_events_in_every_chunk_on_every_backend() {
    for (backend, s) in all_stores().await {
        let store = &s.store;
        let now = Utc::now();
        store
            .put_customers(&[customer("c1"), customer("c2")], &by(), now)
            .await
            .unwrap();
        let pay = |i: i64| payment(&format!("p{i:04}"), ["c1", "c2"][i as usize % 2], 1 + i);
        // Ids sort as p0000..p2499: the stored ones fall in the first and the third chunk.
        store
            .ingest(&[pay(17), pay(2_222)], &by(), now)
            .await
            .unwrap();

        let mut batch: Vec<Event> = (0..2_500).map(pay).collect();
        batch.extend((0..1_200).map(|i| behaviour(&format!("b{i:04}"), "c2")));
        batch.push(pay(1_999)); // a repeat, in the second chunk
        batch.push(behaviour("b1100", "c2")); // a repeat in the second behaviour chunk
        let outcome = store.ingest(&batch, &by(), now).await.unwrap();
        assert_eq!(
            outcome.duplicates,
            vec![17, 2_222, 3_700, 3_701],
            "{backend}: the stored events and the in-batch repeats, by position"
        );
        assert_eq!(outcome.stored, batch.len() - 4, "{backend}");
        let again = store.ingest(&batch, &by(), now).await.unwrap();
        assert_eq!(
            (again.stored, again.duplicates.len()),
            (0, batch.len()),
            "{backend}"
        );

        // New events in the first chunks, an id reused with other content in the last one:
        // nothing of the batch lands.
        let mut refused: Vec<Event> = (0..2_100)
            .map(|i| payment(&format!("q{i:04}"), "c1", 1 + i))
            .collect();
        refused.push(payment("p2400", "c1", 7));
        match store.ingest(&refused, &by(), now).await {
            Err(StoreError::EventIdReused(ix)) => assert_eq!(ix, vec![2_100], "{backend}"),
            other => panic!("{backend}: {other:?}"),
        }
        let mut stored = 0;
        for c in ["c1", "c2"] {
            let id = CustomerId::parse(c).unwrap();
            let since = Utc.timestamp_opt(0, 0).unwrap();
            stored += store
                .history(&id, since)
                .await
                .unwrap()
                .unwrap()
                .payments
                .len();
        }
        assert_eq!(stored, 2_500, "{backend}: no q-payment landed");
    }
}

#[tokio::test]
async fn concurrent_ingest_of_the_same_events_stores_each_once() {
    for (backend, s) in all_stores().await {
        let store = s.store.clone();
        store
            .put_customers(&[customer("c1")], &by(), Utc::now())
            .await
            .unwrap();
        let batch: Vec<Event> = (0..200)
            .map(|i| payment(&format!("p{i}"), "c1", 10 + i))
            .collect();
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let (store, batch) = (store.clone(), batch.clone());
                tokio::spawn(async move { store.ingest(&batch, &by(), Utc::now()).await.unwrap() })
            })
            .collect();
        let mut stored = 0;
        for t in tasks {
            let outcome = t.await.unwrap();
            assert_eq!(outcome.stored + outcome.duplicates.len(), 200, "{backend}");
            stored += outcome.stored;
        }
        assert_eq!(stored, 200, "{backend}: each event stored exactly once");
        let c1 = CustomerId::parse("c1").unwrap();
        assert_eq!(
            store.payments(&c1, None, 500).await.unwrap().len(),
            200,
            "{backend}"
        );
    }
}

#[tokio::test]
async fn customers_consents_and_holdings_on_every_backend() {
    for (backend, s) in all_stores().await {
        let store = &s.store;
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        assert!(
            store
                .put_customer(&customer("c1"), &actor("app"), t0)
                .await
                .unwrap(),
            "{backend}: created"
        );
        assert!(
            !store
                .put_customer(&customer("c1"), &actor("app"), t0)
                .await
                .unwrap(),
            "{backend}: replaced"
        );
        let id = CustomerId::parse("c1").unwrap();
        let consents = store
            .set_consents(
                &id,
                &[
                    (ConsentScope::Marketing(MarketingChannel::Email), false),
                    (ConsentScope::Profiling, true),
                ],
                &actor("c1"),
                t0,
            )
            .await
            .unwrap()
            .unwrap();
        assert!(!consents.marketing.email && consents.profiling, "{backend}");
        let history = store.consent_history(&id, 10).await.unwrap();
        // Creation recorded the initial grants (profiling, email); the update recorded only
        // the email withdrawal, since profiling did not change.
        let recorded: Vec<(&str, bool)> = history
            .iter()
            .map(|c| (c.scope.as_str(), c.granted))
            .collect();
        assert_eq!(
            recorded,
            [
                ("marketing.email", false),
                ("marketing.email", true),
                ("profiling", true)
            ],
            "{backend}"
        );
        assert!(store
            .set_consents(&CustomerId::parse("ghost").unwrap(), &[], &actor("x"), t0)
            .await
            .unwrap()
            .is_none());

        let holding = holding("c1", "dep-easy-access", 5000);
        store
            .upsert_holdings(std::slice::from_ref(&holding), &by(), t0)
            .await
            .unwrap();
        store
            .upsert_holdings(std::slice::from_ref(&holding), &by(), t0)
            .await
            .unwrap();
        assert_eq!(
            store.holdings(&id).await.unwrap(),
            vec![holding],
            "{backend}"
        );
        store
            .replace_holdings(&id, &[], &actor("app"), t0)
            .await
            .unwrap();
        assert!(store.holdings(&id).await.unwrap().is_empty(), "{backend}");
        assert!(
            store.products().await.unwrap().len() >= 10,
            "{backend}: the catalogue is seeded"
        );
    }
}

#[tokio::test]
async fn the_sqlite_store_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let keyring = std::sync::Arc::new(sextant_store::crypto::Keyring::ephemeral());
    {
        let store = sextant_store::SeaStore::open(None, dir.path(), keyring.clone())
            .await
            .unwrap();
        store
            .put_customers(&[customer("c1")], &by(), Utc::now())
            .await
            .unwrap();
        store
            .ingest(&[payment("p1", "c1", 100)], &by(), Utc::now())
            .await
            .unwrap();
    }
    let reopened = sextant_store::SeaStore::open(None, dir.path(), keyring)
        .await
        .unwrap();
    let again = reopened
        .ingest(&[payment("p1", "c1", 100)], &by(), Utc::now())
        .await
        .unwrap();
    assert_eq!(
        again.duplicates,
        vec![0],
        "migrations re-run cleanly and the event is still there"
    );
}

#[tokio::test]
async fn consents_change_only_on_purpose_and_always_on_record() {
    for (backend, s) in all_stores().await {
        let store = &s.store;
        let now = Utc::now();
        let id = CustomerId::parse("c1").unwrap();
        store
            .put_customer(&customer("c1"), &actor("app"), now)
            .await
            .unwrap();
        let email = ConsentScope::Marketing(MarketingChannel::Email);
        store
            .set_consents(&id, &[(email, false)], &actor("c1"), now)
            .await
            .unwrap();
        // A bulk re-import of the original registration does not re-grant the consent.
        store
            .put_customers(&[customer("c1")], &by(), now)
            .await
            .unwrap();
        let stored = store.customer(&id).await.unwrap().unwrap();
        assert!(
            !stored.customer.consents.marketing.email,
            "{backend}: the withdrawal holds"
        );
        // A PUT may change consents, and the change is recorded with its actor.
        store
            .put_customer(&customer("c1"), &actor("payment-app"), now)
            .await
            .unwrap();
        let history = store.consent_history(&id, 10).await.unwrap();
        let latest = &history[0];
        assert_eq!(
            (latest.scope.as_str(), latest.granted, latest.actor.as_str()),
            ("marketing.email", true, "payment-app"),
            "{backend}"
        );
    }
}

#[tokio::test]
async fn repeated_keys_in_one_import_batch_keep_the_last() {
    for (backend, s) in all_stores().await {
        let store = &s.store;
        let mut moved = customer("c1");
        moved.region = sextant_domain::Region::parse("brno").unwrap();
        store
            .put_customers(&[customer("c1"), moved], &by(), Utc::now())
            .await
            .unwrap();
        let stored = store
            .customer(&CustomerId::parse("c1").unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.customer.region.as_str(), "brno", "{backend}");
        let h = |value: i64| holding("c1", "dep-easy-access", value);
        store
            .upsert_holdings(&[h(100), h(200)], &by(), Utc::now())
            .await
            .unwrap();
        let holdings = store
            .holdings(&CustomerId::parse("c1").unwrap())
            .await
            .unwrap();
        assert_eq!(
            holdings.iter().map(|h| h.value.get()).collect::<Vec<_>>(),
            [200],
            "{backend}"
        );
    }
}

#[tokio::test]
async fn batches_with_the_same_events_in_opposite_orders_do_not_deadlock() {
    for (backend, s) in all_stores().await {
        let store = s.store.clone();
        store
            .put_customers(&[customer("c1")], &by(), Utc::now())
            .await
            .unwrap();
        let forward: Vec<Event> = (0..300)
            .map(|i| payment(&format!("p{i:03}"), "c1", 10 + i))
            .collect();
        let backward: Vec<Event> = forward.iter().rev().cloned().collect();
        let tasks: Vec<_> = [forward, backward]
            .into_iter()
            .cycle()
            .take(6)
            .map(|batch| {
                let store = store.clone();
                tokio::spawn(async move { store.ingest(&batch, &by(), Utc::now()).await })
            })
            .collect();
        let mut stored = 0;
        for t in tasks {
            stored += t
                .await
                .unwrap()
                .unwrap_or_else(|e| panic!("{backend}: {e}"))
                .stored;
        }
        assert_eq!(stored, 300, "{backend}");
    }
}

#[tokio::test]
async fn advice_is_on_record_and_decided_once_on_every_backend() {
    use sextant_store::{NewAdvice, StoredDecision};
    for (backend, s) in all_stores().await {
        let store = &s.store;
        let now = Utc::now();
        let id = CustomerId::parse("c1").unwrap();
        store
            .put_customer(&customer("c1"), &actor("app"), now)
            .await
            .unwrap();
        let advice = |kind: &str| NewAdvice {
            customer_id: id.clone(),
            kind: kind.into(),
            actor: "wm-1".into(),
            engine_version: "test".into(),
            inputs: serde_json::json!({"band": 0.05}),
            output: serde_json::json!({"trades": []}),
            created_at: Utc.timestamp_millis_opt(now.timestamp_millis()).unwrap(),
        };
        let first = store.record_advice(&advice("goal"), &by()).await.unwrap();
        let second = store
            .record_advice(&advice("rebalance"), &by())
            .await
            .unwrap();
        assert!(second > first, "{backend}");
        let all = store.advice_for(&id, None, 10).await.unwrap();
        assert_eq!(all.len(), 2, "{backend}");
        assert_eq!(all[0].id, second, "{backend}: newest first");
        assert_eq!(
            all[0].advice,
            advice("rebalance"),
            "{backend}: stored as given"
        );
        let only = store.advice_for(&id, Some("goal"), 10).await.unwrap();
        assert_eq!(only.len(), 1, "{backend}");

        let decision = |d: &str| StoredDecision {
            decision: d.into(),
            actor: "wm-1".into(),
            decided_at: Utc.timestamp_millis_opt(now.timestamp_millis()).unwrap(),
            note: "ok".into(),
        };
        let (approve, reject) = (decision("approved"), decision("rejected"));
        let who = by();
        let (a, b) = tokio::join!(
            store.decide_advice(second, &approve, &who),
            store.decide_advice(second, &reject, &who)
        );
        assert!(
            a.unwrap() ^ b.unwrap(),
            "{backend}: exactly one decision lands"
        );
        let stored = store.advice(second).await.unwrap().unwrap();
        assert!(stored.decision.is_some(), "{backend}");
        assert!(
            store.advice(second + 1000).await.unwrap().is_none(),
            "{backend}"
        );

        assert!(!store.is_client("wm-1", &id).await.unwrap(), "{backend}");
        store
            .assign_client("wm-1", &id, &actor("admin"), now)
            .await
            .unwrap();
        store
            .assign_client("wm-1", &id, &actor("admin"), now)
            .await
            .unwrap();
        assert!(store.is_client("wm-1", &id).await.unwrap(), "{backend}");
        assert_eq!(
            store.clients_of("wm-1").await.unwrap(),
            vec![id.clone()],
            "{backend}"
        );
        assert!(
            store.clients_of("wm-2").await.unwrap().is_empty(),
            "{backend}"
        );
        store
            .unassign_client("wm-1", &id, &by(), Utc::now())
            .await
            .unwrap();
        assert!(!store.is_client("wm-1", &id).await.unwrap(), "{backend}");
    }
}

fn decision(id: &str, customer_id: &str) -> sextant_store::NewCreditDecision {
    sextant_store::NewCreditDecision {
        id: id.into(),
        customer_id: CustomerId::parse(customer_id).unwrap(),
        kind: "instalment_quote".into(),
        created_at: Utc.timestamp_millis_opt(1_790_000_000_000).unwrap(),
        expires_at: Some(Utc.timestamp_millis_opt(1_790_001_800_000).unwrap()),
        actor: "payment-app".into(),
        model_version: "gbm-0123456789ab".into(),
        policy_version: "policy-test".into(),
        outcome: "approved".into(),
        inputs: serde_json::json!({"x": 0.1 + 0.2}),
        output: serde_json::json!({"plans": [3, 6]}),
        applicant_age_years: Some(35),
    }
}

#[tokio::test]
async fn decisions_are_searched_and_counted_by_age_on_every_backend() {
    use sextant_store::{AgeOutcomeCount, DecisionFilter};
    for (backend, s) in all_stores().await {
        let store = &s.store;
        // Ten decisions a minute apart: c1 the even ones, approved when i % 3 != 0, aged
        // 30 + i % 2 (one without an age).
        for i in 0..10i64 {
            let mut d = decision(&format!("cq_{i}"), if i % 2 == 0 { "c1" } else { "c2" });
            d.created_at = Utc
                .timestamp_millis_opt(1_790_000_000_000 + i * 60_000)
                .unwrap();
            d.outcome = if i % 3 == 0 { "declined" } else { "approved" }.into();
            d.applicant_age_years = (i != 9).then_some(30 + (i % 2) as u32);
            store.record_credit_decision(&d, None, &by()).await.unwrap();
        }
        let ids = |page: &[sextant_store::NewCreditDecision]| {
            page.iter().map(|d| d.id.clone()).collect::<Vec<_>>()
        };
        let (page, total) = store
            .search_credit_decisions(&DecisionFilter::default(), 2, 3)
            .await
            .unwrap();
        assert_eq!(
            (ids(&page), total),
            (vec!["cq_7".into(), "cq_6".into(), "cq_5".into()], 10),
            "{backend}: newest first, paged"
        );
        let filter = DecisionFilter {
            customer: Some(CustomerId::parse("c1").unwrap()),
            outcome: Some("approved".into()),
            from: Some(
                Utc.timestamp_millis_opt(1_790_000_000_000 + 60_000)
                    .unwrap(),
            ),
            to: Some(
                Utc.timestamp_millis_opt(1_790_000_000_000 + 8 * 60_000)
                    .unwrap(),
            ),
            oldest_first: true,
            ..DecisionFilter::default()
        };
        let (page, total) = store.search_credit_decisions(&filter, 0, 50).await.unwrap();
        assert_eq!(
            (ids(&page), total),
            (vec!["cq_2".into(), "cq_4".into()], 2),
            "{backend}: every part of the filter applies"
        );

        let mut counts = store
            .outcomes_by_age(&DecisionFilter::default())
            .await
            .unwrap();
        counts.sort_by(|a, b| (a.age_years, &a.outcome).cmp(&(b.age_years, &b.outcome)));
        let count = |age: Option<u32>, outcome: &str, decisions: u64| AgeOutcomeCount {
            age_years: age,
            outcome: outcome.into(),
            decisions,
        };
        assert_eq!(
            counts,
            [
                count(None, "declined", 1),
                count(Some(30), "approved", 3),
                count(Some(30), "declined", 2),
                count(Some(31), "approved", 3),
                count(Some(31), "declined", 1),
            ],
            "{backend}"
        );
        let c2 = store
            .outcomes_by_age(&DecisionFilter {
                customer: Some(CustomerId::parse("c2").unwrap()),
                ..DecisionFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(
            c2.iter().map(|c| c.decisions).sum::<u64>(),
            5,
            "{backend}: filtered"
        );
    }
}

fn keyed(key: &str, hash: &str, plan_id: &str) -> sextant_store::IdempotentResponse {
    sextant_store::IdempotentResponse {
        caller: "service:payment-app".into(),
        key: key.into(),
        request_hash: hash.into(),
        status: 201,
        response: serde_json::json!({ "plan_id": plan_id }),
        created_at: Utc::now(),
    }
}

fn plan(id: &str, quote: &str) -> sextant_store::NewInstalmentPlan {
    sextant_store::NewInstalmentPlan {
        id: id.into(),
        quote_id: quote.into(),
        customer_id: CustomerId::parse("c1").unwrap(),
        months: 6,
        actor: "payment-app".into(),
        created_at: Utc::now(),
        plan: serde_json::json!({ "months": 6 }),
    }
}

#[tokio::test]
async fn credit_models_decisions_and_plans_on_every_backend() {
    use sextant_store::{Idempotent, StoredCreditModel};
    for (backend, s) in all_stores().await {
        let store = &s.store;
        assert_eq!(
            store.active_credit_model().await.unwrap(),
            None,
            "{backend}"
        );
        let model = |version: &str| StoredCreditModel {
            version: version.into(),
            kind: "gbm".into(),
            created_at: Utc.timestamp_millis_opt(1_790_000_000_000).unwrap(),
            actor: "test".into(),
            metrics: serde_json::json!({ "auc_mean": 0.8 }),
            artifact: "{\"big\": \"".to_owned() + &"x".repeat(200_000) + "\"}",
        };
        store
            .put_credit_model(&model("v1"), true, &by())
            .await
            .unwrap();
        store
            .put_credit_model(&model("v2"), false, &by())
            .await
            .unwrap();
        assert_eq!(
            store.active_credit_model().await.unwrap().unwrap().version,
            "v1",
            "{backend}: storing v2 without activating it leaves v1 active"
        );
        store
            .put_credit_model(&model("v2"), true, &by())
            .await
            .unwrap();
        let active = store.active_credit_model().await.unwrap().unwrap();
        assert_eq!(active, model("v2"), "{backend}: stored as given");
        assert!(
            store.credit_model("v1").await.unwrap().is_some(),
            "{backend}"
        );

        // Decisions round-trip exactly; a keyed write happens once.
        let d = decision("cq_1", "c1");
        assert_eq!(
            store.record_credit_decision(&d, None, &by()).await.unwrap(),
            Idempotent::Written
        );
        assert_eq!(
            store.credit_decision("cq_1").await.unwrap(),
            Some(d.clone())
        );
        let key = keyed("k-app-1", "h1", "ca_1");
        let d2 = decision("ca_1", "c1");
        assert_eq!(
            store
                .record_credit_decision(&d2, Some(&key), &by())
                .await
                .unwrap(),
            Idempotent::Written
        );
        let again = store
            .record_credit_decision(&decision("ca_2", "c1"), Some(&key), &by())
            .await
            .unwrap();
        assert!(
            matches!(&again, Idempotent::Replay(r) if r.response == key.response),
            "{backend}: {again:?}"
        );
        assert_eq!(
            store.credit_decision("ca_2").await.unwrap(),
            None,
            "{backend}"
        );
        assert_eq!(
            store
                .record_credit_decision(
                    &decision("ca_3", "c1"),
                    Some(&keyed("k-app-1", "other", "x")),
                    &by()
                )
                .await
                .unwrap(),
            Idempotent::KeyReused
        );
        let listed = store
            .credit_decisions_for(&CustomerId::parse("c1").unwrap(), 10)
            .await
            .unwrap();
        assert_eq!(listed.len(), 2, "{backend}");

        // A quote becomes one plan, whatever the retries and races.
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .accept_quote(
                            &plan(&format!("ip_{i}"), "cq_1"),
                            &keyed("k-acc", "h", "ip_0"),
                            &by(),
                        )
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for h in handles {
            outcomes.push(h.await.unwrap());
        }
        let written = outcomes
            .iter()
            .filter(|o| **o == Idempotent::Written)
            .count();
        assert_eq!(written, 1, "{backend}: {outcomes:?}");
        assert!(
            outcomes
                .iter()
                .all(|o| matches!(o, Idempotent::Written | Idempotent::Replay(_))),
            "{backend}: the same key gets the same answer: {outcomes:?}"
        );
        assert_eq!(
            store
                .accept_quote(&plan("ip_9", "cq_1"), &keyed("k-other", "h", "ip_9"), &by())
                .await
                .unwrap(),
            Idempotent::AlreadyAccepted,
            "{backend}"
        );
        let stored = store.instalment_plan_of("cq_1").await.unwrap().unwrap();
        assert!(stored.id.starts_with("ip_"), "{backend}");
        assert_eq!(
            store
                .idempotent_response("service:payment-app", "k-other")
                .await
                .unwrap(),
            None,
            "{backend}: a refused acceptance keeps nothing under its key"
        );
    }
}

#[tokio::test]
async fn outcome_counts_count_each_kind_on_every_backend() {
    for (backend, s) in all_stores().await {
        let store = &s.store;
        let none = store.outcome_counts("instalment_quote").await.unwrap();
        assert_eq!((none.decisions, none.approved), (0, 0), "{backend}");
        for (id, kind, outcome) in [
            ("cq_1", "instalment_quote", "approved"),
            ("cq_2", "instalment_quote", "declined"),
            ("cq_3", "instalment_quote", "approved"),
            ("ca_1", "loan_application", "declined"),
        ] {
            let mut d = decision(id, "c1");
            d.kind = kind.into();
            d.outcome = outcome.into();
            store.record_credit_decision(&d, None, &by()).await.unwrap();
        }
        let quotes = store.outcome_counts("instalment_quote").await.unwrap();
        assert_eq!((quotes.decisions, quotes.approved), (3, 2), "{backend}");
        let loans = store.outcome_counts("loan_application").await.unwrap();
        assert_eq!((loans.decisions, loans.approved), (1, 0), "{backend}");
    }
}

#[tokio::test]
async fn a_scratch_database_is_made_and_removed() {
    use sextant_store::{ScratchDatabase, SeaStore};
    // Names are checked before anything is sent to a server.
    for bad in ["", "Upper", "semi;colon", "sextant test"] {
        assert!(
            ScratchDatabase::create("postgres://nobody@127.0.0.1:1/postgres", bad)
                .await
                .is_err(),
            "{bad:?}"
        );
    }
    let Some(admin) = postgres_admin_url() else {
        return;
    };
    let name = format!("sextant_scratch_{}", std::process::id());
    let scratch = ScratchDatabase::create(&admin, &name).await.unwrap();
    let url = scratch.url.clone();
    assert!(url.ends_with(&format!("/{name}")), "{url}");
    let store = SeaStore::open(
        Some(&url),
        std::path::Path::new("."),
        std::sync::Arc::new(sextant_store::crypto::Keyring::ephemeral()),
    )
    .await
    .unwrap();
    store.ping().await.unwrap();
    drop(store);
    scratch.remove().await.unwrap();
    assert!(
        SeaStore::open(
            Some(&url),
            std::path::Path::new("."),
            std::sync::Arc::new(sextant_store::crypto::Keyring::ephemeral())
        )
        .await
        .is_err(),
        "the database is gone"
    );
}

/// PostgreSQL over TLS: `sslmode=require` encrypts, `verify-ca`/`verify-full` check the
/// server's certificate against `sslrootcert`, and refuse one they cannot verify.
#[tokio::test]
async fn postgres_connections_can_require_verified_tls() {
    let Some(admin) = postgres_admin_url() else {
        return;
    };
    let name = format!("sextant_test_tls_{}", std::process::id());
    let scratch = sextant_store::ScratchDatabase::create(&admin, &name)
        .await
        .unwrap();
    let keyring = || std::sync::Arc::new(sextant_store::crypto::Keyring::ephemeral());
    let with = |params: &str| {
        let sep = if scratch.url.contains('?') { '&' } else { '?' };
        format!("{}{sep}{params}", scratch.url)
    };
    // The local server's certificate (Debian's snakeoil) is self-signed: require encrypts
    // without checking it; verify-ca accepts it only when given as the root.
    let snakeoil = "/etc/ssl/certs/ssl-cert-snakeoil.pem";
    let tls = SeaStore::open(Some(&with("sslmode=require")), Path::new("."), keyring()).await;
    match tls {
        Ok(store) => {
            store.ping().await.unwrap();
            assert!(
                SeaStore::open(
                    Some(&with("sslmode=verify-full")),
                    Path::new("."),
                    keyring()
                )
                .await
                .is_err(),
                "a certificate that cannot be verified is refused"
            );
            // Verified in full: the certificate names `localhost` and is its own root.
            if Path::new(snakeoil).exists() && scratch.url.contains("@127.0.0.1") {
                let url = with(&format!("sslmode=verify-full&sslrootcert={snakeoil}"))
                    .replace("@127.0.0.1", "@localhost");
                let verified = SeaStore::open(Some(&url), Path::new("."), keyring()).await;
                assert!(verified.is_ok(), "{:?}", verified.err());
            }
        }
        // A server without TLS: then `require` must fail rather than fall back to clear text.
        Err(e) => assert!(
            e.to_string().to_lowercase().contains("tls")
                || e.to_string().to_lowercase().contains("ssl"),
            "{e}"
        ),
    }
}
