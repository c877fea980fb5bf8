//! Trust at the HTTP boundary: card numbers never land or come back, limits answer 429,
//! 408 and 503 as documented, and every answer carries problem+json and security headers.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::{json, Value};
use sextant_api::auth::Role;
use sextant_api::config::Limits;

use crate::common::*;

/// Card numbers as probes write them: separators of every kind, in every place.
const WRITTEN: &[&str] = &[
    "4111111111111111",
    "4111 1111 1111 1111",
    "4111  1111  1111  1111",
    "6011.0000.0000.0004",
    "6011\u{a0}0000\u{a0}0000\u{a0}0004",
    "5555\u{2013}5555\u{2013}5555\u{2013}4444",
    "3782-822463-10005",
    "4111\u{2009}1111\u{2009}1111\u{2009}1111",
];

/// Every digit of every probe, as a byte string a file could hold.
fn digits_of(written: &str) -> String {
    written.chars().filter(char::is_ascii_digit).collect()
}

/// Every file under `dir`, read as (lossy) text.
fn read_all(dir: &std::path::Path) -> Vec<String> {
    walk(dir)
        .iter()
        .filter_map(|path| std::fs::read(path).ok())
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .collect()
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[tokio::test]
async fn card_numbers_never_land_anywhere() {
    let app = spawn_app().await;
    app.put_customer("c1").await;
    let service = token(Role::Service, "app");
    let marketer = token(Role::Marketer, "m1");
    let mut probes = 0;
    let mut refused = 0;
    for (i, written) in WRITTEN.iter().enumerate() {
        let escaped = written.replace(' ', "%20");
        let encoded: String = escaped
            .chars()
            .map(|c| {
                if c.is_ascii() {
                    c.to_string()
                } else {
                    let mut buf = [0u8; 4];
                    c.encode_utf8(&mut buf)
                        .bytes()
                        .map(|b| format!("%{b:02X}"))
                        .collect()
                }
            })
            .collect();
        let mut in_merchant = payment_json(&format!("p-{i}"), "c1", 100);
        in_merchant["merchant_id"] = json!(written);
        let mut in_extra = payment_json(&format!("q-{i}"), "c1", 100);
        in_extra["note"] = json!(format!("card {written} exp 03/27"));
        let mut query = behaviour_json(&format!("b-{i}"), "c1");
        query["kind"] = json!("search");
        query["query"] = json!(format!("pay {written}"));
        let mut region = customer_json("c1");
        region["region"] = json!(written);
        let calls: Vec<(&str, String, &str, Option<String>)> = vec![
            ("POST", "/v1/events".into(), &service, Some(batch(&[in_merchant]))),
            ("POST", "/v1/events".into(), &service, Some(batch(&[in_extra]))),
            ("POST", "/v1/events".into(), &service, Some(batch(&[query]))),
            ("PUT", "/v1/customers/c1".into(), &service, Some(region.to_string())),
            (
                "PUT",
                format!("/v1/customers/{encoded}"),
                &service,
                Some(customer_json("c2").to_string()),
            ),
            (
                "GET",
                format!("/v1/customers/c1/payments?cursor={encoded}"),
                &service,
                None,
            ),
            (
                "PUT",
                "/v1/audiences/adults".into(),
                &marketer,
                Some(json!({"version": 1, "name": format!("Adults {written}"), "rule": "age >= 18"}).to_string()),
            ),
            (
                "POST",
                "/v1/audiences/preview".into(),
                &marketer,
                Some(json!({"rule": format!("region = \"{written}\"")}).to_string()),
            ),
            (
                "POST",
                "/v1/campaigns".into(),
                &marketer,
                Some(json!({"name": format!("Spring {written}"), "audience_id": "adults", "product_id": "dep-easy-access", "channel": "email", "starts_at": "2026-05-01T00:00:00Z"}).to_string()),
            ),
        ];
        for (method, uri, who, body) in calls {
            let reply = app.call(method, &uri, Some(who), body).await;
            probes += 1;
            let code = reply.body["errors"][0]["code"].as_str().unwrap_or_default();
            if code == "full_card_number" {
                refused += 1;
            }
            assert_eq!(
                reply.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{method} {uri}: {}",
                reply.text
            );
            assert_eq!(code, "full_card_number", "{method} {uri}: {}", reply.text);
            assert!(
                !reply.text.contains(&digits_of(written)) && !reply.text.contains(written),
                "the number is not echoed: {}",
                reply.text
            );
        }
    }
    assert_eq!(refused, probes);
    assert_eq!(probes, WRITTEN.len() * 9);
    // Nothing reached the files, in any form.
    let files = read_all(app._store._dir.path());
    assert!(!files.is_empty());
    for written in WRITTEN {
        for needle in [digits_of(written), written.to_string()] {
            assert!(!files.iter().any(|f| f.contains(&needle)), "{written}");
        }
    }
}

#[tokio::test]
async fn identifiers_with_timestamps_are_not_card_numbers() {
    let app = spawn_app().await;
    app.put_customer("c1").await;
    let service = token(Role::Service, "app");
    // A millisecond clock in the id: one in ten such ids passes the Luhn check.
    let start_ms: u64 = 1_764_000_000_000;
    let events: Vec<Value> = (0..1_000u64)
        .map(|i| behaviour_json(&format!("evt-{}-{i}", start_ms + i * 104_729), "c1"))
        .collect();
    let reply = app
        .call("POST", "/v1/events", Some(&service), Some(batch(&events)))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["stored"], 1_000);
}

