//! The audit trail on SQL: one row per entry in `audit_log`, numbered by `seq` (the primary
//! key, assigned here without gaps) and hash-chained. Appends happen inside the transaction
//! of the change they record; on PostgreSQL a transaction-scoped advisory lock keeps
//! concurrent appends in one line, on SQLite the store's single writer does.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement, TransactionTrait,
};

use super::SeaStore;
use crate::audit::{chained, AuditEntry, AuditFilter, AuditStore, NewAuditEntry};
use crate::entity::audit;
use crate::StoreError;

/// Key of the PostgreSQL advisory lock that serialises appends.
const APPEND_LOCK: i64 = 0x5345_5854_4155_4454; // "SEXTAUDT"

/// Appends `entry` after the current last entry, inside the caller's transaction.
pub(crate) async fn append(
    db: &impl ConnectionTrait,
    entry: NewAuditEntry,
    now: DateTime<Utc>,
) -> Result<AuditEntry, StoreError> {
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute(Statement::from_string(
            DbBackend::Postgres,
            format!("SELECT pg_advisory_xact_lock({APPEND_LOCK})"),
        ))
        .await?;
    }
    let last = audit::Entity::find()
        .order_by_desc(audit::Column::Id)
        .one(db)
        .await?
        .map(stored);
    let next = chained(last.as_ref(), entry, now.timestamp_millis());
    audit::Entity::insert(audit::ActiveModel {
        id: Set(next.seq),
        at_ms: Set(next.at_ms),
        actor: Set(next.entry.actor.clone()),
        role: Set(next.entry.role.clone()),
        action: Set(next.entry.action.clone()),
        subject: Set(next.entry.object.clone()),
        request_id: Set(next.entry.request_id.clone()),
        outcome: Set(next.entry.outcome.clone()),
        detail: Set(next.entry.detail.clone()),
        prev_hash: Set(next.prev_hash.clone()),
        hash: Set(next.hash.clone()),
    })
    .exec(db)
    .await?;
    Ok(next)
}

pub(crate) fn stored(row: audit::Model) -> AuditEntry {
    AuditEntry {
        seq: row.id,
        at_ms: row.at_ms,
        entry: NewAuditEntry {
            actor: row.actor,
            role: row.role,
            action: row.action,
            object: row.subject,
            request_id: row.request_id,
            outcome: row.outcome,
            detail: row.detail,
        },
        prev_hash: row.prev_hash,
        hash: row.hash,
    }
}

#[async_trait]
impl AuditStore for SeaStore {
    async fn record_audit(
        &self,
        entry: &NewAuditEntry,
        at: DateTime<Utc>,
    ) -> Result<AuditEntry, StoreError> {
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;
        let appended = append(&txn, entry.clone(), at).await?;
        txn.commit().await?;
        Ok(appended)
    }

    async fn audit_entries(
        &self,
        filter: &AuditFilter,
        after: i64,
        limit: u64,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let mut query = audit::Entity::find().filter(audit::Column::Id.gt(after));
        if let Some(actor) = &filter.actor {
            query = query.filter(audit::Column::Actor.eq(actor.as_str()));
        }
        if let Some(action) = &filter.action {
            query = query.filter(audit::Column::Action.eq(action.as_str()));
        }
        if let Some(object) = &filter.object {
            query = query.filter(audit::Column::Subject.eq(object.as_str()));
        }
        if let Some(from) = filter.from_ms {
            query = query.filter(audit::Column::AtMs.gte(from));
        }
        if let Some(to) = filter.to_ms {
            query = query.filter(audit::Column::AtMs.lt(to));
        }
        let rows = query
            .order_by_asc(audit::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(stored).collect())
    }
}
