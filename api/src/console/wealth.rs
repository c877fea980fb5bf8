//! Wealth managers' pages: the client book sorted by alert severity, and a client's page
//! (risk profile and its history, holdings against the model portfolio, the review with its
//! drawdown chart and risk contributions, goal plans as fan charts, rebalancing proposals
//! to approve or reject). A wealth manager reaches only their own clients; anyone else's
//! answers 404, as in the API.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::Utc;
use maud::{html, Markup};
use serde::Deserialize;
use sextant_domain::CustomerId;
use sextant_services::advice::review as reviews;
use sextant_services::advice::views::{
    ClientSummary, DecisionBody, GoalBody, RebalanceBody, RebalanceView, ReviewView,
};
use sextant_services::advice::{proposals, risk_level};
use sextant_services::ServiceError;

use super::charts::{self, Band, Bar, LineChart, Series};
use super::layout::{self, facts, money, notice, pct};
use super::session::{csrf_field, CsrfForm, Failure, NoFields, Rendered, Staff};
use crate::auth::Role;
use crate::error::AppError;
use crate::AppState;

const MANAGERS: &[Role] = &[Role::WealthManager, Role::Admin];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/clients", get(book))
        .route("/console/clients/{id}", get(client))
        .route("/console/clients/{id}/goal", post(plan_goal))
        .route("/console/clients/{id}/rebalance", post(propose))
        .route("/console/proposals/{advice_id}/{decision}", post(decide))
}

/// How bad a client's alerts are: suitability breaches first, then drawdown, then drift.
fn severity(c: &ClientSummary) -> (u8, usize) {
    let worst = c
        .alerts
        .iter()
        .map(|a| match a.kind.as_str() {
            "suitability" => 3,
            "drawdown" => 2,
            "drift" => 1,
            _ => 0,
        })
        .max()
        .unwrap_or(0);
    (worst, c.alerts.len())
}

fn severity_badge(level: u8) -> Markup {
    let (class, text) = match level {
        3 => ("high", "suitability breach"),
        2 => ("medium", "drawdown"),
        1 => ("low", "drift"),
        _ => ("none", "no alert"),
    };
    html! { span class={ "badge " (class) } { (text) } }
}

/// Counts per kind, and the most severe alert in words.
fn alert_summary(c: &ClientSummary) -> Markup {
    let count = |kind: &str| c.alerts.iter().filter(|a| a.kind == kind).count();
    let worst = ["suitability", "drawdown", "drift"]
        .iter()
        .find_map(|kind| c.alerts.iter().find(|a| a.kind == *kind));
    let counts: Vec<String> = [
        ("suitability", "suitability"),
        ("drawdown", "drawdown"),
        ("drift", "drifting positions"),
    ]
    .iter()
    .filter(|(kind, _)| count(kind) > 0)
    .map(|(kind, label)| format!("{} {label}", count(kind)))
    .collect();
    html! {
        @if let Some(a) = worst {
            div { (counts.join(", ")) }
            div class="hint" { (a.message) }
        }
    }
}

async fn book(State(state): State<AppState>, staff: Staff) -> Rendered {
    staff.require(MANAGERS)?;
    let mut clients = reviews::clients(&state.ctx, &staff.username).await?;
    clients.sort_by(|a, b| {
        severity(b)
            .cmp(&severity(a))
            .then(a.customer_id.cmp(&b.customer_id))
    });
    staff
        .record_read(&state, "customer.read", "client_book", "/console/clients")
        .await?;
    Ok(layout::page(
        &staff,
        "clients",
        "Client book",
        html! {
            p { "Your clients, the most severe alerts first: a position above the client's risk level, then a drawdown past the limit, then drift from the model portfolio." }
            @if clients.is_empty() { (notice("No client is assigned to you yet.")) } @else {
                table {
                    thead { tr { th scope="col" { "Client" } th scope="col" { "Severity" } th scope="col" { "Risk level" } th scope="col" class="num" { "Value" } th scope="col" { "Alerts" } } }
                    tbody {
                        @for c in &clients {
                            tr {
                                td { a href={ "/console/clients/" (c.customer_id) } { (c.customer_id) } }
                                td { (severity_badge(severity(c).0)) }
                                td { (c.level.as_deref().unwrap_or("–")) }
                                td class="num" { (c.value_minor.map_or("–".into(), |v| money(v, "EUR"))) }
                                td {
                                    @if let Some(why) = &c.unavailable { span class="notice" { (why) } }
                                    (alert_summary(c))
                                }
                            }
                        }
                    }
                }
            }
        },
    ))
}

