//! A refund names the purchase it gives money back for: loyalty takes that purchase's
//! points back in proportion to the money refunded.

use super::*;

pub struct Migration;

const TABLE: &str = "payment_events";
const COLUMN: &str = "refund_of";

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0018_refund_of"
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