#[tokio::test]
async fn rejected_values_are_never_repeated() {
    let app = spawn_app().await;
    app.put_customer("c1").await;
    let service = token(Role::Service, "app");
    let mut float = payment_json("p-1", "c1", 1);
    float["amount_minor"] = json!(4.111111111111111e15);
    let reply = app
        .call("POST", "/v1/events", Some(&service), Some(batch(&[float])))
        .await;
    assert!(reply.status.is_client_error(), "{}", reply.text);
    assert!(
        !reply.text.contains("4111111111111111") && !reply.text.contains("4.111111"),
        "{}",
        reply.text
    );
    let mut word = payment_json("p-2", "c1", 1);
    word["direction"] = json!("sideways-secret-value");
    let reply = app
        .call("POST", "/v1/events", Some(&service), Some(batch(&[word])))
        .await;
    assert!(reply.status.is_client_error());
    assert!(
        !reply.text.contains("sideways-secret-value"),
        "{}",
        reply.text.replace("sideways-secret-value", "<VALUE>")
    );
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_problem_json_with_security_headers() {
    let app = spawn_app().await;
    let admin = token(Role::Admin, "root");
    let missing = app
        .call("GET", "/v1/nothing-here", Some(&admin), None)
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.content_type, "application/problem+json");
    assert_eq!(missing.body["code"], "not_found");
    let wrong = app.call("DELETE", "/v1/events", Some(&admin), None).await;
    assert_eq!(wrong.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong.content_type, "application/problem+json");
    assert_eq!(wrong.body["code"], "method_not_allowed");
    for reply in [
        &missing,
        &wrong,
        &app.call("GET", "/healthz", None, None).await,
    ] {
        for (name, value) in [
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", "DENY"),
            ("cache-control", "no-store"),
            ("referrer-policy", "no-referrer"),
        ] {
            assert_eq!(reply.headers.get(name).unwrap(), value, "{name}");
        }
        assert!(reply.headers.contains_key("content-security-policy"));
    }
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after() {
    let app = spawn_app_with(Limits {
        per_token_per_sec: 5.0,
        per_token_burst: 10.0,
        per_address_per_sec: 1_000.0,
        per_address_burst: 1_000.0,
        auth_failures_per_address_per_min: 20.0,
        ..Limits::default()
    })
    .await;
    let service = token(Role::Service, "app");
    let mut statuses = Vec::new();
    for _ in 0..30 {
        let reply = app.call("GET", "/v1/products", Some(&service), None).await;
        statuses.push(reply.status);
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(reply.body["code"], "rate_limited");
            let wait: u64 = reply.headers["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=2).contains(&wait), "{wait}");
        }
    }
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert!((10..=12).contains(&ok), "the burst, then 429: {statuses:?}");
    // Another token has its own budget.
    let other = token(Role::Service, "app-2");
    let reply = app.call("GET", "/v1/products", Some(&other), None).await;
    assert_eq!(reply.status, StatusCode::OK);
    // Guessing tokens from one address is stopped after 20 failures.
    let mut limited = false;
    for i in 0..40 {
        let reply = app
            .call("GET", "/v1/products", Some(&format!("guess-{i}")), None)
            .await;
        limited |= reply.status == StatusCode::TOO_MANY_REQUESTS;
    }
    assert!(limited, "failed authentications are limited per address");
    let health = app.call("GET", "/healthz", None, None).await;
    assert_eq!(health.status, StatusCode::OK, "probes are never limited");
}

#[tokio::test]
async fn the_optimiser_stops_at_the_request_deadline() {
    let app = spawn_app_with(Limits {
        request_timeout_secs: 1,
        ..Limits::unthrottled()
    })
    .await;
    let analyst = token(Role::WealthManager, "wm-1");
    // 150 assets with a cardinality limit: an exact search far longer than a second.
    let n = 150;
    let assets: Vec<String> = (0..n).map(|i| format!("a{i}")).collect();
    let returns: Vec<f64> = (0..n).map(|i| 0.03 + 0.001 * (i % 37) as f64).collect();
    let cov: Vec<Vec<f64>> = (0..n)
        .map(|i| {
            (0..n)
                .map(|j| {
                    let base = 0.002 * (1.0 + ((i + j) * 5 % 11) as f64 / 11.0);
                    if i == j {
                        0.04 + 0.0005 * (i % 13) as f64
                    } else {
                        base.min(0.003) * 0.5
                    }
                })
                .collect()
        })
        .collect();
    let body = json!({
        "assets": assets, "expected_returns": returns, "cov": cov,
        "method": "max-sharpe",
        "max_assets": 12, "min_weight": 0.02
    });
    let started = Instant::now();
    let reply = app
        .call(
            "POST",
            "/v1/portfolio/optimise",
            Some(&analyst),
            Some(body.to_string()),
        )
        .await;
    let took = started.elapsed();
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        reply.text
    );
    assert_eq!(reply.body["code"], "deadline_exceeded");
    assert!(reply.headers.contains_key("retry-after"));
    assert!(took < Duration::from_secs(10), "answered after {took:?}");
}

