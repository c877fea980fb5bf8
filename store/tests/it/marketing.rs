//! The storage suite for marketing: catalogue and audience versions, campaigns, launches,
//! members, delivery events and outcomes, the pages audiences are evaluated over and the
//! offer models. Every test runs on each store of `all_stores()`.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use sextant_domain::{
    AmountMinor, Currency, Customer, Holding, Product, ProductId, ProductKind, RiskLevel,
};
use sextant_store::prelude::*;
use sextant_store::{
    CampaignEvent, CampaignLaunch, CampaignMember, CampaignStatusChange, Idempotent,
    IdempotentResponse, ProductVersion, StoreError, StoredAssessment, StoredAudience,
    StoredCampaign, StoredOfferModel, StoredProfile,
};

use crate::common::{actor, by};
use crate::common::{all_stores, behaviour_at, cid, customer};

fn at(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(1_790_000_000_000 + ms).unwrap()
}

fn product(id: &str, name: &str) -> Product {
    Product {
        id: ProductId::parse(id).unwrap(),
        kind: ProductKind::Fund,
        name: name.into(),
        risk_level: RiskLevel::new(3).unwrap(),
        currency: Currency::parse("EUR").unwrap(),
        min_amount_minor: 10_000,
        term_months: None,
        rate_bps: None,
        fee_bps: Some(35),
        asset_class: Some("global_equity".into()),
    }
}

fn version(product: Product, version: u32) -> ProductVersion {
    ProductVersion {
        product,
        version,
        eligibility: Some("age >= 18".into()),
        terms: Some("Capital at risk.".into()),
        active: true,
        actor: "marketer:ana".into(),
        created_at: at(i64::from(version)),
    }
}

fn audience(id: &str, version: u32, kind: &str) -> StoredAudience {
    StoredAudience {
        id: id.into(),
        version,
        name: format!("{id} v{version}"),
        kind: kind.into(),
        definition: serde_json::json!({ "rule": format!("segment = {version}") }),
        actor: "marketer:ana".into(),
        created_at: at(i64::from(version)),
    }
}

fn campaign(id: &str, created: i64) -> StoredCampaign {
    StoredCampaign {
        id: id.into(),
        name: format!("Campaign {id}"),
        status: "draft".into(),
        product_id: ProductId::parse("dep-easy-access").unwrap(),
        channel: "email".into(),
        spec: serde_json::json!({ "audience": "a1", "holdout": 0.1 }),
        created_by: "marketer:ana".into(),
        created_at: at(created),
        updated_at: at(created),
        launched_at: None,
        launch: None,
    }
}

fn member(id: &str, arm: &str, score: f64) -> CampaignMember {
    CampaignMember {
        customer_id: cid(id),
        arm: arm.into(),
        score,
    }
}

fn launch(campaign_id: &str, launched: i64, members: Vec<CampaignMember>) -> CampaignLaunch {
    CampaignLaunch {
        campaign_id: campaign_id.into(),
        launched_at: at(launched),
        summary: serde_json::json!({ "members": members.len() }),
        members,
    }
}

fn keyed(key: &str, hash: &str) -> IdempotentResponse {
    IdempotentResponse {
        caller: "staff:ana".into(),
        key: key.into(),
        request_hash: hash.into(),
        status: 200,
        response: serde_json::json!({ "launched": hash }),
        created_at: at(0),
    }
}

fn delivery(event_id: &str, customer_id: &str, kind: &str) -> CampaignEvent {
    CampaignEvent {
        event_id: event_id.into(),
        customer_id: cid(customer_id),
        kind: kind.into(),
        occurred_at: at(1_000),
    }
}

/// Every member of a campaign, read page by page.
async fn all_members(store: &Arc<dyn Store>, campaign_id: &str, page: u64) -> Vec<CampaignMember> {
    let mut members: Vec<CampaignMember> = Vec::new();
    loop {
        let after = members.last().map(|m| m.customer_id.to_string());
        let next = store
            .campaign_members(campaign_id, None, after.as_deref(), page)
            .await
            .unwrap();
        if next.is_empty() {
            return members;
        }
        members.extend(next);
    }
}

