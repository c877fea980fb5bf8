//! Encryption at rest: customers' wrapped data keys, and the sealed personal fields of a
//! customer (`customers.sealed`; the clear columns are blanked when it is written). Rows
//! written before are sealed by the store when it opens with its keyring.

use super::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0007_encryption"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Alias::new("customer_keys"))
                    .col(
                        ColumnDef::new(Alias::new("customer_id"))
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(text("master_key_id"))
                    .col(text("wrapped"))
                    .col(big("created_at_ms"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "customer_keys",
                "customer_keys_master",
                &["master_key_id"],
            ))
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("customers"))
                    .add_column(
                        ColumnDef::new(Alias::new("sealed"))
                            .text()
                            .not_null()
                            .default(""),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("customers"))
                    .drop_column(Alias::new("sealed"))
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(Alias::new("customer_keys")).to_owned())
            .await?;
        Ok(())
    }
}
