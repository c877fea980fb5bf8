//! Compliance's monitoring rules: every version with its mode and hits (a chart of the hits
//! per version), a form to write a new version (refusals name the line and column, and the
//! form keeps what was typed), a mode change per version, and a backtest over the stored
//! history with precision and recall. The same use cases as `/v1/monitoring/rules`; every
//! read is recorded.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup};
use serde::Deserialize;
use sextant_services::idempotency::{request_hash, IdempotencyKey};
use sextant_services::monitoring::rules::{
    self, BacktestRequest, BacktestView, ModeChange, MonitoringRulesView, RuleDraft,
    DEFAULT_COOLDOWN_MINUTES, DEFAULT_SEVERITY, DESCRIPTION_MAX,
};
use sextant_services::{ItemProblem, ServiceError};

use super::charts::{self, Bar};
use super::layout::{self, grouped, notice, pct};
use super::session::{csrf_field, CsrfForm, Failure, Rendered, Staff};
use crate::auth::Role;
use crate::routes::keyed;
use crate::AppState;

const ANALYSTS: &[Role] = &[Role::Compliance, Role::Admin];

const EXAMPLE: &str = "count(payments, 1h) > 10 and sum(amount, 24h, direction = out) > 5000";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/rules", get(rules_page).post(add_version))
        .route("/console/rules/mode", post(set_mode))
        .route("/console/rules/backtest", post(backtest))
}

/// What the new-version form holds, kept when it is refused.
#[derive(Deserialize, Default, Clone)]
struct VersionForm {
    rule_id: String,
    /// A new key per page shown: a form sent twice (a double click, a resubmitted page)
    /// makes one version.
    #[serde(default)]
    idempotency_key: String,
    source: String,
    description: String,
    mode: String,
    severity: String,
    cooldown_minutes: String,
}

#[derive(Deserialize)]
struct ModeForm {
    rule_id: String,
    version: u32,
    mode: String,
}

#[derive(Deserialize, Default, Clone)]
struct BacktestForm {
    source: String,
    cooldown_minutes: String,
}

/// What the page shows besides the rules.
#[derive(Default)]
struct Extras {
    form: VersionForm,
    refused: Vec<ItemProblem>,
    backtest_form: BacktestForm,
    backtest: Option<BacktestView>,
    backtest_refused: Vec<ItemProblem>,
    done: Option<String>,
}

async fn rules_page(State(state): State<AppState>, staff: Staff) -> Rendered {
    staff.require(ANALYSTS)?;
    render(&state, &staff, Extras::default()).await
}

async fn render(state: &AppState, staff: &Staff, extras: Extras) -> Rendered {
    let list = rules::rules(state.ctx.store.as_ref()).await?;
    staff
        .record_read(
            state,
            "monitoring.read",
            "monitoring_rules",
            "/console/rules",
        )
        .await?;
    Ok(layout::page(
        staff,
        "rules",
        "Monitoring rules",
        body(staff, &list, &extras),
    ))
}

fn problems(title: &str, problems: &[ItemProblem]) -> Markup {
    html! {
        div role="alert" {
            p class="error" { (title) }
            ul class="problems" {
                @for p in problems {
                    // A rule error's message already starts with its line and column.
                    li { (p.field.as_deref().unwrap_or("")) ": " (p.message) }
                }
            }
        }
    }
}

