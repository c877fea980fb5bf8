use axum::http::StatusCode;
use serde_json::{json, Value};
use sextant_api::auth::Role;

use crate::common::{batch, behaviour_json, customer_json, payment_json, spawn_app, token};

#[tokio::test]
async fn health_and_spec_are_public_and_the_spec_lists_the_routes() {
    let app = spawn_app().await;
    let health = app.call("GET", "/healthz", None, None).await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.body["database"], "sqlite");

    let spec = app.call("GET", "/openapi.json", None, None).await;
    assert!(spec.body["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = spec.body["paths"].as_object().unwrap();
    for route in [
        "/healthz",
        "/metrics",
        "/v1/customers/{id}",
        "/v1/customers/{id}/consents",
        "/v1/events",
        "/v1/products",
    ] {
        assert!(paths.contains_key(route), "{route} missing from the spec");
    }
    assert!(
        paths["/v1/customers/{id}"].get("put").is_some()
            && paths["/v1/customers/{id}"].get("get").is_some()
    );

    let docs = app.call("GET", "/docs", None, None).await;
    assert!(
        docs.text.contains("/openapi.json") && !docs.text.contains("https://"),
        "the docs page must work offline"
    );
}

#[tokio::test]
async fn a_customer_is_registered_read_and_replaced() {
    let app = spawn_app().await;
    let service = token(Role::Service, "app");
    let created = app
        .call(
            "PUT",
            "/v1/customers/c1",
            Some(&service),
            Some(customer_json("c1").to_string()),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let mut changed = customer_json("c1");
    changed["region"] = json!("brno");
    let replaced = app
        .call(
            "PUT",
            "/v1/customers/c1",
            Some(&service),
            Some(changed.to_string()),
        )
        .await;
    assert_eq!(replaced.status, StatusCode::OK);
    let read = app
        .call(
            "GET",
            "/v1/customers/c1",
            Some(&token(Role::Customer, "c1")),
            None,
        )
        .await;
    assert_eq!(read.body["region"], "brno");
    assert_eq!(read.body["consents"]["marketing"]["email"], true);
}

#[tokio::test]
async fn bad_customers_get_precise_problems() {
    let app = spawn_app().await;
    let service = token(Role::Service, "app");
    let mut bad = customer_json("c1");
    bad["birth_year"] = json!(2020);
    bad["occupation"] = json!("astronaut");
    let reply = app
        .call(
            "PUT",
            "/v1/customers/c1",
            Some(&service),
            Some(bad.to_string()),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.content_type, "application/problem+json");
    assert_eq!(reply.body["code"], "validation_failed");
    let fields: Vec<&str> = reply.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["birth_year", "occupation"]);

    let mismatch = app
        .call(
            "PUT",
            "/v1/customers/c2",
            Some(&service),
            Some(customer_json("c1").to_string()),
        )
        .await;
    assert_eq!(mismatch.body["errors"][0]["code"], "id_mismatch");

    let syntax = app
        .call(
            "PUT",
            "/v1/customers/c1",
            Some(&service),
            Some("{\"birth_year\": 19".into()),
        )
        .await;
    assert_eq!(syntax.status, StatusCode::BAD_REQUEST);
    assert_eq!(syntax.body["code"], "invalid_json");
    assert!(syntax.body["errors"][0]["column"].as_u64().is_some());

    let unknown_field = app
        .call(
            "PUT",
            "/v1/customers/c1",
            Some(&service),
            Some(json!({"birth_year": 1980, "nickname": "x"}).to_string()),
        )
        .await;
    assert_eq!(unknown_field.status, StatusCode::BAD_REQUEST);
    assert!(unknown_field.body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("nickname"));
    assert!(
        app.store
            .customer(&"c1".try_into().unwrap())
            .await
            .unwrap()
            .is_none(),
        "nothing was stored"
    );
}

#[tokio::test]
async fn events_are_idempotent_per_event_id() {
    let app = spawn_app().await;
    app.put_customer("c1").await;
    let service = token(Role::Service, "app");
    let body = batch(&[
        payment_json("p-1", "c1", 1250),
        payment_json("p-2", "c1", 990),
        behaviour_json("b-1", "c1"),
    ]);
    let first = app
        .call("POST", "/v1/events", Some(&service), Some(body.clone()))
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(
        (
            first.body["stored"].as_u64(),
            first.body["duplicates"].as_u64()
        ),
        (Some(3), Some(0))
    );
    let again = app
        .call("POST", "/v1/events", Some(&service), Some(body))
        .await;
    assert_eq!(
        (
            again.body["accepted"].as_u64(),
            again.body["stored"].as_u64(),
            again.body["duplicates"].as_u64()
        ),
        (Some(3), Some(0), Some(3))
    );
    let page = app
        .call("GET", "/v1/customers/c1/payments", Some(&service), None)
        .await;
    assert_eq!(page.body["payments"].as_array().unwrap().len(), 2);
    assert_eq!(
        page.body["payments"][0]["card"],
        json!({"bin": "411111", "last4": "1234"})
    );
}

#[tokio::test]
async fn concurrent_duplicates_are_stored_once() {
    let app = spawn_app().await;
    app.put_customer("c1").await;
    let service = token(Role::Service, "app");
    let events: Vec<Value> = (0..50)
        .map(|i| payment_json(&format!("p-{i}"), "c1", 100 + i))
        .collect();
    let body = batch(&events);
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let (router, body, service) = (app.router.clone(), body.clone(), service.clone());
            tokio::spawn(async move {
                crate::common::call(router, "POST", "/v1/events", Some(&service), Some(body)).await
            })
        })
        .collect();
    let mut stored = 0;
    for task in tasks {
        let reply = task.await.unwrap();
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        stored += reply.body["stored"].as_u64().unwrap();
    }
    assert_eq!(stored, 50, "each event stored by exactly one request");
    let page = app
        .call(
            "GET",
            "/v1/customers/c1/payments?limit=500",
            Some(&service),
            None,
        )
        .await;
    assert_eq!(page.body["payments"].as_array().unwrap().len(), 50);
}

