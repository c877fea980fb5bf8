//! Loyalty points over HTTP: staff adjustments under a key, redemptions that answer the
//! exact money off, fifty simultaneous redemptions that never overspend, the same key giving
//! one effect and the same answer, a reversal once however often sent, the statement by
//! pages, and the liability.

use axum::http::StatusCode;
use serde_json::{json, Value};
use sextant_api::auth::Role;

use crate::common::{call_with, spawn_app, token, Reply, TestApp};

async fn post(app: &TestApp, uri: &str, who: &str, key: Option<&str>, body: Value) -> Reply {
    let headers: Vec<(&str, &str)> = key.map(|k| ("idempotency-key", k)).into_iter().collect();
    call_with(
        app.router.clone(),
        "POST",
        uri,
        Some(who),
        &headers,
        Some(body.to_string()),
    )
    .await
}

fn redemption(customer: &str, points: i64, reference: &str) -> Value {
    json!({"customer_id": customer, "points": points, "against": "purchase", "reference": reference})
}

async fn balance(app: &TestApp, customer: &str, query: &str) -> Value {
    let reply = app
        .call(
            "GET",
            &format!("/v1/customers/{customer}/loyalty{query}"),
            Some(&token(Role::Service, "app")),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn points_are_granted_spent_once_per_key_and_never_overspent() {
    let app = spawn_app().await;
    app.put_customer("c1").await;
    let admin = token(Role::Admin, "ops-1");
    let service = token(Role::Service, "payment-app");
    let grant = json!({"points": 1_000, "reason": "welcome bonus, complaint 4411"});
    let first = post(
        &app,
        "/v1/customers/c1/loyalty/adjustments",
        &admin,
        Some("g-1"),
        grant.clone(),
    )
    .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    assert_eq!(first.body["points"], 1_000);
    assert_eq!(first.body["actor"], "ops-1");
    let again = post(
        &app,
        "/v1/customers/c1/loyalty/adjustments",
        &admin,
        Some("g-1"),
        grant,
    )
    .await;
    assert_eq!(
        again.body, first.body,
        "the same key: one effect, the same answer"
    );
    let no_reason = post(
        &app,
        "/v1/customers/c1/loyalty/adjustments",
        &admin,
        Some("g-2"),
        json!({"points": 5, "reason": " "}),
    )
    .await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(no_reason.body["errors"][0]["field"], "reason");
    let not_admin = post(
        &app,
        "/v1/customers/c1/loyalty/adjustments",
        &service,
        Some("g-3"),
        json!({"points": 5, "reason": "x"}),
    )
    .await;
    assert_eq!(not_admin.status, StatusCode::FORBIDDEN);
    assert_eq!(balance(&app, "c1", "").await["balance"], 1_000);

    // Fifty redemptions of 30 points at once: 1,000 points pay for 33 of them.
    let mut tasks = Vec::new();
    for i in 0..50 {
        let (router, service) = (app.router.clone(), service.clone());
        tasks.push(tokio::spawn(async move {
            let key = format!("checkout-{i}");
            call_with(
                router,
                "POST",
                "/v1/loyalty/redemptions",
                Some(&service),
                &[("idempotency-key", key.as_str())],
                Some(redemption("c1", 30, &format!("order-{i}")).to_string()),
            )
            .await
        }));
    }
    let (mut created, mut refused) = (0, 0);
    // Which of them got through is up to the scheduler: the retry below uses one that did.
    let mut first_spent = None;
    for (i, task) in tasks.into_iter().enumerate() {
        let reply = task.await.unwrap();
        match reply.status {
            StatusCode::CREATED => {
                assert_eq!(reply.body["amount_minor"], 30, "a point is worth a cent");
                created += 1;
                first_spent.get_or_insert(i);
            }
            StatusCode::CONFLICT => {
                assert_eq!(reply.body["code"], "insufficient_points", "{}", reply.text);
                refused += 1;
            }
            other => panic!("{other}: {}", reply.text),
        }
    }
    assert_eq!((created, refused), (33, 17));
    let view = balance(&app, "c1", "").await;
    assert_eq!(
        (view["balance"].as_i64(), view["spendable"].as_i64()),
        (Some(10), Some(10))
    );

    // A retry of a spent checkout is its first answer; its key with another body is refused.
    let i = first_spent.expect("33 got through");
    let (key, order) = (format!("checkout-{i}"), format!("order-{i}"));
    let retried = post(
        &app,
        "/v1/loyalty/redemptions",
        &service,
        Some(&key),
        redemption("c1", 30, &order),
    )
    .await;
    let spent = match retried.status {
        StatusCode::CREATED => retried.body.clone(),
        _ => panic!("{key} was refused: {}", retried.text),
    };
    let reused = post(
        &app,
        "/v1/loyalty/redemptions",
        &service,
        Some(&key),
        redemption("c1", 31, &order),
    )
    .await;
    assert_eq!(
        reused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reused.text
    );
    assert_eq!(reused.body["errors"][0]["code"], "idempotency_key_reused");
    let missing = post(
        &app,
        "/v1/loyalty/redemptions",
        &service,
        None,
        redemption("c1", 1, "o"),
    )
    .await;
    assert_eq!(missing.body["errors"][0]["code"], "missing_idempotency_key");
    // A customer spends only their own points.
    let other = post(
        &app,
        "/v1/loyalty/redemptions",
        &token(Role::Customer, "c2"),
        Some("k"),
        redemption("c1", 1, "o"),
    )
    .await;
    assert_eq!(
        other.status,
        StatusCode::NOT_FOUND,
        "as if there were no such customer"
    );

    // The money off wanted, in cents: the fewest points worth it.
    let by_amount = post(
        &app,
        "/v1/loyalty/redemptions",
        &service,
        Some("fee-1"),
        json!({"customer_id": "c1", "amount_minor": 7, "against": "instalment_fee", "reference": "ip_123"}),
    )
    .await;
    assert_eq!(by_amount.status, StatusCode::CREATED, "{}", by_amount.text);
    assert_eq!(
        (
            by_amount.body["points"].as_i64(),
            by_amount.body["against"].as_str()
        ),
        (Some(7), Some("instalment_fee"))
    );

    // Reversed once: the points come back.
    let id = spent["redemption_id"].as_str().unwrap();
    let reverse = format!("/v1/customers/c1/loyalty/redemptions/{id}/reverse");
    let back = post(&app, &reverse, &service, None, json!({})).await;
    assert_eq!(back.status, StatusCode::OK, "{}", back.text);
    assert_eq!(back.body["points"], 30);
    // Sent again, it is the same reversal: the first answer, nothing moves twice.
    let twice = post(&app, &reverse, &service, None, json!({})).await;
    assert_eq!((twice.status, &twice.body), (StatusCode::OK, &back.body));
    assert_eq!(balance(&app, "c1", "").await["balance"], 10 - 7 + 30);

    // The statement, newest first, by pages.
    let page = balance(&app, "c1", "?limit=5").await;
    let lines = page["statement"].as_array().unwrap();
    assert_eq!(lines.len(), 5);
    assert_eq!(lines[0]["kind"], "reverse_redeem");
    let next = page["next_before"].as_u64().unwrap();
    let older = balance(&app, "c1", &format!("?limit=100&before={next}")).await;
    let older = older["statement"].as_array().unwrap();
    assert_eq!(
        older.last().unwrap()["kind"],
        "adjust",
        "the grant is the oldest"
    );
    assert_eq!(5 + older.len(), 1 + 33 + 1 + 1);

    // Finance sees the liability: every point outstanding, and its value.
    let report = app
        .call(
            "GET",
            "/v1/loyalty/liability",
            Some(&token(Role::Compliance, "fin")),
            None,
        )
        .await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.text);
    assert_eq!(report.body["points"], 33);
    assert_eq!(report.body["value_minor"], 33);
    let denied = app
        .call("GET", "/v1/loyalty/liability", Some(&service), None)
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    // Nothing has lapsed: the expiry job finds nothing, twice.
    for _ in 0..2 {
        let run = post(&app, "/v1/loyalty/expiry", &admin, None, json!({})).await;
        assert_eq!(run.status, StatusCode::OK, "{}", run.text);
        assert_eq!(run.body["lots"], 0);
    }
}

/// `amount_minor` of `currency` back for purchase `of`, two days after it.
fn refund_json(event_id: &str, customer: &str, amount_minor: i64, of: &str) -> Value {
    json!({
        "type": "payment", "event_id": event_id, "customer_id": customer, "occurred_at": "2026-05-03T09:00:00Z",
        "amount_minor": amount_minor, "currency": "EUR", "direction": "credit", "kind": "refund", "channel": "in_store",
        "merchant_id": "m-77", "mcc": "5411", "country": "CZ", "refund_of": of
    })
}

#[tokio::test]
async fn ingested_purchases_earn_and_refunds_take_their_share_back_once() {
    use crate::common::{batch, payment_json};
    let app = spawn_app().await;
    app.put_customer("c1").await;
    app.put_rates("2026-05-01", json!({"USD": "1.2500"})).await;
    let service = token(Role::Service, "payment-app");
    let mut dollars = payment_json("buy-usd", "c1", 5_000);
    dollars["currency"] = json!("USD");
    dollars["occurred_at"] = json!("2026-05-01T15:00:00Z");
    let mut atm = payment_json("cash", "c1", 20_000);
    atm["kind"] = json!("atm");
    atm.as_object_mut().unwrap().remove("mcc");
    let events = vec![
        // 100.00 EUR of groceries: 200 points (2x).
        payment_json("buy-eur", "c1", 10_000),
        // 50.00 USD at 1.25 a euro = 40.00 EUR of groceries: 80 points.
        dollars,
        // Cash earns nothing.
        atm,
        // 30.00 of the 100.00 back: 60 of its 200 points.
        refund_json("back-1", "c1", 3_000, "buy-eur"),
    ];
    let body = batch(&events);
    let sent = app
        .call("POST", "/v1/events", Some(&service), Some(body.clone()))
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.text);
    let view = balance(&app, "c1", "").await;
    assert_eq!(view["balance"], 200 + 80 - 60, "{view}");
    let kinds: Vec<(&str, i64)> = view["statement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["key"].as_str().unwrap(), l["points"].as_i64().unwrap()))
        .collect();
    // Both purchases expire in the same month: one entry, each purchase an item of it.
    assert_eq!(
        kinds,
        vec![("refund:back-1", -60), ("accrual:earn:buy-eur", 280)]
    );
    let items: Vec<(&str, i64, &str)> = view["statement"][1]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["key"].as_str().unwrap(),
                i["points"].as_i64().unwrap(),
                i["why"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        items,
        [
            ("earn:buy-eur", 200, "blue tier, x2.00"),
            ("earn:buy-usd", 80, "blue tier, x2.00")
        ]
    );
    assert_eq!(view["tier"], "blue");
    assert_eq!(view["spend_12m_minor"], 10_000 + 4_000 - 3_000);

    // The same batch again (a retry, a re-import): nothing earns twice.
    let again = app
        .call("POST", "/v1/events", Some(&service), Some(body))
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert_eq!(
        balance(&app, "c1", "").await["statement"],
        view["statement"]
    );

    // The rest of the money back: the rest of the points, never more.
    let rest = batch(&[
        refund_json("back-2", "c1", 7_000, "buy-eur"),
        refund_json("back-3", "c1", 500, "buy-eur"),
    ]);
    let sent = app
        .call("POST", "/v1/events", Some(&service), Some(rest))
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.text);
    assert_eq!(balance(&app, "c1", "").await["balance"], 80);

    // Only a refund names a purchase.
    let mut wrong = payment_json("buy-2", "c1", 1_000);
    wrong["refund_of"] = json!("buy-eur");
    let refused = app
        .call("POST", "/v1/events", Some(&service), Some(batch(&[wrong])))
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.body["errors"][0]["field"], "refund_of");
    assert_eq!(refused.body["errors"][0]["code"], "not_a_refund");
}
