//! Reference exchange rates: each day's published rate per currency, for one euro, kept as
//! the exact decimal text it was published with.

use super::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0015_fx_rates"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Alias::new("fx_rates"))
                    .if_not_exists()
                    .col(text("rate_date"))
                    .col(text("currency"))
                    .col(text("rate"))
                    .col(text("source"))
                    .col(big("recorded_at_ms"))
                    .primary_key(
                        Index::create()
                            .col(Alias::new("rate_date"))
                            .col(Alias::new("currency")),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Alias::new("fx_rates")).to_owned())
            .await
    }
}
