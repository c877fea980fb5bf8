//! Who is signed in, and the rules every console request obeys.
//!
//! - The session cookie (`sextant_session`) is HttpOnly, SameSite=Strict, `Path=/console`,
//!   and Secure when the server speaks TLS; it holds a random token whose SHA-256 is the
//!   stored session id.
//! - Every form carries the session's CSRF token in a hidden `csrf` field; [`CsrfForm`] is
//!   the only way a handler reads a form, and it refuses a missing or wrong token (403)
//!   before the handler runs. The sign-in form, which has no session yet, uses a
//!   double-submit cookie instead.
//! - A page for a role the account does not have answers 403; a customer outside a wealth
//!   manager's book answers 404, as in the API.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use maud::{html, Markup};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use sextant_services::staff::{self, Refused};
use sextant_store::Actor;

use super::layout::{self, Page};
use crate::auth::{Caller, Role};
use crate::error::{AppError, InternalDetail};
use crate::{AppState, RequestId};

pub const SESSION_COOKIE: &str = "sextant_session";
const LOGIN_CSRF_COOKIE: &str = "sextant_login_csrf";
/// Largest form accepted (an audience rule is at most 4 KiB; a seed list a few thousand ids).
const FORM_MAX_BYTES: usize = 256 * 1024;

/// A signed-in staff member.
#[derive(Debug, Clone)]
pub struct Staff {
    pub username: String,
    pub role: Role,
    pub csrf: String,
    pub request_id: String,
    token: String,
}

impl Staff {
    pub fn actor(&self) -> Actor {
        Actor::new(&self.username, self.role.as_str()).with_request_id(&self.request_id)
    }

    /// The same caller the API would see for this person: its role checks apply unchanged.
    pub fn caller(&self) -> Caller {
        Caller {
            sub: self.username.clone(),
            role: self.role,
            request_id: self.request_id.clone(),
        }
    }

    /// 403 unless the account has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), Failure> {
        self.caller().require(roles).map_err(Failure::App)
    }

    /// Records a staff read of customer data (or of the audit trail) as the API does; a
    /// read that cannot be recorded is not shown.
    pub async fn record_read(
        &self,
        state: &AppState,
        action: &str,
        object: &str,
        route: &str,
    ) -> Result<(), Failure> {
        let entry = self
            .actor()
            .entry(action, object, serde_json::json!({ "route": route }));
        state
            .ctx
            .store
            .record_audit(&entry, Utc::now())
            .await
            .map_err(|e| Failure::App(AppError::Unavailable(format!("audit trail: {e}"))))?;
        Ok(())
    }
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn request_id(parts: &Parts) -> String {
    parts
        .extensions
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default()
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Failure> {
        let next = parts
            .uri
            .path_and_query()
            .map_or("/console", |p| p.as_str())
            .to_owned();
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(Failure::SignIn(next));
        };
        let live = staff::session(state.ctx.store.as_ref(), token, Utc::now())
            .await
            .map_err(|e| Failure::App(e.into()))?
            .ok_or(Failure::SignIn(next))?;
        let role = Role::parse(&live.account.role)
            .map_err(|_| Failure::App(AppError::Internal("a staff role is unknown".into())))?;
        Ok(Staff {
            username: live.account.username,
            role,
            csrf: live.session.csrf_token,
            request_id: request_id(parts),
            token: token.to_owned(),
        })
    }
}

/// Why a console request was not served, as a page (or a redirect to sign in).
#[derive(Debug)]
pub enum Failure {
    /// No live session: back to the sign-in page, then to `next`.
    SignIn(String),
    /// A form without the session's CSRF token.
    Csrf,
    App(AppError),
}

impl From<AppError> for Failure {
    fn from(e: AppError) -> Self {
        Failure::App(e)
    }
}

impl From<sextant_services::ServiceError> for Failure {
    fn from(e: sextant_services::ServiceError) -> Self {
        Failure::App(e.into())
    }
}

