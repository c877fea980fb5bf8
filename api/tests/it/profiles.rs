//! Profiles, risk questionnaire, similar customers and segments through the HTTP API.

use axum::http::StatusCode;
use chrono::{Duration, Utc};
use serde_json::{json, Value};
use sextant_api::auth::Role;
use sextant_models::embedding::EmbeddingConfig;
use sextant_services::records::format_timestamp;
use sextant_store::Actor;

use crate::common::{batch, spawn_app, token, TestApp};

/// A recent salary and a few purchases, so every window has something in it.
pub fn recent_payments(customer: &str, tag: &str, n: i64) -> Vec<Value> {
    let now = Utc::now();
    let mut events = vec![json!({
        "type": "payment", "event_id": format!("{tag}-salary"), "customer_id": customer,
        "occurred_at": format_timestamp(now - Duration::days(20)), "amount_minor": 250000, "currency": "EUR",
        "direction": "credit", "kind": "salary", "channel": "p2p", "country": "CZ", "balance_after_minor": 400000
    })];
    for i in 0..n {
        events.push(json!({
            "type": "payment", "event_id": format!("{tag}-{i}"), "customer_id": customer,
            "occurred_at": format_timestamp(now - Duration::days(i + 1)), "amount_minor": 2500 + i * 100, "currency": "EUR",
            "direction": "debit", "kind": "purchase", "channel": "in_store", "merchant_id": format!("m-{i}"), "mcc": "5411",
            "country": "CZ", "balance_after_minor": 390000 - i * 2500
        }));
    }
    events
}

