//! Sextant's HTTP API: axum routes over the use cases of `sextant-services`, bearer-token
//! authentication and the role rules, RFC 9457 problem+json errors, the OpenAPI 3.1 document
//! and its offline reference page, metrics, and the configuration a server starts from.
//!
//! `app(state)` builds the router (tests call it without a socket); `Application::build`
//! binds a port and runs it; `startup::open_context` opens the storage the configuration
//! names.

pub mod auth;
pub mod card_data;
pub mod config;
pub mod console;
pub mod error;
pub mod limits;
pub mod metrics;
pub mod routes;
pub mod server;
pub mod spec;
pub mod startup;
pub mod tls;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use sextant_services::Context;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Authenticator;
use crate::config::Limits;
use crate::error::{AppError, InternalDetail};
use crate::limits::RateLimits;
use crate::metrics::Metrics;
use crate::tls::TlsFiles;

/// What every handler can reach: the use cases' context (store, vector store, pipeline and
/// engines, as trait objects so tests and deployments can swap them), authentication and
/// metrics.
#[derive(Clone)]
pub struct AppState {
    pub ctx: Context,
    pub auth: Arc<Authenticator>,
    pub metrics: Arc<Metrics>,
    /// The OpenAPI document, rendered once at start.
    pub openapi_json: Arc<String>,
    pub limits: Arc<Limits>,
    pub rate_limits: Arc<RateLimits>,
    /// Whether answers travel over TLS (adds Strict-Transport-Security).
    pub tls: bool,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Sextant API", description = "Personalised finance and robo-advice for a payment app. Errors are RFC 9457 problem+json with a stable `code`."),
    modifiers(&BearerAuth),
    tags((name = "customers"), (name = "events"), (name = "profiles"), (name = "products"), (name = "advice"), (name = "portfolio"), (name = "credit"), (name = "marketing"), (name = "monitoring"), (name = "fx"), (name = "loyalty"), (name = "system"))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("JWT".into());
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// The documented routes, and the OpenAPI document generated from their annotations.
fn api_routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    use routes::{
        advice, audit, credit, customers, events, fx, loyalty, marketing, monitoring, portfolio,
        products, profiles, system,
    };
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(system::healthz))
        .routes(routes!(system::metrics))
        .routes(routes!(system::status))
        .routes(routes!(customers::put, customers::get, customers::erase))
        .routes(routes!(customers::export))
        .routes(routes!(customers::patch_consents))
        .routes(routes!(customers::consent_history))
        .routes(routes!(customers::payments))
        .routes(routes!(customers::put_holdings, customers::holdings))
        .routes(routes!(events::ingest))
        .routes(routes!(products::list))
        .routes(routes!(profiles::features))
        .routes(routes!(profiles::profile))
        .routes(routes!(profiles::questionnaire))
        .routes(routes!(profiles::answer))
        .routes(routes!(profiles::risk_profile))
        .routes(routes!(profiles::similar))
        .routes(routes!(profiles::segments))
        .routes(routes!(profiles::segment_map))
        .routes(routes!(advice::model_portfolios))
        .routes(routes!(advice::portfolio))
        .routes(routes!(advice::goal))
        .routes(routes!(advice::review))
        .routes(routes!(
            advice::propose_rebalance,
            advice::rebalance_proposals
        ))
        .routes(routes!(advice::decide))
        .routes(routes!(advice::my_clients))
        .routes(routes!(advice::assign, advice::unassign))
        .routes(routes!(portfolio::optimise))
        .routes(routes!(portfolio::frontier))
        .routes(routes!(portfolio::allocate))
        .routes(routes!(credit::quote))
        .routes(routes!(credit::accept))
        .routes(routes!(credit::apply))
        .routes(routes!(credit::decision))
        .routes(routes!(credit::decisions_of))
        .routes(routes!(monitoring::assess_payment))
        .routes(routes!(monitoring::assessment))
        .routes(routes!(monitoring::replay))
        .routes(routes!(monitoring::list_cases))
        .routes(routes!(monitoring::case))
        .routes(routes!(monitoring::assign))
        .routes(routes!(monitoring::comment))
        .routes(routes!(monitoring::close))
        .routes(routes!(monitoring::list_rules))
        .routes(routes!(monitoring::add_rule_version))
        .routes(routes!(monitoring::rule_version))
        .routes(routes!(monitoring::set_rule_mode))
        .routes(routes!(monitoring::backtest_rule))
        .routes(routes!(monitoring::activate_model))
        .routes(routes!(monitoring::screen_name))
        .routes(routes!(marketing::catalogue))
        .routes(routes!(marketing::put_product))
        .routes(routes!(marketing::product_versions))
        .routes(routes!(marketing::audiences))
        .routes(routes!(
            marketing::audience,
            marketing::put_audience_version
        ))
        .routes(routes!(marketing::preview_stored))
        .routes(routes!(marketing::preview))
        .routes(routes!(marketing::create_campaign, marketing::campaigns))
        .routes(routes!(marketing::campaign))
        .routes(routes!(marketing::launch))
        .routes(routes!(marketing::pause))
        .routes(routes!(marketing::resume))
        .routes(routes!(marketing::stop))
        .routes(routes!(marketing::contacts))
        .routes(routes!(marketing::campaign_events))
        .routes(routes!(marketing::report))
        .routes(routes!(marketing::offers))
        .routes(routes!(audit::entries))
        .routes(routes!(fx::put, fx::get))
        .routes(routes!(loyalty::balance))
        .routes(routes!(loyalty::redeem))
        .routes(routes!(loyalty::reverse))
        .routes(routes!(loyalty::adjust))
        .routes(routes!(loyalty::expire))
        .routes(routes!(loyalty::liability))
        .split_for_parts()
}

