use super::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0005_marketing"
    }
}

fn long_text(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .text()
        .not_null()
        .to_owned()
}

fn int(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .integer()
        .not_null()
        .to_owned()
}

fn int_null(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name)).integer().null().to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Every version of a catalogue product, never edited; the newest is copied into
        // `products` so that holdings and advice read current fields. The primary key
        // makes a second writer of the same version fail instead of overwriting it.
        manager
            .create_table(
                Table::create()
                    .table(Alias::new("product_versions"))
                    .col(text("product_id"))
                    .col(int("version"))
                    .col(text("kind"))
                    .col(text("name"))
                    .col(int("risk_level"))
                    .col(text("currency"))
                    .col(big("min_amount_minor"))
                    .col(int_null("term_months"))
                    .col(int_null("rate_bps"))
                    .col(int_null("fee_bps"))
                    .col(text_null("asset_class"))
                    .col(ColumnDef::new(Alias::new("eligibility")).text().null())
                    .col(ColumnDef::new(Alias::new("terms")).text().null())
                    .col(flag("active"))
                    .col(text("actor"))
                    .col(big("created_at_ms"))
                    .primary_key(
                        Index::create()
                            .col(Alias::new("product_id"))
                            .col(Alias::new("version")),
                    )
                    .to_owned(),
            )
            .await?;
        // Audiences (rule segments and lookalikes), versioned the same way.
        manager
            .create_table(
                Table::create()
                    .table(Alias::new("audiences"))
                    .col(text("id"))
                    .col(int("version"))
                    .col(text("name"))
                    .col(text("kind"))
                    .col(long_text("definition"))
                    .col(text("actor"))
                    .col(big("created_at_ms"))
                    .primary_key(
                        Index::create()
                            .col(Alias::new("id"))
                            .col(Alias::new("version")),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Alias::new("campaigns"))
                    .col(
                        ColumnDef::new(Alias::new("id"))
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(text("name"))
                    .col(text("status"))
                    .col(text("product_id"))
                    .col(text("channel"))
                    .col(long_text("spec"))
                    .col(text("created_by"))
                    .col(big("created_at_ms"))
                    .col(big("updated_at_ms"))
                    .col(big_null("launched_at_ms"))
                    .col(ColumnDef::new(Alias::new("launch")).text().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "campaigns",
                "campaigns_status_created",
                &["status", "created_at_ms"],
            ))
            .await?;
        // Who moved a campaign from which status to which, when. Append-only.
        manager
            .create_table(
                Table::create()
                    .table(Alias::new("campaign_status_log"))
                    .col(serial("id"))
                    .col(text("campaign_id"))
                    .col(text("from_status"))
                    .col(text("to_status"))
                    .col(text("actor"))
                    .col(big("at_ms"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "campaign_status_log",
                "campaign_status_log_campaign",
                &["campaign_id", "id"],
            ))
            .await?;
        // The members placed at launch, written once. The primary key orders a
        // campaign's members by customer for paging; the customer index serves a
        // customer's memberships; (arm, assigned_at_ms, customer_id) covers the
        // frequency cap's count of recent treatment memberships.
        manager
            .create_table(
                Table::create()
                    .table(Alias::new("campaign_members"))
                    .col(text("campaign_id"))
                    .col(text("customer_id"))
                    .col(text("arm"))
                    .col(ColumnDef::new(Alias::new("score")).double().not_null())
                    .col(big("assigned_at_ms"))
                    .primary_key(
                        Index::create()
                            .col(Alias::new("campaign_id"))
                            .col(Alias::new("customer_id")),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "campaign_members",
                "campaign_members_customer",
                &["customer_id"],
            ))
            .await?;
        manager
            .create_index(index(
                "campaign_members",
                "campaign_members_arm_assigned",
                &["arm", "assigned_at_ms", "customer_id"],
            ))
            .await?;
        // Delivery and outcome events reported by the channels, keyed by (campaign,
        // event id) so a re-sent event is recognised.
        manager
            .create_table(
                Table::create()
                    .table(Alias::new("campaign_events"))
                    .col(text("campaign_id"))
                    .col(text("event_id"))
                    .col(text("customer_id"))
                    .col(text("kind"))
                    .col(big("occurred_at_ms"))
                    .col(big("content_hash"))
                    .col(big("received_at_ms"))
                    .primary_key(
                        Index::create()
                            .col(Alias::new("campaign_id"))
                            .col(Alias::new("event_id")),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "campaign_events",
                "campaign_events_member",
                &["campaign_id", "customer_id"],
            ))
            .await?;
        // Offer models by version, kept forever; the newest activation decides (an
        // append-only log, so storing a version again makes it active again).
        manager
            .create_table(
                Table::create()
                    .table(Alias::new("offer_models"))
                    .col(
                        ColumnDef::new(Alias::new("version"))
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(big("created_at_ms"))
                    .col(text("actor"))
                    .col(long_text("metrics"))
                    .col(ColumnDef::new(Alias::new("artifact")).blob().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Alias::new("offer_model_activations"))
                    .col(serial("id"))
                    .col(text("version"))
                    .col(big("activated_at_ms"))
                    .col(text("actor"))
                    .to_owned(),
            )
            .await?;
        // `offer_interactions` reads behaviour by (customer_id, occurred_at_ms), which
        // m0001's `behaviour_events_customer_time` already indexes.
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "offer_model_activations",
            "offer_models",
            "campaign_events",
            "campaign_members",
            "campaign_status_log",
            "campaigns",
            "audiences",
            "product_versions",
        ] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
