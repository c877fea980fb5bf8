//! The catalogue and offers on sea-orm: numbered product versions (the `products` row
//! follows the newest), offer models through the shared registry, offer behaviour, and an
//! offer request's inputs in one call.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict, Query, SimpleExpr, Value};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select,
    SqlErr, TransactionTrait,
};
use sextant_domain::{CustomerId, ProductId};

use super::registry::{NewVersion, OFFER_MODELS};
use super::rows::{
    built_in_version, corrupt, ms_to_time, offer_model_from, product_model, product_version_from,
    product_version_model,
};
use super::{campaigns, customers, profiles, text, SeaStore};
use crate::entity::{behaviour_event, offer_model, product, product_version};
use crate::{
    Actor, CatalogueStore, OfferInputs, OfferInteraction, ProductVersion, StoreError,
    StoredOfferModel, MARKETING_PAGE_MAX,
};

/// Behaviour kinds that count as offer interactions.
const OFFER_KINDS: [&str; 5] = [
    "product_view",
    "offer_impression",
    "offer_click",
    "offer_dismiss",
    "offer_conversion",
];

/// The version to write: `Conflict` unless `version` follows `latest` (0 when none is stored).
pub(super) fn next_version(
    what: &str,
    latest: Option<i32>,
    version: u32,
) -> Result<i32, StoreError> {
    let expected = i64::from(latest.unwrap_or(0)) + 1;
    if i64::from(version) != expected {
        return Err(StoreError::Conflict(format!(
            "{what} version {version} is not the next one ({expected})"
        )));
    }
    i32::try_from(version).map_err(|_| StoreError::Conflict(format!("{what} version {version}")))
}

/// A unique-key violation on a versioned insert: a concurrent writer took that version
/// between our read of the latest and our insert (PostgreSQL; SQLite writers are serialised).
pub(super) fn taken(what: String) -> impl FnOnce(DbErr) -> StoreError {
    move |err| match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => {
            StoreError::Conflict(format!("{what} exists already"))
        }
        _ => err.into(),
    }
}

