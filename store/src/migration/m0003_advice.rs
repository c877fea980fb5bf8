use super::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0003_advice"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Every piece of advice given, with the inputs and engine version that produced
        // it, so that compliance can reproduce it. Never edited.
        manager
            .create_table(
                Table::create()
                    .table(Alias::new("advice"))
                    .col(serial("id"))
                    .col(text("customer_id"))
                    .col(text("kind"))
                    .col(big("created_at_ms"))
                    .col(text("actor"))
                    .col(text("engine_version"))
                    .col(ColumnDef::new(Alias::new("inputs")).text().not_null())
                    .col(ColumnDef::new(Alias::new("output")).text().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "advice",
                "advice_customer",
                &["customer_id", "kind", "id"],
            ))
            .await?;
        // A proposal is approved or rejected once; the unique key makes a second
        // decision fail instead of overwriting the first.
        manager
            .create_table(
                Table::create()
                    .table(Alias::new("advice_decisions"))
                    .col(
                        ColumnDef::new(Alias::new("advice_id"))
                            .big_integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(text("decision"))
                    .col(text("actor"))
                    .col(big("decided_at_ms"))
                    .col(text("note"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Alias::new("wealth_manager_clients"))
                    .col(text("wealth_manager"))
                    .col(text("customer_id"))
                    .col(text("assigned_by"))
                    .col(big("assigned_at_ms"))
                    .primary_key(
                        Index::create()
                            .col(Alias::new("wealth_manager"))
                            .col(Alias::new("customer_id")),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["wealth_manager_clients", "advice_decisions", "advice"] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
