//! The audit trail for compliance: filtered, paged, in order. Reading it is itself
//! recorded.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sextant_store::{AuditEntry, AuditFilter, PAGE_MAX};
use utoipa::{IntoParams, ToSchema};

use super::query;
use crate::auth::{Caller, Role};
use crate::error::{AppError, ItemProblem, Problem};
use crate::AppState;

const AUDITORS: &[Role] = &[Role::Compliance, Role::Admin];

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only this actor's entries.
    pub actor: Option<String>,
    /// Only this action (`customer.read`, `customer.replace`, ...).
    pub action: Option<String>,
    /// Only entries about this object (a customer id, a campaign id).
    pub object: Option<String>,
    /// Entries at or after this time (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    pub from: Option<DateTime<Utc>>,
    /// Entries before this time (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    pub to: Option<DateTime<Utc>>,
    /// Entries after this sequence number (the `next` of the previous page); 0 or more.
    #[param(minimum = 0)]
    pub after: Option<i64>,
    /// 1..=500, default 100.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditRecord {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub role: String,
    pub action: String,
    pub object: String,
    pub request_id: String,
    pub outcome: String,
    pub detail: serde_json::Value,
    /// SHA-256 of the previous entry (empty for the first).
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditRecord>,
    /// Pass as `after` for the next page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<i64>,
}

fn record(e: AuditEntry) -> AuditRecord {
    AuditRecord {
        seq: e.seq,
        at: DateTime::<Utc>::from_timestamp_millis(e.at_ms)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        actor: e.entry.actor,
        role: e.entry.role,
        action: e.entry.action,
        object: e.entry.object,
        request_id: e.entry.request_id,
        outcome: e.entry.outcome,
        detail: serde_json::from_str(&e.entry.detail).unwrap_or(serde_json::Value::Null),
        prev_hash: e.prev_hash,
        hash: e.hash,
    }
}

/// The audit trail, oldest first: every state change and every staff read of customer data.
#[utoipa::path(get, path = "/v1/audit", tag = "system", security(("bearer" = [])),
    params(AuditQuery),
    responses((status = 200, body = AuditPage), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn entries(
    State(state): State<AppState>,
    caller: Caller,
    params: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<AuditPage>, AppError> {
    caller.require(AUDITORS)?;
    let q = query(params)?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=PAGE_MAX).contains(&limit) {
        return Err(AppError::Validation(vec![ItemProblem::field(
            "limit",
            "out_of_range",
            format!("1 to {PAGE_MAX}"),
        )]));
    }
    let after = q.after.unwrap_or(0);
    if after < 0 {
        return Err(AppError::Validation(vec![ItemProblem::field(
            "after",
            "out_of_range",
            "a sequence number, 0 or more",
        )]));
    }
    let filter = AuditFilter {
        actor: q.actor,
        action: q.action,
        object: q.object,
        from_ms: q.from.map(|t| t.timestamp_millis()),
        to_ms: q.to.map(|t| t.timestamp_millis()),
    };
    let found = state.ctx.store.audit_entries(&filter, after, limit).await?;
    let next = (found.len() as u64 == limit)
        .then(|| found.last().map(|e| e.seq))
        .flatten();
    Ok(Json(AuditPage {
        entries: found.into_iter().map(record).collect(),
        next,
    }))
}
