//! Marketers' pages: the catalogue and its versions, audiences (the rule editor with its
//! live check and preview, lookalikes from a pasted seed list), campaigns (create,
//! launch once, pause, resume, stop, the contact list) and the campaign report (reach,
//! uplift with its 95% interval, the Qini curve).

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::Utc;
use maud::{html, Markup};
use serde::Deserialize;
use sextant_services::idempotency::IdempotencyKey;
use sextant_services::marketing::audiences::{
    self, parse_rule, AudienceRequest, Definition, LookalikeSpec, Preview,
};
use sextant_services::marketing::campaigns::launch::{self, LaunchSummary};
use sextant_services::marketing::campaigns::report::{self, CampaignReport};
use sextant_services::marketing::campaigns::{self, delivery, CampaignSpec, FrequencyCap};
use sextant_services::marketing::catalogue;
use sextant_services::marketing::status::Move;
use sextant_services::ServiceError;

use super::charts::{self, Bar, LineChart, Series};
use super::layout::{self, facts, grouped, money, notice, pct};
use super::session::{csrf_field, CsrfForm, Failure, NoFields, Rendered, Staff};
use crate::auth::Role;
use crate::routes::keyed;
use crate::AppState;

const MARKETERS: &[Role] = &[Role::Marketer, Role::Admin];
/// Contacts shown per page of the contact list.
const CONTACTS_PAGE: u64 = 100;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/catalogue", get(catalogue_page))
        .route("/console/catalogue/{id}", get(product_page))
        .route(
            "/console/audiences",
            get(audiences_page).post(save_audience),
        )
        .route("/console/audiences/check", get(check_rule))
        .route("/console/audiences/preview", get(preview_rule))
        .route("/console/audiences/lookalike", post(lookalike))
        .route(
            "/console/campaigns",
            get(campaigns_page).post(create_campaign),
        )
        .route("/console/campaigns/{id}", get(campaign_page))
        .route("/console/campaigns/{id}/launch", post(launch_campaign))
        .route("/console/campaigns/{id}/{movement}", post(move_campaign))
        .route("/console/campaigns/{id}/contacts", get(contacts_page))
}

async fn catalogue_page(State(state): State<AppState>, staff: Staff) -> Rendered {
    staff.require(MARKETERS)?;
    let view = catalogue::catalogue(&state.ctx).await?;
    Ok(layout::page(
        &staff,
        "catalogue",
        "Product catalogue",
        html! {
            p { "The products offers and campaigns may feature, each at its newest version. A product's risk level (R1–R5) is never offered above a customer's tolerance." }
            table {
                thead { tr { th scope="col" { "Product" } th scope="col" { "Name" } th scope="col" { "Kind" } th scope="col" { "Risk" } th scope="col" class="num" { "Minimum" } th scope="col" class="num" { "Version" } } }
                tbody {
                    @for p in &view.products {
                        tr {
                            td { a href={ "/console/catalogue/" (p.product_id) } { (p.product_id) } }
                            td { (p.name) } td { (p.kind) } td { (p.risk_level) }
                            td class="num" { (money(p.min_amount_minor, &p.currency)) }
                            td class="num" { (p.version) }
                        }
                    }
                }
            }
        },
    ))
}

