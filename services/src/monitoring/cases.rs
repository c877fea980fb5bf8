//! The cases compliance works: each customer's alerts grouped into one open case, assigned
//! to an analyst, commented, and closed with a disposition that becomes a label for the
//! model and the rule backtests. Customers never see them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sextant_domain::CustomerId;
use sextant_store::{Actor, CaseChange, CaseFilter, StoredAlert, StoredCase};
use utoipa::{IntoParams, ToSchema};

use crate::records::format_timestamp;
use crate::{Context, Result, ServiceError};

/// How a case may be closed.
pub const DISPOSITIONS: [&str; 3] = ["fraud", "laundering_reported", "false_positive"];

/// Furthest a listing pages (narrow the filter to reach further).
pub const OFFSET_MAX: u64 = 1_000_000;

/// Longest comment or closing note, in characters.
pub const NOTE_MAX: usize = 4_000;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CaseView {
    pub case_id: String,
    pub customer_id: String,
    /// open or closed.
    pub status: String,
    /// The analyst's staff username.
    pub assignee: Option<String>,
    /// fraud, laundering_reported or false_positive, once closed.
    pub disposition: Option<String>,
    pub opened_at: String,
    pub updated_at: String,
    pub closed_at: Option<String>,
    pub alerts: u64,
    /// The strongest alert's score, 0..=1.
    pub max_score: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AlertView {
    pub alert_id: String,
    /// The typology that raised it.
    pub source: String,
    pub score: f64,
    pub reason: String,
    /// The ingested payment it was raised on.
    pub event_id: Option<String>,
    /// The payment assessment it was raised on.
    pub assessment_id: Option<String>,
    /// When the payment was made.
    pub occurred_at: String,
    pub raised_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NoteView {
    pub at: String,
    /// role:id of who wrote it.
    pub actor: String,
    /// assigned, comment or closed.
    pub kind: String,
    pub text: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CaseDetail {
    pub case: CaseView,
    /// Oldest first.
    pub alerts: Vec<AlertView>,
    /// Oldest first.
    pub notes: Vec<NoteView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CaseList {
    /// The most recently updated first.
    pub cases: Vec<CaseView>,
    /// How many match in all.
    pub total: u64,
}

/// A listing's filter and page.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CaseQuery {
    #[param(schema_with = crate::schema::case_status)]
    pub status: Option<String>,
    /// A staff username.
    #[param(pattern = "^[a-z0-9][a-z0-9._-]{0,63}$")]
    pub assignee: Option<String>,
    #[param(pattern = "^[A-Za-z0-9._:-]{1,64}$")]
    pub customer_id: Option<String>,
    /// 0 to 1,000,000.
    #[param(minimum = 0, maximum = 1_000_000)]
    pub offset: Option<u64>,
    /// 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u64>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    /// A staff username, or null to unassign.
    #[schema(pattern = "^[a-z0-9][a-z0-9._-]{0,63}$")]
    pub assignee: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentRequest {
    /// 1 to 4,000 characters.
    #[schema(min_length = 1, max_length = 4000)]
    pub text: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseRequest {
    #[schema(schema_with = crate::schema::case_disposition)]
    pub disposition: String,
    /// Why: 1 to 4,000 characters.
    #[schema(min_length = 1, max_length = 4000)]
    pub note: String,
}

fn time(t: DateTime<Utc>) -> String {
    format_timestamp(t)
}

pub fn case_view(c: &StoredCase) -> CaseView {
    CaseView {
        case_id: c.id.clone(),
        customer_id: c.customer_id.to_string(),
        status: c.status.clone(),
        assignee: c.assignee.clone(),
        disposition: c.disposition.clone(),
        opened_at: time(c.opened_at),
        updated_at: time(c.updated_at),
        closed_at: c.closed_at.map(time),
        alerts: c.alerts,
        max_score: c.max_score,
    }
}

fn alert_view(a: &StoredAlert) -> AlertView {
    let a = &a.alert;
    AlertView {
        alert_id: a.id.clone(),
        source: a.source.clone(),
        score: a.score,
        reason: a.reason.clone(),
        event_id: a.event_id.clone(),
        assessment_id: a.assessment_id.clone(),
        occurred_at: time(a.occurred_at),
        raised_at: time(a.raised_at),
    }
}

fn text(field: &str, raw: &str) -> Result<String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() || trimmed.chars().count() > NOTE_MAX {
        return Err(ServiceError::invalid(
            field,
            "invalid_length",
            format!("1 to {NOTE_MAX} characters"),
        ));
    }
    if sextant_domain::find_pan_in_value(trimmed, sextant_domain::PanRule::FreeText).is_some() {
        return Err(ServiceError::invalid(
            field,
            "card_number",
            "a note must not hold a card number",
        ));
    }
    Ok(trimmed.to_owned())
}

/// A staff username in `field`.
fn username(field: &str, raw: &str) -> Result<String> {
    crate::staff::username(raw).map_err(|_| {
        ServiceError::invalid(
            field,
            "invalid_username",
            "1 to 64 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit",
        )
    })
}

/// Cases matching the query, the most recently updated first.
pub async fn list(ctx: &Context, query: &CaseQuery) -> Result<CaseList> {
    if let Some(status) = &query.status {
        if status != "open" && status != "closed" {
            return Err(ServiceError::invalid(
                "status",
                "unknown_status",
                "open or closed",
            ));
        }
    }
    let customer = query
        .customer_id
        .as_deref()
        .map(|raw| {
            CustomerId::parse(raw)
                .map_err(|e| ServiceError::invalid("customer_id", e.code, e.message))
        })
        .transpose()?;
    let assignee = query
        .assignee
        .as_deref()
        .map(|raw| username("assignee", raw))
        .transpose()?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=sextant_store::PAGE_MAX).contains(&limit) {
        return Err(ServiceError::invalid(
            "limit",
            "out_of_range",
            format!("1 to {}", sextant_store::PAGE_MAX),
        ));
    }
    let offset = query.offset.unwrap_or(0);
    if offset > OFFSET_MAX {
        return Err(ServiceError::invalid(
            "offset",
            "out_of_range",
            format!("0 to {OFFSET_MAX}"),
        ));
    }
    let filter = CaseFilter {
        status: query.status.clone(),
        assignee,
        customer,
    };
    let (cases, total) = ctx.store.cases(&filter, offset, limit).await?;
    Ok(CaseList {
        cases: cases.iter().map(case_view).collect(),
        total,
    })
}

pub async fn detail(ctx: &Context, id: &str) -> Result<CaseDetail> {
    let (case, alerts, notes) = ctx.store.case(id).await?.ok_or(ServiceError::NotFound)?;
    Ok(CaseDetail {
        case: case_view(&case),
        alerts: alerts.iter().map(alert_view).collect(),
        notes: notes
            .into_iter()
            .map(|n| NoteView {
                at: time(n.at),
                actor: n.actor,
                kind: n.kind,
                text: n.text,
            })
            .collect(),
    })
}

async fn change(ctx: &Context, id: &str, change: CaseChange, by: &Actor) -> Result<CaseDetail> {
    ctx.store
        .update_case(id, &change, by, Utc::now())
        .await
        .map_err(|e| match e {
            sextant_store::StoreError::Conflict(message) => {
                ServiceError::conflict("case_closed", "case_id", message)
            }
            other => other.into(),
        })?
        .ok_or(ServiceError::NotFound)?;
    detail(ctx, id).await
}

pub async fn assign(
    ctx: &Context,
    id: &str,
    request: &AssignRequest,
    by: &Actor,
) -> Result<CaseDetail> {
    let to = match request.assignee.as_deref() {
        None => None,
        Some(raw) => {
            let name = username("assignee", raw)?;
            // Cases go to analysts who can work them: an enabled compliance or admin account.
            let analyst = ctx
                .store
                .staff(&name)
                .await?
                .is_some_and(|a| !a.disabled && (a.role == "compliance" || a.role == "admin"));
            if !analyst {
                return Err(ServiceError::invalid(
                    "assignee",
                    "not_an_analyst",
                    "no enabled compliance or admin staff account has this username",
                ));
            }
            Some(name)
        }
    };
    change(ctx, id, CaseChange::Assign(to), by).await
}

pub async fn comment(
    ctx: &Context,
    id: &str,
    request: &CommentRequest,
    by: &Actor,
) -> Result<CaseDetail> {
    let text = text("text", &request.text)?;
    change(ctx, id, CaseChange::Comment(text), by).await
}

pub async fn close(
    ctx: &Context,
    id: &str,
    request: &CloseRequest,
    by: &Actor,
) -> Result<CaseDetail> {
    if !DISPOSITIONS.contains(&request.disposition.as_str()) {
        return Err(ServiceError::invalid(
            "disposition",
            "unknown_disposition",
            format!("one of {}", DISPOSITIONS.join(", ")),
        ));
    }
    let note = text("note", &request.note)?;
    let disposition = request.disposition.clone();
    change(ctx, id, CaseChange::Close { disposition, note }, by).await
}
