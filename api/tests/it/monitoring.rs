//! Transaction monitoring over HTTP: card testing sent to `/v1/events` opens a case, the
//! payment app's next attempt is blocked with its reasons and replays byte for byte, an
//! analyst assigns, comments and closes the case, and only the payment app, compliance and
//! admins reach any of it.

use std::time::Duration;

use axum::http::StatusCode;
use chrono::Utc;
use serde_json::{json, Value};
use sextant_api::auth::Role;
use sextant_store::{AuditFilter, StaffAccount};

use crate::common::*;

/// A card purchase by `customer` at `merchant`, `minutes` after 2026-05-20T10:00Z.
fn purchase(event_id: &str, customer: &str, merchant: &str, minor: i64, minutes: i64) -> Value {
    let at = chrono::DateTime::parse_from_rfc3339("2026-05-20T10:00:00Z").unwrap()
        + chrono::Duration::minutes(minutes);
    json!({
        "type": "payment", "event_id": event_id, "customer_id": customer,
        "occurred_at": at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "amount_minor": minor, "currency": "EUR", "direction": "debit", "kind": "purchase",
        "channel": "online", "merchant_id": merchant, "mcc": "5999", "country": "CZ",
        "card": {"bin": "411111", "last4": "1234"}
    })
}

async fn case_of(app: &TestApp, compliance: &str, customer: &str) -> Value {
    let list = app
        .call(
            "GET",
            &format!("/v1/monitoring/cases?status=open&customer_id={customer}"),
            Some(compliance),
            None,
        )
        .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    assert_eq!(list.body["total"], 1, "{}", list.text);
    let id = list.body["cases"][0]["case_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let detail = app
        .call(
            "GET",
            &format!("/v1/monitoring/cases/{id}"),
            Some(compliance),
            None,
        )
        .await;
    assert_eq!(detail.status, StatusCode::OK, "{}", detail.text);
    detail.body
}

#[tokio::test]
async fn card_testing_opens_a_case_and_the_next_attempt_is_blocked() {
    let app = spawn_app().await;
    let service = token(Role::Service, "app");
    let compliance = token(Role::Compliance, "ana");
    app.put_customer("c-1").await;
    app.put_customer("c-2").await;
    let now = Utc::now();
    let account = |username: &str, role: &str| StaffAccount {
        username: username.into(),
        role: role.into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        disabled: false,
        failed_attempts: 0,
        locked_until: None,
        created_at: now,
        updated_at: now,
    };
    let by = sextant_store::Actor::system("test");
    app.store
        .add_staff(&account("ana", "compliance"), &by, now)
        .await
        .unwrap();
    app.store
        .add_staff(&account("mark", "marketer"), &by, now)
        .await
        .unwrap();

    // Three weeks of ordinary shopping, then nine 1-euro card payments at five merchants in
    // nine minutes.
    let mut events: Vec<Value> = (0..21)
        .map(|d| {
            purchase(
                &format!("n-{d}"),
                "c-1",
                "m-grocer",
                3_500,
                -(21 - d) * 1_440,
            )
        })
        .collect();
    events.extend(
        (0..9).map(|i| purchase(&format!("t-{i}"), "c-1", &format!("m-{}", i % 5), 100, i)),
    );
    // Two requests: the first builds the customer's state from the store, the second is
    // evaluated on the state kept in memory.
    for part in [&events[..21], &events[21..]] {
        let sent = app
            .call("POST", "/v1/events", Some(&service), Some(batch(part)))
            .await;
        assert_eq!(sent.status, StatusCode::OK, "{}", sent.text);
    }

    let case = case_of(&app, &compliance, "c-1").await;
    let sources: Vec<&str> = case["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["source"].as_str().unwrap())
        .collect();
    assert_eq!(
        sources,
        ["card_testing"],
        "one alert for the episode: {case}"
    );
    assert_eq!(
        case["alerts"][0]["event_id"], "t-4",
        "raised on the fifth small payment"
    );
    let case_id = case["case"]["case_id"].as_str().unwrap().to_owned();

    // The same batch again (a retry): stored already, nothing new raised.
    let again = app
        .call("POST", "/v1/events", Some(&service), Some(batch(&events)))
        .await;
    assert_eq!(again.body["duplicates"], 30, "{}", again.text);
    assert_eq!(
        case_of(&app, &compliance, "c-1").await["alerts"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // The tenth attempt is blocked, with its reason; a customer never reaches this.
    let attempt = purchase("t-9", "c-1", "m-9", 100, 9).to_string();
    let customer = token(Role::Customer, "c-1");
    let refused = app
        .call(
            "POST",
            "/v1/payments/assess",
            Some(&customer),
            Some(attempt.clone()),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let headers = [("idempotency-key", "assess-t-9")];
    let blocked = call_with(
        app.router.clone(),
        "POST",
        "/v1/payments/assess",
        Some(&service),
        &headers,
        Some(attempt.clone()),
    )
    .await;
    assert_eq!(blocked.status, StatusCode::CREATED, "{}", blocked.text);
    assert_eq!(blocked.body["verdict"], "block", "{}", blocked.text);
    assert_eq!(blocked.body["fired"][0]["typology"], "card_testing");
    assert!(blocked.body["score"].as_f64().unwrap() >= 0.8);
    assert!(
        blocked.body["reasons"][0]
            .as_str()
            .unwrap()
            .contains("merchants"),
        "{}",
        blocked.text
    );
    let retried = call_with(
        app.router.clone(),
        "POST",
        "/v1/payments/assess",
        Some(&service),
        &headers,
        Some(attempt),
    )
    .await;
    assert_eq!(
        retried.body, blocked.body,
        "a retry under the key gets the first answer"
    );

    // An ordinary payment of a customer with no history is allowed.
    let allowed = app
        .call(
            "POST",
            "/v1/payments/assess",
            Some(&service),
            Some(purchase("o-1", "c-2", "m-grocer", 4_200, 0).to_string()),
        )
        .await;
    assert_eq!(allowed.status, StatusCode::CREATED, "{}", allowed.text);
    assert_eq!(
        (
            allowed.body["verdict"].as_str(),
            allowed.body["score"].as_f64()
        ),
        (Some("allow"), Some(0.0))
    );
    // An unknown customer and a bad field are named.
    let unknown = app
        .call(
            "POST",
            "/v1/payments/assess",
            Some(&service),
            Some(purchase("o-2", "c-9", "m-1", 100, 0).to_string()),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        unknown.body["errors"][0]["field"], "customer_id",
        "{}",
        unknown.text
    );
    let mut bad = purchase("o-3", "c-2", "m-1", 100, 0);
    bad["country"] = json!("Czechia");
    let bad = app
        .call(
            "POST",
            "/v1/payments/assess",
            Some(&service),
            Some(bad.to_string()),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.body["errors"][0]["field"], "country", "{}", bad.text);

    // Both replay byte for byte; the service token reads no assessment.
    for reply in [&blocked, &allowed] {
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
        assert_eq!(replayed.body["replayed"], reply.body);
        let read = app
            .call(
                "GET",
                &format!("/v1/payments/assessments/{id}"),
                Some(&service),
                None,
            )
            .await;
        assert_eq!(read.status, StatusCode::FORBIDDEN);
    }

    // The block's alert joins the open case (filed beside the answer).
    let blocked_id = blocked.body["assessment_id"].as_str().unwrap();
    let mut case = Value::Null;
    for _ in 0..100 {
        case = case_of(&app, &compliance, "c-1").await;
        if case["alerts"].as_array().unwrap().len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(case["alerts"][1]["assessment_id"], blocked_id, "{case}");
    assert_eq!(case["case"]["case_id"], case_id.as_str());

    // The analyst's work: assign (to an analyst only), comment, close once.
    let path = |what: &str| format!("/v1/monitoring/cases/{case_id}/{what}");
    let marketer = token(Role::Marketer, "mark");
    let denied = app
        .call("GET", "/v1/monitoring/cases", Some(&marketer), None)
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    let to_marketer = app
        .call(
            "POST",
            &path("assign"),
            Some(&compliance),
            Some(json!({"assignee": "mark"}).to_string()),
        )
        .await;
    assert_eq!(to_marketer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(to_marketer.body["errors"][0]["code"], "not_an_analyst");
    let assigned = app
        .call(
            "POST",
            &path("assign"),
            Some(&compliance),
            Some(json!({"assignee": "ana"}).to_string()),
        )
        .await;
    assert_eq!(assigned.status, StatusCode::OK, "{}", assigned.text);
    assert_eq!(assigned.body["case"]["assignee"], "ana");
    let commented = app
        .call(
            "POST",
            &path("comments"),
            Some(&compliance),
            Some(json!({"text": "card reported stolen"}).to_string()),
        )
        .await;
    assert_eq!(commented.status, StatusCode::OK, "{}", commented.text);
    let card = app
        .call(
            "POST",
            &path("comments"),
            Some(&compliance),
            Some(json!({"text": "card 4111111111111111"}).to_string()),
        )
        .await;
    assert_eq!(
        card.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "no card number in a note"
    );
    let unknown = app
        .call(
            "POST",
            &path("close"),
            Some(&compliance),
            Some(json!({"disposition": "maybe", "note": "x"}).to_string()),
        )
        .await;
    assert_eq!(
        unknown.body["errors"][0]["field"], "disposition",
        "{}",
        unknown.text
    );
    let close = json!({"disposition": "fraud", "note": "confirmed with the customer"}).to_string();
    let closed = app
        .call(
            "POST",
            &path("close"),
            Some(&compliance),
            Some(close.clone()),
        )
        .await;
    assert_eq!(closed.status, StatusCode::OK, "{}", closed.text);
    assert_eq!(
        (
            closed.body["case"]["status"].as_str(),
            closed.body["case"]["disposition"].as_str()
        ),
        (Some("closed"), Some("fraud"))
    );
    let kinds: Vec<&str> = closed.body["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["assigned", "comment", "closed"]);
    let twice = app
        .call("POST", &path("close"), Some(&compliance), Some(close))
        .await;
    assert_eq!(twice.status, StatusCode::CONFLICT, "{}", twice.text);
    let none = app
        .call(
            "GET",
            "/v1/monitoring/cases/case_none",
            Some(&compliance),
            None,
        )
        .await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);
    let far = app
        .call(
            "GET",
            "/v1/monitoring/cases?offset=1000001",
            Some(&compliance),
            None,
        )
        .await;
    assert_eq!(far.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(far.body["errors"][0]["field"], "offset", "{}", far.text);

    // Every staff read and change is on record.
    let trail = app
        .store
        .audit_entries(&AuditFilter::default(), 0, 500)
        .await
        .unwrap();
    let count = |action: &str| trail.iter().filter(|e| e.entry.action == action).count();
    assert!(
        count("monitoring.read") >= 5,
        "staff reads of cases and assessments"
    );
    assert_eq!(
        count("monitoring.assess"),
        2,
        "the retry is answered from its key"
    );
    assert_eq!(count("monitoring.alert"), 2);
    assert_eq!(count("monitoring.case.close"), 1);
}

/// A transfer out by `customer` to `payee` (by name and account), from device `device`.
fn transfer(event_id: &str, customer: &str, payee: &str, device: &str, minor: i64) -> Value {
    json!({
        "type": "payment", "event_id": event_id, "customer_id": customer,
        "occurred_at": "2026-05-21T09:00:00Z",
        "amount_minor": minor, "currency": "EUR", "direction": "debit", "kind": "transfer_out",
        "channel": "p2p", "country": "CZ", "device_id": device,
        "counterparty": {"name": payee, "account": "CZ6508000000192000145399"}
    })
}

#[tokio::test]
async fn counterparties_are_screened_as_payments_land_and_before_they_are_authorised() {
    let app = spawn_app().await;
    let service = token(Role::Service, "app");
    let compliance = token(Role::Compliance, "ana");
    app.put_customer("c-1").await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sdn.csv");
    std::fs::write(
        &file,
        "7001,\"PETROV, Vladimir Ivanovich\",\"individual\",\"RUSSIA-EO14024\",-0-,-0-,-0-,-0-,-0-,-0-,-0-,\"a.k.a. 'PETROV, Vladimir'.\"\n",
    )
    .unwrap();
    app.ctx.screening().load_file(&file).unwrap();

    // A listed name written the other way round, in Cyrillic, lands: one `sanctions` alert;
    // a friend paid the same day raises none. The name and the device come back as sent.
    let events = [
        transfer("s-1", "c-1", "Владимир Петров", "dv-1", 50_000),
        transfer("s-2", "c-1", "Jana Novakova", "dv-1", 2_000),
    ];
    let sent = app
        .call("POST", "/v1/events", Some(&service), Some(batch(&events)))
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.text);
    let case = case_of(&app, &compliance, "c-1").await;
    let alerts = case["alerts"].as_array().unwrap();
    let sanctions: Vec<&Value> = alerts
        .iter()
        .filter(|a| a["source"] == "sanctions")
        .collect();
    assert_eq!(sanctions.len(), 1, "{case}");
    assert_eq!(sanctions[0]["event_id"], "s-1");
    assert!(
        sanctions[0]["reason"]
            .as_str()
            .unwrap()
            .contains("PETROV, Vladimir Ivanovich"),
        "{case}"
    );
    let stored = app
        .store
        .payments_since(
            &[sextant_domain::CustomerId::parse("c-1").unwrap()],
            chrono::DateTime::parse_from_rfc3339("2026-05-01T00:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
        )
        .await
        .unwrap();
    let first = stored
        .iter()
        .find(|p| p.event_id.as_str() == "s-1")
        .unwrap();
    assert_eq!(
        first
            .counterparty
            .as_ref()
            .unwrap()
            .name
            .as_ref()
            .unwrap()
            .as_str(),
        "Владимир Петров"
    );
    assert_eq!(first.device_id.as_ref().unwrap().as_str(), "dv-1");

    // Before authorising: a small payment to the listed party is blocked, with the match
    // among the reasons, and replays byte for byte; the friend is allowed.
    let mut next = transfer("s-3", "c-1", "Vladimir I. Petrov", "dv-1", 1_000);
    next["occurred_at"] = json!("2026-05-22T09:00:00Z");
    let blocked = app
        .call(
            "POST",
            "/v1/payments/assess",
            Some(&service),
            Some(next.to_string()),
        )
        .await;
    assert_eq!(blocked.status, StatusCode::CREATED, "{}", blocked.text);
    assert_eq!(blocked.body["verdict"], "block", "{}", blocked.text);
    assert_eq!(blocked.body["sanctions"][0]["ent_num"], 7001);
    assert!(blocked.body["reasons"][0]
        .as_str()
        .unwrap()
        .contains("sanctions list"));
    let id = blocked.body["assessment_id"].as_str().unwrap();
    // A list replaced since does not change the replay: it decides from the list of the day.
    std::fs::write(&file, "7003,\"SMITH, John\",\"individual\",\"SDNTK\"\n").unwrap();
    app.ctx.screening().load_file(&file).unwrap();
    let replayed = app
        .call(
            "GET",
            &format!("/v1/payments/assessments/{id}/replay"),
            Some(&compliance),
            None,
        )
        .await;
    assert_eq!(replayed.body["identical"], true, "{}", replayed.text);
    let mut friend = transfer("s-4", "c-1", "Jana Novakova", "dv-1", 1_000);
    friend["occurred_at"] = json!("2026-05-22T09:00:00Z");
    let allowed = app
        .call(
            "POST",
            "/v1/payments/assess",
            Some(&service),
            Some(friend.to_string()),
        )
        .await;
    assert_eq!(allowed.body["verdict"], "allow", "{}", allowed.text);
    assert!(allowed.body.get("sanctions").is_none());

    // A counterparty with neither name nor account, and a device id with a space, are named;
    // a card number for a name is refused before anything is read.
    let mut empty = transfer("s-5", "c-1", "x", "dv 1", 1_000);
    empty["counterparty"] = json!({});
    let refused = app
        .call("POST", "/v1/events", Some(&service), Some(batch(&[empty])))
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text
    );
    let fields: Vec<&str> = refused.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.iter().any(|f| f.ends_with("device_id")),
        "{}",
        refused.text
    );
    let mut named = transfer("s-5", "c-1", "x", "dv-1", 1_000);
    named["counterparty"] = json!({});
    let refused = app
        .call("POST", "/v1/events", Some(&service), Some(batch(&[named])))
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text
    );
    assert!(
        refused.body["errors"][0]["field"]
            .as_str()
            .unwrap()
            .ends_with("counterparty"),
        "{}",
        refused.text
    );
    let card = transfer("s-6", "c-1", "4111 1111 1111 1111", "dv-1", 1_000);
    let refused = app
        .call("POST", "/v1/events", Some(&service), Some(batch(&[card])))
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text
    );
    assert!(
        !refused.text.contains("4111"),
        "never echoed: {}",
        refused.text
    );
}