async fn latest_product_version(
    db: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<i32>, StoreError> {
    use product_version::Column as V;
    Ok(product_version::Entity::find()
        .select_only()
        .column(V::Version)
        .filter(V::ProductId.eq(id))
        .order_by_desc(V::Version)
        .into_tuple::<i32>()
        .one(db)
        .await?)
}

pub(super) async fn offer_interactions(
    db: &impl ConnectionTrait,
    customer: &CustomerId,
    since: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<OfferInteraction>, StoreError> {
    use behaviour_event::Column as B;
    // Served by `behaviour_events_customer_time` (customer_id, occurred_at_ms).
    let rows = offer_interactions_query(B::CustomerId.eq(customer.as_str()), since)
        .limit(limit.min(MARKETING_PAGE_MAX))
        .into_tuple::<(String, String, String, i64)>()
        .all(db)
        .await?;
    rows.into_iter()
        .map(|row| interaction_from(row).map(|(_, i)| i))
        .collect()
}

/// The offer behaviour since `since` of the customers `which` selects, each with its
/// customer id, per customer newest first.
pub(super) async fn offer_interactions_among(
    db: &impl ConnectionTrait,
    which: SimpleExpr,
    since: DateTime<Utc>,
) -> Result<Vec<(String, OfferInteraction)>, StoreError> {
    offer_interactions_query(which, since)
        .into_tuple::<(String, String, String, i64)>()
        .all(db)
        .await?
        .into_iter()
        .map(interaction_from)
        .collect()
}

fn offer_interactions_query(
    which: SimpleExpr,
    since: DateTime<Utc>,
) -> Select<behaviour_event::Entity> {
    use behaviour_event::Column as B;
    behaviour_event::Entity::find()
        .select_only()
        .column(B::CustomerId)
        .column(B::Kind)
        .column(B::ProductId)
        .column(B::OccurredAtMs)
        .filter(which)
        .filter(B::OccurredAtMs.gte(since.timestamp_millis()))
        .filter(B::Kind.is_in(OFFER_KINDS))
        .filter(B::ProductId.is_not_null())
        .order_by_asc(B::CustomerId)
        .order_by_desc(B::OccurredAtMs)
        .order_by_desc(B::EventId)
}

fn interaction_from(
    (customer, kind, product, at_ms): (String, String, String, i64),
) -> Result<(String, OfferInteraction), StoreError> {
    Ok((
        customer,
        OfferInteraction {
            kind,
            product_id: ProductId::parse(&product).map_err(corrupt("offer product"))?,
            occurred_at: ms_to_time(at_ms)?,
        },
    ))
}

#[async_trait]
impl CatalogueStore for SeaStore {
    async fn put_product_version(&self, v: &ProductVersion, by: &Actor) -> Result<(), StoreError> {
        use product::Column as P;
        let id = v.product.id.as_str();
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;
        let latest = latest_product_version(&txn, id).await?;
        let version = next_version(&format!("product {id}"), latest, v.version)?;
        // The first edit of a built-in product keeps what it replaces as version 0, so the
        // history shows every level the product was ever offered at.
        if latest.is_none() {
            if let Some(row) = product::Entity::find_by_id(id.to_owned()).one(&txn).await? {
                let original = built_in_version(row)?;
                product_version::Entity::insert(product_version_model(&original, 0))
                    .exec_without_returning(&txn)
                    .await
                    .map_err(taken(format!("product {id} version 0")))?;
            }
        }
        product_version::Entity::insert(product_version_model(v, version))
            .exec_without_returning(&txn)
            .await
            .map_err(taken(format!("product {id} version {version}")))?;
        // Holdings, advice and the advisory catalogue read `products`: it follows the newest.
        product::Entity::insert(product_model(&v.product, v.created_at.timestamp_millis()))
            .on_conflict(
                OnConflict::column(P::Id)
                    .update_columns([
                        P::Kind,
                        P::Name,
                        P::RiskLevel,
                        P::Currency,
                        P::MinAmountMinor,
                        P::TermMonths,
                        P::RateBps,
                        P::FeeBps,
                        P::AssetClass,
                        P::UpdatedAtMs,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
        let detail = serde_json::json!({ "version": version });
        self.recorder(by)
            .record(&txn, "product.version", id, detail, v.created_at)
            .await?;
        txn.commit().await?;
        Ok(())
    }

    async fn product_versions(&self, id: &ProductId) -> Result<Vec<ProductVersion>, StoreError> {
        use product_version::Column as V;
        let rows = product_version::Entity::find()
            .filter(V::ProductId.eq(id.as_str()))
            .order_by_asc(V::Version)
            .all(&self.db)
            .await?;
        if !rows.is_empty() {
            return rows.into_iter().map(product_version_from).collect();
        }
        product::Entity::find_by_id(id.to_string())
            .one(&self.db)
            .await?
            .map(built_in_version)
            .into_iter()
            .collect()
    }

    async fn catalogue(&self) -> Result<Vec<ProductVersion>, StoreError> {
        use product_version::Column as V;
        let products = product::Entity::find()
            .order_by_asc(product::Column::Id)
            .all(&self.db)
            .await?;
        let newest = Query::select()
            .column(V::ProductId)
            .expr(Expr::col(V::Version).max())
            .from(product_version::Entity)
            .group_by_col(V::ProductId)
            .to_owned();
        let mut versions: HashMap<String, product_version::Model> = product_version::Entity::find()
            .filter(
                Expr::tuple([Expr::col(V::ProductId).into(), Expr::col(V::Version).into()])
                    .in_subquery(newest),
            )
            .all(&self.db)
            .await?
            .into_iter()
            .map(|row| (row.product_id.clone(), row))
            .collect();
        products
            .into_iter()
            .map(|row| match versions.remove(&row.id) {
                Some(version) => product_version_from(version),
                None => built_in_version(row),
            })
            .collect()
    }
    async fn put_offer_model(
        &self,
        model: &StoredOfferModel,
        by: &Actor,
    ) -> Result<(), StoreError> {
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;
        let version = NewVersion {
            version: &model.version,
            created_at: model.created_at,
            actor: &model.actor,
            record: self.recorder(by),
            columns: vec![
                ("metrics", text(&model.metrics.to_string())),
                (
                    "artifact",
                    SimpleExpr::from(Value::Bytes(Some(Box::new(model.artifact.clone())))),
                ),
            ],
        };
        // A version is kept as first stored; storing it again only activates it again.
        OFFER_MODELS.put(&txn, version, true).await?;
        txn.commit().await?;
        Ok(())
    }

    async fn active_offer_model(&self) -> Result<Option<StoredOfferModel>, StoreError> {
        let Some(version) = OFFER_MODELS.active_version(&self.db).await? else {
            return Ok(None);
        };
        match offer_model::Entity::find_by_id(version.clone())
            .one(&self.db)
            .await?
        {
            Some(row) => offer_model_from(row).map(Some),
            None => Err(OFFER_MODELS.missing(&version)),
        }
    }

    async fn offer_interactions(
        &self,
        customer: &CustomerId,
        since: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<OfferInteraction>, StoreError> {
        offer_interactions(&self.db, customer, since, limit).await
    }

    async fn offer_inputs(
        &self,
        id: &CustomerId,
        interactions_since: DateTime<Utc>,
        interactions_max: u64,
    ) -> Result<Option<OfferInputs>, StoreError> {
        let txn = self.db.begin().await?;
        let Some(customer) = customers::customer(&txn, &self.keyring, id).await? else {
            return Ok(None);
        };
        let inputs = OfferInputs {
            customer: customer.customer,
            profile: profiles::profile(&txn, id).await?,
            risk_level: profiles::assessments(&txn, id, 1)
                .await?
                .first()
                .map(|a| a.level),
            holdings: customers::holdings(&txn, id).await?,
            memberships: campaigns::memberships(&txn, id).await?,
            interactions: offer_interactions(&txn, id, interactions_since, interactions_max)
                .await?,
        };
        txn.commit().await?;
        Ok(Some(inputs))
    }
}
