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