/// The OpenAPI 3.1 document, as served at `/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_routes().1
}

impl AppState {
    /// Starts the context's background work (needs a tokio runtime). Default limits.
    pub fn new(ctx: Context, auth: Authenticator) -> Self {
        AppState::with_limits(ctx, auth, Limits::default())
    }

    pub fn with_limits(ctx: Context, auth: Authenticator, limits: Limits) -> Self {
        let spec = serde_json::to_string_pretty(&spec::document())
            .expect("the OpenAPI document serialises");
        ctx.start_background_work();
        AppState {
            ctx,
            auth: Arc::new(auth),
            metrics: Arc::new(Metrics::default()),
            openapi_json: Arc::new(spec),
            rate_limits: Arc::new(RateLimits::new(&limits)),
            limits: Arc::new(limits),
            tls: false,
        }
    }

    /// How long a request may run once read.
    pub fn request_budget(&self) -> Duration {
        Duration::from_secs(self.limits.request_timeout_secs.max(1))
    }
}

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    let (api, _) = api_routes();
    // Layers run outside in: observe, headers, request line, rate limits, deadlines.
    api.route("/openapi.json", get(routes::system::openapi))
        .route("/docs", get(routes::system::docs))
        .merge(console::router())
        .fallback(|| async { AppError::NotFound })
        .method_not_allowed_fallback(|| async { AppError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(routes::events::BODY_MAX_BYTES))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            limits::deadlines,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            limits::rate_limit,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            record_staff_reads,
        ))
        .layer(middleware::from_fn(card_data::screen_request_line))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security_headers,
        ))
        .layer(middleware::from_fn(contain_panics))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// A handler that panics answers 500 problem+json (logged once by `observe`) instead of
/// dropping the connection without an answer.
async fn contain_panics(request: Request, next: Next) -> Response {
    use futures_util::FutureExt;
    match std::panic::AssertUnwindSafe(next.run(request))
        .catch_unwind()
        .await
    {
        Ok(response) => response,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a handler panicked".to_owned());
            AppError::Internal(format!("panic: {what}")).into_response()
        }
    }
}