fn body(staff: &Staff, list: &MonitoringRulesView, x: &Extras) -> Markup {
    let bars: Vec<Bar> = list
        .rules
        .iter()
        .filter(|r| r.mode != "retired")
        .map(|r| Bar {
            label: format!("{} v{} ({})", r.rule_id, r.version, r.mode),
            value: r.hits as f64,
            interval: None,
        })
        .collect();
    let form = &x.form;
    let mode = if form.mode.is_empty() {
        "shadow"
    } else {
        form.mode.as_str()
    };
    html! {
        p { "Rules you write here run on every payment as it is stored, beside the typology detectors. A " strong { "shadow" } " version records its hits and raises nothing: watch it, backtest it, then make it " strong { "live" } ", and its hits become alerts in the customer's case and weigh in the payment app's decisions. Making a version live retires the rule's live version." }
        @if let Some(done) = &x.done { div role="status" class="ok-box" { p { (done) } } }
        @if !bars.is_empty() {
            (charts::bar_chart("Hits on stored payments per rule version in force", "hits", charts::plain, &bars))
        }
        @if list.rules.is_empty() { (notice("No rule yet: write the first one below.")) } @else {
            table {
                thead { tr {
                    th scope="col" { "Rule" } th scope="col" class="num" { "Version" } th scope="col" { "Mode" }
                    th scope="col" class="num" { "Severity" } th scope="col" class="num" { "Cooldown (min)" }
                    th scope="col" class="num" { "Hits" } th scope="col" class="num" { "Customers" }
                    th scope="col" { "Rule text" } th scope="col" { "Written by" } th scope="col" { "Change" }
                } }
                tbody { @for r in &list.rules { tr {
                    td { (r.rule_id) br; small { (r.description) } }
                    td class="num" { (r.version) }
                    td { span class={ "badge " (match r.mode.as_str() { "live" => "high", "shadow" => "medium", _ => "low" }) } { (r.mode) } }
                    td class="num" { (format!("{:.2}", r.severity)) }
                    td class="num" { (r.cooldown_minutes) }
                    td class="num" { (grouped(r.hits)) }
                    td class="num" { (grouped(r.customers_hit)) }
                    td { code { (r.canonical) } }
                    td { (r.author) br; small { (r.changed_at.get(..16).unwrap_or(&r.changed_at).replace('T', " ")) } }
                    td {
                        @if r.mode != "retired" {
                            form method="post" action="/console/rules/mode" class="actions" aria-label={ "Change the mode of " (r.rule_id) " v" (r.version) } {
                                (csrf_field(staff))
                                input type="hidden" name="rule_id" value=(r.rule_id);
                                input type="hidden" name="version" value=(r.version);
                                select name="mode" aria-label="Mode" {
                                    @for m in ["shadow", "live", "retired"] { option value=(m) selected[m == r.mode] { (m) } }
                                }
                                button type="submit" { "Set" }
                            }
                        }
                    }
                } } }
            }
        }
        section class="card" {
            h2 { "Write a rule version" }
            p { "A payment's fields: " code { "amount" } " (in its currency's units), " code { "direction" } " (in, out), " code { "kind" } ", " code { "status" } ", " code { "channel" } ", " code { "country" } ", " code { "currency" } ", " code { "merchant" } ", " code { "mcc" } ", " code { "card" } ", " code { "counterparty" } ", " code { "device" } ". Aggregates over the customer's payments: " code { "count(payments, 1h)" } ", " code { "sum(amount, 24h, direction = out)" } ", " code { "avg" } ", " code { "min" } ", " code { "max" } ", " code { "distinct(country, 7d)" } ", over 1m to 30d, with an optional filter." }
            @if !x.refused.is_empty() { (problems("The rule was not saved:", &x.refused)) }
            form method="post" action="/console/rules" class="stack" {
                (csrf_field(staff))
                input type="hidden" name="idempotency_key" value=(sextant_services::new_id("console-rule"));
                label for="r-id" { "Rule name (a new name makes a new rule, an existing one a new version)" }
                input id="r-id" name="rule_id" value=(form.rule_id) required maxlength="64" pattern="[a-z0-9_\\-]{1,64}";
                label for="r-source" { "Rule" }
                textarea id="r-source" name="source" rows="3" required placeholder=(EXAMPLE) { (form.source) }
                label for="r-description" { "What it looks for, in words (every alert says this)" }
                input id="r-description" name="description" value=(form.description) required maxlength=(DESCRIPTION_MAX);
                div class="actions" {
                    label for="r-mode" { "Mode" }
                    select id="r-mode" name="mode" { @for m in ["shadow", "live"] { option value=(m) selected[m == mode] { (m) } } }
                    label for="r-severity" { "Severity (0 to 1)" }
                    input id="r-severity" name="severity" type="number" min="0" max="1" step="0.05"
                        value=(if form.severity.is_empty() { DEFAULT_SEVERITY.to_string() } else { form.severity.clone() });
                    label for="r-cooldown" { "Cooldown (minutes)" }
                    input id="r-cooldown" name="cooldown_minutes" type="number" min="0" max="43200"
                        value=(if form.cooldown_minutes.is_empty() { DEFAULT_COOLDOWN_MINUTES.to_string() } else { form.cooldown_minutes.clone() });
                }
                div { button type="submit" { "Save the version" } }
            }
        }
        section class="card" {
            h2 { "Backtest a rule" }
            p { "Replays every stored payment through the rule, as monitoring would have run it, and counts the alerts it would have raised. Precision and recall are measured against closed cases: fraud and laundering reported are positives, false positives negatives." }
            @if !x.backtest_refused.is_empty() { (problems("The backtest did not run:", &x.backtest_refused)) }
            form method="post" action="/console/rules/backtest" class="stack" {
                (csrf_field(staff))
                label for="b-source" { "Rule" }
                textarea id="b-source" name="source" rows="3" required placeholder=(EXAMPLE) { (x.backtest_form.source) }
                label for="b-cooldown" { "Cooldown (minutes)" }
                input id="b-cooldown" name="cooldown_minutes" type="number" min="0" max="43200"
                    value=(if x.backtest_form.cooldown_minutes.is_empty() { DEFAULT_COOLDOWN_MINUTES.to_string() } else { x.backtest_form.cooldown_minutes.clone() });
                div { button type="submit" { "Run the backtest" } }
            }
            @if let Some(b) = &x.backtest { (backtest_view(b)) }
        }
    }
}

