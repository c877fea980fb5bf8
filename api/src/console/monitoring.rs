//! Transaction monitoring for compliance: the cases (one open case per customer collects
//! their alerts), each with its alerts, the payments behind them and its history; an analyst
//! assigns, comments and closes with a disposition. The same use cases and rules as
//! `/v1/monitoring/cases`; every read is recorded.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::html;
use serde::Deserialize;
use sextant_services::monitoring::cases::{
    self, AssignRequest, CaseQuery, CloseRequest, CommentRequest, DISPOSITIONS,
};

use super::charts::{self, Bar};
use super::layout::{self, carry, facts, grouped, notice, pager, Paging, PAGE_ROWS};
use super::session::{csrf_field, CsrfForm, Failure, Rendered, Staff};
use crate::auth::Role;
use crate::AppState;

const ANALYSTS: &[Role] = &[Role::Compliance, Role::Admin];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/cases", get(cases_page))
        .route("/console/cases/{id}", get(case_page))
        .route("/console/cases/{id}/assign", post(assign))
        .route("/console/cases/{id}/comment", post(comment))
        .route("/console/cases/{id}/close", post(close))
}

#[derive(Deserialize, Default)]
struct ListQuery {
    /// open (default), closed or all.
    status: Option<String>,
    assignee: Option<String>,
    customer: Option<String>,
    #[serde(default)]
    page: u64,
}

