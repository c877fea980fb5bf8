//! Credit through the HTTP API: quotes with exact plans or specific reasons, acceptance once
//! under an Idempotency-Key, loan applications, recorded decisions that replay identically.

use chrono::{Duration, Utc};
use serde_json::{json, Value};
use sextant_api::auth::Role;
use sextant_models::credit::CreditModelKind;
use sextant_services::lending::operations::{replay, train_population, Labels};
use sextant_store::Actor;

use crate::common::{call_with, spawn_app, token, TestApp};
use crate::profiles::post_events;

/// Loads a synthetic population, profiles it and trains the credit model on its outcomes.
async fn credit_app(customers: u64) -> (TestApp, Vec<String>) {
    let app = spawn_app().await;
    let config = sextant_synth::Config {
        customers,
        months: 6,
        seed: 11,
        end_date: Utc::now().date_naive() - Duration::days(1),
    };
    let now = Utc::now();
    crate::common::publish_synthetic_rates(app.store.as_ref(), &config).await;
    let mut truth = std::collections::HashMap::new();
    let mut ids = Vec::new();
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
            .collect();
        app.store
            .ingest(&events, &Actor::system("test"), now)
            .await
            .unwrap();
        truth.insert(
            bundle.customer.id.to_string(),
            (
                bundle.truth.defaulted_next_12m,
                bundle.truth.default_propensity,
            ),
        );
        ids.push(bundle.customer.id.to_string());
    }
    app.pipeline.profile_all(now, |_| {}).await.unwrap();
    train_population(
        app.store.as_ref(),
        Labels {
            outcomes: &truth,
            source: "the test population's outcomes",
        },
        CreditModelKind::Scorecard,
        42,
        &Actor::system("test"),
    )
    .await
    .unwrap();
    (app, ids)
}

async fn post(
    app: &TestApp,
    uri: &str,
    who: &str,
    headers: &[(&str, &str)],
    body: Value,
) -> crate::common::Reply {
    call_with(
        app.router.clone(),
        "POST",
        uri,
        Some(who),
        headers,
        Some(body.to_string()),
    )
    .await
}

fn quote_body(customer: &str, amount_minor: i64) -> Value {
    json!({"customer_id": customer, "merchant_id": "m-shoes", "amount_minor": amount_minor, "currency": "EUR"})
}

