//! Staff accounts of the console (role, Argon2id password hash, lock-out state) and their
//! sessions (stored as the SHA-256 of the cookie's token, never the token itself).

use super::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0009_staff"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Alias::new("staff_accounts"))
                    .if_not_exists()
                    .col(
                        ColumnDef::new(Alias::new("username"))
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(text("role"))
                    .col(text("password_hash"))
                    .col(flag("disabled"))
                    .col(big("failed_attempts"))
                    .col(big_null("locked_until_ms"))
                    .col(big("created_at_ms"))
                    .col(big("updated_at_ms"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Alias::new("staff_sessions"))
                    .if_not_exists()
                    .col(
                        ColumnDef::new(Alias::new("token_hash"))
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(text("username"))
                    .col(text("csrf_token"))
                    .col(big("created_at_ms"))
                    .col(big("last_seen_ms"))
                    .col(big("expires_at_ms"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "staff_sessions",
                "staff_sessions_username",
                &["username"],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["staff_sessions", "staff_accounts"] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
