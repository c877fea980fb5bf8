use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use sextant_api::auth::{mint_dev_token, Authenticator, Role};
use sextant_api::config::Limits;
use sextant_api::{app, AppState};
use sextant_services::pipeline::Pipeline;
use sextant_services::Context;
use sextant_store::{SeaStore, Store};
use tower::ServiceExt;

/// A store on a fresh SQLite database in a temporary folder.
pub struct TestStore {
    pub store: Arc<dyn Store>,
    pub _dir: tempfile::TempDir,
}

pub async fn sqlite_store() -> TestStore {
    let dir = tempfile::tempdir().unwrap();
    let store = SeaStore::open(
        None,
        dir.path(),
        std::sync::Arc::new(sextant_store::crypto::Keyring::ephemeral()),
    )
    .await
    .unwrap();
    TestStore {
        store: Arc::new(store),
        _dir: dir,
    }
}

pub struct TestApp {
    pub router: Router,
    pub store: Arc<dyn Store>,
    pub pipeline: Arc<Pipeline>,
    pub ctx: Context,
    pub _store: TestStore,
}

/// The application with no rate limits (tests send bursts on one token).
pub async fn spawn_app() -> TestApp {
    spawn_app_with(Limits::unthrottled()).await
}

pub async fn spawn_app_with(limits: Limits) -> TestApp {
    let test_store = sqlite_store().await;
    let store = test_store.store.clone();
    let dir = test_store._dir.path();
    let vectors = sextant_vectors::EdgeStore::open(&dir.join("vectors"), 32).unwrap();
    let pipeline = Pipeline::open(store.clone(), Arc::new(vectors), &dir.join("models"))
        .await
        .unwrap();
    let pipeline = Arc::new(pipeline);
    let ctx = Context::new(pipeline.clone());
    let state = AppState::with_limits(ctx.clone(), Authenticator::development(), limits);
    TestApp {
        router: app(state),
        store,
        pipeline,
        ctx,
        _store: test_store,
    }
}

pub fn token(role: Role, sub: &str) -> String {
    mint_dev_token(role, sub, 600)
}

pub struct Reply {
    pub status: StatusCode,
    pub content_type: String,
    pub headers: axum::http::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl TestApp {
    pub async fn call(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        body: Option<String>,
    ) -> Reply {
        call(self.router.clone(), method, uri, token, body).await
    }
}

pub async fn call(
    router: Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<String>,
) -> Reply {
    call_with(router, method, uri, token, &[], body).await
}

/// `call` with extra request headers.
pub async fn call_with(
    router: Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<String>,
) -> Reply {
    let mut request = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(t) = token {
        request = request.header("authorization", format!("Bearer {t}"));
    }
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let mut request = request
        .body(body.map_or_else(Body::empty, Body::from))
        .unwrap();
    // The address a socket would give (rate limits per address read it).
    request
        .extensions_mut()
        .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            [127, 0, 0, 1],
            40_000,
        ))));
    let response = router.oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply {
        status,
        content_type,
        headers,
        body,
        text,
    }
}

impl TestApp {
    pub async fn put_customer(&self, id: &str) {
        let reply = self
            .call(
                "PUT",
                &format!("/v1/customers/{id}"),
                Some(&token(Role::Service, "app")),
                Some(customer_json(id).to_string()),
            )
            .await;
        assert!(reply.status.is_success(), "{}", reply.text);
    }

    /// Registers `id` as [`TestApp::put_customer`] does, with the account in `currency`.
    pub async fn put_customer_in(&self, id: &str, currency: &str) {
        let mut body = customer_json(id);
        body["base_currency"] = json!(currency);
        let reply = self
            .call(
                "PUT",
                &format!("/v1/customers/{id}"),
                Some(&token(Role::Service, "app")),
                Some(body.to_string()),
            )
            .await;
        assert!(reply.status.is_success(), "{}", reply.text);
    }

    /// Publishes a day's reference rates (`{"CZK": "25.000"}`) as the payment app's service.
    pub async fn put_rates(&self, date: &str, rates: Value) {
        let reply = self
            .call(
                "PUT",
                &format!("/v1/fx-rates/{date}"),
                Some(&token(Role::Service, "app")),
                Some(json!({ "rates": rates }).to_string()),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    }
}

pub fn customer_json(id: &str) -> Value {
    json!({
        "id": id, "birth_year": 1985, "region": "prague", "occupation": "employed", "kyc_status": "verified",
        "consents": {"profiling": true, "marketing": {"email": true, "push": false}}
    })
}

pub fn payment_json(event_id: &str, customer: &str, amount_minor: i64) -> Value {
    json!({
        "type": "payment", "event_id": event_id, "customer_id": customer, "occurred_at": "2026-05-01T12:30:00Z",
        "amount_minor": amount_minor, "currency": "EUR", "direction": "debit", "kind": "purchase", "channel": "in_store",
        "merchant_id": "m-77", "mcc": "5411", "country": "CZ", "card": {"bin": "411111", "last4": "1234"}
    })
}

pub fn behaviour_json(event_id: &str, customer: &str) -> Value {
    json!({"type": "behaviour", "event_id": event_id, "customer_id": customer, "occurred_at": "2026-05-01T12:31:00Z", "kind": "app_open", "session_id": "s-1"})
}

pub fn batch(events: &[Value]) -> String {
    json!({ "events": events }).to_string()
}

/// Publishes the reference rates a synthetic population of `config` was charged at, as the
/// demo's import does, so its travellers' foreign payments convert.
pub async fn publish_synthetic_rates(store: &dyn Store, config: &sextant_synth::Config) {
    let days: Vec<sextant_store::DailyRates> = sextant_synth::fx::daily_rates_for(config)
        .into_iter()
        .map(|(date, rates)| sextant_store::DailyRates { date, rates })
        .collect();
    store
        .put_fx_rates(
            &days,
            "synthetic",
            &sextant_store::Actor::system("test"),
            chrono::Utc::now(),
        )
        .await
        .unwrap();
}