async fn product_page(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Rendered {
    staff.require(MARKETERS)?;
    let view = catalogue::versions(&state.ctx, &id).await?;
    let title = format!("Product {id}: versions");
    Ok(layout::page(
        &staff,
        "catalogue",
        &title,
        html! {
            p { a href="/console/catalogue" { "← Catalogue" } }
            table {
                thead { tr { th scope="col" class="num" { "Version" } th scope="col" { "Name" } th scope="col" { "Risk" } th scope="col" class="num" { "Minimum" } th scope="col" class="num" { "Term (months)" } th scope="col" class="num" { "Rate" } } }
                tbody {
                    @for p in view.products.iter().rev() {
                        tr {
                            td class="num" { (p.version) } td { (p.name) } td { (p.risk_level) }
                            td class="num" { (money(p.min_amount_minor, &p.currency)) }
                            td class="num" { (p.term_months.map_or("–".to_owned(), |m| m.to_string())) }
                            td class="num" { (p.rate_bps.map_or("–".to_owned(), |b| format!("{:.2}%", f64::from(b) / 100.0))) }
                        }
                    }
                }
            }
        },
    ))
}

#[derive(Deserialize, Default)]
struct RuleQuery {
    #[serde(default)]
    rule: String,
}

/// The rule's check as a fragment: "valid", or the error with its line and column and a
/// caret under the place.
fn rule_check(source: &str) -> Markup {
    if source.trim().is_empty() {
        return html! { p class="notice" { "Type a rule, for example " code { "age >= 30 and consent.email" } "." } };
    }
    match parse_rule("rule", source) {
        Ok(_) => html! { p class="ok-box" role="status" { "The rule is valid." } },
        Err(ServiceError::Invalid(problems)) => {
            let p = &problems[0];
            let (line_no, column) = (p.line.unwrap_or(1), p.column.unwrap_or(1));
            let line = source.lines().nth(line_no.saturating_sub(1)).unwrap_or("");
            let caret = format!("{}^", " ".repeat(column.saturating_sub(1)));
            html! {
                div role="alert" {
                    p class="error" { "Line " (line_no) ", column " (column) ": " (without_position(&p.message)) " (" code { (p.code) } ")" }
                    pre class="rule-error" { (line) "\n" (caret) }
                }
            }
        }
        Err(_) => html! { p class="error" { "The rule could not be checked." } },
    }
}

/// The rule language's message without its own "line L, column C: " prefix (the page
/// shows the position once).
fn without_position(message: &str) -> &str {
    message
        .strip_prefix("line ")
        .and_then(|rest| rest.split_once(": "))
        .filter(|(position, _)| position.contains("column"))
        .map_or(message, |(_, text)| text)
}

async fn check_rule(staff: Staff, Query(q): Query<RuleQuery>) -> Result<Markup, Failure> {
    staff.require(MARKETERS)?;
    Ok(rule_check(&q.rule))
}

fn preview_fragment(p: &Preview) -> Markup {
    html! {
        div role="status" {
            (facts(&[
                ("Audience size", grouped(p.size)),
                ("Customers evaluated", grouped(p.evaluated)),
                ("Reachable by email", grouped(p.reachable.email)),
                ("Reachable by push", grouped(p.reachable.push)),
                ("Reachable by SMS", grouped(p.reachable.sms)),
                ("Reachable in the app", grouped(p.reachable.in_app)),
                ("Computed in", format!("{:.0} ms", p.elapsed_ms)),
            ]))
            @if !p.sample.is_empty() {
                p { "Sample: " (p.sample.join(", ")) }
            }
        }
    }
}

async fn preview_rule(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<RuleQuery>,
) -> Result<Markup, Failure> {
    staff.require(MARKETERS)?;
    let rule = match parse_rule("rule", &q.rule) {
        Ok(rule) => rule,
        Err(_) => return Ok(rule_check(&q.rule)),
    };
    let ctx = &state.ctx;
    let preview = audiences::preview(ctx, &Definition::Rule(rule)).await?;
    Ok(preview_fragment(&preview))
}

async fn audiences_page(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<RuleQuery>,
) -> Rendered {
    staff.require(MARKETERS)?;
    let list = state.ctx.store.audiences(None).await?;
    Ok(audiences_view(&staff, &list, &q.rule, None, None))
}

fn audiences_view(
    staff: &Staff,
    list: &[sextant_store::StoredAudience],
    rule: &str,
    problem: Option<Markup>,
    preview: Option<Markup>,
) -> Markup {
    let fields = format!(
        "{}, and every profile feature by its name",
        audiences::base_field_names().collect::<Vec<_>>().join(", ")
    );
    layout::page(
        staff,
        "audiences",
        "Audiences",
        html! {
            section class="card" {
                h2 { "New rule audience" }
                @if let Some(p) = problem { (p) }
                form class="stack" method="post" action="/console/audiences" data-live-editor data-check="rule-check" data-preview="rule-preview" {
                    (csrf_field(staff))
                    label for="audience-id" { "Audience id" }
                    input id="audience-id" name="id" required maxlength="64" pattern="[a-z0-9_\\-]+" placeholder="savers-2026" aria-describedby="audience-id-hint";
                    p class="hint" id="audience-id-hint" { "Lower-case letters, digits, _ and -." }
                    label for="audience-name" { "Name" }
                    input id="audience-name" name="name" required maxlength="200" placeholder="Savers with a buffer";
                    label for="rule" { "Rule" }
                    textarea id="rule" name="rule" rows="4" required aria-describedby="rule-check rule-fields" { (rule) }
                    p class="hint" id="rule-fields" { "Fields: " (fields) }
                    div id="rule-check" aria-live="polite" { (rule_check(rule)) }
                    div class="actions" {
                        button type="button" class="secondary" data-preview { "Preview" }
                        button type="submit" { "Save audience" }
                    }
                    div id="rule-preview" aria-live="polite" { @if let Some(p) = preview { (p) } }
                }
            }
            section class="card" {
                h2 { "New lookalike audience" }
                form class="stack" method="post" action="/console/audiences/lookalike" {
                    (csrf_field(staff))
                    label for="look-id" { "Audience id" }
                    input id="look-id" name="id" required maxlength="64" pattern="[a-z0-9_\\-]+";
                    label for="look-name" { "Name" }
                    input id="look-name" name="name" required maxlength="200";
                    label for="seeds" { "Seed customers (ids, one per line or separated by commas; at most 1,000)" }
                    textarea id="seeds" name="seeds" rows="4" required {}
                    label for="look-size" { "Audience size (the most similar first)" }
                    input id="look-size" name="size" type="number" min="1" max="100000" value="1000" required;
                    button type="submit" { "Save lookalike" }
                }
            }
            h2 { "Saved audiences" }
            @if list.is_empty() { (notice("No audience yet.")) } @else {
                table {
                    thead { tr { th scope="col" { "Id" } th scope="col" { "Name" } th scope="col" { "Kind" } th scope="col" class="num" { "Version" } th scope="col" { "Definition" } th scope="col" { "By" } } }
                    tbody {
                        @for a in list {
                            tr {
                                td { (a.id) } td { (a.name) } td { (a.kind) } td class="num" { (a.version) }
                                td { code { (definition_text(&a.definition)) } }
                                td { (a.actor) }
                            }
                        }
                    }
                }
            }
        },
    )
}

fn definition_text(d: &serde_json::Value) -> String {
    if let Some(rule) = d.get("rule").and_then(|r| r.as_str()) {
        return rule.to_owned();
    }
    let seeds = d
        .get("seeds")
        .and_then(|s| s.as_array())
        .map_or(0, Vec::len);
    let size = d.get("size").and_then(serde_json::Value::as_u64);
    match size {
        Some(size) => format!("{} most similar to {seeds} seeds", grouped(size)),
        None => format!("similar to {seeds} seeds"),
    }
}

#[derive(Deserialize)]
struct AudienceForm {
    id: String,
    name: String,
    rule: String,
}

/// The next version number of an audience.
async fn next_version(state: &AppState, id: &str) -> Result<u32, Failure> {
    Ok(state
        .ctx
        .store
        .audience_versions(id)
        .await?
        .iter()
        .map(|a| a.version)
        .max()
        .unwrap_or(0)
        + 1)
}

async fn save_audience(
    State(state): State<AppState>,
    CsrfForm(staff, form): CsrfForm<AudienceForm>,
) -> Result<Response, Failure> {
    staff.require(MARKETERS)?;
    let saved = async {
        let id = audiences::audience_id(&form.id)?;
        let version = next_version(&state, &id)
            .await
            .map_err(|_| ServiceError::Unavailable("store".into()))?;
        let request = AudienceRequest {
            version,
            name: form.name.clone(),
            rule: Some(form.rule.clone()),
            lookalike: None,
        };
        audiences::put_version(&state.ctx, id, &request, &staff.actor()).await
    }
    .await;
    match saved {
        Ok(_) => Ok(Redirect::to("/console/audiences").into_response()),
        Err(ServiceError::Invalid(problems)) => {
            let list = state.ctx.store.audiences(None).await?;
            let problem = html! {
                // `data-refused`: the script hides it once the rule is edited, so a fixed rule
                // is not shown beside the old refusal.
                div role="alert" data-refused {
                    p class="error" { "The audience was not saved:" }
                    ul class="problems" {
                        @for p in &problems {
                            // A rule error's message already starts with its line and column.
                            li { (p.field.as_deref().unwrap_or("")) ": " (p.message)
                                @if let (Some(l), Some(c)) = (p.line, p.column) {
                                    @if !p.message.starts_with("line ") { " (line " (l) ", column " (c) ")" }
                                } }
                        }
                    }
                }
            };
            let page = audiences_view(&staff, &list, &form.rule, Some(problem), None);
            Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct LookalikeForm {
    id: String,
    name: String,
    seeds: String,
    size: u64,
}

async fn lookalike(
    State(state): State<AppState>,
    CsrfForm(staff, form): CsrfForm<LookalikeForm>,
) -> Result<Response, Failure> {
    staff.require(MARKETERS)?;
    let seeds: Vec<String> = form
        .seeds
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let id = audiences::audience_id(&form.id)?;
    let version = next_version(&state, &id).await?;
    let request = AudienceRequest {
        version,
        name: form.name,
        rule: None,
        lookalike: Some(LookalikeSpec {
            seeds,
            size: Some(form.size),
            min_similarity: None,
        }),
    };
    audiences::put_version(&state.ctx, id, &request, &staff.actor()).await?;
    Ok(Redirect::to("/console/audiences").into_response())
}

#[derive(Deserialize)]
struct CampaignFilter {
    status: Option<String>,
}

async fn campaigns_page(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<CampaignFilter>,
) -> Rendered {
    staff.require(MARKETERS)?;
    let now = Utc::now();
    let status = q.status.filter(|s| !s.is_empty());
    let list = campaigns::list(&state.ctx, status.as_deref(), sextant_store::PAGE_MAX, now).await?;
    let audiences = state.ctx.store.audiences(None).await?;
    let products = catalogue::catalogue(&state.ctx).await?;
    let today = now.format("%Y-%m-%dT%H:%M").to_string();
    Ok(layout::page(
        &staff,
        "campaigns",
        "Campaigns",
        html! {
            form method="get" class="actions" {
                label for="status" { "Status" }
                select id="status" name="status" {
                    @for s in ["", "draft", "scheduled", "running", "paused", "stopped", "ended"] {
                        option value=(s) selected[status.as_deref() == Some(s)] { (if s.is_empty() { "any" } else { s }) }
                    }
                }
                button type="submit" class="secondary" { "Filter" }
            }
            @if list.campaigns.is_empty() { (notice("No campaign yet.")) } @else {
                table {
                    thead { tr { th scope="col" { "Campaign" } th scope="col" { "Status" } th scope="col" { "Product" } th scope="col" { "Channel" } th scope="col" { "Created" } th scope="col" { "Launched" } } }
                    tbody {
                        @for c in &list.campaigns {
                            tr {
                                td { a href={ "/console/campaigns/" (c.id) } { (c.name) } }
                                td { (c.status) } td { (c.product_id) } td { (c.channel) }
                                td { (short_time(&c.created_at)) }
                                td { (c.launched_at.as_deref().map_or("–".to_owned(), short_time)) }
                            }
                        }
                    }
                }
            }
            section class="card" {
                h2 { "New campaign" }
                form class="stack" method="post" action="/console/campaigns" {
                    (csrf_field(&staff))
                    label for="c-name" { "Name" }
                    input id="c-name" name="name" required maxlength="200";
                    label for="c-audience" { "Audience" }
                    select id="c-audience" name="audience_id" required {
                        @for a in &audiences { option value=(a.id) { (a.name) " (" (a.id) ", v" (a.version) ")" } }
                    }
                    label for="c-product" { "Product" }
                    select id="c-product" name="product_id" required {
                        @for p in &products.products { option value=(p.product_id) { (p.name) " (" (p.risk_level) ")" } }
                    }
                    label for="c-channel" { "Channel" }
                    select id="c-channel" name="channel" {
                        @for ch in ["email", "push", "sms", "in_app"] { option value=(ch) { (ch) } }
                    }
                    label for="c-start" { "Starts (UTC)" }
                    input id="c-start" name="starts_at" type="datetime-local" value=(today) required;
                    label for="c-days" { "Runs for (days)" }
                    input id="c-days" name="days" type="number" min="1" max="366" value="30" required;
                    label for="c-holdout" { "Holdout share (%)" }
                    input id="c-holdout" name="holdout_percent" type="number" min="1" max="50" value="10" required;
                    label for="c-cap" { "At most this many contacts per customer in 30 days" }
                    input id="c-cap" name="max_contacts" type="number" min="1" max="30" value="2" required;
                    label for="c-bonus" { "Loyalty points for converting (optional)" }
                    input id="c-bonus" name="bonus_points" type="number" min="1" max="100000";
                    button type="submit" { "Create draft" }
                }
            }
        },
    ))
}

fn short_time(rfc3339: &str) -> String {
    rfc3339.get(..16).unwrap_or(rfc3339).replace('T', " ")
}

#[derive(Deserialize)]
struct CampaignForm {
    name: String,
    audience_id: String,
    product_id: String,
    channel: String,
    starts_at: String,
    days: i64,
    holdout_percent: f64,
    max_contacts: u32,
    /// Empty for none.
    #[serde(default)]
    bonus_points: String,
}

async fn create_campaign(
    State(state): State<AppState>,
    CsrfForm(staff, form): CsrfForm<CampaignForm>,
) -> Result<Response, Failure> {
    staff.require(MARKETERS)?;
    let starts = chrono::NaiveDateTime::parse_from_str(&form.starts_at, "%Y-%m-%dT%H:%M")
        .map_err(|_| {
            ServiceError::invalid(
                "starts_at",
                "invalid_time",
                "a date and time, YYYY-MM-DDTHH:MM",
            )
        })?
        .and_utc();
    if !(1..=366).contains(&form.days) {
        return Err(ServiceError::invalid("days", "out_of_range", "1 to 366 days").into());
    }
    let bonus_points = match form.bonus_points.trim() {
        "" => None,
        text => Some(text.parse::<i64>().map_err(|_| {
            ServiceError::invalid("bonus_points", "invalid_number", "a whole number of points")
        })?),
    };
    let spec = CampaignSpec {
        name: form.name,
        audience_id: form.audience_id,
        audience_version: None,
        product_id: form.product_id,
        channel: form.channel,
        starts_at: starts.to_rfc3339(),
        ends_at: Some((starts + chrono::Duration::days(form.days)).to_rfc3339()),
        send_cap: None,
        budget_minor: None,
        cost_per_contact_minor: None,
        frequency_cap: FrequencyCap {
            max_contacts: form.max_contacts,
            window_days: 30,
        },
        holdout_share: form.holdout_percent / 100.0,
        bonus_points,
    };
    let view = campaigns::create(&state.ctx, spec, &staff.actor(), Utc::now()).await?;
    Ok(Redirect::to(&format!("/console/campaigns/{}", view.id)).into_response())
}

fn new_launch_key() -> String {
    sextant_services::new_id("console-launch")
}

async fn campaign_page(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Rendered {
    staff.require(MARKETERS)?;
    let view = campaigns::get(&state.ctx, &id, Utc::now()).await?;
    let report = report::report(&state.ctx, &id).await?;
    let spec: Option<CampaignSpec> = serde_json::from_value(view.spec.clone()).ok();
    let launch: Option<LaunchSummary> = view
        .launch
        .clone()
        .and_then(|l| serde_json::from_value(l).ok());
    let status = view.status.as_str();
    Ok(layout::page(
        &staff,
        "campaigns",
        &view.name,
        html! {
            p { a href="/console/campaigns" { "← Campaigns" } }
            section class="card" {
                (facts(&[
                    ("Status", view.status.clone()),
                    ("Product", view.product_id.clone()),
                    ("Channel", view.channel.clone()),
                    ("Audience", spec.as_ref().map_or("–".into(), |s| s.audience_id.clone())),
                    ("Holdout", spec.as_ref().map_or("–".into(), |s| pct(s.holdout_share, 0))),
                    ("Bonus on conversion", spec.as_ref().and_then(|s| s.bonus_points).map_or("–".into(), |p| format!("{p} points"))),
                    ("Runs", spec.as_ref().map_or("–".into(), |s| format!("{} to {}", short_time(&s.starts_at), s.ends_at.as_deref().map_or("open".into(), short_time)))),
                    ("Created by", format!("{} at {}", view.created_by, short_time(&view.created_at))),
                ]))
                div class="actions" {
                    @if status == "draft" || status == "scheduled" {
                        form class="inline" method="post" action={ "/console/campaigns/" (view.id) "/launch" } data-confirm="Launch this campaign? Its members are chosen now, once." {
                            (csrf_field(&staff))
                            input type="hidden" name="idempotency_key" value=(new_launch_key());
                            button type="submit" { "Launch" }
                        }
                    }
                    @if status == "running" {
                        (move_button(&staff, &view.id, "pause", "Pause", "secondary"))
                    }
                    @if status == "paused" {
                        (move_button(&staff, &view.id, "resume", "Resume", "secondary"))
                    }
                    @if status != "stopped" && status != "ended" {
                        (move_button(&staff, &view.id, "stop", "Stop for good", "danger"))
                    }
                    @if view.launched_at.is_some() {
                        a href={ "/console/campaigns/" (view.id) "/contacts" } { "Contact list" }
                    }
                }
            }
            @if let Some(l) = &launch {
                section class="card" {
                    h2 { "Launch" }
                    (facts(&[
                        ("Launched at", short_time(&l.launched_at)),
                        ("Audience size", grouped(l.audience_size)),
                        ("Treatment", grouped(l.treatment)),
                        ("Holdout", grouped(l.holdout)),
                        ("Audience version", l.audience_version.to_string()),
                        ("Offer model", l.model_version.clone()),
                    ]))
                }
            }
            (report_section(&report))
        },
    ))
}

fn move_button(staff: &Staff, id: &str, movement: &str, label: &str, class: &str) -> Markup {
    html! {
        form class="inline" method="post" action={ "/console/campaigns/" (id) "/" (movement) } {
            (csrf_field(staff))
            button type="submit" class=(class) { (label) }
        }
    }
}

fn report_section(r: &CampaignReport) -> Markup {
    let rate = |a: &report::ArmReport| a.conversion_rate.unwrap_or(0.0);
    html! {
        section class="card" {
            h2 { "Report" }
            table {
                thead { tr { th scope="col" { "Arm" } th scope="col" class="num" { "Customers" } th scope="col" class="num" { "Reached" } th scope="col" class="num" { "Conversions" } th scope="col" class="num" { "Conversion rate" } } }
                tbody {
                    @for (name, arm) in [("Treatment", &r.treatment), ("Holdout", &r.holdout)] {
                        tr {
                            th scope="row" { (name) }
                            td class="num" { (grouped(arm.customers)) }
                            td class="num" { (grouped(arm.reached)) }
                            td class="num" { (grouped(arm.conversions)) }
                            td class="num" { (arm.conversion_rate.map_or("–".into(), |c| pct(c, 2))) }
                        }
                    }
                }
            }
            @if let Some(u) = &r.uplift {
                p {
                    "Uplift: " strong { (format!("{:+.2} points", u.absolute * 100.0)) }
                    " (" (format!("{:.0}%", u.confidence * 100.0)) " interval " (format!("{:+.2}", u.ci_low * 100.0)) " to " (format!("{:+.2}", u.ci_high * 100.0)) " points; p = " (format!("{:.3}", u.p_value)) "; " (u.method) ")."
                }
                div class="grid2" {
                    (charts::bar_chart(
                        "Conversion rate by arm, with the uplift's 95% interval on the treatment bar",
                        "conversion rate",
                        charts::percent,
                        &[
                            Bar { label: "Holdout".into(), value: rate(&r.holdout), interval: None },
                            Bar { label: "Treatment".into(), value: rate(&r.treatment), interval: Some((rate(&r.holdout) + u.ci_low, rate(&r.holdout) + u.ci_high)) },
                        ],
                    ))
                    @if !r.qini.is_empty() {
                        (charts::line_chart(&LineChart {
                            label: "Qini curve: incremental conversions against the share of members targeted, best scores first",
                            x_label: "share of members targeted",
                            y_label: "incremental conversions",
                            x_fmt: charts::percent,
                            y_fmt: charts::plain,
                            series: vec![
                                Series { name: "offer model ranking".into(), points: r.qini.iter().map(|q| (q.targeted_fraction, q.incremental_conversions)).collect(), dashed: false },
                                Series { name: "random targeting".into(), points: r.qini.iter().map(|q| (q.targeted_fraction, q.random_incremental)).collect(), dashed: true },
                            ],
                            bands: vec![],
                            y_zero: true,
                        }))
                    }
                }
                @if let Some(q) = r.qini_coefficient { p { "Qini coefficient: " (format!("{q:.4}")) } }
                @if !r.conversions_by_day.is_empty() {
                    (charts::line_chart(&LineChart {
                        label: "Cumulative conversion rate of each arm by day since the launch",
                        x_label: "days since the launch",
                        y_label: "members converted",
                        x_fmt: charts::plain,
                        y_fmt: charts::percent,
                        series: vec![
                            Series { name: "treatment".into(), points: r.conversions_by_day.iter().map(|d| (f64::from(d.day), d.treatment_rate)).collect(), dashed: false },
                            Series { name: "holdout".into(), points: r.conversions_by_day.iter().map(|d| (f64::from(d.day), d.holdout_rate)).collect(), dashed: true },
                        ],
                        bands: vec![],
                        y_zero: true,
                    }))
                }
            } @else {
                (notice("Uplift appears once both arms have members (after the launch)."))
            }
        }
    }
}

#[derive(Deserialize)]
struct LaunchForm {
    idempotency_key: String,
}

async fn launch_campaign(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(staff, form): CsrfForm<LaunchForm>,
) -> Result<Response, Failure> {
    staff.require(MARKETERS)?;
    let key = IdempotencyKey::parse(&form.idempotency_key).map_err(|_| {
        ServiceError::invalid(
            "idempotency_key",
            "invalid_idempotency_key",
            "1 to 255 printable characters",
        )
    })?;
    let keyed = keyed(&staff.caller(), key, launch::launch_request(&id));
    launch::launch(&state.ctx, &keyed, &staff.actor(), &id).await?;
    Ok(Redirect::to(&format!("/console/campaigns/{id}")).into_response())
}

async fn move_campaign(
    State(state): State<AppState>,
    Path((id, movement)): Path<(String, String)>,
    CsrfForm(staff, NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, Failure> {
    staff.require(MARKETERS)?;
    let movement = match movement.as_str() {
        "pause" => Move::Pause,
        "resume" => Move::Resume,
        "stop" => Move::Stop,
        _ => return Err(Failure::App(crate::error::AppError::NotFound)),
    };
    campaigns::apply(&state.ctx, &id, movement, &staff.actor(), Utc::now()).await?;
    Ok(Redirect::to(&format!("/console/campaigns/{id}")).into_response())
}

#[derive(Deserialize)]
struct ContactsQuery {
    after: Option<String>,
}

async fn contacts_page(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(q): Query<ContactsQuery>,
) -> Rendered {
    staff.require(MARKETERS)?;
    let list = delivery::contacts(
        &state.ctx,
        &id,
        q.after.as_deref(),
        Some(CONTACTS_PAGE),
        Utc::now(),
    )
    .await?;
    staff
        .record_read(
            &state,
            "campaign.contacts.read",
            &id,
            "/console/campaigns/{id}/contacts",
        )
        .await?;
    Ok(layout::page(
        &staff,
        "campaigns",
        "Contact list",
        html! {
            p { a href={ "/console/campaigns/" (id) } { "← Campaign" } }
            p { "Customers to contact on " strong { (list.channel) } " now, best score first. Customers who withdrew consent since the launch are left out (" (grouped(list.withdrawn)) " so far)." }
            @if list.contacts.is_empty() { (notice("Nobody to contact now (a paused, stopped or not yet started campaign lists nobody).")) } @else {
                table {
                    thead { tr { th scope="col" { "Customer" } th scope="col" class="num" { "Score" } } }
                    tbody { @for c in &list.contacts { tr { td { (c.customer_id) } td class="num" { (format!("{:.4}", c.score)) } } } }
                }
            }
            @if let Some(next) = &list.next {
                p { a href={ "?after=" (next) } rel="next" { "Next " (CONTACTS_PAGE) } }
            }
        },
    ))
}