#[tokio::test]
async fn staff_reads_and_changes_are_in_a_verifiable_audit_trail() {
    let app = spawn_app().await;
    app.put_customer("c1").await;
    let wm = token(Role::WealthManager, "wm-1");
    let admin = token(Role::Admin, "root");
    let compliance = token(Role::Compliance, "co-1");
    let read = call_with(
        app.router.clone(),
        "GET",
        "/v1/customers/c1",
        Some(&admin),
        &[("x-request-id", "req-42")],
        None,
    )
    .await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.headers["x-request-id"], "req-42");
    // A change carries who made it, in which role, under which request.
    let consents = call_with(
        app.router.clone(),
        "PATCH",
        "/v1/customers/c1/consents",
        Some(&admin),
        &[
            ("x-request-id", "req-43"),
            ("content-type", "application/json"),
        ],
        Some(r#"{"marketing":{"email":false}}"#.into()),
    )
    .await;
    assert_eq!(consents.status, StatusCode::OK, "{}", consents.text);
    // The customer reading themself is not a staff read.
    let own = app
        .call(
            "GET",
            "/v1/customers/c1",
            Some(&token(Role::Customer, "c1")),
            None,
        )
        .await;
    assert_eq!(own.status, StatusCode::OK);
    let denied = app.call("GET", "/v1/audit", Some(&wm), None).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    let page = app
        .call("GET", "/v1/audit?object=c1", Some(&compliance), None)
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let entries = page.body["entries"].as_array().unwrap();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"customer.create"), "{actions:?}");
    let staff_read = entries
        .iter()
        .find(|e| e["action"] == "customer.read")
        .expect("the admin's read is recorded");
    assert_eq!(staff_read["actor"], "root");
    assert_eq!(staff_read["role"], "admin");
    assert_eq!(staff_read["request_id"], "req-42");
    let change = entries
        .iter()
        .find(|e| e["action"] == "customer.consents" && e["request_id"] == "req-43")
        .expect("the admin's change is recorded with its request");
    assert_eq!(
        (&change["actor"], &change["role"]),
        (&json!("root"), &json!("admin"))
    );
    assert_eq!(
        entries
            .iter()
            .filter(|e| e["action"] == "customer.read")
            .count(),
        1,
        "the customer's own read is not a staff read"
    );
    // The whole trail verifies, and reading it was recorded too.
    let all = app
        .store
        .audit_entries(&Default::default(), 0, 500)
        .await
        .unwrap();
    assert!(all
        .iter()
        .any(|e| e.entry.action == "audit.read" && e.entry.actor == "co-1"));
    assert_eq!(sextant_store::audit::verify(&all, None), Ok(()));
}

