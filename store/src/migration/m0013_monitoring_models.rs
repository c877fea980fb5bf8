//! The monitoring model registry: every trained version with its held-out figures and its
//! artifact, and an append-only log of activations (the newest decides which one scores).

use super::*;

pub struct Migration;

/// A string primary key.
fn key(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .string()
        .not_null()
        .primary_key()
        .to_owned()
}

/// Unbounded text (a model's trees run to megabytes).
fn long_text(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .text()
        .not_null()
        .to_owned()
}

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0013_monitoring_models"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Alias::new("monitoring_models"))
                    .if_not_exists()
                    .col(key("version"))
                    .col(big("created_at_ms"))
                    .col(text("actor"))
                    .col(long_text("metrics"))
                    .col(long_text("artifact"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Alias::new("monitoring_model_activations"))
                    .if_not_exists()
                    .col(serial("id"))
                    .col(text("version"))
                    .col(big("activated_at_ms"))
                    .col(text("actor"))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["monitoring_model_activations", "monitoring_models"] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
