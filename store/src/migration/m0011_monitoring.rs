//! Transaction monitoring: the alerts the detectors raise on ingested and assessed payments,
//! the cases that group a customer's alerts for compliance (assignee, disposition, notes),
//! and the payment assessments answered to the payment app, with everything needed to
//! replay them.

use super::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0011_monitoring"
    }
}

fn real(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .double()
        .not_null()
        .to_owned()
}

fn key(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .string()
        .not_null()
        .primary_key()
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Alias::new("monitoring_cases"))
                    .if_not_exists()
                    .col(key("id"))
                    .col(text("customer_id"))
                    .col(text("status"))
                    .col(text_null("assignee"))
                    .col(text_null("disposition"))
                    .col(big("opened_at_ms"))
                    .col(big("updated_at_ms"))
                    .col(big_null("closed_at_ms"))
                    .col(big("alerts"))
                    .col(real("max_score"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Alias::new("monitoring_alerts"))
                    .if_not_exists()
                    .col(key("id"))
                    .col(text("case_id"))
                    .col(text("customer_id"))
                    .col(text("source"))
                    .col(real("score"))
                    .col(text("reason"))
                    .col(text_null("event_id"))
                    .col(text_null("assessment_id"))
                    .col(big("occurred_at_ms"))
                    .col(big("raised_at_ms"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Alias::new("monitoring_case_notes"))
                    .if_not_exists()
                    .col(serial("seq"))
                    .col(text("case_id"))
                    .col(big("at_ms"))
                    .col(text("actor"))
                    .col(text("kind"))
                    .col(text("text"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Alias::new("payment_assessments"))
                    .if_not_exists()
                    .col(key("id"))
                    .col(text("customer_id"))
                    .col(big("created_at_ms"))
                    .col(text("actor"))
                    .col(text("policy_version"))
                    .col(text("verdict"))
                    .col(real("score"))
                    .col(text("inputs"))
                    .col(text("output"))
                    .to_owned(),
            )
            .await?;
        for (table, name, columns) in [
            (
                "monitoring_cases",
                "monitoring_cases_customer",
                &["customer_id", "status"][..],
            ),
            (
                "monitoring_cases",
                "monitoring_cases_status",
                &["status", "updated_at_ms"][..],
            ),
            (
                "monitoring_alerts",
                "monitoring_alerts_case",
                &["case_id", "occurred_at_ms"][..],
            ),
            (
                "monitoring_alerts",
                "monitoring_alerts_event",
                &["event_id", "source"][..],
            ),
            (
                "monitoring_case_notes",
                "monitoring_case_notes_case",
                &["case_id"][..],
            ),
            (
                "payment_assessments",
                "payment_assessments_customer",
                &["customer_id", "created_at_ms"][..],
            ),
        ] {
            manager.create_index(index(table, name, columns)).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "payment_assessments",
            "monitoring_case_notes",
            "monitoring_alerts",
            "monitoring_cases",
        ] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
