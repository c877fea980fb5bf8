//! Payments earn through accruals: one posting for a batch's purchases that expire on the
//! same day, each purchase an item (its key, time, points and why) kept with it as JSON.

use super::*;

pub struct Migration;

const TABLE: &str = "loyalty_postings";
const COLUMN: &str = "items";

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0019_loyalty_items"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new(TABLE))
                    .add_column(ColumnDef::new(Alias::new(COLUMN)).text().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new(TABLE))
                    .drop_column(Alias::new(COLUMN))
                    .to_owned(),
            )
            .await
    }
}