fn backtest_view(b: &BacktestView) -> Markup {
    let share = |x: Option<f64>| x.map_or("no labels".to_owned(), |x| pct(x, 1));
    html! {
        div role="status" class="backtest" {
            h3 { "Backtest of " code { (b.rule) } }
            (layout::facts(&[
                ("Customers replayed", if b.complete {
                    grouped(b.customers)
                } else {
                    format!("the first {} (sextant monitoring backtest replays everyone)", grouped(b.customers))
                }),
                ("Payments", format!("{} over {:.0} days", grouped(b.payments), b.days)),
                ("Alerts it would have raised", grouped(b.alerts)),
                ("Customers alerted", grouped(b.customers_alerted)),
                ("Alerts per 1,000 customers a day", format!("{:.3}", b.alerts_per_1000_customers_per_day)),
                ("Labelled customers", format!("{} positive, {} negative (from {})", b.labelled_positive, b.labelled_negative, b.labels)),
                ("Precision", share(b.precision)),
                ("Recall", share(b.recall)),
            ]))
            @if !b.examples.is_empty() {
                table {
                    thead { tr { th scope="col" { "Customer" } th scope="col" { "Payment" } th scope="col" { "When" } th scope="col" { "Why" } } }
                    tbody { @for e in &b.examples { tr {
                        td { (e.customer_id) } td { code { (e.event_id) } }
                        td { (e.occurred_at.replace('T', " ")) } td { (e.reason) }
                    } } }
                }
            }
        }
    }
}

/// A form number, or the refusal naming the field.
fn number<T: std::str::FromStr>(field: &str, text: &str, default: T) -> Result<T, ItemProblem> {
    if text.trim().is_empty() {
        return Ok(default);
    }
    text.trim()
        .parse()
        .map_err(|_| ItemProblem::field(field, "invalid_number", "a number"))
}