#[tokio::test]
async fn product_versions_follow_one_another_on_every_backend() {
    for (backend, s) in all_stores().await {
        let store = &s.store;
        let built_in = store.catalogue().await.unwrap();
        assert!(!built_in.is_empty(), "{backend}");
        assert!(
            built_in.iter().all(|v| v.version == 0 && v.active),
            "{backend}: an unedited catalogue reads as version 0"
        );
        let first = built_in[0].clone();
        let id = first.product.id.clone();
        assert_eq!(
            store.product_versions(&id).await.unwrap(),
            vec![first.clone()],
            "{backend}"
        );

        let mut edited = first.product.clone();
        edited.name = "Renamed".into();
        for wrong in [0, 2] {
            assert!(
                matches!(
                    store
                        .put_product_version(&version(edited.clone(), wrong), &by())
                        .await,
                    Err(StoreError::Conflict(_))
                ),
                "{backend}: version {wrong} does not follow 0"
            );
        }
        store
            .put_product_version(&version(edited.clone(), 1), &by())
            .await
            .unwrap();
        assert!(
            matches!(
                store
                    .put_product_version(&version(edited.clone(), 1), &by())
                    .await,
                Err(StoreError::Conflict(_))
            ),
            "{backend}: version 1 exists"
        );
        let catalogue = store.catalogue().await.unwrap();
        assert_eq!(catalogue.len(), built_in.len(), "{backend}");
        assert_eq!(catalogue[0], version(edited.clone(), 1), "{backend}");
        assert!(catalogue[1..].iter().all(|v| v.version == 0), "{backend}");
        let products = store.products().await.unwrap();
        assert_eq!(
            products.iter().find(|p| p.id == id).unwrap().name,
            "Renamed",
            "{backend}: the products row follows the newest version"
        );

        // A new product starts at 1 and joins the catalogue in id order.
        let new = product("zz-fund-new", "New fund");
        store
            .put_product_version(&version(new.clone(), 1), &by())
            .await
            .unwrap();
        let mut retired = version(new.clone(), 2);
        retired.active = false;
        retired.eligibility = None;
        store.put_product_version(&retired, &by()).await.unwrap();
        let catalogue = store.catalogue().await.unwrap();
        assert_eq!(catalogue.last(), Some(&retired), "{backend}");
        assert_eq!(
            store.product_versions(&new.id).await.unwrap(),
            vec![version(new.clone(), 1), retired.clone()],
            "{backend}: oldest first"
        );
        assert!(
            store
                .products()
                .await
                .unwrap()
                .iter()
                .any(|p| p.id == new.id),
            "{backend}"
        );

        // Concurrent writers of the same next version: one wins, the others conflict.
        let tasks: Vec<_> = (0..4)
            .map(|i| {
                let store = store.clone();
                let mut p = new.clone();
                p.name = format!("writer {i}");
                tokio::spawn(async move { store.put_product_version(&version(p, 3), &by()).await })
            })
            .collect();
        let mut written = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(()) => written += 1,
                Err(StoreError::Conflict(_)) => {}
                Err(other) => panic!("{backend}: {other:?}"),
            }
        }
        assert_eq!(written, 1, "{backend}");
        let versions = store.product_versions(&new.id).await.unwrap();
        assert_eq!(
            versions.iter().map(|v| v.version).collect::<Vec<_>>(),
            vec![1, 2, 3],
            "{backend}"
        );
        assert_eq!(
            store
                .products()
                .await
                .unwrap()
                .into_iter()
                .find(|p| p.id == new.id)
                .unwrap()
                .name,
            versions[2].product.name,
            "{backend}: the winner's fields are the catalogue's"
        );
    }
}

