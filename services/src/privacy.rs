//! The data subject's rights: an export of everything Sextant holds about a customer, and
//! erasure by crypto-shredding (the customer's data key destroyed, their personal rows
//! deleted, the vector store's point removed; credit decisions and the audit trail, which
//! the bank must keep, stay under the pseudonymous id).

use chrono::{DateTime, Utc};
use serde::Serialize;
use sextant_domain::CustomerId;
use sextant_store::{Actor, AuditFilter, ConsentChange, PAGE_MAX};
use utoipa::ToSchema;

use crate::records::{
    format_timestamp, BehaviourRecord, CustomerRecord, HoldingRecord, PaymentRecord,
};
use crate::{Context, Result, ServiceError};

/// Most entries of each list in an export; a customer with more gets the newest.
pub const EXPORT_LIST_MAX: u64 = 10_000;

/// Everything held about one customer, as JSON a person can read.
#[derive(Serialize, ToSchema)]
pub struct Export {
    pub exported_at: String,
    pub customer: CustomerRecord,
    /// Every consent change: scope, granted, who, when.
    #[schema(value_type = Vec<Object>)]
    pub consent_history: Vec<serde_json::Value>,
    pub holdings: Vec<HoldingRecord>,
    pub payments: Vec<PaymentRecord>,
    pub behaviour: Vec<BehaviourRecord>,
    /// The computed profile (features by name are in `GET .../profile`).
    #[schema(value_type = Option<Object>)]
    pub profile: Option<serde_json::Value>,
    #[schema(value_type = Vec<Object>)]
    pub risk_assessments: Vec<serde_json::Value>,
    /// Credit decisions with their inputs, as decided.
    #[schema(value_type = Vec<Object>)]
    pub credit_decisions: Vec<serde_json::Value>,
    /// Who did what with this customer's data (audit entries about them).
    #[schema(value_type = Vec<Object>)]
    pub audit: Vec<serde_json::Value>,
}

fn consent(c: ConsentChange) -> serde_json::Value {
    serde_json::json!({
        "scope": c.scope, "granted": c.granted, "actor": c.actor,
        "changed_at": format_timestamp(c.changed_at),
    })
}

/// Everything held about `id`, or `NotFound`.
pub async fn export(ctx: &Context, id: &CustomerId, now: DateTime<Utc>) -> Result<Export> {
    let store = &ctx.store;
    let history = store
        .history(id, DateTime::<Utc>::UNIX_EPOCH)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let consents = store.consent_history(id, EXPORT_LIST_MAX).await?;
    let profile = store.profile(id).await?.map(|p| {
        serde_json::json!({
            "feature_version": p.feature_version, "features": p.features, "segment": p.segment,
            "as_of": format_timestamp(p.as_of), "computed_at": format_timestamp(p.computed_at),
        })
    });
    let assessments = store.assessments(id, EXPORT_LIST_MAX).await?;
    let decisions = store.credit_decisions_for(id, EXPORT_LIST_MAX).await?;
    let mut audit = Vec::new();
    let mut after = 0;
    let filter = AuditFilter {
        object: Some(id.to_string()),
        ..AuditFilter::default()
    };
    while (audit.len() as u64) < EXPORT_LIST_MAX {
        let page = store.audit_entries(&filter, after, PAGE_MAX).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        let full = page.len() as u64 == PAGE_MAX;
        audit.extend(page.into_iter().map(|e| {
            serde_json::json!({
                "seq": e.seq, "at_ms": e.at_ms, "actor": e.entry.actor, "role": e.entry.role,
                "action": e.entry.action, "request_id": e.entry.request_id,
                "outcome": e.entry.outcome,
            })
        }));
        if !full {
            break;
        }
    }
    Ok(Export {
        exported_at: format_timestamp(now),
        customer: CustomerRecord::from_domain(&history.customer),
        consent_history: consents.into_iter().map(consent).collect(),
        holdings: history
            .holdings
            .iter()
            .map(HoldingRecord::from_domain)
            .collect(),
        payments: history
            .payments
            .iter()
            .map(PaymentRecord::from_domain)
            .collect(),
        behaviour: history
            .behaviour
            .iter()
            .map(BehaviourRecord::from_domain)
            .collect(),
        profile,
        risk_assessments: assessments
            .into_iter()
            .map(|a| {
                serde_json::json!({
                    "assessed_at": format_timestamp(a.assessed_at), "level": a.level,
                    "willingness": a.willingness, "willingness_source": a.willingness_source,
                    "capacity": a.capacity, "reason": a.reason, "detail": a.detail,
                })
            })
            .collect(),
        credit_decisions: decisions
            .into_iter()
            .map(|d| {
                serde_json::json!({
                    "id": d.id, "kind": d.kind, "created_at": format_timestamp(d.created_at),
                    "outcome": d.outcome, "model_version": d.model_version,
                    "policy_version": d.policy_version, "inputs": d.inputs,
                })
            })
            .collect(),
        audit,
    })
}

/// Erases `id`: see the module. `NotFound` when there is no such customer.
pub async fn erase(ctx: &Context, id: &CustomerId, by: &Actor, now: DateTime<Utc>) -> Result<()> {
    if !ctx.store.erase_customer(id, by, now).await? {
        return Err(ServiceError::NotFound);
    }
    ctx.vectors
        .delete(&[id.to_string()])
        .await
        .map_err(|e| ServiceError::Unavailable(format!("vector store: {e}")))?;
    Ok(())
}
