//! The audit trail on SQL: one row per entry in `audit_log`, numbered by `seq` (the primary
//! key, assigned here without gaps) and hash-chained. Appends happen inside the transaction
//! of the change they record; on PostgreSQL a transaction-scoped advisory lock keeps
//! concurrent appends in one line, on SQLite the store's single writer does.

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement, TransactionTrait,
};

use super::{SeaStore, Signer};
use crate::audit::{
    chained, AuditEntry, AuditFilter, AuditStore, Checkpoint, CheckpointSigner, NewAuditEntry,
};
use crate::entity::{audit, audit_checkpoint};
use crate::StoreError;

/// Key of the PostgreSQL advisory lock that serialises appends.
const APPEND_LOCK: i64 = 0x5345_5854_4155_4454; // "SEXTAUDT"

/// Appends `entry` after the current last entry, inside the caller's transaction.
pub(crate) async fn append(
    db: &impl ConnectionTrait,
    signer: Signer<'_>,
    entry: NewAuditEntry,
    now: DateTime<Utc>,
) -> Result<AuditEntry, StoreError> {
    let mut appended = append_all(db, signer, vec![entry], now).await?;
    Ok(appended.pop().expect("one entry in, one out"))
}

/// Appends `entries` in order after the current last entry, inside the caller's
/// transaction: one read of the last entry and one insert per statement's worth, for the
/// group commits that record many changes at once. With a signer, every entry due a
/// checkpoint gets its signed checkpoint in the same transaction.
pub(crate) async fn append_all(
    db: &impl ConnectionTrait,
    signer: Signer<'_>,
    entries: Vec<NewAuditEntry>,
    now: DateTime<Utc>,
) -> Result<Vec<AuditEntry>, StoreError> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute(Statement::from_string(
            DbBackend::Postgres,
            format!("SELECT pg_advisory_xact_lock({APPEND_LOCK})"),
        ))
        .await?;
    }
    let mut last = audit::Entity::find()
        .order_by_desc(audit::Column::Id)
        .one(db)
        .await?
        .map(stored);
    let mut appended = Vec::with_capacity(entries.len());
    for entry in entries {
        let next = chained(last.as_ref(), entry, now.timestamp_millis());
        last = Some(next.clone());
        appended.push(next);
    }
    for rows in appended.chunks(ROWS_PER_STATEMENT) {
        audit::Entity::insert_many(rows.iter().map(|e| audit::ActiveModel {
            id: Set(e.seq),
            at_ms: Set(e.at_ms),
            actor: Set(e.entry.actor.clone()),
            role: Set(e.entry.role.clone()),
            action: Set(e.entry.action.clone()),
            subject: Set(e.entry.object.clone()),
            request_id: Set(e.entry.request_id.clone()),
            outcome: Set(e.entry.outcome.clone()),
            detail: Set(e.entry.detail.clone()),
            prev_hash: Set(e.prev_hash.clone()),
            hash: Set(e.hash.clone()),
        }))
        .exec_without_returning(db)
        .await?;
    }
    if let Some(signer) = signer {
        let due = appended.iter().filter(|e| signer.due(e.seq));
        let checkpoints: Vec<_> = due
            .map(|e| checkpoint_row(signer.sign(e.seq, &e.hash, now.timestamp_millis())))
            .collect();
        if !checkpoints.is_empty() {
            audit_checkpoint::Entity::insert_many(checkpoints)
                .exec_without_returning(db)
                .await?;
        }
    }
    Ok(appended)
}

fn checkpoint_row(c: Checkpoint) -> audit_checkpoint::ActiveModel {
    audit_checkpoint::ActiveModel {
        seq: Set(c.seq),
        hash: Set(c.hash),
        every: Set(c.every),
        key_id: Set(c.key_id),
        signature: Set(c.signature),
        signed_at_ms: Set(c.signed_at_ms),
    }
}

/// Entries per INSERT: 11 columns x 1,000 rows = 11,000 bound parameters, under SQLite's
/// 32,766 and PostgreSQL's 65,535.
const ROWS_PER_STATEMENT: usize = 1_000;

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
        let appended = append(&txn, self.signer(), entry.clone(), at).await?;
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

    async fn sign_missing_checkpoints(&self, signer: &CheckpointSigner) -> Result<u64, StoreError> {
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;
        let head = audit::Entity::find()
            .order_by_desc(audit::Column::Id)
            .one(&txn)
            .await?
            .map_or(0, |row| row.id);
        let signed: HashSet<i64> = audit_checkpoint::Entity::find()
            .select_only()
            .column(audit_checkpoint::Column::Seq)
            .into_tuple::<i64>()
            .all(&txn)
            .await?
            .into_iter()
            .collect();
        let due: Vec<i64> = (1..=head / signer.every())
            .map(|k| k * signer.every())
            .filter(|seq| !signed.contains(seq))
            .collect();
        let now_ms = Utc::now().timestamp_millis();
        for chunk in due.chunks(ROWS_PER_STATEMENT) {
            let rows = audit::Entity::find()
                .filter(audit::Column::Id.is_in(chunk.iter().copied()))
                .all(&txn)
                .await?;
            let checkpoints = rows
                .iter()
                .map(|row| checkpoint_row(signer.sign(row.id, &row.hash, now_ms)));
            audit_checkpoint::Entity::insert_many(checkpoints)
                .exec_without_returning(&txn)
                .await?;
        }
        txn.commit().await?;
        Ok(due.len() as u64)
    }

    async fn audit_checkpoints(
        &self,
        after: i64,
        limit: u64,
    ) -> Result<Vec<Checkpoint>, StoreError> {
        use audit_checkpoint::Column as C;
        let rows = audit_checkpoint::Entity::find()
            .filter(C::Seq.gt(after))
            .order_by_asc(C::Seq)
            .limit(limit)
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| Checkpoint {
                seq: r.seq,
                hash: r.hash,
                every: r.every,
                key_id: r.key_id,
                signature: r.signature,
                signed_at_ms: r.signed_at_ms,
            })
            .collect())
    }
}
