//! Compliance's monitoring rules, every version with its mode, and the hits each version had
//! on ingested payments.

use super::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0012_monitoring_rules"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Alias::new("monitoring_rules"))
                    .if_not_exists()
                    .col(text("rule_id"))
                    .col(big("version"))
                    .col(text("source"))
                    .col(text("description"))
                    .col(text("mode"))
                    .col(
                        ColumnDef::new(Alias::new("severity"))
                            .double()
                            .not_null()
                            .to_owned(),
                    )
                    .col(big("cooldown_ms"))
                    .col(text("author"))
                    .col(big("created_at_ms"))
                    .col(big("changed_at_ms"))
                    .primary_key(
                        Index::create()
                            .col(Alias::new("rule_id"))
                            .col(Alias::new("version")),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Alias::new("monitoring_rule_hits"))
                    .if_not_exists()
                    .col(text("rule_id"))
                    .col(big("version"))
                    .col(text("event_id"))
                    .col(text("mode"))
                    .col(text("customer_id"))
                    .col(big("occurred_at_ms"))
                    .col(text("reason"))
                    .col(big("recorded_at_ms"))
                    .primary_key(
                        Index::create()
                            .col(Alias::new("rule_id"))
                            .col(Alias::new("version"))
                            .col(Alias::new("event_id")),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "monitoring_rule_hits",
                "monitoring_rule_hits_customer",
                &["customer_id"],
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["monitoring_rule_hits", "monitoring_rules"] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
