//! Risk and compliance pages: credit decisions searchable by customer, date and outcome,
//! each with every rule, its reasons, the model and policy versions and a replay; the
//! fairness report by age band; the model registry with its activation history; the audit
//! trail. Every read of customer data or of the trail is itself recorded.

use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::Router;
use chrono::{NaiveDate, TimeZone, Utc};
use maud::html;
use serde::Deserialize;
use sextant_domain::CustomerId;
use sextant_services::lending::{decisions, fairness, operations};
use sextant_store::{AuditFilter, DecisionFilter};

use super::charts::{self, Bar};
use super::layout::{
    self, carry, facts, grouped, notice, pager, pct, sort_header, Paging, PAGE_ROWS,
};
use super::session::{csrf_field, CsrfForm, Failure, NoFields, Rendered, Staff};
use crate::auth::Role;
use crate::AppState;

const OFFICERS: &[Role] = &[Role::Compliance, Role::Admin];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/decisions", get(decisions_page))
        .route("/console/decisions/{id}", get(decision_page))
        .route("/console/decisions/{id}/replay", post(replay))
        .route("/console/fairness", get(fairness_page))
        .route("/console/models", get(models_page))
        .route("/console/audit", get(audit_page))
}

#[derive(Deserialize, Default)]
struct DecisionQuery {
    customer: Option<String>,
    outcome: Option<String>,
    kind: Option<String>,
    from: Option<String>,
    to: Option<String>,
    // Paging's fields, here rather than flattened: serde's flatten reads numbers in a
    // query string as text and refuses them.
    #[serde(default)]
    page: u64,
    sort: Option<String>,
    dir: Option<String>,
}

fn day(raw: Option<&str>, field: &str) -> Result<Option<chrono::DateTime<Utc>>, Failure> {
    match raw.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(|d| Some(Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight"))))
            .map_err(|_| {
                sextant_services::ServiceError::invalid(field, "invalid_date", "a date, YYYY-MM-DD")
                    .into()
            }),
    }
}

fn filter_of(q: &DecisionQuery) -> Result<DecisionFilter, Failure> {
    let customer = match q
        .customer
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(c) => Some(CustomerId::parse(c).map_err(|e| {
            sextant_services::ServiceError::invalid("customer", e.code, e.to_string())
        })?),
    };
    let choice = |v: &Option<String>, allowed: &[&str]| {
        v.as_deref()
            .filter(|v| allowed.contains(v))
            .map(str::to_owned)
    };
    Ok(DecisionFilter {
        customer,
        outcome: choice(&q.outcome, &["approved", "declined"]),
        kind: choice(&q.kind, &["instalment_quote", "loan_application"]),
        from: day(q.from.as_deref(), "from")?,
        // Up to and including the `to` day.
        to: day(q.to.as_deref(), "to")?.map(|d| d + chrono::Duration::days(1)),
        oldest_first: false,
    })
}