/// The customer id, if this member of staff may see them (404 otherwise, as in the API).
async fn reach(state: &AppState, staff: &Staff, raw: &str) -> Result<CustomerId, Failure> {
    staff.require(MANAGERS)?;
    let id = CustomerId::parse(raw).map_err(|_| AppError::NotFound)?;
    crate::routes::require_client(state, &staff.caller(), &id).await?;
    state
        .ctx
        .store
        .customer(&id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(id)
}

async fn client(State(state): State<AppState>, staff: Staff, Path(raw): Path<String>) -> Rendered {
    let id = reach(&state, &staff, &raw).await?;
    staff
        .record_read(
            &state,
            "customer.read",
            id.as_str(),
            "/console/clients/{id}",
        )
        .await?;
    let ctx = &state.ctx;
    let level = risk_level(ctx, &id).await.ok();
    let assessments = ctx.store.assessments(&id, 20).await?;
    let review = reviews::review(ctx, &id).await;
    let proposals = reviews::rebalance_proposals(ctx, &id).await?;
    let goals = ctx.store.advice_for(&id, Some("goal"), 1).await?;
    let title = format!("Client {id}");
    Ok(layout::page(
        &staff,
        "clients",
        &title,
        html! {
            p { a href="/console/clients" { "← Client book" } }
            section class="card" {
                h2 { "Risk profile" }
                @match assessments.first() {
                    Some(a) => {
                        (facts(&[
                            ("Risk level", level.map_or(format!("C{}", a.level), |l| l.to_string())),
                            ("Willingness", format!("C{} (from {})", a.willingness, a.willingness_source)),
                            ("Capacity", format!("C{} (from the payment history)", a.capacity)),
                            ("Binding constraint", binding(a.willingness, a.capacity)),
                            ("Assessed", a.assessed_at.format("%Y-%m-%d %H:%M UTC").to_string()),
                        ]))
                        h3 { "History" }
                        table {
                            thead { tr { th scope="col" { "When" } th scope="col" { "Level" } th scope="col" { "Willingness" } th scope="col" { "Capacity" } th scope="col" { "Why recorded" } } }
                            tbody { @for a in &assessments { tr {
                                td { (a.assessed_at.format("%Y-%m-%d %H:%M")) } td { "C" (a.level) } td { "C" (a.willingness) } td { "C" (a.capacity) } td { (a.reason) }
                            } } }
                        }
                    }
                    None => { (notice("No risk assessment on record yet.")) }
                }
            }
            @match &review {
                Ok(r) => { (review_section(r)) }
                Err(e) => { section class="card" { h2 { "Review" } (notice(&review_unavailable(e))) } }
            }
            (goal_section(&staff, &id, goals.first().map(|g| &g.advice.output)))
            (proposals_section(&staff, &id, &proposals))
        },
    ))
}

fn binding(willingness: u8, capacity: u8) -> String {
    match willingness.cmp(&capacity) {
        std::cmp::Ordering::Greater => {
            "capacity: the payment history caps what the client is willing to take".into()
        }
        std::cmp::Ordering::Less => {
            "willingness: the client wants less risk than they could carry".into()
        }
        std::cmp::Ordering::Equal => "both: willingness and capacity agree".into(),
    }
}

fn review_unavailable(e: &ServiceError) -> String {
    match e {
        ServiceError::NotFound => "No holdings to review.".into(),
        ServiceError::NotReady { message, .. } => message.clone(),
        ServiceError::Invalid(p) => p
            .iter()
            .map(|p| p.message.clone())
            .collect::<Vec<_>>()
            .join("; "),
        _ => "The review could not be computed now.".into(),
    }
}

fn review_section(r: &ReviewView) -> Markup {
    let tail = r
        .tail
        .iter()
        .find(|t| (t.confidence - 0.95).abs() < 1e-9)
        .or(r.tail.first());
    html! {
        section class="card" {
            h2 { "Holdings against the model portfolio (" (r.level) ")" }
            table {
                thead { tr { th scope="col" { "Product" } th scope="col" class="num" { "Weight" } th scope="col" class="num" { "Model" } th scope="col" class="num" { "Drift" } th scope="col" { "Beyond the band" } } }
                tbody {
                    @for d in &r.drift {
                        tr {
                            td { (d.product_id) } td class="num" { (pct(d.weight, 1)) } td class="num" { (pct(d.target, 1)) }
                            td class="num" { (format!("{:+.1} pts", d.difference * 100.0)) }
                            td { @if d.beyond_band { span class="warn" { "yes" } } @else { "no" } }
                        }
                    }
                }
            }
            @if !r.alerts.is_empty() {
                h3 { "Alerts" }
                ul { @for a in &r.alerts { li { strong { (a.kind) } ": " (a.message) } } }
            }
        }
        section class="card" {
            h2 { "Review" }
            (facts(&[
                ("Value", money(r.value_minor, &r.currency)),
                ("Expected return (annual)", pct(r.expected_return, 1)),
                ("Volatility (annual)", pct(r.volatility, 1)),
                ("Sharpe ratio", format!("{:.2}", r.sharpe)),
                ("Sortino ratio", format!("{:.2}", r.sortino)),
                ("Maximum drawdown", pct(r.max_drawdown, 1)),
                ("Beta to global equity", format!("{:.2}", r.beta)),
                ("VaR, 1 day, 95% (historical)", tail.map_or("–".into(), |t| pct(t.historical_var, 2))),
                ("CVaR, 1 day, 95% (historical)", tail.map_or("–".into(), |t| pct(t.historical_cvar, 2))),
                ("History behind the figures", r.history.clone()),
            ]))
            div class="grid2" {
                (charts::line_chart(&LineChart {
                    label: "Drawdown of the current portfolio over the history, by week",
                    x_label: "weeks of history",
                    y_label: "drawdown below the running peak",
                    x_fmt: charts::plain,
                    y_fmt: charts::percent,
                    series: vec![Series {
                        name: "drawdown".into(),
                        points: r.weekly_drawdowns.iter().enumerate().map(|(i, d)| (i as f64, -d)).collect(),
                        dashed: false,
                    }],
                    bands: vec![],
                    y_zero: true,
                }))
                (charts::bar_chart(
                    "Share of the portfolio's variance each position contributes",
                    "share of variance",
                    charts::percent,
                    &r.risk_contributions.iter().map(|w| Bar { label: w.product_id.clone(), value: w.weight, interval: None }).collect::<Vec<_>>(),
                ))
            }
        }
    }
}

fn goal_section(staff: &Staff, id: &CustomerId, latest: Option<&serde_json::Value>) -> Markup {
    html! {
        section class="card" {
            h2 { "Goal plan" }
            @if let Some(plan) = latest { (fan_chart(plan)) } @else { (notice("No goal plan yet.")) }
            form class="stack" method="post" action={ "/console/clients/" (id) "/goal" } {
                (csrf_field(staff))
                label for="g-target" { "Target (EUR)" }
                input id="g-target" name="target" type="number" min="1" step="1" value="50000" required;
                label for="g-initial" { "Invested now (EUR)" }
                input id="g-initial" name="initial" type="number" min="0" step="1" value="5000" required;
                label for="g-monthly" { "Monthly contribution (EUR)" }
                input id="g-monthly" name="monthly" type="number" min="0" step="1" value="300" required;
                label for="g-years" { "Horizon (years)" }
                input id="g-years" name="years" type="number" min="1" max="50" value="10" required;
                button type="submit" { "Plan the goal" }
            }
        }
    }
}

/// The fan chart of a recorded goal plan: wealth percentiles by year.
fn fan_chart(plan: &serde_json::Value) -> Markup {
    let bands = plan
        .get("wealth_bands")
        .and_then(|b| b.as_array())
        .cloned()
        .unwrap_or_default();
    let get = |b: &serde_json::Value, k: &str| {
        b.get(k).and_then(serde_json::Value::as_f64).unwrap_or(0.0) / 100.0
    };
    let years = |b: &serde_json::Value| get(b, "month") * 100.0 / 12.0;
    let success = plan
        .get("success_probability")
        .and_then(serde_json::Value::as_f64)
        .unwrap_or(0.0);
    if bands.is_empty() {
        return notice("This plan was recorded before plans kept their percentiles by year.");
    }
    html! {
        p { "Probability of reaching the target: " strong { (pct(success, 0)) } " over " (plan.get("paths").and_then(serde_json::Value::as_u64).unwrap_or(0)) " simulated paths." }
        (charts::line_chart(&LineChart {
            label: "Fan chart of simulated wealth: median, 25-75th and 10-90th percentiles by year",
            x_label: "years from now",
            y_label: "wealth (EUR)",
            x_fmt: charts::plain,
            y_fmt: charts::plain,
            series: vec![Series { name: "median".into(), points: bands.iter().map(|b| (years(b), get(b, "p50_minor"))).collect(), dashed: false }],
            bands: vec![
                Band { name: "10th to 90th percentile".into(), points: bands.iter().map(|b| (years(b), get(b, "p10_minor"), get(b, "p90_minor"))).collect(), opacity: 0.18 },
                Band { name: "25th to 75th percentile".into(), points: bands.iter().map(|b| (years(b), get(b, "p25_minor"), get(b, "p75_minor"))).collect(), opacity: 0.3 },
            ],
            y_zero: true,
        }))
    }
}

fn proposals_section(staff: &Staff, id: &CustomerId, proposals: &[RebalanceView]) -> Markup {
    html! {
        section class="card" {
            h2 { "Rebalancing proposals" }
            form method="post" action={ "/console/clients/" (id) "/rebalance" } {
                (csrf_field(staff))
                button type="submit" class="secondary" { "Propose a rebalance back to the model" }
            }
            @if proposals.is_empty() { (notice("No proposal yet.")) }
            @for p in proposals {
                article class="proposal" {
                    h3 { "Proposal " (p.advice_id) " · " (p.status) }
                    p { (p.reason) " Proposed by " (p.proposed_by) " at " (p.proposed_at.get(..16).unwrap_or(&p.proposed_at).replace('T', " ")) "." }
                    table {
                        caption { "Trades (positive buys, negative sells); cost " (money(p.cost_minor, &p.currency)) ", turnover " (pct(p.turnover, 1)) }
                        thead { tr { th scope="col" { "Product" } th scope="col" class="num" { "Amount" } } }
                        tbody { @for t in &p.trades { tr { td { (t.product_id) } td class="num" { (money(t.amount_minor, &p.currency)) } } } }
                    }
                    @if let Some(d) = &p.decision {
                        p { strong { (d.decision) } " by " (d.by) " at " (d.at.get(..16).unwrap_or(&d.at).replace('T', " ")) @if !d.note.is_empty() { ": " (d.note) } }
                    } @else {
                        div class="actions" {
                            form class="inline" method="post" action={ "/console/proposals/" (p.advice_id) "/approve" } {
                                (csrf_field(staff))
                                button type="submit" { "Approve proposal " (p.advice_id) }
                            }
                            form class="inline" method="post" action={ "/console/proposals/" (p.advice_id) "/reject" } {
                                (csrf_field(staff))
                                button type="submit" class="danger" { "Reject proposal " (p.advice_id) }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize)]
struct GoalForm {
    target: i64,
    initial: i64,
    monthly: i64,
    years: u32,
}

async fn plan_goal(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    CsrfForm(staff, form): CsrfForm<GoalForm>,
) -> Result<Response, Failure> {
    let id = reach(&state, &staff, &raw).await?;
    let body = GoalBody {
        target_amount_minor: form.target.saturating_mul(100),
        initial_amount_minor: form.initial.saturating_mul(100),
        monthly_contribution_minor: form.monthly.saturating_mul(100),
        horizon_months: form.years.saturating_mul(12),
        currency: None,
        paths: None,
        target_probability: None,
    };
    proposals::goal(&state.ctx, &id, body, &staff.actor()).await?;
    Ok(Redirect::to(&format!("/console/clients/{id}")).into_response())
}

async fn propose(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    CsrfForm(staff, NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, Failure> {
    let id = reach(&state, &staff, &raw).await?;
    let body = RebalanceBody {
        band: None,
        min_trade_minor: None,
        cost_bps: None,
        new_cash_minor: 0,
        note: None,
    };
    reviews::propose_rebalance(&state.ctx, &id, body, &staff.actor()).await?;
    Ok(Redirect::to(&format!("/console/clients/{id}")).into_response())
}

async fn decide(
    State(state): State<AppState>,
    Path((advice_id, decision)): Path<(i64, String)>,
    CsrfForm(staff, NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, Failure> {
    staff.require(MANAGERS)?;
    let customer = reviews::proposal_customer(&state.ctx, advice_id).await?;
    let id = reach(&state, &staff, customer.as_str()).await?;
    let checked = DecisionBody {
        decision,
        note: String::new(),
    }
    .check()?;
    reviews::decide(&state.ctx, advice_id, checked, &staff.actor(), Utc::now()).await?;
    Ok(Redirect::to(&format!("/console/clients/{id}")).into_response())
}
