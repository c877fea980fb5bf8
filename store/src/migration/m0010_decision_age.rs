//! The applicant's age on each credit decision, as its own column, so that the fairness
//! report groups outcomes by age in the database instead of reading every decision's inputs;
//! and an index on decision time for the compliance search's date ranges. Decisions written
//! before get the age recorded in their inputs (`applicant.age_years`).

use std::collections::BTreeMap;

use super::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0010_decision_age"
    }
}

/// Decisions read per step of the backfill.
const BACKFILL_PAGE: u64 = 1_000;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("credit_decisions"))
                    .add_column(big_null("applicant_age_years"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "credit_decisions",
                "credit_decisions_created",
                &["created_at_ms"],
            ))
            .await?;
        let db = manager.get_connection();
        let backend = db.get_database_backend();
        let mut after = String::new();
        loop {
            let page = db
                .query_all(
                    backend.build(
                        Query::select()
                            .columns([Alias::new("id"), Alias::new("inputs")])
                            .from(Alias::new("credit_decisions"))
                            .and_where(Expr::col(Alias::new("id")).gt(after.as_str()))
                            .order_by(Alias::new("id"), Order::Asc)
                            .limit(BACKFILL_PAGE),
                    ),
                )
                .await?;
            let mut by_age: BTreeMap<i64, Vec<String>> = BTreeMap::new();
            for row in &page {
                let id: String = row.try_get("", "id")?;
                let inputs: String = row.try_get("", "inputs")?;
                let age = serde_json::from_str::<serde_json::Value>(&inputs)
                    .ok()
                    .and_then(|v| v.pointer("/applicant/age_years")?.as_i64());
                if let Some(age) = age {
                    by_age.entry(age).or_default().push(id.clone());
                }
                after = id;
            }
            for (age, ids) in by_age {
                manager
                    .exec_stmt(
                        Query::update()
                            .table(Alias::new("credit_decisions"))
                            .value(Alias::new("applicant_age_years"), age)
                            .and_where(Expr::col(Alias::new("id")).is_in(ids))
                            .to_owned(),
                    )
                    .await?;
            }
            if (page.len() as u64) < BACKFILL_PAGE {
                break;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("credit_decisions_created")
                    .table(Alias::new("credit_decisions"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("credit_decisions"))
                    .drop_column(Alias::new("applicant_age_years"))
                    .to_owned(),
            )
            .await
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::{ConnectionTrait, Database, Statement};
    use sea_orm_migration::MigratorTrait;

    use crate::migration::Migrator;

    #[tokio::test]
    async fn decisions_written_before_get_the_age_their_inputs_recorded() {
        let db = Database::connect("sqlite::memory:").await.unwrap();
        Migrator::up(&db, Some(9)).await.unwrap();
        let insert = |id: &str, inputs: &str| {
            format!(
                "INSERT INTO credit_decisions (id, customer_id, kind, created_at_ms, actor, \
                 model_version, policy_version, outcome, inputs, output) VALUES \
                 ('{id}', 'c1', 'instalment_quote', 1, 'app', 'm', 'p', 'approved', '{inputs}', '{{}}')"
            )
        };
        for (id, inputs) in [
            ("cq_a", r#"{"applicant":{"age_years":37}}"#),
            ("cq_b", r#"{"applicant":{"age_years":64}}"#),
            ("cq_c", r#"{"applicant":{}}"#),
        ] {
            db.execute_unprepared(&insert(id, inputs)).await.unwrap();
        }
        Migrator::up(&db, None).await.unwrap();
        let rows = db
            .query_all(Statement::from_string(
                db.get_database_backend(),
                "SELECT id, applicant_age_years FROM credit_decisions ORDER BY id",
            ))
            .await
            .unwrap();
        let ages: Vec<(String, Option<i64>)> = rows
            .iter()
            .map(|r| {
                (
                    r.try_get("", "id").unwrap(),
                    r.try_get("", "applicant_age_years").unwrap(),
                )
            })
            .collect();
        assert_eq!(
            ages,
            [
                ("cq_a".to_owned(), Some(37)),
                ("cq_b".to_owned(), Some(64)),
                ("cq_c".to_owned(), None),
            ]
        );
    }
}