#[tokio::test]
async fn a_batch_with_a_bad_item_stores_nothing_and_names_the_item() {
    let app = spawn_app().await;
    app.put_customer("c1").await;
    let service = token(Role::Service, "app");
    let mut bad = payment_json("p-2", "c1", 500);
    bad["currency"] = json!("EURO");
    let reply = app
        .call(
            "POST",
            "/v1/events",
            Some(&service),
            Some(batch(&[payment_json("p-1", "c1", 100), bad])),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        reply.body["errors"][0],
        json!({"index": 1, "field": "currency", "code": "invalid_currency", "message": "`EURO` is not an ISO 4217 code (three upper-case letters)"})
    );
    let page = app
        .call("GET", "/v1/customers/c1/payments", Some(&service), None)
        .await;
    assert_eq!(
        page.body["payments"].as_array().unwrap().len(),
        0,
        "all-or-nothing"
    );

    let unknown = app
        .call(
            "POST",
            "/v1/events",
            Some(&service),
            Some(batch(&[payment_json("p-9", "nobody", 100)])),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(unknown.body["errors"][0]["code"], "unknown_customer");
    assert_eq!(unknown.body["errors"][0]["field"], "customer_id");
}

#[tokio::test]
async fn a_reused_event_id_is_a_conflict() {
    let app = spawn_app().await;
    app.put_customer("c1").await;
    let service = token(Role::Service, "app");
    app.call(
        "POST",
        "/v1/events",
        Some(&service),
        Some(batch(&[payment_json("p-1", "c1", 100)])),
    )
    .await;
    let reply = app
        .call(
            "POST",
            "/v1/events",
            Some(&service),
            Some(batch(&[
                payment_json("p-2", "c1", 5),
                payment_json("p-1", "c1", 999),
            ])),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(reply.body["code"], "event_id_reused");
    assert_eq!(reply.body["errors"][0]["index"], 1);
    let page = app
        .call("GET", "/v1/customers/c1/payments", Some(&service), None)
        .await;
    let amounts: Vec<i64> = page.body["payments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["amount_minor"].as_i64().unwrap())
        .collect();
    assert_eq!(amounts, [100], "neither p-2 nor the changed p-1 was stored");
}

#[tokio::test]
async fn full_card_numbers_are_refused() {
    let app = spawn_app().await;
    app.put_customer("c1").await;
    let service = token(Role::Service, "app");
    let mut with_pan = payment_json("p-1", "c1", 100);
    with_pan["card"] = json!("4111111111111111");
    let reply = app
        .call(
            "POST",
            "/v1/events",
            Some(&service),
            Some(batch(&[with_pan])),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.body["errors"][0]["code"], "full_card_number");
    assert!(
        !reply.text.contains("4111111111111111"),
        "the number is not echoed back"
    );
}

#[tokio::test]
async fn batches_are_bounded() {
    let app = spawn_app().await;
    let service = token(Role::Service, "app");
    let events: Vec<Value> = (0..1001)
        .map(|i| behaviour_json(&format!("b-{i}"), "c1"))
        .collect();
    let reply = app
        .call("POST", "/v1/events", Some(&service), Some(batch(&events)))
        .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    let empty = app
        .call("POST", "/v1/events", Some(&service), Some(batch(&[])))
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// Walks every route of the OpenAPI document that names a customer: a customer token for
/// another customer gets 404 on all of them, whatever the method.
#[tokio::test]
async fn a_customer_token_never_reaches_another_customer() {
    let app = spawn_app().await;
    app.put_customer("c1").await;
    app.put_customer("c2").await;
    let spec = app.call("GET", "/openapi.json", None, None).await.body;
    let mine = token(Role::Customer, "c1");
    let mut walked = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        if !path.contains("{id}") {
            continue;
        }
        for method in ["get", "put", "post", "patch", "delete"] {
            if item.get(method).is_none() {
                continue;
            }
            let body = Some("{}".to_owned());
            let other = app
                .call(
                    &method.to_uppercase(),
                    &path.replace("{id}", "c2"),
                    Some(&mine),
                    body.clone(),
                )
                .await;
            assert_eq!(
                other.status,
                StatusCode::NOT_FOUND,
                "{method} {path}: {}",
                other.text
            );
            let missing = app
                .call(
                    &method.to_uppercase(),
                    &path.replace("{id}", "c404"),
                    Some(&mine),
                    body,
                )
                .await;
            assert_eq!(
                missing.text, other.text,
                "{method} {path}: another customer looks exactly like a missing one"
            );
            walked += 1;
        }
    }
    assert!(walked >= 7, "walked {walked} customer routes");
    let own = app.call("GET", "/v1/customers/c1", Some(&mine), None).await;
    assert_eq!(own.status, StatusCode::OK);
}

#[tokio::test]
async fn roles_are_enforced() {
    let app = spawn_app().await;
    app.put_customer("c1").await;
    let none = app.call("GET", "/v1/customers/c1", None, None).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    let forged = app
        .call("GET", "/v1/customers/c1", Some("not.a.token"), None)
        .await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
    let marketer = app
        .call(
            "GET",
            "/v1/customers/c1",
            Some(&token(Role::Marketer, "m")),
            None,
        )
        .await;
    assert_eq!(marketer.status, StatusCode::FORBIDDEN);
    let wm_token = token(Role::WealthManager, "w");
    let holdings_as_wm = || app.call("GET", "/v1/customers/c1/holdings", Some(&wm_token), None);
    assert_eq!(
        holdings_as_wm().await.status,
        StatusCode::NOT_FOUND,
        "a wealth manager reaches only their clients"
    );
    let assigned = app
        .call(
            "PUT",
            "/v1/wealth-managers/w/clients/c1",
            Some(&token(Role::Admin, "root")),
            None,
        )
        .await;
    assert_eq!(assigned.status, StatusCode::NO_CONTENT);
    assert_eq!(holdings_as_wm().await.status, StatusCode::OK);
    let customer_posts = app
        .call(
            "POST",
            "/v1/events",
            Some(&token(Role::Customer, "c1")),
            Some(batch(&[behaviour_json("b", "c1")])),
        )
        .await;
    assert_eq!(customer_posts.status, StatusCode::FORBIDDEN);
    let products = app
        .call(
            "GET",
            "/v1/products",
            Some(&token(Role::Marketer, "m")),
            None,
        )
        .await;
    assert!(products.body["products"].as_array().unwrap().len() >= 10);
}

#[tokio::test]
async fn consent_withdrawal_is_immediate_and_recorded() {
    let app = spawn_app().await;
    app.put_customer("c1").await;
    let me = token(Role::Customer, "c1");
    let reply = app
        .call(
            "PATCH",
            "/v1/customers/c1/consents",
            Some(&me),
            Some(json!({"marketing": {"email": false, "sms": true}}).to_string()),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        reply.body["marketing"],
        json!({"push": false, "email": false, "sms": true, "in_app": false})
    );
    assert_eq!(
        reply.body["profiling"], true,
        "fields left out stay as they were"
    );
    let read = app.call("GET", "/v1/customers/c1", Some(&me), None).await;
    assert_eq!(read.body["consents"]["marketing"]["email"], false);
    let history = app
        .call("GET", "/v1/customers/c1/consents/history", Some(&me), None)
        .await;
    let changes: Vec<(&str, bool, &str)> = history.body["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["scope"].as_str().unwrap(),
                c["granted"].as_bool().unwrap(),
                c["actor"].as_str().unwrap(),
            )
        })
        .collect();
    // Newest first: the customer's two changes, then the grants recorded at registration.
    assert_eq!(changes.len(), 4, "{changes:?}");
    let mut latest = changes[..2].to_vec();
    latest.sort();
    assert_eq!(
        latest,
        [
            ("marketing.email", false, "c1"),
            ("marketing.sms", true, "c1")
        ]
    );
    assert!(changes[2..].iter().all(|c| c.1 && c.2 == "app"));
}

#[tokio::test]
async fn holdings_are_replaced_and_validated() {
    let app = spawn_app().await;
    app.put_customer("c1").await;
    let service = token(Role::Service, "app");
    let holding = |product: &str| json!({"customer_id": "c1", "product_id": product, "value_minor": 250000, "currency": "EUR", "opened_at": "2025-01-01T00:00:00Z"});
    let ok = app
        .call(
            "PUT",
            "/v1/customers/c1/holdings",
            Some(&service),
            Some(json!({"holdings": [holding("fund-global-equity")]}).to_string()),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    let unknown = app
        .call(
            "PUT",
            "/v1/customers/c1/holdings",
            Some(&service),
            Some(json!({"holdings": [holding("fund-nope")]}).to_string()),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(unknown.body["errors"][0]["code"], "unknown_product");
    let read = app
        .call(
            "GET",
            "/v1/customers/c1/holdings",
            Some(&token(Role::Customer, "c1")),
            None,
        )
        .await;
    assert_eq!(read.body["holdings"][0]["product_id"], "fund-global-equity");
}

#[tokio::test]
async fn payments_page_with_a_cursor() {
    let app = spawn_app().await;
    app.put_customer("c1").await;
    let service = token(Role::Service, "app");
    let events: Vec<Value> = (0..5)
        .map(|i| payment_json(&format!("p-{i}"), "c1", 100 + i))
        .collect();
    app.call("POST", "/v1/events", Some(&service), Some(batch(&events)))
        .await;
    let first = app
        .call(
            "GET",
            "/v1/customers/c1/payments?limit=3",
            Some(&service),
            None,
        )
        .await;
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    let second = app
        .call(
            "GET",
            &format!("/v1/customers/c1/payments?limit=3&cursor={cursor}"),
            Some(&service),
            None,
        )
        .await;
    let ids: Vec<&str> = first.body["payments"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second.body["payments"].as_array().unwrap())
        .map(|p| p["event_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["p-4", "p-3", "p-2", "p-1", "p-0"]);
    assert!(second.body["next_cursor"].is_null());
    let bad = app
        .call(
            "GET",
            "/v1/customers/c1/payments?limit=0",
            Some(&service),
            None,
        )
        .await;
    assert_eq!(bad.body["errors"][0]["field"], "limit");
}

#[tokio::test]
async fn metrics_count_requests_and_events() {
    let app = spawn_app().await;
    app.put_customer("c1").await;
    app.call(
        "POST",
        "/v1/events",
        Some(&token(Role::Service, "app")),
        Some(batch(&[behaviour_json("b-1", "c1")])),
    )
    .await;
    let metrics = app.call("GET", "/metrics", None, None).await;
    assert!(
        metrics
            .text
            .contains("sextant_events_total{outcome=\"stored\"} 1"),
        "{}",
        metrics.text
    );
    assert!(metrics.text.contains("route=\"/v1/customers/{id}\""));
}

#[tokio::test]
async fn card_numbers_are_refused_in_every_field_and_never_echoed() {
    let app = spawn_app().await;
    let service = token(Role::Service, "app");
    let mut customer = customer_json("c1");
    customer["region"] = json!("4111 1111 1111 1111");
    let reply = app
        .call(
            "PUT",
            "/v1/customers/c1",
            Some(&service),
            Some(customer.to_string()),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.body["errors"][0]["code"], "full_card_number");
    assert_eq!(reply.body["errors"][0]["field"], "region");

    app.put_customer("c1").await;
    let mut amount = payment_json("p-1", "c1", 1);
    amount["amount_minor"] = json!(4222222222222_i64);
    let mut kind = payment_json("p-2", "c1", 1);
    kind["direction"] = json!("4111111111111111");
    let reply = app
        .call(
            "POST",
            "/v1/events",
            Some(&service),
            Some(batch(&[amount, kind])),
        )
        .await;
    let codes: Vec<&str> = reply.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["full_card_number", "full_card_number"]);
    assert!(!reply.text.contains("4111111111111111") && !reply.text.contains("4222222222222"));
}

#[tokio::test]
async fn one_position_per_product() {
    let app = spawn_app().await;
    app.put_customer("c1").await;
    let holding = json!({"customer_id": "c1", "product_id": "dep-easy-access", "value_minor": 100, "currency": "EUR", "opened_at": "2025-01-01T00:00:00Z"});
    let reply = app
        .call(
            "PUT",
            "/v1/customers/c1/holdings",
            Some(&token(Role::Service, "app")),
            Some(json!({"holdings": [holding, holding]}).to_string()),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.body["errors"][0]["code"], "duplicate_product");
}

#[tokio::test]
async fn bad_queries_and_bodies_still_answer_problem_json_after_the_scope_check() {
    let app = spawn_app().await;
    app.put_customer("c1").await;
    let mine = token(Role::Customer, "c1");
    let other = app
        .call(
            "GET",
            "/v1/customers/c2/payments?limit=x",
            Some(&mine),
            None,
        )
        .await;
    assert_eq!(
        other.status,
        StatusCode::NOT_FOUND,
        "the scope check comes before query parsing"
    );
    let own = app
        .call(
            "GET",
            "/v1/customers/c1/payments?limit=x",
            Some(&mine),
            None,
        )
        .await;
    assert_eq!(
        (own.status, own.body["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("query"))
    );
    let huge = format!("{{\"events\":[\"{}\"]}}", "x".repeat(3 * 1024 * 1024));
    let reply = app
        .call(
            "POST",
            "/v1/events",
            Some(&token(Role::Service, "app")),
            Some(huge),
        )
        .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.content_type, "application/problem+json");
}

#[tokio::test]
async fn page_parameters_out_of_their_declared_range_are_refused() {
    let app = spawn_app().await;
    let admin = token(Role::Admin, "root");
    for (uri, field) in [
        ("/v1/audit?after=-1", "after"),
        ("/v1/campaigns?limit=100000", "limit"),
        ("/v1/campaigns?limit=0", "limit"),
    ] {
        let reply = app.call("GET", uri, Some(&admin), None).await;
        assert_eq!(
            (reply.status, reply.body["errors"][0]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
            "{uri}: {}",
            reply.text
        );
    }
    for uri in ["/v1/audit?after=0", "/v1/campaigns?limit=500"] {
        let reply = app.call("GET", uri, Some(&admin), None).await;
        assert_eq!(reply.status, StatusCode::OK, "{uri}: {}", reply.text);
    }
}

#[tokio::test]
async fn milliseconds_survive_the_round_trip() {
    let app = spawn_app().await;
    app.put_customer("c1").await;
    let service = token(Role::Service, "app");
    let mut event = payment_json("p-1", "c1", 100);
    event["occurred_at"] = json!("2026-05-01T12:30:00.500Z");
    app.call("POST", "/v1/events", Some(&service), Some(batch(&[event])))
        .await;
    let page = app
        .call("GET", "/v1/customers/c1/payments", Some(&service), None)
        .await;
    let read_back = page.body["payments"][0].clone();
    assert_eq!(read_back["occurred_at"], "2026-05-01T12:30:00.500Z");
    let again = app
        .call(
            "POST",
            "/v1/events",
            Some(&service),
            Some(batch(&[read_back])),
        )
        .await;
    assert_eq!(
        again.body["duplicates"], 1,
        "what is read back re-sends as a duplicate: {}",
        again.text
    );
}
