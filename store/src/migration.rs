//! Schema migrations, shared by SQLite and PostgreSQL. Each migration is frozen once released:
//! a later change to the schema is a new migration, never an edit of an old one.

use sea_orm_migration::prelude::*;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_initial::Migration),
            Box::new(m0002_profiles::Migration),
            Box::new(m0003_advice::Migration),
            Box::new(m0004_credit::Migration),
            Box::new(m0005_marketing::Migration),
            Box::new(m0006_audit_chain::Migration),
            Box::new(m0007_encryption::Migration),
        ]
    }
}

fn text(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .string()
        .not_null()
        .to_owned()
}

fn text_null(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name)).string().null().to_owned()
}

fn big(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .big_integer()
        .not_null()
        .to_owned()
}

fn big_null(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .big_integer()
        .null()
        .to_owned()
}

/// An auto-incremented BIGINT primary key: the order of an append-only log.
fn serial(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .big_integer()
        .not_null()
        .auto_increment()
        .primary_key()
        .to_owned()
}

fn flag(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .boolean()
        .not_null()
        .to_owned()
}

fn index(table: &str, name: &str, columns: &[&str]) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(Alias::new(table));
    for column in columns {
        index.col(Alias::new(*column));
    }
    index.to_owned()
}

mod m0001_initial {
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
}

mod m0002_profiles {
    use super::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m0002_profiles"
        }
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            // One current profile per customer. Features are a JSON array in catalogue order,
            // tagged with the catalogue version that gives the order its meaning.
            manager
                .create_table(
                    Table::create()
                        .table(Alias::new("profiles"))
                        .col(text("customer_id").primary_key())
                        .col(
                            ColumnDef::new(Alias::new("feature_version"))
                                .integer()
                                .not_null(),
                        )
                        .col(ColumnDef::new(Alias::new("features")).text().not_null())
                        .col(ColumnDef::new(Alias::new("segment")).integer().null())
                        .col(text_null("embedding_model"))
                        .col(big("as_of_ms"))
                        .col(big("computed_at_ms"))
                        .to_owned(),
                )
                .await?;
            // Questionnaire answers as given; never edited.
            manager
                .create_table(
                    Table::create()
                        .table(Alias::new("risk_answers"))
                        .col(serial("id"))
                        .col(text("customer_id"))
                        .col(big("answered_at_ms"))
                        .col(text("actor"))
                        .col(ColumnDef::new(Alias::new("answers")).text().not_null())
                        .to_owned(),
                )
                .await?;
            manager
                .create_index(index(
                    "risk_answers",
                    "risk_answers_customer",
                    &["customer_id", "id"],
                ))
                .await?;
            // Every assessment that changed materially: the history of the customer's level.
            manager
                .create_table(
                    Table::create()
                        .table(Alias::new("risk_assessments"))
                        .col(serial("id"))
                        .col(text("customer_id"))
                        .col(big("assessed_at_ms"))
                        .col(ColumnDef::new(Alias::new("level")).integer().not_null())
                        .col(
                            ColumnDef::new(Alias::new("willingness"))
                                .integer()
                                .not_null(),
                        )
                        .col(text("willingness_source"))
                        .col(ColumnDef::new(Alias::new("capacity")).integer().not_null())
                        .col(text("reason"))
                        .col(ColumnDef::new(Alias::new("detail")).text().not_null())
                        .to_owned(),
                )
                .await?;
            manager
                .create_index(index(
                    "risk_assessments",
                    "risk_assessments_customer",
                    &["customer_id", "id"],
                ))
                .await?;
            // The segments of the current embedding model, described in words.
            manager
                .create_table(
                    Table::create()
                        .table(Alias::new("segments"))
                        .col(
                            ColumnDef::new(Alias::new("id"))
                                .integer()
                                .not_null()
                                .primary_key(),
                        )
                        .col(text("name"))
                        .col(text("description"))
                        .col(big("size"))
                        .col(ColumnDef::new(Alias::new("centroid")).text().not_null())
                        .col(text("embedding_model"))
                        .col(big("created_at_ms"))
                        .to_owned(),
                )
                .await?;
            Ok(())
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            for table in ["segments", "risk_assessments", "risk_answers", "profiles"] {
                manager
                    .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                    .await?;
            }
            Ok(())
        }
    }
}

mod m0003_advice {
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
}