impl From<sextant_store::StoreError> for Failure {
    fn from(e: sextant_store::StoreError) -> Self {
        Failure::App(e.into())
    }
}

/// Only same-site paths under `/console` are followed after sign-in.
fn safe_next(next: &str) -> &str {
    let ok = next.starts_with("/console")
        && !next.starts_with("/console/login")
        && !next.contains("//")
        && !next.contains('\\');
    if ok {
        next
    } else {
        "/console"
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        match self {
            Failure::SignIn(next) => {
                let target = format!(
                    "/console/login?next={}",
                    percent_encoding::utf8_percent_encode(
                        safe_next(&next),
                        percent_encoding::NON_ALPHANUMERIC
                    )
                );
                Redirect::to(&target).into_response()
            }
            Failure::Csrf => error_page(
                StatusCode::FORBIDDEN,
                "This form has expired",
                "The form did not carry this session's security token (it may be from an older \
                 session or from another site). Nothing was changed. Go back, reload the page \
                 and try again.",
                &[],
            ),
            Failure::App(e) => {
                let (status, _code, title, detail) = e.parts();
                let problems: Vec<String> = match &e {
                    AppError::Validation(items) | AppError::Conflict(_, items) => items
                        .iter()
                        .map(|i| match &i.field {
                            Some(f) if !f.is_empty() => format!("{f}: {}", i.message),
                            _ => i.message.clone(),
                        })
                        .collect(),
                    AppError::InvalidJson(i) => vec![i.message.clone()],
                    _ => Vec::new(),
                };
                let internal = match &e {
                    AppError::Internal(d) | AppError::Unavailable(d) => Some(d.clone()),
                    _ => None,
                };
                let mut response = error_page(status, title, &detail, &problems);
                if let Some(detail) = internal {
                    response.extensions_mut().insert(InternalDetail(detail));
                }
                response
            }
        }
    }
}

fn error_page(status: StatusCode, title: &str, detail: &str, problems: &[String]) -> Response {
    let body = layout::bare(
        title,
        html! {
            main id="main" {
                h1 { (title) }
                p { (detail) }
                @if !problems.is_empty() {
                    ul class="problems" { @for p in problems { li { (p) } } }
                }
                p { a href="/console" { "Back to the console" } }
            }
        },
    );
    (status, body).into_response()
}

/// A form checked against the session's CSRF token before the handler sees it.
pub struct CsrfForm<T>(pub Staff, pub T);

#[derive(Deserialize)]
struct CsrfField {
    csrf: Option<String>,
}

/// Constant-time comparison: how much of a token matched must not show in the timing.
fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = Failure;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Failure> {
        let (mut parts, body) = request.into_parts();
        let staff = Staff::from_request_parts(&mut parts, state).await?;
        let bytes = axum::body::to_bytes(body, FORM_MAX_BYTES)
            .await
            .map_err(|_| {
                Failure::App(AppError::TooLarge(format!(
                    "a console form is at most {FORM_MAX_BYTES} bytes"
                )))
            })?;
        let token: CsrfField =
            serde_urlencoded::from_bytes(&bytes).unwrap_or(CsrfField { csrf: None });
        match token.csrf {
            Some(t) if same_token(&t, &staff.csrf) => {}
            _ => return Err(Failure::Csrf),
        }
        let form = parse_form(&bytes)?;
        Ok(CsrfForm(staff, form))
    }
}

/// A form body into `T`, or a 422 page naming the field.
pub fn parse_form<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, Failure> {
    serde_urlencoded::from_bytes(bytes).map_err(|e| {
        Failure::App(AppError::Validation(vec![
            sextant_services::ItemProblem::field("form", "invalid_form", e.to_string()),
        ]))
    })
}

fn session_cookie(state: &AppState, value: &str, max_age_secs: i64) -> HeaderValue {
    let secure = if state.tls { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}"
    ))
    .expect("cookie values are hex")
}

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

