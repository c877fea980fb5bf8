use super::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0001_initial"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Times are epoch milliseconds (UTC) in BIGINT columns: identical on both backends
        // and cheap to compare and bulk-insert.
        manager
            .create_table(
                Table::create()
                    .table(Alias::new("customers"))
                    .col(text("id").primary_key())
                    .col(
                        ColumnDef::new(Alias::new("birth_year"))
                            .integer()
                            .not_null(),
                    )
                    .col(text("region"))
                    .col(text("occupation"))
                    .col(text("kyc_status"))
                    .col(flag("consent_profiling"))
                    .col(flag("consent_push"))
                    .col(flag("consent_email"))
                    .col(flag("consent_sms"))
                    .col(flag("consent_in_app"))
                    .col(big("created_at_ms"))
                    .col(big("updated_at_ms"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Alias::new("consent_changes"))
                    .col(serial("id"))
                    .col(text("customer_id"))
                    .col(big("changed_at_ms"))
                    .col(text("actor"))
                    .col(text("scope"))
                    .col(flag("granted"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "consent_changes",
                "consent_changes_customer",
                &["customer_id", "changed_at_ms"],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Alias::new("payment_events"))
                    .col(text("event_id").primary_key())
                    .col(text("customer_id"))
                    .col(big("occurred_at_ms"))
                    .col(big("amount_minor"))
                    .col(text("currency"))
                    .col(text("direction"))
                    .col(text("kind"))
                    .col(text("channel"))
                    .col(text_null("merchant_id"))
                    .col(ColumnDef::new(Alias::new("mcc")).integer().null())
                    .col(text("country"))
                    .col(text_null("card_bin"))
                    .col(text_null("card_last4"))
                    .col(text("status"))
                    .col(big_null("balance_after_minor"))
                    .col(big("content_hash"))
                    .col(big("received_at_ms"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "payment_events",
                "payment_events_customer_time",
                &["customer_id", "occurred_at_ms"],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Alias::new("behaviour_events"))
                    .col(text("event_id").primary_key())
                    .col(text("customer_id"))
                    .col(big("occurred_at_ms"))
                    .col(text("kind"))
                    .col(text_null("session_id"))
                    .col(text_null("screen"))
                    .col(text_null("product_id"))
                    .col(text_null("offer_id"))
                    .col(text_null("query"))
                    .col(big("content_hash"))
                    .col(big("received_at_ms"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "behaviour_events",
                "behaviour_events_customer_time",
                &["customer_id", "occurred_at_ms"],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Alias::new("products"))
                    .col(text("id").primary_key())
                    .col(text("kind"))
                    .col(text("name"))
                    .col(
                        ColumnDef::new(Alias::new("risk_level"))
                            .integer()
                            .not_null(),
                    )
                    .col(text("currency"))
                    .col(big("min_amount_minor"))
                    .col(ColumnDef::new(Alias::new("term_months")).integer().null())
                    .col(ColumnDef::new(Alias::new("rate_bps")).integer().null())
                    .col(ColumnDef::new(Alias::new("fee_bps")).integer().null())
                    .col(text_null("asset_class"))
                    .col(big("updated_at_ms"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Alias::new("holdings"))
                    .col(text("customer_id"))
                    .col(text("product_id"))
                    .col(big("value_minor"))
                    .col(text("currency"))
                    .col(big("opened_at_ms"))
                    .col(big("updated_at_ms"))
                    .primary_key(
                        Index::create()
                            .col(Alias::new("customer_id"))
                            .col(Alias::new("product_id")),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Alias::new("audit_log"))
                    .col(serial("id"))
                    .col(big("at_ms"))
                    .col(text("actor"))
                    .col(text("action"))
                    .col(text("subject"))
                    .col(ColumnDef::new(Alias::new("detail")).text().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "audit_log",
                "audit_log_subject",
                &["subject", "at_ms"],
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "audit_log",
            "holdings",
            "products",
            "behaviour_events",
            "payment_events",
            "consent_changes",
            "customers",
        ] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