pub async fn post_events(app: &TestApp, events: &[Value]) {
    let reply = app
        .call(
            "POST",
            "/v1/events",
            Some(&token(Role::Service, "app")),
            Some(batch(events)),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
}

#[tokio::test]
async fn the_profile_follows_every_acknowledged_event() {
    let app = spawn_app().await;
    app.put_customer("c1").await;
    post_events(&app, &recent_payments("c1", "a", 5)).await;
    let me = token(Role::Customer, "c1");
    let first = app
        .call("GET", "/v1/customers/c1/profile", Some(&me), None)
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let catalogue = app.call("GET", "/v1/features", Some(&me), None).await;
    let names = catalogue.body["features"].as_array().unwrap().len();
    assert_eq!(first.body["features"].as_array().unwrap().len(), names);
    assert!(first.body["features"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["value"].as_f64().unwrap().is_finite()));
    assert!(first.body["risk"]["level"]
        .as_str()
        .unwrap()
        .starts_with('C'));
    assert_eq!(first.body["risk"]["willingness_source"], "behaviour");

    post_events(&app, &recent_payments("c1", "b", 12)).await;
    let second = app
        .call("GET", "/v1/customers/c1/profile", Some(&me), None)
        .await;
    assert_ne!(
        first.body["features"], second.body["features"],
        "new events change the profile at once"
    );
    assert!(second.body["computed_at"].as_str() >= first.body["computed_at"].as_str());
}

#[tokio::test]
async fn without_profiling_consent_there_is_no_profile() {
    let app = spawn_app().await;
    app.put_customer("c1").await;
    post_events(&app, &recent_payments("c1", "a", 3)).await;
    let me = token(Role::Customer, "c1");
    assert_eq!(
        app.call("GET", "/v1/customers/c1/profile", Some(&me), None)
            .await
            .status,
        StatusCode::OK
    );
    let withdraw = app
        .call(
            "PATCH",
            "/v1/customers/c1/consents",
            Some(&me),
            Some(json!({"profiling": false}).to_string()),
        )
        .await;
    assert_eq!(withdraw.status, StatusCode::OK);
    assert!(
        app.store
            .profile(&"c1".try_into().unwrap())
            .await
            .unwrap()
            .is_none(),
        "the stored profile is removed at once"
    );
    let refused = app
        .call("GET", "/v1/customers/c1/profile", Some(&me), None)
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert_eq!(refused.body["code"], "no_profiling_consent");
}

#[tokio::test]
async fn questionnaire_answers_set_willingness_capped_by_capacity() {
    let app = spawn_app().await;
    app.put_customer("c1").await;
    post_events(&app, &recent_payments("c1", "a", 8)).await;
    let me = token(Role::Customer, "c1");
    // Reading the profile assesses from the payment history first.
    let profile = app
        .call("GET", "/v1/customers/c1/profile", Some(&me), None)
        .await;
    assert_eq!(profile.status, StatusCode::OK, "{}", profile.text);
    let before = app
        .call("GET", "/v1/customers/c1/risk-profile", Some(&me), None)
        .await;
    assert_eq!(before.body["current"]["willingness_source"], "behaviour");
    let questionnaire = app
        .call("GET", "/v1/risk-questionnaire", Some(&me), None)
        .await
        .body;
    let questions = questionnaire["questions"].as_array().unwrap();
    assert!(questions.len() >= 6);

    let mut bad = serde_json::Map::new();
    bad.insert(
        questions[0]["id"].as_str().unwrap().to_owned(),
        json!("no-such-option"),
    );
    let refused = app
        .call(
            "POST",
            "/v1/customers/c1/risk-questionnaire",
            Some(&me),
            Some(json!({"answers": bad}).to_string()),
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text
    );
    assert!(refused.body["errors"][0]["field"]
        .as_str()
        .unwrap()
        .starts_with("answers"));

    // The boldest option of every question.
    let boldest: serde_json::Map<String, Value> = questions
        .iter()
        .map(|q| {
            (
                q["id"].as_str().unwrap().to_owned(),
                q["options"].as_array().unwrap().last().unwrap()["id"].clone(),
            )
        })
        .collect();
    let reply = app
        .call(
            "POST",
            "/v1/customers/c1/risk-questionnaire",
            Some(&me),
            Some(json!({"answers": boldest}).to_string()),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let current = &reply.body["current"];
    assert_eq!(current["willingness_source"], "questionnaire");
    let level = |s: &Value| s.as_str().unwrap()[1..].parse::<u8>().unwrap();
    assert_eq!(
        level(&current["level"]),
        level(&current["willingness"]).min(level(&current["capacity"]))
    );
    assert!(!current["explanation"].as_str().unwrap().is_empty());
    let history = app
        .call("GET", "/v1/customers/c1/risk-profile", Some(&me), None)
        .await;
    assert!(
        history.body["history"].as_array().unwrap().len() >= 2,
        "the change of willingness source is recorded"
    );
}

/// Loads a small synthetic population straight into the store.
pub(crate) async fn load_population(app: &TestApp, customers: u64) {
    let config = sextant_synth::Config {
        customers,
        months: 3,
        seed: 3,
        end_date: Utc::now().date_naive() - Duration::days(1),
    };
    let now = Utc::now();
    crate::common::publish_synthetic_rates(app.store.as_ref(), &config).await;
    for index in 0..customers {
        let bundle = sextant_synth::generate_customer(&config, index);
        app.store
            .put_customers(
                std::slice::from_ref(&bundle.customer),
                &Actor::system("test"),
                now,
            )
            .await
            .unwrap();
        let events: Vec<sextant_domain::Event> = bundle
            .payments
            .into_iter()
            .map(sextant_domain::Event::Payment)
            .chain(
                bundle
                    .behaviour
                    .into_iter()
                    .map(sextant_domain::Event::Behaviour),
            )
            .collect();
        app.store
            .ingest(&events, &Actor::system("test"), now)
            .await
            .unwrap();
        app.store
            .upsert_holdings(&bundle.holdings, &Actor::system("test"), now)
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trained_model_gives_neighbours_and_segments() {
    let app = spawn_app().await;
    load_population(&app, 150).await;
    let config = EmbeddingConfig {
        epochs: 5,
        ..EmbeddingConfig::default()
    };
    let outcome = app
        .pipeline
        .train(&config, Utc::now(), |_, _| {})
        .await
        .unwrap();
    assert!(!outcome.segments.is_empty());

    let marketer = token(Role::Marketer, "m");
    let segments = app.call("GET", "/v1/segments", Some(&marketer), None).await;
    let total: u64 = segments.body["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["size"].as_u64().unwrap())
        .sum();
    assert!(total > 100, "{}", segments.text);
    assert!(
        segments.body["segments"][0]["description"]
            .as_str()
            .unwrap()
            .len()
            > 10
    );

    let similar = app
        .call(
            "GET",
            "/v1/customers/c0000001/similar?k=5",
            Some(&marketer),
            None,
        )
        .await;
    assert_eq!(similar.status, StatusCode::OK, "{}", similar.text);
    let neighbours = similar.body["neighbours"].as_array().unwrap();
    assert_eq!(neighbours.len(), 5);
    assert!(
        neighbours.iter().all(|n| n["customer_id"] != "c0000001"),
        "never the customer itself"
    );
    let scores: Vec<f64> = neighbours
        .iter()
        .map(|n| n["score"].as_f64().unwrap())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "best first");

    let customer = app
        .call(
            "GET",
            "/v1/customers/c0000001/similar",
            Some(&token(Role::Customer, "c0000001")),
            None,
        )
        .await;
    assert_eq!(customer.status, StatusCode::FORBIDDEN, "staff only");
    let profile = app
        .call(
            "GET",
            "/v1/customers/c0000001/profile",
            Some(&token(Role::Service, "app")),
            None,
        )
        .await;
    assert!(
        profile.body["segment"]["name"].is_string(),
        "{}",
        profile.text
    );
    assert_eq!(
        profile.body["embedding_model"],
        Value::String(outcome.model)
    );

    // The vector store flushes upserts in the background; what a crash lost is recomputed
    // from the database, refreshing whoever was profiled since a little before the loss.
    let vectors = app.pipeline.vectors.clone();
    vectors.delete(&["c0000001".to_owned()]).await.unwrap();
    assert_eq!(vectors.vector("c0000001").await.unwrap(), None);
    let nobody = app
        .pipeline
        .refresh_profiled_since(Utc::now() + Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(nobody, 0, "no profile was computed in the future");
    let redone = app
        .pipeline
        .refresh_profiled_since(Utc::now() - Duration::hours(1))
        .await
        .unwrap();
    assert!(redone > 100, "every profiled customer: {redone}");
    assert!(vectors.vector("c0000001").await.unwrap().is_some());
}
