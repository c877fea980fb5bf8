//! Robo-advice, reviews, rebalancing approvals and the analysts' portfolio routes.

use axum::http::StatusCode;
use serde_json::{json, Value};
use sextant_api::auth::Role;

use crate::common::{spawn_app, token, TestApp};
use crate::profiles::{post_events, recent_payments};

fn level(v: &Value) -> u8 {
    v.as_str().unwrap()[1..].parse().unwrap()
}

async fn customer_with_holdings(app: &TestApp, id: &str, holdings: &[(&str, i64)]) {
    app.put_customer(id).await;
    post_events(app, &recent_payments(id, id, 8)).await;
    let holdings: Vec<Value> = holdings
        .iter()
        .map(|(p, v)| json!({"customer_id": id, "product_id": p, "value_minor": v, "currency": "EUR", "opened_at": "2025-01-01T00:00:00Z"}))
        .collect();
    let reply = app
        .call(
            "PUT",
            &format!("/v1/customers/{id}/holdings"),
            Some(&token(Role::Service, "app")),
            Some(json!({ "holdings": holdings }).to_string()),
        )
        .await;
    assert!(reply.status.is_success(), "{}", reply.text);
}

#[tokio::test]
async fn model_portfolios_never_exceed_their_level() {
    let app = spawn_app().await;
    let reply = app
        .call(
            "GET",
            "/v1/model-portfolios",
            Some(&token(Role::Customer, "c1")),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let models = reply.body["models"].as_array().unwrap();
    assert_eq!(models.len(), 5);
    for m in models {
        let total: f64 = m["positions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["weight"].as_f64().unwrap())
            .sum();
        assert!((total - 1.0).abs() < 1e-6);
        for p in m["positions"].as_array().unwrap() {
            assert!(level(&p["risk_level"]) <= level(&m["level"]), "{m}");
        }
    }
    assert_eq!(reply.body["assumptions"].as_array().unwrap().len(), 8);
}

#[tokio::test]
async fn a_customer_gets_a_suitable_proposal_and_a_goal_plan_on_record() {
    let app = spawn_app().await;
    customer_with_holdings(&app, "c1", &[("fund-gov-bonds", 500_000)]).await;
    let me = token(Role::Customer, "c1");
    let reply = app
        .call("GET", "/v1/customers/c1/advice/portfolio", Some(&me), None)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let customer_level = level(&reply.body["level"]);
    for p in reply.body["portfolio"]["positions"].as_array().unwrap() {
        assert!(level(&p["risk_level"]) <= customer_level);
    }
    let other = app
        .call("GET", "/v1/customers/c2/advice/portfolio", Some(&me), None)
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);

    let goal = json!({"target_amount_minor": 2_000_000, "initial_amount_minor": 500_000,
        "monthly_contribution_minor": 20_000, "horizon_months": 120, "paths": 2000});
    let reply = app
        .call(
            "POST",
            "/v1/customers/c1/advice/goal",
            Some(&me),
            Some(goal.to_string()),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let p = reply.body["success_probability"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&p));
    let glide = reply.body["glide_path"].as_array().unwrap();
    assert_eq!(glide.len(), 10);
    assert_eq!(
        glide.last().unwrap()["level"],
        "C1",
        "the last year is the safest"
    );
    assert!(reply.body["advice_id"].as_i64().unwrap() > 0);
    let recorded = app
        .store
        .advice(reply.body["advice_id"].as_i64().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(recorded.advice.kind, "goal");
    assert_eq!(recorded.advice.inputs["horizon_months"], 120);

    let bad = app
        .call(
            "POST",
            "/v1/customers/c1/advice/goal",
            Some(&me),
            Some(json!({"target_amount_minor": 100, "horizon_months": 0}).to_string()),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);
    assert_eq!(bad.body["errors"][0]["field"], "horizon_months");
}

#[tokio::test]
async fn a_wealth_manager_reviews_and_decides_once_on_a_rebalance() {
    let app = spawn_app().await;
    customer_with_holdings(
        &app,
        "c1",
        &[
            ("fund-emerging-equity", 600_000),
            ("fund-gov-bonds", 400_000),
            ("ins-travel", 2_000),
        ],
    )
    .await;
    let wm = token(Role::WealthManager, "wm-1");
    let stranger = token(Role::WealthManager, "wm-2");
    let admin = token(Role::Admin, "root");
    // Not yet a client: invisible.
    let reply = app
        .call("GET", "/v1/customers/c1/review", Some(&wm), None)
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let reply = app
        .call(
            "PUT",
            "/v1/wealth-managers/wm-1/clients/c1",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);

    let review = app
        .call("GET", "/v1/customers/c1/review", Some(&wm), None)
        .await;
    assert_eq!(review.status, StatusCode::OK, "{}", review.text);
    let r = &review.body;
    assert_eq!(r["value_minor"], 1_000_000);
    assert_eq!(r["excluded"], json!(["ins-travel"]));
    let kinds: Vec<&str> = r["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"suitability"),
        "emerging equity is R5: {kinds:?}"
    );
    assert!(kinds.contains(&"drift"));
    let tail = &r["tail"][1];
    assert!(tail["historical_cvar"].as_f64().unwrap() >= tail["historical_var"].as_f64().unwrap());

    let clients = app
        .call("GET", "/v1/wealth-managers/me/clients", Some(&wm), None)
        .await;
    assert_eq!(clients.body["clients"][0]["customer_id"], "c1");

    let customer = token(Role::Customer, "c1");
    let refused = app
        .call(
            "POST",
            "/v1/customers/c1/rebalance-proposals",
            Some(&customer),
            Some("{}".into()),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let proposal = app
        .call(
            "POST",
            "/v1/customers/c1/rebalance-proposals",
            Some(&wm),
            Some(json!({"new_cash_minor": 100_000, "cost_bps": 10}).to_string()),
        )
        .await;
    assert_eq!(proposal.status, StatusCode::CREATED, "{}", proposal.text);
    assert_eq!(proposal.body["status"], "pending");
    let sold = proposal.body["trades"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["product_id"] == "fund-emerging-equity")
        .unwrap();
    assert_eq!(
        sold["amount_minor"], -600_000,
        "the unsuitable position is sold"
    );
    let id = proposal.body["advice_id"].as_i64().unwrap();

    let path = format!("/v1/rebalance-proposals/{id}/decision");
    let not_theirs = app
        .call(
            "POST",
            &path,
            Some(&stranger),
            Some(json!({"decision": "approve"}).to_string()),
        )
        .await;
    assert_eq!(not_theirs.status, StatusCode::NOT_FOUND);
    let bad = app
        .call(
            "POST",
            &path,
            Some(&wm),
            Some(json!({"decision": "maybe"}).to_string()),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let approved = app
        .call(
            "POST",
            &path,
            Some(&wm),
            Some(json!({"decision": "approve", "note": "client agreed"}).to_string()),
        )
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.text);
    assert_eq!(approved.body["status"], "approved");
    let again = app
        .call(
            "POST",
            &path,
            Some(&wm),
            Some(json!({"decision": "reject"}).to_string()),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let listed = app
        .call(
            "GET",
            "/v1/customers/c1/rebalance-proposals",
            Some(&customer),
            None,
        )
        .await;
    assert_eq!(listed.body["proposals"][0]["status"], "approved");
    assert_eq!(listed.body["proposals"][0]["decision"]["by"], "wm-1");
}

/// Three assets with a simple covariance.
fn moments() -> Value {
    json!({
        "assets": ["a", "b", "c"],
        "expected_returns": [0.05, 0.08, 0.12],
        "cov": [[0.01, 0.002, 0.001], [0.002, 0.04, 0.01], [0.001, 0.01, 0.09]]
    })
}

fn with(base: Value, extra: Value) -> String {
    let mut base = base;
    for (k, v) in extra.as_object().unwrap() {
        base[k] = v.clone();
    }
    base.to_string()
}

#[tokio::test]
async fn the_optimiser_names_what_cannot_be_done() {
    let app = spawn_app().await;
    let analyst = token(Role::WealthManager, "wm-1");
    let call = |body: String| {
        let analyst = analyst.clone();
        let app = &app;
        async move {
            app.call("POST", "/v1/portfolio/optimise", Some(&analyst), Some(body))
                .await
        }
    };
    let ok = call(with(moments(), json!({"method": "max-sharpe"}))).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    let total: f64 = ok.body["weights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["weight"].as_f64().unwrap())
        .sum();
    assert!((total - 1.0).abs() < 1e-6);
    assert!(ok.body["sharpe"].as_f64().unwrap() > 0.0);

    let infeasible = call(with(
        moments(),
        json!({"method": "min-volatility", "bounds": [0.5, 1.0]}),
    ))
    .await;
    assert_eq!(
        infeasible.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        infeasible.text
    );
    assert_eq!(infeasible.body["code"], "infeasible_constraints");
    assert_eq!(infeasible.body["errors"][0]["field"], "bounds");

    let impossible = call(with(
        moments(),
        json!({"method": "efficient-return", "target": 0.5}),
    ))
    .await;
    assert_eq!(
        impossible.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        impossible.text
    );
    assert_eq!(impossible.body["code"], "impossible_target");
    assert_eq!(impossible.body["errors"][0]["field"], "target");

    let not_psd = json!({"assets": ["a", "b"], "expected_returns": [0.05, 0.08], "cov": [[0.01, 0.05], [0.05, 0.01]], "method": "min-volatility"});
    let refused = call(not_psd.to_string()).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text
    );
    assert_eq!(refused.body["code"], "not_positive_semidefinite");
    assert_eq!(refused.body["errors"][0]["field"], "cov");
    let repaired = call(with(not_psd, json!({"repair": true}))).await;
    assert_eq!(repaired.status, StatusCode::OK, "{}", repaired.text);
    assert!(!repaired.body["warnings"].as_array().unwrap().is_empty());

    let group = call(with(
        moments(),
        json!({"method": "max-sharpe", "groups": [{"name": "risky", "assets": ["b", "c"], "upper": 0.3}]}),
    ))
    .await;
    assert_eq!(group.status, StatusCode::OK, "{}", group.text);
    let risky: f64 = group.body["weights"].as_array().unwrap()[1..]
        .iter()
        .map(|w| w["weight"].as_f64().unwrap())
        .sum();
    assert!(risky <= 0.3 + 1e-6, "{risky}");

    let views = |views: Value| {
        with(
            moments(),
            json!({"method": "black-litterman", "black_litterman": {
                "market_caps": {"a": 3.0, "b": 2.0, "c": 1.0}, "risk_aversion": 2.5, "views": views,
                "relative_views": [{"long": "b", "short": "a", "outperformance": 0.02}], "confidences": [0.9, 0.5]}}),
        )
    };
    let bullish = call(views(json!({"c": 0.30}))).await;
    assert_eq!(bullish.status, StatusCode::OK, "{}", bullish.text);
    let bearish = call(views(json!({"c": -0.10}))).await;
    let c_return = |r: &crate::common::Reply| {
        r.body["posterior_returns"][2]["expected_return"]
            .as_f64()
            .unwrap()
    };
    assert!(
        c_return(&bullish) > c_return(&bearish) + 0.05,
        "a confident view moves the posterior"
    );
    let unknown = call(views(json!({"zzz": 0.1}))).await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        unknown.body["errors"][0]["field"],
        "black_litterman.views.zzz"
    );

    let customer = app
        .call(
            "POST",
            "/v1/portfolio/optimise",
            Some(&token(Role::Customer, "c1")),
            Some(with(moments(), json!({"method": "max-sharpe"}))),
        )
        .await;
    assert_eq!(customer.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn frontier_and_allocation_through_the_api() {
    let app = spawn_app().await;
    let analyst = token(Role::WealthManager, "wm-1");
    let frontier = app
        .call(
            "POST",
            "/v1/portfolio/frontier",
            Some(&analyst),
            Some(with(moments(), json!({"points": 10}))),
        )
        .await;
    assert_eq!(frontier.status, StatusCode::OK, "{}", frontier.text);
    let points = frontier.body["points"].as_array().unwrap();
    assert_eq!(points.len(), 10);
    for pair in points.windows(2) {
        assert!(
            pair[1]["expected_return"].as_f64().unwrap()
                >= pair[0]["expected_return"].as_f64().unwrap() - 1e-9
        );
    }
    let allocation = app
        .call(
            "POST",
            "/v1/portfolio/allocate",
            Some(&analyst),
            Some(json!({"weights": {"a": 0.5, "b": 0.3, "c": 0.2}, "latest_prices": {"a": 101.0, "b": 33.0, "c": 250.0}, "total_value": 10000.0}).to_string()),
        )
        .await;
    assert_eq!(allocation.status, StatusCode::OK, "{}", allocation.text);
    let spent: f64 = allocation.body["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["value"].as_f64().unwrap())
        .sum();
    assert!(spent <= 10_000.0 + 1e-9);
    assert!((spent + allocation.body["leftover"].as_f64().unwrap() - 10_000.0).abs() < 1e-6);
    let missing = app
        .call(
            "POST",
            "/v1/portfolio/allocate",
            Some(&analyst),
            Some(
                json!({"weights": {"a": 1.0}, "latest_prices": {}, "total_value": 100.0})
                    .to_string(),
            ),
        )
        .await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(missing.body["errors"][0]["field"], "latest_prices.a");
}

/// A client whose account is in crowns, holding a euro fund: the review values it in crowns
/// at today's published rate, and without one refuses rather than review part of it.
#[tokio::test]
async fn a_review_is_in_the_clients_base_currency() {
    let app = spawn_app().await;
    let service = token(Role::Service, "app");
    app.put_customer_in("c-cz", "CZK").await;
    let holdings = json!({"holdings": [
        {"customer_id": "c-cz", "product_id": "fund-gov-bonds", "value_minor": 400_000, "currency": "EUR", "opened_at": "2025-01-01T00:00:00Z"},
        {"customer_id": "c-cz", "product_id": "fund-global-equity", "value_minor": 10_000_000, "currency": "CZK", "opened_at": "2025-01-01T00:00:00Z"},
    ]});
    let reply = app
        .call(
            "PUT",
            "/v1/customers/c-cz/holdings",
            Some(&service),
            Some(holdings.to_string()),
        )
        .await;
    assert!(reply.status.is_success(), "{}", reply.text);
    let admin = token(Role::Admin, "root");
    let reply = app
        .call(
            "PUT",
            "/v1/wealth-managers/wm-1/clients/c-cz",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
    let wm = token(Role::WealthManager, "wm-1");
    let refused = app
        .call("GET", "/v1/customers/c-cz/review", Some(&wm), None)
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text);
    assert_eq!(refused.body["code"], "exchange_rate_missing");
    let today = chrono::Utc::now().date_naive().to_string();
    app.put_rates(&today, json!({"CZK": "25.000"})).await;
    let review = app
        .call("GET", "/v1/customers/c-cz/review", Some(&wm), None)
        .await;
    assert_eq!(review.status, StatusCode::OK, "{}", review.text);
    assert_eq!(review.body["currency"], "CZK");
    // 4,000 EUR at 25 CZK = 100,000 CZK, with the 100,000 CZK fund.
    assert_eq!(review.body["value_minor"], 20_000_000);
    let clients = app
        .call("GET", "/v1/wealth-managers/me/clients", Some(&wm), None)
        .await;
    let client = &clients.body["clients"][0];
    assert_eq!(client["currency"], "CZK", "{}", clients.text);
    assert_eq!(client["value_minor"], 20_000_000);
}