/// The schedule adds up exactly: principal repaid to the cent, payments sum to the total.
fn assert_exact(plan: &Value, amount_minor: i64) {
    let schedule = plan["schedule"].as_array().unwrap();
    assert_eq!(schedule.len() as u64, plan["months"].as_u64().unwrap());
    let sum = |field: &str| -> i64 { schedule.iter().map(|i| i[field].as_i64().unwrap()).sum() };
    assert_eq!(sum("principal_minor"), amount_minor, "{plan}");
    assert_eq!(plan["principal_minor"].as_i64().unwrap(), amount_minor);
    assert_eq!(
        sum("payment_minor"),
        plan["total_repayable_minor"].as_i64().unwrap()
    );
    assert_eq!(
        sum("interest_minor"),
        plan["total_interest_minor"].as_i64().unwrap()
    );
    assert_eq!(
        plan["total_cost_minor"].as_i64().unwrap(),
        plan["total_repayable_minor"].as_i64().unwrap() - amount_minor
    );
    assert_eq!(schedule.last().unwrap()["balance_after_minor"], 0);
    for line in schedule {
        assert_eq!(
            line["payment_minor"].as_i64().unwrap(),
            line["principal_minor"].as_i64().unwrap()
                + line["interest_minor"].as_i64().unwrap()
                + line["fee_minor"].as_i64().unwrap()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quotes_are_exact_or_explained_recorded_and_accepted_once() {
    let (app, ids) = credit_app(240).await;
    let service = token(Role::Service, "payment-app");
    let (mut approved, mut declined) = (Vec::new(), Vec::new());
    for (i, id) in ids.iter().enumerate().take(120) {
        // Small baskets and large ones, so that both outcomes occur.
        let amount = if i % 2 == 0 { 12_000 } else { 450_000 };
        let reply = post(
            &app,
            "/v1/instalments/quote",
            &service,
            &[],
            quote_body(id, amount),
        )
        .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        let q = reply.body;
        match q["outcome"].as_str().unwrap() {
            "approved" => {
                assert!(q["reasons"].as_array().unwrap().is_empty());
                let plans = q["plans"].as_array().unwrap();
                assert!(!plans.is_empty());
                for plan in plans {
                    assert_exact(plan, amount);
                }
                approved.push(q);
            }
            "declined" => {
                let reasons = q["reasons"].as_array().unwrap();
                assert!((1..=4).contains(&reasons.len()), "{q}");
                for r in reasons {
                    assert!(!r["code"].as_str().unwrap().is_empty());
                    assert!(!r["text"]
                        .as_str()
                        .unwrap()
                        .to_lowercase()
                        .contains("score too low"));
                    if r["source"] == "model" {
                        let feature = r["feature"].as_str().unwrap();
                        assert!(
                            !sextant_lending::NOT_CREDIT_FEATURES.contains(&feature),
                            "{feature} is no reason to refuse credit"
                        );
                    }
                }
                assert!(q["plans"].as_array().unwrap().is_empty());
                declined.push(q);
            }
            other => panic!("outcome {other}"),
        }
    }
    assert!(
        !approved.is_empty() && !declined.is_empty(),
        "{} approved, {} declined",
        approved.len(),
        declined.len()
    );

    // Every recorded decision replays to the same bytes.
    for q in approved.iter().chain(&declined).take(20) {
        let id = q["quote_id"].as_str().unwrap();
        let r = replay(app.store.as_ref(), id).await.unwrap();
        assert!(r.identical, "{id}: {:?}", r.differences);
    }
    let first = &approved[0];
    let quote_id = first["quote_id"].as_str().unwrap();
    let customer = first["customer_id"].as_str().unwrap();
    let recorded = app
        .call(
            "GET",
            &format!("/v1/credit/decisions/{quote_id}"),
            Some(&service),
            None,
        )
        .await;
    assert_eq!(recorded.status, 200, "{}", recorded.text);
    assert!(recorded.body["rules"].as_array().unwrap().len() >= 5);
    assert_eq!(recorded.body["plans"], first["plans"]);

    // Accepting: a key is required, the term must be offered, and the plan is made once.
    let accept = format!("/v1/instalments/quotes/{quote_id}/accept");
    let months = first["plans"][0]["months"].as_u64().unwrap();
    let no_key = post(&app, &accept, &service, &[], json!({"months": months})).await;
    assert_eq!(no_key.status, 422);
    assert_eq!(no_key.body["errors"][0]["code"], "missing_idempotency_key");
    let wrong_term = post(
        &app,
        &accept,
        &service,
        &[("idempotency-key", "k0")],
        json!({"months": 7}),
    )
    .await;
    assert_eq!(wrong_term.status, 422);
    assert_eq!(wrong_term.body["errors"][0]["field"], "months");
    let other_customer = token(
        Role::Customer,
        if customer == ids[0] { &ids[1] } else { &ids[0] },
    );
    let stranger = post(
        &app,
        &accept,
        &other_customer,
        &[("idempotency-key", "k9")],
        json!({"months": months}),
    )
    .await;
    assert_eq!(
        stranger.status, 404,
        "another customer cannot see the quote"
    );

    let (a, b) = tokio::join!(
        post(
            &app,
            &accept,
            &service,
            &[("idempotency-key", "k1")],
            json!({"months": months})
        ),
        post(
            &app,
            &accept,
            &service,
            &[("idempotency-key", "k1")],
            json!({"months": months})
        ),
    );
    assert_eq!(
        (a.status.as_u16(), b.status.as_u16()),
        (201, 201),
        "{} {}",
        a.text,
        b.text
    );
    assert_eq!(
        a.body, b.body,
        "two identical concurrent requests get one answer"
    );
    assert_exact(&a.body["plan"], first["amount_minor"].as_i64().unwrap());
    let retry = post(
        &app,
        &accept,
        &service,
        &[("idempotency-key", "k1")],
        json!({"months": months}),
    )
    .await;
    assert_eq!(retry.body, a.body);
    // The same JSON written with other spacing is the same request.
    let spaced = call_with(
        app.router.clone(),
        "POST",
        &accept,
        Some(&service),
        &[("idempotency-key", "k1")],
        Some(format!("{{ \"months\" : {months} }}")),
    )
    .await;
    assert_eq!(spaced.status, 201, "{}", spaced.text);
    assert_eq!(spaced.body, a.body);
    let reused = post(
        &app,
        &accept,
        &service,
        &[("idempotency-key", "k1")],
        json!({"months": 99}),
    )
    .await;
    assert_eq!(reused.status, 422);
    assert_eq!(reused.body["errors"][0]["code"], "idempotency_key_reused");
    let second = post(
        &app,
        &accept,
        &service,
        &[("idempotency-key", "k2")],
        json!({"months": months}),
    )
    .await;
    assert_eq!(second.status, 409);
    assert_eq!(second.body["code"], "quote_already_accepted");
    let after = app
        .call(
            "GET",
            &format!("/v1/credit/decisions/{quote_id}"),
            Some(&service),
            None,
        )
        .await;
    assert_eq!(after.body["accepted_plan_id"], a.body["plan_id"]);

    let declined_id = declined[0]["quote_id"].as_str().unwrap();
    let refused = post(
        &app,
        &format!("/v1/instalments/quotes/{declined_id}/accept"),
        &service,
        &[("idempotency-key", "k3")],
        json!({"months": 3}),
    )
    .await;
    assert_eq!(refused.status, 409);
    assert_eq!(refused.body["code"], "quote_declined");

    // A loan application, retried under its key, is decided once.
    let application = json!({"customer_id": customer, "amount_minor": 300_000, "currency": "EUR", "term_months": 24});
    let one = post(
        &app,
        "/v1/credit/applications",
        &service,
        &[("idempotency-key", "loan-1")],
        application.clone(),
    )
    .await;
    assert_eq!(one.status, 201, "{}", one.text);
    let two = post(
        &app,
        "/v1/credit/applications",
        &service,
        &[("idempotency-key", "loan-1")],
        application,
    )
    .await;
    assert_eq!(one.body, two.body);
    match one.body["outcome"].as_str().unwrap() {
        "approved" => assert_exact(&one.body["offer"], 300_000),
        _ => assert!((1..=4).contains(&one.body["reasons"].as_array().unwrap().len())),
    }
    let odd_term = post(
        &app,
        "/v1/credit/applications",
        &service,
        &[],
        json!({"customer_id": customer, "amount_minor": 300_000, "currency": "EUR", "term_months": 7}),
    )
    .await;
    assert_eq!(odd_term.status, 422, "{}", odd_term.text);
    assert_eq!(odd_term.body["errors"][0]["field"], "term_months");
    let listed = app
        .call(
            "GET",
            &format!("/v1/customers/{customer}/credit/decisions"),
            Some(&token(Role::Customer, customer)),
            None,
        )
        .await;
    assert_eq!(listed.status, 200);
    assert!(listed.body["decisions"].as_array().unwrap().len() >= 2);
}

#[tokio::test]
async fn bad_credit_requests_name_the_field_and_nothing_is_recorded() {
    let app = spawn_app().await;
    app.put_customer("c1").await;
    let service = token(Role::Service, "payment-app");
    let no_model = post(
        &app,
        "/v1/instalments/quote",
        &service,
        &[],
        quote_body("c1", 10_000),
    )
    .await;
    assert_eq!(no_model.status, 503);
    assert_eq!(no_model.body["code"], "credit_model_unavailable");
    for (body, field) in [
        (quote_body("c1", 0), "amount_minor"),
        (
            json!({"customer_id": "c1", "merchant_id": "m", "amount_minor": 100, "currency": "USD"}),
            "currency",
        ),
        (quote_body("", 100), "customer_id"),
    ] {
        let reply = post(&app, "/v1/instalments/quote", &service, &[], body).await;
        assert_eq!(reply.status, 422, "{}", reply.text);
        assert_eq!(reply.body["errors"][0]["field"], field, "{}", reply.text);
    }
    let unknown = post(
        &app,
        "/v1/instalments/quote",
        &service,
        &[],
        json!({"customer_id": "c1", "amount": 1}),
    )
    .await;
    assert_eq!(unknown.status, 400, "{}", unknown.text);
    let marketer = post(
        &app,
        "/v1/instalments/quote",
        &token(Role::Marketer, "m"),
        &[],
        quote_body("c1", 100),
    )
    .await;
    assert_eq!(marketer.status, 403);
    let bad_key = post(
        &app,
        "/v1/instalments/quotes/cq_x/accept",
        &service,
        &[("idempotency-key", "has space")],
        json!({"months": 3}),
    )
    .await;
    assert_eq!(bad_key.status, 422);
    assert_eq!(bad_key.body["errors"][0]["code"], "invalid_idempotency_key");
    let missing = post(
        &app,
        "/v1/instalments/quotes/cq_x/accept",
        &service,
        &[("idempotency-key", "k")],
        json!({"months": 3}),
    )
    .await;
    assert_eq!(missing.status, 404);
    let listed = app
        .store
        .credit_decisions_for(&sextant_domain::CustomerId::parse("c1").unwrap(), 10)
        .await
        .unwrap();
    assert!(listed.is_empty());
}

/// Quotes read the customer from the read model, yet decide on features that include every
/// event acknowledged before the quote: an event drops the customer from the model, and the
/// now stale profile is recomputed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quote_after_a_new_event_decides_on_features_that_include_it() {
    let (app, ids) = credit_app(60).await;
    let service = token(Role::Service, "payment-app");
    app.ctx
        .read_model()
        .warm(app.store.as_ref(), |_| {})
        .await
        .unwrap();
    let id = &ids[3];
    let customer = sextant_domain::CustomerId::parse(id).unwrap();
    let features_as_of = |quote: &Value| {
        let quote_id = quote["quote_id"].as_str().unwrap().to_owned();
        let store = app.store.clone();
        async move {
            let record = store.credit_decision(&quote_id).await.unwrap().unwrap();
            let at = record.inputs["features_as_of"].as_str().unwrap().to_owned();
            chrono::DateTime::parse_from_rfc3339(&at).unwrap()
        }
    };
    let quote = || {
        post(
            &app,
            "/v1/instalments/quote",
            &service,
            &[],
            quote_body(id, 12_000),
        )
    };
    let first = quote().await;
    assert_eq!(first.status, 201, "{}", first.text);
    let entry = app.ctx.read_model().cached(&customer).unwrap();
    assert!(
        entry.newest_event_at.is_some(),
        "the quote's freshness check is kept in the read model"
    );
    let before = features_as_of(&first.body).await;
    let again = quote().await;
    assert_eq!(features_as_of(&again.body).await, before, "still fresh");

    let event = json!({"type": "payment", "event_id": "late-1", "customer_id": id,
        "occurred_at": Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "amount_minor": 4_500, "currency": "EUR", "direction": "debit", "kind": "purchase",
        "channel": "online", "merchant_id": "m-late", "mcc": "5732", "country": "CZ"});
    post_events(&app, &[event]).await;
    let after = quote().await;
    assert_eq!(after.status, 201, "{}", after.text);
    let after_as_of = features_as_of(&after.body).await;
    assert!(
        after_as_of > before,
        "features as of {after_as_of} should be newer than {before}"
    );
}

/// Credit for a customer whose account is in crowns: asked in crowns only, decided under the
/// policy converted at today's published rate, and refused by name while an amount of their
/// history has no rate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credit_is_decided_in_the_customers_base_currency() {
    let (app, _) = credit_app(60).await;
    let service = token(Role::Service, "payment-app");
    app.put_customer_in("c-cz", "CZK").await;
    let day = |days_ago: i64| (Utc::now() - Duration::days(days_ago)).to_rfc3339();
    let event = |id: &str, amount: i64, currency: &str, at: String| {
        let mut p = crate::common::payment_json(id, "c-cz", amount);
        p["currency"] = json!(currency);
        p["occurred_at"] = json!(at);
        p
    };
    post_events(
        &app,
        &[
            event("cz-1", 120_000, "CZK", day(20)),
            event("cz-2", 80_000, "CZK", day(10)),
        ],
    )
    .await;
    let quote = |currency: &str| json!({"customer_id": "c-cz", "merchant_id": "m-shoes", "amount_minor": 250_000, "currency": currency});
    let in_euros = post(&app, "/v1/instalments/quote", &service, &[], quote("EUR")).await;
    assert_eq!(in_euros.status, 422, "{}", in_euros.text);
    assert_eq!(in_euros.body["errors"][0]["field"], "currency");
    assert_eq!(in_euros.body["errors"][0]["code"], "currency_mismatch");
    // No crown rate yet: the euro policy cannot be put in crowns.
    let no_rate = post(&app, "/v1/instalments/quote", &service, &[], quote("CZK")).await;
    assert_eq!(no_rate.status, 409, "{}", no_rate.text);
    assert_eq!(
        no_rate.body["code"], "exchange_rate_missing",
        "{}",
        no_rate.text
    );
    let today = Utc::now().date_naive().to_string();
    app.put_rates(&today, json!({"CZK": "25.000"})).await;
    let answered = post(&app, "/v1/instalments/quote", &service, &[], quote("CZK")).await;
    assert_eq!(answered.status, 201, "{}", answered.text);
    assert_eq!(answered.body["currency"], "CZK");
    let record = app
        .store
        .credit_decision(answered.body["quote_id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    let policy = &record.inputs["policy"];
    assert_eq!(policy["currency"], "CZK");
    // 50 to 3,000 euros of instalments are 1,250 to 75,000 crowns.
    assert_eq!(policy["instalment"]["min_amount_minor"], 125_000);
    assert_eq!(policy["instalment"]["max_amount_minor"], 7_500_000);
    assert_eq!(record.inputs["applicant"]["currency"], "CZK");
    // A pound payment from before any published pound rate: no decision on part of the
    // history, and the answer says which rate is missing.
    post_events(&app, &[event("gb-1", 4_000, "GBP", day(300))]).await;
    let gap = post(&app, "/v1/instalments/quote", &service, &[], quote("CZK")).await;
    assert_eq!(gap.status, 409, "{}", gap.text);
    assert_eq!(gap.body["code"], "exchange_rate_missing");
    let message = gap.body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("GBP"), "{message}");
}
