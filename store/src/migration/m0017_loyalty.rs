//! Loyalty points: each customer's journal (append-only, one row per posting, its lines and
//! lot moves as JSON) and their lots with the points still in them (kept with the journal in
//! the same transaction, for balances, expiring points and the liability report).

use super::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0017_loyalty"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Alias::new("loyalty_postings"))
                    .if_not_exists()
                    .col(text("customer_id"))
                    .col(text("posting_key"))
                    .col(big("seq"))
                    .col(text("kind"))
                    .col(big("at_ms"))
                    .col(big("requested"))
                    .col(big("customer_change"))
                    .col(big("shortfall"))
                    .col(text_null("reverses"))
                    .col(text_null("reason"))
                    .col(text_null("actor"))
                    .col(text_null("opens_earned_on"))
                    .col(text_null("opens_expires_on"))
                    .col(text("lines"))
                    .col(text("moves"))
                    .primary_key(
                        Index::create()
                            .col(Alias::new("customer_id"))
                            .col(Alias::new("posting_key")),
                    )
                    .to_owned(),
            )
            .await?;
        // A customer's postings in journal order, each place taken once.
        let mut order = index(
            "loyalty_postings",
            "loyalty_postings_order",
            &["customer_id", "seq"],
        );
        order.unique();
        manager.create_index(order).await?;
        manager
            .create_table(
                Table::create()
                    .table(Alias::new("loyalty_lots"))
                    .if_not_exists()
                    .col(text("customer_id"))
                    .col(text("lot_id"))
                    .col(text("earned_on"))
                    .col(text("expires_on"))
                    .col(big("points"))
                    .col(big("remaining"))
                    .primary_key(
                        Index::create()
                            .col(Alias::new("customer_id"))
                            .col(Alias::new("lot_id")),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "loyalty_lots",
                "loyalty_lots_expiry",
                &["expires_on", "customer_id"],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["loyalty_lots", "loyalty_postings"] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
