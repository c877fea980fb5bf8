//! Compliance's rules over HTTP: a rule that does not parse is refused with its line and
//! column; a shadow rule records hits and raises nothing; its backtest over the same history
//! counts exactly the hits live monitoring recorded; made live, it raises alerts into cases
//! and weighs in payment decisions that replay byte for byte; a closed case labels the
//! backtest's precision and recall; a retired version stays retired.

use axum::http::StatusCode;
use serde_json::{json, Value};
use sextant_api::auth::Role;

use crate::common::*;

/// A 5-euro card purchase by `customer`, `minutes` after 2026-05-20T10:00Z.
fn purchase(event_id: &str, customer: &str, minutes: i64) -> Value {
    let at = chrono::DateTime::parse_from_rfc3339("2026-05-20T10:00:00Z").unwrap()
        + chrono::Duration::minutes(minutes);
    json!({
        "type": "payment", "event_id": event_id, "customer_id": customer,
        "occurred_at": at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "amount_minor": 500, "currency": "EUR", "direction": "debit", "kind": "purchase",
        "channel": "online", "merchant_id": "m-shop", "mcc": "5999", "country": "CZ",
        "card": {"bin": "411111", "last4": "1234"}
    })
}

const RULE: &str = "count(payments, 1h, card = true) >= 4 and sum(amount, 1h) > 10";

async fn backtest(app: &TestApp, compliance: &str) -> Value {
    let report = app
        .call(
            "POST",
            "/v1/monitoring/rules/backtest",
            Some(compliance),
            Some(json!({"source": RULE, "cooldown_minutes": 60}).to_string()),
        )
        .await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.text);
    report.body
}

async fn version(app: &TestApp, compliance: &str, rule: &str, v: u32) -> Value {
    let read = app
        .call(
            "GET",
            &format!("/v1/monitoring/rules/{rule}/versions/{v}"),
            Some(compliance),
            None,
        )
        .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text);
    read.body
}