mod m0004_credit {
    use super::*;

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m0004_credit"
        }
    }

    fn long_text(name: &str) -> ColumnDef {
        ColumnDef::new(Alias::new(name))
            .text()
            .not_null()
            .to_owned()
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            // Every credit model ever used, by version, so that any decision can be replayed
            // with the model that made it. Never edited or deleted.
            manager
                .create_table(
                    Table::create()
                        .table(Alias::new("credit_models"))
                        .col(
                            ColumnDef::new(Alias::new("version"))
                                .string()
                                .not_null()
                                .primary_key(),
                        )
                        .col(text("kind"))
                        .col(big("created_at_ms"))
                        .col(text("actor"))
                        .col(long_text("metrics"))
                        .col(long_text("artifact"))
                        .to_owned(),
                )
                .await?;
            // Which model decides: the newest activation. An append-only log, so that when
            // each model was in use stays on record.
            manager
                .create_table(
                    Table::create()
                        .table(Alias::new("credit_model_activations"))
                        .col(serial("id"))
                        .col(text("version"))
                        .col(big("activated_at_ms"))
                        .col(text("actor"))
                        .to_owned(),
                )
                .await?;
            // Every quote and application with its inputs, model and policy versions, rules
            // and reasons: enough to replay it exactly. Never edited.
            manager
                .create_table(
                    Table::create()
                        .table(Alias::new("credit_decisions"))
                        .col(
                            ColumnDef::new(Alias::new("id"))
                                .string()
                                .not_null()
                                .primary_key(),
                        )
                        .col(text("customer_id"))
                        .col(text("kind"))
                        .col(big("created_at_ms"))
                        .col(big_null("expires_at_ms"))
                        .col(text("actor"))
                        .col(text("model_version"))
                        .col(text("policy_version"))
                        .col(text("outcome"))
                        .col(long_text("inputs"))
                        .col(long_text("output"))
                        .to_owned(),
                )
                .await?;
            manager
                .create_index(index(
                    "credit_decisions",
                    "credit_decisions_customer",
                    &["customer_id", "created_at_ms"],
                ))
                .await?;
            // An accepted quote becomes one plan: the unique quote id makes a second
            // acceptance fail instead of creating a second plan.
            manager
                .create_table(
                    Table::create()
                        .table(Alias::new("instalment_plans"))
                        .col(
                            ColumnDef::new(Alias::new("id"))
                                .string()
                                .not_null()
                                .primary_key(),
                        )
                        .col(text("quote_id").unique_key().to_owned())
                        .col(text("customer_id"))
                        .col(big("months"))
                        .col(text("actor"))
                        .col(big("created_at_ms"))
                        .col(long_text("plan"))
                        .to_owned(),
                )
                .await?;
            // (caller, Idempotency-Key) -> the request's hash and the response given, so a
            // retried request gets the same answer and a reused key with another body is
            // refused.
            manager
                .create_table(
                    Table::create()
                        .table(Alias::new("idempotency_keys"))
                        .col(text("caller"))
                        .col(text("key"))
                        .col(text("request_hash"))
                        .col(big("status"))
                        .col(long_text("response"))
                        .col(big("created_at_ms"))
                        .primary_key(
                            Index::create()
                                .col(Alias::new("caller"))
                                .col(Alias::new("key")),
                        )
                        .to_owned(),
                )
                .await?;
            Ok(())
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            for table in [
                "idempotency_keys",
                "instalment_plans",
                "credit_decisions",
                "credit_model_activations",
                "credit_models",
            ] {
                manager
                    .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                    .await?;
            }
            Ok(())
        }
    }
}

mod m0005_marketing {
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
}

/// The audit log becomes a hash chain: role, request id and outcome columns, and each
/// entry's previous and own hash. Entries already there are numbered 1.. in order and
/// chained, so the trail verifies from its first entry.
mod m0006_audit_chain {
    use sea_orm::{ConnectionTrait, Statement};

    use super::*;
    use crate::audit::{entry_hash, NewAuditEntry};

    pub struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m0006_audit_chain"
        }
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            // SQLite adds one column per statement.
            for (column, default) in [
                ("role", ""),
                ("request_id", ""),
                ("outcome", "ok"),
                ("prev_hash", ""),
                ("hash", ""),
            ] {
                manager
                    .alter_table(
                        Table::alter()
                            .table(Alias::new("audit_log"))
                            .add_column(
                                ColumnDef::new(Alias::new(column))
                                    .string()
                                    .not_null()
                                    .default(default),
                            )
                            .to_owned(),
                    )
                    .await?;
            }
            let db = manager.get_connection();
            let backend = db.get_database_backend();
            let rows = db
                .query_all(Statement::from_string(
                    backend,
                    "SELECT id, at_ms, actor, action, subject, detail FROM audit_log ORDER BY id",
                ))
                .await?;
            let mut prev_hash = String::new();
            for (i, row) in rows.iter().enumerate() {
                let id: i64 = row.try_get("", "id")?;
                let at_ms: i64 = row.try_get("", "at_ms")?;
                let entry = NewAuditEntry {
                    actor: row.try_get("", "actor")?,
                    role: String::new(),
                    action: row.try_get("", "action")?,
                    object: row.try_get("", "subject")?,
                    request_id: String::new(),
                    outcome: "ok".into(),
                    detail: row.try_get("", "detail")?,
                };
                // Renumbering in ascending order never meets a taken number: the rows
                // before hold 1..=i, the rows after hold numbers above this row's.
                let seq = i as i64 + 1;
                let hash = entry_hash(seq, at_ms, &entry, &prev_hash);
                manager
                    .exec_stmt(
                        Query::update()
                            .table(Alias::new("audit_log"))
                            .value(Alias::new("id"), seq)
                            .value(Alias::new("prev_hash"), prev_hash.clone())
                            .value(Alias::new("hash"), hash.clone())
                            .and_where(Expr::col(Alias::new("id")).eq(id))
                            .to_owned(),
                    )
                    .await?;
                prev_hash = hash;
            }
            Ok(())
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            for column in ["role", "request_id", "outcome", "prev_hash", "hash"] {
                manager
                    .alter_table(
                        Table::alter()
                            .table(Alias::new("audit_log"))
                            .drop_column(Alias::new(column))
                            .to_owned(),
                    )
                    .await?;
            }
            Ok(())
        }
    }
}

/// Encryption at rest: customers' wrapped data keys, and the sealed personal fields of a
/// customer (`customers.sealed`; the clear columns are blanked when it is written). Rows
/// written before are sealed by the store when it opens with its keyring.
mod m0007_encryption {
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
}