#[tokio::test]
async fn audiences_are_versioned_on_every_backend() {
    for (backend, s) in all_stores().await {
        let store = &s.store;
        assert_eq!(store.audience("a1", None).await.unwrap(), None, "{backend}");
        assert!(
            matches!(
                store.put_audience(&audience("a1", 2, "rule"), &by()).await,
                Err(StoreError::Conflict(_))
            ),
            "{backend}: a new audience starts at 1"
        );
        store
            .put_audience(&audience("a1", 1, "rule"), &by())
            .await
            .unwrap();
        store
            .put_audience(&audience("a1", 2, "lookalike"), &by())
            .await
            .unwrap();
        store
            .put_audience(&audience("a2", 1, "rule"), &by())
            .await
            .unwrap();
        for wrong in [1, 2, 4] {
            assert!(
                matches!(
                    store
                        .put_audience(&audience("a1", wrong, "rule"), &by())
                        .await,
                    Err(StoreError::Conflict(_))
                ),
                "{backend}: version {wrong}"
            );
        }
        assert_eq!(
            store.audience("a1", None).await.unwrap(),
            Some(audience("a1", 2, "lookalike")),
            "{backend}: the newest"
        );
        assert_eq!(
            store.audience("a1", Some(1)).await.unwrap(),
            Some(audience("a1", 1, "rule")),
            "{backend}"
        );
        assert_eq!(store.audience("a1", Some(3)).await.unwrap(), None);
        assert_eq!(
            store.audiences(None).await.unwrap(),
            vec![audience("a1", 2, "lookalike"), audience("a2", 1, "rule")],
            "{backend}: newest of each, in id order"
        );
        assert_eq!(
            store.audiences(Some("rule")).await.unwrap(),
            vec![audience("a2", 1, "rule")],
            "{backend}: a1's newest version is a lookalike"
        );
        assert_eq!(
            store.audience_versions("a1").await.unwrap(),
            vec![audience("a1", 1, "rule"), audience("a1", 2, "lookalike")],
            "{backend}"
        );

        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(
                    async move { store.put_audience(&audience("a3", 1, "rule"), &by()).await },
                )
            })
            .collect();
        let mut written = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(()) => written += 1,
                Err(StoreError::Conflict(_)) => {}
                Err(other) => panic!("{backend}: {other:?}"),
            }
        }
        assert_eq!(written, 1, "{backend}");
    }
}

#[tokio::test]
async fn campaigns_move_through_their_statuses_on_every_backend() {
    for (backend, s) in all_stores().await {
        let store = &s.store;
        store
            .create_campaign(&campaign("cmp-1", 0), &by())
            .await
            .unwrap();
        store
            .create_campaign(&campaign("cmp-2", 10), &by())
            .await
            .unwrap();
        assert!(
            matches!(
                store.create_campaign(&campaign("cmp-1", 20), &by()).await,
                Err(StoreError::Conflict(_))
            ),
            "{backend}"
        );
        assert_eq!(
            store.campaign("cmp-1").await.unwrap(),
            Some(campaign("cmp-1", 0)),
            "{backend}: round trip"
        );
        assert_eq!(store.campaign("nope").await.unwrap(), None);
        let ids = |list: Vec<StoredCampaign>| list.into_iter().map(|c| c.id).collect::<Vec<_>>();
        assert_eq!(
            ids(store.campaigns(None, 10).await.unwrap()),
            ["cmp-2", "cmp-1"],
            "{backend}: newest first"
        );
        assert_eq!(ids(store.campaigns(None, 1).await.unwrap()), ["cmp-2"]);

        assert!(
            !store
                .set_campaign_status("cmp-1", &["running"], "paused", &actor("ana"), at(30))
                .await
                .unwrap(),
            "{backend}: a draft is not running"
        );
        assert!(
            !store
                .set_campaign_status("nope", &["draft"], "stopped", &actor("ana"), at(30))
                .await
                .unwrap(),
            "{backend}"
        );
        assert!(
            store
                .set_campaign_status(
                    "cmp-2",
                    &["draft", "running"],
                    "stopped",
                    &actor("ana"),
                    at(40)
                )
                .await
                .unwrap(),
            "{backend}"
        );
        let stopped = store.campaign("cmp-2").await.unwrap().unwrap();
        assert_eq!(
            (stopped.status.as_str(), stopped.updated_at),
            ("stopped", at(40)),
            "{backend}"
        );
        assert_eq!(
            ids(store.campaigns(Some("stopped"), 10).await.unwrap()),
            ["cmp-2"]
        );
        assert_eq!(
            ids(store.campaigns(Some("draft"), 10).await.unwrap()),
            ["cmp-1"]
        );

        let outcome = store
            .launch_campaign(
                &launch("cmp-1", 50, vec![]),
                &keyed("k", "h"),
                &actor("marketer:ana"),
            )
            .await
            .unwrap();
        assert_eq!(outcome, Idempotent::Written, "{backend}");
        for (from, to, moved) in [
            (&["draft"][..], "stopped", false),
            (&["running"][..], "paused", true),
            (&["running"][..], "stopped", false),
            (&["running", "paused"][..], "stopped", true),
        ] {
            assert_eq!(
                store
                    .set_campaign_status("cmp-1", from, to, &actor("ana"), at(60))
                    .await
                    .unwrap(),
                moved,
                "{backend}: {from:?} -> {to}"
            );
        }
        assert_eq!(
            store.campaign("cmp-1").await.unwrap().unwrap().status,
            "stopped"
        );
        // Every move is in the status log, the launch included.
        let moves: Vec<(String, String, String)> = store
            .campaign_status_log("cmp-1")
            .await
            .unwrap()
            .into_iter()
            .map(
                |CampaignStatusChange {
                     from, to, actor, ..
                 }| (from, to, actor),
            )
            .collect();
        let expected = [
            ("draft", "running", "marketer:ana"),
            ("running", "paused", "ana"),
            ("paused", "stopped", "ana"),
        ]
        .map(|(a, b, c)| (a.to_owned(), b.to_owned(), c.to_owned()));
        assert_eq!(moves, expected, "{backend}");
    }
}