async fn decisions_page(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<DecisionQuery>,
) -> Rendered {
    staff.require(OFFICERS)?;
    let mut filter = filter_of(&q)?;
    let paging = Paging {
        page: q.page,
        sort: q.sort.clone(),
        dir: q.dir.clone(),
    };
    // One sortable column: the time of the decision.
    let sort = paging.sort_of(&["created_at"]);
    filter.oldest_first = !paging.descending();
    let (rows, total) = state
        .ctx
        .store
        .search_credit_decisions(&filter, paging.offset(), PAGE_ROWS)
        .await?;
    staff
        .record_read(
            &state,
            "credit_decision.search",
            filter.customer.as_ref().map_or("all", |c| c.as_str()),
            "/console/decisions",
        )
        .await?;
    let kept = carry(&[
        ("customer", q.customer.as_deref()),
        ("outcome", q.outcome.as_deref()),
        ("kind", q.kind.as_deref()),
        ("from", q.from.as_deref()),
        ("to", q.to.as_deref()),
    ]);
    Ok(layout::page(
        &staff,
        "decisions",
        "Credit decisions",
        html! {
            form method="get" class="actions" aria-label="Search decisions" {
                label for="f-customer" { "Customer" }
                input id="f-customer" name="customer" value=(q.customer.as_deref().unwrap_or("")) maxlength="64";
                label for="f-outcome" { "Outcome" }
                select id="f-outcome" name="outcome" {
                    @for o in ["", "approved", "declined"] { option value=(o) selected[q.outcome.as_deref() == Some(o)] { (if o.is_empty() { "any" } else { o }) } }
                }
                label for="f-kind" { "Kind" }
                select id="f-kind" name="kind" {
                    @for k in ["", "instalment_quote", "loan_application"] { option value=(k) selected[q.kind.as_deref() == Some(k)] { (if k.is_empty() { "any" } else { k }) } }
                }
                label for="f-from" { "From" }
                input id="f-from" name="from" type="date" value=(q.from.as_deref().unwrap_or(""));
                label for="f-to" { "To" }
                input id="f-to" name="to" type="date" value=(q.to.as_deref().unwrap_or(""));
                button type="submit" { "Search" }
            }
            table {
                thead { tr {
                    (sort_header("Decided", "created_at", &paging, sort, &kept))
                    th scope="col" { "Decision" } th scope="col" { "Customer" } th scope="col" { "Kind" } th scope="col" { "Outcome" } th scope="col" { "Model" } th scope="col" { "Policy" }
                } }
                tbody {
                    @for d in &rows {
                        tr {
                            td { (d.created_at.format("%Y-%m-%d %H:%M")) }
                            td { a href={ "/console/decisions/" (d.id) } { (d.id) } }
                            td { (d.customer_id) } td { (d.kind) }
                            td { span class=(if d.outcome == "approved" { "good" } else { "bad" }) { (d.outcome) } }
                            td { code { (d.model_version.get(..12).unwrap_or(&d.model_version)) } }
                            td { (d.policy_version) }
                        }
                    }
                }
            }
            (pager(&paging, total, &kept))
        },
    ))
}

