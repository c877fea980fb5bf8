//! The monitoring model in the live score: trained on labelled stored payments, it scores
//! the payment app's assessments (with its version, probability and what raised it),
//! replays byte for byte from the registry, and raises its own alerts on ingested payments.

use axum::http::StatusCode;
use serde_json::{json, Value};
use sextant_api::auth::Role;
use sextant_services::monitoring::model::{self, PaymentLabels, TrainOptions};

use crate::common::*;

/// A card purchase by `customer`, `minutes` after 2026-04-01T10:00Z.
fn purchase(event_id: &str, customer: &str, merchant: &str, minor: i64, minutes: i64) -> Value {
    let at = chrono::DateTime::parse_from_rfc3339("2026-04-01T10:00:00Z").unwrap()
        + chrono::Duration::minutes(minutes);
    json!({
        "type": "payment", "event_id": event_id, "customer_id": customer,
        "occurred_at": at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "amount_minor": minor, "currency": "EUR", "direction": "debit", "kind": "purchase",
        "channel": "online", "merchant_id": merchant, "mcc": "5999", "country": "CZ",
        "card": {"bin": "411111", "last4": "1234"}
    })
}

const DAY: i64 = 1_440;

#[tokio::test]
async fn a_trained_model_scores_assessments_replays_and_alerts_on_ingest() {
    let app = spawn_app().await;
    let service = token(Role::Service, "app");
    let compliance = token(Role::Compliance, "ana");
    // 60 customers shop daily for 40 days; every fourth has its card tested (eight 1-euro
    // payments at four merchants in eight minutes) on a day spread over the period, so
    // that the earliest and the latest payments both hold some.
    let mut planted = std::collections::HashSet::new();
    for k in 0..60i64 {
        let customer = format!("c-{k}");
        app.put_customer(&customer).await;
        let mut events: Vec<Value> = (0..40)
            .map(|d| {
                purchase(
                    &format!("{customer}-n{d}"),
                    &customer,
                    &format!("m-shop-{}", d % 3),
                    2_000 + 37 * ((k + d) % 11),
                    d * DAY + 60 * (k % 7),
                )
            })
            .collect();
        if k % 4 == 0 {
            let day = 5 + (k / 4) * 2;
            for i in 0..8 {
                let id = format!("{customer}-t{i}");
                planted.insert(id.clone());
                events.push(purchase(
                    &id,
                    &customer,
                    &format!("m-{}", i % 4),
                    100,
                    day * DAY + 300 + i,
                ));
            }
        }
        let sent = app
            .call("POST", "/v1/events", Some(&service), Some(batch(&events)))
            .await;
        assert_eq!(sent.status, StatusCode::OK, "{}", sent.text);
    }

    let labels = PaymentLabels {
        source: "the test's planted card testing".into(),
        positive: planted,
    };
    let options = TrainOptions {
        customers: 1_000,
        alert_rate: 0.03,
        seed: 7,
        activate: true,
    };
    let by = sextant_store::Actor::system("test");
    let trained = model::train(app.store.as_ref(), &labels, &options, &by, |_, _| {})
        .await
        .unwrap();
    assert_eq!(trained.figures.customers, 60);
    assert_eq!(trained.figures.positive_payments, 15 * 8);
    assert!(trained.figures.test_positive_payments > 0);
    assert!(trained.figures.roc_auc > 0.9, "{trained:?}");
    let in_force = app.ctx.monitor().reload_model(app.store.as_ref()).await;
    assert_eq!(in_force.unwrap().unwrap().version, trained.version);

    // The model in the registry (the console's model page), active, with its figures.
    let registry = app.store.model_registry().await.unwrap();
    let entry = registry
        .iter()
        .find(|m| m.family == "monitoring_model")
        .unwrap();
    assert!(entry.active && entry.version == trained.version);
    assert_eq!(entry.metrics["labels"], "the test's planted card testing");

    // A customer with no planted scheme: an ordinary purchase is allowed, a burst of
    // 1-euro payments at new merchants is not.
    let assess = |body: Value| {
        let app = &app;
        let service = service.clone();
        async move {
            app.call(
                "POST",
                "/v1/payments/assess",
                Some(&service),
                Some(body.to_string()),
            )
            .await
        }
    };
    let ordinary = assess(purchase("c-1-a", "c-1", "m-shop-1", 2_100, 40 * DAY)).await;
    assert_eq!(ordinary.status, StatusCode::CREATED, "{}", ordinary.text);
    assert_eq!(ordinary.body["verdict"], "allow", "{}", ordinary.text);
    assert_eq!(ordinary.body["model"]["version"], trained.version.as_str());
    let calm = ordinary.body["model"]["probability"].as_f64().unwrap();
    assert_eq!(ordinary.body["policy_version"], "monitoring-policy-4");

    let burst: Vec<Value> = (0..7)
        .map(|i| {
            purchase(
                &format!("c-1-b{i}"),
                "c-1",
                &format!("m-x{}", i % 4),
                100,
                40 * DAY + 10 + i,
            )
        })
        .collect();
    let sent = app
        .call("POST", "/v1/events", Some(&service), Some(batch(&burst)))
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.text);
    let attempt = assess(purchase("c-1-b7", "c-1", "m-x3", 100, 40 * DAY + 17)).await;
    assert_eq!(attempt.status, StatusCode::CREATED, "{}", attempt.text);
    let reading = &attempt.body["model"];
    let probability = reading["probability"].as_f64().unwrap();
    assert!(probability > 10.0 * calm, "{calm} then {}", attempt.text);
    assert!(
        probability >= reading["review_at"].as_f64().unwrap(),
        "{}",
        attempt.text
    );
    assert_ne!(attempt.body["verdict"], "allow", "{}", attempt.text);
    assert!(!reading["raised_by"].as_array().unwrap().is_empty());
    assert!(
        attempt.body["reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("the monitoring model puts the chance"),
        "{}",
        attempt.text
    );

    // Both replay byte for byte, the model read back from the registry.
    for reply in [&ordinary, &attempt] {
        let id = reply.body["assessment_id"].as_str().unwrap();
        let replayed = app
            .call(
                "GET",
                &format!("/v1/payments/assessments/{id}/replay"),
                Some(&compliance),
                None,
            )
            .await;
        assert_eq!(replayed.status, StatusCode::OK, "{}", replayed.text);
        assert_eq!(replayed.body["identical"], true, "{}", replayed.text);
    }

    // The burst as it landed raised the model's alert (once: its cooldown), beside the
    // detector's.
    let cases = app
        .call(
            "GET",
            "/v1/monitoring/cases?status=open&customer_id=c-1",
            Some(&compliance),
            None,
        )
        .await;
    assert_eq!(cases.status, StatusCode::OK, "{}", cases.text);
    let case_id = cases.body["cases"][0]["case_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let case = app
        .call(
            "GET",
            &format!("/v1/monitoring/cases/{case_id}"),
            Some(&compliance),
            None,
        )
        .await;
    let model_alerts: Vec<&Value> = case.body["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["source"] == "model" && a["event_id"].is_string())
        .collect();
    assert_eq!(model_alerts.len(), 1, "{}", case.text);
    assert!(model_alerts[0]["reason"]
        .as_str()
        .unwrap()
        .contains(&trained.version));

    // A second version, trained without activating it, is put in force over HTTP by
    // compliance (not by a marketer; an unknown version is named 404), and scores the very
    // next assessment.
    let second = model::train(
        app.store.as_ref(),
        &labels,
        &TrainOptions {
            seed: 8,
            activate: false,
            ..options.clone()
        },
        &by,
        |_, _| {},
    )
    .await
    .unwrap();
    assert_ne!(second.version, trained.version);
    let activate = |version: &str, token: &str| {
        let (app, path, token) = (
            &app,
            format!("/v1/monitoring/models/{version}/activate"),
            token.to_owned(),
        );
        async move { app.call("POST", &path, Some(&token), None).await }
    };
    let marketer = token(Role::Marketer, "mark");
    assert_eq!(
        activate(&second.version, &marketer).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        activate("mm-000000000000", &compliance).await.status,
        StatusCode::NOT_FOUND
    );
    let activated = activate(&second.version, &compliance).await;
    assert_eq!(activated.status, StatusCode::OK, "{}", activated.text);
    assert_eq!(activated.body["version"], second.version.as_str());
    let next = assess(purchase("c-1-c", "c-1", "m-shop-1", 2_100, 41 * DAY)).await;
    assert_eq!(
        next.body["model"]["version"],
        second.version.as_str(),
        "{}",
        next.text
    );

    // Another process activates the first version again (straight in the store): this one
    // follows within the stated time, without a restart.
    app.store
        .activate_monitoring_model(&trained.version, &by, chrono::Utc::now())
        .await
        .unwrap();
    tokio::time::sleep(
        sextant_services::monitoring::live::IN_FORCE_CHECK + std::time::Duration::from_millis(100),
    )
    .await;
    let after = assess(purchase("c-1-d", "c-1", "m-shop-1", 2_100, 42 * DAY)).await;
    assert_eq!(
        after.body["model"]["version"],
        trained.version.as_str(),
        "{}",
        after.text
    );
    let audited = app
        .store
        .audit_entries(
            &sextant_store::AuditFilter {
                action: Some("monitoring_model.activate".into()),
                ..sextant_store::AuditFilter::default()
            },
            0,
            10,
        )
        .await
        .unwrap();
    assert_eq!(
        audited.len(),
        3,
        "trained active, activated over HTTP, by the other process"
    );
}