#[tokio::test]
async fn a_launch_happens_once_on_every_backend() {
    for (backend, s) in all_stores().await {
        let store = &s.store;
        store
            .create_campaign(&campaign("cmp-1", 0), &by())
            .await
            .unwrap();
        let members: Vec<CampaignMember> = (0..10)
            .map(|i| {
                let arm = if i % 5 == 0 { "holdout" } else { "treatment" };
                member(&format!("c{i:02}"), arm, f64::from(i) / 10.0)
            })
            .collect();
        let first = launch("cmp-1", 100, members.clone());
        let key = keyed("k-1", "h-1");
        assert_eq!(
            store
                .launch_campaign(&first, &key, &actor("marketer:ana"))
                .await
                .unwrap(),
            Idempotent::Written,
            "{backend}"
        );
        let again = store
            .launch_campaign(&first, &key, &actor("marketer:ana"))
            .await
            .unwrap();
        assert!(
            matches!(&again, Idempotent::Replay(r) if r.response == key.response),
            "{backend}: {again:?}"
        );
        assert_eq!(
            store
                .launch_campaign(&first, &keyed("k-1", "other"), &actor("marketer:ana"))
                .await
                .unwrap(),
            Idempotent::KeyReused,
            "{backend}"
        );
        assert_eq!(
            store
                .launch_campaign(
                    &launch("cmp-1", 200, vec![]),
                    &keyed("k-2", "h-2"),
                    &actor("marketer:ana")
                )
                .await
                .unwrap(),
            Idempotent::AlreadyAccepted,
            "{backend}: launched before under another key"
        );
        assert_eq!(
            store.idempotent_response("staff:ana", "k-2").await.unwrap(),
            None,
            "{backend}: a refused launch keeps nothing under its key"
        );
        let launched = store.campaign("cmp-1").await.unwrap().unwrap();
        assert_eq!(launched.status, "running", "{backend}");
        assert_eq!(launched.launched_at, Some(at(100)), "{backend}");
        assert_eq!(
            launched.launch,
            Some(serde_json::json!({ "members": 10 })),
            "{backend}"
        );

        // Members page in customer id order, optionally by arm.
        assert_eq!(all_members(store, "cmp-1", 4).await, members, "{backend}");
        let holdout = store
            .campaign_members("cmp-1", Some("holdout"), None, 10)
            .await
            .unwrap();
        assert_eq!(
            holdout,
            vec![members[0].clone(), members[5].clone()],
            "{backend}"
        );
        let after = store
            .campaign_members("cmp-1", Some("treatment"), Some("c05"), 2)
            .await
            .unwrap();
        assert_eq!(
            after,
            vec![members[6].clone(), members[7].clone()],
            "{backend}"
        );

        // Four identical concurrent launches write one set of members.
        store
            .create_campaign(&campaign("cmp-2", 10), &by())
            .await
            .unwrap();
        let many: Vec<CampaignMember> = (0..5_000)
            .map(|i| member(&format!("m{i:05}"), "treatment", 0.5))
            .collect();
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let store = store.clone();
                let launch = launch("cmp-2", 300, many.clone());
                tokio::spawn(async move {
                    store
                        .launch_campaign(&launch, &keyed("k-3", "h-3"), &actor("marketer:ana"))
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await.unwrap());
        }
        assert_eq!(
            outcomes
                .iter()
                .filter(|o| **o == Idempotent::Written)
                .count(),
            1,
            "{backend}: {outcomes:?}"
        );
        assert!(
            outcomes
                .iter()
                .all(|o| matches!(o, Idempotent::Written | Idempotent::Replay(_))),
            "{backend}: {outcomes:?}"
        );
        assert_eq!(all_members(store, "cmp-2", 2_000).await, many, "{backend}");
    }
}