async fn decision_page(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Rendered {
    staff.require(OFFICERS)?;
    render_decision(&state, &staff, &id, None).await
}

async fn render_decision(
    state: &AppState,
    staff: &Staff,
    id: &str,
    replayed: Option<operations::Replay>,
) -> Rendered {
    let d = decisions::decision(&state.ctx, id, |_| true).await?;
    staff
        .record_read(
            state,
            "customer.read",
            &d.customer_id,
            "/console/decisions/{id}",
        )
        .await?;
    let title = format!("Decision {}", d.decision_id);
    Ok(layout::page(
        staff,
        "decisions",
        &title,
        html! {
            p { a href="/console/decisions" { "← Decisions" } }
            section class="card" {
                (facts(&[
                    ("Customer", d.customer_id.clone()),
                    ("Kind", d.kind.clone()),
                    ("Outcome", d.outcome.clone()),
                    ("Decided", d.created_at.clone()),
                    ("Model version", d.model_version.clone()),
                    ("Policy version", d.policy_version.clone()),
                    ("Risk band", d.band.clone().unwrap_or_else(|| "–".into())),
                    ("Probability of default", pct(d.probability_of_default, 2)),
                    ("Credit limit", layout::money(d.credit_limit_minor, "EUR")),
                ]))
                form method="post" action={ "/console/decisions/" (d.decision_id) "/replay" } {
                    (csrf_field(staff))
                    button type="submit" { "Replay this decision" }
                }
                @if let Some(r) = &replayed {
                    div role="status" class=(if r.identical { "ok-box" } else { "error" }) {
                        @if r.identical {
                            p { "Replayed with model " code { (r.model_version) } " and policy " (r.policy_version) ": " strong { (r.replayed_outcome) } ", identical to the recorded decision." }
                        } @else {
                            p { "Replayed outcome " strong { (r.replayed_outcome) } " differs from the recorded " (r.recorded_outcome) ":" }
                            ul { @for diff in &r.differences { li { (diff) } } }
                        }
                    }
                }
            }
            section class="card" {
                h2 { "Rules" }
                table {
                    thead { tr { th scope="col" { "Rule" } th scope="col" { "Passed" } th scope="col" class="num" { "Observed" } th scope="col" class="num" { "Limit" } th scope="col" { "What it checks" } } }
                    tbody { @for r in &d.rules { tr {
                        td { code { (r.code) } }
                        td { @if r.passed { span class="good" { "yes" } } @else { span class="bad" { "no" } } }
                        td class="num" { (format!("{:.3}", r.observed)) } td class="num" { (format!("{:.3}", r.limit)) }
                        td { (r.text) }
                    } } }
                }
                h2 { "Reasons given" }
                @if d.reasons.is_empty() { (notice("No adverse-action reason: the request was approved.")) } @else {
                    ol { @for r in &d.reasons { li { (r.text) " (" code { (r.code) } ", " (r.source) @if let Some(f) = &r.feature { ", feature " code { (f) } } ")" } } }
                }
            }
        },
    ))
}

async fn replay(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(staff, NoFields {}): CsrfForm<NoFields>,
) -> Rendered {
    staff.require(OFFICERS)?;
    let replayed = operations::replay(state.ctx.store.as_ref(), &id).await?;
    staff
        .record_read(
            &state,
            "credit_decision.replay",
            &id,
            "/console/decisions/{id}/replay",
        )
        .await?;
    render_decision(&state, &staff, &id, Some(replayed)).await
}

async fn fairness_page(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<DecisionQuery>,
) -> Rendered {
    staff.require(OFFICERS)?;
    let filter = filter_of(&q)?;
    let report = fairness::by_age_band(state.ctx.store.as_ref(), &filter).await?;
    staff
        .record_read(
            &state,
            "credit_decision.fairness",
            "all",
            "/console/fairness",
        )
        .await?;
    let bars: Vec<Bar> = report
        .by_age
        .iter()
        .filter_map(|b| {
            b.approval_rate.map(|r| Bar {
                label: b.band.into(),
                value: r,
                interval: None,
            })
        })
        .collect();
    Ok(layout::page(
        &staff,
        "fairness",
        "Fairness of credit decisions",
        html! {
            p { "Approval rate by age band over " (grouped(report.decisions)) " decisions on record"
                @if report.without_age > 0 { " (" (grouped(report.without_age)) " of them recorded no age)" } ". Age is never a model input; each decision records the applicant's age only to group outcomes. A band whose approval rate is under " (pct(fairness::FOUR_FIFTHS, 0)) " of the best band's is flagged (the four-fifths rule), when it has at least " (fairness::MIN_FLAG_DECISIONS) " decisions." }
            p class="notice" { "By sex: Sextant does not collect sex at registration, so this report cannot group by it. Run " code { "sextant credit fairness --data FILE --sex COLUMN" } " on a data set that has it." }
            (charts::bar_chart("Approval rate by age band", "approval rate", charts::percent, &bars))
            table {
                thead { tr { th scope="col" { "Age band" } th scope="col" class="num" { "Decisions" } th scope="col" class="num" { "Approved" } th scope="col" class="num" { "Approval rate" } th scope="col" class="num" { "Disparate impact" } th scope="col" { "Flag" } } }
                tbody { @for b in &report.by_age { tr {
                    th scope="row" { (b.band) }
                    td class="num" { (grouped(b.decisions)) } td class="num" { (grouped(b.approved)) }
                    td class="num" { (b.approval_rate.map_or("–".into(), |r| pct(r, 1))) }
                    td class="num" { (b.disparate_impact.map_or("–".into(), |r| format!("{r:.2}"))) }
                    td { @if b.flagged { span class="bad" { "below four-fifths" } } @else { "–" } }
                } } }
            }
        },
    ))
}

async fn models_page(State(state): State<AppState>, staff: Staff) -> Rendered {
    staff.require(OFFICERS)?;
    let models = state.ctx.store.model_registry().await?;
    Ok(layout::page(
        &staff,
        "models",
        "Model registry",
        html! {
            p { "Every credit, offer and monitoring model version stored, with the figures measured on held-out data when it was trained and when it was in use. A version always names the same bytes." }
            @if models.is_empty() { (notice("No model stored yet.")) }
            @for m in &models {
                section class="card" {
                    h2 { (m.family.replace('_', " ")) " " code { (m.version.get(..16).unwrap_or(&m.version)) } @if m.active { " " span class="badge low" { "active" } } }
                    (facts(&[("Trained", m.created_at.format("%Y-%m-%d %H:%M UTC").to_string()), ("By", m.actor.clone())]))
                    @if let Some(obj) = m.metrics.as_object() {
                        table {
                            caption { "Figures at training" }
                            tbody { @for (k, v) in obj.iter().filter(|(_, v)| v.is_number() || v.is_string()) {
                                tr { th scope="row" { (k) } td class="num" { (v.as_f64().map_or_else(|| v.as_str().unwrap_or("").to_owned(), |f| format!("{f:.4}"))) } }
                            } }
                        }
                    }
                    p { "Activations: "
                        @if m.activations.is_empty() { "never" }
                        @for (i, (at, by)) in m.activations.iter().enumerate() { @if i > 0 { "; " } (at.format("%Y-%m-%d %H:%M")) " by " (by) }
                    }
                }
            }
        },
    ))
}

#[derive(Deserialize, Default)]
struct AuditQuery {
    actor: Option<String>,
    action: Option<String>,
    object: Option<String>,
    /// Entries after this sequence number (the next page).
    after: Option<i64>,
}

async fn audit_page(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<AuditQuery>,
) -> Rendered {
    staff.require(OFFICERS)?;
    let clean = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let filter = AuditFilter {
        actor: clean(&q.actor),
        action: clean(&q.action),
        object: clean(&q.object),
        from_ms: None,
        to_ms: None,
    };
    let after = q.after.unwrap_or(0).max(0);
    let entries = state
        .ctx
        .store
        .audit_entries(&filter, after, PAGE_ROWS)
        .await?;
    staff
        .record_read(&state, "audit.read", "audit_trail", "/console/audit")
        .await?;
    let kept = carry(&[
        ("actor", q.actor.as_deref()),
        ("action", q.action.as_deref()),
        ("object", q.object.as_deref()),
    ]);
    Ok(layout::page(
        &staff,
        "audit",
        "Audit trail",
        html! {
            p { "Every change and every staff read, oldest first, each chained to the one before by SHA-256 (" code { "sextant audit verify" } " checks the chain and the signed checkpoints)." }
            form method="get" class="actions" aria-label="Filter the trail" {
                label for="a-actor" { "Actor" } input id="a-actor" name="actor" value=(q.actor.as_deref().unwrap_or(""));
                label for="a-action" { "Action" } input id="a-action" name="action" value=(q.action.as_deref().unwrap_or("")) placeholder="campaign.launch";
                label for="a-object" { "Object" } input id="a-object" name="object" value=(q.object.as_deref().unwrap_or(""));
                button type="submit" { "Filter" }
            }
            table {
                thead { tr { th scope="col" class="num" { "Seq" } th scope="col" { "When (UTC)" } th scope="col" { "Actor" } th scope="col" { "Role" } th scope="col" { "Action" } th scope="col" { "Object" } th scope="col" { "Outcome" } th scope="col" { "Request" } } }
                tbody { @for e in &entries { tr {
                    td class="num" { (e.seq) }
                    td { (Utc.timestamp_millis_opt(e.at_ms).single().map_or(String::new(), |t| t.format("%Y-%m-%d %H:%M:%S").to_string())) }
                    td { (e.entry.actor) } td { (e.entry.role) } td { code { (e.entry.action) } } td { (e.entry.object) }
                    td { (e.entry.outcome) } td { code { (e.entry.request_id) } }
                } } }
            }
            @if entries.len() as u64 == PAGE_ROWS {
                @if let Some(last) = entries.last() {
                    p { a href={ "?after=" (last.seq) (kept) } rel="next" { "Next " (PAGE_ROWS) " entries" } }
                }
            }
        },
    ))
}