fn given(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// How strong a score is, as the badge classes the console already has.
fn strength(score: f64) -> (&'static str, &'static str) {
    if score >= 0.8 {
        ("badge high", "high")
    } else if score >= 0.5 {
        ("badge medium", "medium")
    } else {
        ("badge low", "low")
    }
}

async fn cases_page(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<ListQuery>,
) -> Rendered {
    staff.require(ANALYSTS)?;
    let status = match q.status.as_deref() {
        None | Some("") | Some("open") => Some("open".to_owned()),
        Some("closed") => Some("closed".to_owned()),
        _ => None,
    };
    let paging = Paging {
        page: q.page,
        sort: None,
        dir: None,
    };
    let query = CaseQuery {
        status: status.clone(),
        assignee: given(&q.assignee),
        customer_id: given(&q.customer),
        offset: Some(paging.offset()),
        limit: Some(PAGE_ROWS),
    };
    let list = cases::list(&state.ctx, &query).await?;
    staff
        .record_read(
            &state,
            "monitoring.read",
            "monitoring_cases",
            "/console/cases",
        )
        .await?;
    // The open workload by strongest alert, for the chart.
    let bands = ["high", "medium", "low"];
    let mut by_band = [0u64; 3];
    for c in &list.cases {
        let (_, band) = strength(c.max_score);
        by_band[bands.iter().position(|b| *b == band).expect("a band")] += 1;
    }
    let bars: Vec<Bar> = bands
        .iter()
        .zip(by_band)
        .map(|(b, n)| Bar {
            label: (*b).into(),
            value: n as f64,
            interval: None,
        })
        .collect();
    let kept = carry(&[
        ("status", q.status.as_deref()),
        ("assignee", q.assignee.as_deref()),
        ("customer", q.customer.as_deref()),
    ]);
    let shown = status.as_deref().unwrap_or("all");
    Ok(layout::page(
        &staff,
        "cases",
        "Monitoring cases",
        html! {
            p { "Every payment stored is checked by the transaction-monitoring detectors; what fires becomes an alert in the customer's open case. Close a case with a disposition: it labels the alerts for the model and the rule backtests. Customers never see any of this." }
            form method="get" class="actions" aria-label="Filter cases" {
                label for="c-status" { "Status" }
                select id="c-status" name="status" {
                    @for s in ["open", "closed", "all"] { option value=(s) selected[shown == s] { (s) } }
                }
                label for="c-assignee" { "Analyst" }
                input id="c-assignee" name="assignee" value=(q.assignee.as_deref().unwrap_or("")) maxlength="64";
                label for="c-customer" { "Customer" }
                input id="c-customer" name="customer" value=(q.customer.as_deref().unwrap_or("")) maxlength="64";
                button type="submit" { "Filter" }
            }
            p { (grouped(list.total)) " " (shown) " cases" @if list.total > PAGE_ROWS { " (this page: " (list.cases.len()) ")" } "." }
            @if !list.cases.is_empty() {
                (charts::bar_chart("Cases on this page by their strongest alert", "cases", charts::plain, &bars))
            }
            @if list.cases.is_empty() { (notice("No case matches.")) } @else {
                table {
                    thead { tr {
                        th scope="col" { "Case" } th scope="col" { "Customer" } th scope="col" { "Status" }
                        th scope="col" class="num" { "Alerts" } th scope="col" { "Strongest" } th scope="col" { "Analyst" }
                        th scope="col" { "Opened" } th scope="col" { "Last change" }
                    } }
                    tbody { @for c in &list.cases {
                        @let (class, band) = strength(c.max_score);
                        tr {
                            td { a href={ "/console/cases/" (c.case_id) } { (c.case_id) } }
                            td { (c.customer_id) }
                            td { (c.status) @if let Some(d) = &c.disposition { " (" (d) ")" } }
                            td class="num" { (c.alerts) }
                            td { span class=(class) { (band) " " (format!("{:.2}", c.max_score)) } }
                            td { (c.assignee.as_deref().unwrap_or("–")) }
                            td { (c.opened_at.get(..16).unwrap_or(&c.opened_at).replace('T', " ")) }
                            td { (c.updated_at.get(..16).unwrap_or(&c.updated_at).replace('T', " ")) }
                        }
                    } }
                }
                (pager(&paging, list.total, &kept))
            }
        },
    ))
}

async fn case_page(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Rendered {
    staff.require(ANALYSTS)?;
    render_case(&state, &staff, &id, None).await
}

async fn render_case(state: &AppState, staff: &Staff, id: &str, done: Option<&str>) -> Rendered {
    let detail = cases::detail(&state.ctx, id).await?;
    staff
        .record_read(state, "monitoring.read", id, "/console/cases/{id}")
        .await?;
    let analysts: Vec<String> = state
        .ctx
        .store
        .list_staff()
        .await?
        .into_iter()
        .filter(|a| !a.disabled && (a.role == "compliance" || a.role == "admin"))
        .map(|a| a.username)
        .collect();
    let c = &detail.case;
    let open = c.status == "open";
    let title = format!("Case {}", c.case_id);
    Ok(layout::page(
        staff,
        "cases",
        &title,
        html! {
            p { a href="/console/cases" { "← Cases" } }
            @if let Some(done) = done { div role="status" class="ok-box" { p { (done) } } }
            section class="card" {
                (facts(&[
                    ("Customer", c.customer_id.clone()),
                    ("Status", match &c.disposition { Some(d) => format!("{} ({d})", c.status), None => c.status.clone() }),
                    ("Analyst", c.assignee.clone().unwrap_or_else(|| "nobody yet".into())),
                    ("Alerts", c.alerts.to_string()),
                    ("Strongest alert", format!("{:.2}", c.max_score)),
                    ("Opened", c.opened_at.clone()),
                    ("Last change", c.updated_at.clone()),
                ]))
            }
            section class="card" {
                h2 { "Alerts" }
                table {
                    thead { tr { th scope="col" { "Payment made" } th scope="col" { "Typology" } th scope="col" class="num" { "Score" } th scope="col" { "Why" } th scope="col" { "Payment or assessment" } } }
                    tbody { @for a in &detail.alerts { tr {
                        td { (a.occurred_at.replace('T', " ")) }
                        td { code { (a.source) } }
                        td class="num" { (format!("{:.2}", a.score)) }
                        td { (a.reason) }
                        td { @if let Some(e) = &a.event_id { "payment " code { (e) } } @if let Some(p) = &a.assessment_id { "assessment " code { (p) } } }
                    } } }
                }
            }
            section class="card" {
                h2 { "History" }
                @if detail.notes.is_empty() { (notice("Nobody has worked this case yet.")) } @else {
                    ol class="history" { @for n in &detail.notes {
                        li { strong { (n.kind) } " · " (n.at.replace('T', " ")) " · " (n.actor) p { (n.text) } }
                    } }
                }
            }
            @if open {
                section class="card" {
                    h2 { "Work the case" }
                    form method="post" action={ "/console/cases/" (c.case_id) "/assign" } class="actions" {
                        (csrf_field(staff))
                        label for="w-assignee" { "Analyst" }
                        select id="w-assignee" name="assignee" {
                            option value="" { "nobody" }
                            @for a in &analysts { option value=(a) selected[c.assignee.as_deref() == Some(a.as_str())] { (a) } }
                        }
                        button type="submit" { "Assign" }
                    }
                    form method="post" action={ "/console/cases/" (c.case_id) "/comment" } {
                        (csrf_field(staff))
                        label for="w-comment" { "Comment" }
                        textarea id="w-comment" name="text" rows="3" maxlength=(cases::NOTE_MAX) required {}
                        button type="submit" { "Add comment" }
                    }
                    form method="post" action={ "/console/cases/" (c.case_id) "/close" } data-confirm="Close this case? A closed case cannot be reopened." {
                        (csrf_field(staff))
                        label for="w-disposition" { "Disposition" }
                        select id="w-disposition" name="disposition" required {
                            @for d in DISPOSITIONS { option value=(d) { (d.replace('_', " ")) } }
                        }
                        label for="w-note" { "Why" }
                        textarea id="w-note" name="note" rows="3" maxlength=(cases::NOTE_MAX) required {}
                        button type="submit" { "Close the case" }
                    }
                }
            } @else {
                section class="card" {
                    form method="post" action={ "/console/cases/" (c.case_id) "/comment" } {
                        (csrf_field(staff))
                        label for="w-comment" { "Comment on the closed case" }
                        textarea id="w-comment" name="text" rows="3" maxlength=(cases::NOTE_MAX) required {}
                        button type="submit" { "Add comment" }
                    }
                }
            }
        },
    ))
}

#[derive(Deserialize)]
struct AssignForm {
    assignee: String,
}

#[derive(Deserialize)]
struct CommentForm {
    text: String,
}

#[derive(Deserialize)]
struct CloseForm {
    disposition: String,
    note: String,
}

/// After a change, back to the case (a reload does not post again).
fn back_to(id: &str) -> Result<Response, Failure> {
    Ok(Redirect::to(&format!("/console/cases/{id}")).into_response())
}

async fn assign(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(staff, form): CsrfForm<AssignForm>,
) -> Result<Response, Failure> {
    staff.require(ANALYSTS)?;
    let request = AssignRequest {
        assignee: Some(form.assignee).filter(|a| !a.is_empty()),
    };
    cases::assign(&state.ctx, &id, &request, &staff.actor()).await?;
    back_to(&id)
}

async fn comment(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(staff, form): CsrfForm<CommentForm>,
) -> Result<Response, Failure> {
    staff.require(ANALYSTS)?;
    let request = CommentRequest { text: form.text };
    cases::comment(&state.ctx, &id, &request, &staff.actor()).await?;
    back_to(&id)
}

async fn close(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(staff, form): CsrfForm<CloseForm>,
) -> Rendered {
    staff.require(ANALYSTS)?;
    let request = CloseRequest {
        disposition: form.disposition,
        note: form.note,
    };
    cases::close(&state.ctx, &id, &request, &staff.actor()).await?;
    render_case(&state, &staff, &id, Some("Case closed.")).await
}