#[tokio::test]
async fn contact_counts_and_memberships_on_every_backend() {
    for (backend, s) in all_stores().await {
        let store = &s.store;
        for (id, created) in [("cmp-a", 0), ("cmp-b", 1), ("cmp-c", 2)] {
            store
                .create_campaign(&campaign(id, created), &by())
                .await
                .unwrap();
        }
        let launches = [
            (
                "cmp-a",
                100,
                vec![member("c1", "treatment", 0.9), member("c2", "holdout", 0.8)],
            ),
            (
                "cmp-b",
                200,
                vec![
                    member("c1", "treatment", 0.7),
                    member("c2", "treatment", 0.6),
                ],
            ),
            ("cmp-c", 300, vec![member("c1", "holdout", 0.5)]),
        ];
        for (id, launched, members) in launches {
            let outcome = store
                .launch_campaign(
                    &launch(id, launched, members),
                    &keyed(id, id),
                    &actor("marketer:ana"),
                )
                .await
                .unwrap();
            assert_eq!(outcome, Idempotent::Written, "{backend}");
        }
        let counts = store.contact_counts(at(0)).await.unwrap();
        assert_eq!(counts.len(), 2, "{backend}: {counts:?}");
        assert_eq!((counts["c1"], counts["c2"]), (2, 1), "{backend}");
        let counts = store.contact_counts(at(150)).await.unwrap();
        assert_eq!((counts["c1"], counts["c2"]), (1, 1), "{backend}");
        assert!(
            store.contact_counts(at(250)).await.unwrap().is_empty(),
            "{backend}: holdouts are not contacted"
        );

        store
            .set_campaign_status("cmp-b", &["running"], "paused", &actor("ana"), at(400))
            .await
            .unwrap();
        store
            .set_campaign_status("cmp-c", &["running"], "stopped", &actor("ana"), at(400))
            .await
            .unwrap();
        let memberships = store.memberships(&cid("c1")).await.unwrap();
        let seen: Vec<_> = memberships
            .iter()
            .map(|m| (m.campaign_id.as_str(), m.status.as_str(), m.arm.as_str()))
            .collect();
        assert_eq!(
            seen,
            [
                ("cmp-b", "paused", "treatment"),
                ("cmp-a", "running", "treatment")
            ],
            "{backend}: newest first, stopped campaigns left out"
        );
        assert_eq!(memberships[0].assigned_at, at(200), "{backend}");
        assert_eq!(memberships[0].channel, "email", "{backend}");
        assert_eq!(
            memberships[0].product_id.as_str(),
            "dep-easy-access",
            "{backend}"
        );
        assert!(store.memberships(&cid("c9")).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn campaign_events_are_all_or_nothing_on_every_backend() {
    for (backend, s) in all_stores().await {
        let store = &s.store;
        for id in ["cmp-1", "cmp-2"] {
            store
                .create_campaign(&campaign(id, 0), &by())
                .await
                .unwrap();
        }
        let members = vec![
            member("c1", "treatment", 0.9),
            member("c2", "treatment", 0.5),
            member("c3", "holdout", 0.7),
        ];
        store
            .launch_campaign(
                &launch("cmp-1", 100, members),
                &keyed("k1", "h1"),
                &actor("marketer:ana"),
            )
            .await
            .unwrap();
        store
            .launch_campaign(
                &launch("cmp-2", 100, vec![member("c1", "treatment", 0.1)]),
                &keyed("k2", "h2"),
                &actor("marketer:ana"),
            )
            .await
            .unwrap();

        let batch = vec![
            delivery("e1", "c1", "sent"),
            delivery("e2", "c1", "converted"),
            delivery("e3", "c2", "delivered"),
            delivery("e1", "c1", "sent"),
        ];
        let first = store
            .record_campaign_events("cmp-1", &batch, &by())
            .await
            .unwrap();
        assert_eq!(
            (first.stored, first.duplicates),
            (3, vec![3]),
            "{backend}: an in-batch repeat is a duplicate"
        );
        let again = store
            .record_campaign_events(
                "cmp-1",
                &[delivery("e4", "c2", "opened"), batch[0].clone()],
                &by(),
            )
            .await
            .unwrap();
        assert_eq!((again.stored, again.duplicates), (1, vec![1]), "{backend}");
        // Event ids are per campaign.
        let other = store
            .record_campaign_events("cmp-2", &[delivery("e1", "c1", "bounced")], &by())
            .await
            .unwrap();
        assert_eq!(other.stored, 1, "{backend}");

        match store
            .record_campaign_events(
                "cmp-1",
                &[
                    delivery("e5", "c3", "converted"),
                    delivery("e1", "c1", "opened"),
                ],
                &by(),
            )
            .await
        {
            Err(StoreError::EventIdReused(ix)) => assert_eq!(ix, vec![1], "{backend}"),
            other => panic!("{backend}: {other:?}"),
        }
        match store
            .record_campaign_events(
                "cmp-1",
                &[
                    delivery("e5", "c3", "converted"),
                    delivery("e6", "c9", "sent"),
                ],
                &by(),
            )
            .await
        {
            Err(StoreError::UnknownCustomers(ix)) => assert_eq!(ix, vec![1], "{backend}"),
            other => panic!("{backend}: {other:?}"),
        }
        match store
            .record_campaign_events("cmp-9", &[delivery("e7", "c1", "sent")], &by())
            .await
        {
            Err(StoreError::UnknownCustomers(ix)) => assert_eq!(ix, vec![0], "{backend}"),
            other => panic!("{backend}: {other:?}"),
        }

        // Nothing of the refused batches landed: c3 has not converted.
        let outcomes = store.campaign_outcomes("cmp-1").await.unwrap();
        let seen: Vec<_> = outcomes
            .iter()
            .map(|o| {
                (
                    o.customer_id.as_str(),
                    o.arm.as_str(),
                    o.reached,
                    o.converted,
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("c1", "treatment", true, true),
                ("c2", "treatment", true, false),
                ("c3", "holdout", false, false),
            ],
            "{backend}"
        );
        assert_eq!(outcomes[0].score, 0.9, "{backend}");
        let outcomes = store.campaign_outcomes("cmp-2").await.unwrap();
        assert_eq!(outcomes.len(), 1, "{backend}");
        assert!(
            !outcomes[0].reached && !outcomes[0].converted,
            "{backend}: a bounce reaches no one"
        );
        assert!(store.campaign_outcomes("cmp-9").await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn offer_interactions_on_every_backend() {
    for (backend, s) in all_stores().await {
        let store = &s.store;
        store
            .put_customers(&[customer("c1"), customer("c2")], &by(), Utc::now())
            .await
            .unwrap();
        let event = |id: &str, customer: &str, minute: u32, kind: &str, product: Option<&str>| {
            behaviour_at(
                id,
                customer,
                &format!("2026-05-01T12:{minute:02}:00Z"),
                kind,
                product,
            )
        };
        let events = vec![
            event("b1", "c1", 1, "product_view", Some("dep-easy-access")),
            event("b2", "c1", 2, "offer_impression", Some("dep-easy-access")),
            event("b3", "c1", 3, "offer_click", Some("dep-term-12m")),
            event("b4", "c1", 4, "offer_dismiss", None),
            event("b5", "c1", 5, "app_open", None),
            event("b6", "c1", 6, "offer_conversion", Some("dep-term-12m")),
            event("b7", "c2", 7, "product_view", Some("dep-easy-access")),
        ];
        store.ingest(&events, &by(), Utc::now()).await.unwrap();
        let since = Utc.with_ymd_and_hms(2026, 5, 1, 12, 2, 0).unwrap();
        let seen = store
            .offer_interactions(&cid("c1"), since, 10)
            .await
            .unwrap();
        let kinds: Vec<_> = seen
            .iter()
            .map(|i| (i.kind.as_str(), i.product_id.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("offer_conversion", "dep-term-12m"),
                ("offer_click", "dep-term-12m"),
                ("offer_impression", "dep-easy-access"),
            ],
            "{backend}: newest first, since, offer kinds naming a product"
        );
        assert_eq!(
            seen[0].occurred_at,
            Utc.with_ymd_and_hms(2026, 5, 1, 12, 6, 0).unwrap()
        );
        assert_eq!(
            store
                .offer_interactions(&cid("c1"), since, 1)
                .await
                .unwrap()
                .len(),
            1,
            "{backend}"
        );
    }
}

#[tokio::test]
async fn marketing_rows_page_through_everyone_on_every_backend() {
    for (backend, s) in all_stores().await {
        let store = &s.store;
        let ids = ["c1", "c2", "c3", "c4", "c5"];
        let customers: Vec<Customer> = ids.iter().map(|id| customer(id)).collect();
        store
            .put_customers(&customers, &by(), Utc::now())
            .await
            .unwrap();
        let profile = |id: &str, x: f64| StoredProfile {
            customer_id: cid(id),
            feature_version: 3,
            features: vec![x, 1.5],
            segment: Some(2),
            embedding_model: Some("emb-1".into()),
            as_of: at(0),
            computed_at: at(1),
            unconverted: Vec::new(),
        };
        store
            .put_profiles(&[profile("c2", 0.25), profile("c3", 0.5)], &by())
            .await
            .unwrap();
        let assessment = |level: u8| StoredAssessment {
            assessed_at: at(i64::from(level)),
            level,
            willingness: level,
            willingness_source: "questionnaire".into(),
            capacity: 5,
            reason: "answers".into(),
            detail: serde_json::json!({}),
        };
        for (id, level) in [("c2", 2), ("c3", 1), ("c2", 4), ("c5", 3)] {
            store
                .record_assessment(&cid(id), &assessment(level), &by())
                .await
                .unwrap();
        }
        let holding = |id: &str, product: &str| Holding {
            customer_id: cid(id),
            product_id: ProductId::parse(product).unwrap(),
            value: AmountMinor::new(1_000).unwrap(),
            currency: Currency::parse("EUR").unwrap(),
            opened_at: at(0),
        };
        store
            .upsert_holdings(
                &[
                    holding("c3", "dep-term-12m"),
                    holding("c3", "dep-easy-access"),
                    holding("c4", "dep-easy-access"),
                ],
                &by(),
                Utc::now(),
            )
            .await
            .unwrap();

        let mut rows = Vec::new();
        let mut pages = 0;
        loop {
            let after = rows
                .last()
                .map(|r: &sextant_store::MarketingRow| r.customer.id.clone());
            let page = store.marketing_rows(after.as_ref(), 2).await.unwrap();
            if page.is_empty() {
                break;
            }
            assert!(page.len() <= 2, "{backend}");
            pages += 1;
            rows.extend(page);
        }
        assert_eq!(pages, 3, "{backend}");
        assert_eq!(
            rows.iter().map(|r| r.customer.clone()).collect::<Vec<_>>(),
            customers,
            "{backend}: everyone once, in id order"
        );
        let risk: Vec<_> = rows.iter().map(|r| r.risk_level).collect();
        assert_eq!(
            risk,
            [None, Some(4), Some(1), None, Some(3)],
            "{backend}: the newest assessment"
        );
        assert_eq!(rows[1].profile, Some(profile("c2", 0.25)), "{backend}");
        assert_eq!(rows[2].profile, Some(profile("c3", 0.5)), "{backend}");
        assert!(rows[0].profile.is_none() && rows[3].profile.is_none());
        let held: Vec<Vec<&str>> = rows
            .iter()
            .map(|r| r.held.iter().map(|p| p.as_str()).collect())
            .collect();
        assert_eq!(
            held,
            [
                vec![],
                vec![],
                vec!["dep-easy-access", "dep-term-12m"],
                vec!["dep-easy-access"],
                vec![],
            ],
            "{backend}"
        );
        let tail = store.marketing_rows(Some(&cid("c3")), 100).await.unwrap();
        assert_eq!(tail.len(), 2, "{backend}");

        // By id: the same rows, in id order, an unknown id without one.
        let some = store
            .marketing_rows_of(&[cid("c3"), cid("zz"), cid("c2"), cid("c3")])
            .await
            .unwrap();
        assert_eq!(some, rows[1..3].to_vec(), "{backend}");

        // The change feed names the customers each committed write touched.
        use sextant_store::{ConsentScope, MarketingChanges};
        let changed_by = |since: u64| match store.marketing_changes(since) {
            MarketingChanges::Customers { ids, head } => {
                (ids.iter().map(|c| c.to_string()).collect::<Vec<_>>(), head)
            }
            MarketingChanges::Everything { .. } => panic!("{backend}: a short feed lists ids"),
        };
        let start = store.marketing_head();
        assert_eq!(changed_by(start), (vec![], start), "{backend}");
        store
            .set_consents(
                &cid("c4"),
                &[(ConsentScope::Profiling, false)],
                &by(),
                Utc::now(),
            )
            .await
            .unwrap();
        store
            .put_profiles(&[profile("c1", 0.75)], &by())
            .await
            .unwrap();
        store
            .record_assessment(&cid("c5"), &assessment(2), &by())
            .await
            .unwrap();
        store
            .replace_holdings(&cid("c3"), &[], &by(), Utc::now())
            .await
            .unwrap();
        store
            .erase_customer(&cid("c2"), &by(), Utc::now())
            .await
            .unwrap();
        let (ids, head) = changed_by(start);
        assert_eq!(ids, ["c1", "c2", "c3", "c4", "c5"], "{backend}");
        assert_eq!(changed_by(head), (vec![], head), "{backend}");
        let reread = store
            .marketing_rows_of(&[cid("c2"), cid("c3")])
            .await
            .unwrap();
        assert_eq!(reread.len(), 1, "{backend}: c2 is erased");
        assert!(reread[0].held.is_empty(), "{backend}");
        // New segments touch everyone's profile: the feed says so instead of listing them.
        store
            .replace_segments(&[], &[(cid("c1"), 1)], &by())
            .await
            .unwrap();
        assert!(
            matches!(
                store.marketing_changes(head),
                MarketingChanges::Everything { .. }
            ),
            "{backend}"
        );
    }
}

#[tokio::test]
async fn the_newest_offer_model_is_active_on_every_backend() {
    for (backend, s) in all_stores().await {
        let store = &s.store;
        assert_eq!(store.active_offer_model().await.unwrap(), None, "{backend}");
        let model = |version: &str, created: i64| StoredOfferModel {
            version: version.into(),
            created_at: at(created),
            actor: "marketer:ana".into(),
            metrics: serde_json::json!({ "auc": 0.71 }),
            artifact: [
                &[0u8, 255, 128][..],
                version.as_bytes(),
                &vec![7u8; 100_000],
            ]
            .concat(),
        };
        store.put_offer_model(&model("v1", 1), &by()).await.unwrap();
        assert_eq!(
            store.active_offer_model().await.unwrap(),
            Some(model("v1", 1)),
            "{backend}: stored as given"
        );
        store.put_offer_model(&model("v2", 2), &by()).await.unwrap();
        assert_eq!(
            store.active_offer_model().await.unwrap().unwrap().version,
            "v2",
            "{backend}"
        );
        // Storing v1 again activates it again; the version keeps its first content.
        store.put_offer_model(&model("v1", 3), &by()).await.unwrap();
        assert_eq!(
            store.active_offer_model().await.unwrap(),
            Some(model("v1", 1)),
            "{backend}"
        );
    }
}
