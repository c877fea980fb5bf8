//! Payments name their counterparty (name and account) and the device they were made from,
//! each sealed under the customer's key like merchants and cards: transaction monitoring
//! screens counterparties against the sanctions list, counts the distinct people money comes
//! from and goes to, and notices a payment from a device the customer never used.

use super::*;

pub struct Migration;

const TABLE: &str = "payment_events";
const COLUMNS: [&str; 3] = ["counterparty_name", "counterparty_account", "device_id"];

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0014_payment_parties"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one at a time.
        for column in COLUMNS {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new(TABLE))
                        .add_column(ColumnDef::new(Alias::new(column)).text().null())
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in COLUMNS {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new(TABLE))
                        .drop_column(Alias::new(column))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