/// The sign-in page. It sets a fresh double-submit token: the form must send back what
/// the cookie holds, which another site cannot read.
pub async fn login_page(State(state): State<AppState>, Query(q): Query<LoginQuery>) -> Response {
    login_form(
        &state,
        q.next.as_deref().unwrap_or("/console"),
        None,
        StatusCode::OK,
    )
}

fn login_form(state: &AppState, next: &str, problem: Option<&str>, status: StatusCode) -> Response {
    let token = staff::random_token();
    let page = layout::bare(
        "Sign in",
        html! {
            main id="main" class="signin" {
                h1 { "Sextant console" }
                p { "For the bank's marketers, wealth managers and risk and compliance officers." }
                @if let Some(problem) = problem {
                    p class="error" role="alert" { (problem) }
                }
                form method="post" action="/console/login" {
                    input type="hidden" name="csrf" value=(token);
                    input type="hidden" name="next" value=(safe_next(next));
                    label for="username" { "Username" }
                    input id="username" name="username" type="text" autocomplete="username" required autofocus maxlength="64";
                    label for="password" { "Password" }
                    input id="password" name="password" type="password" autocomplete="current-password" required maxlength="256";
                    button type="submit" { "Sign in" }
                }
                p class="hint" {
                    "Accounts are made with " code { "sextant staff add" } "; " code { "sextant demo" }
                    " prints one login per role."
                }
            }
        },
    );
    let secure = if state.tls { "; Secure" } else { "" };
    let mut response = (status, page).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_str(&format!(
            "{LOGIN_CSRF_COOKIE}={token}; Path=/console/login; HttpOnly; SameSite=Strict; Max-Age=3600{secure}"
        ))
        .expect("hex"),
    );
    response
}

#[derive(Deserialize)]
pub struct LoginForm {
    csrf: Option<String>,
    username: String,
    password: String,
    next: Option<String>,
}

/// Words shown for every refused sign-in, whatever the reason.
const REFUSED: &str = "Wrong username or password, or the account is locked or disabled. \
    Five failures in a row lock an account for 15 minutes.";

pub async fn login(State(state): State<AppState>, request: Request) -> Result<Response, Failure> {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 16 * 1024)
        .await
        .map_err(|_| Failure::App(AppError::TooLarge("a sign-in form is small".into())))?;
    let form: LoginForm = parse_form(&bytes)?;
    let cookie_token = cookie(&parts.headers, LOGIN_CSRF_COOKIE);
    let next = form.next.as_deref().unwrap_or("/console").to_owned();
    match (cookie_token, form.csrf.as_deref()) {
        (Some(a), Some(b)) if same_token(a, b) => {}
        _ => return Err(Failure::Csrf),
    }
    let opened = staff::sign_in(
        state.ctx.store.as_ref(),
        &form.username,
        &form.password,
        &request_id(&parts),
        Utc::now(),
    )
    .await?;
    match opened {
        Ok(opened) => {
            let mut response = Redirect::to(safe_next(&next)).into_response();
            let lifetime = staff::SESSION_LIFETIME.num_seconds();
            response.headers_mut().append(
                header::SET_COOKIE,
                session_cookie(&state, &opened.token, lifetime),
            );
            Ok(response)
        }
        Err(Refused::WrongCredentials | Refused::Locked | Refused::Disabled) => Ok(login_form(
            &state,
            &next,
            Some(REFUSED),
            StatusCode::UNAUTHORIZED,
        )),
    }
}

pub async fn logout(
    State(state): State<AppState>,
    CsrfForm(staff, NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, Failure> {
    staff::sign_out(
        state.ctx.store.as_ref(),
        &staff.token,
        &staff.actor(),
        Utc::now(),
    )
    .await?;
    let mut response = Redirect::to("/console/login").into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, session_cookie(&state, "", 0));
    Ok(response)
}

/// A form with nothing but its CSRF token (a button).
#[derive(Deserialize)]
pub struct NoFields {}

/// The form fields every state-changing form carries.
pub fn csrf_field(staff: &Staff) -> Markup {
    html! { input type="hidden" name="csrf" value=(staff.csrf); }
}

pub type Rendered = Result<Page, Failure>;
