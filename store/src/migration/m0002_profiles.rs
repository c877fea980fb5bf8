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
