//! The audit log becomes a hash chain: role, request id and outcome columns, and each
//! entry's previous and own hash. Entries already there are numbered 1.. in order and
//! chained, so the trail verifies from its first entry.

use sea_orm::{ConnectionTrait, Statement};

use super::*;
use crate::audit::{entry_hash, NewAuditEntry};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0006_audit_chain"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement.
        for (column, default) in [
            ("role", ""),
            ("request_id", ""),
            ("outcome", "ok"),
            ("prev_hash", ""),
            ("hash", ""),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new("audit_log"))
                        .add_column(
                            ColumnDef::new(Alias::new(column))
                                .string()
                                .not_null()
                                .default(default),
                        )
                        .to_owned(),
                )
                .await?;
        }
        let db = manager.get_connection();
        let backend = db.get_database_backend();
        let rows = db
            .query_all(Statement::from_string(
                backend,
                "SELECT id, at_ms, actor, action, subject, detail FROM audit_log ORDER BY id",
            ))
            .await?;
        let mut prev_hash = String::new();
        for (i, row) in rows.iter().enumerate() {
            let id: i64 = row.try_get("", "id")?;
            let at_ms: i64 = row.try_get("", "at_ms")?;
            let entry = NewAuditEntry {
                actor: row.try_get("", "actor")?,
                role: String::new(),
                action: row.try_get("", "action")?,
                object: row.try_get("", "subject")?,
                request_id: String::new(),
                outcome: "ok".into(),
                detail: row.try_get("", "detail")?,
            };
            // Renumbering in ascending order never meets a taken number: the rows
            // before hold 1..=i, the rows after hold numbers above this row's.
            let seq = i as i64 + 1;
            let hash = entry_hash(seq, at_ms, &entry, &prev_hash);
            manager
                .exec_stmt(
                    Query::update()
                        .table(Alias::new("audit_log"))
                        .value(Alias::new("id"), seq)
                        .value(Alias::new("prev_hash"), prev_hash.clone())
                        .value(Alias::new("hash"), hash.clone())
                        .and_where(Expr::col(Alias::new("id")).eq(id))
                        .to_owned(),
                )
                .await?;
            prev_hash = hash;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["role", "request_id", "outcome", "prev_hash", "hash"] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new("audit_log"))
                        .drop_column(Alias::new(column))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