#[tokio::test]
async fn a_customer_can_take_their_data_and_be_erased() {
    let app = spawn_app().await;
    app.put_customer("c1").await;
    app.put_customer("c2").await;
    let service = token(Role::Service, "app");
    let admin = token(Role::Admin, "root");
    let me = token(Role::Customer, "c1");
    let mut search = behaviour_json("b-1", "c1");
    search["kind"] = json!("search");
    search["query"] = json!("zanzibar honeymoon in april");
    let mut pay = payment_json("p-1", "c1", 4_200);
    pay["merchant_id"] = json!("m-unique-merchant-7781");
    let reply = app
        .call(
            "POST",
            "/v1/events",
            Some(&service),
            Some(batch(&[pay, search])),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);

    let export = app
        .call("GET", "/v1/customers/c1/export", Some(&me), None)
        .await;
    assert_eq!(export.status, StatusCode::OK, "{}", export.text);
    assert_eq!(export.body["customer"]["region"], "prague");
    assert_eq!(
        export.body["payments"][0]["merchant_id"],
        "m-unique-merchant-7781"
    );
    assert_eq!(
        export.body["behaviour"][0]["query"],
        "zanzibar honeymoon in april"
    );
    assert!(!export.body["consent_history"]
        .as_array()
        .unwrap()
        .is_empty());
    let other = app
        .call("GET", "/v1/customers/c2/export", Some(&me), None)
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND, "only one's own data");

    let refused = app
        .call("DELETE", "/v1/customers/c1", Some(&service), None)
        .await;
    assert_eq!(
        refused.status,
        StatusCode::FORBIDDEN,
        "erasure is for admins"
    );
    let erased = app
        .call("DELETE", "/v1/customers/c1", Some(&admin), None)
        .await;
    assert_eq!(erased.status, StatusCode::NO_CONTENT, "{}", erased.text);
    let again = app
        .call("DELETE", "/v1/customers/c1", Some(&admin), None)
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    let gone = app
        .call("GET", "/v1/customers/c1", Some(&admin), None)
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    let export = app
        .call("GET", "/v1/customers/c1/export", Some(&admin), None)
        .await;
    assert_eq!(export.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.call("GET", "/v1/customers/c2", Some(&admin), None)
            .await
            .status,
        StatusCode::OK
    );
    // Nothing personal in clear in any file, before or after; the erasure is on record.
    let files = read_all(app._store._dir.path());
    for needle in ["zanzibar honeymoon", "m-unique-merchant-7781"] {
        assert!(!files.iter().any(|f| f.contains(needle)), "{needle}");
    }
    let trail = app
        .call("GET", "/v1/audit?action=customer.erase", Some(&admin), None)
        .await;
    assert_eq!(trail.body["entries"][0]["object"], "c1");
    assert_eq!(trail.body["entries"][0]["actor"], "root");
}
