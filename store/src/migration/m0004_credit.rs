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