#[tokio::test]
async fn rules_are_shadowed_backtested_made_live_and_retired() {
    let app = spawn_app().await;
    let service = token(Role::Service, "app");
    let compliance = token(Role::Compliance, "ana");
    for c in ["c-1", "c-2", "c-3", "c-4"] {
        app.put_customer(c).await;
    }

    // A rule that does not parse: refused, with the line and column.
    let refused = app
        .call(
            "POST",
            "/v1/monitoring/rules/burst/versions",
            Some(&compliance),
            Some(
                json!({
                    "source": "count(payments, 1h) >= 4\n  and summ(amount, 1h) > 10",
                    "description": "a burst of card payments", "mode": "shadow",
                })
                .to_string(),
            ),
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text
    );
    let problem = &refused.body["errors"][0];
    assert_eq!(
        (
            &problem["field"],
            &problem["code"],
            &problem["line"],
            &problem["column"]
        ),
        (
            &json!("source"),
            &json!("unknown_function"),
            &json!(2),
            &json!(7)
        ),
        "{}",
        refused.text
    );
    let bad = app
        .call(
            "POST",
            "/v1/monitoring/rules/burst/versions",
            Some(&compliance),
            Some(
                json!({"source": RULE, "description": "", "mode": "loud", "severity": 2})
                    .to_string(),
            ),
        )
        .await;
    let fields: Vec<&str> = bad.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["mode", "severity", "description"], "{}", bad.text);
    // Marketers and the payment app write no rules.
    let marketer = token(Role::Marketer, "mk");
    for who in [&marketer, &service] {
        let denied = app
            .call("GET", "/v1/monitoring/rules", Some(who), None)
            .await;
        assert_eq!(denied.status, StatusCode::FORBIDDEN);
    }

    // The rule in shadow mode, sent twice under one Idempotency-Key: one version.
    let draft = json!({
        "source": RULE, "description": "a burst of card payments",
        "mode": "shadow", "cooldown_minutes": 60,
    });
    let send = |body: &Value| {
        call_with(
            app.router.clone(),
            "POST",
            "/v1/monitoring/rules/burst/versions",
            Some(&compliance),
            &[("idempotency-key", "rule-burst-1")],
            Some(body.to_string()),
        )
    };
    let added = send(&draft).await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text);
    assert_eq!(added.body["version"], 1);
    let again = send(&draft).await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.text);
    assert_eq!(
        again.body, added.body,
        "the retry gets the version the first made"
    );
    let mut other = draft.clone();
    other["mode"] = json!("live");
    let reused = send(&other).await;
    assert_eq!(
        reused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reused.text
    );
    assert_eq!(reused.body["errors"][0]["code"], "idempotency_key_reused");
    assert_eq!(
        added.body["canonical"],
        "count(payments, 1h, card = true) >= 4 and sum(amount, 1h) > 10"
    );

    // c-1: six payments in 25 minutes (a hit on the fourth; the cooldown quiets the next
    // two), then four more three hours later (a second hit). c-2: three an hour (never).
    // c-3: four in 45 minutes (one hit). Sent in two batches.
    let mut first: Vec<Value> = (0..6)
        .map(|i| purchase(&format!("a-{i}"), "c-1", i * 5))
        .collect();
    first.extend((0..6).map(|i| purchase(&format!("b-{i}"), "c-2", i * 20)));
    first.extend((0..2).map(|i| purchase(&format!("c-{i}"), "c-3", i * 15)));
    let mut second: Vec<Value> = (0..4)
        .map(|i| purchase(&format!("a-{}", i + 6), "c-1", 180 + i * 5))
        .collect();
    second.extend((2..4).map(|i| purchase(&format!("c-{i}"), "c-3", i * 15)));
    for part in [&first, &second] {
        let sent = app
            .call("POST", "/v1/events", Some(&service), Some(batch(part)))
            .await;
        assert_eq!(sent.status, StatusCode::OK, "{}", sent.text);
    }
    let shadow = version(&app, &compliance, "burst", 1).await;
    assert_eq!(
        (&shadow["hits"], &shadow["customers_hit"]),
        (&json!(3), &json!(2))
    );
    // Shadow: nothing alerted.
    let cases = app
        .call("GET", "/v1/monitoring/cases", Some(&compliance), None)
        .await;
    assert_eq!(cases.body["total"], 0, "{}", cases.text);

    // The backtest over the same history counts exactly what monitoring recorded.
    let report = backtest(&app, &compliance).await;
    assert_eq!(
        (
            &report["alerts"],
            &report["customers_alerted"],
            &report["payments"]
        ),
        (&json!(3), &json!(2), &json!(20)),
        "{report}"
    );
    assert_eq!(report["precision"], Value::Null, "no labels yet");
    assert_eq!(report["complete"], true, "{report}");
    // Over HTTP a backtest replays at most 20,000 customers; fewer when asked.
    let first = app
        .call(
            "POST",
            "/v1/monitoring/rules/backtest",
            Some(&compliance),
            Some(json!({"source": RULE, "customers": 1}).to_string()),
        )
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(
        (&first.body["customers"], &first.body["complete"]),
        (&json!(1), &json!(false)),
        "{}",
        first.text
    );
    let too_many = app
        .call(
            "POST",
            "/v1/monitoring/rules/backtest",
            Some(&compliance),
            Some(json!({"source": RULE, "customers": 20_001}).to_string()),
        )
        .await;
    assert_eq!(too_many.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(too_many.body["errors"][0]["field"], "customers");

    // Live: c-2's next burst raises an alert into a case.
    let live = app
        .call(
            "POST",
            "/v1/monitoring/rules/burst/versions/1/mode",
            Some(&compliance),
            Some(json!({"mode": "live"}).to_string()),
        )
        .await;
    assert_eq!(live.status, StatusCode::OK, "{}", live.text);
    assert_eq!(live.body["mode"], "live");
    let burst: Vec<Value> = (0..4)
        .map(|i| purchase(&format!("d-{i}"), "c-2", 300 + i))
        .collect();
    let sent = app
        .call("POST", "/v1/events", Some(&service), Some(batch(&burst)))
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.text);
    let cases = app
        .call(
            "GET",
            "/v1/monitoring/cases?customer_id=c-2",
            Some(&compliance),
            None,
        )
        .await;
    assert_eq!(cases.body["total"], 1, "{}", cases.text);
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
    assert_eq!(
        case.body["alerts"][0]["source"], "rule:burst",
        "{}",
        case.text
    );
    assert_eq!(case.body["alerts"][0]["event_id"], "d-3");

    // The payment app's next card payment is put up for review by the rule, and replays.
    let assessed = app
        .call(
            "POST",
            "/v1/payments/assess",
            Some(&service),
            Some(purchase("d-4", "c-2", 305).to_string()),
        )
        .await;
    assert_eq!(assessed.status, StatusCode::CREATED, "{}", assessed.text);
    assert_eq!(assessed.body["verdict"], "review", "{}", assessed.text);
    assert_eq!(assessed.body["rules_fired"][0]["rule_id"], "burst");
    assert_eq!(assessed.body["policy_version"], "monitoring-policy-4");
    let id = assessed.body["assessment_id"].as_str().unwrap();
    let replayed = app
        .call(
            "GET",
            &format!("/v1/payments/assessments/{id}/replay"),
            Some(&compliance),
            None,
        )
        .await;
    assert_eq!(replayed.body["identical"], true, "{}", replayed.text);

    // Closed as fraud, c-2 labels the backtest: the rule caught the one positive, and of the
    // labelled customers it alerted, all were positive.
    let closed = app
        .call(
            "POST",
            &format!("/v1/monitoring/cases/{case_id}/close"),
            Some(&compliance),
            Some(
                json!({"disposition": "fraud", "note": "confirmed with the customer"}).to_string(),
            ),
        )
        .await;
    assert_eq!(closed.status, StatusCode::OK, "{}", closed.text);
    let report = backtest(&app, &compliance).await;
    assert_eq!(report["alerts"], 4, "{report}");
    assert_eq!(version(&app, &compliance, "burst", 1).await["hits"], 4);
    assert_eq!(
        (
            &report["labelled_positive"],
            &report["precision"],
            &report["recall"]
        ),
        (&json!(1), &json!(1.0), &json!(1.0)),
        "{report}"
    );

    // A second live version retires the first, which stays retired.
    let v2 = app
        .call(
            "POST",
            "/v1/monitoring/rules/burst/versions",
            Some(&compliance),
            Some(
                json!({"source": RULE, "description": "a burst of card payments", "mode": "live"})
                    .to_string(),
            ),
        )
        .await;
    assert_eq!(v2.body["version"], 2, "{}", v2.text);
    assert_eq!(
        version(&app, &compliance, "burst", 1).await["mode"],
        "retired"
    );
    let back = app
        .call(
            "POST",
            "/v1/monitoring/rules/burst/versions/1/mode",
            Some(&compliance),
            Some(json!({"mode": "live"}).to_string()),
        )
        .await;
    assert_eq!(back.status, StatusCode::CONFLICT, "{}", back.text);
    let missing = app
        .call(
            "GET",
            "/v1/monitoring/rules/burst/versions/9",
            Some(&compliance),
            None,
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn names_are_screened_against_the_configured_sanctions_list() {
    let app = spawn_app().await;
    let compliance = token(Role::Compliance, "ana");
    let request = json!({"name": "Vladimir Petroff"}).to_string();
    // No list configured: 503, said plainly.
    let none = app
        .call(
            "POST",
            "/v1/screening/check",
            Some(&compliance),
            Some(request.clone()),
        )
        .await;
    assert_eq!(
        none.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        none.text
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sdn.csv");
    std::fs::write(
        &file,
        "7001,\"PETROV, Vladimir Ivanovich\",\"individual\",\"RUSSIA-EO14024\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,\"a.k.a. 'PETROFF, Wladimir'.\"\r\n7003,\"SMITH, John\",\"individual\",\"SDNTK\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n\u{1a}",
    )
    .unwrap();
    app.ctx.screening().load_file(&file).unwrap();

    let hit = app
        .call(
            "POST",
            "/v1/screening/check",
            Some(&compliance),
            Some(request),
        )
        .await;
    assert_eq!(hit.status, StatusCode::OK, "{}", hit.text);
    assert_eq!(hit.body["list"]["entries"], 2);
    assert_eq!(hit.body["matches"][0]["ent_num"], 7001, "{}", hit.text);
    assert_eq!(hit.body["matches"][0]["matched_name"], "PETROFF, Wladimir");
    assert_eq!(hit.body["matches"][0]["score"], 1.0);
    // Cyrillic script, and the payment app may screen too.
    let service = token(Role::Service, "app");
    let cyrillic = app
        .call(
            "POST",
            "/v1/screening/check",
            Some(&service),
            Some(json!({"name": "Владимир Петров"}).to_string()),
        )
        .await;
    assert_eq!(
        cyrillic.body["matches"][0]["ent_num"], 7001,
        "{}",
        cyrillic.text
    );
    let clear = app
        .call(
            "POST",
            "/v1/screening/check",
            Some(&service),
            Some(json!({"name": "Jana Novakova"}).to_string()),
        )
        .await;
    assert_eq!(clear.body["matches"], json!([]), "{}", clear.text);
    // Bad input is named; marketers do not screen.
    let empty = app
        .call(
            "POST",
            "/v1/screening/check",
            Some(&compliance),
            Some(json!({"name": " ", "threshold": 2}).to_string()),
        )
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(empty.body["errors"][0]["field"], "name", "{}", empty.text);
    let marketer = token(Role::Marketer, "mk");
    let denied = app
        .call(
            "POST",
            "/v1/screening/check",
            Some(&marketer),
            Some(json!({"name": "x"}).to_string()),
        )
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    // The compliance officer's checks are audited (without the name).
    let audited = app
        .store
        .audit_entries(
            &sextant_store::AuditFilter {
                action: Some("screening.check".into()),
                ..sextant_store::AuditFilter::default()
            },
            0,
            10,
        )
        .await
        .unwrap();
    assert_eq!(audited.len(), 1);
    assert!(!audited[0].entry.detail.contains("Petroff"));
}
