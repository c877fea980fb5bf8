//! The staff console at `/console`: pages rendered on the server (maud templates, SVG
//! charts) over the same use cases and role rules as the API, for marketers, wealth
//! managers and risk and compliance officers. Every asset is compiled into the binary; the
//! only script is progressive enhancement (the audience editor's live check).
//!
//! - [`session`]: sign-in, sessions, CSRF, the role checks;
//! - [`layout`]: the page frame, money and paging helpers; [`charts`]: SVG charts;
//! - [`marketing`], [`wealth`], [`compliance`], [`monitoring`], [`rules`], [`segments`]: the
//!   pages of each role.

mod charts;
mod compliance;
mod layout;
mod marketing;
mod monitoring;
mod rules;
mod segments;
pub mod session;
mod wealth;

/// Money as the console writes it, for the command line too.
pub use layout::money;

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::auth::Role;
use crate::AppState;
use session::Staff;

pub use layout::SECTIONS;

/// The console's routes (not part of the OpenAPI document: they answer HTML).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console", get(home))
        .route(
            "/console/login",
            get(session::login_page).post(session::login),
        )
        .route("/console/logout", post(session::logout))
        .route("/console/assets/{file}", get(asset))
        .merge(marketing::routes())
        .merge(wealth::routes())
        .merge(compliance::routes())
        .merge(monitoring::routes())
        .merge(rules::routes())
        .merge(segments::routes())
}

/// Each role's first page.
async fn home(staff: Staff) -> Redirect {
    let to = match staff.role {
        Role::Marketer | Role::Admin => "/console/campaigns",
        Role::WealthManager => "/console/clients",
        Role::Compliance => "/console/cases",
        Role::Customer | Role::Service => "/console/login",
    };
    Redirect::to(to)
}

const CSS: &str = include_str!("assets/console.css");
const JS: &str = include_str!("assets/console.js");

async fn asset(Path(file): Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "console.css" => (CSS, "text/css; charset=utf-8"),
        "console.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}
