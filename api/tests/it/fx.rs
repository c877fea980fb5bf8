//! Reference exchange rates over HTTP: the service role writes a day's set, anyone reads the
//! rates in effect on a date (a weekend takes Friday's), every bad rate is named by its
//! field, and nobody else writes.

use axum::http::StatusCode;
use serde_json::{json, Value};
use sextant_api::auth::Role;

use crate::common::*;

/// The entry of `currency` in a `GET /v1/fx-rates/{date}` answer.
fn rate_of(body: &Value, currency: &str) -> Value {
    body["rates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["currency"] == currency)
        .unwrap_or_else(|| panic!("no {currency} rate in {body}"))
        .clone()
}

#[tokio::test]
async fn a_days_rates_are_written_by_the_service_and_read_in_effect() {
    let app = spawn_app().await;
    let service = token(Role::Service, "payments-backend");
    let put = app
        .call(
            "PUT",
            "/v1/fx-rates/2026-03-06",
            Some(&service),
            Some(json!({"base": "EUR", "rates": {"USD": "1.0820", "JPY": "161.23"}}).to_string()),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text);
    assert_eq!(put.body["added"], 2);

    // Sunday the 8th: Friday's rates, said to be Friday's; KRW was never published.
    let customer = token(Role::Customer, "c-1");
    let sunday = app
        .call("GET", "/v1/fx-rates/2026-03-08", Some(&customer), None)
        .await;
    assert_eq!(sunday.status, StatusCode::OK, "{}", sunday.text);
    let usd = rate_of(&sunday.body, "USD");
    assert_eq!(usd["rate"], "1.0820");
    assert_eq!(usd["published_on"], "2026-03-06");
    assert!(sunday.body["missing"]
        .as_array()
        .unwrap()
        .contains(&json!("KRW")));

    // A week and a day later nothing applies any more.
    let stale = app
        .call("GET", "/v1/fx-rates/2026-03-14", Some(&customer), None)
        .await;
    assert_eq!(stale.body["rates"].as_array().unwrap().len(), 0);

    let bad = app
        .call(
            "PUT",
            "/v1/fx-rates/2026-03-09",
            Some(&service),
            Some(json!({"rates": {"USD": "1,08", "EUR": "1", "XYZ": "2"}}).to_string()),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);
    let fields: Vec<&str> = bad.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["rates.EUR", "rates.USD", "rates.XYZ"]);
    let bad_date = app
        .call(
            "PUT",
            "/v1/fx-rates/2026-02-30",
            Some(&service),
            Some(json!({"rates": {"USD": "1.08"}}).to_string()),
        )
        .await;
    assert_eq!(bad_date.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad_date.body["errors"][0]["field"], "date");

    let by_customer = app
        .call(
            "PUT",
            "/v1/fx-rates/2026-03-09",
            Some(&customer),
            Some(json!({"rates": {"USD": "1.09"}}).to_string()),
        )
        .await;
    assert_eq!(by_customer.status, StatusCode::FORBIDDEN);
    // Nothing of the refused writes was stored.
    let monday = app
        .call("GET", "/v1/fx-rates/2026-03-09", Some(&customer), None)
        .await;
    let usd = rate_of(&monday.body, "USD");
    assert_eq!(usd["published_on"], "2026-03-06");
}

/// A payment in `currency` at `at`.
fn payment_in(
    event_id: &str,
    customer: &str,
    amount_minor: i64,
    currency: &str,
    at: &str,
) -> Value {
    let mut p = payment_json(event_id, customer, amount_minor);
    p["currency"] = json!(currency);
    p["occurred_at"] = json!(at);
    p
}

fn feature(profile: &Value, name: &str) -> f64 {
    profile["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no feature {name}"))["value"]
        .as_f64()
        .unwrap()
}

#[tokio::test]
async fn a_profile_is_in_the_base_currency_and_names_what_no_rate_converts() {
    let app = spawn_app().await;
    let service = token(Role::Service, "payments-backend");
    app.put_customer_in("c-cz", "CZK").await;
    crate::profiles::post_events(
        &app,
        &[
            // Friday 1 May: 25,000 CZK, and 100 EUR; Saturday: 54.10 USD.
            payment_in("p-czk", "c-cz", 2_500_000, "CZK", "2026-05-01T10:00:00Z"),
            payment_in("p-eur", "c-cz", 10_000, "EUR", "2026-05-01T11:00:00Z"),
            payment_in("p-usd", "c-cz", 5_410, "USD", "2026-05-02T12:00:00Z"),
        ],
    )
    .await;
    let reader = token(Role::Customer, "c-cz");
    let before = app
        .call("GET", "/v1/customers/c-cz/profile", Some(&reader), None)
        .await;
    assert_eq!(before.status, StatusCode::OK, "{}", before.text);
    assert_eq!(before.body["currency"], "CZK", "{}", before.text);
    // Nothing is published yet: the two foreign payments are named and left out.
    let unconverted: Vec<(String, String, String)> = before.body["unconverted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            assert_eq!(u["code"], "exchange_rate_missing", "{u}");
            (
                u["id"].as_str().unwrap().to_owned(),
                u["currency"].as_str().unwrap().to_owned(),
                u["missing_currency"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        unconverted,
        [
            ("p-eur".to_owned(), "EUR".to_owned(), "CZK".to_owned()),
            ("p-usd".to_owned(), "USD".to_owned(), "USD".to_owned()),
        ]
    );
    assert_eq!(feature(&before.body, "spend_365d_minor"), 2_500_000.0);

    // Friday's rates: 25.000 CZK and 1.0820 USD per euro. Saturday takes them too.
    app.put_rates("2026-05-01", json!({"CZK": "25.000", "USD": "1.0820"}))
        .await;
    let after = app
        .call("GET", "/v1/customers/c-cz/profile", Some(&reader), None)
        .await;
    assert_eq!(after.status, StatusCode::OK, "{}", after.text);
    assert_eq!(after.body["unconverted"], json!([]), "{}", after.text);
    // 100 EUR = 2,500.00 CZK; 54.10 USD = 50 EUR = 1,250.00 CZK.
    assert_eq!(
        feature(&after.body, "spend_365d_minor"),
        2_500_000.0 + 250_000.0 + 125_000.0
    );
    assert_eq!(feature(&after.body, "currencies_365d"), 3.0);
    let share = feature(&after.body, "foreign_currency_spend_share_365d");
    assert!((share - 375_000.0 / 2_875_000.0).abs() < 1e-12, "{share}");
    // The customer's record says its currency; an unknown one is refused by field.
    let read = app
        .call("GET", "/v1/customers/c-cz", Some(&service), None)
        .await;
    assert_eq!(read.body["base_currency"], "CZK", "{}", read.text);
    let mut bad = customer_json("c-x");
    bad["base_currency"] = json!("XYZ");
    let refused = app
        .call(
            "PUT",
            "/v1/customers/c-x",
            Some(&service),
            Some(bad.to_string()),
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text
    );
    assert_eq!(refused.body["errors"][0]["field"], "base_currency");
}
