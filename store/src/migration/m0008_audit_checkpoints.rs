//! Signed checkpoints of the audit trail: the entry number and hash of every checkpointed
//! entry, signed with the audit key (Ed25519), which is held apart from the database.

use super::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0008_audit_checkpoints"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Alias::new("audit_checkpoints"))
                    .if_not_exists()
                    .col(
                        ColumnDef::new(Alias::new("seq"))
                            .big_integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(text("hash"))
                    .col(big("every"))
                    .col(text("key_id"))
                    .col(text("signature"))
                    .col(big("signed_at_ms"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(Alias::new("audit_checkpoints"))
                    .to_owned(),
            )
            .await
    }
}