/// Records every staff read of customer data (and of the audit trail) in the audit trail:
/// actor, role, the customer, the route and the request id. A read that cannot be recorded
/// is not served (503). Customers reading their own data and the payment app's service
/// token are not staff.
async fn record_staff_reads(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(new_request_id);
    request
        .extensions_mut()
        .insert(RequestId(request_id.clone()));
    let watched = request.method() == axum::http::Method::GET
        && (path.starts_with("/v1/customers/")
            || path == "/v1/audit"
            || path == "/v1/loyalty/liability"
            || path.starts_with("/v1/monitoring/")
            || path.starts_with("/v1/payments/assessments/"));
    let staff = watched
        .then(|| {
            let header = request.headers().get(header::AUTHORIZATION)?;
            let token = header.to_str().ok()?.strip_prefix("Bearer ")?;
            let mut caller = state.auth.verify(token.trim()).ok()?;
            caller.request_id = request_id.clone();
            let staff = matches!(
                caller.role,
                auth::Role::Marketer
                    | auth::Role::WealthManager
                    | auth::Role::Compliance
                    | auth::Role::Admin
            );
            staff.then_some(caller)
        })
        .flatten();
    if let Some(caller) = &staff {
        request.extensions_mut().insert(caller.clone());
    }
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| path.clone(), |p| p.as_str().to_owned());
    let mut response = next.run(request).await;
    if let Some(caller) = staff {
        if response.status().is_success() {
            let (action, object) = if path == "/v1/audit" {
                ("audit.read", "audit_trail")
            } else if let Some(rest) = path.strip_prefix("/v1/customers/") {
                ("customer.read", rest.split('/').next().unwrap_or_default())
            } else {
                // A case or an assessment: named by its id, the listing by its route.
                let id = path
                    .strip_prefix("/v1/monitoring/cases/")
                    .or_else(|| path.strip_prefix("/v1/payments/assessments/"))
                    .and_then(|rest| rest.split('/').next());
                ("monitoring.read", id.unwrap_or("monitoring_cases"))
            };
            let detail = serde_json::json!({ "route": route });
            let entry = caller.actor().entry(action, object, detail);
            if let Err(e) = state
                .ctx
                .store
                .record_audit(&entry, chrono::Utc::now())
                .await
            {
                let mut refused =
                    AppError::Unavailable(format!("audit trail: {e}")).into_response();
                refused.headers_mut().insert(
                    "x-request-id",
                    HeaderValue::from_str(&request_id).unwrap_or(HeaderValue::from_static("-")),
                );
                return refused;
            }
        }
    }
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

/// The request's id (`x-request-id`, echoed or minted), in the request's extensions for the
/// audit trail.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// A request id for requests that came without one: time and a process-wide counter.
fn new_request_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    format!("req-{ms:x}-{:x}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Headers every answer carries: nothing is cached (answers hold personal data), nothing
/// is sniffed or framed, no referrer leaves; the reference page may run its own inline
/// script and style only; Strict-Transport-Security when served over TLS.
async fn security_headers(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let docs = request.uri().path() == "/docs";
    let console = request.uri().path().starts_with("/console");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let policy = if docs {
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    } else if console {
        // The console's own script and style only; forms post to the console alone.
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    } else {
        "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    };
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, policy),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
        (
            header::HeaderName::from_static("cross-origin-resource-policy"),
            "same-origin",
        ),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if state.tls {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    response
}

/// Records latency per route template and logs internal errors once, server-side only.
async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    // Only standard methods become labels, so strangers cannot grow the metric set.
    let method = match request.method().as_str() {
        m @ ("GET" | "PUT" | "POST" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS") => m.to_owned(),
        _ => "other".to_owned(),
    };
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16();
    if let Some(InternalDetail(detail)) = response.extensions().get::<InternalDetail>() {
        tracing::error!(%method, %route, status, error = %detail, "request failed");
    }
    state
        .metrics
        .observe(&method, &route, status, started.elapsed());
    response
}

/// A bound, not yet running, server.
pub struct Application {
    listener: tokio::net::TcpListener,
    router: Router,
    state: AppState,
    tls: Option<Arc<TlsFiles>>,
}

impl Application {
    /// Binds `addr` (port 0 picks a free port), plain HTTP.
    pub async fn build(addr: SocketAddr, state: AppState) -> anyhow::Result<Application> {
        Application::build_with_tls(addr, state, None).await
    }

    /// Binds `addr`; with `tls`, the server speaks only HTTPS.
    pub async fn build_with_tls(
        addr: SocketAddr,
        mut state: AppState,
        tls: Option<TlsFiles>,
    ) -> anyhow::Result<Application> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        state.tls = tls.is_some();
        Ok(Application {
            listener,
            router: app(state.clone()),
            state,
            tls: tls.map(Arc::new),
        })
    }

    /// `https` or `http`.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() {
            "https"
        } else {
            "http"
        }
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves until Ctrl-C (or SIGTERM).
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let limits = self.state.limits.clone();
        server::serve(
            self.listener,
            self.router,
            &limits,
            self.tls,
            shutdown_signal(),
        )
        .await
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