async fn add_version(
    State(state): State<AppState>,
    CsrfForm(staff, form): CsrfForm<VersionForm>,
) -> Result<Response, Failure> {
    staff.require(ANALYSTS)?;
    let parsed = (
        number("severity", &form.severity, DEFAULT_SEVERITY),
        number(
            "cooldown_minutes",
            &form.cooldown_minutes,
            DEFAULT_COOLDOWN_MINUTES,
        ),
    );
    let saved = match parsed {
        (Ok(severity), Ok(cooldown_minutes)) => {
            let draft = RuleDraft {
                source: form.source.clone(),
                description: form.description.clone(),
                mode: form.mode.clone(),
                severity,
                cooldown_minutes,
            };
            let keyed = match form.idempotency_key.as_str() {
                "" => None,
                raw => IdempotencyKey::parse(raw).ok().map(|key| {
                    let asked =
                        serde_json::json!({"rule_id": form.rule_id.trim(), "draft": &draft});
                    keyed(
                        &staff.caller(),
                        key,
                        request_hash(
                            &format!("monitoring_rule_version:{}", form.rule_id.trim()),
                            asked.to_string().as_bytes(),
                        ),
                    )
                }),
            };
            rules::add_version(
                &state.ctx,
                keyed.as_ref(),
                form.rule_id.trim(),
                &draft,
                &staff.actor(),
            )
            .await
        }
        (a, b) => Err(ServiceError::Invalid(
            [a.err(), b.err()].into_iter().flatten().collect(),
        )),
    };
    match saved {
        Ok(view) => {
            let extras = Extras {
                done: Some(format!(
                    "Saved {} version {} ({}): it runs on the next payment.",
                    view.rule_id, view.version, view.mode
                )),
                ..Extras::default()
            };
            Ok(render(&state, &staff, extras).await?.into_response())
        }
        Err(ServiceError::Invalid(refused)) => {
            let extras = Extras {
                form,
                refused,
                ..Extras::default()
            };
            let page = render(&state, &staff, extras).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(other) => Err(other.into()),
    }
}

async fn set_mode(
    State(state): State<AppState>,
    CsrfForm(staff, form): CsrfForm<ModeForm>,
) -> Result<Response, Failure> {
    staff.require(ANALYSTS)?;
    let change = ModeChange { mode: form.mode };
    rules::set_mode(
        &state.ctx,
        &form.rule_id,
        form.version,
        &change,
        &staff.actor(),
    )
    .await?;
    // Back to the list (a reload does not post again).
    Ok(Redirect::to("/console/rules").into_response())
}

async fn backtest(
    State(state): State<AppState>,
    CsrfForm(staff, form): CsrfForm<BacktestForm>,
) -> Result<Response, Failure> {
    staff.require(ANALYSTS)?;
    let ran = match number(
        "cooldown_minutes",
        &form.cooldown_minutes,
        DEFAULT_COOLDOWN_MINUTES,
    ) {
        Ok(cooldown_minutes) => {
            let request = BacktestRequest {
                source: form.source.clone(),
                cooldown_minutes,
                from: None,
                to: None,
                // As over HTTP: the answer comes within the request's deadline.
                customers: Some(rules::HTTP_BACKTEST_CUSTOMERS),
            };
            rules::backtest(
                state.ctx.store.as_ref(),
                &request,
                None,
                &staff.actor(),
                |_| {},
            )
            .await
        }
        Err(problem) => Err(ServiceError::Invalid(vec![problem])),
    };
    let (status, extras) = match ran {
        Ok(report) => (
            StatusCode::OK,
            Extras {
                backtest_form: form,
                backtest: Some(report),
                ..Extras::default()
            },
        ),
        Err(ServiceError::Invalid(refused)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Extras {
                backtest_form: form,
                backtest_refused: refused,
                ..Extras::default()
            },
        ),
        Err(other) => return Err(other.into()),
    };
    Ok((status, render(&state, &staff, extras).await?).into_response())
}
