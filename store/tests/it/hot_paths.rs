//! The one-call reads of the hot paths (a profile refresh, a quote, an offer request) answer
//! exactly what the single-purpose reads answer, on every backend; and a bulk load of
//! assessments reads back like one-by-one records.

use chrono::{DateTime, Duration, TimeZone, Utc};
use sextant_store::prelude::*;
use sextant_store::{
    CampaignLaunch, CampaignMember, IdempotentResponse, StoredAssessment, StoredCampaign,
    StoredProfile,
};

use crate::common::{actor, by};
use crate::common::{all_stores, behaviour_at, cid, customer, holding, payment};

fn at(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(1_790_000_000_000 + ms).unwrap()
}

fn assessment(level: u8, reason: &str) -> StoredAssessment {
    StoredAssessment {
        assessed_at: at(i64::from(level)),
        level,
        willingness: level,
        willingness_source: "questionnaire".into(),
        capacity: 5,
        reason: reason.into(),
        detail: serde_json::json!({ "explanation": format!("level {level}") }),
    }
}

/// c1 with events, holdings, answers, two assessments, a profile and a running campaign's
/// membership; c2 registered and nothing else.
async fn populate(store: &dyn Store) {
    let now = Utc::now();
    store
        .put_customers(&[customer("c1"), customer("c2")], &by(), now)
        .await
        .unwrap();
    store
        .ingest(
            &[
                payment("p1", "c1", 1_250),
                behaviour_at(
                    "b1",
                    "c1",
                    "2026-05-01T12:35:00Z",
                    "product_view",
                    Some("dep-easy-access"),
                ),
                behaviour_at(
                    "b2",
                    "c1",
                    "2026-05-01T12:36:00Z",
                    "offer_click",
                    Some("dep-term-12m"),
                ),
            ],
            &by(),
            now,
        )
        .await
        .unwrap();
    store
        .upsert_holdings(&[holding("c1", "dep-easy-access", 5_000)], &by(), now)
        .await
        .unwrap();
    store
        .put_risk_answers(
            &cid("c1"),
            &serde_json::json!({"horizon": "over_10y"}),
            &actor("c1"),
            now,
        )
        .await
        .unwrap();
    for (level, reason) in [(2, "first"), (4, "answers")] {
        store
            .record_assessment(&cid("c1"), &assessment(level, reason), &by())
            .await
            .unwrap();
    }
    store
        .put_profiles(
            &[StoredProfile {
                customer_id: cid("c1"),
                feature_version: 3,
                features: vec![0.25, 1.5],
                segment: Some(1),
                embedding_model: None,
                as_of: at(0),
                computed_at: at(1),
                unconverted: Vec::new(),
            }],
            &by(),
        )
        .await
        .unwrap();
    store
        .create_campaign(
            &StoredCampaign {
                id: "cmp-1".into(),
                name: "Savings".into(),
                status: "draft".into(),
                product_id: sextant_domain::ProductId::parse("dep-term-12m").unwrap(),
                channel: "in_app".into(),
                spec: serde_json::json!({}),
                created_by: "ana".into(),
                created_at: at(0),
                updated_at: at(0),
                launched_at: None,
                launch: None,
            },
            &by(),
        )
        .await
        .unwrap();
    store
        .launch_campaign(
            &CampaignLaunch {
                campaign_id: "cmp-1".into(),
                launched_at: now,
                summary: serde_json::json!({}),
                members: vec![CampaignMember {
                    customer_id: cid("c1"),
                    arm: "treatment".into(),
                    score: 0.5,
                }],
            },
            &IdempotentResponse {
                caller: "marketer:ana".into(),
                key: "k1".into(),
                request_hash: "h1".into(),
                status: 201,
                response: serde_json::json!({}),
                created_at: now,
            },
            &actor("ana"),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn hot_path_reads_agree_with_the_single_reads_on_every_backend() {
    for (backend, s) in all_stores().await {
        let store = s.store.as_ref();
        populate(store).await;
        let c1 = cid("c1");
        let since = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();

        let refresh = store.refresh_inputs(&c1, since).await.unwrap().unwrap();
        let history = store.history(&c1, since).await.unwrap().unwrap();
        assert_eq!(refresh.history.customer, history.customer, "{backend}");
        assert_eq!(refresh.history.payments, history.payments, "{backend}");
        assert_eq!(refresh.history.behaviour, history.behaviour, "{backend}");
        assert_eq!(refresh.history.holdings, history.holdings, "{backend}");
        assert_eq!(
            refresh.answers,
            store.latest_risk_answers(&c1).await.unwrap(),
            "{backend}"
        );
        assert_eq!(
            refresh.last_assessment.as_ref().map(|a| a.level),
            Some(4),
            "{backend}: the newest assessment"
        );

        let quote = store.quote_inputs(&c1).await.unwrap().unwrap();
        assert_eq!(quote.customer, customer("c1"), "{backend}");
        assert_eq!(
            quote.profile,
            store.profile(&c1).await.unwrap(),
            "{backend}"
        );
        assert_eq!(
            quote.newest_event_at,
            store.last_received_at(&c1).await.unwrap(),
            "{backend}"
        );
        assert!(quote.newest_event_at.is_some(), "{backend}");

        let offer = store.offer_inputs(&c1, since, 100).await.unwrap().unwrap();
        assert_eq!(offer.customer, customer("c1"), "{backend}");
        assert_eq!(offer.profile, quote.profile, "{backend}");
        assert_eq!(offer.risk_level, Some(4), "{backend}");
        assert_eq!(
            offer.holdings,
            store.holdings(&c1).await.unwrap(),
            "{backend}"
        );
        assert_eq!(
            offer.memberships,
            store.memberships(&c1).await.unwrap(),
            "{backend}"
        );
        assert_eq!(offer.memberships.len(), 1, "{backend}");
        assert_eq!(
            offer.interactions,
            store.offer_interactions(&c1, since, 100).await.unwrap(),
            "{backend}"
        );
        assert_eq!(offer.interactions.len(), 2, "{backend}");
        assert!(
            store
                .offer_inputs(&c1, Utc::now() + Duration::days(1), 100)
                .await
                .unwrap()
                .unwrap()
                .interactions
                .is_empty(),
            "{backend}: interactions start at the requested time"
        );

        // A customer with nothing but a registration, and one who does not exist.
        let c2 = cid("c2");
        let bare = store.offer_inputs(&c2, since, 100).await.unwrap().unwrap();
        assert!(
            bare.profile.is_none() && bare.risk_level.is_none() && bare.holdings.is_empty(),
            "{backend}"
        );
        assert!(store
            .refresh_inputs(&c2, since)
            .await
            .unwrap()
            .unwrap()
            .last_assessment
            .is_none());
        let ghost = cid("ghost");
        assert!(store.refresh_inputs(&ghost, since).await.unwrap().is_none());
        assert!(store.quote_inputs(&ghost).await.unwrap().is_none());
        assert!(store
            .offer_inputs(&ghost, since, 100)
            .await
            .unwrap()
            .is_none());
    }
}

#[tokio::test]
async fn a_bulk_load_of_assessments_reads_back_like_single_records_on_every_backend() {
    for (backend, s) in all_stores().await {
        let store = s.store.as_ref();
        store
            .put_customers(&[customer("c1"), customer("c2")], &by(), Utc::now())
            .await
            .unwrap();
        let loaded = vec![
            (cid("c1"), assessment(2, "first")),
            (cid("c2"), assessment(3, "first")),
            (cid("c1"), assessment(5, "history")),
        ];
        store.record_assessments(&loaded, &by()).await.unwrap();
        store.record_assessments(&[], &by()).await.unwrap();
        assert_eq!(
            store.assessments(&cid("c1"), 10).await.unwrap(),
            vec![loaded[2].1.clone(), loaded[0].1.clone()],
            "{backend}: newest first"
        );
        assert_eq!(
            store.assessments(&cid("c2"), 10).await.unwrap(),
            vec![loaded[1].1.clone()],
            "{backend}"
        );
    }
}
