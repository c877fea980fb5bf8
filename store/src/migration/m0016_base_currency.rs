//! Each customer's base currency (the account's, `EUR` for customers registered before it
//! was recorded), and with each profile the amounts no rate could convert.

use super::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0016_base_currency"
    }
}

/// SQLite adds one column per statement.
async fn add(
    manager: &SchemaManager<'_>,
    table: &str,
    column: &str,
    default: &str,
) -> Result<(), DbErr> {
    manager
        .alter_table(
            Table::alter()
                .table(Alias::new(table))
                .add_column(
                    ColumnDef::new(Alias::new(column))
                        .text()
                        .not_null()
                        .default(default),
                )
                .to_owned(),
        )
        .await
}

async fn drop(manager: &SchemaManager<'_>, table: &str, column: &str) -> Result<(), DbErr> {
    manager
        .alter_table(
            Table::alter()
                .table(Alias::new(table))
                .drop_column(Alias::new(column))
                .to_owned(),
        )
        .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add(manager, "customers", "base_currency", "EUR").await?;
        add(manager, "profiles", "unconverted", "[]").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop(manager, "profiles", "unconverted").await?;
        drop(manager, "customers", "base_currency").await
    }
}
